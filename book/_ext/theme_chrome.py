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

* **Display equations that fit a phone.** MathJax 3 does not break lines. After it has
  typeset the page (and whenever the window is resized), :data:`FIT_EQUATIONS` shrinks each
  display equation still wider than its column to fit it, to no less than 60 % of its size;
  the scale is recorded in ``data-scaled`` for ``tests/site/test_layout.py``.

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
      eq.style.fontSize = '';
      delete box.dataset.scaled;
      if (eq.scrollWidth <= eq.clientWidth + 1) continue;
      const s = Math.max(MIN, Math.floor(100 * eq.clientWidth / eq.scrollWidth) / 100);
      eq.style.fontSize = (100 * s) + '%';
      box.dataset.scaled = String(s);
    }
  }
  function start() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(fit);
    } else { setTimeout(start, 100); }
  }
  function markTables() {
    // A table of at most three columns stacks its cells on a phone (layout.css).
    for (const t of document.querySelectorAll('article table')) {
      const row = t.querySelector('tr');
      if (row && row.children.length <= 3) t.classList.add('stack-on-phone');
    }
  }
  document.addEventListener('DOMContentLoaded', markTables);
  let timer = null;
  window.addEventListener('resize', () => { clearTimeout(timer); timer = setTimeout(fit, 150); });
  document.addEventListener('DOMContentLoaded', start);
})();
"""


def setup(app):
    app.connect("config-inited", _configure_chrome)
    app.add_js_file(None, body=FIT_EQUATIONS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
