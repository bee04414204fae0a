"""Write a chapter notebook from a plain-text source (a maintainer's tool, not run in CI).

Usage: python tools/nbwrite.py SOURCE.py OUT.ipynb

The source is a Python file in the "percent" format: a line ``# %% [markdown]``
starts a Markdown cell whose lines are comment lines (``# `` stripped); ``# %%``
starts a code cell, optionally with tags: ``# %% tags=["nbval-ignore-output"]``.
Notebooks are written without outputs or execution counts, as the tests require.
"""

import json
import sys

import nbformat


def parse(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    kind, tags, lines = None, [], []

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
        cell.id = f"cell-{len(nb.cells):03d}"  # stable ids: rewriting gives a small diff
        nb.cells.append(cell)

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            rest = line[4:].strip()
            kind = "markdown" if rest.startswith("[markdown]") else "code"
            tags = json.loads(rest.split("tags=", 1)[1]) if "tags=" in rest else []
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
