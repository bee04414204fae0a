"""Print the notebooks listed in book/_toc.yml, one path per line (used by `make notebooks`)."""

from __future__ import annotations

from pathlib import Path

import yaml

BOOK = Path(__file__).resolve().parent.parent / "book"


def toc_files(toc_path: Path = BOOK / "_toc.yml") -> list[str]:
    """Every ``file:`` entry of the table of contents, root first, in order."""
    toc = yaml.safe_load(toc_path.read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return files


def toc_notebooks() -> list[Path]:
    """Paths of the ``.ipynb`` chapters named in the table of contents."""
    return [BOOK / f"{f}.ipynb" for f in toc_files() if (BOOK / f"{f}.ipynb").exists()]


if __name__ == "__main__":
    for path in toc_notebooks():
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
