"""Chapter 0 invariants: Monte Carlo, KL, Jensen, change of variables (float64, fixed seeds)."""

import numpy as np
import pytest
import scipy.stats
import torch

from companion import distributions as D


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_mc_estimate_matches_numpy_and_covers_the_truth(rng):
    x = rng.exponential(2.0, size=50_000)  # E[X] = 2
    est, se = D.mc_estimate(x)
    assert est == pytest.approx(x.mean(), rel=1e-15)
    assert se == pytest.approx(x.std(ddof=1) / np.sqrt(x.size), rel=1e-12)
    assert abs(est - 2.0) < 4 * se


def test_mc_estimate_torch_matches_numpy(rng):
    x = rng.normal(size=(100, 3))
    est_np, se_np = D.mc_estimate(x)
    est_t, se_t = D.mc_estimate(torch.from_numpy(x))
    assert isinstance(est_t, torch.Tensor)
    np.testing.assert_allclose(est_t.numpy(), est_np, rtol=1e-13)
    np.testing.assert_allclose(se_t.numpy(), se_np, rtol=1e-13)


def test_normal_log_prob_matches_scipy(rng):
    x, mu, var = rng.normal(size=20), rng.normal(size=20), rng.uniform(0.1, 3.0, size=20)
    np.testing.assert_allclose(
        D.normal_log_prob(x, mu, var), scipy.stats.norm(mu, np.sqrt(var)).logpdf(x), rtol=1e-12
    )


def test_kl_normal_matches_torch_distributions(rng):
    mu_q, mu_p = rng.normal(size=50), rng.normal(size=50)
    var_q, var_p = rng.uniform(0.05, 4.0, size=50), rng.uniform(0.05, 4.0, size=50)
    ours = D.kl_normal(mu_q, var_q, mu_p, var_p)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(torch.from_numpy(mu_q), torch.from_numpy(var_q).sqrt()),
        torch.distributions.Normal(torch.from_numpy(mu_p), torch.from_numpy(var_p).sqrt()),
    ).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_kl_normal_is_zero_only_at_equality_and_asymmetric():
    assert D.kl_normal(0.3, 2.0, 0.3, 2.0) == pytest.approx(0.0, abs=1e-15)
    assert D.kl_normal(0.3, 2.0, 0.3, 2.1) > 0
    assert D.kl_normal(0.0, 0.1, 0.0, 1.0) != pytest.approx(D.kl_normal(0.0, 1.0, 0.0, 0.1))


def test_kl_normal_agrees_with_monte_carlo(rng):
    x = rng.normal(0.5, 0.7, size=200_000)
    est, se = D.kl_monte_carlo(D.normal_log_prob(x, 0.5, 0.49), D.normal_log_prob(x, -1.0, 2.0))
    assert abs(est - D.kl_normal(0.5, 0.49, -1.0, 2.0)) < 4 * se


def test_kl_normal_returns_tensors_for_tensors():
    out = D.kl_normal(torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([1.0]))
    assert isinstance(out, torch.Tensor) and float(out) == pytest.approx(0.5)


def test_kl_monte_carlo_shape_mismatch():
    with pytest.raises(ValueError, match="log_q and log_p: expected the same shape"):
        D.kl_monte_carlo(np.zeros(3), np.zeros(4))


def test_log_mean_exp_is_stable_and_exact():
    assert D.log_mean_exp(np.array([1000.0, 1000.0])) == pytest.approx(1000.0)
    assert D.log_mean_exp(np.array([-1000.0, -1000.0 + np.log(3.0)])) == pytest.approx(-1000.0 + np.log(2.0))
    x = np.random.default_rng(0).normal(size=(4, 7))
    np.testing.assert_allclose(D.log_mean_exp(x, axis=1), np.log(np.exp(x).mean(axis=1)), rtol=1e-13)
    np.testing.assert_allclose(D.log_mean_exp(torch.from_numpy(x), axis=0).numpy(),
                               np.log(np.exp(x).mean(axis=0)), rtol=1e-13)


def test_jensen_gap_of_lognormal_is_half_the_variance(rng):
    # Tolerance: four standard errors of the estimate log(mean W) - mean(log W), by the delta
    # method (influence of draw i: (W_i - mean W) / mean W - (log W_i - mean log W)). It is tight
    # enough to tell s^2/2 from 0 and from s^2, which the last assert checks.
    for s in (0.1, 0.8):
        log_w = rng.normal(1.0, s, size=1_000_000)
        gap = float(D.jensen_gap_log(log_w))
        w = np.exp(log_w - log_w.max())
        se = np.std(w / w.mean() - (log_w - log_w.mean()), ddof=1) / np.sqrt(log_w.size)
        assert abs(gap - s**2 / 2) < 4 * se
        assert abs(gap) > 4 * se and abs(gap - s**2) > 4 * se
    assert D.jensen_gap_log(np.full(5, 3.0)) == pytest.approx(0.0, abs=1e-14)


def test_change_of_variables_lognormal_matches_scipy():
    y = np.linspace(0.01, 20, 1000)
    lp = D.log_prob_change_of_variables_1d(y, np.log, lambda y: -np.log(y),
                                           lambda x: D.normal_log_prob(x, 0.0, 1.0))
    np.testing.assert_allclose(lp, scipy.stats.lognorm(s=1.0).logpdf(y), rtol=1e-12)


def test_change_of_variables_affine_map_integrates_to_one():
    # Y = 3 X - 1 with X ~ N(0, 1): inverse (y + 1) / 3, |d inverse / dy| = 1/3.
    y = np.linspace(-40, 40, 400_001)
    lp = D.log_prob_change_of_variables_1d(y, lambda y: (y + 1) / 3, lambda y: np.full_like(y, -np.log(3.0)),
                                           lambda x: D.normal_log_prob(x, 0.0, 1.0))
    assert np.trapezoid(np.exp(lp), y) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(lp, D.normal_log_prob(y, -1.0, 9.0), rtol=1e-12)


# ------------------------------------------------------------------- entropy and cross-entropy
def test_entropy_normal_matches_scipy(rng):
    var = rng.uniform(0.01, 10.0, size=30)
    ref = scipy.stats.norm(0.0, np.sqrt(var)).entropy()
    np.testing.assert_allclose(D.entropy_normal(var), ref, rtol=1e-13)


def test_cross_entropy_is_entropy_plus_kl_and_matches_monte_carlo(rng):
    mu_p, mu_q = rng.normal(size=20), rng.normal(size=20)
    var_p, var_q = rng.uniform(0.1, 3, 20), rng.uniform(0.1, 3, 20)
    np.testing.assert_allclose(D.cross_entropy_normal(mu_p, var_p, mu_q, var_q),
                               D.entropy_normal(var_p) + D.kl_normal(mu_p, var_p, mu_q, var_q), rtol=1e-12)
    x = rng.normal(0.3, 1.2, size=200_000)
    est, se = D.mc_estimate(-D.normal_log_prob(x, -0.5, 0.8))
    assert abs(est - D.cross_entropy_normal(0.3, 1.44, -0.5, 0.8)) < 4 * se
    assert D.cross_entropy_normal(0.3, 1.44, -0.5, 0.8) > D.entropy_normal(1.44)


def test_entropy_returns_tensors_for_tensors():
    out = D.entropy_normal(torch.tensor([1.0], dtype=torch.float64))
    assert isinstance(out, torch.Tensor) and float(out) == pytest.approx(0.5 * np.log(2 * np.pi * np.e))


# ------------------------------------------------------------------- multivariate Gaussian KL
def _random_spd(rng, *shape):
    a = rng.normal(size=(*shape, shape[-1]))
    return a @ np.swapaxes(a, -1, -2) + 0.3 * np.eye(shape[-1])


def test_kl_mvn_matches_torch_distributions_batched(rng):
    mu_q, mu_p = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    cov_q, cov_p = _random_spd(rng, 5, 4), _random_spd(rng, 5, 4)
    mvn = torch.distributions.MultivariateNormal
    ref = torch.distributions.kl_divergence(mvn(torch.from_numpy(mu_q), torch.from_numpy(cov_q)),
                                            mvn(torch.from_numpy(mu_p), torch.from_numpy(cov_p))).numpy()
    np.testing.assert_allclose(D.kl_mvn(mu_q, cov_q, mu_p, cov_p), ref, rtol=1e-10)
    out = D.kl_mvn(*(torch.from_numpy(a) for a in (mu_q, cov_q, mu_p, cov_p)))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10)


def test_kl_mvn_reduces_to_the_diagonal_formula(rng):
    from companion.vae import kl_normal_std

    mu_q, mu_p = rng.normal(size=3), rng.normal(size=3)
    var_q, var_p = rng.uniform(0.1, 3, 3), rng.uniform(0.1, 3, 3)
    assert D.kl_mvn(mu_q, np.diag(var_q), mu_p, np.diag(var_p)) == pytest.approx(
        D.kl_normal(mu_q, var_q, mu_p, var_p).sum(), rel=1e-12)
    log_var = np.log(var_q)
    assert D.kl_mvn(mu_q, np.diag(var_q), np.zeros(3), np.eye(3)) == pytest.approx(
        float(kl_normal_std(mu_q, log_var)), rel=1e-12)
    assert D.kl_mvn(mu_q, np.diag(var_q), mu_q, np.diag(var_q)) == pytest.approx(0.0, abs=1e-14)


# ------------------------------------------------------------------- importance sampling
def _is_draws(rng, n, reps):
    x = rng.normal(0.0, 2.0, size=(n, reps))  # q = N(0, 4), target p = N(1, 1), f(x) = x
    return x, D.normal_log_prob(x, 1.0, 1.0) - D.normal_log_prob(x, 0.0, 4.0)


def test_importance_sampling_is_unbiased_and_snis_is_biased_by_c_over_n(rng):
    # first-order bias of SNIS, c / n with c = -E_q[w^2 (f - mu)] = -int p^2/q (x - 1) dx (quadrature)
    grid = np.linspace(-30, 30, 60_001)
    p_w = scipy.stats.norm(1, 1).pdf(grid) ** 2 / scipy.stats.norm(0, 2).pdf(grid)  # p w = p^2 / q
    c = -np.trapezoid(p_w * (grid - 1), grid)
    x, log_w = _is_draws(rng, 32, 100_000)
    is_bias, is_se = D.mc_estimate(D.importance_sampling_estimate(x, log_w)[0] - 1.0)
    sn_bias, sn_se = D.mc_estimate(D.self_normalised_estimate(x, log_w)[0] - 1.0)
    assert abs(is_bias) < 4 * is_se
    assert sn_bias < -4 * sn_se
    # at n = 32 the O(1/n^2) term is a few percent of c / n: 4 standard errors plus 20% of c / n
    assert abs(32 * sn_bias - c) < 4 * 32 * sn_se + 0.2 * abs(c)


def test_snis_ignores_the_normalising_constant_and_reports_the_delta_method_se(rng):
    x, log_w = _is_draws(rng, 64, 50_000)
    est, se = D.self_normalised_estimate(x, log_w)
    est2, se2 = D.self_normalised_estimate(x, log_w + 123.4)
    np.testing.assert_allclose(est2, est, rtol=1e-12)
    np.testing.assert_allclose(se2, se, rtol=1e-12)
    # the reported se^2 averages to the variance over repetitions (first order in 1/n: 10%)
    assert np.mean(se**2) == pytest.approx(est.var(), rel=0.1)
    t_est, t_se = D.self_normalised_estimate(torch.from_numpy(x), torch.from_numpy(log_w))
    np.testing.assert_allclose(t_est.numpy(), est, rtol=1e-12)
    np.testing.assert_allclose(t_se.numpy(), se, rtol=1e-12)


def test_importance_sampling_estimate_is_the_mean_of_weighted_values(rng):
    f, log_w = rng.normal(size=10), rng.normal(size=10)
    est, se = D.importance_sampling_estimate(f, log_w)
    assert est == pytest.approx(np.mean(np.exp(log_w) * f), rel=1e-13)
    assert se == pytest.approx(np.std(np.exp(log_w) * f, ddof=1) / np.sqrt(10), rel=1e-12)


def test_effective_sample_size_limits_and_kish_formula(rng):
    assert D.effective_sample_size(np.zeros(7)) == pytest.approx(7.0)
    assert D.effective_sample_size(np.array([0.0, -1000.0, -1000.0])) == pytest.approx(1.0)
    log_w = rng.normal(size=(50, 3))
    w = np.exp(log_w)
    np.testing.assert_allclose(D.effective_sample_size(log_w), w.sum(0) ** 2 / (w**2).sum(0), rtol=1e-12)
    np.testing.assert_allclose(D.effective_sample_size(torch.from_numpy(log_w)).numpy(),
                               w.sum(0) ** 2 / (w**2).sum(0), rtol=1e-12)


# ------------------------------------------------------------------- f-divergences
GRID = np.linspace(-25.0, 25.0, 10_001)


def test_f_divergence_matches_closed_forms():
    p, q = scipy.stats.norm(0.5, 0.8), scipy.stats.norm(-0.3, 1.3)
    F = D.F_GENERATORS
    assert D.f_divergence(p.pdf, q.pdf, F["kl"].f, GRID) == pytest.approx(
        float(D.kl_normal(0.5, 0.64, -0.3, 1.69)), abs=1e-8)
    assert D.f_divergence(p.pdf, q.pdf, F["reverse_kl"].f, GRID) == pytest.approx(
        float(D.kl_normal(-0.3, 1.69, 0.5, 0.64)), abs=1e-8)
    # TV of equal-variance Gaussians: 2 Phi(|m1 - m2| / (2 sigma)) - 1
    tv = D.f_divergence(scipy.stats.norm(0.0, 1.5).pdf, scipy.stats.norm(1.0, 1.5).pdf, F["tv"].f, GRID)
    assert tv == pytest.approx(2 * scipy.stats.norm.cdf(1.0 / 3.0) - 1, abs=1e-6)
    # JS: bounded by log 2, reached for (numerically) disjoint densities
    far = D.f_divergence(scipy.stats.norm(-7, 1).pdf, scipy.stats.norm(7, 1).pdf, F["js"].f, GRID)
    assert far == pytest.approx(np.log(2.0), abs=1e-8)


def test_fenchel_bound_is_attained_at_f_prime_and_lower_elsewhere():
    p, q = scipy.stats.norm(0.5, 0.8), scipy.stats.norm(-0.3, 1.3)
    for name, g in D.F_GENERATORS.items():
        d_f = D.f_divergence(p.pdf, q.pdf, g.f, GRID)
        t_star = lambda x, g=g: g.f_prime(p.pdf(x) / q.pdf(x))  # noqa: E731
        at_t_star = D.f_divergence_lower_bound(p.pdf, q.pdf, t_star, g.f_conj, GRID)
        assert at_t_star == pytest.approx(d_f, abs=1e-4), name  # 1e-4: T* of TV jumps where p = q
        for lam in (0.05, 0.5):  # shrink T* towards 0, inside every f*'s domain interval (0 is in each
            # closure; the reverse-KL domain is u < 0, kept by scaling a negative T*)
            bound = D.f_divergence_lower_bound(p.pdf, q.pdf, lambda x, lam=lam, t=t_star: (1 - lam) * t(x),
                                               g.f_conj, GRID)
            assert bound < d_f - 1e-6, name


# ------------------------------------------------------------------- score-function identity
def test_normal_param_score_matches_autograd_and_has_mean_zero(rng):
    x = rng.normal(0.4, 1.1, size=200_000)
    d_mu, d_var = D.normal_param_score(x, 0.4, 1.21)
    theta = torch.tensor([0.4, 1.21], dtype=torch.float64, requires_grad=True)
    lp = D.normal_log_prob(torch.from_numpy(x[:20]), theta[0], theta[1]).sum()
    # autograd of a sum gives the summed gradient; compare per point through a Jacobian instead
    jac = torch.autograd.functional.jacobian(
        lambda th: D.normal_log_prob(torch.from_numpy(x[:20]), th[0], th[1]), theta.detach())
    np.testing.assert_allclose(jac[:, 0].numpy(), d_mu[:20], rtol=1e-12)
    np.testing.assert_allclose(jac[:, 1].numpy(), d_var[:20], rtol=1e-12, atol=1e-15)
    assert torch.autograd.grad(lp, theta)[0][0].item() == pytest.approx(d_mu[:20].sum(), rel=1e-12)
    for v in (d_mu, d_var):
        est, se = D.mc_estimate(v)
        assert abs(est) < 4 * se
    est, se = D.mc_estimate(D.normal_param_score(x + 0.1, 0.4, 1.21)[0])  # draws of a shifted q
    assert abs(est - 0.1 / 1.21) < 4 * se and abs(est) > 4 * se
