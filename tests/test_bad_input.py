"""Bad input for every public function of :mod:`companion`: the error names the argument.

Textbook code is copied into other projects, so a wrong argument must fail loudly and
say *which* argument is wrong, never return NaN or a silently wrong number.

``CASES`` is a table: for each public callable (``module.name``), a call with a wrong
shape, a NaN and an out-of-range value (``kind``), and the argument the ``TypeError`` /
``ValueError`` must name; where a row pins more of the message (a bound, a phrase), its
``match`` is a regular expression the message must also contain (``re.search``).
``test_every_public_callable_is_covered`` enumerates every module's ``__all__`` and fails
if a callable lacks a case of some kind with no reason given for it in ``NOT_APPLICABLE``
(one kind) or ``EXEMPT`` (the whole callable).
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from bookkit import families as Fm
from bookkit.api_index import MODULES
from companion import capstone as Cp
from companion import diffusion as Df
from companion import distributions as Ds
from companion import flow_matching as FM
from companion import flows as Fl
from companion import gan as Gn
from companion import gan_theory as GT
from companion import guidance as Gd
from companion import guidance_remedies as Gr
from companion import metrics as Mt
from companion import plotting as Pl
from companion import utils as Ut
from companion import vae as Va
from companion import validation as Vl
from companion.views import capstone as Vcapstone
from companion.views import diffusion as Vdiffusion
from companion.views import flow_matching as Vflow_matching
from companion.views import flows as Vflows
from companion.views import gan as Vgan
from companion.views import guidance as Vguidance
from companion.views import toolkit as Vtoolkit
from companion.views import vae as Vvae

# the out-of-domain case of the 1-D change of variables takes np.log of a negative number on purpose
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")

NAN = float("nan")
KINDS = ("shape", "nan", "range")
MODULE_NAMES = sorted({*MODULES, "utils"})
#: The book's tooling, a package of its own (``bookkit``), checked by the same table.
BOOKKIT_MODULES = ("api_index", "families")


def _module(mod_name: str):
    """The module a target's first part names: ``bookkit``'s tooling or a ``companion`` module."""
    package = "bookkit" if mod_name in BOOKKIT_MODULES else "companion"
    return importlib.import_module(f"{package}.{mod_name}")


@dataclass(frozen=True)
class Case:
    target: str                  # "module.name" as listed in the module's __all__
    kind: str                    # one of KINDS
    arg: str                     # the argument the error message must name
    call: Callable[[], object]   # the bad call
    exc: type[Exception] = ValueError
    match: str | None = None     # a regular expression the message must also contain (re.search)


CASES: list[Case] = []


def case(target: str, kind: str, arg: str, call: Callable[[], object], exc: type[Exception] = ValueError,
         match: str | None = None):
    assert kind in KINDS, kind
    CASES.append(Case(target, kind, arg, call, exc, match))


def t64(*values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def nan_at(x: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """A copy of ``x`` with its first entry NaN."""
    x = x.clone() if isinstance(x, torch.Tensor) else x.astype(np.float64, copy=True)
    x.reshape(-1)[0] = NAN
    return x


# ------------------------------------------------------------------- valid building blocks
AB = Df.alphas_cumprod(Df.linear_beta_schedule(10, 1e-3, 0.2))              # (10,), float64
BETAS = Df.linear_beta_schedule(10, 1e-3, 0.2)
X2 = torch.zeros(4, 2, dtype=torch.float64)
ZERO_EPS = lambda x, t: torch.zeros_like(x)  # noqa: E731


@cache
def mix() -> Gd.LabelledMixture:
    return Gd.ring_mixture()


@cache
def vae() -> Va.VAE:
    return Va.VAE(2, 2, hidden=(4,), likelihood="gaussian", obs_var=0.5).double()


@cache
def flow() -> Fl.Flow:
    return Fl.make_flow(n_layers=1, hidden=4).double()


@cache
def lgm() -> Va.LinearGaussianModel:
    return Va.LinearGaussianModel(np.ones((2, 1)), np.zeros(2), 1.0)


@cache
def lgm3() -> Va.LinearGaussianModel:
    return Va.LinearGaussianModel(np.ones((3, 2)), np.zeros(3), 1.0)


@cache
def bernoulli_vae() -> Va.VAE:
    return Va.VAE(4, 2, hidden=(8,))


@cache
def flow32() -> Fl.Flow:
    return Fl.make_flow(n_layers=2, hidden=8)


@cache
def guidance_table() -> dict:
    m = mix()
    return Vguidance.precompute_guidance_grid(Gd.MixtureDenoiser(m, AB), m, AB, [0.0, 1.0], n_per_class=2,
                                              n_steps=2, threshold=-10.0)


@cache
def gan_runs() -> dict:
    run = Gn.GANRun(Gn.Generator(hidden=4), Gn.Discriminator(hidden=4),
                    history={"step": [0], "modes_covered": [0], "high_quality": [0.0], "max_share": [1.0],
                             "samples": [np.zeros((3, 2))]})
    return {(1e-3, 1e-3): run}


# ------------------------------------------------------------------- validation
case("validation.check_array", "shape", "my_x", lambda: Vl.check_array(np.zeros(3), "my_x", ndim=2))
case("validation.check_array", "nan", "my_x", lambda: Vl.check_array(np.array([NAN]), "my_x"))
case("validation.check_array", "range", "my_x", lambda: Vl.check_array(np.zeros(0), "my_x"))
case("validation.check_positive", "nan", "my_v", lambda: Vl.check_positive(np.array([NAN]), "my_v"))
case("validation.check_positive", "range", "my_v", lambda: Vl.check_positive(np.array([1.0, 0.0]), "my_v"))
case("validation.check_in_range", "nan", "my_p", lambda: Vl.check_in_range(np.array([NAN]), "my_p", 0, 1))
case("validation.check_in_range", "range", "my_p", lambda: Vl.check_in_range(np.array([1.5]), "my_p", 0, 1))
case("validation.check_same_shape", "shape", "my_a and my_b",
     lambda: Vl.check_same_shape(my_a=np.zeros(2), my_b=np.zeros(3)))
case("validation.check_broadcast", "shape", "my_a and my_b",
     lambda: Vl.check_broadcast(my_a=np.zeros(2), my_b=torch.zeros(3)))
case("validation.check_scalar", "shape", "my_s", lambda: Vl.check_scalar(np.zeros(2), "my_s"), TypeError)
case("validation.check_scalar", "nan", "my_s", lambda: Vl.check_scalar(NAN, "my_s"))
case("validation.check_scalar", "range", "my_s", lambda: Vl.check_scalar(2.0, "my_s", high=1.0))
case("validation.check_int", "shape", "my_n", lambda: Vl.check_int(np.zeros(2), "my_n"), TypeError)
case("validation.check_int", "nan", "my_n", lambda: Vl.check_int(NAN, "my_n"), TypeError)
case("validation.check_int", "range", "my_n", lambda: Vl.check_int(0, "my_n", low=1))
case("validation.check_choice", "nan", "my_c", lambda: Vl.check_choice(NAN, "my_c", ["a"]))
case("validation.check_choice", "range", "my_c", lambda: Vl.check_choice("b", "my_c", ["a"]))

# ------------------------------------------------------------------- utils
case("utils.set_seed", "shape", "seed", lambda: Ut.set_seed(np.zeros(2)), TypeError)
case("utils.set_seed", "nan", "seed", lambda: Ut.set_seed(NAN), TypeError)
case("utils.set_seed", "range", "seed", lambda: Ut.set_seed(-1))
case("utils.scaled", "shape", "steps", lambda: Ut.scaled(np.zeros(2)), TypeError)
case("utils.scaled", "nan", "steps", lambda: Ut.scaled(NAN), TypeError)
case("utils.scaled", "range", "steps", lambda: Ut.scaled(0), match=r"^steps: expected an integer")
case("utils.scaled", "range", "steps", lambda: Ut.scaled(-5), match=r"^steps: expected an integer")
for _steps in (2.0, True, "300"):
    case("utils.scaled", "shape", "steps", lambda s=_steps: Ut.scaled(s), TypeError,
         match=r"^steps: expected an integer")

# ------------------------------------------------------------------- distributions
case("distributions.mc_estimate", "shape", "values", lambda: Ds.mc_estimate(np.zeros((1, 3))))
case("distributions.mc_estimate", "nan", "values", lambda: Ds.mc_estimate(np.array([1.0, NAN])))
case("distributions.mc_estimate", "range", "axis", lambda: Ds.mc_estimate(np.zeros(3), axis=1))
case("distributions.mc_estimate", "range", "axis", lambda: Ds.mc_estimate(torch.zeros(3), axis=-2))
case("distributions.mc_estimate", "range", "values", lambda: Ds.mc_estimate(np.array([1.0])),
     match="values: expected at least 2 draws")
case("distributions.normal_log_prob", "shape", "x and mu",
     lambda: Ds.normal_log_prob(np.zeros(3), np.zeros(2), 1.0))
case("distributions.normal_log_prob", "shape", "var",
     lambda: Ds.normal_log_prob(torch.zeros(3), torch.zeros(3), torch.ones(2)))
case("distributions.normal_log_prob", "nan", "mu", lambda: Ds.normal_log_prob(0.0, NAN, 1.0))
case("distributions.normal_log_prob", "range", "var", lambda: Ds.normal_log_prob(0.0, 0.0, -1.0))
case("distributions.kl_normal", "shape", "var_p",
     lambda: Ds.kl_normal(np.zeros(3), np.ones(3), np.zeros(3), np.ones(2)))
case("distributions.kl_normal", "nan", "mu_p", lambda: Ds.kl_normal(0.0, 1.0, NAN, 1.0))
case("distributions.kl_normal", "range", "var_q", lambda: Ds.kl_normal(0.0, 0.0, 0.0, 1.0))
for _v in ("var_q", "var_p"):
    case("distributions.kl_normal", "range", _v,
         lambda v=_v: Ds.kl_normal(**{**dict(mu_q=0.0, var_q=1.0, mu_p=0.0, var_p=1.0), v: -1.0}),
         match=f"{_v}: expected values > 0")
case("distributions.kl_monte_carlo", "shape", "log_q and log_p",
     lambda: Ds.kl_monte_carlo(np.zeros(3), np.zeros(2)))
case("distributions.kl_monte_carlo", "nan", "log_p",
     lambda: Ds.kl_monte_carlo(np.zeros(3), nan_at(np.zeros(3))))
case("distributions.kl_monte_carlo", "range", "log_q and log_p",
     lambda: Ds.kl_monte_carlo(np.zeros(1), np.zeros(1)))
case("distributions.log_mean_exp", "shape", "log_w", lambda: Ds.log_mean_exp(np.zeros((2, 0))))
case("distributions.log_mean_exp", "nan", "log_w", lambda: Ds.log_mean_exp(np.array([0.0, NAN])))
case("distributions.log_mean_exp", "range", "axis", lambda: Ds.log_mean_exp(np.zeros(3), axis=1))
case("distributions.log_mean_exp", "range", "axis", lambda: Ds.log_mean_exp(torch.zeros(3), axis=1))
case("distributions.jensen_gap_log", "shape", "log_w", lambda: Ds.jensen_gap_log(np.zeros((2, 0))))
case("distributions.jensen_gap_log", "nan", "log_w", lambda: Ds.jensen_gap_log(np.array([0.0, NAN])))
case("distributions.jensen_gap_log", "range", "axis", lambda: Ds.jensen_gap_log(torch.zeros(3), axis=2))
_LOGNORMAL = (np.log, lambda y: -np.log(y), lambda x: Ds.normal_log_prob(x, 0.0, 1.0))
case("change_of_variables.log_prob_change_of_variables_1d", "shape", "inverse",
     lambda: Ds.log_prob_change_of_variables_1d(np.ones(3), lambda y: np.log(y).sum(), *_LOGNORMAL[1:]))
case("change_of_variables.log_prob_change_of_variables_1d", "nan", "y",
     lambda: Ds.log_prob_change_of_variables_1d(np.array([1.0, NAN]), *_LOGNORMAL))
case("change_of_variables.log_prob_change_of_variables_1d", "range", "y",
     lambda: Ds.log_prob_change_of_variables_1d(np.array([1.0, -1.0]), *_LOGNORMAL))
case("change_of_variables.log_prob_change_of_variables_1d", "shape", "inverse",
     lambda: Ds.log_prob_change_of_variables_1d(np.ones(2), None, np.log, np.log), TypeError,
     match="inverse: expected a callable")

# ------------------------------------------------------------------- metrics
for _f in ("mmd_rbf", "energy_distance"):
    _extra = (1.0,) if _f == "mmd_rbf" else ()
    case(f"metrics.{_f}", "shape", "x and y",
         lambda f=_f, e=_extra: getattr(Mt, f)(np.zeros((3, 2)), np.zeros((3, 3)), *e))
    case(f"metrics.{_f}", "nan", "y",
         lambda f=_f, e=_extra: getattr(Mt, f)(np.zeros(3), nan_at(np.zeros(3)), *e))
    case(f"metrics.{_f}", "shape", "x",
         lambda f=_f, e=_extra: getattr(Mt, f)(np.zeros((2, 2, 2)), np.zeros((4, 2)), *e),
         match="x: expected 1 or 2 dimension")
    case(f"metrics.{_f}", "nan", "y",
         lambda f=_f, e=_extra: getattr(Mt, f)(np.zeros((4, 2)), np.array([[0.0, NAN], [1.0, 1.0]]), *e),
         match="y: expected finite")
    case(f"metrics.{_f}", "shape", "x and y",
         lambda f=_f, e=_extra: getattr(Mt, f)(np.zeros((4, 2)), np.zeros((4, 3)), *e),
         match="x and y: expected the same dimension")
case("metrics.mmd_rbf", "range", "bandwidth", lambda: Mt.mmd_rbf(np.zeros(3), np.zeros(3), 0.0))
case("metrics.mmd_rbf", "range", "bandwidth", lambda: Mt.mmd_rbf(np.zeros(3), np.zeros(3), -1.0))
case("metrics.mmd_rbf", "nan", "bandwidth", lambda: Mt.mmd_rbf(np.zeros(3), np.zeros(3), NAN))
case("metrics.mmd_rbf", "range", "x", lambda: Mt.mmd_rbf(np.zeros(1), np.zeros(3), 1.0),
     match="x: expected at least 2 samples")
case("metrics.energy_distance", "range", "y", lambda: Mt.energy_distance(np.zeros(3), np.zeros((0, 1))))

# ------------------------------------------------------------------- vae
case("vae.kl_normal_std", "shape", "mu and log_var", lambda: Va.kl_normal_std(np.zeros(3), np.zeros(2)))
case("vae.kl_normal_std", "shape", "mu and log_var",
     lambda: Va.kl_normal_std(np.zeros((2, 3)), np.zeros((2, 2))),
     match="mu and log_var: expected the same shape")
case("vae.kl_normal_std", "shape", "mu", lambda: Va.kl_normal_std(np.float64(1.0), np.float64(1.0)),
     match="mu: expected")
case("vae.kl_normal_std", "shape", "mu and log_var", lambda: Va.kl_normal_std(np.zeros(2), torch.zeros(2)),
     TypeError)
case("vae.kl_normal_std", "nan", "log_var", lambda: Va.kl_normal_std(np.zeros(2), np.array([0.0, NAN])),
     match="log_var: expected finite")
case("vae.diag_normal_log_prob", "shape", "x and mu",
     lambda: Va.diag_normal_log_prob(np.zeros(3), np.zeros(2), np.zeros(3)))
case("vae.diag_normal_log_prob", "nan", "x", lambda: Va.diag_normal_log_prob(t64(NAN), t64(0.0), t64(0.0)))
case("vae.bernoulli_log_prob", "shape", "x and logits",
     lambda: Va.bernoulli_log_prob(torch.zeros(3), torch.zeros(2)))
case("vae.bernoulli_log_prob", "nan", "logits",
     lambda: Va.bernoulli_log_prob(np.zeros(2), np.array([0.0, NAN])))
case("vae.bernoulli_log_prob", "range", "x", lambda: Va.bernoulli_log_prob(np.array([2.0]), np.zeros(1)))
case("vae.bernoulli_log_prob", "range", "x", lambda: Va.bernoulli_log_prob(np.array([1.5]), np.zeros(1)),
     match="x: expected values in")
case("vae.bernoulli_log_prob", "nan", "logits",
     lambda: Va.bernoulli_log_prob(np.array([0.5]), np.array([NAN])), match="logits: expected finite")
case("vae.reparameterize", "shape", "eps", lambda: Va.reparameterize(np.zeros(2), np.zeros(2), np.zeros(3)),
     match="eps: expected shape")
case("vae.reparameterize", "shape", "mu and log_var", lambda: Va.reparameterize(np.zeros(2), np.zeros(3)),
     match="mu and log_var: expected the same shape")
case("vae.reparameterize", "nan", "log_var",
     lambda: Va.reparameterize(np.zeros(2), np.array([math.inf, 0.0])), match="log_var: expected finite")
case("vae.reparameterize", "nan", "mu", lambda: Va.reparameterize(np.array([NAN]), np.zeros(1)))
case("vae.reparameterize", "range", "eps",
     lambda: Va.reparameterize(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(3)))
_LL = lambda x, z: torch.zeros(z.shape[:2], dtype=torch.float64)  # noqa: E731
case("vae.elbo", "shape", "mu", lambda: Va.elbo(torch.zeros(2, 3), torch.zeros(3, 1), torch.zeros(3, 1), _LL))
case("vae.elbo", "shape", "log_likelihood",
     lambda: Va.elbo(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(2, 1), lambda x, z: torch.zeros(2)))
case("vae.elbo", "nan", "log_var",
     lambda: Va.elbo(torch.zeros(2, 3), torch.zeros(2, 1), nan_at(torch.zeros(2, 1)), _LL))
case("vae.elbo", "nan", "log_likelihood",
     lambda: Va.elbo(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(2, 1),
                     lambda x, z: torch.full(z.shape[:2], NAN)))
case("vae.elbo", "range", "beta",
     lambda: Va.elbo(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(2, 1), _LL, beta=-1.0))
case("vae.elbo", "range", "n_samples",
     lambda: Va.elbo(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(2, 1), _LL, n_samples=0))
_X23, _MU21 = torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64)
case("vae.elbo", "shape", "mu and log_var",
     lambda: Va.elbo(_X23, _MU21, torch.zeros(2, 2, dtype=torch.float64), _LL), match="log_var: expected")
case("vae.elbo", "nan", "mu", lambda: Va.elbo(_X23, _MU21 + NAN, _MU21, _LL), match="mu: expected finite")
case("vae.elbo", "range", "beta", lambda: Va.elbo(_X23, _MU21, _MU21, _LL, beta=-1.0),
     match="beta: expected >= 0")
case("vae.elbo", "range", "n_samples", lambda: Va.elbo(_X23, _MU21, _MU21, _LL, n_samples=0),
     match="n_samples: expected an integer >= 1")
case("vae.elbo", "shape", "mu",
     lambda: Va.elbo(_X23, torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64),
                     _LL),
     match="mu: expected batch size 2")
case("vae.elbo", "shape", "log_likelihood", lambda: Va.elbo(_X23, _MU21, _MU21, lambda x, z: torch.zeros(5)),
     match="log_likelihood: expected a tensor of shape")
case("vae.elbo", "shape", "eps", lambda: Va.elbo(_X23, _MU21, _MU21, _LL, eps=torch.zeros(1, 2, 2)),
     match="eps: expected shape")
case("vae.iwae_bound", "shape", "eps",
     lambda: Va.iwae_bound(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(2, 1), _LL, 4,
                           eps=torch.zeros(3, 2, 1)))
case("vae.iwae_bound", "nan", "x", lambda: Va.iwae_bound(nan_at(torch.zeros(2, 3)), torch.zeros(2, 1),
                                                          torch.zeros(2, 1), _LL, 4))
case("vae.iwae_bound", "nan", "log_likelihood",
     lambda: Va.iwae_bound(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(2, 1),
                           lambda x, z: torch.full(z.shape[:2], NAN), 4))
case("vae.iwae_bound", "range", "k", lambda: Va.iwae_bound(torch.zeros(2, 3), torch.zeros(2, 1),
                                                            torch.zeros(2, 1), _LL, 0))
case("vae.iwae_bound", "range", "k", lambda: Va.iwae_bound(_X23, _MU21, _MU21, _LL, 0),
     match="k: expected an integer >= 1")
case("vae.iwae_bound", "nan", "x", lambda: Va.iwae_bound(_X23 + NAN, _MU21, _MU21, _LL, 2),
     match="x: expected finite")
case("vae.iwae_bound", "shape", "x",
     lambda: Va.iwae_bound(torch.zeros(3, dtype=torch.float64), _MU21, _MU21, _LL, 2),
     match="x: expected 2 dimension")
case("vae.iwae_bound", "shape", "eps",
     lambda: Va.iwae_bound(_X23, _MU21, _MU21, _LL, 2, eps=torch.zeros(3, 2, 1, dtype=torch.float64)),
     match="eps: expected shape")
_F = lambda z: (z**2).sum(-1)  # noqa: E731
for _g in ("reparam_gradient", "score_function_gradient"):
    case(f"gradient_estimators.{_g}", "shape", "eps",
         lambda g=_g: getattr(Va, g)(_F, t64(0.0), t64(0.0), torch.zeros(3, 2)))
    case(f"gradient_estimators.{_g}", "nan", "mu",
         lambda g=_g: getattr(Va, g)(_F, t64(NAN), t64(0.0), torch.zeros(3, 1)))
    case(f"gradient_estimators.{_g}", "range", "eps",
         lambda g=_g: getattr(Va, g)(_F, t64(0.0), t64(0.0), torch.zeros(1, 1)))
_SUM = lambda z: z.sum(-1)  # noqa: E731
case("gradient_estimators.reparam_gradient", "shape", "eps",
     lambda: Va.reparam_gradient(_SUM, torch.zeros(2), torch.zeros(2), torch.zeros(5, 3)),
     match="eps: expected shape")
case("gradient_estimators.score_function_gradient", "nan", "mu",
     lambda: Va.score_function_gradient(_SUM, torch.tensor([NAN]), torch.zeros(1), torch.zeros(5, 1)),
     match="mu: expected finite")
case("gradient_estimators.reparam_gradient", "shape", "f",
     lambda: Va.reparam_gradient(None, torch.zeros(1), torch.zeros(1), torch.zeros(5, 1)), TypeError,
     match="f: expected a callable")
case("gradient_estimators.reparam_gradient", "shape", "log_var",
     lambda: Va.reparam_gradient(_SUM, torch.zeros(1), torch.zeros(1, 1), torch.zeros(5, 1)),
     match="log_var: expected 1 dimension")
case("linear_gaussian.LinearGaussianModel", "shape", "b",
     lambda: Va.LinearGaussianModel(np.ones((2, 1)), np.zeros(3), 1.0))
case("linear_gaussian.LinearGaussianModel", "shape", "x", lambda: lgm().log_prob(np.zeros((2, 3))))
case("linear_gaussian.LinearGaussianModel", "shape", "log_var",
     lambda: lgm().elbo_exact(np.zeros((2, 2)), np.zeros((2, 1)), np.zeros((2, 2))))
case("linear_gaussian.LinearGaussianModel", "nan", "W",
     lambda: Va.LinearGaussianModel(nan_at(np.ones((2, 1))), np.zeros(2), 1.0))
case("linear_gaussian.LinearGaussianModel", "nan", "x", lambda: lgm().posterior(nan_at(np.zeros((2, 2)))))
case("linear_gaussian.LinearGaussianModel", "range", "sigma",
     lambda: Va.LinearGaussianModel(np.ones((2, 1)), np.zeros(2), 0.0))
case("linear_gaussian.LinearGaussianModel", "range", "n", lambda: lgm().sample(0))
case("linear_gaussian.LinearGaussianModel", "range", "sigma",
     lambda: Va.LinearGaussianModel(np.ones((3, 2)), np.zeros(3), 0.0), match="sigma: expected > 0")
case("linear_gaussian.LinearGaussianModel", "shape", "b",
     lambda: Va.LinearGaussianModel(np.ones((3, 2)), np.zeros(2), 1.0), match="b: expected shape")
case("linear_gaussian.LinearGaussianModel", "nan", "W",
     lambda: Va.LinearGaussianModel(np.full((3, 2), NAN), np.zeros(3), 1.0), match="W: expected finite")
case("linear_gaussian.LinearGaussianModel", "shape", "x", lambda: lgm3().log_prob(np.zeros((2, 4))),
     match="x: expected shape")
case("linear_gaussian.LinearGaussianModel", "shape", "log_var",
     lambda: lgm3().elbo_exact(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 1))),
     match="log_var: expected shape")
case("vae.VAE", "shape", "x", lambda: vae().elbo(torch.zeros(3, 5, dtype=torch.float64)))
case("vae.VAE", "shape", "z", lambda: vae().decode(torch.zeros(3, 5, dtype=torch.float64)))
case("vae.VAE", "nan", "x", lambda: vae().encode(nan_at(X2)))
case("vae.VAE", "nan", "z", lambda: vae().decode(nan_at(X2)))
case("vae.VAE", "nan", "obs_var", lambda: Va.VAE(2, 2, likelihood="gaussian", obs_var=NAN))
case("vae.VAE", "range", "latent_dim", lambda: Va.VAE(2, 0))
case("vae.VAE", "range", "likelihood", lambda: Va.VAE(2, 2, likelihood="poisson"))
case("vae.VAE", "shape", "x", lambda: bernoulli_vae().encode(torch.zeros(3, 5)), match="x: expected shape")
case("vae.VAE", "nan", "x", lambda: bernoulli_vae().elbo(torch.full((2, 4), NAN)), match="x: expected finite")
case("vae.VAE", "range", "x", lambda: bernoulli_vae().elbo(torch.full((2, 4), 2.0)),
     match="x: expected values in")
case("vae.VAE", "range", "likelihood", lambda: Va.VAE(4, 2, likelihood="poisson"),
     match="likelihood: expected one of")
case("vae.VAE", "range", "obs_var", lambda: Va.VAE(4, 2, likelihood="gaussian", obs_var=-1.0))
case("vae.train_vae", "shape", "data", lambda: Va.train_vae(vae(), torch.zeros(4, 3, dtype=torch.float64)))
case("vae.train_vae", "nan", "data", lambda: Va.train_vae(vae(), nan_at(X2)))
case("vae.train_vae", "nan", "lr", lambda: Va.train_vae(vae(), X2, lr=NAN))
case("vae.train_vae", "range", "steps", lambda: Va.train_vae(vae(), X2, steps=0))
case("vae.train_vae", "range", "steps",
     lambda: Va.train_vae(bernoulli_vae(), torch.zeros(8, 4), steps=0, progress=False),
     match="steps: expected an integer >= 1")
case("vae.train_vae", "range", "beta", lambda: Va.train_vae(bernoulli_vae(), torch.zeros(8, 4), beta=-1.0,
                                                            progress=False), match="beta: expected >= 0")
case("vae.train_vae", "shape", "data",
     lambda: Va.train_vae(bernoulli_vae(), torch.zeros(8, 3), progress=False),
     match="data: expected shape")
case("vae.train_vae", "shape", "model",
     lambda: Va.train_vae(torch.nn.Linear(2, 2), torch.zeros(8, 4), progress=False), TypeError,
     match="model: expected a VAE")
case("linear_gaussian.linear_vae_optimum", "shape", "eigenvalues",
     lambda: Va.linear_vae_optimum(np.ones((2, 2)), 1.0, 1.0))
case("linear_gaussian.linear_vae_optimum", "nan", "beta", lambda: Va.linear_vae_optimum(np.ones(2), NAN, 1.0))
case("linear_gaussian.linear_vae_optimum", "range", "latent_dim",
     lambda: Va.linear_vae_optimum(np.ones(2), 1.0, 1.0, 3))
case("linear_gaussian.linear_vae_optimum", "range", "eigenvalues",
     lambda: Va.linear_vae_optimum(np.array([1.0, -1.0]), 1.0, 1.0))
case("linear_gaussian.linear_vae_optimum", "range", "eigenvalues",
     lambda: Va.linear_vae_optimum(np.array([1.0, -1.0]), 1.0, 0.1),
     match="eigenvalues: expected values >= 0")
case("linear_gaussian.linear_vae_optimum", "nan", "eigenvalues",
     lambda: Va.linear_vae_optimum(np.array([1.0, NAN]), 1.0, 0.1), match="eigenvalues: expected finite")
case("linear_gaussian.linear_vae_optimum", "shape", "eigenvalues",
     lambda: Va.linear_vae_optimum(np.ones((2, 2)), 1.0, 0.1), match="eigenvalues: expected 1 dimension")
case("linear_gaussian.linear_vae_optimum", "range", "beta",
     lambda: Va.linear_vae_optimum(np.ones(2), 0.0, 0.1), match="beta: expected > 0")
case("linear_gaussian.linear_vae_optimum", "range", "latent_dim",
     lambda: Va.linear_vae_optimum(np.ones(2), 1.0, 0.1, latent_dim=3),
     match="latent_dim: expected an integer <= 2")
case("views.vae.beta_vae_view", "shape", "eigenvalues",
     lambda: Vvae.beta_vae_view(1.0, 1, eigenvalues=np.ones((2, 2)), obs_var=1.0))
case("views.vae.beta_vae_view", "nan", "beta",
     lambda: Vvae.beta_vae_view(NAN, 1, eigenvalues=np.ones(2), obs_var=1.0))
case("views.vae.beta_vae_view", "range", "latent_dim",
     lambda: Vvae.beta_vae_view(1.0, 3, eigenvalues=np.ones(2), obs_var=1.0))
case("views.vae.beta_vae_view", "range", "beta",
     lambda: Va.beta_vae_view(-1.0, 2, eigenvalues=np.ones(3), obs_var=0.1), match="beta: expected > 0")
case("views.vae.beta_vae_view", "range", "latent_dim",
     lambda: Va.beta_vae_view(1.0, 4, eigenvalues=np.ones(3), obs_var=0.1),
     match="latent_dim: expected an integer <= 3")
case("views.vae.widget_specs", "shape", "eigenvalues", lambda: Vvae.widget_specs(np.ones((2, 2))))
case("views.vae.widget_specs", "nan", "obs_var", lambda: Vvae.widget_specs(np.ones(2), NAN))
case("views.vae.widget_specs", "range", "obs_var", lambda: Vvae.widget_specs(np.ones(2), -1.0))
case("views.vae.widget_specs", "nan", "eigenvalues",
     lambda: Va.widget_specs(eigenvalues=np.array([NAN, 1.0])),
     match="eigenvalues: expected finite")
case("datasets.load_digits01", "shape", "test_fraction", lambda: Va.load_digits01(np.zeros(2)), TypeError)
case("datasets.load_digits01", "nan", "test_fraction", lambda: Va.load_digits01(NAN))
case("datasets.load_digits01", "range", "test_fraction", lambda: Va.load_digits01(1.0))
case("datasets.make_moons_2d", "shape", "n", lambda: Va.make_moons_2d(np.zeros(2)), TypeError)
case("datasets.make_moons_2d", "nan", "noise", lambda: Va.make_moons_2d(10, NAN))
case("datasets.make_moons_2d", "range", "noise", lambda: Va.make_moons_2d(10, -0.1))

# ------------------------------------------------------------------- gan
case("datasets.ring_centers", "shape", "radius", lambda: Gn.ring_centers(8, np.ones(2)), TypeError)
case("datasets.ring_centers", "nan", "radius", lambda: Gn.ring_centers(8, NAN))
case("datasets.ring_centers", "range", "n_modes", lambda: Gn.ring_centers(0))
case("datasets.ring_of_gaussians", "shape", "std",
     lambda: Gn.ring_of_gaussians(10, std=np.ones(2)), TypeError)
case("datasets.ring_of_gaussians", "nan", "std", lambda: Gn.ring_of_gaussians(10, std=NAN))
case("datasets.ring_of_gaussians", "range", "n", lambda: Gn.ring_of_gaussians(0))
case("datasets.ring_of_gaussians", "range", "rng", lambda: Gn.ring_of_gaussians(10, rng=-1))
case("gan.discriminator_loss", "shape", "real_logits",
     lambda: Gn.discriminator_loss(np.zeros((2, 2)), np.zeros(2)))
case("gan.discriminator_loss", "nan", "fake_logits",
     lambda: Gn.discriminator_loss(np.zeros(2), np.array([NAN])))
case("gan.discriminator_loss", "range", "fake_logits",
     lambda: Gn.discriminator_loss(np.zeros(2), np.zeros(0)))
case("gan.generator_loss", "shape", "fake_logits", lambda: Gn.generator_loss(torch.zeros(2, 2)))
case("gan.generator_loss", "nan", "fake_logits", lambda: Gn.generator_loss(t64(NAN)))
case("gan.generator_loss", "range", "kind", lambda: Gn.generator_loss(t64(0.0), kind="wasserstein"))
case("gan.generator_loss_grad", "shape", "fake_logits", lambda: Gn.generator_loss_grad(np.zeros((0, 2))))
case("gan.generator_loss_grad", "nan", "fake_logits", lambda: Gn.generator_loss_grad(np.array([NAN])))
case("gan.generator_loss_grad", "range", "kind", lambda: Gn.generator_loss_grad(np.zeros(1), kind="x"))
_P = np.full(4, 0.25)
case("gan_theory.optimal_discriminator", "shape", "p_data and p_model",
     lambda: Gn.optimal_discriminator(_P, np.ones(3)))
case("gan_theory.optimal_discriminator", "nan", "p_model", lambda: Gn.optimal_discriminator(_P, nan_at(_P)))
case("gan_theory.optimal_discriminator", "range", "p_data", lambda: Gn.optimal_discriminator(-_P, _P))
case("gan_theory.optimal_discriminator", "range", "p_data",
     lambda: Gn.optimal_discriminator(2 * _P, _P, dx=1.0))
case("gan_theory.gan_value", "shape", "discriminator", lambda: Gn.gan_value(_P, _P, np.full(3, 0.5), 1.0))
case("gan_theory.gan_value", "nan", "discriminator", lambda: Gn.gan_value(_P, _P, nan_at(_P), 1.0))
case("gan_theory.gan_value", "range", "discriminator", lambda: Gn.gan_value(_P, _P, _P + 1.0, 1.0))
case("gan_theory.gan_value", "range", "dx", lambda: Gn.gan_value(_P, _P, _P, 0.0))
case("gan_theory.js_divergence", "shape", "p and q", lambda: Gn.js_divergence(_P, np.full(2, 0.5), 1.0))
case("gan_theory.js_divergence", "nan", "dx", lambda: Gn.js_divergence(_P, _P, NAN))
case("gan_theory.js_divergence", "range", "q", lambda: Gn.js_divergence(_P, 2 * _P, 1.0))
case("gan.wasserstein_critic_loss", "shape", "fake_scores",
     lambda: Gn.wasserstein_critic_loss(np.zeros(2), np.zeros((2, 2))))
case("gan.wasserstein_critic_loss", "nan", "real_scores",
     lambda: Gn.wasserstein_critic_loss(np.array([NAN]), np.zeros(2)))
case("gan.wasserstein_critic_loss", "range", "real_scores",
     lambda: Gn.wasserstein_critic_loss(np.zeros(0), np.zeros(2)))
_CRITIC = torch.nn.Linear(2, 1).double()
case("gan.gradient_penalty", "shape", "real and fake", lambda: Gn.gradient_penalty(_CRITIC, X2, X2[:3]))
case("gan.gradient_penalty", "nan", "fake", lambda: Gn.gradient_penalty(_CRITIC, X2, nan_at(X2)))
case("gan.gradient_penalty", "range", "weight", lambda: Gn.gradient_penalty(_CRITIC, X2, X2, weight=-1.0))
_C8 = Gn.ring_centers(8)
case("gan.mode_coverage", "shape", "samples", lambda: Gn.mode_coverage(np.zeros((4, 3)), _C8, 0.1))
case("gan.mode_coverage", "nan", "samples", lambda: Gn.mode_coverage(nan_at(np.zeros((4, 2))), _C8, 0.1))
case("gan.mode_coverage", "range", "std", lambda: Gn.mode_coverage(np.zeros((4, 2)), _C8, 0.0))
case("gan.Generator", "shape", "z",
     lambda: Gn.Generator(hidden=4).double()(torch.zeros(3, 5, dtype=torch.float64)))
case("gan.Generator", "nan", "z", lambda: Gn.Generator(hidden=4).double()(nan_at(X2)))
case("gan.Generator", "range", "latent_dim", lambda: Gn.Generator(latent_dim=0))
case("gan.Discriminator", "shape", "x", lambda: Gn.Discriminator(hidden=4).double()(torch.zeros(3, 5)))
case("gan.Discriminator", "nan", "x", lambda: Gn.Discriminator(hidden=4).double()(nan_at(X2)))
case("gan.Discriminator", "range", "hidden", lambda: Gn.Discriminator(hidden=0))
case("gan.train_gan", "shape", "data", lambda: Gn.train_gan(np.zeros(10)))
case("gan.train_gan", "nan", "data", lambda: Gn.train_gan(nan_at(np.zeros((10, 2)))))
case("gan.train_gan", "nan", "lr_g", lambda: Gn.train_gan(np.zeros((10, 2)), lr_g=NAN))
case("gan.train_gan", "range", "loss", lambda: Gn.train_gan(np.zeros((10, 2)), loss="hinge"))
case("gan.train_gan", "shape", "centers",
     lambda: Gn.train_gan(np.zeros((10, 2)), centers=np.zeros((8, 3)), steps=1))
case("views.gan.generator_loss_view", "shape", "logit",
     lambda: Vgan.generator_loss_view(np.zeros(2)), TypeError)
case("views.gan.generator_loss_view", "nan", "logit", lambda: Vgan.generator_loss_view(NAN))
case("views.gan.generator_loss_view", "range", "logit", lambda: Vgan.generator_loss_view(math.inf))
case("views.gan.dynamics_runs", "shape", "data", lambda: Vgan.dynamics_runs(np.zeros(10)))
case("views.gan.dynamics_runs", "nan", "data", lambda: Vgan.dynamics_runs(nan_at(np.zeros((10, 2)))))
case("views.gan.dynamics_runs", "range", "steps", lambda: Vgan.dynamics_runs(np.zeros((10, 2)), steps=0))
case("views.gan.training_dynamics_view", "shape", "centers",
     lambda: Vgan.training_dynamics_view(gan_runs(), 1e-3, 1e-3, 0, centers=np.zeros(8)))
case("views.gan.training_dynamics_view", "nan", "lr_g",
     lambda: Vgan.training_dynamics_view(gan_runs(), NAN, 1e-3, 0))
case("views.gan.training_dynamics_view", "range", "checkpoint",
     lambda: Vgan.training_dynamics_view(gan_runs(), 1e-3, 1e-3, 1))
case("views.gan.widget_specs", "shape", "data", lambda: Vgan.widget_specs(None, np.zeros(10)))
case("views.gan.widget_specs", "nan", "data", lambda: Vgan.widget_specs(None, nan_at(np.zeros((10, 2)))))
case("views.gan.widget_specs", "range", "runs", lambda: Vgan.widget_specs({}), TypeError)

# ------------------------------------------------------------------- flows
for _s in ("sample_two_moons", "sample_checkerboard"):
    case(f"datasets.{_s}", "shape", "n", lambda s=_s: getattr(Fl, s)(np.zeros(2)), TypeError)
    case(f"datasets.{_s}", "nan", "n", lambda s=_s: getattr(Fl, s)(NAN), TypeError)
    case(f"datasets.{_s}", "range", "rng", lambda s=_s: getattr(Fl, s)(10, rng=-1))
    case(f"datasets.{_s}", "range", "n", lambda s=_s: getattr(Fl, s)(0), match="n: expected an integer >= 1")
    case(f"datasets.{_s}", "shape", "n", lambda s=_s: getattr(Fl, s)(2.5),
         TypeError, match="n: expected an integer")
    case(f"datasets.{_s}", "range", "rng", lambda s=_s: getattr(Fl, s)(3, rng=-1),
         match="rng: expected an integer >= 0")
case("datasets.sample_two_moons", "nan", "noise", lambda: Fl.sample_two_moons(10, noise=NAN))
case("datasets.sample_two_moons", "nan", "noise", lambda: Fl.sample_two_moons(3, noise=NAN),
     match="noise: expected a finite number")
case("datasets.sample_two_moons", "range", "noise", lambda: Fl.sample_two_moons(3, noise=-1.0),
     match="noise: expected >= 0")
case("change_of_variables.standard_normal_log_prob", "shape", "z",
     lambda: Fl.standard_normal_log_prob(torch.zeros(3)))
case("change_of_variables.standard_normal_log_prob", "nan", "z",
     lambda: Fl.standard_normal_log_prob(nan_at(X2)))
case("change_of_variables.standard_normal_log_prob", "range", "z",
     lambda: Fl.standard_normal_log_prob(torch.zeros(0, 2)))
case("change_of_variables.standard_normal_log_prob", "shape", "z",
     lambda: Fl.standard_normal_log_prob(torch.zeros(2)), match="z: expected 2 dimension")
case("change_of_variables.standard_normal_log_prob", "nan", "z",
     lambda: Fl.standard_normal_log_prob(torch.tensor([[math.inf, 0.0]])), match="z: expected finite values")
_ID = lambda x: (x, torch.zeros(x.shape[0], dtype=x.dtype))  # noqa: E731
case("change_of_variables.log_prob_change_of_variables", "shape", "x",
     lambda: Fl.log_prob_change_of_variables(torch.zeros(3), _ID), match="x: expected 2 dimension")
case("change_of_variables.log_prob_change_of_variables", "shape", "inverse",
     lambda: Fl.log_prob_change_of_variables(X2, lambda x: (x, torch.zeros(1, dtype=x.dtype))))
case("change_of_variables.log_prob_change_of_variables", "nan", "x",
     lambda: Fl.log_prob_change_of_variables(nan_at(X2), _ID))
case("change_of_variables.log_prob_change_of_variables", "range", "inverse",
     lambda: Fl.log_prob_change_of_variables(X2, lambda x: (x.log(), torch.zeros(x.shape[0], dtype=x.dtype))))
case("change_of_variables.log_prob_change_of_variables", "nan", "x",
     lambda: Fl.log_prob_change_of_variables(torch.tensor([[NAN, 0.0]]), _ID),
     match="x: expected finite values")
case("change_of_variables.log_prob_change_of_variables", "shape", "inverse",
     lambda: Fl.log_prob_change_of_variables(torch.zeros(1, 2), None), TypeError,
     match="inverse: expected a callable")
case("change_of_variables.log_abs_det_jacobian", "shape", "x",
     lambda: Fl.log_abs_det_jacobian(lambda v: v, torch.zeros(3)))
case("change_of_variables.log_abs_det_jacobian", "shape", "fn",
     lambda: Fl.log_abs_det_jacobian(lambda v: v[:1], X2))
case("change_of_variables.log_abs_det_jacobian", "nan", "x",
     lambda: Fl.log_abs_det_jacobian(lambda v: v, nan_at(X2)))
case("change_of_variables.log_abs_det_jacobian", "range", "x",
     lambda: Fl.log_abs_det_jacobian(lambda v: v, torch.zeros(0, 2, dtype=torch.float64)))
case("change_of_variables.log_abs_det_jacobian", "nan", "x",
     lambda: Fl.log_abs_det_jacobian(lambda v: v, torch.tensor([[NAN, 0.0]])), match="x: expected finite")
case("change_of_variables.log_abs_det_jacobian", "shape", "fn",
     lambda: Fl.log_abs_det_jacobian(3, torch.zeros(1, 2)), TypeError, match="fn: expected a callable")
case("flows.AffineCoupling", "shape", "mask", lambda: Fl.AffineCoupling(2, [1, 0, 1]))
case("flows.AffineCoupling", "shape", "x", lambda: Fl.AffineCoupling(2, [1, 0])(torch.zeros(3, 3)))
case("flows.AffineCoupling", "nan", "y", lambda: Fl.AffineCoupling(2, [1, 0]).double().inverse(nan_at(X2)))
case("flows.AffineCoupling", "nan", "scale_bound", lambda: Fl.AffineCoupling(2, [1, 0], scale_bound=NAN))
case("flows.AffineCoupling", "range", "mask", lambda: Fl.AffineCoupling(2, [1, 2]))
for _cls in ("AffineCoupling", "SplineCoupling"):
    _t = f"flows.{_cls}"
    case(_t, "shape", "mask", lambda c=_cls: getattr(Fl, c)(3, [1, 0]), match="mask: expected shape")
    case(_t, "range", "mask", lambda c=_cls: getattr(Fl, c)(2, [1, 0.5]),
         match="mask: expected entries 0 or 1")
    case(_t, "range", "mask", lambda c=_cls: getattr(Fl, c)(2, [1, 1]), match="mask: expected both 0s")
    case(_t, "nan", "mask", lambda c=_cls: getattr(Fl, c)(2, [NAN, 0]), match="mask: expected finite")
    case(_t, "range", "dim", lambda c=_cls: getattr(Fl, c)(1, [1]), match="dim: expected an integer >= 2")
    case(_t, "shape", "x", lambda c=_cls: getattr(Fl, c)(2, [1, 0])(torch.zeros(4, 3)),
         match=r"x: expected shape \(any, 2\)")
    case(_t, "nan", "y", lambda c=_cls: getattr(Fl, c)(2, [1, 0]).inverse(torch.tensor([[NAN, 0.0]])),
         match="y: expected finite values")
    case(_t, "shape", "x", lambda c=_cls: getattr(Fl, c)(2, [1, 0])(np.zeros((1, 2))), TypeError,
         match="x: expected a torch tensor")
_W = torch.zeros(3, 4, dtype=torch.float64)
_D = torch.zeros(3, 3, dtype=torch.float64)
_XS = torch.zeros(3, dtype=torch.float64)
case("splines.rational_quadratic_spline", "shape", "widths",
     lambda: Fl.rational_quadratic_spline(_XS, _W[:2], _W, _D))
case("splines.rational_quadratic_spline", "shape", "derivatives",
     lambda: Fl.rational_quadratic_spline(_XS, _W, _W, _W))
case("splines.rational_quadratic_spline", "nan", "heights",
     lambda: Fl.rational_quadratic_spline(_XS, _W, nan_at(_W), _D))
case("splines.rational_quadratic_spline", "nan", "min_derivative",
     lambda: Fl.rational_quadratic_spline(_XS, _W, _W, _D, min_derivative=NAN))
case("splines.rational_quadratic_spline", "range", "bound",
     lambda: Fl.rational_quadratic_spline(_XS, _W, _W, _D, bound=-1.0))
case("splines.rational_quadratic_spline", "range", "min_bin",
     lambda: Fl.rational_quadratic_spline(_XS, _W, _W, _D, min_bin=0.5))
case("splines.rational_quadratic_spline", "range", "min_derivative",
     lambda: Fl.rational_quadratic_spline(_XS, _W, _W, _D, min_derivative=-1.0))
_XS4, _W45, _D44 = (torch.zeros(4, dtype=torch.float64), torch.zeros(4, 5, dtype=torch.float64),
                    torch.zeros(4, 4, dtype=torch.float64))
case("splines.rational_quadratic_spline", "shape", "widths, heights",
     lambda: Fl.rational_quadratic_spline(_XS4, _W45[:, :3], _W45, _D44),
     match="widths, heights: expected shape")
case("splines.rational_quadratic_spline", "shape", "derivatives",
     lambda: Fl.rational_quadratic_spline(_XS4, _W45, _W45, _D44[:, :2]), match="derivatives: expected shape")
case("splines.rational_quadratic_spline", "nan", "x",
     lambda: Fl.rational_quadratic_spline(torch.full((4,), NAN, dtype=torch.float64), _W45, _W45, _D44),
     match="x: expected finite")
case("splines.rational_quadratic_spline", "range", "bound",
     lambda: Fl.rational_quadratic_spline(_XS4, _W45, _W45, _D44, bound=-1.0), match="bound: expected > 0")
case("splines.rational_quadratic_spline", "range", "min_bin",
     lambda: Fl.rational_quadratic_spline(_XS4, _W45, _W45, _D44, min_bin=0.5))
case("flows.SplineCoupling", "shape", "x", lambda: Fl.SplineCoupling(2, [1, 0], hidden=4)(torch.zeros(3, 3)))
case("flows.SplineCoupling", "nan", "x", lambda: Fl.SplineCoupling(2, [1, 0], hidden=4).double()(nan_at(X2)))
case("flows.SplineCoupling", "nan", "bound", lambda: Fl.SplineCoupling(2, [1, 0], bound=NAN))
case("flows.SplineCoupling", "range", "n_bins", lambda: Fl.SplineCoupling(2, [1, 0], n_bins=1))
case("flows.Permutation", "shape", "perm", lambda: Fl.Permutation([[0, 1]]))
case("flows.Permutation", "shape", "x", lambda: Fl.Permutation([1, 0])(torch.zeros(3, 3)))
case("flows.Permutation", "nan", "perm", lambda: Fl.Permutation([0.0, NAN]))
case("flows.Permutation", "nan", "y", lambda: Fl.Permutation([1, 0]).inverse(nan_at(X2)))
case("flows.Permutation", "range", "perm", lambda: Fl.Permutation([0, 2]))
case("flows.Flow", "shape", "x", lambda: flow().log_prob(torch.zeros(3, 3, dtype=torch.float64)))
case("flows.Flow", "shape", "layers", lambda: Fl.Flow([Fl.Permutation([1, 0, 2])], dim=2))
case("flows.Flow", "nan", "x", lambda: flow().log_prob(nan_at(X2)))
case("flows.Flow", "nan", "z", lambda: flow().trajectory(nan_at(X2)))
case("flows.Flow", "range", "n", lambda: flow().sample(0))
case("flows.Flow", "range", "layers", lambda: Fl.Flow([], dim=2), match="layers: expected at least one")
case("flows.Flow", "shape", "x", lambda: flow32().log_prob(torch.zeros(3, 3)),
     match=r"x: expected shape \(any, 2\)")
case("flows.Flow", "nan", "x", lambda: flow32().log_prob(torch.tensor([[NAN, 1.0]])),
     match="x: expected finite")
case("flows.Flow", "range", "n", lambda: flow32().sample(0), match="n: expected an integer >= 1")
case("flows.Flow", "shape", "layers", lambda: Fl.Flow([Fl.AffineCoupling(3, [1, 0, 0])], 2),
     match="layers: layer 0")
case("flows.make_flow", "shape", "dim", lambda: Fl.make_flow(np.zeros(2)), TypeError)
case("flows.make_flow", "nan", "hidden", lambda: Fl.make_flow(hidden=NAN), TypeError)
case("flows.make_flow", "range", "dim", lambda: Fl.make_flow(dim=1))
case("flows.make_flow", "range", "kind", lambda: Fl.make_flow(kind="planar"), match="kind: expected one of")
case("flows.make_flow", "range", "n_layers", lambda: Fl.make_flow(n_layers=0),
     match="n_layers: expected an integer >= 1")
def _mlp(*args):
    from companion.networks import mlp

    return mlp(*args)


case("networks.mlp", "shape", "sizes", lambda: _mlp([4]))
case("networks.mlp", "range", "sizes", lambda: _mlp([2, 0, 1]))
case("networks.mlp", "nan", "sizes", lambda: _mlp([2, float("nan"), 1]), TypeError)
case("networks.mlp", "shape", "activation", lambda: _mlp([2, 3], "relu"), TypeError)


def _fit(**kw):
    from companion.training import fit

    w = torch.nn.Parameter(torch.zeros(2))
    args = dict(params=[w], step_loss=lambda step, gen: (w ** 2).sum(), steps=3, lr=0.1,
                generator=torch.Generator().manual_seed(0))
    args.update(kw)
    return fit(args.pop("params"), args.pop("step_loss"), **args)


case("training.fit", "shape", "params", lambda: _fit(params=[]))
case("training.fit", "nan", "lr", lambda: _fit(lr=float("nan")))
case("training.fit", "range", "lr", lambda: _fit(lr=0.0))
case("training.fit", "range", "steps", lambda: _fit(steps=0))
case("training.fit", "range", "decay_to", lambda: _fit(decay_to=1.5))
case("training.fit", "range", "clip_norm", lambda: _fit(clip_norm=-1.0))
case("training.fit", "range", "first_step", lambda: _fit(first_step=-1))
case("training.fit", "nan", "decay_to", lambda: _fit(decay_to=float("nan")))
case("training.fit", "shape", "step_loss", lambda: _fit(step_loss=3), TypeError)
case("training.fit", "shape", "generator", lambda: _fit(generator=0), TypeError)


case("flows.train_flow", "shape", "data", lambda: Fl.train_flow(flow(), np.zeros((10, 3))))
case("flows.train_flow", "nan", "data", lambda: Fl.train_flow(flow(), nan_at(np.zeros((10, 2)))))
case("flows.train_flow", "range", "lr", lambda: Fl.train_flow(flow(), np.zeros((10, 2)), lr=0.0))
case("flows.train_flow", "shape", "data",
     lambda: Fl.train_flow(flow32(), np.zeros((10, 3)), steps=1, progress=False),
     match=r"data: expected shape \(any, 2\)")
case("flows.train_flow", "nan", "data",
     lambda: Fl.train_flow(flow32(), np.full((10, 2), NAN), steps=1, progress=False),
     match="data: expected finite")
case("flows.train_flow", "range", "lr",
     lambda: Fl.train_flow(flow32(), np.zeros((10, 2)), steps=1, lr=-1.0, progress=False),
     match="lr: expected > 0")
case("flows.train_flow", "range", "steps",
     lambda: Fl.train_flow(flow32(), np.zeros((10, 2)), steps=0, progress=False),
     match="steps: expected an integer >= 1")
case("flows.negative_log_likelihood", "shape", "data",
     lambda: Fl.negative_log_likelihood(flow(), np.zeros(3)))
case("flows.negative_log_likelihood", "nan", "data",
     lambda: Fl.negative_log_likelihood(flow(), nan_at(np.zeros((3, 2)))))
case("flows.negative_log_likelihood", "range", "data",
     lambda: Fl.negative_log_likelihood(flow(), np.zeros((0, 2))))
case("flows.negative_log_likelihood", "shape", "flow",
     lambda: Fl.negative_log_likelihood(None, np.zeros((1, 2))),
     TypeError, match="flow: expected a Flow")
case("flows.negative_log_likelihood", "nan", "data",
     lambda: Fl.negative_log_likelihood(flow32(), np.full((1, 2), math.inf)), match="data: expected finite")
for _f1, _a1 in (("flow_1d_inverse", "x"), ("flow_1d_forward", "z")):
    case(f"flows.{_f1}", "shape", "scale",
         lambda f=_f1: getattr(Fl, f)(np.zeros(2), 0.0, np.ones(2), 0.0), TypeError)
    case(f"flows.{_f1}", "nan", _a1, lambda f=_f1: getattr(Fl, f)(np.array([NAN]), 0.0, 1.0, 0.0),
         match=f"{_a1}: expected finite")
    case(f"flows.{_f1}", "range", "bend", lambda f=_f1: getattr(Fl, f)(np.zeros(2), 0.0, 1.0, -1.0),
         match="bend: expected > -1")
case("flows.flow_1d_forward", "range", "scale", lambda: Fl.flow_1d_forward(np.zeros(2), 0.0, 0.0, 1.0),
     match="scale: expected > 0")
case("views.flows.flow_1d_view", "shape", "shift",
     lambda: Vflows.flow_1d_view(np.zeros(2), 1.0, 0.0), TypeError)
case("views.flows.flow_1d_view", "nan", "scale", lambda: Vflows.flow_1d_view(0.0, NAN, 0.0))
case("views.flows.flow_1d_view", "range", "scale", lambda: Vflows.flow_1d_view(0.0, -1.0, 0.0))
case("views.flows.flow_1d_view", "nan", "shift", lambda: Fl.flow_1d_view(NAN, 1.0, 0.0),
     match="shift: expected a finite number")
case("views.flows.flow_layers_view", "shape", "states",
     lambda: Vflows.flow_layers_view([np.zeros((3, 3))], 0))
case("views.flows.flow_layers_view", "nan", "states",
     lambda: Vflows.flow_layers_view([nan_at(np.zeros((3, 2)))], 0))
case("views.flows.flow_layers_view", "range", "layer", lambda: Vflows.flow_layers_view([np.zeros((3, 2))], 1))
case("views.flows.widget_specs", "shape", "flow",
     lambda: Vflows.widget_specs(Fl.make_flow(dim=3, n_layers=1, hidden=4)))
case("views.flows.widget_specs", "nan", "n_points",
     lambda: Vflows.widget_specs(flow(), n_points=NAN), TypeError)
case("views.flows.widget_specs", "range", "n_points", lambda: Vflows.widget_specs(flow(), n_points=0))

# ------------------------------------------------------------------- diffusion
case("schedules.linear_beta_schedule", "shape", "T", lambda: Df.linear_beta_schedule(np.zeros(2)), TypeError)
case("schedules.linear_beta_schedule", "nan", "beta_end", lambda: Df.linear_beta_schedule(10, 1e-4, NAN))
case("schedules.linear_beta_schedule", "range", "beta_start", lambda: Df.linear_beta_schedule(10, 0.0))
case("schedules.linear_beta_schedule", "range", "beta_end", lambda: Df.linear_beta_schedule(10, 1e-4, 1.5))
case("schedules.linear_beta_schedule", "nan", "beta_start", lambda: Df.linear_beta_schedule(10, NAN))
case("schedules.cosine_beta_schedule", "shape", "s",
     lambda: Df.cosine_beta_schedule(10, np.zeros(2)), TypeError)
case("schedules.cosine_beta_schedule", "nan", "s", lambda: Df.cosine_beta_schedule(10, NAN))
case("schedules.cosine_beta_schedule", "range", "max_beta", lambda: Df.cosine_beta_schedule(10, max_beta=1.0))
case("schedules.cosine_beta_schedule", "shape", "T", lambda: Df.cosine_beta_schedule(2.5), TypeError)
case("schedules.alphas_cumprod", "shape", "betas", lambda: Df.alphas_cumprod(BETAS[None]))
case("schedules.alphas_cumprod", "nan", "betas", lambda: Df.alphas_cumprod(nan_at(BETAS)))
case("schedules.alphas_cumprod", "range", "betas", lambda: Df.alphas_cumprod(BETAS + 1.0))
case("schedules.alphas_cumprod", "range", "betas", lambda: Df.alphas_cumprod(torch.tensor([0.1, 1.0])))
case("schedules.alphas_cumprod", "shape", "betas", lambda: Df.alphas_cumprod(torch.zeros(2, 2)))
case("schedules.snr", "shape", "alphas_cumprod", lambda: Df.snr(AB[None]))
case("schedules.snr", "nan", "alphas_cumprod", lambda: Df.snr(nan_at(AB)))
case("schedules.snr", "range", "alphas_cumprod", lambda: Df.snr(AB + 1.0))
case("schedules.snr", "nan", "alphas_cumprod", lambda: Df.snr(torch.tensor([0.5, NAN])))
_T0 = torch.zeros(4, dtype=torch.long)
case("diffusion.q_sample", "shape", "x0 and eps", lambda: Df.q_sample(X2, 0, X2[:, :1], AB))
case("diffusion.q_sample", "shape", "x0", lambda: Df.q_sample(t64(1.0)[0], 0, t64(0.0)[0], AB))
case("diffusion.q_sample", "shape", "t", lambda: Df.q_sample(X2, torch.zeros(3, dtype=torch.long), X2, AB))
case("diffusion.q_sample", "nan", "eps", lambda: Df.q_sample(X2, 0, nan_at(X2), AB))
case("diffusion.q_sample", "range", "t", lambda: Df.q_sample(X2, 10, X2, AB))
case("diffusion.q_step", "shape", "x_prev and eps", lambda: Df.q_step(X2, 0, X2[:3], BETAS))
case("diffusion.q_step", "nan", "x_prev", lambda: Df.q_step(nan_at(X2), 0, X2, BETAS))
case("diffusion.q_step", "range", "t", lambda: Df.q_step(X2, -1, X2, BETAS))
case("diffusion.q_posterior_mean_variance", "shape", "x0 and x_t",
     lambda: Df.q_posterior_mean_variance(X2, X2[:3], 1, BETAS))
case("diffusion.q_posterior_mean_variance", "nan", "betas",
     lambda: Df.q_posterior_mean_variance(X2, X2, 1, nan_at(BETAS)))
case("diffusion.q_posterior_mean_variance", "range", "t",
     lambda: Df.q_posterior_mean_variance(X2, X2, _T0 + 10, BETAS))
for _fn, _a in (("eps_to_score", "eps"), ("score_to_eps", "score")):
    case(f"parameterisations.{_fn}", "shape", "t", lambda f=_fn: getattr(Df, f)(X2, _T0[:3], AB))
    case(f"parameterisations.{_fn}", "nan", _a, lambda f=_fn: getattr(Df, f)(nan_at(X2), 0, AB))
    case(f"parameterisations.{_fn}", "range", "alphas_cumprod", lambda f=_fn: getattr(Df, f)(X2, 0, AB * 0.0))
for _fn, _a in (("predict_x0_from_eps", "eps"), ("tweedie_x0", "score")):
    case(f"parameterisations.{_fn}", "shape", f"x_t and {_a}",
         lambda f=_fn: getattr(Df, f)(X2, 0, X2[:, :1], AB))
    case(f"parameterisations.{_fn}", "nan", _a, lambda f=_fn: getattr(Df, f)(X2, 0, nan_at(X2), AB))
    case(f"parameterisations.{_fn}", "range", "t", lambda f=_fn: getattr(Df, f)(X2, 99, X2, AB))
# the five share one signature (an array, a step t, a second array, a schedule); the same bad calls for each
_POINTWISE = {  # target: (call, the first array, the pair of arrays, the schedule)
    "diffusion.q_sample":
        (lambda x0=X2, t=0, eps=X2, s=AB: Df.q_sample(x0, t, eps, s), "x0", "x0 and eps", "alphas_cumprod"),
    "diffusion.q_step":
        (lambda x0=X2, t=0, eps=X2, s=BETAS: Df.q_step(x0, t, eps, s), "x_prev", "x_prev and eps", "betas"),
    "diffusion.q_posterior_mean_variance":
        (lambda x0=X2, t=0, eps=X2, s=BETAS: Df.q_posterior_mean_variance(x0, eps, t, s), "x0", "x0 and x_t",
         "betas"),
    "parameterisations.predict_x0_from_eps":
        (lambda x0=X2, t=0, eps=X2, s=AB: Df.predict_x0_from_eps(x0, t, eps, s), "x_t", "x_t and eps",
         "alphas_cumprod"),
    "parameterisations.tweedie_x0":
        (lambda x0=X2, t=0, eps=X2, s=AB: Df.tweedie_x0(x0, t, eps, s), "x_t", "x_t and score",
         "alphas_cumprod"),
}
for _t, (_fn, _first, _pair, _sched) in _POINTWISE.items():
    case(_t, "range", "t", lambda f=_fn: f(t=10), match="t: expected steps in")
    case(_t, "range", "t", lambda f=_fn: f(t=-1), match="t: expected steps in")
    case(_t, "shape", "t", lambda f=_fn: f(t=torch.zeros(4)), TypeError, match="t: expected an integer")
    case(_t, "shape", _pair, lambda f=_fn: f(eps=torch.zeros(4, 3, dtype=torch.float64)),
         match="expected the same shape")
    case(_t, "nan", _first, lambda f=_fn: f(x0=nan_at(X2)), match="expected finite")
    case(_t, "shape", "t", lambda f=_fn: f(t=torch.zeros(3, dtype=torch.long)), match="t: expected shape")
    case(_t, "range", _sched, lambda f=_fn: f(s=t64(0.5, 1.5)),
         match="(betas|alphas_cumprod): expected values in")
_AB2 = t64(0.5, 1.0)
case("parameterisations.eps_to_score", "range", "alphas_cumprod",
     lambda: Df.eps_to_score(torch.zeros(1, 2), 0, _AB2))  # alpha_bar = 1 has no score
case("parameterisations.eps_to_score", "nan", "eps",
     lambda: Df.eps_to_score(torch.tensor([[NAN]]), 0, _AB2[:1]),
     match="eps: expected finite")
case("parameterisations.score_to_eps", "range", "t", lambda: Df.score_to_eps(torch.zeros(1, 2), 5, _AB2),
     match="t: expected steps")
_MEANS, _W2 = torch.zeros(2, 2, dtype=torch.float64), t64(0.5, 0.5)
case("mixtures.gmm_sample", "shape", "weights", lambda: Df.gmm_sample(3, _MEANS, 1.0, t64(1.0)))
case("mixtures.gmm_sample", "nan", "means", lambda: Df.gmm_sample(3, nan_at(_MEANS), 1.0, _W2))
case("mixtures.gmm_sample", "range", "stds", lambda: Df.gmm_sample(3, _MEANS, 0.0, _W2))
case("mixtures.gmm_sample", "range", "weights", lambda: Df.gmm_sample(3, _MEANS, 1.0, t64(0.5, 0.6)))
for _fn in ("gmm_noised_log_prob", "gmm_responsibilities", "gmm_noised_score", "gmm_optimal_eps",
            "gmm_posterior_mean_x0"):
    case(f"mixtures.{_fn}", "shape", "means",
         lambda f=_fn: getattr(Df, f)(X2, 0, AB, torch.zeros(2, 3), 1.0, _W2))
    case(f"mixtures.{_fn}", "nan", "x_t", lambda f=_fn: getattr(Df, f)(nan_at(X2), 0, AB, _MEANS, 1.0, _W2))
    case(f"mixtures.{_fn}", "range", "stds",
         lambda f=_fn: getattr(Df, f)(X2, 0, AB, _MEANS, t64(1.0, -1.0), _W2))
_MIX3 = (t64(-2.0, 0.0, 2.0, 1.0, 0.0, -2.5).reshape(3, 2), t64(0.3, 0.6, 0.45), t64(0.2, 0.5, 0.3))
for _fn in ("gmm_noised_score", "gmm_optimal_eps", "gmm_noised_log_prob", "gmm_responsibilities",
            "gmm_posterior_mean_x0"):
    _t = f"mixtures.{_fn}"
    case(_t, "shape", "means",
         lambda f=_fn: getattr(Df, f)(torch.zeros(4, 3, dtype=torch.float64), 0, AB, *_MIX3),
         match="means: expected shape")
    case(_t, "nan", "x_t",
         lambda f=_fn: getattr(Df, f)(torch.full((4, 2), NAN, dtype=torch.float64), 0, AB, *_MIX3),
         match="x_t: expected finite")
    case(_t, "range", "stds", lambda f=_fn: getattr(Df, f)(X2, 0, AB, _MIX3[0], -_MIX3[1], _MIX3[2]),
         match="stds: expected values > 0")
    case(_t, "range", "weights", lambda f=_fn: getattr(Df, f)(X2, 0, AB, _MIX3[0], _MIX3[1], 2 * _MIX3[2]),
         match="weights: expected entries summing to 1")
    case(_t, "range", "t", lambda f=_fn: getattr(Df, f)(X2, 10, AB, *_MIX3), match="t: expected steps")
case("mixtures.gmm_sample", "range", "n", lambda: Df.gmm_sample(0, *_MIX3),
     match="n: expected an integer >= 1")
case("diffusion.gaussian_eps_loss_floor", "shape", "alphas_cumprod",
     lambda: Df.gaussian_eps_loss_floor(0, AB[None], 1.0, 2))
case("diffusion.gaussian_eps_loss_floor", "nan", "std", lambda: Df.gaussian_eps_loss_floor(0, AB, NAN, 2))
case("diffusion.gaussian_eps_loss_floor", "range", "dim", lambda: Df.gaussian_eps_loss_floor(0, AB, 1.0, 0))
case("diffusion.gaussian_eps_loss_floor", "range", "std", lambda: Df.gaussian_eps_loss_floor(0, AB, -1.0, 2))
case("diffusion.timestep_embedding", "shape", "t", lambda: Df.timestep_embedding(torch.zeros(2, 2), 4))
case("diffusion.timestep_embedding", "nan", "t", lambda: Df.timestep_embedding(t64(NAN), 4))
case("diffusion.timestep_embedding", "nan", "max_period", lambda: Df.timestep_embedding(t64(1.0), 4, NAN))
case("diffusion.timestep_embedding", "range", "dim", lambda: Df.timestep_embedding(t64(1.0), 3))
case("diffusion.timestep_embedding", "range", "max_period", lambda: Df.timestep_embedding(t64(1.0), 4, 0.0))
case("diffusion.timestep_embedding", "range", "dim", lambda: Df.timestep_embedding(torch.arange(3), 5),
     match="dim: expected an even")
_EPS_MLP = Df.EpsMLP(2, hidden=4, emb_dim=4).double()
case("diffusion.EpsMLP", "shape", "x_t", lambda: _EPS_MLP(torch.zeros(4, 3, dtype=torch.float64), _T0))
case("diffusion.EpsMLP", "shape", "t", lambda: _EPS_MLP(X2, _T0[:3]))
case("diffusion.EpsMLP", "nan", "x_t", lambda: _EPS_MLP(nan_at(X2), _T0))
case("diffusion.EpsMLP", "range", "emb_dim", lambda: Df.EpsMLP(2, emb_dim=3))
case("diffusion.EpsMLP", "shape", "x_t",
     lambda: Df.EpsMLP(2, 8, 4)(torch.zeros(3, 3), torch.zeros(3, dtype=torch.long)),
     match="x_t: expected shape")
case("diffusion.simple_loss", "shape", "eps_model",
     lambda: Df.simple_loss(lambda x, t: x[:, :1], X2, 0, X2, AB))
case("diffusion.simple_loss", "shape", "x0 and eps", lambda: Df.simple_loss(ZERO_EPS, X2, 0, X2[:3], AB))
case("diffusion.simple_loss", "nan", "x0", lambda: Df.simple_loss(ZERO_EPS, nan_at(X2), 0, X2, AB))
case("diffusion.simple_loss", "range", "t", lambda: Df.simple_loss(ZERO_EPS, X2, 10, X2, AB))
case("diffusion.train_eps_model", "shape", "alphas_cumprod",
     lambda: Df.train_eps_model(_EPS_MLP, X2, AB[None]))
case("diffusion.train_eps_model", "nan", "data", lambda: Df.train_eps_model(_EPS_MLP, nan_at(X2), AB))
case("diffusion.train_eps_model", "range", "batch_size",
     lambda: Df.train_eps_model(_EPS_MLP, X2, AB, batch_size=0))
case("diffusion.train_eps_model", "nan", "data",
     lambda: Df.train_eps_model(Df.EpsMLP(2, 8, 4), torch.tensor([[NAN, 0.0]]), AB, steps=1, progress=False),
     match="data: expected finite")
case("diffusion.train_eps_model", "range", "steps",
     lambda: Df.train_eps_model(Df.EpsMLP(2, 8, 4), torch.zeros(3, 2), AB, steps=0, progress=False))
case("samplers.ddpm_sample", "shape", "shape", lambda: Df.ddpm_sample(ZERO_EPS, BETAS, (0, 2)))
case("samplers.ddpm_sample", "shape", "betas", lambda: Df.ddpm_sample(ZERO_EPS, BETAS[None], (4, 2)))
case("samplers.ddpm_sample", "nan", "betas", lambda: Df.ddpm_sample(ZERO_EPS, nan_at(BETAS), (4, 2)))
case("samplers.ddpm_sample", "range", "seed", lambda: Df.ddpm_sample(ZERO_EPS, BETAS, (4, 2), seed=-1))
_IDENTITY_EPS = lambda x, t: x  # noqa: E731
case("samplers.ddpm_sample", "shape", "eps_model",
     lambda: Df.ddpm_sample("not a model", BETAS, (2, 2)), TypeError)
case("samplers.ddpm_sample", "shape", "shape", lambda: Df.ddpm_sample(_IDENTITY_EPS, BETAS, (0, 2)))
case("samplers.ddpm_sample", "nan", "betas",
     lambda: Df.ddpm_sample(_IDENTITY_EPS, torch.tensor([0.1, NAN]), (2, 2)))
case("samplers.ddim_timesteps", "shape", "steps", lambda: Df.ddim_timesteps(10, np.zeros(2)), TypeError)
case("samplers.ddim_timesteps", "nan", "steps", lambda: Df.ddim_timesteps(10, NAN), TypeError)
case("samplers.ddim_timesteps", "range", "steps", lambda: Df.ddim_timesteps(10, 11))
case("samplers.ddim_sample", "shape", "alphas_cumprod",
     lambda: Df.ddim_sample(ZERO_EPS, AB[None], (4, 2), 2))
case("samplers.ddim_sample", "nan", "eta", lambda: Df.ddim_sample(ZERO_EPS, AB, (4, 2), 2, eta=NAN))
case("samplers.ddim_sample", "range", "steps", lambda: Df.ddim_sample(ZERO_EPS, AB, (4, 2), 11))
case("samplers.ddim_sample", "range", "steps", lambda: Df.ddim_sample(_IDENTITY_EPS, AB, (2, 2), steps=11),
     match="steps: expected an integer <= 10")
case("samplers.ddim_sample", "range", "eta",
     lambda: Df.ddim_sample(_IDENTITY_EPS, AB, (2, 2), steps=5, eta=1.5))
case("mixtures.ring_gmm", "shape", "radius", lambda: Df.ring_gmm(8, np.ones(2)), TypeError)
case("mixtures.ring_gmm", "nan", "std", lambda: Df.ring_gmm(8, 2.0, NAN))
case("mixtures.ring_gmm", "range", "K", lambda: Df.ring_gmm(0))
case("schedules.beta_schedule", "shape", "T", lambda: Df.beta_schedule("linear", np.zeros(2)), TypeError)
case("schedules.beta_schedule", "nan", "name", lambda: Df.beta_schedule(NAN, 10))
case("schedules.beta_schedule", "range", "name", lambda: Df.beta_schedule("quadratic", 10))
_SCHED = {"linear": AB}
case("views.diffusion.noised_data_view", "shape", "x0",
     lambda: Vdiffusion.noised_data_view(0, "linear", x0=torch.zeros(4, 3), eps=torch.zeros(4, 3),
                                         schedules=_SCHED))
case("views.diffusion.noised_data_view", "nan", "eps",
     lambda: Vdiffusion.noised_data_view(0, "linear", x0=X2, eps=nan_at(X2), schedules=_SCHED))
case("views.diffusion.noised_data_view", "range", "t",
     lambda: Vdiffusion.noised_data_view(10, "linear", x0=X2, eps=X2, schedules=_SCHED))
_TABLE = {(2, 0.0): (X2, 0.0)}
case("views.diffusion.sampling_steps_view", "shape", "reference",
     lambda: Vdiffusion.sampling_steps_view(2, 0.0, table=_TABLE, reference=torch.zeros(4, 3)))
case("views.diffusion.sampling_steps_view", "nan", "eta",
     lambda: Vdiffusion.sampling_steps_view(2, NAN, table=_TABLE, reference=X2))
case("views.diffusion.sampling_steps_view", "range", "steps and eta",
     lambda: Vdiffusion.sampling_steps_view(3, 0.0, table=_TABLE, reference=X2))
case("views.diffusion.noising_widget_spec", "shape", "T",
     lambda: Vdiffusion.noising_widget_spec(np.zeros(2)), TypeError)
case("views.diffusion.noising_widget_spec", "nan", "n",
     lambda: Vdiffusion.noising_widget_spec(n=NAN), TypeError)
case("views.diffusion.noising_widget_spec", "range", "T", lambda: Vdiffusion.noising_widget_spec(T=5))
case("views.diffusion.sampling_widget_spec", "shape", "reference",
     lambda: Vdiffusion.sampling_widget_spec(ZERO_EPS, AB, torch.zeros(4, 3)))
case("views.diffusion.sampling_widget_spec", "nan", "reference",
     lambda: Vdiffusion.sampling_widget_spec(ZERO_EPS, AB, nan_at(X2)))
case("views.diffusion.sampling_widget_spec", "range", "alphas_cumprod",
     lambda: Vdiffusion.sampling_widget_spec(ZERO_EPS, AB + 1.0, X2))
case("views.diffusion.widget_specs", "shape", "T", lambda: Vdiffusion.widget_specs(T=np.zeros(2)), TypeError)
case("views.diffusion.widget_specs", "nan", "n", lambda: Vdiffusion.widget_specs(n=NAN), TypeError)
case("views.diffusion.widget_specs", "range", "T", lambda: Vdiffusion.widget_specs(T=10))

# ------------------------------------------------------------------- flow matching
_TF = torch.full((4,), 0.5, dtype=torch.float64)
_ZERO_V = lambda x, t: torch.zeros_like(x)  # noqa: E731
case("paths.path_coefficients", "shape", "t", lambda: FM.path_coefficients(_TF[None], "linear"))
case("paths.path_coefficients", "nan", "t", lambda: FM.path_coefficients(nan_at(_TF), "linear"))
case("paths.path_coefficients", "range", "t", lambda: FM.path_coefficients(_TF + 1.0, "linear"))
case("paths.path_coefficients", "range", "path", lambda: FM.path_coefficients(_TF, "quadratic"))
case("paths.path_sample", "shape", "x0 and x1", lambda: FM.path_sample(X2, X2[:, :1], _TF))
case("paths.path_sample", "shape", "t", lambda: FM.path_sample(X2, X2, _TF[:3]))
case("paths.path_sample", "nan", "x1", lambda: FM.path_sample(X2, nan_at(X2), _TF))
case("paths.path_sample", "range", "t", lambda: FM.path_sample(X2, X2, -_TF))
case("flow_matching.cfm_loss", "shape", "model",
     lambda: FM.cfm_loss(lambda x, t: x[:, :1], X2, X2, _TF))
case("flow_matching.cfm_loss", "nan", "x0", lambda: FM.cfm_loss(_ZERO_V, nan_at(X2), X2, _TF))
case("flow_matching.cfm_loss", "range", "path", lambda: FM.cfm_loss(_ZERO_V, X2, X2, _TF, "vp"))
for _fn in ("gmm_marginal_velocity", "gmm_path_log_prob"):
    case(f"mixtures.{_fn}", "shape", "means",
         lambda f=_fn: getattr(FM, f)(X2, _TF, torch.zeros(2, 3, dtype=torch.float64), 1.0, _W2))
    case(f"mixtures.{_fn}", "nan", "x", lambda f=_fn: getattr(FM, f)(nan_at(X2), _TF, _MEANS, 1.0, _W2))
    case(f"mixtures.{_fn}", "range", "stds", lambda f=_fn: getattr(FM, f)(X2, _TF, _MEANS, 0.0, _W2))
    case(f"mixtures.{_fn}", "range", "t", lambda f=_fn: getattr(FM, f)(X2, _TF * 3, _MEANS, 1.0, _W2))
for _fn, _a, _t_bad in (("velocity_to_x1", "v", -_TF), ("velocity_to_eps", "v", 3 * _TF),
                        ("velocity_to_score", "v", 2 * _TF), ("x1_to_velocity", "x1", 2 * _TF),
                        ("eps_to_velocity", "eps", 0 * _TF), ("score_to_velocity", "score", 0 * _TF)):
    case(f"parameterisations.{_fn}", "shape", f"{_a} and x_t",
         lambda f=_fn: getattr(FM, f)(X2, X2[:, :1], _TF, "linear"))
    case(f"parameterisations.{_fn}", "nan", _a, lambda f=_fn: getattr(FM, f)(nan_at(X2), X2, _TF, "linear"))
    case(f"parameterisations.{_fn}", "range", "t",
         lambda f=_fn, tb=_t_bad: getattr(FM, f)(X2, X2, tb, "cosine"))
for _fn in ("ode_sample", "ode_trajectory"):
    case(f"ode.{_fn}", "shape", "x0", lambda f=_fn: getattr(FM, f)(_ZERO_V, X2[0], 2))
    case(f"ode.{_fn}", "nan", "x0", lambda f=_fn: getattr(FM, f)(_ZERO_V, nan_at(X2), 2))
    case(f"ode.{_fn}", "range", "steps", lambda f=_fn: getattr(FM, f)(_ZERO_V, X2, 0))
    case(f"ode.{_fn}", "range", "method", lambda f=_fn: getattr(FM, f)(_ZERO_V, X2, 2, "heun"))
case("ode.ode_sample", "shape", "velocity_fn", lambda: FM.ode_sample(lambda x, t: x[:, :1], X2, 2))
case("ode.divergence", "shape", "t", lambda: FM.divergence(_ZERO_V, X2, _TF[:2]))
case("ode.divergence", "nan", "x", lambda: FM.divergence(_ZERO_V, nan_at(X2), _TF))
case("ode.divergence", "range", "t", lambda: FM.divergence(_ZERO_V, X2, _TF + 1.0))
case("ode.hutchinson_divergence", "shape", "x",
     lambda: FM.hutchinson_divergence(_ZERO_V, X2[0], _TF))
case("ode.hutchinson_divergence", "nan", "t",
     lambda: FM.hutchinson_divergence(_ZERO_V, X2, nan_at(_TF)))
case("ode.hutchinson_divergence", "range", "n_probes",
     lambda: FM.hutchinson_divergence(_ZERO_V, X2, _TF, n_probes=0))
case("ode.ode_log_prob", "shape", "x1", lambda: FM.ode_log_prob(_ZERO_V, X2[0], 2))
case("ode.ode_log_prob", "nan", "x1", lambda: FM.ode_log_prob(_ZERO_V, nan_at(X2), 2))
case("ode.ode_log_prob", "range", "steps", lambda: FM.ode_log_prob(_ZERO_V, X2, 0))
case("ode.ode_log_prob", "range", "divergence_fn",
     lambda: FM.ode_log_prob(_ZERO_V, X2, 2, divergence_fn=1.0), TypeError)
case("flow_matching.straightness", "shape", "x0", lambda: FM.straightness(_ZERO_V, X2[0]))
case("flow_matching.straightness", "nan", "x0", lambda: FM.straightness(_ZERO_V, nan_at(X2)))
case("flow_matching.straightness", "range", "method", lambda: FM.straightness(_ZERO_V, X2, method="rk45"))
case("flow_matching.straightness_parts", "shape", "x0", lambda: FM.straightness_parts(_ZERO_V, X2[0]))
case("flow_matching.straightness_parts", "nan", "x0", lambda: FM.straightness_parts(_ZERO_V, nan_at(X2)))
case("flow_matching.straightness_parts", "range", "steps",
     lambda: FM.straightness_parts(_ZERO_V, X2, steps=0))
_VEL_MLP = FM.VelocityMLP(2, hidden=4, emb_dim=4).double()
case("flow_matching.VelocityMLP", "shape", "x", lambda: _VEL_MLP(torch.zeros(4, 3, dtype=torch.float64), _TF))
case("flow_matching.VelocityMLP", "shape", "t", lambda: _VEL_MLP(X2, _TF[:3]))
case("flow_matching.VelocityMLP", "nan", "x", lambda: _VEL_MLP(nan_at(X2), _TF))
case("flow_matching.VelocityMLP", "range", "emb_dim", lambda: FM.VelocityMLP(2, emb_dim=3))
case("flow_matching.VelocityMLP", "range", "n_classes", lambda: FM.VelocityMLP(2, n_classes=0))
case("flow_matching.train_velocity_model", "shape", "source and data",
     lambda: FM.train_velocity_model(_VEL_MLP, X2, steps=1, source=X2[:3]))
case("flow_matching.train_velocity_model", "shape", "labels",
     lambda: FM.train_velocity_model(_VEL_MLP, X2, steps=1, labels=torch.zeros(3, dtype=torch.long)))
case("flow_matching.train_velocity_model", "nan", "data",
     lambda: FM.train_velocity_model(_VEL_MLP, nan_at(X2)))
case("flow_matching.train_velocity_model", "nan", "p_uncond",
     lambda: FM.train_velocity_model(_VEL_MLP, X2, p_uncond=NAN))
case("flow_matching.train_velocity_model", "range", "batch_size",
     lambda: FM.train_velocity_model(_VEL_MLP, X2, batch_size=0))
case("flow_matching.train_velocity_model", "range", "p_uncond",
     lambda: FM.train_velocity_model(_VEL_MLP, X2, p_uncond=1.5))
case("flow_matching.reflow_couplings", "shape", "n",
     lambda: FM.reflow_couplings(_ZERO_V, np.zeros(2)), TypeError)
case("flow_matching.reflow_couplings", "nan", "steps",
     lambda: FM.reflow_couplings(_ZERO_V, 4, NAN), TypeError)
case("flow_matching.reflow_couplings", "range", "n", lambda: FM.reflow_couplings(_ZERO_V, 0))
case("flow_matching.reflow_couplings", "range", "method",
     lambda: FM.reflow_couplings(_ZERO_V, 4, method="rk5"))
case("flow_matching.cfg_velocity", "shape", "v_uncond and v_cond", lambda: FM.cfg_velocity(X2, X2[:3], 1.0))
case("flow_matching.cfg_velocity", "nan", "scale", lambda: FM.cfg_velocity(X2, X2, NAN))
case("flow_matching.cfg_velocity", "nan", "v_cond", lambda: FM.cfg_velocity(X2, nan_at(X2), 1.0))
case("flow_matching.cfg_velocity", "range", "scale", lambda: FM.cfg_velocity(X2, X2, math.inf))
_FM_TABLE = {("linear", "euler", 1): (torch.zeros(2, 4, 2), X2, 0.0)}
case("views.flow_matching.sampling_view", "shape", "reference",
     lambda: Vflow_matching.sampling_view("linear", "euler", 1, table=_FM_TABLE, reference=torch.zeros(4, 3)))
case("views.flow_matching.sampling_view", "nan", "reference",
     lambda: Vflow_matching.sampling_view("linear", "euler", 1, table=_FM_TABLE, reference=nan_at(X2)))
case("views.flow_matching.sampling_view", "range", "path, method and steps",
     lambda: Vflow_matching.sampling_view("linear", "euler", 3, table=_FM_TABLE, reference=X2))
_FM_MODELS = {"linear": _ZERO_V, "cosine": _ZERO_V}
case("views.flow_matching.sampling_widget_spec", "shape", "reference",
     lambda: Vflow_matching.sampling_widget_spec(_FM_MODELS, torch.zeros(4, 3)))
case("views.flow_matching.sampling_widget_spec", "nan", "reference",
     lambda: Vflow_matching.sampling_widget_spec(_FM_MODELS, nan_at(X2)))
case("views.flow_matching.sampling_widget_spec", "range", "models",
     lambda: Vflow_matching.sampling_widget_spec({"linear": _ZERO_V}, X2))
case("views.flow_matching.widget_specs", "shape", "reference",
     lambda: Vflow_matching.widget_specs(_FM_MODELS, torch.zeros(4, 3)))
case("views.flow_matching.widget_specs", "nan", "reference",
     lambda: Vflow_matching.widget_specs(_FM_MODELS, nan_at(X2)))
case("views.flow_matching.widget_specs", "range", "n", lambda: Vflow_matching.widget_specs(_FM_MODELS, n=1))

# ------------------------------------------------------------------- guidance
_LAB = torch.tensor([0, 1, 2, 0])
case("labelled_mixture.LabelledMixture", "shape", "stds",
     lambda: Gd.LabelledMixture(_MEANS, t64(1.0), _W2, torch.tensor([0, 1]), 2))
case("labelled_mixture.LabelledMixture", "nan", "means",
     lambda: Gd.LabelledMixture(nan_at(_MEANS), t64(1.0, 1.0), _W2, torch.tensor([0, 1]), 2))
case("labelled_mixture.LabelledMixture", "range", "classes",
     lambda: Gd.LabelledMixture(_MEANS, t64(1.0, 1.0), _W2, torch.tensor([0, 2]), 2))
case("labelled_mixture.LabelledMixture", "range", "c", lambda: mix().class_components(3))
case("labelled_mixture.ring_mixture", "shape", "radius",
     lambda: Gd.ring_mixture(radius=np.ones(2)), TypeError)
case("labelled_mixture.ring_mixture", "nan", "std", lambda: Gd.ring_mixture(std=NAN))
case("labelled_mixture.ring_mixture", "range", "inner", lambda: Gd.ring_mixture(inner=1.5))
case("labelled_mixture.mixture_log_prob", "shape", "x", lambda: Gd.mixture_log_prob(mix(), torch.zeros(4, 3)))
case("labelled_mixture.mixture_log_prob", "shape", "labels",
     lambda: Gd.mixture_log_prob(mix(), X2, labels=_LAB[:3]))
case("labelled_mixture.mixture_log_prob", "nan", "alpha_bar", lambda: Gd.mixture_log_prob(mix(), X2, NAN))
case("labelled_mixture.mixture_log_prob", "range", "alpha_bar", lambda: Gd.mixture_log_prob(mix(), X2, 0.0))
case("labelled_mixture.mixture_log_prob", "range", "labels",
     lambda: Gd.mixture_log_prob(mix(), X2, labels=_LAB + 3))
case("labelled_mixture.class_log_posterior", "shape", "x",
     lambda: Gd.class_log_posterior(mix(), torch.zeros(4)))
case("labelled_mixture.class_log_posterior", "nan", "x", lambda: Gd.class_log_posterior(mix(), nan_at(X2)))
case("labelled_mixture.class_log_posterior", "range", "alpha_bar",
     lambda: Gd.class_log_posterior(mix(), X2, 1.5))
case("labelled_mixture.mixture_score", "shape", "labels",
     lambda: Gd.mixture_score(mix(), X2, labels=_LAB[None]))
case("labelled_mixture.mixture_score", "nan", "x", lambda: Gd.mixture_score(mix(), nan_at(X2)))
case("labelled_mixture.mixture_score", "range", "alpha_bar", lambda: Gd.mixture_score(mix(), X2, -0.5))
case("labelled_mixture.mixture_eps", "shape", "x", lambda: Gd.mixture_eps(mix(), torch.zeros(4, 1), 0.5))
case("labelled_mixture.mixture_eps", "nan", "alpha_bar", lambda: Gd.mixture_eps(mix(), X2, NAN))
case("labelled_mixture.mixture_eps", "range", "alpha_bar", lambda: Gd.mixture_eps(mix(), X2, 1.0))
case("labelled_mixture.tilted_log_prob", "shape", "labels",
     lambda: Gd.tilted_log_prob(mix(), X2, 0.5, _LAB[:2], 1.0))
case("labelled_mixture.tilted_log_prob", "nan", "scale",
     lambda: Gd.tilted_log_prob(mix(), X2, 0.5, _LAB, NAN))
case("labelled_mixture.tilted_log_prob", "nan", "alpha_bar",
     lambda: Gd.tilted_log_prob(mix(), X2, NAN, _LAB, 1.0))
case("labelled_mixture.tilted_log_prob", "range", "alpha_bar",
     lambda: Gd.tilted_log_prob(mix(), X2, 2.0, _LAB, 1.0))
case("labelled_mixture.tilt_grid", "shape", "scale", lambda: Gd.tilt_grid(mix(), 0, np.ones(2)), TypeError)
case("labelled_mixture.tilt_grid", "nan", "extent", lambda: Gd.tilt_grid(mix(), 0, 1.0, extent=NAN))
case("labelled_mixture.tilt_grid", "range", "label", lambda: Gd.tilt_grid(mix(), 3, 1.0))
case("labelled_mixture.noised_tilt_score", "shape", "x",
     lambda: Gd.noised_tilt_score(mix(), torch.zeros(4, 3), 0.5, 0, 1.0))
case("labelled_mixture.noised_tilt_score", "nan", "scale",
     lambda: Gd.noised_tilt_score(mix(), X2, 0.5, 0, NAN))
case("labelled_mixture.noised_tilt_score", "range", "grid_size",
     lambda: Gd.noised_tilt_score(mix(), X2, 0.5, 0, 1.0, grid_size=3))
case("guidance.cfg_combine", "shape", "eps_uncond and eps_cond", lambda: Gd.cfg_combine(X2, X2[:, :1], 1.0))
case("guidance.cfg_combine", "shape", "scale", lambda: Gd.cfg_combine(X2, X2, t64(1.0, 2.0)))
case("guidance.cfg_combine", "nan", "eps_cond", lambda: Gd.cfg_combine(X2, nan_at(X2), 1.0))
case("guidance.cfg_combine", "nan", "scale", lambda: Gd.cfg_combine(X2, X2, NAN))
case("guidance.cfg_combine", "range", "scale", lambda: Gd.cfg_combine(X2, X2, math.inf))
case("guidance.classifier_guidance", "shape", "eps_uncond and grad_log_prob",
     lambda: Gd.classifier_guidance(X2, X2[:3], 1.0, 0.5))
case("guidance.classifier_guidance", "nan", "grad_log_prob",
     lambda: Gd.classifier_guidance(X2, nan_at(X2), 1.0, 0.5))
case("guidance.classifier_guidance", "range", "alpha_bar", lambda: Gd.classifier_guidance(X2, X2, 1.0, 1.0))
case("guidance.MixtureDenoiser", "shape", "alphas_cumprod", lambda: Gd.MixtureDenoiser(mix(), AB[None]))
case("guidance.MixtureDenoiser", "shape", "labels", lambda: Gd.MixtureDenoiser(mix(), AB)(X2, 0, _LAB[:3]))
case("guidance.MixtureDenoiser", "nan", "alphas_cumprod", lambda: Gd.MixtureDenoiser(mix(), nan_at(AB)))
case("guidance.MixtureDenoiser", "nan", "x", lambda: Gd.MixtureDenoiser(mix(), AB)(nan_at(X2), 0, _LAB))
case("guidance.MixtureDenoiser", "range", "t", lambda: Gd.MixtureDenoiser(mix(), AB)(X2, 10, _LAB))
_CD = Gd.ConditionalDenoiser(3, 10, hidden=4)
case("conditional_models.ConditionalDenoiser", "shape", "x",
     lambda: _CD(torch.zeros(4, 3, dtype=torch.float64), 0, _LAB))
case("conditional_models.ConditionalDenoiser", "nan", "x", lambda: _CD(nan_at(X2), 0, _LAB))
case("conditional_models.ConditionalDenoiser", "range", "t", lambda: _CD(X2, 10, _LAB))
case("conditional_models.ConditionalDenoiser", "range", "labels", lambda: _CD(X2, 0, _LAB + 5))
case("conditional_models.train_conditional_denoiser", "shape", "labels",
     lambda: Gd.train_conditional_denoiser(X2, _LAB[:3], 3, AB))
case("conditional_models.train_conditional_denoiser", "nan", "p_uncond",
     lambda: Gd.train_conditional_denoiser(X2, _LAB, 3, AB, p_uncond=NAN))
case("conditional_models.train_conditional_denoiser", "range", "p_uncond",
     lambda: Gd.train_conditional_denoiser(X2, _LAB, 3, AB, p_uncond=1.5))
_NC = Gd.NoisyClassifier(3, 10, hidden=4)
case("conditional_models.NoisyClassifier", "shape", "x",
     lambda: _NC(torch.zeros(4, 3, dtype=torch.float64), 0))
case("conditional_models.NoisyClassifier", "nan", "x", lambda: _NC(nan_at(X2), 0))
case("conditional_models.NoisyClassifier", "range", "t", lambda: _NC(X2, 10))
case("conditional_models.NoisyClassifier", "range", "n_classes", lambda: Gd.NoisyClassifier(0, 10))
case("conditional_models.train_noisy_classifier", "shape", "x",
     lambda: Gd.train_noisy_classifier(torch.zeros(4), _LAB, 3, AB))
case("conditional_models.train_noisy_classifier", "nan", "x",
     lambda: Gd.train_noisy_classifier(nan_at(X2), _LAB, 3, AB))
case("conditional_models.train_noisy_classifier", "range", "labels",
     lambda: Gd.train_noisy_classifier(X2, _LAB + 3, 3, AB))
case("guidance.guided_sample", "shape", "labels",
     lambda: Gd.guided_sample(Gd.MixtureDenoiser(mix(), AB), _LAB[None], 1.0, AB))
case("guidance.guided_sample", "nan", "scale",
     lambda: Gd.guided_sample(Gd.MixtureDenoiser(mix(), AB), _LAB, NAN, AB))
case("guidance.guided_sample", "range", "eta",
     lambda: Gd.guided_sample(Gd.MixtureDenoiser(mix(), AB), _LAB, 1.0, AB, eta=2.0))
_CLF = lambda x, t: torch.zeros(x.shape[0], 3, dtype=x.dtype)  # noqa: E731
case("guidance.classifier_guided_sample", "shape", "alphas_cumprod",
     lambda: Gd.classifier_guided_sample(Gd.MixtureDenoiser(mix(), AB), _CLF, _LAB, 1.0, AB[None]))
case("guidance.classifier_guided_sample", "nan", "alphas_cumprod",
     lambda: Gd.classifier_guided_sample(Gd.MixtureDenoiser(mix(), AB), _CLF, _LAB, 1.0, nan_at(AB)))
case("guidance.classifier_guided_sample", "range", "n_steps",
     lambda: Gd.classifier_guided_sample(Gd.MixtureDenoiser(mix(), AB), _CLF, _LAB, 1.0, AB, n_steps=11))
case("guidance.bayes_classifier", "shape", "x", lambda: Gd.bayes_classifier(mix(), torch.zeros(4, 3)))
case("guidance.bayes_classifier", "nan", "x", lambda: Gd.bayes_classifier(mix(), nan_at(X2)))
case("guidance.bayes_classifier", "range", "x", lambda: Gd.bayes_classifier(mix(), torch.zeros(0, 2)))
case("guidance.class_adherence", "shape", "labels", lambda: Gd.class_adherence(mix(), X2, _LAB[:2]))
case("guidance.class_adherence", "nan", "x", lambda: Gd.class_adherence(mix(), nan_at(X2), _LAB))
case("guidance.class_adherence", "range", "labels", lambda: Gd.class_adherence(mix(), X2, _LAB - 1))
case("guidance.diversity", "shape", "x", lambda: Gd.diversity(torch.zeros(4)))
case("guidance.diversity", "nan", "x", lambda: Gd.diversity(nan_at(X2)))
case("guidance.diversity", "range", "x", lambda: Gd.diversity(torch.zeros(1, 2)))
case("guidance.support_threshold", "shape", "mass",
     lambda: Gd.support_threshold(mix(), np.ones(2)), TypeError)
case("guidance.support_threshold", "nan", "mass", lambda: Gd.support_threshold(mix(), NAN))
case("guidance.support_threshold", "range", "mass", lambda: Gd.support_threshold(mix(), 1.0))
case("guidance.off_support_fraction", "shape", "x",
     lambda: Gd.off_support_fraction(mix(), torch.zeros(4, 1), -8.0))
case("guidance.off_support_fraction", "nan", "threshold", lambda: Gd.off_support_fraction(mix(), X2, NAN))
case("guidance.off_support_fraction", "range", "threshold",
     lambda: Gd.off_support_fraction(mix(), X2, math.inf))
case("guidance.guidance_metrics", "shape", "labels", lambda: Gd.guidance_metrics(mix(), X2, _LAB[:3], -8.0))
case("guidance.guidance_metrics", "nan", "threshold", lambda: Gd.guidance_metrics(mix(), X2, _LAB, NAN))
case("guidance.guidance_metrics", "range", "labels", lambda: Gd.guidance_metrics(mix(), X2, _LAB + 3, -8.0))
case("views.guidance.precompute_guidance_grid", "shape", "alphas_cumprod",
     lambda: Vguidance.precompute_guidance_grid(Gd.MixtureDenoiser(mix(), AB), mix(), AB[None], [1.0]))
case("views.guidance.precompute_guidance_grid", "nan", "scales",
     lambda: Vguidance.precompute_guidance_grid(Gd.MixtureDenoiser(mix(), AB), mix(), AB, [1.0, NAN]))
case("views.guidance.precompute_guidance_grid", "range", "n_per_class",
     lambda: Vguidance.precompute_guidance_grid(Gd.MixtureDenoiser(mix(), AB), mix(), AB, [1.0],
                                                n_per_class=1))
case("views.guidance.guidance_view", "shape", "scale",
     lambda: Vguidance.guidance_view(np.ones(2), 0, guidance_table()), TypeError)
case("views.guidance.guidance_view", "nan", "scale",
     lambda: Vguidance.guidance_view(NAN, 0, guidance_table()))
case("views.guidance.guidance_view", "range", "label",
     lambda: Vguidance.guidance_view(1.0, 3, guidance_table()))
case("views.guidance.widget_specs", "shape", "alphas_cumprod",
     lambda: Vguidance.widget_specs(alphas_cumprod=AB[None]))
case("views.guidance.widget_specs", "nan", "alphas_cumprod",
     lambda: Vguidance.widget_specs(alphas_cumprod=nan_at(AB)))
case("views.guidance.widget_specs", "range", "n_per_class", lambda: Vguidance.widget_specs(n_per_class=1))
case("views.guidance.widget_specs", "range", "table", lambda: Vguidance.widget_specs(table=guidance_table()))

# ------------------------------------------------------------------- capstone
case("capstone.CapstoneConfig", "shape", "steps", lambda: Cp.CapstoneConfig(steps=np.zeros(2)), TypeError)
case("capstone.CapstoneConfig", "nan", "std", lambda: Cp.CapstoneConfig(std=NAN))
case("capstone.CapstoneConfig", "range", "batch_size", lambda: Cp.CapstoneConfig(batch_size=0))
case("capstone.CapstoneConfig", "range", "lrs", lambda: Cp.CapstoneConfig(lrs={"VAE": 1e-3}))
case("capstone.ring_split", "shape", "config", lambda: Cp.ring_split(np.zeros(2)), TypeError)
case("capstone.ring_split", "nan", "config", lambda: Cp.ring_split(NAN), TypeError)
case("capstone.ring_split", "range", "config", lambda: Cp.ring_split({"n_train": 10}), TypeError)
case("capstone.true_log_likelihood", "shape", "test", lambda: Cp.true_log_likelihood(np.zeros((3, 3))))
case("capstone.true_log_likelihood", "nan", "test", lambda: Cp.true_log_likelihood(nan_at(np.zeros((3, 2)))))
case("capstone.true_log_likelihood", "range", "test", lambda: Cp.true_log_likelihood(np.zeros((0, 2))))
case("pf_ode.continuous_alpha_bar", "shape", "alphas_cumprod",
     lambda: Cp.continuous_alpha_bar(t64(1.0), AB[None]))
case("pf_ode.continuous_alpha_bar", "nan", "s", lambda: Cp.continuous_alpha_bar(t64(NAN), AB))
case("pf_ode.continuous_alpha_bar", "range", "s", lambda: Cp.continuous_alpha_bar(t64(9.5), AB))
case("pf_ode.divergence", "shape", "fn", lambda: Cp.divergence(lambda x: x[:, :1], X2))
case("pf_ode.divergence", "nan", "x", lambda: Cp.divergence(lambda x: x, nan_at(X2)))
case("pf_ode.divergence", "range", "x",
     lambda: Cp.divergence(lambda x: x, torch.zeros(0, 2, dtype=torch.float64)))
case("pf_ode.pf_ode_log_likelihood", "shape", "x",
     lambda: Cp.pf_ode_log_likelihood(ZERO_EPS, torch.zeros(4), AB))
case("pf_ode.pf_ode_log_likelihood", "shape", "eps_model",
     lambda: Cp.pf_ode_log_likelihood(lambda x, t: x[:, :1], X2, AB))
case("pf_ode.pf_ode_log_likelihood", "nan", "x", lambda: Cp.pf_ode_log_likelihood(ZERO_EPS, nan_at(X2), AB))
case("pf_ode.pf_ode_log_likelihood", "range", "substeps",
     lambda: Cp.pf_ode_log_likelihood(ZERO_EPS, X2, AB, substeps=0))
case("capstone.vae_sample", "shape", "n", lambda: Cp.vae_sample(vae(), np.zeros(2)), TypeError)
case("capstone.vae_sample", "nan", "n", lambda: Cp.vae_sample(vae(), NAN), TypeError)
case("capstone.vae_sample", "range", "seed", lambda: Cp.vae_sample(vae(), 3, seed=-1))
case("capstone.train_family", "shape", "train", lambda: Cp.train_family("GAN", np.zeros((10, 3))))
case("capstone.train_family", "nan", "train", lambda: Cp.train_family("GAN", nan_at(np.zeros((10, 2)))))
case("capstone.train_family", "range", "family", lambda: Cp.train_family("PixelCNN", np.zeros((10, 2))))
case("capstone.draw_samples", "shape", "n",
     lambda: Cp.draw_samples({"family": "VAE", "model": vae()}, np.zeros(2)), TypeError)
case("capstone.draw_samples", "nan", "n",
     lambda: Cp.draw_samples({"family": "VAE", "model": vae()}, NAN), TypeError)
case("capstone.draw_samples", "range", "trained", lambda: Cp.draw_samples({}, 3), TypeError)
case("capstone.evaluate_family", "shape", "test",
     lambda: Cp.evaluate_family({"family": "VAE"}, np.zeros((3, 3))))
case("capstone.evaluate_family", "nan", "test",
     lambda: Cp.evaluate_family({"family": "VAE"}, nan_at(np.zeros((3, 2)))))
case("capstone.evaluate_family", "range", "seed",
     lambda: Cp.evaluate_family({"family": "VAE"}, np.zeros((3, 2)), seed=-1))
case("capstone.run_benchmark", "shape", "seeds", lambda: Cp.run_benchmark(seeds=()))
case("capstone.run_benchmark", "nan", "seeds", lambda: Cp.run_benchmark(seeds=(NAN,)), TypeError)
case("capstone.run_benchmark", "range", "families", lambda: Cp.run_benchmark(families=("VAE", "RBM")))
case("capstone.run_benchmark", "range", "workers", lambda: Cp.run_benchmark(workers=0))
def _workers():
    from companion import workers

    return workers


case("capstone.start_workers", "range", "workers", lambda: Cp.start_workers(0))
case("capstone.start_workers", "nan", "workers", lambda: Cp.start_workers(NAN), TypeError)
case("capstone.start_workers", "shape", "workers", lambda: Cp.start_workers([2, 2]), TypeError)
case("workers.start_workers", "range", "workers", lambda: _workers().start_workers(0))
case("workers.start_workers", "nan", "workers", lambda: _workers().start_workers(NAN), TypeError)
case("workers.start_workers", "shape", "workers", lambda: _workers().start_workers([2, 2]), TypeError)
case("workers.worker_pool", "range", "workers", lambda: _workers().worker_pool(0))
case("workers.worker_pool", "nan", "workers", lambda: _workers().worker_pool(NAN), TypeError)
case("workers.worker_pool", "shape", "workers", lambda: _workers().worker_pool([2, 2]), TypeError)
_ROW = {"family": "GAN", "mmd": 0.1, "energy": 0.0, "log_likelihood": "none", "log_likelihood_kind": "none",
        "modes_covered": 8, "high_quality": 1.0, "train_seconds": 1.0, "sample_seconds": 0.1}
case("capstone.summarise", "shape", "rows", lambda: Cp.summarise([]))
case("capstone.summarise", "nan", "rows", lambda: Cp.summarise([{**_ROW, "mmd": NAN}]))
case("capstone.summarise", "range", "rows", lambda: Cp.summarise([{"family": "GAN"}]))
case("views.capstone.render_results", "shape", "summary", lambda: Cp.render_results([]))
case("views.capstone.render_results", "nan", "summary",
     lambda: Cp.render_results([{**Cp.summarise([_ROW])[0], "mmd_mean": NAN}]))
case("views.capstone.render_results", "range", "summary", lambda: Cp.render_results([{"family": "GAN"}]))
_SAMPLES = {("VAE", 0): np.zeros((3, 2))}
case("views.capstone.samples_view", "shape", "test",
     lambda: Vcapstone.samples_view("VAE", 0, samples=_SAMPLES, test=np.zeros((3, 3))))
case("views.capstone.samples_view", "nan", "test",
     lambda: Vcapstone.samples_view("VAE", 0, samples=_SAMPLES, test=nan_at(np.zeros((3, 2)))))
case("views.capstone.samples_view", "range", "seed",
     lambda: Vcapstone.samples_view("VAE", 1, samples=_SAMPLES, test=X2))
case("views.capstone.widget_specs", "shape", "test",
     lambda: Vcapstone.widget_specs({("VAE", 0): None}, np.zeros((3, 3))))
case("views.capstone.widget_specs", "nan", "test",
     lambda: Vcapstone.widget_specs({("VAE", 0): None}, nan_at(np.zeros((3, 2)))))
case("views.capstone.widget_specs", "range", "n",
     lambda: Vcapstone.widget_specs({("VAE", 0): None}, np.zeros((3, 2)), n=0))

# ------------------------------------------------------------------- families
case("families.family_cell", "nan", "family", lambda: Fm.family_cell(NAN, "likelihood"))
case("families.family_cell", "range", "prop", lambda: Fm.family_cell("flow", "colour"))
case("families.render_family_map", "nan", "fmt", lambda: Fm.render_family_map(NAN))
case("families.render_family_map", "range", "fmt", lambda: Fm.render_family_map("latex"))
case("families.notebook_labels", "nan", "path", lambda: Fm.notebook_labels(NAN), TypeError)
case("families.notebook_labels", "range", "path", lambda: Fm.notebook_labels("/no/such/chapter.ipynb"))

# ------------------------------------------------------------------- api_index
for _fa in ("chapter_usage", "api_index_html", "api_index_markdown"):
    case(f"api_index.{_fa}", "nan", "book_dir",
         lambda f=_fa: getattr(importlib.import_module("bookkit.api_index"),
                                                                        f)(NAN), TypeError)
    case(f"api_index.{_fa}", "range", "book_dir",
         lambda f=_fa: getattr(importlib.import_module("bookkit.api_index"), f)("/no/such/book"))

case("api_index.rest_to_myst", "nan", "text",
     lambda: importlib.import_module("bookkit.api_index").rest_to_myst(NAN), TypeError)

# ------------------------------------------------------------------- widgets
case("views.toolkit.kl_two_gaussians_view", "shape", "mu_q",
     lambda: Vtoolkit.kl_two_gaussians_view(np.zeros(2), 1.0), TypeError)
case("views.toolkit.kl_two_gaussians_view", "nan", "sigma_p",
     lambda: Vtoolkit.kl_two_gaussians_view(0.0, 1.0, 0.0, NAN))
case("views.toolkit.kl_two_gaussians_view", "range", "sigma_q",
     lambda: Vtoolkit.kl_two_gaussians_view(0.0, 0.0), match="sigma_q: expected > 0")

# ------------------------------------------------------------------- plotting
case("plotting.new_figure", "shape", "width", lambda: Pl.new_figure(
    width=np.ones(2)), TypeError)
case("plotting.new_figure", "nan", "height", lambda: Pl.new_figure(
    height=NAN))
case("plotting.new_figure", "range", "ncols", lambda: Pl.new_figure(0))
case("plotting.figure_png", "range", "fig",
     lambda: Pl.figure_png(NAN), TypeError)
case("plotting.figure_png", "range", "scale", lambda: Pl.figure_png(Pl.new_figure()[0], scale=0.0))
case("plotting.figure_alt_text", "range", "fig", lambda: Pl.figure_alt_text(NAN), TypeError)


# ------------------------------------------------------------------- exemptions, with reasons
#: Whole callables with no case, and why.
# --- distributions: entropy, multivariate KL, importance sampling, f-divergences, score identity
case("distributions.entropy_normal", "shape", "var", lambda: Ds.entropy_normal(np.zeros((2, 0))))
case("distributions.entropy_normal", "nan", "var", lambda: Ds.entropy_normal(np.array([1.0, NAN])))
case("distributions.entropy_normal", "range", "var", lambda: Ds.entropy_normal(-1.0))
case("distributions.cross_entropy_normal", "shape", "var_q",
     lambda: Ds.cross_entropy_normal(np.zeros(3), np.ones(3), np.zeros(3), np.ones(2)))
case("distributions.cross_entropy_normal", "nan", "mu_q", lambda: Ds.cross_entropy_normal(0.0, 1.0, NAN, 1.0))
case("distributions.cross_entropy_normal", "range", "var_p",
     lambda: Ds.cross_entropy_normal(0.0, 0.0, 0.0, 1.0))
case("distributions.kl_mvn", "shape", "cov_q",
     lambda: Ds.kl_mvn(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2)))
case("distributions.kl_mvn", "nan", "mu_p",
     lambda: Ds.kl_mvn(np.zeros(2), np.eye(2), nan_at(np.zeros(2)), np.eye(2)))
case("distributions.kl_mvn", "range", "cov_p",
     lambda: Ds.kl_mvn(t64(0.0, 0.0), torch.eye(2, dtype=torch.float64), t64(0.0, 0.0),
                       -torch.eye(2, dtype=torch.float64)))
case("distributions.kl_mvn", "range", "cov_p",
     lambda: Ds.kl_mvn(np.zeros(2), np.eye(2), np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]])),
     match="cov_p: expected a positive-definite matrix")
case("distributions.kl_mvn", "range", "cov_q",
     lambda: Ds.kl_mvn(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2)),
     match="cov_q: expected a symmetric matrix")
case("distributions.importance_sampling_estimate", "shape", "f_values and log_w",
     lambda: Ds.importance_sampling_estimate(np.zeros(3), np.zeros(2)))
case("distributions.importance_sampling_estimate", "nan", "log_w",
     lambda: Ds.importance_sampling_estimate(np.zeros(3), nan_at(np.zeros(3))))
case("distributions.importance_sampling_estimate", "range", "axis",
     lambda: Ds.importance_sampling_estimate(np.zeros(3), np.zeros(3), axis=1))
case("distributions.self_normalised_estimate", "shape", "f_values and log_w",
     lambda: Ds.self_normalised_estimate(torch.zeros(3), torch.zeros(2)))
case("distributions.self_normalised_estimate", "nan", "f_values",
     lambda: Ds.self_normalised_estimate(nan_at(np.zeros(3)), np.zeros(3)))
case("distributions.self_normalised_estimate", "range", "f_values and log_w",
     lambda: Ds.self_normalised_estimate(np.zeros(1), np.zeros(1)))
case("distributions.effective_sample_size", "shape", "log_w",
     lambda: Ds.effective_sample_size(np.zeros((0, 2))))
case("distributions.effective_sample_size", "nan", "log_w",
     lambda: Ds.effective_sample_size(np.array([0.0, NAN])))
case("distributions.effective_sample_size", "range", "axis",
     lambda: Ds.effective_sample_size(np.zeros(3), axis=1))
_NORM_PDF = lambda x: np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)  # noqa: E731
_GRID = np.linspace(-10.0, 10.0, 201)
case("f_divergences.f_divergence", "shape", "grid",
     lambda: Ds.f_divergence(_NORM_PDF, _NORM_PDF, Ds.F_GENERATORS["kl"].f, np.zeros((3, 2))))
case("f_divergences.f_divergence", "nan", "grid",
     lambda: Ds.f_divergence(_NORM_PDF, _NORM_PDF, Ds.F_GENERATORS["kl"].f, nan_at(_GRID)))
case("f_divergences.f_divergence", "range", "q",
     lambda: Ds.f_divergence(_NORM_PDF, np.zeros_like, Ds.F_GENERATORS["kl"].f, _GRID))
case("f_divergences.f_divergence", "range", "q",
     lambda: Ds.f_divergence(importlib.import_module("scipy.stats").norm().pdf, lambda x: np.zeros_like(x),
                             Ds.F_GENERATORS["kl"].f, np.linspace(-25.0, 25.0, 10_001)),
     match="q: expected values > 0")
case("f_divergences.f_divergence", "range", "grid",
     lambda: Ds.f_divergence(_NORM_PDF, _NORM_PDF, Ds.F_GENERATORS["kl"].f, _GRID[::-1]))
case("f_divergences.f_divergence_lower_bound", "shape", "t",
     lambda: Ds.f_divergence_lower_bound(_NORM_PDF, _NORM_PDF, lambda x: x[:3],
                                         Ds.F_GENERATORS["kl"].f_conj, _GRID))
case("f_divergences.f_divergence_lower_bound", "nan", "grid",
     lambda: Ds.f_divergence_lower_bound(_NORM_PDF, _NORM_PDF, np.sin,
                                         Ds.F_GENERATORS["kl"].f_conj, nan_at(_GRID)))
case("f_divergences.f_divergence_lower_bound", "range", "t",
     lambda: Ds.f_divergence_lower_bound(_NORM_PDF, _NORM_PDF, np.ones_like,
                                         Ds.F_GENERATORS["tv"].f_conj, _GRID))
case("distributions.normal_param_score", "shape", "x and mu",
     lambda: Ds.normal_param_score(np.zeros(3), np.zeros(2), 1.0))
case("distributions.normal_param_score", "nan", "x", lambda: Ds.normal_param_score(NAN, 0.0, 1.0))
case("distributions.normal_param_score", "range", "var", lambda: Ds.normal_param_score(0.0, 0.0, -1.0))

# --- guidance_remedies: CFG rescale, guidance interval, dynamic thresholding
case("guidance_remedies.cfg_rescale", "shape", "eps_uncond and eps_cond",
     lambda: Gr.cfg_rescale(X2, X2[:, :1], 1.0, 0.5))
case("guidance_remedies.cfg_rescale", "nan", "phi", lambda: Gr.cfg_rescale(X2, X2, 1.0, NAN))
case("guidance_remedies.cfg_rescale", "range", "phi", lambda: Gr.cfg_rescale(X2, X2, 1.0, 1.5))
case("guidance_remedies.noise_level", "shape", "alpha_bar", lambda: Gr.noise_level(np.ones(2)), TypeError)
case("guidance_remedies.noise_level", "nan", "alpha_bar", lambda: Gr.noise_level(NAN))
case("guidance_remedies.noise_level", "range", "alpha_bar", lambda: Gr.noise_level(0.0))
case("guidance_remedies.interval_scale", "shape", "scale",
     lambda: Gr.interval_scale(0.5, torch.ones(2, 2), 0.3, 5.0))
case("guidance_remedies.interval_scale", "nan", "sigma_lo", lambda: Gr.interval_scale(0.5, 2.0, NAN, 5.0))
case("guidance_remedies.interval_scale", "range", "sigma_hi", lambda: Gr.interval_scale(0.5, 2.0, 3.0, 1.0))
case("guidance_remedies.dynamic_threshold", "shape", "x0_hat",
     lambda: Gr.dynamic_threshold(torch.zeros(4), 99.5))
case("guidance_remedies.dynamic_threshold", "nan", "x0_hat", lambda: Gr.dynamic_threshold(nan_at(X2), 99.5))
case("guidance_remedies.dynamic_threshold", "range", "percentile", lambda: Gr.dynamic_threshold(X2, 101.0))
case("guidance_remedies.guided_sample_remedied", "shape", "interval",
     lambda: Gr.guided_sample_remedied(Gd.MixtureDenoiser(mix(), AB), _LAB, 2.0, AB, interval=(0.3,)),
     TypeError)
case("guidance_remedies.guided_sample_remedied", "nan", "phi",
     lambda: Gr.guided_sample_remedied(Gd.MixtureDenoiser(mix(), AB), _LAB, 2.0, AB, phi=NAN))
case("guidance_remedies.guided_sample_remedied", "range", "percentile",
     lambda: Gr.guided_sample_remedied(Gd.MixtureDenoiser(mix(), AB), _LAB, 2.0, AB, percentile=150.0))
_RNG5 = np.random.default_rng(5)
_U3, _C3 = torch.from_numpy(_RNG5.normal(size=(3, 2))), torch.from_numpy(_RNG5.normal(size=(3, 2)))
_AB50 = Df.alphas_cumprod(Df.linear_beta_schedule(50, 1e-3, 0.2))
case("guidance_remedies.cfg_rescale", "range", "phi", lambda: Gr.cfg_rescale(_U3, _C3, 2.0, 1.5))
case("guidance_remedies.dynamic_threshold", "range", "percentile", lambda: Gr.dynamic_threshold(_U3, 101.0))
case("guidance_remedies.guided_sample_remedied", "shape", "interval",
     lambda: Gr.guided_sample_remedied(Gd.MixtureDenoiser(mix(), _AB50), torch.tensor([0]), 2.0, _AB50,
                                       interval=0.3), TypeError)

# ------------------------------------------------------------------- diffusion_theory (via diffusion)
_EPS10 = torch.zeros(10, 4, 2, dtype=torch.float64)
_SCORE0 = lambda x, t: torch.zeros_like(x)  # noqa: E731
_NEG = lambda x: -x  # noqa: E731
case("diffusion_theory.vlb_weights", "shape", "betas", lambda: Df.vlb_weights(BETAS[None]))
case("diffusion_theory.vlb_weights", "nan", "betas", lambda: Df.vlb_weights(nan_at(BETAS)))
case("diffusion_theory.vlb_weights", "range", "betas", lambda: Df.vlb_weights(BETAS + 1.0))
case("diffusion_theory.vlb_weights", "range", "variance", lambda: Df.vlb_weights(BETAS, "learned"))
case("diffusion_theory.vlb_terms", "shape", "eps", lambda: Df.vlb_terms(ZERO_EPS, X2, BETAS, _EPS10[:3]))
case("diffusion_theory.vlb_terms", "nan", "x0", lambda: Df.vlb_terms(ZERO_EPS, nan_at(X2), BETAS, _EPS10))
case("diffusion_theory.vlb_terms", "range", "betas", lambda: Df.vlb_terms(ZERO_EPS, X2, BETAS + 1.0, _EPS10))
case("diffusion_theory.vlb_terms", "range", "variance",
     lambda: Df.vlb_terms(ZERO_EPS, X2, BETAS, _EPS10, variance="learned"))
case("diffusion_theory.reverse_sde_step", "shape", "x_t and score",
     lambda: Df.reverse_sde_step(X2, 0, X2[:3], BETAS, X2))
case("diffusion_theory.reverse_sde_step", "nan", "score",
     lambda: Df.reverse_sde_step(X2, 0, nan_at(X2), BETAS, X2))
case("diffusion_theory.reverse_sde_step", "range", "t", lambda: Df.reverse_sde_step(X2, 10, X2, BETAS, X2))
case("diffusion_theory.reverse_sde_sample", "shape", "shape",
     lambda: Df.reverse_sde_sample(_SCORE0, BETAS, (0, 2)))
case("diffusion_theory.reverse_sde_sample", "nan", "betas",
     lambda: Df.reverse_sde_sample(_SCORE0, nan_at(BETAS), (4, 2)))
case("diffusion_theory.reverse_sde_sample", "range", "betas",
     lambda: Df.reverse_sde_sample(_SCORE0, BETAS + 1.0, (4, 2)))
for _fn, _a in (("eps_to_v", "eps"), ("v_to_eps", "v"), ("x0_to_eps", "x0"), ("v_to_x0", "v")):
    case(f"diffusion_theory.{_fn}", "shape", f"x_t and {_a}",
         lambda f=_fn: getattr(Df, f)(X2, 0, X2[:, :1], AB))
    case(f"diffusion_theory.{_fn}", "nan", _a, lambda f=_fn: getattr(Df, f)(X2, 0, nan_at(X2), AB))
    case(f"diffusion_theory.{_fn}", "range", "t", lambda f=_fn: getattr(Df, f)(X2, 10, X2, AB))
case("diffusion_theory.langevin_sample", "shape", "x", lambda: Df.langevin_sample(_NEG, t64(1.0)[0], 0.1, 2))
case("diffusion_theory.langevin_sample", "nan", "x", lambda: Df.langevin_sample(_NEG, nan_at(X2), 0.1, 2))
case("diffusion_theory.langevin_sample", "range", "step_size", lambda: Df.langevin_sample(_NEG, X2, 0.0, 2))
case("diffusion_theory.langevin_sample", "range", "n_steps", lambda: Df.langevin_sample(_NEG, X2, 0.1, -1))
case("diffusion_theory.annealed_langevin_sample", "shape", "step_sizes",
     lambda: Df.annealed_langevin_sample(lambda x, i: -x, X2, [0, 1], [0.1], 2))
case("diffusion_theory.annealed_langevin_sample", "nan", "step_sizes",
     lambda: Df.annealed_langevin_sample(lambda x, i: -x, X2, [0], [NAN], 2))
case("diffusion_theory.annealed_langevin_sample", "range", "step_sizes",
     lambda: Df.annealed_langevin_sample(lambda x, i: -x, X2, [0], [-0.1], 2))

# --- gan_theory: the non-saturating objective at D*, the Dirac GAN
case("gan_theory.nonsaturating_objective_at_optimum", "shape", "p_data and p_g",
     lambda: GT.nonsaturating_objective_at_optimum(_P, np.full(2, 0.5), 1.0))
case("gan_theory.nonsaturating_objective_at_optimum", "nan", "p_g",
     lambda: GT.nonsaturating_objective_at_optimum(_P, nan_at(_P), 1.0))
case("gan_theory.nonsaturating_objective_at_optimum", "range", "p_data",
     lambda: GT.nonsaturating_objective_at_optimum(2 * _P, _P, 1.0))
case("gan_theory.nonsaturating_objective_at_optimum", "range", "dx",
     lambda: GT.nonsaturating_objective_at_optimum(_P, _P, 0.0))
_XG = np.linspace(-5, 5, 101)
_PG, _DXG = np.exp(-_XG**2 / 2) / np.sqrt(2 * np.pi), _XG[1] - _XG[0]   # a standard normal on a grid
case("gan_theory.nonsaturating_objective_at_optimum", "range", "p_g",
     lambda: Gn.nonsaturating_objective_at_optimum(_PG, 2 * _PG, _DXG), match="p_g: expected a density")
case("gan_theory.nonsaturating_objective_at_optimum", "range", "p_data",
     lambda: Gn.nonsaturating_objective_at_optimum(-_PG, _PG, _DXG))
case("gan_theory.nonsaturating_objective_at_optimum", "shape", "p_data and p_g",
     lambda: Gn.nonsaturating_objective_at_optimum(_PG, _PG[:-1], _DXG))
case("gan_theory.nonsaturating_objective_at_optimum", "shape", "p_data and p_g",
     lambda: Gn.nonsaturating_objective_at_optimum(_PG, torch.from_numpy(_PG), _DXG), TypeError)
case("gan_theory.dirac_gan_vector_field", "shape", "theta",
     lambda: GT.dirac_gan_vector_field(np.ones(2), 0.0), TypeError)
case("gan_theory.dirac_gan_vector_field", "nan", "psi", lambda: GT.dirac_gan_vector_field(0.0, NAN))
case("gan_theory.dirac_gan_vector_field", "range", "gamma", lambda: GT.dirac_gan_vector_field(0.0, 0.0, -1.0))
case("gan_theory.dirac_gan_jacobian", "shape", "psi",
     lambda: GT.dirac_gan_jacobian(0.0, np.ones(2)), TypeError)
case("gan_theory.dirac_gan_jacobian", "nan", "theta", lambda: GT.dirac_gan_jacobian(NAN, 0.0))
case("gan_theory.dirac_gan_jacobian", "range", "gamma", lambda: GT.dirac_gan_jacobian(gamma=-0.1))
case("gan_theory.dirac_gan_jacobian", "nan", "psi", lambda: Gn.dirac_gan_jacobian(0.0, NAN))
case("gan_theory.dirac_gan_step_matrix", "shape", "lr",
     lambda: GT.dirac_gan_step_matrix(np.ones(2)), TypeError)
case("gan_theory.dirac_gan_step_matrix", "nan", "gamma", lambda: GT.dirac_gan_step_matrix(0.1, gamma=NAN))
case("gan_theory.dirac_gan_step_matrix", "range", "lr", lambda: GT.dirac_gan_step_matrix(0.0))
case("gan_theory.dirac_gan_step_matrix", "range", "method",
     lambda: GT.dirac_gan_step_matrix(0.1, "extragradient"))
case("gan_theory.dirac_gan_simulate", "shape", "theta0",
     lambda: GT.dirac_gan_simulate(np.ones(2), 0.0, 0.1, 5), TypeError)
case("gan_theory.dirac_gan_simulate", "nan", "lr", lambda: GT.dirac_gan_simulate(1.0, 0.0, NAN, 5))
case("gan_theory.dirac_gan_simulate", "range", "steps", lambda: GT.dirac_gan_simulate(1.0, 0.0, 0.1, 0))
case("gan_theory.dirac_gan_simulate", "range", "method",
     lambda: Gn.dirac_gan_simulate(1.0, 1.0, 0.1, 10, method="extragradient"))
case("gan_theory.dirac_gan_simulate", "range", "steps", lambda: Gn.dirac_gan_simulate(1.0, 1.0, 0.1, 0))
case("views.gan.dirac_gan_view", "shape", "lr", lambda: Vgan.dirac_gan_view(np.ones(2), 0.0), TypeError)
case("views.gan.dirac_gan_view", "nan", "gamma", lambda: Vgan.dirac_gan_view(0.1, NAN))
case("views.gan.dirac_gan_view", "range", "gamma", lambda: Vgan.dirac_gan_view(0.1, -0.5))

# ------------------------------------------------------------------- autoregressive
AR = importlib.import_module("companion.autoregressive")
_LEVELS = torch.tensor([[0.0, 2.0], [1.0, 3.0]], dtype=torch.float64)
_LOG_PI = torch.log(torch.full((2, 4), 0.25, dtype=torch.float64))


def _ar_flow(kind: str = "maf") -> Fl.Flow:
    return AR.make_autoregressive_flow(2, n_layers=1, kind=kind, hidden=(4,)).double()


case("autoregressive.made_masks", "shape", "order", lambda: AR.made_masks([[0, 1]]))
case("autoregressive.made_masks", "nan", "order", lambda: AR.made_masks([0.0, NAN]))
case("autoregressive.made_masks", "range", "order", lambda: AR.made_masks([0, 2]))
case("autoregressive.made_masks", "range", "hidden", lambda: AR.made_masks([0, 1], hidden=[0]))
case("autoregressive.made_masks", "range", "n_params", lambda: AR.made_masks([0, 1], n_params=0))
case("autoregressive.MADE", "shape", "x", lambda: AR.MADE([0, 1], hidden=[4])(torch.zeros(3, 3)))
case("autoregressive.MADE", "shape", "hidden", lambda: AR.MADE([0, 1], hidden=[]), TypeError)
case("autoregressive.MADE", "nan", "order", lambda: AR.MADE([NAN, 0.0]))
case("autoregressive.MADE", "range", "order", lambda: AR.MADE([0]))
case("autoregressive.MaskedAffineAutoregressive", "shape", "order",
     lambda: AR.MaskedAffineAutoregressive(3, [0, 1]))
case("autoregressive.MaskedAffineAutoregressive", "shape", "z",
     lambda: AR.MaskedAffineAutoregressive(2)(torch.zeros(3, 3)))
case("autoregressive.MaskedAffineAutoregressive", "nan", "x",
     lambda: AR.MaskedAffineAutoregressive(2).double().inverse(nan_at(X2)))
case("autoregressive.MaskedAffineAutoregressive", "nan", "scale_bound",
     lambda: AR.MaskedAffineAutoregressive(2, scale_bound=NAN))
case("autoregressive.MaskedAffineAutoregressive", "range", "kind",
     lambda: AR.MaskedAffineAutoregressive(2, kind="naf"))
case("autoregressive.MaskedAffineAutoregressive", "range", "dim", lambda: AR.MaskedAffineAutoregressive(1))
case("autoregressive.LogitTransform", "shape", "x", lambda: AR.LogitTransform(2).inverse(torch.zeros(3, 3)))
case("autoregressive.LogitTransform", "nan", "y", lambda: AR.LogitTransform(2)(nan_at(X2)))
case("autoregressive.LogitTransform", "nan", "lam", lambda: AR.LogitTransform(2, lam=NAN))
case("autoregressive.LogitTransform", "range", "x",
     lambda: AR.LogitTransform(2).inverse(torch.full((1, 2), 1.5, dtype=torch.float64)))
case("autoregressive.LogitTransform", "range", "lam", lambda: AR.LogitTransform(2, lam=0.5))
case("autoregressive.make_autoregressive_flow", "shape", "dim",
     lambda: AR.make_autoregressive_flow(np.zeros(2)), TypeError)
case("autoregressive.make_autoregressive_flow", "nan", "n_layers",
     lambda: AR.make_autoregressive_flow(2, NAN), TypeError)
case("autoregressive.make_autoregressive_flow", "range", "kind",
     lambda: AR.make_autoregressive_flow(kind="nice"))
case("autoregressive.make_autoregressive_flow", "range", "n_layers",
     lambda: AR.make_autoregressive_flow(n_layers=0))
case("autoregressive.network_evaluations", "shape", "x",
     lambda: AR.network_evaluations(_ar_flow(), torch.zeros(3, 3, dtype=torch.float64)))
case("autoregressive.network_evaluations", "nan", "x", lambda: AR.network_evaluations(_ar_flow(), nan_at(X2)))
case("autoregressive.network_evaluations", "range", "flow",
     lambda: AR.network_evaluations(Fl.make_flow(n_layers=1).double(), X2))
case("autoregressive.network_evaluations", "range", "x",
     lambda: AR.network_evaluations(_ar_flow("iaf"), torch.zeros(0, 2, dtype=torch.float64)))
case("autoregressive.dequantize", "shape", "x", lambda: AR.dequantize(torch.zeros(3)))
case("autoregressive.dequantize", "nan", "x", lambda: AR.dequantize(nan_at(_LEVELS)))
case("autoregressive.dequantize", "range", "x", lambda: AR.dequantize(_LEVELS + 0.5))
case("autoregressive.dequantized_log_likelihood", "shape", "x",
     lambda: AR.dequantized_log_likelihood(lambda y: -(y**2).sum(-1), torch.zeros(2, 4, dtype=torch.float64)))
case("autoregressive.dequantized_log_likelihood", "nan", "x",
     lambda: AR.dequantized_log_likelihood(lambda y: -(y**2).sum(-1), nan_at(_LEVELS)))
case("autoregressive.dequantized_log_likelihood", "range", "n_nodes",
     lambda: AR.dequantized_log_likelihood(lambda y: -(y**2).sum(-1), _LEVELS, n_nodes=0))
case("autoregressive.dequantized_log_likelihood", "range", "x",
     lambda: AR.dequantized_log_likelihood(lambda y: -(y**2).sum(-1), _LEVELS + 0.25))
case("autoregressive.dequantized_log_likelihood", "range", "x",
     lambda: AR.dequantized_log_likelihood(lambda y: -(y**2).sum(-1), torch.tensor([[0.5]])),
     match="x: expected integer values")
case("autoregressive.dequantized_log_likelihood", "shape", "x",
     lambda: AR.dequantized_log_likelihood(lambda y: -(y**2).sum(-1), torch.zeros(1, 4)),
     match="x: expected dim <= 3")
case("autoregressive.dequantized_log_likelihood", "shape", "log_prob",
     lambda: AR.dequantized_log_likelihood(None, torch.zeros(1, 1)),
     TypeError, match="log_prob: expected a callable")
case("autoregressive.bits_per_dim", "shape", "dim", lambda: AR.bits_per_dim(-1.0, np.ones(2)), TypeError)
case("autoregressive.bits_per_dim", "nan", "log_prob", lambda: AR.bits_per_dim(NAN, 2))
case("autoregressive.bits_per_dim", "range", "scale", lambda: AR.bits_per_dim(-1.0, 2, scale=-1.0))
case("autoregressive.bits_per_dim", "range", "log_prob", lambda: AR.bits_per_dim(np.zeros(0), 2))
case("autoregressive.fit_pixel_categorical", "shape", "x", lambda: AR.fit_pixel_categorical(np.zeros(3), 4))
case("autoregressive.fit_pixel_categorical", "nan", "x", lambda: AR.fit_pixel_categorical(nan_at(_LEVELS), 4))
case("autoregressive.fit_pixel_categorical", "nan", "smoothing",
     lambda: AR.fit_pixel_categorical(_LEVELS, 4, smoothing=NAN))
case("autoregressive.fit_pixel_categorical", "range", "x", lambda: AR.fit_pixel_categorical(_LEVELS, 3))
case("autoregressive.fit_pixel_categorical", "range", "n_levels",
     lambda: AR.fit_pixel_categorical(_LEVELS, 1))
case("autoregressive.categorical_log_prob", "shape", "x",
     lambda: AR.categorical_log_prob(torch.zeros(2, 3, dtype=torch.float64), _LOG_PI))
case("autoregressive.categorical_log_prob", "shape", "log_probs",
     lambda: AR.categorical_log_prob(_LEVELS, _LOG_PI[0]))
case("autoregressive.categorical_log_prob", "nan", "log_probs",
     lambda: AR.categorical_log_prob(_LEVELS, nan_at(_LOG_PI)))
case("autoregressive.categorical_log_prob", "range", "x",
     lambda: AR.categorical_log_prob(-_LEVELS - 1, _LOG_PI))
case("autoregressive.categorical_log_prob", "range", "log_probs",
     lambda: AR.categorical_log_prob(_LEVELS, _LOG_PI + 1.0))
case("autoregressive.gaussian_comb_log_prob", "shape", "x",
     lambda: AR.gaussian_comb_log_prob(torch.zeros(2, 3, dtype=torch.float64), _LOG_PI, 1.0))
case("autoregressive.gaussian_comb_log_prob", "nan", "x",
     lambda: AR.gaussian_comb_log_prob(nan_at(_LEVELS), _LOG_PI, 1.0))
case("autoregressive.gaussian_comb_log_prob", "nan", "offset",
     lambda: AR.gaussian_comb_log_prob(_LEVELS, _LOG_PI, 1.0, offset=NAN))
case("autoregressive.gaussian_comb_log_prob", "range", "sigma",
     lambda: AR.gaussian_comb_log_prob(_LEVELS, _LOG_PI, 0.0))

# ------------------------------------------------------------------- vae_theory
Vt = importlib.import_module("companion.vae_theory")
_Z2 = torch.zeros(3, 2, dtype=torch.float64)
case("vae_theory.fit_local_q", "shape", "mu", lambda: Vt.fit_local_q(X2, lgm().log_likelihood, _Z2, _Z2))
case("vae_theory.fit_local_q", "nan", "x", lambda: Vt.fit_local_q(nan_at(X2), lgm().log_likelihood, _Z2, _Z2))
case("vae_theory.fit_local_q", "range", "n_samples",
     lambda: Vt.fit_local_q(X2[:3], lgm().log_likelihood, _Z2, _Z2, n_samples=2))
case("vae_theory.mean_field_optimum", "shape", "x", lambda: Vt.mean_field_optimum(lgm(), np.zeros((2, 3))))
case("vae_theory.mean_field_optimum", "nan", "x",
     lambda: Vt.mean_field_optimum(lgm(), nan_at(np.zeros((2, 2)))))
case("vae_theory.mean_field_optimum", "range", "x", lambda: Vt.mean_field_optimum(lgm(), np.zeros((0, 2))))
case("vae_theory.inference_gaps", "shape", "log_px",
     lambda: Vt.inference_gaps(np.zeros(3), np.zeros(2), np.zeros(3)))
case("vae_theory.inference_gaps", "nan", "elbo_best",
     lambda: Vt.inference_gaps(np.zeros(3), np.array([0.0, NAN, 0.0]), np.zeros(3)))
case("vae_theory.inference_gaps", "range", "log_px",
     lambda: Vt.inference_gaps(np.zeros(1), np.zeros(1), np.zeros(1)))
case("vae_theory.aggregate_posterior_log_prob", "shape", "z",
     lambda: Vt.aggregate_posterior_log_prob(torch.zeros(4, 3, dtype=torch.float64), _Z2, _Z2))
case("vae_theory.aggregate_posterior_log_prob", "nan", "mu",
     lambda: Vt.aggregate_posterior_log_prob(X2, nan_at(_Z2), _Z2))
case("vae_theory.aggregate_posterior_log_prob", "range", "mu",
     lambda: Vt.aggregate_posterior_log_prob(X2, _Z2[:0], _Z2[:0]))
case("vae_theory.elbo_surgery", "shape", "mu", lambda: Vt.elbo_surgery(torch.zeros(3), torch.zeros(3)))
case("vae_theory.elbo_surgery", "nan", "log_var", lambda: Vt.elbo_surgery(_Z2, nan_at(_Z2)))
case("vae_theory.elbo_surgery", "range", "n_samples", lambda: Vt.elbo_surgery(_Z2, _Z2, n_samples=1))
case("vae_theory.rate_per_unit", "shape", "mu and log_var", lambda: Vt.rate_per_unit(_Z2, X2))
case("vae_theory.rate_per_unit", "nan", "log_var", lambda: Vt.rate_per_unit(_Z2, nan_at(_Z2)))
case("vae_theory.rate_per_unit", "range", "mu", lambda: Vt.rate_per_unit(_Z2[:0], _Z2[:0]))
case("vae_theory.kl_warmup", "shape", "step", lambda: Vt.kl_warmup(np.zeros(2), 10), TypeError)
case("vae_theory.kl_warmup", "nan", "step", lambda: Vt.kl_warmup(NAN, 10), TypeError)
case("vae_theory.kl_warmup", "range", "warmup_steps", lambda: Vt.kl_warmup(3, -1))
case("vae_theory.free_bits_kl", "shape", "mu", lambda: Vt.free_bits_kl(torch.zeros(3), torch.zeros(3), 0.5))
case("vae_theory.free_bits_kl", "nan", "free_bits", lambda: Vt.free_bits_kl(_Z2, _Z2, NAN))
case("vae_theory.free_bits_kl", "range", "free_bits", lambda: Vt.free_bits_kl(_Z2, _Z2, -0.1))
case("vae_theory.train_vae_remedied", "shape", "data",
     lambda: Vt.train_vae_remedied(vae(), torch.zeros(4, 3, dtype=torch.float64)))
case("vae_theory.train_vae_remedied", "nan", "free_bits",
     lambda: Vt.train_vae_remedied(vae(), X2, free_bits=NAN))
case("vae_theory.train_vae_remedied", "range", "warmup_steps",
     lambda: Vt.train_vae_remedied(vae(), X2, warmup_steps=-1))

case("utils.start_chapter", "shape", "threads", lambda: Ut.start_chapter(0, threads=np.zeros(2)), TypeError)
case("utils.start_chapter", "nan", "seed", lambda: Ut.start_chapter(NAN), TypeError)
case("utils.start_chapter", "range", "threads", lambda: Ut.start_chapter(0, threads=0))
case("utils.worst", "shape", "values", lambda: Ut.worst("0.1"), TypeError)
case("utils.worst", "range", "values", lambda: Ut.worst([]))
case("utils.markdown_table", "shape", "rows", lambda: Ut.markdown_table(["a", "b"], [[1, 2], [3]]),
     match=r"^rows: row 1 has 1 cells, expected 2")
case("utils.markdown_table", "range", "rows", lambda: Ut.markdown_table(["a"], []),
     match=r"^rows: expected at least one row")
case("utils.markdown_table", "range", "header", lambda: Ut.markdown_table([], [[1]]),
     match=r"^header: expected at least one column")

EXEMPT: dict[str, str] = {
    "schedules.NoiseSchedule": "a value object: built by from_betas, linear or cosine, which check their "
                               "arguments (tests/test_schedules.py)",
    "views.gan.dirac_widget_spec": "takes no arguments",
    "validation.is_torch": "a predicate that answers for every object; there is no bad input",
    "families.linked_labels": "takes no arguments",
    "api_index.public_api": "takes no arguments",
    "utils.train_scale": "takes no arguments; bad COMPANION_TRAIN_SCALE values: test_utils.py",
    "utils.default_device": "takes no arguments; bad COMPANION_DEVICE values: test_utils.py",
    "plotting.use_book_style": "takes no arguments",
    "views.gan.loss_widget_spec": "takes no arguments",
    "views.flows.flow_1d_widget_spec": "takes no arguments",
    "views.guidance.guidance_scales": "takes no arguments",
    "views.toolkit.kl_widget_spec": "takes no arguments",
    "views.toolkit.widget_specs": "takes no arguments",
    "gan.GANRun": "the record train_gan returns; training_dynamics_view (covered) checks what it reads",
    "families.Cell": "a record of three strings built at import from FAMILY_MAP; test_families checks every "
                     "cell's chapter and equation label against the notebooks",
    "widgets.readout": "a lookup of a read-out's words by its key; a key it does not list is shown as "
                       "written (every read-out on the site is checked for words by tests/site)",
    "widgets.WidgetSpec": "a plain container; its callbacks are the covered *_view functions and its slider "
                          "ranges are exercised at every corner by the widget tests",
}

#: (callable, kind) pairs with no case, and why the kind does not apply.
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("validation.check_positive", "shape"): "accepts any shape",
    ("utils.worst", "nan"): "NaN is its point: a NaN among the values is the result, never dropped",
    ("utils.markdown_table", "nan"): "cells are text (numbers formatted by the caller); a NaN prints as nan",
    ("plotting.figure_png", "shape"): "takes a matplotlib figure, not numbers",
    ("plotting.figure_png", "nan"): "takes a matplotlib figure, not numbers",
    ("plotting.figure_alt_text", "shape"): "takes a matplotlib figure, not numbers",
    ("plotting.figure_alt_text", "nan"): "takes a matplotlib figure, not numbers",
    ("validation.check_in_range", "shape"): "accepts any shape",
    ("validation.check_same_shape", "nan"): "compares shapes only, never reads values",
    ("validation.check_same_shape", "range"): "compares shapes only, never reads values",
    ("validation.check_choice", "shape"): "takes a label, not an array",
    ("validation.check_broadcast", "nan"): "compares shapes only, never reads values",
    ("validation.check_broadcast", "range"): "compares shapes only, never reads values",
    ("vae.kl_normal_std", "range"): "every finite mu and log_var is valid (large log_var: "
                                    "test_large_log_var.py)",
    ("vae.diag_normal_log_prob", "range"): "every finite x, mu, log_var is valid (large log_var: "
                                           "test_large_log_var.py)",
    ("families.family_cell", "shape"): "two labels, no array",
    ("families.render_family_map", "shape"): "one label, no array",
    ("families.notebook_labels", "shape"): "a path, no array",
    ("api_index.chapter_usage", "shape"): "a path, no array",
    ("api_index.api_index_html", "shape"): "a path, no array",
    ("api_index.api_index_markdown", "shape"): "a path, no array",
    ("api_index.rest_to_myst", "shape"): "one string, no array",
    ("api_index.rest_to_myst", "range"): "every string is valid input (text without reST passes through)",
}


# ------------------------------------------------------------------- the tests
def _name_pattern(arg: str) -> str:
    return rf"(?<![\w]){re.escape(arg)}(?![\w])"


def _check(c: Case) -> None:
    """The call raises ``c.exc`` whose message names ``c.arg`` (and contains ``c.match``, if given)."""
    with pytest.raises(c.exc, match=_name_pattern(c.arg)) as err:
        c.call()
    if c.match is not None:
        err.match(c.match)


@pytest.mark.parametrize("c", CASES, ids=[f"{c.target}-{c.kind}-{c.arg}" for c in CASES])
def test_bad_input_raises_and_names_the_argument(c: Case):
    _check(c)


def _public_callables() -> dict[str, object]:
    out = {}
    for mod_name in (*MODULE_NAMES, *BOOKKIT_MODULES):
        module = _module(mod_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not isinstance(obj, type(math)) and name not in ("ArrayLike", "Array"):
                out[f"{mod_name}.{name}"] = obj
    return out


def test_every_public_callable_is_covered():
    """Each public callable has a case of every kind, or a stated reason why not."""
    public = _public_callables()
    have = {(c.target, c.kind) for c in CASES}
    missing = [f"{target} ({kind})" for target in sorted(public) if target not in EXEMPT
               for kind in KINDS if (target, kind) not in have and (target, kind) not in NOT_APPLICABLE]
    assert not missing, ("public callables with no bad-input case and no stated exemption:\n  "
                         + "\n  ".join(missing))


def _resolves(target: str) -> bool:
    """``target`` ("module.name") names a callable that exists (public or behind a public one,
    such as the view a widget spec calls with the slider values)."""
    module, _, name = target.rpartition(".")
    return callable(getattr(_module(module), name, None))


def test_the_table_names_only_public_callables():
    """No stale entries: every case and "not applicable" refers to a callable that exists, every
    exemption to a public one, each with a reason."""
    public = _public_callables()
    stale = sorted({c.target for c in CASES if not _resolves(c.target)})
    stale += sorted(set(EXEMPT) - set(public))
    stale += sorted({t for t, _ in NOT_APPLICABLE if not _resolves(t)})
    assert not stale, f"not public callables: {stale}"
    assert not set(EXEMPT) & {c.target for c in CASES}, "a callable is both exempt and covered"
    assert all(reason.strip() for reason in [*EXEMPT.values(), *NOT_APPLICABLE.values()])


def test_every_module_is_enumerated():
    for package_name, names in (("companion", MODULE_NAMES), ("bookkit", BOOKKIT_MODULES)):
        package = Path(importlib.import_module(package_name).__file__).parent
        on_disk = {".".join(p.relative_to(package).with_suffix("").parts) for p in package.rglob("*.py")
                   if p.stem != "__init__"}
        assert on_disk == set(names), (package_name, on_disk ^ set(names))


# ------------------------------------------------------------------- diffusion.q_sample_alpha_bar
# Appended after the table's tests: these cases get their own parametrized test (the one above
# fixed its parameters when it was defined), and ``CASES`` is rebound to a new list that includes
# them, which the coverage tests above read when they run.
_QSAB_CASES = [
    Case("diffusion.q_sample_alpha_bar", "shape", "x0 and eps",
         lambda: Df.q_sample_alpha_bar(X2, 0.5, X2[:, :1])),
    Case("diffusion.q_sample_alpha_bar", "shape", "alpha_bar",
         lambda: Df.q_sample_alpha_bar(X2, torch.full((4, 3), 0.5, dtype=torch.float64), X2)),
    Case("diffusion.q_sample_alpha_bar", "shape", "eps",
         lambda: Df.q_sample_alpha_bar(X2, 0.5, np.zeros((4, 2))), TypeError),
    Case("diffusion.q_sample_alpha_bar", "nan", "eps", lambda: Df.q_sample_alpha_bar(X2, 0.5, nan_at(X2))),
    Case("diffusion.q_sample_alpha_bar", "nan", "alpha_bar", lambda: Df.q_sample_alpha_bar(X2, NAN, X2)),
    Case("diffusion.q_sample_alpha_bar", "range", "alpha_bar", lambda: Df.q_sample_alpha_bar(X2, 1.5, X2)),
    # float32, batch 3: would broadcast x0 to (3, 3); mixed NumPy and torch; below 0
    Case("diffusion.q_sample_alpha_bar", "shape", "alpha_bar",
         lambda: Df.q_sample_alpha_bar(torch.zeros(3, 2), torch.full((3, 3), 0.5), torch.zeros(3, 2))),
    Case("diffusion.q_sample_alpha_bar", "shape", "eps",
         lambda: Df.q_sample_alpha_bar(torch.zeros(3, 2), 0.5, np.zeros((3, 2))), TypeError),
    Case("diffusion.q_sample_alpha_bar", "range", "alpha_bar",
         lambda: Df.q_sample_alpha_bar(torch.zeros(3, 2), -0.1, torch.zeros(3, 2))),
]
CASES = [*CASES, *_QSAB_CASES]


@pytest.mark.parametrize("c", _QSAB_CASES, ids=[f"{c.target}-{c.kind}-{c.arg}" for c in _QSAB_CASES])
def test_q_sample_alpha_bar_bad_input_raises_and_names_the_argument(c: Case):
    _check(c)
