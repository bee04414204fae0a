"""Guidance invariants (chapter ``ch-guidance``): exact limits, Bayes' rule on scores, the tilt, metrics."""

import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import guidance as G
from companion.diffusion import alphas_cumprod, linear_beta_schedule

MIX = G.ring_mixture()
AB = alphas_cumprod(linear_beta_schedule(50, 1e-3, 0.2))


@pytest.fixture
def x():
    return torch.from_numpy(np.random.default_rng(3).normal(scale=1.8, size=(40, 2)))


def _autograd_grad(f, x):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x).sum(), x)
    return g


# ---------------------------------------------------------------- closed-form densities and scores


@pytest.mark.parametrize("alpha_bar", [1.0, 0.4, 0.02])
def test_log_prob_matches_scipy_mixture(x, alpha_bar):
    a = alpha_bar
    comps = [scipy.stats.multivariate_normal(math.sqrt(a) * m.numpy(), (a * s**2 + 1 - a) * np.eye(2))
             for m, s in zip(MIX.means, MIX.stds.tolist(), strict=True)]
    dens = np.stack([w * c.pdf(x.numpy()) for w, c in zip(MIX.weights.tolist(), comps, strict=True)], 1)
    np.testing.assert_allclose(G.mixture_log_prob(MIX, x, a).numpy(), np.log(dens.sum(1)), rtol=1e-10)
    labels = torch.arange(40) % 3
    own = (MIX.classes[None, :] == labels[:, None]).numpy()
    ref = np.log((dens * own).sum(1) / (1 / 3))
    np.testing.assert_allclose(G.mixture_log_prob(MIX, x, a, labels).numpy(), ref, rtol=1e-10)


def test_class_posterior_is_normalised_and_bayes(x):
    lp = G.class_log_posterior(MIX, x, 0.3)
    np.testing.assert_allclose(torch.logsumexp(lp, 1).numpy(), 0.0, atol=1e-12)
    for c in range(3):
        labels = torch.full((40,), c)
        bayes = (G.mixture_log_prob(MIX, x, 0.3, labels) + math.log(1 / 3) - G.mixture_log_prob(MIX, x, 0.3))
        np.testing.assert_allclose(lp[:, c].numpy(), bayes.numpy(), atol=1e-12)


@pytest.mark.parametrize("alpha_bar", [1.0, 0.5, 0.05])
def test_score_is_the_gradient_of_the_log_density(x, alpha_bar):
    auto = _autograd_grad(lambda z: G.mixture_log_prob(MIX, z, alpha_bar), x)
    np.testing.assert_allclose(G.mixture_score(MIX, x, alpha_bar).numpy(), auto.numpy(), atol=1e-10)
    labels = torch.arange(40) % 3
    auto_c = _autograd_grad(lambda z: G.mixture_log_prob(MIX, z, alpha_bar, labels), x)
    np.testing.assert_allclose(G.mixture_score(MIX, x, alpha_bar, labels).numpy(), auto_c.numpy(), atol=1e-10)


def test_bayes_rule_on_scores(x):
    """grad log p_t(x | c) = grad log p_t(x) + grad log p_t(c | x), equation eq-bayes-score."""
    labels = torch.arange(40) % 3
    post = _autograd_grad(lambda z: G.class_log_posterior(MIX, z, 0.6).gather(1, labels[:, None]), x)
    lhs = G.mixture_score(MIX, x, 0.6, labels)
    rhs = G.mixture_score(MIX, x, 0.6) + post
    np.testing.assert_allclose(lhs.numpy(), rhs.numpy(), atol=1e-10)


def test_extreme_inputs_stay_finite():
    far = torch.tensor([[1e3, -1e3], [50.0, 0.0]], dtype=torch.float64)
    assert torch.isfinite(G.mixture_log_prob(MIX, far)).all()
    assert torch.isfinite(G.class_log_posterior(MIX, far)).all()
    assert torch.isfinite(G.mixture_score(MIX, far, 0.99, torch.tensor([0, 1]))).all()
    assert torch.isfinite(G.tilted_log_prob(MIX, far, 0.5, torch.tensor([0, 2]), 30.0)).all()


# ---------------------------------------------------------------- guidance formulas


def test_cfg_limits_are_exact():
    g = torch.Generator().manual_seed(0)
    u, c = torch.randn(7, 2, generator=g), torch.randn(7, 2, generator=g)
    assert torch.equal(G.cfg_combine(u, c, 0.0), u)
    assert torch.equal(G.cfg_combine(u, c, 1.0), c)
    torch.testing.assert_close(G.cfg_combine(u, c, 3.0), u + 3.0 * (c - u), rtol=0, atol=1e-6)


def test_cfg_per_sample_scale_matches_scalar_calls():
    g = torch.Generator().manual_seed(1)
    u, c = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g)
    s = torch.tensor([0.0, 1.0, 5.0])
    out = G.cfg_combine(u, c, s)
    for i in range(3):
        torch.testing.assert_close(out[i], G.cfg_combine(u[i:i + 1], c[i:i + 1], float(s[i]))[0])


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(-2.0, 12.0), alpha_bar=st.floats(0.01, 0.99), seed=st.integers(0, 1000))
def test_guided_eps_is_the_score_of_the_tilt(scale, alpha_bar, seed):
    """u + s (c - u) = -sqrt(1 - ab) grad [log p_t(x) + s log p_t(c|x)], all s, t."""
    x = torch.from_numpy(np.random.default_rng(seed).normal(scale=2.0, size=(6, 2)))
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    guided = G.cfg_combine(G.mixture_eps(MIX, x, alpha_bar), G.mixture_eps(MIX, x, alpha_bar, labels), scale)
    tilt = _autograd_grad(lambda z: G.tilted_log_prob(MIX, z, alpha_bar, labels, scale), x)
    np.testing.assert_allclose(guided.numpy(), (-math.sqrt(1 - alpha_bar) * tilt).numpy(), atol=1e-9)


def test_classifier_guidance_with_the_exact_classifier_is_cfg(x):
    labels = torch.arange(40) % 3
    ab = 0.35
    grad = _autograd_grad(lambda z: G.class_log_posterior(MIX, z, ab).gather(1, labels[:, None]), x)
    for s in [0.0, 1.0, 4.0]:
        cg = G.classifier_guidance(G.mixture_eps(MIX, x, ab), grad, s, ab)
        cfg = G.cfg_combine(G.mixture_eps(MIX, x, ab), G.mixture_eps(MIX, x, ab, labels), s)
        np.testing.assert_allclose(cg.numpy(), cfg.numpy(), atol=1e-10)


def test_noised_tilt_matches_the_guided_score_only_at_s_0_and_1():
    x = torch.tensor([[0.3, -0.2], [1.5, 0.5], [-1.0, 1.2]], dtype=torch.float64)
    ab = 0.5
    for s, labels in [(0.0, None), (1.0, torch.zeros(3, dtype=torch.long))]:
        quad = G.noised_tilt_score(MIX, x, ab, 0, s)
        np.testing.assert_allclose(quad.numpy(), G.mixture_score(MIX, x, ab, labels).numpy(), atol=2e-5)
    labels = torch.zeros(3, dtype=torch.long)
    guided = _autograd_grad(lambda z: G.tilted_log_prob(MIX, z, ab, labels, 4.0), x)
    gap = (G.noised_tilt_score(MIX, x, ab, 0, 4.0) - guided).norm(dim=1).max()
    assert gap > 0.1, "at intermediate noise the guided score is not the noised tilt's score"
    # ... and at almost no noise the two agree
    tiny = 1 - 1e-3
    guided_tiny = _autograd_grad(lambda z: G.tilted_log_prob(MIX, z, tiny, labels, 4.0), x)
    quad_tiny = G.noised_tilt_score(MIX, x, tiny, 0, 4.0, grid_size=401)
    assert (quad_tiny - guided_tiny).norm(dim=1).max() < 0.05 * guided_tiny.norm(dim=1).max()


def test_tilt_grid_at_scale_one_has_the_class_moments():
    """pi_1 = p_0(x | c): its mean and tr Cov must match the class mixture's closed form."""
    y, v = G.tilt_grid(MIX, 1, 1.0)
    assert float(v.sum()) == pytest.approx(1.0, abs=1e-12)
    means, stds, w = MIX.class_components(1)
    mean = w @ means
    np.testing.assert_allclose((v @ y).numpy(), mean.numpy(), atol=1e-4)  # grid truncated at 4 sd
    trace = float(w @ (2 * stds**2 + (means**2).sum(1)) - mean @ mean)
    assert float(v @ ((y - v @ y) ** 2).sum(1)) == pytest.approx(trace, abs=1e-3)
    # a larger scale moves the tilt outward along the class's direction
    y3, v3 = G.tilt_grid(MIX, 1, 3.0)
    assert float((v3 @ y3).norm()) > float(mean.norm()) + 0.2


# ---------------------------------------------------------------- denoisers and sampling


def test_mixture_denoiser_uses_the_null_label_for_the_unconditional_prediction(x):
    den = G.MixtureDenoiser(MIX, AB)
    labels = torch.tensor([0, 3, 2, 3] * 10)
    out = den(x, 20, labels)
    ab = float(AB[20])
    null = labels == 3
    torch.testing.assert_close(out[null], G.mixture_eps(MIX, x[null], ab))
    torch.testing.assert_close(out[~null], G.mixture_eps(MIX, x[~null], ab, labels[~null]))


def test_exact_guided_sampling_adherence_rises_with_scale():
    den = G.MixtureDenoiser(MIX, AB)
    labels = torch.arange(3).repeat_interleave(100)
    adh = {s: G.class_adherence(MIX, G.guided_sample(den, labels, s, AB, n_steps=15), labels)
           for s in [0.0, 1.0, 4.0]}
    data, data_labels = MIX.sample(3000, seed=1)
    bayes_acc = G.class_adherence(MIX, data, data_labels)
    assert abs(adh[0.0] - 1 / 3) < 0.1           # unconditional: the class prior
    assert abs(adh[1.0] - bayes_acc) < 0.08       # conditional: the Bayes accuracy of real data
    assert adh[4.0] > 0.97
    again = G.guided_sample(den, labels[:5], 2.0, AB, n_steps=5, seed=3)
    assert torch.equal(again, G.guided_sample(den, labels[:5], 2.0, AB, n_steps=5, seed=3))


def test_training_the_conditional_denoiser_and_classifier_reduces_loss():
    data, labels = MIX.sample(2000, seed=0)
    model, hist = G.train_conditional_denoiser(data, labels, 3, AB, steps=60, hidden=16, progress=False)
    assert np.mean(hist["loss"][-20:]) < np.mean(hist["loss"][:20])
    assert model.null_label == 3
    eps = model(torch.zeros(4, 2), 10, torch.tensor([0, 1, 2, 3]))
    assert eps.shape == (4, 2) and torch.isfinite(eps).all()
    x = G.guided_sample(model, torch.tensor([0, 1]), 3.0, AB, n_steps=5)
    assert x.shape == (2, 2) and torch.isfinite(x).all()
    clf, chist = G.train_noisy_classifier(data, labels, 3, AB, steps=60, hidden=16, progress=False)
    assert np.mean(chist["loss"][-20:]) < math.log(3)
    x = G.classifier_guided_sample(model, clf, torch.tensor([0, 1]), 3.0, AB, n_steps=5)
    assert x.shape == (2, 2) and torch.isfinite(x).all()


# ---------------------------------------------------------------- metrics


def test_metrics_on_real_data():
    data, labels = MIX.sample(10_000, seed=2)
    tau = G.support_threshold(MIX, mass=0.99, n=10_000, seed=5)
    assert abs(G.off_support_fraction(MIX, data, tau) - 0.01) < 0.005
    post = G.class_log_posterior(MIX, data).exp()
    bayes_acc = float(post.max(1).values.mean())   # the Bayes accuracy, E[max_c p(c|x)]
    assert abs(G.class_adherence(MIX, data, labels) - bayes_acc) < 0.01
    # diversity of class 0 against the closed form tr Cov of its mixture
    means, stds, w = MIX.class_components(0)
    mean = (w[:, None] * means).sum(0)
    trace = float((w * (2 * stds**2 + (means**2).sum(1))).sum() - (mean**2).sum())
    assert abs(G.diversity(data[labels == 0]) - math.sqrt(trace)) < 0.03


def test_diversity_is_rms_distance_to_mean():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert G.diversity(x) == pytest.approx(2.5)
    assert G.diversity(torch.ones(5, 2)) == 0.0


def test_widget_spec_corners_are_finite_and_fast():
    (spec,) = G.widget_specs(n_per_class=30, n_steps=8)
    for values in spec.corners():
        numbers, fig = spec.callback(**values)
        assert not spec.clipped_labels(values), (spec.name, values, spec.clipped_labels(values))
        assert all(np.isfinite(v) for v in numbers.values())
        assert fig.axes and fig.axes[0].collections


# ---------------------------------------------------------------- bad input names the argument


def test_bad_inputs_name_the_argument():
    x = torch.zeros(3, 2, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2])
    nan = torch.tensor([[0.0, float("nan")]] * 3, dtype=torch.float64)
    # wrong shape
    with pytest.raises(ValueError, match="x"):
        G.mixture_log_prob(MIX, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="labels"):
        G.mixture_score(MIX, x, 0.5, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="eps_uncond and eps_cond"):
        G.cfg_combine(torch.zeros(3, 2), torch.zeros(2, 2), 1.0)
    with pytest.raises(ValueError, match="eps_uncond and grad_log_prob"):
        G.classifier_guidance(torch.zeros(3, 2), torch.zeros(3, 1), 1.0, 0.5)
    with pytest.raises(ValueError, match="scale"):
        G.cfg_combine(torch.zeros(3, 2), torch.zeros(3, 2), torch.ones(2))
    with pytest.raises(ValueError, match="x"):
        G.diversity(torch.zeros(3))
    with pytest.raises(ValueError, match="stds"):
        G.LabelledMixture(MIX.means, MIX.stds[:2], MIX.weights, MIX.classes, 3)
    # NaN / infinite
    for bad in [float("nan"), float("inf")]:
        with pytest.raises(ValueError, match="scale"):
            G.cfg_combine(torch.zeros(3, 2), torch.zeros(3, 2), bad)
        with pytest.raises(ValueError, match="scale"):
            G.tilted_log_prob(MIX, x, 0.5, labels, bad)
        with pytest.raises(ValueError, match="scale"):
            G.classifier_guidance(torch.zeros(3, 2), torch.zeros(3, 2), bad, 0.5)
        with pytest.raises(ValueError, match="scale"):
            G.guided_sample(G.MixtureDenoiser(MIX, AB), labels, bad, AB, n_steps=2)
    with pytest.raises(ValueError, match="x"):
        G.mixture_score(MIX, nan)
    with pytest.raises(ValueError, match="eps_cond"):
        G.cfg_combine(torch.zeros(3, 2), nan.float(), 1.0)
    with pytest.raises(ValueError, match="x"):
        G.off_support_fraction(MIX, nan, -5.0)
    with pytest.raises(ValueError, match="threshold"):
        G.off_support_fraction(MIX, x, float("nan"))
    # out of range
    with pytest.raises(ValueError, match="labels"):
        G.class_adherence(MIX, x, torch.tensor([0, 1, 3]))
    with pytest.raises(ValueError, match="labels"):
        G.guided_sample(G.MixtureDenoiser(MIX, AB), torch.tensor([0, 3]), 1.0, AB)
    with pytest.raises(ValueError, match="labels"):
        G.mixture_log_prob(MIX, x, 1.0, torch.tensor([0, -1, 2]))
    with pytest.raises(ValueError, match="alpha_bar"):
        G.mixture_eps(MIX, x, 1.0)
    with pytest.raises(ValueError, match="alpha_bar"):
        G.class_log_posterior(MIX, x, 1.5)
    with pytest.raises(ValueError, match="mass"):
        G.support_threshold(MIX, mass=1.0)
    with pytest.raises(ValueError, match="label"):
        G.noised_tilt_score(MIX, x, 0.5, 3, 1.0)
    with pytest.raises(ValueError, match="scale"):
        G.tilt_grid(MIX, 0, float("nan"))
    with pytest.raises(ValueError, match="grid_size"):
        G.tilt_grid(MIX, 0, 1.0, grid_size=3)
    with pytest.raises(ValueError, match="p_uncond"):
        G.train_conditional_denoiser(x, labels, 3, AB, p_uncond=1.5, steps=1, progress=False)
    with pytest.raises(ValueError, match="labels"):
        G.train_noisy_classifier(x, torch.tensor([0, 1, 5]), 3, AB, steps=1, progress=False)
    with pytest.raises(ValueError, match="n_steps"):
        G.guided_sample(G.MixtureDenoiser(MIX, AB), labels, 1.0, AB, n_steps=0)
    with pytest.raises(ValueError, match="weights"):
        G.LabelledMixture(MIX.means, MIX.stds, MIX.weights * 2, MIX.classes, 3)
    with pytest.raises(ValueError, match="classes"):
        G.LabelledMixture(MIX.means, MIX.stds, MIX.weights, MIX.classes, 4)
    with pytest.raises(ValueError, match="label"):
        G.guidance_view(1.0, 5, {"mix": MIX})
    with pytest.raises(TypeError, match="labels"):
        G.class_adherence(MIX, x, [0, 1, 2])


def test_every_equation_label_the_module_cites_is_defined_in_a_chapter():
    import re
    from pathlib import Path

    from bookkit.families import notebook_labels

    root = Path(__file__).resolve().parent.parent
    defined = set().union(*(notebook_labels(p) for p in (root / "book").glob("*.ipynb")))
    cited = set().union(*(re.findall(r"``(eq-[a-z0-9-]+)``", (root / "companion" / name).read_text())
                          for name in ["guidance.py", "guidance_remedies.py"]))
    assert cited and not cited - defined, f"cited but defined in no chapter: {sorted(cited - defined)}"


# ---------------------------------------------------------------- remedies at high scale (guidance_remedies)


def _pair(seed=5, shape=(30, 2)):
    g = np.random.default_rng(seed)
    return torch.from_numpy(g.normal(size=shape)), torch.from_numpy(g.normal(size=shape))


def test_cfg_rescale_at_phi_zero_is_plain_cfg_to_the_last_bit():
    u, c = _pair()
    for s in [0.0, 1.0, 3.0, 12.0]:
        assert torch.equal(G.cfg_rescale(u, c, s, 0.0), G.cfg_combine(u, c, s))


@pytest.mark.parametrize("shape", [(30, 2), (6, 3, 4, 4)])
def test_cfg_rescale_against_norms(shape):
    """Direct re-computation with per-sample Euclidean norms (rms ratio = norm ratio, same d)."""
    u, c = _pair(shape=shape)
    s, phi = 5.0, 0.7
    un, cn = u.numpy().reshape(shape[0], -1), c.numpy().reshape(shape[0], -1)
    guided = un + s * (cn - un)
    factor = phi * np.linalg.norm(cn, axis=1) / np.linalg.norm(guided, axis=1) + 1 - phi
    ref = (factor[:, None] * guided).reshape(shape)
    np.testing.assert_allclose(G.cfg_rescale(u, c, s, phi).numpy(), ref, rtol=1e-12, atol=1e-12)
    # phi = 1: the guided direction with the conditional size
    out = G.cfg_rescale(u, c, s, 1.0).reshape(shape[0], -1)
    np.testing.assert_allclose(out.norm(dim=1).numpy(), np.linalg.norm(cn, axis=1), rtol=1e-12)
    cos = (out.numpy() * guided).sum(1) / np.linalg.norm(guided, axis=1) / out.norm(dim=1).numpy()
    np.testing.assert_allclose(cos, 1.0, atol=1e-12)


def test_cfg_rescale_per_sample_scale_and_zero_guided():
    u, c = _pair(shape=(4, 2))
    scale = torch.tensor([0.0, 1.0, 4.0, 9.0], dtype=torch.float64)
    rows = torch.stack([G.cfg_rescale(u[i:i + 1], c[i:i + 1], float(scale[i]), 0.5)[0] for i in range(4)])
    torch.testing.assert_close(G.cfg_rescale(u, c, scale, 0.5), rows, rtol=1e-14, atol=1e-14)
    z = torch.zeros(1, 2, dtype=torch.float64)
    assert torch.equal(G.cfg_rescale(z, z, 7.0, 1.0), z)          # 0/0 is left at zero, not NaN


def test_noise_level_and_interval_scale():
    ab = AB.numpy()
    sigma = np.sqrt((1 - ab) / ab)
    np.testing.assert_allclose([G.noise_level(float(a)) for a in ab], sigma, rtol=1e-14)
    lo, hi = 0.3, 5.0
    got = np.array([G.interval_scale(float(a), 7.0, lo, hi) for a in ab])
    np.testing.assert_array_equal(got, np.where((sigma > lo) & (sigma <= hi), 7.0, 1.0))
    assert 0 < (got == 7.0).sum() < len(ab)                         # the interval splits the schedule
    scale = torch.tensor([2.0, 3.0])
    assert torch.equal(G.interval_scale(0.5, scale, 0.0, 10.0), scale)
    assert torch.equal(G.interval_scale(0.5, scale, 2.0, 10.0), torch.ones(2))


def test_interval_covering_every_step_is_plain_cfg_and_none_is_conditional():
    model, labels = G.MixtureDenoiser(MIX, AB), torch.tensor([0, 1, 2, 0])
    plain = G.guided_sample(model, labels, 6.0, AB, n_steps=10)
    cond = G.guided_sample(model, labels, 1.0, AB, n_steps=10)

    def limited(interval):
        return G.guided_sample_remedied(model, labels, 6.0, AB, n_steps=10, interval=interval)

    assert torch.equal(limited((0.0, 1e6)), plain)
    assert torch.equal(limited((1e5, 1e6)), cond)
    assert not torch.equal(limited((0.3, 5.0)), plain)


def test_dynamic_threshold_against_numpy_percentile():
    x0 = torch.from_numpy(np.random.default_rng(8).normal(scale=3.0, size=(50, 7)))
    for p, b in [(99.5, 1.0), (80.0, 2.0), (50.0, 0.5)]:
        xn = x0.numpy()
        rho = np.maximum(np.percentile(np.abs(xn), p, axis=1), b)[:, None]
        ref = np.clip(xn, -rho, rho) / rho * b
        out = G.dynamic_threshold(x0, p, b)
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)
        assert float(out.abs().max()) <= b * (1 + 1e-12)


def test_dynamic_threshold_below_the_bound_changes_nothing():
    x0 = torch.from_numpy(np.random.default_rng(9).uniform(-0.9, 0.9, size=(20, 2, 3, 3)))
    assert torch.equal(G.dynamic_threshold(x0, 99.5, 1.0), x0)
    assert torch.equal(G.dynamic_threshold(x0, 100.0, float(x0.abs().max())), x0)


def test_remedied_sampler_defaults_and_threshold_keep_the_output_in_the_box():
    model, labels = G.MixtureDenoiser(MIX, AB), torch.tensor([0, 1, 2, 0, 1, 2])
    plain = G.guided_sample(model, labels, 9.0, AB, n_steps=10, seed=4)
    assert torch.equal(G.guided_sample_remedied(model, labels, 9.0, AB, n_steps=10, seed=4), plain)
    # a threshold no sample reaches: the same samples, up to the round trip eps -> x0 -> eps
    far = G.guided_sample_remedied(model, labels, 9.0, AB, n_steps=10, seed=4, percentile=100.0, bound=1e3)
    torch.testing.assert_close(far, plain, rtol=0, atol=1e-9)
    # the last DDIM step returns the thresholded x0-hat, so every coordinate lies within the bound
    b = 1.5
    x = G.guided_sample_remedied(model, labels, 9.0, AB, n_steps=10, seed=4, percentile=100.0, bound=b)
    assert float(x.abs().max()) <= b + 1e-9 and float(plain.abs().max()) > b
