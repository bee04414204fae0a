r"""The f-divergences (chapters ``ch-toolkit``, ``ch-gan``): :math:`D_f(p\,\|\,q) = \mathbb E_q[f(p/q)]`.

A convex generator :math:`f` with :math:`f(1) = 0` gives KL, reverse KL, Jensen-Shannon and total
variation (equation ``eq-f-members``); its convex conjugate gives the variational lower bound that
f-GANs maximise (equation ``eq-fenchel``, Nowozin, Cseke and Tomioka, 2016). Densities are given on
a 1-D grid and integrated numerically.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .validation import (
    check_array,
    check_positive,
    is_torch,
)

__all__ = ["F_GENERATORS", "f_divergence", "f_divergence_lower_bound"]


class FGenerator(NamedTuple):
    """A convex generator ``f`` with ``f(1) = 0``, its derivative and its convex conjugate ``f*``."""

    f: Callable[[np.ndarray], np.ndarray]
    f_prime: Callable[[np.ndarray], np.ndarray]
    f_conj: Callable[[np.ndarray], np.ndarray]


def _f_js(t: np.ndarray) -> np.ndarray:
    return 0.5 * (t * np.log(t) - (1.0 + t) * np.log((1.0 + t) / 2.0))


def _conj_reverse_kl(u: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(u < 0, -1.0 - np.log(-u), np.inf)


def _conj_js(u: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(u < 0.5 * math.log(2.0), -0.5 * np.log(2.0 - np.exp(2.0 * u)), np.inf)


#: The generators of ``eq-f-members``, each with ``f'`` and the conjugate ``f*`` of ``eq-fenchel``
#: (Nowozin, Cseke and Tomioka, *f-GAN*, NeurIPS 2016, Table 1; JS here carries the factor 1/2 so
#: that :math:`D_f` is the Jensen-Shannon divergence itself). ``f*`` is ``inf`` outside its domain.
F_GENERATORS: dict[str, FGenerator] = {
    "kl": FGenerator(lambda t: t * np.log(t), lambda t: 1.0 + np.log(t), lambda u: np.exp(u - 1.0)),
    "reverse_kl": FGenerator(lambda t: -np.log(t), lambda t: -1.0 / t, _conj_reverse_kl),
    "js": FGenerator(_f_js, lambda t: 0.5 * np.log(2.0 * t / (1.0 + t)), _conj_js),
    "tv": FGenerator(lambda t: 0.5 * np.abs(t - 1.0), lambda t: 0.5 * np.sign(t - 1.0),
                     lambda u: np.where(np.abs(u) <= 0.5, u, np.inf)),
}


def _densities_on_grid(p, q, grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(grid, p(grid), q(grid))`` after the checks of :func:`f_divergence` (errors name the argument)."""
    grid = check_array(grid, "grid", ndim=1)
    if is_torch(grid):
        raise TypeError("grid: expected a NumPy array, got a torch tensor")
    if grid.size < 3 or not np.all(np.diff(grid) > 0):
        raise ValueError("grid: expected at least 3 strictly increasing points")
    out = []
    for name, density in (("p", p), ("q", q)):
        if not callable(density):
            raise TypeError(f"{name}: expected a callable density, got {type(density).__name__}")
        values = check_array(np.asarray(density(grid), dtype=np.float64), name)
        if values.shape != grid.shape:
            raise ValueError(f"{name}: expected values of shape {grid.shape} like grid, got {values.shape}")
        out.append(values)
    check_positive(out[0], "p", strict=False)
    check_positive(out[1], "q")
    return grid, out[0], out[1]


def f_divergence(
    p: Callable[[np.ndarray], np.ndarray],
    q: Callable[[np.ndarray], np.ndarray],
    f: Callable[[np.ndarray], np.ndarray],
    grid: np.ndarray,
) -> float:
    r"""The f-divergence of 1-D densities by trapezoidal quadrature, equation ``eq-f-div``.

    .. math:: D_f(p \,\|\, q) = \E_q\!\left[f\!\left(\frac{p(X)}{q(X)}\right)\right]
        = \int q(x)\, f\!\left(\frac{p(x)}{q(x)}\right) dx

    Args:
        p, q: densities, callables on NumPy arrays; ``q > 0`` on the grid, ``p >= 0``.
        f: the convex generator with ``f(1) = 0`` (e.g. ``F_GENERATORS["kl"].f``), elementwise.
        grid: strictly increasing points covering the mass of ``p`` and ``q``, shape ``(m,)``.

    Example:
        >>> from scipy.stats import norm
        >>> x = np.linspace(-20.0, 20.0, 4001)
        >>> kl = f_divergence(norm(1, 1).pdf, norm(0, 1).pdf, F_GENERATORS["kl"].f, x)
        >>> round(kl, 6)
        0.5
    """
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    grid, p_x, q_x = _densities_on_grid(p, q, grid)
    ratio = np.maximum(p_x / q_x, np.finfo(np.float64).tiny)   # p = 0 (underflow): f's limit at 0+
    f_ratio = np.asarray(f(ratio), dtype=np.float64)
    if f_ratio.shape != grid.shape:
        raise ValueError(f"f: expected an elementwise map, giving shape {grid.shape}, got {f_ratio.shape}")
    return float(np.trapezoid(q_x * f_ratio, grid))


def f_divergence_lower_bound(
    p: Callable[[np.ndarray], np.ndarray],
    q: Callable[[np.ndarray], np.ndarray],
    t: Callable[[np.ndarray], np.ndarray],
    f_conj: Callable[[np.ndarray], np.ndarray],
    grid: np.ndarray,
) -> float:
    r"""The variational (Fenchel) lower bound on an f-divergence, by quadrature, equation ``eq-fenchel``.

    .. math:: D_f(p \,\|\, q) \;\ge\; \E_p[T(X)] - \E_q[f^*(T(X))]

    for every critic :math:`T` with values in the domain of :math:`f^*`, with equality at
    :math:`T^* = f'(p/q)` (Nguyen, Wainwright and Jordan, 2010; Nowozin et al., 2016).

    Args:
        p, q: densities, callables on NumPy arrays; ``q > 0`` on the grid, ``p >= 0``.
        t: the critic :math:`T`, elementwise.
        f_conj: the conjugate :math:`f^*` (e.g. ``F_GENERATORS["kl"].f_conj``), elementwise.
        grid: strictly increasing points covering the mass of ``p`` and ``q``, shape ``(m,)``.

    Example:
        >>> from scipy.stats import norm
        >>> x = np.linspace(-20.0, 20.0, 4001)
        >>> g = F_GENERATORS["kl"]
        >>> t_star = lambda x: g.f_prime(norm(1, 1).pdf(x) / norm(0, 1).pdf(x))
        >>> round(f_divergence_lower_bound(norm(1, 1).pdf, norm(0, 1).pdf, t_star, g.f_conj, x), 6)
        0.5
    """
    for name, fn in (("t", t), ("f_conj", f_conj)):
        if not callable(fn):
            raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")
    grid, p_x, q_x = _densities_on_grid(p, q, grid)
    t_x = np.asarray(t(grid), dtype=np.float64)
    if t_x.shape != grid.shape:
        raise ValueError(f"t: expected an elementwise map, giving shape {grid.shape}, got {t_x.shape}")
    conj = np.asarray(f_conj(t_x), dtype=np.float64)
    if not np.all(np.isfinite(conj[q_x > 0])):
        raise ValueError("t: takes values outside the domain of f_conj")
    return float(np.trapezoid(p_x * t_x, grid) - np.trapezoid(q_x * conj, grid))
