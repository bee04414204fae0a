"""The API index, and the house rule that every public name is documented."""

from pathlib import Path

from companion.api_index import api_index_html, chapter_usage, public_api

BOOK = Path(__file__).resolve().parent.parent / "book"


def test_every_public_function_and_class_has_a_docstring():
    missing = [f"{r['module']}.{r['name']}" for r in public_api()
               if r["kind"] != "constant" and not r["summary"]]
    assert not missing, f"public names without a docstring: {missing}"


def test_usage_finds_the_toolkit_functions():
    usage = chapter_usage(BOOK)
    assert "toolkit" in usage["kl_normal"] and "toolkit" in usage["mc_estimate"]
    assert "toolkit" not in usage["check_choice"]


def test_html_lists_every_public_name():
    html = api_index_html(BOOK)
    assert all(f".{r['name']}</code>" in html for r in public_api())
    assert '<a href="toolkit.html">toolkit</a>' in html
