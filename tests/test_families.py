"""Tests for bookkit.families: the family map is complete and every link resolves."""

import re
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bookkit import families as F

BOOK = Path(__file__).resolve().parents[1] / "book"
KEYS = [k for k, _ in F.PROPERTIES]


def test_map_is_complete():
    assert list(F.FAMILY_MAP) == list(F.FAMILIES)
    for family, row in F.FAMILY_MAP.items():
        assert list(row) == KEYS, family
        for cell in row.values():
            assert cell.text.strip() and cell.chapter in F.CHAPTER_FILES
            assert cell.equation.startswith("eq-")
            assert cell.text.count("$") % 2 == 0, cell.text        # balanced inline math


def test_gan_has_no_likelihood_and_flow_an_exact_one():
    assert F.family_cell("GAN", "likelihood").text.startswith("none")
    assert "exact" in F.family_cell("flow", "likelihood").text
    assert "bound" in F.family_cell("VAE", "likelihood").text


@pytest.mark.parametrize("chapter", sorted(F.linked_labels()))
def test_every_linked_label_exists_in_its_chapter(chapter):
    path = BOOK / f"{F.CHAPTER_FILES[chapter]}.ipynb"
    if not path.exists():
        pytest.skip(f"{path.name} not written yet")
    labels = F.notebook_labels(path)
    assert chapter in labels
    missing = F.linked_labels()[chapter] - labels
    assert not missing, f"{path.name} lacks {sorted(missing)}"


def test_render_myst_links_every_cell():
    text = F.render_family_map("myst")
    lines = text.splitlines()
    assert len(lines) == 2 + len(F.PROPERTIES)
    for line in lines[2:]:
        assert line.count("{ref}`") == len(F.FAMILIES) and line.count("{eq}`") == len(F.FAMILIES)
        assert line.count(" | ") == len(F.FAMILIES)       # no stray pipes inside a cell
    refs = set(re.findall(r"\{eq\}`([^`]+)`", text))
    assert refs == set().union(*F.linked_labels().values())


def test_render_html_links_to_sphinx_anchors():
    text = F.render_family_map("html")
    assert text.count("<tr>") == 1 + len(F.PROPERTIES)
    assert 'href="vae.html#equation-eq-elbo"' in text and 'href="gan.html#ch-gan"' in text
    assert "\\(" in text and "$" not in text            # inline math converted for MathJax


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(F.FAMILIES), st.sampled_from(KEYS), st.sampled_from(["myst", "html"]))
def test_every_cell_appears_in_both_renderings(family, key, fmt):
    cell = F.family_cell(family, key)
    text = F.render_family_map(fmt)
    if fmt == "myst":
        assert f"{cell.text} ({{ref}}`§<{cell.chapter}>`, {{eq}}`{cell.equation}`)" in text
    else:
        assert f"#equation-{cell.equation}" in text and cell.text.split("$")[0].replace("'", "&#x27;") in text


def test_notebook_labels_reads_all_three_forms(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("(ch-a)=\n# A\n\n$$\nx = 1\n$$ (eq-one)\n"),
                nbformat.v4.new_markdown_cell("```{math}\n:label: eq-two\ny\n```"),
                nbformat.v4.new_code_cell("# (not-a-label)=\n")]
    p = tmp_path / "a.ipynb"
    nbformat.write(nb, p)
    assert F.notebook_labels(p) == {"ch-a", "eq-one", "eq-two"}


def test_bad_inputs_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="family"):
        F.family_cell("pixelcnn", "objective")
    with pytest.raises(ValueError, match="prop"):
        F.family_cell("VAE", "colour")
    with pytest.raises(ValueError, match="fmt"):
        F.render_family_map("latex")
    with pytest.raises(ValueError, match="path"):
        F.notebook_labels(tmp_path / "missing.ipynb")
    with pytest.raises(ValueError, match="path"):
        F.notebook_labels(tmp_path / "notes.md")
