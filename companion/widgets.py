"""Widget callbacks: pure functions of the slider values that return numbers and a figure.

They are tested without a browser (the notebook only wires them to sliders), so a
widget can never be dragged into a state the tests did not cover. Slider ranges
live next to the callbacks, in one place.
"""

from __future__ import annotations

import numpy as np

from .distributions import kl_normal, normal_log_prob
from .plotting import new_figure
from .validation import check_scalar

__all__ = ["KL_SLIDERS", "kl_two_gaussians_view"]

#: Slider ranges ``name: (min, max, step, default)`` for :func:`kl_two_gaussians_view`.
KL_SLIDERS = {
    "mu_q": (-3.0, 3.0, 0.25, 1.0),
    "sigma_q": (0.25, 3.0, 0.25, 0.5),
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
    lo = min(mu_q - 4 * sigma_q, mu_p - 4 * sigma_p)
    hi = max(mu_q + 4 * sigma_q, mu_p + 4 * sigma_p)
    x = np.linspace(lo, hi, 400)
    fig, ax = new_figure(height=2.6)
    ax.plot(x, np.exp(normal_log_prob(x, mu_p, sigma_p**2)), label=r"$p$")
    ax.plot(x, np.exp(normal_log_prob(x, mu_q, sigma_q**2)), label=r"$q$")
    ax.set_title(
        f"KL(q||p) = {numbers['KL(q||p)']:.3f}    KL(p||q) = {numbers['KL(p||q)']:.3f}"
    )
    ax.set_xlabel("$x$")
    ax.legend()
    return numbers, fig
