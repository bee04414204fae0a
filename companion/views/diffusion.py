"""The diffusion chapter's widgets: data noised in closed form, and samples against the number of steps."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import torch

from ..diffusion import (
    EpsMLP,
    _check_ab,
    alphas_cumprod,
    beta_schedule,
    ddim_sample,
    gmm_sample,
    q_sample,
    ring_gmm,
    train_eps_model,
)
from ..metrics import energy_distance
from ..plotting import new_figure
from ..validation import (
    check_array,
    check_choice,
    check_int,
)
from ..widgets import WidgetSpec

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["noising_widget_spec", "sampling_widget_spec", "widget_specs"]

#: Slider ranges for :func:`noised_data_view`: ``t`` every 9 steps of 100, and the schedule.
NOISED_SLIDERS: dict[str, tuple[Any, ...]] = {"t": (0, 99, 9, 27),
                                              "schedule": ("options", ["linear", "cosine"], "linear")}


def noised_data_view(t: int, schedule: str, *, x0: torch.Tensor, eps: torch.Tensor,
                     schedules: dict[str, torch.Tensor]):
    r"""Data noised in closed form (equation ``eq-q-sample``) at step ``t``, with the schedule's curves.

    Args:
        t: the array index into the schedules (paper step ``t + 1``).
        schedule: a key of ``schedules``.
        x0: clean 2-D data, shape ``(n, 2)``; eps: fixed noise, the same shape.
        schedules: ``{name: alphas_cumprod}``, each of shape ``(T,)``.

    Returns:
        ``(numbers, fig)`` with ``numbers = {"alpha_bar": ..., "SNR": ...}``.
    """
    x0 = check_array(x0, "x0", shape=(None, 2))
    eps = check_array(eps, "eps", shape=(None, 2))
    check_choice(schedule, "schedule", list(schedules))
    ab = _check_ab(schedules[schedule])
    t = check_int(t, "t", low=0, high=ab.shape[0] - 1)
    x_t = q_sample(x0, t, eps, ab)
    a = float(ab[t])
    numbers = {"alpha_bar": a, "SNR": a / (1.0 - a) if a < 1 else math.inf}
    fig, (ax_x, ax_ab, ax_snr) = new_figure(3, width=8.4, height=2.7)
    # one Line2D of markers draws ~2x faster than a scatter collection (the live widget redraws it)
    ax_x.plot(x_t[:, 0], x_t[:, 1], ".", ms=2, alpha=0.5, mew=0)
    ax_x.set_xlim(-4, 4)
    ax_x.set_ylim(-4, 4)
    ax_x.set_aspect("equal")
    ax_x.set_title("$x_t$", fontsize=9, loc="left")  # constant maths: parsed once, then cached
    ax_x.set_title(f"t = {t} ({schedule})", fontsize=9, loc="right")
    steps = torch.arange(ab.shape[0])
    for name, curve in schedules.items():
        width = 2.0 if name == schedule else 1.0
        ax_ab.plot(steps, curve, lw=width, label=name)
        ax_snr.plot(steps, torch.log10(curve / (1.0 - curve)), lw=width, label=name)
    ax_ab.axvline(t, color="k", lw=0.8, ls=":")
    ax_snr.axvline(t, color="k", lw=0.8, ls=":")
    ax_ab.set_title(r"$\bar\alpha_t$", fontsize=9)
    ax_snr.set_title(r"$\log_{10}\mathrm{SNR}_t$", fontsize=9)
    ax_ab.set_xlabel("t")
    ax_snr.set_xlabel("t")
    ax_ab.legend(fontsize=8)
    # fewer ticks: every tick is a few artists rebuilt on each slider move (~0.5 ms each)
    ax_x.set_xticks([-4, 0, 4])
    ax_x.set_yticks([-4, 0, 4])
    for ax in (ax_ab, ax_snr):
        ax.locator_params(nbins=4)
    return numbers, fig


#: Slider options for :func:`sampling_steps_view`: network evaluations and DDIM's ``eta``.
SAMPLING_SLIDERS: dict[str, tuple[Any, ...]] = {"steps": ("options", [5, 10, 20, 50, 100], 20),
                                                "eta": ("options", [0.0, 1.0], 0.0)}


def sampling_steps_view(steps: int, eta: float, *, table: dict, reference: torch.Tensor):
    """Samples drawn with ``steps`` network evaluations, against held-out data.

    Args:
        steps, eta: a key ``(steps, eta)`` of ``table``.
        table: ``{(steps, eta): (samples (n, 2), energy distance)}``, precomputed by
            :func:`widget_specs` with :func:`ddim_sample` (``eta = 1`` with all steps is DDPM).
        reference: held-out data, shape ``(m, 2)``.

    Returns:
        ``(numbers, fig)`` with ``numbers = {"energy distance": ...}``.
    """
    reference = check_array(reference, "reference", shape=(None, 2))
    key = (steps, float(eta))
    if key not in table:
        raise ValueError(f"steps and eta: expected one of {sorted(table)}, got {key}")
    samples, ed = table[key]
    # as arrays: matplotlib reads a torch tensor element by element (a few ms a redraw)
    ref, pts = np.asarray(reference), np.asarray(samples)
    fig, (ax_s, ax_q) = new_figure(2, width=6.4, height=2.8)
    ax_s.scatter(ref[:, 0], ref[:, 1], s=2, alpha=0.3, color="C7", linewidths=0, label="held-out")
    ax_s.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.6, color="C0", linewidths=0, label="samples")
    ax_s.set_xlim(-3.5, 3.5)
    ax_s.set_ylim(-3.5, 3.5)
    ax_s.set_xticks([-3, 0, 3])  # few ticks: each is rebuilt on every slider move
    ax_s.set_yticks([-3, 0, 3])
    ax_s.set_aspect("equal")
    ax_s.set_title(f"{steps} steps, eta = {eta:g}", fontsize=9)
    for e in sorted({k[1] for k in table}):
        xs = sorted(k[0] for k in table if k[1] == e)
        ax_q.plot(xs, [table[(s, e)][1] for s in xs], marker="o", ms=3, label=f"eta = {e:g}")
    ax_q.plot([steps], [ed], marker="o", ms=8, mfc="none", color="k")
    ax_q.set_xscale("log")
    ax_q.set_yscale("log")
    ax_q.minorticks_off()  # minor ticks of log axes cost ~30 ms per redraw in the live widget
    _readable_log_yaxis(ax_q, [v[1] for v in table.values()])
    all_steps = sorted({k[0] for k in table})
    ax_q.set_xticks(all_steps, labels=[str(s) for s in all_steps])
    ax_q.set_xlabel("network evaluations")
    ax_q.set_title("energy distance to held-out data", fontsize=9)
    ax_q.legend(fontsize=8)
    return {"energy distance": float(ed)}, fig


def _readable_log_yaxis(ax, values) -> None:
    """Give the logarithmic y-axis of a widget at least two tick labels at every slider position.

    With its minor ticks off (they are slow to redraw), a log axis spanning less than a decade
    showed one label, or none. The limits become the nearest 1, 2 or 5 times a power of ten
    around ``values`` (every number the widget can plot, so they stay put as the sliders move;
    with room for the markers); the ticks fall at 1, 2 and 5 times each power of ten (each power
    only, beyond two decades), so both limits carry a label, written as a plain number.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator

    positive = [float(v) for v in values if math.isfinite(float(v)) and float(v) > 0.0]
    if not positive:
        return

    def nice(v: float, up: bool) -> float:
        k = math.floor(math.log10(v))
        ladder = [m * 10.0**e for e in (k - 1, k, k + 1) for m in (1.0, 2.0, 5.0)]
        if up:
            return min(t for t in ladder if t >= v * (1 - 1e-9))
        return max(t for t in ladder if t <= v * (1 + 1e-9))

    lo, hi = nice(min(positive) / 1.15, up=False), nice(max(positive) * 1.15, up=True)
    decades = math.log10(hi / lo)
    ax.set_ylim(lo, hi)
    ax.yaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0) if decades <= 2 else (1.0,),
                                          numticks=3 * math.ceil(decades) + 3))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def noising_widget_spec(T: int = 100, n: int = 1000, seed: int = 0):
    """The widget of :func:`noised_data_view`: :func:`ring_gmm` data, both schedules of ``T`` steps."""

    T = check_int(T, "T", low=NOISED_SLIDERS["t"][1] + 1)
    n = check_int(n, "n", low=1)
    gen = torch.Generator().manual_seed(check_int(seed, "seed", low=0))
    x0 = gmm_sample(n, *ring_gmm(), generator=gen)
    eps = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    schedules = {name: alphas_cumprod(beta_schedule(name, T)) for name in ("linear", "cosine")}
    return WidgetSpec("diffusion-noising", partial(noised_data_view, x0=x0, eps=eps, schedules=schedules),
                      NOISED_SLIDERS)


def sampling_widget_spec(model, alphas_cumprod: torch.Tensor, reference: torch.Tensor, seed: int = 0):
    """The widget of :func:`sampling_steps_view`: runs :func:`ddim_sample` once per slider value.

    Args:
        model: a trained noise predictor ``(x_t, t) -> eps`` for 2-D data.
        alphas_cumprod: the schedule it was trained with, shape ``(T,)``, ``T >= 100``.
        reference: held-out data, shape ``(n, 2)``; as many samples are drawn.
        seed: seeds the sampler.
    """

    ab = _check_ab(alphas_cumprod)
    reference = check_array(reference, "reference", shape=(None, 2))
    reference = torch.as_tensor(reference, dtype=torch.float64)
    table = {}
    for steps in SAMPLING_SLIDERS["steps"][1]:
        for eta in SAMPLING_SLIDERS["eta"][1]:
            x = ddim_sample(model, ab, (reference.shape[0], 2), steps, eta=eta, seed=seed).double()
            table[(steps, eta)] = (x, energy_distance(x, reference))
    return WidgetSpec("diffusion-sampling-steps",
                      partial(sampling_steps_view, table=table, reference=reference), SAMPLING_SLIDERS)


def widget_specs(model: torch.nn.Module | None = None, *, T: int = 100, n: int = 1000, seed: int = 0,
                 train_steps: int = 1200, progress: bool = False) -> list:
    """The chapter's widgets, with their state precomputed.

    Args:
        model: a trained noise predictor for :func:`ring_gmm` data with the ``"linear"``
            schedule of ``T`` steps (see :func:`beta_schedule`); trained here if ``None``.
        T: number of diffusion steps (>= 100).
        n: points per scatter plot.
        seed: seeds data, noise and sampling.
        train_steps, progress: used only if ``model`` is ``None``.

    Returns:
        ``[WidgetSpec("diffusion-noising", ...), WidgetSpec("diffusion-sampling-steps", ...)]``.
    """
    T = check_int(T, "T", low=100)
    n = check_int(n, "n", low=2)
    seed = check_int(seed, "seed", low=0)
    gen = torch.Generator().manual_seed(seed + 1)
    means, stds, weights = ring_gmm()
    ab = alphas_cumprod(beta_schedule("linear", T))
    if model is None:
        model = EpsMLP(2, hidden=64)
        train_eps_model(model, gmm_sample(20_000, means, stds, weights, gen), ab, steps=train_steps,
                        lr=3e-3, seed=seed, progress=progress)
    reference = gmm_sample(n, means, stds, weights, gen)
    return [noising_widget_spec(T, n, seed), sampling_widget_spec(model, ab, reference, seed)]
