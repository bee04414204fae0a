"""Plotting conventions shared by every chapter.

Figures get an opaque white background so they stay readable in the site's dark
mode, and a modest size and resolution so widget redraws stay fast.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["BOOK_STYLE", "use_book_style", "new_figure"]

BOOK_STYLE = {
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
}


def use_book_style() -> None:
    """Apply :data:`BOOK_STYLE` to matplotlib's global settings (call once per chapter)."""
    plt.rcParams.update(BOOK_STYLE)


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 6.4, height: float = 3.2):
    """A figure with the book's style, returned as ``(fig, axes)`` like ``plt.subplots``.

    The figure is not registered with pyplot's global state, so callbacks that make a
    figure per call leak nothing; display it with ``IPython.display.display(fig)``.
    """
    from matplotlib.figure import Figure

    with plt.rc_context(BOOK_STYLE):
        fig = Figure(figsize=(width, height), dpi=BOOK_STYLE["figure.dpi"], layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes
