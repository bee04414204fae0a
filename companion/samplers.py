r"""Samplers for a trained noise predictor (chapter ``ch-diffusion``): DDPM's ancestral sampler and DDIM.

Both take any callable ``eps_model(x_t, t)`` and a schedule; they are apart from the models they
sample from.
"""

from __future__ import annotations

import math

import torch

from . import validation
from .parameterisations import predict_x0_from_eps
from .schedules import NoiseSchedule, _check_ab
from .validation import (
    check_int,
    check_scalar,
)

__all__ = ["ddpm_sample", "ddim_timesteps", "ddim_sample"]


def _check_sampler_args(eps_model, shape, seed):
    if not callable(eps_model):
        raise TypeError(f"eps_model: expected a callable (x_t, t) -> eps, got {type(eps_model).__name__}")
    if (not isinstance(shape, (tuple, list)) or not shape
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape)):
        raise ValueError(f"shape: expected a tuple of positive ints (batch, ...), got {shape!r}")
    seed = check_int(seed, "seed", low=0)
    return tuple(shape), torch.Generator().manual_seed(seed)


def _eps(eps_model, x: torch.Tensor, t: torch.Tensor, dtype: torch.dtype, ab: torch.Tensor) -> torch.Tensor:
    """The model's noise prediction at ``(x, t)``: its shape checked at every step (free), its values
    only when :data:`companion.validation.CHECK_EVERY_CALL` asks for the full checks."""
    eps = validation.unchecked(eps_model)(x, t).to(dtype)  # x and t are the sampler's own
    if eps.shape != x.shape:
        raise ValueError(f"eps_model: expected an output of shape {tuple(x.shape)}, got {tuple(eps.shape)}")
    if validation.CHECK_EVERY_CALL:
        predict_x0_from_eps(x, t, eps, ab)  # every argument check of the step, as a standalone call makes
    return eps


def _x0_coefficients(ab: torch.Tensor, dtype: torch.dtype) -> tuple[list[float], list[float]]:
    r""":math:`\sqrt{\bar\alpha_t}` and :math:`\sqrt{1 - \bar\alpha_t}` at every step, as Python
    numbers holding the values ``dtype`` stores: a step multiplies by a number, not by a
    gathered tensor, and gets the same result bit for bit."""
    return ab.sqrt().to(dtype).tolist(), (1.0 - ab).sqrt().to(dtype).tolist()


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
        >>> from companion.schedules import linear_beta_schedule
        >>> b = linear_beta_schedule(10, 1e-3, 0.2)
        >>> ddpm_sample(lambda x, t: torch.zeros_like(x), b, (4, 2)).shape
        torch.Size([4, 2])
    """
    shape, gen = _check_sampler_args(eps_model, shape, seed)
    s = NoiseSchedule.from_betas(betas)  # checked once, here; the loop below checks nothing again
    x = torch.randn(shape, generator=gen, dtype=dtype).to(device)
    traj = [x] if return_trajectory else []  # kept only when asked for: 100 states are megabytes
    sqrt_ab, sqrt_1m_ab = _x0_coefficients(s.alphas_cumprod, dtype)
    coef_x0, coef_xt, sd = (c.to(dtype).tolist() for c in (s.posterior_coef_x0, s.posterior_coef_xt,
                                                             s.posterior_variance.to(dtype).sqrt()))
    for step in range(s.T - 1, -1, -1):
        t = torch.full((shape[0],), step, dtype=torch.long, device=device)
        eps = _eps(eps_model, x, t, dtype, s.alphas_cumprod)
        # the arithmetic of eq-x0-from-eps and eq-q-posterior, in place where a result is new: the
        # same numbers, bit for bit, with half the allocations of the plain expressions
        x0_hat = (x - sqrt_1m_ab[step] * eps).div_(sqrt_ab[step])
        x = x0_hat.mul_(coef_x0[step]).add_(x * coef_xt[step])  # the posterior mean
        if step > 0:
            x.add_(torch.randn(shape, generator=gen, dtype=dtype).to(device).mul_(sd[step]))
        if return_trajectory:
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
        >>> from companion.schedules import alphas_cumprod, linear_beta_schedule
        >>> ab = alphas_cumprod(linear_beta_schedule(10, 1e-3, 0.2))
        >>> ddim_sample(lambda x, t: torch.zeros_like(x), ab, (4, 2), steps=5).shape
        torch.Size([4, 2])
    """
    shape, gen = _check_sampler_args(eps_model, shape, seed)
    ab = _check_ab(alphas_cumprod)
    eta = check_scalar(eta, "eta", low=0.0, high=1.0)
    ts = ddim_timesteps(ab.shape[0], steps)
    x = torch.randn(shape, generator=gen, dtype=dtype).to(device)
    traj = [x] if return_trajectory else []  # kept only when asked for: 100 states are megabytes
    sqrt_ab, sqrt_1m_ab = _x0_coefficients(ab, dtype)
    for i, step in enumerate(ts):
        t = torch.full((shape[0],), step, dtype=torch.long, device=device)
        eps = _eps(eps_model, x, t, dtype, ab)
        x0_hat = (x - sqrt_1m_ab[step] * eps).div_(sqrt_ab[step])  # equation eq-x0-from-eps
        a_t = float(ab[step])
        a_prev = float(ab[ts[i + 1]]) if i + 1 < len(ts) else 1.0
        sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
        x = x0_hat.mul_(math.sqrt(a_prev)).add_(eps * math.sqrt(max(1.0 - a_prev - sigma**2, 0.0)))
        if i + 1 < len(ts) and eta > 0:
            x.add_(torch.randn(shape, generator=gen, dtype=dtype).to(device).mul_(sigma))
        if return_trajectory:
            traj.append(x)
    return (x, torch.stack(traj)) if return_trajectory else x
