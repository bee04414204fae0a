"""Diffusion models and score matching (chapter ``ch-diffusion``).

Notation follows the DDPM paper (Ho et al., 2020): ``betas`` is the noise schedule,
``alphas_cumprod`` is :math:`\\bar\\alpha_t = \\prod_{s \\le t} (1 - \\beta_s)`, and steps
``t`` are integers in ``[0, T)`` indexing those arrays.
"""

from __future__ import annotations

import math

import torch

from .validation import (
    check_array,
    check_in_range,
    check_int,
    check_positive,
    check_same_shape,
    check_scalar,
)

__all__ = [
    "linear_beta_schedule",
    "cosine_beta_schedule",
    "alphas_cumprod",
    "snr",
    "q_sample",
    "q_step",
    "q_posterior_mean_variance",
    "eps_to_score",
    "score_to_eps",
    "predict_x0_from_eps",
    "tweedie_x0",
    "gmm_sample",
    "gmm_noised_log_prob",
    "gmm_responsibilities",
    "gmm_noised_score",
    "gmm_optimal_eps",
    "gmm_posterior_mean_x0",
    "gaussian_eps_loss_floor",
]


def linear_beta_schedule(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    r"""The linear schedule of Ho et al. (2020): ``T`` values from ``beta_start`` to ``beta_end``.

    Args:
        T: number of diffusion steps (>= 1).
        beta_start, beta_end: first and last :math:`\beta_t`, each in (0, 1).

    Returns:
        ``betas``, shape ``(T,)``, float64.

    Example:
        >>> linear_beta_schedule(3, 0.1, 0.3)
        tensor([0.1000, 0.2000, 0.3000], dtype=torch.float64)
    """
    T = check_int(T, "T", low=1)
    beta_start = check_scalar(beta_start, "beta_start", low=0.0, high=1.0, closed=(False, False))
    beta_end = check_scalar(beta_end, "beta_end", low=0.0, high=1.0, closed=(False, False))
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)


def alphas_cumprod(betas: torch.Tensor) -> torch.Tensor:
    r""":math:`\bar\alpha_t = \prod_{s=0}^{t} (1 - \beta_s)`, equation ``eq-alpha-bar``.

    Args:
        betas: the schedule, shape ``(T,)``, every entry in (0, 1).

    Example:
        >>> alphas_cumprod(torch.tensor([0.5, 0.5], dtype=torch.float64))
        tensor([0.5000, 0.2500], dtype=torch.float64)
    """
    betas = check_array(betas, "betas", ndim=1)
    if not isinstance(betas, torch.Tensor):
        betas = torch.as_tensor(betas, dtype=torch.float64)
    check_in_range(betas, "betas", 0.0, 1.0, closed=(False, False))
    return torch.cumprod(1.0 - betas, dim=0)


def _gather(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values[t]`` reshaped to broadcast against ``like``: (batch,) -> (batch, 1, ..., 1)."""
    out = values.to(like.device)[t].to(like.dtype)
    return out.reshape(t.shape[0], *([1] * (like.ndim - 1)))


def _check_t(t: torch.Tensor | int, T: int, batch: int) -> torch.Tensor:
    if isinstance(t, int) and not isinstance(t, bool):
        t = torch.full((batch,), t, dtype=torch.long)
    if not isinstance(t, torch.Tensor) or t.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"t: expected an integer tensor of steps, got {type(t).__name__}")
    if t.ndim != 1 or t.shape[0] != batch:
        raise ValueError(f"t: expected shape ({batch},), got {tuple(t.shape)}")
    if batch and (int(t.min()) < 0 or int(t.max()) >= T):
        raise ValueError(f"t: expected steps in [0, {T - 1}], got range [{int(t.min())}, {int(t.max())}]")
    return t


def q_sample(x0: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
             alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Sample :math:`x_t \sim q(x_t \mid x_0)` in closed form, equation ``eq-q-sample``.

    .. math:: x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \epsilon

    Args:
        x0: clean data, shape ``(batch, ...)``.
        t: steps, an integer tensor of shape ``(batch,)`` (or one int for all).
        eps: standard normal noise, the shape of ``x0``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.

    Returns:
        ``x_t``, the shape of ``x0``.

    Example:
        >>> ab = alphas_cumprod(torch.tensor([0.75], dtype=torch.float64))
        >>> q_sample(torch.ones(1, 2), 0, torch.zeros(1, 2), ab)
        tensor([[0.5000, 0.5000]])
    """
    x0 = check_array(x0, "x0")
    eps = check_array(eps, "eps")
    check_same_shape(x0=x0, eps=eps)
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, True))
    t = _check_t(t, ab.shape[0], x0.shape[0])
    return _gather(ab.sqrt(), t, x0) * x0 + _gather((1.0 - ab).sqrt(), t, x0) * eps




def cosine_beta_schedule(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    r"""The cosine schedule of Nichol & Dhariwal (2021), equation ``eq-cosine-schedule``.

    .. math::
        \bar\alpha(u) = \frac{f(u)}{f(0)},\quad f(u) = \cos^2\!\Big(\frac{u/T + s}{1 + s}\,\frac\pi2\Big),
        \qquad \beta_t = \min\Big(1 - \frac{\bar\alpha(t+1)}{\bar\alpha(t)},\ \text{max\_beta}\Big),

    for array index ``t = 0 .. T-1``. The clipping at ``max_beta`` stops the last step
    from having :math:`\beta = 1` (where :math:`\bar\alpha` reaches exactly zero).

    Args:
        T: number of diffusion steps (>= 1).
        s: small offset (>= 0) that keeps :math:`\beta_0` from being tiny.
        max_beta: upper clip for every :math:`\beta_t`, in (0, 1).

    Returns:
        ``betas``, shape ``(T,)``, float64.

    Example:
        >>> b = cosine_beta_schedule(4)
        >>> b.shape, bool(b.max() <= 0.999)
        (torch.Size([4]), True)
    """
    T = check_int(T, "T", low=1)
    s = check_scalar(s, "s", low=0.0)
    max_beta = check_scalar(max_beta, "max_beta", low=0.0, high=1.0, closed=(False, False))
    u = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((u + s) / (1.0 + s) * math.pi / 2.0) ** 2
    ab = f / f[0]
    betas = 1.0 - ab[1:] / ab[:-1]
    return betas.clamp(min=1e-12, max=max_beta)


def snr(alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Signal-to-noise ratio :math:`\mathrm{SNR}_t = \bar\alpha_t / (1 - \bar\alpha_t)`, equation ``eq-snr``.

    Example:
        >>> snr(torch.tensor([0.5, 0.2], dtype=torch.float64))
        tensor([1.0000, 0.2500], dtype=torch.float64)
    """
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(True, False))
    return ab / (1.0 - ab)


def _check_ab(alphas_cumprod: torch.Tensor) -> torch.Tensor:
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    if not isinstance(ab, torch.Tensor):
        ab = torch.as_tensor(ab, dtype=torch.float64)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, True))
    return ab


def _check_betas(betas: torch.Tensor) -> torch.Tensor:
    betas = check_array(betas, "betas", ndim=1)
    if not isinstance(betas, torch.Tensor):
        betas = torch.as_tensor(betas, dtype=torch.float64)
    check_in_range(betas, "betas", 0.0, 1.0, closed=(False, False))
    return betas


def _check_x(x: torch.Tensor, name: str) -> torch.Tensor:
    x = check_array(x, name)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch tensor, got {type(x).__name__}")
    if x.ndim < 1:
        raise ValueError(f"{name}: expected shape (batch, ...), got a scalar")
    return x


def q_step(x_prev: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
           betas: torch.Tensor) -> torch.Tensor:
    r"""One forward step :math:`x_t \sim q(x_t \mid x_{t-1})`, equation ``eq-q-step``.

    .. math:: x_t = \sqrt{1 - \beta_t}\, x_{t-1} + \sqrt{\beta_t}\, \epsilon

    At array index ``t = 0`` the input ``x_prev`` is the clean data.

    Args:
        x_prev: the previous state, shape ``(batch, ...)``.
        t: steps, an integer tensor of shape ``(batch,)`` (or one int), in ``0 .. T-1``.
        eps: standard normal noise, the shape of ``x_prev``.
        betas: the schedule, shape ``(T,)``.

    Example:
        >>> q_step(torch.ones(1, 1), 0, torch.zeros(1, 1), torch.tensor([0.36], dtype=torch.float64))
        tensor([[0.8000]])
    """
    x_prev, eps = _check_x(x_prev, "x_prev"), _check_x(eps, "eps")
    check_same_shape(x_prev=x_prev, eps=eps)
    betas = _check_betas(betas)
    t = _check_t(t, betas.shape[0], x_prev.shape[0])
    return _gather((1.0 - betas).sqrt(), t, x_prev) * x_prev + _gather(betas.sqrt(), t, x_prev) * eps


def q_posterior_mean_variance(x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor | int,
                              betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and variance of :math:`q(x_{t-1} \mid x_t, x_0)`, equation ``eq-q-posterior``.

    .. math::
        \tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1 - \bar\alpha_t}\, x_0
                    + \frac{\sqrt{\alpha_t}\,(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}\, x_t,
        \qquad
        \tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\,\beta_t,

    with :math:`\alpha_t = 1 - \beta_t` and :math:`\bar\alpha_{-1} = 1` (at array index
    ``t = 0`` the "previous" state is the data itself: mean ``x0``, variance 0).

    Args:
        x0: clean data, shape ``(batch, ...)``.
        x_t: the noisy state at step ``t``, the shape of ``x0``.
        t: steps, an integer tensor of shape ``(batch,)`` (or one int), in ``0 .. T-1``.
        betas: the schedule, shape ``(T,)``.

    Returns:
        ``(mean, variance)``: ``mean`` the shape of ``x0``; ``variance`` of shape
        ``(batch, 1, ..., 1)`` (the same for every coordinate).

    Example:
        >>> b = torch.tensor([0.5, 0.5], dtype=torch.float64)
        >>> m, v = q_posterior_mean_variance(torch.zeros(1, 1), torch.ones(1, 1), 1, b)
        >>> round(float(m), 4), round(float(v), 4)
        (0.4714, 0.3333)
    """
    x0, x_t = _check_x(x0, "x0"), _check_x(x_t, "x_t")
    check_same_shape(x0=x0, x_t=x_t)
    betas = _check_betas(betas)
    t = _check_t(t, betas.shape[0], x0.shape[0])
    ab = torch.cumprod(1.0 - betas, dim=0)
    ab_prev = torch.cat([torch.ones(1, dtype=ab.dtype), ab[:-1]])
    coef_x0 = ab_prev.sqrt() * betas / (1.0 - ab)
    coef_xt = (1.0 - betas).sqrt() * (1.0 - ab_prev) / (1.0 - ab)
    var = (1.0 - ab_prev) / (1.0 - ab) * betas
    mean = _gather(coef_x0, t, x0) * x0 + _gather(coef_xt, t, x0) * x_t
    return mean, _gather(var, t, x0)


def eps_to_score(eps: torch.Tensor, t: torch.Tensor | int, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Score from a noise prediction, equation ``eq-eps-score``.

    .. math:: \nabla_{x_t} \log q_t(x_t) = -\frac{\E[\epsilon \mid x_t]}{\sqrt{1 - \bar\alpha_t}}

    Args:
        eps: predicted noise, shape ``(batch, ...)``.
        t: steps, shape ``(batch,)`` (or one int).
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``, entries in (0, 1).

    Example:
        >>> eps_to_score(torch.ones(1, 2), 0, torch.tensor([0.75], dtype=torch.float64))
        tensor([[-2., -2.]])
    """
    eps = _check_x(eps, "eps")
    ab = _check_ab(alphas_cumprod)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, False))
    t = _check_t(t, ab.shape[0], eps.shape[0])
    return -eps / _gather((1.0 - ab).sqrt(), t, eps)


def score_to_eps(score: torch.Tensor, t: torch.Tensor | int, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""The inverse of :func:`eps_to_score`: :math:`\epsilon = -\sqrt{1 - \bar\alpha_t}\,\nabla \log q_t`.

    Example:
        >>> score_to_eps(torch.full((1, 2), -2.0), 0, torch.tensor([0.75], dtype=torch.float64))
        tensor([[1., 1.]])
    """
    score = _check_x(score, "score")
    ab = _check_ab(alphas_cumprod)
    t = _check_t(t, ab.shape[0], score.shape[0])
    return -score * _gather((1.0 - ab).sqrt(), t, score)


def predict_x0_from_eps(x_t: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
                        alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Invert :func:`q_sample` for ``x0`` given the noise, equation ``eq-x0-from-eps``.

    .. math:: \hat x_0 = \frac{x_t - \sqrt{1 - \bar\alpha_t}\, \hat\epsilon}{\sqrt{\bar\alpha_t}}

    With :math:`\hat\epsilon = \E[\epsilon \mid x_t]` this is Tweedie's denoiser
    :math:`\E[x_0 \mid x_t]` (equation ``eq-tweedie``).

    Example:
        >>> ab = torch.tensor([0.75], dtype=torch.float64)
        >>> predict_x0_from_eps(torch.full((1, 2), 0.5), 0, torch.zeros(1, 2), ab)
        tensor([[0.5774, 0.5774]])
    """
    x_t, eps = _check_x(x_t, "x_t"), _check_x(eps, "eps")
    check_same_shape(x_t=x_t, eps=eps)
    ab = _check_ab(alphas_cumprod)
    t = _check_t(t, ab.shape[0], x_t.shape[0])
    return (x_t - _gather((1.0 - ab).sqrt(), t, x_t) * eps) / _gather(ab.sqrt(), t, x_t)


def tweedie_x0(x_t: torch.Tensor, t: torch.Tensor | int, score: torch.Tensor,
               alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Tweedie's formula: the posterior mean of the clean data, equation ``eq-tweedie``.

    .. math::
        \E[x_0 \mid x_t] = \frac{x_t + (1 - \bar\alpha_t)\, \nabla_{x_t}\log q_t(x_t)}{\sqrt{\bar\alpha_t}}

    Example:
        >>> ab = torch.tensor([0.5], dtype=torch.float64)
        >>> tweedie_x0(torch.ones(1, 1), 0, -torch.ones(1, 1), ab)  # score of N(0, 1) at 1
        tensor([[0.7071]])
    """
    x_t, score = _check_x(x_t, "x_t"), _check_x(score, "score")
    check_same_shape(x_t=x_t, score=score)
    ab = _check_ab(alphas_cumprod)
    t = _check_t(t, ab.shape[0], x_t.shape[0])
    return (x_t + _gather(1.0 - ab, t, x_t) * score) / _gather(ab.sqrt(), t, x_t)


# ---------------------------------------------------------------------------------------------
# Gaussian mixtures: data whose noised score is known in closed form.
# ---------------------------------------------------------------------------------------------


def _check_gmm(means, stds, weights, dim: int | None = None):
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


def _gmm_noised_parts(x_t, t, alphas_cumprod, means, stds, weights):
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
    r"""Draw ``n`` points from the isotropic mixture :math:`\sum_k w_k \mathcal N(\mu_k, s_k^2 I)`.

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
    r"""Log-density of the noised mixture :math:`q_t`, equation ``eq-gmm-noised``.

    If :math:`x_0 \sim \sum_k w_k \mathcal N(\mu_k, s_k^2 I)` then
    :math:`q_t = \sum_k w_k\, \mathcal N\big(\sqrt{\bar\alpha_t}\mu_k,\
    (\bar\alpha_t s_k^2 + 1 - \bar\alpha_t) I\big)`.

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
    r"""Posterior component probabilities :math:`r_k(x_t) = p(k \mid x_t)` under :math:`q_t`.

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
        \nabla_{x_t} \log q_t(x_t) = \sum_k r_k(x_t)\,
        \frac{\sqrt{\bar\alpha_t}\,\mu_k - x_t}{\bar\alpha_t s_k^2 + 1 - \bar\alpha_t}

    with responsibilities :math:`r_k` from :func:`gmm_responsibilities`. For a
    class-conditional score, pass only that class's components (weights renormalised).

    Args:
        x_t: points, shape ``(batch, d)``.
        t: steps, shape ``(batch,)`` or one int, in ``0 .. T-1``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        means: component means ``(K, d)``; stds: ``(K,)`` or one number; weights: ``(K,)``.

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

    .. math:: \epsilon^*(x_t) = -\sqrt{1 - \bar\alpha_t}\; \nabla_{x_t} \log q_t(x_t)

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
        \E[x_0 \mid x_t] = \sum_k r_k(x_t)\Big(\mu_k + \frac{\sqrt{\bar\alpha_t}\, s_k^2}
        {\bar\alpha_t s_k^2 + 1 - \bar\alpha_t}\,(x_t - \sqrt{\bar\alpha_t}\mu_k)\Big)

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


def gaussian_eps_loss_floor(t: torch.Tensor | int, alphas_cumprod: torch.Tensor, std: float,
                            dim: int) -> torch.Tensor:
    r"""Loss floor of the optimal denoiser for data :math:`\mathcal N(\mu, s^2 I_d)`, eq. ``eq-loss-floor``.

    .. math:: \min_f \E\|\epsilon - f(x_t)\|^2 = \E\,\|\epsilon - \E[\epsilon\mid x_t]\|^2
              = d\, \frac{\bar\alpha_t s^2}{\bar\alpha_t s^2 + 1 - \bar\alpha_t}

    Args:
        t: steps, shape ``(batch,)`` or one int.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        std: the data's standard deviation ``s`` (> 0).
        dim: the dimension ``d``.

    Returns:
        shape ``(batch,)`` (or ``(1,)`` for an int ``t``).

    Example:
        >>> gaussian_eps_loss_floor(0, torch.tensor([0.5], dtype=torch.float64), 1.0, 2)
        tensor([1.], dtype=torch.float64)
    """
    ab = _check_ab(alphas_cumprod)
    std = check_scalar(std, "std", low=0.0, closed=(False, True))
    dim = check_int(dim, "dim", low=1)
    batch = t.shape[0] if isinstance(t, torch.Tensor) and t.ndim == 1 else 1
    t = _check_t(t, ab.shape[0], batch)
    a = ab[t]
    return dim * a * std**2 / (a * std**2 + 1.0 - a)
