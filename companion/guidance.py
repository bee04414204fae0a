r"""Classifier-free and classifier guidance (chapter ``ch-guidance``).

Bayes' rule on scores, :math:`\nabla\log p_t(x \mid c) = \nabla\log p_t(x) + \nabla\log p_t(c \mid x)`,
turns a conditional and an unconditional noise prediction into a *guided* one,

.. math::
    \hat\epsilon_s = \hat\epsilon(x_t, \varnothing)
    + s\,\big(\hat\epsilon(x_t, c) - \hat\epsilon(x_t, \varnothing)\big),

which, for exact predictions, is :math:`-\sqrt{1-\bar\alpha_t}` times the score of the tilted density
:math:`p_t(x)\,p_t(c \mid x)^s` (equations ``eq-cfg``, ``eq-tilt``). The module holds
the closed-form scores of a *labelled Gaussian mixture* used to check this, one network
trained with label dropout (a null label makes it unconditional), a noisy-input classifier
for classifier guidance, guided samplers (the DDIM sampler of :mod:`companion.diffusion`
driven by a guided noise prediction), and the three measurements of the trade-off: class
adherence, diversity, off-support fraction.

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
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .diffusion import (
    _check_t,
    ddim_sample,
    gmm_noised_log_prob,
    gmm_noised_score,
    q_sample,
    timestep_embedding,
)
from .validation import (
    check_array,
    check_in_range,
    check_int,
    check_positive,
    check_same_shape,
    check_scalar,
)

__all__ = ["LabelledMixture", "ring_mixture", "mixture_log_prob", "class_log_posterior",
           "mixture_score", "mixture_eps", "tilted_log_prob", "tilt_grid", "noised_tilt_score",
           "cfg_combine", "classifier_guidance", "MixtureDenoiser", "ConditionalDenoiser",
           "train_conditional_denoiser", "NoisyClassifier", "train_noisy_classifier",
           "guided_sample", "classifier_guided_sample", "bayes_classifier", "class_adherence",
           "diversity", "support_threshold", "off_support_fraction", "guidance_metrics"]

# --------------------------------------------------------------------------------------
# The labelled Gaussian mixture and its closed-form noised scores
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LabelledMixture:
    r"""An isotropic Gaussian mixture whose components carry class labels.

    .. math:: p_0(x, c) = \sum_{j:\, c_j = c} w_j\, \mathcal N(x; \mu_j, \sigma_j^2 I),

    so each class is itself a mixture of its components, with prior :math:`\pi_c = \sum_{j: c_j=c} w_j`.
    The noised densities and scores come from the mixture functions of
    :mod:`companion.diffusion`, applied to a class's components.

    Args:
        means: component means, shape ``(M, d)``.
        stds: component standard deviations :math:`\sigma_j`, shape ``(M,)``, positive.
        weights: component weights, shape ``(M,)``, positive, summing to one.
        classes: the class of each component, integer tensor ``(M,)`` in ``[0, n_classes)``;
            every class must own at least one component.
        n_classes: the number of classes ``K``.
    """

    means: torch.Tensor
    stds: torch.Tensor
    weights: torch.Tensor
    classes: torch.Tensor
    n_classes: int

    def __post_init__(self):
        means = torch.as_tensor(check_array(self.means, "means", ndim=2), dtype=torch.float64)
        m = means.shape[0]
        stds = torch.as_tensor(check_array(self.stds, "stds", shape=(m,)), dtype=torch.float64)
        check_positive(stds, "stds")
        weights = torch.as_tensor(check_array(self.weights, "weights", shape=(m,)), dtype=torch.float64)
        check_in_range(weights, "weights", 0.0, 1.0, closed=(False, True))
        if abs(float(weights.sum()) - 1.0) > 1e-9:
            raise ValueError(f"weights: expected to sum to 1, got {float(weights.sum())}")
        k = check_int(self.n_classes, "n_classes", low=1)
        classes = torch.as_tensor(self.classes)
        if classes.dtype not in (torch.int32, torch.int64) or tuple(classes.shape) != (m,):
            raise ValueError(f"classes: expected an integer tensor of shape ({m},), got {classes.dtype} "
                             f"{tuple(classes.shape)}")
        if int(classes.min()) < 0 or int(classes.max()) >= k:
            raise ValueError(f"classes: expected values in [0, {k - 1}], got [{int(classes.min())}, "
                             f"{int(classes.max())}]")
        if len(torch.unique(classes)) != k:
            raise ValueError(f"classes: every one of the {k} classes needs a component")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "stds", stds)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "classes", classes.long())
        object.__setattr__(self, "n_classes", k)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def class_prior(self) -> torch.Tensor:
        r""":math:`\pi_c`, shape ``(K,)``."""
        return torch.zeros(self.n_classes, dtype=torch.float64).index_add_(0, self.classes, self.weights)

    def class_components(self, c: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""``(means, stds, weights / pi_c)`` of class ``c``: the mixture :math:`p_0(x \mid c)`."""
        c = check_int(c, "c", low=0, high=self.n_classes - 1)
        own = self.classes == c
        return self.means[own], self.stds[own], self.weights[own] / self.weights[own].sum()

    def sample(self, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` draws ``(x, labels)`` of the clean joint: shapes ``(n, d)`` (float64) and ``(n,)``."""
        n = check_int(n, "n", low=1)
        g = torch.Generator().manual_seed(check_int(seed, "seed", low=0))
        comp = torch.multinomial(self.weights, n, replacement=True, generator=g)
        z = torch.randn(n, self.dim, generator=g, dtype=torch.float64)
        return self.means[comp] + self.stds[comp, None] * z, self.classes[comp]


def ring_mixture(n_classes: int = 3, per_class: int = 2, radius: float = 2.0, std: float = 0.6,
                 inner: float = 0.2) -> LabelledMixture:
    r"""The chapter's labelled 2-D data: ``n_classes * per_class`` isotropic Gaussians.

    Class ``c`` owns ``per_class`` components along the ray at angle :math:`2\pi c/K`, at
    radii spread from ``inner * radius`` to ``radius``, so that the inner components of
    different classes overlap (the classes are ambiguous near the centre) and the outer
    ones are well separated. All weights are equal.

    Example:
        >>> mix = ring_mixture()
        >>> tuple(mix.means.shape), mix.n_classes, [round(float(p), 4) for p in mix.class_prior]
        ((6, 2), 3, [0.3333, 0.3333, 0.3333])
    """
    n_classes = check_int(n_classes, "n_classes", low=1)
    per_class = check_int(per_class, "per_class", low=1)
    radius = check_scalar(radius, "radius", low=0.0, closed=(False, True))
    std = check_scalar(std, "std", low=0.0, closed=(False, True))
    inner = check_scalar(inner, "inner", low=0.0, high=1.0)
    radii = torch.linspace(inner * radius, radius, per_class, dtype=torch.float64) if per_class > 1 \
        else torch.tensor([radius], dtype=torch.float64)
    means, classes = [], []
    for c in range(n_classes):
        angle = 2.0 * math.pi * c / n_classes
        direction = torch.tensor([math.cos(angle), math.sin(angle)], dtype=torch.float64)
        for r in radii:
            means.append(r * direction)
            classes.append(c)
    m = len(means)
    return LabelledMixture(
        means=torch.stack(means),
        stds=torch.full((m,), std, dtype=torch.float64),
        weights=torch.full((m,), 1.0 / m, dtype=torch.float64),
        classes=torch.tensor(classes),
        n_classes=n_classes,
    )


def _check_mixture(mix) -> LabelledMixture:
    if not isinstance(mix, LabelledMixture):
        raise TypeError(f"mix: expected a LabelledMixture, got {type(mix).__name__}")
    return mix


def _check_x(x, mix: LabelledMixture) -> torch.Tensor:
    x = check_array(x, "x", shape=(None, mix.dim))
    return torch.as_tensor(x, dtype=torch.float64)


def _check_labels(labels, n_classes: int, batch: int, *, allow_null: bool = False) -> torch.Tensor:
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"labels: expected an integer tensor, got {type(labels).__name__}")
    if labels.ndim != 1 or labels.shape[0] != batch:
        raise ValueError(f"labels: expected shape ({batch},), got {tuple(labels.shape)}")
    high = n_classes if allow_null else n_classes - 1
    if batch and (int(labels.min()) < 0 or int(labels.max()) > high):
        raise ValueError(f"labels: expected values in [0, {high}], got range "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    return labels.long()


def _check_alpha_bar(alpha_bar, *, allow_one: bool = True) -> float:
    return check_scalar(alpha_bar, "alpha_bar", low=0.0, high=1.0, closed=(False, allow_one))


def _joint_log_probs(mix: LabelledMixture, x: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    r""":math:`\log p_t(x, c) = \log \pi_c + \log p_t(x \mid c)` for every class: (batch, K)."""
    ab = torch.tensor([alpha_bar], dtype=torch.float64)   # alphas_cumprod of one entry: index 0 is alpha_bar
    per_class = [gmm_noised_log_prob(x, 0, ab, *mix.class_components(c)) for c in range(mix.n_classes)]
    return torch.stack(per_class, dim=1) + mix.class_prior.log()[None]


def mixture_log_prob(mix: LabelledMixture, x: torch.Tensor, alpha_bar: float = 1.0,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    r"""Log-density of the noised mixture, unconditional or class-conditional, equation ``eq-noised-mixture``.

    Noising :math:`x_t = \sqrt{\bar\alpha}\,x_0 + \sqrt{1-\bar\alpha}\,\epsilon` maps each
    component to
    :math:`\mathcal N_j^{(t)} = \mathcal N\big(\sqrt{\bar\alpha}\,\mu_j,\
    (\bar\alpha \sigma_j^2 + 1-\bar\alpha)I\big)`,

    .. math:: p_t(x) = \sum_j w_j\,\mathcal N_j^{(t)}(x), \qquad
              p_t(x \mid c) = \frac{1}{\pi_c}\sum_{j:\,c_j = c} w_j\,\mathcal N_j^{(t)}(x).

    Args:
        mix: the labelled mixture.
        x: points, shape ``(batch, d)``.
        alpha_bar: :math:`\bar\alpha_t` in (0, 1]; 1 is the clean data.
        labels: ``None`` for :math:`\log p_t(x)`, else classes ``(batch,)`` for :math:`\log p_t(x\mid c)`.

    Returns:
        shape ``(batch,)``, float64.

    Example:
        >>> mix = ring_mixture(n_classes=2, per_class=1, std=1.0)
        >>> round(float(mixture_log_prob(mix, torch.zeros(1, 2), 1e-12)), 6)  # pure noise: N(0, I)
        -1.837877
    """
    mix = _check_mixture(mix)
    x = _check_x(x, mix)
    alpha_bar = _check_alpha_bar(alpha_bar)
    joint = _joint_log_probs(mix, x, alpha_bar)                              # (batch, K)
    if labels is None:
        return torch.logsumexp(joint, dim=1)
    labels = _check_labels(labels, mix.n_classes, x.shape[0])
    return joint.gather(1, labels[:, None]).squeeze(1) - mix.class_prior.log()[labels]


def class_log_posterior(mix: LabelledMixture, x: torch.Tensor, alpha_bar: float = 1.0) -> torch.Tensor:
    r""":math:`\log p_t(c \mid x)` for every class, by Bayes' rule on the noised mixture (``eq-bayes-score``).

    .. math::
        p_t(c \mid x) = \frac{\pi_c\, p_t(x \mid c)}{\sum_{c'} \pi_{c'}\, p_t(x \mid c')}

    Args:
        mix: the labelled mixture.
        x: points, shape ``(batch, d)``.
        alpha_bar: :math:`\bar\alpha_t` in (0, 1].

    Returns:
        shape ``(batch, K)``; each row log-sums to zero.

    Example:
        >>> mix = ring_mixture(n_classes=2, per_class=1)
        >>> class_log_posterior(mix, torch.zeros(1, 2)).exp()  # the midpoint is ambiguous
        tensor([[0.5000, 0.5000]], dtype=torch.float64)
    """
    mix = _check_mixture(mix)
    x = _check_x(x, mix)
    alpha_bar = _check_alpha_bar(alpha_bar)
    joint = _joint_log_probs(mix, x, alpha_bar)
    return joint - torch.logsumexp(joint, dim=1, keepdim=True)


def mixture_score(mix: LabelledMixture, x: torch.Tensor, alpha_bar: float = 1.0,
                  labels: torch.Tensor | None = None) -> torch.Tensor:
    r"""The score :math:`\nabla \log p_t(x)` or :math:`\nabla \log p_t(x\mid c)`, ``eq-mixture-score``.

    .. math:: \nabla_x \log p_t(x \mid c) = \sum_{j:\,c_j=c} r_j(x)\,
              \frac{\sqrt{\bar\alpha}\,\mu_j - x}{\bar\alpha \sigma_j^2 + 1 - \bar\alpha},
              \qquad r_j \propto w_j \mathcal N_j^{(t)}(x),

    with the responsibilities :math:`r_j` normalised over the class's components (over all
    of them when ``labels`` is ``None``): :func:`companion.diffusion.gmm_noised_score` applied
    to the class's components.

    Args:
        mix: the labelled mixture.
        x: points, shape ``(batch, d)``.
        alpha_bar: :math:`\bar\alpha_t` in (0, 1].
        labels: ``None`` (unconditional) or classes ``(batch,)``.

    Returns:
        shape ``(batch, d)``, float64.

    Example:
        >>> mix = ring_mixture(n_classes=1, per_class=1, radius=1.0, std=1.0)
        >>> mixture_score(mix, torch.tensor([[0.5, 1.0]]))  # N((1, 0), I): score = mu - x
        tensor([[ 0.5000, -1.0000]], dtype=torch.float64)
    """
    mix = _check_mixture(mix)
    x = _check_x(x, mix)
    alpha_bar = _check_alpha_bar(alpha_bar)
    ab = torch.tensor([alpha_bar], dtype=torch.float64)
    if labels is None:
        return gmm_noised_score(x, 0, ab, mix.means, mix.stds, mix.weights)
    labels = _check_labels(labels, mix.n_classes, x.shape[0])
    out = torch.empty_like(x)
    for c in labels.unique().tolist():
        sel = labels == c
        out[sel] = gmm_noised_score(x[sel], 0, ab, *mix.class_components(c))
    return out


def mixture_eps(mix: LabelledMixture, x: torch.Tensor, alpha_bar: float,
                labels: torch.Tensor | None = None) -> torch.Tensor:
    r"""Optimal noise prediction :math:`\epsilon^* = -\sqrt{1-\bar\alpha_t}\nabla\log p_t`, ``eq-eps-score``.

    Args:
        mix: the labelled mixture.
        x: noised points, shape ``(batch, d)``.
        alpha_bar: :math:`\bar\alpha_t` in (0, 1) (strictly below 1: at 1 there is no noise).
        labels: ``None`` (unconditional) or classes ``(batch,)``.

    Example:
        >>> mix = ring_mixture(n_classes=1, per_class=1, radius=1.0, std=1.0)
        >>> mixture_eps(mix, torch.ones(1, 2), 0.75)  # -sqrt(.25) * (sqrt(.75) mu - x)
        tensor([[0.0670, 0.5000]], dtype=torch.float64)
    """
    alpha_bar = _check_alpha_bar(alpha_bar, allow_one=False)
    return -math.sqrt(1.0 - alpha_bar) * mixture_score(mix, x, alpha_bar, labels)


def tilted_log_prob(mix: LabelledMixture, x: torch.Tensor, alpha_bar: float, labels: torch.Tensor,
                    scale: float) -> torch.Tensor:
    r"""Unnormalised log of the tilted density :math:`p_t(x)\,p_t(c\mid x)^s`, equation ``eq-tilt``.

    .. math:: \log \tilde p_{t,s}(x \mid c) = \log p_t(x) + s \log p_t(c \mid x)

    Its gradient is the guided score (equation ``eq-cfg-score``). At :math:`s = 1` it is
    :math:`\log p_t(x \mid c) + \log \pi_c`.

    Args:
        mix: the labelled mixture.
        x: points, shape ``(batch, d)``.
        alpha_bar: :math:`\bar\alpha_t` in (0, 1].
        labels: classes, shape ``(batch,)``.
        scale: the guidance scale :math:`s` (finite).

    Example:
        >>> mix = ring_mixture(n_classes=2, per_class=1)
        >>> x, c = torch.zeros(1, 2), torch.tensor([0])
        >>> bool(torch.allclose(tilted_log_prob(mix, x, 1.0, c, 0.0), mixture_log_prob(mix, x)))
        True
    """
    mix = _check_mixture(mix)
    x = _check_x(x, mix)
    labels = _check_labels(labels, mix.n_classes, x.shape[0])
    scale = check_scalar(scale, "scale")
    log_post = class_log_posterior(mix, x, alpha_bar).gather(1, labels[:, None]).squeeze(1)
    return mixture_log_prob(mix, x, alpha_bar) + scale * log_post


def tilt_grid(mix: LabelledMixture, label: int, scale: float, *, grid_size: int = 161,
              extent: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The clean tilt :math:`\tilde p_{0,s}(x \mid c) \propto p_0(x)\,p_0(c\mid x)^s` on a grid, ``eq-tilt``.

    A quadrature rule for expectations under the tilt:
    :math:`\E_{\tilde p_{0,s}}[f] \approx \sum_g v_g f(y_g)`.

    Args:
        mix: a labelled mixture in two dimensions.
        label: the class ``c``.
        scale: the guidance scale :math:`s` (finite).
        grid_size: points per axis (>= 11).
        extent: half-width of the square grid; default 4 component standard deviations
            beyond the farthest mean.

    Returns:
        ``(points, weights)``: shapes ``(grid_size**2, 2)`` and ``(grid_size**2,)``, the
        weights summing to one.

    Example:
        >>> y, v = tilt_grid(ring_mixture(), 0, 1.0, grid_size=101)
        >>> round(float(v.sum()), 12)
        1.0
    """
    mix = _check_mixture(mix)
    if mix.dim != 2:
        raise ValueError(f"mix: expected a 2-D mixture for quadrature, got dimension {mix.dim}")
    label = check_int(label, "label", low=0, high=mix.n_classes - 1)
    scale = check_scalar(scale, "scale")
    grid_size = check_int(grid_size, "grid_size", low=11)
    if extent is None:
        extent = float(mix.means.abs().max()) + 4.0 * float(mix.stds.max())
    extent = check_scalar(extent, "extent", low=0.0, closed=(False, True))
    axis = torch.linspace(-extent, extent, grid_size, dtype=torch.float64)
    y = torch.cartesian_prod(axis, axis)                                      # (G, 2)
    labels = torch.full((y.shape[0],), label, dtype=torch.long)
    return y, torch.softmax(tilted_log_prob(mix, y, 1.0, labels, scale), dim=0)


def _log_tilt_grid(mix, label, scale, grid_size, extent):
    y, _ = tilt_grid(mix, label, scale, grid_size=grid_size, extent=extent)
    labels = torch.full((y.shape[0],), label, dtype=torch.long)
    return y, torch.log_softmax(tilted_log_prob(mix, y, 1.0, labels, scale), dim=0)


def noised_tilt_score(mix: LabelledMixture, x: torch.Tensor, alpha_bar: float, label: int, scale: float,
                      *, grid_size: int = 161, extent: float | None = None) -> torch.Tensor:
    r"""Score of the *forward-noised* clean tilt, by quadrature on a 2-D grid, equation ``eq-noised-tilt``.

    The target one may want is the clean tilt
    :math:`\tilde p_{0,s}(x_0 \mid c) \propto p_0(x_0)\,p_0(c\mid x_0)^s`, noised by the forward process:
    :math:`\bar p_{t,s}(x) = \int \mathcal N(x; \sqrt{\bar\alpha}\,y, (1-\bar\alpha)I)\,
    \tilde p_{0,s}(y \mid c)\,dy`.
    Its score is a posterior mean (Tweedie):

    .. math:: \nabla_x \log \bar p_{t,s}(x) = \frac{\sqrt{\bar\alpha}\,\E[y \mid x] - x}{1 - \bar\alpha},

    computed here with a Riemann sum over a ``grid_size``-squared grid of ``y``. Unlike
    :func:`tilted_log_prob`, this is *not* the guided score except at :math:`s \in \{0, 1\}`.

    Args:
        mix: a labelled mixture in two dimensions.
        x: points, shape ``(batch, 2)``.
        alpha_bar: :math:`\bar\alpha_t` in (0, 1): the kernel must have some width.
        label: the class ``c``.
        scale: the guidance scale :math:`s` (finite).
        grid_size: points per axis (>= 11).
        extent: half-width of the square grid; default 4 component standard deviations
            beyond the farthest mean.

    Returns:
        shape ``(batch, 2)``, float64.
    """
    mix = _check_mixture(mix)
    x = _check_x(x, mix)
    alpha_bar = _check_alpha_bar(alpha_bar, allow_one=False)
    y, log_pi = _log_tilt_grid(mix, label, scale, grid_size, extent)         # (G, 2), (G,)
    sq = ((x[:, None, :] - math.sqrt(alpha_bar) * y[None]) ** 2).sum(-1)      # (batch, G)
    log_w = log_pi[None] - 0.5 * sq / (1.0 - alpha_bar)
    post = torch.softmax(log_w, dim=1)                                        # (batch, G)
    mean_y = post @ y                                                         # (batch, 2)
    return (math.sqrt(alpha_bar) * mean_y - x) / (1.0 - alpha_bar)


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
        - s\,\sqrt{1-\bar\alpha_t}\;\nabla_x \log p_\phi(c \mid x_t)

    With the exact classifier :math:`p_\phi = p_t(c\mid x)` this equals :func:`cfg_combine` with
    exact predictions, for every :math:`s`: the two methods differ only in what is learned.

    Args:
        eps_uncond: the unconditional prediction, shape ``(batch, d)``.
        grad_log_prob: :math:`\nabla_x \log p_\phi(c\mid x_t)`, shape ``(batch, d)``.
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
# Denoisers: exact (closed form) and learned (one network, a null label)
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


def _steps(t: torch.Tensor | int, batch: int, T: int | None = None) -> torch.Tensor:
    if isinstance(t, int) and not isinstance(t, bool):
        t = torch.full((batch,), t, dtype=torch.long)
    return t if T is None else _check_t(t, T, batch)  # an error names t


class ConditionalDenoiser(nn.Module):
    r"""A small MLP :math:`\hat\epsilon_\theta(x_t, t, c)` with a learned *null label* :math:`\varnothing`.

    The label is embedded from ``n_classes + 1`` rows: rows ``0..K-1`` are the classes and
    row ``K`` (:attr:`null_label`) is "no label". Trained with label dropout
    (:func:`train_conditional_denoiser`), one network gives both predictions that
    :func:`cfg_combine` needs.

    Args:
        n_classes: number of classes ``K``.
        T: number of diffusion steps (to scale ``t``).
        dim: data dimension.
        hidden: hidden width.
        emb: label-embedding width.
    """

    def __init__(self, n_classes: int, T: int, dim: int = 2, hidden: int = 96, emb: int = 8):
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", low=1)
        self.null_label = self.n_classes
        self.T = check_int(T, "T", low=1)
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        emb = check_int(emb, "emb", low=1)
        self.label_emb = nn.Embedding(self.n_classes + 1, emb)
        self.net = nn.Sequential(
            nn.Linear(dim + 16 + emb, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, dim),
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor | int, labels: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, dim); ``t``: int or (batch,) array indices; ``labels``: (batch,) in ``[0, K]``."""
        x = check_array(x, "x", shape=(None, self.dim))
        labels = _check_labels(labels, self.n_classes, x.shape[0], allow_null=True)
        t = _steps(t, x.shape[0], self.T)
        h = torch.cat([x.float(), timestep_embedding(t, 16), self.label_emb(labels)], dim=1)
        return self.net(h).to(x.dtype)


def _progress(iterable, progress: bool, desc: str):
    if not progress:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc)


def _check_training_data(x, labels, n_classes):
    x = check_array(x, "x", ndim=2)
    x = torch.as_tensor(x, dtype=torch.float32)
    labels = _check_labels(labels, n_classes, x.shape[0])
    return x, labels


def _check_training_args(n_classes, x, labels, alphas_cumprod, steps, batch_size, lr, seed):
    """Validate the arguments both training functions share; seed torch; return them and a generator."""
    n_classes = check_int(n_classes, "n_classes", low=1)
    x, labels = _check_training_data(x, labels, n_classes)
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, True))
    ab = torch.as_tensor(ab, dtype=torch.float32)
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    seed = check_int(seed, "seed", low=0)
    torch.manual_seed(seed)
    return n_classes, x, labels, ab, steps, batch_size, lr, torch.Generator().manual_seed(seed)


def train_conditional_denoiser(x: torch.Tensor, labels: torch.Tensor, n_classes: int,
                               alphas_cumprod: torch.Tensor, *, p_uncond: float = 0.2,
                               steps: int = 1500, batch_size: int = 256, lr: float = 3e-3,
                               hidden: int = 96, seed: int = 0, device: str = "cpu",
                               progress: bool = True) -> tuple[ConditionalDenoiser, dict]:
    r"""Train one network for both predictions: denoising loss with label dropout, equation ``eq-cfg-loss``.

    .. math:: \mathcal L(\theta) = \E_{x_0, c, t, \epsilon, b}\,
              \big\| \epsilon - \hat\epsilon_\theta\big(x_t,\ t,\ b\,\varnothing + (1-b)\,c\big) \big\|^2,
              \quad b \sim \mathrm{Bernoulli}(p_\text{uncond}).

    Args:
        x: clean data, shape ``(n, d)``.
        labels: their classes, ``(n,)`` in ``[0, n_classes)``.
        n_classes: number of classes ``K``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        p_uncond: probability of replacing a label by the null label, in [0, 1].
        steps, batch_size, lr, hidden: optimisation settings (Adam, cosine-decayed rate).
        seed: seeds the initialisation and the batches.
        device: torch device.
        progress: show a progress bar.

    Returns:
        ``(model, history)`` with ``history["loss"]`` the loss of every step.
    """
    n_classes, x, labels, ab, steps, batch_size, lr, g = _check_training_args(
        n_classes, x, labels, alphas_cumprod, steps, batch_size, lr, seed)
    p_uncond = check_scalar(p_uncond, "p_uncond", low=0.0, high=1.0)
    model = ConditionalDenoiser(n_classes, len(ab), x.shape[1], hidden=hidden).to(device)
    # foreach: the same Adam update, bit for bit, in fewer calls
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    x, labels, ab = x.to(device), labels.to(device), ab.to(device)
    history = {"loss": []}
    for _ in _progress(range(steps), progress, "denoiser"):
        idx = torch.randint(0, x.shape[0], (batch_size,), generator=g).to(device)
        t = torch.randint(0, len(ab), (batch_size,), generator=g).to(device)
        eps = torch.randn(batch_size, x.shape[1], generator=g).to(device)
        drop = torch.rand(batch_size, generator=g).to(device) < p_uncond
        c = torch.where(drop, torch.full_like(labels[idx], n_classes), labels[idx])
        xt = q_sample(x[idx], t, eps, ab)
        loss = ((model(xt, t, c) - eps) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history["loss"].append(loss.item())
    model.eval()
    return model, history


class NoisyClassifier(nn.Module):
    r"""A small MLP classifier :math:`p_\phi(c \mid x_t, t)` on noised inputs, for classifier guidance.

    Args:
        n_classes: number of classes ``K``.
        T: number of diffusion steps.
        dim: data dimension.
        hidden: hidden width.
    """

    def __init__(self, n_classes: int, T: int, dim: int = 2, hidden: int = 64):
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", low=1)
        self.T = check_int(T, "T", low=1)
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        self.net = nn.Sequential(
            nn.Linear(dim + 16, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, self.n_classes),
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """Log-probabilities of every class, shape ``(batch, K)``."""
        x = check_array(x, "x", shape=(None, self.dim))
        t = _steps(t, x.shape[0], self.T)
        logits = self.net(torch.cat([x.float(), timestep_embedding(t, 16)], dim=1))
        return torch.log_softmax(logits, dim=1).to(x.dtype)


def train_noisy_classifier(x: torch.Tensor, labels: torch.Tensor, n_classes: int,
                           alphas_cumprod: torch.Tensor, *, steps: int = 600, batch_size: int = 256,
                           lr: float = 3e-3, hidden: int = 64, seed: int = 0, device: str = "cpu",
                           progress: bool = True) -> tuple[NoisyClassifier, dict]:
    r"""Train :math:`p_\phi(c\mid x_t, t)` by cross-entropy on noised data (``eq-classifier-guidance``).

    .. math::
        \mathcal L(\phi) = -\E_{x_0, c, t, \epsilon}
        \log p_\phi\big(c \mid \sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\epsilon,\ t\big)

    The minimiser is the noised posterior :math:`p_t(c\mid x)` of :func:`class_log_posterior`.

    Returns:
        ``(classifier, history)`` with ``history["loss"]`` per step.
    """
    n_classes, x, labels, ab, steps, batch_size, lr, g = _check_training_args(
        n_classes, x, labels, alphas_cumprod, steps, batch_size, lr, seed)
    clf = NoisyClassifier(n_classes, len(ab), x.shape[1], hidden=hidden).to(device)
    # foreach: the same Adam update, bit for bit, in fewer calls
    opt = torch.optim.Adam(clf.parameters(), lr=lr, foreach=True)
    x, labels, ab = x.to(device), labels.to(device), ab.to(device)
    history = {"loss": []}
    for _ in _progress(range(steps), progress, "classifier"):
        idx = torch.randint(0, x.shape[0], (batch_size,), generator=g).to(device)
        t = torch.randint(0, len(ab), (batch_size,), generator=g).to(device)
        eps = torch.randn(batch_size, x.shape[1], generator=g).to(device)
        xt = q_sample(x[idx], t, eps, ab)
        loss = -clf(xt, t).gather(1, labels[idx][:, None]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        history["loss"].append(loss.item())
    clf.eval()
    return clf, history


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
        samples :math:`x_0`, shape ``(batch, d)``, float64.

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
    :math:`\nabla_x \log p_\phi(c\mid x_t, t)`, computed by autograd.

    Args:
        model: denoiser with a ``null_label`` (only its unconditional prediction is used).
        classifier: ``classifier(x_t, t) -> log-probabilities (batch, K)``.
        labels, scale, alphas_cumprod, n_steps, eta, seed: as in :func:`guided_sample`.

    Returns:
        samples :math:`x_0`, shape ``(batch, d)``, float64.
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
    r"""The log-density level :math:`\tau` that holds ``mass`` of the clean data, equation ``eq-off-support``.

    :math:`\tau` is the :math:`(1 - \text{mass})` quantile of :math:`\log p_0(X)`, :math:`X\sim p_0`,
    estimated from ``n`` draws: true data fall below it with probability ``1 - mass``.

    Example:
        >>> tau = support_threshold(ring_mixture(), n=20_000)
        >>> -12 < tau < -4
        True
    """
    mix = _check_mixture(mix)
    mass = check_scalar(mass, "mass", low=0.0, high=1.0, closed=(False, False))
    n = check_int(n, "n", low=100)
    x, _ = mix.sample(n, seed)
    return float(torch.quantile(mixture_log_prob(mix, x), 1.0 - mass))


def off_support_fraction(mix: LabelledMixture, x: torch.Tensor, threshold: float) -> float:
    r"""The fraction of samples off the data support, equation ``eq-off-support``.

    .. math:: F = \frac1n \sum_i \mathbf 1\big[\log p_0(x_i) < \tau\big]

    with :math:`\tau` from :func:`support_threshold` (for true data, :math:`F \approx 1-\text{mass}`).

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


def __getattr__(name: str):
    for home, names in _HOMES.items():
        if name in names:
            import importlib

            return getattr(importlib.import_module(f"companion.{home}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
