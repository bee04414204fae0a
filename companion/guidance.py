r"""Classifier-free and classifier guidance (chapter ``ch-guidance``).

Bayes' rule on scores, :math:`\nabla\log p_t(x \mid c) = \nabla\log p_t(x) + \nabla\log p_t(c \mid x)`,
turns a conditional and an unconditional noise prediction into a *guided* one,

.. math::
    \hat\epsilon_s = \hat\epsilon(x_t, \varnothing)
    + s\,\big(\hat\epsilon(x_t, c) - \hat\epsilon(x_t, \varnothing)\big),

which, for exact predictions, is :math:`-\sqrt{1-\bar\alpha_t}` times the score of the tilted density
:math:`p_t(x)\,p_t(c \mid x)^s` (equations ``eq-cfg``, ``eq-tilt``). The module holds
the guidance rules (:func:`cfg_combine`, :func:`classifier_guidance`), the exact denoiser of a
labelled mixture, guided samplers (the DDIM sampler of :mod:`companion.samplers` driven by a
guided noise prediction), and the three measurements of the trade-off: class adherence,
diversity, off-support fraction. The labelled mixture's exact scores live in
:mod:`companion.labelled_mixture`, the networks (a denoiser trained with label dropout, a
noisy-input classifier) in :mod:`companion.conditional_models`.

Notation follows :mod:`companion.diffusion` and the book's notation page: :math:`p_t` is the
density of :math:`x_t`, the data noised to step :math:`t` (:math:`p_0` the clean data), :math:`s`
is the guidance scale (the argument ``scale``) and :math:`\sigma_j` a component's standard
deviation. ``alphas_cumprod`` holds :math:`\bar\alpha_1, \dots, \bar\alpha_T`, and a step
argument ``t`` is the array index, paper step ``t + 1``; the mixture functions take the
noise level :math:`\bar\alpha_t` itself (``alpha_bar``). References: Ho & Salimans (2022) for classifier-free
guidance, Dhariwal & Nichol (2021) for classifier guidance.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from .conditional_models import (  # noqa: F401 -- re-exported: their home is companion.conditional_models
    ConditionalDenoiser,
    NoisyClassifier,
    _check_training_args,
    _check_training_data,
    _steps,
    train_conditional_denoiser,
    train_noisy_classifier,
)
from .diffusion import (
    ddim_sample,
)
from .labelled_mixture import (  # noqa: F401 -- re-exported: their home is companion.labelled_mixture
    LabelledMixture,
    _check_alpha_bar,
    _check_labels,
    _check_mixture,
    _check_x,
    _joint_log_probs,
    _log_tilt_grid,
    class_log_posterior,
    mixture_eps,
    mixture_log_prob,
    mixture_score,
    noised_tilt_score,
    ring_mixture,
    tilt_grid,
    tilted_log_prob,
)
from .utils import moved_names
from .validation import (
    check_array,
    check_in_range,
    check_int,
    check_same_shape,
    check_scalar,
)

__all__ = ["cfg_combine", "classifier_guidance", "MixtureDenoiser", "guided_sample",
           "classifier_guided_sample", "bayes_classifier", "class_adherence", "diversity",
           "support_threshold", "off_support_fraction", "guidance_metrics"]


# --------------------------------------------------------------------------------------
# Guidance formulas
# --------------------------------------------------------------------------------------


def _check_scale(scale, batch: int) -> float | torch.Tensor:
    if isinstance(scale, torch.Tensor) and scale.numel() > 1:
        scale = check_array(scale, "scale", shape=(batch,))
        return scale
    return check_scalar(scale, "scale")


def cfg_combine(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, scale) -> torch.Tensor:
    r"""Classifier-free guidance, equation ``eq-cfg``.

    .. math::
        \hat\epsilon_s = \hat\epsilon(x_t, \varnothing)
        + s\,\big(\hat\epsilon(x_t, c) - \hat\epsilon(x_t, \varnothing)\big)

    :math:`s = 0` returns the unconditional prediction, :math:`s = 1` the conditional one;
    :math:`s > 1` extrapolates past it (Ho & Salimans, 2022, write :math:`s = 1 + w`).

    Args:
        eps_uncond: the prediction with the null label, shape ``(batch, ...)``.
        eps_cond: the prediction with the class label, the same shape.
        scale: the guidance scale :math:`s`, a finite number or a tensor ``(batch,)``
            (one scale per sample).

    Example:
        >>> cfg_combine(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]]), 3.0)
        tensor([[3., 1.]])
    """
    eps_uncond = check_array(eps_uncond, "eps_uncond", ndim=(1, 2, 3, 4))
    eps_cond = check_array(eps_cond, "eps_cond")
    check_same_shape(eps_uncond=eps_uncond, eps_cond=eps_cond)
    scale = _check_scale(scale, eps_uncond.shape[0])
    if isinstance(scale, torch.Tensor):
        scale = scale.to(eps_uncond.dtype).reshape(-1, *([1] * (eps_uncond.ndim - 1)))
    # (1 - s) u + s c == u + s (c - u), written so that s = 0 and s = 1 are exact to the last bit
    return (1.0 - scale) * eps_uncond + scale * eps_cond


def classifier_guidance(eps_uncond: torch.Tensor, grad_log_prob: torch.Tensor, scale,
                        alpha_bar: float) -> torch.Tensor:
    r"""Classifier guidance, equation ``eq-classifier-guidance``.

    .. math::
        \hat\epsilon_s = \hat\epsilon(x_t, \varnothing)
        - s\,\sqrt{1-\bar\alpha_t}\;\nabla_x \log p_\psi(c \mid x_t)

    With the exact classifier :math:`p_\psi = p_t(c\mid x)` this equals :func:`cfg_combine` with
    exact predictions, for every :math:`s`: the two methods differ only in what is learned.

    Args:
        eps_uncond: the unconditional prediction, shape ``(batch, d)``.
        grad_log_prob: :math:`\nabla_x \log p_\psi(c\mid x_t)`, shape ``(batch, d)``.
        scale: the guidance scale :math:`s` (finite number or ``(batch,)`` tensor).
        alpha_bar: :math:`\bar\alpha_t` in (0, 1).

    Example:
        >>> classifier_guidance(torch.zeros(1, 2), torch.tensor([[1.0, -2.0]]), 2.0, 0.75)
        tensor([[-1.,  2.]])
    """
    eps_uncond = check_array(eps_uncond, "eps_uncond", ndim=2)
    grad_log_prob = check_array(grad_log_prob, "grad_log_prob")
    check_same_shape(eps_uncond=eps_uncond, grad_log_prob=grad_log_prob)
    scale = _check_scale(scale, eps_uncond.shape[0])
    alpha_bar = _check_alpha_bar(alpha_bar, allow_one=False)
    if isinstance(scale, torch.Tensor):
        scale = scale.to(eps_uncond.dtype)[:, None]
    return eps_uncond - scale * math.sqrt(1.0 - alpha_bar) * grad_log_prob


# --------------------------------------------------------------------------------------
# The exact denoiser of a labelled mixture (the learned ones live in companion.conditional_models)
# --------------------------------------------------------------------------------------


class MixtureDenoiser:
    r"""The exact noise predictor of a labelled mixture, with the same call signature as a network.

    ``denoiser(x_t, t, labels)`` returns :func:`mixture_eps` at :math:`\bar\alpha_t`, conditional
    for labels in ``[0, K)`` and unconditional for the null label ``K``.

    Args:
        mix: the labelled mixture.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
    """

    def __init__(self, mix: LabelledMixture, alphas_cumprod: torch.Tensor):
        self.mix = _check_mixture(mix)
        ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
        check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, False))
        self.alphas_cumprod = torch.as_tensor(ab, dtype=torch.float64)
        self.n_classes = mix.n_classes
        self.null_label = mix.n_classes

    def __call__(self, x: torch.Tensor, t: torch.Tensor | int, labels: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, d); ``t``: int or (batch,) array indices (step ``t + 1``); ``labels``: (batch,)."""
        labels = _check_labels(labels, self.n_classes, x.shape[0], allow_null=True)
        t = _steps(t, x.shape[0])
        x64 = x.to(torch.float64)
        out = torch.empty_like(x64)
        for step in t.unique().tolist():
            ab = float(self.alphas_cumprod[check_int(step, "t", low=0, high=len(self.alphas_cumprod) - 1)])
            for c in (labels[t == step]).unique().tolist():
                sel = (t == step) & (labels == c)
                out[sel] = mixture_eps(self.mix, x64[sel], ab, None if c == self.null_label else labels[sel])
        return out.to(x.dtype)


# --------------------------------------------------------------------------------------
# Sampling with a guided noise prediction
# --------------------------------------------------------------------------------------


def _check_sampler_args(model, labels, scale, alphas_cumprod, n_steps, eta, seed):
    if not callable(model) or not hasattr(model, "null_label"):
        raise TypeError(f"model: expected a denoiser with a null_label, got {type(model).__name__}")
    batch = labels.shape[0] if isinstance(labels, torch.Tensor) else -1
    labels = _check_labels(labels, model.null_label, batch)
    scale = _check_scale(scale, labels.shape[0])
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, False))
    ab = torch.as_tensor(ab, dtype=torch.float64)
    n_steps = len(ab) if n_steps is None else check_int(n_steps, "n_steps", low=1, high=len(ab))
    eta = check_scalar(eta, "eta", low=0.0, high=1.0)
    seed = check_int(seed, "seed", low=0)
    return labels, scale, ab, n_steps, eta, seed


def guided_sample(model, labels: torch.Tensor, scale, alphas_cumprod: torch.Tensor, *,
                  n_steps: int | None = None, eta: float = 0.0, seed: int = 0) -> torch.Tensor:
    r"""Draw samples with classifier-free guidance: a sampler run on :func:`cfg_combine` (``eq-cfg``).

    At every step the model is called twice, with the class and with the null label, and
    the two predictions are combined. ``eta = 0`` (the default) is deterministic DDIM;
    ``eta = 1`` adds DDPM-like fresh noise at every step.

    Args:
        model: ``model(x_t, t, labels) -> eps`` with an attribute ``null_label`` (a
            :class:`ConditionalDenoiser` or a :class:`MixtureDenoiser`).
        labels: the requested classes, ``(batch,)`` in ``[0, K)``.
        scale: guidance scale :math:`s`, a number or a ``(batch,)`` tensor.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        n_steps: sampling steps (default ``T``).
        eta: DDIM stochasticity in [0, 1].
        seed: seeds the initial noise and the fresh noise.

    Returns:
        samples :math:`x_0`, shape ``(batch, d)``: float64 for a :class:`MixtureDenoiser`, float32
        otherwise.

    Example:
        >>> from companion.diffusion import alphas_cumprod, linear_beta_schedule
        >>> mix = ring_mixture(); ab = alphas_cumprod(linear_beta_schedule(50, 1e-3, 0.2))
        >>> x = guided_sample(MixtureDenoiser(mix, ab), torch.tensor([0, 1]), 2.0, ab, n_steps=10)
        >>> tuple(x.shape)
        (2, 2)
    """
    labels, scale, ab, n_steps, eta, seed = _check_sampler_args(model, labels, scale, alphas_cumprod,
                                                                n_steps, eta, seed)
    null = torch.full_like(labels, model.null_label)
    batch = labels.shape[0]
    dim = getattr(model, "dim", None) or model.mix.dim
    dtype = torch.float64 if isinstance(model, MixtureDenoiser) else torch.float32

    def eps_fn(x, t):
        with torch.no_grad():
            both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([null, labels]))  # (2 batch, d)
        return cfg_combine(both[:batch], both[batch:], scale)

    return ddim_sample(eps_fn, ab, (batch, dim), n_steps, eta, seed=seed, dtype=dtype)


def classifier_guided_sample(model, classifier: Callable, labels: torch.Tensor, scale,
                             alphas_cumprod: torch.Tensor, *, n_steps: int | None = None,
                             eta: float = 0.0, seed: int = 0) -> torch.Tensor:
    r"""Draw samples with classifier guidance, equation ``eq-classifier-guidance``.

    The unconditional prediction (null label) is pushed along
    :math:`\nabla_x \log p_\psi(c\mid x_t, t)`, computed by autograd.

    Args:
        model: denoiser with a ``null_label`` (only its unconditional prediction is used).
        classifier: ``classifier(x_t, t) -> log-probabilities (batch, K)``.
        labels, scale, alphas_cumprod, n_steps, eta, seed: as in :func:`guided_sample`.

    Returns:
        samples :math:`x_0`, shape ``(batch, d)``: float64 for a :class:`MixtureDenoiser`, float32
        otherwise.
    """
    labels, scale, ab, n_steps, eta, seed = _check_sampler_args(model, labels, scale, alphas_cumprod,
                                                                n_steps, eta, seed)
    if not callable(classifier):
        raise TypeError(f"classifier: expected a callable, got {type(classifier).__name__}")
    null = torch.full_like(labels, model.null_label)
    batch = labels.shape[0]
    dim = getattr(model, "dim", None) or model.mix.dim
    dtype = torch.float64 if isinstance(model, MixtureDenoiser) else torch.float32

    def eps_fn(x, t):
        with torch.no_grad():
            eps_u = model(x, t, null)
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            log_p = classifier(xg, t).gather(1, labels[:, None]).sum()
            grad = torch.autograd.grad(log_p, xg)[0]
        return classifier_guidance(eps_u, grad.detach(), scale, float(ab[int(t[0])]))

    return ddim_sample(eps_fn, ab, (batch, dim), n_steps, eta, seed=seed, dtype=dtype)


# --------------------------------------------------------------------------------------
# The three measurements
# --------------------------------------------------------------------------------------


def bayes_classifier(mix: LabelledMixture, x: torch.Tensor) -> torch.Tensor:
    r"""The Bayes classifier of the clean mixture, :math:`\arg\max_c p_0(c\mid x)`, shape ``(batch,)``.

    Example:
        >>> bayes_classifier(ring_mixture(), torch.tensor([[2.0, 0.0], [-1.0, 1.7]]))
        tensor([0, 1])
    """
    return class_log_posterior(mix, x, 1.0).argmax(dim=1)


def class_adherence(mix: LabelledMixture, x: torch.Tensor, labels: torch.Tensor) -> float:
    r"""Class adherence: the fraction of samples the Bayes classifier assigns to the requested class.

    Equation ``eq-adherence``:

    .. math:: A = \frac1n \sum_i \mathbf 1\big[\arg\max_{c'} p_0(c' \mid x_i) = c_i\big]

    Example:
        >>> class_adherence(ring_mixture(), torch.tensor([[2.0, 0.0], [2.0, 0.0]]), torch.tensor([0, 1]))
        0.5
    """
    mix = _check_mixture(mix)
    x = _check_x(x, mix)
    labels = _check_labels(labels, mix.n_classes, x.shape[0])
    return float((bayes_classifier(mix, x) == labels).double().mean())


def diversity(x: torch.Tensor) -> float:
    r"""Diversity as the root-mean-square distance to the sample mean, equation ``eq-diversity``.

    .. math::
        D = \Big(\frac1n \sum_i \|x_i - \bar x\|^2\Big)^{1/2}
          = \sqrt{\operatorname{tr}\widehat{\operatorname{Cov}}(x)}

    (with the ``1/n`` covariance). It is zero when all samples coincide.

    Example:
        >>> diversity(torch.tensor([[0.0, 0.0], [2.0, 0.0]]))
        1.0
    """
    x = check_array(x, "x", ndim=2)
    if x.shape[0] < 2:
        raise ValueError(f"x: expected at least 2 samples, got {x.shape[0]}")
    x = torch.as_tensor(x, dtype=torch.float64)
    return float(((x - x.mean(0)) ** 2).sum(1).mean().sqrt())


def support_threshold(mix: LabelledMixture, mass: float = 0.999, n: int = 200_000, seed: int = 0) -> float:
    r"""The log-density level :math:`\kappa` holding ``mass`` of the clean data, equation ``eq-off-support``.

    :math:`\kappa` is the :math:`(1 - \text{mass})` quantile of :math:`\log p_0(X)`, :math:`X\sim p_0`,
    estimated from ``n`` draws: true data fall below it with probability ``1 - mass``.

    Example:
        >>> kappa = support_threshold(ring_mixture(), n=20_000)
        >>> -12 < kappa < -4
        True
    """
    mix = _check_mixture(mix)
    mass = check_scalar(mass, "mass", low=0.0, high=1.0, closed=(False, False))
    n = check_int(n, "n", low=100)
    x, _ = mix.sample(n, seed)
    return float(torch.quantile(mixture_log_prob(mix, x), 1.0 - mass))


def off_support_fraction(mix: LabelledMixture, x: torch.Tensor, threshold: float) -> float:
    r"""The fraction of samples off the data support, equation ``eq-off-support``.

    .. math:: F = \frac1n \sum_i \mathbf 1\big[\log p_0(x_i) < \kappa\big]

    with :math:`\kappa` from :func:`support_threshold` (for true data, :math:`F \approx 1-\text{mass}`).

    Example:
        >>> off_support_fraction(ring_mixture(), torch.tensor([[2.0, 0.0], [9.0, 9.0]]), -8.0)
        0.5
    """
    mix = _check_mixture(mix)
    x = _check_x(x, mix)
    threshold = check_scalar(threshold, "threshold")
    return float((mixture_log_prob(mix, x) < threshold).double().mean())


def guidance_metrics(mix: LabelledMixture, x: torch.Tensor, labels: torch.Tensor,
                     threshold: float) -> dict:
    """The three numbers of the trade-off for one set of samples: adherence, diversity, off-support fraction.

    Diversity is :func:`diversity` computed per requested class and averaged over classes.
    """
    mix = _check_mixture(mix)
    x = _check_x(x, mix)
    labels = _check_labels(labels, mix.n_classes, x.shape[0])
    present = [c for c in range(mix.n_classes) if int((labels == c).sum()) >= 2]
    if not present:
        raise ValueError("labels: expected at least 2 samples of some class")
    return {
        "adherence": class_adherence(mix, x, labels),
        "diversity": float(np.mean([diversity(x[labels == c]) for c in present])),
        "off_support": off_support_fraction(mix, x, threshold),
    }


# Names whose home moved, still resolved here on first use, so readers' code written against the
# old paths keeps working: the remedies for high guidance scales (companion.guidance_remedies
# imports this module) and the widgets (presentation apart from the mathematics).
_HOMES = {
    "guidance_remedies": (
        "cfg_rescale", "noise_level", "interval_scale", "dynamic_threshold", "guided_sample_remedied"
    ),
    "views.guidance": (
        "GUIDANCE_SLIDERS", "guidance_scales", "precompute_guidance_grid", "guidance_view",
        "widget_specs"
    ),
}


__getattr__ = moved_names(__name__, _HOMES)
