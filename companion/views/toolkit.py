"""The toolkit chapter's widget: the KL divergence between two Gaussians, as the sliders move."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..distributions import kl_normal, normal_log_prob
from ..plotting import new_figure
from ..validation import (
    check_scalar,
)
from ..widgets import WidgetSpec

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["kl_widget_spec", "widget_specs"]

#: Slider ranges ``name: (min, max, step, default)`` for :func:`kl_two_gaussians_view`.
KL_SLIDERS: dict[str, tuple[Any, ...]] = {
    "mu_q": (-3.0, 3.0, 0.5, 1.0),
    "sigma_q": (0.25, 2.75, 0.5, 0.75),
}


def kl_two_gaussians_view(mu_q: float, sigma_q: float, mu_p: float = 0.0, sigma_p: float = 1.0):
    r"""Both directions of the KL between ``q = N(mu_q, sigma_q^2)`` and ``p = N(mu_p, sigma_p^2)``.

    Returns:
        ``(numbers, fig)``: ``numbers`` has keys ``"KL(q||p)"`` and ``"KL(p||q)"``
        (equation ``eq-kl-normal``); ``fig`` shows both densities.

    Example:
        >>> numbers, fig = kl_two_gaussians_view(0.0, 1.0)
        >>> numbers["KL(q||p)"], numbers["KL(p||q)"]
        (0.0, 0.0)
    """
    mu_q = check_scalar(mu_q, "mu_q")
    sigma_q = check_scalar(sigma_q, "sigma_q", low=0.0, closed=(False, True))
    mu_p = check_scalar(mu_p, "mu_p")
    sigma_p = check_scalar(sigma_p, "sigma_p", low=0.0, closed=(False, True))
    numbers = {
        "KL(q||p)": float(kl_normal(mu_q, sigma_q**2, mu_p, sigma_p**2)),
        "KL(p||q)": float(kl_normal(mu_p, sigma_p**2, mu_q, sigma_q**2)),
    }
    # The same axes at every slider position (a moving slider must not rescale the picture):
    # limits from the whole grid of KL_SLIDERS, widened only for a q off that grid.
    (lo, hi), top = _kl_limits(mu_p, sigma_p)
    lo, hi = min(lo, mu_q - _KL_SPAN * sigma_q), max(hi, mu_q + _KL_SPAN * sigma_q)
    top = max(top, _KL_HEADROOM / (sigma_q * np.sqrt(2 * np.pi)))
    x = np.linspace(lo, hi, 400)
    fig, ax = new_figure(height=2.6)
    ax.plot(x, np.exp(normal_log_prob(x, mu_p, sigma_p**2)), label=r"$p$")
    ax.plot(x, np.exp(normal_log_prob(x, mu_q, sigma_q**2)), label=r"$q$")
    ax.set_xlim(lo, hi)
    ax.set_ylim(0.0, top)
    ax.set_title(
        f"KL(q||p) = {numbers['KL(q||p)']:.3f}    KL(p||q) = {numbers['KL(p||q)']:.3f}"
    )
    ax.set_xlabel("$x$")
    ax.legend(loc="upper right")  # not "best": the legend would hop between positions
    return numbers, fig


#: Standard deviations of each density shown on either side of its mean.
_KL_SPAN = 3.0


#: Room above the highest density any slider position draws.
_KL_HEADROOM = 1.05


def _kl_limits(mu_p: float, sigma_p: float) -> tuple[tuple[float, float], float]:
    """``((x_lo, x_hi), y_top)`` of :func:`kl_two_gaussians_view` for every position of
    :data:`KL_SLIDERS`: each density within ``_KL_SPAN`` standard deviations of its mean, and
    the highest density any position draws (the narrowest one's peak) with some headroom."""
    grid = WidgetSpec("kl", kl_two_gaussians_view, KL_SLIDERS)
    mus, sigmas = np.array(grid.values("mu_q")), np.array(grid.values("sigma_q"))
    lo = min(float(mus.min() - _KL_SPAN * sigmas.max()), mu_p - _KL_SPAN * sigma_p)
    hi = max(float(mus.max() + _KL_SPAN * sigmas.max()), mu_p + _KL_SPAN * sigma_p)
    narrowest = min(float(sigmas.min()), sigma_p)
    return (lo, hi), _KL_HEADROOM / (narrowest * np.sqrt(2 * np.pi))


def kl_widget_spec() -> WidgetSpec:
    """The probability toolkit's widget: both KL directions as ``q`` moves around ``p = N(0, 1)``."""
    return WidgetSpec("kl-two-gaussians", kl_two_gaussians_view, KL_SLIDERS)


def widget_specs() -> list[WidgetSpec]:
    """Every widget of the probability toolkit (each chapter module has a ``widget_specs`` like this)."""
    return [kl_widget_spec()]
