r"""A labelled Gaussian mixture (chapter ``ch-guidance``): exact class-conditional scores, noised.

Each class is a mixture of isotropic Gaussians; noised to a level :math:`\bar\alpha` the data stays
one, so :math:`\log p_t(x)`, :math:`\log p_t(x \mid c)`, :math:`p_t(c \mid x)` and their scores are
exact (:func:`mixture_score`, :func:`class_log_posterior`), and so is the tilted density
:math:`p_t(x)\,p_t(c \mid x)^s` whose score guidance follows (:func:`tilted_log_prob`, equation
``eq-tilt``). The score of the clean tilt noised by the forward process, which guidance does not
follow except at :math:`s \in \{0, 1\}`, is computed by quadrature on a grid
(:func:`noised_tilt_score`, equation ``eq-noised-tilt``). The guidance chapter checks its networks
and samplers against them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .mixtures import gmm_noised_log_prob, gmm_noised_score
from .validation import check_array, check_in_range, check_int, check_positive, check_scalar

__all__ = ["LabelledMixture", "ring_mixture", "mixture_log_prob", "class_log_posterior",
           "mixture_score", "mixture_eps", "tilted_log_prob", "tilt_grid", "noised_tilt_score"]


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

    With ``labels`` these are the exact conditional and unconditional predictions that classifier-free
    guidance combines, ``eq-cfg``.

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
