"""Diffusion invariants (float64, fixed seeds): forward process, posterior, score, Tweedie, samplers."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import diffusion as Df
from companion.metrics import energy_distance

DT = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def mixture():
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]], dtype=DT)
    stds = torch.tensor([0.3, 0.6, 0.45], dtype=DT)
    weights = torch.tensor([0.2, 0.5, 0.3], dtype=DT)
    return means, stds, weights


SCHEDULES = {
    "linear": lambda T: Df.linear_beta_schedule(T, 1e-3, 0.2),
    "cosine": lambda T: Df.cosine_beta_schedule(T),
}


# --- schedules ---------------------------------------------------------------------------------

def test_linear_schedule_and_alphas_cumprod_match_numpy():
    b = Df.linear_beta_schedule(50, 1e-3, 0.2)
    np.testing.assert_allclose(b.numpy(), np.linspace(1e-3, 0.2, 50), rtol=1e-12)
    expected = np.cumprod(1 - np.linspace(1e-3, 0.2, 50))
    np.testing.assert_allclose(Df.alphas_cumprod(b).numpy(), expected, rtol=1e-12)


# alpha_bar_t = f(t) / f(0) of Nichol & Dhariwal's cosine schedule, T = 100, s = 0.008, computed outside
# the package with mpmath at 30 digits (mp.dps = 30;
# f = lambda t: mp.cos((mp.mpf(t) / 100 + mp.mpf("0.008")) / mp.mpf("1.008") * mp.pi / 2) ** 2):
# an independent reference, not the formula typed again. t = 100 is the clipped step (beta_100 = 0.999).
COSINE_REFERENCE = {1: 0.99936871840165848, 10: 0.97209273711396917, 50: 0.49384359044063771,
                    90: 0.024091724140085855, 99: 0.00024285722793500563, 100: 2.4285722793500563e-7}


def test_cosine_schedule_matches_reference_values_and_clips():
    ab = Df.alphas_cumprod(Df.cosine_beta_schedule(100, 0.008, max_beta=0.999))
    for t, value in COSINE_REFERENCE.items():   # paper step t is array index t - 1
        assert float(ab[t - 1]) == pytest.approx(value, rel=1e-12), t
    assert float(ab[-1]) > 0  # the last beta is clipped, so alpha_bar never hits zero
    clipped = Df.cosine_beta_schedule(40, 0.008, max_beta=0.1)
    assert float(clipped.max()) == pytest.approx(0.1) and bool((clipped <= 0.1).all())


def test_linear_rescaling_keeps_the_sum_of_betas():
    sums = [float(Df.beta_schedule("linear", T).sum()) for T in (50, 100, 1000)]
    assert sums == pytest.approx([10.05] * 3, rel=1e-12)   # T (0.1 / T + 20 / T) / 2


def test_snr_is_decreasing_and_matches_definition():
    ab = Df.alphas_cumprod(Df.cosine_beta_schedule(30))
    r = Df.snr(ab)
    np.testing.assert_allclose(r.numpy(), (ab / (1 - ab)).numpy(), rtol=1e-14)
    assert bool((r[1:] < r[:-1]).all())


# --- forward process ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_iterated_one_step_process_matches_the_closed_form(name):
    T, n = 30, 40_000
    betas = SCHEDULES[name](T)
    ab = Df.alphas_cumprod(betas)
    x0 = torch.full((n, 1), 1.5, dtype=DT)
    g = gen(1)
    x = x0
    for t in range(T):
        x = Df.q_step(x, t, torch.randn(n, 1, generator=g, dtype=DT), betas)
        if t in (0, T // 3, T - 1):
            mean, var = float(x.mean()), float(x.var())
            se_mean = math.sqrt(var / n)
            se_var = var * math.sqrt(2 / (n - 1))
            assert abs(mean - 1.5 * math.sqrt(float(ab[t]))) < 5 * se_mean, (t, mean)
            assert abs(var - (1 - float(ab[t]))) < 5 * se_var + 1e-12, (t, var)


def test_array_index_i_is_paper_step_i_plus_one():
    """q_step applied i + 1 times (indices 0..i) reaches the same mean as q_sample at index i."""
    betas = SCHEDULES["linear"](12)
    ab = Df.alphas_cumprod(betas)
    x0, zero = torch.tensor([[1.0, -2.0]], dtype=DT), torch.zeros(1, 2, dtype=DT)
    x = x0
    for i in range(12):
        x = Df.q_step(x, i, zero, betas)                     # x_i -> x_{i+1}
        torch.testing.assert_close(x, Df.q_sample(x0, i, zero, ab), rtol=1e-13, atol=0)
        assert float(ab[i]) == pytest.approx(float(torch.prod(1 - betas[: i + 1])), rel=1e-13)


def test_q_sample_alpha_bar_is_the_primer_example_and_what_q_sample_uses():
    np.random.seed(0)  # noqa: NPY002 -- the primer's legacy global seed, on purpose
    x0 = np.array([1.0, -0.5])
    eps = np.random.randn(*x0.shape)  # noqa: NPY002
    x_t = Df.q_sample_alpha_bar(x0, 0.7, eps)
    assert isinstance(x_t, np.ndarray)
    np.testing.assert_array_equal(np.round(x_t, 3), [1.803, -0.199])
    np.testing.assert_array_equal(x_t, np.sqrt(0.7) * x0 + np.sqrt(1 - 0.7) * eps)
    # torch, one level per row, equals q_sample at those steps bit for bit
    ab = Df.alphas_cumprod(SCHEDULES["cosine"](30))
    g = gen(5)
    x0, eps = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g)   # float32
    t = torch.tensor([0, 3, 7, 15, 22, 29])
    assert torch.equal(Df.q_sample(x0, t, eps, ab), Df.q_sample_alpha_bar(x0, ab[t][:, None], eps))
    assert Df.q_sample_alpha_bar(x0, 1.0, eps).equal(x0) and Df.q_sample_alpha_bar(x0, 0.0, eps).equal(eps)


def test_q_sample_alpha_bar_rejects_bad_inputs():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="alpha_bar"):
        Df.q_sample_alpha_bar(x, torch.full((3, 3), 0.5), x)       # would broadcast x0 to (3, 3)
    with pytest.raises(TypeError, match="eps"):
        Df.q_sample_alpha_bar(x, 0.5, np.zeros((3, 2)))            # mixed NumPy and torch
    with pytest.raises(ValueError, match="alpha_bar"):
        Df.q_sample_alpha_bar(x, -0.1, x)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 49), st.lists(st.floats(-5, 5), min_size=3, max_size=3),
       st.lists(st.floats(-3, 3), min_size=3, max_size=3))
def test_q_sample_inverts_through_predict_x0(t, x0, eps):
    ab = Df.alphas_cumprod(SCHEDULES["cosine"](50))
    x0, eps = torch.tensor([x0], dtype=DT), torch.tensor([eps], dtype=DT)
    x_t = Df.q_sample(x0, t, eps, ab)
    torch.testing.assert_close(Df.predict_x0_from_eps(x_t, t, eps, ab), x0, rtol=1e-9, atol=1e-9)
    score = Df.eps_to_score(eps, t, ab)
    torch.testing.assert_close(Df.score_to_eps(score, t, ab), eps, rtol=1e-12, atol=1e-12)


def test_eps_to_score_sign_and_scale():
    ab = torch.tensor([0.36], dtype=DT)
    torch.testing.assert_close(Df.eps_to_score(torch.ones(1, 1, dtype=DT), 0, ab),
                               torch.full((1, 1), -1 / 0.8, dtype=DT))


# --- posterior -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_posterior_matches_direct_bayes(name):
    betas = SCHEDULES[name](20)
    ab = Df.alphas_cumprod(betas).numpy()
    g = gen(3)
    for t in (1, 7, 19):
        x0 = torch.randn(4, 2, generator=g, dtype=DT)
        x_t = torch.randn(4, 2, generator=g, dtype=DT)
        mean, var = Df.q_posterior_mean_variance(x0, x_t, t, betas)
        # Bayes with precisions: prior x_{t-1} ~ N(sqrt(ab_{t-1}) x0, 1 - ab_{t-1}),
        # likelihood x_t | x_{t-1} ~ N(sqrt(1 - beta_t) x_{t-1}, beta_t).
        b = float(betas[t])
        prior_var, prior_mean = 1 - ab[t - 1], math.sqrt(ab[t - 1]) * x0.numpy()
        post_prec = 1 / prior_var + (1 - b) / b
        post_mean = (prior_mean / prior_var + math.sqrt(1 - b) * x_t.numpy() / b) / post_prec
        np.testing.assert_allclose(var.numpy().ravel(), 1 / post_prec, rtol=1e-10)
        np.testing.assert_allclose(mean.numpy(), post_mean, rtol=1e-10, atol=1e-12)


def test_posterior_at_paper_step_one_is_the_data():
    """Array index 0 is paper step 1, where alpha_bar_0 = 1: mean x0, variance 0."""
    betas = SCHEDULES["linear"](10)
    x0, x_t = torch.randn(3, 2, dtype=DT), torch.randn(3, 2, dtype=DT)
    mean, var = Df.q_posterior_mean_variance(x0, x_t, 0, betas)
    torch.testing.assert_close(mean, x0, rtol=0, atol=1e-12)
    assert float(var.abs().max()) < 1e-12


# --- Gaussian mixtures: score, Tweedie, loss floor ----------------------------------------------

def reference_log_prob(x, t, ab, means, stds, weights):
    a = float(ab[t])
    D = torch.distributions
    scale = torch.sqrt(a * stds**2 + 1 - a)[:, None].expand_as(means)
    comp = D.Independent(D.Normal(math.sqrt(a) * means, scale), 1)
    return D.MixtureSameFamily(D.Categorical(probs=weights), comp).log_prob(x)


@pytest.mark.parametrize("t", [0, 10, 49])
def test_gmm_score_is_the_gradient_of_the_noised_log_density(mixture, t):
    means, stds, weights = mixture
    ab = Df.alphas_cumprod(SCHEDULES["cosine"](50))
    x = (3 * torch.randn(64, 2, generator=gen(t), dtype=DT)).requires_grad_(True)
    ref = reference_log_prob(x, t, ab, means, stds, weights)
    (grad,) = torch.autograd.grad(ref.sum(), x)
    x = x.detach()
    torch.testing.assert_close(Df.gmm_noised_log_prob(x, t, ab, means, stds, weights), ref.detach(),
                               rtol=1e-10, atol=1e-10)
    score = Df.gmm_noised_score(x, t, ab, means, stds, weights)
    torch.testing.assert_close(score, grad, rtol=1e-9, atol=1e-9)
    r = Df.gmm_responsibilities(x, t, ab, means, stds, weights)
    torch.testing.assert_close(r.sum(1), torch.ones(64, dtype=DT))


def test_tweedie_equals_componentwise_gaussian_conditioning(mixture):
    means, stds, weights = mixture
    ab = Df.alphas_cumprod(SCHEDULES["linear"](40))
    t = torch.randint(0, 40, (100,), generator=gen(5))
    x = 2 * torch.randn(100, 2, generator=gen(6), dtype=DT)
    score = Df.gmm_noised_score(x, t, ab, means, stds, weights)
    torch.testing.assert_close(Df.tweedie_x0(x, t, score, ab),
                               Df.gmm_posterior_mean_x0(x, t, ab, means, stds, weights), rtol=1e-9, atol=1e-9)
    eps = Df.gmm_optimal_eps(x, t, ab, means, stds, weights)
    torch.testing.assert_close(Df.predict_x0_from_eps(x, t, eps, ab), Df.tweedie_x0(x, t, score, ab),
                               rtol=1e-9, atol=1e-9)


def test_tweedie_is_the_posterior_mean_by_monte_carlo(mixture):
    # E[x0 | x_t] for one fixed x_t, by importance weighting prior draws with the likelihood.
    means, stds, weights = mixture
    ab = Df.alphas_cumprod(SCHEDULES["linear"](40))
    t, a = 15, float(ab[15])
    x_t = torch.tensor([[0.4, -0.3]], dtype=DT)
    x0 = Df.gmm_sample(400_000, means, stds, weights, gen(8))
    log_w = -((x_t - math.sqrt(a) * x0) ** 2).sum(1) / (2 * (1 - a))
    w = torch.softmax(log_w, 0)
    mc = (w[:, None] * x0).sum(0)
    ess = float(1 / (w**2).sum())
    exact = Df.gmm_posterior_mean_x0(x_t, t, ab, means, stds, weights)[0]
    assert ess > 1000
    assert float((mc - exact).abs().max()) < 0.03


def test_optimal_eps_attains_the_gaussian_loss_floor_and_beats_perturbations():
    # Single Gaussian: the floor has a closed form.
    means, stds, weights = torch.tensor([[0.5, -1.0]], dtype=DT), 0.7, torch.ones(1, dtype=DT)
    ab = Df.alphas_cumprod(SCHEDULES["cosine"](30))
    n, g = 100_000, gen(9)
    opt = lambda x, tt: Df.gmm_optimal_eps(x, tt, ab, means, stds, weights)
    for t in (2, 15, 29):
        x0 = Df.gmm_sample(n, means, stds, weights, g)
        eps = torch.randn(n, 2, generator=g, dtype=DT)
        per = Df.simple_loss(opt, x0, t, eps, ab, reduce=False)
        floor = float(Df.gaussian_eps_loss_floor(t, ab, 0.7, 2))
        assert abs(float(per.mean()) - floor) < 5 * float(per.std()) / math.sqrt(n)
        worse = float(Df.simple_loss(lambda x, tt: 1.05 * opt(x, tt), x0, t, eps, ab))
        assert worse > float(per.mean())


def test_loss_decomposes_into_floor_plus_distance_to_optimum(mixture):
    # E||eps - f||^2 = E||eps - eps*||^2 + E||eps* - f||^2 for any f: the cross term vanishes.
    means, stds, weights = mixture
    ab = Df.alphas_cumprod(SCHEDULES["linear"](40))
    n, g, t = 200_000, gen(10), 12
    x0 = Df.gmm_sample(n, means, stds, weights, g)
    eps = torch.randn(n, 2, generator=g, dtype=DT)
    x_t = Df.q_sample(x0, t, eps, ab)
    opt = Df.gmm_optimal_eps(x_t, t, ab, means, stds, weights)
    f = 0.5 * torch.tanh(x_t)  # an arbitrary predictor
    cross = ((eps - opt) * (opt - f)).sum(1)
    assert abs(float(cross.mean())) < 5 * float(cross.std()) / math.sqrt(n)


def test_gmm_functions_are_finite_far_away(mixture):
    means, stds, weights = mixture
    ab = Df.alphas_cumprod(SCHEDULES["linear"](10))
    x = torch.tensor([[1e4, -1e4], [0.0, 0.0]], dtype=DT)
    for fn in (Df.gmm_noised_score, Df.gmm_optimal_eps, Df.gmm_noised_log_prob, Df.gmm_posterior_mean_x0):
        assert bool(torch.isfinite(fn(x, 0, ab, means, stds, weights)).all()), fn.__name__


def test_gmm_accepts_one_hot_weights_for_class_conditional_scores(mixture):
    means, stds, _ = mixture
    ab = Df.alphas_cumprod(SCHEDULES["linear"](10))
    x = torch.randn(5, 2, dtype=DT)
    one = Df.gmm_noised_score(x, 3, ab, means, stds, torch.tensor([0.0, 1.0, 0.0], dtype=DT))
    alone = Df.gmm_noised_score(x, 3, ab, means[1:2], stds[1:2], torch.ones(1, dtype=DT))
    torch.testing.assert_close(one, alone)


# --- samplers ------------------------------------------------------------------------------------

def test_ddim_with_eta_one_and_all_steps_is_ddpm(mixture):
    means, stds, weights = mixture
    betas = SCHEDULES["linear"](40)
    ab = Df.alphas_cumprod(betas)
    model = lambda x, t: Df.gmm_optimal_eps(x, t, ab, means, stds, weights)
    a = Df.ddpm_sample(model, betas, (50, 2), seed=3, dtype=DT)
    b = Df.ddim_sample(model, ab, (50, 2), steps=40, eta=1.0, seed=3, dtype=DT)
    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_samplers_with_the_exact_score_reproduce_the_data(mixture, sampler):
    means, stds, weights = mixture
    betas = SCHEDULES["cosine"](100)
    ab = Df.alphas_cumprod(betas)
    model = lambda x, t: Df.gmm_optimal_eps(x, t, ab, means, stds, weights)
    n = 1500
    if sampler == "ddpm":
        x = Df.ddpm_sample(model, betas, (n, 2), seed=1, dtype=DT)
    else:
        x = Df.ddim_sample(model, ab, (n, 2), steps=50, seed=1, dtype=DT)
    data = Df.gmm_sample(n, means, stds, weights, gen(2))
    floor = energy_distance(Df.gmm_sample(n, means, stds, weights, gen(3)), data)
    assert energy_distance(x, data) < 4 * floor + 0.01
    torch.testing.assert_close(x.mean(0), (weights[:, None] * means).sum(0), atol=0.12, rtol=0)


def test_ddim_eta_zero_is_deterministic_and_returns_trajectories():
    ab = Df.alphas_cumprod(SCHEDULES["linear"](20))
    model = lambda x, t: 0.1 * x
    x1, traj = Df.ddim_sample(model, ab, (7, 2), steps=5, seed=4, return_trajectory=True)
    x2 = Df.ddim_sample(model, ab, (7, 2), steps=5, seed=4)
    torch.testing.assert_close(x1, x2)
    assert traj.shape == (6, 7, 2) and torch.equal(traj[-1], x1)
    _, traj = Df.ddpm_sample(model, SCHEDULES["linear"](20), (7, 2), return_trajectory=True)
    assert traj.shape == (21, 7, 2)


def test_ddim_timesteps():
    assert Df.ddim_timesteps(100, 100) == list(range(99, -1, -1))
    assert Df.ddim_timesteps(100, 10)[0] == 99 and Df.ddim_timesteps(100, 10)[-1] == 0
    assert len(Df.ddim_timesteps(100, 10)) == 10 and Df.ddim_timesteps(5, 1) == [4]


# --- network and training --------------------------------------------------------------------------

def test_timestep_embedding_and_model_shapes():
    e = Df.timestep_embedding(torch.arange(5), 8)
    assert e.shape == (5, 8) and torch.allclose(e[:, :4] ** 2 + e[:, 4:] ** 2, torch.ones(5, 4))
    m = Df.EpsMLP(3, hidden=8, emb_dim=4)
    assert m(torch.zeros(2, 3), torch.tensor([0, 1])).shape == (2, 3)


def test_training_lowers_the_loss():
    torch.manual_seed(0)
    data = Df.gmm_sample(2000, torch.tensor([[-1.0, 0.0], [1.0, 0.0]]), 0.2, torch.tensor([0.5, 0.5]), gen(0))
    ab = Df.alphas_cumprod(SCHEDULES["linear"](50))
    model = Df.EpsMLP(2, hidden=32, emb_dim=8)
    hist = Df.train_eps_model(model, data, ab, steps=120, batch_size=128, lr=5e-3, seed=0, progress=False)
    assert set(hist) == {"step", "loss"} and len(hist["loss"]) == 120
    assert np.mean(hist["loss"][-30:]) < 0.85 * np.mean(hist["loss"][:10])
    assert all(np.isfinite(hist["loss"]))


# --- bad inputs ------------------------------------------------------------------------------------

def test_schedules_reject_bad_arguments():
    with pytest.raises(ValueError, match="beta_end"):
        Df.linear_beta_schedule(10, 1e-4, 1.5)
    with pytest.raises(ValueError, match="beta_start"):
        Df.linear_beta_schedule(10, float("nan"))
    with pytest.raises(TypeError, match="T"):
        Df.cosine_beta_schedule(2.5)
    with pytest.raises(ValueError, match="max_beta"):
        Df.cosine_beta_schedule(10, max_beta=1.0)
    with pytest.raises(ValueError, match="betas"):
        Df.alphas_cumprod(torch.tensor([0.1, 1.0]))
    with pytest.raises(ValueError, match="betas"):
        Df.alphas_cumprod(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="alphas_cumprod"):
        Df.snr(torch.tensor([0.5, float("nan")]))


def _bad_calls():
    betas = SCHEDULES["linear"](10)
    ab = Df.alphas_cumprod(betas)
    x = torch.zeros(4, 2, dtype=DT)
    nan = x.clone()
    nan[0, 0] = float("nan")
    fns = {
        "q_sample": lambda x0=x, t=0, eps=x, s=ab: Df.q_sample(x0, t, eps, s),
        "q_step": lambda x0=x, t=0, eps=x, s=betas: Df.q_step(x0, t, eps, s),
        "q_posterior_mean_variance":
            lambda x0=x, t=0, eps=x, s=betas: Df.q_posterior_mean_variance(x0, eps, t, s),
        "predict_x0_from_eps": lambda x0=x, t=0, eps=x, s=ab: Df.predict_x0_from_eps(x0, t, eps, s),
        "tweedie_x0": lambda x0=x, t=0, eps=x, s=ab: Df.tweedie_x0(x0, t, eps, s),
    }
    return fns, x, nan


@pytest.mark.parametrize("name", ["q_sample", "q_step", "q_posterior_mean_variance", "predict_x0_from_eps",
                                  "tweedie_x0"])
def test_pointwise_functions_reject_bad_inputs(name):
    fns, x, nan = _bad_calls()
    fn = fns[name]
    with pytest.raises(ValueError, match="t: expected steps in"):
        fn(t=10)
    with pytest.raises(ValueError, match="t: expected steps in"):
        fn(t=-1)
    with pytest.raises(TypeError, match="t: expected an integer"):
        fn(t=torch.zeros(4))
    with pytest.raises(ValueError, match="expected the same shape"):
        fn(eps=torch.zeros(4, 3, dtype=DT))
    with pytest.raises(ValueError, match="expected finite"):
        fn(x0=nan)
    with pytest.raises(ValueError, match="t: expected shape"):
        fn(t=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="(betas|alphas_cumprod): expected values in"):
        fn(s=torch.tensor([0.5, 1.5], dtype=DT))


def test_score_conversions_reject_bad_inputs():
    ab = torch.tensor([0.5, 1.0], dtype=DT)
    with pytest.raises(ValueError, match="alphas_cumprod"):
        Df.eps_to_score(torch.zeros(1, 2), 0, ab)  # alpha_bar = 1 has no score
    with pytest.raises(ValueError, match="eps: expected finite"):
        Df.eps_to_score(torch.tensor([[float("nan")]]), 0, ab[:1])
    with pytest.raises(ValueError, match="t: expected steps"):
        Df.score_to_eps(torch.zeros(1, 2), 5, ab)


def test_gmm_functions_reject_bad_inputs(mixture):
    means, stds, weights = mixture
    ab = Df.alphas_cumprod(SCHEDULES["linear"](10))
    x = torch.zeros(4, 2, dtype=DT)
    for fn in (Df.gmm_noised_score, Df.gmm_optimal_eps, Df.gmm_noised_log_prob, Df.gmm_responsibilities,
               Df.gmm_posterior_mean_x0):
        with pytest.raises(ValueError, match="means: expected shape"):
            fn(torch.zeros(4, 3, dtype=DT), 0, ab, means, stds, weights)
        with pytest.raises(ValueError, match="x_t: expected finite"):
            fn(torch.full((4, 2), float("nan"), dtype=DT), 0, ab, means, stds, weights)
        with pytest.raises(ValueError, match="stds: expected values > 0"):
            fn(x, 0, ab, means, -stds, weights)
        with pytest.raises(ValueError, match="weights: expected entries summing to 1"):
            fn(x, 0, ab, means, stds, 2 * weights)
        with pytest.raises(ValueError, match="t: expected steps"):
            fn(x, 10, ab, means, stds, weights)
    with pytest.raises(ValueError, match="n: expected an integer >= 1"):
        Df.gmm_sample(0, means, stds, weights)
    with pytest.raises(ValueError, match="std"):
        Df.gaussian_eps_loss_floor(0, ab, -1.0, 2)


def test_samplers_and_training_reject_bad_inputs():
    betas = SCHEDULES["linear"](10)
    ab = Df.alphas_cumprod(betas)
    model = lambda x, t: x
    with pytest.raises(TypeError, match="eps_model"):
        Df.ddpm_sample("not a model", betas, (2, 2))
    with pytest.raises(ValueError, match="shape"):
        Df.ddpm_sample(model, betas, (0, 2))
    with pytest.raises(ValueError, match="betas"):
        Df.ddpm_sample(model, torch.tensor([0.1, float("nan")]), (2, 2))
    with pytest.raises(ValueError, match="steps: expected an integer <= 10"):
        Df.ddim_sample(model, ab, (2, 2), steps=11)
    with pytest.raises(ValueError, match="eta"):
        Df.ddim_sample(model, ab, (2, 2), steps=5, eta=1.5)
    with pytest.raises(ValueError, match="data: expected finite"):
        Df.train_eps_model(Df.EpsMLP(2, 8, 4), torch.tensor([[float("nan"), 0.0]]), ab, steps=1,
                           progress=False)
    with pytest.raises(ValueError, match="steps"):
        Df.train_eps_model(Df.EpsMLP(2, 8, 4), torch.zeros(3, 2), ab, steps=0, progress=False)
    with pytest.raises(ValueError, match="x_t: expected shape"):
        Df.EpsMLP(2, 8, 4)(torch.zeros(3, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="dim: expected an even"):
        Df.timestep_embedding(torch.arange(3), 5)


# --- widgets ---------------------------------------------------------------------------------------

def test_widget_callbacks_at_every_corner():
    torch.manual_seed(0)
    specs = Df.widget_specs(model=Df.EpsMLP(2, hidden=8, emb_dim=4), n=100)
    assert [s.name for s in specs] == ["diffusion-noising", "diffusion-sampling-steps"]
    for spec in specs:
        assert len(spec.grid()) <= 200
        for values in spec.corners() + [spec.defaults()]:
            numbers, fig = spec.callback(**values)
            assert not spec.clipped_labels(values), (spec.name, values, spec.clipped_labels(values))
            assert numbers and all(np.isfinite(v) for v in numbers.values()), (spec.name, values)
            assert fig.axes and any(ax.has_data() for ax in fig.axes)


def test_noised_view_reports_the_schedule():
    spec = Df.noising_widget_spec(n=50)
    numbers, _ = spec.callback(t=0, schedule="linear")
    ab = Df.alphas_cumprod(Df.beta_schedule("linear", 100))
    assert numbers["alpha_bar"] == pytest.approx(float(ab[0]))
    assert numbers["SNR"] == pytest.approx(float(ab[0] / (1 - ab[0])))
    with pytest.raises(ValueError, match="schedule"):
        spec.callback(t=0, schedule="quadratic")
    with pytest.raises(ValueError, match="t: expected an integer <= 99"):
        spec.callback(t=100, schedule="linear")


# --- equation labels -----------------------------------------------------------------------------

def test_every_equation_label_the_module_cites_is_defined_in_a_chapter():
    import re
    from pathlib import Path

    from companion.families import notebook_labels

    root = Path(__file__).resolve().parent.parent
    defined = set().union(*(notebook_labels(p) for p in (root / "book").glob("*.ipynb")))
    cited = set(re.findall(r"``(eq-[a-z0-9-]+)``", (root / "companion" / "diffusion.py").read_text()))
    assert cited and not cited - defined, f"cited but defined in no chapter: {sorted(cited - defined)}"
