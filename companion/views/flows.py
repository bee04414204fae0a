"""The flows chapter's widgets: a one-dimensional flow and a trained flow layer by layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..distributions import log_prob_change_of_variables_1d, normal_log_prob
from ..flows import (
    Flow,
    flow_1d_inverse,
    make_flow,
    sample_two_moons,
    train_flow,
)
from ..plotting import BOOK_STYLE
from ..validation import (
    ArrayLike,
    check_array,
    check_int,
    check_scalar,
    is_torch,
)
from ..widgets import WidgetSpec

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["flow_1d_widget_spec", "widget_specs"]

def _fast_figure(ncols: int = 1, *, width: float, height: float):
    """Like :func:`companion.plotting.new_figure` (book style, not registered with pyplot) but with
    fixed margins instead of constrained layout: a widget redraw then costs far less."""
    from matplotlib.figure import Figure

    with plt.rc_context(BOOK_STYLE):
        fig = Figure(figsize=(width, height), dpi=BOOK_STYLE["figure.dpi"])
        axes = fig.subplots(1, ncols, squeeze=True)
    fig.subplots_adjust(left=0.5 / width, right=1 - 0.1 / width, bottom=0.45 / height, top=1 - 0.3 / height,
                        wspace=0.25)
    return fig, axes


#: Slider ranges ``name: (min, max, step, default)`` for :func:`flow_1d_view` (5 x 4 x 6 = 120 points:
#: the site's page holds a picture of each).
FLOW_1D_SLIDERS: dict[str, tuple[Any, ...]] = {
    "shift": (-1.5, 1.5, 0.75, 0.0),
    "scale": (0.5, 2.0, 0.5, 1.0),
    "bend": (-0.75, 3.0, 0.75, 1.5),
}


def flow_1d_view(shift: float, scale: float, bend: float):
    r"""The density of the 1-D flow of :func:`flow_1d_inverse`, with and without its Jacobian term.

    Returns:
        ``(numbers, fig)``. With :math:`z = f^{-1}(x)` from :func:`flow_1d_inverse`,
        ``numbers`` holds the grid integrals of :math:`p_Z(z)\,|dz/dx|`
        (``"mass with Jacobian"``, 1 up to grid error, by equation ``eq-cov-1d``) and of
        :math:`p_Z(z)` alone (``"mass without Jacobian"``), and the log-Jacobian
        :math:`\log|dz/dx|` at the centre ``x = shift``. ``fig`` shows both curves and
        the Jacobian factor :math:`|dz/dx|`, each whole (the y-axis reaches above the highest).

    Example:
        >>> numbers, fig = flow_1d_view(0.0, 2.0, 0.0)
        >>> round(numbers["mass with Jacobian"], 6), round(numbers["mass without Jacobian"], 4)
        (1.0, 2.0)
    """
    shift = check_scalar(shift, "shift")
    scale = check_scalar(scale, "scale", low=0.0, closed=(False, True))
    bend = check_scalar(bend, "bend", low=-1.0, closed=(False, True))
    x = np.linspace(shift - 10 * scale, shift + 10 * scale, 2001)
    z, log_jac = flow_1d_inverse(x, shift, scale, bend)
    base = np.exp(normal_log_prob(z, 0.0, 1.0))
    density = np.exp(log_prob_change_of_variables_1d(
        x, lambda x: flow_1d_inverse(x, shift, scale, bend)[0],
        lambda x: flow_1d_inverse(x, shift, scale, bend)[1],
        lambda z: normal_log_prob(z, 0.0, 1.0)))
    numbers = {
        "mass with Jacobian": float(np.trapezoid(density, x)),
        "mass without Jacobian": float(np.trapezoid(base, x)),
        "log|dz/dx| at x = shift": float(flow_1d_inverse(np.array([shift]), shift, scale, bend)[1][0]),
    }
    view = np.abs(x) <= 5.0
    curves = {"p_Z(z) |dz/dx|": (density[view], "-"), "p_Z(z) alone": (base[view], "--"),
              "Jacobian |dz/dx|": (np.exp(log_jac[view]), ":")}
    # Every curve whole, with room above it: a curve cut off at the top edge ran into the title.
    # The key sits below the axes, where no curve can pass behind it.
    fig, ax = _fast_figure(width=4.8, height=2.6 + _FLOW_1D_KEY_HEIGHT)
    fig.subplots_adjust(bottom=(0.45 + _FLOW_1D_KEY_HEIGHT) / (2.6 + _FLOW_1D_KEY_HEIGHT))
    for label, (y, ls) in curves.items():
        ax.plot(x[view], y, ls=ls, label=label)
    top = _FLOW_1D_HEADROOM * max(float(y.max()) for y, _ in curves.values())
    ax.set(xlim=(-5, 5), ylim=(0, top), xlabel="x")
    ax.locator_params(nbins=5)
    box = ax.get_position()
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=((box.x0 + box.x1) / 2, 0.0),
              bbox_transform=fig.transFigure, ncol=3, columnspacing=1.2, handlelength=1.8, frameon=False)
    ax.set_title(f"mass {numbers['mass with Jacobian']:.3f} with Jacobian, "
                 f"{numbers['mass without Jacobian']:.3f} without", fontsize=9)
    return numbers, fig


#: Height (inches) added below the 1-D flow's axes for its key, and the room above its highest curve.
_FLOW_1D_KEY_HEIGHT, _FLOW_1D_HEADROOM = 0.3, 1.08


def flow_layers_view(states: Sequence[ArrayLike], layer: int):
    """Scatter of base samples after ``layer`` coupling layers (``states`` from :meth:`Flow.trajectory`).

    Points are coloured by the angle of their base point, so one can follow a region
    of the Gaussian as it is warped.

    Returns:
        ``(numbers, fig)`` with the mean and standard deviation of the shown points.
    """
    if len(states) == 0:
        raise ValueError("states: expected at least one state, got none")
    layer = check_int(layer, "layer", low=0, high=len(states) - 1)
    pts = [np.asarray(s.detach().cpu() if is_torch(s) else s, dtype=np.float64)
           for s in (states[0], states[layer])]
    base, cur = (check_array(p, "states", shape=(None, 2)) for p in pts)
    angle = np.arctan2(base[:, 1], base[:, 0])
    fig, ax = _fast_figure(width=3.0, height=3.0)
    ax.scatter(cur[:, 0], cur[:, 1], c=angle, cmap="hsv", s=3, alpha=0.7, linewidths=0)
    ax.locator_params(nbins=5)
    ax.set(xlim=(-4, 4), ylim=(-4, 4), aspect="equal")
    ax.set_title(f"after {layer} of {len(states) - 1} layers", fontsize=9)
    mean, std = cur.mean(axis=0), cur.std(axis=0)
    numbers = {"mean x1": float(mean[0]), "mean x2": float(mean[1]),
               "std x1": float(std[0]), "std x2": float(std[1])}
    return numbers, fig


def flow_1d_widget_spec() -> WidgetSpec:
    """The 1-D flow widget alone: :func:`flow_1d_view` on :data:`FLOW_1D_SLIDERS` (needs no training)."""
    return WidgetSpec("flow-1d-density", flow_1d_view, FLOW_1D_SLIDERS)


def widget_specs(flow: Flow | None = None, *, n_points: int = 1000, train_steps: int = 150,
                 seed: int = 0) -> list[WidgetSpec]:
    """The chapter's widgets: the 1-D flow (:func:`flow_1d_view`) and the layer-by-layer warp.

    Args:
        flow: a trained 2-D :class:`Flow` for the warp widget; if ``None``, a small affine
            flow is trained on two moons for ``train_steps`` steps (a second or two).
        n_points: base samples pushed through the flow (computed once, here).
        train_steps: steps for the default flow.
        seed: seeds the default flow and the base samples.
    """
    n_points = check_int(n_points, "n_points", low=1)
    seed = check_int(seed, "seed", low=0)
    if flow is None:
        flow = make_flow(n_layers=4, hidden=32, seed=seed)
        train_flow(flow, sample_two_moons(2000, rng=seed), steps=check_int(train_steps, "train_steps", low=1),
                   seed=seed, progress=False)
    if not isinstance(flow, Flow) or flow.dim != 2:
        raise ValueError("flow: expected a 2-D Flow")
    p = next(flow.parameters())
    z = torch.randn(n_points, 2, generator=torch.Generator().manual_seed(seed)).to(p.dtype)
    states = [s.cpu().numpy() for s in flow.trajectory(z.to(p.device))]
    n = len(states) - 1

    def layers_view(layer: int):
        return flow_layers_view(states, layer)

    return [
        flow_1d_widget_spec(),
        WidgetSpec("flow-layers", layers_view, {"layer": (0, n, 1, n)}),
    ]
