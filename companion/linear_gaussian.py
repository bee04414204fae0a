r"""The linear-Gaussian latent-variable model (chapter ``ch-vae``): everything exact.

With :math:`p(z) = \mathcal N(0, I)` and :math:`p(x \mid z) = \mathcal N(Wz + b, \sigma^2 I)` the
marginal :math:`\log p(x)` and the posterior are Gaussian in closed form, so the ELBO's gap, the
IWAE bound and the beta-VAE optimum (:func:`linear_vae_optimum`, behind the chapter's widget) can
be checked against exact values.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import torch

from .distributions import LOG_2PI
from .vae import _as_tensor, diag_normal_log_prob, kl_normal_std
from .validation import (
    ArrayLike,
    check_array,
    check_int,
    check_positive,
    check_scalar,
    is_torch,
)

__all__ = ["LinearGaussianModel", "linear_vae_optimum"]


class LinearGaussianModel:
    r"""The linear-Gaussian latent model (probabilistic PCA), equation ``eq-linear-gaussian``.

    .. math:: z \sim \mathcal N(0, I_d), \qquad x \mid z \sim \mathcal N(Wz + b, \sigma^2 I_D),

    so that :math:`x \sim \mathcal N(b, WW^\top + \sigma^2 I)` and the posterior is Gaussian
    with covariance :math:`(I + W^\top W/\sigma^2)^{-1}`. All computations are in float64.

    Args:
        W: loading matrix, shape ``(D, d)``.
        b: offset, shape ``(D,)``.
        sigma: observation noise standard deviation (> 0).

    Reference: Tipping and Bishop, *Probabilistic Principal Component Analysis*, 1999.

    Example:
        >>> m = LinearGaussianModel(np.array([[1.0]]), np.zeros(1), 1.0)
        >>> round(float(m.log_prob(np.zeros((1, 1)))[0]), 6)  # N(0; 0, 2)
        -1.265512
    """

    def __init__(self, W: ArrayLike, b: ArrayLike, sigma: float):
        self.W = _as_tensor(W, "W", ndim=2).to(torch.float64)
        self.b = _as_tensor(b, "b", shape=(self.W.shape[0],)).to(torch.float64)
        self.sigma = check_scalar(sigma, "sigma", low=0.0, closed=(False, True))
        self.data_dim, self.latent_dim = self.W.shape

    def _x(self, x: ArrayLike) -> torch.Tensor:
        return _as_tensor(x, "x", shape=(None, self.data_dim)).to(torch.float64)

    def marginal_cov(self) -> torch.Tensor:
        r""":math:`WW^\top + \sigma^2 I`, shape ``(D, D)``."""
        return self.W @ self.W.T + self.sigma**2 * torch.eye(self.data_dim, dtype=torch.float64)

    def log_prob(self, x: ArrayLike) -> torch.Tensor:
        r"""Exact :math:`\log p(x) = \log \mathcal N(x; b, WW^\top + \sigma^2 I)`, shape ``(batch,)``."""
        x = self._x(x)
        L = torch.linalg.cholesky(self.marginal_cov())
        r = torch.linalg.solve_triangular(L, (x - self.b).T, upper=False)  # (D, batch)
        log_det = 2.0 * torch.log(torch.diagonal(L)).sum()
        return -0.5 * (self.data_dim * LOG_2PI + log_det + (r**2).sum(0))

    def posterior(self, x: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Exact posterior :math:`p(z \mid x) = \mathcal N(m, S)`, equation ``eq-lg-posterior``.

        .. math:: S = (I + W^\top W / \sigma^2)^{-1}, \qquad m = S W^\top (x - b) / \sigma^2 .

        Returns:
            ``(mean, cov)``: shapes ``(batch, d)`` and ``(d, d)`` (the covariance does not
            depend on ``x``).
        """
        x = self._x(x)
        precision = torch.eye(self.latent_dim, dtype=torch.float64) + self.W.T @ self.W / self.sigma**2
        cov = torch.linalg.inv(precision)
        mean = (x - self.b) @ self.W @ cov / self.sigma**2  # (batch, d); cov is symmetric
        return mean, cov

    def log_likelihood(self, x: ArrayLike, z: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x \mid z)` for ``z: (n, batch, d)``, returned as ``(n, batch)``."""
        x = self._x(x)
        z = _as_tensor(z, "z", ndim=3)
        mean = z @ self.W.T + self.b  # (n, batch, D)
        log_var = torch.full_like(mean, 2.0 * math.log(self.sigma))
        return cast(torch.Tensor, diag_normal_log_prob(x, mean, log_var))

    def expected_log_likelihood(self, x: ArrayLike, mu: ArrayLike, log_var: ArrayLike) -> torch.Tensor:
        r"""Exact :math:`\E_{q}[\log p(x\mid z)]` for diagonal :math:`q = \mathcal N(\mu, \sigma_q^2)`.

        .. math:: -\frac{1}{2}\Big(D \log 2\pi\sigma^2
            + \frac{\lVert x - W\mu - b\rVert^2 + \sum_{ij} W_{ij}^2 \sigma_{q,j}^2}{\sigma^2}\Big)

        Returns:
            Shape ``(batch,)``.
        """
        x = self._x(x)
        mu = _as_tensor(mu, "mu", shape=(x.shape[0], self.latent_dim)).to(torch.float64)
        log_var = _as_tensor(log_var, "log_var", shape=(x.shape[0], self.latent_dim)).to(torch.float64)
        resid = ((x - mu @ self.W.T - self.b) ** 2).sum(-1)
        spread = torch.exp(log_var) @ (self.W**2).sum(0)  # sum_ij W_ij^2 var_j
        log_norm = self.data_dim * math.log(2 * math.pi * self.sigma**2)
        return -0.5 * (log_norm + (resid + spread) / self.sigma**2)

    def elbo_exact(self, x: ArrayLike, mu: ArrayLike, log_var: ArrayLike, beta: float = 1.0) -> torch.Tensor:
        r"""The ELBO ``eq-elbo`` exactly: :meth:`expected_log_likelihood` minus ``eq-kl-std``.

        With ``beta != 1`` the KL is weighted: the beta-objective ``eq-beta-objective``,
        which is not a lower bound on ``log p(x)`` for ``beta < 1``.
        """
        beta = check_scalar(beta, "beta", low=0.0)
        ell = self.expected_log_likelihood(x, mu, log_var)
        kl = kl_normal_std(_as_tensor(mu, "mu").to(torch.float64),
                           _as_tensor(log_var, "log_var").to(torch.float64))
        return ell - beta * cast(torch.Tensor, kl)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``(x, z)`` from the joint, shapes ``(n, D)`` and ``(n, d)``."""
        n = check_int(n, "n", low=1)
        z = torch.randn(n, self.latent_dim, generator=generator, dtype=torch.float64)
        noise = torch.randn(n, self.data_dim, generator=generator, dtype=torch.float64)
        return z @ self.W.T + self.b + self.sigma * noise, z


def linear_vae_optimum(eigenvalues: ArrayLike, beta: float, obs_var: float,
                       latent_dim: int | None = None) -> dict[str, np.ndarray | float | int]:
    r"""The optimum of the beta-objective ``eq-beta-objective`` for a linear VAE, equation ``eq-linear-vae``.

    For a linear decoder :math:`x = Wz + b + \mathcal N(0, \sigma^2 I)` with fixed
    :math:`\sigma^2` (``obs_var``) and a linear encoder with diagonal covariance, latent
    unit :math:`j` aligns with the :math:`j`-th principal direction (data variance
    :math:`\lambda_j`). It is *active* only if :math:`\lambda_j > \beta\sigma^2`, and then

    .. math:: \text{rate}_j = \tfrac12 \log\frac{\lambda_j}{\beta\sigma^2}, \qquad
        \text{distortion}_j = \beta\sigma^2, \qquad
        \operatorname{Var}_q[z_j] = \frac{\beta\sigma^2}{\lambda_j};

    otherwise :math:`q(z_j \mid x) = p(z_j)` (posterior collapse), rate 0, distortion
    :math:`\lambda_j`. This is reverse water-filling from rate-distortion theory.

    Args:
        eigenvalues: data covariance eigenvalues, shape ``(D,)`` (any order, >= 0).
        beta: KL weight (> 0).
        obs_var: decoder variance :math:`\sigma^2` (> 0).
        latent_dim: number of latent units (``<= D``; default ``D``).

    Returns:
        ``rate_per_unit`` (``(latent_dim,)``), ``active`` (bool, ``(latent_dim,)``),
        ``rate`` and ``distortion`` (expected squared error) per data point,
        ``n_active``, ``expected_log_lik``, ``beta_elbo`` (the optimum of the beta-objective,
        not a bound on the log-likelihood for beta < 1) and ``elbo`` (the same solution
        scored with beta = 1, the ELBO), in nats per data point.

    Reference: Lucas, Tucker, Grosse and Norouzi, *Don't Blame the ELBO! A Linear VAE
    Perspective on Posterior Collapse*, NeurIPS 2019.

    Example:
        >>> out = linear_vae_optimum(np.array([4.0, 1.0]), beta=1.0, obs_var=0.5)
        >>> out["n_active"], round(float(out["rate"]), 4), float(out["distortion"])
        (2, 1.3863, 1.0)
    """
    lam = check_array(eigenvalues, "eigenvalues", ndim=1)
    lam = np.sort(np.asarray(lam.detach().cpu() if is_torch(lam) else lam, dtype=np.float64))[::-1]
    lam = np.where(np.abs(lam) <= 1e-12 * max(lam[0], 1e-300), 0.0, lam)  # round-off of a PSD spectrum
    check_positive(lam, "eigenvalues", strict=False)
    beta = check_scalar(beta, "beta", low=0.0, closed=(False, True))
    obs_var = check_scalar(obs_var, "obs_var", low=0.0, closed=(False, True))
    D = lam.shape[0]
    d = D if latent_dim is None else check_int(latent_dim, "latent_dim", low=1, high=D)
    level = beta * obs_var  # the "water level"
    units = lam[:d]
    active = units > level
    rate_per_unit = np.where(active, 0.5 * np.log(np.maximum(units, level) / level), 0.0)
    distortion = float(np.where(active, level, units).sum() + lam[d:].sum())
    rate = float(rate_per_unit.sum())
    ell = -0.5 * (D * math.log(2 * math.pi * obs_var) + distortion / obs_var)
    return {
        "rate_per_unit": rate_per_unit, "active": active, "n_active": int(active.sum()),
        "rate": rate, "distortion": distortion, "expected_log_lik": ell,
        "beta_elbo": ell - beta * rate, "elbo": ell - rate,
    }
