r"""Monotone rational-quadratic splines (chapter ``ch-flows``), the transform of neural spline flows.

Durkan et al. (2019): on :math:`[-B, B]` a strictly increasing piecewise rational-quadratic map
with ``K`` bins, given by bin widths, heights and the slopes at the knots; the identity outside.
It is invertible in closed form (a quadratic per bin) and its log-derivative is exact.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .validation import check_array, check_scalar

__all__ = ["rational_quadratic_spline"]


def rational_quadratic_spline(
    x: torch.Tensor,
    widths: torch.Tensor,
    heights: torch.Tensor,
    derivatives: torch.Tensor,
    *,
    bound: float = 3.0,
    inverse: bool = False,
    min_bin: float = 1e-3,
    min_derivative: float = 1e-3,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Monotone rational-quadratic spline of Durkan et al. (2019), elementwise, equation ``eq-rq-spline``.

    On ``[-bound, bound]`` the map passes through ``K + 1`` knots
    :math:`(x^{(k)}, y^{(k)})` with slopes :math:`\delta^{(k)} > 0`; outside it is the
    identity (slopes 1 at both ends, so the map is continuous with a continuous
    derivative). In bin ``k``, with :math:`\xi = (x - x^{(k)})/w_k`, :math:`s_k = h_k / w_k`:

    .. math::
        y = y^{(k)} + \frac{h_k\,[s_k \xi^2 + \delta^{(k)}\xi(1-\xi)]}
                         {s_k + [\delta^{(k+1)} + \delta^{(k)} - 2 s_k]\,\xi(1-\xi)},
        \qquad
        \frac{dy}{dx} = \frac{s_k^2 [\delta^{(k+1)}\xi^2 + 2 s_k \xi(1-\xi) + \delta^{(k)}(1-\xi)^2]}
                            {\big(s_k + [\delta^{(k+1)} + \delta^{(k)} - 2 s_k]\,\xi(1-\xi)\big)^2}.

    The inverse solves a quadratic in :math:`\xi` in closed form.

    Args:
        x: inputs, any shape ``(...)`` (outputs if ``inverse``).
        widths, heights: unnormalised bin sizes, shape ``(..., K)``; a softmax makes them
            positive and sum to ``2 * bound``.
        derivatives: unnormalised interior slopes, shape ``(..., K - 1)``; a softplus
            makes them positive.
        bound: half-width of the interval where the spline acts (> 0).
        inverse: evaluate the inverse map instead.
        min_bin, min_derivative: floors on the relative bin size and the slopes.

    Returns:
        ``(y, log_abs_det)``, both shape ``(...)``: the output and :math:`\log|dy/dx|`
        (for ``inverse``, :math:`\log|dx/dy|` of the inverse map).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.linspace(-4, 4, 9, dtype=torch.float64)
        >>> w, h, d = (torch.randn(9, k, generator=g, dtype=torch.float64) for k in (5, 5, 4))
        >>> y, ld = rational_quadratic_spline(x, w, h, d)
        >>> x_back, ld_inv = rational_quadratic_spline(y, w, h, d, inverse=True)
        >>> bool(torch.allclose(x_back, x, atol=1e-12)), bool(torch.allclose(ld, -ld_inv, atol=1e-12))
        (True, True)
        >>> float(y[0]), float(y[-1])  # identity outside [-3, 3]
        (-4.0, 4.0)
    """
    x = check_array(x, "x")
    widths, heights = check_array(widths, "widths"), check_array(heights, "heights")
    derivatives = check_array(derivatives, "derivatives")
    bound = check_scalar(bound, "bound", low=0.0, closed=(False, True))
    min_bin = check_scalar(min_bin, "min_bin", low=0.0, closed=(False, True))
    min_derivative = check_scalar(min_derivative, "min_derivative", low=0.0, closed=(False, True))
    n_bins = widths.shape[-1]
    if widths.shape != (*x.shape, n_bins) or heights.shape != widths.shape:
        raise ValueError(f"widths, heights: expected shape {(*x.shape, 'K')} each, "
                         f"got {tuple(widths.shape)} and {tuple(heights.shape)}")
    if derivatives.shape != (*x.shape, n_bins - 1):
        raise ValueError(f"derivatives: expected shape {(*x.shape, n_bins - 1)}, "
                         f"got {tuple(derivatives.shape)}")
    if not 0 < min_bin * n_bins < 1:
        raise ValueError(f"min_bin: expected 0 < min_bin * K < 1, got {min_bin} with K = {n_bins}")
    return _rq_spline(x, widths, heights, derivatives, bound, inverse, min_bin, min_derivative)


def _rq_spline(x: torch.Tensor, widths: torch.Tensor, heights: torch.Tensor, derivatives: torch.Tensor,
               bound: float, inverse: bool, min_bin: float, min_derivative: float,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernel of :func:`rational_quadratic_spline`, for arguments already checked (a
    :class:`companion.flows.SplineCoupling` checks its input once, its settings when built)."""
    n_bins = widths.shape[-1]

    def knots(raw):  # (..., K) -> positions (..., K + 1) from -bound to bound, sizes (..., K)
        frac = min_bin + (1 - min_bin * n_bins) * torch.softmax(raw, dim=-1)
        pos = F.pad(torch.cumsum(frac, dim=-1), (1, 0))
        pos = 2 * bound * pos - bound
        pos = torch.cat([torch.full_like(pos[..., :1], -bound), pos[..., 1:-1],
                         torch.full_like(pos[..., :1], bound)], dim=-1)
        return pos, pos[..., 1:] - pos[..., :-1]

    xs, w = knots(widths)
    ys, h = knots(heights)
    delta = min_derivative + F.softplus(derivatives)
    delta = F.pad(delta, (1, 1), value=1.0)  # slope 1 at both ends: matches the identity tails

    inside = (x >= -bound) & (x <= bound)
    xc = x.clamp(-bound, bound)
    knots_in = ys if inverse else xs
    k = (torch.sum(xc[..., None] >= knots_in[..., :-1], dim=-1) - 1).clamp(0, n_bins - 1)[..., None]

    def pick(t):
        return t.gather(-1, k)[..., 0]

    xk, yk, wk, hk = pick(xs), pick(ys), pick(w), pick(h)
    dk, dk1 = pick(delta[..., :-1]), pick(delta[..., 1:])
    sk = hk / wk
    curv = dk1 + dk - 2 * sk
    if inverse:
        dy = xc - yk
        a = hk * (sk - dk) + dy * curv
        b = hk * dk - dy * curv
        c = -sk * dy
        disc = (b**2 - 4 * a * c).clamp_min(0.0)
        xi = (2 * c / (-b - torch.sqrt(disc))).clamp(0.0, 1.0)
        out = xi * wk + xk
    else:
        xi = (xc - xk) / wk
        out = yk + hk * (sk * xi**2 + dk * xi * (1 - xi)) / (sk + curv * xi * (1 - xi))
    tt = xi * (1 - xi)
    log_deriv = (2 * torch.log(sk) + torch.log(dk1 * xi**2 + 2 * sk * tt + dk * (1 - xi) ** 2)
                 - 2 * torch.log(sk + curv * tt))
    if inverse:
        log_deriv = -log_deriv
    y = torch.where(inside, out, x)
    return y, torch.where(inside, log_deriv, torch.zeros_like(log_deriv))
