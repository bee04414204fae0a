r"""The change of variables (chapters ``ch-toolkit``, ``ch-flows``): the density of an invertible map.

If :math:`x = f(z)` with :math:`f` invertible and differentiable, then
:math:`\log p_x(x) = \log p_z(f^{-1}(x)) + \log\lvert\det \partial f^{-1}/\partial x\rvert`
(equations ``eq-cov-1d`` and ``eq-cov-nd``), the identity every normalizing flow is built on.
"""

from __future__ import annotations

import math  # noqa: F401 -- used by the doctests
from collections.abc import Callable
from typing import cast

import numpy as np
import torch

from .distributions import normal_log_prob
from .validation import (
    Array,
    ArrayLike,
    check_array,
    is_torch,
)

__all__ = ["log_prob_change_of_variables_1d", "standard_normal_log_prob",
           "log_prob_change_of_variables", "log_abs_det_jacobian"]


def log_prob_change_of_variables_1d(
    y: ArrayLike,
    inverse: Callable[[Array], Array],
    log_abs_dinverse: Callable[[Array], Array],
    base_log_prob: Callable[[Array], Array],
) -> Array:
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


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    r"""Log-density of :math:`\mathcal N(0, I)` in ``dim`` dimensions, summed over the last axis.

    .. math:: \log p_Z(z) = -\tfrac12 \lVert z\rVert^2 - \tfrac{d}{2}\log 2\pi

    Args:
        z: shape ``(batch, dim)``.

    Returns:
        shape ``(batch,)``.

    Example:
        >>> round(float(standard_normal_log_prob(torch.zeros(1, 2))[0]), 6)
        -1.837877
    """
    z = check_array(z, "z", ndim=2)
    if not is_torch(z):
        raise TypeError(f"z: expected a torch tensor, got {type(z).__name__}")
    return cast(torch.Tensor, normal_log_prob(z, z.new_zeros(()), z.new_ones(()))).sum(dim=-1)


def log_prob_change_of_variables(
    x: torch.Tensor,
    inverse: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    base_log_prob: Callable[[torch.Tensor], torch.Tensor] = standard_normal_log_prob,
) -> torch.Tensor:
    r"""Log-density of :math:`X = f(Z)` for an invertible ``f`` in ``dim`` dimensions, equation ``eq-cov-nd``.

    .. math::
        \log p_X(x) = \log p_Z\big(f^{-1}(x)\big)
        + \log\left|\det \frac{\partial f^{-1}}{\partial x}(x)\right|

    The one-dimensional case is
    :func:`log_prob_change_of_variables_1d` (equation ``eq-cov-1d``).

    Args:
        x: points, shape ``(batch, dim)``.
        inverse: ``x -> (z, log_det)`` with ``z = f^{-1}(x)`` of shape ``(batch, dim)``
            and ``log_det`` of shape ``(batch,)`` the log-determinant of the inverse map
            (every layer's and :class:`Flow`'s ``inverse`` has this signature).
        base_log_prob: ``z -> log p_Z(z)``, shape ``(batch,)``; standard normal by default.

    Returns:
        ``log p_X(x)``, shape ``(batch,)``.

    Example (``x = 2 z + 1`` in 2-D: ``log p_X(x) = log N(x; 1, 4 I)``):
        >>> x = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
        >>> lp = log_prob_change_of_variables(
        ...     x, lambda x: ((x - 1) / 2, torch.full((x.shape[0],), -2 * math.log(2.0), dtype=x.dtype)))
        >>> round(float(lp[0]), 6), round(-math.log(2 * math.pi * 4), 6)
        (-3.224171, -3.224171)
    """
    x = check_array(x, "x", ndim=2)
    for fname, f in (("inverse", inverse), ("base_log_prob", base_log_prob)):
        if not callable(f):
            raise TypeError(f"{fname}: expected a callable, got {type(f).__name__}")
    z, log_det = inverse(x)
    if tuple(z.shape) != tuple(x.shape) or tuple(log_det.shape) != (x.shape[0],):
        raise ValueError(f"inverse: expected (z, log_det) of shapes {tuple(x.shape)} and ({x.shape[0]},), "
                         f"got {tuple(z.shape)} and {tuple(log_det.shape)}")
    if not (bool(torch.isfinite(z).all()) and bool(torch.isfinite(log_det).all())):
        raise ValueError("inverse: returned NaN or infinite values; is x outside its domain?")
    return base_log_prob(z) + log_det


def log_abs_det_jacobian(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    r"""Reference :math:`\log|\det \partial\, \mathrm{fn}(x) / \partial x|` from the full autograd Jacobian.

    Costs ``dim`` backward passes per point plus an LU factorisation
    (``torch.linalg.slogdet``): the :math:`O(d^3)` computation that coupling layers avoid.
    Used to check structured log-determinants (equation ``eq-coupling-logdet``).

    Args:
        fn: maps one point of shape ``(dim,)`` to ``(dim,)`` (wrap a batched map with
            ``lambda v: f(v[None])[0][0]``).
        x: points, shape ``(batch, dim)``.

    Returns:
        shape ``(batch,)``.

    Example:
        >>> A = torch.tensor([[2.0, 1.0], [0.0, 3.0]], dtype=torch.float64)
        >>> round(float(log_abs_det_jacobian(lambda v: A @ v, torch.zeros(1, 2, dtype=torch.float64))[0]), 6)
        1.791759
    """
    x = check_array(x, "x", ndim=2)
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
    out = []
    for xi in x:
        jac = torch.autograd.functional.jacobian(fn, xi)  # (dim, dim)
        if tuple(jac.shape) != (x.shape[1], x.shape[1]):
            raise ValueError(f"fn: expected to map shape ({x.shape[1]},) to ({x.shape[1]},), "
                             f"got a Jacobian of shape {tuple(jac.shape)}")
        out.append(torch.linalg.slogdet(jac).logabsdet)
    return torch.stack(out)
