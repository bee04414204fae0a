"""Presentation: each chapter's widgets (views, slider ranges, precomputed state).

One module per chapter, named after it: ``companion.views.diffusion`` holds the diffusion
chapter's widgets. They call the mathematics in :mod:`companion`; no mathematics module imports
them. :class:`companion.widgets.WidgetSpec` turns each into a live ipywidget, the site's static
twin, a benchmark and a corner test.

>>> from companion import views
>>> [spec.name for spec in views.toolkit.widget_specs()]
['kl-two-gaussians']
"""

from __future__ import annotations

import importlib

CHAPTERS = ("toolkit", "vae", "gan", "flows", "diffusion", "flow_matching", "guidance",
            "capstone")

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["CHAPTERS"]


def __getattr__(name: str):
    """``views.<chapter>`` imports that chapter's module on first use."""
    if name in CHAPTERS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
