"""Diffusion models and score matching (chapter ``ch-diffusion``).

Notation follows the DDPM paper (Ho et al., 2020): ``betas`` is the noise schedule,
``alphas_cumprod`` is :math:`\\bar\\alpha_t = \\prod_{s \\le t} (1 - \\beta_s)`, and steps
``t`` are integers in ``[0, T)`` indexing those arrays.
"""

from __future__ import annotations

import torch

from .validation import check_array, check_in_range, check_int, check_same_shape, check_scalar

__all__ = [
    "linear_beta_schedule",
    "alphas_cumprod",
    "q_sample",
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


