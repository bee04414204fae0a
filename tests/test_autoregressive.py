"""Chapter ``ch-flows``: MADE, MAF and IAF (against zuko), dequantisation and bits per dimension."""

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from companion import autoregressive as AR
from companion import flows as Fl

D64 = torch.float64
ZUKO_LIMIT = -math.log(1e-3)  # zuko's MonotonicAffineTransform soft-clips its log-scale to (-limit, limit)


def _randomize(module, seed=0, std=0.5):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module.requires_grad_(False)


# ------------------------------------------------------------------------ MADE


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), dim=st.integers(2, 7), widths=st.lists(st.integers(1, 12), min_size=1,
                                                                            max_size=3))
def test_made_output_depends_only_on_earlier_inputs(seed, dim, widths):
    order = torch.randperm(dim, generator=torch.Generator().manual_seed(seed))
    net = _randomize(AR.MADE(order, widths).double(), seed)
    x = torch.randn(dim, dtype=D64, generator=torch.Generator().manual_seed(seed + 1))
    jac = torch.autograd.functional.jacobian(lambda v: net(v[None])[0], x)  # (dim, 2, dim)
    allowed = order[None, :] < order[:, None]  # allowed[i, j]: j precedes i
    assert float(jac.abs().amax(dim=1)[~allowed].max()) == 0.0  # never empty: the diagonal is not allowed
    masks = AR.made_masks(order, widths, n_params=2)
    # the composed mask (any path) equals "j precedes i" whenever every degree 1..D-1 is present
    path = masks[0].double()
    for m in masks[1:]:
        path = (m.double() @ path) > 0
        path = path.double()
    reach = path.bool().reshape(dim, 2, dim).any(dim=1)
    assert not bool((reach & ~allowed).any())
    if min(widths) >= dim - 1:
        assert torch.equal(reach, allowed)


def test_made_masks_by_hand():
    m0, m1 = AR.made_masks([2, 0, 1], hidden=[2], n_params=1)
    # input degrees (3, 1, 2); hidden degrees (1, 2)
    assert m0.int().tolist() == [[0, 1, 0], [0, 1, 1]]
    assert m1.int().tolist() == [[1, 1], [0, 0], [1, 0]]
    two = AR.made_masks([0, 1], hidden=[3], n_params=2)[-1]
    assert two.shape == (4, 3) and two.int().tolist() == [[0, 0, 0]] * 2 + [[1, 1, 1]] * 2


@pytest.mark.parametrize("order,hidden", [(None, [16, 12]), ("reversed", [8]), ("random", [3, 5]),
                                          ("random", [20, 20, 20])])
def test_made_masks_equal_zukos(order, hidden):
    from zuko.flows.autoregressive import MaskedAutoregressiveTransform

    dim = 6
    order = {None: torch.arange(dim), "reversed": torch.arange(dim).flip(0),
             "random": torch.randperm(dim, generator=torch.Generator().manual_seed(3))}[order]
    theirs = [m.mask for m in MaskedAutoregressiveTransform(dim, order=order, hidden_features=hidden).hyper
              if hasattr(m, "mask")]
    ours = AR.made_masks(order, hidden, n_params=2)
    assert len(theirs) == len(ours)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


# ------------------------------------------------------------ MAF and IAF vs zuko


def _zuko_univariate(kind, bound):
    from zuko.transforms import MonotonicAffineTransform

    def unclip(v):  # inverse of zuko's soft clip a -> a / (1 + |a| / limit)
        return v / (1 - v.abs() / ZUKO_LIMIT)

    if kind == "maf":  # zuko's transform runs data -> base: z = x e^{-s} - t e^{-s}
        def univariate(t, s_raw):
            s = bound * torch.tanh(s_raw / bound)
            return MonotonicAffineTransform(-t * torch.exp(-s), unclip(-s))
    else:  # the autoregressive map of an IAF runs base -> data: x = z e^{s} + t; zuko inverts it
        def univariate(t, s_raw):
            s = bound * torch.tanh(s_raw / bound)
            return MonotonicAffineTransform(t, unclip(s))
    return univariate


def _copy_weights(ours, theirs, into="zuko"):
    """Copy the MADE's weights into zuko's MaskedMLP (or back): same masks, same output layout."""
    lin = [m for m in theirs.hyper if hasattr(m, "weight")]
    assert len(lin) == len(ours.net.layers)
    with torch.no_grad():
        for a, b, mask in zip(ours.net.layers, lin, ours.net.masks(), strict=True):
            assert torch.equal(b.mask.to(mask.dtype), mask)
            src, dst = (a, b) if into == "zuko" else (b, a)
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)


def _zuko_twin(flow, kind):
    """zuko's masked autoregressive transforms with our weights; zuko lists them from the data side."""
    from zuko.distributions import DiagNormal
    from zuko.flows.autoregressive import MaskedAutoregressiveTransform
    from zuko.lazy import Flow as ZukoFlow
    from zuko.lazy import LazyInverse, UnconditionalDistribution

    transforms = []
    for layer in reversed(flow.layers):
        hidden = [lin.out_features for lin in layer.net.layers[:-1]]
        t = MaskedAutoregressiveTransform(flow.dim, order=layer.order, hidden_features=hidden,
                                          activation=nn.Tanh,
                                          univariate=_zuko_univariate(kind, layer.scale_bound)).double()
        _copy_weights(layer, t)
        transforms.append(t if kind == "maf" else LazyInverse(t))
    base = UnconditionalDistribution(DiagNormal, torch.zeros(flow.dim, dtype=D64),
                                     torch.ones(flow.dim, dtype=D64), buffer=True)
    return ZukoFlow(transforms, base)


@pytest.mark.parametrize("kind", ["maf", "iaf"])
def test_density_and_samples_match_zuko(kind):
    flow = AR.make_autoregressive_flow(5, n_layers=3, kind=kind, hidden=(16, 12), seed=1).double()
    _randomize(flow, 2)
    twin = _zuko_twin(flow, kind)
    g = torch.Generator().manual_seed(4)
    x = 1.5 * torch.randn(200, 5, dtype=D64, generator=g)
    z = torch.randn(200, 5, dtype=D64, generator=g)
    with torch.no_grad():
        lp_ours, lp_zuko = flow.log_prob(x), twin().log_prob(x)
        x_ours, x_zuko = flow(z)[0], twin().transform.inv(z)
        lp_samples = flow.log_prob(x_ours), twin().log_prob(x_ours)
    assert float((lp_ours - lp_zuko).abs().max()) < 1e-10
    assert float((x_ours - x_zuko).abs().max()) < 1e-10
    assert float((lp_samples[0] - lp_samples[1]).abs().max()) < 1e-10
    assert float(lp_ours.std()) > 1.0  # far from trivial: the densities vary over the points


def test_zuko_maf_class_loads_into_ours():
    """zuko.flows.MAF with its own initial weights, loaded into our flow: same density and samples."""
    import zuko

    dim, n_layers, hidden = 4, 3, [10, 10]
    torch.manual_seed(0)
    theirs = zuko.flows.MAF(dim, transforms=n_layers, hidden_features=hidden, activation=nn.Tanh,
                            univariate=_zuko_univariate("maf", 2.0)).double()
    ours = AR.make_autoregressive_flow(dim, n_layers=n_layers, hidden=hidden, seed=5).double()
    for layer, t in zip(reversed(ours.layers), theirs.transform.transforms, strict=True):
        assert torch.equal(layer.order, t.order)
        with torch.no_grad():
            for p in t.parameters():
                p.mul_(3.0)  # zuko's initial weights are small; make the layers far from affine
        _copy_weights(layer, t, into="ours")
    x = torch.randn(100, dim, dtype=D64, generator=torch.Generator().manual_seed(1))
    z = torch.randn(100, dim, dtype=D64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert float((ours.log_prob(x) - theirs().log_prob(x)).abs().max()) < 1e-10
        assert float((ours(z)[0] - theirs().transform.inv(z)).abs().max()) < 1e-10


# -------------------------------------------------------- triangular Jacobian, costs


@pytest.mark.parametrize("kind", ["maf", "iaf"])
def test_layer_jacobian_is_triangular_in_its_order_and_log_det_matches(kind):
    order = [3, 0, 4, 1, 2]
    layer = _randomize(AR.MaskedAffineAutoregressive(5, order, hidden=(16, 16), kind=kind).double(), 7)
    x = torch.randn(12, 5, dtype=D64, generator=torch.Generator().manual_seed(0))
    pos = torch.argsort(layer.order)
    for fn, points in ((lambda v: layer.inverse(v[None])[0][0], x), (lambda v: layer(v[None])[0][0], x)):
        jac = torch.autograd.functional.jacobian(fn, points[0])[pos][:, pos]
        assert float(jac.triu(1).abs().max()) == 0.0
        assert float(jac.tril(-1).abs().max()) > 1e-2
    z, ld_inv = layer.inverse(x)
    ref = Fl.log_abs_det_jacobian(lambda v: layer.inverse(v[None])[0][0], x)
    assert float((ld_inv - ref).abs().max()) < 1e-10
    x_back, ld = layer(z)
    assert float((x_back - x).abs().max()) < 1e-10 and float((ld + ld_inv).abs().max()) < 1e-10
    assert float(ld.abs().max()) > 0.1


@pytest.mark.parametrize("kind", ["maf", "iaf"])
def test_flow_log_det_round_trip_and_normalisation(kind):
    flow = _randomize(AR.make_autoregressive_flow(2, n_layers=3, kind=kind, hidden=(8, 8)).double(), 3, 0.4)
    z = torch.randn(10, 2, dtype=D64, generator=torch.Generator().manual_seed(0))
    x, ld = flow(z)
    z_back, ld_inv = flow.inverse(x)
    assert float((z_back - z).abs().max()) < 1e-10 and float((ld + ld_inv).abs().max()) < 1e-10
    ref = Fl.log_abs_det_jacobian(lambda v: flow.inverse(v[None])[0][0], x)
    assert float((ld_inv - ref).abs().max()) < 1e-10
    g = torch.linspace(-10, 10, 401, dtype=D64)
    with torch.no_grad():
        p = flow.log_prob(torch.cartesian_prod(g, g)).exp().reshape(len(g), len(g))
    assert abs(float(torch.trapezoid(torch.trapezoid(p, g, dim=1), g)) - 1) < 1e-3


@pytest.mark.parametrize("dim,n_layers", [(2, 1), (5, 3), (16, 2)])
def test_network_evaluation_counts(dim, n_layers):
    x = torch.randn(3, dim)
    maf = AR.make_autoregressive_flow(dim, n_layers=n_layers, kind="maf", hidden=(8,))
    iaf = AR.make_autoregressive_flow(dim, n_layers=n_layers, kind="iaf", hidden=(8,))
    assert AR.network_evaluations(maf, x) == {"density": n_layers, "sampling": n_layers * dim}
    assert AR.network_evaluations(iaf, x) == {"density": n_layers * dim, "sampling": n_layers}
    with pytest.raises(ValueError, match="flow: expected MADE"):
        AR.network_evaluations(Fl.make_flow(n_layers=1), torch.zeros(1, 2))


def test_make_autoregressive_flow_is_seeded_and_alternates_orders():
    a, b = (AR.make_autoregressive_flow(4, n_layers=3, seed=2) for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    c = AR.make_autoregressive_flow(4, n_layers=3, seed=3)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))
    assert [lay.order.tolist() for lay in a.layers] == [[0, 1, 2, 3], [3, 2, 1, 0], [0, 1, 2, 3]]


def test_maf_trains_on_moons_and_beats_a_gaussian():
    train, test = Fl.sample_two_moons(2000, rng=1), Fl.sample_two_moons(1000, rng=2)
    flow = AR.make_autoregressive_flow(2, n_layers=4, hidden=(16, 16), seed=0)
    before = Fl.negative_log_likelihood(flow, test)
    Fl.train_flow(flow, train, steps=150, batch_size=128, lr=1e-2, seed=0, progress=False)
    after = Fl.negative_log_likelihood(flow, test)
    gauss = -scipy.stats.multivariate_normal(train.mean(0), np.cov(train.T)).logpdf(test).mean()
    assert after < before and after < gauss - 0.1


def test_logit_transform():
    layer = AR.LogitTransform(3, lam=0.05)
    x = torch.rand(20, 3, dtype=D64, generator=torch.Generator().manual_seed(0))
    y, ld = layer.inverse(x)
    x_back, ld_fwd = layer(y)
    assert float((x_back - x).abs().max()) < 1e-12 and float((ld + ld_fwd).abs().max()) < 1e-12
    ref = Fl.log_abs_det_jacobian(lambda v: layer.inverse(v[None])[0][0], x)
    assert float((ld - ref).abs().max()) < 1e-12
    w = 0.05 + 0.9 * x
    torch.testing.assert_close(y, torch.logit(w))
    with pytest.raises(ValueError, match="x: expected values in"):
        layer.inverse(torch.full((1, 3), 1.2, dtype=D64))
    with pytest.raises(ValueError, match="lam: expected < 0.5"):
        AR.LogitTransform(2, lam=0.5)


# ---------------------------------------------------------------- dequantisation


def test_dequantize_is_uniform_on_the_cells_and_keeps_kind_and_dtype():
    x = torch.tensor([[0.0, 3.0, 16.0]]).repeat(20_000, 1)
    y = AR.dequantize(x, generator=torch.Generator().manual_seed(0))
    assert y.dtype == torch.float32 and torch.equal(torch.floor(y), x)
    assert scipy.stats.kstest((y - x).reshape(-1).numpy(), "uniform").pvalue > 1e-3
    y64 = AR.dequantize(x.double()[:5], generator=torch.Generator().manual_seed(0))
    assert y64.dtype == D64
    yn = AR.dequantize(np.array([[1, 2]]), generator=torch.Generator().manual_seed(0))
    assert isinstance(yn, np.ndarray) and yn.dtype == np.float64 and np.all(np.floor(yn) == [1, 2])
    with pytest.raises(ValueError, match="x: expected integer values"):
        AR.dequantize(torch.tensor([[0.5]]))


def _gaussian_2d():
    mu = np.array([0.3, -0.8])
    cov = np.array([[1.2, 0.7], [0.7, 0.9]])
    return mu, cov


def _cell_probability(x, mu, cov):
    """P(x + [0, 1)^2) for N(mu, cov), by adaptive quadrature of the conditional normal CDF."""
    s1 = math.sqrt(cov[0, 0])
    slope, s2 = cov[1, 0] / cov[0, 0], math.sqrt(cov[1, 1] - cov[1, 0] ** 2 / cov[0, 0])

    def integrand(t):
        m = mu[1] + slope * (t - mu[0])
        inner = scipy.stats.norm.cdf((x[1] + 1 - m) / s2) - scipy.stats.norm.cdf((x[1] - m) / s2)
        return scipy.stats.norm.pdf(t, mu[0], s1) * inner

    return scipy.integrate.quad(integrand, x[0], x[0] + 1, epsabs=1e-14, epsrel=1e-12)[0]


def test_dequantization_bound_closed_form_jensen_and_tightness():
    mu, cov = _gaussian_2d()
    prec = np.linalg.inv(cov)
    gauss = torch.distributions.MultivariateNormal(torch.tensor(mu), torch.tensor(cov))
    cells = torch.cartesian_prod(torch.arange(-3.0, 3.0), torch.arange(-3.0, 2.0)).double()
    bound = AR.dequantized_log_likelihood(gauss.log_prob, cells, n_nodes=8)
    # closed form: u has mean 1/2 and covariance I / 12
    c = cells.numpy() + 0.5 - mu
    exact = (-0.5 * np.log(np.linalg.det(2 * np.pi * cov)) - 0.5 * np.einsum("ni,ij,nj->n", c, prec, c)
             - np.trace(prec) / 24)
    np.testing.assert_allclose(bound.numpy(), exact, atol=1e-12)
    log_p_cell = np.log([_cell_probability(x, mu, cov) for x in cells.numpy()])
    gap = log_p_cell - bound.numpy()
    assert np.all(gap > 1e-3)
    # a density constant on every cell (the cells' own probabilities) makes the bound an equality
    def step_density(y):
        k = torch.floor(y)
        return torch.tensor([math.log(_cell_probability(v, mu, cov)) for v in k.numpy()], dtype=D64)

    tight = AR.dequantized_log_likelihood(step_density, cells[:6], n_nodes=3)
    np.testing.assert_allclose(tight.numpy(), log_p_cell[:6], atol=1e-12)


def test_bits_per_dim_against_a_direct_computation():
    mu, cov = _gaussian_2d()
    x = np.random.default_rng(0).multivariate_normal(mu, cov, size=50)
    k = 17.0
    direct = -scipy.stats.multivariate_normal(mu, cov).logpdf(x) / (2 * math.log(2))
    rescaled = scipy.stats.multivariate_normal(mu / k, cov / k**2).logpdf(x / k)
    np.testing.assert_allclose(AR.bits_per_dim(rescaled, 2, scale=k), direct, atol=1e-12)
    assert AR.bits_per_dim(-3 * math.log(256), 3) == pytest.approx(8.0, abs=1e-12)
    t32 = AR.bits_per_dim(torch.tensor([-math.log(4.0)], dtype=torch.float32), 1)
    assert t32.dtype == torch.float32 and float(t32[0]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="scale: expected > 0"):
        AR.bits_per_dim(-1.0, 2, scale=0.0)


def test_categorical_fit_and_log_prob_against_counting():
    rng = np.random.default_rng(1)
    train = rng.integers(0, 5, size=(300, 4))
    test = rng.integers(0, 5, size=(40, 4))
    log_pi = AR.fit_pixel_categorical(train, 5, smoothing=1.0)
    for d in range(4):
        counts = np.bincount(train[:, d], minlength=5)
        np.testing.assert_allclose(log_pi[d].numpy(), np.log((counts + 1) / (300 + 5)), atol=1e-14)
    direct = np.array([sum(math.log((np.sum(train[:, d] == v) + 1) / 305) for d, v in enumerate(row))
                       for row in test])
    np.testing.assert_allclose(AR.categorical_log_prob(test, log_pi), direct, atol=1e-12)
    lp32 = AR.categorical_log_prob(torch.tensor(test, dtype=torch.float32), log_pi)
    assert lp32.dtype == torch.float32
    with pytest.raises(ValueError, match="x: expected levels in 0..4"):
        AR.categorical_log_prob(np.full((1, 4), 5), log_pi)
    with pytest.raises(ValueError, match="log_probs: expected each row to be a normalised"):
        AR.categorical_log_prob(test, log_pi + 0.1)


def test_gaussian_comb_matches_scipy_and_spikes_without_bound():
    rng = np.random.default_rng(2)
    log_pi = torch.log(torch.tensor(rng.dirichlet(np.ones(4), size=3)))
    x = rng.normal(1.5, 1.5, size=(10, 3))
    sigma, offset = 0.4, 0.5
    ref = np.zeros(10)
    for d in range(3):
        dens = sum(math.exp(float(log_pi[d, k])) * scipy.stats.norm.pdf(x[:, d], k + offset, sigma)
                   for k in range(4))
        ref += np.log(dens)
    np.testing.assert_allclose(AR.gaussian_comb_log_prob(x, log_pi, sigma, offset=offset), ref, atol=1e-12)
    # at integer points the log-density grows like D log(1 / sigma): unbounded
    levels = np.array([[0, 3, 1]])
    for s in (1e-2, 1e-3, 1e-4):
        lp = AR.gaussian_comb_log_prob(levels, log_pi, s)[0]
        expected = float(log_pi[[0, 1, 2], [0, 3, 1]].sum()) - 3 * math.log(s * math.sqrt(2 * math.pi))
        assert lp == pytest.approx(expected, abs=1e-9)


def test_dequantized_comb_stays_below_its_discrete_probability():
    """On real integer data (levels 0..4), the comb's bound never beats the cell probability."""
    rng = np.random.default_rng(3)
    log_pi = torch.log(torch.tensor(rng.dirichlet(np.ones(5), size=1)))
    x = torch.arange(5.0, dtype=D64)[:, None]
    for sigma in (0.05, 0.3, 2.0):
        comb = lambda y, s=sigma: AR.gaussian_comb_log_prob(y, log_pi, s, offset=0.5)  # noqa: E731
        bound = AR.dequantized_log_likelihood(comb, x, n_nodes=64)
        cdf, lo = scipy.stats.norm.cdf, x.numpy()[:, 0]
        cell = sum(math.exp(float(log_pi[0, k]))
                   * (cdf((lo + 1 - k - 0.5) / sigma) - cdf((lo - k - 0.5) / sigma)) for k in range(5))
        assert np.all(bound.numpy() < np.log(cell))
