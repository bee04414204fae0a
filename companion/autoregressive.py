"""Autoregressive flows and discrete data (chapter ``ch-flows``): MADE, MAF, IAF, dequantisation, bits/dim.

Direction convention as in :mod:`companion.flows`: a layer's ``forward`` runs from the base
towards the data and returns ``(y, log|det dy/dx|)``; its ``inverse`` runs towards the base.
A masked autoregressive flow (MAF) conditions each coordinate on the *data-side* coordinates
before it, so its ``inverse`` (the density) takes one network pass and its ``forward`` (sampling)
``dim`` passes; an inverse autoregressive flow (IAF) conditions on the *base-side* ones, and the
costs swap (equations ``eq-maf`` and ``eq-iaf``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .flows import Flow, InvertibleLayer
from .validation import Array, ArrayLike, check_array, check_choice, check_int, check_scalar, is_torch

__all__ = [
    "made_masks",
    "MADE",
    "MaskedAffineAutoregressive",
    "LogitTransform",
    "make_autoregressive_flow",
    "network_evaluations",
    "dequantize",
    "dequantized_log_likelihood",
    "bits_per_dim",
    "fit_pixel_categorical",
    "categorical_log_prob",
    "gaussian_comb_log_prob",
]


# ------------------------------------------------------------------ MADE masks


def _check_order(order: ArrayLike) -> torch.Tensor:
    values = order.detach().cpu().numpy() if is_torch(order) else order
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"order: expected a sequence of integers, got {type(order).__name__}") from err
    values = check_array(values, "order", ndim=1)
    if len(values) < 2 or np.any(values != np.round(values)) \
            or sorted(values.astype(int).tolist()) != list(range(len(values))):
        raise ValueError(f"order: expected a permutation of 0..dim-1 (dim >= 2), got {values.tolist()}")
    return torch.as_tensor(values.astype(np.int64))


def _check_hidden(hidden: Sequence[int]) -> list[int]:
    if not isinstance(hidden, Sequence) or len(hidden) == 0:
        raise TypeError(f"hidden: expected a non-empty sequence of layer widths, got {hidden!r}")
    return [check_int(h, "hidden", low=1) for h in hidden]


def made_masks(order: ArrayLike, hidden: Sequence[int] = (32, 32), n_params: int = 2) -> list[torch.Tensor]:
    r"""MADE's masks, equation ``eq-made``: output ``i`` sees input ``j`` only if ``j`` precedes ``i``.

    With degrees :math:`m_0(j) = \mathrm{order}_j + 1` for the inputs and
    :math:`m_l(k) = (k \bmod (D - 1)) + 1` for the hidden units of layer ``l``
    (a deterministic, cyclic choice; Germain et al., 2015, draw the hidden degrees at random), a
    hidden unit connects to a unit below it if
    :math:`m_l(k) \ge m_{l-1}(k')`, and output ``i`` to a last hidden unit if
    :math:`m_0(i) > m_L(k)`. Every path from input ``j`` to output ``i`` then has
    :math:`m_0(j) \le \dots < m_0(i)`, so output ``i`` depends only on the inputs earlier in
    the order: the network's Jacobian is strictly triangular in that order.

    ``order``: a permutation of ``0..D-1``, ``order[j]`` being input ``j``'s position; ``hidden``:
    the hidden widths; ``n_params`` outputs per coordinate, row ``i * n_params + p`` holding
    parameter ``p`` of coordinate ``i`` (zuko's ``MaskedMLP`` layout). Returns boolean masks of
    shapes ``(hidden[0], D)``, ..., ``(D * n_params, hidden[-1])``.

    Example:
        >>> [m.int().tolist() for m in made_masks([0, 1, 2], hidden=[2], n_params=1)]
        [[[1, 0, 0], [1, 1, 0]], [[0, 0], [1, 0], [1, 1]]]
    """
    order = _check_order(order)
    hidden = _check_hidden(hidden)
    n_params = check_int(n_params, "n_params", low=1)
    dim = len(order)
    degrees = [order + 1] + [torch.arange(width) % (dim - 1) + 1 for width in hidden]
    masks = [d_out[:, None] >= d_in[None, :] for d_in, d_out in zip(degrees[:-1], degrees[1:], strict=True)]
    last = degrees[0][:, None] > degrees[-1][None, :]  # (D, hidden[-1]): strict, so no output sees itself
    return masks + [last.repeat_interleave(n_params, dim=0)]


class MADE(nn.Module):
    r"""Masked autoencoder for distribution estimation: a tanh MLP masked as in equation ``eq-made``.

    One evaluation returns, for every coordinate ``i``, ``n_params`` numbers that depend only
    on the inputs before ``i`` in ``order``; ``n_calls`` counts evaluations. Arguments as in
    :func:`made_masks`.

    Example:
        >>> net = MADE([1, 0], hidden=[4]).double()
        >>> out = net(torch.zeros(3, 2, dtype=torch.float64)); tuple(out.shape), net.n_calls
        ((3, 2, 2), 1)
    """

    def __init__(self, order: ArrayLike, hidden: Sequence[int] = (32, 32), n_params: int = 2):
        super().__init__()
        masks = made_masks(order, hidden, n_params)
        self.dim, self.n_params = masks[0].shape[1], n_params
        sizes = [self.dim, *[m.shape[0] for m in masks]]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        for i, mask in enumerate(masks):
            self.register_buffer(f"mask{i}", mask.float())
        self.n_calls = 0

    def masks(self) -> list[torch.Tensor]:
        """The masks, as registered buffers (in the module's dtype)."""
        return [getattr(self, f"mask{i}") for i in range(len(self.layers))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (batch, D) -> (batch, D, n_params)``."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x: expected shape (any, {self.dim}), got {tuple(x.shape)}")
        self.n_calls += 1
        h = x
        for i, (layer, mask) in enumerate(zip(self.layers, self.masks(), strict=True)):
            h = F.linear(h, layer.weight * mask, layer.bias)  # type: ignore[operator, arg-type]
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return h.unflatten(1, (self.dim, self.n_params))  # (B, D * n_params) -> (B, D, n_params)


# ------------------------------------------------------------- MAF and IAF layers


def _check_tensor(x: torch.Tensor, name: str, dim: int) -> torch.Tensor:
    x = check_array(x, name, shape=(None, dim))
    if not is_torch(x):
        raise TypeError(f"{name}: expected a torch tensor, got {type(x).__name__}")
    return x


class MaskedAffineAutoregressive(InvertibleLayer):
    r"""An affine autoregressive layer: MAF (equation ``eq-maf``) or IAF (equation ``eq-iaf``).

    With shift and log-scale :math:`(t_i, s_i)` from a :class:`MADE` that sees only the
    coordinates before ``i`` in ``order``:

    - MAF conditions on the data side, :math:`x_i = z_i e^{s_i(x_{<i})} + t_i(x_{<i})`: the
      inverse :math:`z = (x - t(x)) e^{-s(x)}` is one pass; sampling fixes one coordinate
      per pass, ``dim`` passes.
    - IAF conditions on the base side, :math:`x_i = z_i e^{s_i(z_{<i})} + t_i(z_{<i})`: one
      pass to sample, ``dim`` passes to invert.

    Either way the Jacobian is triangular in ``order`` with diagonal :math:`e^{s_i}`, so
    :math:`\log|\det \partial x/\partial z| = \sum_i s_i`. The log-scale is bounded as in
    :class:`companion.flows.AffineCoupling`, :math:`s = s_{\max}\tanh(\tilde s/s_{\max})`.

    ``order`` is a permutation of ``0..dim-1`` (the identity if ``None``), ``hidden`` the MADE's
    widths, ``kind`` ``"maf"`` or ``"iaf"``, ``scale_bound`` :math:`s_{\max} > 0`.

    Example:
        >>> layer = MaskedAffineAutoregressive(3, kind="maf").double()
        >>> z = torch.randn(4, 3, dtype=torch.float64)
        >>> x, ld = layer(z); z_back, ld_inv = layer.inverse(x)
        >>> bool(torch.allclose(z_back, z, atol=1e-12)), bool(torch.allclose(ld, -ld_inv))
        (True, True)
    """

    def __init__(self, dim: int, order: ArrayLike | None = None, hidden: Sequence[int] = (32, 32), *,
                 kind: str = "maf", scale_bound: float = 2.0):
        super().__init__()
        self.dim = check_int(dim, "dim", low=2)
        order = _check_order(range(self.dim) if order is None else order)
        if len(order) != self.dim:
            raise ValueError(f"order: expected a permutation of 0..{self.dim - 1}, got {order.tolist()}")
        self.kind = check_choice(kind, "kind", ["maf", "iaf"])
        self.scale_bound = check_scalar(scale_bound, "scale_bound", low=0.0, closed=(False, True))
        self.register_buffer("order", order)
        self.net = MADE(order, hidden, n_params=2)

    def shift_log_scale(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(t, s)``, each ``(batch, dim)``, from the conditioner's side ``h`` (``x``: MAF, ``z``: IAF)."""
        t, s_raw = self.net(h).unbind(dim=2)  # (B, D, 2) -> two (B, D)
        return t, self.scale_bound * torch.tanh(s_raw / self.scale_bound)

    _sides = ("z", "x")

    def _forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Base to data, ``z -> (x, log|det dx/dz|)``: one pass for IAF, ``dim`` passes for MAF."""
        if self.kind == "iaf":
            t, s = self.shift_log_scale(z)
            return z * torch.exp(s) + t, s.sum(dim=1)
        x = torch.zeros_like(z)
        for _ in range(self.dim):  # after pass p the first p coordinates in the order are exact
            t, s = self.shift_log_scale(x)
            x = z * torch.exp(s) + t
        return x, s.sum(dim=1)

    def _inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Data to base, ``x -> (z, log|det dz/dx|)``: one pass for MAF, ``dim`` passes for IAF."""
        if self.kind == "maf":
            t, s = self.shift_log_scale(x)
            return (x - t) * torch.exp(-s), -s.sum(dim=1)
        z = torch.zeros_like(x)
        for _ in range(self.dim):
            t, s = self.shift_log_scale(z)
            z = (x - t) * torch.exp(-s)
        return z, -s.sum(dim=1)


class LogitTransform(InvertibleLayer):
    r"""The logit preprocessing of data in :math:`[0, 1)^D` as a flow layer, equation ``eq-logit``.

    Towards the base, :math:`y = \operatorname{logit}(w)` with :math:`w = \lambda + (1 - 2\lambda) x`,
    so :math:`\log|\det \partial y/\partial x| = \sum_i [\log(1 - 2\lambda) - \log w_i - \log(1 - w_i)]`;
    ``forward`` is the sigmoid back. As the last layer of a :class:`companion.flows.Flow` it
    makes ``log_prob`` a density of the data that includes this log-determinant. Its support is
    the sigmoid's image, :math:`\big(-\lambda/(1 - 2\lambda),\ (1 - \lambda)/(1 - 2\lambda)\big)^D`,
    a little larger than :math:`[0, 1)^D`: the mass outside is wasted, which loosens a
    dequantisation bound slightly but never invalidates it.

    Example:
        >>> layer = LogitTransform(2, lam=0.05)
        >>> x = torch.tensor([[0.0, 0.5]], dtype=torch.float64); y, ld = layer.inverse(x)
        >>> bool(torch.allclose(layer(y)[0], x)), round(float(ld[0]), 4)
        (True, 4.2226)
    """

    def __init__(self, dim: int, lam: float = 0.05):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        self.lam = check_scalar(lam, "lam", low=0.0, high=0.5, closed=(False, False))

    _sides = ("y", "x")

    def _forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``y -> (x, log|det dx/dy|)``."""
        log_det = (F.logsigmoid(y) + F.logsigmoid(-y) - math.log(1 - 2 * self.lam)).sum(dim=1)
        return (torch.sigmoid(y) - self.lam) / (1 - 2 * self.lam), log_det

    def _inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x -> (y, log|det dy/dx|)``, for ``x`` inside ``(-lam, 1 - lam) / (1 - 2 lam)``."""
        w = self.lam + (1 - 2 * self.lam) * x
        if float(w.detach().min()) <= 0 or float(w.detach().max()) >= 1:
            raise ValueError(f"x: expected values in ({-self.lam / (1 - 2 * self.lam):.4g}, "
                             f"{(1 - self.lam) / (1 - 2 * self.lam):.4g}), got [{float(x.min())}, "
                             f"{float(x.max())}]")
        log_det = (math.log(1 - 2 * self.lam) - torch.log(w) - torch.log1p(-w)).sum(dim=1)
        return torch.log(w) - torch.log1p(-w), log_det


def make_autoregressive_flow(dim: int = 2, n_layers: int = 4, *, kind: str = "maf",
                             hidden: Sequence[int] = (32, 32), seed: int = 0) -> Flow:
    """A :class:`companion.flows.Flow` of ``n_layers`` MAF or IAF layers with alternating orders.

    The layer next to the data uses the order ``0, 1, ..., dim - 1``, the next one the
    reversed order, and so on towards the base: the layout of ``zuko.flows.MAF``, whose
    transforms are listed from the data side.

    ``kind`` is ``"maf"`` or ``"iaf"``, ``hidden`` the MADEs' widths, ``seed`` seeds the
    initial weights; the flow is float32.

    Example:
        >>> flow = make_autoregressive_flow(3, n_layers=2)
        >>> [layer.order.tolist() for layer in flow.layers]
        [[2, 1, 0], [0, 1, 2]]
    """
    dim = check_int(dim, "dim", low=2)
    n_layers = check_int(n_layers, "n_layers", low=1)
    kind = check_choice(kind, "kind", ["maf", "iaf"])
    seed = check_int(seed, "seed", low=0)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        orders = [list(range(dim))[:: 1 if (n_layers - 1 - i) % 2 == 0 else -1] for i in range(n_layers)]
        layers = [MaskedAffineAutoregressive(dim, order, hidden, kind=kind) for order in orders]
    finally:
        torch.random.set_rng_state(state)
    return Flow(layers, dim)


def network_evaluations(flow: Flow, x: torch.Tensor) -> dict[str, int]:
    """Network passes for the density of ``x`` and for as many samples (equations ``eq-maf``, ``eq-iaf``).

    Returns ``{"density": ..., "sampling": ...}``, summed over the layers of ``flow``;
    ``x`` has shape ``(batch, dim)``.

    Example:
        >>> network_evaluations(make_autoregressive_flow(5, n_layers=2), torch.zeros(1, 5))
        {'density': 2, 'sampling': 10}
    """
    if not isinstance(flow, Flow):
        raise TypeError(f"flow: expected a Flow, got {type(flow).__name__}")
    nets = [m for m in flow.modules() if isinstance(m, MADE)]
    if not nets:
        raise ValueError("flow: expected MADE conditioners, found none")
    x = _check_tensor(x, "x", flow.dim)
    counts = {}
    for what, run in (("density", lambda: flow.log_prob(x)), ("sampling", lambda: flow(torch.zeros_like(x)))):
        for net in nets:
            net.n_calls = 0
        with torch.no_grad():
            run()
        counts[what] = sum(net.n_calls for net in nets)
    return counts


# ---------------------------------------------------------- discrete data


def _as_float_tensor(x: ArrayLike) -> tuple[torch.Tensor, bool]:
    """``(tensor, was_numpy)``: floating tensors keep their dtype, everything else becomes float64."""
    if is_torch(x):
        return (x if x.dtype.is_floating_point else x.double()), False
    return torch.as_tensor(np.asarray(x, dtype=np.float64)), True


def _check_levels(x: torch.Tensor, name: str, n_levels: int | None = None) -> None:
    if not bool((x == torch.round(x)).all()):
        raise ValueError(f"{name}: expected integer values (the levels of discrete data)")
    if n_levels is not None and (float(x.min()) < 0 or float(x.max()) > n_levels - 1):
        raise ValueError(f"{name}: expected levels in 0..{n_levels - 1}, got range "
                         f"[{float(x.min()):g}, {float(x.max()):g}]")


def dequantize(x: ArrayLike, *, generator: torch.Generator | None = None) -> Array:
    r"""Uniform dequantisation of integer-valued data, :math:`y = x + u` with :math:`u \sim U[0, 1)^D`.

    The continuous data on which a density is trained in equation ``eq-dequant-bound``.

    ``x``: integer-valued points, shape ``(batch, dim)``, a tensor or a NumPy array; the
    result is of ``x``'s kind (floating dtypes are kept, integers become float64).

    Example:
        >>> y = dequantize(torch.tensor([[0.0, 3.0]]), generator=torch.Generator().manual_seed(0))
        >>> bool(((y >= torch.tensor([0.0, 3.0])) & (y < torch.tensor([1.0, 4.0]))).all())
        True
    """
    x = check_array(x, "x", ndim=2)
    xt, was_numpy = _as_float_tensor(x)
    _check_levels(xt, "x")
    y = xt + torch.rand(xt.shape, generator=generator, dtype=xt.dtype)
    return y.numpy() if was_numpy else y


def dequantized_log_likelihood(log_prob: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *,
                               n_nodes: int = 16) -> torch.Tensor:
    r"""The dequantisation bound :math:`\mathbb E_u[\log p(x + u)]`, by Gauss-Legendre quadrature.

    The left side of equation ``eq-dequant-bound``: at most :math:`\log P(x)`, the log-probability of the
    cell :math:`x + [0, 1)^D`. The tensor-product rule takes ``n_nodes ** dim`` evaluations per
    point (so ``dim <= 3``) and is exact for polynomials of degree ``2 n_nodes - 1`` in each
    coordinate. ``log_prob`` maps ``(m, dim) -> (m,)``; ``x``: integer-valued points, shape
    ``(batch, dim)``; returns shape ``(batch,)``.

    Example (a Gaussian: the expectation of a quadratic, in closed form):
        >>> x = torch.zeros(1, 1, dtype=torch.float64)
        >>> lp = lambda y: -0.5 * (y**2).sum(-1) - 0.5 * math.log(2 * math.pi)
        >>> exact = -1 / 6 - 0.5 * math.log(2 * math.pi)  # E[u^2] = 1/3
        >>> abs(float(dequantized_log_likelihood(lp, x)[0]) - exact) < 1e-14
        True
    """
    if not callable(log_prob):
        raise TypeError(f"log_prob: expected a callable, got {type(log_prob).__name__}")
    x = check_array(x, "x", ndim=2)
    if not is_torch(x):
        raise TypeError(f"x: expected a torch tensor, got {type(x).__name__}")
    if x.shape[1] > 3:
        raise ValueError(f"x: expected dim <= 3 for the quadrature rule, got shape {tuple(x.shape)}")
    _check_levels(x, "x")
    n_nodes = check_int(n_nodes, "n_nodes", low=1)
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)  # on [-1, 1]
    u1 = torch.as_tensor((nodes + 1) / 2, dtype=x.dtype)
    w1 = torch.as_tensor(weights / 2, dtype=x.dtype)
    dim = x.shape[1]
    u = torch.cartesian_prod(*[u1] * dim).reshape(-1, dim)  # (M, dim), M = n_nodes ** dim
    w = torch.cartesian_prod(*[w1] * dim).reshape(-1, dim).prod(dim=1)  # (M,)
    lp = log_prob((x[:, None, :] + u[None]).reshape(-1, dim)).reshape(x.shape[0], -1)  # (B, M)
    return (lp * w).sum(dim=1)


def bits_per_dim(log_prob: ArrayLike, dim: int, *, scale: float = 1.0) -> Array | float:
    r"""Bits per dimension, equation ``eq-bpd``, from the log-density (nats) of the rescaled data.

    .. math:: \mathrm{bpd} = -\frac{\log p_Y(y) - D \log(\mathrm{scale})}{D \log 2}

    since :math:`p_X(x) = p_Y(x/\mathrm{scale})\,\mathrm{scale}^{-D}`.

    ``log_prob`` (nats; a float, array or tensor of any shape) was evaluated on the data
    divided by ``scale > 0``; ``dim`` is :math:`D`. The result has ``log_prob``'s kind and shape.

    Example (a discrete uniform on 256 levels costs 8 bits):
        >>> round(bits_per_dim(-3 * math.log(256), 3), 12)
        8.0
    """
    value = check_array(log_prob, "log_prob", allow_empty=False)
    dim = check_int(dim, "dim", low=1)
    scale = check_scalar(scale, "scale", low=0.0, closed=(False, True))
    bpd = -(value - dim * math.log(scale)) / (dim * math.log(2.0))
    if isinstance(log_prob, (int, float, np.floating)):
        return float(bpd)
    return bpd


def fit_pixel_categorical(x: ArrayLike, n_levels: int, *, smoothing: float = 1.0) -> torch.Tensor:
    r"""Independent categoricals, one per coordinate, with add-alpha smoothing, equation ``eq-categorical``.

    .. math:: \pi_{dk} = \frac{n_{dk} + \alpha}{N + K\alpha}

    with :math:`n_{dk}` the number of training points whose coordinate ``d`` equals ``k``.

    ``x``: training levels in ``0..n_levels - 1``, shape ``(N, D)``; ``n_levels``: :math:`K`;
    ``smoothing``: :math:`\alpha > 0` (1: Laplace's add-one rule). Returns :math:`\log \pi`,
    a float64 tensor of shape ``(D, K)``.

    Example:
        >>> (fit_pixel_categorical(np.array([[0], [0], [1]]), 3).exp() * 6).round().tolist()  # (n + 1) / 6
        [[3.0, 2.0, 1.0]]
    """
    x = check_array(x, "x", ndim=2)
    n_levels = check_int(n_levels, "n_levels", low=2)
    smoothing = check_scalar(smoothing, "smoothing", low=0.0, closed=(False, True))
    xt = _as_float_tensor(x)[0].to(torch.float64)
    _check_levels(xt, "x", n_levels)
    counts = F.one_hot(xt.long(), n_levels).sum(dim=0).to(torch.float64)  # (D, K)
    return torch.log(counts + smoothing) - math.log(xt.shape[0] + n_levels * smoothing)


def _check_log_probs(log_probs: ArrayLike) -> torch.Tensor:
    log_probs = check_array(log_probs, "log_probs", ndim=2, finite=False)
    log_probs = _as_float_tensor(log_probs)[0]
    if bool(torch.isnan(log_probs).any()) or bool((log_probs == math.inf).any()):
        raise ValueError("log_probs: expected values in [-inf, 0], got NaN or +inf")
    if float((torch.logsumexp(log_probs, dim=-1)).abs().max()) > 1e-6:
        raise ValueError("log_probs: expected each row to be a normalised log-distribution")
    return log_probs


def _as_columns(x: ArrayLike, log_probs: torch.Tensor) -> tuple[torch.Tensor, bool]:
    xt, was_numpy = _as_float_tensor(x)
    if xt.shape[1] != log_probs.shape[0]:
        raise ValueError(f"x: expected {log_probs.shape[0]} columns (one per row of log_probs), "
                         f"got {tuple(xt.shape)}")
    return xt, was_numpy


def categorical_log_prob(x: ArrayLike, log_probs: ArrayLike) -> Array:
    r"""Log-probability of integer data under independent categoricals, equation ``eq-categorical``.

    .. math:: \log P(x) = \sum_d \log \pi_{d, x_d}

    ``x``: integer levels, shape ``(batch, D)``; ``log_probs``: :math:`\log \pi`, shape ``(D, K)``
    (e.g. from :func:`fit_pixel_categorical`). Returns shape ``(batch,)``, of ``x``'s kind (NumPy or
    torch); a floating ``x`` keeps its dtype, an integer ``x`` gives float64.

    Example:
        >>> lp = torch.log(torch.tensor([[0.25, 0.75]], dtype=torch.float64))
        >>> round(float(categorical_log_prob(torch.tensor([[1.0]]), lp)[0]), 6) == round(math.log(0.75), 6)
        True
    """
    x = check_array(x, "x", ndim=2)
    log_probs = _check_log_probs(log_probs).to(torch.float64)
    xt, was_numpy = _as_columns(x, log_probs)
    _check_levels(xt, "x", log_probs.shape[1])
    out = log_probs.gather(1, xt.long().T.cpu()).sum(dim=0).to(xt.dtype)  # (D, B) -> (B,)
    return out.numpy() if was_numpy else out


def gaussian_comb_log_prob(x: ArrayLike, log_probs: ArrayLike, sigma: float, *,
                           offset: float = 0.0) -> Array:
    r"""Log-density with a Gaussian spike at every level, equation ``eq-comb``.

    .. math:: p_\sigma(x) = \prod_d \sum_k \pi_{dk}\, \mathcal N(x_d; k + c, \sigma^2)

    At integer data (``offset = 0``) its log-density grows like :math:`D \log(1/\sigma)` as
    :math:`\sigma \to 0`: without dequantisation the likelihood of a continuous model on
    discrete data is unbounded.

    ``x``: points, shape ``(batch, D)``; ``log_probs``: the weights :math:`\log \pi`, shape
    ``(D, K)``; ``sigma > 0``: the spikes' width; ``offset``: :math:`c` (``0.5`` puts the spikes at
    the cell centres). Returns shape ``(batch,)``, of ``x``'s kind and dtype.

    Example (one level, one coordinate: a plain Gaussian):
        >>> lp = gaussian_comb_log_prob(np.zeros((1, 1)), np.zeros((1, 1)), 1.0)
        >>> round(float(lp[0]), 6) == round(-0.5 * math.log(2 * math.pi), 6)
        True
    """
    x = check_array(x, "x", ndim=2)
    log_probs = _check_log_probs(log_probs).to(torch.float64)
    sigma = check_scalar(sigma, "sigma", low=0.0, closed=(False, True))
    offset = check_scalar(offset, "offset")
    xt, was_numpy = _as_columns(x, log_probs)
    centres = torch.arange(log_probs.shape[1], dtype=torch.float64) + offset  # (K,)
    u = (xt.to(torch.float64)[..., None] - centres) / sigma  # (B, D, K)
    log_normal = -0.5 * u**2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)
    out = torch.logsumexp(log_probs + log_normal, dim=2).sum(dim=1).to(xt.dtype)  # (B, D, K) -> (B,)
    return out.numpy() if was_numpy else out
