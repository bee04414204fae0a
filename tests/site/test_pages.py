"""Every page, as a reader sees it: on a laptop in light and dark mode, and on a phone.

Each page of the table of contents is loaded in headless Chromium three times (one test each,
shared between the site checks' workers): at 1280 px as on a first visit (nothing stored, so the
theme follows the system's light setting), at 1280 px after the reader chose dark mode, and at
390 px (a phone), again as a first visit. Once the page has loaded, MathJax has typeset it, its fonts are
in and its widgets are drawn, the same visit checks:

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
  && [...document.querySelectorAll('.widget-image')].every(i => i.complete)"""

NEXT_FRAME = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"

EVENTS = {"Runtime.exceptionThrown", "Runtime.consoleAPICalled", "Log.entryAdded",
          "Network.responseReceived", "Network.loadingFailed"}


@pytest.fixture(scope="session")
def page_browser(chromium):
    """One headless Chromium per worker for every page visit, recording errors as they come."""
    import socket

    from cdp import Browser

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = Browser(chromium, port=port)
    for domain in ("Page", "Runtime", "Log", "Network"):
        b.send(f"{domain}.enable")
    b.record |= EVENTS
    try:
        yield b
    finally:
        b.close()


def _errors(events: list[dict]) -> list[str]:
    """What went wrong while the page loaded, from the DevTools events recorded during the visit."""
    out = []
    for e in events:
        method, p = e["method"], e["params"]
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            out.append(f"JavaScript exception: {d.get('exception', {}).get('description') or d.get('text')}")
        elif method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            out.append("console error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                    for a in p["args"]))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            out.append(f"console error: {p['entry']['text']} {p['entry'].get('url', '')}".strip())
        elif method == "Network.responseReceived" and p["response"]["status"] >= 400:
            out.append(f"HTTP {p['response']['status']} for {p['response']['url']}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            out.append(f"request failed ({p['errorText']}): {p.get('requestId')}")
    return out


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("name", toc_files(SITE_BOOK / "_toc.yml"))
def test_page(page_browser, site_url, html_dir, name, view):
    b = page_browser
    mode, width, height, suffix = VIEWS[view]
    page = html_dir / f"{name}.html"
    source = page.read_text(encoding="utf-8")
    b.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
           mobile=width < 600)
    # the theme reads its mode from localStorage before it draws: set it (dark, as the theme's
    # switch does) or clear it (a first visit) before any script runs
    store = ("localStorage.clear();" if mode == "light"
             else f"localStorage.setItem('theme', '{mode}'); localStorage.setItem('mode', '{mode}');")
    script = b.send("Page.addScriptToEvaluateOnNewDocument", source=store)
    b.events.clear()
    try:
        b.send("Page.navigate", url=f"{site_url}/{page.name}")
        b.wait_for("document.readyState === 'complete'", 60, f"{page.name} to load")
    finally:
        b.send("Page.removeScriptToEvaluateOnNewDocument", identifier=script["identifier"])
    state = b.eval(READY)
    assert state == "ready", f"{page.name} ({view}): {state}"
    problems = []
    if "application/vnd.jupyter.widget-view+json" in source:
        try:
            b.wait_for(WIDGETS_DRAWN, 60, f"the widgets of {page.name}")
        except TimeoutError as e:
            problems.append(f"widgets not drawn: {e}")
    b.eval(NEXT_FRAME)
    problems += _errors(b.events)
    if "math notranslate" in source:
        if not b.eval("document.querySelectorAll('mjx-container').length"):
            problems.append("maths not typeset (no mjx-container)")
        if b.eval("document.querySelectorAll('mjx-merror').length"):
            problems.append("MathJax reported a TeX error")
    broken = b.eval("[...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.src)")
    if broken:
        problems.append(f"images that did not load: {broken}")
    theme = b.eval("document.documentElement.dataset.theme")
    if theme != mode:
        problems.append(f"the page is in {theme!r} mode, not {mode!r}")
    if mode == "dark":
        background = b.eval("getComputedStyle(document.body).backgroundColor")
        if sum(int(v) for v in re.findall(r"\d+", background)[:3]) >= 150:
            problems.append(f"dark mode background is {background}")
    if width >= 1000:
        problems += contrast_problems(b, page.name, mode)
    if mode == "light":
        problems += layout_problems(b, page.name, width)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    b.screenshot(SCREENSHOTS / f"{name}{suffix}.png")
    assert not problems, f"{page.name} ({view}), {len(problems)} problems:\n" + "\n".join(problems)
