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
    """For each public name, keyed ``"module.name"``, the chapters (notebook stems) that use it.

    A chapter uses a name when its code reaches it through the package (``Gn.generator_loss``
    after ``from companion import gan as Gn``, ``views.gan.widget_specs``, ``from
    companion.utils import worst``), or its text quotes it (a ``literalinclude`` of its source, or
    ``companion.module.name`` written out). A name re-exported by another module counts where it
    is defined. A bare word does not count: ``torch.Generator`` is not ``companion``'s
    ``Generator``, and "VAE" in a sentence is not the class. The API page itself is not a chapter.
    """
    if not isinstance(book_dir, (str, Path)):
        raise TypeError(f"book_dir: expected a str or Path, got {type(book_dir).__name__}")
    if not Path(book_dir).is_dir():
        raise ValueError(f"book_dir: no such directory {str(book_dir)!r}")
    rows = public_api()
    if not _DEFINED_IN:
        for r in rows:
            _DEFINED_IN.setdefault(r["name"], []).append(r["module"])
    usage: dict[str, list[str]] = {f"{r['module']}.{r['name']}": [] for r in rows}
    defined_as: dict[int, list[str]] = {}   # id of a public function or class -> its keys
    for r in rows:
        if r["kind"] != "constant":
            obj = getattr(importlib.import_module(f"companion.{r['module']}"), r["name"])
            defined_as.setdefault(id(obj), []).append(f"{r['module']}.{r['name']}")
    for nb_path in sorted(Path(book_dir).glob("*.ipynb")):
        if nb_path.stem == "api":
            continue
        found = set()
        for module, name in _references(json.loads(nb_path.read_text())["cells"]):
            key = f"{module}.{name}"
            if key in usage:
                found.add(key)
                continue
            try:
                obj = getattr(importlib.import_module(f"companion.{module}" if module else "companion"), name)
            except (ImportError, AttributeError):
                continue
            found.update(defined_as.get(id(obj), []))
        for key in found:
            usage[key].append(nb_path.stem)
    return usage


_MODULE_NAMES = set(MODULES) | {"views"}
#: name -> the modules whose ``__all__`` lists it (filled on first use).
_DEFINED_IN: dict[str, list[str]] = {}


def _resolve(base: str, attrs: list[str]) -> tuple[str, str] | None:
    """``(module, name)`` for the attribute chain ``attrs`` read from module ``base`` ("" is the
    package): ``("", ["views", "gan", "widget_specs"])`` is ``("views.gan", "widget_specs")``."""
    for attr in attrs:
        candidate = f"{base}.{attr}" if base else attr
        if candidate in _MODULE_NAMES:
            base = candidate
            continue
        return (base, attr)   # base "" is the package, which re-exports some names
    return None


def _references(cells: list[dict]) -> set[tuple[str, str]]:
    """Every ``(module, name)`` of ``companion`` that the notebook's cells reach or quote."""
    refs: set[tuple[str, str]] = set()
    aliases: dict[str, str] = {}
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    text = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    for src in code:
        for line in src.splitlines():
            if re.match(r"\s*import companion\s*(#|$)", line):
                aliases["companion"] = ""
            m = re.match(r"\s*import companion\.([\w.]+)\s+as\s+(\w+)", line)
            if m:
                aliases[m.group(2)] = m.group(1)
            m = re.match(r"\s*from companion(\.[\w.]+)? import \(?([\w\s,]+)\)?", line)
            if m:
                base = (m.group(1) or "")[1:]
                for item in m.group(2).split(","):
                    parts = item.split()
                    if not parts:
                        continue
                    name, alias = parts[0], parts[-1]
                    full = f"{base}.{name}" if base else name
                    if full in _MODULE_NAMES:
                        aliases[alias] = full
                    else:
                        refs.add((base, name))
    for src in code:
        for alias, chain in re.findall(r"(?<![\w.])(\w+)((?:\.\w+)+)", src):
            if alias in aliases:
                ref = _resolve(aliases[alias], chain.split(".")[1:])
                if ref:
                    refs.add(ref)
    for src in text:
        quoted = r"literalinclude:?\}? \.\./companion/([\w/]+)\.py\s*\n:pyobject: ([\w.]+)"
        for path, obj in re.findall(quoted, src):
            refs.add((path.replace("/", "."), obj.split(".")[0]))
        for chain in re.findall(r"companion((?:\.\w+)+)", src):
            ref = _resolve("", chain.split(".")[1:])
            if ref:
                refs.add(ref)
        # a name the text shows as code, `V.elbo`, or `train_gan` when one module alone defines it
        # (snake_case only: a bare `Generator` is as likely torch's)
        for span in re.findall(r"`([A-Za-z_][\w.]*)`", src):
            parts = span.split(".")
            if parts[0] in aliases:
                ref = _resolve(aliases[parts[0]], parts[1:])
                if ref:
                    refs.add(ref)
            elif len(parts) == 1 and "_" in parts[0] and len(_DEFINED_IN.get(parts[0], ())) == 1:
                refs.add((_DEFINED_IN[parts[0]][0], parts[0]))
    return refs


def api_index_html(book_dir: str | Path) -> str:
    """The index as an HTML table whose chapter names link to the chapter pages."""
    from html import escape

    usage = chapter_usage(book_dir)
    rows = []
    for row in public_api():
        links = ", ".join(f'<a href="{c}.html">{c}</a>' for c in usage[f"{row['module']}.{row['name']}"])
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
        used = sorted(usage[f"{row['module']}.{row['name']}"], key=lambda c: (order.get(c, len(order)), c))
        where = ", ".join(f"{{doc}}`{c}`" for c in used) or "not used in a chapter"
        summary = rest_to_myst(row["paragraph"]) + " " if row["kind"] != "constant" else ""
        out += [f'<span id="companion-{module}-{row["name"]}"></span>`{row["name"]}` ({row["kind"]})',
                f": {summary}*Used in:* {where}.", ""]
    return "\n".join(out).strip() + "\n"
