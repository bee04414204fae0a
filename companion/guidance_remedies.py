r"""What practitioners do about guidance at high scale (chapter ``ch-guidance``).

Three remedies for the artefacts of classifier-free guidance at large :math:`s`, each a
formula on the predictions of one sampling step, and one sampler that applies them:

- :func:`cfg_rescale`: the guided prediction rescaled to the size of the conditional one and
  mixed with factor :math:`\phi` (Lin et al., 2024, Algorithm 2), equation ``eq-cfg-rescale``;
- :func:`interval_scale`: guidance only for noise levels in an interval, the conditional
  prediction elsewhere (Kynkäänniemi et al., 2024), equation ``eq-guidance-interval``;
- :func:`dynamic_threshold`: the predicted clean sample clipped at a per-sample percentile of its
  absolute values and rescaled (Saharia et al., 2022), equation ``eq-dynamic-threshold``;
- :func:`guided_sample_remedied`: :func:`companion.guidance.guided_sample` with any of them.

The names are re-exported by :mod:`companion.guidance` (``G.cfg_rescale``); this module is their home.
Notation as in :mod:`companion.guidance`: :math:`s` is the guidance scale (``scale``),
``alphas_cumprod`` holds :math:`\bar\alpha_1, \dots, \bar\alpha_T` and a step ``t`` is the array index.
"""

from __future__ import annotations

import math

import torch

from .diffusion import ddim_sample
from .guidance import MixtureDenoiser, _check_alpha_bar, _check_sampler_args, _check_scale, cfg_combine
from .validation import check_array, check_scalar

__all__ = ["cfg_rescale", "noise_level", "interval_scale", "dynamic_threshold", "guided_sample_remedied"]


def _rms(z: torch.Tensor) -> torch.Tensor:
    """Root-mean-square over all but the batch dimension, shaped to broadcast: (batch, 1, ...)."""
    return z.pow(2).mean(dim=tuple(range(1, z.ndim)), keepdim=True).sqrt()


def _rescale(guided: torch.Tensor, eps_cond: torch.Tensor, phi: float) -> torch.Tensor:
    rms_g, rms_c = _rms(guided), _rms(eps_cond)
    ratio = torch.where(rms_g > 0, rms_c / torch.where(rms_g > 0, rms_g, 1.0), 1.0)   # 0/0: leave it
    return (phi * ratio + (1.0 - phi)) * guided


def cfg_rescale(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, scale, phi: float) -> torch.Tensor:
    r"""Classifier-free guidance with the rescale of Lin et al. (2024), equation ``eq-cfg-rescale``.

    .. math::
        \hat\epsilon_{s,\phi} = \Big(\phi\,\frac{\operatorname{rms}\hat\epsilon(x_t, c)}
        {\operatorname{rms}\hat\epsilon_s} + 1 - \phi\Big)\,\hat\epsilon_s,
        \qquad \operatorname{rms}(z) = \Big(\frac1d\sum_k z_k^2\Big)^{1/2},

    per sample, with :math:`\hat\epsilon_s` the guided prediction of :func:`companion.guidance.cfg_combine`.
    At :math:`\phi = 1` it has the direction of :math:`\hat\epsilon_s` and the size of the conditional
    prediction; :math:`\phi = 0` is plain guidance. Lin et al. divide standard deviations over the
    pixels of their model's output (a v-prediction); here the statistic is the root-mean-square about zero
    of the noise prediction (the two agree for image-sized zero-mean tensors; in two dimensions a
    standard deviation about the coordinates' mean would depend on the orientation of the axes).

    Args:
        eps_uncond: the prediction with the null label, shape ``(batch, ...)``.
        eps_cond: the prediction with the class label, the same shape.
        scale: the guidance scale :math:`s`, a finite number or a ``(batch,)`` tensor.
        phi: the mixing factor :math:`\phi` in [0, 1] (Lin et al. use 0.7).

    Returns:
        the rescaled guided prediction, the shape of ``eps_cond``. A sample whose guided
        prediction is exactly zero is left at zero.

    Example:
        >>> u, c = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]])
        >>> cfg_rescale(u, c, 3.0, 1.0)   # guided (3, 1), scaled to the rms of (1, 1)
        tensor([[1.3416, 0.4472]])
    """
    eps_uncond = check_array(eps_uncond, "eps_uncond", ndim=(2, 3, 4))
    phi = check_scalar(phi, "phi", low=0.0, high=1.0)
    guided = cfg_combine(eps_uncond, eps_cond, scale)      # checks eps_cond and scale
    return _rescale(guided, eps_cond, phi)


def noise_level(alpha_bar: float) -> float:
    r"""The noise level :math:`\sigma_t = \sqrt{(1 - \bar\alpha_t)/\bar\alpha_t}` of ``eq-guidance-interval``.

    :math:`x_t / \sqrt{\bar\alpha_t} = x_0 + \sigma_t\,\epsilon`: the noise standard deviation of the
    variance-exploding form that Kynkäänniemi et al. (2024) state their intervals in.

    Example:
        >>> noise_level(0.2)
        2.0
    """
    alpha_bar = _check_alpha_bar(alpha_bar)
    return math.sqrt((1.0 - alpha_bar) / alpha_bar)


def interval_scale(alpha_bar: float, scale, sigma_lo: float, sigma_hi: float):
    r"""The guidance scale limited to an interval of noise levels, equation ``eq-guidance-interval``.

    .. math::
        s(\sigma_t) = \begin{cases} s, & \sigma_{\text{lo}} < \sigma_t \le \sigma_{\text{hi}},\\
        1, & \text{otherwise (the conditional prediction),} \end{cases}

    with :math:`\sigma_t` from :func:`noise_level` (Kynkäänniemi et al., 2024).

    Args:
        alpha_bar: :math:`\bar\alpha_t` in (0, 1].
        scale: the guidance scale :math:`s`, a finite number or a tensor of per-sample scales.
        sigma_lo: the lower end of the interval, >= 0 (excluded).
        sigma_hi: the upper end, > ``sigma_lo`` (included).

    Returns:
        ``scale`` inside the interval, else 1 (a tensor of ones if ``scale`` is a tensor).

    Example:
        >>> interval_scale(0.8, 4.0, 0.28, 5.42), interval_scale(0.999, 4.0, 0.28, 5.42)
        (4.0, 1.0)
    """
    sigma = noise_level(alpha_bar)
    sigma_lo = check_scalar(sigma_lo, "sigma_lo", low=0.0)
    sigma_hi = check_scalar(sigma_hi, "sigma_hi", low=sigma_lo, closed=(False, True))
    if isinstance(scale, torch.Tensor) and scale.numel() > 1:
        scale = check_array(scale, "scale", ndim=1)
        return scale if sigma_lo < sigma <= sigma_hi else torch.ones_like(scale)
    scale = check_scalar(scale, "scale")
    return scale if sigma_lo < sigma <= sigma_hi else 1.0


def dynamic_threshold(x0_hat: torch.Tensor, percentile: float, bound: float = 1.0) -> torch.Tensor:
    r"""Dynamic thresholding of a predicted clean sample (Saharia et al., 2022), ``eq-dynamic-threshold``.

    .. math::
        \rho = \max\big(\operatorname{percentile}_p |\hat x_{0,k}|,\ b\big), \qquad
        \hat x_0 \leftarrow \operatorname{clip}(\hat x_0, -\rho, \rho)\,\frac{b}{\rho},

    per sample, over its coordinates :math:`k` (linear interpolation between order statistics,
    as ``numpy.percentile``). With :math:`b = 1` (data in :math:`[-1, 1]`) this is Imagen's rule.
    A sample whose percentile is at most :math:`b` is clipped to :math:`[-b, b]` (static
    thresholding), so it is unchanged only if all its coordinates lie there; every output does.

    Args:
        x0_hat: predicted clean samples, shape ``(batch, ...)``.
        percentile: :math:`p` in [0, 100] (Imagen uses 99.5).
        bound: :math:`b > 0`, the static bound of the data.

    Example:
        >>> dynamic_threshold(torch.tensor([[0.5, -0.25], [3.0, -1.5]]), 100.0)
        tensor([[ 0.5000, -0.2500],
                [ 1.0000, -0.5000]])
    """
    x0_hat = check_array(x0_hat, "x0_hat", ndim=(2, 3, 4))
    percentile = check_scalar(percentile, "percentile", low=0.0, high=100.0)
    bound = check_scalar(bound, "bound", low=0.0, closed=(False, True))
    x0_hat = torch.as_tensor(x0_hat)
    flat = x0_hat.abs().reshape(x0_hat.shape[0], -1)                                   # (batch, n)
    rho = torch.quantile(flat, percentile / 100.0, dim=1).clamp(min=bound)             # (batch,)
    rho = rho.reshape(-1, *([1] * (x0_hat.ndim - 1)))
    return torch.maximum(torch.minimum(x0_hat, rho), -rho) * (bound / rho)


def guided_sample_remedied(model, labels: torch.Tensor, scale, alphas_cumprod: torch.Tensor, *,
                           phi: float = 0.0, interval: tuple[float, float] | None = None,
                           percentile: float | None = None, bound: float = 1.0,
                           n_steps: int | None = None, eta: float = 0.0, seed: int = 0) -> torch.Tensor:
    r"""Classifier-free guided sampling with any of the three remedies for high scales.

    The remedies are equations ``eq-cfg-rescale``, ``eq-guidance-interval`` and ``eq-dynamic-threshold``.
    At each step of the DDIM sampler of :func:`companion.guidance.guided_sample`: the scale is
    :func:`interval_scale` (if ``interval`` is given), the two predictions are combined by
    :func:`cfg_rescale` with ``phi``, and (if ``percentile`` is given) the implied
    :math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon)/\sqrt{\bar\alpha_t}` is passed through
    :func:`dynamic_threshold` and the noise prediction recomputed from it,
    :math:`\hat\epsilon \leftarrow (x_t - \sqrt{\bar\alpha_t}\,\hat x_0)/\sqrt{1-\bar\alpha_t}`, so the
    step moves towards the thresholded :math:`\hat x_0`. With the defaults it is
    :func:`companion.guidance.guided_sample`, to the last bit.

    Args:
        model, labels, scale, alphas_cumprod, n_steps, eta, seed: as in
            :func:`companion.guidance.guided_sample`.
        phi: the rescale factor of :func:`cfg_rescale`, in [0, 1]; 0 is plain guidance.
        interval: ``(sigma_lo, sigma_hi)`` for :func:`interval_scale`, or ``None`` (every step).
        percentile: :math:`p` of :func:`dynamic_threshold`, or ``None`` (no thresholding).
        bound: :math:`b` of :func:`dynamic_threshold`.

    Returns:
        samples, shape ``(batch, d)``: float64 for a :class:`MixtureDenoiser`, float32 otherwise.

    Example:
        >>> from companion.diffusion import alphas_cumprod, linear_beta_schedule
        >>> from companion.guidance import MixtureDenoiser, guided_sample, ring_mixture
        >>> ab = alphas_cumprod(linear_beta_schedule(50, 1e-3, 0.2))
        >>> model, c = MixtureDenoiser(ring_mixture(), ab), torch.tensor([0, 1])
        >>> x = guided_sample_remedied(model, c, 4.0, ab, n_steps=5)
        >>> bool(torch.equal(x, guided_sample(model, c, 4.0, ab, n_steps=5)))
        True
    """
    labels, scale, ab, n_steps, eta, seed = _check_sampler_args(model, labels, scale, alphas_cumprod,
                                                                n_steps, eta, seed)
    phi = check_scalar(phi, "phi", low=0.0, high=1.0)
    if interval is not None:
        if not isinstance(interval, (tuple, list)) or len(interval) != 2:
            raise TypeError(f"interval: expected a pair (sigma_lo, sigma_hi), got {interval!r}")
        interval_scale(float(ab[0]), 1.0, *interval)                  # checks the interval once
    if percentile is not None:
        percentile = check_scalar(percentile, "percentile", low=0.0, high=100.0)
    bound = check_scalar(bound, "bound", low=0.0, closed=(False, True))
    null = torch.full_like(labels, model.null_label)
    batch = labels.shape[0]
    dim = getattr(model, "dim", None) or model.mix.dim
    dtype = torch.float64 if isinstance(model, MixtureDenoiser) else torch.float32

    def eps_fn(x, t):
        a = float(ab[int(t[0])])                                      # every sample is at the same step
        s = scale if interval is None else interval_scale(a, scale, *interval)
        with torch.no_grad():
            both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([null, labels]))  # (2 batch, d)
        eps = _rescale(cfg_combine(both[:batch], both[batch:], _check_scale(s, batch)), both[batch:], phi)
        if percentile is not None:
            x0_hat = dynamic_threshold((x - math.sqrt(1.0 - a) * eps) / math.sqrt(a), percentile, bound)
            eps = (x - math.sqrt(a) * x0_hat) / math.sqrt(1.0 - a)
        return eps

    return ddim_sample(eps_fn, ab, (batch, dim), n_steps, eta, seed=seed, dtype=dtype)
