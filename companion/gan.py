"""Generative adversarial networks (chapter ``ch-gan``): the game, its optimum, and training.

Conventions: a discriminator outputs a *logit* ``l``, and ``D = sigmoid(l)`` is its
probability that the input is real. Every loss is written with ``softplus`` on logits,
using ``log sigmoid(l) = -softplus(-l)`` and ``log(1 - sigmoid(l)) = -softplus(l)``, so
logits of +-100 give finite losses and exact gradients. Densities on a 1-D grid are
arrays of values with a spacing ``dx``; integrals are Riemann sums ``sum(f) * dx``.

The data of the chapter is a ring of Gaussians (Metz et al., 2017; Srivastava et al.,
2017), with modes far apart compared with their width, so mode collapse is easy to
see and to count (:func:`mode_coverage`); it lives in :mod:`companion.datasets`. The optimal
discriminator, the value and the JS divergence on a grid, and the Dirac GAN live in
:mod:`companion.gan_theory` (reachable from here too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .datasets import (  # noqa: F401 -- re-exported: their home is companion.datasets
    ring_centers,
    ring_of_gaussians,
)
from .gan_theory import (  # noqa: F401 -- re-exported: their home is companion.gan_theory
    _density,
    _dx,
    gan_value,
    js_divergence,
    optimal_discriminator,
)
from .networks import mlp
from .utils import moved_names
from .validation import (
    Array,
    ArrayLike,
    check_array,
    check_choice,
    check_int,
    check_same_shape,
    check_scalar,
    is_torch,
)

__all__ = ["discriminator_loss", "generator_loss", "generator_loss_grad", "wasserstein_critic_loss",
           "gradient_penalty", "mode_coverage", "Generator", "Discriminator", "train_gan", "GANRun"]

GENERATOR_LOSSES = ("non_saturating", "saturating")


# --------------------------------------------------------------------------- losses


def _softplus(x: ArrayLike) -> Array:
    # torch's default threshold (20) switches to softplus(x) = x, a relative error of
    # exp(-20) ~ 2e-9 in the gradient; at 40 the switch is exact in float64.
    return F.softplus(x, threshold=40.0) if is_torch(x) else np.logaddexp(0.0, x)


def _sigmoid(x: Array) -> Array:
    if is_torch(x):
        return torch.sigmoid(x)
    return np.exp(-np.logaddexp(0.0, -x))


def _logits(x: ArrayLike, name: str) -> Array:
    x = check_array(x, name, ndim=(0, 1))
    return x if is_torch(x) or isinstance(x, np.ndarray) else np.asarray(x, dtype=np.float64)


def discriminator_loss(real_logits: ArrayLike, fake_logits: ArrayLike) -> Array:
    r"""The discriminator's loss, the negated value function, equation ``eq-gan-value``.

    .. math::
        \mathcal L_D = -\frac1n\sum_i \log D(x_i) - \frac1m\sum_j \log\big(1 - D(G(z_j))\big)
        = \frac1n\sum_i \operatorname{softplus}(-l_i) + \frac1m\sum_j \operatorname{softplus}(l'_j),

    where :math:`l = \operatorname{logit} D`. Minimising it is gradient *ascent* on the
    value (Goodfellow et al., 2014).

    Args:
        real_logits: logits on data, shape ``(n,)``.
        fake_logits: logits on generated samples, shape ``(m,)``.

    Returns:
        A scalar (a 0-d tensor for tensors, a float64 array for arrays).

    Example:
        >>> round(float(discriminator_loss(np.zeros(3), np.zeros(2))), 6)  # D = 1/2: 2 log 2
        1.386294
    """
    real_logits = _logits(real_logits, "real_logits")
    fake_logits = _logits(fake_logits, "fake_logits")
    return _softplus(-real_logits).mean() + _softplus(fake_logits).mean()


def generator_loss(fake_logits: ArrayLike, kind: str = "non_saturating") -> Array:
    r"""The generator's loss, equations ``eq-gen-saturating`` and ``eq-gen-non-saturating``.

    .. math::
        \mathcal L_G^{\text{sat}} = \frac1m\sum_j \log\big(1 - D(G(z_j))\big)
        = -\frac1m\sum_j \operatorname{softplus}(l_j),
        \qquad
        \mathcal L_G^{\text{ns}} = -\frac1m\sum_j \log D(G(z_j))
        = \frac1m\sum_j \operatorname{softplus}(-l_j).

    The saturating loss is the minimax game itself; the non-saturating one has the same
    fixed point but a large gradient where the discriminator rejects fakes.

    Args:
        fake_logits: discriminator logits on generated samples, shape ``(m,)``.
        kind: ``"non_saturating"`` or ``"saturating"``.

    Example:
        >>> round(float(generator_loss(np.array([0.0]), "saturating")), 6)   # log(1/2)
        -0.693147
        >>> round(float(generator_loss(np.array([0.0]))), 6)                 # -log(1/2)
        0.693147
    """
    fake_logits = _logits(fake_logits, "fake_logits")
    kind = check_choice(kind, "kind", GENERATOR_LOSSES)
    if kind == "saturating":
        return -_softplus(fake_logits).mean()
    return _softplus(-fake_logits).mean()


def generator_loss_grad(fake_logits: ArrayLike, kind: str = "non_saturating") -> Array:
    r"""Derivative of one sample's generator loss with respect to its logit, equation ``eq-gen-grads``.

    .. math::
        \frac{\partial}{\partial l}\big(-\operatorname{softplus}(l)\big) = -\sigma(l) = -D,
        \qquad
        \frac{\partial}{\partial l}\operatorname{softplus}(-l) = -\sigma(-l) = -(1 - D).

    Where the discriminator confidently rejects a fake (:math:`l \to -\infty`,
    :math:`D \to 0`) the saturating gradient vanishes and the non-saturating one tends
    to :math:`-1`.

    Args:
        fake_logits: logits, any shape (elementwise).
        kind: ``"non_saturating"`` or ``"saturating"``.

    Example:
        >>> generator_loss_grad(np.array([-100.0, 0.0]), "saturating").round(6).tolist()
        [-0.0, -0.5]
        >>> generator_loss_grad(np.array([-100.0, 0.0])).round(6).tolist()
        [-1.0, -0.5]
    """
    fake_logits = check_array(fake_logits, "fake_logits")
    kind = check_choice(kind, "kind", GENERATOR_LOSSES)
    if kind == "saturating":
        return -_sigmoid(fake_logits)
    return -_sigmoid(-fake_logits)


# --------------------------------------------------------------------------- Wasserstein GAN


def wasserstein_critic_loss(real_scores: ArrayLike, fake_scores: ArrayLike) -> Array:
    r"""The WGAN critic's loss, the negated Kantorovich-Rubinstein objective, equation ``eq-wgan``.

    .. math::
        \mathcal L_f = \frac1m\sum_j f(G(z_j)) - \frac1n\sum_i f(x_i),
        \qquad
        W_1(p, q) = \sup_{\|f\|_L \le 1} \E_p[f] - \E_q[f] .

    Args:
        real_scores: critic outputs on data, shape ``(n,)``.
        fake_scores: critic outputs on generated samples, shape ``(m,)``.

    Example:
        >>> float(wasserstein_critic_loss(np.array([2.0, 4.0]), np.array([1.0])))
        -2.0
    """
    real_scores = _logits(real_scores, "real_scores")
    fake_scores = _logits(fake_scores, "fake_scores")
    return fake_scores.mean() - real_scores.mean()


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""The gradient penalty of WGAN-GP (Gulrajani et al., 2017), equation ``eq-wgan-gp``.

    .. math::
        \lambda\, \E_{\hat x}\big[(\|\nabla_{\hat x} f(\hat x)\|_2 - 1)^2\big],
        \qquad \hat x = \epsilon x + (1 - \epsilon)\, G(z),\ \epsilon \sim U[0, 1],

    a soft version of the 1-Lipschitz constraint, on points between data and fakes.
    Being soft, it lets the critic's slope settle above 1: for ``p_g`` a translate of
    ``p_data`` by ``a`` and a linear critic, the penalised optimum has slope
    :math:`1 + \|a\|/2\lambda`, so its estimate of :math:`W_1 = \|a\|` is high by that factor.

    Args:
        critic: maps ``(batch, dim)`` to scores ``(batch,)``.
        real, fake: samples, shape ``(batch, dim)`` each.
        weight: :math:`\lambda` (>= 0).
        generator: torch random generator for :math:`\epsilon`.

    Example (a linear critic has gradient norm ``|w|`` everywhere):
        >>> lin = nn.Linear(2, 1, bias=False)
        >>> _ = lin.weight.data.copy_(torch.tensor([[3.0, 4.0]]))
        >>> critic = lambda x: lin(x).squeeze(-1)
        >>> gradient_penalty(critic, torch.zeros(5, 2), torch.ones(5, 2), weight=1.0).item()
        16.0
    """
    if not callable(critic):
        raise TypeError(f"critic: expected a callable module, got {type(critic).__name__}")
    real = check_array(real, "real", ndim=2)
    fake = check_array(fake, "fake", ndim=2)
    if not (is_torch(real) and is_torch(fake)):
        raise TypeError("real and fake: expected torch tensors")
    check_same_shape(real=real, fake=fake)
    weight = check_scalar(weight, "weight", low=0.0)
    eps = torch.rand(real.shape[0], 1, generator=generator, dtype=real.dtype, device=real.device)
    x_hat = (eps * real + (1.0 - eps) * fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((grad.norm(dim=1) - 1.0) ** 2).mean()


# --------------------------------------------------------------------------- metrics


def mode_coverage(
    samples: ArrayLike, centers: ArrayLike, std: float, n_std: float = 3.0, min_count: int = 20,
) -> dict:
    r"""Modes covered and the fraction of high-quality samples (Srivastava et al., 2017).

    A sample is *high quality* if it lies within ``n_std`` standard deviations of its
    nearest centre, :math:`\min_k \|x - \mu_k\| \le n_\text{std}\,\sigma` (``n_std = 3`` by
    default); a mode is *covered* if at least ``min_count`` high-quality samples are nearest
    to it. ``max_share``, the largest fraction of all samples nearest to one centre, detects
    collapse even when samples are blurry: about ``1/K`` for a balanced generator, 1 for total collapse.

    Args:
        samples: generated points, shape ``(n, dim)``.
        centers: mode centres, shape ``(K, dim)``.
        std: standard deviation of each mode (> 0).
        n_std: radius of the high-quality ball, in standard deviations.
        min_count: high-quality samples needed to count a mode as covered.

    Returns:
        ``{"modes_covered": int, "high_quality": float, "max_share": float,
        "counts": ndarray (K,)}`` (``counts``: high-quality samples per mode).

    Example:
        >>> c = ring_centers(8)
        >>> out = mode_coverage(np.repeat(c[:3], 20, axis=0), c, std=0.05)
        >>> out["modes_covered"], out["high_quality"], round(out["max_share"], 4)
        (3, 1.0, 0.3333)
    """
    samples = check_array(samples, "samples", ndim=2)
    centers = check_array(centers, "centers", ndim=2)
    if is_torch(samples):
        samples = samples.detach().cpu().double().numpy()
    if is_torch(centers):
        centers = centers.detach().cpu().double().numpy()
    if samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples: expected {centers.shape[1]} columns like centers, got shape {samples.shape}"
        )
    std = check_scalar(std, "std", low=0.0, closed=(False, True))
    n_std = check_scalar(n_std, "n_std", low=0.0, closed=(False, True))
    min_count = check_int(min_count, "min_count", low=1)
    dist = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)  # (n, K)
    nearest = dist.argmin(axis=1)
    good = dist[np.arange(len(samples)), nearest] <= n_std * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "high_quality": float(good.mean()),
        "max_share": float(np.bincount(nearest, minlength=len(centers)).max() / len(samples)),
        "counts": counts,
    }


# --------------------------------------------------------------------------- models and training


def _leaky_relu() -> nn.Module:
    return nn.LeakyReLU(0.2)


class Generator(nn.Module):
    """A small MLP generator :math:`G_\\theta: z \\mapsto x`, with :math:`z \\sim \\mathcal N(0, I)`.

    Args:
        latent_dim: size of ``z``.
        hidden: width of the two hidden layers.
        data_dim: size of ``x``.

    Example:
        >>> g = Generator(latent_dim=4, hidden=8, data_dim=2)
        >>> g.sample(5).shape
        torch.Size([5, 2])
    """

    def __init__(self, latent_dim: int = 2, hidden: int = 64, data_dim: int = 2):
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        self.net = mlp([self.latent_dim, hidden, hidden, check_int(data_dim, "data_dim", low=1)], _leaky_relu)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z: (batch, latent_dim) -> x: (batch, data_dim)``."""
        check_array(z, "z", shape=(None, self.latent_dim))
        return self.net(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples ``G(z)``, ``z ~ N(0, I)``, shape ``(n, data_dim)``."""
        n = check_int(n, "n", low=1)
        p = next(self.parameters())
        z = torch.randn(n, self.latent_dim, generator=generator, dtype=p.dtype, device=p.device)
        return self(z)


class Discriminator(nn.Module):
    """A small MLP discriminator returning *logits* (or WGAN critic scores), shape ``(batch,)``.

    Example:
        >>> Discriminator(data_dim=1, hidden=8)(torch.zeros(3, 1)).shape
        torch.Size([3])
    """

    def __init__(self, data_dim: int = 2, hidden: int = 64):
        super().__init__()
        self.data_dim = check_int(data_dim, "data_dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        self.net = mlp([self.data_dim, hidden, hidden, 1], _leaky_relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (batch, data_dim) -> logits: (batch,)``."""
        check_array(x, "x", shape=(None, self.data_dim))
        return self.net(x).squeeze(-1)


@dataclass
class GANRun:
    """The result of :func:`train_gan`: the trained networks and the history of metrics.

    ``history`` has lists ``step``, ``modes_covered``, ``high_quality``, ``max_share``, ``d_loss``,
    ``g_loss`` (one entry per evaluation) and ``samples`` (an ``(n_eval, dim)`` array per
    evaluation, for plots).
    """

    generator: Generator
    discriminator: Discriminator
    history: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def cpu(self) -> GANRun:
        """Move both networks to the CPU, in place, as ``nn.Module.cpu`` does; returns the run."""
        self.generator.cpu()
        self.discriminator.cpu()
        return self


def train_gan(
    data: ArrayLike,
    *,
    steps: int = 1500,
    loss: str = "non_saturating",
    d_steps: int = 1,
    g_steps: int = 1,
    lr_d: float = 1e-3,
    lr_g: float = 1e-3,
    batch_size: int = 256,
    latent_dim: int = 2,
    hidden: int = 64,
    centers: ArrayLike | None = None,
    std: float = 0.05,
    eval_every: int = 100,
    n_eval: int = 1000,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
) -> GANRun:
    r"""Train a small GAN by alternating steps, equations ``eq-gan-value`` and ``eq-gen-non-saturating``.

    Each of ``steps`` iterations takes ``d_steps`` Adam steps on :func:`discriminator_loss`
    and ``g_steps`` Adam steps on :func:`generator_loss` of kind ``loss`` (or, with
    ``loss="wgan_gp"``, on the WGAN-GP objective ``eq-wgan-gp``). Minibatches are drawn
    from ``data`` with replacement. Every ``eval_every`` iterations it records
    :func:`mode_coverage` of the generator's samples at ``n_eval`` latent draws fixed at
    the start (the same at every checkpoint, never used for training).

    Args:
        data: training points, shape ``(n, dim)``.
        steps: iterations (>= 1).
        loss: ``"non_saturating"``, ``"saturating"`` or ``"wgan_gp"``.
        d_steps, g_steps: discriminator and generator updates per iteration.
        lr_d, lr_g: Adam learning rates (betas 0.5, 0.999).
        batch_size: minibatch size.
        latent_dim, hidden: sizes of :class:`Generator` and :class:`Discriminator`.
        centers: mode centres for :func:`mode_coverage`, shape ``(K, dim)``
            (default: :func:`ring_centers` ``(8, 2.0)``).
        std: the modes' standard deviation for :func:`mode_coverage`.
        eval_every, n_eval: evaluation period and sample size.
        seed: seeds the initialisation, the minibatches and the noise.
        device: torch device.
        progress: show a ``tqdm`` progress bar.

    Returns:
        A :class:`GANRun` (networks in float32, in eval mode).

    Example:
        >>> run = train_gan(ring_of_gaussians(256, rng=0), steps=4, eval_every=2, n_eval=50,
        ...                 hidden=8, progress=False)
        >>> run.history["step"], len(run.history["samples"])
        ([0, 2, 4], 3)
    """
    from tqdm.auto import tqdm

    data = check_array(data, "data", ndim=2)
    steps = check_int(steps, "steps", low=1)
    loss = check_choice(loss, "loss", (*GENERATOR_LOSSES, "wgan_gp"))
    d_steps = check_int(d_steps, "d_steps", low=1)
    g_steps = check_int(g_steps, "g_steps", low=1)
    lr_d = check_scalar(lr_d, "lr_d", low=0.0, closed=(False, True))
    lr_g = check_scalar(lr_g, "lr_g", low=0.0, closed=(False, True))
    batch_size = check_int(batch_size, "batch_size", low=1)
    eval_every = check_int(eval_every, "eval_every", low=1)
    n_eval = check_int(n_eval, "n_eval", low=1)
    seed = check_int(seed, "seed", low=0)
    centers = ring_centers() if centers is None else check_array(centers, "centers", ndim=2)
    if centers.shape[1] != data.shape[1]:
        raise ValueError(f"centers: expected {data.shape[1]} columns like data, "
                         f"got shape {tuple(centers.shape)}")
    std = check_scalar(std, "std", low=0.0, closed=(False, True))
    settings = dict(steps=steps, loss=loss, d_steps=d_steps, g_steps=g_steps, lr_d=lr_d, lr_g=lr_g,
                    batch_size=batch_size, seed=seed)

    x_all = torch.as_tensor(np.asarray(data) if not is_torch(data) else data, dtype=torch.float32).to(device)
    dim = x_all.shape[1]
    torch.manual_seed(seed)
    gen = torch.Generator(device=device).manual_seed(seed)
    G = Generator(latent_dim, hidden, dim).to(device)
    D = Discriminator(dim, hidden).to(device)
    # foreach: the same Adam update, bit for bit, in fewer calls
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999), foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999), foreach=True)

    def noise(n: int = batch_size) -> torch.Tensor:   # the one latent draw, for training and evaluation
        return torch.randn(n, latent_dim, generator=gen, device=device)

    eval_z = noise(n_eval)
    keys = ("step", "modes_covered", "high_quality", "max_share", "d_loss", "g_loss", "samples")
    history: dict = {k: [] for k in keys}

    def evaluate(step: int, d_loss: float, g_loss: float) -> None:
        with torch.no_grad():
            s = G(eval_z).double().cpu().numpy()
        cov = mode_coverage(s, centers, std)
        history["step"].append(step)
        history["modes_covered"].append(cov["modes_covered"])
        history["high_quality"].append(cov["high_quality"])
        history["max_share"].append(cov["max_share"])
        history["d_loss"].append(d_loss)
        history["g_loss"].append(g_loss)
        history["samples"].append(s)

    def batch() -> torch.Tensor:
        return x_all[torch.randint(0, len(x_all), (batch_size,), generator=gen, device=device)]

    evaluate(0, float("nan"), float("nan"))
    d_loss_v = g_loss_v = float("nan")
    for step in tqdm(range(1, steps + 1), disable=not progress, desc=f"GAN ({loss})"):
        for _ in range(d_steps):
            real = batch()
            with torch.no_grad():
                fake = G(noise())
            if loss == "wgan_gp":
                d_loss = cast(torch.Tensor, wasserstein_critic_loss(D(real), D(fake))
                              + gradient_penalty(D, real, fake, generator=gen))
            else:
                d_loss = cast(torch.Tensor, discriminator_loss(D(real), D(fake)))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        for _ in range(g_steps):
            scores = D(G(noise()))
            g_loss = cast(torch.Tensor, -scores.mean() if loss == "wgan_gp" else generator_loss(scores, loss))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
        d_loss_v, g_loss_v = d_loss.item(), g_loss.item()
        if step % eval_every == 0 or step == steps:
            evaluate(step, d_loss_v, g_loss_v)
    G.eval()
    D.eval()
    return GANRun(G, D, history, settings)


# --------------------------------------------------------------------------- theory (re-exported)
# The non-saturating objective at D* and the Dirac GAN live in companion.gan_theory (its own
# __all__ and tests); they are importable from here too, as gan.dirac_gan_simulate etc.
from .gan_theory import (  # noqa: E402, F401
    dirac_gan_jacobian,
    dirac_gan_simulate,
    dirac_gan_step_matrix,
    dirac_gan_vector_field,
    nonsaturating_objective_at_optimum,
)

# Names whose home moved, still resolved here on first use, so readers' code written against the
# old paths keeps working: the widgets (presentation apart from the mathematics).
_HOMES = {
    "views.gan": (
        "LOSS_SLIDERS", "generator_loss_view", "DYNAMICS_SETTINGS", "dynamics_runs",
        "training_dynamics_view", "loss_widget_spec", "widget_specs", "DIRAC_SLIDERS", "dirac_gan_view",
        "dirac_widget_spec"
    ),
}


__getattr__ = moved_names(__name__, _HOMES)
