"""Loop-per-step reference implementations of the diffusion loss and samplers (benchmark only).

Written from the papers' formulas, independently of ``companion/diffusion.py``: the
schedule is a Python list of floats, every step looks its scalars up in that list, and
nothing is vectorised over time. ``benchmarks/run.py`` times ``companion`` against these
on identical inputs (same network, same noise) and checks that they agree within 1e-6 in
float64; ``tests/test_diffusion_reference.py`` checks the same on a tiny case.

- :func:`reference_loss`: the simplified loss of Ho et al. (2020), eq. (14).
- :func:`reference_ddpm`: Algorithm 2 of Ho et al. (2020), with
  :math:`\\sigma_t^2 = \\tilde\\beta_t` (the posterior variance).
- :func:`reference_ddim`: eq. (12) of Song et al. (2021), DDIM with stochasticity ``eta``.

The noise is drawn from ``torch.Generator().manual_seed(seed)`` in the order the
samplers consume it: the initial state, then one draw per step that adds noise.
"""

from __future__ import annotations

import math

import torch

__all__ = ["cumulative_products", "reference_loss", "reference_ddpm", "reference_ddim", "even_timesteps"]


def cumulative_products(betas) -> list[float]:
    """``alpha_bar[t] = prod_{s <= t} (1 - beta_s)``, one Python float per step."""
    out, running = [], 1.0
    for beta in [float(b) for b in betas]:
        running *= 1.0 - beta
        out.append(running)
    return out


def reference_loss(eps_model, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, betas) -> torch.Tensor:
    """``mean_i || eps_i - eps_model(sqrt(ab_t_i) x0_i + sqrt(1 - ab_t_i) eps_i, t_i) ||^2``.

    The noised batch is built row by row with scalar coefficients.
    """
    ab = cumulative_products(betas)
    rows = [math.sqrt(ab[int(ti)]) * x0[i] + math.sqrt(1.0 - ab[int(ti)]) * eps[i] for i, ti in enumerate(t)]
    x_t = torch.stack(rows)
    return ((eps - eps_model(x_t, t)) ** 2).sum(dim=1).mean()


@torch.no_grad()
def reference_ddpm(eps_model, betas, shape: tuple[int, ...], *, seed: int = 0,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Ancestral sampling (Ho et al., 2020, Algorithm 2), one loop iteration per step.

    ``x_{t-1} = (x_t - beta_t / sqrt(1 - ab_t) * eps) / sqrt(alpha_t) + sigma_t z``, with
    ``sigma_t^2 = (1 - ab_{t-1}) / (1 - ab_t) * beta_t`` and no noise at the last step.
    """
    betas = [float(b) for b in betas]
    ab = cumulative_products(betas)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=dtype)
    for t in reversed(range(len(betas))):
        beta, a_bar = betas[t], ab[t]
        a_bar_prev = ab[t - 1] if t > 0 else 1.0
        eps = eps_model(x, torch.full((shape[0],), t, dtype=torch.long)).to(dtype)
        x = (x - beta / math.sqrt(1.0 - a_bar) * eps) / math.sqrt(1.0 - beta)
        if t > 0:
            sigma = math.sqrt((1.0 - a_bar_prev) / (1.0 - a_bar) * beta)
            x = x + sigma * torch.randn(shape, generator=gen, dtype=dtype)
    return x


def even_timesteps(T: int, steps: int) -> list[int]:
    """``steps`` indices evenly spaced over ``0 .. T-1`` (rounded), largest first."""
    if steps == 1:
        return [T - 1]
    return [round(i * (T - 1) / (steps - 1)) for i in reversed(range(steps))]


@torch.no_grad()
def reference_ddim(eps_model, betas, shape: tuple[int, ...], steps: int, eta: float = 0.0, *, seed: int = 0,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """DDIM (Song et al., 2021, eq. 12) on :func:`even_timesteps`, one loop iteration per step.

    ``x_prev = sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev - sigma^2) eps + sigma z`` with
    ``x0_hat = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t)`` and
    ``sigma = eta sqrt((1 - ab_prev) / (1 - ab_t)) sqrt(1 - ab_t / ab_prev)``; after the last
    step ``ab_prev = 1``.
    """
    ab = cumulative_products(betas)
    taus = even_timesteps(len(ab), steps)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=dtype)
    for i, tau in enumerate(taus):
        last = i == len(taus) - 1
        a_t = ab[tau]
        a_prev = 1.0 if last else ab[taus[i + 1]]
        eps = eps_model(x, torch.full((shape[0],), tau, dtype=torch.long)).to(dtype)
        x0_hat = (x - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)
        sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a_t)) * math.sqrt(1.0 - a_t / a_prev)
        x = math.sqrt(a_prev) * x0_hat + math.sqrt(max(1.0 - a_prev - sigma**2, 0.0)) * eps
        if not last and eta > 0:
            x = x + sigma * torch.randn(shape, generator=gen, dtype=dtype)
    return x
