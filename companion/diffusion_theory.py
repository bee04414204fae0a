r"""Diffusion beyond the primer: the bound, the SDEs, the parameterisations, Langevin (``ch-diffusion``).

Four pieces of theory behind the diffusion chapter, kept apart from
:mod:`companion.diffusion` (the forward process, the loss, the samplers), which re-exports
them:

- the variational bound of Ho et al. (2020) term by term, as an :math:`\epsilon` regression
  with weights (:func:`vlb_weights`, :func:`vlb_terms`);
- the reverse-time SDE of the forward process and its Euler--Maruyama sampler, of which
  DDPM is a discretisation (:func:`reverse_sde_step`, :func:`reverse_sde_sample`);
- the :math:`\epsilon`-, :math:`x_0`- and :math:`v`-parameterisations and their conversions
  (:func:`eps_to_v`, :func:`v_to_eps`, :func:`x0_to_eps`, :func:`v_to_x0`);
- Langevin dynamics and annealed Langevin dynamics (:func:`langevin_sample`,
  :func:`annealed_langevin_sample`).

The indexing is :mod:`companion.diffusion`'s: paper steps :math:`t = 1, \dots, T`, and
**array index** ``i`` **is paper step** ``i + 1``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .validation import ArrayLike, check_array, check_choice, check_int, check_same_shape, check_scalar

__all__ = [
    "vlb_weights",
    "vlb_terms",
    "reverse_sde_step",
    "reverse_sde_sample",
    "eps_to_v",
    "v_to_eps",
    "x0_to_eps",
    "v_to_x0",
    "langevin_sample",
    "annealed_langevin_sample",
]


def _Df():
    # companion.diffusion re-exports this module's functions, so import it when called, not at import time
    from . import diffusion

    return diffusion


def _check_callable(fn, name: str, what: str):
    if not callable(fn):
        raise TypeError(f"{name}: expected a callable {what}, got {type(fn).__name__}")
    return fn


# ---------------------------------------------------------------------------------------------
# The variational bound.
# ---------------------------------------------------------------------------------------------

VARIANCES = ("posterior", "beta")


def _sigma2(betas: torch.Tensor, variance: str) -> torch.Tensor:
    """The reverse variances sigma_t^2, (T,): beta-tilde_t (t >= 2) or beta_t; sigma_1^2 = beta_1 always."""
    ab = torch.cumprod(1.0 - betas, dim=0)
    ab_prev = torch.cat([torch.ones(1, dtype=ab.dtype), ab[:-1]])
    if variance == "beta":
        return betas.clone()
    post = (1.0 - ab_prev) / (1.0 - ab) * betas
    return torch.cat([betas[:1], post[1:]])


def vlb_weights(betas: torch.Tensor, variance: str = "posterior") -> torch.Tensor:
    r"""The weights :math:`\lambda_t` of the bound as an :math:`\epsilon` regression, equation ``eq-vlb-eps``.

    .. math::
        \lambda_t = \frac{\beta_t^2}{2\sigma_t^2\,\alpha_t\,(1 - \bar\alpha_t)},\qquad t = 1, \dots, T,

    so that :math:`L_{t-1} = \lambda_t\,\E\|\epsilon - \epsilon_\theta(x_t, t)\|^2` (plus a constant
    when :math:`\sigma_t^2 \ne \tilde\beta_t`). ``variance="posterior"`` takes
    :math:`\sigma_t^2 = \tilde\beta_t` for :math:`t \ge 2` (then
    :math:`\lambda_t = \tfrac12(\mathrm{SNR}_{t-1}/\mathrm{SNR}_t - 1)`, equation ``eq-vlb-snr``);
    ``"beta"`` takes :math:`\sigma_t^2 = \beta_t`. At :math:`t = 1`, :math:`\tilde\beta_1 = 0`,
    so the decoder :math:`p_\theta(x_0 \mid x_1)` uses :math:`\sigma_1^2 = \beta_1` in both cases,
    and :math:`\lambda_1 = 1/(2\alpha_1)` is the weight of :math:`\|\epsilon - \epsilon_\theta\|^2`
    in its negative log-density.

    Args:
        betas: the schedule :math:`\beta_1, \dots, \beta_T`, shape ``(T,)``.
        variance: ``"posterior"`` or ``"beta"``.

    Returns:
        shape ``(T,)``; entry ``i`` is :math:`\lambda_{i+1}`.

    Example:
        >>> vlb_weights(torch.tensor([0.5, 0.5], dtype=torch.float64))
        tensor([1., 1.], dtype=torch.float64)
    """
    betas = _Df()._check_betas(betas)
    variance = check_choice(variance, "variance", VARIANCES)
    ab = torch.cumprod(1.0 - betas, dim=0)
    return betas**2 / (2.0 * _sigma2(betas, variance) * (1.0 - betas) * (1.0 - ab))


def vlb_terms(eps_model, x0: torch.Tensor, betas: torch.Tensor, eps: torch.Tensor, *,
              variance: str = "posterior") -> torch.Tensor:
    r"""The terms of the variational bound for each data point, equations ``eq-vlb`` and ``eq-vlb-eps``.

    .. math::
        L_{\text{vlb}} = \underbrace{\KL\big(q(x_T\mid x_0)\,\|\,\mathcal N(0, I)\big)}_{L_T}
        + \sum_{t=2}^{T} \underbrace{\lambda_t\,\|\epsilon_t - \epsilon_\theta(x_t, t)\|^2
          + \tfrac d2\big(r_t - 1 - \log r_t\big)}_{L_{t-1}}
        \underbrace{- \log \mathcal N\big(x_0;\ \hat x_0(x_1),\ \sigma_1^2 I\big)}_{L_0}

    with :math:`r_t = \tilde\beta_t/\sigma_t^2`,
    :math:`x_t = \sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon_t` (one draw per step),
    :math:`\lambda_t` from :func:`vlb_weights`, and the decoder's mean
    :math:`\hat x_0(x_1) = \mu_\theta(x_1, 1)` (equation ``eq-x0-from-eps``). :math:`L_{t-1}` is
    :math:`\KL(q(x_{t-1}\mid x_t, x_0)\,\|\,p_\theta(x_{t-1}\mid x_t))` at the drawn :math:`x_t`,
    and :math:`L_0` is a Gaussian negative log-*density* (continuous data, no
    discretisation), so :math:`-L_{\text{vlb}}` bounds :math:`\log p_\theta(x_0)` as a density,
    in nats. Each row is a one-draw Monte Carlo estimate; average rows for the expectation.

    Args:
        eps_model: a callable ``eps_model(x_t, t) -> eps``, ``t`` the array index, shape ``(batch,)``.
        x0: clean data, shape ``(batch, ...)``.
        betas: the schedule, shape ``(T,)``.
        eps: the noise of each step, shape ``(T, batch, ...)``: ``eps[i]`` makes :math:`x_{i+1}`.
        variance: the reverse variances, ``"posterior"`` or ``"beta"`` (see :func:`vlb_weights`).

    Returns:
        shape ``(batch, T + 1)``: column ``k`` is :math:`L_k` (column 0 the decoder term,
        column ``T`` the prior term); the row sums are :math:`L_{\text{vlb}}(x_0)`.

    Example:
        >>> b = torch.tensor([0.1, 0.5], dtype=torch.float64)
        >>> L = vlb_terms(lambda x, t: torch.zeros_like(x), torch.zeros(3, 2, dtype=torch.float64), b,
        ...               torch.zeros(2, 3, 2, dtype=torch.float64))
        >>> L.shape
        torch.Size([3, 3])
    """
    Df = _Df()
    _check_callable(eps_model, "eps_model", "(x_t, t) -> eps")
    x0 = Df._check_x(x0, "x0")
    betas = Df._check_betas(betas)
    variance = check_choice(variance, "variance", VARIANCES)
    eps = Df._check_x(eps, "eps")
    T = betas.shape[0]
    if tuple(eps.shape) != (T, *x0.shape):
        raise ValueError(f"eps: expected shape {(T, *x0.shape)} (one noise per step), got {tuple(eps.shape)}")
    betas = betas.to(x0.dtype)
    ab = torch.cumprod(1.0 - betas, dim=0)
    ab_prev = torch.cat([torch.ones(1, dtype=ab.dtype), ab[:-1]])
    post = (1.0 - ab_prev) / (1.0 - ab) * betas                                     # beta-tilde_t
    sigma2 = _sigma2(betas, variance)
    lam = betas**2 / (2.0 * sigma2 * (1.0 - betas) * (1.0 - ab))
    batch, d = x0.shape[0], x0[0].numel()
    terms = []
    for i in range(T):                                                              # paper step i + 1
        t = torch.full((batch,), i, dtype=torch.long, device=x0.device)
        x_t = Df.q_sample(x0, t, eps[i], ab)
        eps_hat = eps_model(x_t, t).to(x0.dtype)
        if i == 0:                                                                  # L_0, the decoder
            x0_hat = Df.predict_x0_from_eps(x_t, t, eps_hat, ab)
            sq = (x0 - x0_hat).pow(2).flatten(1).sum(1)
            terms.append(0.5 * sq / sigma2[0] + 0.5 * d * math.log(2 * math.pi * float(sigma2[0])))
        else:                                                                       # L_{t-1}, t = i + 1
            r = float(post[i] / sigma2[i])
            sq = (eps[i] - eps_hat).pow(2).flatten(1).sum(1)
            terms.append(lam[i] * sq + 0.5 * d * (r - 1.0 - math.log(r)))
    a_T = ab[-1]
    x0_sq = x0.pow(2).flatten(1).sum(1)
    terms.append(0.5 * (a_T * x0_sq + d * (1.0 - a_T) - d - d * torch.log(1.0 - a_T)))   # L_T
    return torch.stack(terms, dim=1)


# ---------------------------------------------------------------------------------------------
# Continuous time: the reverse-time SDE.
# ---------------------------------------------------------------------------------------------


def reverse_sde_step(x_t: torch.Tensor, t: torch.Tensor | int, score: torch.Tensor, betas: torch.Tensor,
                     noise: torch.Tensor) -> torch.Tensor:
    r"""One Euler--Maruyama step of the reverse-time SDE, equation ``eq-reverse-sde-em``.

    .. math:: x_{t-1} = x_t + \beta_t\Big(\tfrac12 x_t + \nabla_{x_t}\log p_t(x_t)\Big) + \sqrt{\beta_t}\, z

    the reverse-time SDE (equation ``eq-reverse-sde``) of the forward SDE with
    :math:`\beta(t) = \beta_t` on a unit step. Array index ``i`` takes :math:`x_{i+1}` to :math:`x_i`.

    Args:
        x_t: the current state, shape ``(batch, ...)``.
        t: array indices (paper step ``t + 1``), shape ``(batch,)`` or one int.
        score: the score :math:`\nabla\log p_t` at ``x_t``, the shape of ``x_t``.
        betas: the schedule, shape ``(T,)``.
        noise: standard normal :math:`z`, the shape of ``x_t`` (zeros give the step's mean).

    Example:
        >>> b = torch.tensor([0.2], dtype=torch.float64)
        >>> reverse_sde_step(torch.ones(1, 1), 0, -torch.ones(1, 1), b, torch.zeros(1, 1))
        tensor([[0.9000]])
    """
    Df = _Df()
    x_t, score, noise = Df._check_x(x_t, "x_t"), Df._check_x(score, "score"), Df._check_x(noise, "noise")
    check_same_shape(x_t=x_t, score=score)
    check_same_shape(x_t=x_t, noise=noise)
    betas = Df._check_betas(betas)
    t = Df._check_t(t, betas.shape[0], x_t.shape[0])
    b = Df._gather(betas, t, x_t)                                                   # (batch, 1, ..., 1)
    return x_t + b * (0.5 * x_t + score) + b.sqrt() * noise


@torch.no_grad()
def reverse_sde_sample(score_fn, betas: torch.Tensor, shape: tuple[int, ...], *, seed: int = 0,
                       dtype: torch.dtype = torch.float32, return_trajectory: bool = False):
    r"""Sample by the Euler--Maruyama discretisation of the reverse-time SDE, equation ``eq-reverse-sde-em``.

    From :math:`x_T \sim \mathcal N(0, I)`, apply :func:`reverse_sde_step` for
    :math:`t = T, \dots, 1`, with fresh noise at every step (the last one too: this is the
    plain discretisation, not DDPM's noise-free last step).

    Args:
        score_fn: a callable ``score_fn(x_t, t) -> score``, ``t`` the array index, shape ``(batch,)``.
        betas: the schedule, shape ``(T,)``.
        shape: the output shape ``(batch, ...)``.
        seed: seeds the initial noise and every step's noise.
        dtype: the precision to sample in.
        return_trajectory: also return :math:`x_T, \dots, x_0`, shape ``(T + 1, *shape)``.

    Example:
        >>> b = torch.full((10,), 0.1, dtype=torch.float64)
        >>> reverse_sde_sample(lambda x, t: -x, b, (4, 2)).shape   # the score of N(0, I)
        torch.Size([4, 2])
    """
    Df = _Df()
    _check_callable(score_fn, "score_fn", "(x_t, t) -> score")
    shape, gen = Df._check_sampler_args(score_fn, shape, seed)
    betas = Df._check_betas(betas)
    x = torch.randn(shape, generator=gen, dtype=dtype)
    traj = [x] if return_trajectory else []
    for i in range(betas.shape[0] - 1, -1, -1):
        t = torch.full((shape[0],), i, dtype=torch.long)
        score = score_fn(x, t).to(dtype)
        x = reverse_sde_step(x, t, score, betas, torch.randn(shape, generator=gen, dtype=dtype))
        if return_trajectory:
            traj.append(x)
    return (x, torch.stack(traj)) if return_trajectory else x


# ---------------------------------------------------------------------------------------------
# Parameterisations: eps, x0 and v.
# ---------------------------------------------------------------------------------------------


def _coefs(x_t, t, pred, alphas_cumprod, name):
    """sqrt(abar_t) and sqrt(1 - abar_t) gathered to (batch, 1, ..., 1), after the checks."""
    Df = _Df()
    x_t, pred = Df._check_x(x_t, "x_t"), Df._check_x(pred, name)
    check_same_shape(**{"x_t": x_t, name: pred})
    ab = Df._check_ab(alphas_cumprod)
    t = Df._check_t(t, ab.shape[0], x_t.shape[0])
    return x_t, pred, Df._gather(ab.sqrt(), t, x_t), Df._gather((1.0 - ab).sqrt(), t, x_t)


def eps_to_v(x_t: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
             alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""The :math:`v`-prediction from a noise prediction, equation ``eq-v-param``.

    .. math:: v = \sqrt{\bar\alpha_t}\,\epsilon - \sqrt{1-\bar\alpha_t}\,\hat x_0
              = \frac{\epsilon - \sqrt{1-\bar\alpha_t}\,x_t}{\sqrt{\bar\alpha_t}}

    (the second form substitutes :math:`\hat x_0` from equation ``eq-x0-from-eps``).
    Salimans & Ho (2022).

    Args:
        x_t: the noisy input, shape ``(batch, ...)``.
        t: array indices (paper step ``t + 1``), shape ``(batch,)`` or one int.
        eps: the noise (prediction), the shape of ``x_t``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.

    Example:
        >>> eps_to_v(torch.zeros(1, 1), 0, torch.ones(1, 1), torch.tensor([0.25], dtype=torch.float64))
        tensor([[2.]])
    """
    x_t, eps, a, s = _coefs(x_t, t, eps, alphas_cumprod, "eps")
    return (eps - s * x_t) / a


def v_to_eps(x_t: torch.Tensor, t: torch.Tensor | int, v: torch.Tensor,
             alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""The noise prediction from a :math:`v`-prediction, equation ``eq-v-param``.

    .. math:: \epsilon = \sqrt{\bar\alpha_t}\, v + \sqrt{1-\bar\alpha_t}\, x_t

    Example:
        >>> v_to_eps(torch.zeros(1, 1), 0, torch.full((1, 1), 2.0), torch.tensor([0.25], dtype=torch.float64))
        tensor([[1.]])
    """
    x_t, v, a, s = _coefs(x_t, t, v, alphas_cumprod, "v")
    return a * v + s * x_t


def x0_to_eps(x_t: torch.Tensor, t: torch.Tensor | int, x0: torch.Tensor,
              alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""The noise prediction from a prediction of the clean data, the inverse of ``eq-x0-from-eps``.

    .. math:: \epsilon = \frac{x_t - \sqrt{\bar\alpha_t}\, \hat x_0}{\sqrt{1-\bar\alpha_t}}

    Example:
        >>> x0_to_eps(torch.ones(1, 1), 0, torch.zeros(1, 1), torch.tensor([0.75], dtype=torch.float64))
        tensor([[2.]])
    """
    x_t, x0, a, s = _coefs(x_t, t, x0, alphas_cumprod, "x0")
    return (x_t - a * x0) / s


def v_to_x0(x_t: torch.Tensor, t: torch.Tensor | int, v: torch.Tensor,
            alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""The clean-data prediction from a :math:`v`-prediction, equation ``eq-v-param``.

    .. math:: \hat x_0 = \sqrt{\bar\alpha_t}\, x_t - \sqrt{1-\bar\alpha_t}\, v

    Example:
        >>> v_to_x0(torch.ones(1, 1), 0, torch.zeros(1, 1), torch.tensor([0.25], dtype=torch.float64))
        tensor([[0.5000]])
    """
    x_t, v, a, s = _coefs(x_t, t, v, alphas_cumprod, "v")
    return a * x_t - s * v


# ---------------------------------------------------------------------------------------------
# Langevin dynamics.
# ---------------------------------------------------------------------------------------------


def _langevin(score_fn, x, step_size, n_steps, generator):
    for _ in range(n_steps):
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x + step_size * score_fn(x).to(x.dtype) + math.sqrt(2.0 * step_size) * z
    return x


@torch.no_grad()
def langevin_sample(score_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, step_size: float,
                    n_steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Unadjusted Langevin dynamics with a given score, equation ``eq-langevin``.

    .. math:: x_{k+1} = x_k + h\,\nabla_x \log p(x_k) + \sqrt{2h}\, z_k,
              \qquad z_k \sim \mathcal N(0, I)

    (Song & Ermon (2019) write :math:`\epsilon/2` for :math:`h`; their annealed algorithm's step
    is :math:`\alpha_i/2`.) For small :math:`h` and
    many steps the chains approach :math:`p`; there is no accept/reject step, so the
    stationary law is :math:`p` only up to an :math:`O(h)` bias (for
    :math:`\mathcal N(m, \sigma^2)` it is :math:`\mathcal N(m,\ \sigma^2/(1 - h/(2\sigma^2)))`).

    Args:
        score_fn: ``score_fn(x) -> score``, shapes ``(batch, ...)``.
        x: the starting points, shape ``(batch, ...)``.
        step_size: :math:`h > 0`.
        n_steps: the number of steps (>= 0).
        generator: a ``torch.Generator`` for reproducible noise.

    Returns:
        the final points, the shape and dtype of ``x``.

    Example:
        >>> x = langevin_sample(lambda x: -x, torch.zeros(3, 2), 0.1, 10, torch.Generator().manual_seed(0))
        >>> x.shape
        torch.Size([3, 2])
    """
    _check_callable(score_fn, "score_fn", "x -> score")
    x = _Df()._check_x(x, "x")
    step_size = check_scalar(step_size, "step_size", low=0.0, closed=(False, True))
    n_steps = check_int(n_steps, "n_steps", low=0)
    return _langevin(score_fn, x, step_size, n_steps, generator)


@torch.no_grad()
def annealed_langevin_sample(score_fn: Callable[[torch.Tensor, object], torch.Tensor], x: torch.Tensor,
                             levels: Sequence, step_sizes: ArrayLike, n_steps: int,
                             generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Annealed Langevin dynamics (Song & Ermon, 2019), equation ``eq-annealed-langevin``.

    For each noise level :math:`\ell` in ``levels`` (from the noisiest down), run
    :func:`langevin_sample` for ``n_steps`` steps of size :math:`h_\ell` on the score of
    the noised density :math:`p_\ell`, starting where the previous level ended.

    Args:
        score_fn: ``score_fn(x, level) -> score`` for each entry of ``levels``.
        x: the starting points, shape ``(batch, ...)``.
        levels: the noise levels, in the order to visit them (e.g. array indices ``T - 1 .. 0``).
        step_sizes: one :math:`h_\ell > 0` per level.
        n_steps: Langevin steps per level (>= 0).
        generator: a ``torch.Generator`` for reproducible noise.

    Example:
        >>> score = lambda x, level: -x / (1.0 + level)
        >>> x = annealed_langevin_sample(score, torch.zeros(3, 2), [2.0, 1.0, 0.0], [0.3, 0.2, 0.1], 5)
        >>> x.shape
        torch.Size([3, 2])
    """
    _check_callable(score_fn, "score_fn", "(x, level) -> score")
    x = _Df()._check_x(x, "x")
    levels = list(levels)
    step_sizes = check_array(step_sizes, "step_sizes", ndim=1)
    if len(step_sizes) != len(levels):
        raise ValueError(f"step_sizes: expected one per level ({len(levels)}), got {len(step_sizes)}")
    deltas = [check_scalar(float(s), "step_sizes", low=0.0, closed=(False, True)) for s in step_sizes]
    n_steps = check_int(n_steps, "n_steps", low=0)
    for level, delta in zip(levels, deltas, strict=True):
        x = _langevin(lambda y, level=level: score_fn(y, level), x, delta, n_steps, generator)
    return x
