"""Fixtures for the checks on the built site (run after `make book`)."""

from __future__ import annotations

import functools
import http.server
import os
import socketserver
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from toc_notebooks import BOOK, toc_files  # noqa: E402

# The book whose built site is checked: this one, or another build of it named by SITE_BOOK
# (e.g. a quick build of a few pages in a temporary clone while working on the site's chrome).
SITE_BOOK = Path(os.environ.get("SITE_BOOK", BOOK)).resolve()
HTML = SITE_BOOK / "_build" / "html"
SCREENSHOTS = SITE_BOOK / "_build" / "screenshots"


@pytest.fixture(scope="session")
def html_dir() -> Path:
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built site at {HTML}: run `make book` first")
    return HTML


@pytest.fixture(scope="session")
def pages(html_dir) -> list[Path]:
    """The HTML page of every entry in the table of contents."""
    return [html_dir / f"{name}.html" for name in toc_files(SITE_BOOK / "_toc.yml")]


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium under Playwright (tests/browser.py), one per test worker."""
    from browser import launch
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chrome = launch(playwright)
        yield chrome
        chrome.close()


@pytest.fixture
def page(chromium):
    """A fresh 1280 x 900 page (its own context: nothing stored, as on a first visit)."""
    from browser import new_page

    p = new_page(chromium)
    yield p
    p.context.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files and logs nothing (a request that arrives after its test ended, such as the
    search page's own fetches, would otherwise print to the terminal)."""

    def log_message(self, format, *args):  # noqa: A002 -- the signature of the method it replaces
        pass


class _Server(socketserver.ThreadingTCPServer):
    """One thread per connection: a browser kept open between tests holds idle (pre-)connections,
    which would block a server that answers one connection at a time."""

    daemon_threads = True


@pytest.fixture(scope="session")
def site_url(html_dir):
    """Serve the built site on localhost for the duration of the tests."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    with _Server(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
