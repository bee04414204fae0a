r"""All five families on one benchmark: the same data, the same budget, one table.

The data are the ring of eight Gaussians of :func:`companion.datasets.ring_of_gaussians`,
split once into a training and a held-out set. Each family is trained with the same
number of optimiser steps and the same batch size (for the GAN, one step updates the
discriminator once and the generator once) by the training function of its own
chapter, and is then scored by functions that live in ``companion``:

- sample quality: :func:`companion.metrics.mmd_rbf` (Gaussian kernel, bandwidth
  :attr:`CapstoneConfig.mmd_bandwidth`) and :func:`companion.metrics.energy_distance`
  between generated samples and the held-out set;
- log-likelihood of the held-out set: exact for the flow, the IWAE bound
  (:func:`companion.vae.iwae_bound`) for the VAE, the probability-flow ODE
  (:func:`pf_ode_log_likelihood`, equation ``eq-pf-loglik``) for diffusion, the
  divergence integral of :func:`companion.flow_matching.ode_log_prob` (``eq-fm-loglik``)
  for flow matching, and ``"none"`` for the GAN;
- mode coverage (:func:`companion.gan.mode_coverage`), training time, and the time to
  draw 10,000 samples.

The one piece of new mathematics, the diffusion model's likelihood by its probability-flow ODE,
lives in :mod:`companion.pf_ode` (reachable from here too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from . import diffusion as Df
from . import flow_matching as Fm
from . import flows as Fl
from . import gan as Gn
from . import vae as Va
from .metrics import energy_distance, mmd_rbf
from .pf_ode import (  # noqa: F401 -- re-exported: their home is companion.pf_ode
    _std_normal_log_prob,
    continuous_alpha_bar,
    divergence,
    pf_ode_log_likelihood,
)
from .utils import moved_names
from .validation import ArrayLike, check_array, check_choice, check_int, check_scalar, is_torch
from .workers import start_workers, worker_pool

__all__ = ["CapstoneConfig", "FAMILY_NAMES", "FAMILIES", "ring_split", "true_log_likelihood", "vae_sample",
           "train_family", "draw_samples", "evaluate_family", "run_benchmark", "summarise",
           "start_workers"]

#: The families, in the book's order.
FAMILY_NAMES = ("VAE", "GAN", "flow", "diffusion", "flow matching")


@dataclass(frozen=True)
class CapstoneConfig:
    """Every setting of the benchmark, in one place (the table states them).

    Attributes:
        steps: optimiser steps for every family (the shared budget).
        batch_size: minibatch size for every family.
        n_train, n_test: sizes of the training and held-out sets.
        n_modes, radius, std: the ring of Gaussians.
        data_seed: seeds the data split (fixed across model seeds).
        n_eval: generated samples scored against the held-out set.
        mmd_bandwidth: the Gaussian kernel's width ``h`` in :func:`companion.metrics.mmd_rbf`.
        iwae_k: importance samples for the VAE's IWAE bound.
        T: diffusion steps (linear schedule of :func:`companion.diffusion.beta_schedule`).
        hidden: width of every network's hidden layers.
        n_timing: samples drawn for the sampling-time column.
        fm_path: the flow matching path (``"linear"`` or ``"cosine"``).
        fm_steps, fm_method: the ODE solver that draws flow matching samples.
        fm_ll_steps: RK4 steps of the flow matching log-likelihood integral.
    """

    steps: int = 1000
    batch_size: int = 256
    n_train: int = 4000
    n_test: int = 1000
    n_modes: int = 8
    radius: float = 2.0
    std: float = 0.1
    data_seed: int = 2024
    n_eval: int = 1000
    mmd_bandwidth: float = 0.2
    iwae_k: int = 64
    T: int = 100
    hidden: int = 64
    n_timing: int = 10_000
    fm_path: str = "linear"
    fm_steps: int = 16
    fm_method: str = "midpoint"
    fm_ll_steps: int = 20
    lrs: dict = field(default_factory=lambda: {"VAE": 3e-3, "GAN": 1e-3, "flow": 5e-3, "diffusion": 3e-3,
                                               "flow matching": 3e-3})

    def __post_init__(self):
        for name in ("steps", "batch_size", "n_train", "n_test", "n_modes", "n_eval", "iwae_k", "hidden",
                     "n_timing", "fm_steps", "fm_ll_steps"):
            check_int(getattr(self, name), name, low=1)
        check_int(self.data_seed, "data_seed", low=0)
        check_int(self.T, "T", low=2)
        check_choice(self.fm_path, "fm_path", Fm.PATHS)
        check_choice(self.fm_method, "fm_method", Fm.METHODS)
        for name in ("radius", "std", "mmd_bandwidth"):
            check_scalar(getattr(self, name), name, low=0.0, closed=(False, True))
        if not isinstance(self.lrs, dict) or set(self.lrs) != set(FAMILY_NAMES):
            raise ValueError(f"lrs: expected a learning rate for each of {list(FAMILY_NAMES)}, "
                             f"got {self.lrs!r}")
        for family, lr in self.lrs.items():
            check_scalar(lr, f"lrs[{family!r}]", low=0.0, closed=(False, True))


def _config(config) -> CapstoneConfig:
    if config is None:
        return CapstoneConfig()
    if not isinstance(config, CapstoneConfig):
        raise TypeError(f"config: expected a CapstoneConfig, got {type(config).__name__}")
    return config


def ring_split(config: CapstoneConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The training and held-out sets: one draw of the ring, split in two.

    Returns:
        ``(train, test)``, shapes ``(n_train, 2)`` and ``(n_test, 2)``, float64.

    Example:
        >>> train, test = ring_split(CapstoneConfig(n_train=30, n_test=10))
        >>> train.shape, test.shape
        ((30, 2), (10, 2))
    """
    c = _config(config)
    x = Gn.ring_of_gaussians(c.n_train + c.n_test, c.n_modes, c.radius, c.std, rng=c.data_seed)
    return x[: c.n_train], x[c.n_train:]


def true_log_likelihood(test: ArrayLike, config: CapstoneConfig | None = None) -> float:
    r"""Mean log-density of ``test`` under the data distribution itself, a ceiling for the table.

    The ring's density :math:`\frac1K\sum_k \mathcal N(x; \mu_k, \sigma^2 I)` by
    :func:`companion.diffusion.gmm_noised_log_prob` with :math:`\bar\alpha = 1` (no noise).

    Example:
        >>> round(true_log_likelihood(np.array([[2.0, 0.0]]), CapstoneConfig(std=1.0)), 4)
        -3.4112
    """
    c = _config(config)
    test = check_array(test, "test", shape=(None, 2))
    x = torch.as_tensor(np.asarray(test) if not is_torch(test) else test, dtype=torch.float64)
    means = torch.as_tensor(Gn.ring_centers(c.n_modes, c.radius))
    w = torch.full((c.n_modes,), 1.0 / c.n_modes, dtype=torch.float64)
    one = torch.ones(1, dtype=torch.float64)
    return float(Df.gmm_noised_log_prob(x, 0, one, means, c.std, w).mean())


# --------------------------------------------------------------------------- training and sampling


def vae_sample(model: Va.VAE, n: int, *, seed: int = 0) -> torch.Tensor:
    r"""``n`` draws from a Gaussian VAE's model :math:`p(x) = \int p(x \mid z) p(z)\,\dd z`.

    Unlike :meth:`companion.vae.VAE.sample` (the decoder mean), this adds the decoder's
    noise, :math:`x = \mu_\theta(z) + \sigma_\theta \odot \epsilon`, so the samples come
    from the distribution whose likelihood the IWAE bound estimates.

    Example:
        >>> vae = Va.VAE(2, 2, hidden=(4,), likelihood="gaussian", obs_var=1e-6)
        >>> vae_sample(vae, 3).shape
        torch.Size([3, 2])
    """
    if not isinstance(model, Va.VAE) or model.likelihood != "gaussian":
        raise TypeError("model: expected a VAE with likelihood='gaussian'")
    n = check_int(n, "n", low=1)
    gen = torch.Generator().manual_seed(check_int(seed, "seed", low=0))
    with torch.no_grad():
        mean = model.sample(n, generator=gen)
        noise = torch.randn(mean.shape, generator=gen, dtype=mean.dtype)
        return mean + (0.5 * model.obs_log_var).exp() * noise


def train_family(family: str, train: ArrayLike, *, config: CapstoneConfig | None = None, seed: int = 0,
                 device: str = "cpu", progress: bool = True) -> dict:
    """Train one family with the shared budget, by its own chapter's training function.

    VAE: :class:`companion.vae.VAE` (two hidden layers, learned Gaussian decoder
    variance) with :func:`companion.vae.train_vae`; GAN: :func:`companion.gan.train_gan`
    (non-saturating); flow: six affine coupling layers, :func:`companion.flows.train_flow`;
    diffusion: :class:`companion.diffusion.EpsMLP` with :func:`companion.diffusion.train_eps_model`
    on the linear schedule with ``T`` steps; flow matching:
    :class:`companion.flow_matching.VelocityMLP` with
    :func:`companion.flow_matching.train_velocity_model` on the path ``fm_path``.

    Args:
        family: one of :data:`FAMILY_NAMES`.
        train: training points, shape ``(n, 2)``.
        config: the benchmark settings (``steps``, ``batch_size``, ``hidden``, ``lrs``, ...).
        seed: seeds initialisation and minibatches.
        device: torch device to train on; the model is returned on the CPU, where
            :func:`evaluate_family` scores it.
        progress: show a progress bar.

    Returns:
        ``{"family", "seed", "model", "train_seconds"}`` (plus ``"alphas_cumprod"`` and
        ``"betas"`` for diffusion).
    """
    family = check_choice(family, "family", FAMILY_NAMES)
    c = _config(config)
    train = check_array(train, "train", shape=(None, 2))
    seed = check_int(seed, "seed", low=0)
    x = torch.as_tensor(np.asarray(train) if not is_torch(train) else train, dtype=torch.float32)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])   # the first Adam imports torch._dynamo: not timed
    torch.manual_seed(seed)
    start = time.perf_counter()
    model, extras = FAMILIES[family].train(x, c, seed, device, progress)
    # scored and sampled on the CPU (a no-op for device="cpu"); inside the timer, since
    # a GPU's asynchronous work is only finished once the weights are copied back
    model.cpu()
    train_seconds = time.perf_counter() - start
    return {"family": family, "seed": seed, **extras, "train_seconds": train_seconds, "model": model}


# Each family as the same three operations: train (with the shared budget, by its own chapter's
# training function), sample, and score held-out points by a log-likelihood (or say why not).
# ``train(x, config, seed, device, progress) -> (model, extras)``: extras are what sampling and
# scoring need besides the model, stored in the dict that train_family returns.


@dataclass(frozen=True)
class _Family:
    train: Callable[[torch.Tensor, CapstoneConfig, int, str, bool], tuple[Any, dict]]
    sample: Callable[[dict, int, int, torch.Generator], torch.Tensor]
    log_likelihood: Callable[[dict, torch.Tensor, CapstoneConfig, int], tuple[Any, str]]


def _train_vae(x, c, seed, device, progress):
    model = Va.VAE(2, 2, hidden=(c.hidden, c.hidden), likelihood="gaussian")
    Va.train_vae(model, x, steps=c.steps, batch_size=c.batch_size, lr=c.lrs["VAE"], seed=seed,
                 device=device, progress=progress)
    return model.eval(), {}


def _vae_log_likelihood(trained, test, c, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        lb = trained["model"].iwae_bound(test.float(), c.iwae_k, generator=gen)
    return float(lb.mean()), f"IWAE bound, k={c.iwae_k}"


def _train_gan(x, c, seed, device, progress):
    run = Gn.train_gan(x, steps=c.steps, batch_size=c.batch_size, lr_d=c.lrs["GAN"], lr_g=c.lrs["GAN"],
                       hidden=c.hidden, std=c.std, centers=Gn.ring_centers(c.n_modes, c.radius),
                       eval_every=c.steps, n_eval=10, seed=seed, device=device, progress=progress)
    return run, {}


def _gan_sample(trained, n, seed, gen):
    g = trained["model"].generator
    return g(torch.randn(n, g.latent_dim, generator=gen))


def _train_flow(x, c, seed, device, progress):
    model = Fl.make_flow(2, 6, kind="affine", hidden=c.hidden // 2, seed=seed)
    Fl.train_flow(model, x, steps=c.steps, batch_size=c.batch_size, lr=c.lrs["flow"], seed=seed,
                  device=device, progress=progress)
    return model, {}


def _train_diffusion(x, c, seed, device, progress):
    betas = Df.beta_schedule("linear", c.T)
    ab = Df.alphas_cumprod(betas)
    model = Df.EpsMLP(2, hidden=c.hidden)
    Df.train_eps_model(model, x, ab, steps=c.steps, batch_size=c.batch_size, lr=c.lrs["diffusion"],
                       seed=seed, device=device, progress=progress)
    return model, {"betas": betas, "alphas_cumprod": ab}


def _diffusion_log_likelihood(trained, test, c, seed):
    lp = pf_ode_log_likelihood(trained["model"], test.float(), trained["alphas_cumprod"].float())
    return float(lp.mean()), "probability-flow ODE, exact trace"


def _train_flow_matching(x, c, seed, device, progress):
    model = Fm.VelocityMLP(2, hidden=c.hidden)
    Fm.train_velocity_model(model, x, path=c.fm_path, steps=c.steps, batch_size=c.batch_size,
                            lr=c.lrs["flow matching"], seed=seed, device=device, progress=progress)
    return model.eval(), {"fm_steps": c.fm_steps, "fm_method": c.fm_method}


def _fm_velocity(model: torch.nn.Module) -> Callable:
    """A trained velocity network as the ``velocity_fn(x, t)`` the flow matching solvers take."""
    return lambda x, t: model(x.float(), t.float()).to(x.dtype)


def _flow_matching_sample(trained, n, seed, gen):
    x0 = torch.randn(n, 2, generator=gen)
    return Fm.ode_sample(_fm_velocity(trained["model"]), x0, trained["fm_steps"], method=trained["fm_method"])


def _flow_matching_log_likelihood(trained, test, c, seed):
    lp = Fm.ode_log_prob(_fm_velocity(trained["model"]), test.float(), c.fm_ll_steps, method="rk4")
    return float(lp.mean()), "divergence integral, exact trace"


#: The five families by name, in the book's order (:data:`FAMILY_NAMES`).
FAMILIES: dict[str, _Family] = {
    "VAE": _Family(_train_vae, lambda t, n, seed, gen: vae_sample(t["model"], n, seed=seed),
                   _vae_log_likelihood),
    "GAN": _Family(_train_gan, _gan_sample,
                   lambda t, test, c, seed: ("none", "none: a GAN defines no tractable density")),
    "flow": _Family(_train_flow, lambda t, n, seed, gen: t["model"].sample(n, generator=gen),
                    lambda t, test, c, seed: (-Fl.negative_log_likelihood(t["model"], test.float()),
                                              "exact (change of variables)")),
    "diffusion": _Family(_train_diffusion,
                         lambda t, n, seed, gen: Df.ddpm_sample(t["model"], t["betas"], (n, 2), seed=seed),
                         _diffusion_log_likelihood),
    "flow matching": _Family(_train_flow_matching, _flow_matching_sample, _flow_matching_log_likelihood),
}


def draw_samples(trained: dict, n: int, *, seed: int = 0) -> torch.Tensor:
    """``n`` samples from a model returned by :func:`train_family`, shape ``(n, 2)``, float32.

    VAE: :func:`vae_sample`; GAN: the generator on standard normal noise; flow:
    :meth:`companion.flows.Flow.sample`; diffusion: :func:`companion.diffusion.ddpm_sample`
    (all ``T`` steps); flow matching: :func:`companion.flow_matching.ode_sample` from standard
    normal noise (``fm_steps`` steps of ``fm_method``, stored in ``trained`` by :func:`train_family`).
    """
    if not isinstance(trained, dict) or "family" not in trained or "model" not in trained:
        raise TypeError("trained: expected the dict returned by train_family")
    n = check_int(n, "n", low=1)
    seed = check_int(seed, "seed", low=0)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return FAMILIES[trained["family"]].sample(trained, n, seed, gen)


def evaluate_family(trained: dict, test: ArrayLike, *, config: CapstoneConfig | None = None,
                    seed: int = 0) -> dict:
    """Score one trained model against the held-out set: one row of the per-seed table.

    Returns:
        ``{"family", "seed", "mmd", "energy", "log_likelihood" (float or "none"),
        "log_likelihood_kind", "modes_covered", "high_quality", "train_seconds",
        "sample_seconds"}``; ``sample_seconds`` is the time to draw ``n_timing`` samples: the
        fastest of up to five draws (stopping once they add up to 0.2 s), as ``timeit`` advises,
        since a busy machine only ever adds time (a sampler of a few milliseconds, preempted
        once, would otherwise look ten times slower).
    """
    c = _config(config)
    if not isinstance(trained, dict) or "family" not in trained:
        raise TypeError("trained: expected the dict returned by train_family")
    test = check_array(test, "test", shape=(None, 2))
    seed = check_int(seed, "seed", low=0)
    test_t = torch.as_tensor(np.asarray(test) if not is_torch(test) else test, dtype=torch.float64)
    x = draw_samples(trained, c.n_eval, seed=seed + 1000).double()
    ref = test_t[: c.n_eval]
    cov = Gn.mode_coverage(x.numpy(), Gn.ring_centers(c.n_modes, c.radius), c.std)
    ll, kind = FAMILIES[trained["family"]].log_likelihood(trained, test_t, c, seed)
    times: list[float] = []
    while len(times) < 5 and sum(times) < 0.2:
        start = time.perf_counter()
        draw_samples(trained, c.n_timing, seed=seed + 2000)
        times.append(time.perf_counter() - start)
    sample_seconds = min(times)
    return {
        "family": trained["family"], "seed": trained["seed"],
        "mmd": mmd_rbf(x, ref, c.mmd_bandwidth), "energy": energy_distance(x, ref),
        "log_likelihood": ll, "log_likelihood_kind": kind,
        "modes_covered": cov["modes_covered"], "high_quality": cov["high_quality"],
        "train_seconds": trained["train_seconds"], "sample_seconds": sample_seconds,
    }


def run_benchmark(config: CapstoneConfig | None = None, seeds: Sequence[int] = (0, 1, 2), *,
                  families: Sequence[str] = FAMILY_NAMES, device: str = "cpu",
                  progress: bool = True, workers: int = 1) -> tuple[list[dict], dict]:
    """Train and score every family for every seed on the same split.

    Args:
        config: the benchmark settings.
        seeds: one row per family and seed.
        families: which of :data:`FAMILY_NAMES` to run.
        device: torch device to train on.
        progress: show progress bars (only with ``workers=1``).
        workers: processes that train at once, each on one torch thread. Every (family,
            seed) pair is seeded on its own, so the rows are the same, bit for bit, for any
            number of workers; only the timing columns feel the machine's load.

    Returns:
        ``(rows, models)``: the per-seed rows of :func:`evaluate_family`, and the trained
        models as ``{(family, seed): trained}`` (for plots).
    """
    c = _config(config)
    if len(seeds) == 0:
        raise ValueError("seeds: expected at least one seed")
    seeds = [check_int(s, "seeds", low=0) for s in seeds]
    families = [check_choice(f, "families", FAMILY_NAMES) for f in families]
    workers = check_int(workers, "workers", low=1, high=64)
    train, test = ring_split(c)
    jobs = [(family, seed) for family in families for seed in seeds]
    if workers == 1:
        done = [_train_and_score(family, seed, train, test, c, device, progress) for family, seed in jobs]
    else:
        pool = worker_pool(workers)
        # the slowest families first, so that the workers' queues end together
        order = sorted(range(len(jobs)), key=lambda i: -_RELATIVE_COST[jobs[i][0]])
        futures = {i: pool.submit(_train_and_score, *jobs[i], train, test, c, device, False)
                   for i in order}
        try:
            done = [futures[i].result() for i in range(len(jobs))]
        except BaseException:  # an interrupted cell (or a failed job): drop the jobs not started
            for future in futures.values():
                future.cancel()
            raise
    rows = [row for row, _ in done]
    models = {(trained["family"], trained["seed"]): trained for _, trained in done}
    return rows, models


#: Rough training-and-scoring time of each family relative to the others (sets the work order).
_RELATIVE_COST = {"flow": 3.0, "diffusion": 2.5, "VAE": 2.0, "GAN": 1.9, "flow matching": 1.3}


def _train_and_score(family: str, seed: int, train: np.ndarray, test: np.ndarray,
                     c: CapstoneConfig, device: str, progress: bool) -> tuple[dict, dict]:
    """One (family, seed) job of :func:`run_benchmark`: its row and its trained model."""
    trained = train_family(family, train, config=c, seed=seed, device=device, progress=progress)
    return evaluate_family(trained, test, config=c, seed=seed), trained


_NUMERIC = ("mmd", "energy", "log_likelihood", "modes_covered", "high_quality", "train_seconds",
            "sample_seconds")


def summarise(rows: Sequence[dict]) -> list[dict]:
    """One row per family: the mean and standard deviation (``ddof=1``) over seeds.

    A ``"none"`` log-likelihood stays ``"none"``. Keys: ``family``, ``n_seeds``,
    ``log_likelihood_kind`` and ``<metric>_mean``, ``<metric>_std`` for each metric.

    Example:
        >>> r = [{"family": "GAN", "mmd": m, "energy": 0.0, "log_likelihood": "none",
        ...       "log_likelihood_kind": "none", "modes_covered": 8, "high_quality": 1.0,
        ...       "train_seconds": 1.0, "sample_seconds": 0.1} for m in (0.1, 0.3)]
        >>> s = summarise(r)[0]
        >>> round(s["mmd_mean"], 3), round(s["mmd_std"], 3), s["log_likelihood_mean"]
        (0.2, 0.141, 'none')
    """
    if len(rows) == 0:
        raise ValueError("rows: expected at least one row")
    for i, r in enumerate(rows):
        lacking = [k for k in ("family", "log_likelihood_kind", *_NUMERIC)
                   if not isinstance(r, dict) or k not in r]
        if lacking:
            raise ValueError(f"rows: row {i} lacks {lacking}")
    out = []
    for family in dict.fromkeys(r["family"] for r in rows):
        mine = [r for r in rows if r["family"] == family]
        summary = {"family": family, "n_seeds": len(mine),
                   "log_likelihood_kind": mine[0]["log_likelihood_kind"]}
        for key in _NUMERIC:
            vals = [r[key] for r in mine]
            if any(isinstance(v, str) for v in vals):
                summary[f"{key}_mean"] = summary[f"{key}_std"] = "none"
                continue
            arr = np.asarray(vals, dtype=np.float64)
            if not np.isfinite(arr).all():
                raise ValueError(f"rows: non-finite {key} for {family}")
            summary[f"{key}_mean"] = float(arr.mean())
            summary[f"{key}_std"] = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
        out.append(summary)
    return out


def config_dict(config: CapstoneConfig | None = None) -> dict:
    """The settings as a plain dict (for printing)."""
    return asdict(_config(config))


# Names whose home moved, still resolved here on first use, so readers' code written against the
# old paths keeps working: the widget and the results table (presentation apart from the mathematics).
_HOMES = {
    "views.capstone": ("SAMPLES_SLIDERS", "samples_view", "widget_specs", "render_results"),
}


__getattr__ = moved_names(__name__, _HOMES)
