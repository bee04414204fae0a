"""Chapter ``ch-flows`` invariants: change of variables, coupling layers, exact likelihood (float64)."""

import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import flows as Fl
from companion.distributions import log_prob_change_of_variables_1d, normal_log_prob

D64 = torch.float64


def _randomize(module, seed=0, std=0.5):
    """Non-trivial weights, so a layer is far from the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def _layers():
    return [
        _randomize(Fl.AffineCoupling(2, [1, 0], hidden=8).double(), 1),
        _randomize(Fl.AffineCoupling(3, [0, 1, 0], hidden=8).double(), 2),
        _randomize(Fl.SplineCoupling(2, [0, 1], hidden=8, n_bins=5).double(), 3, std=1.0),
        _randomize(Fl.SplineCoupling(3, [1, 1, 0], hidden=8, n_bins=4, bound=2.0).double(), 4, std=1.0),
    ]


# ------------------------------------------------------------------ data


def test_two_moons_is_reproducible_and_centred():
    a, b = Fl.sample_two_moons(2000, rng=3), Fl.sample_two_moons(2000, rng=3)
    assert a.shape == (2000, 2) and np.array_equal(a, b)
    assert np.all(np.abs(a.mean(axis=0)) < 0.1) and np.all(a.std(axis=0) < 1.5)
    clean = Fl.sample_two_moons(100, noise=0.0, rng=0) / 1.5 + np.array([0.5, 0.25])
    up, low = clean[:50], clean[50:]
    np.testing.assert_allclose(np.hypot(up[:, 0], up[:, 1]), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.hypot(low[:, 0] - 1.0, low[:, 1] - 0.5), 1.0, atol=1e-12)


def test_checkerboard_is_uniform_on_dark_squares():
    x = Fl.sample_checkerboard(80_000, rng=0)
    assert np.all(np.abs(x) <= 2)
    cells = np.floor(x).astype(int)
    assert np.all((cells[:, 0] + cells[:, 1]) % 2 == 0)
    counts = np.unique(cells, axis=0, return_counts=True)[1]
    assert len(counts) == 8 and np.all(np.abs(counts / len(x) - 1 / 8) < 0.01)


# ------------------------------------------------------ change of variables


def _sinh_banana(a):
    """A known non-triangular invertible map with a non-constant Jacobian, and its inverse."""
    A = torch.tensor(a, dtype=D64)

    def forward(z):
        u = z @ A.T
        return torch.stack([torch.sinh(u[:, 0]), u[:, 1] + 0.5 * u[:, 0] ** 2 - 1.0], dim=1)

    def inverse(x):
        u1 = torch.asinh(x[:, 0])
        u = torch.stack([u1, x[:, 1] - 0.5 * u1**2 + 1.0], dim=1)
        log_det = -0.5 * torch.log1p(x[:, 0] ** 2) - torch.linalg.slogdet(A).logabsdet
        return torch.linalg.solve(A, u.T).T, log_det

    return forward, inverse


def test_change_of_variables_matches_a_gaussian_for_a_linear_map():
    A = torch.tensor([[1.5, 0.3], [-0.4, 0.8]], dtype=D64)
    b = torch.tensor([0.5, -1.0], dtype=D64)
    x = torch.randn(50, 2, dtype=D64, generator=torch.Generator().manual_seed(0))
    lp = Fl.log_prob_change_of_variables(
        x, lambda x: (torch.linalg.solve(A, (x - b).T).T, -torch.linalg.slogdet(A).logabsdet.expand(len(x))))
    ref = scipy.stats.multivariate_normal(b.numpy(), (A @ A.T).numpy()).logpdf(x.numpy())
    np.testing.assert_allclose(lp.numpy(), ref, rtol=1e-12)


def test_change_of_variables_integrates_to_one_and_matches_autograd():
    forward, inverse = _sinh_banana([[1.0, 0.0], [0.6, 0.5]])
    g1, g2 = torch.linspace(-40, 40, 1601, dtype=D64), torch.linspace(-8, 16, 481, dtype=D64)
    grid = torch.cartesian_prod(g1, g2)
    p = Fl.log_prob_change_of_variables(grid, inverse).exp().reshape(len(g1), len(g2))
    mass = torch.trapezoid(torch.trapezoid(p, g2, dim=1), g1)
    assert abs(float(mass) - 1.0) < 1e-3
    x = forward(torch.randn(20, 2, dtype=D64, generator=torch.Generator().manual_seed(1)))
    ref = Fl.log_abs_det_jacobian(lambda v: inverse(v[None])[0][0], x)
    torch.testing.assert_close(inverse(x)[1], ref, rtol=0, atol=1e-10)
    z = torch.randn(20, 2, dtype=D64, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(inverse(forward(z))[0], z, rtol=0, atol=1e-12)


def test_one_d_and_n_d_formulas_agree():
    # the n-D formula in one dimension is the 1-D formula of chapter 0
    y = torch.linspace(0.05, 8, 50, dtype=D64)[:, None]
    nd = Fl.log_prob_change_of_variables(y, lambda y: (torch.log(y), -torch.log(y[:, 0])))
    one = log_prob_change_of_variables_1d(y[:, 0].numpy(), np.log, lambda y: -np.log(y),
                                          lambda x: normal_log_prob(x, 0.0, 1.0))
    np.testing.assert_allclose(nd.numpy(), one, rtol=1e-12)


def test_log_abs_det_jacobian_of_a_linear_map():
    A = torch.tensor([[2.0, 1.0, 0.0], [0.5, -3.0, 1.0], [0.0, 0.2, 1.5]], dtype=D64)
    out = Fl.log_abs_det_jacobian(lambda v: A @ v, torch.randn(4, 3, dtype=D64))
    torch.testing.assert_close(out, torch.full((4,), math.log(abs(float(torch.linalg.det(A)))), dtype=D64))


def test_standard_normal_log_prob_matches_scipy():
    z = torch.randn(10, 3, dtype=D64)
    ref = scipy.stats.multivariate_normal(np.zeros(3), np.eye(3)).logpdf(z.numpy())
    np.testing.assert_allclose(Fl.standard_normal_log_prob(z).numpy(), ref, rtol=1e-12)


# ------------------------------------------------------------ coupling layers


@pytest.mark.parametrize("idx", range(4))
def test_coupling_round_trip_and_log_det_match_autograd(idx):
    layer = _layers()[idx]
    layer.requires_grad_(False)
    dim = layer.dim
    x = 1.5 * torch.randn(16, dim, dtype=D64, generator=torch.Generator().manual_seed(idx))
    y, ld = layer(x)
    x_back, ld_inv = layer.inverse(y)
    assert float((x_back - x).abs().max()) < 1e-10
    assert float((ld + ld_inv).abs().max()) < 1e-10
    ref = Fl.log_abs_det_jacobian(lambda v: layer(v[None])[0][0], x)
    assert float((ld - ref).abs().max()) < 1e-8
    ref_inv = Fl.log_abs_det_jacobian(lambda v: layer.inverse(v[None])[0][0], y)
    assert float((ld_inv - ref_inv).abs().max()) < 1e-8
    kept = layer.mask.bool()
    assert torch.equal(y[:, kept], x[:, kept])  # kept coordinates pass unchanged
    assert float(ld.abs().max()) > 1e-3  # far from the identity: the check is not vacuous


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), spread=st.floats(0.1, 6.0))
def test_spline_is_monotone_invertible_and_its_log_derivative_is_exact(seed, spread):
    g = torch.Generator().manual_seed(seed)
    n, K = 64, 6
    x = spread * torch.randn(n, dtype=D64, generator=g)
    w, h, d = (3 * torch.randn(n, k, dtype=D64, generator=g) for k in (K, K, K - 1))
    y, ld = Fl.rational_quadratic_spline(x, w, h, d, bound=3.0)
    x_back, ld_inv = Fl.rational_quadratic_spline(y, w, h, d, bound=3.0, inverse=True)
    # round-off in y is magnified by the inverse's slope dx/dy = exp(-ld) where the spline is flat
    assert bool(((x_back - x).abs() <= 1e-12 * (1 + torch.exp(-ld))).all())
    # the inverse's log-derivative is evaluated at y, so the same magnification applies to it
    # (worst seen over 12,000 draws: 1.8e-9 absolute, 1.02e-10 relative to 1 + exp(-ld))
    assert bool(((ld + ld_inv).abs() <= 1e-9 * (1 + torch.exp(-ld))).all())
    # elementwise map: its derivative by autograd
    xr = x.clone().requires_grad_(True)
    grad = torch.autograd.grad(Fl.rational_quadratic_spline(xr, w, h, d, bound=3.0)[0].sum(), xr)[0]
    assert float((ld - grad.log()).abs().max()) < 1e-8
    # monotone along a sorted grid with the same parameters
    xs = torch.linspace(-4, 4, 200, dtype=D64)
    ys = Fl.rational_quadratic_spline(xs, w[:1].expand(200, K), h[:1].expand(200, K),
                                      d[:1].expand(200, K - 1))[0]
    assert bool((ys[1:] > ys[:-1]).all())


def test_spline_maps_knots_to_knots_and_is_identity_outside():
    w = torch.zeros(3, 4, dtype=D64)  # equal bins of width 1.5 on [-3, 3]
    h = torch.tensor([[0.0, math.log(3.0), 0.0, 0.0]] * 3, dtype=D64)  # second bin three times taller
    d = torch.zeros(3, 3, dtype=D64)
    x = torch.tensor([-1.5, 5.0, -3.5], dtype=D64)
    y, ld = Fl.rational_quadratic_spline(x, w, h, d, bound=3.0, min_bin=0.0 + 1e-12)
    torch.testing.assert_close(y[0], torch.tensor(-3.0 + 6 * 1 / 6, dtype=D64))  # first knot: 6 * (1/6) - 3
    assert float(y[1]) == 5.0 and float(y[2]) == -3.5 and float(ld[1]) == 0.0


def test_spline_extreme_inputs_stay_finite():
    x = torch.tensor([-1e6, -3.0, -2.999999, 0.0, 2.999999, 3.0, 1e6], dtype=D64)
    n = len(x)
    for scale in (0.0, 30.0):
        w, h, d = (scale * torch.randn(n, k, dtype=D64) for k in (8, 8, 7))
        for inv in (False, True):
            y, ld = Fl.rational_quadratic_spline(x, w, h, d, inverse=inv)
            assert torch.isfinite(y).all() and torch.isfinite(ld).all()


def test_affine_coupling_scale_is_bounded_so_extreme_inputs_stay_finite():
    layer = _randomize(Fl.AffineCoupling(2, [1, 0], scale_bound=2.0).double(), 0, std=50.0)
    x = torch.tensor([[1e3, 1.0], [-1e3, -1.0], [0.0, 1e6]], dtype=D64)
    y, ld = layer(x)
    assert torch.isfinite(y).all() and float(ld.detach().abs().max()) <= 2.0
    with pytest.raises(ValueError, match="scale_bound: expected > 0"):
        Fl.AffineCoupling(2, [1, 0], scale_bound=0.0)


def test_permutation():
    p = Fl.Permutation([2, 0, 1])
    x = torch.arange(6.0).reshape(2, 3)
    y, ld = p(x)
    assert torch.equal(y, x[:, [2, 0, 1]]) and torch.equal(p.inverse(y)[0], x) and float(ld.abs().sum()) == 0
    with pytest.raises(ValueError, match="perm: expected a permutation"):
        Fl.Permutation([0, 0])


# ----------------------------------------------------------------------- flows


def test_flow_log_det_matches_autograd_and_density_integrates_to_one():
    flow = Fl.make_flow(n_layers=4, kind="affine", hidden=8, seed=0).double()
    _randomize(flow, 5, std=0.4).requires_grad_(False)
    z = torch.randn(10, 2, dtype=D64, generator=torch.Generator().manual_seed(0))
    x, ld = flow(z)
    z_back, ld_inv = flow.inverse(x)
    assert float((z_back - z).abs().max()) < 1e-10
    ref = Fl.log_abs_det_jacobian(lambda v: flow.inverse(v[None])[0][0], x)
    assert float((ld_inv - ref).abs().max()) < 1e-8 and float((ld + ld_inv).abs().max()) < 1e-10
    torch.testing.assert_close(flow.log_prob(x), Fl.standard_normal_log_prob(z) - ld)
    # normalised: integrate exp(log p) on a wide grid
    g = torch.linspace(-12, 12, 481, dtype=D64)
    grid = torch.cartesian_prod(g, g)
    with torch.no_grad():
        p = flow.log_prob(grid).exp().reshape(len(g), len(g))
    mass = float(torch.trapezoid(torch.trapezoid(p, g, dim=1), g))
    assert abs(mass - 1.0) < 1e-3


def test_flow_trajectory_ends_at_the_samples():
    flow = Fl.make_flow(n_layers=3, kind="spline", hidden=8, n_bins=4, seed=1).double()
    _randomize(flow, 2, std=0.5)
    z = torch.randn(7, 2, dtype=D64)
    states = flow.trajectory(z)
    assert len(states) == 4 and torch.equal(states[0], z[:, [0, 1]])  # two reversals cancel
    torch.testing.assert_close(states[-1], flow(z)[0])


def test_training_lowers_held_out_nll_and_beats_a_gaussian():
    train, test = Fl.sample_two_moons(2000, rng=1), Fl.sample_two_moons(1000, rng=2)
    flow = Fl.make_flow(n_layers=4, hidden=16, seed=0)
    before = Fl.negative_log_likelihood(flow, test)
    hist = Fl.train_flow(flow, train, steps=150, batch_size=128, lr=1e-2, seed=0, progress=False)
    after = Fl.negative_log_likelihood(flow, test)
    gauss = -scipy.stats.multivariate_normal(train.mean(0), np.cov(train.T)).logpdf(test).mean()
    assert set(hist) == {"step", "loss"} and len(hist["loss"]) == 150
    assert np.mean(hist["loss"][-10:]) < np.mean(hist["loss"][:10])
    assert after < before and after < gauss
    s = flow.sample(50, generator=torch.Generator().manual_seed(0))
    assert s.shape == (50, 2) and torch.isfinite(s).all()


def test_training_is_reproducible():
    data = Fl.sample_checkerboard(500, rng=0)
    runs = []
    for _ in range(2):
        flow = Fl.make_flow(n_layers=2, kind="spline", hidden=8, n_bins=4, seed=3)
        runs.append(Fl.train_flow(flow, data, steps=5, batch_size=64, seed=7, progress=False)["loss"])
    assert runs[0] == runs[1]


# -------------------------------------------------------------- the 1-D flow and widgets


def test_flow_1d_round_trip_density_and_histogram():
    rng = np.random.default_rng(0)
    shift, scale, bend = 0.5, 1.5, -0.6
    z = rng.normal(size=200_000)
    x = Fl.flow_1d_forward(z, shift, scale, bend)
    np.testing.assert_allclose(Fl.flow_1d_inverse(x, shift, scale, bend)[0], z, atol=1e-10)
    xr = torch.tensor(x[:50], requires_grad=True)
    u = (xr - shift) / scale
    g = torch.autograd.grad((u + bend * torch.tanh(u)).sum(), xr)[0]
    np.testing.assert_allclose(Fl.flow_1d_inverse(x[:50], shift, scale, bend)[1], g.log().numpy(), atol=1e-12)
    edges = np.linspace(-4, 5, 46)
    hist = np.histogram(x, bins=edges)[0] / (len(x) * np.diff(edges))
    fine = np.linspace(-4, 5, 4501)
    p = np.exp(normal_log_prob(Fl.flow_1d_inverse(fine, shift, scale, bend)[0], 0.0, 1.0)
               + Fl.flow_1d_inverse(fine, shift, scale, bend)[1])
    bin_avg = np.array([p[100 * i: 100 * i + 101].mean() for i in range(45)])
    assert np.max(np.abs(hist - bin_avg)) < 0.01


def test_flow_1d_view_mass_and_corners():
    numbers, _ = Fl.flow_1d_view(0.0, 2.0, 0.0)
    assert numbers["mass with Jacobian"] == pytest.approx(1.0, abs=1e-6)
    assert numbers["mass without Jacobian"] == pytest.approx(2.0, abs=1e-4)
    spec = Fl.widget_specs(Fl.make_flow(n_layers=2, hidden=8), n_points=200)[0]
    assert len(spec.grid()) <= 200
    for values in spec.corners():
        numbers, fig = spec.callback(**values)
        assert not spec.clipped_labels(values), (spec.name, values, spec.clipped_labels(values))
        assert fig.axes and all(np.isfinite(v) for v in numbers.values())
        assert numbers["mass with Jacobian"] == pytest.approx(1.0, abs=1e-3)
        expected = np.log1p(values["bend"]) - np.log(values["scale"])
        assert numbers["log|dz/dx| at x = shift"] == pytest.approx(expected, abs=1e-12)


def test_flow_1d_view_keeps_every_curve_clear_of_the_title_and_the_key():
    """Issue 17, item 13: at some positions the Jacobian curve ran off the top of the axes into the title."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    spec = Fl.flow_1d_widget_spec()
    for values in spec.grid():
        _, fig = spec.callback(**values)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        (ax,) = fig.axes
        frame, title = ax.get_window_extent(renderer), ax.title.get_window_extent(renderer)
        key, axis = ax.get_legend().get_window_extent(renderer), ax.xaxis.get_tightbbox(renderer)
        assert title.y0 >= frame.y1 and not key.overlaps(frame) and not key.overlaps(axis), values
        assert 0 <= key.x0 and key.x1 <= fig.bbox.width and key.y0 >= 0, values  # the key is in the picture
        for line in ax.get_lines():
            drawn = line.get_window_extent(renderer)  # the whole curve, as if nothing were clipped
            assert drawn.y1 < frame.y1 - 3 and not drawn.overlaps(title), (values, line.get_label())


def test_widget_specs_at_their_corners():
    flow = Fl.make_flow(n_layers=3, hidden=8, seed=0)
    specs = Fl.widget_specs(flow, n_points=300)
    assert [s.name for s in specs] == ["flow-1d-density", "flow-layers"]
    for spec in specs:
        assert len(spec.grid()) <= 200
        for values in spec.corners():
            numbers, fig = spec.callback(**values)
            assert not spec.clipped_labels(values), (spec.name, values, spec.clipped_labels(values))
            assert fig.axes and all(np.isfinite(v) for v in numbers.values())
    with pytest.raises(ValueError, match="layer: expected an integer <= 3"):
        specs[1].callback(layer=4)
    with pytest.raises(ValueError, match="flow: expected a 2-D Flow"):
        Fl.widget_specs(Fl.make_flow(dim=3, n_layers=1, hidden=4))


def test_a_flow_checks_its_input_once_and_its_layers_shapes_at_every_step():
    """Issue 16: a Flow validates its input once and runs the layers' unchecked kernels; the
    answers are those of the checked layers, bit for bit, and a layer that changes the shape
    is still caught (a shape comparison scans no data)."""
    from companion import validation

    flow = Fl.make_flow(2, 3, kind="spline", hidden=8, seed=0).double()
    x = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fast = flow.log_prob(x), flow(x)[0]
    validation.CHECK_EVERY_CALL = True
    try:
        slow = flow.log_prob(x), flow(x)[0]
    finally:
        validation.CHECK_EVERY_CALL = False
    assert all(torch.equal(a, b) for a, b in zip(fast, slow, strict=True))
    by_hand = x  # the checked layers one by one
    total = torch.zeros(50, dtype=torch.float64)
    for layer in reversed(flow.layers):
        by_hand, ld = layer.inverse(by_hand)
        total = total + ld
    assert torch.equal(fast[0], Fl.standard_normal_log_prob(by_hand) + total)
    with pytest.raises(ValueError, match="x: expected finite"):
        flow.log_prob(x.clone().fill_(float("nan")))

    class Widen(torch.nn.Module):  # a layer of the wrong dimension, with no kernels of its own
        dim = 2

        def forward(self, h):
            return torch.cat([h, h], dim=1), h.new_zeros(h.shape[0])

        inverse = forward

    bad = Fl.Flow([Fl.Permutation([1, 0]), Widen()], dim=2)
    with pytest.raises(ValueError, match="layers: Widen returned shape"):
        bad.log_prob(x)
    with pytest.raises(ValueError, match="layers: Widen returned shape"):
        bad(x)
