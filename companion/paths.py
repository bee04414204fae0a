r"""Gaussian probability paths (chapter ``ch-flow-matching``): :math:`x_t = \sigma_t x_0 + \alpha_t x_1`.

Time runs from the source :math:`x_0 \sim \mathcal N(0, I)` at :math:`t = 0` to the data
:math:`x_1` at :math:`t = 1` (Lipman et al., 2023). ``"linear"`` is conditional optimal transport
(:math:`\alpha_t = t,\ \sigma_t = 1 - t`), ``"cosine"`` is variance preserving
(:math:`\alpha_t = \sin\frac{\pi t}{2},\ \sigma_t = \cos\frac{\pi t}{2}`). The coefficients and
their time derivatives are shared by the flow-matching loss, the mixture oracle and the
conversions between parameterisations.
"""

from __future__ import annotations

import math

import torch

from .ode import _check_time, _tensor
from .validation import check_choice, check_same_shape

__all__ = ["PATHS", "path_coefficients", "path_sample"]


#: The Gaussian paths: ``"linear"`` (conditional OT) and ``"cosine"`` (variance preserving).
PATHS = ("linear", "cosine")


def _coefficients(t: torch.Tensor, path: str):
    if path == "linear":
        one = torch.ones_like(t)
        return t, 1.0 - t, one, -one
    half_pi = 0.5 * math.pi
    c, s = torch.cos(half_pi * t), torch.sin(half_pi * t)
    return s, c, half_pi * c, -half_pi * s


def _coef_like(t: torch.Tensor, path: str, like: torch.Tensor):
    """The four coefficients at ``t``, in ``like``'s dtype, shaped ``(batch, 1, ..., 1)``."""
    shape = (t.shape[0], *([1] * (like.ndim - 1)))
    return tuple(c.reshape(shape) for c in _coefficients(t.to(like.device, like.dtype), path))


def path_coefficients(t: torch.Tensor, path: str):
    r"""The path's :math:`(\alpha_t, \sigma_t, \dot\alpha_t, \dot\sigma_t)`, equation ``eq-fm-path``.

    .. math::
        \text{linear: } \alpha_t = t,\ \sigma_t = 1 - t;\qquad
        \text{cosine: } \alpha_t = \sin\tfrac{\pi t}{2},\ \sigma_t = \cos\tfrac{\pi t}{2}.

    Args:
        t: times in :math:`[0, 1]`, shape ``(batch,)``.
        path: ``"linear"`` or ``"cosine"``.

    Returns:
        ``(alpha_t, sigma_t, d_alpha_t, d_sigma_t)``, each of shape ``(batch,)``, in the dtype of ``t``.

    Example:
        >>> a, s, da, ds = path_coefficients(torch.tensor([0.25], dtype=torch.float64), "linear")
        >>> float(a), float(s), float(da), float(ds)
        (0.25, 0.75, 1.0, -1.0)
    """
    t = _check_time(t)
    check_choice(path, "path", PATHS)
    return _coefficients(t, path)


def path_sample(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor, path: str = "linear"):
    r"""The conditional point and velocity, equation ``eq-fm-cond-velocity``.

    .. math::
        x_t = \sigma_t x_0 + \alpha_t x_1,\qquad
        u_t(x_t \mid x_0, x_1) = \dot\sigma_t x_0 + \dot\alpha_t x_1

    Args:
        x0: source draws, shape ``(batch, ...)``.
        x1: data, the shape of ``x0``.
        t: times in :math:`[0, 1]`, shape ``(batch,)``.
        path: ``"linear"`` or ``"cosine"``.

    Returns:
        ``(x_t, u_t)``, each the shape of ``x0``.

    Reference: Lipman et al., *Flow Matching for Generative Modeling*, ICLR 2023.

    Example:
        >>> x_t, u_t = path_sample(torch.zeros(1, 2), torch.ones(1, 2), torch.tensor([0.5]))
        >>> x_t, u_t
        (tensor([[0.5000, 0.5000]]), tensor([[1., 1.]]))
    """
    x0, x1 = _tensor(x0, "x0"), _tensor(x1, "x1")
    check_same_shape(x0=x0, x1=x1)
    t = _check_time(t, x0.shape[0])
    check_choice(path, "path", PATHS)
    return _path_sample(x0, x1, t, path)


def _path_sample(x0, x1, t, path):
    if path == "linear":  # u_t = -1 * x0 + 1 * x1 is x1 - x0, bit for bit: one operation, not three
        tt = t.to(x0.device, x0.dtype).reshape(t.shape[0], *([1] * (x0.ndim - 1)))
        return (1.0 - tt) * x0 + tt * x1, x1 - x0
    a, s, da, ds = _coef_like(t, path, x0)
    return s * x0 + a * x1, ds * x0 + da * x1
