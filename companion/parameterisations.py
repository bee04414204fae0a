r"""What a denoiser predicts (chapter ``ch-diffusion``): noise, score and clean data, one from another.

A network trained on the noised data can output the noise :math:`\epsilon`, the score
:math:`\nabla\log p_t` of the noised marginal, or the clean data :math:`x_0`; at step ``t`` of a
schedule each is an affine function of the others (equations ``eq-eps-score``, ``eq-x0-from-eps``
and ``eq-tweedie``).
"""

from __future__ import annotations

import torch

from .ode import _check_time, _tensor
from .paths import PATHS, _coef_like
from .schedules import _check_ab, _check_t, _check_x, _gather
from .validation import (
    check_choice,
    check_in_range,
    check_same_shape,
)

__all__ = ["eps_to_score", "score_to_eps", "predict_x0_from_eps", "tweedie_x0", "velocity_to_x1",
           "velocity_to_eps", "velocity_to_score", "x1_to_velocity", "eps_to_velocity",
           "score_to_velocity"]


def eps_to_score(eps: torch.Tensor, t: torch.Tensor | int, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Score of the noised marginal from a noise prediction, equation ``eq-eps-score``.

    .. math:: \nabla_{x_t} \log p_t(x_t) = -\frac{\E[\epsilon \mid x_t]}{\sqrt{1 - \bar\alpha_t}}

    :math:`p_t` is the density of :math:`x_t` (the data noised to step :math:`t`). Fed the
    optimal prediction :math:`\E[\epsilon \mid x_t]` this is that marginal score; fed the
    noise :math:`\epsilon` actually added, it is the conditional score
    :math:`\nabla \log q(x_t \mid x_0)` instead.

    Args:
        eps: predicted noise, shape ``(batch, ...)``.
        t: array indices (paper step ``t + 1``), shape ``(batch,)`` (or one int).
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``, entries in (0, 1).

    Example:
        >>> eps_to_score(torch.ones(1, 2), 0, torch.tensor([0.75], dtype=torch.float64))
        tensor([[-2., -2.]])
    """
    eps = _check_x(eps, "eps")
    ab = _check_ab(alphas_cumprod)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, False))
    t = _check_t(t, ab.shape[0], eps.shape[0])
    return -eps / _gather((1.0 - ab).sqrt(), t, eps)


def score_to_eps(score: torch.Tensor, t: torch.Tensor | int, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""The inverse of :func:`eps_to_score`: :math:`\epsilon = -\sqrt{1 - \bar\alpha_t}\,\nabla \log p_t`.

    Example:
        >>> score_to_eps(torch.full((1, 2), -2.0), 0, torch.tensor([0.75], dtype=torch.float64))
        tensor([[1., 1.]])
    """
    score = _check_x(score, "score")
    ab = _check_ab(alphas_cumprod)
    t = _check_t(t, ab.shape[0], score.shape[0])
    return -score * _gather((1.0 - ab).sqrt(), t, score)


def predict_x0_from_eps(x_t: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
                        alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Invert :func:`q_sample` for ``x0`` given the noise, equation ``eq-x0-from-eps``.

    .. math:: \hat x_0 = \frac{x_t - \sqrt{1 - \bar\alpha_t}\, \hat\epsilon}{\sqrt{\bar\alpha_t}}

    With :math:`\hat\epsilon = \E[\epsilon \mid x_t]` this is Tweedie's denoiser
    :math:`\E[x_0 \mid x_t]` (equation ``eq-tweedie``). An error :math:`\delta` in
    :math:`\hat\epsilon` becomes an error :math:`\delta\sqrt{1-\bar\alpha_t}/\sqrt{\bar\alpha_t}` in
    :math:`\hat x_0`: large where :math:`\bar\alpha_t` is tiny (the first sampling steps).

    Example:
        >>> ab = torch.tensor([0.75], dtype=torch.float64)
        >>> predict_x0_from_eps(torch.full((1, 2), 0.5), 0, torch.zeros(1, 2), ab)
        tensor([[0.5774, 0.5774]])
    """
    x_t, eps = _check_x(x_t, "x_t"), _check_x(eps, "eps")
    check_same_shape(x_t=x_t, eps=eps)
    ab = _check_ab(alphas_cumprod)
    t = _check_t(t, ab.shape[0], x_t.shape[0])
    return _x0_from_eps(x_t, t, eps, ab)


def _x0_from_eps(x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """The kernel of :func:`predict_x0_from_eps`, for callers that checked the arguments."""
    return (x_t - _gather((1.0 - ab).sqrt(), t, x_t) * eps) / _gather(ab.sqrt(), t, x_t)


def tweedie_x0(x_t: torch.Tensor, t: torch.Tensor | int, score: torch.Tensor,
               alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Tweedie's formula: the posterior mean of the clean data, equation ``eq-tweedie``.

    .. math::
        \E[x_0 \mid x_t] = \frac{x_t + (1 - \bar\alpha_t)\, \nabla_{x_t}\log p_t(x_t)}{\sqrt{\bar\alpha_t}}

    Example:
        >>> ab = torch.tensor([0.5], dtype=torch.float64)
        >>> tweedie_x0(torch.ones(1, 1), 0, -torch.ones(1, 1), ab)  # score of N(0, 1) at 1
        tensor([[0.7071]])
    """
    x_t, score = _check_x(x_t, "x_t"), _check_x(score, "score")
    check_same_shape(x_t=x_t, score=score)
    ab = _check_ab(alphas_cumprod)
    t = _check_t(t, ab.shape[0], x_t.shape[0])
    return (x_t + _gather(1.0 - ab, t, x_t) * score) / _gather(ab.sqrt(), t, x_t)


def _conversion_args(v, x_t, t, path, v_name):
    v, x_t = _tensor(v, v_name), _tensor(x_t, "x_t")
    check_same_shape(**{v_name: v, "x_t": x_t})
    t = _check_time(t, x_t.shape[0])
    check_choice(path, "path", PATHS)
    return _coef_like(t, path, x_t), t


def _refuse(t: torch.Tensor, at: float, why: str) -> None:
    if bool((t == at).any()):
        raise ValueError(f"t: {why} is singular at t = {at:g}; got a time equal to {at:g}")


def velocity_to_x1(v: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, path: str) -> torch.Tensor:
    r"""The data prediction :math:`\hat x_1` from a velocity, equation ``eq-fm-conversions``.

    Solving :math:`x_t = \sigma_t\hat\epsilon + \alpha_t\hat x_1` and
    :math:`v = \dot\sigma_t\hat\epsilon + \dot\alpha_t\hat x_1`:

    .. math::
        \hat x_1 = \frac{\sigma_t v - \dot\sigma_t x_t}{\Delta_t},\qquad
        \Delta_t = \sigma_t\dot\alpha_t - \alpha_t\dot\sigma_t.

    :math:`\Delta_t = 1` (linear) and :math:`\pi/2` (cosine): regular on all of :math:`[0, 1]`.

    Args:
        v: velocity, shape ``(batch, ...)``; x_t: points, the same shape.
        t: times in :math:`[0, 1]`, shape ``(batch,)``.
        path: ``"linear"`` or ``"cosine"``.

    Example:
        >>> velocity_to_x1(torch.ones(1, 2), torch.zeros(1, 2), torch.tensor([0.0]), "linear")
        tensor([[1., 1.]])
    """
    (a, s, da, ds), _ = _conversion_args(v, x_t, t, path, "v")
    return (s * v - ds * x_t) / (s * da - a * ds)


def velocity_to_eps(v: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, path: str) -> torch.Tensor:
    r"""The source ("noise") prediction :math:`\hat\epsilon = \hat x_0` from a velocity.

    Equation ``eq-fm-conversions``.

    .. math:: \hat\epsilon = \frac{\dot\alpha_t x_t - \alpha_t v}{\Delta_t}

    Regular on all of :math:`[0, 1]` for both paths (see :func:`velocity_to_x1`).

    Example:
        >>> velocity_to_eps(torch.ones(1, 2), torch.zeros(1, 2), torch.tensor([1.0]), "linear")
        tensor([[-1., -1.]])
    """
    (a, s, da, ds), _ = _conversion_args(v, x_t, t, path, "v")
    return (da * x_t - a * v) / (s * da - a * ds)


def velocity_to_score(v: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, path: str) -> torch.Tensor:
    r"""The score :math:`\nabla\log p_t(x_t)` from the marginal velocity, equation ``eq-fm-conversions``.

    .. math::
        \nabla\log p_t(x_t) = -\frac{\E[x_0 \mid x_t]}{\sigma_t}
        = -\frac{\dot\alpha_t x_t - \alpha_t v}{\sigma_t \Delta_t}

    Singular at :math:`t = 1` (:math:`\sigma_1 = 0`): a ``t`` equal to 1 raises.

    Example:
        >>> velocity_to_score(torch.zeros(1, 1), torch.ones(1, 1), torch.tensor([0.0]), "linear")
        tensor([[-1.]])
    """
    (a, s, da, ds), t = _conversion_args(v, x_t, t, path, "v")
    _refuse(t, 1.0, "the score (division by sigma_t)")
    return -(da * x_t - a * v) / (s * (s * da - a * ds))


def x1_to_velocity(x1: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, path: str) -> torch.Tensor:
    r"""The velocity from a data prediction, the inverse of :func:`velocity_to_x1`.

    .. math:: v = \dot\sigma_t \frac{x_t - \alpha_t\hat x_1}{\sigma_t} + \dot\alpha_t\hat x_1

    Singular at :math:`t = 1` (:math:`\sigma_1 = 0`, where :math:`x_t = \hat x_1` says nothing
    about the velocity): a ``t`` equal to 1 raises.

    Example:
        >>> x1_to_velocity(torch.ones(1, 2), torch.zeros(1, 2), torch.tensor([0.0]), "linear")
        tensor([[1., 1.]])
    """
    (a, s, da, ds), t = _conversion_args(x1, x_t, t, path, "x1")
    _refuse(t, 1.0, "the velocity from x1 (division by sigma_t)")
    return ds * (x_t - a * x1) / s + da * x1


def eps_to_velocity(eps: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, path: str) -> torch.Tensor:
    r"""The velocity from a noise prediction, the inverse of :func:`velocity_to_eps`.

    .. math:: v = \dot\sigma_t\hat\epsilon + \dot\alpha_t \frac{x_t - \sigma_t\hat\epsilon}{\alpha_t}

    Singular at :math:`t = 0` (:math:`\alpha_0 = 0`, where :math:`x_t = \hat\epsilon` says nothing
    about the data): a ``t`` equal to 0 raises.

    Example:
        >>> eps_to_velocity(torch.zeros(1, 2), torch.ones(1, 2), torch.tensor([1.0]), "linear")
        tensor([[1., 1.]])
    """
    (a, s, da, ds), t = _conversion_args(eps, x_t, t, path, "eps")
    _refuse(t, 0.0, "the velocity from eps (division by alpha_t)")
    return ds * eps + da * (x_t - s * eps) / a


def score_to_velocity(score: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, path: str) -> torch.Tensor:
    r"""The velocity from the score, via :math:`\hat\epsilon = -\sigma_t \nabla\log p_t` and eps_to_velocity.

    .. math::
        v = \frac{\dot\alpha_t}{\alpha_t} x_t
        + \sigma_t\Big(\frac{\dot\alpha_t\sigma_t}{\alpha_t} - \dot\sigma_t\Big)\nabla\log p_t(x_t)

    Singular at :math:`t = 0` (:math:`\alpha_0 = 0`): a ``t`` equal to 0 raises.

    Example:
        >>> score_to_velocity(-torch.ones(1, 1), torch.ones(1, 1), torch.tensor([0.5]), "linear")
        tensor([[1.]])
    """
    (a, s, da, ds), t = _conversion_args(score, x_t, t, path, "score")
    _refuse(t, 0.0, "the velocity from the score (division by alpha_t)")
    return da / a * x_t + s * (da * s / a - ds) * score
