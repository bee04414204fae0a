"""Serve the widget JavaScript from the site itself, so pages work with no network.

MyST-NB adds ``<script>`` tags for the names in ``nb_ipywidgets_js`` (set in
``_config.yml``); this extension copies the files behind them from the npm packages
installed by ``make setup`` into ``_static/widgets/``. The files are kept out of
``book/_static`` on purpose: Jupyter Book loads every ``.js`` file found there.
"""

from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util.fileutil import copy_asset

VENDOR = Path(__file__).resolve().parent.parent / "_vendor" / "node_modules"
SOURCES = [
    VENDOR / "requirejs" / "require.js",
    VENDOR / "@jupyter-widgets" / "html-manager" / "dist",  # embed-amd.js and its fonts
]


def _check_sources(app, config):
    missing = [str(p) for p in SOURCES if not p.exists()]
    if missing:
        raise ExtensionError(
            "widget JavaScript not installed (run `make setup`, which runs npm ci in "
            f"book/_vendor): missing {missing}"
        )


def _copy_assets(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "widgets"
    dest.mkdir(parents=True, exist_ok=True)
    for src in SOURCES:
        if src.is_dir():
            for f in src.iterdir():
                if f.suffix != ".map" and f.is_file():
                    copy_asset(str(f), str(dest))
        else:
            copy_asset(str(src), str(dest))


# @jupyter-widgets/html-manager typesets widget labels with the MathJax 2 call
# ``MathJax.Hub.Queue``; the site runs MathJax 3, which has no ``Hub``. This shim
# forwards that call to MathJax 3's ``typesetPromise``.
MATHJAX2_SHIM = """
(function () {
  function shim() {
    if (window.MathJax === undefined || window.MathJax.Hub !== undefined) return;
    window.MathJax.Hub = {Queue: function (cmd) {
      var el = cmd && cmd[2];
      if (el && window.MathJax.typesetPromise) window.MathJax.typesetPromise([el]).catch(function () {});
    }};
  }
  shim();
  document.addEventListener("DOMContentLoaded", shim);
})();
"""


# The widget manager finds its fonts next to its own module, which RequireJS would place at
# ``<page dir>/@jupyter-widgets/html-manager/dist/`` (a 404 on this site). A global ``require``
# defined before require.js loads is its configuration: point that module path at the copies in
# ``_static/widgets/``, relative to the site's root (``data-content_root``, set by Sphinx).
REQUIRE_CONFIG = """
var require = {paths: {"@jupyter-widgets/html-manager/dist":
  (document.documentElement.dataset.content_root || "./") + "_static/widgets"}};
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    """Drop repeated inline scripts (Jupyter Book registers some twice, and a repeated
    ``const`` declaration is a JavaScript error in the browser)."""
    seen, unique = set(), []
    for js in context.get("script_files", []):
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", str(js)) or "",
               tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"][:] = unique


def setup(app):
    app.connect("config-inited", _check_sources)
    app.connect("build-finished", _copy_assets)
    # Early: Sphinx stops calling handlers once one returns a value (emit_firstresult).
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    app.add_js_file(None, body=MATHJAX2_SHIM, priority=900)
    app.add_js_file(None, body=REQUIRE_CONFIG, priority=100)  # before require.js (MyST-NB: 500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
