"""The flow-matching chapter's widget: samples and their quality against the solver and its steps."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import torch

from ..diffusion import gmm_sample, ring_gmm
from ..flow_matching import METHODS, PATHS, VelocityMLP, _check_fn, _integrate, train_velocity_model
from ..metrics import energy_distance
from ..plotting import new_figure
from ..validation import (
    check_array,
    check_int,
)
from ..widgets import WidgetSpec
from .diffusion import _readable_log_yaxis

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["sampling_widget_spec", "widget_specs"]

#: Slider options for :func:`sampling_view`: the path, the solver and its number of steps.
SAMPLING_SLIDERS: dict[str, tuple[Any, ...]] = {"path": ("options", list(PATHS), "linear"),
                    "method": ("options", list(METHODS), "euler"),
                    "steps": ("options", [1, 2, 4, 8, 16], 4)}


def sampling_view(path: str, method: str, steps: int, *, table: dict, reference: torch.Tensor):
    """Trajectories and samples of one path, solver and number of steps, against held-out data.

    Args:
        path, method, steps: a key ``(path, method, steps)`` of ``table``.
        table: ``{(path, method, steps): (trajectories (steps + 1, m, 2), samples (n, 2),
            energy distance)}``, precomputed by :func:`sampling_widget_spec`.
        reference: held-out data, shape ``(k, 2)``.

    Returns:
        ``(numbers, fig)`` with ``numbers = {"energy distance": ..., "evaluations": ...}``.
    """
    reference = check_array(reference, "reference", shape=(None, 2))
    key = (path, method, steps)
    if key not in table:
        raise ValueError(f"path, method and steps: expected one of {sorted(table)}, got {key}")
    traj, samples, ed = table[key]
    evals = steps * {"euler": 1, "midpoint": 2, "rk4": 4}[method]
    fig, (ax_s, ax_q) = new_figure(2, width=6.8, height=3.0)
    # all trajectories as one NaN-separated line: one artist, drawn ~10x faster than one line each
    m = traj.shape[1]
    gaps = torch.full((1, m, 2), math.nan, dtype=traj.dtype)
    lines = torch.cat([traj, gaps]).transpose(0, 1).reshape(-1, 2)                  # (m * (steps + 2), 2)
    ax_s.plot(reference[:, 0], reference[:, 1], ".", ms=2, alpha=0.25, mew=0, color="C7")
    ax_s.plot(lines[:, 0], lines[:, 1], lw=0.4, alpha=0.5, color="C0")
    ax_s.plot(samples[:, 0], samples[:, 1], ".", ms=2.5, alpha=0.8, mew=0, color="C3")
    ax_s.set_xlim(-3.5, 3.5)
    ax_s.set_ylim(-3.5, 3.5)
    ax_s.set_xticks([-3, 0, 3])
    ax_s.set_yticks([-3, 0, 3])
    ax_s.set_aspect("equal")
    ax_s.set_title(f"{path}, {method}, {steps} steps: ED = {ed:.3f}", fontsize=9)
    all_steps = sorted({k[2] for k in table if k[0] == path})
    for meth in METHODS:
        if (path, meth, all_steps[0]) in table:
            ax_q.plot(all_steps, [table[(path, meth, s)][2] for s in all_steps], marker="o", ms=3, label=meth)
    ax_q.plot([steps], [ed], marker="o", ms=8, mfc="none", color="k")
    ax_q.set_xscale("log")
    ax_q.set_yscale("log")
    ax_q.minorticks_off()  # minor ticks of log axes cost ~30 ms per redraw
    _readable_log_yaxis(ax_q, [v[2] for v in table.values()])  # the whole table: fixed limits
    ax_q.set_xticks(all_steps, labels=[str(s) for s in all_steps])
    ax_q.set_xlabel("solver steps")
    ax_q.set_title("energy distance to held-out data", fontsize=9)
    ax_q.legend(fontsize=8)
    return {"energy distance": float(ed), "evaluations": evals}, fig


def sampling_widget_spec(models: dict, reference: torch.Tensor, seed: int = 0, n_trajectories: int = 200):
    """The widget of :func:`sampling_view`: every (path, solver, steps) solved once, up front.

    Args:
        models: ``{"linear": velocity_fn, "cosine": velocity_fn}``, each trained on 2-D data with that path.
        reference: held-out data, shape ``(n, 2)``; as many samples are drawn (500 is plenty).
        seed: seeds the source draws (the same for every setting).
        n_trajectories: trajectories drawn (the first ones of the samples).
    """

    if not isinstance(models, dict) or set(models) != set(PATHS):
        raise ValueError(f"models: expected a dict with keys {list(PATHS)}, got "
                         f"{sorted(models) if isinstance(models, dict) else type(models).__name__}")
    for name, fn in models.items():
        _check_fn(fn, f"models[{name!r}]")
    reference = torch.as_tensor(check_array(reference, "reference", shape=(None, 2)), dtype=torch.float64)
    seed = check_int(seed, "seed", low=0)
    n_trajectories = check_int(n_trajectories, "n_trajectories", low=1)
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.randn(reference.shape[0], 2, generator=gen, dtype=torch.float64)
    table = {}
    with torch.no_grad():
        for path in PATHS:
            for method in METHODS:
                for steps in SAMPLING_SLIDERS["steps"][1]:
                    traj = _integrate(models[path], x0, 0.0, 1.0, steps, method, record=True).double()
                    table[(path, method, steps)] = (traj[:, :n_trajectories], traj[-1],
                                                    energy_distance(traj[-1], reference))
    return WidgetSpec("flow-matching-sampling", partial(sampling_view, table=table, reference=reference),
                      SAMPLING_SLIDERS)


def widget_specs(models: dict | None = None, reference: torch.Tensor | None = None, *, seed: int = 0,
                 n: int = 500, train_steps: int = 600) -> list:
    """The chapter's widgets, with their state precomputed.

    Args:
        models: ``{"linear": model, "cosine": model}`` trained on
            :func:`companion.diffusion.ring_gmm` data; small ones are trained here if ``None``.
        reference: held-out data, shape ``(n, 2)``; drawn from the ring if ``None``.
        seed: seeds data, training and sampling.
        n: held-out points when ``reference`` is ``None``.
        train_steps: used only if ``models`` is ``None``.

    Returns:
        ``[WidgetSpec("flow-matching-sampling", ...)]``.
    """

    seed = check_int(seed, "seed", low=0)
    n = check_int(n, "n", low=2)
    train_steps = check_int(train_steps, "train_steps", low=1)
    gen = torch.Generator().manual_seed(seed + 1)
    ring = ring_gmm()
    if models is None:
        data = gmm_sample(4000, *ring, generator=gen)
        models = {}
        for path in PATHS:
            models[path] = VelocityMLP(2, hidden=64)
            train_velocity_model(models[path], data, path=path, steps=train_steps, seed=seed)
    if reference is None:
        reference = gmm_sample(n, *ring, generator=gen)
    return [sampling_widget_spec(models, reference, seed)]
