r"""Ordinary differential equations of a velocity field (chapters ``ch-flow-matching``, ``ch-capstone``).

A velocity field :math:`v(x, t)` on :math:`t \in [0, 1]` moves samples of the source to samples
of the model (:func:`ode_sample`); the instantaneous change of variables
:math:`\frac{d}{dt}\log p_t(x_t) = -\nabla\cdot v` gives their exact log-density
(:func:`ode_log_prob`, equation ``eq-fm-loglik``). Time runs from the source at :math:`t = 0` to the
data at :math:`t = 1`, as in :mod:`companion.flow_matching`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .validation import check_array, check_choice, check_int

__all__ = ["METHODS", "ode_sample", "ode_trajectory", "divergence", "hutchinson_divergence",
           "ode_log_prob"]


VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


#: The ODE solvers: one, two and four velocity evaluations per step.
METHODS = ("euler", "midpoint", "rk4")


def _tensor(x, name: str, ndim: int | None = None, *, finite: bool = True) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        want = "(batch, dim)" if ndim == 2 else f"{ndim} dimension(s)"
        raise ValueError(f"{name}: expected shape {want}, got {tuple(x.shape)}")
    if x.ndim < 1:
        raise ValueError(f"{name}: expected shape (batch, ...), got {tuple(x.shape)}")
    if finite:
        check_array(x, name)
    return x


def _check_time(t, batch: int | None = None) -> torch.Tensor:
    t = _tensor(t, "t", ndim=1, finite=False)
    if batch is not None and t.shape[0] != batch:
        raise ValueError(f"t: expected shape ({batch},), got {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError("t: expected a non-empty array, got shape (0,)")
    lo, hi = (float(v) for v in torch.aminmax(t.detach()))  # one pass; NaN fails the test below
    if not (0.0 <= lo and hi <= 1.0):
        check_array(t, "t")  # NaN and infinities get their own message
        raise ValueError(f"t: expected times in [0, 1], got range [{lo}, {hi}]")
    return t


def _check_fn(fn, name: str) -> None:
    if not callable(fn):
        raise TypeError(f"{name}: expected a callable (x, t) -> velocity, got {type(fn).__name__}")


def _check_method(method: str) -> str:
    return check_choice(method, "method", METHODS)


def _integrate(f, x, t0: float, t1: float, steps: int, method: str, record: bool = False):
    """Fixed steps of ``dx/dt = f(x, t)`` from ``t0`` to ``t1``; ``f`` gets ``t`` of shape (batch,)."""
    h = (t1 - t0) / steps
    traj: list[torch.Tensor] = [x]
    for k in range(steps):
        t = torch.full((x.shape[0],), t0 + (t1 - t0) * k / steps, dtype=x.dtype, device=x.device)
        k1 = f(x, t)
        if k == 0 and k1.shape != x.shape:
            raise ValueError(f"velocity_fn: expected an output of shape {tuple(x.shape)}, "
                             f"got {tuple(k1.shape)}")
        if method == "euler":
            x = x + h * k1
        elif method == "midpoint":
            x = x + h * f(x + 0.5 * h * k1, t + 0.5 * h)
        else:
            k2 = f(x + 0.5 * h * k1, t + 0.5 * h)
            k3 = f(x + 0.5 * h * k2, t + 0.5 * h)
            k4 = f(x + h * k3, t + h)
            x = x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if record:
            traj.append(x)
    return torch.stack(traj) if record else x


def _check_ode_args(velocity_fn, x0, steps, method, x_name="x0"):
    _check_fn(velocity_fn, "velocity_fn")
    x0 = _tensor(x0, x_name, ndim=2)
    return x0, check_int(steps, "steps", low=1), _check_method(method)


def ode_sample(velocity_fn: VelocityFn, x0: torch.Tensor, steps: int, method: str = "euler") -> torch.Tensor:
    r"""Solve :math:`\dot x = v(x, t)` from :math:`t = 0` to :math:`1` on a uniform grid, ``eq-fm-solvers``.

    With :math:`h = 1/\text{steps}` and :math:`k_1 = v(x, t)`: Euler :math:`x + h k_1`;
    midpoint :math:`x + h\, v(x + \tfrac h2 k_1, t + \tfrac h2)`; classical RK4. Global
    errors :math:`O(h)`, :math:`O(h^2)`, :math:`O(h^4)`. Runs under ``torch.no_grad``.

    Args:
        velocity_fn: ``velocity_fn(x, t) -> v`` with ``t`` of shape ``(batch,)``.
        x0: source points, shape ``(batch, dim)``.
        steps: number of steps (>= 1).
        method: ``"euler"``, ``"midpoint"`` or ``"rk4"``.

    Returns:
        the points at :math:`t = 1`, the shape of ``x0``.

    Example:
        >>> ode_sample(lambda x, t: torch.ones_like(x), torch.zeros(2, 1), 4)
        tensor([[1.],
                [1.]])
    """
    x0, steps, method = _check_ode_args(velocity_fn, x0, steps, method)
    with torch.no_grad():
        return _integrate(velocity_fn, x0, 0.0, 1.0, steps, method)


def ode_trajectory(velocity_fn: VelocityFn, x0: torch.Tensor, steps: int,
                   method: str = "euler") -> torch.Tensor:
    r"""The grid points of :func:`ode_sample`: :math:`x` at :math:`t = k/n,\ k = 0, \dots, n` (``n = steps``).

    Args: as for :func:`ode_sample`.

    Returns:
        shape ``(steps + 1, batch, dim)``; entry 0 is ``x0``.

    Example:
        >>> ode_trajectory(lambda x, t: torch.ones_like(x), torch.zeros(1, 1), 2)[:, 0, 0]
        tensor([0.0000, 0.5000, 1.0000])
    """
    x0, steps, method = _check_ode_args(velocity_fn, x0, steps, method)
    with torch.no_grad():
        return _integrate(velocity_fn, x0, 0.0, 1.0, steps, method, record=True)


def _velocity_and_divergence(velocity_fn, x, t, name: str = "velocity_fn"):
    """``velocity_fn(x, t)`` and its exact divergence, one backward pass per coordinate (detached)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = velocity_fn(x, t)
        if v.shape != x.shape:
            raise ValueError(f"{name}: expected an output of shape {tuple(x.shape)}, got {tuple(v.shape)}")
        div = torch.zeros(x.shape[0], dtype=v.dtype, device=v.device)
        for i in range(x.shape[1] if v.requires_grad else 0):             # a constant field: div = 0
            (g,) = torch.autograd.grad(v[:, i].sum(), x, retain_graph=i < x.shape[1] - 1)
            div = div + g[:, i]
    return v.detach(), div.detach()


def divergence(velocity_fn: VelocityFn, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    r"""Exact divergence :math:`\nabla\cdot v(x, t) = \sum_i \partial v_i / \partial x_i` by autograd.

    One backward pass per dimension. ``velocity_fn`` must act row by row.

    Args:
        velocity_fn: ``(x, t) -> v``.
        x: points, shape ``(batch, dim)``; t: times, shape ``(batch,)``.

    Returns:
        shape ``(batch,)``, detached.

    Example:
        >>> divergence(lambda x, t: -2.0 * x, torch.ones(3, 2), torch.zeros(3))
        tensor([-4., -4., -4.])
    """
    _check_fn(velocity_fn, "velocity_fn")
    x = _tensor(x, "x", ndim=2)
    t = _check_time(t, x.shape[0])
    return _velocity_and_divergence(velocity_fn, x, t)[1]


def hutchinson_divergence(velocity_fn: VelocityFn, x: torch.Tensor, t: torch.Tensor, n_probes: int = 1,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Hutchinson's unbiased estimate of the divergence, equation ``eq-fm-hutchinson``.

    .. math::
        \nabla\cdot v = \E_z\big[z^\top (\partial v/\partial x)\, z\big],\qquad
        z_i = \pm 1 \text{ equally likely},

    averaged over ``n_probes`` Rademacher probes per point; one backward pass per probe,
    whatever the dimension.

    Args:
        velocity_fn: ``(x, t) -> v``, acting row by row.
        x: points, shape ``(batch, dim)``; t: times, shape ``(batch,)``.
        n_probes: probes per point (>= 1).
        generator: a ``torch.Generator`` (on the CPU) for the probes.

    Returns:
        shape ``(batch,)``, detached.

    Example:
        >>> hutchinson_divergence(lambda x, t: -2.0 * x, torch.ones(3, 2), torch.zeros(3))  # exact here
        tensor([-4., -4., -4.])
    """
    _check_fn(velocity_fn, "velocity_fn")
    x = _tensor(x, "x", ndim=2)
    t = _check_time(t, x.shape[0])
    n_probes = check_int(n_probes, "n_probes", low=1)
    return _hutchinson(velocity_fn, x, t, n_probes, generator)


def _hutchinson(velocity_fn, x, t, n_probes, generator):
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = velocity_fn(x, t)
        est = torch.zeros(x.shape[0], dtype=v.dtype, device=v.device)
        for p in range(n_probes if v.requires_grad else 0):               # a constant field: div = 0
            z = (torch.randint(0, 2, x.shape, generator=generator) * 2 - 1).to(x.device, x.dtype)
            (g,) = torch.autograd.grad((v * z).sum(), x, retain_graph=p < n_probes - 1)
            est = est + (g * z).sum(1)
    return (est / n_probes).detach()


def ode_log_prob(velocity_fn: VelocityFn, x1: torch.Tensor, steps: int, method: str = "rk4",
                 divergence_fn: Callable | None = None) -> torch.Tensor:
    r"""Log-density of the flow's :math:`t = 1` marginal by the change of variables, eq. ``eq-fm-loglik``.

    Along :math:`\dot x_t = v(x_t, t)`, :math:`\tfrac{d}{dt}\log p_t(x_t) = -\nabla\cdot v(x_t, t)`, so

    .. math:: \log p_1(x_1) = \log \mathcal N(x_0; 0, I) - \int_0^1 \nabla\cdot v(x_t, t)\,dt,

    with :math:`x_t` and the integral solved together backwards from :math:`t = 1` to
    :math:`0` by the fixed-step ``method``.

    Args:
        velocity_fn: ``(x, t) -> v``, acting row by row.
        x1: points, shape ``(batch, dim)``.
        steps: solver steps (>= 1).
        method: ``"euler"``, ``"midpoint"`` or ``"rk4"``.
        divergence_fn: ``(velocity_fn, x, t) -> (batch,)``; default the exact :func:`divergence`
            (e.g. pass ``lambda f, x, t: hutchinson_divergence(f, x, t, generator=g)``).

    Returns:
        shape ``(batch,)``.

    Reference: Chen et al., *Neural Ordinary Differential Equations*, NeurIPS 2018;
    Grathwohl et al., *FFJORD*, ICLR 2019.

    Example:
        >>> lp = ode_log_prob(lambda x, t: torch.zeros_like(x), torch.zeros(1, 2, dtype=torch.float64), 1)
        >>> round(float(lp), 4)   # the identity flow: log N(0; 0, I) in 2-D
        -1.8379
    """
    x1, steps, method = _check_ode_args(velocity_fn, x1, steps, method, x_name="x1")
    if divergence_fn is not None and not callable(divergence_fn):
        raise TypeError(f"divergence_fn: expected a callable (velocity_fn, x, t) -> div, "
                        f"got {type(divergence_fn).__name__}")
    d = x1.shape[1]

    def augmented(state, t):                          # state: (batch, d + 1) = [x, log-density change]
        x = state[:, :d]
        if divergence_fn is None:
            v, div = _velocity_and_divergence(velocity_fn, x, t)
        else:
            with torch.no_grad():
                v = velocity_fn(x, t)
            div = divergence_fn(velocity_fn, x, t).detach()
        return torch.cat([v, div[:, None].to(v.dtype)], dim=1)

    state = torch.cat([x1.detach(), torch.zeros_like(x1[:, :1])], dim=1)
    state = _integrate(augmented, state, 1.0, 0.0, steps, method)                   # at t = 0
    x0, change = state[:, :d], state[:, d]                                          # change = -int_0^1 div dt
    return -0.5 * (x0.pow(2).sum(1) + d * math.log(2 * math.pi)) + change
