r"""Noise schedules (chapter ``ch-diffusion``): the betas, :math:`\bar\alpha_t`, and their checks.

The mathematics counts steps :math:`t = 1, \dots, T` with :math:`\bar\alpha_t = \prod_{i=1}^t
\alpha_i`; the arrays are 0-based, so ``betas[t - 1]`` is :math:`\beta_t` and
``alphas_cumprod[t - 1]`` is :math:`\bar\alpha_t`. Every function here is used by the forward
process (:mod:`companion.diffusion`), the samplers (:mod:`companion.samplers`) and the Gaussian
mixture oracle (:mod:`companion.mixtures`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .validation import (
    check_array,
    check_choice,
    check_in_range,
    check_int,
    check_scalar,
)

__all__ = ["linear_beta_schedule", "alphas_cumprod", "cosine_beta_schedule", "snr", "beta_schedule",
           "NoiseSchedule"]


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


def beta_schedule(name: str, T: int) -> torch.Tensor:
    """A named schedule for ``T`` steps: ``"linear"`` or ``"cosine"``.

    ``"linear"`` rescales Ho et al.'s 1000-step endpoints by ``1000 / T``
    (``beta`` from ``0.1 / T`` to ``20 / T``), as the code of Nichol & Dhariwal does
    (``get_named_beta_schedule`` in openai/improved-diffusion; their paper does not state it).
    For ``T > 20`` the sum of the betas, ``T (beta_1 + beta_T) / 2 = 10.05``, does not depend
    on ``T``, and :math:`\\bar\\alpha_T` changes little. For ``T <= 20`` the end point would
    reach 1, and this function (not theirs) caps it at 0.999: a shorter schedule, a smaller
    sum. ``"cosine"`` is
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


@dataclass(frozen=True, eq=False)
class NoiseSchedule:
    r"""A noise schedule with everything a sampler needs, computed once and checked once.

    Every array has shape ``(T,)``; entry ``t - 1`` belongs to step :math:`t`. With
    :math:`\bar\alpha_0 = 1`, the posterior :math:`q(x_{t-1} \mid x_t, x_0)` of equation
    ``eq-q-posterior`` has mean ``posterior_coef_x0 * x0 + posterior_coef_xt * x_t`` and variance
    ``posterior_variance`` (:math:`\tilde\beta_t`). Build one with :meth:`from_betas` (which
    checks the betas), :meth:`linear` or :meth:`cosine`; samplers then index it step by step
    without checking again.

    Example:
        >>> s = NoiseSchedule.from_betas(torch.tensor([0.5, 0.5], dtype=torch.float64))
        >>> s.T, s.alphas_cumprod.tolist(), round(float(s.posterior_variance[1]), 4)
        (2, [0.5, 0.25], 0.3333)
    """

    betas: torch.Tensor
    alphas_cumprod: torch.Tensor
    alphas_cumprod_prev: torch.Tensor
    posterior_coef_x0: torch.Tensor
    posterior_coef_xt: torch.Tensor
    posterior_variance: torch.Tensor

    @classmethod
    def from_betas(cls, betas: torch.Tensor) -> NoiseSchedule:
        """The schedule of ``betas`` (shape ``(T,)``, each in ``(0, 1)``), in their dtype."""
        return cls._of(_check_betas(betas))

    @classmethod
    def linear(cls, T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> NoiseSchedule:
        """:func:`linear_beta_schedule`'s schedule."""
        return cls._of(linear_beta_schedule(T, beta_start, beta_end))

    @classmethod
    def cosine(cls, T: int, s: float = 0.008, max_beta: float = 0.999) -> NoiseSchedule:
        """:func:`cosine_beta_schedule`'s schedule."""
        return cls._of(cosine_beta_schedule(T, s, max_beta))

    @classmethod
    def _of(cls, betas: torch.Tensor) -> NoiseSchedule:
        ab = torch.cumprod(1.0 - betas, dim=0)
        ab_prev = torch.cat([torch.ones(1, dtype=ab.dtype), ab[:-1]])
        return cls(betas=betas, alphas_cumprod=ab, alphas_cumprod_prev=ab_prev,
                   posterior_coef_x0=ab_prev.sqrt() * betas / (1.0 - ab),
                   posterior_coef_xt=(1.0 - betas).sqrt() * (1.0 - ab_prev) / (1.0 - ab),
                   posterior_variance=(1.0 - ab_prev) / (1.0 - ab) * betas)

    @property
    def T(self) -> int:
        """The number of steps."""
        return int(self.betas.shape[0])
