"""Chapter ch-gan invariants: the optimal discriminator, JS identity, stable losses, mode coverage."""

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.spatial.distance
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import gan


@pytest.fixture(scope="module")
def grid():
    """A fine 1-D grid with two known densities (a mixture and a Gaussian)."""
    x = np.linspace(-12.0, 12.0, 24001)
    dx = x[1] - x[0]
    p = 0.5 * scipy.stats.norm(-1.5, 0.5).pdf(x) + 0.5 * scipy.stats.norm(1.0, 0.8).pdf(x)
    q = scipy.stats.norm(0.0, 1.5).pdf(x)
    return x, dx, p, q


# ----------------------------------------------------------------- data and metric


def test_ring_of_gaussians_moments():
    x = gan.ring_of_gaussians(40_000, n_modes=8, radius=2.0, std=0.05, rng=3)
    c = gan.ring_centers(8, 2.0)
    assert x.shape == (40_000, 2)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.03)
    nearest = np.linalg.norm(x[:, None] - c[None], axis=2).argmin(axis=1)
    np.testing.assert_allclose(np.bincount(nearest) / len(x), 1 / 8, atol=0.01)
    resid = x - c[nearest]
    np.testing.assert_allclose(resid.std(axis=0), 0.05, rtol=0.03)


def test_mode_coverage_of_data_and_of_collapsed_samples():
    c, std = gan.ring_centers(), 0.05
    data = gan.ring_of_gaussians(2000, std=std, rng=0)
    out = gan.mode_coverage(data, c, std)
    assert out["modes_covered"] == 8 and out["max_share"] == pytest.approx(1 / 8, abs=0.03)
    assert out["high_quality"] == pytest.approx(1 - np.exp(-4.5), abs=0.015)  # chi-2 (2 dof) at 3 sigma
    collapsed = c[2] + std * np.random.default_rng(0).standard_normal((1000, 2))
    out = gan.mode_coverage(collapsed, c, std)
    assert out["modes_covered"] == 1 and out["counts"][2] > 900 and out["max_share"] == 1.0
    far = np.full((100, 2), 10.0)
    assert gan.mode_coverage(far, c, std)["high_quality"] == 0.0


# ----------------------------------------------------------------- losses


def test_losses_match_log_sigmoid_definitions():
    rng = np.random.default_rng(0)
    real, fake = torch.from_numpy(rng.normal(size=50)), torch.from_numpy(rng.normal(size=40))
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    ref = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    assert float(gan.discriminator_loss(real, fake)) == pytest.approx(float(ref), rel=1e-12)
    assert float(gan.generator_loss(fake, "saturating")) == pytest.approx(
        float(torch.log(1 - d_fake).mean()), rel=1e-12)
    assert float(gan.generator_loss(fake, "non_saturating")) == pytest.approx(
        float(-torch.log(d_fake).mean()), rel=1e-12)
    # NumPy in, NumPy out, same numbers.
    assert float(gan.discriminator_loss(real.numpy(), fake.numpy())) == pytest.approx(float(ref), rel=1e-12)


def test_discriminator_loss_is_binary_cross_entropy():
    rng = np.random.default_rng(1)
    real, fake = torch.from_numpy(rng.normal(size=30)), torch.from_numpy(rng.normal(size=30))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ref = bce(real, torch.ones(30, dtype=torch.float64)) + bce(fake, torch.zeros(30, dtype=torch.float64))
    assert float(gan.discriminator_loss(real, fake)) == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.parametrize("kind", ["saturating", "non_saturating"])
def test_losses_finite_with_exact_gradients_at_extreme_logits(kind):
    logits = torch.tensor([-100.0, -30.0, 0.0, 30.0, 100.0], dtype=torch.float64, requires_grad=True)
    loss_g = gan.generator_loss(logits, kind)
    loss_d = gan.discriminator_loss(logits, logits)
    assert torch.isfinite(loss_g) and torch.isfinite(loss_d)
    (grad,) = torch.autograd.grad(loss_g * len(logits), logits)
    assert torch.isfinite(grad).all()
    expected = gan.generator_loss_grad(logits.detach(), kind)
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-300)
    # The discriminator is confidently wrong at +-100: loss about 100 nats, not inf.
    wrong = gan.discriminator_loss(torch.tensor([-100.0]), torch.tensor([100.0]))
    assert float(wrong) == pytest.approx(200.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-60.0, 60.0), min_size=1, max_size=20))
def test_analytic_generator_gradients_match_autograd(values):
    logits = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    for kind in ("saturating", "non_saturating"):
        (grad,) = torch.autograd.grad(gan.generator_loss(logits, kind) * len(values), logits)
        expected = gan.generator_loss_grad(logits.detach(), kind)
        torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-14)
    # The two gradients are -D and -(1 - D): they always sum to -1.
    total = gan.generator_loss_grad(logits.detach(), "saturating") + gan.generator_loss_grad(logits.detach())
    torch.testing.assert_close(total, -torch.ones_like(total), rtol=0, atol=1e-12)


def test_saturating_gradient_vanishes_where_fakes_are_rejected():
    rejected = np.array([-8.0])
    sat = abs(gan.generator_loss_grad(rejected, "saturating")[0])
    ns = abs(gan.generator_loss_grad(rejected, "non_saturating")[0])
    assert sat < 4e-4 and ns > 0.999


# ----------------------------------------------------------------- optimum and divergence


def test_optimal_discriminator_formula_and_range(grid):
    _, dx, p, q = grid
    d = gan.optimal_discriminator(p, q, dx)
    np.testing.assert_allclose(d, p / (p + q), rtol=1e-12)
    assert d.min() >= 0 and d.max() <= 1
    np.testing.assert_allclose(gan.optimal_discriminator(p, p), 0.5)


def test_value_at_optimum_is_minus_log4_plus_twice_js(grid):
    _, dx, p, q = grid
    d_star = gan.optimal_discriminator(p, q, dx)
    value = gan.gan_value(p, q, d_star, dx)
    js = gan.js_divergence(p, q, dx)
    assert value == pytest.approx(-np.log(4.0) + 2.0 * js, abs=1e-6)
    # Independent JS: SciPy's Jensen-Shannon distance (a square root) on the same grid.
    js_scipy = scipy.spatial.distance.jensenshannon(p, q) ** 2
    assert js == pytest.approx(js_scipy, abs=1e-8)
    assert 0.0 < js < np.log(2.0)
    # Independent of the grid and of companion: both sides of eq-v-star by adaptive quadrature on the
    # continuous densities (quad asked for 1e-12), each integrand written from its own definition.
    pdf_p = lambda t: 0.5 * scipy.stats.norm(-1.5, 0.5).pdf(t) + 0.5 * scipy.stats.norm(1.0, 0.8).pdf(t)  # noqa: E731
    pdf_q = scipy.stats.norm(0.0, 1.5).pdf

    def quad(f):
        return scipy.integrate.quad(f, -12, 12, limit=200, epsabs=1e-12, epsrel=1e-12)[0]

    v_quad = quad(lambda t: pdf_p(t) * np.log(pdf_p(t) / (pdf_p(t) + pdf_q(t)))
                  + pdf_q(t) * np.log(pdf_q(t) / (pdf_p(t) + pdf_q(t))))
    m = lambda t: 0.5 * (pdf_p(t) + pdf_q(t))  # noqa: E731
    js_quad = quad(lambda t: 0.5 * pdf_p(t) * np.log(pdf_p(t) / m(t))
                   + 0.5 * pdf_q(t) * np.log(pdf_q(t) / m(t)))
    assert v_quad == pytest.approx(-np.log(4.0) + 2.0 * js_quad, abs=1e-9)
    assert value == pytest.approx(v_quad, abs=1e-6) and js == pytest.approx(js_quad, abs=1e-6)


def test_optimal_discriminator_maximises_the_value(grid):
    _, dx, p, q = grid
    d_star = gan.optimal_discriminator(p, q, dx)
    best = gan.gan_value(p, q, d_star, dx)
    rng = np.random.default_rng(0)
    for _ in range(5):
        perturbed = np.clip(d_star + 0.05 * rng.standard_normal(d_star.shape), 1e-6, 1 - 1e-6)
        assert gan.gan_value(p, q, perturbed, dx) < best
    # Pointwise, a numerical maximiser of a log y + b log(1 - y) lands on D* (eq-d-star).
    for i in np.linspace(0, len(p) - 1, 25).astype(int):
        y = scipy.optimize.minimize_scalar(lambda y, a=p[i], b=q[i]: -(a * np.log(y) + b * np.log1p(-y)),
                                           bounds=(1e-12, 1 - 1e-12), method="bounded",
                                           options={"xatol": 1e-12}).x
        assert y == pytest.approx(d_star[i], abs=1e-6)
    assert gan.gan_value(p, q, np.full_like(p, 0.5), dx) == pytest.approx(-np.log(4.0), abs=1e-9)


def test_js_limits(grid):
    _, dx, p, q = grid
    assert gan.js_divergence(p, p, dx) == pytest.approx(0.0, abs=1e-12)
    x = (np.arange(4000) + 0.5) / 1000
    a, b = np.where(x < 1, 1.0, 0.0), np.where(x >= 3, 1.0, 0.0)
    assert gan.js_divergence(a, b, 1e-3) == pytest.approx(np.log(2.0), abs=1e-12)
    assert gan.js_divergence(p, q, dx) == pytest.approx(gan.js_divergence(q, p, dx), abs=1e-12)


def test_trained_discriminator_approaches_d_star():
    x = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    p = 0.5 * scipy.stats.norm(-1.5, 0.5).pdf(x.numpy()) + 0.5 * scipy.stats.norm(1.0, 0.8).pdf(x.numpy())
    q = scipy.stats.norm(0.0, 1.5).pdf(x.numpy())
    d_star = gan.optimal_discriminator(p, q)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    disc = gan.Discriminator(data_dim=1, hidden=32)
    weight = 0.5 * (p + q) / (0.5 * (p + q)).sum()

    def distance_and_shortfall():
        with torch.no_grad():
            d = torch.sigmoid(disc(x[:, None].float())).double().numpy()
        shortfall = gan.gan_value(p, q, d_star, 0.01, tol=2e-2) - gan.gan_value(p, q, d, 0.01, tol=2e-2)
        return float((weight * np.abs(d - d_star)).sum()), shortfall

    err0, short0 = distance_and_shortfall()
    opt = torch.optim.Adam(disc.parameters(), lr=5e-3)
    for _ in range(300):
        k = rng.integers(0, 2, 512)
        real = np.where(k == 0, rng.normal(-1.5, 0.5, 512), rng.normal(1.0, 0.8, 512))
        fake = rng.normal(0.0, 1.5, 512)
        loss = gan.discriminator_loss(disc(torch.tensor(real[:, None], dtype=torch.float32)),
                                      disc(torch.tensor(fake[:, None], dtype=torch.float32)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    err, short = distance_and_shortfall()
    # Closer to D* than before training (a fifth of the distance), and most of the value recovered.
    assert err < 0.05 and err < err0 / 5 and short < short0 / 20


# ----------------------------------------------------------------- Wasserstein


def test_gradient_penalty_of_linear_critic_is_exact():
    lin = torch.nn.Linear(3, 1, bias=True).double()
    critic = lambda x: lin(x).squeeze(-1)  # noqa: E731
    real, fake = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 3, dtype=torch.float64)
    w = lin.weight.detach().norm()
    gp = gan.gradient_penalty(critic, real, fake, weight=10.0)
    assert gp.item() == pytest.approx(float(10.0 * (w - 1) ** 2), rel=1e-10)


def test_wasserstein_critic_loss_sign():
    assert float(gan.wasserstein_critic_loss(np.array([1.0, 3.0]), np.array([0.0]))) == -2.0


def test_wgan_gp_critic_estimates_w1_of_a_translation():
    # W1(p, p shifted by a) = |a| for any p: the critic's gap must approach |a|.
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    a = torch.tensor([1.5, -1.0])
    critic = gan.Discriminator(data_dim=2, hidden=32)
    opt = torch.optim.Adam(critic.parameters(), lr=2e-3, betas=(0.5, 0.9))
    for _ in range(250):
        real = torch.randn(256, 2, generator=gen)
        fake = torch.randn(256, 2, generator=gen) + a
        loss = gan.wasserstein_critic_loss(critic(real), critic(fake)) + gan.gradient_penalty(
            critic, real, fake, generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        real, fake = torch.randn(20000, 2, generator=gen), torch.randn(20000, 2, generator=gen) + a
        gaps = (critic(real) - critic(fake)).double()  # E_data f - E_g f on fresh draws, not via the loss
    est, se = float(gaps.mean()), float(gaps.std() / len(gaps) ** 0.5)
    w1 = float(a.norm())
    # The penalty is soft: for a linear critic f = -k a.x/|a| the penalised objective k|a| - 10 (k - 1)^2
    # peaks at k = 1 + |a|/20, so the penalised optimum estimates |a| (1 + |a|/20), not |a|.
    assert est == pytest.approx(w1 * (1 + w1 / 20), abs=4 * se)
    assert est - w1 > 4 * se


# ----------------------------------------------------------------- models, training, widgets


def test_train_gan_history_and_determinism():
    data = gan.ring_of_gaussians(512, rng=0)
    kwargs = dict(steps=30, eval_every=10, n_eval=200, hidden=16, batch_size=64, progress=False)
    a, b = gan.train_gan(data, seed=1, **kwargs), gan.train_gan(data, seed=1, **kwargs)
    h = a.history
    assert h["step"] == [0, 10, 20, 30]
    assert set(h) >= {"modes_covered", "high_quality", "max_share", "d_loss", "g_loss", "samples"}
    assert all(0 <= m <= 8 for m in h["modes_covered"]) and all(0 <= v <= 1 for v in h["high_quality"])
    assert np.isfinite(h["d_loss"][1:]).all() and h["samples"][-1].shape == (200, 2)
    np.testing.assert_array_equal(h["samples"][-1], b.history["samples"][-1])
    wgan = gan.train_gan(data, loss="wgan_gp", seed=1, **kwargs)
    assert np.isfinite(wgan.history["d_loss"][1:]).all()


def test_generator_and_discriminator_shapes():
    g, d = gan.Generator(3, 8, 2), gan.Discriminator(2, 8)
    assert g(torch.zeros(4, 3)).shape == (4, 2) and d(g.sample(5)).shape == (5,)


def _tiny_runs():
    data = gan.ring_of_gaussians(256, rng=0)
    return gan.dynamics_runs(data, steps=4, eval_every=2, n_eval=50, hidden=8, progress=False)


def test_widget_specs_at_every_corner():
    specs = gan.widget_specs(runs=_tiny_runs())
    assert [s.name for s in specs] == ["gan-generator-losses", "gan-training-dynamics"]
    for spec in specs:
        assert len(spec.grid()) <= 200
        for values in spec.corners():
            numbers, fig = spec.callback(**values)
            assert not spec.clipped_labels(values), (spec.name, values, spec.clipped_labels(values))
            assert fig.axes and all(ax.has_data() for ax in fig.axes[:2])
            assert all(np.isfinite(v) for v in numbers.values())


def test_generator_loss_view_numbers():
    numbers, _ = gan.generator_loss_view(-10.0)
    assert numbers["dL_ns/dl"] == pytest.approx(-1 + 1 / (1 + np.exp(10)), rel=1e-12)
    assert numbers["dL_sat/dl"] == pytest.approx(-1 / (1 + np.exp(10)), rel=1e-12)
    assert numbers["L_sat"] == pytest.approx(np.log(1 - numbers["D"]), rel=1e-9)


# ----------------------------------------------------------------- bad input


def test_bad_input_names_the_argument(grid):
    _, dx, p, q = grid
    nan = np.array([0.0, np.nan])
    with pytest.raises(ValueError, match="real_logits"):
        gan.discriminator_loss(np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="fake_logits"):
        gan.discriminator_loss(np.zeros(2), nan)
    with pytest.raises(ValueError, match="fake_logits"):
        gan.generator_loss(nan)
    with pytest.raises(ValueError, match="fake_logits"):
        gan.generator_loss(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="kind"):
        gan.generator_loss(np.zeros(2), kind="minimax")
    with pytest.raises(ValueError, match="fake_logits"):
        gan.generator_loss_grad(nan)
    with pytest.raises(ValueError, match="kind"):
        gan.generator_loss_grad(np.zeros(2), kind="other")
    # Densities: negative, not normalised, NaN, wrong shape.
    with pytest.raises(ValueError, match="p_data: expected values >= 0"):
        gan.optimal_discriminator(-p, q)
    with pytest.raises(ValueError, match="p_model: expected a density that integrates to 1"):
        gan.optimal_discriminator(p, 2 * q, dx)
    with pytest.raises(ValueError, match="p_data and p_model"):
        gan.optimal_discriminator(p, q[:-1])
    with pytest.raises(ValueError, match="p_data"):
        gan.optimal_discriminator(nan, nan)
    with pytest.raises(ValueError, match="q: expected a density"):
        gan.js_divergence(p, 0.5 * q, dx)
    with pytest.raises(ValueError, match="p: expected values >= 0"):
        gan.js_divergence(-p, q, dx)
    with pytest.raises(ValueError, match="p"):
        gan.js_divergence(p[None], q, dx)
    with pytest.raises(ValueError, match="dx"):
        gan.js_divergence(p, q, -dx)
    with pytest.raises(ValueError, match="dx"):
        gan.js_divergence(p, q, float("nan"))
    with pytest.raises(ValueError, match="discriminator: expected values in"):
        gan.gan_value(p, q, np.full_like(p, 1.5), dx)
    with pytest.raises(ValueError, match="discriminator"):
        gan.gan_value(p, q, np.full(3, 0.5), dx)
    with pytest.raises(ValueError, match="discriminator"):
        gan.gan_value(p, q, np.full_like(p, np.nan), dx)
    # Metric, data, training.
    c = gan.ring_centers()
    with pytest.raises(ValueError, match="samples"):
        gan.mode_coverage(np.zeros((5, 3)), c, 0.05)
    with pytest.raises(ValueError, match="samples"):
        gan.mode_coverage(np.full((5, 2), np.nan), c, 0.05)
    with pytest.raises(ValueError, match="std"):
        gan.mode_coverage(np.zeros((5, 2)), c, -1.0)
    with pytest.raises(ValueError, match="n_modes"):
        gan.ring_of_gaussians(10, n_modes=0)
    with pytest.raises(ValueError, match="std"):
        gan.ring_of_gaussians(10, std=float("nan"))
    with pytest.raises(ValueError, match="radius"):
        gan.ring_centers(8, -1.0)
    with pytest.raises(ValueError, match="data"):
        gan.train_gan(np.zeros(10), progress=False)
    with pytest.raises(ValueError, match="data"):
        gan.train_gan(np.full((10, 2), np.nan), progress=False)
    with pytest.raises(ValueError, match="lr_g"):
        gan.train_gan(np.zeros((10, 2)), lr_g=0.0, progress=False)
    with pytest.raises(ValueError, match="loss"):
        gan.train_gan(np.zeros((10, 2)), loss="hinge", progress=False)
    with pytest.raises(ValueError, match="real_scores"):
        gan.wasserstein_critic_loss(np.full(2, np.nan), np.zeros(2))
    with pytest.raises(ValueError, match="real and fake"):
        gan.gradient_penalty(lambda x: x.sum(1), torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="weight"):
        gan.gradient_penalty(lambda x: x.sum(1), torch.zeros(3, 2), torch.zeros(3, 2), weight=-1.0)
    with pytest.raises(ValueError, match="logit"):
        gan.generator_loss_view(float("nan"))
    with pytest.raises(ValueError, match="checkpoint"):
        gan.training_dynamics_view(_tiny_runs(), 1e-3, 1e-3, 99)
    with pytest.raises(ValueError, match="lr_g"):
        gan.training_dynamics_view(_tiny_runs(), 0.5, 1e-3, 0)
