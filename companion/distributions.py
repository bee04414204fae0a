"""The probability toolkit of chapter ``ch-toolkit``: Monte Carlo, KL, Jensen, change of variables.

Every function accepts NumPy arrays or torch tensors and returns the same kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from .validation import (
    ArrayLike,
    check_array,
    check_broadcast,
    check_int,
    check_positive,
    check_same_shape,
    is_torch,
)

__all__ = [
    "mc_estimate",
    "normal_log_prob",
    "kl_normal",
    "kl_monte_carlo",
    "log_mean_exp",
    "jensen_gap_log",
    "log_prob_change_of_variables_1d",
]

LOG_2PI = math.log(2.0 * math.pi)


def _check_axis(axis: int, x: ArrayLike, name: str) -> int:
    """``axis`` as a valid axis of ``x`` (an error names ``axis``, or ``name`` if ``x`` is 0-d)."""
    if x.ndim == 0:
        raise ValueError(f"{name}: expected at least 1 dimension to reduce over, got a scalar")
    return check_int(axis, "axis", low=-x.ndim, high=x.ndim - 1)


def mc_estimate(values: ArrayLike, axis: int = 0) -> tuple[ArrayLike, ArrayLike]:
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


def normal_log_prob(x: ArrayLike, mu: ArrayLike, var: ArrayLike) -> ArrayLike:
    r"""Log-density of a univariate Gaussian, elementwise (with broadcasting).

    .. math:: \log \mathcal N(x; \mu, \sigma^2) = -\tfrac12\left(\log 2\pi\sigma^2 + (x-\mu)^2/\sigma^2\right)

    Example:
        >>> round(float(normal_log_prob(0.0, 0.0, 1.0)), 6)
        -0.918939
    """
    x, mu = check_array(x, "x"), check_array(mu, "mu")
    var = check_positive(var, "var")
    check_broadcast(x=x, mu=mu, var=var)
    log = torch.log if is_torch(var) else np.log
    return -0.5 * (LOG_2PI + log(var) + (x - mu) ** 2 / var)


def kl_normal(mu_q: ArrayLike, var_q: ArrayLike, mu_p: ArrayLike, var_p: ArrayLike) -> ArrayLike:
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
    log = torch.log if is_torch(var_q) else np.log
    return 0.5 * (log(var_p) - log(var_q)) + (var_q + (mu_q - mu_p) ** 2) / (2.0 * var_p) - 0.5


def kl_monte_carlo(log_q: ArrayLike, log_p: ArrayLike) -> tuple[ArrayLike, ArrayLike]:
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


def log_mean_exp(log_w: ArrayLike, axis: int = -1) -> ArrayLike:
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


def jensen_gap_log(log_w: ArrayLike, axis: int = -1) -> ArrayLike:
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


def log_prob_change_of_variables_1d(
    y: ArrayLike,
    inverse: Callable[[ArrayLike], ArrayLike],
    log_abs_dinverse: Callable[[ArrayLike], ArrayLike],
    base_log_prob: Callable[[ArrayLike], ArrayLike],
) -> ArrayLike:
    r"""Log-density of :math:`Y = f(X)` for an invertible ``f``, equation ``eq-cov-1d``.

    .. math:: \log p_Y(y) = \log p_X\big(f^{-1}(y)\big) + \log\left|\frac{d f^{-1}}{dy}(y)\right|

    As in the flows chapter, :math:`f` maps the simple variable to the data and
    :math:`f^{-1}` maps back; only :math:`f^{-1}` is needed.

    Args:
        y: points at which to evaluate the density, any shape.
        inverse: :math:`f^{-1}`, elementwise.
        log_abs_dinverse: :math:`\log|d f^{-1}/dy|`, elementwise.
        base_log_prob: :math:`\log p_X`, elementwise.

    Example (``Y = exp(X)`` with ``X ~ N(0, 1)`` is log-normal):
        >>> lp = log_prob_change_of_variables_1d(
        ...     np.array([1.0]), np.log, lambda y: -np.log(y),
        ...     lambda x: normal_log_prob(x, 0.0, 1.0))
        >>> round(float(lp[0]), 6)
        -0.918939
    """
    y = check_array(y, "y")
    for fname, f in (("inverse", inverse), ("log_abs_dinverse", log_abs_dinverse),
                     ("base_log_prob", base_log_prob)):
        if not callable(f):
            raise TypeError(f"{fname}: expected a callable, got {type(f).__name__}")
    x = inverse(y)
    for fname, value in (("inverse", x), ("log_abs_dinverse", log_abs_dinverse(y))):
        if tuple(np.shape(value)) != tuple(np.shape(y)):
            raise ValueError(f"{fname}: expected an elementwise map, giving shape {tuple(np.shape(y))} "
                             f"like y, got {tuple(np.shape(value))}")
        if bool((torch.isnan(value) if is_torch(value) else np.isnan(value)).any()):
            raise ValueError(f"{fname}: returned NaN; is y outside the domain of inverse?")
    return base_log_prob(x) + value

