"""Checks on the built HTML site: offline assets, links, outputs, and a real browser.

Run by `make site-check` (part of `make test`) after the book is built.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from browser import wait_for
from conftest import SCREENSHOTS, SITE_BOOK


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.styles, self.images, self.links, self.ids = [], [], [], [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.styles.append(a["href"])
        elif tag == "img" and a.get("src"):
            self.images.append(a["src"])
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])


@functools.cache  # a page is parsed once: links into it (each with an anchor) number in the hundreds
def parse(path: Path) -> _Collector:
    c = _Collector()
    c.feed(path.read_text(encoding="utf-8"))
    return c


def is_external(url: str) -> bool:
    return bool(urlparse(url).scheme) or url.startswith("//")


def test_every_toc_page_was_built(pages):
    missing = [p.name for p in pages if not p.exists()]
    assert not missing, f"pages in _toc.yml with no HTML: {missing}"


def test_scripts_and_styles_are_served_locally(html_dir, pages):
    for page in pages:
        c = parse(page)
        external = [u for u in c.scripts + c.styles if is_external(u)]
        assert not external, f"{page.name} loads from the network: {external}"
        for url in c.scripts + c.styles:
            target = (page.parent / unquote(urlparse(url).path)).resolve()
            assert target.exists(), f"{page.name}: {url} is missing from the site"


def test_mathjax_is_the_local_copy(html_dir, pages):
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").exists()
    math_pages = [p for p in pages if "math notranslate" in p.read_text()]
    assert math_pages, "no page has maths"
    for page in math_pages:
        assert any("_static/mathjax/tex-chtml.js" in s for s in parse(page).scripts), page.name


def test_widget_pages_load_the_local_widget_manager(html_dir, pages):
    widget_pages = [p for p in pages if "application/vnd.jupyter.widget-view+json" in p.read_text()]
    assert widget_pages, "no page embeds a widget"
    for page in widget_pages:
        scripts = parse(page).scripts
        paths = [urlparse(s).path for s in scripts]
        assert "_static/widgets/require.js" in paths, page.name
        assert "_static/widgets/embed-amd.js" in paths, page.name


def test_images_exist_and_internal_links_resolve(html_dir, pages):
    for page in pages:
        c = parse(page)
        for src in c.images:
            if not is_external(src) and not src.startswith("data:"):
                assert (page.parent / unquote(src)).exists(), f"{page.name}: missing image {src}"
        for href in c.links:
            if is_external(href) or href.startswith(("mailto:", "javascript:")):
                continue
            url = urlparse(href)
            target = page if not url.path else (page.parent / unquote(url.path)).resolve()
            assert target.exists(), f"{page.name}: broken link {href}"
            if url.fragment and target.suffix == ".html":
                assert url.fragment in parse(target).ids, f"{page.name}: no anchor {href}"


def test_no_error_output_in_executed_cells(pages):
    # Pages built from notebooks only: the mutation appendix (Markdown) reports, on purpose,
    # the AssertionErrors that deliberately broken code raised in the chapters.
    for page in (p for p in pages if (SITE_BOOK / f"{p.stem}.ipynb").exists()):
        text = page.read_text()
        assert "output traceback" not in text, f"{page.name} shows a traceback"
        assert not re.search(r"\b(Traceback \(most recent call last\)|AssertionError)", text), page.name


def test_search_finds_elbo(page, site_url):
    page.goto(f"{site_url}/search.html?q=ELBO", timeout=60_000)
    wait_for(page, "document.querySelectorAll('#search-results li a[href*=\\'.html\\']').length > 0", 30,
             "the search page to list pages for 'ELBO'")


@pytest.mark.parametrize("theme", ["dark"])
def test_figures_have_opaque_backgrounds(html_dir, theme):
    """Figures stay readable in dark mode: every PNG output is opaque (no alpha transparency)."""
    from matplotlib.image import imread

    pngs = list((html_dir / "_images").glob("*.png"))
    assert pngs, "no figures in the site"
    transparent = [p.name for p in pngs if (img := imread(p)).ndim == 3 and img.shape[2] == 4
                   and img[..., 3].min() < 1.0]
    assert not transparent, f"figures with transparent pixels: {transparent}"


def test_static_widget_twins_respond_without_a_kernel(page, site_url, pages):
    """On every page with widgets, pressing a key on the first slider shows another picture."""
    widget_pages = [p for p in pages if "application/vnd.jupyter.widget-view+json" in p.read_text()]
    # the picture's alt text names its slider position, and its data's last bytes differ by picture
    visible_image = """(() => { const imgs = [...document.querySelectorAll('img.twin-frame')]
        .filter(i => i.offsetParent !== null);
        return imgs.length ? imgs[0].alt + ' ' + imgs[0].src.length + imgs[0].src.slice(-80) : null; })()"""
    for path in widget_pages:
        page.goto(f"{site_url}/{path.name}", timeout=60_000)
        wait_for(page, "document.querySelectorAll('.noUi-handle').length > 0", 60,
                 f"the sliders of {path.name}")
        wait_for(page, f"{visible_image} !== null", 30, f"a picture on {path.name}")
        page.evaluate("""(() => { const h = document.querySelectorAll('.noUi-handle')[0];
            h.scrollIntoView({block: 'center'}); h.focus(); return true; })()""")
        before = page.evaluate(visible_image)
        page.keyboard.press("ArrowRight")
        wait_for(page, f"{visible_image} !== {before!r}", 30, f"the picture on {path.name} to change")
        # the new picture decoded and laid out on the page (a changed src alone is not yet drawn)
        wait_for(page, """(() => { const i = [...document.querySelectorAll('img.twin-frame')]
            .filter(i => i.offsetParent !== null)[0];
            return i.complete && i.naturalWidth > 100 && i.getBoundingClientRect().height > 50; })()""",
                 30, f"the new picture on {path.name} to be drawn")
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))")
        page.screenshot(path=SCREENSHOTS / f"{path.stem}-widget-moved.png")


class _ProseText(HTMLParser):
    """Text of a page outside maths, code, scripts and styles: what a reader sees as prose."""

    SKIP_TAGS = {"script", "style", "pre", "code", "textarea", "svg"}
    VOID = {"br", "img", "input", "hr", "meta", "link", "col", "area", "base", "embed", "source", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[bool] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in self.SKIP_TAGS or "math" in classes or (self.stack and self.stack[-1])
        self.stack.append(bool(skip))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


RAW_TEX = re.compile(r"\\(?:mu|sigma|Sigma|operatorname|frac|tfrac|mathcal|mathbb|nabla|alpha|bar|beta|"
                     r"epsilon|theta|sum|log|top|big|Big|left|right|KL|E_|abar|dd|cdot|sqrt)(?![A-Za-z])")


def test_no_raw_tex_in_the_prose(pages):
    """A ``$`` that Markdown did not pair (a line that starts with ``+`` inside an inline formula
    becomes a list item, for example) leaves TeX source in the text: none may reach a reader."""
    found = []
    for page in pages:
        parser = _ProseText()
        parser.feed(page.read_text(encoding="utf-8"))
        text = " ".join(parser.text)
        for m in RAW_TEX.finditer(text):
            found.append(f"{page.name}: ...{text[max(0, m.start() - 50):m.end() + 30]!r}")
    assert not found, "raw TeX in the rendered prose:\n" + "\n".join(found[:30])


def _blocks(source: str, marker: str) -> list[str]:
    """The text of each ``<div class="... marker ...">`` block (nested divs included)."""
    out = []
    for m in re.finditer(rf'<div class="[^"]*\b{marker}\b[^"]*"', source):
        depth, i = 0, m.start()
        for tag in re.finditer(r"<(/?)div\b", source[m.start():]):
            depth += -1 if tag.group(1) else 1
            if depth == 0:
                i = m.start() + tag.end()
                break
        out.append(re.sub(r"<[^>]+>", "", source[m.start():i]))
    return out


def test_quoted_companion_code_is_the_kernel(pages):
    """Issue 17, item 2: the chapters quote the mathematics of a function, not its docstring or
    its argument checks (book/_ext/kernel_source.py), with a link to the API index."""
    n, bad = 0, []
    for page in pages:
        source = page.read_text(encoding="utf-8")
        for block in _blocks(source, "kernel-source-container"):
            n += 1
            if '"""' in block or "&quot;&quot;&quot;" in block or re.search(r"\braise \w+Error\(", block) \
                    or re.search(r"^\s*_?check_\w+\(", block, re.M):
                bad.append(f"{page.name}: {block.strip()[:80]!r}")
        assert source.count("kernel-source-container") == source.count('href="api.html#companion-'), page.name
    assert n > 40, f"only {n} quoted functions found"
    assert not bad, "quoted code with a docstring or argument checks:\n" + "\n".join(bad)


def test_figures_have_alt_text_not_a_file_name(pages):
    """Issue 17, item 6: a figure's alt text describes it (companion.plotting writes it), it is not
    the PNG's hash."""
    bad, n = [], 0
    for page in pages:
        for alt, src in re.findall(r'<img alt="([^"]*)"[^>]*src="([^"]*_images/[^"]+\.png)"',
                                   page.read_text(encoding="utf-8")):
            n += 1
            if alt.endswith(".png") or not alt.startswith("Figure"):
                bad.append(f"{page.name}: {src.rsplit('/', 1)[-1][:16]}... alt={alt[:40]!r}")
    assert n > 30, f"only {n} figures found"
    assert not bad, "figures without a description:\n" + "\n".join(bad)


def test_markdown_tables_in_outputs_render_as_tables(pages):
    """A table a cell displays as Markdown (``companion.utils.markdown_table``) reaches the page as a
    table: under MyST-NB's default CommonMark (no tables) it was a paragraph of pipes, so such a
    cell asks for MyST (``mystnb: markdown_format``)."""
    bare = []
    for page in pages:
        for block in _blocks(page.read_text(encoding="utf-8"), "cell_output"):
            bare += [f"{page.name}: {line[:60]!r}" for line in block.splitlines()
                     if re.match(r"\s*\|[:\-–]+\|", line)]
    assert not bare, "Markdown tables printed as text:\n" + "\n".join(bare)


def _twin_positions(page) -> list[str]:
    """The HTML of each precomputed widget position on ``page`` (its picture and read-out), from the
    page's widget state."""
    import json

    m = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>',
                  page.read_text(encoding="utf-8"), re.S)
    models = json.loads(m.group(1))["state"].values() if m else ()
    return [v for model in models if model["model_name"] == "HTMLModel"
            and isinstance(v := model["state"].get("value"), str) and "twin-frame" in v]


def _widget_frames(page):
    """``(alt, mime type, bytes)`` of each precomputed widget picture on ``page``."""
    import base64
    import html

    frames = []
    for value in _twin_positions(page):
        alt = html.unescape(re.search(r'alt="([^"]*)"', value).group(1))
        mime, data = re.search(r'src="data:([^;]+);base64,([^"]+)"', value).groups()
        frames.append((alt, mime, len(base64.b64decode(data))))
    return frames


def test_widget_pictures_have_alt_text_naming_their_position(pages):
    """Issue 17, item 6: the widgets' pictures are described too (by their figure's titles and
    labels, and the slider values they show)."""
    bad, n = [], 0
    for page in pages:
        for alt, mime, size in _widget_frames(page):
            n += 1
            if not (alt.startswith("Figure. Panel:") and " At " in alt and alt.endswith(".")):
                bad.append(f"{page.name}: alt={alt[:60]!r}")
            if mime != "image/webp" or size == 0:
                bad.append(f"{page.name}: a {mime} picture of {size} bytes")
    assert n > 300, f"only {n} widget pictures found"
    assert not bad, "widget pictures:\n" + "\n".join(sorted(set(bad))[:20])


def test_widget_readouts_name_their_numbers_in_words(pages):
    """Issue 17, item 13: the numbers under a widget's picture are named in words ("modes covered"),
    not by the callback's variable names (``modes_covered``, ``off_support``)."""
    import html

    bare, n = set(), 0
    for page in pages:
        for value in _twin_positions(page):
            for item in re.findall(r"<code>([^<]*)</code>", value):
                n += 1
                name = html.unescape(item).split(" = ")[0]
                if "_" in name:
                    bare.add(f"{page.name}: {name}")
    assert n > 300, f"only {n} read-outs found"
    assert not bare, f"read-outs named by a variable: {sorted(bare)}"


#: The most a page may weigh: its HTML, with the picture of every widget position it embeds.
#: The heaviest page, the GAN chapter's (three widgets, 125 pictures), weighs 1.7 MB; the budget
#: leaves a little room and makes a new widget with a large slider grid fail here instead of
#: silently doubling a page, as it did before (vae.html 3.2 MB, gan.html 3.0 MB).
PAGE_BUDGET_MB = 1.8


def test_every_page_is_light_enough_for_a_phone(pages):
    """Issue 17, item 14: chapter pages weighed up to 3.2 MB, nearly all of it widget pictures.
    Every page, widget positions included, stays under :data:`PAGE_BUDGET_MB`."""
    weights = {page.name: page.stat().st_size / 1e6 for page in pages}
    heaviest = sorted(weights.items(), key=lambda kv: -kv[1])
    print("page weights (MB): " + ", ".join(f"{k} {v:.2f}" for k, v in heaviest))
    heavy = {k: round(v, 2) for k, v in weights.items() if v > PAGE_BUDGET_MB}
    assert not heavy, f"pages over {PAGE_BUDGET_MB} MB: {heavy}"


def test_no_label_name_in_outputs_or_prose(pages):
    """Issue 17, item 8: no ``eq-...`` label reaches a reader: not in the prose, not in a printed
    output, not in the comments of the code shown (equation_comments.py numbers them). Code may
    still hold a label as a value (``equation="eq-elbo"``), where the label is what it is about."""
    found = []
    for page in pages:
        source = page.read_text(encoding="utf-8")
        parser = _ProseText()
        parser.feed(source)
        comments = re.findall(r'<span class="(?:c|c1|ch|cm|cs)">([^<]*)</span>', source)  # Pygments' comments
        texts = [" ".join(parser.text), *_blocks(source, "cell_output"), *comments]
        for text in texts:
            found += [f"{page.name}: {m.group()}"
                      for m in re.finditer(r"(?<![\w#-])eq-[a-z0-9]+(?:-[a-z0-9]+)*", text)]
    assert not found, "label names on the pages:\n" + "\n".join(sorted(set(found)))


def test_every_figure_has_a_number_and_a_caption(pages):
    """Issue 17, item 6: each figure of the chapters is a numbered figure with a caption (the cell's
    ``mystnb.figure`` metadata), and the text cites each by its number (``{numref}``)."""
    bare, n = [], 0
    for page in pages:
        source = page.read_text(encoding="utf-8")
        for m in re.finditer(r'<img [^>]*src="[^"]*_images/[^"]+\.png"', source):
            n += 1
            opened, closed = source.rfind("<figure", 0, m.start()), source.rfind("</figure>", 0, m.start())
            if opened <= closed or "<figcaption" not in source[m.start():source.find("</figure>", m.start())]:
                bare.append(f"{page.name}: {m.group()[:90]}")
            else:
                ident = re.search(r'id="([^"]+)"', source[opened:m.start()])
                if ident and f'href="#{ident.group(1)}"' not in source:
                    bare.append(f"{page.name}: figure {ident.group(1)} is not cited in the text")
    assert n > 30, f"only {n} figures found"
    assert not bare, "figures without a number and caption, or not cited:\n" + "\n".join(bare)
