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
* **The logo with the title.** With a logo image the theme drops the book's title unless
  ``logo.text`` is given; the title is kept next to the logo.

``tests/site/test_chrome.py`` checks all three in a browser.
"""

from __future__ import annotations


def _configure_chrome(app, config):
    options = config.html_theme_options
    options.setdefault("navbar_persistent", [])
    logo = options.get("logo") or {}
    logo.setdefault("text", config.html_title)
    options["logo"] = logo


def setup(app):
    app.connect("config-inited", _configure_chrome)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
