"""Tests for companion.capstone: the probability-flow likelihood and the benchmark table."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import capstone as C
from companion import diffusion as Df
from companion import vae as Va

TINY = C.CapstoneConfig(steps=5, batch_size=32, n_train=200, n_test=100, n_eval=60, T=10, hidden=8,
                        iwae_k=4, n_timing=50)


def _gaussian_eps(ab, m, s):
    """The optimal noise predictor for data N(m, s^2 I) at continuous time."""
    def eps(x, t):
        a = C.continuous_alpha_bar(t, ab)[0][:, None]                              # (batch, 1)
        var = a * s**2 + 1 - a
        return (1 - a).sqrt() * (x - a.sqrt() * m) / var
    return eps


def _normal_log_prob(x, mean, var):
    d = x.shape[1]
    return -0.5 * ((x - mean).pow(2).sum(1) / var + d * math.log(2 * math.pi * var))


# --------------------------------------------------------------------------- continuous schedule


def test_continuous_alpha_bar_interpolates_log_linearly():
    ab = Df.alphas_cumprod(Df.beta_schedule("linear", 10)).double()
    a, beta = C.continuous_alpha_bar(torch.arange(10.0), ab)
    torch.testing.assert_close(a, ab, rtol=1e-12, atol=0)
    a_mid, beta_mid = C.continuous_alpha_bar(torch.tensor([2.5]), ab)
    torch.testing.assert_close(a_mid, (ab[2] * ab[3]).sqrt().reshape(1), rtol=1e-12, atol=0)
    torch.testing.assert_close(beta_mid, (ab[2] / ab[3]).log().reshape(1), rtol=1e-12, atol=0)
    # beta = -d log abar / ds, by a central difference inside an interval
    h = 1e-6
    lo, hi = C.continuous_alpha_bar(torch.tensor([4.3 - h, 4.3 + h], dtype=torch.float64), ab)[0].log()
    assert abs(-(hi - lo) / (2 * h) - float(C.continuous_alpha_bar(torch.tensor(4.3), ab)[1])) < 1e-6


# --------------------------------------------------------------------------- divergence


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=4, max_size=4), st.floats(-3, 3))
def test_divergence_of_affine_map_is_the_trace(entries, shift):
    A = torch.tensor(entries, dtype=torch.float64).reshape(2, 2)
    x = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    f, div = C.divergence(lambda z: z @ A.T + shift, x)
    torch.testing.assert_close(f, x @ A.T + shift)
    torch.testing.assert_close(div, torch.full((5,), float(A.trace()), dtype=torch.float64))


def test_divergence_of_nonlinear_map_matches_finite_differences():
    def fn(z):
        return torch.stack([torch.sin(z[:, 0] * z[:, 1]), z[:, 0] ** 3 + torch.tanh(z[:, 1])], dim=1)

    x = torch.randn(7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    _, div = C.divergence(fn, x)
    h = 1e-6
    fd = torch.zeros(7, dtype=torch.float64)
    for i in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[i] = h
        fd += (fn(x + e)[:, i] - fn(x - e)[:, i]) / (2 * h)
    torch.testing.assert_close(div, fd, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- PF-ODE likelihood


def test_pf_ode_log_likelihood_is_exact_for_gaussian_data():
    # Data N(m, s^2 I); with the optimal eps and the exact marginal at s = T-1 as prior, the
    # ODE's log-density at s = 0 is N(x; sqrt(abar_1) m, (abar_1 s^2 + 1 - abar_1) I), exactly, with
    # abar_1 = alphas_cumprod[0] (paper steps count from 1).
    ab = Df.alphas_cumprod(Df.beta_schedule("linear", 20)).double()
    m, s = torch.tensor([0.7, -1.2], dtype=torch.float64), 0.3
    a0, aT = float(ab[0]), float(ab[-1])

    def prior(z):
        return _normal_log_prob(z, math.sqrt(aT) * m, aT * s**2 + 1 - aT)

    x = m + s * torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    got = C.pf_ode_log_likelihood(_gaussian_eps(ab, m, s), x, ab, substeps=2, prior_log_prob=prior)
    want = _normal_log_prob(x, math.sqrt(a0) * m, a0 * s**2 + 1 - a0)
    assert float((got - want).abs().max()) < 1e-4


def test_pf_ode_log_likelihood_is_exact_for_a_gaussian_mixture():
    # The ring mixture's optimal eps (companion.diffusion, at the continuous abar(s)); the
    # answer is the mixture's noised density at s = 0, by an independent closed form.
    ab = Df.alphas_cumprod(Df.beta_schedule("linear", 20)).double()
    means, stds, weights = Df.ring_gmm(4, radius=1.5, std=0.4)

    def eps(x, t):
        a = C.continuous_alpha_bar(t[:1], ab)[0]                                    # one time per call
        return Df.gmm_optimal_eps(x, 0, a, means, stds, weights)

    def prior(z):
        return Df.gmm_noised_log_prob(z, ab.shape[0] - 1, ab, means, stds, weights)

    x = Df.gmm_sample(40, means, stds, weights, generator=torch.Generator().manual_seed(3)).double()
    got = C.pf_ode_log_likelihood(eps, x, ab, substeps=3, prior_log_prob=prior)
    want = Df.gmm_noised_log_prob(x, 0, ab, means, stds, weights)
    assert float((got - want).abs().max()) < 2e-3


def test_pf_ode_default_prior_is_standard_normal():
    # A long schedule ends near N(0, I): the default prior then costs almost nothing.
    ab = Df.alphas_cumprod(Df.beta_schedule("linear", 30)).double()
    m, s = torch.tensor([0.5, 0.0], dtype=torch.float64), 0.5
    x = m + s * torch.randn(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    got = C.pf_ode_log_likelihood(_gaussian_eps(ab, m, s), x, ab)
    a0 = float(ab[0])
    want = _normal_log_prob(x, math.sqrt(a0) * m, a0 * s**2 + 1 - a0)
    assert float((got - want).abs().max()) < 1e-2


def test_pf_ode_log_likelihood_batches_agree():
    ab = Df.alphas_cumprod(Df.beta_schedule("linear", 8)).double()
    eps = _gaussian_eps(ab, torch.zeros(2, dtype=torch.float64), 0.5)
    x = torch.randn(9, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(C.pf_ode_log_likelihood(eps, x, ab, batch_size=4),
                               C.pf_ode_log_likelihood(eps, x, ab))


# --------------------------------------------------------------------------- sampling and benchmark


def test_vae_sample_adds_the_decoder_noise():
    torch.manual_seed(0)
    vae = Va.VAE(2, 2, hidden=(4,), likelihood="gaussian", obs_var=0.25)
    x = C.vae_sample(vae, 20000, seed=0)
    with torch.no_grad():
        mean = vae.sample(20000, generator=torch.Generator().manual_seed(0))
    resid_var = float((x - mean).var())
    assert abs(resid_var - 0.25) < 0.01
    torch.testing.assert_close(C.vae_sample(vae, 10, seed=3), C.vae_sample(vae, 10, seed=3))


def test_true_log_likelihood_matches_scipy():
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    from companion.gan import ring_centers

    x = np.array([[2.0, 0.1], [0.0, -1.9], [0.3, 0.3]])
    c = C.CapstoneConfig(std=0.3)
    want = np.mean([logsumexp([multivariate_normal(m, 0.09 * np.eye(2)).logpdf(p) for m in ring_centers()])
                    - math.log(8) for p in x])
    assert abs(C.true_log_likelihood(x, c) - want) < 1e-10


@pytest.fixture(scope="module")
def tiny_run():
    return C.run_benchmark(TINY, seeds=(0, 1), progress=False)


def test_run_benchmark_rows(tiny_run):
    rows, models = tiny_run
    assert [r["family"] for r in rows] == [f for f in C.FAMILY_NAMES for _ in range(2)]
    assert len(models) == 2 * len(C.FAMILY_NAMES)
    for r in rows:
        for key in ("mmd", "energy", "high_quality", "train_seconds", "sample_seconds"):
            assert np.isfinite(r[key]), (r["family"], key)
        assert 0 <= r["modes_covered"] <= 8
        if r["family"] == "GAN":
            assert r["log_likelihood"] == "none"
        else:
            assert np.isfinite(r["log_likelihood"])


def test_benchmark_is_reproducible_in_one_process_or_two(tiny_run):
    """The same rows again, now from two worker processes (``workers=2``) instead of this one."""
    rows, _ = tiny_run
    again, models = C.run_benchmark(TINY, seeds=(1,), families=C.FAMILY_NAMES, progress=False, workers=2)
    assert sorted(models) == [(f, 1) for f in sorted(C.FAMILY_NAMES)]
    timed = ("train_seconds", "sample_seconds")
    first = [r for r in rows if r["seed"] == 1]
    for a, b in zip(first, again, strict=True):
        assert ({k: v for k, v in a.items() if k not in timed}
                == {k: v for k, v in b.items() if k not in timed})


def test_draw_samples_shapes(tiny_run):
    _, models = tiny_run
    for trained in models.values():
        x = C.draw_samples(trained, 17, seed=0)
        assert x.shape == (17, 2) and bool(torch.isfinite(x).all())


def test_summarise_and_render(tiny_run):
    rows, _ = tiny_run
    summary = C.summarise(rows)
    assert [s["family"] for s in summary] == list(C.FAMILY_NAMES)
    vae = [r["mmd"] for r in rows if r["family"] == "VAE"]
    assert abs(summary[0]["mmd_mean"] - np.mean(vae)) < 1e-15
    assert abs(summary[0]["mmd_std"] - np.std(vae, ddof=1)) < 1e-15
    assert summary[1]["log_likelihood_mean"] == "none"
    text = C.render_results(summary, TINY)
    assert text.count("\n| ") == len(C.FAMILY_NAMES) and "| GAN |" in text and "none" in text
    assert f"{TINY.steps} optimiser steps" in text


def test_widget_corners(tiny_run):
    rows, models = tiny_run
    _, test = C.ring_split(TINY)
    (spec,) = C.widget_specs(models, test, n=50)
    for values in spec.corners():
        numbers, fig = spec.callback(**values)
        assert not spec.clipped_labels(values), (spec.name, values, spec.clipped_labels(values))
        assert numbers["n"] == 50 and len(fig.axes) == 1


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_name_the_argument():
    ab = Df.alphas_cumprod(Df.beta_schedule("linear", 5)).double()
    eps = _gaussian_eps(ab, torch.zeros(2, dtype=torch.float64), 1.0)
    x = torch.zeros(3, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="s"):
        C.continuous_alpha_bar(torch.tensor([5.0]), ab)
    with pytest.raises(ValueError, match="alphas_cumprod"):
        C.continuous_alpha_bar(torch.tensor([0.0]), torch.tensor([0.5, 0.9]))
    with pytest.raises(ValueError, match="alphas_cumprod"):
        C.continuous_alpha_bar(torch.tensor([0.0]), torch.tensor([0.9, float("nan")]))
    with pytest.raises(ValueError, match="s"):
        C.continuous_alpha_bar(torch.tensor([float("nan")]), ab)
    with pytest.raises(ValueError, match="x"):
        C.divergence(lambda z: z, torch.zeros(3))
    with pytest.raises(ValueError, match="x"):
        C.divergence(lambda z: z, torch.full((2, 2), float("nan")))
    with pytest.raises(ValueError, match="fn"):
        C.divergence(lambda z: z[:, :1], torch.zeros(3, 2))
    with pytest.raises(TypeError, match="eps_model"):
        C.pf_ode_log_likelihood(None, x, ab)
    with pytest.raises(ValueError, match="x"):
        C.pf_ode_log_likelihood(eps, torch.zeros(3), ab)
    with pytest.raises(ValueError, match="x"):
        C.pf_ode_log_likelihood(eps, torch.full((2, 2), float("nan")), ab)
    with pytest.raises(ValueError, match="substeps"):
        C.pf_ode_log_likelihood(eps, x, ab, substeps=0)
    with pytest.raises(ValueError, match="n"):
        C.vae_sample(Va.VAE(2, 2, hidden=(4,), likelihood="gaussian"), 0)
    with pytest.raises(TypeError, match="model"):
        C.vae_sample(Va.VAE(2, 2, hidden=(4,)), 3)
    with pytest.raises(ValueError, match="family"):
        C.train_family("pixelcnn", np.zeros((10, 2)), config=TINY)
    with pytest.raises(ValueError, match="train"):
        C.train_family("VAE", np.zeros((10, 3)), config=TINY)
    with pytest.raises(ValueError, match="train"):
        C.train_family("VAE", np.full((10, 2), np.nan), config=TINY)
    with pytest.raises(ValueError, match="seed"):
        C.train_family("VAE", np.zeros((10, 2)), config=TINY, seed=-1)
    with pytest.raises(TypeError, match="config"):
        C.ring_split({"steps": 3})
    with pytest.raises(ValueError, match="test"):
        C.true_log_likelihood(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="test"):
        C.true_log_likelihood(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="seeds"):
        C.run_benchmark(TINY, seeds=())
    with pytest.raises(ValueError, match="seeds"):
        C.run_benchmark(TINY, seeds=(-1,))
    with pytest.raises(ValueError, match="rows"):
        C.summarise([])
    with pytest.raises(ValueError, match="summary"):
        C.render_results([])
    with pytest.raises(TypeError, match="trained"):
        C.draw_samples({}, 3)
    with pytest.raises(TypeError, match="trained"):
        C.evaluate_family({}, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="family"):
        C.samples_view("pixelcnn", 0, samples={}, test=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="seed"):
        C.samples_view("flow", 9, samples={}, test=np.zeros((3, 2)))


def test_extreme_inputs_stay_finite():
    ab = Df.alphas_cumprod(Df.beta_schedule("linear", 10)).double()
    eps = _gaussian_eps(ab, torch.zeros(2, dtype=torch.float64), 1.0)
    x = torch.tensor([[1e3, -1e3], [0.0, 0.0]], dtype=torch.float64)
    assert bool(torch.isfinite(C.pf_ode_log_likelihood(eps, x, ab)).all())
    assert np.isfinite(C.true_log_likelihood(np.array([[1e3, 1e3]])))
