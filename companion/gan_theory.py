r"""What the GAN generator really follows, and why simultaneous gradient play circles (chapter ``ch-gan``).

Two pieces of theory behind the GAN chapter, kept apart from :mod:`companion.gan` (the
game, its losses and training), which re-exports them:

- the objective whose gradient the *non-saturating* generator follows when the
  discriminator is optimal, :math:`\KL(p_g\,\|\,p_{\text{data}}) - 2\JS(p_g\,\|\,p_{\text{data}})`
  (Arjovsky & Bottou, 2017), on densities tabulated on a 1-D grid (spacing ``dx``,
  integrals as Riemann sums, as in :mod:`companion.gan`);
- the Dirac GAN of Mescheder et al. (2018): data :math:`\delta_0`, generator
  :math:`\delta_\theta`, linear discriminator :math:`D_\psi(x) = \psi x`; its gradient
  vector field, Jacobian, linearised update maps and simulated trajectories (the widget that
  shows them is in :mod:`companion.views.gan`).

The Dirac GAN follows the paper's sign convention, :math:`L(\theta, \psi) = f(\psi\theta) + f(0)`
with :math:`f(t) = -\log(1 + e^{-t})`; the book's value function ``eq-gan-value`` is the same
game with the logit :math:`l = -\psi x`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .utils import moved_names
from .validation import (
    Array,
    ArrayLike,
    check_array,
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    check_same_shape,
    check_scalar,
    is_torch,
)

__all__ = ["nonsaturating_objective_at_optimum", "dirac_gan_vector_field", "dirac_gan_jacobian",
           "dirac_gan_step_matrix", "dirac_gan_simulate", "optimal_discriminator", "gan_value",
           "js_divergence"]

DIRAC_METHODS = ("simultaneous", "alternating")


# --------------------------------------------------------------------------- the non-saturating objective


def _xlogy(a: Array, b: Array) -> Array:
    """``a log b`` with ``0 log b = 0`` (NumPy or torch, differentiable in torch)."""
    if is_torch(a) and is_torch(b):
        return torch.xlogy(a, b)
    from scipy.special import xlogy

    return xlogy(a, b)


def _grid_density(p: ArrayLike, name: str, dx: float, tol: float) -> Array:
    p = check_array(p, name, ndim=1)
    if not is_torch(p):
        p = np.asarray(p, dtype=np.float64)
    check_positive(p, name, strict=False)
    mass = float(p.detach().sum() if is_torch(p) else p.sum()) * dx
    if abs(mass - 1.0) > tol:
        raise ValueError(f"{name}: expected a density that integrates to 1 within {tol}, got {mass:.6g}")
    return p


def nonsaturating_objective_at_optimum(
    p_data: ArrayLike, p_g: ArrayLike, dx: float, tol: float = 1e-3
) -> torch.Tensor | float:
    r"""The objective the non-saturating generator descends at :math:`D^*`, equation ``eq-ns-objective``.

    .. math::
        F(p_g) = \KL(p_g \,\|\, p_{\text{data}}) - 2 \JS(p_g \,\|\, p_{\text{data}}),

    with both divergences in nats by Riemann sums on the grid. The gradient of the
    non-saturating loss :math:`-\E_{p_g}[\log D^*]`, with :math:`D^*` held fixed, equals
    the gradient of :math:`F` (equation ``eq-ns-gradient``; Arjovsky & Bottou, 2017,
    Theorem 2.5); the *values* differ by :math:`\log 4 + \E_{p_{\text{data}}}[\log D^*]`
    (equation ``eq-ns-identity``). :math:`F` is :math:`+\infty` where :math:`p_g` has mass
    on which :math:`p_{\text{data}}` vanishes.

    Args:
        p_data, p_g: densities on a grid of spacing ``dx``, shape ``(n,)``, >= 0, each
            integrating to 1 within ``tol``. Torch tensors give a tensor that is
            differentiable in ``p_g`` (and ``p_data``).
        dx: grid spacing (> 0).
        tol: tolerance on each density's total mass.

    Returns:
        :math:`F`, a float (a 0-d tensor for tensor input).

    Example:
        >>> x = np.linspace(-10, 10, 20001); dx = x[1] - x[0]
        >>> p = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)
        >>> round(nonsaturating_objective_at_optimum(p, p, dx), 9) + 0.0    # p_g = p_data: F = 0
        0.0
    """
    dx = check_scalar(dx, "dx", low=0.0, closed=(False, True))
    tol = check_scalar(tol, "tol", low=0.0, closed=(False, True))
    p_data = _grid_density(p_data, "p_data", dx, tol)
    p_g = _grid_density(p_g, "p_g", dx, tol)
    check_same_shape(p_data=p_data, p_g=p_g)
    if is_torch(p_data) != is_torch(p_g):
        raise TypeError("p_data and p_g: expected both NumPy arrays or both torch tensors")
    m = 0.5 * (p_data + p_g)
    kl_g_data = (_xlogy(p_g, p_g) - _xlogy(p_g, p_data)).sum() * dx
    kl_g_m = (_xlogy(p_g, p_g) - _xlogy(p_g, m)).sum() * dx
    kl_data_m = (_xlogy(p_data, p_data) - _xlogy(p_data, m)).sum() * dx
    js = 0.5 * kl_g_m + 0.5 * kl_data_m
    out = kl_g_data - 2.0 * js
    return out if is_torch(out) else float(out)


# --------------------------------------------------------------------------- the Dirac GAN


def _f1(t: float) -> float:
    """f'(t) = sigma(-t) = 1 / (1 + e^t), for f(t) = -log(1 + e^{-t}); stable for any t."""
    if t >= 0.0:
        e = math.exp(-t)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(t))


def _f2(t: float) -> float:
    """f''(t) = -sigma(t) sigma(-t)."""
    s = _f1(t)
    return -s * (1.0 - s)


#: f'(0): the slope of f(t) = -log(1 + e^{-t}) at the equilibrium.
_A = 0.5


def _point(theta: float, psi: float, gamma: float) -> tuple[float, float, float]:
    return (check_scalar(theta, "theta"), check_scalar(psi, "psi"), check_scalar(gamma, "gamma", low=0.0))


def dirac_gan_vector_field(theta: float, psi: float, gamma: float = 0.0) -> np.ndarray:
    r"""The gradient vector field of the Dirac GAN, equation ``eq-dirac-field``.

    .. math::
        v(\theta, \psi) = \begin{pmatrix} -\partial_\theta L \\ \partial_\psi L - \gamma \psi \end{pmatrix}
        = \begin{pmatrix} -\psi f'(\theta\psi) \\ \theta f'(\theta\psi) - \gamma\psi \end{pmatrix},
        \qquad L(\theta, \psi) = f(\theta\psi) + f(0),\quad f(t) = -\log(1 + e^{-t}),

    the generator descending :math:`L`, the discriminator ascending :math:`L` minus the
    R1 gradient penalty :math:`\tfrac\gamma2 \E_{p_{\text{data}}}\|\nabla_x D_\psi\|^2 = \tfrac\gamma2\psi^2`
    (Mescheder et al., 2018).

    Args:
        theta: the generator's point :math:`\theta` (its distribution is :math:`\delta_\theta`).
        psi: the discriminator's slope :math:`\psi`.
        gamma: weight of the R1 penalty (>= 0).

    Returns:
        ``v``, shape ``(2,)``: the rates of change of ``(theta, psi)``.

    Example:
        >>> (dirac_gan_vector_field(1.0, 0.0) + 0.0).tolist()      # f'(0) = 1/2
        [0.0, 0.5]
    """
    theta, psi, gamma = _point(theta, psi, gamma)
    a = _f1(theta * psi)
    return np.array([-psi * a, theta * a - gamma * psi])


def dirac_gan_jacobian(theta: float = 0.0, psi: float = 0.0, gamma: float = 0.0) -> np.ndarray:
    r"""The Jacobian of the Dirac GAN's vector field, equation ``eq-dirac-jacobian`` at the equilibrium.

    .. math::
        \frac{\partial v}{\partial(\theta, \psi)} =
        \begin{pmatrix} -\psi^2 f''(\theta\psi) & -f'(\theta\psi) - \theta\psi f''(\theta\psi) \\
                        f'(\theta\psi) + \theta\psi f''(\theta\psi) & \theta^2 f''(\theta\psi) - \gamma
        \end{pmatrix},
        \qquad
        J(0, 0) = \begin{pmatrix} 0 & -f'(0) \\ f'(0) & -\gamma \end{pmatrix},

    with :math:`f'(t) = 1/(1 + e^t)` and :math:`f''(t) = -f'(t)(1 - f'(t))`. At the
    equilibrium its eigenvalues are :math:`-\gamma/2 \pm \sqrt{\gamma^2/4 - f'(0)^2}`:
    :math:`\pm i f'(0)` without the penalty.

    Args:
        theta, psi: the point (default: the equilibrium ``(0, 0)``).
        gamma: weight of the R1 penalty (>= 0).

    Returns:
        ``J``, shape ``(2, 2)``, rows ``(v_theta, v_psi)``, columns ``(theta, psi)``.

    Example:
        >>> (dirac_gan_jacobian() + 0.0).tolist()          # eigenvalues +-i/2
        [[0.0, -0.5], [0.5, 0.0]]
    """
    theta, psi, gamma = _point(theta, psi, gamma)
    t = theta * psi
    a, b = _f1(t), _f2(t)
    return np.array([[-psi * psi * b, -a - t * b],
                     [a + t * b, theta * theta * b - gamma]])


def dirac_gan_step_matrix(lr: float, method: str = "simultaneous", gamma: float = 0.0) -> np.ndarray:
    r"""The linearised update map of one training step at the equilibrium, equation ``eq-dirac-maps``.

    .. math::
        M_{\text{sim}} = I + h J(0, 0) = \begin{pmatrix} 1 & -ha \\ ha & 1 - h\gamma \end{pmatrix},
        \qquad
        M_{\text{alt}} = \begin{pmatrix} 1 & -ha \\ ha & 1 - h\gamma - h^2 a^2 \end{pmatrix},

    with :math:`a = f'(0) = 1/2` and learning rate :math:`h`; the alternating step updates
    :math:`\theta` first and then :math:`\psi` at the new :math:`\theta`. Near the
    equilibrium, :math:`k` steps multiply :math:`(\theta, \psi)` by :math:`M^k`; over many steps the
    distance grows or shrinks by a factor of the spectral radius of :math:`M` per step
    (asymptotically: a single step can differ, since :math:`M` need not be a normal matrix).

    Args:
        lr: learning rate :math:`h` (> 0).
        method: ``"simultaneous"`` or ``"alternating"``.
        gamma: weight of the R1 penalty (>= 0).

    Returns:
        ``M``, shape ``(2, 2)``.

    Example:
        >>> float(np.abs(np.linalg.eigvals(dirac_gan_step_matrix(0.2))).max())   # sqrt(1 + 0.1^2)
        1.004987562112089
    """
    h = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    method = check_choice(method, "method", DIRAC_METHODS)
    gamma = check_scalar(gamma, "gamma", low=0.0)
    ha = h * _A
    corner = 1.0 - h * gamma - (ha * ha if method == "alternating" else 0.0)
    return np.array([[1.0, -ha], [ha, corner]])


def dirac_gan_simulate(
    theta0: float, psi0: float, lr: float, steps: int, method: str = "simultaneous", gamma: float = 0.0
) -> np.ndarray:
    r"""Gradient play on the Dirac GAN, equations ``eq-dirac-field`` and ``eq-dirac-maps``.

    .. math::
        \text{simultaneous:}\quad (\theta, \psi)_{k+1} = (\theta, \psi)_k + h\, v(\theta_k, \psi_k);
        \qquad
        \text{alternating:}\quad \theta_{k+1} = \theta_k + h\, v_\theta(\theta_k, \psi_k),\;
        \psi_{k+1} = \psi_k + h\, v_\psi(\theta_{k+1}, \psi_k),

    the full nonlinear updates (not their linearisation).

    Args:
        theta0, psi0: the starting point.
        lr: learning rate :math:`h` (> 0).
        steps: number of updates (>= 1).
        method: ``"simultaneous"`` or ``"alternating"``.
        gamma: weight of the R1 penalty (>= 0).

    Returns:
        The trajectory, shape ``(steps + 1, 2)``, columns ``(theta, psi)``; row 0 is the start.

    Example:
        >>> dirac_gan_simulate(1.0, 0.0, 0.5, 1).tolist()   # psi moves by h theta f'(0)
        [[1.0, 0.0], [1.0, 0.25]]
    """
    theta, psi = check_scalar(theta0, "theta0"), check_scalar(psi0, "psi0")
    gamma = check_scalar(gamma, "gamma", low=0.0)
    h = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    steps = check_int(steps, "steps", low=1)
    method = check_choice(method, "method", DIRAC_METHODS)
    out = np.empty((steps + 1, 2))
    out[0] = theta, psi
    alternating = method == "alternating"
    for k in range(1, steps + 1):
        a = _f1(theta * psi)
        new_theta = theta - h * psi * a
        if alternating:
            a = _f1(new_theta * psi)
            psi = psi + h * (new_theta * a - gamma * psi)
        else:
            psi = psi + h * (theta * a - gamma * psi)
        theta = new_theta
        out[k] = theta, psi
    return out


# Names whose home moved, still resolved here on first use, so readers' code written against the
# old paths keeps working: the widgets (presentation apart from the mathematics).
_HOMES = {
    "views.gan": ("DIRAC_SLIDERS", "DIRAC_START", "DIRAC_TIME", "dirac_gan_view", "dirac_widget_spec"),
}


__getattr__ = moved_names(__name__, _HOMES)


def _density(p: ArrayLike, name: str, dx: float | None, tol: float) -> np.ndarray:
    p = check_array(p, name, ndim=1)
    p = p.detach().cpu().double().numpy() if is_torch(p) else np.asarray(p, dtype=np.float64)
    check_positive(p, name, strict=False)
    if dx is not None:
        mass = float(p.sum() * dx)
        if abs(mass - 1.0) > tol:
            raise ValueError(f"{name}: expected a density that integrates to 1 within {tol}, got {mass:.6g}")
    return p


def _dx(dx: float) -> float:
    return check_scalar(dx, "dx", low=0.0, closed=(False, True))


def optimal_discriminator(
    p_data: ArrayLike, p_model: ArrayLike, dx: float | None = None, tol: float = 1e-3
) -> np.ndarray:
    r"""The optimal discriminator of a fixed generator, equation ``eq-d-star``.

    .. math:: D^*(x) = \frac{p_{\text{data}}(x)}{p_{\text{data}}(x) + p_g(x)} .

    Where both densities are zero, :math:`D^*` is arbitrary (no point of either
    distribution lands there); this function returns 1/2.

    Args:
        p_data, p_model: density values at the same points, shape ``(n,)``, >= 0.
        dx: grid spacing; when given, each density must integrate to 1 within ``tol``.
        tol: tolerance on the total mass.

    Returns:
        ``D*``, shape ``(n,)``, float64, values in [0, 1].

    Example:
        >>> optimal_discriminator(np.array([1.0, 0.0, 3.0]), np.array([1.0, 2.0, 1.0]))
        array([0.5 , 0.  , 0.75])
    """
    dx = None if dx is None else _dx(dx)
    tol = check_scalar(tol, "tol", low=0.0, closed=(False, True))
    p_data = _density(p_data, "p_data", dx, tol)
    p_model = _density(p_model, "p_model", dx, tol)
    check_same_shape(p_data=p_data, p_model=p_model)
    total = p_data + p_model
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def gan_value(
    p_data: ArrayLike, p_model: ArrayLike, discriminator: ArrayLike, dx: float, tol: float = 1e-3
) -> float:
    r"""The value function of a discriminator by quadrature, equation ``eq-gan-value``.

    .. math::
        V(G, D) = \int p_{\text{data}}(x) \log D(x)\,dx + \int p_g(x) \log\big(1 - D(x)\big)\,dx,

    with the convention :math:`0 \log 0 = 0` (a discriminator may be 0 or 1 where one
    density vanishes).

    Args:
        p_data, p_model: densities on a grid of spacing ``dx``, shape ``(n,)``.
        discriminator: :math:`D(x)` on the same grid, values in [0, 1], shape ``(n,)``.
        dx: grid spacing (> 0).
        tol: tolerance on each density's total mass.

    Example:
        >>> x = np.linspace(-10, 10, 20001); dx = x[1] - x[0]
        >>> p = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)
        >>> round(gan_value(p, p, np.full_like(x, 0.5), dx), 6)   # -log 4
        -1.386294
    """
    from scipy.special import xlogy

    dx = _dx(dx)
    tol = check_scalar(tol, "tol", low=0.0, closed=(False, True))
    p_data = _density(p_data, "p_data", dx, tol)
    p_model = _density(p_model, "p_model", dx, tol)
    d = check_in_range(check_array(discriminator, "discriminator", ndim=1), "discriminator", 0.0, 1.0)
    d = d.detach().cpu().double().numpy() if is_torch(d) else np.asarray(d, dtype=np.float64)
    check_same_shape(p_data=p_data, p_model=p_model, discriminator=d)
    return float((xlogy(p_data, d) + xlogy(p_model, 1.0 - d)).sum() * dx)


def js_divergence(p: ArrayLike, q: ArrayLike, dx: float, tol: float = 1e-3) -> float:
    r"""Jensen-Shannon divergence of two densities on a grid, equation ``eq-js``.

    .. math::
        \operatorname{JS}(p\,\|\,q) = \tfrac12 \KL(p\,\|\,m) + \tfrac12 \KL(q\,\|\,m),
        \qquad m = \tfrac12 (p + q),

    in nats, so :math:`0 \le \operatorname{JS} \le \log 2`.

    Args:
        p, q: densities on a grid of spacing ``dx``, shape ``(n,)``, >= 0, each
            integrating to 1 within ``tol``.
        dx: grid spacing (> 0).
        tol: tolerance on each density's total mass.

    Example:
        >>> x = (np.arange(4000) + 0.5) / 1000; dx = 1e-3     # midpoints of [0, 4]
        >>> p = np.where(x < 1, 1.0, 0.0); q = np.where(x >= 3, 1.0, 0.0)
        >>> round(js_divergence(p, q, dx), 4)   # disjoint supports: log 2
        0.6931
    """
    from scipy.special import xlogy

    dx = _dx(dx)
    tol = check_scalar(tol, "tol", low=0.0, closed=(False, True))
    p = _density(p, "p", dx, tol)
    q = _density(q, "q", dx, tol)
    check_same_shape(p=p, q=q)
    m = 0.5 * (p + q)
    safe_m = np.where(m > 0, m, 1.0)
    kl_pm = (xlogy(p, p) - xlogy(p, safe_m)).sum() * dx
    kl_qm = (xlogy(q, q) - xlogy(q, safe_m)).sum() * dx
    return float(0.5 * kl_pm + 0.5 * kl_qm)
