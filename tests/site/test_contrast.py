"""Text is readable in dark mode and in light mode: WCAG AA contrast (issue 17, item 4).

Each page is loaded in headless Chromium in the theme's light and dark modes (``test_pages.py``,
which calls :func:`contrast_problems` on each). For every element
that directly holds visible text in the article (prose, tables, code and outputs, captions, and
the widgets' labels and read-outs), the text colour is compared with the colour behind it (the
first ancestor with an opaque background). A contrast ratio below 4.5:1 (WCAG 2.1, level AA for
normal text) fails, listing the page, the element and the two colours.

Figures are PNGs drawn on an opaque white background with dark text, whatever the mode
(``companion.plotting``); :func:`test_figures_are_opaque_and_light` checks every figure file, so
their text keeps its contrast in dark mode too.
"""

from __future__ import annotations

import json

AA = 4.5

CONTRAST = r"""
(() => {
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const v = m[1].split(',').map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const lin = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
  const lum = ([r, g, b]) => { const f = lin;
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (e) => { let layers = [];
    for (let n = e; n; n = n.parentElement) { const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 0.99) break; } }
    let bg = parse(getComputedStyle(document.body).backgroundColor) || [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = [0, 1, 2].map(i => c[i] * c[3] + bg[i] * (1 - c[3]));
    return bg; };
  const out = [];
  const seen = new Set();
  const selector = 'article p, article li, article td, article th, article pre, article code, '
    + 'article .caption-text, '
    + 'article .widget-label, article .widget-html-content, article .widget-readout, article dt, article dd';
  for (const e of document.querySelectorAll(selector)) {
    if (e.closest('mjx-container, .MathJax')) continue;
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const r = e.getBoundingClientRect();
    if (!own || r.width === 0 || r.height === 0 || getComputedStyle(e).visibility === 'hidden') continue;
    const fg = parse(getComputedStyle(e).color); const bg = background(e);
    if (!fg) continue;
    const fgc = [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
    const [a, b] = [lum(fgc), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const key = e.tagName + e.className + getComputedStyle(e).color + bg.join(',');
    if (ratio < MIN_RATIO && !seen.has(key)) { seen.add(key);
      out.push([e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : ''),
                (e.innerText || '').trim().slice(0, 40), getComputedStyle(e).color,
                'rgb(' + bg.map(Math.round).join(', ') + ')', Math.round(ratio * 100) / 100]); }
  }
  return JSON.stringify(out);
})()
""".replace("MIN_RATIO", str(AA))


def contrast_problems(page, name: str, mode: str) -> list[str]:
    """Text colours below :data:`AA` on the Playwright ``page`` now loaded (``test_pages.py`` loads
    each page in light and in dark mode, with its maths typeset and its widgets drawn)."""
    return [f"{name} ({mode}): {what} {text!r}: {fg} on {bg} = {ratio}:1 (below {AA}:1)"
            for what, text, fg, bg, ratio in json.loads(page.evaluate(CONTRAST))]


def test_figures_are_opaque_and_light(html_dir):
    """Every figure of the site is an opaque PNG whose corners are white (so dark text on it keeps
    its contrast in dark mode)."""
    from PIL import Image

    images = sorted((html_dir / "_images").glob("*.png"))
    assert images, "no figure on the site"
    bad = []
    for path in images:
        with Image.open(path) as im:
            rgba = im.convert("RGBA")
            w, h = rgba.size
            corners = [rgba.getpixel(p) for p in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
            if any(c[3] < 255 or min(c[:3]) < 245 for c in corners):
                bad.append(f"{path.name}: corners {corners}")
    assert not bad, "figures that are transparent or dark at their edges:\n" + "\n".join(bad)
