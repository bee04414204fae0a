"""The capstone's presentation: the results table, and the widget of each family's samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..capstone import (
    _NUMERIC,
    FAMILY_NAMES,
    CapstoneConfig,
    _config,
    draw_samples,
    ring_split,
    run_benchmark,
)
from ..plotting import new_figure
from ..validation import (
    ArrayLike,
    check_array,
    check_choice,
    check_int,
)
from ..widgets import WidgetSpec

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["widget_specs", "render_results"]


def _pm(mean, std, digits: int) -> str:
    """``mean`` over ``± std`` in one table cell (a line break keeps the columns narrow)."""
    if isinstance(mean, str):
        return mean
    return f"{mean:.{digits}f}<br>±\u00a0{std:.{digits}f}"


def render_results(summary: Sequence[dict], config: CapstoneConfig | None = None) -> str:
    """The summary as a Markdown table, with the settings it was computed with in a caption line.

    Example:
        >>> s = [{"family": "GAN", "n_seeds": 2, "log_likelihood_kind": "none: no tractable density",
        ...       **{f"{k}_{w}": ("none" if k == "log_likelihood" else 0.5) for k in _NUMERIC
        ...          for w in ("mean", "std")}}]
        >>> print(render_results(s).splitlines()[2][:40].replace("\u00a0", " "))  # no-break space
        | GAN | 0.5000<br>± 0.5000 | 0.5000<br>±
    """
    c = _config(config)
    if len(summary) == 0:
        raise ValueError("summary: expected at least one row")
    keys = ("family", "n_seeds", "log_likelihood_kind",
            *(f"{k}_{w}" for k in _NUMERIC for w in ("mean", "std")))
    for i, r in enumerate(summary):
        lacking = [k for k in keys if not isinstance(r, dict) or k not in r]
        if lacking:
            raise ValueError(f"summary: row {i} lacks {lacking}")
        bad = [k for k in keys[3:] if not isinstance(r[k], str) and not math.isfinite(r[k])]
        if bad:
            raise ValueError(f"summary: row {i} has non-finite {bad}")
    head = ["family", "MMD²", "energy distance", "log-lik. (nats)", "modes (of 8)", "high quality",
            "train (s)", "10k samples (s)"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "--:|" * (len(head) - 1)]
    for s in summary:
        cells = [s["family"], _pm(s["mmd_mean"], s["mmd_std"], 4), _pm(s["energy_mean"], s["energy_std"], 4),
                 _pm(s["log_likelihood_mean"], s["log_likelihood_std"], 2),
                 _pm(s["modes_covered_mean"], s["modes_covered_std"], 1),
                 _pm(s["high_quality_mean"], s["high_quality_std"], 2),
                 _pm(s["train_seconds_mean"], s["train_seconds_std"], 1),
                 _pm(s["sample_seconds_mean"], s["sample_seconds_std"], 3)]
        lines.append("| " + " | ".join(cells) + " |")
    kinds = "; ".join(f"{s['family']}, {s['log_likelihood_kind']}" for s in summary)
    n = summary[0]["n_seeds"]
    lines.append("")
    lines.append(f"Mean ± standard deviation over {n} seeds; each family trained for {c.steps} "
                 f"optimiser steps with batch size {c.batch_size} on {c.n_train} points; "
                 f"scored with {c.n_eval} samples against {c.n_eval} of {c.n_test} held-out points "
                 f"(log-likelihood on all of them). MMD² with a Gaussian kernel of bandwidth "
                 f"{c.mmd_bandwidth}. The log-likelihood column: {kinds}.")
    return "\n".join(lines)

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
    ax.set_title(f"{family} samples over held-out points", fontsize=9)
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
