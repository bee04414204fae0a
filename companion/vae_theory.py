r"""Where the ELBO loses, where the prior leaks, and how to keep latent units alive (chapter ``ch-vae``).

Three pieces of theory behind the VAE chapter, kept apart from :mod:`companion.vae` (the ELBO,
the models and their training), in the same notation (``mu``, ``log_var``: ``(batch, latent_dim)``;
``log_likelihood(x, z)`` maps ``z: (n, batch, latent_dim)`` to ``(n, batch)``):

- the two gaps of Cremer, Li and Duvenaud (2018), ``eq-inference-gaps``: the best diagonal
  Gaussian for each point (:func:`fit_local_q`), its closed form on the linear-Gaussian model
  (:func:`mean_field_optimum`, ``eq-mean-field``), and the decomposition itself
  (:func:`inference_gaps`);
- the aggregate posterior ``eq-aggregate-posterior`` (:func:`aggregate_posterior_log_prob`) and
  the ELBO surgery identity of Hoffman and Johnson (2016), ``eq-elbo-surgery``
  (:func:`elbo_surgery`);
- remedies for posterior collapse: the rate of each latent unit (:func:`rate_per_unit`), a linear
  KL warm-up (:func:`kl_warmup`, ``eq-kl-warmup``), free bits (:func:`free_bits_kl`,
  ``eq-free-bits``) and a training loop with both (:func:`train_vae_remedied`).
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import torch

from .distributions import LOG_2PI
from .training import fit
from .vae import (
    VAE,
    LinearGaussianModel,
    LogLikelihood,
    _as_tensor,
    diag_normal_log_prob,
    elbo,
    kl_normal_std,
    reparameterize,
)
from .validation import (
    Array,
    ArrayLike,
    array_namespace,
    check_array,
    check_int,
    check_same_shape,
    check_scalar,
    is_torch,
)

#: How many (point, component) pairs :func:`aggregate_posterior_log_prob` evaluates at once.
_PAIRS_PER_CHUNK = 2**22

__all__ = [
    "fit_local_q",
    "mean_field_optimum",
    "inference_gaps",
    "aggregate_posterior_log_prob",
    "elbo_surgery",
    "rate_per_unit",
    "kl_warmup",
    "free_bits_kl",
    "train_vae_remedied",
]


def _encoder_params(mu: ArrayLike, log_var: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    mu = _as_tensor(mu, "mu", ndim=2)
    log_var = _as_tensor(log_var, "log_var", ndim=2)
    check_same_shape(mu=mu, log_var=log_var)
    return mu, log_var


# --------------------------------------------------------------------------- the two gaps


def _moment_matched_normal(n: int, batch: int, dim: int, generator: torch.Generator | None,
                           dtype: torch.dtype) -> torch.Tensor:
    """``(n, batch, dim)`` normal draws whose mean is 0 and second moment is I for every point."""
    eps = torch.randn(n, batch, dim, generator=generator, dtype=torch.float64)
    centred = eps - eps.mean(0)
    cov = torch.einsum("sbi,sbj->bij", centred, centred) / n  # (batch, dim, dim)
    chol = torch.linalg.cholesky(cov)
    white = torch.linalg.solve_triangular(chol, centred.permute(1, 2, 0), upper=False)  # (batch, dim, n)
    return white.permute(2, 0, 1).to(dtype)


def fit_local_q(
    x: ArrayLike,
    log_likelihood: LogLikelihood,
    mu: ArrayLike,
    log_var: ArrayLike,
    *,
    n_samples: int = 32,
    steps: int = 50,
    eps: ArrayLike | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The best diagonal Gaussian for each data point, by maximising its own ELBO (``eq-inference-gaps``).

    .. math:: q^*_x = \arg\max_{\mu, \log\sigma^2}
        \ELBO\big(x; \mathcal N(\mu, \operatorname{diag}\sigma^2)\big),

    one :math:`(\mu, \log\sigma^2)` per data point, with no encoder. The ELBO is :func:`companion.vae.elbo`
    (closed-form KL) averaged over *fixed* reparameterisation noise, so the objective is a
    deterministic smooth function and L-BFGS applies; the sum of the points' ELBOs separates, so
    all points are optimised at once. By default the noise is moment-matched: for each point its
    ``n_samples`` draws have mean 0 and second moment :math:`I` exactly. The average of
    a quadratic function of :math:`z` over such draws is its exact expectation, so for the
    linear-Gaussian model (whose :math:`\log p(x \mid z)` is quadratic) the objective is the exact
    ELBO and the optimum is the exact mean-field solution (:func:`mean_field_optimum`).

    Args:
        x: data, shape ``(batch, data_dim)``.
        log_likelihood: ``(x, z) -> log p(x | z)``, ``z: (n, batch, latent_dim)`` to ``(n, batch)``.
        mu, log_var: the starting point (e.g. the encoder's output), shape ``(batch, latent_dim)``.
        n_samples: fixed draws per point (``> latent_dim``, which moment matching needs).
        steps: the most L-BFGS iterations.
        eps: optional fixed noise, shape ``(n_samples, batch, latent_dim)``, used as given.
        generator: torch generator for the noise when ``eps`` is ``None``.

    Returns:
        ``(mu_star, log_var_star)``, detached, each ``(batch, latent_dim)`` in the dtype of ``mu``.

    Reference: Cremer, Li and Duvenaud, *Inference Suboptimality in Variational Autoencoders*,
    ICML 2018.

    Example (a quadratic log-likelihood whose posterior, with the N(0, 1) prior, is N(2/3, 1/3)):
        >>> ll = lambda x, z: -((z - x[None]) ** 2).sum(-1)
        >>> zeros = torch.zeros(1, 1, dtype=torch.float64)
        >>> mu, log_var = fit_local_q(zeros + 1, ll, zeros, zeros, n_samples=4,
        ...                           generator=torch.Generator().manual_seed(0))
        >>> round(float(mu), 6), round(float(log_var.exp()), 6)
        (0.666667, 0.333333)
    """
    x = _as_tensor(x, "x", ndim=2)
    mu, log_var = _encoder_params(mu, log_var)
    if mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu: expected batch size {x.shape[0]} (that of x), got {mu.shape[0]}")
    if not callable(log_likelihood):
        raise TypeError(f"log_likelihood: expected a callable, got {type(log_likelihood).__name__}")
    batch, dim = mu.shape
    n_samples = check_int(n_samples, "n_samples", low=dim + 1)
    steps = check_int(steps, "steps", low=1)
    if eps is None:
        eps = _moment_matched_normal(n_samples, batch, dim, generator, mu.dtype)
    eps = _as_tensor(eps, "eps", shape=(n_samples, batch, dim)).to(mu.dtype)
    mu_star = mu.detach().clone().requires_grad_(True)
    log_var_star = log_var.detach().clone().requires_grad_(True)
    params = [mu_star, log_var_star]
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=steps, tolerance_grad=1e-9, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        loss = -elbo(x, mu_star, log_var_star, log_likelihood, n_samples=n_samples, eps=eps).sum()
        # gradients for q's parameters only: the model's own .grad stays untouched
        mu_star.grad, log_var_star.grad = torch.autograd.grad(loss, params)
        return loss.detach()

    opt.step(closure)
    return mu_star.detach(), log_var_star.detach()


def mean_field_optimum(
    model: LinearGaussianModel, x: ArrayLike,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The best diagonal Gaussian for the linear-Gaussian model, and its gap, equation ``eq-mean-field``.

    With posterior :math:`\mathcal N(m, S)` (``eq-lg-posterior``) and precision
    :math:`P = S^{-1} = I + W^\top W / \sigma^2`, the diagonal Gaussian closest in
    :math:`\KL(q \,\|\, p(z \mid x))` has mean :math:`m` and variances :math:`1 / P_{jj}`; the gap
    that remains is

    .. math:: \log p(x) - \ELBO(q^*) = \tfrac12 \Big(\sum_j \log P_{jj} - \log\det P\Big) \ge 0,

    the same for every :math:`x`, zero only when :math:`P` is diagonal (Hadamard's inequality).

    Args:
        model: a :class:`companion.linear_gaussian.LinearGaussianModel`.
        x: data, shape ``(batch, data_dim)``.

    Returns:
        ``(mu, log_var, gap)``: shapes ``(batch, latent_dim)``, ``(batch, latent_dim)`` and ``()``,
        float64.

    Example:
        >>> m = LinearGaussianModel(np.array([[1.0, 1.0]]), np.zeros(1), 1.0)
        >>> _, log_var, gap = mean_field_optimum(m, np.zeros((1, 1)))
        >>> round(float(log_var.exp()[0, 0]), 6), round(float(gap), 6)   # P = [[2, 1], [1, 2]]
        (0.5, 0.143841)
    """
    if not isinstance(model, LinearGaussianModel):
        raise TypeError(f"model: expected a LinearGaussianModel, got {type(model).__name__}")
    mean, _ = model.posterior(x)
    precision = torch.eye(model.latent_dim, dtype=torch.float64) + model.W.T @ model.W / model.sigma**2
    diag = torch.diagonal(precision)
    log_var = -torch.log(diag).expand_as(mean)
    gap = 0.5 * (torch.log(diag).sum() - torch.logdet(precision))
    return mean, log_var, gap


def inference_gaps(
    log_px: ArrayLike, elbo_best: ArrayLike, elbo_encoder: ArrayLike,
) -> dict[str, tuple[float, float]]:
    r"""Split the encoder's gap into approximation and amortisation gaps, equation ``eq-inference-gaps``.

    .. math::
        \underbrace{\log p(x) - \ELBO(q_\phi)}_{\text{total}}
        = \underbrace{\log p(x) - \ELBO(q^*_x)}_{\text{approximation}}
        + \underbrace{\ELBO(q^*_x) - \ELBO(q_\phi)}_{\text{amortisation}},

    each averaged over the data points, with the standard error of the mean of its per-point
    values (the three inputs are paired: the same points, and best estimated with shared noise).

    Args:
        log_px: estimates of :math:`\log p(x)` per point, shape ``(batch,)`` (``batch >= 2``).
        elbo_best: :math:`\ELBO(q^*_x)` per point (e.g. after :func:`fit_local_q`).
        elbo_encoder: :math:`\ELBO(q_\phi(z \mid x))` per point.

    Returns:
        ``{"total": (mean, se), "approximation": (mean, se), "amortisation": (mean, se)}``, floats.

    Example:
        >>> gaps = inference_gaps(np.array([-1.0, -2.0]), np.array([-1.5, -2.5]), np.array([-2.0, -3.5]))
        >>> gaps["approximation"][0], gaps["amortisation"][0], gaps["total"][0]
        (0.5, 0.75, 1.25)
    """
    arrays = {}
    for name, value in (("log_px", log_px), ("elbo_best", elbo_best), ("elbo_encoder", elbo_encoder)):
        value = check_array(value, name, ndim=1)
        value = value.detach().cpu().double() if is_torch(value) else torch.as_tensor(value).double()
        if value.shape[0] < 2:
            raise ValueError(f"{name}: expected at least 2 data points, got {value.shape[0]}")
        arrays[name] = value
    check_same_shape(**arrays)
    lp, best, enc = arrays["log_px"], arrays["elbo_best"], arrays["elbo_encoder"]
    out = {}
    for key, per_point in (("total", lp - enc), ("approximation", lp - best), ("amortisation", best - enc)):
        out[key] = (float(per_point.mean()), float(per_point.std() / math.sqrt(per_point.shape[0])))
    return out


# --------------------------------------------------------------------------- the aggregate posterior


def aggregate_posterior_log_prob(z: ArrayLike, mu: ArrayLike, log_var: ArrayLike) -> torch.Tensor:
    r"""Log-density of the aggregate posterior, the mixture of all encodings (``eq-aggregate-posterior``).

    .. math:: \log q_\phi(z) = \log \frac1N \sum_{n=1}^N
        \mathcal N\big(z; \mu_n, \operatorname{diag}\sigma_n^2\big),

    with a log-sum-exp over the :math:`N` components. The squared distances are expanded into
    two matrix products (``z**2 @ (1/var).T - 2 z @ (mu/var).T`` plus a constant per component), in
    float64 and in chunks of ``z``, so that a million pairs cost milliseconds.

    Args:
        z: points, shape ``(..., latent_dim)``.
        mu, log_var: the encoder's outputs for the ``N`` data points, shape ``(N, latent_dim)``.

    Returns:
        Shape ``(...)``, in the dtype of ``z``. The inputs are detached: the result carries no
        gradient and is not meant for a training loss.

    Reference: Hoffman and Johnson, *ELBO surgery: yet another way to carve up the variational
    evidence lower bound*, NIPS 2016 Workshop on Advances in Approximate Bayesian Inference.

    Example (one component: the Gaussian itself):
        >>> zeros = torch.zeros(1, 2)
        >>> round(float(aggregate_posterior_log_prob(torch.zeros(2), zeros, zeros)), 6)
        -1.837877
    """
    z = _as_tensor(z, "z", ndim=range(1, 8))
    mu, log_var = _encoder_params(mu, log_var)
    if z.shape[-1] != mu.shape[1]:
        raise ValueError(f"z: expected last dimension {mu.shape[1]} (that of mu), got shape {tuple(z.shape)}")
    mu64, log_var64 = mu.detach().double(), log_var.detach().double()
    inv_var = torch.exp(-log_var64)  # (N, d)
    const = (LOG_2PI + log_var64 + mu64**2 * inv_var).sum(dim=1)  # (N,)
    flat = z.detach().double().reshape(-1, mu.shape[1])  # (M, d)
    rows = max(1, _PAIRS_PER_CHUNK // mu.shape[0])
    out = []
    for chunk in flat.split(rows):
        quad = chunk**2 @ inv_var.T - 2.0 * chunk @ (mu64 * inv_var).T + const  # (m, N)
        out.append(torch.logsumexp(-0.5 * quad, dim=1))
    log_q = torch.cat(out) - math.log(mu.shape[0])
    return log_q.reshape(z.shape[:-1]).to(z.dtype)


def _stratified(values: torch.Tensor) -> tuple[float, float]:
    """Mean of ``(n_samples, N)`` draws (``n_samples`` per component) and its standard error."""
    n_samples, n = values.shape
    se = math.sqrt(float(values.var(0).sum()) / n_samples) / n
    return float(values.mean()), se


def elbo_surgery(
    mu: ArrayLike, log_var: ArrayLike, *, n_samples: int = 4, generator: torch.Generator | None = None,
) -> dict[str, float]:
    r"""Both sides of the ELBO surgery identity, computed independently, equation ``eq-elbo-surgery``.

    .. math::
        \frac1N \sum_{n=1}^N \KL\big(q(z \mid x_n) \,\|\, p(z)\big)
        = I_q(x; z) + \KL\big(q(z) \,\|\, p(z)\big),

    where :math:`q(z)` is the aggregate posterior (``eq-aggregate-posterior``). The left side, the
    *rate*, is the closed form ``eq-kl-std``. On the right,
    :math:`I_q = \frac1N\sum_n \E_{q(z\mid x_n)}[\log q(z \mid x_n) - \log q(z)]` and
    :math:`\KL(q(z)\,\|\,p(z)) = \E_{q(z)}[\log q(z) - \log p(z)]` are Monte Carlo estimates from
    two *independent* sets of draws, ``n_samples`` from each component (a stratified sample of the
    mixture), with standard errors. :math:`0 \le I_q \le \log N`.

    Args:
        mu, log_var: the encoder's outputs for the ``N`` data points, shape ``(N, latent_dim)``.
        n_samples: draws per component for each estimate (>= 2).
        generator: torch generator for the draws.

    Returns:
        ``rate``, ``mutual_information`` and ``mutual_information_se``, ``marginal_kl`` and
        ``marginal_kl_se``, ``log_n``: floats, in nats.

    Reference: Hoffman and Johnson, *ELBO surgery*, NIPS 2016 workshop.

    Example (identical components: q(z | x) does not depend on x, so it carries no information):
        >>> out = elbo_surgery(torch.ones(3, 2, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64))
        >>> out["rate"], abs(round(out["mutual_information"], 12)), round(out["log_n"], 4)
        (1.0, 0.0, 1.0986)
    """
    mu, log_var = _encoder_params(mu, log_var)
    n_samples = check_int(n_samples, "n_samples", low=2)
    mu, log_var = mu.detach().double(), log_var.detach().double()
    zero = torch.zeros_like(mu)
    rate = float(kl_normal_std(mu, log_var).mean())
    eps_info = torch.randn(n_samples, *mu.shape, generator=generator, dtype=torch.float64)
    z_info = reparameterize(mu, log_var, eps_info)  # (n_samples, N, d): draws from each q(z | x_n)
    info = cast(torch.Tensor, diag_normal_log_prob(z_info, mu, log_var)
                - aggregate_posterior_log_prob(z_info, mu, log_var))
    eps_marg = torch.randn(n_samples, *mu.shape, generator=generator, dtype=torch.float64)
    z_marg = reparameterize(mu, log_var, eps_marg)  # an independent stratified sample of q(z)
    marg = cast(torch.Tensor, aggregate_posterior_log_prob(z_marg, mu, log_var)
                - diag_normal_log_prob(z_marg, zero, zero))
    (i_est, i_se), (k_est, k_se) = _stratified(info), _stratified(marg)
    return {"rate": rate, "mutual_information": i_est, "mutual_information_se": i_se,
            "marginal_kl": k_est, "marginal_kl_se": k_se, "log_n": math.log(mu.shape[0])}


# --------------------------------------------------------------------------- posterior collapse: remedies


def rate_per_unit(mu: ArrayLike, log_var: ArrayLike) -> Array:
    r"""The rate of each latent unit: its KL to the prior ``eq-kl-std``, averaged over the batch.

    .. math:: \overline{\KL}_j = \frac1B \sum_{b=1}^B
        \tfrac12\big(\mu_{bj}^2 + \sigma_{bj}^2 - 1 - \log\sigma_{bj}^2\big)

    The units' rates sum to the batch's mean KL; a unit whose rate is near zero is collapsed.

    Args:
        mu, log_var: shape ``(batch, latent_dim)``.

    Returns:
        Shape ``(latent_dim,)``: NumPy in, NumPy out; torch in, torch out.

    Example:
        >>> rate_per_unit(np.array([[1.0, 0.0], [3.0, 0.0]]), np.zeros((2, 2)))
        array([2.5, 0. ])
    """
    mu = check_array(mu, "mu", ndim=2)
    log_var = check_array(log_var, "log_var", ndim=2)
    check_same_shape(mu=mu, log_var=log_var)
    if is_torch(mu) != is_torch(log_var):
        raise TypeError("mu and log_var: expected both NumPy arrays or both torch tensors")
    xp = array_namespace(mu)
    return (0.5 * (mu**2 + xp.exp(log_var) - 1.0 - log_var)).mean(0)


def kl_warmup(step: int, warmup_steps: int) -> float:
    r"""The weight of the KL term at a training step under a linear warm-up, equation ``eq-kl-warmup``
    (the linear schedule of Sønderby et al.; Bowman et al.'s KL annealing used a sigmoid-shaped one).

    .. math:: \beta^{(n)} = \min(1, n / n_\text{w}),

    so training starts near pure reconstruction and reaches the ELBO at step :math:`n_\text{w}`;
    ``warmup_steps = 0`` means no warm-up (:math:`\beta^{(n)} = 1`).

    Args:
        step: the step :math:`n` (>= 0).
        warmup_steps: :math:`n_\text{w}` (>= 0).

    Reference: Bowman et al., *Generating Sentences from a Continuous Space*, CoNLL 2016;
    Sønderby et al., *Ladder Variational Autoencoders*, NIPS 2016.

    Example:
        >>> kl_warmup(50, 200), kl_warmup(400, 200), kl_warmup(3, 0)
        (0.25, 1.0, 1.0)
    """
    step = check_int(step, "step", low=0)
    warmup_steps = check_int(warmup_steps, "warmup_steps", low=0)
    if warmup_steps == 0:
        return 1.0
    return min(1.0, step / warmup_steps)


def free_bits_kl(mu: ArrayLike, log_var: ArrayLike, free_bits: float) -> Array | float:
    r"""The KL term under free bits: each unit's batch rate floored at ``free_bits`` (``eq-free-bits``).

    .. math:: \sum_{j=1}^d \max\big(\lambda, \overline{\KL}_j\big),

    with :math:`\overline{\KL}_j` the unit's rate (:func:`rate_per_unit`). It is at least the plain
    KL :math:`\sum_j \overline{\KL}_j` and at most :math:`d\lambda` more; a unit whose rate is below
    :math:`\lambda` adds the constant :math:`\lambda`, so its gradient is zero: nothing pulls it
    toward the prior.

    Args:
        mu, log_var: shape ``(batch, latent_dim)``.
        free_bits: :math:`\lambda`, in nats per unit (>= 0; 0 gives the plain KL).

    Returns:
        A scalar (0-d tensor for torch input, float for NumPy input).

    Reference: Kingma, Salimans, Jozefowicz, Chen, Sutskever and Welling, *Improved Variational
    Inference with Inverse Autoregressive Flow*, NIPS 2016 (who define free bits over groups of latent
    units; this is the case of one unit per group).

    Example:
        >>> float(free_bits_kl(np.array([[1.0, 0.0], [3.0, 0.0]]), np.zeros((2, 2)), 0.5))
        3.0
    """
    free_bits = check_scalar(free_bits, "free_bits", low=0.0)
    rates = rate_per_unit(mu, log_var)
    if is_torch(rates):
        return torch.clamp(rates, min=free_bits).sum()
    return float(np.maximum(rates, free_bits).sum())


def train_vae_remedied(
    model: VAE,
    data: torch.Tensor,
    *,
    steps: int = 500,
    batch_size: int = 128,
    lr: float = 1e-3,
    warmup_steps: int = 0,
    free_bits: float = 0.0,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> dict[str, list]:
    r"""Train a VAE with a KL warm-up ``eq-kl-warmup`` and free bits ``eq-free-bits``, with Adam.

    Each step maximises, on a minibatch of :math:`B` points with one reparameterised draw each,

    .. math:: \frac1B \sum_b \log p_\theta(x_b \mid z_b)
        - \beta^{(n)} \sum_j \max\big(\lambda, \overline{\KL}_j\big);

    with ``warmup_steps = 0`` and ``free_bits = 0`` this is the ELBO, and the run is that of
    :func:`companion.vae.train_vae` without ``val_data`` (the same minibatches and noise from the
    same ``seed``; equal up to round-off).

    Args:
        model: the :class:`companion.vae.VAE` to train (in place).
        data: training set, shape ``(n, data_dim)``.
        steps: optimiser steps.
        batch_size: minibatch size (capped at ``n``).
        lr: Adam learning rate.
        warmup_steps: :math:`n_\text{w}` of the linear warm-up (0: none).
        free_bits: :math:`\lambda` in nats per unit (0: none).
        seed: seeds the minibatch order and the noise.
        device: where to train.

    Returns:
        History: ``step``, ``loss`` (the negative objective), ``reconstruction`` (the minibatch's
        mean expected log-likelihood), ``kl_weight``, ``rate_per_unit`` (the minibatch's
        ``latent_dim`` rates at each step).

    References: Bowman et al., CoNLL 2016 (KL annealing); Kingma et al., NIPS 2016 (free bits).
    """
    if not isinstance(model, VAE):
        raise TypeError(f"model: expected a VAE, got {type(model).__name__}")
    data = model._x(check_array(data, "data", shape=(None, model.data_dim)))
    steps = check_int(steps, "steps", low=1)
    batch_size = min(check_int(batch_size, "batch_size", low=1), data.shape[0])
    lr = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    warmup_steps = check_int(warmup_steps, "warmup_steps", low=0)
    free_bits = check_scalar(free_bits, "free_bits", low=0.0)
    seed = check_int(seed, "seed", low=0)
    model.to(device)
    data = data.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)

    def step_loss(step: int, gen: torch.Generator) -> tuple[torch.Tensor, dict[str, object]]:
        idx = torch.randint(0, data.shape[0], (batch_size,), generator=gen, device=device)
        x = data[idx]
        mu, log_var = model.encode(x)
        eps = torch.randn((1, *mu.shape), generator=gen, dtype=mu.dtype, device=mu.device)
        reconstruction = model.log_likelihood(x, cast(torch.Tensor, reparameterize(mu, log_var, eps))).mean()
        weight = kl_warmup(step, warmup_steps)
        loss = cast(torch.Tensor, weight * free_bits_kl(mu, log_var, free_bits) - reconstruction)
        return loss, {"reconstruction": reconstruction.item(), "kl_weight": weight,
                      "rate_per_unit": rate_per_unit(mu.detach(), log_var.detach()).tolist()}

    return fit(model.parameters(), step_loss, steps=steps, lr=lr, generator=gen, first_step=1)
