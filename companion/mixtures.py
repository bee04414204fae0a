r"""The Gaussian-mixture oracle (chapters ``ch-diffusion``, ``ch-flow-matching``, ``ch-capstone``).

Data drawn from a mixture of isotropic Gaussians stays a mixture of Gaussians under the forward
process, so its noised density, score, optimal noise prediction and posterior mean are exact:
the book checks trained networks and samplers against them. :func:`ring_gmm` is the book's 2-D
data, ``K`` Gaussians on a circle.
"""

from __future__ import annotations

import math

import torch

from .ode import _check_time, _tensor
from .parameterisations import score_to_eps
from .paths import PATHS, _coef_like
from .schedules import _check_ab, _check_t, _check_x
from .validation import (
    check_array,
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    check_scalar,
)

__all__ = ["gmm_sample", "gmm_noised_log_prob", "gmm_responsibilities", "gmm_noised_score",
           "gmm_optimal_eps", "gmm_posterior_mean_x0", "ring_gmm", "gmm_path_log_prob",
           "gmm_marginal_velocity"]


def _check_gmm(means, stds, weights,
               dim: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    means = check_array(means, "means", ndim=2)
    means = torch.as_tensor(means, dtype=torch.float64) if not isinstance(means, torch.Tensor) else means
    K, d = means.shape
    if dim is not None and d != dim:
        raise ValueError(f"means: expected shape (K, {dim}) to match x_t, got {tuple(means.shape)}")
    stds = check_positive(stds, "stds")
    stds = torch.as_tensor(stds, dtype=torch.float64) if not isinstance(stds, torch.Tensor) else stds
    if stds.ndim == 0 or stds.numel() == 1:
        stds = stds.reshape(1).expand(K)
    if stds.shape != (K,):
        raise ValueError(f"stds: expected a number or shape ({K},), got {tuple(stds.shape)}")
    weights = check_array(weights, "weights", shape=(K,))
    if not isinstance(weights, torch.Tensor):
        weights = torch.as_tensor(weights, dtype=torch.float64)
    check_in_range(weights, "weights", 0.0, 1.0)
    if abs(float(weights.sum()) - 1.0) > 1e-6:
        raise ValueError(f"weights: expected entries summing to 1, got sum {float(weights.sum())}")
    return means, stds, weights


def _gmm_noised_parts(x_t, t, alphas_cumprod, means, stds, weights) -> tuple[torch.Tensor, ...]:
    """Shared pieces: component means ``(K, d)``, variances ``(batch, K)``, log joint ``(batch, K)``."""
    x_t = _check_x(x_t, "x_t")
    if x_t.ndim != 2:
        raise ValueError(f"x_t: expected shape (batch, dim), got {tuple(x_t.shape)}")
    ab = _check_ab(alphas_cumprod)
    t = _check_t(t, ab.shape[0], x_t.shape[0])
    means, stds, weights = _check_gmm(means, stds, weights, dim=x_t.shape[1])
    dt = x_t.dtype
    ab_t = ab.to(x_t.device)[t].to(dt)[:, None]                                     # (batch, 1)
    means, stds, weights = means.to(x_t.device, dt), stds.to(x_t.device, dt), weights.to(x_t.device, dt)
    var = ab_t * stds[None, :] ** 2 + (1.0 - ab_t)                                  # (batch, K)
    centres = ab_t.sqrt()[:, :, None] * means[None, :, :]                           # (batch, K, d)
    diff = x_t[:, None, :] - centres                                                # (batch, K, d)
    d = x_t.shape[1]
    log_norm = -0.5 * (d * torch.log(2 * math.pi * var) + (diff**2).sum(-1) / var)  # (batch, K)
    log_joint = torch.log(weights.clamp_min(1e-300))[None, :] + log_norm
    return ab_t, var, diff, log_joint, means, stds


def gmm_sample(n: int, means: torch.Tensor, stds: torch.Tensor | float, weights: torch.Tensor,
               generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Draw ``n`` points from the isotropic mixture :math:`\sum_k w_k \mathcal N(\mu_k, \sigma_k^2 I)`.

    Args:
        n: number of draws.
        means: component means, shape ``(K, d)``.
        stds: component standard deviations, shape ``(K,)`` or one number.
        weights: mixture weights, shape ``(K,)``, summing to 1.
        generator: a ``torch.Generator`` for reproducible draws.

    Returns:
        ``(n, d)`` float64 samples.

    Example:
        >>> x = gmm_sample(5, torch.zeros(1, 2), 1.0, torch.ones(1), torch.Generator().manual_seed(0))
        >>> x.shape
        torch.Size([5, 2])
    """
    n = check_int(n, "n", low=1)
    means, stds, weights = _check_gmm(means, stds, weights)
    k = torch.multinomial(weights, n, replacement=True, generator=generator)
    z = torch.randn(n, means.shape[1], generator=generator, dtype=torch.float64)
    return means[k] + stds[k, None] * z


def gmm_noised_log_prob(x_t: torch.Tensor, t: torch.Tensor | int, alphas_cumprod: torch.Tensor,
                        means: torch.Tensor, stds: torch.Tensor | float,
                        weights: torch.Tensor) -> torch.Tensor:
    r"""Log-density of the noised mixture :math:`p_t`, equation ``eq-gmm-noised``.

    If :math:`x_0 \sim \sum_k w_k \mathcal N(\mu_k, \sigma_k^2 I)` then
    :math:`p_t = \sum_k w_k\, \mathcal N\big(\sqrt{\bar\alpha_t}\mu_k,\
    (\bar\alpha_t \sigma_k^2 + 1 - \bar\alpha_t) I\big)`.

    Args:
        x_t: points, shape ``(batch, d)``.
        t: steps, shape ``(batch,)`` or one int.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        means, stds, weights: the mixture, as in :func:`gmm_sample`.

    Returns:
        shape ``(batch,)``.

    Example:
        >>> ab = torch.tensor([0.5], dtype=torch.float64)
        >>> lp = gmm_noised_log_prob(torch.zeros(1, 1), 0, ab, torch.zeros(1, 1), 1.0, torch.ones(1))
        >>> round(float(lp), 4)
        -0.9189
    """
    *_, log_joint, _, _ = _gmm_noised_parts(x_t, t, alphas_cumprod, means, stds, weights)
    return torch.logsumexp(log_joint, dim=1)


def gmm_responsibilities(x_t: torch.Tensor, t: torch.Tensor | int, alphas_cumprod: torch.Tensor,
                         means: torch.Tensor, stds: torch.Tensor | float,
                         weights: torch.Tensor) -> torch.Tensor:
    r"""Posterior component probabilities :math:`r_k(x_t) = p(k \mid x_t)` under :math:`p_t`.

    Returns:
        shape ``(batch, K)``, rows summing to 1.

    Example:
        >>> ab = torch.tensor([0.5], dtype=torch.float64)
        >>> gmm_responsibilities(torch.zeros(1, 1), 0, ab, torch.tensor([[-1.0], [1.0]]), 0.5,
        ...                      torch.tensor([0.5, 0.5]))
        tensor([[0.5000, 0.5000]])
    """
    *_, log_joint, _, _ = _gmm_noised_parts(x_t, t, alphas_cumprod, means, stds, weights)
    return torch.softmax(log_joint, dim=1)


def gmm_noised_score(x_t: torch.Tensor, t: torch.Tensor | int, alphas_cumprod: torch.Tensor,
                     means: torch.Tensor, stds: torch.Tensor | float,
                     weights: torch.Tensor) -> torch.Tensor:
    r"""Exact score of the noised mixture, equation ``eq-gmm-score``.

    .. math::
        \nabla_{x_t} \log p_t(x_t) = \sum_k r_k(x_t)\,
        \frac{\sqrt{\bar\alpha_t}\,\mu_k - x_t}{\bar\alpha_t \sigma_k^2 + 1 - \bar\alpha_t}

    with responsibilities :math:`r_k` from :func:`gmm_responsibilities`. For a
    class-conditional score, pass only that class's components (weights renormalised).

    Args:
        x_t: points, shape ``(batch, d)``.
        t: array indices, shape ``(batch,)`` or one int, in ``0 .. T-1`` (paper step ``t + 1``).
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        means: component means ``(K, d)``; stds: :math:`\sigma_k`, ``(K,)`` or one number; weights: ``(K,)``.

    Returns:
        the score, shape ``(batch, d)``, in the dtype of ``x_t``.

    Example:
        >>> ab = torch.tensor([0.5], dtype=torch.float64)
        >>> gmm_noised_score(torch.ones(1, 1), 0, ab, torch.zeros(1, 1), 1.0, torch.ones(1))
        tensor([[-1.]])
    """
    _, var, diff, log_joint, _, _ = _gmm_noised_parts(x_t, t, alphas_cumprod, means, stds, weights)
    r = torch.softmax(log_joint, dim=1)                                             # (batch, K)
    return -(r[:, :, None] * diff / var[:, :, None]).sum(1)                         # (batch, d)


def gmm_optimal_eps(x_t: torch.Tensor, t: torch.Tensor | int, alphas_cumprod: torch.Tensor,
                    means: torch.Tensor, stds: torch.Tensor | float,
                    weights: torch.Tensor) -> torch.Tensor:
    r"""The optimal noise predictor :math:`\epsilon^*(x_t) = \E[\epsilon \mid x_t]`, eq. ``eq-eps-score``.

    .. math:: \epsilon^*(x_t) = -\sqrt{1 - \bar\alpha_t}\; \nabla_{x_t} \log p_t(x_t)

    It minimises the simplified loss (equation ``eq-simple-loss``) at every ``t``. Same
    arguments as :func:`gmm_noised_score`; ``alphas_cumprod`` must be < 1.

    Example:
        >>> ab = torch.tensor([0.75], dtype=torch.float64)
        >>> gmm_optimal_eps(torch.ones(1, 1), 0, ab, torch.zeros(1, 1), 1.0, torch.ones(1))
        tensor([[0.5000]])
    """
    score = gmm_noised_score(x_t, t, alphas_cumprod, means, stds, weights)
    return score_to_eps(score, t, alphas_cumprod)


def gmm_posterior_mean_x0(x_t: torch.Tensor, t: torch.Tensor | int, alphas_cumprod: torch.Tensor,
                          means: torch.Tensor, stds: torch.Tensor | float,
                          weights: torch.Tensor) -> torch.Tensor:
    r""":math:`\E[x_0 \mid x_t]` for mixture data, by Gaussian conditioning in each component.

    .. math::
        \E[x_0 \mid x_t] = \sum_k r_k(x_t)\Big(\mu_k + \frac{\sqrt{\bar\alpha_t}\, \sigma_k^2}
        {\bar\alpha_t \sigma_k^2 + 1 - \bar\alpha_t}\,(x_t - \sqrt{\bar\alpha_t}\mu_k)\Big)

    An independent route to Tweedie's formula (equation ``eq-tweedie``): the two agree.

    Example:
        >>> ab = torch.tensor([0.5], dtype=torch.float64)
        >>> gmm_posterior_mean_x0(torch.ones(1, 1), 0, ab, torch.zeros(1, 1), 1.0, torch.ones(1))
        tensor([[0.7071]])
    """
    ab_t, var, diff, log_joint, means, stds = _gmm_noised_parts(x_t, t, alphas_cumprod, means, stds, weights)
    r = torch.softmax(log_joint, dim=1)                                             # (batch, K)
    gain = ab_t.sqrt() * stds[None, :] ** 2 / var                                   # (batch, K)
    comp = means[None, :, :] + gain[:, :, None] * diff                              # (batch, K, d)
    return (r[:, :, None] * comp).sum(1)


def ring_gmm(K: int = 8, radius: float = 2.0,
             std: float = 0.25) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The chapter's 2-D data: ``K`` equal-weight isotropic Gaussians evenly spaced on a circle.

    Returns:
        ``(means, stds, weights)``: shapes ``(K, 2)``, ``(K,)``, ``(K,)``, float64.

    Example:
        >>> means, stds, weights = ring_gmm(4)
        >>> means.shape, float(weights.sum())
        (torch.Size([4, 2]), 1.0)
    """
    K = check_int(K, "K", low=1)
    radius = check_scalar(radius, "radius", low=0.0)
    std = check_scalar(std, "std", low=0.0, closed=(False, True))
    angle = torch.arange(K, dtype=torch.float64) * 2.0 * math.pi / K
    means = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)      # (K, 2)
    return means, torch.full((K,), std, dtype=torch.float64), torch.full((K,), 1.0 / K, dtype=torch.float64)


_Tensor4 = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _gmm_parts(x, t, means, stds, weights, path) -> tuple[
        _Tensor4, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Public-boundary checks, then ``(coefficients, var (b, K), diff (b, K, d), log_joint (b, K), ...)``."""
    x = _tensor(x, "x", ndim=2)
    t = _check_time(t, x.shape[0])
    check_choice(path, "path", PATHS)
    means, stds, weights = _check_gmm(means, stds, weights, dim=x.shape[1])
    means, stds, weights = (v.to(x.device, x.dtype) for v in (means, stds, weights))
    a, s, da, ds = _coef_like(t, path, x)                                           # (b, 1) each
    var = s**2 + a**2 * stds[None, :] ** 2                                          # (b, K)
    diff = x[:, None, :] - a[:, :, None] * means[None, :, :]                        # (b, K, d)
    d = x.shape[1]
    log_norm = -0.5 * (d * torch.log(2 * math.pi * var) + diff.pow(2).sum(-1) / var)
    log_joint = torch.log(weights.clamp_min(1e-300))[None, :] + log_norm            # (b, K)
    return (a, s, da, ds), var, diff, log_joint, means, stds


def gmm_path_log_prob(x: torch.Tensor, t: torch.Tensor, means: torch.Tensor, stds: torch.Tensor | float,
                      weights: torch.Tensor, path: str = "linear") -> torch.Tensor:
    r"""Exact :math:`\log p_t(x)` when the data is an isotropic mixture, equation ``eq-fm-gmm-velocity``.

    .. math:: p_t = \sum_j w_j\, \mathcal N\big(\alpha_t \mu_j,\ (\sigma_t^2 + \alpha_t^2 \sigma_j^2) I\big)

    Args:
        x: points, shape ``(batch, d)``.
        t: times in :math:`[0, 1]`, shape ``(batch,)``.
        means, stds, weights: the data mixture, as in :func:`companion.diffusion.gmm_sample`.
        path: ``"linear"`` or ``"cosine"``.

    Returns:
        shape ``(batch,)``.

    Example:
        >>> lp = gmm_path_log_prob(torch.zeros(1, 1, dtype=torch.float64), torch.tensor([0.0]),
        ...                        torch.ones(1, 1), 0.5, torch.ones(1))
        >>> round(float(lp), 4)   # t = 0 is the source N(0, 1)
        -0.9189
    """
    *_, log_joint, _, _ = _gmm_parts(x, t, means, stds, weights, path)
    return torch.logsumexp(log_joint, dim=1)


def gmm_marginal_velocity(x: torch.Tensor, t: torch.Tensor, means: torch.Tensor, stds: torch.Tensor | float,
                          weights: torch.Tensor, path: str = "linear") -> torch.Tensor:
    r"""Exact marginal velocity of mixture data, equation ``eq-fm-gmm-velocity``.

    :math:`u_t(x) = \E[\dot\sigma_t x_0 + \dot\alpha_t x_1 \mid x_t = x]`.

    Within component :math:`j`, :math:`(x_0, x_1, x_t)` is jointly Gaussian with
    :math:`\tau_j^2 = \sigma_t^2 + \alpha_t^2 \sigma_j^2`, so

    .. math::
        \E[x_0 \mid x, j] = \frac{\sigma_t}{\tau_j^2}(x - \alpha_t\mu_j),\quad
        \E[x_1 \mid x, j] = \mu_j + \frac{\alpha_t \sigma_j^2}{\tau_j^2}(x - \alpha_t\mu_j),\quad
        u_t(x) = \sum_j r_j(x)\big(\dot\sigma_t \E[x_0 \mid x, j] + \dot\alpha_t \E[x_1 \mid x, j]\big),

    with responsibilities :math:`r_j(x) \propto w_j \mathcal N(x; \alpha_t\mu_j, \tau_j^2 I)`
    (a softmax of log-densities). Finite on all of :math:`[0, 1]` since :math:`\tau_j^2 > 0`.

    Args:
        x: points, shape ``(batch, d)``.
        t: times in :math:`[0, 1]`, shape ``(batch,)``.
        means, stds, weights: the data mixture, as in :func:`companion.diffusion.gmm_sample`.
        path: ``"linear"`` or ``"cosine"``.

    Returns:
        shape ``(batch, d)``, in the dtype of ``x``.

    Example:
        >>> u = gmm_marginal_velocity(torch.zeros(1, 1), torch.tensor([0.0]), torch.full((1, 1), 2.0),
        ...                           1.0, torch.ones(1))
        >>> u   # at t = 0 the velocity is -x + E[x1] on the linear path
        tensor([[2.]])
    """
    (a, s, da, ds), var, diff, log_joint, means, stds = _gmm_parts(x, t, means, stds, weights, path)
    r = torch.softmax(log_joint, dim=1)                                             # (b, K)
    e_x0 = (s / var)[:, :, None] * diff                                             # (b, K, d)
    e_x1 = means[None] + (a * stds[None, :] ** 2 / var)[:, :, None] * diff          # (b, K, d)
    u = ds[:, :, None] * e_x0 + da[:, :, None] * e_x1
    return (r[:, :, None] * u).sum(1)
