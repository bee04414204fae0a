"""Two-sample statistics: how far apart are two sets of samples?

Used to score generated samples against held-out data, in any chapter. Both
statistics are zero in expectation (MMD) or exactly (energy distance of a set with
itself) when the two samples come from one distribution.
"""

from __future__ import annotations

import numpy as np
import torch

from .validation import ArrayLike, check_array, check_scalar

__all__ = ["mmd_rbf", "energy_distance"]


def _as_2d_float64(x: ArrayLike, name: str) -> torch.Tensor:
    x = check_array(x, name, ndim=(1, 2))
    x = x.detach().to("cpu", torch.float64) if isinstance(x, torch.Tensor) else torch.from_numpy(
        np.asarray(x, dtype=np.float64))
    return x[:, None] if x.ndim == 1 else x                                        # (n, d)


def _check_pair(x: ArrayLike, y: ArrayLike, min_n: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _as_2d_float64(x, "x"), _as_2d_float64(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y: expected the same dimension, got {x.shape[1]} and {y.shape[1]}")
    for name, a in (("x", x), ("y", y)):
        if a.shape[0] < min_n:
            raise ValueError(f"{name}: expected at least {min_n} samples, got {a.shape[0]}")
    return x, y


def mmd_rbf(x: ArrayLike, y: ArrayLike, bandwidth: float) -> float:
    r"""Unbiased estimate of the squared maximum mean discrepancy with a Gaussian kernel.

    .. math::
        \widehat{\mathrm{MMD}}^2_u = \frac{1}{m(m-1)}\sum_{i \ne j} k(x_i, x_j)
        + \frac{1}{n(n-1)}\sum_{i \ne j} k(y_i, y_j) - \frac{2}{mn}\sum_{i, j} k(x_i, y_j),
        \qquad k(a, b) = \exp\!\Big(-\frac{\|a - b\|^2}{2 h^2}\Big)

    (Gretton et al., 2012). Unbiased, so it can be slightly negative when the two
    samples come from the same distribution.

    Args:
        x: samples, shape ``(m, d)`` (or ``(m,)`` for ``d = 1``), ``m >= 2``.
        y: samples, shape ``(n, d)`` (or ``(n,)``), ``n >= 2``.
        bandwidth: the kernel width ``h`` (> 0).

    Returns:
        the estimate, a Python float.

    Example:
        >>> round(mmd_rbf(np.array([0.0, 1.0]), np.array([0.0, 1.0]), 1.0), 6)
        -0.393469
    """
    x, y = _check_pair(x, y, min_n=2)
    h = check_scalar(bandwidth, "bandwidth", low=0.0, closed=(False, True))
    m, n = x.shape[0], y.shape[0]

    def gram(a, b):
        return torch.exp(-torch.cdist(a, b).pow(2) / (2.0 * h * h))               # (len(a), len(b))

    kxx, kyy, kxy = gram(x, x), gram(y, y), gram(x, y)
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(term_x + term_y - 2.0 * kxy.mean())


def energy_distance(x: ArrayLike, y: ArrayLike) -> float:
    r"""The (squared) energy distance between two samples, a V-statistic.

    .. math::
        \hat{\mathcal E}(x, y) = \frac{2}{mn}\sum_{i,j}\|x_i - y_j\|
        - \frac{1}{m^2}\sum_{i,j}\|x_i - x_j\| - \frac{1}{n^2}\sum_{i,j}\|y_i - y_j\|

    (Székely & Rizzo, 2013). It is >= 0, and 0 exactly when the two samples have the same
    empirical distribution (``[0, 1]`` and ``[0, 0, 1, 1]`` give 0). In one dimension it equals the square of
    ``scipy.stats.energy_distance``.

    Args:
        x: samples, shape ``(m, d)`` (or ``(m,)``).
        y: samples, shape ``(n, d)`` (or ``(n,)``).

    Returns:
        the statistic, a Python float.

    Example:
        >>> energy_distance(np.array([0.0]), np.array([1.0]))
        2.0
    """
    x, y = _check_pair(x, y, min_n=1)
    dxy = torch.cdist(x, y).mean()
    dxx = torch.cdist(x, x).mean()
    dyy = torch.cdist(y, y).mean()
    return max(float(2.0 * dxy - dxx - dyy), 0.0)
