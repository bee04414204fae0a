"""The book's structure: notebooks are clean, listed, and every page in the TOC exists."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from toc_notebooks import BOOK, toc_files, toc_notebooks

NOTEBOOKS = sorted(p for p in BOOK.glob("*.ipynb"))
ROOT = BOOK.parent


def test_every_toc_entry_exists():
    for name in toc_files():
        assert (BOOK / f"{name}.ipynb").exists() or (BOOK / f"{name}.md").exists(), name


def test_every_notebook_is_in_the_toc():
    listed = {p.resolve() for p in toc_notebooks()}
    missing = [p.name for p in NOTEBOOKS if p.resolve() not in listed]
    assert not missing, f"notebooks not in _toc.yml (so never tested): {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [
        i for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_fixes_its_seed(path):
    nb = json.loads(path.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "start_chapter(" in code or "set_seed(" in code, \
        f"{path.name} must call companion.start_chapter (or set_seed) at the top"


def test_shared_latex_macros_are_defined_once_in_the_config():
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    assert {"KL", "E", "ELBO"} <= set(macros)


def test_no_javascript_in_static_folder():
    # Jupyter Book adds a <script> tag for every .js file under book/_static.
    scripts = list((BOOK / "_static").rglob("*.js"))
    assert not scripts, f"move these out of book/_static: {scripts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_carries_the_config_macros_for_jupyterlab(path):
    """JupyterLab's MyST renderer reads LaTeX macros from the first cell's front matter;
    that copy must equal the config's (run tools/sync_macros.py after changing a macro)."""
    sys.path.insert(0, str(BOOK.parent / "tools"))
    from sync_macros import macro_cell_source

    first = json.loads(path.read_text())["cells"][0]
    assert "".join(first["source"]) == macro_cell_source(), f"{path.name}: run python tools/sync_macros.py"
    assert "remove-cell" in first["metadata"].get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_says_what_to_do_without_companion(path):
    """The first code cell explains how to install `companion` (e.g. on Colab), hidden on the site."""
    cells = json.loads(path.read_text())["cells"]
    first = next(c for c in cells if c["cell_type"] == "code")
    assert "except ImportError" in "".join(first["source"]) and "pip install -e ." in "".join(first["source"])
    assert "remove-cell" in first["metadata"].get("tags", [])


def _pins(path: Path) -> dict[str, str]:
    """``{name: version}`` of a requirements file, following ``-r`` includes; where two
    lines pin the same version, the one with a local label (``2.13.0+cpu``) is kept."""
    lines = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            lines += [f"{k}=={v}" for k, v in _pins((path.parent / line[3:].strip()).resolve()).items()]
        elif line and not line.startswith("--"):
            lines.append(line)
    pins = {}
    for line in lines:
        assert "==" in line, f"{path.name}: {line!r} is not pinned with =="
        name, version = line.lower().split("==")
        old = pins.get(name, version)
        assert old.split("+")[0] == version.split("+")[0], f"{path.name}: {name} {old} vs {version}"
        pins[name] = old if "+" in old else version
    return pins


def test_binder_installs_the_pinned_requirements_and_a_cpu_torch():
    binder = ROOT / "binder"
    pins = _pins(binder / "requirements.txt")
    assert pins == {**_pins(ROOT / "requirements.txt"), "torch": pins["torch"]}  # nothing else
    assert pins["torch"].endswith("+cpu"), "Binder has no GPU: pin torch's CPU build"
    index = "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert index in (binder / "requirements.txt").read_text()
    runtime = (binder / "runtime.txt").read_text().strip()
    assert runtime == "python-3.11", runtime  # the version the book is tested with (TOOLCHAIN)
    post = binder / "postBuild"
    assert os.access(post, os.X_OK) and "pip install --no-deps -e ." in post.read_text()


def _book_extension(name: str):
    sys.path.insert(0, str(BOOK / "_ext"))
    return __import__(name)


@pytest.mark.parametrize("remote, expected", [
    ("https://github.com/someone/some-book.git", "https://github.com/someone/some-book"),
    ("https://github.com/someone/some-book", "https://github.com/someone/some-book"),
    ("https://github.com/someone/some.book/", "https://github.com/someone/some.book"),
    ("https://x-access-token:abc@github.com/someone/some-book.git", "https://github.com/someone/some-book"),
    ("git@github.com:someone/some-book.git", "https://github.com/someone/some-book"),
    ("ssh://git@github.com/someone/some-book.git", "https://github.com/someone/some-book"),
    ("https://gitlab.com/someone/some-book.git", None),
    ("https://github.com.evil.org/someone/some-book", None),
    ("https://github.com/someone", None),
    ("/home/someone/some-book", None),
    ("", None),
])
def test_book_buttons_take_the_repository_from_a_github_origin(remote, expected):
    """book/_ext/repository_buttons.py: which `origin` remotes give repository and launch buttons."""
    assert _book_extension("repository_buttons").github_repository_url(remote) == expected


def test_book_github_origin_rejects_a_non_string():
    with pytest.raises(TypeError, match="remote"):
        _book_extension("repository_buttons").github_repository_url(None)


def test_book_reference_labels_are_author_year_and_unique():
    """book/_ext/citation_style.py labels the references.bib entries as the text cites them."""
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin

    labels_for = _book_extension("citation_style").author_year_labels
    entries = find_plugin("pybtex.style.sorting", "author_year_title")().sort(
        parse_file(str(BOOK / "references.bib")).entries.values())  # the list's order
    labels = dict(zip([e.key for e in entries], labels_for(entries), strict=True))
    assert labels["ho2020denoising"] == "Ho et al., 2020"
    assert labels["song2019generative"] == "Song and Ermon, 2019"
    assert labels["bishop2006pattern"] == "Bishop, 2006"
    # same authors' label and year: told apart by a letter, in the list's order (Jiaming < Yang)
    assert labels["song2021denoising"] == "Song et al., 2021a"
    assert labels["song2021score"] == "Song et al., 2021b"
    assert len(set(labels.values())) == len(labels)
