"""The book's data: generated 2-D sets and scikit-learn's 8x8 digits (shipped with the package).

Nothing is downloaded. Each generator takes a seed (or a ``torch.Generator``) so a chapter draws
the same points on every run.
"""

from __future__ import annotations

import numpy as np
import torch

from .validation import (
    check_int,
    check_scalar,
)

__all__ = ["load_digits01", "make_moons_2d", "sample_two_moons", "sample_checkerboard",
           "ring_centers", "ring_of_gaussians"]


def load_digits01(test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's 8x8 digits (shipped with the package), pixels scaled to ``[0, 1]``.

    Args:
        test_fraction: share of the 1797 images held out, in (0, 1).
        seed: seeds the random split.

    Returns:
        ``(x_train, x_test, y_train, y_test)``: float32 tensors of shape ``(n, 64)`` and
        int64 label tensors.

    Example:
        >>> x_train, x_test, y_train, y_test = load_digits01()
        >>> tuple(x_train.shape), tuple(x_test.shape), float(x_train.max())
        ((1438, 64), (359, 64), 1.0)
    """
    from sklearn.datasets import load_digits

    test_fraction = check_scalar(test_fraction, "test_fraction", low=0.0, high=1.0, closed=(False, False))
    seed = check_int(seed, "seed", low=0)
    digits = load_digits()
    x = torch.as_tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.as_tensor(digits.target, dtype=torch.int64)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(x)))
    test, train = perm[:n_test], perm[n_test:]
    return x[train], x[test], y[train], y[test]


def make_moons_2d(n: int, noise: float = 0.08, seed: int = 0) -> torch.Tensor:
    """The two-moons toy data set, standardised to zero mean and unit variance per axis.

    Args:
        n: number of points (>= 2).
        noise: standard deviation of the Gaussian noise added by scikit-learn (>= 0).
        seed: random seed.

    Returns:
        float32 tensor of shape ``(n, 2)``.

    Example:
        >>> tuple(make_moons_2d(100).shape)
        (100, 2)
    """
    from sklearn.datasets import make_moons

    n = check_int(n, "n", low=2)
    noise = check_scalar(noise, "noise", low=0.0)
    seed = check_int(seed, "seed", low=0)
    x, _ = make_moons(n_samples=n, noise=noise, random_state=seed)
    x = (x - x.mean(0)) / x.std(0)
    return torch.as_tensor(x, dtype=torch.float32)


def _rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(check_int(rng, "rng", low=0))


def sample_two_moons(n: int, *, noise: float = 0.08, rng: np.random.Generator | int = 0) -> np.ndarray:
    """Two interleaved half circles with Gaussian jitter, centred and scaled to about unit spread.

    The upper moon is the half circle of radius 1 around (0, 0), the lower one around
    (1, 0.5) flipped; the points are then shifted by (-0.5, -0.25) and multiplied by 1.5.

    Args:
        n: number of points (>= 1); half on each moon (the first gets the extra one).
        noise: standard deviation (>= 0) of the isotropic Gaussian jitter, before scaling.
        rng: a NumPy ``Generator`` or an integer seed.

    Returns:
        ``x``, shape ``(n, 2)``, float64.

    Example:
        >>> sample_two_moons(4, rng=0).shape
        (4, 2)
    """
    n = check_int(n, "n", low=1)
    noise = check_scalar(noise, "noise", low=0.0)
    rng = _rng(rng)
    n_up = n - n // 2
    t_up, t_low = rng.uniform(0, np.pi, n_up), rng.uniform(0, np.pi, n // 2)
    up = np.stack([np.cos(t_up), np.sin(t_up)], axis=1)
    low = np.stack([1.0 - np.cos(t_low), 0.5 - np.sin(t_low)], axis=1)
    x = np.concatenate([up, low]) + noise * rng.normal(size=(n, 2))
    return 1.5 * (x - np.array([0.5, 0.25]))


def sample_checkerboard(n: int, *, rng: np.random.Generator | int = 0) -> np.ndarray:
    """Uniform samples on the 8 dark squares of a 4 x 4 checkerboard covering [-2, 2]^2.

    The density is 1/8 on the dark squares (unit squares ``[i, i+1) x [j, j+1)`` with
    ``i + j`` even) and 0 elsewhere, so its entropy is exactly ``log 8`` nats: no model
    can have a lower expected negative log-likelihood.

    Args:
        n: number of points (>= 1).
        rng: a NumPy ``Generator`` or an integer seed.

    Returns:
        ``x``, shape ``(n, 2)``, float64.

    Example:
        >>> x = sample_checkerboard(1000, rng=0)
        >>> bool(np.all((np.floor(x[:, 0]) + np.floor(x[:, 1])) % 2 == 0))
        True
    """
    n = check_int(n, "n", low=1)
    rng = _rng(rng)
    x1 = rng.uniform(-2.0, 2.0, n)
    x2 = rng.uniform(0.0, 1.0, n) - 2.0 * rng.integers(0, 2, n)  # in [-2,-1) or [0, 1)
    x2 = x2 + np.floor(x1) % 2  # shift by one row in odd columns
    return np.stack([x1, x2], axis=1)


def ring_centers(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    r"""The ``n_modes`` centres :math:`\mu_k = r(\cos 2\pi k/K, \sin 2\pi k/K)` of the ring.

    Returns:
        ``centers``, shape ``(n_modes, 2)``, float64.

    Example:
        >>> (ring_centers(4, 1.0).round(6) + 0.0).tolist()
        [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]
    """
    n_modes = check_int(n_modes, "n_modes", low=1)
    radius = check_scalar(radius, "radius", low=0.0, closed=(False, True))
    angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_of_gaussians(
    n: int,
    n_modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    r"""Samples from an equal-weight mixture of ``n_modes`` isotropic Gaussians on a circle.

    .. math:: p(x) = \frac1K \sum_{k=1}^K \mathcal N(x;\, \mu_k,\, \sigma^2 I),

    with centres :math:`\mu_k` from :func:`ring_centers`.

    Args:
        n: number of samples (>= 1).
        n_modes: number of modes ``K``.
        radius: radius of the circle of centres.
        std: standard deviation :math:`\sigma` of each mode.
        rng: a NumPy ``Generator`` or a seed.

    Returns:
        ``x``, shape ``(n, 2)``, float64.

    Example:
        >>> x = ring_of_gaussians(1000, rng=0)
        >>> x.shape, bool(abs(np.linalg.norm(x, axis=1).mean() - 2.0) < 0.01)
        ((1000, 2), True)
    """
    n = check_int(n, "n", low=1)
    centers = ring_centers(n_modes, radius)
    std = check_scalar(std, "std", low=0.0, closed=(False, True))
    if not (rng is None or isinstance(rng, np.random.Generator)):
        rng = check_int(rng, "rng", low=0)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    k = rng.integers(0, len(centers), size=n)
    return centers[k] + std * rng.standard_normal((n, 2))
