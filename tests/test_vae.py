"""Chapter ch-vae invariants: KL, reparameterisation, ELBO identity, IWAE, linear beta-VAE (float64)."""

import math

import numpy as np
import pytest
import scipy.optimize
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import distributions as D
from companion import vae as V

F64 = torch.float64


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _orthogonal_model(rng, D_=5, d=2, sigma=0.7):
    """W with orthogonal columns: the exact posterior is then diagonal, so q can equal it."""
    Q, _ = np.linalg.qr(rng.normal(size=(D_, d)))
    W = Q * np.array([2.0, 0.8])[:d]
    return V.LinearGaussianModel(W, rng.normal(size=D_), sigma)


def _generic_model(rng, D_=4, d=3, sigma=0.5):
    return V.LinearGaussianModel(rng.normal(size=(D_, d)), rng.normal(size=D_), sigma)


# ---------------------------------------------------------------------------------------------
# KL to the standard normal
# ---------------------------------------------------------------------------------------------


def test_kl_normal_std_is_kl_normal_summed_numpy_and_torch(rng):
    mu, log_var = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    ref = D.kl_normal(mu, np.exp(log_var), 0.0, 1.0).sum(-1)
    out = V.kl_normal_std(mu, log_var)
    assert isinstance(out, np.ndarray) and out.shape == (6,)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    out_t = V.kl_normal_std(torch.from_numpy(mu), torch.from_numpy(log_var))
    assert isinstance(out_t, torch.Tensor)
    np.testing.assert_allclose(out_t.numpy(), ref, rtol=1e-12)


def test_kl_normal_std_matches_torch_distributions(rng):
    mu, log_var = torch.from_numpy(rng.normal(size=(10, 4))), torch.from_numpy(rng.normal(size=(10, 4)))
    q = torch.distributions.Independent(torch.distributions.Normal(mu, (0.5 * log_var).exp()), 1)
    p = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    ref = torch.distributions.kl_divergence(q, p)
    torch.testing.assert_close(V.kl_normal_std(mu, log_var), ref, rtol=1e-12, atol=1e-12)


def test_kl_normal_std_agrees_with_monte_carlo(rng):
    mu, log_var = np.array([0.5, -1.0]), np.array([-0.7, 0.4])
    z = V.reparameterize(mu, log_var, eps=rng.standard_normal((200_000, 2)))
    log_q = V.diag_normal_log_prob(z, mu, log_var)
    log_p = V.diag_normal_log_prob(z, np.zeros(2), np.zeros(2))
    est, se = D.kl_monte_carlo(log_q, log_p)
    assert abs(est - V.kl_normal_std(mu, log_var)) < 4 * se


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(-8, 8)), min_size=1, max_size=6))
def test_kl_normal_std_is_non_negative_and_zero_only_at_the_prior(pairs):
    mu = np.array([p[0] for p in pairs])
    log_var = np.array([p[1] for p in pairs])
    kl = float(V.kl_normal_std(mu, log_var))
    assert kl >= -1e-12
    np.testing.assert_allclose(kl, D.kl_normal(mu, np.exp(log_var), 0.0, 1.0).sum(), rtol=1e-9, atol=1e-12)
    if np.all(np.abs(mu) < 1e-9) and np.all(np.abs(log_var) < 1e-9):
        assert kl < 1e-12


def test_kl_normal_std_is_finite_at_extremes():
    out = V.kl_normal_std(torch.tensor([[100.0, 0.0]]), torch.tensor([[-80.0, 80.0]]))
    assert torch.isfinite(out).all() and out.item() > 0


# ---------------------------------------------------------------------------------------------
# Densities and the reparameterisation
# ---------------------------------------------------------------------------------------------


def test_diag_normal_log_prob_matches_scipy(rng):
    x, mu, log_var = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    ref = scipy.stats.norm(mu, np.exp(0.5 * log_var)).logpdf(x).sum(-1)
    np.testing.assert_allclose(V.diag_normal_log_prob(x, mu, log_var), ref, rtol=1e-12)


def test_bernoulli_log_prob_matches_formula_and_is_stable(rng):
    x = rng.uniform(size=(4, 6))
    logits = rng.normal(size=(4, 6)) * 3
    s = 1 / (1 + np.exp(-logits))
    ref = (x * np.log(s) + (1 - x) * np.log(1 - s)).sum(-1)
    np.testing.assert_allclose(V.bernoulli_log_prob(x, logits), ref, rtol=1e-10)
    np.testing.assert_allclose(V.bernoulli_log_prob(torch.from_numpy(x), torch.from_numpy(logits)).numpy(),
                               ref, rtol=1e-10)
    extreme = V.bernoulli_log_prob(torch.tensor([1.0, 0.0]), torch.tensor([1000.0, -1000.0]))
    assert torch.isfinite(extreme) and abs(extreme.item()) < 1e-12
    assert np.isfinite(V.bernoulli_log_prob(np.array([0.0]), np.array([1000.0])))


def test_reparameterize_is_mu_plus_sigma_eps_and_has_the_right_moments(rng):
    mu, log_var, eps = np.array([1.0, -2.0]), np.array([np.log(4.0), 0.0]), np.array([0.5, -1.0])
    np.testing.assert_allclose(V.reparameterize(mu, log_var, eps=eps), [2.0, -3.0], rtol=1e-15)
    z = V.reparameterize(mu, log_var, eps=rng.standard_normal((100_000, 2)))
    np.testing.assert_allclose(z.mean(0), mu, atol=0.03)
    np.testing.assert_allclose(z.var(0), np.exp(log_var), rtol=0.02)
    mu_t = torch.tensor([0.3], dtype=F64, requires_grad=True)
    lv_t = torch.tensor([0.2], dtype=F64, requires_grad=True)
    V.reparameterize(mu_t, lv_t, eps=torch.tensor([0.7], dtype=F64)).sum().backward()
    assert mu_t.grad.item() == pytest.approx(1.0)
    assert lv_t.grad.item() == pytest.approx(0.5 * math.exp(0.1) * 0.7)
    z_t = V.reparameterize(torch.zeros(3, 2), torch.zeros(3, 2), generator=_gen())
    assert z_t.shape == (3, 2)


# ---------------------------------------------------------------------------------------------
# The linear-Gaussian model and the ELBO identity
# ---------------------------------------------------------------------------------------------


def test_linear_gaussian_log_prob_matches_scipy(rng):
    m = _generic_model(rng)
    x, _ = m.sample(7, generator=_gen())
    cov = m.marginal_cov().numpy()
    ref = scipy.stats.multivariate_normal(m.b.numpy(), cov).logpdf(x.numpy())
    np.testing.assert_allclose(m.log_prob(x).numpy(), ref, rtol=1e-12)


def test_linear_gaussian_posterior_satisfies_bayes_rule(rng):
    m = _generic_model(rng)
    x, _ = m.sample(3, generator=_gen())
    mean, cov = m.posterior(x)
    z = torch.from_numpy(rng.normal(size=(5, 3, m.latent_dim)))
    log_joint = m.log_likelihood(x, z) + V.diag_normal_log_prob(z, torch.zeros(3, dtype=F64),
                                                                torch.zeros(3, dtype=F64))
    post = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov).log_prob(z)
    torch.testing.assert_close(log_joint - m.log_prob(x), post, rtol=1e-10, atol=1e-10)


def test_elbo_equals_log_p_at_the_true_posterior_and_gap_is_the_kl(rng):
    m = _orthogonal_model(rng)
    x, _ = m.sample(6, generator=_gen())
    mean, cov = m.posterior(x)
    assert torch.allclose(cov, torch.diag(torch.diagonal(cov)), atol=1e-14)  # diagonal posterior
    log_var = torch.log(torch.diagonal(cov)).expand_as(mean)
    log_p = m.log_prob(x)
    torch.testing.assert_close(m.elbo_exact(x, mean, log_var), log_p, rtol=0, atol=1e-10)
    # Monte Carlo with the sampled KL: every single draw gives log p(x) exactly.
    mc = V.elbo(x, mean, log_var, m.log_likelihood, n_samples=3, analytic_kl=False, generator=_gen(1))
    torch.testing.assert_close(mc, log_p, rtol=0, atol=1e-10)
    # Any other q: strictly lower, and the gap is KL(q || posterior).
    true_post = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)
    for shift in [0.3, -1.0]:
        q_mu, q_lv = mean + shift, log_var - shift
        gap = log_p - m.elbo_exact(x, q_mu, q_lv)
        q = torch.distributions.MultivariateNormal(q_mu, covariance_matrix=torch.diag_embed(q_lv.exp()))
        assert (gap > 0).all()
        kl = torch.distributions.kl_divergence(q, true_post)
        torch.testing.assert_close(gap, kl, rtol=1e-9, atol=1e-10)


def test_elbo_monte_carlo_is_unbiased_for_the_exact_elbo(rng):
    m = _generic_model(rng)
    x, _ = m.sample(1, generator=_gen())
    mu, log_var = torch.tensor([[0.2, -0.1, 0.4]], dtype=F64), torch.tensor([[-1.0, -0.5, -1.5]], dtype=F64)
    exact = m.elbo_exact(x, mu, log_var, beta=0.5)
    for analytic in (True, False):
        draws = V.elbo(x.expand(4000, -1), mu.expand(4000, -1), log_var.expand(4000, -1), m.log_likelihood,
                       beta=0.5, analytic_kl=analytic, generator=_gen(2))
        est, se = D.mc_estimate(draws)
        assert abs(est - exact.item()) < 4 * se


def test_beta_objective_below_one_exceeds_log_p_so_it_is_not_a_bound(rng):
    # eq-beta-objective = ELBO + (1 - beta) KL(q || p(z)); at the exact posterior the ELBO is log p(x).
    m = _orthogonal_model(rng)
    x, _ = m.sample(5, generator=_gen())
    mean, cov = m.posterior(x)
    log_var = torch.log(torch.diagonal(cov)).expand_as(mean)
    log_p, kl_prior = m.log_prob(x), V.kl_normal_std(mean, log_var)
    for beta in (0.0, 0.5, 2.0):
        excess = m.elbo_exact(x, mean, log_var, beta=beta) - log_p
        torch.testing.assert_close(excess, (1 - beta) * kl_prior, rtol=0, atol=1e-10)
        assert ((excess > 0) if beta < 1 else (excess < 0)).all()


def test_the_primers_worked_example():
    mu, log_var = np.array([0.2, -0.5, 1.0]), np.array([-0.1, 0.3, 0.0])
    kl = float(V.kl_normal_std(mu, log_var))
    assert f"{kl:.4f}" == "0.6723"
    assert kl == pytest.approx(-0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var)), abs=1e-12)


def test_elbo_with_beta_zero_is_the_expected_log_likelihood(rng):
    m = _generic_model(rng)
    x, _ = m.sample(2, generator=_gen())
    mu, log_var = torch.zeros(2, 3, dtype=F64), torch.zeros(2, 3, dtype=F64)
    torch.testing.assert_close(m.elbo_exact(x, mu, log_var, beta=0.0),
                               m.expected_log_likelihood(x, mu, log_var))
    assert (m.elbo_exact(x, mu + 1, log_var, beta=2.0) < m.elbo_exact(x, mu + 1, log_var, beta=1.0)).all()


# ---------------------------------------------------------------------------------------------
# IWAE
# ---------------------------------------------------------------------------------------------


def test_iwae_with_one_sample_is_the_sampled_kl_elbo(rng):
    m = _generic_model(rng)
    x, _ = m.sample(5, generator=_gen())
    mu, log_var = torch.zeros(5, 3, dtype=F64), torch.full((5, 3), -0.5, dtype=F64)
    eps = torch.from_numpy(rng.normal(size=(1, 5, 3)))
    torch.testing.assert_close(V.iwae_bound(x, mu, log_var, m.log_likelihood, 1, eps=eps),
                               V.elbo(x, mu, log_var, m.log_likelihood, analytic_kl=False, eps=eps))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 16))
def test_iwae_is_at_least_the_elbo_on_the_same_draws(seed, k):
    r = np.random.default_rng(seed)
    m = _generic_model(r)
    x, _ = m.sample(3, generator=_gen(seed))
    mu, log_var = torch.from_numpy(r.normal(size=(3, 3))), torch.from_numpy(r.normal(size=(3, 3)) - 1)
    eps = torch.from_numpy(r.normal(size=(k, 3, 3)))
    iw = V.iwae_bound(x, mu, log_var, m.log_likelihood, k, eps=eps)
    el = V.elbo(x, mu, log_var, m.log_likelihood, n_samples=k, analytic_kl=False, eps=eps)
    assert (iw >= el - 1e-10).all()  # log-mean-exp >= mean (Jensen), draw by draw


def test_iwae_rises_with_k_and_stays_below_log_p(rng):
    m = _generic_model(rng)
    x, _ = m.sample(2000, generator=_gen())
    mean, cov = m.posterior(x)
    log_var = -torch.log(torch.diagonal(torch.linalg.inv(cov))).expand_as(mean)  # mean-field q
    log_p = m.log_prob(x)
    # Nested draws (IWAE_k uses the first k of the same 64), so differences between k are paired and
    # every comparison is made beyond four standard errors of the per-point difference.
    eps = torch.randn(64, *mean.shape, generator=_gen(7), dtype=F64)
    bounds = {k: V.iwae_bound(x, mean, log_var, m.log_likelihood, k, eps=eps[:k]) for k in [1, 4, 16, 64]}
    d1, d1_se = D.mc_estimate(bounds[1] - m.elbo_exact(x, mean, log_var))
    assert abs(d1) < 4 * d1_se
    for b in bounds.values():
        gap, gap_se = D.mc_estimate(log_p - b)
        assert gap > 4 * gap_se
    for a, b in [(1, 4), (4, 16), (16, 64)]:
        rise, rise_se = D.mc_estimate(bounds[b] - bounds[a])
        assert rise > 4 * rise_se


def test_iwae_is_exact_at_the_true_posterior(rng):
    m = _orthogonal_model(rng)
    x, _ = m.sample(4, generator=_gen())
    mean, cov = m.posterior(x)
    log_var = torch.log(torch.diagonal(cov)).expand_as(mean)
    torch.testing.assert_close(V.iwae_bound(x, mean, log_var, m.log_likelihood, 8, generator=_gen()),
                               m.log_prob(x), rtol=0, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# Gradient estimators
# ---------------------------------------------------------------------------------------------


def test_both_gradient_estimators_are_unbiased_and_reparam_has_lower_variance(rng, one_thread):
    mu, log_var = torch.tensor([0.5, -1.0], dtype=F64), torch.tensor([0.2, -0.4], dtype=F64)
    f = lambda z: (z**2).sum(-1)  # E f = |mu|^2 + sum sigma^2
    exact_mu, exact_lv = 2 * mu, log_var.exp()
    eps = torch.from_numpy(rng.normal(size=(20_000, 2)))
    for estimator in (V.reparam_gradient, V.score_function_gradient):
        g_mu, g_lv = estimator(f, mu, log_var, eps)
        for g, exact in ((g_mu, exact_mu), (g_lv, exact_lv)):
            est, se = D.mc_estimate(g)
            assert (torch.abs(est - exact) < 4 * se).all(), estimator.__name__
    var_reparam = V.reparam_gradient(f, mu, log_var, eps)[0].var(0)
    var_score = V.score_function_gradient(f, mu, log_var, eps)[0].var(0)
    assert (var_score > 5 * var_reparam).all()


# ---------------------------------------------------------------------------------------------
# The VAE module and training
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("likelihood,obs_var", [("bernoulli", None), ("gaussian", None), ("gaussian", 0.1)])
def test_vae_shapes_and_bounds(likelihood, obs_var):
    torch.manual_seed(0)
    vae = V.VAE(6, 2, hidden=(8,), likelihood=likelihood, obs_var=obs_var)
    x = torch.rand(5, 6)
    mu, log_var = vae.encode(x)
    assert mu.shape == log_var.shape == (5, 2)
    assert vae.log_likelihood(x, torch.zeros(3, 5, 2)).shape == (3, 5)
    assert vae.sample(4, generator=_gen()).shape == (4, 6)
    assert vae.elbo(x, n_samples=2).shape == (5,)
    assert vae.iwae_bound(x, k=4).shape == (5,)
    if likelihood == "bernoulli":
        assert (vae.sample(10) >= 0).all() and (vae.sample(10) <= 1).all()


def test_train_vae_improves_the_elbo_and_is_reproducible(one_thread):
    x = torch.tensor([[1.0, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]]).repeat(32, 1)  # two prototypes
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        vae = V.VAE(6, 2, hidden=(16,))
        h = V.train_vae(vae, x, steps=100, batch_size=32, lr=1e-2, val_data=x[:16], eval_every=50,
                        progress=False, seed=3)
        runs.append(h)
    h = runs[0]
    assert set(h) == {"step", "loss", "rate", "val_step", "val_elbo"}
    assert len(h["loss"]) == 100 and h["val_step"] == [50, 100]
    assert np.mean(h["loss"][-20:]) < np.mean(h["loss"][:20]) - 0.5
    assert runs[0]["loss"] == runs[1]["loss"]


# ---------------------------------------------------------------------------------------------
# The linear beta-VAE in closed form, and the widget
# ---------------------------------------------------------------------------------------------


def _one_direction_objective(params, lam, beta, s2):
    """Negative beta-ELBO along one principal direction (decoder gain a, encoder gain c, log var)."""
    a, c, log_v = params
    v = math.exp(log_v)
    distortion = lam * (1 - a * c) ** 2 + a**2 * v
    kl = 0.5 * (c**2 * lam + v - log_v - 1)
    return distortion / (2 * s2) + beta * kl


@pytest.mark.parametrize("lam,beta", [(0.7, 2.0), (0.7, 6.0), (0.3, 8.0), (2.0, 0.5)])
def test_linear_vae_optimum_matches_numerical_optimisation(lam, beta):
    s2 = 0.05
    opts = {"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}
    best = min((scipy.optimize.minimize(_one_direction_objective, x0, args=(lam, beta, s2),
                                        method="Nelder-Mead", options=opts)
                for x0 in ([1.0, 1.0, -1.0], [0.01, 0.01, 0.0])), key=lambda r: r.fun)
    a, c, log_v = best.x
    rate_num = 0.5 * (c**2 * lam + math.exp(log_v) - log_v - 1)
    out = V.linear_vae_optimum(np.array([lam]), beta, s2)
    assert out["rate"] == pytest.approx(rate_num, abs=1e-4)
    assert out["distortion"] == pytest.approx(lam * (1 - a * c) ** 2 + a**2 * math.exp(log_v), abs=1e-4)
    assert bool(out["active"][0]) == (lam > beta * s2)


def test_linear_vae_optimum_collapse_threshold_and_latent_dim():
    lam = np.array([0.1, 4.0, 1.0, 0.25])
    out = V.linear_vae_optimum(lam, beta=2.0, obs_var=0.25, latent_dim=3)  # water level 0.5
    assert out["active"].tolist() == [True, True, False] and out["n_active"] == 2
    np.testing.assert_allclose(out["rate_per_unit"], [0.5 * np.log(8.0), 0.5 * np.log(2.0), 0.0])
    assert out["distortion"] == pytest.approx(0.5 + 0.5 + 0.25 + 0.1)
    assert out["beta_elbo"] == pytest.approx(out["expected_log_lik"] - 2.0 * out["rate"])
    more_beta = V.linear_vae_optimum(lam, beta=4.0, obs_var=0.25, latent_dim=3)
    assert more_beta["rate"] < out["rate"] and more_beta["distortion"] > out["distortion"]


def test_widget_specs_at_every_corner():
    specs = V.widget_specs()
    assert len(specs) == 1
    spec = specs[0]
    assert len(spec.grid()) <= 200
    for values in spec.corners() + [spec.defaults()]:
        numbers, fig = spec.callback(**values)
        assert not spec.clipped_labels(values), (spec.name, values, spec.clipped_labels(values))
        assert fig.axes and all(np.isfinite(v) for v in numbers.values())
        assert numbers["active units"] + numbers["collapsed units"] == values["latent_dim"]
    lo = spec.callback(beta=0.5, latent_dim=12)[0]
    hi = spec.callback(beta=8.0, latent_dim=12)[0]
    assert hi["collapsed units"] > lo["collapsed units"] and hi["rate (nats)"] < lo["rate (nats)"]
    # Latency is measured by `make bench` (benchmarks/run.py), not by a timed test.


def test_widget_static_twin_is_light_and_keeps_the_positions_the_chapter_uses():
    """Issue 17, item 14: vae.html weighed 3.2 MB, nearly all of it the widget's static twin (one
    picture per slider position, 16 x 12 of them, each with its own layout models)."""
    import json

    from ipywidgets.embed import dependency_state

    (spec,) = V.widget_specs()
    betas, dims = spec.values("beta"), spec.values("latent_dim")
    # the chapter shows beta = 1 and 6 with twelve units, and with just the active ones at beta = 6
    assert {1.0, 6.0} <= set(betas) and dims == list(range(1, 13)) and spec.defaults()["beta"] == 1.0
    assert spec.callback(beta=6.0, latent_dim=12)[0]["active units"] in dims
    collapsed = [spec.callback(beta=b, latent_dim=12)[0]["collapsed units"] for b in betas]
    assert collapsed[0] == 0 and len(set(collapsed)) >= 4  # the grid still walks through the collapse
    page = len(json.dumps(dependency_state(spec.static_twin(), drop_defaults=False)))  # as the page stores it
    assert page < 1.1e6, f"the static twin adds {page / 1e6:.2f} MB to the page"


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def test_data_helpers():
    x_train, x_test, y_train, y_test = V.load_digits01(test_fraction=0.25, seed=1)
    assert x_train.shape[1] == 64 and len(x_train) + len(x_test) == 1797 and len(y_test) == len(x_test)
    assert x_train.min() >= 0 and x_train.max() <= 1 and x_train.dtype == torch.float32
    moons = V.make_moons_2d(500, seed=2)
    assert moons.shape == (500, 2)
    torch.testing.assert_close(moons.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="test_fraction: expected < 1"):
        V.load_digits01(test_fraction=1.0)
    with pytest.raises(ValueError, match="n: expected an integer >= 2"):
        V.make_moons_2d(1)
    with pytest.raises(ValueError, match="noise: expected a finite number"):
        V.make_moons_2d(10, noise=float("nan"))


def test_elbo_analytic_and_sampled_kl_are_exact_for_a_linear_log_likelihood(rng):
    # log p(x|z) = a . z has E_q = a . mu, and antithetic draws (eps, -eps) average it exactly.
    a = torch.from_numpy(rng.normal(size=3))
    ll = lambda x, z: z @ a
    x = torch.zeros(2, 4, dtype=F64)
    mu, log_var = torch.from_numpy(rng.normal(size=(2, 3))), torch.from_numpy(rng.normal(size=(2, 3)))
    half = torch.from_numpy(rng.normal(size=(1, 2, 3)))
    eps = torch.cat([half, -half])
    out = V.elbo(x, mu, log_var, ll, n_samples=2, beta=0.7, eps=eps)
    torch.testing.assert_close(out, mu @ a - 0.7 * V.kl_normal_std(mu, log_var), rtol=1e-12, atol=1e-12)


def test_beta_vae_view_curve_is_the_closed_form():
    lam = np.array([0.9, 0.5, 0.3, 0.2, 0.05])
    numbers, fig = V.beta_vae_view(2.0, 3, eigenvalues=lam, obs_var=0.1)
    rate, dist = fig.axes[1].get_lines()[0].get_data()
    lo, hi = V.BETA_SLIDERS["beta"][0] / 2, V.BETA_SLIDERS["beta"][1] * 2
    for b, r, d in zip(np.geomspace(lo, hi, len(rate)), rate, dist, strict=True):
        ref = V.linear_vae_optimum(lam, b, 0.1, latent_dim=3)
        assert r == pytest.approx(ref["rate"], abs=1e-12) and d == pytest.approx(ref["distortion"], abs=1e-12)
    out = V.linear_vae_optimum(lam, 2.0, 0.1, latent_dim=3)
    assert numbers["rate (nats)"] == round(out["rate"], 4) and numbers["active units"] == 3
