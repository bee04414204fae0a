"""The book's LaTeX macros (``\\KL``, ``\\E``, ``\\abar``...) in the PDF too (``make pdf``).

The macros are defined once, for MathJax, in ``_config.yml`` (``mathjax3_config.tex.macros``;
``tools/sync_macros.py`` copies them into the notebooks for JupyterLab). This extension turns the
same definitions into ``\\providecommand`` lines of the LaTeX preamble, so the PDF needs no second
copy.
"""

from __future__ import annotations


def _add_macros(app, config) -> None:
    macros = ((config.mathjax3_config or {}).get("tex") or {}).get("macros") or {}
    lines = ["\\usepackage{amsmath,amssymb}"]
    for name, body in macros.items():
        if isinstance(body, (list, tuple)):      # MathJax's [definition, number of arguments]
            lines.append(f"\\providecommand{{\\{name}}}[{body[1]}]{{{body[0]}}}")
        else:
            lines.append(f"\\providecommand{{\\{name}}}{{{body}}}")
    elements = dict(config.latex_elements or {})
    elements["preamble"] = elements.get("preamble", "") + "\n" + "\n".join(lines) + "\n"
    config.latex_elements = elements


def setup(app):
    app.connect("config-inited", _add_macros)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
