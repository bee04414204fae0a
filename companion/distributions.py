"""The probability toolkit of chapter ``ch-toolkit``: Monte Carlo, KL, Jensen, entropy, importance
sampling and the score-function identity. The f-divergences live in :mod:`companion.f_divergences`
and the change of variables in :mod:`companion.change_of_variables`.

Every function accepts NumPy arrays or torch tensors and returns the same kind.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import torch

from .f_divergences import (  # noqa: F401 -- re-exported: their home is companion.f_divergences
    F_GENERATORS,
    FGenerator,
    _conj_js,
    _conj_reverse_kl,
    _densities_on_grid,
    _f_js,
    f_divergence,
    f_divergence_lower_bound,
)
from .utils import moved_names
from .validation import (
    Array,
    ArrayLike,
    array_namespace,
    check_array,
    check_broadcast,
    check_int,
    check_positive,
    check_same_shape,
    is_torch,
)

__all__ = ["mc_estimate", "normal_log_prob", "kl_normal", "kl_monte_carlo", "log_mean_exp",
           "jensen_gap_log", "entropy_normal", "cross_entropy_normal", "kl_mvn",
           "importance_sampling_estimate", "self_normalised_estimate", "effective_sample_size",
           "normal_param_score"]

LOG_2PI = math.log(2.0 * math.pi)


def _check_axis(axis: int, x: Array, name: str) -> int:
    """``axis`` as a valid axis of ``x`` (an error names ``axis``, or ``name`` if ``x`` is 0-d)."""
    if x.ndim == 0:
        raise ValueError(f"{name}: expected at least 1 dimension to reduce over, got a scalar")
    return check_int(axis, "axis", low=-x.ndim, high=x.ndim - 1)


def mc_estimate(values: ArrayLike, axis: int = 0) -> tuple[Array, Array]:
    r"""Monte Carlo estimate of an expectation and its standard error, equation ``eq-mc``.

    .. math:: \hat\mu_n = \frac1n \sum_i f(x_i), \qquad \mathrm{se} = \hat\sigma_n / \sqrt n,

    where :math:`\hat\sigma_n` is the sample standard deviation (with ``n - 1``).

    Args:
        values: ``f(x_i)`` for ``n >= 2`` independent draws, along ``axis``.
        axis: the axis that indexes the draws.

    Returns:
        ``(estimate, standard_error)``, each with ``axis`` removed.

    Example:
        >>> est, se = mc_estimate(np.array([1.0, 2.0, 3.0, 4.0]))
        >>> float(est), round(float(se), 4)
        (2.5, 0.6455)
    """
    values = check_array(values, "values")
    axis = _check_axis(axis, values, "values")
    n = values.shape[axis]
    if n < 2:
        raise ValueError(f"values: expected at least 2 draws along axis {axis}, got {n}")
    if is_torch(values):
        return values.mean(dim=axis), values.std(dim=axis, unbiased=True) / math.sqrt(n)
    return values.mean(axis=axis), values.std(axis=axis, ddof=1) / math.sqrt(n)


def normal_log_prob(x: ArrayLike, mu: ArrayLike, var: ArrayLike) -> Array:
    r"""Log-density of a univariate Gaussian, elementwise (with broadcasting).

    .. math:: \log \mathcal N(x; \mu, \sigma^2) = -\tfrac12\left(\log 2\pi\sigma^2 + (x-\mu)^2/\sigma^2\right)

    Example:
        >>> round(float(normal_log_prob(0.0, 0.0, 1.0)), 6)
        -0.918939
    """
    x, mu = check_array(x, "x"), check_array(mu, "mu")
    var = check_positive(var, "var")
    check_broadcast(x=x, mu=mu, var=var)
    xp = array_namespace(var)
    return -0.5 * (LOG_2PI + xp.log(var) + (x - mu) ** 2 / var)


def kl_normal(mu_q: ArrayLike, var_q: ArrayLike, mu_p: ArrayLike, var_p: ArrayLike) -> Array:
    r"""KL divergence between univariate Gaussians, elementwise, equation ``eq-kl-normal``.

    .. math::
        \KL(\mathcal N(\mu_q, \sigma_q^2) \,\|\, \mathcal N(\mu_p, \sigma_p^2))
        = \log\frac{\sigma_p}{\sigma_q} + \frac{\sigma_q^2 + (\mu_q - \mu_p)^2}{2\sigma_p^2} - \frac12

    Args:
        mu_q, var_q: mean and variance (> 0) of ``q``.
        mu_p, var_p: mean and variance (> 0) of ``p``; all four broadcast together.

    Example:
        >>> float(kl_normal(0.0, 1.0, 0.0, 1.0))
        0.0
        >>> round(float(kl_normal(1.0, 1.0, 0.0, 1.0)), 6)
        0.5
    """
    mu_q, mu_p = check_array(mu_q, "mu_q"), check_array(mu_p, "mu_p")
    var_q, var_p = check_positive(var_q, "var_q"), check_positive(var_p, "var_p")
    check_broadcast(mu_q=mu_q, var_q=var_q, mu_p=mu_p, var_p=var_p)
    xp = array_namespace(var_q)
    return 0.5 * (xp.log(var_p) - xp.log(var_q)) + (var_q + (mu_q - mu_p) ** 2) / (2.0 * var_p) - 0.5


def kl_monte_carlo(log_q: ArrayLike, log_p: ArrayLike) -> tuple[Array, Array]:
    r"""Monte Carlo estimate of :math:`\KL(q\|p) = \E_q[\log q(x) - \log p(x)]` with its standard error.

    Args:
        log_q: ``log q(x_i)`` at draws ``x_i ~ q``, shape ``(n,)``.
        log_p: ``log p(x_i)`` at the same draws, shape ``(n,)``.

    Returns:
        ``(estimate, standard_error)``.
    """
    log_q = check_array(log_q, "log_q", ndim=1)
    log_p = check_array(log_p, "log_p", ndim=1)
    check_same_shape(log_q=log_q, log_p=log_p)
    if log_q.shape[0] < 2:
        raise ValueError(f"log_q and log_p: expected at least 2 draws, got {log_q.shape[0]}")
    return mc_estimate(log_q - log_p)


def log_mean_exp(log_w: ArrayLike, axis: int = -1) -> Array:
    r"""Numerically stable :math:`\log \frac1n \sum_i e^{\ell_i}` along ``axis``.

    Subtracting the maximum first keeps every exponent <= 0, so entries of
    +-1000 do not overflow.

    Example:
        >>> float(log_mean_exp(np.array([1000.0, 1000.0])))
        1000.0
    """
    log_w = check_array(log_w, "log_w")
    axis = _check_axis(axis, log_w, "log_w")
    if is_torch(log_w):
        n = log_w.shape[axis]
        return torch.logsumexp(log_w, dim=axis) - math.log(n)
    m = np.max(log_w, axis=axis, keepdims=True)
    out = np.log(np.mean(np.exp(log_w - m), axis=axis)) + np.squeeze(m, axis=axis)
    return out


def jensen_gap_log(log_w: ArrayLike, axis: int = -1) -> Array:
    r"""The Jensen gap of the logarithm, equation ``eq-jensen-log``.

    .. math:: \log \E[W] - \E[\log W] \;\ge\; 0,

    estimated from draws ``log_w = log W_i`` along ``axis``. It is zero exactly when
    ``W`` is constant; this gap is what separates the ELBO from the log-likelihood.

    Example:
        >>> float(jensen_gap_log(np.log(np.array([2.0, 2.0, 2.0]))))
        0.0
    """
    log_w = check_array(log_w, "log_w")
    axis = _check_axis(axis, log_w, "log_w")
    mean = log_w.mean(dim=axis) if is_torch(log_w) else log_w.mean(axis=axis)
    return log_mean_exp(log_w, axis=axis) - mean


# --------------------------------------------------------------------------- entropy
def entropy_normal(var: ArrayLike) -> Array:
    r"""Differential entropy of a univariate Gaussian, elementwise, equation ``eq-entropy-normal``.

    .. math:: H\big(\mathcal N(\mu, \sigma^2)\big) = -\E[\log \mathcal N(X; \mu, \sigma^2)]
        = \tfrac12 \log(2\pi e \sigma^2)

    It does not depend on the mean.

    Args:
        var: the variance (> 0), any shape.

    Example:
        >>> round(float(entropy_normal(1.0)), 6)
        1.418939
    """
    var = check_positive(var, "var")
    xp = array_namespace(var)
    return 0.5 * (LOG_2PI + 1.0 + xp.log(var))


def cross_entropy_normal(mu_p: ArrayLike, var_p: ArrayLike, mu_q: ArrayLike, var_q: ArrayLike) -> Array:
    r"""Cross-entropy of univariate Gaussians, ``q`` scored under ``p``, equation ``eq-cross-entropy-normal``.

    .. math::
        H(p, q) = -\E_p[\log q(X)]
        = \tfrac12 \log(2\pi\sigma_q^2) + \frac{\sigma_p^2 + (\mu_p - \mu_q)^2}{2\sigma_q^2}
        = H(p) + \KL(p \,\|\, q)

    The expectation is under the first pair, as in :func:`kl_normal` (``eq-cross-entropy``).

    Args:
        mu_p, var_p: mean and variance (> 0) of ``p``, the distribution of ``X``.
        mu_q, var_q: mean and variance (> 0) of ``q``, the model scored; all four broadcast.

    Example:
        >>> round(float(cross_entropy_normal(0.0, 1.0, 0.0, 1.0) - entropy_normal(1.0)), 12)
        0.0
        >>> round(float(cross_entropy_normal(1.0, 1.0, 0.0, 1.0) - entropy_normal(1.0)), 6)
        0.5
    """
    mu_p, mu_q = check_array(mu_p, "mu_p"), check_array(mu_q, "mu_q")
    var_p, var_q = check_positive(var_p, "var_p"), check_positive(var_q, "var_q")
    check_broadcast(mu_p=mu_p, var_p=var_p, mu_q=mu_q, var_q=var_q)
    xp = array_namespace(var_q)
    return 0.5 * (LOG_2PI + xp.log(var_q)) + (var_p + (mu_p - mu_q) ** 2) / (2.0 * var_q)


def _check_mvn(mu: Array, cov: Array, mu_name: str, cov_name: str) -> None:
    """``mu``: (..., d); ``cov``: (..., d, d), symmetric positive definite (errors name the argument)."""
    if mu.ndim < 1:
        raise ValueError(f"{mu_name}: expected shape (..., d), got a scalar")
    d = mu.shape[-1]
    if cov.ndim < 2 or tuple(cov.shape[-2:]) != (d, d):
        raise ValueError(f"{cov_name}: expected shape (..., {d}, {d}) to match {mu_name}, "
                         f"got {tuple(cov.shape)}")
    asym = cov - (cov.transpose(-1, -2) if is_torch(cov) else np.swapaxes(cov, -1, -2))
    xp = array_namespace(cov)
    scale = float(xp.abs(cov).max()) if (cov.numel() if is_torch(cov) else cov.size) else 1.0
    if float(xp.abs(asym).max()) > 1e-10 * max(scale, 1.0):
        raise ValueError(f"{cov_name}: expected a symmetric matrix")
    try:
        torch.linalg.cholesky(cov) if is_torch(cov) else np.linalg.cholesky(cov)
    except (np.linalg.LinAlgError, RuntimeError):
        raise ValueError(f"{cov_name}: expected a positive-definite matrix") from None


def kl_mvn(mu_q: ArrayLike, cov_q: ArrayLike, mu_p: ArrayLike, cov_p: ArrayLike) -> Array:
    r"""KL divergence between multivariate Gaussians with full covariances, equation ``eq-kl-mvn``.

    .. math::
        \KL\big(\mathcal N(\mu_q, \Sigma_q) \,\|\, \mathcal N(\mu_p, \Sigma_p)\big)
        = \tfrac12\Big(\operatorname{tr}(\Sigma_p^{-1}\Sigma_q)
          + (\mu_p - \mu_q)^\top \Sigma_p^{-1} (\mu_p - \mu_q) - d
          + \log\frac{\det\Sigma_p}{\det\Sigma_q}\Big)

    For diagonal covariances it is the sum of :func:`kl_normal` over coordinates
    (``eq-kl-normal``).

    Args:
        mu_q, mu_p: means, shape ``(..., d)``.
        cov_q, cov_p: symmetric positive-definite covariances, shape ``(..., d, d)``.

    Returns:
        Shape ``(...)``: NumPy in, NumPy out; torch in, torch out.

    Example:
        >>> round(float(kl_mvn(np.ones(2), np.eye(2), np.zeros(2), np.eye(2))), 6)
        1.0
    """
    mu_q, mu_p = check_array(mu_q, "mu_q"), check_array(mu_p, "mu_p")
    cov_q, cov_p = check_array(cov_q, "cov_q"), check_array(cov_p, "cov_p")
    _check_mvn(mu_q, cov_q, "mu_q", "cov_q")
    _check_mvn(mu_p, cov_p, "mu_p", "cov_p")
    check_broadcast(mu_q=mu_q, mu_p=mu_p)
    check_broadcast(cov_q=cov_q, cov_p=cov_p)
    lin = torch.linalg if is_torch(cov_p) else np.linalg
    diff = (mu_p - mu_q)[..., None]                                      # (..., d, 1)
    trace = lin.solve(cov_p, cov_q).diagonal(0, -2, -1).sum(-1)          # tr(Sigma_p^{-1} Sigma_q)
    maha = (diff * lin.solve(cov_p, diff)).sum(-1).sum(-1)               # (..., )
    log_det_ratio = lin.slogdet(cov_p)[1] - lin.slogdet(cov_q)[1]
    return 0.5 * (trace + maha - mu_q.shape[-1] + log_det_ratio)


# --------------------------------------------------------------------------- importance sampling
def importance_sampling_estimate(
    f_values: ArrayLike, log_w: ArrayLike, axis: int = 0
) -> tuple[Array, Array]:
    r"""Importance sampling estimate of :math:`\E_p[f(X)]` from draws of ``q``, equation ``eq-is``.

    .. math:: \hat\mu_\text{IS} = \frac1n \sum_i w_i f(x_i), \qquad w_i = \frac{p(x_i)}{q(x_i)},

    unbiased when ``p`` is normalised; the standard error is that of :func:`mc_estimate`
    applied to :math:`w_i f(x_i)`.

    Args:
        f_values: ``f(x_i)`` at draws ``x_i ~ q``, with ``n >= 2`` draws along ``axis``.
        log_w: ``log p(x_i) - log q(x_i)`` with both densities normalised; same shape.
        axis: the axis that indexes the draws.

    Returns:
        ``(estimate, standard_error)``, each with ``axis`` removed.

    Example:
        >>> est, se = importance_sampling_estimate(np.array([1.0, 3.0]), np.log(np.array([0.5, 1.5])))
        >>> float(est)
        2.5
    """
    f_values, log_w = check_array(f_values, "f_values"), check_array(log_w, "log_w")
    check_same_shape(f_values=f_values, log_w=log_w)
    xp = array_namespace(log_w)
    return mc_estimate(xp.exp(log_w) * f_values, axis=axis)


def self_normalised_estimate(
    f_values: ArrayLike, log_w: ArrayLike, axis: int = 0
) -> tuple[Array, Array]:
    r"""Self-normalised importance sampling estimate of :math:`\E_p[f(X)]`, equation ``eq-snis``.

    .. math::
        \hat\mu_\text{SNIS} = \sum_i \bar w_i f(x_i), \qquad
        \bar w_i = \frac{w_i}{\sum_j w_j}, \qquad
        \mathrm{se}^2 = \sum_i \bar w_i^2 \big(f(x_i) - \hat\mu_\text{SNIS}\big)^2 .

    ``p`` need only be known up to a constant, which cancels in :math:`\bar w_i`. The
    estimate is biased, by :math:`O(1/n)`, but consistent; the standard error is the
    delta-method one (Owen, *Monte Carlo theory, methods and examples*, 2013, ch. 9).

    Args:
        f_values: ``f(x_i)`` at draws ``x_i ~ q``, with ``n >= 2`` draws along ``axis``.
        log_w: ``log p(x_i) - log q(x_i)``, up to an additive constant; same shape.
        axis: the axis that indexes the draws.

    Returns:
        ``(estimate, standard_error)``, each with ``axis`` removed.

    Example:
        >>> est, se = self_normalised_estimate(np.array([1.0, 3.0]), np.log(np.array([5.0, 15.0])))
        >>> float(est)
        2.5
    """
    f_values, log_w = check_array(f_values, "f_values"), check_array(log_w, "log_w")
    check_same_shape(f_values=f_values, log_w=log_w)
    axis = _check_axis(axis, log_w, "log_w")
    if log_w.shape[axis] < 2:
        raise ValueError(f"f_values and log_w: expected at least 2 draws along axis {axis}, "
                         f"got {log_w.shape[axis]}")
    if is_torch(log_w):
        w_bar = torch.softmax(log_w, dim=axis)
        f_values = cast(torch.Tensor, f_values)   # the same kind as log_w
        est = (w_bar * f_values).sum(dim=axis)
        se = ((w_bar * (f_values - est.unsqueeze(axis))) ** 2).sum(dim=axis).sqrt()
        return est, se
    w = np.exp(log_w - log_w.max(axis=axis, keepdims=True))
    w_bar = w / w.sum(axis=axis, keepdims=True)
    est = (w_bar * f_values).sum(axis=axis)
    se = np.sqrt(((w_bar * (f_values - np.expand_dims(est, axis))) ** 2).sum(axis=axis))
    return est, se


def effective_sample_size(log_w: ArrayLike, axis: int = 0) -> Array:
    r"""Kish's effective sample size of importance weights, equation ``eq-ess``.

    .. math:: n_\text{eff} = \frac{\big(\sum_i w_i\big)^2}{\sum_i w_i^2} \in [1, n],

    computed from ``log_w`` (up to an additive constant) without overflow.

    Example:
        >>> float(effective_sample_size(np.zeros(8)))
        8.0
        >>> round(float(effective_sample_size(np.array([0.0, -800.0, -900.0]))), 6)
        1.0
    """
    log_w = check_array(log_w, "log_w")
    axis = _check_axis(axis, log_w, "log_w")
    if is_torch(log_w):
        return torch.exp(2 * torch.logsumexp(log_w, dim=axis) - torch.logsumexp(2 * log_w, dim=axis))
    w = np.exp(log_w - log_w.max(axis=axis, keepdims=True))
    return w.sum(axis=axis) ** 2 / (w**2).sum(axis=axis)


# --------------------------------------------------------------------------- the score-function identity
def normal_param_score(x: ArrayLike, mu: ArrayLike, var: ArrayLike) -> tuple[Array, Array]:
    r"""The score of a Gaussian with respect to its parameters, equation ``eq-score-normal``.

    .. math::
        \frac{\partial}{\partial\mu} \log \mathcal N(x; \mu, \sigma^2) = \frac{x - \mu}{\sigma^2},
        \qquad
        \frac{\partial}{\partial\sigma^2} \log \mathcal N(x; \mu, \sigma^2)
        = \frac{(x - \mu)^2 - \sigma^2}{2\sigma^4} .

    Both have mean zero under :math:`x \sim \mathcal N(\mu, \sigma^2)` (``eq-score-zero``).

    Args:
        x, mu, var: points, mean and variance (> 0); they broadcast together.

    Returns:
        ``(d_mu, d_var)``, each of the broadcast shape.

    Example:
        >>> d_mu, d_var = normal_param_score(1.0, 0.0, 1.0)
        >>> float(d_mu), float(d_var)
        (1.0, 0.0)
    """
    x, mu = check_array(x, "x"), check_array(mu, "mu")
    var = check_positive(var, "var")
    check_broadcast(x=x, mu=mu, var=var)
    return (x - mu) / var, ((x - mu) ** 2 - var) / (2.0 * var**2)


# Names whose home moved, still resolved here on first use, so readers' code written against the
# old paths keeps working (companion.change_of_variables imports this module).
_HOMES = {
    "change_of_variables": ("log_prob_change_of_variables_1d",),
}


__getattr__ = moved_names(__name__, _HOMES)
