"""An index of the public API: every name in each module's ``__all__`` and the chapters using it."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

__all__ = ["MODULES", "public_api", "chapter_usage", "api_index_html"]

#: The modules of the package, in the book's order.
MODULES = ["distributions", "validation", "utils", "plotting", "widgets", "metrics", "families",
           "vae", "gan", "gan_theory", "flows", "diffusion", "diffusion_theory",
           "flow_matching", "guidance", "guidance_remedies", "capstone"]


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
            kind = "class" if isinstance(obj, type) else "function" if callable(obj) else "constant"
            doc = (getattr(obj, "__doc__", None) or "").strip().splitlines() if kind != "constant" else []
            rows.append({"module": mod_name, "name": name, "kind": kind, "summary": doc[0] if doc else ""})
    return rows


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
