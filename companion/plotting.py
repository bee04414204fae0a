"""Plotting conventions shared by every chapter.

Figures get an opaque white background so they stay readable in the site's dark
mode, and a modest size and resolution so widget redraws stay fast. A chapter's figures
are displayed at :data:`BOOK_STYLE`'s 80 pixels per inch but carry twice as many pixels
(sharp on high-density screens), and a text description of the figure (titles and axis
labels) in the PNG, which the site uses as the image's alt text.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import matplotlib.pyplot as plt

__all__ = ["BOOK_STYLE", "DISPLAY_SCALE", "use_book_style", "new_figure", "figure_png", "figure_alt_text"]

BOOK_STYLE: dict[Any, Any] = {  # matplotlib's rcParams keys
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "figure.dpi": 80,
    "figure.figsize": (6.4, 3.6),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    # a fixed title height: matplotlib otherwise measures every tick label on each draw to
    # place titles clear of top-side labels, which none of our figures have
    "axes.titley": 1.0,
}


#: Pixels in a displayed figure's PNG per pixel of its displayed size.
DISPLAY_SCALE = 2


def use_book_style() -> None:
    """Apply :data:`BOOK_STYLE` and make ``display(fig)`` show a PNG (call once per chapter).

    Registering the PNG formatter for :class:`matplotlib.figure.Figure` means a figure
    displays as an opaque image whatever the matplotlib backend is (Agg in CI, inline
    in JupyterLab), so figures from :func:`new_figure` appear on the site too.
    """
    plt.rcParams.update(BOOK_STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the book's requirements
        return
    shell = get_ipython()
    if shell is not None:
        from matplotlib.figure import Figure

        formatter = shell.display_formatter.formatters["image/png"]
        formatter.for_type(Figure, _display_png)


def _display_png(fig):
    """``(png, metadata)`` for IPython: a PNG at :data:`DISPLAY_SCALE` times the figure's dpi,
    displayed at the figure's own size (the ``width`` metadata, in CSS pixels)."""
    width = int(round(fig.get_size_inches()[0] * fig.dpi))
    return figure_png(fig, scale=DISPLAY_SCALE), {"width": width}


def figure_alt_text(fig) -> str:
    """A description of ``fig`` from its text: the title, each panel's title and axis labels.

    Example:
        >>> fig, ax = new_figure()
        >>> _ = ax.set(title="KL(q || p)", xlabel="mu_q", ylabel="nats")
        >>> figure_alt_text(fig)
        'Figure. Panel: KL(q || p); x: mu_q; y: nats.'
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig: expected a matplotlib Figure, got {type(fig).__name__}")
    parts = []
    suptitle = getattr(fig, "_suptitle", None)  # matplotlib keeps the figure title privately
    if suptitle is not None and suptitle.get_text():
        parts.append(suptitle.get_text())
    for ax in fig.axes:
        bits = [t for t in (ax.get_title(), ax.get_title("left"), ax.get_title("right")) if t]
        label = "; ".join(bits)
        for axis, name in ((ax.get_xlabel(), "x"), (ax.get_ylabel(), "y")):
            if axis:
                label += f"{'; ' if label else ''}{name}: {axis}"
        if label:
            parts.append(f"Panel: {label}")
    text = ". ".join(p.strip().rstrip(".") for p in parts)
    return f"Figure. {text}." if text else "Figure."


def figure_png(fig, *, scale: float = 1.0) -> bytes:
    """The figure as PNG bytes with an opaque white background, at ``scale`` times its dpi.

    The PNG's ``Description`` text chunk holds :func:`figure_alt_text`.
    """
    import io

    from matplotlib.figure import Figure

    from .validation import check_scalar

    if not isinstance(fig, Figure):
        raise TypeError(f"fig: expected a matplotlib Figure, got {type(fig).__name__}")
    scale = check_scalar(scale, "scale", low=0.25, high=4.0)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white", transparent=False, dpi=fig.dpi * scale,
                metadata={"Description": figure_alt_text(fig)})
    return buf.getvalue()


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 6.4, height: float = 3.2):
    """A figure with the book's style, returned as ``(fig, axes)`` like ``plt.subplots``.

    The figure is not registered with pyplot's global state, so callbacks that make a
    figure per call leak nothing; display it with ``IPython.display.display(fig)``.
    """
    from matplotlib.figure import Figure

    from .validation import check_int, check_scalar

    ncols = check_int(ncols, "ncols", low=1, high=12)
    nrows = check_int(nrows, "nrows", low=1, high=12)
    width = check_scalar(width, "width", low=0.5, high=30.0)
    height = check_scalar(height, "height", low=0.5, high=30.0)
    kept = _KEPT_FIGURES.get()
    if kept is not None:  # inside reused_figures(): the same figure as last time, emptied
        key = (ncols, nrows, width, height, kept.setdefault("calls", 0))
        kept["calls"] += 1
        if key in kept:
            fig, axes = kept[key]
            fig.set_dpi(BOOK_STYLE["figure.dpi"])  # a render may have drawn it at another
            with plt.rc_context(BOOK_STYLE):
                for ax in fig.axes:
                    _empty_axes(ax)
            return fig, axes
    with plt.rc_context(BOOK_STYLE):
        fig = Figure(figsize=(width, height), dpi=BOOK_STYLE["figure.dpi"], layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=True)
    if kept is not None:
        kept[key] = (fig, axes)
    return fig, axes


#: The figures :func:`new_figure` hands out again inside :func:`reused_figures` (else ``None``).
_KEPT_FIGURES: ContextVar[dict | None] = ContextVar("_KEPT_FIGURES", default=None)


@contextmanager
def reused_figures(kept: dict):
    """Within this block, :func:`new_figure` returns the figure it made for the same call the
    last time ``kept`` was used (same arguments, same place in the sequence of calls),
    with its plotted artists removed, instead of building a new one.

    A live widget redraws with it (:meth:`companion.widgets.WidgetSpec.render`): the figure,
    its axes and their tick marks are built once, and each slider move only replaces what
    is plotted, which costs about half as much to draw. ``tests/test_widgets.py`` checks
    that a reused figure gives the same PNG, byte for byte, as a fresh one.
    """
    kept["calls"] = 0
    token = _KEPT_FIGURES.set(kept)
    try:
        yield
    finally:
        _KEPT_FIGURES.reset(token)


def _empty_axes(ax) -> None:
    """Return ``ax`` to the state of a fresh axes of :func:`new_figure` (call under the book's
    style), keeping the axes, their spines and their tick marks."""
    for artist in (*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images, *ax.tables,
                   *ax.artists):
        artist.remove()
    if ax.legend_ is not None:
        ax.legend_.remove()
    for loc in ("center", "left", "right"):
        ax.set_title("", loc=loc)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xscale("linear")
    ax.set_yscale("linear")
    ax.set_aspect("auto")
    ax.set_prop_cycle(None)  # colours start again at C0
    ax.relim()  # the data limits of nothing: the next plot sets them afresh
    ax.set_autoscale_on(True)
    ax.set_xmargin(plt.rcParams["axes.xmargin"])
    ax.set_ymargin(plt.rcParams["axes.ymargin"])
