"""Nothing on a page is wider than its column, on a laptop or a phone (issue 17, item 1 and 5).

Each page of the table of contents is loaded in headless Chromium at 1280 px and at 390 px, after
MathJax has typeset it (``test_pages.py``, which calls :func:`layout_problems` on each). A display
equation, a code block (source or output) or a table whose content is wider than the box it sits
in (so that the reader must scroll sideways to see its end) fails the test, with the page, the
kind of element and its first characters.

The book's answers: equations are broken into aligned lines; code and output lines wrap on
narrow screens (``theme_chrome.py``'s CSS); a display equation that is still too wide for a phone
is scaled down to fit (the same extension's script), to at least :data:`MIN_SCALE` of its size.
On a laptop (1280 px) no equation may need scaling: one that does fails too.

:data:`EXCEPTIONS` lists what may still scroll, each with its reason.
"""

from __future__ import annotations

import json
import re

WIDTHS = (1280, 390)

#: A scaled display equation must stay at least this large (a fraction of the text size).
MIN_SCALE = 0.6

#: (page, width, kind, regex over the element's first characters) -> reason.
EXCEPTIONS: dict[tuple[str, int, str, str], str] = {}

#: Every table of more than three columns (the family map, the capstone's results, the benchmark
#: and mutant appendices, the chapters' result tables): columns of numbers that must stay aligned,
#: so on a phone such a table scrolls inside its own box (a table of up to three columns stacks its
#: cells instead, layout.css). Checked: its box scrolls, and the page itself never does.
WIDE_TABLES_SCROLL_ON_A_PHONE = True

#: Display equations that do not fit a phone's column even at :data:`MIN_SCALE` of their size
#: (MathJax 3 cannot break a line): on a 390 px screen they scroll inside their own box, with a
#: shadow at the edge where more of the formula lies (layout.css), rather than shrink below
#: about 12 px, where subscripts cannot be read. Each is 2 % to 26 % too wide at that size.
#: A new equation too wide for a phone fails until it is broken over lines or listed here.
PHONE_SCROLLING_EQUATIONS: dict[str, tuple[str, ...]] = {
    "diffusion.html": (
        'eq-annealed-langevin', 'eq-ddpm-step', 'eq-gmm-noised', 'eq-langevin', 'eq-loss-decomposition',
        'eq-param-losses', 'eq-reverse-sde', 'eq-reverse-sde-em', 'eq-v-param'
    ),
    "flow_matching.html": (
        'eq-fm-cfm-loss', 'eq-fm-conversions', 'eq-fm-solvers'
    ),
    "flows.html": (
        'eq-dequant-bound', 'eq-logit'
    ),
    "gan.html": (
        'eq-dirac-field', 'eq-dirac-jacobian', 'eq-gan-value', 'eq-gen-grads', 'eq-js'
    ),
    "guidance.html": (
        'eq-cfg-rescale', 'eq-cfg-score', 'eq-dynamic-threshold', 'eq-noised-mixture'
    ),
    "toolkit.html": (
        'eq-cross-entropy-normal', 'eq-kl-normal'
    ),
    "vae.html": (
        'eq-elbo', 'eq-elbo-gap', 'eq-elbo-surgery', 'eq-free-bits', 'eq-inference-gaps', 'eq-iwae',
        'eq-kl-std', 'eq-linear-vae', 'eq-mean-field'
    ),
}
for _page, _labels in PHONE_SCROLLING_EQUATIONS.items():
    for _label in _labels:
        EXCEPTIONS[(_page, 390, "scrolling equation", rf"^equation-{_label} ")] = (
            "too wide for a phone at 60 % of its size; scrolls in its own box, marked by an edge shadow")

#: Inline formulas a phone cannot fit and that have no relation or sum at their top level to
#: break the line at (long formulas are written as several $...$ pieces split there): on a
#: 390 px screen each scrolls in its own box, with an edge shadow where more of it lies
#: (layout.css). Keyed by page, each by the start of its text as MathJax draws it.
PHONE_SCROLLING_INLINE: dict[str, tuple[str, ...]] = {
    "capstone.html": ('𝑝 𝜏 = 𝑁 ( 𝛼 ¯ ( 𝜏 ) 𝑚 ,', '= 1 − 𝛼 ¯ ( 𝜏 ) ( 𝑥 − 𝛼',),
    "diffusion.html": ('𝜕 𝑠 𝑝 = ∇ ⋅ [ ( 𝑓 − 𝑔 2',),
    "flow_matching.html": ('= − ∇ ⋅ ( ∫ 𝑝 𝑡 ( 𝑥 ∣ 𝑥',),
    "flows.html": ('𝐸 𝑝 data [ − log', '− 1 2 log', '= 𝐷 ( 1 − [ ( 1 + 𝑎 ) lo',),
    "guidance.html": ('𝑝 𝑡 ( 𝑥 ) 𝑝 𝑡 ( 𝑐 ∣ 𝑥 )',),
}
for _page, _starts in PHONE_SCROLLING_INLINE.items():
    for _start in _starts:
        EXCEPTIONS[(_page, 390, "scrolling inline formula", "^" + re.escape(_start))] = (
            "no top-level relation or sum to break at; scrolls in its own box, marked by an edge shadow")

MEASURE = r"""
(W) => {   // W: the width the page was opened at (a page wider than the screen widens innerWidth)
  const out = [];
  const tooWide = (box) => box.scrollWidth > box.clientWidth + 2;
  const short = (e) => (e.innerText || e.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 70);
  const size = (e) => parseFloat(getComputedStyle(e).fontSize);
  // the size MathJax gives an inline formula in a paragraph: a display equation is as large, times its scale
  const inline = document.querySelector('article p mjx-container:not([display="true"])');
  for (const e of document.querySelectorAll('article div.math')) {
    const scaled = e.dataset.scaled ? parseFloat(e.dataset.scaled) : 1;
    const eq = e.querySelector('mjx-container') || e;   // the equation scrolls, not its row
    const label = e.id || (e.previousElementSibling && e.previousElementSibling.id) || '';
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(eq).overflowX) && eq !== e && !tooWide(e);
    if (tooWide(eq) && scrolls && W < 1000 && Math.abs(scaled - MIN_SCALE) < 0.005)
      out.push(['scrolling equation', label + ' ' + short(eq), eq.scrollWidth, eq.clientWidth, scaled]);
    else if (tooWide(eq) || tooWide(e) || scaled < (W >= 1000 ? 1 : MIN_SCALE))
      out.push(['equation', label + ' ' + short(eq), eq.scrollWidth, eq.clientWidth, scaled]);
    else if (inline && eq !== e && size(eq) < 0.98 * scaled * size(inline))
      out.push(['small equation', label + ' ' + short(eq), size(eq), size(inline), scaled]);
  }
  // inline formulas
  for (const m of document.querySelectorAll('article mjx-container:not([display="true"])')) {
    if (m.closest('div.math, table')) continue;
    const box = m.parentElement.closest('p, li, dd, dt, div, figcaption');
    const r = m.getBoundingClientRect();
    if (!box || r.width === 0) continue;
    if (r.right > box.getBoundingClientRect().right + 2)
      out.push(['inline formula', short(m), r.width, box.getBoundingClientRect().width, 1]);
    // on a phone the formula scrolls in its own box; its drawn width (not scrollWidth, which counts
    // MathJax's hidden assistive MathML) against the box's
    const drawn = m.querySelector('mjx-math');
    const scrolls = getComputedStyle(m).overflowX === 'auto';
    if (scrolls && drawn && drawn.getBoundingClientRect().width > m.clientWidth + 2)
      out.push(['scrolling inline formula', short(m), drawn.getBoundingClientRect().width, m.clientWidth, 1]);
  }
  const blocks = 'article div.highlight pre, article div.cell_output pre, article .output pre';
  for (const e of document.querySelectorAll(blocks)) {
    if (tooWide(e)) out.push(['code', short(e), e.scrollWidth, e.clientWidth, 1]);
  }
  if (document.documentElement.scrollWidth > W + 1) {   // the page itself
    const inner = '.pst-scrollable-table-container, mjx-container, div.highlight, div.cell_output';
    const wide = [...document.querySelectorAll('article *')].filter(
      e => e.getBoundingClientRect().right > W + 1 && !e.closest(inner));
    out.push(['page', wide.slice(-1).map(short).join('') || 'unknown',
              document.documentElement.scrollWidth, W, 1]);
  }
  for (const t of document.querySelectorAll('article table')) {
    const box = t.closest('.pst-scrollable-table-container, .table-wrapper, div.output, div.cell_output')
      || t.parentElement;
    const row = t.querySelector('tr'), cols = row ? row.children.length : 0;
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
    if (tooWide(box) || t.getBoundingClientRect().width > document.querySelector('article').clientWidth + 2)
      out.push([W < 1000 && cols > 3 && scrolls ? 'scrolling table' : 'table', short(t),
                t.getBoundingClientRect().width, box.clientWidth, 1]);
  }
  return JSON.stringify(out);
}
""".replace("MIN_SCALE", str(MIN_SCALE))


def _allowed(page: str, width: int, kind: str, first: str) -> bool:
    return any(p == page and w == width and k == kind and re.search(rx, first)
               for (p, w, k, rx) in EXCEPTIONS)


#: Opens every collapsed solution and code cell (sphinx-togglebutton) and lets the fit script
#: measure what it shows, so that what a reader sees after a click is checked too.
EXPAND = """(() => {
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  window.dispatchEvent(new Event('resize'));
  return true;
})()"""


def layout_problems(page, name: str, width: int) -> list[str]:
    """Elements wider than their column on the Playwright ``page`` now loaded at ``width`` px
    (``test_pages.py`` loads each page at every width of :data:`WIDTHS`, typeset and drawn),
    with every collapsed block opened."""
    page.evaluate(EXPAND)
    page.wait_for_timeout(500)   # the fit script runs 150 ms after a resize
    problems = []
    for kind, first, content, box, scale in json.loads(page.evaluate(MEASURE, width)):
        if kind == "small equation":
            problems.append(f"{name} @ {width}px: display equation in a {content:.1f}px font, smaller than"
                            f" {scale:.2f} x the inline formulas' {box:.1f}px: {first!r}")
        elif kind == "scrolling table" and WIDE_TABLES_SCROLL_ON_A_PHONE:
            continue
        elif not _allowed(name, width, kind, first):
            problems.append(f"{name} @ {width}px: {kind} {content}px in {box}px"
                            f"{f' (scaled to {scale:.2f})' if scale < 1 else ''}: {first!r}")
    return problems


def test_exceptions_are_explained():
    assert all(reason.strip() for reason in EXCEPTIONS.values())
