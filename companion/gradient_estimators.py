r"""Two unbiased estimators of :math:`\nabla_\phi \mathbb E_{q_\phi(z)}[f(z)]` (chapter ``ch-vae``).

The reparameterisation (pathwise) estimator differentiates through :math:`z = \mu + \sigma\epsilon`;
the score-function (REINFORCE) estimator weights :math:`f(z)` by :math:`\nabla_\phi \log q_\phi(z)`.
Both are unbiased; the chapter measures their variances.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch

from .vae import _as_tensor, diag_normal_log_prob, reparameterize
from .validation import (
    ArrayLike,
    check_same_shape,
)

__all__ = ["reparam_gradient", "score_function_gradient"]


def _check_gradient_args(f, mu, log_var, eps) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    mu = _as_tensor(mu, "mu", ndim=1)
    log_var = _as_tensor(log_var, "log_var", ndim=1)
    check_same_shape(mu=mu, log_var=log_var)
    eps = _as_tensor(eps, "eps", ndim=2)
    if eps.shape[1] != mu.shape[0] or eps.shape[0] < 2:
        raise ValueError(f"eps: expected shape (n >= 2, {mu.shape[0]}), got {tuple(eps.shape)}")
    n = eps.shape[0]
    mu_b = mu.detach().expand(n, -1).clone().requires_grad_(True)  # (n, d): one copy per draw
    log_var_b = log_var.detach().expand(n, -1).clone().requires_grad_(True)
    return mu_b, log_var_b, eps


def reparam_gradient(
    f: Callable[[torch.Tensor], torch.Tensor], mu: ArrayLike, log_var: ArrayLike, eps: ArrayLike,
) -> tuple[torch.Tensor, ...]:
    r"""Per-draw reparameterisation gradients of :math:`\E_{z\sim\mathcal N(\mu,\sigma^2)}[f(z)]`.

    Equation ``eq-grad-reparam``: with :math:`z = \mu + \sigma\epsilon`,
    :math:`\nabla_\mu \E[f] = \E_\epsilon[\nabla_z f(z)]` and
    :math:`\partial_{\log\sigma^2} \E[f] = \E_\epsilon[\nabla_z f(z) \odot \tfrac12 \sigma\epsilon]`.

    Args:
        f: ``z: (n, d) -> (n,)``, differentiable.
        mu, log_var: shape ``(d,)``.
        eps: standard normal draws, shape ``(n, d)``, ``n >= 2``.

    Returns:
        ``(grad_mu, grad_log_var)``, each ``(n, d)``: one unbiased estimate per draw;
        average them (e.g. with :func:`companion.distributions.mc_estimate`).

    Example:
        >>> g_mu, _ = reparam_gradient(lambda z: (z**2).sum(-1), torch.tensor([1.0]),
        ...                            torch.tensor([0.0]), torch.tensor([[0.0], [1.0]]))
        >>> g_mu.flatten().tolist()
        [2.0, 4.0]
    """
    mu_b, log_var_b, eps = _check_gradient_args(f, mu, log_var, eps)
    z = cast(torch.Tensor, reparameterize(mu_b, log_var_b, eps.to(mu_b.dtype)))
    return torch.autograd.grad(f(z).sum(), [mu_b, log_var_b])


def score_function_gradient(
    f: Callable[[torch.Tensor], torch.Tensor], mu: ArrayLike, log_var: ArrayLike, eps: ArrayLike,
) -> tuple[torch.Tensor, ...]:
    r"""Per-draw score-function (REINFORCE) gradients of :math:`\E_{z\sim q}[f(z)]`.

    Equation ``eq-grad-score``:
    :math:`\nabla \E_q[f(z)] = \E_q\big[f(z)\, \nabla \log q(z)\big]`, which needs ``f``
    only through its values (no derivative of ``f``).

    Args:
        f, mu, log_var, eps: as in :func:`reparam_gradient`; the draws are
            ``z = mu + sigma * eps``.

    Returns:
        ``(grad_mu, grad_log_var)``, each ``(n, d)``.

    Example:
        >>> g_mu, _ = score_function_gradient(lambda z: (z**2).sum(-1), torch.tensor([1.0]),
        ...                                   torch.tensor([0.0]), torch.tensor([[0.0], [1.0]]))
        >>> g_mu.flatten().tolist()
        [0.0, 4.0]
    """
    mu_b, log_var_b, eps = _check_gradient_args(f, mu, log_var, eps)
    z = cast(torch.Tensor, reparameterize(mu_b, log_var_b, eps.to(mu_b.dtype))).detach()
    with torch.no_grad():
        values = f(z)  # (n,)
    log_q = diag_normal_log_prob(z, mu_b, log_var_b)  # (n,)
    return torch.autograd.grad((values * log_q).sum(), [mu_b, log_var_b])
