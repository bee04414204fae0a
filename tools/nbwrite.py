"""Write a chapter notebook from a plain-text source (a maintainer's tool, not run in CI).

Usage: python tools/nbwrite.py SOURCE.py OUT.ipynb

The source is a Python file in the "percent" format: a line ``# %% [markdown]``
starts a Markdown cell whose lines are comment lines (``# `` stripped); ``# %%``
starts a code cell, optionally with tags and other cell metadata as JSON:
``# %% tags=["nbval-ignore-output"]`` or ``# %% mystnb={"markdown_format": "myst"}``.
Notebooks are written without outputs or execution counts, as the tests require.
"""

import json
import re
import sys

import nbformat


def _header_metadata(rest: str) -> dict:
    """``key=<json> key2=<json>`` after ``# %%`` -> a dict (JSON values may contain spaces)."""
    meta = {}
    starts = [m.start() for m in re.finditer(r"\b\w+=", rest)]
    if not starts:
        return meta
    for a, b in zip(starts, [*starts[1:], len(rest)], strict=True):
        key, value = rest[a:b].split("=", 1)
        meta[key] = json.loads(value)
    return meta


def parse(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    kind, tags, meta, lines = None, [], {}, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cell.metadata.update(meta)
        cell.id = f"cell-{len(nb.cells):03d}"  # stable ids: rewriting gives a small diff
        nb.cells.append(cell)

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            rest = line[4:].strip()
            kind = "markdown" if rest.startswith("[markdown]") else "code"
            meta = _header_metadata(rest)
            tags = meta.pop("tags", [])
            lines = []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind is not None:
            lines.append(line)
    flush()
    return nb


if __name__ == "__main__":
    src, out = sys.argv[1], sys.argv[2]
    nb = parse(open(src).read())
    nbformat.validator.normalize(nb)
    nbformat.write(nb, out)
