r"""Flow matching (chapter ``ch-flow-matching``).

Conventions of Lipman et al. (2023): time ``t`` is a tensor of shape ``(batch,)`` in
:math:`[0, 1]`; :math:`t = 0` is the source :math:`x_0 \sim \mathcal N(0, I)` and
:math:`t = 1` the data :math:`x_1`. A Gaussian path interpolates

.. math:: x_t = \sigma_t x_0 + \alpha_t x_1,

with ``"linear"`` (:math:`\alpha_t = t,\ \sigma_t = 1 - t`: conditional optimal transport,
rectified flow) or ``"cosine"`` (:math:`\alpha_t = \sin\frac{\pi t}{2},\ \sigma_t = \cos\frac{\pi t}{2}`:
variance preserving). Every function accepts float32 and float64 and keeps the dtype of
its data argument.

This module holds the flow-matching loss, the velocity network, its training loop, reflow and
classifier-free guidance of velocities. The paths live in :mod:`companion.paths`, the ODE solvers
and the likelihood in :mod:`companion.ode`, the mixture's exact velocity in
:mod:`companion.mixtures` and the conversions to noise, data and score in
:mod:`companion.parameterisations`; all are reachable from here too (``FM.ode_sample``).

The diffusion chapter runs time the other way: its step ``t`` of ``T`` with
:math:`\sqrt{\bar\alpha_t}` and :math:`\sqrt{1 - \bar\alpha_t}` is this module's
:math:`\alpha` and :math:`\sigma` at a time near :math:`0` for large diffusion steps.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .diffusion import _timestep_embedding
from .mixtures import (  # noqa: F401 -- re-exported: their home is companion.mixtures
    _gmm_parts,
    gmm_marginal_velocity,
    gmm_path_log_prob,
)
from .networks import mlp
from .ode import (  # noqa: F401 -- re-exported: their home is companion.ode
    METHODS,
    _check_fn,
    _check_method,
    _check_ode_args,
    _check_time,
    _hutchinson,
    _integrate,
    _tensor,
    _velocity_and_divergence,
    divergence,
    hutchinson_divergence,
    ode_log_prob,
    ode_sample,
    ode_trajectory,
)
from .parameterisations import (  # noqa: F401 -- re-exported: their home is companion.parameterisations
    _conversion_args,
    _refuse,
    eps_to_velocity,
    score_to_velocity,
    velocity_to_eps,
    velocity_to_score,
    velocity_to_x1,
    x1_to_velocity,
)
from .paths import (  # noqa: F401 -- re-exported: their home is companion.paths
    PATHS,
    _coef_like,
    _coefficients,
    _path_sample,
    path_coefficients,
    path_sample,
)
from .training import fit
from .utils import moved_names
from .validation import check_array, check_choice, check_int, check_same_shape, check_scalar, unchecked

__all__ = ["cfm_loss", "straightness", "straightness_parts", "VelocityMLP", "train_velocity_model",
           "reflow_couplings", "cfg_velocity"]


VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ---------------------------------------------------------------------------------------------
# Paths, conditional velocities and the CFM loss.
# ---------------------------------------------------------------------------------------------


def cfm_loss(model, x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor,
             path: str = "linear") -> torch.Tensor:
    r"""The conditional flow matching loss, equation ``eq-fm-cfm-loss``.

    .. math::
        L_{\text{CFM}}(\theta) = \E_{t, x_0, x_1}\,
        \big\|v_\theta(x_t, t) - (\dot\sigma_t x_0 + \dot\alpha_t x_1)\big\|^2

    The squared norm is *summed* over the data dimensions and *averaged* over the batch.

    Args:
        model: a callable ``model(x, t) -> v`` (a module or a function).
        x0: source draws, shape ``(batch, ...)``; x1: data, the same shape.
        t: times in :math:`[0, 1]`, shape ``(batch,)``.
        path: ``"linear"`` or ``"cosine"``.

    Returns:
        a scalar tensor.

    Example:
        >>> zero = lambda x, t: torch.zeros_like(x)
        >>> float(cfm_loss(zero, torch.zeros(4, 2), torch.ones(4, 2), torch.full((4,), 0.3)))
        2.0
    """
    _check_fn(model, "model")
    x0, x1 = _tensor(x0, "x0"), _tensor(x1, "x1")
    check_same_shape(x0=x0, x1=x1)
    t = _check_time(t, x0.shape[0])
    check_choice(path, "path", PATHS)
    return _cfm_loss(model, x0, x1, t, path)


def _cfm_loss(model, x0, x1, t, path):
    x_t, u_t = _path_sample(x0, x1, t, path)
    v = unchecked(model)(x_t, t)  # x_t and t are made here: the network need not check them again
    if tuple(v.shape) != tuple(u_t.shape):
        raise ValueError(f"model: expected an output of shape {tuple(u_t.shape)}, got {tuple(v.shape)}")
    return (v - u_t).pow(2).flatten(1).sum(1).mean()


# ---------------------------------------------------------------------------------------------
# Straight paths: straightness and its parts (the solvers live in companion.ode).
# ---------------------------------------------------------------------------------------------


def straightness(velocity_fn: VelocityFn, x0: torch.Tensor, steps: int = 100, method: str = "rk4") -> float:
    r"""Liu et al. (2023)'s straightness of the ODE's paths, equation ``eq-fm-straightness``.

    .. math:: S(v) = \int_0^1 \E\,\big\|(X_1 - X_0) - v(X_t, t)\big\|^2\,dt

    along the trajectories from ``x0``, solved with ``steps`` steps of ``method``; the
    integral over :math:`t` is the trapezoidal rule on the solver's grid. :math:`S = 0`
    exactly when every path is a straight line travelled at constant speed.
    :func:`straightness_parts` splits it into bending and change of speed.

    Args:
        velocity_fn: ``(x, t) -> v``.
        x0: source points, shape ``(batch, dim)``.
        steps, method: as in :func:`ode_sample`.

    Returns:
        a float.

    Reference: Liu et al., *Flow Straight and Fast*, ICLR 2023.

    Example:
        >>> round(straightness(lambda x, t: torch.ones_like(x), torch.zeros(5, 2), steps=4), 6)
        0.0
    """
    bending, speed = straightness_parts(velocity_fn, x0, steps, method)
    return bending + speed


def straightness_parts(velocity_fn: VelocityFn, x0: torch.Tensor, steps: int = 100,
                       method: str = "rk4") -> tuple[float, float]:
    r"""The straightness :func:`straightness` split into bending and change of speed.

    With the chord :math:`d = X_1 - X_0`, its direction :math:`\hat d = d/\|d\|` and the
    velocity split into :math:`v_\parallel = v\cdot\hat d` and :math:`v_\perp = v - v_\parallel\hat d`,

    .. math::
        \|d - v\|^2 = \underbrace{\|v_\perp\|^2}_{\text{bending}}
        + \underbrace{(\|d\| - v_\parallel)^2}_{\text{speed}},

    each integrated over :math:`t` like :math:`S`. A straight path travelled at varying
    speed has bending 0 and speed part > 0.

    Returns:
        ``(bending, speed)``, floats that add up to :func:`straightness`.

    Example:
        >>> b, s = straightness_parts(lambda x, t: 2 * t[:, None] * torch.ones_like(x), torch.zeros(3, 2))
        >>> round(b, 6), s > 0   # straight lines, but accelerating
        (0.0, True)
    """
    x0, steps, method = _check_ode_args(velocity_fn, x0, steps, method)
    with torch.no_grad():
        traj = _integrate(velocity_fn, x0, 0.0, 1.0, steps, method, record=True)   # (steps + 1, b, d)
        chord = traj[-1] - traj[0]                                                   # (b, d)
        length = chord.norm(dim=1, keepdim=True)
        direction = chord / length.clamp_min(torch.finfo(chord.dtype).tiny)
        grid = torch.linspace(0.0, 1.0, steps + 1, dtype=x0.dtype, device=x0.device)
        bend, speed = [], []
        for k in range(steps + 1):
            v = velocity_fn(traj[k], grid[k].expand(x0.shape[0]))
            v_par = (v * direction).sum(1, keepdim=True)
            bend.append((v - v_par * direction).pow(2).sum(1).mean())
            speed.append((length - v_par).pow(2).sum(1).mean())
    return (float(torch.trapezoid(torch.stack(bend), dx=1.0 / steps)),
            float(torch.trapezoid(torch.stack(speed), dx=1.0 / steps)))


# ---------------------------------------------------------------------------------------------
# The learned velocity, its training, reflow and guidance.
# ---------------------------------------------------------------------------------------------


class VelocityMLP(torch.nn.Module):
    r"""A small time-conditioned velocity field :math:`v_\theta(x, t)` (optionally class-conditional).

    The input is ``x`` concatenated with a sinusoidal embedding of :math:`1000\,t` and, if
    ``n_classes`` is given, a learned embedding of the label, where the extra label
    ``n_classes`` is the "null" label (unconditional: label dropout and guidance);
    ``n_layers`` hidden layers with SiLU activations. Inputs are cast to the parameters'
    dtype and the output back to the input's.

    Args:
        dim: data dimension.
        hidden: width of the hidden layers.
        n_layers: number of hidden layers (>= 1).
        emb_dim: size of the time (and label) embedding (even).
        n_classes: number of classes, or ``None`` for an unconditional model.

    Example:
        >>> model = VelocityMLP(2, hidden=16)
        >>> model(torch.zeros(3, 2), torch.tensor([0.0, 0.5, 1.0])).shape
        torch.Size([3, 2])
    """

    def __init__(self, dim: int, hidden: int = 64, n_layers: int = 3, emb_dim: int = 16,
                 n_classes: int | None = None):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        n_layers = check_int(n_layers, "n_layers", low=1)
        self.emb_dim = check_int(emb_dim, "emb_dim", low=2)
        if self.emb_dim % 2:
            raise ValueError(f"emb_dim: expected an even size, got {emb_dim}")
        self.n_classes = None if n_classes is None else check_int(n_classes, "n_classes", low=1)
        self.label_emb = (None if self.n_classes is None
                          else torch.nn.Embedding(self.n_classes + 1, self.emb_dim))
        width_in = dim + emb_dim * (1 if n_classes is None else 2)
        self.net = mlp([width_in, *[hidden] * n_layers, dim])

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x: expected shape (batch, {self.dim}), got {tuple(x.shape)}")
        check_array(x, "x")
        if t.shape != (x.shape[0],):
            raise ValueError(f"t: expected shape ({x.shape[0]},), got {tuple(t.shape)}")
        check_array(t, "t")
        if self.label_emb is None and labels is not None:
            raise ValueError("labels: this model is unconditional (n_classes=None); pass no labels")
        if labels is not None and labels.shape != (x.shape[0],):
            raise ValueError(f"labels: expected shape ({x.shape[0]},), got {tuple(labels.shape)}")
        return self._forward(x, t, labels)

    def _forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The network without the checks of :meth:`forward` (see :func:`companion.validation.unchecked`)."""
        dtype: torch.dtype = self.net[0].weight.dtype  # type: ignore[assignment]
        parts = [x.to(dtype), _timestep_embedding(1000.0 * t, self.emb_dim).to(x.device, dtype)]
        if self.label_emb is not None:
            if labels is None:
                labels = torch.full((x.shape[0],), self.n_classes, dtype=torch.long,  # type: ignore[arg-type]
                                    device=x.device)
            parts.append(self.label_emb(labels.long()))
        return self.net(torch.cat(parts, dim=1)).to(x.dtype)


def train_velocity_model(model: torch.nn.Module, data: torch.Tensor, *, path: str = "linear",
                         steps: int = 2000, batch_size: int = 256, lr: float = 3e-3, seed: int = 0,
                         device: str = "cpu", progress: bool = False, labels: torch.Tensor | None = None,
                         p_uncond: float = 0.1, source: torch.Tensor | None = None) -> list[float]:
    r"""Fit ``model`` by minimising :func:`cfm_loss` with Adam, equation ``eq-fm-cfm-loss``.

    Each step draws a minibatch of ``data`` (and the same rows of ``labels`` and
    ``source``), :math:`t \sim U(0, 1)` and, unless ``source`` is given,
    :math:`x_0 \sim \mathcal N(0, I)`, all from one ``torch.Generator`` seeded by ``seed``.
    With ``labels``, each label is replaced by the null label ``model.n_classes`` with
    probability ``p_uncond`` (label dropout, for classifier-free guidance). With
    ``source``, the pairs ``(source[i], data[i])`` are kept together (reflow). The
    learning rate decays by a cosine to 5% of ``lr``, as in
    :func:`companion.diffusion.train_eps_model`.

    Args:
        model: a :class:`VelocityMLP` (or any module ``(x, t) -> v``); trained in place,
            returned to the CPU in eval mode.
        data: the data :math:`x_1`, shape ``(n, dim)``.
        path: ``"linear"`` or ``"cosine"``.
        steps, batch_size, lr: optimisation settings.
        seed: seeds every draw.
        device: where to train.
        progress: show a ``tqdm`` progress bar.
        labels: integer class labels, shape ``(n,)``, for a conditional model.
        p_uncond: label-dropout probability, in [0, 1].
        source: coupled source points, the shape of ``data``.

    Returns:
        the loss at each step, a list of floats.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    data = _tensor(data, "data", ndim=2)
    check_choice(path, "path", PATHS)
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    seed = check_int(seed, "seed", low=0)
    p_uncond = check_scalar(p_uncond, "p_uncond", low=0.0, high=1.0)
    if source is not None:
        source = _tensor(source, "source")
        check_same_shape(source=source, data=data)
    if labels is not None:
        if not isinstance(labels, torch.Tensor) or labels.dtype.is_floating_point:
            raise TypeError(f"labels: expected an integer tensor, got {type(labels).__name__}")
        if labels.shape != (data.shape[0],):
            raise ValueError(f"labels: expected shape ({data.shape[0]},), got {tuple(labels.shape)}")
        n_classes = getattr(model, "n_classes", None)
        if n_classes is None:
            raise ValueError("labels: the model has no n_classes (an unconditional model); pass no labels")
        if int(labels.min()) < 0 or int(labels.max()) >= n_classes:
            raise ValueError(f"labels: expected classes in [0, {n_classes - 1}], got range "
                             f"[{int(labels.min())}, {int(labels.max())}]")
    gen = torch.Generator().manual_seed(seed)
    dtype = next(model.parameters()).dtype
    data = data.to(device=device, dtype=dtype)
    source = None if source is None else source.to(device=device, dtype=dtype)
    labels = None if labels is None else labels.to(device=device, dtype=torch.long)
    model.to(device).train()

    def step_loss(step: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, data.shape[0], (batch_size,), generator=gen).to(device)
        t = torch.rand(batch_size, generator=gen, dtype=dtype).to(device)
        x0 = (source[idx] if source is not None
              else torch.randn((batch_size, data.shape[1]), generator=gen, dtype=dtype).to(device))
        fn = model
        if labels is not None:
            drop = (torch.rand(batch_size, generator=gen) < p_uncond).to(device)
            lab = torch.where(drop, torch.full_like(labels[idx], model.n_classes), labels[idx])  # type: ignore[arg-type]
            fn = lambda x, s, lab=lab: model(x, s, lab)  # type: ignore[assignment]  # noqa: E731
        return _cfm_loss(fn, x0, data[idx], t, path)

    history = fit(model.parameters(), step_loss, steps=steps, lr=lr, generator=gen, decay_to=0.05,
                  progress=progress, desc="training velocity model")
    model.to("cpu").eval()
    return history["loss"]


def reflow_couplings(velocity_fn: VelocityFn, n: int, steps: int = 100, method: str = "rk4", seed: int = 0,
                     dim: int = 2):
    r"""Rectified flow's reflow pairs :math:`(x_0, \hat x_1 = \psi_1(x_0))`, equation ``eq-fm-reflow``.

    Draws :math:`x_0 \sim \mathcal N(0, I)` (float64, from a generator seeded by ``seed``) and
    pushes them through the ODE of ``velocity_fn`` with :func:`ode_sample`. Training a new
    velocity on these *coupled* pairs (``train_velocity_model(..., source=x0)``) straightens
    the paths.

    Returns:
        ``(x0, x1)``, each of shape ``(n, dim)``.

    Reference: Liu et al., *Flow Straight and Fast*, ICLR 2023.

    Example:
        >>> x0, x1 = reflow_couplings(lambda x, t: torch.ones_like(x), 3, steps=2)
        >>> bool(torch.allclose(x1, x0 + 1))
        True
    """
    _check_fn(velocity_fn, "velocity_fn")
    n = check_int(n, "n", low=1)
    steps = check_int(steps, "steps", low=1)
    method = _check_method(method)
    seed = check_int(seed, "seed", low=0)
    dim = check_int(dim, "dim", low=1)
    x0 = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    with torch.no_grad():
        return x0, _integrate(velocity_fn, x0, 0.0, 1.0, steps, method)


def cfg_velocity(v_uncond: torch.Tensor, v_cond: torch.Tensor, scale: float) -> torch.Tensor:
    r"""Classifier-free guidance on velocities, equation ``eq-fm-cfg``.

    .. math:: v_s = v_{\varnothing} + s\,(v_c - v_{\varnothing})

    ``scale`` :math:`s = 0` gives the unconditional velocity, :math:`s = 1` the conditional one.

    Example:
        >>> cfg_velocity(torch.zeros(1, 2), torch.ones(1, 2), 3.0)
        tensor([[3., 3.]])
    """
    v_uncond, v_cond = _tensor(v_uncond, "v_uncond"), _tensor(v_cond, "v_cond")
    check_same_shape(v_uncond=v_uncond, v_cond=v_cond)
    scale = check_scalar(scale, "scale")
    return v_uncond + scale * (v_cond - v_uncond)


# Names whose home moved, still resolved here on first use, so readers' code written against the
# old paths keeps working: the widgets (presentation apart from the mathematics).
_HOMES = {
    "views.flow_matching": ("SAMPLING_SLIDERS", "sampling_view", "sampling_widget_spec", "widget_specs"),
}


__getattr__ = moved_names(__name__, _HOMES)
