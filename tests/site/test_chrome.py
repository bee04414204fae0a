"""The site's chrome: header, sidebar and its toggle, logo and favicon, citations, and the
repository and launch buttons (issue 17, items 11, 14 and 15).

Run on the built site like the rest of tests/site. The browser checks use headless Chromium at
1280 px (a laptop) and 390 px (a phone).
"""

from __future__ import annotations

import html
import re
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from browser import new_page, wait_for
from conftest import SITE_BOOK

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "book" / "_ext"))
from repository_buttons import find_repository  # noqa: E402

TAG = re.compile(r"<[^>]+>")
CITATION = re.compile(r'<span class="bibtex-citation" id="[^"]*">(.*?)</span>', re.S)
CITATION_LINK = re.compile(r'<a class="reference internal" href="([^"#]*)#([^"]+)"[^>]*>(.*?)</a>', re.S)
LIST_LABEL = re.compile(
    r'<div class="citation" id="([^"]+)"[^>]*>\s*<span class="label">(.*?)</span>\s*</span>', re.S)
YEAR = r"(?:\d{4}|n\.d\.)[a-z]?"
AUTHOR_YEAR_LABEL = re.compile(rf"^[^\[\]();]+, {YEAR}$")


def text(fragment: str) -> str:
    return " ".join(html.unescape(TAG.sub("", fragment)).split())


def _section(source: str, start: str, end: str) -> str:
    i = source.find(start)
    return "" if i < 0 else source[i:source.find(end, i)]


# --- item 11: no empty top bar, one search field, a sidebar toggle that works ------------------

def test_no_header_bar_above_the_page(pages):
    """pydata-sphinx-theme 0.17 adds a top bar holding only a second search field (and a hidden
    sidebar button that steals the visible one's click handler): it must be empty."""
    for page in pages:
        header = re.search(r'<header id="pst-header"[^>]*>(.*?)</header>', page.read_text(), re.S)
        assert header is None or not header[1].strip(), f"{page.name}: the top bar has content"


def _visible(selector: str) -> str:
    return (f"[...document.querySelectorAll({selector!r})].filter(e => {{"
            " const r = e.getBoundingClientRect();"
            " return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; })")


def _open(chromium, url: str, width: int):
    page = new_page(chromium, width)
    page.goto(url, wait_until="load", timeout=60_000)
    wait_for(page, f"{_visible('.primary-toggle')}.length > 0", 30, "the sidebar button")
    time.sleep(0.5)  # the themes attach their handlers on DOMContentLoaded; let them run
    return page


def _click(page, selector: str):
    """A real mouse click (press and release) in the middle of the first visible match."""
    x, y = page.evaluate(f"(() => {{ const r = {_visible(selector)}[0].getBoundingClientRect();"
                         " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    page.mouse.click(x, y)


SIDEBAR_SHOWN = """(() => { const s = document.querySelector('#pst-primary-sidebar');
    const r = s.getBoundingClientRect();
    return getComputedStyle(s).visibility !== 'hidden' && r.right > 100; })()"""


def test_one_search_field_at_1280px(chromium, site_url, pages):
    for path in pages[:2]:
        page = _open(chromium, f"{site_url}/{path.name}", 1280)
        top = page.evaluate("document.querySelector('.bd-main').getBoundingClientRect().top")
        assert top < 8, f"{path.name}: the page starts {top} px down (a bar above it)"
        fields = page.evaluate(f"{_visible('.search-button-field')}.length")
        assert fields == 1, f"{path.name}: {fields} search fields on screen"
        page.context.close()


def test_sidebar_toggle_hides_and_restores_the_sidebar_at_1280px(chromium, site_url, pages):
    page = _open(chromium, f"{site_url}/{pages[1].name}", 1280)
    assert page.evaluate(SIDEBAR_SHOWN), "the sidebar is not shown on a laptop screen"
    _click(page, ".primary-toggle")
    wait_for(page, f"!{SIDEBAR_SHOWN}", 5, "the sidebar to hide after a click on its button")
    width = page.evaluate("document.querySelector('.bd-article-container').getBoundingClientRect().left")
    assert width < 100, f"the article did not take the sidebar's room (starts at {width} px)"
    _click(page, ".primary-toggle")
    wait_for(page, SIDEBAR_SHOWN, 5, "the sidebar to come back after a second click")
    page.context.close()


def test_sidebar_toggle_opens_the_navigation_on_a_phone(chromium, site_url, pages):
    page = _open(chromium, f"{site_url}/{pages[1].name}", 390)
    assert not page.evaluate(SIDEBAR_SHOWN), "the sidebar covers the page on a phone"
    _click(page, ".primary-toggle")
    wait_for(page, "document.querySelector('#pst-primary-sidebar-modal').open", 5,
             "the navigation to open after a tap on its button")
    links = page.evaluate(f"{_visible('#pst-primary-sidebar-modal nav.bd-links a')}.length")
    assert links >= 2, f"the opened navigation shows {links} links"
    page.context.close()


# --- item 14: the home page once; author-year citations that match the reference list --------

def test_home_page_is_not_repeated_in_the_sidebar(pages):
    """The logo and title link to the home page; the navigation lists every other page once."""
    root = pages[0].name
    for page in pages:
        source = page.read_text()
        nav = _section(source, '<nav class="bd-links bd-docs-nav"', "</nav>")
        targets = [page.name if href in ("", "#") else Path(unquote(urlparse(href).path)).name
                   for href in re.findall(r'<a[^>]*href="([^"]*)"', nav)]
        assert root not in targets, f"{page.name}: the sidebar lists the home page"
        assert sorted(targets) == sorted({p.name for p in pages[1:]}), f"{page.name}: sidebar {targets}"
        brand = _section(source, '<a class="navbar-brand logo"', "</a>")
        assert f'href="{root}"' in brand or (page.name == root and 'href="#"' in brand), page.name


def _list_labels(html_dir: Path) -> dict[tuple[str, str], str]:
    """``{(page, id): label}`` of every entry of every bibliography on the site."""
    labels = {}
    for path in html_dir.glob("*.html"):
        for ident, label in LIST_LABEL.findall(path.read_text()):
            labels[(path.name, ident)] = text(label).removeprefix("[").removesuffix("]")
    return labels


def test_reference_list_is_labelled_author_year(html_dir):
    labels = _list_labels(html_dir)
    assert labels, "no bibliography on the site"
    wrong = [label for label in labels.values() if not AUTHOR_YEAR_LABEL.match(label)]
    assert not wrong, f"reference-list labels that are not 'Author et al., 2020': {wrong[:5]}"
    assert len(set(labels.values())) == len(labels), "two entries share a label"


def test_citations_are_author_year_and_match_the_list(html_dir, pages):
    """{cite:t} reads "Ho et al. (2020)", {cite} "(Ho et al., 2020)"; each names its entry's label."""
    labels = _list_labels(html_dir)
    n = 0
    for page in pages:
        for inner in CITATION.findall(page.read_text()):
            n += 1
            shown = text(inner)
            links = CITATION_LINK.findall(inner)
            assert links, f"{page.name}: citation {shown!r} links nowhere"
            for target, ident, link_text in links:
                label = labels[(target or page.name, ident)]
                cited = text(link_text)
                assert label == cited or label.endswith(f", {cited}"), f"{page.name}: {shown!r} vs {label!r}"
                if label != cited:  # textual: "Authors (year)", the authors those of the label
                    assert f"{label.rsplit(', ', 1)[0]} ({cited}" in shown, f"{page.name}: {shown!r}"
            parenthetical = rf"^\([^()]+, {YEAR}(; [^()]+, {YEAR})*\)$"
            textual = rf"^[^()]+ \({YEAR}\)((,| and|, and) [^()]+ \({YEAR}\))*$"
            assert re.match(parenthetical, shown) or re.match(textual, shown), f"{page.name}: {shown!r}"
    assert n > 0, "no citation on the site"


def test_no_author_is_named_twice(pages):
    """ "Ho et al. (Ho et al., 2020)": a name written before {cite} is {cite:t}'s job."""
    doubled = []
    for page in pages:
        body = text(_section(page.read_text(), '<article class="bd-article"', "</article>"))
        for m in re.finditer(rf"(\b[A-Z][\w-]+(?: et al\.| and [A-Z][\w-]+)?) [(\[]\1, {YEAR}", body):
            doubled.append(f"{page.name}: ...{m[0]}...")
    assert not doubled, "write {cite:t}`key` instead of 'Name {cite}`key`':\n" + "\n".join(doubled)


# --- a logo and a favicon, served by the site ---------------------------------------------------

def test_logo_and_favicon_are_served_by_the_site(pages):
    for page in pages:
        source = page.read_text()
        icons = re.findall(r'<link rel="(?:shortcut )?icon" href="([^"]+)"', source)
        logos = re.findall(r'<img src="([^"]+)" class="logo__image', source)
        assert icons and logos, f"{page.name}: favicon {icons}, logo {logos}"
        for url in icons + logos:
            assert not urlparse(url).scheme and not url.startswith("//"), f"{page.name}: {url}"
            asset = page.parent / unquote(urlparse(url).path)
            assert asset.exists(), f"{page.name}: {url} is missing"
            svg = asset.read_text() if asset.suffix == ".svg" else ""
            # an SVG that loads nothing: no links, no images, no fonts, no scripts
            assert not re.search(r"(?:href|src)\s*=|url\(\s*['\"]?(?!#)|@import|<script", svg), asset.name
        assert "logo__title" in source, f"{page.name}: the book's title is not beside the logo"


# --- item 15: repository, issue and launch buttons from the clone's origin ---------------------

LAUNCH_HOSTS = ("mybinder.org", "colab.research.google.com")


def test_repository_and_launch_buttons_follow_the_origin_remote(pages):
    """Buttons point at the GitHub repository of the clone that was built, or do not exist."""
    repo = find_repository(SITE_BOOK)
    for page in pages:
        source = page.read_text()
        header = _section(source, '<div class="article-header-buttons">', '<article class="bd-article"')
        hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', header)]
        notebook = (SITE_BOOK / f"{page.stem}.ipynb").exists()
        if repo is None:
            offending = [h for h in hrefs if "github.com" in h or any(s in h for s in LAUNCH_HOSTS)]
            assert not offending, f"{page.name}: buttons with no GitHub origin: {offending}"
            continue
        owner_repo = repo.url.removeprefix("https://github.com/")
        assert repo.url in hrefs, f"{page.name}: no repository button for {repo.url}: {hrefs}"
        assert any(h.startswith(f"{repo.url}/issues/new") for h in hrefs), f"{page.name}: no issue button"
        if notebook:
            path = f"{repo.path_to_book}/{page.stem}.ipynb".lstrip("/")
            binder = f"https://mybinder.org/v2/gh/{owner_repo}/{repo.branch}?urlpath=lab/tree/{path}"
            colab = f"https://colab.research.google.com/github/{owner_repo}/blob/{repo.branch}/{path}"
            assert binder in hrefs and colab in hrefs, f"{page.name}: launch links {hrefs}"
