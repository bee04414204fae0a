"""The capstone's widget: each family's samples from each seed."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..capstone import FAMILY_NAMES, CapstoneConfig, draw_samples, ring_split, run_benchmark
from ..plotting import new_figure
from ..validation import (
    ArrayLike,
    check_array,
    check_choice,
    check_int,
)
from ..widgets import WidgetSpec

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["widget_specs"]

#: Slider ranges for :func:`samples_view`.
SAMPLES_SLIDERS: dict[str, tuple[Any, ...]] = {"family": ("options", list(FAMILY_NAMES), "flow"),
                                               "seed": ("options", [0, 1, 2], 0)}


def samples_view(family: str, seed: int, *, samples: dict, test: ArrayLike):
    """Generated samples of one family and seed over the held-out set (pure: precomputed samples).

    Args:
        family, seed: which model.
        samples: ``{(family, seed): (n, 2) array}``.
        test: held-out points, shape ``(m, 2)``.

    Returns:
        ``({"family", "seed", "n"}, fig)``.
    """
    family = check_choice(family, "family", FAMILY_NAMES)
    if (family, seed) not in samples:
        raise ValueError(f"seed: no samples for ({family!r}, {seed!r})")
    test = np.asarray(check_array(test, "test", shape=(None, 2)))
    x = np.asarray(samples[(family, seed)])
    fig, ax = new_figure(width=3.4, height=3.2)
    ax.scatter(test[:, 0], test[:, 1], s=2, c="0.7", label="held-out")
    ax.scatter(x[:, 0], x[:, 1], s=2, c="C0", alpha=0.6, label=f"{family}, seed {seed}")
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, markerscale=4)
    return {"family": family, "seed": int(seed), "n": int(len(x))}, fig


def widget_specs(models: dict | None = None, test: ArrayLike | None = None, *,
                 n: int = 1000) -> list[WidgetSpec]:
    """The chapter's widget: samples of each family and seed, drawn once here.

    Args:
        models: ``{(family, seed): trained}`` from :func:`run_benchmark`; if ``None``, a
            tiny benchmark (20 steps, small data) is trained.
        test: held-out points (default: from :func:`ring_split`).
        n: samples per model.
    """
    if models is not None and (not isinstance(models, dict) or not models):
        raise TypeError(f"models: expected a non-empty dict {{(family, seed): trained}}, got {models!r:.40}")
    if test is not None:
        test = check_array(test, "test", shape=(None, 2))
    n = check_int(n, "n", low=1)
    c = CapstoneConfig(steps=20, n_train=500, n_test=500, T=20, n_eval=100, n_timing=10)
    if models is None:
        _, models = run_benchmark(c, seeds=(0, 1, 2), progress=False)
    if test is None:
        test = ring_split(c)[1]
    samples = {key: draw_samples(tr, n, seed=7).numpy() for key, tr in models.items()}
    seeds = sorted({s for _, s in samples})
    sliders = {"family": ("options", list(FAMILY_NAMES), "flow"), "seed": ("options", seeds, seeds[0])}

    def callback(family, seed):
        return samples_view(family, seed, samples=samples, test=test)

    return [WidgetSpec("capstone-samples", callback, sliders)]
