"""The repository, issue, Binder and Colab buttons come from the clone's ``origin`` remote
(issue 17, item 15; book/_ext/repository_buttons.py).

Each case builds a two-page book (a Markdown page and a notebook with no code cell) with this
book's own ``_config.yml``, extensions and static files, inside a fresh git repository whose
``origin`` is a GitHub repository, another host, or absent, and reads the buttons in the HTML.
A build takes a few seconds; it needs what `make setup` installs (the widget scripts).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
LAUNCH_OR_REPO = re.compile(r"github\.com|mybinder\.org|colab\.research\.google\.com")


def _build(tmp_path: Path, origin: str | None) -> Path:
    clone = tmp_path / "clone"
    book = clone / "book"
    book.mkdir(parents=True)
    for folder in ("_ext", "_static"):
        shutil.copytree(BOOK / folder, book / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(BOOK / "references.bib", book)
    (book / "_vendor").mkdir()
    (book / "_vendor" / "node_modules").symlink_to(BOOK / "_vendor" / "node_modules")
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapter\n")
    (book / "intro.md").write_text("# Home\n\nThe home page.\n")
    notebook = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# A chapter\n"]}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 4}
    (book / "chapter.ipynb").write_text(json.dumps(notebook))
    subprocess.run(["git", "init", "-q", "-b", "main", str(clone)], check=True)
    if origin is not None:
        subprocess.run(["git", "-C", str(clone), "remote", "add", "origin", origin], check=True)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    run = subprocess.run([str(jupyter_book), "build", str(book), "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return book / "_build" / "html"


def _header_links(page: Path) -> list[str]:
    source = page.read_text()
    start = source.index('<div class="article-header-buttons">')
    end = source.index('<article class="bd-article"', start)
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', source[start:end])]


@pytest.mark.parametrize("origin", [None, "https://gitlab.com/someone/some-book.git", "/srv/git/some-book"],
                         ids=["no-origin", "gitlab-origin", "local-origin"])
def test_no_buttons_without_a_github_origin(tmp_path, origin):
    site = _build(tmp_path, origin)
    for name in ("intro.html", "chapter.html"):
        links = _header_links(site / name)
        assert not [h for h in links if LAUNCH_OR_REPO.search(h)], f"{name}: {links}"
        source = (site / name).read_text()
        assert "dropdown-launch-buttons" not in source and "dropdown-source-buttons" not in source


@pytest.mark.parametrize("origin", ["git@github.com:someone/some-book.git",
                                    "https://github.com/someone/some-book"], ids=["ssh", "https"])
def test_buttons_point_at_the_github_origin(tmp_path, origin):
    site = _build(tmp_path, origin)
    repo = "https://github.com/someone/some-book"
    for name in ("intro.html", "chapter.html"):
        links = _header_links(site / name)
        assert repo in links, f"{name}: no repository button: {links}"
        assert any(h.startswith(f"{repo}/issues/new?") for h in links), f"{name}: no issue button"
    links = _header_links(site / "chapter.html")
    assert "https://mybinder.org/v2/gh/someone/some-book/main?urlpath=lab/tree/book/chapter.ipynb" in links
    assert "https://colab.research.google.com/github/someone/some-book/blob/main/book/chapter.ipynb" in links
    assert not [h for h in _header_links(site / "intro.html") if "mybinder" in h or "colab" in h], \
        "launch buttons on a page that is not a notebook"
