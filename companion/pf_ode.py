r"""The exact log-likelihood of a diffusion model (chapter ``ch-capstone``), by its probability-flow ODE.

The deterministic probability-flow ODE of Song et al. (2021) moves the data distribution to the
prior along the same marginals as the noising process, so the instantaneous change of variables
gives the model's exact log-density; the divergence is computed exactly (one backward pass per
coordinate, two in 2-D), not by Hutchinson's estimator.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .ode import _velocity_and_divergence
from .validation import check_array, check_int, is_torch

__all__ = ["continuous_alpha_bar", "divergence", "pf_ode_log_likelihood"]


def continuous_alpha_bar(s: torch.Tensor, alphas_cumprod: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Continuous-time :math:`\bar\alpha(s)` and :math:`\beta(s)` from a discrete schedule.

    :math:`\log\bar\alpha(s)` is the linear interpolation of ``alphas_cumprod[k]`` at the
    array positions ``k = 0 .. T-1`` (``s`` is a 0-based array position: the chapter's
    continuous step is :math:`\tau = s + 1 \in [1, T]`). As ``alphas_cumprod[k]`` is
    :math:`\bar\alpha_{k+1}` (paper steps count from 1), :math:`\bar\alpha(k) = \bar\alpha_{k+1}`
    exactly, and
    :math:`\beta(s) = -\frac{\dd}{\dd s}\log\bar\alpha(s) = \log(\bar\alpha_{k+1} / \bar\alpha_{k+2})`
    on :math:`[k, k+1)`.

    Args:
        s: times in ``[0, T-1]``, any shape.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``, ``T >= 2``, decreasing.

    Returns:
        ``(alpha_bar, beta)``, each the shape of ``s``, in the dtype of ``alphas_cumprod``.

    Example:
        >>> ab = torch.tensor([0.9, 0.5, 0.1], dtype=torch.float64)
        >>> [round(float(v), 4) for v in continuous_alpha_bar(torch.tensor(1.0), ab)]
        [0.5, 1.6094]
    """
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    if not is_torch(ab):
        ab = torch.as_tensor(ab, dtype=torch.float64)
    if ab.shape[0] < 2:
        raise ValueError(f"alphas_cumprod: expected at least 2 steps, got {ab.shape[0]}")
    if not bool(((ab > 0) & (ab <= 1)).all()) or not bool((ab[1:] < ab[:-1]).all()):
        raise ValueError("alphas_cumprod: expected values in (0, 1], strictly decreasing")
    s = check_array(s, "s")
    s = torch.as_tensor(s, dtype=ab.dtype)
    T = ab.shape[0]
    if bool((s < 0).any()) or bool((s > T - 1).any()):
        raise ValueError(f"s: expected times in [0, {T - 1}], got range [{float(s.min())}, {float(s.max())}]")
    log_ab = ab.log()
    k = s.floor().long().clamp(max=T - 2)                                           # interval index
    frac = s - k.to(s.dtype)
    beta = log_ab[k] - log_ab[k + 1]
    return (log_ab[k] - frac * beta).exp(), beta


def divergence(fn: Callable[[torch.Tensor], torch.Tensor],
               x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``fn(x)`` and its exact divergence :math:`\nabla\cdot f = \operatorname{tr}\,\partial f/\partial x`.

    One backward pass per coordinate (two in 2-D), no Hutchinson estimator. ``fn`` must
    act row by row (row ``i`` of the output depends only on row ``i`` of the input).

    Args:
        fn: ``(batch, d) -> (batch, d)``.
        x: points, shape ``(batch, d)``.

    Returns:
        ``(f, div)``: shapes ``(batch, d)`` and ``(batch,)``, detached.

    Example:
        >>> A = torch.tensor([[1.0, 2.0], [3.0, -4.0]], dtype=torch.float64)
        >>> f, div = divergence(lambda x: x @ A.T, torch.ones(2, 2, dtype=torch.float64))
        >>> div.tolist()
        [-3.0, -3.0]
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
    x = check_array(x, "x", ndim=2)
    if not is_torch(x):
        raise TypeError(f"x: expected a torch tensor, got {type(x).__name__}")
    return _velocity_and_divergence(lambda y, _: fn(y), x, None, name="fn")  # the ODE module's kernel


def _std_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (z.pow(2).sum(1) + z.shape[1] * math.log(2 * math.pi))


def pf_ode_log_likelihood(eps_model, x: torch.Tensor, alphas_cumprod: torch.Tensor, *, substeps: int = 1,
                          prior_log_prob: Callable[[torch.Tensor], torch.Tensor] | None = None,
                          batch_size: int = 4096) -> torch.Tensor:
    r"""Log-likelihood under the probability-flow ODE of a noise predictor, equation ``eq-pf-loglik``.

    With :math:`\bar\alpha(s), \beta(s)` from :func:`continuous_alpha_bar`, the ODE

    .. math::
        \frac{\dd x}{\dd s} = \tilde f(x, s) = -\tfrac12\beta(s)\Big(x
        - \frac{\epsilon_\theta(x, s)}{\sqrt{1-\bar\alpha(s)}}\Big)

    has the same marginals as the noising process when :math:`\epsilon_\theta` is the
    optimal predictor (equation ``eq-eps-score``), and by the instantaneous change of
    variables

    .. math::
        \log p(x) = \log p_{\text{prior}}\big(x(T-1)\big) + \int_0^{T-1} \nabla\cdot \tilde f(x(s), s)\,\dd s,
        \qquad x(0) = x,

    in 0-based array positions ``s`` (the chapter's equation ``eq-pf-loglik`` writes the same
    integral in paper steps :math:`\tau = s + 1`, from :math:`x_1` to :math:`x_T`)

    with the divergence computed exactly by :func:`divergence`. The ODE and the integral
    are solved together with classical Runge-Kutta (RK4), ``substeps`` steps per unit
    of time, in the dtype of ``x``.

    Args:
        eps_model: ``eps_model(x_t, t) -> eps`` accepting real-valued ``t`` of shape ``(batch,)``.
        x: points, shape ``(batch, d)``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        substeps: RK4 steps per unit interval (>= 1).
        prior_log_prob: the log-density of the last step (paper :math:`p_T`), ``(batch, d) -> (batch,)``;
            default :math:`\mathcal N(0, I)`.
        batch_size: points integrated at once.

    Returns:
        :math:`\log p(x)`, shape ``(batch,)``: the density of the model's first noised
        marginal (array position 0, paper step 1), whose noise level is
        :math:`\sqrt{1 - \bar\alpha_1}` = ``sqrt(1 - alphas_cumprod[0])``.

    Reference: Song et al., *Score-Based Generative Modeling through SDEs*, ICLR 2021;
    Chen et al., *Neural Ordinary Differential Equations*, NeurIPS 2018.

    Example:
        >>> ab = torch.tensor([0.99, 0.5, 0.01], dtype=torch.float64)
        >>> eps = lambda x, t: x * (1 - continuous_alpha_bar(t, ab)[0]).sqrt()[:, None]  # N(0, I) data
        >>> lp = pf_ode_log_likelihood(eps, torch.zeros(1, 2, dtype=torch.float64), ab, substeps=4)
        >>> round(float(lp), 4)   # log N(0; 0, I) in 2-D
        -1.8379
    """
    if not callable(eps_model):
        raise TypeError(f"eps_model: expected a callable (x_t, t) -> eps, got {type(eps_model).__name__}")
    x = check_array(x, "x", ndim=2)
    if not is_torch(x):
        raise TypeError(f"x: expected a torch tensor, got {type(x).__name__}")
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    ab = torch.as_tensor(ab, dtype=x.dtype)
    continuous_alpha_bar(torch.zeros(()), ab)                                       # validates ab
    substeps = check_int(substeps, "substeps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    prior = _std_normal_log_prob if prior_log_prob is None else prior_log_prob
    if not callable(prior):
        raise TypeError(f"prior_log_prob: expected a callable, got {type(prior).__name__}")
    T = ab.shape[0]
    h = 1.0 / substeps

    log_ab = ab.log()

    def field_and_div(y: torch.Tensor, s: float, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        # on [k, k+1], beta(s) is the constant log(alphas_cumprod[k] / alphas_cumprod[k + 1]); abar(s)
        # is continuous
        t = torch.full((y.shape[0],), s, dtype=y.dtype)
        a = (log_ab[k] - (s - k) * (log_ab[k] - log_ab[k + 1])).exp()
        beta = log_ab[k] - log_ab[k + 1]
        sd = (1.0 - a).sqrt()

        def f(z: torch.Tensor) -> torch.Tensor:
            eps = eps_model(z, t)
            if tuple(eps.shape) != tuple(z.shape):
                raise ValueError(f"eps_model: expected an output of shape {tuple(z.shape)}, "
                                 f"got {tuple(eps.shape)}")
            return -0.5 * beta * (z - eps.to(z.dtype) / sd)

        return divergence(f, y)

    out = []
    for start in range(0, x.shape[0], batch_size):
        y = x[start:start + batch_size].detach()
        integral = torch.zeros(y.shape[0], dtype=y.dtype)
        for k in range(T - 1):
            for j in range(substeps):
                s0 = k + j * h
                f1, d1 = field_and_div(y, s0, k)
                f2, d2 = field_and_div(y + 0.5 * h * f1, s0 + 0.5 * h, k)
                f3, d3 = field_and_div(y + 0.5 * h * f2, s0 + 0.5 * h, k)
                f4, d4 = field_and_div(y + h * f3, s0 + h, k)
                y = y + h / 6.0 * (f1 + 2 * f2 + 2 * f3 + f4)
                integral = integral + h / 6.0 * (d1 + 2 * d2 + 2 * d3 + d4)
        out.append(prior(y) + integral)
    return torch.cat(out)
