"""Chapter ch-vae, companion.vae_theory: the two gaps, the aggregate posterior, warm-up, free bits."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import distributions as D
from companion import vae as V
from companion import vae_theory as VT
from companion.vae_theory import _moment_matched_normal

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _generic_model(seed=0, D_=4, d=3, sigma=0.5):
    rng = np.random.default_rng(seed)
    return V.LinearGaussianModel(rng.normal(size=(D_, d)), rng.normal(size=D_), sigma)


def _tiny_vae(seed=0, likelihood="gaussian"):
    torch.manual_seed(seed)
    obs_var = 0.1 if likelihood == "gaussian" else None
    return V.VAE(3, 2, hidden=(8,), likelihood=likelihood, obs_var=obs_var).double()


# ---------------------------------------------------------------------------------------------
# The per-point optimum and the mean-field solution
# ---------------------------------------------------------------------------------------------


def test_moment_matched_noise_has_exact_first_and_second_moments():
    eps = _moment_matched_normal(7, 5, 3, _gen(1), F64)
    assert eps.shape == (7, 5, 3)
    torch.testing.assert_close(eps.mean(0), torch.zeros(5, 3, dtype=F64), rtol=0, atol=1e-14)
    cov = torch.einsum("sbi,sbj->bij", eps, eps) / 7
    torch.testing.assert_close(cov, torch.eye(3, dtype=F64).expand(5, 3, 3), rtol=0, atol=1e-13)
    assert _moment_matched_normal(4, 2, 1, _gen(1), torch.float32).dtype == torch.float32


def test_mean_field_optimum_gap_is_the_exact_gap_and_the_kl_to_the_posterior():
    model = _generic_model()
    x, _ = model.sample(6, generator=_gen(2))
    mu, log_var, gap = VT.mean_field_optimum(model, x)
    exact_gap = model.log_prob(x) - model.elbo_exact(x, mu, log_var)
    torch.testing.assert_close(exact_gap, gap.expand(6), rtol=0, atol=1e-10)
    post_mean, post_cov = model.posterior(x)
    q = torch.distributions.MultivariateNormal(mu, covariance_matrix=torch.diag_embed(log_var.exp()))
    kl = torch.distributions.kl_divergence(q, torch.distributions.MultivariateNormal(post_mean, post_cov))
    torch.testing.assert_close(kl, gap.expand(6), rtol=0, atol=1e-10)
    assert gap > 0.01  # generic W: the posterior is correlated
    # optimal among diagonal Gaussians: moving any variance or mean lowers the exact ELBO
    best = model.elbo_exact(x, mu, log_var)
    for j in range(3):
        for step in (-0.05, 0.05):
            for which in ("mu", "log_var"):
                m, lv = mu.clone(), log_var.clone()
                (m if which == "mu" else lv)[:, j] += step
                assert (model.elbo_exact(x, m, lv) < best).all()


def test_mean_field_gap_is_zero_for_orthogonal_columns():
    Q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(5, 2)))
    model = V.LinearGaussianModel(Q * np.array([2.0, 0.8]), np.zeros(5), 0.7)
    _, _, gap = VT.mean_field_optimum(model, np.zeros((1, 5)))
    assert abs(float(gap)) < 1e-12


def test_fit_local_q_reaches_the_mean_field_optimum_with_moment_matched_noise():
    model = _generic_model()
    x, _ = model.sample(40, generator=_gen(4))
    mf_mu, mf_log_var, gap = VT.mean_field_optimum(model, x)
    start = torch.zeros_like(mf_mu)
    mu, log_var = VT.fit_local_q(x, model.log_likelihood, start, start, n_samples=5, steps=100,
                                 generator=_gen(5))
    torch.testing.assert_close(mu, mf_mu, rtol=0, atol=1e-6)
    torch.testing.assert_close(log_var, mf_log_var, rtol=0, atol=1e-6)
    local_gap = model.log_prob(x) - model.elbo_exact(x, mu, log_var)
    torch.testing.assert_close(local_gap, gap.expand(40), rtol=0, atol=1e-10)


def test_fit_local_q_with_plain_noise_only_approximates_the_optimum():
    """Moment matching is what makes the fixed-noise objective exact: i.i.d. noise lands nearby only."""
    model = _generic_model()
    x, _ = model.sample(40, generator=_gen(4))
    mf_mu, mf_log_var, _ = VT.mean_field_optimum(model, x)
    start = torch.zeros_like(mf_mu)
    eps = torch.randn(5, 40, 3, generator=_gen(6), dtype=F64)
    mu, log_var = VT.fit_local_q(x, model.log_likelihood, start, start, n_samples=5, steps=100, eps=eps)
    err = float((log_var - mf_log_var).abs().max())
    assert 1e-3 < err < 5.0


def test_fit_local_q_raises_the_elbo_of_a_vae_encoder_and_leaves_the_model_alone():
    model = _tiny_vae(likelihood="bernoulli")
    x = torch.rand(20, 3, generator=_gen(7), dtype=F64)
    with torch.no_grad():
        mu, log_var = model.encode(x)
    best_mu, best_log_var = VT.fit_local_q(x, model.log_likelihood, mu, log_var, steps=40, generator=_gen(8))
    assert all(p.grad is None for p in model.parameters())
    assert not best_mu.requires_grad and best_mu.dtype == F64
    eps = torch.randn(2000, 20, 2, generator=_gen(9), dtype=F64)
    with torch.no_grad():
        enc = V.elbo(x, mu, log_var, model.log_likelihood, n_samples=2000, eps=eps)
        best = V.elbo(x, best_mu, best_log_var, model.log_likelihood, n_samples=2000, eps=eps)
    gain, se = D.mc_estimate(best - enc)
    assert gain > 4 * se


def test_fit_local_q_keeps_float32():
    model = _tiny_vae().float()
    x = torch.randn(5, 3, generator=_gen(10))
    with torch.no_grad():
        mu, log_var = model.encode(x)
    best_mu, best_log_var = VT.fit_local_q(x, model.log_likelihood, mu, log_var, steps=5, generator=_gen(11))
    assert best_mu.dtype == best_log_var.dtype == torch.float32


def test_inference_gaps_are_paired_means_with_standard_errors():
    rng = np.random.default_rng(12)
    lp = rng.normal(size=50)
    best = lp - rng.exponential(size=50)
    enc = best - rng.exponential(size=50)
    gaps = VT.inference_gaps(lp, best, enc)
    for key, values in (("total", lp - enc), ("approximation", lp - best), ("amortisation", best - enc)):
        est, se = D.mc_estimate(values)
        assert gaps[key] == pytest.approx((float(est), float(se)), abs=1e-12)
    assert gaps["total"][0] == pytest.approx(gaps["approximation"][0] + gaps["amortisation"][0], abs=1e-12)
    as_torch = VT.inference_gaps(torch.from_numpy(lp).float(), torch.from_numpy(best), torch.from_numpy(enc))
    assert as_torch["approximation"][0] == pytest.approx(gaps["approximation"][0], abs=1e-6)


# ---------------------------------------------------------------------------------------------
# The aggregate posterior and ELBO surgery
# ---------------------------------------------------------------------------------------------


def _encodings(n=200, d=2, seed=13, scale=1.0):
    rng = np.random.default_rng(seed)
    mu = torch.from_numpy(rng.normal(size=(n, d)) * scale)
    log_var = torch.from_numpy(rng.uniform(-4.0, 0.5, size=(n, d)))
    return mu, log_var


def _mixture(mu, log_var):
    return torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=torch.zeros(len(mu), dtype=mu.dtype)),
        torch.distributions.Independent(torch.distributions.Normal(mu, (0.5 * log_var).exp()), 1))


def test_aggregate_posterior_matches_mixture_same_family():
    mu, log_var = _encodings()
    z = 2.0 * torch.randn(3, 50, 2, generator=_gen(14), dtype=F64)  # any leading shape
    out = VT.aggregate_posterior_log_prob(z, mu, log_var)
    assert out.shape == (3, 50)
    torch.testing.assert_close(out, _mixture(mu, log_var).log_prob(z), rtol=0, atol=1e-10)
    out32 = VT.aggregate_posterior_log_prob(z.float(), mu.float(), log_var.float())
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), out, rtol=0, atol=1e-4)


def test_aggregate_posterior_with_narrow_components_and_one_component():
    mu, _ = _encodings(n=30, d=3)
    log_var = torch.full_like(mu, -12.0)  # standard deviations of 0.0025
    z = mu[:10] + 1e-3 * torch.randn(10, 3, generator=_gen(15), dtype=F64)
    torch.testing.assert_close(VT.aggregate_posterior_log_prob(z, mu, log_var),
                               _mixture(mu, log_var).log_prob(z), rtol=0, atol=1e-8)
    wide = log_var[:1] + 11.0
    single = VT.aggregate_posterior_log_prob(z, mu[:1], wide)
    torch.testing.assert_close(single, V.diag_normal_log_prob(z, mu[:1], wide), rtol=0, atol=1e-12)


def test_aggregate_posterior_does_not_depend_on_the_chunk_size(monkeypatch):
    mu, log_var = _encodings(n=64)
    z = torch.randn(100, 2, generator=_gen(16), dtype=F64)
    whole = VT.aggregate_posterior_log_prob(z, mu, log_var)
    monkeypatch.setattr(VT, "_PAIRS_PER_CHUNK", 64 * 7)
    torch.testing.assert_close(VT.aggregate_posterior_log_prob(z, mu, log_var), whole, rtol=0, atol=1e-13)


def test_elbo_surgery_identity_holds_within_monte_carlo_error():
    mu, log_var = _encodings(n=300, d=2)
    out = VT.elbo_surgery(mu, log_var, n_samples=8, generator=_gen(17))
    assert out["rate"] == pytest.approx(float(V.kl_normal_std(mu, log_var).mean()), abs=1e-12)
    right = out["mutual_information"] + out["marginal_kl"]
    se = math.hypot(out["mutual_information_se"], out["marginal_kl_se"])
    assert abs(out["rate"] - right) < 4 * se
    assert 0 < out["mutual_information"] < out["log_n"] == pytest.approx(math.log(300))
    assert out["marginal_kl"] > 0


def test_elbo_surgery_at_its_two_extremes():
    # identical components: the code carries no information, q(z) is that Gaussian
    mu = torch.full((50, 2), 0.7, dtype=F64)
    log_var = torch.full((50, 2), -0.3, dtype=F64)
    out = VT.elbo_surgery(mu, log_var, n_samples=4, generator=_gen(18))
    assert abs(out["mutual_information"]) < 1e-12 and out["mutual_information_se"] < 1e-12
    assert abs(out["marginal_kl"] - out["rate"]) < 4 * out["marginal_kl_se"]
    # far-apart narrow components: the code identifies the point, I = log N
    far = torch.arange(50, dtype=F64)[:, None] * torch.tensor([10.0, 0.0], dtype=F64)
    out = VT.elbo_surgery(far, torch.full((50, 2), -6.0, dtype=F64), n_samples=4, generator=_gen(19))
    assert out["mutual_information"] == pytest.approx(math.log(50), abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Rates, warm-up and free bits
# ---------------------------------------------------------------------------------------------


def test_rate_per_unit_is_the_batch_mean_of_each_units_kl():
    mu, log_var = _encodings(n=40, d=3)
    kl = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * log_var).exp()),
                                           torch.distributions.Normal(torch.zeros((), dtype=F64),
                                                                      torch.ones((), dtype=F64)))
    torch.testing.assert_close(VT.rate_per_unit(mu, log_var), kl.mean(0), rtol=0, atol=1e-12)
    out_np = VT.rate_per_unit(mu.numpy(), log_var.numpy())
    assert isinstance(out_np, np.ndarray)
    np.testing.assert_allclose(out_np, kl.mean(0).numpy(), rtol=0, atol=1e-12)
    plain = float(V.kl_normal_std(mu, log_var).mean())
    assert float(VT.rate_per_unit(mu, log_var).sum()) == pytest.approx(plain, abs=1e-12)


def test_kl_warmup_is_linear_then_one():
    T = 8
    weights = [VT.kl_warmup(t, T) for t in range(0, 20)]
    assert weights[:9] == [t / T for t in range(9)] and all(w == 1.0 for w in weights[8:])
    assert VT.kl_warmup(0, 0) == VT.kl_warmup(100, 0) == 1.0


def test_free_bits_kl_against_a_direct_computation_and_its_bounds():
    mu, log_var = _encodings(n=30, d=4, scale=0.4)
    rates = VT.rate_per_unit(mu, log_var).numpy()
    for lam in (0.0, 0.1, 0.5, 3.0):
        direct = sum(max(lam, r) for r in rates)
        assert float(VT.free_bits_kl(mu, log_var, lam)) == pytest.approx(direct, abs=1e-12)
        assert VT.free_bits_kl(mu.numpy(), log_var.numpy(), lam) == pytest.approx(direct, abs=1e-12)
        plain = float(V.kl_normal_std(mu, log_var).mean())
        assert plain - 1e-12 <= direct <= plain + 4 * lam + 1e-12
    assert float(VT.free_bits_kl(mu, log_var, 0.0)) == pytest.approx(plain, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=6, max_size=6), st.floats(0.0, 2.0))
def test_free_bits_kl_never_below_the_plain_kl(values, lam):
    mu = np.array(values).reshape(3, 2)
    log_var = np.flip(mu, 0).copy() * 0.5
    plain = float(V.kl_normal_std(mu, log_var).mean())
    fb = VT.free_bits_kl(mu, log_var, lam)
    assert plain - 1e-12 <= fb <= plain + 2 * lam + 1e-12


def test_free_bits_gradient_is_zero_below_the_threshold_and_the_kl_gradient_above():
    rng = np.random.default_rng(20)
    B = 32
    mu = torch.tensor(rng.normal(size=(B, 3)) * [1.5, 0.2, 0.05], requires_grad=True)
    log_var = torch.tensor(rng.normal(size=(B, 3)) * 0.05 + [-1.0, -0.1, 0.0], requires_grad=True)
    rates = VT.rate_per_unit(mu, log_var).detach()
    below = rates < 0.5
    assert below.tolist() == [False, True, True]
    g_mu, g_lv = torch.autograd.grad(VT.free_bits_kl(mu, log_var, 0.5), [mu, log_var])
    assert (g_mu[:, below] == 0).all() and (g_lv[:, below] == 0).all()
    p_mu, p_lv = torch.autograd.grad(V.kl_normal_std(mu, log_var).mean(), [mu, log_var])
    torch.testing.assert_close(g_mu[:, ~below], p_mu[:, ~below], rtol=0, atol=1e-15)
    torch.testing.assert_close(g_lv[:, ~below], p_lv[:, ~below], rtol=0, atol=1e-15)
    torch.testing.assert_close(g_mu[:, ~below], mu[:, ~below].detach() / B, rtol=0, atol=1e-15)


def test_train_vae_remedied_without_remedies_is_train_vae():
    data = V.make_moons_2d(64, seed=0).double()
    models = []
    for trainer in (V.train_vae, VT.train_vae_remedied):
        torch.manual_seed(0)
        model = V.VAE(2, 2, hidden=(8,), likelihood="gaussian", obs_var=None).double()
        kwargs = {"progress": False} if trainer is V.train_vae else {}
        trainer(model, data, steps=25, batch_size=16, lr=1e-2, seed=3, **kwargs)
        models.append(model)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_train_vae_remedied_records_the_schedule_and_the_rates():
    data = V.make_moons_2d(64, seed=0)
    torch.manual_seed(0)
    model = V.VAE(2, 3, hidden=(8,), likelihood="gaussian", obs_var=0.1)
    history = VT.train_vae_remedied(model, data, steps=12, batch_size=16, warmup_steps=8, free_bits=0.2)
    assert history["step"] == list(range(1, 13))
    assert history["kl_weight"] == [min(1.0, t / 8) for t in range(1, 13)]
    assert np.array(history["rate_per_unit"]).shape == (12, 3)
    assert all(np.isfinite(history["loss"]))


def test_free_bits_hold_a_unit_the_plain_elbo_lets_collapse():
    """A short run where the plain ELBO switches a unit off and free bits keep it above lambda."""
    data = V.make_moons_2d(512, seed=0)
    rates = {}
    for name, setting in (("plain", {}), ("free bits", {"free_bits": 0.5})):
        torch.manual_seed(1)
        model = V.VAE(2, 2, hidden=(32, 32), likelihood="gaussian", obs_var=None)
        history = VT.train_vae_remedied(model, data, steps=300, batch_size=256, lr=3e-3, seed=1, **setting)
        rates[name] = np.array(history["rate_per_unit"])[-50:].mean(0).min()
    assert rates["plain"] < 0.05 and rates["free bits"] > 0.3
