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


def test_mc_estimate_rejects_a_single_draw():
    with pytest.raises(ValueError, match="values: expected at least 2 draws"):
        D.mc_estimate(np.array([1.0]))


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


@pytest.mark.parametrize("arg", ["var_q", "var_p"])
def test_kl_normal_rejects_non_positive_variance(arg):
    kwargs = dict(mu_q=0.0, var_q=1.0, mu_p=0.0, var_p=1.0)
    kwargs[arg] = -1.0
    with pytest.raises(ValueError, match=f"{arg}: expected values > 0"):
        D.kl_normal(**kwargs)


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


def test_change_of_variables_rejects_non_callables():
    with pytest.raises(TypeError, match="inverse: expected a callable"):
        D.log_prob_change_of_variables_1d(np.ones(2), None, np.log, np.log)
