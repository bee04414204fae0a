"""Diffusion models and score matching (chapter ``ch-diffusion``).

The mathematics follows the DDPM paper (Ho et al., 2020): steps :math:`t = 1, \\dots, T`,
:math:`x_0` the clean data, :math:`\\bar\\alpha_t = \\prod_{i=1}^{t} (1 - \\beta_i)` and
:math:`\\bar\\alpha_0 = 1`. The arrays are 0-based: **array index** ``i`` **is paper step**
``i + 1``. So ``betas[i]`` is :math:`\\beta_{i+1}`, ``alphas_cumprod[i]`` is
:math:`\\bar\\alpha_{i+1}`, and a function called with ``t = i`` works at paper step ``i + 1``
(``q_sample(x0, i, ...)`` returns :math:`x_{i+1}`); :math:`\\bar\\alpha_0 = 1` is not stored.
The samplers start from :math:`x_T \\sim \\mathcal N(0, I)` (array index ``T - 1``).

This module holds the forward process (:func:`q_sample`, :func:`q_step`), its posterior
(:func:`q_posterior_mean_variance`), the DDPM loss, its network and its training loop. The
schedules live in :mod:`companion.schedules`, the conversions between noise, score and clean data
in :mod:`companion.parameterisations`, the Gaussian-mixture oracle in :mod:`companion.mixtures`,
the samplers in :mod:`companion.samplers` and the theory beyond the primer in
:mod:`companion.diffusion_theory`; all of them are reachable from here too (``Df.ddpm_sample``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .mixtures import (  # noqa: F401 -- re-exported: their home is companion.mixtures
    _check_gmm,
    _gmm_noised_parts,
    gmm_noised_log_prob,
    gmm_noised_score,
    gmm_optimal_eps,
    gmm_posterior_mean_x0,
    gmm_responsibilities,
    gmm_sample,
    ring_gmm,
)
from .networks import mlp
from .parameterisations import (  # noqa: F401 -- re-exported: their home is companion.parameterisations
    eps_to_score,
    predict_x0_from_eps,
    score_to_eps,
    tweedie_x0,
)
from .schedules import NoiseSchedule, _check_ab, _check_betas, _check_t, _check_x, _gather
from .training import fit
from .utils import moved_names
from .validation import (
    check_array,
    check_broadcast,
    check_in_range,
    check_int,
    check_same_shape,
    check_scalar,
    is_torch,
)

__all__ = ["q_sample_alpha_bar", "q_sample", "q_step", "q_posterior_mean_variance",
           "gaussian_eps_loss_floor", "timestep_embedding", "EpsMLP", "simple_loss",
           "train_eps_model"]


def q_sample_alpha_bar(x0, alpha_bar, eps):
    r"""Noise ``x0`` to the level :math:`\bar\alpha` in closed form, equation ``eq-q-sample``.

    .. math:: x = \sqrt{\bar\alpha}\, x_0 + \sqrt{1 - \bar\alpha}\, \epsilon

    The formula itself, for a given :math:`\bar\alpha` rather than a step of a schedule:
    :func:`q_sample` looks :math:`\bar\alpha_t` up and calls this.

    Args:
        x0: clean data, a NumPy array or a torch tensor, any shape.
        alpha_bar: :math:`\bar\alpha` in [0, 1]: a number, or an array that broadcasts to the
            shape of ``x0`` (e.g. ``(batch, 1)``, one level per row).
        eps: standard normal noise, the shape and kind (NumPy or torch) of ``x0``.

    Returns:
        the noised data, the shape and kind of ``x0`` (for a tensor, its dtype; the square
        roots are taken in the precision of ``alpha_bar`` first).

    Example:
        >>> q_sample_alpha_bar(np.array([1.0, -0.5]), 0.75, np.array([0.0, 2.0]))
        array([0.8660254, 0.5669873])
    """
    x0 = check_array(x0, "x0")
    eps = check_array(eps, "eps")
    if is_torch(x0) != is_torch(eps):
        raise TypeError(f"eps: expected the kind of array x0 is ({type(x0).__name__}), "
                        f"got {type(eps).__name__}")
    check_same_shape(x0=x0, eps=eps)
    a = check_in_range(check_array(alpha_bar, "alpha_bar"), "alpha_bar", 0.0, 1.0)
    if check_broadcast(x0=x0, alpha_bar=a) != tuple(x0.shape):
        raise ValueError(f"alpha_bar: expected a shape that broadcasts to {tuple(x0.shape)}, "
                         f"got {tuple(a.shape)}")
    if not is_torch(x0):
        a = a.detach().cpu().numpy() if is_torch(a) else a
        return np.sqrt(a) * x0 + np.sqrt(1.0 - a) * eps
    a = torch.as_tensor(a, device=x0.device)
    return a.sqrt().to(x0.dtype) * x0 + (1.0 - a).sqrt().to(x0.dtype) * eps


def q_sample(x0: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
             alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Sample :math:`x_t \sim q(x_t \mid x_0)` in closed form, equation ``eq-q-sample``.

    .. math:: x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \epsilon

    :func:`q_sample_alpha_bar` at :math:`\bar\alpha_t` = ``alphas_cumprod[t]``: array index
    ``t`` is paper step ``t + 1``, so the result is :math:`x_{t+1}`.

    Args:
        x0: clean data, shape ``(batch, ...)``.
        t: array indices ``0 .. T-1`` (paper steps ``1 .. T``), an integer tensor of shape
            ``(batch,)`` (or one int for all).
        eps: standard normal noise, the shape of ``x0``.
        alphas_cumprod: :math:`\bar\alpha_1, \dots, \bar\alpha_T`, shape ``(T,)``.

    Returns:
        ``x_t``, the shape of ``x0``.

    Example:
        >>> from companion.schedules import alphas_cumprod
        >>> ab = alphas_cumprod(torch.tensor([0.75], dtype=torch.float64))
        >>> q_sample(torch.ones(1, 2), 0, torch.zeros(1, 2), ab)
        tensor([[0.5000, 0.5000]])
    """
    x0 = check_array(x0, "x0")
    eps = check_array(eps, "eps")
    if x0.ndim < 1:
        raise ValueError(f"x0: expected shape (batch, ...), got {tuple(x0.shape)}")
    check_same_shape(x0=x0, eps=eps)
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, True))
    t = _check_t(t, ab.shape[0], x0.shape[0])
    ab_t = ab.to(x0.device)[t].reshape(t.shape[0], *([1] * (x0.ndim - 1)))        # (batch, 1, ..., 1)
    return q_sample_alpha_bar(x0, ab_t, eps)


def q_step(x_prev: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
           betas: torch.Tensor) -> torch.Tensor:
    r"""One forward step :math:`x_t \sim q(x_t \mid x_{t-1})`, equation ``eq-q-step``.

    .. math:: x_t = \sqrt{1 - \beta_t}\, x_{t-1} + \sqrt{\beta_t}\, \epsilon

    Called with array index ``t = i`` it takes :math:`x_i` to :math:`x_{i+1}` with
    :math:`\beta_{i+1}` = ``betas[i]``; at ``i = 0`` the input is the clean data :math:`x_0`.

    Args:
        x_prev: the previous state, shape ``(batch, ...)``.
        t: array indices, an integer tensor of shape ``(batch,)`` (or one int), in ``0 .. T-1``.
        eps: standard normal noise, the shape of ``x_prev``.
        betas: the schedule, shape ``(T,)``.

    Example:
        >>> q_step(torch.ones(1, 1), 0, torch.zeros(1, 1), torch.tensor([0.36], dtype=torch.float64))
        tensor([[0.8000]])
    """
    x_prev, eps = _check_x(x_prev, "x_prev"), _check_x(eps, "eps")
    check_same_shape(x_prev=x_prev, eps=eps)
    betas = _check_betas(betas)
    t = _check_t(t, betas.shape[0], x_prev.shape[0])
    return _gather((1.0 - betas).sqrt(), t, x_prev) * x_prev + _gather(betas.sqrt(), t, x_prev) * eps


def q_posterior_mean_variance(x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor | int,
                              betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and variance of :math:`q(x_{t-1} \mid x_t, x_0)`, equation ``eq-q-posterior``.

    .. math::
        \tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1 - \bar\alpha_t}\, x_0
                    + \frac{\sqrt{\alpha_t}\,(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}\, x_t,
        \qquad
        \tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\,\beta_t,

    with :math:`\alpha_t = 1 - \beta_t` and :math:`\bar\alpha_0 = 1`, for paper steps
    :math:`t = 1, \dots, T`. Array index ``i`` is paper step ``i + 1``: the posterior of
    :math:`x_i` given :math:`x_{i+1}`. At ``i = 0`` (paper step 1) the "previous" state is
    the data itself: mean ``x0``, variance 0.

    Args:
        x0: clean data, shape ``(batch, ...)``.
        x_t: the noisy state :math:`x_{i+1}`, the shape of ``x0``.
        t: array indices ``i``, an integer tensor of shape ``(batch,)`` (or one int), in ``0 .. T-1``.
        betas: the schedule, shape ``(T,)``.

    Returns:
        ``(mean, variance)``: ``mean`` the shape of ``x0``; ``variance`` of shape
        ``(batch, 1, ..., 1)`` (the same for every coordinate).

    Example:
        >>> b = torch.tensor([0.5, 0.5], dtype=torch.float64)
        >>> m, v = q_posterior_mean_variance(torch.zeros(1, 1), torch.ones(1, 1), 1, b)
        >>> round(float(m), 4), round(float(v), 4)
        (0.4714, 0.3333)
    """
    x0, x_t = _check_x(x0, "x0"), _check_x(x_t, "x_t")
    check_same_shape(x0=x0, x_t=x_t)
    betas = _check_betas(betas)
    t = _check_t(t, betas.shape[0], x0.shape[0])
    return _posterior(NoiseSchedule._of(betas), x0, x_t, t)


def _posterior(s: NoiseSchedule, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor):
    """The kernel of :func:`q_posterior_mean_variance`: the schedule's coefficients at steps ``t``."""
    mean = _gather(s.posterior_coef_x0, t, x0) * x0 + _gather(s.posterior_coef_xt, t, x0) * x_t
    return mean, _gather(s.posterior_variance, t, x0)


# ---------------------------------------------------------------------------------------------
# The loss floor of Gaussian data (the mixture oracle lives in companion.mixtures).
# ---------------------------------------------------------------------------------------------


def gaussian_eps_loss_floor(t: torch.Tensor | int, alphas_cumprod: torch.Tensor, std: float,
                            dim: int) -> torch.Tensor:
    r"""Loss floor of the optimal denoiser for data :math:`\mathcal N(\mu, \sigma^2 I_d)`, ``eq-loss-floor``.

    .. math:: \min_f \E\|\epsilon - f(x_t)\|^2 = \E\,\|\epsilon - \E[\epsilon\mid x_t]\|^2
              = d\, \frac{\bar\alpha_t \sigma^2}{\bar\alpha_t \sigma^2 + 1 - \bar\alpha_t}

    Args:
        t: array indices (paper step ``t + 1``), shape ``(batch,)`` or one int.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        std: the data's standard deviation :math:`\sigma` (> 0).
        dim: the dimension ``d``.

    Returns:
        shape ``(batch,)`` (or ``(1,)`` for an int ``t``).

    Example:
        >>> gaussian_eps_loss_floor(0, torch.tensor([0.5], dtype=torch.float64), 1.0, 2)
        tensor([1.], dtype=torch.float64)
    """
    ab = _check_ab(alphas_cumprod)
    std = check_scalar(std, "std", low=0.0, closed=(False, True))
    dim = check_int(dim, "dim", low=1)
    batch = t.shape[0] if isinstance(t, torch.Tensor) and t.ndim == 1 else 1
    t = _check_t(t, ab.shape[0], batch)
    a = ab[t]
    return dim * a * std**2 / (a * std**2 + 1.0 - a)


# ---------------------------------------------------------------------------------------------
# The learned denoiser, its loss and its training.
# ---------------------------------------------------------------------------------------------


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 1000.0) -> torch.Tensor:
    r"""Sinusoidal features of integer steps (Vaswani et al., 2017; Ho et al., 2020).

    .. math:: \big[\cos(t\,\omega_j),\ \sin(t\,\omega_j)\big]_{j < \text{dim}/2},\qquad
              \omega_j = \text{max\_period}^{-j/(\text{dim}/2)}

    Args:
        t: steps, shape ``(batch,)``, integer or float.
        dim: the (even) embedding size.

    Returns:
        shape ``(batch, dim)``, float32.

    Example:
        >>> timestep_embedding(torch.tensor([0]), 4)
        tensor([[1., 1., 0., 0.]])
    """
    dim = check_int(dim, "dim", low=2)
    if dim % 2:
        raise ValueError(f"dim: expected an even size, got {dim}")
    t = check_array(t, "t", ndim=1)
    t = t if is_torch(t) else torch.as_tensor(t)
    max_period = check_scalar(max_period, "max_period", low=0.0, closed=(False, True))
    return _timestep_embedding(t, dim, max_period)


def _timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 1000.0) -> torch.Tensor:
    """The kernel of :func:`timestep_embedding`, for arguments already checked."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]                                      # (batch, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class EpsMLP(torch.nn.Module):
    r"""A small time-conditioned noise predictor :math:`\epsilon_\theta(x_t, t)` for vector data.

    The input is ``x_t`` concatenated with a sinusoidal embedding of ``t``; three hidden
    layers with SiLU activations; the output has the shape of ``x_t``.

    Args:
        dim: data dimension ``d``.
        hidden: width of the hidden layers.
        emb_dim: size of the time embedding (even).

    Example:
        >>> model = EpsMLP(2, hidden=16)
        >>> model(torch.zeros(3, 2), torch.tensor([0, 5, 9])).shape
        torch.Size([3, 2])
    """

    def __init__(self, dim: int = 2, hidden: int = 128, emb_dim: int = 32):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        self.emb_dim = check_int(emb_dim, "emb_dim", low=2)
        if self.emb_dim % 2:
            raise ValueError(f"emb_dim: expected an even size, got {emb_dim}")
        self.net = mlp([dim + emb_dim, hidden, hidden, hidden, dim])

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if x_t.ndim != 2 or x_t.shape[1] != self.dim:
            raise ValueError(f"x_t: expected shape (batch, {self.dim}), got {tuple(x_t.shape)}")
        check_array(x_t, "x_t")
        if t.shape != (x_t.shape[0],):
            raise ValueError(f"t: expected shape ({x_t.shape[0]},), got {tuple(t.shape)}")
        check_array(t, "t")
        return self._forward(x_t, t)

    def _forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The network without the checks of :meth:`forward`: what a sampler calls at each step,
        having made ``x_t`` and ``t`` itself (see :func:`companion.validation.unchecked`)."""
        emb = _timestep_embedding(t, self.emb_dim).to(x_t.dtype)                  # (batch, emb_dim)
        return self.net(torch.cat([x_t, emb], dim=1))


def simple_loss(eps_model, x0: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
                alphas_cumprod: torch.Tensor, reduce: bool = True) -> torch.Tensor:
    r"""The simplified DDPM loss, equation ``eq-simple-loss``.

    .. math::
        L_{\text{simple}} = \E_{t, x_0, \epsilon}\,\big\|\epsilon
        - \epsilon_\theta\big(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\epsilon,\ t\big)\big\|^2

    The squared norm is summed over the data dimensions and averaged over the batch.

    Args:
        eps_model: a callable ``eps_model(x_t, t) -> eps`` (a module or a function).
        x0: clean data, shape ``(batch, ...)``.
        t: array indices (paper step ``t + 1``), shape ``(batch,)`` or one int.
        eps: the noise used to make ``x_t``, the shape of ``x0``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        reduce: average over the batch (else return the per-example losses, ``(batch,)``).

    Example:
        >>> ab = torch.tensor([0.5], dtype=torch.float64)
        >>> float(simple_loss(lambda x, t: torch.zeros_like(x), torch.zeros(4, 2), 0, torch.ones(4, 2), ab))
        2.0
    """
    if not callable(eps_model):
        raise TypeError(f"eps_model: expected a callable (x_t, t) -> eps, got {type(eps_model).__name__}")
    x0, eps = _check_x(x0, "x0"), _check_x(eps, "eps")
    check_same_shape(x0=x0, eps=eps)
    ab = _check_ab(alphas_cumprod)
    t = _check_t(t, ab.shape[0], x0.shape[0])
    x_t = q_sample(x0, t, eps, ab)
    eps_hat = eps_model(x_t, t)
    if tuple(eps_hat.shape) != tuple(eps.shape):
        raise ValueError(f"eps_model: expected an output of shape {tuple(eps.shape)}, "
                         f"got {tuple(eps_hat.shape)}")
    per_example = (eps - eps_hat).pow(2).flatten(1).sum(1)                          # (batch,)
    return per_example.mean() if reduce else per_example


def train_eps_model(model: torch.nn.Module, data: torch.Tensor, alphas_cumprod: torch.Tensor, *,
                    steps: int = 2000, batch_size: int = 256, lr: float = 3e-3, device: str = "cpu",
                    seed: int = 0, progress: bool = True) -> dict[str, list[float]]:
    r"""Fit ``model`` to predict the noise by minimising :func:`simple_loss` with Adam.

    Each step draws a minibatch of ``data``, array indices ``t`` uniformly in ``0 .. T-1``
    (paper steps ``1 .. T``) and standard normal ``eps``. The learning rate decays by a cosine
    to 5% of ``lr``.

    Args:
        model: an :class:`EpsMLP` (or any module ``(x_t, t) -> eps``); trained in place.
        data: training data, shape ``(n, ...)``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        steps, batch_size, lr: optimisation settings.
        device: where to train.
        seed: seeds the minibatch, step and noise draws.
        progress: show a ``tqdm`` progress bar.

    Returns:
        history ``{"step": [...], "loss": [...]}`` with one entry per step.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    data = _check_x(data, "data")
    ab = _check_ab(alphas_cumprod)
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    seed = check_int(seed, "seed", low=0)
    gen = torch.Generator().manual_seed(seed)
    data = data.to(device=device, dtype=torch.float32)
    ab_dev = ab.to(device)
    model.to(device).train()

    def step_loss(step: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, data.shape[0], (batch_size,), generator=gen)
        t = torch.randint(0, ab.shape[0], (batch_size,), generator=gen)
        eps = torch.randn((batch_size, *data.shape[1:]), generator=gen)
        return simple_loss(model, data[idx.to(device)], t.to(device), eps.to(device), ab_dev)

    history = fit(model.parameters(), step_loss, steps=steps, lr=lr, generator=gen, decay_to=0.05,
                  progress=progress, desc="training eps-model")
    model.eval()
    return history


# The theory beyond the primer (the bound, the reverse SDE, the parameterisations, Langevin) lives in
# its own module; re-exported here so that the chapter reaches everything as ``Df.<name>``.
from .diffusion_theory import (  # noqa: E402, F401
    annealed_langevin_sample,
    eps_to_v,
    langevin_sample,
    reverse_sde_sample,
    reverse_sde_step,
    v_to_eps,
    v_to_x0,
    vlb_terms,
    vlb_weights,
    x0_to_eps,
)

# Names whose home moved, still resolved here on first use (``Df.ddpm_sample`` works): the schedules
# (their argument ``alphas_cumprod`` shares the function's name, so they are not imported), the
# samplers (which import this module) and the widgets (presentation apart from the mathematics).
_HOMES = {
    "schedules": (
        "linear_beta_schedule", "cosine_beta_schedule", "alphas_cumprod", "snr", "beta_schedule"
    ),
    "samplers": ("ddpm_sample", "ddim_timesteps", "ddim_sample", "_check_sampler_args"),
    "views.diffusion": (
        "NOISED_SLIDERS", "noised_data_view", "SAMPLING_SLIDERS", "sampling_steps_view",
        "noising_widget_spec", "sampling_widget_spec", "widget_specs"
    ),
}


__getattr__ = moved_names(__name__, _HOMES)
