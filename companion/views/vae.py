"""The VAE chapter's widget: rate, distortion and active units of a linear VAE as beta moves."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch

from ..plotting import new_figure
from ..vae import (
    _check_gradient_args,  # noqa
    linear_vae_optimum,
    load_digits01,
)
from ..validation import (
    ArrayLike,
    check_scalar,
)
from ..widgets import WidgetSpec

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["widget_specs"]

#: Slider ranges ``name: (min, max, step, default)`` for :func:`beta_vae_view` (7 x 12 grid). The
#: site's static twin embeds one picture per position, so beta moves in whole steps, from the
#: ELBO's 1 past the collapse to four units at 6: 84 pictures, where halves from 0.5 to 8 made 192.
BETA_SLIDERS: dict[str, tuple[Any, ...]] = {
    "beta": (1.0, 7.0, 1.0, 1.0),
    "latent_dim": (1, 12, 1, 6),
}


def beta_vae_view(beta: float, latent_dim: int, *, eigenvalues: ArrayLike, obs_var: float):
    r"""The widget: rate, distortion and collapsed units of the linear beta-VAE ``eq-linear-vae``.

    Args:
        beta: KL weight.
        latent_dim: number of latent units.
        eigenvalues: the data covariance spectrum (e.g. of the digits), shape ``(D,)``.
        obs_var: decoder variance.

    Returns:
        ``(numbers, fig)``: ``numbers`` holds ``active units``, ``collapsed units``,
        ``rate (nats)``, ``distortion``, ``ELBO (nats)``; the figure shows the spectrum
        with the water level and the rate-distortion curve with the current point.

    Example:
        >>> numbers, fig = beta_vae_view(1.0, 2, eigenvalues=np.array([4.0, 1.0, 0.25]), obs_var=0.5)
        >>> numbers["active units"], numbers["collapsed units"]
        (2, 0)
    """
    out = linear_vae_optimum(eigenvalues, beta, obs_var, latent_dim)
    lam = np.sort(np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None))[::-1]
    numbers = {
        "active units": out["n_active"],
        "collapsed units": int(latent_dim - out["n_active"]),
        "rate (nats)": round(out["rate"], 4),
        "distortion": round(out["distortion"], 4),
        "ELBO (nats)": round(out["elbo"], 3),
    }
    fig, (ax1, ax2) = new_figure(2, width=7.2, height=2.7)
    n_show = min(len(lam), 16)
    idx = np.arange(1, n_show + 1)
    colour = np.where(idx <= latent_dim, np.where(lam[:n_show] > beta * obs_var, "C0", "0.6"), "0.85")
    ax1.vlines(idx, 0.0, lam[:n_show], colors=colour, lw=9)  # one collection: cheaper than bar()
    ax1.axhline(beta * obs_var, color="C3", lw=1.5, label=r"water level $\beta\sigma^2$")
    ax1.set_xticks(range(1, n_show + 1, 3))
    ax1.set_xlabel("principal direction $j$")
    ax1.set_ylabel(r"$\lambda_j$")
    ax1.set_ylim(0.0, 1.05 * max(lam[0], beta * obs_var))
    ax1.set_title(f"{out['n_active']} active / {latent_dim} units", fontsize=9)
    ax1.legend(fontsize=8)
    betas = np.geomspace(BETA_SLIDERS["beta"][0] / 2, BETA_SLIDERS["beta"][1] * 2, 60)
    level = betas[:, None] * obs_var  # (n_betas, 1): eq-linear-vae for many betas at once
    units = lam[None, :latent_dim]
    curve_rate = np.where(units > level, 0.5 * np.log(np.maximum(units, level) / level), 0.0).sum(1)
    curve_dist = np.minimum(units, level).sum(1) + lam[latent_dim:].sum()
    ax2.plot(curve_rate, curve_dist, color="C0")
    ax2.plot([out["rate"]], [out["distortion"]], "o", color="C3")
    # the same axes for every latent size, so that moving that slider moves the curve, not the axes:
    # the rate is largest with the most units, the distortion (at most the total variance) with none
    most = lam[None, :BETA_SLIDERS["latent_dim"][1]]
    top_rate = np.where(most > level, 0.5 * np.log(np.maximum(most, level) / level), 0.0).sum(1).max()
    ax2.set_xlim(0.0, 1.05 * max(top_rate, out["rate"]))
    ax2.set_ylim(0.0, 1.05 * max(lam.sum(), out["distortion"]))
    ax2.set_xlabel("rate (nats)")
    ax2.set_ylabel("distortion")
    ax2.set_title(f"beta = {beta:g}", fontsize=9)
    return numbers, fig


def widget_specs(eigenvalues: ArrayLike | None = None, obs_var: float = 0.05) -> list[WidgetSpec]:
    """The chapter's widgets with their state bound.

    Args:
        eigenvalues: covariance spectrum to use; by default that of the digits training
            split (:func:`load_digits01`), computed here in closed form (no training).
        obs_var: decoder variance of the linear VAE.
    """
    if eigenvalues is None:
        x_train = load_digits01()[0].double()
        eigenvalues = torch.linalg.eigvalsh(torch.cov(x_train.T, correction=0)).numpy()
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    linear_vae_optimum(eigenvalues, 1.0, obs_var)  # validates both
    obs_var = check_scalar(obs_var, "obs_var", low=0.0, closed=(False, True))
    callback = partial(beta_vae_view, eigenvalues=eigenvalues, obs_var=obs_var)
    return [WidgetSpec("vae-beta-latent", callback, BETA_SLIDERS)]
