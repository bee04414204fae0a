r"""Variational autoencoders and the ELBO (chapter ``ch-vae``).

Notation follows Kingma and Welling (2014): a prior :math:`p(z) = \mathcal N(0, I)`, a
decoder :math:`p_\theta(x \mid z)`, an encoder :math:`q_\phi(z \mid x) =
\mathcal N(\mu, \operatorname{diag} e^{\log\sigma^2})`. Encoders hand out ``mu`` and
``log_var`` of shape ``(batch, latent_dim)``; latent samples carry a leading sample axis,
``z: (n_samples, batch, latent_dim)``; a log-likelihood callable
``log_likelihood(x, z)`` returns ``log p(x | z)`` of shape ``(n_samples, batch)``.

The pieces:

The ELBO (``eq-elbo``) is a lower bound on :math:`\log p_\theta(x)`; the beta-weighted
objective of Higgins et al. (2017) (``eq-beta-objective``) equals it at ``beta = 1``, is a
looser bound for ``beta > 1`` and is *not* a bound for ``beta < 1``. Functions with a
``beta`` argument compute the latter; their default ``beta = 1`` is the ELBO.

- the pure mathematics: :func:`kl_normal_std`, :func:`diag_normal_log_prob`,
  :func:`bernoulli_log_prob`, :func:`reparameterize`, :func:`elbo`, :func:`iwae_bound`;
- :class:`VAE` and :func:`train_vae`.

Elsewhere: the gradient estimators in :mod:`companion.gradient_estimators`, the linear-Gaussian
model and the linear beta-VAE in :mod:`companion.linear_gaussian`, the gaps, ELBO surgery and
the remedies for collapse in :mod:`companion.vae_theory`, the data in :mod:`companion.datasets`,
the widget in :mod:`companion.views.vae` (all reachable from here too).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import torch
from torch import nn

from .datasets import (  # noqa: F401 -- re-exported: their home is companion.datasets
    load_digits01,
    make_moons_2d,
)
from .distributions import LOG_2PI
from .networks import mlp
from .training import fit
from .utils import moved_names
from .validation import (
    Array,
    ArrayLike,
    array_namespace,
    check_array,
    check_broadcast,
    check_choice,
    check_in_range,
    check_int,
    check_same_shape,
    check_scalar,
    is_torch,
)

__all__ = ["kl_normal_std", "diag_normal_log_prob", "bernoulli_log_prob", "reparameterize", "elbo",
           "iwae_bound", "VAE", "train_vae"]

LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------------------------
# Pure mathematics
# ----------------------------------------------------------------------------------------------


def kl_normal_std(mu: ArrayLike, log_var: ArrayLike) -> Array:
    r"""KL from a diagonal Gaussian to the standard normal, summed over the last axis.

    Equation ``eq-kl-std``:

    .. math::
        \KL\big(\mathcal N(\mu, \operatorname{diag}\sigma^2) \,\|\, \mathcal N(0, I)\big)
        = -\frac12 \sum_j \big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big).

    It is :func:`companion.distributions.kl_normal` with :math:`\mu_p = 0, \sigma_p^2 = 1`,
    summed over independent coordinates; written in ``log_var`` so that no logarithm of
    an exponential is taken.

    Reference: Kingma and Welling, *Auto-Encoding Variational Bayes*, ICLR 2014, Appendix B.

    Args:
        mu: means, shape ``(..., latent_dim)``.
        log_var: log-variances, same shape as ``mu``.

    Returns:
        Shape ``(...)``: NumPy in, NumPy out; torch in, torch out.

    Example:
        >>> float(kl_normal_std(np.zeros(3), np.zeros(3)))
        0.0
        >>> float(kl_normal_std(np.array([1.0, 0.0]), np.zeros(2)))
        0.5
    """
    mu = check_array(mu, "mu", ndim=range(1, 8))
    log_var = check_array(log_var, "log_var", ndim=range(1, 8))
    check_same_shape(mu=mu, log_var=log_var)
    if is_torch(mu) != is_torch(log_var):
        raise TypeError("mu and log_var: expected both NumPy arrays or both torch tensors")
    xp = array_namespace(mu)
    return 0.5 * (mu**2 + xp.exp(log_var) - 1.0 - log_var).sum(-1)  # = -1/2 sum(1 + log_var - mu^2 - var)


def diag_normal_log_prob(x: ArrayLike, mu: ArrayLike, log_var: ArrayLike) -> Array:
    r"""Log-density of a diagonal Gaussian, summed over the last axis (with broadcasting).

    .. math:: \log \mathcal N(x; \mu, \operatorname{diag}\sigma^2)
        = -\frac12 \sum_j \Big(\log 2\pi + \log\sigma_j^2 + (x_j - \mu_j)^2 e^{-\log\sigma_j^2}\Big)

    Args:
        x, mu, log_var: arrays that broadcast together; the last axis is summed.

    Example:
        >>> round(float(diag_normal_log_prob(np.zeros(2), np.zeros(2), np.zeros(2))), 6)
        -1.837877
    """
    x = check_array(x, "x")
    mu = check_array(mu, "mu")
    log_var = check_array(log_var, "log_var")
    check_broadcast(x=x, mu=mu, log_var=log_var)
    xp = array_namespace(log_var)
    sq = (x - mu) ** 2
    with np.errstate(over="ignore", invalid="ignore"):
        term = sq * xp.exp(-log_var)
    if bool((torch.isnan(term) if is_torch(term) else np.isnan(term)).any()):
        # 0 * inf where exp(-log_var) overflows at x = mu: the term is 0 for any log_var
        term = torch.where(sq == 0, 0.0, term) if is_torch(term) else np.where(sq == 0, 0.0, term)
    return -0.5 * (LOG_2PI + log_var + term).sum(-1)


def bernoulli_log_prob(x: ArrayLike, logits: ArrayLike) -> Array:
    r"""Bernoulli log-likelihood from logits, summed over the last axis.

    .. math:: \log p(x \mid \ell) = \sum_j x_j \ell_j - \operatorname{softplus}(\ell_j),

    which equals :math:`x \log s + (1 - x)\log(1 - s)` with :math:`s = \sigma(\ell)` and stays
    finite for logits of any size. ``x`` may take values in ``[0, 1]`` (grey levels).

    Example:
        >>> round(float(bernoulli_log_prob(np.array([1.0, 0.0]), np.zeros(2))), 6)
        -1.386294
    """
    x = check_in_range(x, "x", 0.0, 1.0)
    logits = check_array(logits, "logits")
    check_broadcast(x=x, logits=logits)
    if is_torch(logits):
        return (x * logits - nn.functional.softplus(logits)).sum(-1)
    return (x * logits - np.logaddexp(0.0, logits)).sum(-1)


def reparameterize(
    mu: ArrayLike,
    log_var: ArrayLike,
    eps: ArrayLike | None = None,
    *,
    generator: torch.Generator | np.random.Generator | None = None,
) -> Array:
    r"""Draw :math:`z \sim \mathcal N(\mu, \operatorname{diag}\sigma^2)` as a function of the parameters.

    Equation ``eq-reparam``: :math:`z = \mu + \sigma \odot \epsilon`, :math:`\epsilon \sim \mathcal N(0, I)`,
    with :math:`\sigma = e^{\log\sigma^2 / 2}`. Gradients flow to ``mu`` and ``log_var``.

    Args:
        mu: means, shape ``(..., latent_dim)``.
        log_var: log-variances, same shape.
        eps: standard normal noise of shape ``(*sample_shape, *mu.shape)``; drawn (with
            ``sample_shape = ()``) from ``generator`` if ``None``.
        generator: a ``torch.Generator`` (tensors) or ``numpy.random.Generator`` (arrays).

    Example:
        >>> reparameterize(np.array([1.0]), np.array([np.log(4.0)]), eps=np.array([0.5]))
        array([2.])
    """
    mu = check_array(mu, "mu", ndim=range(1, 8))
    log_var = check_array(log_var, "log_var", ndim=range(1, 8))
    check_same_shape(mu=mu, log_var=log_var)
    if eps is None:
        if is_torch(mu):
            eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)  # type: ignore[arg-type]
        else:
            rng = generator if isinstance(generator, np.random.Generator) else np.random.default_rng()
            eps = rng.standard_normal(mu.shape)
    eps = check_array(eps, "eps")
    if tuple(eps.shape[eps.ndim - mu.ndim:]) != tuple(mu.shape) or eps.ndim < mu.ndim:
        raise ValueError(
            f"eps: expected shape (*sample_shape, {', '.join(map(str, mu.shape))}), got {tuple(eps.shape)}"
        )
    xp = array_namespace(log_var)
    return mu + xp.exp(0.5 * log_var) * eps


def _as_tensor(x: ArrayLike, name: str, **kwargs) -> torch.Tensor:
    x = check_array(x, name, **kwargs)
    return x if is_torch(x) else torch.as_tensor(x, dtype=torch.float64)


def _latent_draws(
    x: ArrayLike, mu: ArrayLike, log_var: ArrayLike, n: int, eps: ArrayLike | None,
    generator: torch.Generator | None, n_name: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate the arguments shared by :func:`elbo` and :func:`iwae_bound`; draw ``z``."""
    x = _as_tensor(x, "x", ndim=2)
    mu = _as_tensor(mu, "mu", ndim=2)
    log_var = _as_tensor(log_var, "log_var", ndim=2)
    check_same_shape(mu=mu, log_var=log_var)
    if mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu: expected batch size {x.shape[0]} (that of x), got {mu.shape[0]}")
    if eps is None:
        eps = torch.randn((n, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    else:
        eps = _as_tensor(eps, "eps", ndim=3)
        if tuple(eps.shape) != (n, *mu.shape):
            raise ValueError(f"eps: expected shape ({n}, {mu.shape[0]}, {mu.shape[1]}) for {n_name} = {n},"
                             f" got {tuple(eps.shape)}")
    z = cast(torch.Tensor, reparameterize(mu, log_var, eps))  # (n, batch, latent_dim)
    return x, mu, log_var, z


def _call_log_likelihood(log_likelihood: LogLikelihood, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    if not callable(log_likelihood):
        raise TypeError(f"log_likelihood: expected a callable, got {type(log_likelihood).__name__}")
    ll = log_likelihood(x, z)
    if not is_torch(ll) or tuple(ll.shape) != tuple(z.shape[:2]):
        shape = tuple(ll.shape) if hasattr(ll, "shape") else type(ll).__name__
        raise ValueError(f"log_likelihood: expected a tensor of shape {tuple(z.shape[:2])}, got {shape}")
    if bool(torch.isnan(ll).any()):
        raise ValueError("log_likelihood: returned NaN")
    return ll


def elbo(
    x: ArrayLike,
    mu: ArrayLike,
    log_var: ArrayLike,
    log_likelihood: LogLikelihood,
    *,
    n_samples: int = 1,
    beta: float = 1.0,
    analytic_kl: bool = True,
    eps: ArrayLike | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Monte Carlo estimate of the ELBO ``eq-elbo``, or of the beta-weighted objective ``eq-beta-objective``.

    .. math::
        \mathcal L_\beta(x) = \E_{q_\phi(z\mid x)}[\log p_\theta(x \mid z)]
        - \beta\, \KL\big(q_\phi(z\mid x) \,\|\, p(z)\big),

    with :math:`p(z) = \mathcal N(0, I)`. At :math:`\beta = 1` (the default) this is the ELBO,
    a lower bound on :math:`\log p_\theta(x)`; for :math:`\beta < 1` it exceeds the ELBO by
    :math:`(1 - \beta)\KL` and is not a bound. The
    expectation is averaged over ``n_samples`` reparameterised draws (``eq-reparam``).
    With ``analytic_kl`` the KL is the closed form ``eq-kl-std``; otherwise it is
    estimated from the same draws, :math:`\log q(z\mid x) - \log p(z)`, which, at ``beta = 1``,
    makes the estimate exactly :math:`\log p(x)` for every draw when ``q`` is the true posterior.

    Args:
        x: data, shape ``(batch, data_dim)``.
        mu, log_var: encoder outputs, shape ``(batch, latent_dim)``.
        log_likelihood: ``(x, z) -> log p(x | z)``, ``z: (n_samples, batch, latent_dim)``
            to ``(n_samples, batch)``.
        n_samples: draws per data point (>= 1).
        beta: weight of the KL term (>= 0).
        analytic_kl: use the closed-form KL.
        eps: optional fixed noise, shape ``(n_samples, batch, latent_dim)``.
        generator: torch generator for the noise when ``eps`` is ``None``.

    Returns:
        The estimate per data point, shape ``(batch,)``.

    Reference: Kingma and Welling, *Auto-Encoding Variational Bayes*, ICLR 2014.

    Example (``q`` equal to the prior and a likelihood that ignores ``z``: the ELBO is ``log p(x)``):
        >>> ll = lambda x, z: torch.full(z.shape[:2], -1.5, dtype=torch.float64)
        >>> elbo(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(2, 1), ll)
        tensor([-1.5000, -1.5000], dtype=torch.float64)
    """
    n_samples = check_int(n_samples, "n_samples", low=1)
    beta = check_scalar(beta, "beta", low=0.0)
    x, mu, log_var, z = _latent_draws(x, mu, log_var, n_samples, eps, generator, "n_samples")
    ll = _call_log_likelihood(log_likelihood, x, z)  # (n_samples, batch)
    if analytic_kl:
        return ll.mean(0) - beta * cast(torch.Tensor, kl_normal_std(mu, log_var))
    log_pz = diag_normal_log_prob(z, torch.zeros_like(mu), torch.zeros_like(log_var))
    log_qz = diag_normal_log_prob(z, mu, log_var)
    return (ll + beta * (log_pz - log_qz)).mean(0)


def iwae_bound(
    x: ArrayLike,
    mu: ArrayLike,
    log_var: ArrayLike,
    log_likelihood: LogLikelihood,
    k: int,
    *,
    eps: ArrayLike | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""The importance-weighted bound with ``k`` samples, equation ``eq-iwae``.

    .. math::
        \IWAE_k(x) = \log \frac1k \sum_{i=1}^k \frac{p(x \mid z_i)\, p(z_i)}{q(z_i \mid x)},
        \qquad z_i \sim q(z \mid x),

    computed with a log-sum-exp. Its expectation rises with ``k`` and tends to
    :math:`\log p(x)` when the importance weights are bounded; ``k = 1`` is the ELBO
    with a sampled KL.

    Args:
        x, mu, log_var, log_likelihood: as in :func:`elbo`.
        k: number of importance samples (>= 1).
        eps: optional fixed noise, shape ``(k, batch, latent_dim)``.
        generator: torch generator for the noise when ``eps`` is ``None``.

    Returns:
        One draw of the bound per data point, shape ``(batch,)``.

    Reference: Burda, Grosse and Salakhutdinov, *Importance Weighted Autoencoders*, ICLR 2016.

    Example:
        >>> ll = lambda x, z: torch.full(z.shape[:2], -1.5, dtype=torch.float64)
        >>> iwae_bound(torch.zeros(1, 3), torch.zeros(1, 2), torch.zeros(1, 2), ll, k=8)
        tensor([-1.5000], dtype=torch.float64)
    """
    k = check_int(k, "k", low=1)
    x, mu, log_var, z = _latent_draws(x, mu, log_var, k, eps, generator, "k")
    ll = _call_log_likelihood(log_likelihood, x, z)  # (k, batch)
    log_pz = diag_normal_log_prob(z, torch.zeros_like(mu), torch.zeros_like(log_var))
    log_qz = diag_normal_log_prob(z, mu, log_var)
    log_w = cast(torch.Tensor, ll + log_pz - log_qz)  # (k, batch): log importance weights
    return torch.logsumexp(log_w, dim=0) - math.log(k)


# ----------------------------------------------------------------------------------------------
# The VAE
# ----------------------------------------------------------------------------------------------


class VAE(nn.Module):
    r"""A variational autoencoder with MLP encoder and decoder: ``eq-elbo``, ``eq-beta-objective``.

    Encoder :math:`x \mapsto (\mu, \log\sigma^2)`, decoder :math:`z \mapsto` the parameters
    of :math:`p(x \mid z)`: logits for ``likelihood="bernoulli"`` (data in ``[0, 1]``), or a
    mean for ``likelihood="gaussian"`` with variance ``obs_var`` (fixed) or, if ``obs_var``
    is ``None``, a learned variance per data coordinate. ``hidden=()`` gives linear maps.

    Args:
        data_dim: ``D``.
        latent_dim: ``d``.
        hidden: widths of the hidden layers (encoder; the decoder mirrors them).
        likelihood: ``"bernoulli"`` or ``"gaussian"``.
        obs_var: fixed observation variance for the Gaussian likelihood, or ``None``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> vae = VAE(4, 2, hidden=(8,))
        >>> vae.elbo(torch.full((3, 4), 0.5)).shape
        torch.Size([3])
    """

    def __init__(self, data_dim: int, latent_dim: int, hidden: Sequence[int] = (64,),
                 likelihood: str = "bernoulli", obs_var: float | None = None):
        super().__init__()
        self.data_dim = check_int(data_dim, "data_dim", low=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", low=1)
        hidden = tuple(check_int(h, "hidden", low=1) for h in hidden)
        self.likelihood = check_choice(likelihood, "likelihood", ["bernoulli", "gaussian"])
        self.encoder = mlp([self.data_dim, *hidden, 2 * self.latent_dim])
        self.decoder = mlp([self.latent_dim, *reversed(hidden), self.data_dim])
        if self.likelihood == "gaussian":
            if obs_var is None:
                self.obs_log_var = nn.Parameter(torch.zeros(self.data_dim))
            else:
                obs_var = check_scalar(obs_var, "obs_var", low=0.0, closed=(False, True))
                self.register_buffer("obs_log_var", torch.full((self.data_dim,), math.log(obs_var)))
        elif obs_var is not None:
            raise ValueError("obs_var: only used with likelihood='gaussian'")

    def _x(self, x: torch.Tensor) -> torch.Tensor:
        x = check_array(x, "x", shape=(None, self.data_dim))
        if not is_torch(x):
            raise TypeError(f"x: expected a torch tensor, got {type(x).__name__}")
        return x

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, log_var)`` of :math:`q(z \\mid x)`, each ``(batch, latent_dim)``."""
        h = self.encoder(self._x(x))
        mu, log_var = h.chunk(2, dim=-1)
        return mu, log_var

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output (logits or mean), shape ``(..., data_dim)``."""
        z = check_array(z, "z")
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"z: expected last dimension {self.latent_dim}, got shape {tuple(z.shape)}")
        return self.decoder(z)

    def mean(self, z: torch.Tensor) -> torch.Tensor:
        r""":math:`\E[x \mid z]`: probabilities (Bernoulli) or the mean (Gaussian)."""
        out = self.decode(z)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p_\theta(x \mid z)`; ``z: (n, batch, d)`` gives ``(n, batch)``."""
        out = self.decode(z)
        if self.likelihood == "bernoulli":
            return cast(torch.Tensor, bernoulli_log_prob(x, out))
        return cast(torch.Tensor, diag_normal_log_prob(x, out, self.obs_log_var))

    def elbo(self, x: torch.Tensor, n_samples: int = 1, beta: float = 1.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """:func:`elbo` with this model's encoder and decoder, shape ``(batch,)``."""
        mu, log_var = self.encode(x)
        return elbo(x, mu, log_var, self.log_likelihood, n_samples=n_samples, beta=beta, generator=generator)

    def iwae_bound(self, x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """:func:`iwae_bound` with this model, shape ``(batch,)``."""
        mu, log_var = self.encode(x)
        return iwae_bound(x, mu, log_var, self.log_likelihood, k, generator=generator)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""``n`` draws of :math:`z \sim p(z)` mapped to :math:`\E[x \mid z]`, shape ``(n, data_dim)``."""
        n = check_int(n, "n", low=1)
        ref = next(self.parameters())
        z = torch.randn(n, self.latent_dim, generator=generator, dtype=ref.dtype, device=ref.device)
        return self.mean(z)


def train_vae(
    model: VAE,
    data: torch.Tensor,
    *,
    steps: int = 500,
    batch_size: int = 128,
    lr: float = 1e-3,
    beta: float = 1.0,
    n_samples: int = 1,
    val_data: torch.Tensor | None = None,
    eval_every: int = 100,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> dict[str, list[float]]:
    r"""Maximise the beta-objective ``eq-beta-objective`` with Adam (the ELBO ``eq-elbo`` at ``beta=1``).

    Args:
        model: the :class:`VAE` to train (in place).
        data: training set, shape ``(n, data_dim)``.
        steps: optimiser steps.
        batch_size: minibatch size (capped at ``n``).
        lr: Adam learning rate.
        beta: KL weight.
        n_samples: latent draws per data point and step.
        val_data: optional held-out set; its ELBO (``beta = 1``) is logged every ``eval_every`` steps.
        eval_every: logging period for ``val_data``.
        seed: seeds the minibatch order and the noise.
        device: where to train.
        progress: show a ``tqdm`` progress bar.

    Returns:
        History: ``step``, ``loss`` (negative beta-objective per data point), ``rate`` (mean KL),
        and, with ``val_data``, ``val_step`` and ``val_elbo``.
    """
    if not isinstance(model, VAE):
        raise TypeError(f"model: expected a VAE, got {type(model).__name__}")
    data = model._x(check_array(data, "data", shape=(None, model.data_dim)))
    steps = check_int(steps, "steps", low=1)
    batch_size = min(check_int(batch_size, "batch_size", low=1), data.shape[0])
    lr = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    beta = check_scalar(beta, "beta", low=0.0)
    n_samples = check_int(n_samples, "n_samples", low=1)
    eval_every = check_int(eval_every, "eval_every", low=1)
    seed = check_int(seed, "seed", low=0)
    if val_data is not None:
        val_data = model._x(val_data)
    model.to(device)
    data = data.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)

    def step_loss(step: int, gen: torch.Generator) -> tuple[torch.Tensor, dict[str, object]]:
        idx = torch.randint(0, data.shape[0], (batch_size,), generator=gen, device=device)
        x = data[idx]
        mu, log_var = model.encode(x)
        value = elbo(x, mu, log_var, model.log_likelihood, n_samples=n_samples, beta=beta, generator=gen)
        rate = cast(torch.Tensor, kl_normal_std(mu, log_var)).detach().mean().item()
        return -value.mean(), {"rate": rate}

    def validate(step: int, gen: torch.Generator, history: dict[str, list]) -> None:
        if val_data is not None and (step % eval_every == 0 or step == steps):
            with torch.no_grad():
                val = model.elbo(val_data.to(device), generator=gen).mean()
            history.setdefault("val_step", []).append(step)
            history.setdefault("val_elbo", []).append(float(val))

    history = fit(model.parameters(), step_loss, steps=steps, lr=lr, generator=gen, first_step=1,
                  after_step=validate, progress=progress, desc="train_vae")
    return {key: history.get(key, []) for key in ("step", "loss", "rate", "val_step", "val_elbo")}


# Names whose home moved, still resolved here on first use, so readers' code written against the
# old paths keeps working: the widgets (presentation apart from the mathematics).
_HOMES = {
    "views.vae": ("BETA_SLIDERS", "beta_vae_view", "widget_specs"),
    "linear_gaussian": ("LinearGaussianModel", "linear_vae_optimum"),
    "gradient_estimators": ("_check_gradient_args", "reparam_gradient", "score_function_gradient"),
}


__getattr__ = moved_names(__name__, _HOMES)
