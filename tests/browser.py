"""Headless Chromium for the tests, driven by Playwright with Debian's ``chromium``.

Playwright (``playwright`` on PyPI) brings its driver but no browser is downloaded: it launches
the system's Chromium (``executable_path``), which ``make test`` installs where it can
(``tools/ensure_chromium.sh``). Used by the site checks (``tests/site``) and the JupyterLab test
(``tests/lab``).
"""

from __future__ import annotations

import shutil

import pytest

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic", "--hide-scrollbars"]


def chromium_path() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("headless Chromium is needed for the browser checks and was not found. Install it "
                    "with `apt-get install chromium` (Debian/Ubuntu); `make test` does this where it can.")
    return exe


def launch(playwright):
    """Debian's Chromium, headless, under Playwright."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=FLAGS)


def new_page(browser, width: int = 1280, height: int = 900, *, init_script: str | None = None):
    """A page in a fresh context (nothing stored: a first visit) of ``width`` x ``height`` CSS px;
    ``init_script`` runs before the page's own scripts on every load."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                                  is_mobile=width < 600, has_touch=width < 600)
    if init_script:
        context.add_init_script(init_script)
    return context.new_page()


def wait_for(page, expression: str, timeout: float = 60, what: str = "") -> None:
    """Wait until the JavaScript ``expression`` is truthy; a ``TimeoutError`` names ``what``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(expression, timeout=timeout * 1000, polling=100)
    except PlaywrightTimeout:
        raise TimeoutError(f"timed out after {timeout} s waiting for {what or expression}") from None
