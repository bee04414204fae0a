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

    from bookkit.families import notebook_labels

    root = Path(__file__).resolve().parent.parent
    defined = set().union(*(notebook_labels(p) for p in (root / "book").glob("*.ipynb")))
    cited = set()
    for module in ("diffusion.py", "diffusion_theory.py"):
        cited |= set(re.findall(r"``(eq-[a-z0-9-]+)``", (root / "companion" / module).read_text()))
    assert cited and not cited - defined, f"cited but defined in no chapter: {sorted(cited - defined)}"



# --- beyond the primer: the bound, the reverse SDE, parameterisations, Langevin ------------------

def _wrong_eps(ab, means, stds, weights):
    # the exact predictor, deliberately perturbed: the bound's terms must hold for any predictor
    return lambda x, t: 0.9 * Df.gmm_optimal_eps(x, t, ab, means, stds, weights) + 0.1 * torch.tanh(x)


@pytest.mark.parametrize("variance", ["posterior", "beta"])
def test_vlb_terms_are_the_kls_of_the_two_gaussians(mixture, variance):
    # independent route: torch.distributions KL between q(x_{t-1}|x_t,x_0) and the DDPM step's Gaussian
    D = torch.distributions
    betas = Df.linear_beta_schedule(20, 1e-3, 0.2)
    ab = Df.alphas_cumprod(betas)
    g = gen(3)
    x0 = Df.gmm_sample(64, *mixture, generator=g)
    eps = torch.randn(20, 64, 2, generator=g, dtype=DT)
    model = _wrong_eps(ab, *mixture)
    L = Df.vlb_terms(model, x0, betas, eps, variance=variance)
    assert L.shape == (64, 21)
    for i in range(20):                                      # array index i, paper step i + 1
        x_t = Df.q_sample(x0, i, eps[i], ab)
        x0_hat = Df.predict_x0_from_eps(x_t, i, model(x_t, torch.full((64,), i)), ab)
        mean_p, var_post = Df.q_posterior_mean_variance(x0_hat, x_t, i, betas)
        sigma2 = float(betas[i]) if i == 0 or variance == "beta" else float(var_post[0])
        p = D.Independent(D.Normal(mean_p, math.sqrt(sigma2)), 1)
        if i == 0:
            expected = -p.log_prob(x0)                       # the decoder: mean_p is x0_hat at step 1
        else:
            mean_q, var_q = Df.q_posterior_mean_variance(x0, x_t, i, betas)
            expected = D.kl_divergence(D.Independent(D.Normal(mean_q, var_q.sqrt().expand_as(mean_q)), 1), p)
        np.testing.assert_allclose(L[:, i].numpy(), expected.numpy(), rtol=1e-9, atol=1e-10)
    a_T = float(ab[-1])
    prior_kl = D.kl_divergence(D.Independent(D.Normal(math.sqrt(a_T) * x0, math.sqrt(1 - a_T)), 1),
                               D.Independent(D.Normal(torch.zeros_like(x0), 1.0), 1))
    np.testing.assert_allclose(L[:, 20].numpy(), prior_kl.numpy(), rtol=1e-9)


def test_vlb_weights_are_the_snr_differences():
    betas = Df.beta_schedule("cosine", 50)
    ab = Df.alphas_cumprod(betas)
    r = Df.snr(ab)
    w = Df.vlb_weights(betas)
    np.testing.assert_allclose(w[1:].numpy(), (0.5 * (r[:-1] / r[1:] - 1)).numpy(), rtol=1e-10)
    assert float(w[0]) == pytest.approx(1 / (2 * (1 - float(betas[0]))), rel=1e-12)
    w_beta = Df.vlb_weights(betas, variance="beta")
    np.testing.assert_allclose(w_beta.numpy(), (betas / (2 * (1 - betas) * (1 - ab))).numpy(), rtol=1e-12)
    assert bool((w_beta[1:] < w[1:]).all())                  # beta_t > beta-tilde_t: smaller weights


def test_vlb_bounds_the_log_likelihood_and_tightens_with_T():
    # Gaussian data N(m, s^2 I): log p is exact; -E[L_vlb] <= E log p_theta <= E log p_data (Gibbs)
    m, s = torch.tensor([[0.5, -1.0]], dtype=DT), 0.4
    g = gen(4)
    n = 2000
    x0 = Df.gmm_sample(n, m, s, torch.ones(1, dtype=DT), g)
    log_p = Df.gmm_noised_log_prob(x0, 0, torch.ones(1, dtype=DT), m, s, torch.ones(1, dtype=DT))
    bound = {}
    for T in (10, 100):
        betas = Df.beta_schedule("linear", T)
        ab = Df.alphas_cumprod(betas)
        opt = lambda x, t, ab=ab: Df.gmm_optimal_eps(x, t, ab, m, s, torch.ones(1, dtype=DT))
        bound[T] = -Df.vlb_terms(opt, x0, betas, torch.randn(T, n, 2, generator=g, dtype=DT)).sum(1)
        gap = log_p - bound[T]
        assert float(gap.mean()) > 3 * float(gap.std()) / math.sqrt(n)
    diff = bound[100] - bound[10]
    assert float(diff.mean()) > 5 * float(diff.std()) / math.sqrt(n)


def _one_step_differences(T, mixture):
    betas = Df.beta_schedule("linear", T)
    ab = Df.alphas_cumprod(betas)
    worst_mean = worst_var = beta_max = 0.0
    for frac in (0.25, 0.5, 1.0):                            # fixed continuous times t / T
        i = round(frac * T) - 1
        x = 2 * torch.randn(300, 2, generator=gen(5), dtype=DT)
        eps = Df.gmm_optimal_eps(x, i, ab, *mixture)
        em_mean = Df.reverse_sde_step(x, i, Df.eps_to_score(eps, i, ab), betas, torch.zeros_like(x))
        ddpm_mean, ddpm_var = Df.q_posterior_mean_variance(Df.predict_x0_from_eps(x, i, eps, ab), x, i, betas)
        worst_mean = max(worst_mean, float((em_mean - ddpm_mean).abs().max()))
        worst_var = max(worst_var, abs(float(ddpm_var[0]) - float(betas[i])))   # EM's variance is beta_t
        beta_max = max(beta_max, float(betas[i]))
    return beta_max, worst_mean, worst_var


def test_ddpm_step_is_the_reverse_sde_step_to_second_order(mixture):
    rows = np.array([_one_step_differences(T, mixture) for T in (200, 400, 800)])
    slope_mean = np.polyfit(np.log(rows[:, 0]), np.log(rows[:, 1]), 1)[0]
    slope_var = np.polyfit(np.log(rows[:, 0]), np.log(rows[:, 2]), 1)[0]
    assert 1.8 < slope_mean < 2.2 and 1.8 < slope_var < 2.2


def test_reverse_sde_sampler_follows_its_gaussian_variance_recursion():
    # data N(0, s^2 I): the score of p_t is -x / V_t, V_t = abar_t s^2 + 1 - abar_t, so each EM step maps the
    # variance v to (1 + beta_t (1/2 - 1/V_t))^2 v + beta_t exactly; the sampler must follow it
    s, T, n = 0.5, 50, 40_000
    betas = Df.beta_schedule("linear", T)
    ab = Df.alphas_cumprod(betas)
    V = ab * s**2 + 1 - ab
    x = Df.reverse_sde_sample(lambda x, t: -x / V[t][:, None], betas, (n, 2), seed=2, dtype=DT)
    v = 1.0
    for i in range(T - 1, -1, -1):
        v = (1 + float(betas[i]) * (0.5 - 1 / float(V[i]))) ** 2 * v + float(betas[i])
    var = x.var(0)
    assert float((var - v).abs().max()) < 5 * v * math.sqrt(2 / (n - 1))
    assert abs(v - s**2) < 0.05                               # and the recursion ends near the data variance


def test_parameterisation_conversions_and_loss_weights(mixture):
    ab = Df.alphas_cumprod(Df.beta_schedule("cosine", 40))
    g = gen(6)
    x0 = Df.gmm_sample(500, *mixture, generator=g)
    eps = torch.randn(500, 2, generator=g, dtype=DT)
    t = torch.randint(0, 40, (500,), generator=g)
    x_t = Df.q_sample(x0, t, eps, ab)
    a, sd = ab[t].sqrt()[:, None], (1 - ab[t]).sqrt()[:, None]
    v = Df.eps_to_v(x_t, t, eps, ab)
    torch.testing.assert_close(v, a * eps - sd * x0, rtol=1e-10, atol=1e-10)        # the definition
    torch.testing.assert_close(Df.v_to_eps(x_t, t, v, ab), eps, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(Df.v_to_x0(x_t, t, v, ab), x0, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(Df.x0_to_eps(x_t, t, x0, ab), eps, rtol=1e-10, atol=1e-10)
    # the exact oracle: E[eps | x_t] from the score and E[x0 | x_t] by conditioning agree through x0_to_eps
    e_star = Df.gmm_optimal_eps(x_t, t, ab, *mixture)
    x0_star = Df.gmm_posterior_mean_x0(x_t, t, ab, *mixture)
    torch.testing.assert_close(Df.x0_to_eps(x_t, t, x0_star, ab), e_star, rtol=1e-9, atol=1e-9)
    # loss weights: ||x0 - x0_hat||^2 = ||eps - eps_hat||^2 / SNR,
    # ||v - v_hat||^2 = (1 + 1/SNR) ||eps - eps_hat||^2 = (1 + SNR) ||x0 - x0_hat||^2
    e_hat = e_star + 0.3 * torch.sin(x_t)
    r = Df.snr(ab)[t]
    l_eps = ((eps - e_hat) ** 2).sum(1)
    l_x0 = ((x0 - Df.predict_x0_from_eps(x_t, t, e_hat, ab)) ** 2).sum(1)
    l_v = ((v - Df.eps_to_v(x_t, t, e_hat, ab)) ** 2).sum(1)
    torch.testing.assert_close(l_x0, l_eps / r, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(l_v, (1 + 1 / r) * l_eps, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(l_v, (1 + r) * l_x0, rtol=1e-9, atol=1e-12)


def test_langevin_reaches_its_biased_gaussian_stationary_law():
    # ULA on N(m, s^2): x' = x + delta (m - x)/s^2 + sqrt(2 delta) z has the stationary law
    # N(m, s^2 / (1 - delta / (2 s^2))), a variance 11% above s^2 here: the test sees the difference
    m, s, delta, n = 1.5, 0.7, 0.2 * 0.49, 20_000
    x = Df.langevin_sample(lambda x: (m - x) / s**2, torch.zeros(n, 1, dtype=DT), delta, 300, gen(7))
    v = s**2 / (1 - delta / (2 * s**2))
    assert abs(float(x.mean()) - m) < 5 * math.sqrt(v / n)
    assert abs(float(x.var()) - v) < 5 * v * math.sqrt(2 / (n - 1))
    assert abs(float(x.var()) - s**2) > 5 * v * math.sqrt(2 / (n - 1))


def test_annealed_langevin_recovers_mode_weights_plain_langevin_does_not():
    means = torch.tensor([[-4.0], [4.0]], dtype=DT)
    weights = torch.tensor([0.2, 0.8], dtype=DT)
    one = torch.ones(1, dtype=DT)
    ab = Df.alphas_cumprod(Df.beta_schedule("linear", 100))
    n = 2000
    g = gen(8)
    x_init = 12 * torch.rand(n, 1, generator=g, dtype=DT) - 6
    clean_score = lambda x: Df.gmm_noised_score(x, 0, one, means, 0.5, weights)
    plain = Df.langevin_sample(clean_score, x_init, 0.02, 300, g)
    levels = list(range(99, -1, -1))
    step = [0.3 * float(ab[i] * 0.25 + 1 - ab[i]) for i in levels]   # a fixed fraction of the mode variance
    annealed = Df.annealed_langevin_sample(lambda x, i: Df.gmm_noised_score(x, i, ab, means, 0.5, weights),
                                           x_init, levels, step, 10, g)
    se = math.sqrt(0.8 * 0.2 / n)
    assert abs(float((plain > 0).double().mean()) - 0.8) > 10 * se
    assert abs(float((annealed > 0).double().mean()) - 0.8) < 4 * se
