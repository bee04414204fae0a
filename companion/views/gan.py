"""The GAN chapter's widgets: the generator's losses at a logit, training dynamics, the Dirac GAN."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..gan import (
    _sigmoid,
    _softplus,
    generator_loss,
    generator_loss_grad,
    ring_centers,
    ring_of_gaussians,
    train_gan,
)
from ..gan_theory import DIRAC_METHODS, _f1, dirac_gan_simulate, dirac_gan_step_matrix  # noqa
from ..plotting import new_figure
from ..validation import (
    ArrayLike,
    check_array,
    check_int,
    check_scalar,
)
from ..widgets import WidgetSpec

# What chapters use; the views and slider tables behind them are importable too.
__all__ = ["generator_loss_view", "dynamics_runs", "loss_widget_spec", "dirac_widget_spec", "widget_specs"]

#: Slider range ``name: (min, max, step, default)`` for :func:`generator_loss_view`.
LOSS_SLIDERS: dict[str, tuple[Any, ...]] = {"logit": (-10.0, 10.0, 1.0, -4.0)}


def generator_loss_view(logit: float):
    r"""Both generator losses and their gradients at one discriminator logit on a fake.

    Args:
        logit: the discriminator's logit :math:`l` on a generated sample;
            :math:`D = \sigma(l)`.

    Returns:
        ``(numbers, fig)``: ``numbers`` has ``D``, the two losses (equations
        ``eq-gen-saturating``, ``eq-gen-non-saturating``) and their derivatives in
        :math:`l` (equation ``eq-gen-grads``); ``fig`` plots them against the logit.

    Example:
        >>> numbers, fig = generator_loss_view(0.0)
        >>> numbers["D"], numbers["dL_sat/dl"], numbers["dL_ns/dl"]
        (0.5, -0.5, -0.5)
    """
    logit = check_scalar(logit, "logit")
    lo, hi = LOSS_SLIDERS["logit"][:2]
    grid = np.linspace(lo, hi, 201)
    point = np.array([logit])
    numbers = {
        "D": float(_sigmoid(point)[0]),
        "L_sat": float(generator_loss(point, "saturating")),
        "L_ns": float(generator_loss(point, "non_saturating")),
        "dL_sat/dl": float(generator_loss_grad(point, "saturating")[0]),
        "dL_ns/dl": float(generator_loss_grad(point, "non_saturating")[0]),
    }
    fig, (ax_l, ax_g) = new_figure(2, height=2.6, width=7.0)
    for kind, label, color in (("saturating", r"saturating $\log(1-D)$", "C0"),
                               ("non_saturating", r"non-saturating $-\log D$", "C1")):
        loss = -_softplus(grid) if kind == "saturating" else _softplus(-grid)
        ax_l.plot(grid, loss, color=color, label=label)
        ax_g.semilogy(grid, np.abs(generator_loss_grad(grid, kind)), color=color)
    ax_l.plot([logit, logit], [numbers["L_sat"], numbers["L_ns"]], "ko", ms=4)
    ax_g.plot([logit, logit], [abs(numbers["dL_sat/dl"]), abs(numbers["dL_ns/dl"])], "ko", ms=4)
    ax_l.set_xlabel("discriminator logit $l$ on a fake")
    ax_l.set_title(f"loss (D = {numbers['D']:.3g})")
    ax_l.legend(fontsize=8)
    ax_g.set_xlabel("discriminator logit $l$ on a fake")
    ax_g.set_title(r"$|\partial \mathcal{L}_G / \partial l|$")
    ax_g.set_ylim(1e-5, 2.0)
    ax_g.minorticks_off()  # minor ticks of a log axis cost ~30 ms per redraw in the live widget
    ax_l.locator_params(axis="x", nbins=5)  # few ticks: each is rebuilt on every slider move
    ax_g.locator_params(axis="x", nbins=5)
    return numbers, fig


#: The stored runs of the training-dynamics explorer: learning rates of G and D.
DYNAMICS_SETTINGS = {"lr_g": (1e-3, 5e-3), "lr_d": (2e-4, 1e-3)}


def dynamics_runs(data: ArrayLike, *, steps: int = 1000, seed: int = 0, progress: bool = True,
                  device: str = "cpu", **kwargs) -> dict:
    """Train one GAN per pair in :data:`DYNAMICS_SETTINGS` (keys ``(lr_g, lr_d)``).

    The remaining keyword arguments go to :func:`train_gan` (defaults: ``hidden=48``,
    ``batch_size=128``, ``eval_every=100``).
    """
    kwargs = {"hidden": 48, "batch_size": 128, "eval_every": 100, **kwargs}
    return {(lr_g, lr_d): train_gan(data, steps=steps, lr_g=lr_g, lr_d=lr_d, seed=seed, progress=progress,
                                    device=device, **kwargs)
            for lr_g in DYNAMICS_SETTINGS["lr_g"] for lr_d in DYNAMICS_SETTINGS["lr_d"]}


def training_dynamics_view(
    runs: dict, lr_g: float, lr_d: float, checkpoint: int, centers: ArrayLike | None = None
):
    """Samples of a stored GAN run at one checkpoint, and its mode coverage over training.

    Args:
        runs: ``{(lr_g, lr_d): GANRun}``, e.g. from :func:`dynamics_runs`.
        lr_g, lr_d: which run to show.
        checkpoint: index into the run's history (0 is the initialisation).
        centers: mode centres to mark (default: :func:`ring_centers`).

    Returns:
        ``(numbers, fig)`` with the step, modes covered and high-quality fraction at
        the checkpoint.
    """
    if not isinstance(runs, dict) or not runs:
        raise TypeError(f"runs: expected a non-empty dict of GANRun, got {type(runs).__name__}")
    if (lr_g, lr_d) not in runs:
        raise ValueError(f"lr_g and lr_d: no stored run for {(lr_g, lr_d)}; have {sorted(runs)}")
    h = runs[(lr_g, lr_d)].history
    checkpoint = check_int(checkpoint, "checkpoint", low=0, high=len(h["step"]) - 1)
    centers = ring_centers() if centers is None else check_array(centers, "centers", ndim=2)
    numbers = {"step": h["step"][checkpoint], "modes_covered": h["modes_covered"][checkpoint],
               "high_quality": h["high_quality"][checkpoint], "max_share": h["max_share"][checkpoint]}
    fig, (ax_s, ax_m) = new_figure(2, height=2.8, width=7.0)
    s = h["samples"][checkpoint]
    ax_s.plot(s[:, 0], s[:, 1], ".", ms=2, alpha=0.4, color="C0", label="G(z)")
    ax_s.plot(centers[:, 0], centers[:, 1], "x", color="C3", ms=5, label="modes")
    ax_s.set_xlim(-3, 3)
    ax_s.set_ylim(-3, 3)
    ax_s.set_aspect("equal")
    ax_s.set_title(f"lr_g={lr_g:g}, lr_d={lr_d:g}, step {numbers['step']}", fontsize=9)
    # One axis for both (a twin axis costs as much as a third panel to draw).
    ax_m.plot(h["step"], np.asarray(h["modes_covered"]) / len(centers), "o-", ms=3, color="C0",
              label=f"modes covered / {len(centers)}")
    ax_m.plot(h["step"], h["high_quality"], "s--", ms=3, color="C1", label="high-quality fraction")
    ax_m.set_ylim(-0.03, 1.03)
    ax_m.set_xlabel("step")
    ax_m.legend(fontsize=7, loc="upper left")
    ax_m.axvline(numbers["step"], color="k", lw=0.8)
    return numbers, fig


def loss_widget_spec() -> WidgetSpec:
    """The widget of :func:`generator_loss_view`: one slider, the discriminator's logit on a fake."""
    return WidgetSpec("gan-generator-losses", generator_loss_view, LOSS_SLIDERS)


def widget_specs(runs: dict | None = None, data: ArrayLike | None = None) -> list[WidgetSpec]:
    """The chapter's widgets: the generator losses, the training-dynamics explorer, and the Dirac GAN.

    Args:
        runs: stored runs from :func:`dynamics_runs`; trained here (a few seconds each,
            on ``data`` or a fresh :func:`ring_of_gaussians`) if not given.
        data: training data for the runs, shape ``(n, 2)``.
    """
    if runs is not None and (not isinstance(runs, dict) or not runs):
        raise TypeError(f"runs: expected a non-empty dict of GANRun, got {runs!r:.40}")
    if runs is None:
        data = ring_of_gaussians(5000, rng=1) if data is None else data
        runs = dynamics_runs(data, progress=False)
    n_checkpoints = min(len(r.history["step"]) for r in runs.values())

    def dynamics(lr_g: float, lr_d: float, checkpoint: int):
        return training_dynamics_view(runs, lr_g, lr_d, checkpoint)

    lr_g_values = sorted({k[0] for k in runs})
    lr_d_values = sorted({k[1] for k in runs})
    return [
        loss_widget_spec(),
        WidgetSpec("gan-training-dynamics", dynamics, {
            "lr_g": ("options", lr_g_values, lr_g_values[0]),
            "lr_d": ("options", lr_d_values, lr_d_values[-1]),
            "checkpoint": (0, n_checkpoints - 1, 1, n_checkpoints - 1),
        }),
        dirac_widget_spec(),
    ]


#: Sliders ``name: (min, max, step, default)`` of :func:`dirac_gan_view`.
DIRAC_SLIDERS: dict[str, tuple[Any, ...]] = {"lr": (0.1, 1.0, 0.1, 0.5), "gamma": (0.0, 0.5, 0.1, 0.0)}


#: The widget's starting point and its simulated time ``lr * steps``.
DIRAC_START, DIRAC_TIME = (1.0, 1.0), 60.0


def dirac_gan_view(lr: float, gamma: float):
    r"""Simultaneous and alternating gradient play on the Dirac GAN at one learning rate and penalty.

    Both methods start at :data:`DIRAC_START` and run for a simulated time
    :data:`DIRAC_TIME` (``round(DIRAC_TIME / lr)`` steps), so that small learning rates
    approach the continuous flow.

    Args:
        lr: learning rate :math:`h` (> 0).
        gamma: weight of the R1 penalty (>= 0).

    Returns:
        ``(numbers, fig)``: ``numbers`` has the spectral radius of each linearised update
        map (equation ``eq-dirac-maps``; below 1 converges, above 1 spirals out) and the
        final distance to the equilibrium of each run; ``fig`` shows the two trajectories
        in the :math:`(\theta, \psi)` plane and their distance to :math:`(0, 0)` per step.

    Example:
        >>> numbers, fig = dirac_gan_view(0.5, 0.0)
        >>> round(numbers["radius simultaneous"], 6), round(numbers["radius alternating"], 6)
        (1.030776, 1.0)
    """
    h = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    gamma = check_scalar(gamma, "gamma", low=0.0)
    steps = max(1, round(DIRAC_TIME / h))
    numbers = {}
    fig, (ax_p, ax_d) = new_figure(2, height=2.8, width=7.0)
    for method, color in (("simultaneous", "C3"), ("alternating", "C0")):
        path = dirac_gan_simulate(*DIRAC_START, h, steps, method, gamma)
        dist = np.hypot(path[:, 0], path[:, 1])
        eigenvalues = np.linalg.eigvals(dirac_gan_step_matrix(h, method, gamma))
        numbers[f"radius {method}"] = float(np.abs(eigenvalues).max())
        numbers[f"final distance {method}"] = float(dist[-1])
        ax_p.plot(path[:, 0], path[:, 1], color=color, lw=0.8, label=method)
        ax_d.semilogy(np.arange(steps + 1), np.maximum(dist, 1e-12), color=color, lw=1.0)
    ax_p.plot([0.0], [0.0], "k*", ms=7)
    ax_p.plot([DIRAC_START[0]], [DIRAC_START[1]], "ko", ms=3)
    ax_p.set_xlim(-3, 3)
    ax_p.set_ylim(-3, 3)
    ax_p.set_aspect("equal")
    ax_p.set_xlabel(r"generator $\theta$")
    ax_p.set_ylabel(r"discriminator $\psi$")
    ax_p.set_title(f"h = {h:.1f}, γ = {gamma:.1f}", fontsize=9)
    ax_p.legend(fontsize=7, loc="lower left")
    ax_d.set_ylim(1e-6, 1e4)
    ax_d.minorticks_off()  # minor ticks of a log axis are slow to redraw
    ax_d.set_xlabel("step")
    ax_d.set_title("distance to the equilibrium", fontsize=9)
    ax_d.locator_params(axis="x", nbins=5)
    return numbers, fig


def dirac_widget_spec() -> WidgetSpec:
    """The widget of :func:`dirac_gan_view`: sliders for the learning rate and the R1 weight."""
    return WidgetSpec("gan-dirac", dirac_gan_view, DIRAC_SLIDERS)
