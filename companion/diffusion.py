"""Diffusion models and score matching (chapter ``ch-diffusion``).

The mathematics follows the DDPM paper (Ho et al., 2020): steps :math:`t = 1, \\dots, T`,
:math:`x_0` the clean data, :math:`\\bar\\alpha_t = \\prod_{i=1}^{t} (1 - \\beta_i)` and
:math:`\\bar\\alpha_0 = 1`. The arrays are 0-based: **array index** ``i`` **is paper step**
``i + 1``. So ``betas[i]`` is :math:`\\beta_{i+1}`, ``alphas_cumprod[i]`` is
:math:`\\bar\\alpha_{i+1}`, and a function called with ``t = i`` works at paper step ``i + 1``
(``q_sample(x0, i, ...)`` returns :math:`x_{i+1}`); :math:`\\bar\\alpha_0 = 1` is not stored.
The samplers start from :math:`x_T \\sim \\mathcal N(0, I)` (array index ``T - 1``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .validation import (
    check_array,
    check_broadcast,
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    check_same_shape,
    check_scalar,
    is_torch,
)

__all__ = ["linear_beta_schedule", "cosine_beta_schedule", "alphas_cumprod", "snr",
           "q_sample_alpha_bar", "q_sample", "q_step", "q_posterior_mean_variance",
           "eps_to_score", "score_to_eps", "predict_x0_from_eps", "tweedie_x0", "gmm_sample",
           "gmm_noised_log_prob", "gmm_responsibilities", "gmm_noised_score",
           "gmm_optimal_eps", "gmm_posterior_mean_x0", "gaussian_eps_loss_floor",
           "timestep_embedding", "EpsMLP", "simple_loss", "train_eps_model", "ddpm_sample",
           "ddim_timesteps", "ddim_sample", "ring_gmm", "beta_schedule"]


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
    r""":math:`\bar\alpha_t = \prod_{i=1}^{t} (1 - \beta_i)`, equation ``eq-alpha-bar``.

    Entry ``i`` of the result is :math:`\bar\alpha_{i+1}` (paper step ``i + 1``);
    :math:`\bar\alpha_0 = 1` is not stored.

    Args:
        betas: the schedule :math:`\beta_1, \dots, \beta_T`, shape ``(T,)``, every entry in (0, 1).

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


def q_sample_alpha_bar(x0, alpha_bar, eps):
    r"""Noise ``x0`` to the level :math:`\bar\alpha` in closed form, equation ``eq-q-sample``.

    .. math:: x = \sqrt{\bar\alpha}\, x_0 + \sqrt{1 - \bar\alpha}\, \epsilon

    The formula itself, for a given :math:`\bar\alpha` rather than a step of a schedule:
    :func:`q_sample` looks :math:`\bar\alpha_t` up and calls this.

    Args:
        x0: clean data, a NumPy array or a torch tensor, any shape.
        alpha_bar: :math:`\bar\alpha` in [0, 1]: a number, or an array that broadcasts to the
            shape of ``x0`` (e.g. ``(batch, 1)``, one level per row).
        eps: standard normal noise, the shape and kind (NumPy or torch) of ``x0``.

    Returns:
        the noised data, the shape and kind of ``x0`` (for a tensor, its dtype; the square
        roots are taken in the precision of ``alpha_bar`` first).

    Example:
        >>> q_sample_alpha_bar(np.array([1.0, -0.5]), 0.75, np.array([0.0, 2.0]))
        array([0.8660254, 0.5669873])
    """
    x0 = check_array(x0, "x0")
    eps = check_array(eps, "eps")
    if is_torch(x0) != is_torch(eps):
        raise TypeError(f"eps: expected the kind of array x0 is ({type(x0).__name__}), "
                        f"got {type(eps).__name__}")
    check_same_shape(x0=x0, eps=eps)
    a = check_in_range(check_array(alpha_bar, "alpha_bar"), "alpha_bar", 0.0, 1.0)
    if check_broadcast(x0=x0, alpha_bar=a) != tuple(x0.shape):
        raise ValueError(f"alpha_bar: expected a shape that broadcasts to {tuple(x0.shape)}, "
                         f"got {tuple(a.shape)}")
    if not is_torch(x0):
        a = a.detach().cpu().numpy() if is_torch(a) else a
        return np.sqrt(a) * x0 + np.sqrt(1.0 - a) * eps
    a = torch.as_tensor(a, device=x0.device)
    return a.sqrt().to(x0.dtype) * x0 + (1.0 - a).sqrt().to(x0.dtype) * eps


def q_sample(x0: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
             alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Sample :math:`x_t \sim q(x_t \mid x_0)` in closed form, equation ``eq-q-sample``.

    .. math:: x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \epsilon

    :func:`q_sample_alpha_bar` at :math:`\bar\alpha_t` = ``alphas_cumprod[t]``: array index
    ``t`` is paper step ``t + 1``, so the result is :math:`x_{t+1}`.

    Args:
        x0: clean data, shape ``(batch, ...)``.
        t: array indices ``0 .. T-1`` (paper steps ``1 .. T``), an integer tensor of shape
            ``(batch,)`` (or one int for all).
        eps: standard normal noise, the shape of ``x0``.
        alphas_cumprod: :math:`\bar\alpha_1, \dots, \bar\alpha_T`, shape ``(T,)``.

    Returns:
        ``x_t``, the shape of ``x0``.

    Example:
        >>> ab = alphas_cumprod(torch.tensor([0.75], dtype=torch.float64))
        >>> q_sample(torch.ones(1, 2), 0, torch.zeros(1, 2), ab)
        tensor([[0.5000, 0.5000]])
    """
    x0 = check_array(x0, "x0")
    eps = check_array(eps, "eps")
    if x0.ndim < 1:
        raise ValueError(f"x0: expected shape (batch, ...), got {tuple(x0.shape)}")
    check_same_shape(x0=x0, eps=eps)
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, True))
    t = _check_t(t, ab.shape[0], x0.shape[0])
    ab_t = ab.to(x0.device)[t].reshape(t.shape[0], *([1] * (x0.ndim - 1)))        # (batch, 1, ..., 1)
    return q_sample_alpha_bar(x0, ab_t, eps)


def cosine_beta_schedule(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    r"""The cosine schedule of Nichol & Dhariwal (2021), equation ``eq-cosine-schedule``.

    .. math::
        f(t) = \cos^2\!\Big(\frac{t/T + s}{1 + s}\,\frac\pi2\Big),\qquad
        \beta_t = \min\Big(1 - \frac{f(t)}{f(t-1)},\ \text{max\_beta}\Big),\quad t = 1, \dots, T,

    so that, before clipping, :math:`\bar\alpha_t = f(t)/f(0)`. Entry ``i`` of the result
    is :math:`\beta_{i+1}`. Without the clip, :math:`f(T) = 0` would give :math:`\beta_T = 1`
    and :math:`\bar\alpha_T = 0`; clipped, :math:`\bar\alpha_T` is small but positive.
    The offset ``s`` is the paper's symbol and means nothing else in the book.

    Args:
        T: number of diffusion steps (>= 1).
        s: the offset (>= 0) that keeps :math:`\beta_1` from being tiny (the paper's 0.008).
        max_beta: upper clip for every :math:`\beta_t`, in (0, 1) (the paper's 0.999).

    Returns:
        ``betas`` :math:`\beta_1, \dots, \beta_T`, shape ``(T,)``, float64.

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

    Called with array index ``t = i`` it takes :math:`x_i` to :math:`x_{i+1}` with
    :math:`\beta_{i+1}` = ``betas[i]``; at ``i = 0`` the input is the clean data :math:`x_0`.

    Args:
        x_prev: the previous state, shape ``(batch, ...)``.
        t: array indices, an integer tensor of shape ``(batch,)`` (or one int), in ``0 .. T-1``.
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

    with :math:`\alpha_t = 1 - \beta_t` and :math:`\bar\alpha_0 = 1`, for paper steps
    :math:`t = 1, \dots, T`. Array index ``i`` is paper step ``i + 1``: the posterior of
    :math:`x_i` given :math:`x_{i+1}`. At ``i = 0`` (paper step 1) the "previous" state is
    the data itself: mean ``x0``, variance 0.

    Args:
        x0: clean data, shape ``(batch, ...)``.
        x_t: the noisy state :math:`x_{i+1}`, the shape of ``x0``.
        t: array indices ``i``, an integer tensor of shape ``(batch,)`` (or one int), in ``0 .. T-1``.
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
    r"""Score of the noised marginal from a noise prediction, equation ``eq-eps-score``.

    .. math:: \nabla_{x_t} \log p_t(x_t) = -\frac{\E[\epsilon \mid x_t]}{\sqrt{1 - \bar\alpha_t}}

    :math:`p_t` is the density of :math:`x_t` (the data noised to step :math:`t`). Fed the
    optimal prediction :math:`\E[\epsilon \mid x_t]` this is that marginal score; fed the
    noise :math:`\epsilon` actually added, it is the conditional score
    :math:`\nabla \log q(x_t \mid x_0)` instead.

    Args:
        eps: predicted noise, shape ``(batch, ...)``.
        t: array indices (paper step ``t + 1``), shape ``(batch,)`` (or one int).
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
    r"""The inverse of :func:`eps_to_score`: :math:`\epsilon = -\sqrt{1 - \bar\alpha_t}\,\nabla \log p_t`.

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
    :math:`\E[x_0 \mid x_t]` (equation ``eq-tweedie``). An error :math:`\delta` in
    :math:`\hat\epsilon` becomes an error :math:`\delta\sqrt{1-\bar\alpha_t}/\sqrt{\bar\alpha_t}` in
    :math:`\hat x_0`: large where :math:`\bar\alpha_t` is tiny (the first sampling steps).

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
        \E[x_0 \mid x_t] = \frac{x_t + (1 - \bar\alpha_t)\, \nabla_{x_t}\log p_t(x_t)}{\sqrt{\bar\alpha_t}}

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


def gaussian_eps_loss_floor(t: torch.Tensor | int, alphas_cumprod: torch.Tensor, std: float,
                            dim: int) -> torch.Tensor:
    r"""Loss floor of the optimal denoiser for data :math:`\mathcal N(\mu, \sigma^2 I_d)`, ``eq-loss-floor``.

    .. math:: \min_f \E\|\epsilon - f(x_t)\|^2 = \E\,\|\epsilon - \E[\epsilon\mid x_t]\|^2
              = d\, \frac{\bar\alpha_t \sigma^2}{\bar\alpha_t \sigma^2 + 1 - \bar\alpha_t}

    Args:
        t: array indices (paper step ``t + 1``), shape ``(batch,)`` or one int.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        std: the data's standard deviation :math:`\sigma` (> 0).
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


# ---------------------------------------------------------------------------------------------
# The learned denoiser, its loss and its training.
# ---------------------------------------------------------------------------------------------


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 1000.0) -> torch.Tensor:
    r"""Sinusoidal features of integer steps (Vaswani et al., 2017; Ho et al., 2020).

    .. math:: \big[\cos(t\,\omega_j),\ \sin(t\,\omega_j)\big]_{j < \text{dim}/2},\qquad
              \omega_j = \text{max\_period}^{-j/(\text{dim}/2)}

    Args:
        t: steps, shape ``(batch,)``, integer or float.
        dim: the (even) embedding size.

    Returns:
        shape ``(batch, dim)``, float32.

    Example:
        >>> timestep_embedding(torch.tensor([0]), 4)
        tensor([[1., 1., 0., 0.]])
    """
    dim = check_int(dim, "dim", low=2)
    if dim % 2:
        raise ValueError(f"dim: expected an even size, got {dim}")
    t = check_array(t, "t", ndim=1)
    t = t if is_torch(t) else torch.as_tensor(t)
    max_period = check_scalar(max_period, "max_period", low=0.0, closed=(False, True))
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]                                      # (batch, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class EpsMLP(torch.nn.Module):
    r"""A small time-conditioned noise predictor :math:`\epsilon_\theta(x_t, t)` for vector data.

    The input is ``x_t`` concatenated with a sinusoidal embedding of ``t``; three hidden
    layers with SiLU activations; the output has the shape of ``x_t``.

    Args:
        dim: data dimension ``d``.
        hidden: width of the hidden layers.
        emb_dim: size of the time embedding (even).

    Example:
        >>> model = EpsMLP(2, hidden=16)
        >>> model(torch.zeros(3, 2), torch.tensor([0, 5, 9])).shape
        torch.Size([3, 2])
    """

    def __init__(self, dim: int = 2, hidden: int = 128, emb_dim: int = 32):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        self.emb_dim = check_int(emb_dim, "emb_dim", low=2)
        if self.emb_dim % 2:
            raise ValueError(f"emb_dim: expected an even size, got {emb_dim}")
        self.net = torch.nn.Sequential(
            torch.nn.Linear(dim + emb_dim, hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, dim),
        )

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if x_t.ndim != 2 or x_t.shape[1] != self.dim:
            raise ValueError(f"x_t: expected shape (batch, {self.dim}), got {tuple(x_t.shape)}")
        check_array(x_t, "x_t")
        if t.shape != (x_t.shape[0],):
            raise ValueError(f"t: expected shape ({x_t.shape[0]},), got {tuple(t.shape)}")
        emb = timestep_embedding(t, self.emb_dim).to(x_t.dtype)                   # (batch, emb_dim)
        return self.net(torch.cat([x_t, emb], dim=1))


def simple_loss(eps_model, x0: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
                alphas_cumprod: torch.Tensor, reduce: bool = True) -> torch.Tensor:
    r"""The simplified DDPM loss, equation ``eq-simple-loss``.

    .. math::
        L_{\text{simple}} = \E_{t, x_0, \epsilon}\,\big\|\epsilon
        - \epsilon_\theta\big(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\epsilon,\ t\big)\big\|^2

    The squared norm is summed over the data dimensions and averaged over the batch.

    Args:
        eps_model: a callable ``eps_model(x_t, t) -> eps`` (a module or a function).
        x0: clean data, shape ``(batch, ...)``.
        t: array indices (paper step ``t + 1``), shape ``(batch,)`` or one int.
        eps: the noise used to make ``x_t``, the shape of ``x0``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        reduce: average over the batch (else return the per-example losses, ``(batch,)``).

    Example:
        >>> ab = torch.tensor([0.5], dtype=torch.float64)
        >>> float(simple_loss(lambda x, t: torch.zeros_like(x), torch.zeros(4, 2), 0, torch.ones(4, 2), ab))
        2.0
    """
    if not callable(eps_model):
        raise TypeError(f"eps_model: expected a callable (x_t, t) -> eps, got {type(eps_model).__name__}")
    x0, eps = _check_x(x0, "x0"), _check_x(eps, "eps")
    check_same_shape(x0=x0, eps=eps)
    ab = _check_ab(alphas_cumprod)
    t = _check_t(t, ab.shape[0], x0.shape[0])
    x_t = q_sample(x0, t, eps, ab)
    eps_hat = eps_model(x_t, t)
    if tuple(eps_hat.shape) != tuple(eps.shape):
        raise ValueError(f"eps_model: expected an output of shape {tuple(eps.shape)}, "
                         f"got {tuple(eps_hat.shape)}")
    per_example = (eps - eps_hat).pow(2).flatten(1).sum(1)                          # (batch,)
    return per_example.mean() if reduce else per_example


def train_eps_model(model: torch.nn.Module, data: torch.Tensor, alphas_cumprod: torch.Tensor, *,
                    steps: int = 2000, batch_size: int = 256, lr: float = 3e-3, device: str = "cpu",
                    seed: int = 0, progress: bool = True) -> dict[str, list[float]]:
    r"""Fit ``model`` to predict the noise by minimising :func:`simple_loss` with Adam.

    Each step draws a minibatch of ``data``, array indices ``t`` uniformly in ``0 .. T-1``
    (paper steps ``1 .. T``) and standard normal ``eps``. The learning rate decays by a cosine
    to 5% of ``lr``.

    Args:
        model: an :class:`EpsMLP` (or any module ``(x_t, t) -> eps``); trained in place.
        data: training data, shape ``(n, ...)``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        steps, batch_size, lr: optimisation settings.
        device: where to train.
        seed: seeds the minibatch, step and noise draws.
        progress: show a ``tqdm`` progress bar.

    Returns:
        history ``{"step": [...], "loss": [...]}`` with one entry per step.
    """
    from tqdm.auto import tqdm

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    data = _check_x(data, "data")
    ab = _check_ab(alphas_cumprod)
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    seed = check_int(seed, "seed", low=0)
    gen = torch.Generator().manual_seed(seed)
    data = data.to(device=device, dtype=torch.float32)
    ab_dev = ab.to(device)
    model.to(device).train()
    # foreach: the same Adam update, bit for bit, in fewer calls
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=0.05 * lr)
    history: dict[str, list[float]] = {"step": [], "loss": []}
    for step in tqdm(range(steps), disable=not progress, desc="training eps-model"):
        idx = torch.randint(0, data.shape[0], (batch_size,), generator=gen)
        t = torch.randint(0, ab.shape[0], (batch_size,), generator=gen)
        eps = torch.randn((batch_size, *data.shape[1:]), generator=gen)
        loss = simple_loss(model, data[idx.to(device)], t.to(device), eps.to(device), ab_dev)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        history["step"].append(step)
        history["loss"].append(loss.item())
    model.eval()
    return history


# ---------------------------------------------------------------------------------------------
# Sampling: ancestral (DDPM) and deterministic (DDIM).
# ---------------------------------------------------------------------------------------------


def _check_sampler_args(eps_model, shape, seed):
    if not callable(eps_model):
        raise TypeError(f"eps_model: expected a callable (x_t, t) -> eps, got {type(eps_model).__name__}")
    if (not isinstance(shape, (tuple, list)) or not shape
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape)):
        raise ValueError(f"shape: expected a tuple of positive ints (batch, ...), got {shape!r}")
    seed = check_int(seed, "seed", low=0)
    return tuple(shape), torch.Generator().manual_seed(seed)


@torch.no_grad()
def ddpm_sample(eps_model, betas: torch.Tensor, shape: tuple[int, ...], *, seed: int = 0,
                device: str = "cpu", dtype: torch.dtype = torch.float32,
                return_trajectory: bool = False):
    r"""Ancestral sampling through all ``T`` steps, equation ``eq-ddpm-step``.

    Start from :math:`x_T \sim \mathcal N(0, I)`; for :math:`t = T, \dots, 1` predict
    :math:`\hat x_0` from :math:`\epsilon_\theta` (equation ``eq-x0-from-eps``) and draw
    :math:`x_{t-1} \sim \mathcal N(\tilde\mu_t(\hat x_0, x_t), \tilde\beta_t I)`
    (equation ``eq-q-posterior``); the last step (:math:`t = 1`, array index 0) returns the
    mean, :math:`\tilde\mu_1 = \hat x_0`. :math:`\hat x_0` is not clipped.

    Args:
        eps_model: a callable ``eps_model(x_t, t) -> eps`` with ``t`` of shape ``(batch,)``,
            the array index (paper step ``t + 1``).
        betas: the schedule, shape ``(T,)``.
        shape: the output shape ``(batch, ...)``.
        seed: seeds the initial noise and every step's noise.
        device, dtype: where and in which precision to sample.
        return_trajectory: also return every state :math:`x_T, x_{T-1}, \dots, x_0`, shape
            ``(T + 1, *shape)``.

    Returns:
        samples of shape ``shape`` (and the trajectory if asked).

    Example:
        >>> b = linear_beta_schedule(10, 1e-3, 0.2)
        >>> ddpm_sample(lambda x, t: torch.zeros_like(x), b, (4, 2)).shape
        torch.Size([4, 2])
    """
    shape, gen = _check_sampler_args(eps_model, shape, seed)
    betas = _check_betas(betas)
    ab = torch.cumprod(1.0 - betas, dim=0)
    T = betas.shape[0]
    x = torch.randn(shape, generator=gen, dtype=dtype).to(device)
    traj = [x]
    for step in range(T - 1, -1, -1):
        t = torch.full((shape[0],), step, dtype=torch.long, device=device)
        x0_hat = predict_x0_from_eps(x, t, eps_model(x, t).to(dtype), ab)
        mean, var = q_posterior_mean_variance(x0_hat, x, t, betas)
        if step > 0:
            x = mean + var.sqrt() * torch.randn(shape, generator=gen, dtype=dtype).to(device)
        else:
            x = mean
        traj.append(x)
    return (x, torch.stack(traj)) if return_trajectory else x


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """The ``steps`` array indices, evenly spaced in ``0 .. T-1``, in decreasing order.

    In paper steps (index + 1) they are :math:`\\tau_S > \\dots > \\tau_1`, with
    :math:`\\tau_S = T` and :math:`\\tau_1 = 1` (for ``steps >= 2``).

    Example:
        >>> ddim_timesteps(100, 4)
        [99, 66, 33, 0]
    """
    T = check_int(T, "T", low=1)
    steps = check_int(steps, "steps", low=1, high=T)
    if steps == 1:
        return [T - 1]
    return sorted({round(i * (T - 1) / (steps - 1)) for i in range(steps)}, reverse=True)


@torch.no_grad()
def ddim_sample(eps_model, alphas_cumprod: torch.Tensor, shape: tuple[int, ...], steps: int,
                eta: float = 0.0, *, seed: int = 0, device: str = "cpu", dtype: torch.dtype = torch.float32,
                return_trajectory: bool = False):
    r"""DDIM sampling on a subsequence of ``steps`` steps, equation ``eq-ddim-step``.

    On increasing paper steps :math:`1 \le \tau_1 < \dots < \tau_S = T`
    (:func:`ddim_timesteps`, plus one) and :math:`\tau_0 = 0`, from
    :math:`x_{\tau_S} = x_T \sim \mathcal N(0, I)`, for :math:`i = S, \dots, 1`:

    .. math::
        x_{\tau_{i-1}} = \sqrt{\bar\alpha_{\tau_{i-1}}}\,\hat x_0
        + \sqrt{1 - \bar\alpha_{\tau_{i-1}} - \sigma_i^2}\;\hat\epsilon + \sigma_i z,\qquad
        \sigma_i = \eta\sqrt{\frac{1 - \bar\alpha_{\tau_{i-1}}}{1 - \bar\alpha_{\tau_i}}}
        \sqrt{1 - \frac{\bar\alpha_{\tau_i}}{\bar\alpha_{\tau_{i-1}}}}

    with :math:`\hat\epsilon = \epsilon_\theta(x_{\tau_i}, \tau_i)`, :math:`\hat x_0` from it
    (equation ``eq-x0-from-eps``, not clipped) and :math:`\bar\alpha_{\tau_0} = \bar\alpha_0 = 1`,
    so the last step returns :math:`\hat x_0` (no noise is added there). ``eta = 0`` is
    deterministic given the initial noise; ``eta = 1`` with ``steps = T`` is exactly
    :func:`ddpm_sample`.

    Args:
        eps_model: a callable ``eps_model(x_t, t) -> eps``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        shape: the output shape ``(batch, ...)``.
        steps: number of network evaluations, ``1 .. T`` (:func:`ddim_timesteps`).
        eta: stochasticity, in ``[0, 1]``.
        seed, device, dtype, return_trajectory: as in :func:`ddpm_sample`; the
            trajectory has shape ``(len(timesteps) + 1, *shape)``.

    Example:
        >>> ab = alphas_cumprod(linear_beta_schedule(10, 1e-3, 0.2))
        >>> ddim_sample(lambda x, t: torch.zeros_like(x), ab, (4, 2), steps=5).shape
        torch.Size([4, 2])
    """
    shape, gen = _check_sampler_args(eps_model, shape, seed)
    ab = _check_ab(alphas_cumprod)
    eta = check_scalar(eta, "eta", low=0.0, high=1.0)
    ts = ddim_timesteps(ab.shape[0], steps)
    x = torch.randn(shape, generator=gen, dtype=dtype).to(device)
    traj = [x]
    for i, step in enumerate(ts):
        t = torch.full((shape[0],), step, dtype=torch.long, device=device)
        eps = eps_model(x, t).to(dtype)
        x0_hat = predict_x0_from_eps(x, t, eps, ab)
        a_t = float(ab[step])
        a_prev = float(ab[ts[i + 1]]) if i + 1 < len(ts) else 1.0
        sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
        x = math.sqrt(a_prev) * x0_hat + math.sqrt(max(1.0 - a_prev - sigma**2, 0.0)) * eps
        if i + 1 < len(ts) and eta > 0:
            x = x + sigma * torch.randn(shape, generator=gen, dtype=dtype).to(device)
        traj.append(x)
    return (x, torch.stack(traj)) if return_trajectory else x


# ---------------------------------------------------------------------------------------------
# The chapter's data and its named schedules.
# ---------------------------------------------------------------------------------------------


def ring_gmm(K: int = 8, radius: float = 2.0, std: float = 0.25):
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


def beta_schedule(name: str, T: int) -> torch.Tensor:
    """A named schedule for ``T`` steps: ``"linear"`` or ``"cosine"``.

    ``"linear"`` rescales Ho et al.'s 1000-step endpoints by ``1000 / T``
    (``beta`` from ``0.1 / T`` to ``20 / T``, capped below 1), as the code of Nichol &
    Dhariwal does (``get_named_beta_schedule`` in openai/improved-diffusion; their paper
    does not state it): the sum of the betas, ``T (beta_1 + beta_T) / 2 = 10.05``, does not
    depend on ``T``, and :math:`\\bar\\alpha_T` changes little. ``"cosine"`` is
    :func:`cosine_beta_schedule` with the paper's settings.

    Example:
        >>> float(beta_schedule("linear", 100)[-1])
        0.2
    """
    check_choice(name, "name", ["linear", "cosine"])
    T = check_int(T, "T", low=1)
    if name == "cosine":
        return cosine_beta_schedule(T)
    return linear_beta_schedule(T, min(0.1 / T, 0.5), min(20.0 / T, 0.999))


# The theory beyond the primer (the bound, the reverse SDE, the parameterisations, Langevin) lives in
# its own module; re-exported here so that the chapter reaches everything as ``Df.<name>``.
from .diffusion_theory import (  # noqa: E402, F401
    annealed_langevin_sample,
    eps_to_v,
    langevin_sample,
    reverse_sde_sample,
    reverse_sde_step,
    v_to_eps,
    v_to_x0,
    vlb_terms,
    vlb_weights,
    x0_to_eps,
)

# The chapter's widgets live in companion.views.diffusion (presentation apart from the mathematics);
# their old names here still resolve, on first use, for readers' code written against them.
_MOVED_TO_VIEWS = ("NOISED_SLIDERS", "noised_data_view", "SAMPLING_SLIDERS", "sampling_steps_view",
                   "noising_widget_spec", "sampling_widget_spec", "widget_specs")


def __getattr__(name: str):
    if name in _MOVED_TO_VIEWS:
        from .views import diffusion as views

        return getattr(views, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
