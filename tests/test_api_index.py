"""The API index, and the house rule that every public name is documented."""

from pathlib import Path

from bookkit.api_index import api_index_html, chapter_usage, public_api

BOOK = Path(__file__).resolve().parent.parent / "book"


def test_every_public_function_and_class_has_a_docstring():
    missing = [f"{r['module']}.{r['name']}" for r in public_api()
               if r["kind"] != "constant" and not r["summary"]]
    assert not missing, f"public names without a docstring: {missing}"


def test_usage_finds_the_toolkit_functions():
    usage = chapter_usage(BOOK)
    assert "toolkit" in usage["distributions.kl_normal"] and "toolkit" in usage["distributions.mc_estimate"]
    assert "toolkit" not in usage["validation.check_choice"]


def test_usage_counts_what_a_chapter_reaches_through_the_package_not_bare_words(tmp_path):
    """Issue 17 review: "Used in" matched bare words, so ``torch.Generator`` counted as companion's
    ``Generator``, "VAE" in a sentence as the class, and every module's ``widget_specs`` shared one list."""
    import json

    cells = [
        {"cell_type": "code", "source": ["from companion import gan as Gn, views\n",
                                         "from companion.utils import worst\n",
                                         "g = torch.Generator()\n",
                                         "Gn.dirac_gan_step_matrix(0.1)\n",
                                         "views.flows.widget_specs(flow)\n"]},
        {"cell_type": "markdown", "source": ["A VAE, and `train_gan`, and `companion.vae.elbo`.\n",
                                             "```{literalinclude} ../companion/f_divergences.py\n",
                                             ":pyobject: f_divergence\n", "```\n"]},
    ]
    (tmp_path / "chapter.ipynb").write_text(json.dumps({"cells": cells}))
    (tmp_path / "api.ipynb").write_text(json.dumps({"cells": cells}))   # the index itself is not a chapter
    used = {key for key, chapters in chapter_usage(tmp_path).items() if chapters}
    assert used == {"gan_theory.dirac_gan_step_matrix", "views.flows.widget_specs", "utils.worst",
                    "gan.train_gan", "vae.elbo", "f_divergences.f_divergence"}, used


def test_html_lists_every_public_name():
    html = api_index_html(BOOK)
    assert all(f".{r['name']}</code>" in html for r in public_api())
    assert '<a href="toolkit.html">toolkit</a>' in html


def test_markdown_has_an_anchor_per_name_and_no_raw_rest():
    from bookkit.api_index import api_index_markdown

    md = api_index_markdown(BOOK, ["toolkit", "vae"])
    for r in public_api():
        assert f'<span id="companion-{r["module"]}-{r["name"]}"></span>`{r["name"]}`' in md
    assert ":math:" not in md and "``" not in md and ":func:" not in md
    assert "{eq}`eq-elbo`" in md                                  # labels become equation numbers
    assert "{doc}`toolkit`, {doc}`vae`" in md                     # chapters in the order given


def test_rest_to_myst_converts_each_construct():
    from bookkit.api_index import rest_to_myst

    assert rest_to_myst(r"``x`` and :math:`\alpha` by ``eq-kl`` (:class:`~companion.vae.VAE`)") == \
        r"`x` and $\alpha$ by {eq}`eq-kl` (`VAE`)"
