"""An index of the public API: every name in each module's ``__all__`` and the chapters using it."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

__all__ = ["MODULES", "public_api", "chapter_usage", "api_index_html", "rest_to_myst", "api_index_markdown"]

#: The modules of the package, in the book's order.
MODULES = ["distributions", "f_divergences", "change_of_variables", "validation", "utils", "plotting",
           "widgets", "metrics", "datasets", "networks", "training", "vae", "gradient_estimators",
           "linear_gaussian", "vae_theory", "gan", "gan_theory", "flows", "splines", "autoregressive",
           "schedules", "diffusion", "parameterisations", "mixtures", "samplers", "diffusion_theory", "paths",
           "flow_matching", "ode", "labelled_mixture", "conditional_models", "guidance",
           "guidance_remedies", "pf_ode", "capstone", "workers",
           *(f"views.{chapter}" for chapter in ("toolkit", "vae", "gan", "flows", "diffusion",
                                                "flow_matching", "guidance", "capstone"))]


def public_api() -> list[dict]:
    """One row per public name: ``module``, ``name``, ``kind`` and the docstring's first line."""
    rows = []
    for mod_name in MODULES:
        try:
            module = importlib.import_module(f"companion.{mod_name}")
        except ImportError:
            continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            kind = ("type alias" if getattr(obj, "__origin__", None) is not None
                    else "class" if isinstance(obj, type) else "function" if callable(obj) else "constant")
            doc = (_comment_doc(module, name) if kind == "type alias"
                   else (getattr(obj, "__doc__", None) or "").strip() if kind != "constant" else "")
            paragraph = " ".join(line.strip() for line in doc.split("\n\n")[0].splitlines())
            rows.append({"module": mod_name, "name": name, "kind": kind,
                         "summary": doc.splitlines()[0] if doc else "", "paragraph": paragraph})
    return rows


def _comment_doc(module, name: str) -> str:
    """The ``#:`` comment lines just above ``name = ...`` in ``module``'s source (Sphinx's
    convention for documenting a module-level name, such as a type alias)."""
    import inspect

    lines = inspect.getsource(module).splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"{re.escape(name)}\s*(:[^=]*)?=", line):
            doc: list[str] = []
            for above in reversed(lines[:i]):
                if not above.startswith("#:"):
                    break
                doc.insert(0, above[2:].strip())
            return " ".join(doc)
    return ""


def chapter_usage(book_dir: str | Path) -> dict[str, list[str]]:
    """For each public name, the chapters (notebook stems) whose code or text mentions it."""
    if not isinstance(book_dir, (str, Path)):
        raise TypeError(f"book_dir: expected a str or Path, got {type(book_dir).__name__}")
    if not Path(book_dir).is_dir():
        raise ValueError(f"book_dir: no such directory {str(book_dir)!r}")
    names = {row["name"] for row in public_api()}
    usage: dict[str, list[str]] = {name: [] for name in names}
    for nb_path in sorted(Path(book_dir).glob("*.ipynb")):
        cells = json.loads(nb_path.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells)
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
        for name in names & words:
            usage[name].append(nb_path.stem)
    return usage


def api_index_html(book_dir: str | Path) -> str:
    """The index as an HTML table whose chapter names link to the chapter pages."""
    from html import escape

    usage = chapter_usage(book_dir)
    rows = []
    for row in public_api():
        links = ", ".join(f'<a href="{c}.html">{c}</a>' for c in usage.get(row["name"], []))
        rows.append(f"<tr><td><code>companion.{row['module']}.{escape(row['name'])}</code></td>"
                    f"<td>{row['kind']}</td><td>{escape(row['summary'])}</td><td>{links or '—'}</td></tr>")
    head = "<tr><th>name</th><th>kind</th><th>what it computes</th><th>used in</th></tr>"
    return f'<table class="table">\n<thead>{head}</thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


_REST_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc):`~?([^`]+)`")


def rest_to_myst(text: str) -> str:
    """A docstring's reST (``code``, :math:`x`, :func:`f`, an equation label) as MyST Markdown.

    ``eq-...`` labels become ``{eq}`` roles, so the reader sees the equation's number, not
    its label; maths becomes ``$...$``; cross-reference roles become code.

    Example:
        >>> rest_to_myst(":math:`q(x)`, equation ``eq-elbo``, see :func:`~companion.vae.elbo`")
        '$q(x)$, equation {eq}`eq-elbo`, see `elbo`'
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    text = re.sub(r":math:`([^`]+)`", lambda m: "$" + m.group(1) + "$", text)
    text = _REST_ROLE.sub(lambda m: "`" + m.group(1).split(".")[-1] + "`", text)
    text = re.sub(r"``(eq-[a-z0-9-]+)``", r"{eq}`\1`", text)
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    return text


def api_index_markdown(book_dir: str | Path, chapters: list[str] | None = None) -> str:
    """The index as MyST Markdown: per module, each name with an anchor, what it computes, where used.

    Each entry is a definition-list item whose term carries an HTML anchor
    ``companion-<module>-<name>`` (the chapters' code captions link to it), and whose
    definition is the docstring's first paragraph (:func:`rest_to_myst`) and the chapters using
    it, as ``{doc}`` links in ``chapters`` order (the table of contents).
    """
    usage = chapter_usage(book_dir)
    order = {c: i for i, c in enumerate(chapters or [])}
    out: list[str] = []
    module = None
    for row in public_api():
        if row["module"] != module:
            module = row["module"]
            out += ["", f'<span id="companion-{module}"></span>**`companion.{module}`**', ""]
        used = sorted(usage.get(row["name"], []), key=lambda c: (order.get(c, len(order)), c))
        where = ", ".join(f"{{doc}}`{c}`" for c in used) or "not used in a chapter"
        summary = rest_to_myst(row["paragraph"]) + " " if row["kind"] != "constant" else ""
        out += [f'<span id="companion-{module}-{row["name"]}"></span>`{row["name"]}` ({row["kind"]})',
                f": {summary}*Used in:* {where}.", ""]
    return "\n".join(out).strip() + "\n"
