"""The guidance chapter's widget: samples as the guidance scale and the class move."""

from __future__ import annotations

from typing import Any

import torch

from ..diffusion import alphas_cumprod as _alphas_cumprod
from ..diffusion import linear_beta_schedule
from ..guidance import (
    LabelledMixture,
    MixtureDenoiser,
    _check_mixture,
    guidance_metrics,
    guided_sample,
    ring_mixture,
    support_threshold,
)
from ..plotting import new_figure
from ..validation import (
    check_int,
    check_scalar,
)
from ..widgets import WidgetSpec

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["guidance_scales", "precompute_guidance_grid", "widget_specs"]

#: Slider ranges for :func:`guidance_view`: the scale ``s`` on a grid, and the class.
GUIDANCE_SLIDERS: dict[str, tuple[Any, ...]] = {
    "scale": (0.0, 16.0, 1.0, 3.0),
    "label": (0, 2, 1, 0),
}


def precompute_guidance_grid(model, mix: LabelledMixture, alphas_cumprod: torch.Tensor, scales,
                             *, n_per_class: int = 200, n_steps: int = 25, eta: float = 0.0,
                             seed: int = 0, threshold: float | None = None) -> dict:
    """Guided samples for every (scale, class) on a grid, drawn in one batch, with their metrics.

    Returns:
        ``{"scales": list, "samples": {(s, c): (n, d) tensor}, "metrics": {(s, c): dict},
        "curve": {s: dict over all classes}, "threshold": float, "data": (n, d) tensor}``.
    """
    mix = _check_mixture(mix)
    scales = [check_scalar(s, "scales") for s in scales]
    n_per_class = check_int(n_per_class, "n_per_class", low=2)
    K = mix.n_classes
    threshold = support_threshold(mix) if threshold is None else check_scalar(threshold, "threshold")
    labels = torch.arange(K).repeat_interleave(n_per_class).repeat(len(scales))          # (S K n,)
    scale_vec = torch.tensor(scales, dtype=torch.float64).repeat_interleave(K * n_per_class)
    x = guided_sample(model, labels, scale_vec, alphas_cumprod, n_steps=n_steps, eta=eta, seed=seed)
    x = x.reshape(len(scales), K, n_per_class, mix.dim)
    samples, metrics, curve = {}, {}, {}
    for i, s in enumerate(scales):
        for c in range(K):
            lab = torch.full((n_per_class,), c, dtype=torch.long)
            samples[(s, c)] = x[i, c]
            metrics[(s, c)] = guidance_metrics(mix, x[i, c], lab, threshold)
        lab_all = torch.arange(K).repeat_interleave(n_per_class)
        curve[s] = guidance_metrics(mix, x[i].reshape(-1, mix.dim), lab_all, threshold)
    data, _ = mix.sample(600, seed)
    return {"scales": scales, "samples": samples, "metrics": metrics, "curve": curve,
            "threshold": threshold, "data": data, "mix": mix}


def guidance_view(scale: float, label: int, table: dict):
    """Widget callback: the precomputed guided samples at ``(scale, label)`` and their three numbers.

    Args:
        scale: a guidance scale on the grid of ``table`` (the nearest grid value is shown).
        label: the requested class.
        table: the output of :func:`precompute_guidance_grid`.

    Returns:
        ``(numbers, fig)``.
    """
    scale = check_scalar(scale, "scale")
    mix = table["mix"]
    label = check_int(label, "label", low=0, high=mix.n_classes - 1)
    s = min(table["scales"], key=lambda v: abs(v - scale))
    x = table["samples"][(s, label)]
    numbers = {"scale": float(s), **table["metrics"][(s, label)]}
    fig, ax = new_figure(width=3.6, height=3.4)
    data = table["data"]
    ax.scatter(data[:, 0], data[:, 1], s=3, c="0.75", label="data")
    ax.scatter(x[:, 0], x[:, 1], s=5, color=f"C{label}", label=f"guided, class {label}")
    ax.set_xlim(-6, 6)
    ax.set_ylim(-6, 6)
    ax.set_aspect("equal")
    ax.set_title(f"s = {s:g}: adh {numbers['adherence']:.2f}, div {numbers['diversity']:.2f}, "
                 f"off {numbers['off_support']:.2f}", fontsize=8)
    ax.legend(loc="lower left", fontsize=7)
    return numbers, fig


def guidance_scales() -> list[float]:
    """Every value of the ``scale`` slider of :data:`GUIDANCE_SLIDERS` (the grid to precompute)."""
    lo, hi, step, _ = GUIDANCE_SLIDERS["scale"]
    return [round(lo + i * step, 10) for i in range(int(round((hi - lo) / step)) + 1)]


def widget_specs(model=None, mix: LabelledMixture | None = None, alphas_cumprod: torch.Tensor | None = None,
                 *, table: dict | None = None, n_per_class: int = 150, n_steps: int = 25,
                 seed: int = 0) -> list[WidgetSpec]:
    """The chapter's widget: guidance scale and class, on samples precomputed for the slider grid.

    Pass ``table`` (from :func:`precompute_guidance_grid` over :func:`guidance_scales`) to reuse
    samples already drawn. Otherwise they are drawn here: with no ``model``, from the exact
    :class:`MixtureDenoiser` of :func:`ring_mixture` (fast, no training).
    """
    if table is None:
        mix = ring_mixture() if mix is None else _check_mixture(mix)
        if alphas_cumprod is None:
            alphas_cumprod = _alphas_cumprod(linear_beta_schedule(50, 1e-3, 0.2))
        model = MixtureDenoiser(mix, alphas_cumprod) if model is None else model
        table = precompute_guidance_grid(model, mix, alphas_cumprod, guidance_scales(),
                                         n_per_class=n_per_class, n_steps=n_steps, seed=seed)
    missing = [s for s in guidance_scales() if s not in table["scales"]]
    if missing:
        raise ValueError(f"table: expected samples at every slider scale, missing {missing}")
    sliders = dict(GUIDANCE_SLIDERS)
    sliders["label"] = (0, table["mix"].n_classes - 1, 1, 0)

    def callback(scale: float, label: int):
        return guidance_view(scale, label, table)

    return [WidgetSpec("guidance-scale", callback, sliders, labels={"scale": "guidance scale s"})]
