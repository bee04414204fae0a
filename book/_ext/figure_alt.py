"""Alt text for the chapters' figures, from the figures themselves (issue 17, item 6).

``companion.plotting`` writes a description of each figure (its titles and axis labels) into the
PNG's ``Description`` text chunk. MyST-NB turns a notebook's PNG output into an image whose alt
text is its file name (a hash). This extension reads the chunk and makes it the alt text; an
image without one keeps what it has. ``tests/site/test_site.py`` checks that no figure's alt text
is a file name.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes


def _description(path: Path) -> str | None:
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.info.get("Description")
    except (OSError, ValueError):
        return None


def _add_alt_text(app, doctree) -> None:
    docname = app.env.docname
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if not uri.lower().endswith(".png") or "://" in uri:
            continue
        _, path = app.env.relfn2path(uri, docname)
        text = _description(Path(path))
        if text:
            image["alt"] = text


def setup(app):
    app.connect("doctree-read", _add_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
