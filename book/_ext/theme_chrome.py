"""Work-arounds for the page chrome of sphinx-book-theme 1.3.0 on pydata-sphinx-theme 0.17.

* **No empty top bar.** pydata-sphinx-theme 0.17 puts a search field in a header bar of its
  own (``navbar_persistent`` defaults to ``["search-button-field"]`` unless it is set),
  which sphinx-book-theme leaves otherwise empty: a 64 px bar with a second search box
  (the sidebar already has one). Setting ``navbar_persistent`` to ``[]`` removes the bar.
* **A sidebar toggle that works on a laptop.** That header bar also holds a hidden
  ``.primary-toggle`` button ahead of the visible one in the article header; the themes'
  scripts attach their click handlers to the *first* ``.primary-toggle`` in the page, so the
  visible button did nothing on a wide screen (sphinx-book-theme issue #917) and, on a phone,
  pydata-sphinx-theme issue #2451. Without the bar, the visible button is the first one.
* **No console error on a first visit.** Without ``default_mode`` (in ``html_context``) the
  theme's first script reads an empty mode and logs "Got invalid theme mode" as an error;
  ``auto`` (follow the reader's system setting) is set instead.
* **The logo with the title.** With a logo image the theme drops the book's title unless
  ``logo.text`` is given; the title is kept next to the logo.

* **Figures a phone can zoom.** Each figure links to its full-size picture (``linkFigures``).
* **Display equations that fit a phone.** MathJax 3 does not break lines. After it has
  typeset the page (and whenever the window is resized), :data:`FIT_EQUATIONS` shrinks each
  display equation still wider than its column to fit it, to no less than 60 % of the size
  MathJax gave it (the size of the inline formulas); the scale is recorded in ``data-scaled``
  for ``tests/site/test_layout.py``, which also checks that an unscaled display equation is
  as large as the inline ones.

``tests/site/test_chrome.py`` checks the first three in a browser, ``test_pages.py`` the fourth
(a first visit logs no error) and, with ``test_layout.py``, the last.
"""

from __future__ import annotations


def _configure_chrome(app, config):
    options = config.html_theme_options
    options.setdefault("navbar_persistent", [])
    config.html_context.setdefault("default_mode", "auto")  # a template variable, not a theme option
    logo = options.get("logo") or {}
    logo.setdefault("text", config.html_title)
    options["logo"] = logo


FIT_EQUATIONS = """
(function () {
  const MIN = 0.6;
  function fit() {
    for (const box of document.querySelectorAll('article div.math')) {
      // pydata-sphinx-theme lays out the number and the equation in a flex row; the equation
      // (MathJax's container) scrolls on its own when it is too wide.
      const eq = box.querySelector('mjx-container');
      if (!eq) continue;
      // MathJax sizes each formula to match the text's x-height (an inline font-size such as
      // 127.3%): keep that size and scale from it, never from the bare text size.
      if (eq.dataset.mathSize === undefined) eq.dataset.mathSize = eq.style.fontSize || '100%';
      const base = parseFloat(eq.dataset.mathSize) || 100;
      eq.style.fontSize = eq.dataset.mathSize;
      delete box.dataset.scaled;
      if (eq.scrollWidth <= eq.clientWidth + 1) continue;
      const s = Math.max(MIN, Math.floor(100 * eq.clientWidth / eq.scrollWidth) / 100);
      eq.style.fontSize = (base * s) + '%';
      box.dataset.scaled = String(s);
    }
  }
  function start() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(fit);
    } else { setTimeout(start, 100); }
  }
  function markTables() {
    for (const t of document.querySelectorAll('article table')) {
      // A table of at most three columns stacks its cells on a phone (layout.css), each cell
      // labelled with its column's header, which a stacked table hides.
      const row = t.querySelector('tr');
      if (row && row.children.length <= 3) t.classList.add('stack-on-phone');
      const heads = [...t.querySelectorAll('thead th')].map(th => th.textContent.trim());
      for (const tr of t.querySelectorAll('tbody tr')) {
        [...tr.children].forEach((td, i) => { if (heads[i]) td.dataset.label = heads[i]; });
      }
      // A cell that is a number ("0.061 ± 0.002", "-2.19", "3.1e-04", "12 %") stays on one line.
      for (const td of t.querySelectorAll('td')) {
        const s = td.textContent.trim();
        if (/\d/.test(s) && /^[-+−–\d.,±×eE%()\s\/:x^⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+$/.test(s)) td.classList.add('num');
      }
    }
  }
  function linkFigures() {
    // On a phone a figure of several panels shrinks to the column; each figure links to its
    // full-size picture, which the reader can open and zoom (the picture's own file).
    for (const img of document.querySelectorAll('article figure img, article div.cell_output img')) {
      if (img.closest('a') || img.src.startsWith('data:')) continue;
      const a = document.createElement('a');
      a.href = img.getAttribute('src');
      a.className = 'figure-zoom';
      a.title = 'Open the full-size picture';
      img.parentNode.insertBefore(a, img);
      a.appendChild(img);
    }
  }
  document.addEventListener('DOMContentLoaded', markTables);
  document.addEventListener('DOMContentLoaded', linkFigures);
  let timer = null;
  window.addEventListener('resize', () => { clearTimeout(timer); timer = setTimeout(fit, 150); });
  document.addEventListener('DOMContentLoaded', start);
})();
"""


def setup(app):
    app.connect("config-inited", _configure_chrome)
    app.add_js_file(None, body=FIT_EQUATIONS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
