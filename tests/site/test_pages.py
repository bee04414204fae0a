"""Every page, as a reader sees it: on a laptop in light and dark mode, and on a phone.

Each page of the table of contents is loaded in headless Chromium (under Playwright, in a fresh
context) three times, one test each, shared between the site checks' workers: at 1280 px as on a
first visit (nothing stored, so the theme follows the system's light setting), at 1280 px after
the reader chose dark mode, and at 390 px (a phone), again as a first visit. Once the page has
loaded, MathJax has typeset it, its fonts are in and its widgets are drawn, the same visit checks:

- no JavaScript error or console error, and no request the site answered with an error (a file
  the page asks for and the site lacks, such as a font, is a page that is not offline);
- maths typeset, with no TeX error; every widget drawn; every image loaded;
- the theme's mode applied (a dark background in dark mode);
- text contrast, WCAG AA, at 1280 px in both modes (:func:`test_contrast.contrast_problems`);
- nothing wider than its column, at both widths, in light mode (:func:`test_layout.layout_problems`).

A screenshot of each visit is saved in ``book/_build/screenshots`` for a person to look at:
``<page>.png``, ``<page>-dark.png`` and ``<page>-phone.png``.
"""

from __future__ import annotations

import re

import pytest
from browser import new_page, wait_for
from conftest import SCREENSHOTS, SITE_BOOK
from test_contrast import contrast_problems
from test_layout import layout_problems
from toc_notebooks import toc_files

#: view -> (theme mode, viewport width, viewport height, screenshot suffix)
VIEWS = {
    "light-1280": ("light", 1280, 1800, ""),
    "dark-1280": ("dark", 1280, 1800, "-dark"),
    "light-390": ("light", 390, 844, "-phone"),
}

WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'

#: Resolves once the page has loaded, MathJax has typeset it and its fonts are in.
READY = """(async () => {
  if (document.readyState !== 'complete') await new Promise(r => addEventListener('load', r, {once: true}));
  const t0 = Date.now();
  while (document.querySelector('.math') && !(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() - t0 > 30000) return 'MathJax did not start within 30 s';
    await new Promise(r => setTimeout(r, 50));
  }
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  return 'ready';
})()"""

#: True once every widget on the page is drawn, with its pictures decoded.
WIDGETS_DRAWN = f"""[...document.querySelectorAll('{WIDGET_VIEW}')]
  .every(s => s.parentElement.querySelector('.widget-subarea *'))
  && [...document.querySelectorAll('img.twin-frame')].every(i => i.complete)"""

NEXT_FRAME = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"


def _record_errors(page) -> list[str]:
    """Collect what goes wrong while ``page`` loads: JavaScript exceptions, console errors, and
    requests the site answered with an error or that failed."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"JavaScript exception: {e}"))
    page.on("console", lambda m: errors.append(f"console error: {m.text}") if m.type in ("error", "assert")
            else None)
    page.on("response", lambda r: errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: errors.append(f"request failed ({r.failure}): {r.url}"))
    return errors


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("name", toc_files(SITE_BOOK / "_toc.yml"))
def test_page(chromium, site_url, html_dir, name, view):
    mode, width, height, suffix = VIEWS[view]
    path = html_dir / f"{name}.html"
    source = path.read_text(encoding="utf-8")
    # a fresh context is a first visit (the theme follows the system: light); dark mode is stored
    # before any script runs, as the theme's switch would have stored it on an earlier visit
    dark = "localStorage.setItem('theme', 'dark'); localStorage.setItem('mode', 'dark');"
    page = new_page(chromium, width, height, init_script=dark if mode == "dark" else None)
    try:
        _check_page(page, site_url, path, source, name, view)
    finally:
        page.context.close()


def _check_page(page, site_url, path, source, name, view):
    mode, width, height, suffix = VIEWS[view]
    errors = _record_errors(page)
    page.goto(f"{site_url}/{path.name}", wait_until="load", timeout=60_000)
    state = page.evaluate(READY)
    assert state == "ready", f"{path.name} ({view}): {state}"
    problems = []
    if "application/vnd.jupyter.widget-view+json" in source:
        try:
            wait_for(page, WIDGETS_DRAWN, 60, f"the widgets of {path.name}")
        except TimeoutError as e:
            problems.append(f"widgets not drawn: {e}")
    page.evaluate(NEXT_FRAME)
    problems += errors
    if "math notranslate" in source:
        if not page.evaluate("document.querySelectorAll('mjx-container').length"):
            problems.append("maths not typeset (no mjx-container)")
        if page.evaluate("document.querySelectorAll('mjx-merror').length"):
            problems.append("MathJax reported a TeX error")
    broken = page.evaluate("[...document.images].filter(i => i.complete && i.naturalWidth === 0)"
                           ".map(i => i.src)")
    if broken:
        problems.append(f"images that did not load: {broken}")
    # issue 17, item 6: a figure shrunk to a phone's column opens at full size when tapped
    unlinked = page.evaluate("""[...document.querySelectorAll('article figure img')]
        .filter(i => !(i.closest('a') && i.closest('a').href.endsWith('.png')))
        .map(i => i.alt.slice(0, 40))""")
    if unlinked:
        problems.append(f"figures not linked to their full-size picture: {unlinked}")
    theme = page.evaluate("document.documentElement.dataset.theme")
    if theme != mode:
        problems.append(f"the page is in {theme!r} mode, not {mode!r}")
    if mode == "dark":
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        if sum(int(v) for v in re.findall(r"\d+", background)[:3]) >= 150:
            problems.append(f"dark mode background is {background}")
    if width >= 1000:
        problems += contrast_problems(page, path.name, mode)
    if mode == "light":
        problems += layout_problems(page, path.name, width)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}{suffix}.png")
    assert not problems, f"{path.name} ({view}), {len(problems)} problems:\n" + "\n".join(problems)
