"""Normalizing flows (chapter ``ch-flows``): change of variables, coupling layers, exact likelihood.

Direction convention. A flow is an invertible map :math:`f` from a base variable
:math:`z \\sim \\mathcal N(0, I)` to data :math:`x = f(z)`. Every layer's ``forward`` runs
in that *generative* direction (towards the data) and returns ``(y, log_det)`` with
``log_det`` :math:`= \\log|\\det \\partial y / \\partial x|`; its ``inverse`` runs towards the
base and returns ``(x, log_det)`` with the log-determinant of the inverse map. The
likelihood uses only inverses (equation ``eq-cov-nd``); sampling uses only forwards.
"""

from __future__ import annotations

import math  # noqa: F401 -- used by the doctests
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from . import validation
from .change_of_variables import (  # noqa: F401 -- re-exported: their home is companion.change_of_variables
    log_abs_det_jacobian,
    log_prob_change_of_variables,
    standard_normal_log_prob,
)
from .datasets import (  # noqa: F401 -- re-exported: their home is companion.datasets
    _rng,
    sample_checkerboard,
    sample_two_moons,
)
from .networks import mlp
from .splines import (  # noqa: F401 -- re-exported: their home is companion.splines
    _rq_spline,
    rational_quadratic_spline,
)
from .training import fit
from .utils import moved_names
from .validation import ArrayLike, check_array, check_choice, check_int, check_scalar, is_torch

__all__ = ["AffineCoupling", "SplineCoupling", "Permutation", "Flow", "make_flow", "train_flow",
           "negative_log_likelihood", "flow_1d_inverse", "flow_1d_forward"]


# ---------------------------------------------------------------------- layers


def _check_mask(mask: ArrayLike, dim: int) -> torch.Tensor:
    mask = check_array(mask, "mask", shape=(dim,))
    mask = torch.as_tensor(np.asarray(mask) if not is_torch(mask) else mask, dtype=torch.float64)
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"mask: expected entries 0 or 1, got {mask.tolist()}")
    if int(mask.sum()) in (0, dim):
        raise ValueError(f"mask: expected both 0s (transformed) and 1s (kept), got {mask.tolist()}")
    return mask


def _check_input(x: torch.Tensor, name: str, dim: int) -> torch.Tensor:
    x = check_array(x, name, shape=(None, dim))
    if not is_torch(x):
        raise TypeError(f"{name}: expected a torch tensor, got {type(x).__name__}")
    return x


class InvertibleLayer(nn.Module):
    """Base of the flow layers: ``forward`` and ``inverse`` check their input, then run the
    kernels ``_forward`` and ``_inverse``. A :class:`Flow` checks its input once and calls the
    kernels directly, except on a layer with forward hooks (called as usual, so that they run) or
    when :data:`companion.validation.CHECK_EVERY_CALL` asks for every check."""

    dim: int
    #: The names of the two sides in error messages: ``(data side, base side)``.
    _sides = ("x", "y")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x -> (y, log|det dy/dx|)`` (towards the data), shapes ``(batch, dim)`` and ``(batch,)``."""
        return self._forward(_check_input(x, self._sides[0], self.dim))

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``y -> (x, log|det dx/dy|)`` (towards the base)."""
        return self._inverse(_check_input(y, self._sides[1], self.dim))

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def _inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class AffineCoupling(InvertibleLayer):
    r"""Affine coupling layer (RealNVP), equations ``eq-affine-coupling`` and ``eq-coupling-logdet``.

    With a binary ``mask`` :math:`b` (1 = kept, 0 = transformed) and a conditioner
    network that sees only the kept coordinates,

    .. math::
        y = b \odot x + (1 - b) \odot \big(x \odot e^{s(b \odot x)} + t(b \odot x)\big),
        \qquad \log|\det \partial y/\partial x| = \sum_i (1 - b_i)\, s_i(b \odot x).

    The Jacobian is triangular (after ordering kept coordinates first), so its
    log-determinant is a sum. The log-scale is bounded, :math:`s = s_{\max}\tanh(\tilde s / s_{\max})`,
    so one layer can stretch by at most :math:`e^{s_{\max}}`; that keeps training stable.

    Args:
        dim: data dimension (>= 2).
        mask: shape ``(dim,)``, entries 0 or 1, with at least one of each.
        hidden: width of the conditioner MLP's two hidden layers.
        scale_bound: :math:`s_{\max} > 0`.

    Example:
        >>> layer = AffineCoupling(2, [1, 0]).double()
        >>> x = torch.randn(5, 2, dtype=torch.float64)
        >>> y, ld = layer(x); x_back, ld_inv = layer.inverse(y)
        >>> bool(torch.allclose(x_back, x, atol=1e-12)), bool(torch.allclose(ld, -ld_inv))
        (True, True)
    """

    mask: torch.Tensor  # a buffer: 1 on the coordinates passed through unchanged

    def __init__(self, dim: int, mask: ArrayLike, hidden: int = 32, scale_bound: float = 2.0):
        super().__init__()
        self.dim = check_int(dim, "dim", low=2)
        self.register_buffer("mask", _check_mask(mask, self.dim).float())
        hidden = check_int(hidden, "hidden", low=1)
        self.scale_bound = check_scalar(scale_bound, "scale_bound", low=0.0, closed=(False, True))
        self.net = mlp([self.dim, hidden, hidden, 2 * self.dim], nn.Tanh)

    def _scale_shift(self, x_kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s_raw, t = self.net(x_kept).chunk(2, dim=-1)
        s = self.scale_bound * torch.tanh(s_raw / self.scale_bound)
        free = 1 - self.mask
        return s * free, t * free  # zero on the kept coordinates

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self._scale_shift(x * self.mask)
        y = x * torch.exp(s) + t  # s = t = 0 on kept coordinates, so they pass unchanged
        return y, s.sum(dim=-1)

    def _inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self._scale_shift(y * self.mask)  # the kept coordinates of y equal those of x
        x = (y - t) * torch.exp(-s)
        return x, -s.sum(dim=-1)


class SplineCoupling(InvertibleLayer):
    r"""Rational-quadratic spline coupling layer (neural spline flow), equation ``eq-rq-spline``.

    The kept coordinates (``mask == 1``) pass unchanged and feed a network that outputs,
    for every transformed coordinate, the ``K`` widths, ``K`` heights and ``K - 1``
    slopes of a monotone spline (:func:`rational_quadratic_spline`). As in
    :class:`AffineCoupling` the Jacobian is triangular and the log-determinant is the sum
    of the transformed coordinates' :math:`\log|dy_i/dx_i|` (equation ``eq-coupling-logdet``),
    but each coordinate now moves through a flexible monotone curve instead of a line.

    Args:
        dim: data dimension (>= 2).
        mask: shape ``(dim,)``, entries 0 or 1, with at least one of each.
        hidden: width of the conditioner MLP.
        n_bins: number of spline bins ``K`` (>= 2).
        bound: the spline acts on ``[-bound, bound]``, identity outside.

    Example:
        >>> layer = SplineCoupling(2, [1, 0], n_bins=4).double()
        >>> x = torch.randn(5, 2, dtype=torch.float64)
        >>> y, ld = layer(x); x_back, ld_inv = layer.inverse(y)
        >>> bool(torch.allclose(x_back, x, atol=1e-10)), bool(torch.allclose(ld, -ld_inv))
        (True, True)
    """

    mask: torch.Tensor  # buffers: 1 on the coordinates passed through unchanged, and the others' indices
    free: torch.Tensor

    def __init__(self, dim: int, mask: ArrayLike, hidden: int = 32, n_bins: int = 8, bound: float = 3.0):
        super().__init__()
        self.dim = check_int(dim, "dim", low=2)
        self.register_buffer("mask", _check_mask(mask, self.dim).float())
        hidden = check_int(hidden, "hidden", low=1)
        self.n_bins = check_int(n_bins, "n_bins", low=2)
        self.bound = check_scalar(bound, "bound", low=0.0, closed=(False, True))
        self.net = mlp([self.dim, hidden, hidden, self.dim * (3 * self.n_bins - 1)], nn.Tanh)
        # the transformed coordinates (a buffer, not saved: it follows from the mask)
        self.register_buffer("free", torch.nonzero(self.mask == 0)[:, 0], persistent=False)

    def _transform(self, x: torch.Tensor, inverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        params = self.net(x * self.mask).reshape(x.shape[0], self.dim, 3 * self.n_bins - 1)  # (B, D, 3K-1)
        params = params[:, self.free]  # the transformed coordinates' splines only: (B, F, 3K-1)
        K = self.n_bins
        w, h, d = params[..., :K], params[..., K:2 * K], params[..., 2 * K:]
        y, ld = _rq_spline(x[:, self.free], w, h, d, self.bound, inverse, 1e-3, 1e-3)
        return x.index_copy(1, self.free, y), ld.sum(dim=-1)  # kept coordinates pass unchanged

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._transform(x, inverse=False)

    def _inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._transform(y, inverse=True)


class Permutation(InvertibleLayer):
    """Reorders coordinates, ``y = x[:, perm]``: volume preserving, so ``log_det = 0``.

    Between coupling layers it lets every coordinate be transformed in turn.

    Args:
        perm: a permutation of ``0, ..., dim - 1``.

    Example:
        >>> Permutation([1, 0])(torch.tensor([[1.0, 2.0]]))[0]
        tensor([[2., 1.]])
    """

    perm: torch.Tensor  # buffers: the permutation and its inverse
    inv_perm: torch.Tensor

    def __init__(self, perm: Sequence[int]):
        super().__init__()
        p = check_array(torch.as_tensor(np.asarray(list(perm), dtype=np.float64)), "perm")
        if bool((p != p.round()).any()):
            raise ValueError(f"perm: expected integers, got {p.tolist()}")
        p = p.long()
        if p.ndim != 1 or sorted(p.tolist()) != list(range(len(p))):
            raise ValueError(f"perm: expected a permutation of 0..{len(p) - 1}, got {p.tolist()}")
        self.dim = len(p)
        self.register_buffer("perm", p)
        self.register_buffer("inv_perm", torch.argsort(p))

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[:, self.perm], x.new_zeros(x.shape[0])

    def _inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return y[:, self.inv_perm], y.new_zeros(y.shape[0])


class Flow(nn.Module):
    r"""A stack of invertible layers on a standard normal base, equation ``eq-flow-logprob``.

    ``x = f_L(... f_1(z))`` with :math:`z \sim \mathcal N(0, I)`; by the chain rule the
    log-determinants of the layers add up:

    .. math::
        \log p_X(x) = \log p_Z(z_0)
        + \sum_{l=1}^{L} \log\left|\det \frac{\partial z_{l-1}}{\partial z_l}\right|,
        \quad z_L = x,\; z_{l-1} = f_l^{-1}(z_l).

    Args:
        layers: modules with ``forward(x) -> (y, log_det)`` and ``inverse(y) -> (x, log_det)``.
        dim: data dimension.

    Example:
        >>> flow = make_flow(n_layers=2, seed=0).double()
        >>> x = flow.sample(3)
        >>> flow.log_prob(x).shape
        torch.Size([3])
    """

    def __init__(self, layers: Sequence[nn.Module], dim: int):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        if len(layers) == 0:
            raise ValueError("layers: expected at least one layer, got none")
        for i, layer in enumerate(layers):
            if not (hasattr(layer, "inverse") and getattr(layer, "dim", dim) == dim):
                raise ValueError(f"layers: layer {i} ({type(layer).__name__}) is not an invertible "
                                 f"layer of dimension {dim}")
        self.layers = nn.ModuleList(layers)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Base to data: ``z -> (x, log|det dx/dz|)``."""
        return self._through(_check_input(z, "z", self.dim), list(self.layers), "_forward")

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Data to base: ``x -> (z, log|det dz/dx|)``, the layers' inverses in reverse order."""
        return self._through(_check_input(x, "x", self.dim), list(self.layers)[::-1], "_inverse")

    def _through(self, h: torch.Tensor, layers: list, kernel: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``h`` (checked by the caller) through ``layers``, summing their log-determinants; each
        layer's unchecked ``kernel`` where it has one, its checked method otherwise."""
        shape = h.shape
        total = h.new_zeros(shape[0])
        for layer in layers:
            step = validation.unchecked(layer, kernel, layer if kernel == "_forward" else layer.inverse)
            h, ld = step(h)
            if h.shape != shape:  # a layer of another dimension (free to check: no data scanned)
                raise ValueError(f"layers: {type(layer).__name__} returned shape {tuple(h.shape)}, "
                                 f"expected {tuple(shape)}")
            total = total + ld
        return h, total

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact ``log p_X(x)``, shape ``(batch,)``, by equation ``eq-cov-nd`` with :meth:`inverse`."""
        x = _check_input(x, "x", self.dim)
        layers = list(self.layers)[::-1]
        return log_prob_change_of_variables(x, lambda h: self._through(h, layers, "_inverse"))

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples ``x = f(z)``, ``z ~ N(0, I)``, shape ``(n, dim)``, without gradients."""
        n = check_int(n, "n", low=1)
        p = next(self.parameters())
        z = torch.randn(n, self.dim, generator=generator, dtype=p.dtype, device=p.device)
        with torch.no_grad():
            return self(z)[0]

    def trajectory(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The base points after 0, 1, ..., all non-permutation layers, in data coordinates.

        Permutations only relabel axes, so each intermediate state is shown with the
        remaining permutations already applied; the last entry is ``forward(z)[0]``.
        """
        h = _check_input(z, "z", self.dim)
        states = []
        with torch.no_grad():
            for i, layer in enumerate(list(self.layers) + [None]):
                if layer is not None and isinstance(layer, Permutation):
                    h = layer(h)[0]
                    continue
                shown = h
                for later in self.layers[i:]:
                    if isinstance(later, Permutation):
                        shown = later(shown)[0]
                states.append(shown)
                if layer is not None:
                    h = layer(h)[0]
        return states


def make_flow(dim: int = 2, n_layers: int = 4, *, kind: str = "affine", hidden: int = 32,
              n_bins: int = 8, bound: float = 3.0, seed: int = 0) -> Flow:
    """A :class:`Flow` of ``n_layers`` coupling layers with a reversal permutation between them.

    Args:
        dim: data dimension (>= 2).
        n_layers: number of coupling layers (>= 1).
        kind: ``"affine"`` (:class:`AffineCoupling`) or ``"spline"`` (:class:`SplineCoupling`).
        hidden: conditioner width.
        n_bins, bound: spline settings (``kind="spline"`` only).
        seed: seeds the initial weights.

    Returns:
        a float32 :class:`Flow`.

    Example:
        >>> len(make_flow(n_layers=3).layers)  # coupling, perm, coupling, perm, coupling
        5
    """
    dim = check_int(dim, "dim", low=2)
    n_layers = check_int(n_layers, "n_layers", low=1)
    kind = check_choice(kind, "kind", ["affine", "spline"])
    seed = check_int(seed, "seed", low=0)
    mask = [1.0] * (dim // 2) + [0.0] * (dim - dim // 2)
    reverse = list(range(dim))[::-1]
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        layers: list[nn.Module] = []
        for i in range(n_layers):
            if kind == "affine":
                layers.append(AffineCoupling(dim, mask, hidden=hidden))
            else:
                layers.append(SplineCoupling(dim, mask, hidden=hidden, n_bins=n_bins, bound=bound))
            if i < n_layers - 1:
                layers.append(Permutation(reverse))
    finally:
        torch.random.set_rng_state(gen_state)
    return Flow(layers, dim)


# -------------------------------------------------------------------- training


def train_flow(flow: Flow, data: ArrayLike, *, steps: int = 300, batch_size: int = 256, lr: float = 5e-3,
               seed: int = 0, device: str = "cpu", progress: bool = True) -> dict[str, list[float]]:
    r"""Fit ``flow`` by exact maximum likelihood: minimise :math:`-\frac1B\sum_i \log p_X(x_i)` with Adam.

    Args:
        flow: the :class:`Flow` to train (in place).
        data: training points, shape ``(n, dim)``.
        steps: optimiser steps (>= 1).
        batch_size: minibatch size (>= 1); batches are drawn with replacement.
        lr: Adam learning rate (> 0).
        seed: seeds the minibatch draws.
        device: torch device.
        progress: show a ``tqdm`` progress bar.

    Returns:
        history ``{"step": [...], "loss": [...]}``, the loss in nats per point.

    Example:
        >>> flow = make_flow(n_layers=2, seed=0)
        >>> hist = train_flow(flow, sample_two_moons(256, rng=0), steps=3, progress=False)
        >>> len(hist["loss"])
        3
    """
    if not isinstance(flow, Flow):
        raise TypeError(f"flow: expected a Flow, got {type(flow).__name__}")
    data = check_array(data, "data", shape=(None, flow.dim))
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    seed = check_int(seed, "seed", low=0)
    dtype = next(flow.parameters()).dtype
    flow.to(device)
    x_all = torch.as_tensor(np.asarray(data) if not is_torch(data) else data, dtype=dtype, device=device)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    flow.train()

    def step_loss(step: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, x_all.shape[0], (batch_size,), generator=gen)
        return -flow.log_prob(x_all[idx.to(device)]).mean()

    history = fit(flow.parameters(), step_loss, steps=steps, lr=lr, generator=gen, clip_norm=10.0,
                  progress=progress, desc="flow")
    flow.eval()
    return history


def negative_log_likelihood(flow: Flow, data: ArrayLike) -> float:
    r"""Mean negative log-likelihood :math:`-\frac1n\sum_i \log p_X(x_i)` in nats (e.g. on held-out data).

    Example:
        >>> flow = make_flow(n_layers=1).double()
        >>> nll = negative_log_likelihood(flow, np.zeros((4, 2)))
        >>> bool(np.isfinite(nll))
        True
    """
    if not isinstance(flow, Flow):
        raise TypeError(f"flow: expected a Flow, got {type(flow).__name__}")
    data = check_array(data, "data", shape=(None, flow.dim))
    p = next(flow.parameters())
    x = torch.as_tensor(np.asarray(data) if not is_torch(data) else data, dtype=p.dtype, device=p.device)
    with torch.no_grad():
        return float(-flow.log_prob(x).mean())


# ------------------------------------------------------ a 1-D flow for the widget


def flow_1d_inverse(x: ArrayLike, shift: float, scale: float, bend: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The inverse of a one-dimensional flow and its log-derivative, equation ``eq-flow-1d``.

    .. math::
        z = f^{-1}(x) = u + \beta \tanh u, \quad u = \frac{x - m}{\sigma},
        \qquad \log\left|\frac{dz}{dx}\right| = \log\big(1 + \beta\,(1 - \tanh^2 u)\big) - \log\sigma,

    strictly increasing (so invertible) for :math:`\beta > -1`.

    Args:
        x: points, any shape.
        shift: :math:`m`.
        scale: :math:`\sigma > 0`.
        bend: :math:`\beta > -1`.

    Returns:
        ``(z, log_abs_dz_dx)``, NumPy arrays of the shape of ``x``.

    Example:
        >>> z, ld = flow_1d_inverse(np.array([3.0]), 1.0, 2.0, 0.0)
        >>> float(z[0]), round(float(ld[0]), 6)
        (1.0, -0.693147)
    """
    x = np.asarray(check_array(x, "x"), dtype=np.float64)
    shift = check_scalar(shift, "shift")
    scale = check_scalar(scale, "scale", low=0.0, closed=(False, True))
    bend = check_scalar(bend, "bend", low=-1.0, closed=(False, True))
    u = (x - shift) / scale
    th = np.tanh(u)
    return u + bend * th, np.log1p(bend * (1.0 - th**2)) - np.log(scale)


def flow_1d_forward(z: ArrayLike, shift: float, scale: float, bend: float) -> np.ndarray:
    """The forward map ``x = f(z)`` whose inverse is :func:`flow_1d_inverse`, by bisection (to ~1e-14).

    Since :math:`|\\tanh| \\le 1`, the root ``u`` of ``u + bend * tanh(u) = z`` lies in
    ``[z - |bend|, z + |bend|]``; 60 halvings pin it to round-off.

    Example:
        >>> x = flow_1d_forward(np.array([0.3, -2.0]), 0.5, 1.5, 2.0)
        >>> np.allclose(flow_1d_inverse(x, 0.5, 1.5, 2.0)[0], [0.3, -2.0], atol=1e-12)
        True
    """
    z = np.asarray(check_array(z, "z"), dtype=np.float64)
    shift = check_scalar(shift, "shift")
    scale = check_scalar(scale, "scale", low=0.0, closed=(False, True))
    bend = check_scalar(bend, "bend", low=-1.0, closed=(False, True))
    lo, hi = z - abs(bend) - 1e-12, z + abs(bend) + 1e-12
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = mid + bend * np.tanh(mid) > z
        hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
    return shift + scale * 0.5 * (lo + hi)


# Names whose home moved, still resolved here on first use, so readers' code written against the
# old paths keeps working: the widgets (presentation apart from the mathematics).
_HOMES = {
    "views.flows": (
        "FLOW_1D_SLIDERS", "flow_1d_view", "flow_layers_view", "flow_1d_widget_spec", "widget_specs"
    ),
}


__getattr__ = moved_names(__name__, _HOMES)
