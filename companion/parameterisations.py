r"""What a denoiser predicts (chapter ``ch-diffusion``): noise, score and clean data, one from another.

A network trained on the noised data can output the noise :math:`\epsilon`, the score
:math:`\nabla\log p_t` of the noised marginal, or the clean data :math:`x_0`; at step ``t`` of a
schedule each is an affine function of the others (equations ``eq-eps-score``, ``eq-x0-from-eps``
and ``eq-tweedie``).
"""

from __future__ import annotations

import torch

from .schedules import _check_ab, _check_t, _check_x, _gather
from .validation import (
    check_in_range,
    check_same_shape,
)

__all__ = ["eps_to_score", "score_to_eps", "predict_x0_from_eps", "tweedie_x0"]


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
