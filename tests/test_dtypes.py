"""float32 and float64: the functions the chapters call with float32 tensors work in both.

Each case computes one quantity from the same float64 inputs, cast to ``dtype``. In both
dtypes the result must be finite and have that dtype; the float32 result must agree with
the float64 one within ``RTOL_32``, ``ATOL_32`` (float32 has a 1.2e-7 unit round-off; the
cases sum at most a few hundred terms of size <= 100, so 1e-4 relative is ample, and a
wrong formula in either dtype is off by far more). And the float64 result must not be the
float32 one: a function that computed in float32 internally would return exactly that.
"""

from __future__ import annotations

import copy

import pytest
import torch

from companion import diffusion as Df
from companion import distributions as Ds
from companion import flow_matching as Fm
from companion import flows as Fl
from companion import gan as Gn
from companion import guidance as Gd
from companion import vae as Va

RTOL_32, ATOL_32 = 1e-4, 1e-5
DTYPES = (torch.float32, torch.float64)


def _data(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


X, MU, LOG_VAR = _data(0, 8, 3), _data(1, 8, 3), 0.5 * _data(2, 8, 3)
LOGITS_REAL, LOGITS_FAKE = 3.0 * _data(3, 16), 3.0 * _data(4, 16)
EPS_3D = _data(5, 4, 8, 3)
AB = Df.alphas_cumprod(Df.linear_beta_schedule(50, 1e-3, 0.2))
BETAS = Df.linear_beta_schedule(50, 1e-3, 0.2)
T = torch.arange(8) * 6
FLOW = Fl.make_flow(n_layers=2, hidden=8, seed=0).double()
SPLINE_FLOW = Fl.make_flow(n_layers=2, hidden=8, kind="spline", seed=0).double()
EPS_NET = Df.EpsMLP(3, hidden=16, emb_dim=8).double()
# a linear critic has gradient norm |w| at every point, so the penalty does not depend on the
# interpolation weights (torch.rand draws different numbers in float32 and float64)
CRITIC = torch.nn.Linear(3, 1).double()
VEL_NET = Fm.VelocityMLP(3, hidden=16, emb_dim=8).double()
TF = torch.rand(8, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
MIX = (_data(7, 3, 2), torch.tensor([0.3, 0.6, 0.45], dtype=torch.float64),
       torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64))
_MODELS: dict = {}


def _model(module: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """The module with its parameters in ``dtype`` (float32 copies are the float64 weights rounded)."""
    key = (id(module), dtype)
    if key not in _MODELS:
        _MODELS[key] = copy.deepcopy(module).to(dtype)
    return _MODELS[key]


def _gaussian_ll(x, z):  # log N(x; z W, I): a decoder likelihood, z: (n, batch, 3) -> (n, batch)
    return Va.diag_normal_log_prob(x, z.flip(-1), torch.zeros_like(z))


CASES = {
    # GAN losses on logits (chapter ch-gan trains in float32)
    "gan.discriminator_loss": lambda c: Gn.discriminator_loss(c(LOGITS_REAL), c(LOGITS_FAKE)),
    "gan.generator_loss (ns)": lambda c: Gn.generator_loss(c(LOGITS_FAKE)),
    "gan.generator_loss (sat)": lambda c: Gn.generator_loss(c(LOGITS_FAKE), kind="saturating"),
    "gan.generator_loss_grad": lambda c: Gn.generator_loss_grad(c(LOGITS_FAKE)),
    "gan.wasserstein_critic_loss": lambda c: Gn.wasserstein_critic_loss(c(LOGITS_REAL), c(LOGITS_FAKE)),
    "gan.gradient_penalty": lambda c: Gn.gradient_penalty(
        _model(CRITIC, c.dtype), c(X), c(MU), generator=torch.Generator().manual_seed(0)),
    # the ELBO pieces (chapter ch-vae)
    "vae.kl_normal_std": lambda c: Va.kl_normal_std(c(MU), c(LOG_VAR)),
    "vae.diag_normal_log_prob": lambda c: Va.diag_normal_log_prob(c(X), c(MU), c(LOG_VAR)),
    "vae.bernoulli_log_prob": lambda c: Va.bernoulli_log_prob(c(torch.sigmoid(X)), c(LOGITS_FAKE[:3])),
    "vae.reparameterize": lambda c: Va.reparameterize(c(MU), c(LOG_VAR), c(EPS_3D)),
    "vae.elbo": lambda c: Va.elbo(c(X), c(MU), c(LOG_VAR), _gaussian_ll, n_samples=4, eps=c(EPS_3D)),
    "vae.elbo (sampled KL)": lambda c: Va.elbo(c(X), c(MU), c(LOG_VAR), _gaussian_ll, n_samples=4,
                                               analytic_kl=False, eps=c(EPS_3D)),
    "vae.iwae_bound": lambda c: Va.iwae_bound(c(X), c(MU), c(LOG_VAR), _gaussian_ll, 4, eps=c(EPS_3D)),
    "distributions.normal_log_prob": lambda c: Ds.normal_log_prob(c(X), c(MU), c(LOG_VAR.exp())),
    "distributions.kl_normal": lambda c: Ds.kl_normal(c(MU), c(LOG_VAR.exp()), c(X),
                                                      c(LOG_VAR.exp().flip(0))),
    # flows log_prob (chapter ch-flows)
    "flows.standard_normal_log_prob": lambda c: Fl.standard_normal_log_prob(c(X[:, :2])),
    "flows.Flow.log_prob (affine)": lambda c: _model(FLOW, c.dtype).log_prob(c(X[:, :2])),
    "flows.Flow.log_prob (spline)": lambda c: _model(SPLINE_FLOW, c.dtype).log_prob(c(X[:, :2])),
    "flows.rational_quadratic_spline": lambda c: torch.stack(Fl.rational_quadratic_spline(
        c(X[:, 0]), c(MU), c(LOG_VAR), c(X[:, 1:]))),
    # diffusion q_sample and loss (chapter ch-diffusion)
    "diffusion.q_sample": lambda c: Df.q_sample(c(X), T, c(MU), AB),
    "diffusion.simple_loss": lambda c: Df.simple_loss(_model(EPS_NET, c.dtype), c(X), T, c(MU), AB,
                                                      reduce=False),
    "diffusion.predict_x0_from_eps": lambda c: Df.predict_x0_from_eps(c(X), T, c(MU), AB),
    "diffusion.q_posterior_mean_variance": lambda c: torch.cat(
        [v.expand_as(X) for v in Df.q_posterior_mean_variance(c(X), c(MU), T + 1, BETAS)]),
    # flow matching (chapter ch-flow-matching)
    "flow_matching.path_sample": lambda c: torch.cat(Fm.path_sample(c(X), c(MU), c(TF), "cosine")),
    "flow_matching.cfm_loss": lambda c: Fm.cfm_loss(_model(VEL_NET, c.dtype), c(X), c(MU), c(TF)),
    "flow_matching.gmm_marginal_velocity": lambda c: Fm.gmm_marginal_velocity(c(X[:, :2]), c(TF), *MIX),
    "flow_matching.gmm_path_log_prob": lambda c: Fm.gmm_path_log_prob(c(X[:, :2]), c(TF), *MIX,
                                                                      path="cosine"),
    "flow_matching.velocity_to_score": lambda c: Fm.velocity_to_score(c(X), c(MU), c(TF), "cosine"),
    "flow_matching.ode_sample": lambda c: Fm.ode_sample(
        lambda x, t: Fm.gmm_marginal_velocity(x, t, *MIX), c(X[:, :2]), 4, "rk4"),
    "flow_matching.ode_log_prob": lambda c: Fm.ode_log_prob(
        lambda x, t: Fm.gmm_marginal_velocity(x, t, *MIX), c(X[:, :2]), 4, "rk4"),
    # guidance combination (chapter ch-guidance)
    "guidance.cfg_combine": lambda c: Gd.cfg_combine(c(X), c(MU), 3.0),
    "guidance.cfg_combine (per-example scale)": lambda c: Gd.cfg_combine(c(X), c(MU), c(LOGITS_REAL[:8])),
    "guidance.classifier_guidance": lambda c: Gd.classifier_guidance(c(X), c(MU), 2.0, 0.3),
}


def _run(name: str, dtype: torch.dtype) -> torch.Tensor:
    def cast(t: torch.Tensor) -> torch.Tensor:
        return t.to(dtype)

    cast.dtype = dtype
    return CASES[name](cast)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", CASES)
def test_works_and_returns_the_input_dtype(name, dtype):
    out = _run(name, dtype)
    assert isinstance(out, torch.Tensor) and out.dtype == dtype, (name, getattr(out, "dtype", type(out)))
    assert bool(torch.isfinite(out).all()), name


@pytest.mark.parametrize("name", CASES)
def test_float32_agrees_with_float64(name):
    out32, out64 = _run(name, torch.float32), _run(name, torch.float64)
    assert out32.shape == out64.shape
    err = (out32.double() - out64).abs()
    tol = ATOL_32 + RTOL_32 * out64.abs()
    assert bool((err <= tol).all()), f"{name}: max error {float(err.max()):.3g}"


@pytest.mark.parametrize("name", CASES)
def test_float64_is_computed_in_float64(name):
    """The float64 inputs are not float32-representable, so a true float64 computation differs
    from the float32 one somewhere; an internal cast to float32 would make them equal."""
    out32, out64 = _run(name, torch.float32), _run(name, torch.float64)
    assert bool((out32.double() != out64).any()), name
