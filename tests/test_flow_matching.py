"""Flow-matching invariants (float64, fixed seeds): paths, the exact mixture velocity, conversions,
solvers, likelihood, the CFM gradient theorem, training, straightness and the widget.

The independent reference is ``torchcfm`` (MIT licence; a test-only dependency, installed
``--no-deps`` by the Makefile): its ``ConditionalFlowMatcher(sigma=0)`` is the linear path and
its ``VariancePreservingConditionalFlowMatcher(sigma=0)`` the cosine one.
"""

import math

import numpy as np
import pytest
import torch

from companion import flow_matching as Fm
from companion.diffusion import gmm_sample

DT = torch.float64
PATHS = Fm.PATHS


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def mixture():
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]], dtype=DT)
    stds = torch.tensor([0.3, 0.6, 0.45], dtype=DT)
    weights = torch.tensor([0.2, 0.5, 0.3], dtype=DT)
    return means, stds, weights


def exact_velocity(mix, path):
    return lambda x, t: Fm.gmm_marginal_velocity(x, t, *mix, path=path)


# --- paths and conditional velocities ------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_path_coefficients_derivatives_and_endpoints(path):
    t = torch.linspace(0.0, 1.0, 21, dtype=DT, requires_grad=True)
    a, s, da, ds = Fm.path_coefficients(t, path)
    (g_a,) = torch.autograd.grad(a.sum(), t)
    (g_s,) = torch.autograd.grad(s.sum(), t)
    torch.testing.assert_close(da, g_a, rtol=0, atol=1e-14)
    torch.testing.assert_close(ds, g_s, rtol=0, atol=1e-14)
    # and by central differences (error ~ h^2 = 1e-12), independent of autograd
    h, tc = 1e-6, torch.linspace(0.1, 0.9, 9, dtype=DT)
    plus, minus = Fm.path_coefficients(tc + h, path), Fm.path_coefficients(tc - h, path)
    mid = Fm.path_coefficients(tc, path)
    for k in (0, 1):
        torch.testing.assert_close((plus[k] - minus[k]) / (2 * h), mid[k + 2], rtol=0, atol=1e-8)
    a, s = a.detach(), s.detach()
    assert float(a[0]) == 0.0 and float(s[0]) == 1.0 and float(a[-1]) == 1.0 and abs(float(s[-1])) < 1e-15
    if path == "cosine":  # variance preserving
        torch.testing.assert_close(a**2 + s**2, torch.ones_like(a), rtol=0, atol=1e-15)


@pytest.mark.parametrize("path", PATHS)
def test_path_sample_endpoints_and_velocity_is_the_time_derivative(path):
    x0, x1 = torch.randn(6, 3, generator=gen(1), dtype=DT), torch.randn(6, 3, generator=gen(2), dtype=DT)
    x_start, _ = Fm.path_sample(x0, x1, torch.zeros(6, dtype=DT), path)
    x_end, _ = Fm.path_sample(x0, x1, torch.ones(6, dtype=DT), path)
    torch.testing.assert_close(x_start, x0, rtol=0, atol=1e-15)
    torch.testing.assert_close(x_end, x1, rtol=0, atol=1e-15)
    t, h = torch.rand(6, generator=gen(3), dtype=DT) * 0.8 + 0.1, 1e-6
    _, u = Fm.path_sample(x0, x1, t, path)
    fd = (Fm.path_sample(x0, x1, t + h, path)[0] - Fm.path_sample(x0, x1, t - h, path)[0]) / (2 * h)
    torch.testing.assert_close(u, fd, rtol=0, atol=1e-8)


@pytest.mark.parametrize("path", PATHS)
def test_agrees_with_torchcfm_on_paths_velocities_and_conversions(path):
    """torchcfm (MIT) computes the same points and velocities; our conversions invert them exactly."""
    from torchcfm.conditional_flow_matching import (
        ConditionalFlowMatcher,
        VariancePreservingConditionalFlowMatcher,
    )

    ref = (ConditionalFlowMatcher(sigma=0.0) if path == "linear"
           else VariancePreservingConditionalFlowMatcher(sigma=0.0))
    n, tol = 200, 1e-10
    x0 = torch.randn(n, 3, generator=gen(4), dtype=DT)
    x1 = 2.0 * torch.randn(n, 3, generator=gen(5), dtype=DT)
    t = torch.rand(n, generator=gen(6), dtype=DT)
    t[0], t[1] = 0.0, 1.0
    t_ref, xt_ref, ut_ref = ref.sample_location_and_conditional_flow(x0, x1, t)
    assert t_ref is t
    x_t, u_t = Fm.path_sample(x0, x1, t, path)
    torch.testing.assert_close(x_t, xt_ref, rtol=0, atol=tol)
    torch.testing.assert_close(u_t, ut_ref, rtol=0, atol=tol)
    # velocity -> (x1, eps) is regular on all of [0, 1] (determinant 1 or pi/2)
    torch.testing.assert_close(Fm.velocity_to_x1(ut_ref, xt_ref, t, path), x1, rtol=0, atol=tol)
    torch.testing.assert_close(Fm.velocity_to_eps(ut_ref, xt_ref, t, path), x0, rtol=0, atol=tol)
    # the inverses and the score divide by sigma_t or alpha_t: away from the singular end
    inner = (t > 0.05) & (t < 0.95)
    xi, ui, ti = xt_ref[inner], ut_ref[inner], t[inner]
    torch.testing.assert_close(Fm.x1_to_velocity(x1[inner], xi, ti, path), ui, rtol=0, atol=tol)
    torch.testing.assert_close(Fm.eps_to_velocity(x0[inner], xi, ti, path), ui, rtol=0, atol=tol)
    # the score of the conditional path N(mean, std^2 I), mean and std read off torchcfm's interpolant
    mean = ref.compute_mu_t(torch.zeros_like(x1[inner]), x1[inner], ti)
    std = ref.compute_mu_t(torch.ones_like(xi), torch.zeros_like(xi), ti)
    score = -(xi - mean) / std**2
    torch.testing.assert_close(Fm.velocity_to_score(ui, xi, ti, path), score, rtol=0, atol=tol)
    torch.testing.assert_close(Fm.score_to_velocity(score, xi, ti, path), ui, rtol=0, atol=tol)


@pytest.mark.parametrize("path", PATHS)
def test_cfm_loss_is_sum_over_dims_mean_over_batch(path):
    x0, x1 = torch.randn(5, 2, generator=gen(7), dtype=DT), torch.randn(5, 2, generator=gen(8), dtype=DT)
    t = torch.rand(5, generator=gen(9), dtype=DT)
    model = lambda x, s: 0.5 * x + s[:, None]  # noqa: E731
    x_t, u_t = Fm.path_sample(x0, x1, t, path)
    expected = ((model(x_t, t) - u_t) ** 2).sum(1).mean()
    torch.testing.assert_close(Fm.cfm_loss(model, x0, x1, t, path), expected, rtol=1e-15, atol=0)


# --- the exact mixture ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_gmm_velocity_solves_the_continuity_equation(mixture, path):
    """d/dt log p_t = -div u - u . grad log p, with d/dt by central differences of the exact log p_t."""
    x = torch.tensor([[0.3, -0.2], [-1.5, 0.4], [1.0, 1.2], [0.0, -2.0], [2.5, 0.5]], dtype=DT)
    v = exact_velocity(mixture, path)
    for tval in (0.15, 0.5, 0.85):
        t, h = torch.full((5,), tval, dtype=DT), 1e-5
        dlogp_dt = (Fm.gmm_path_log_prob(x, t + h, *mixture, path=path)
                    - Fm.gmm_path_log_prob(x, t - h, *mixture, path=path)) / (2 * h)
        xg = x.clone().requires_grad_(True)
        (score,) = torch.autograd.grad(Fm.gmm_path_log_prob(xg, t, *mixture, path=path).sum(), xg)
        rhs = -Fm.divergence(v, x, t) - (v(x, t) * score).sum(1)
        # central-difference error ~ h^2 * d3/dt3 log p ~ 1e-9; round-off ~ 1e-16 / h ~ 1e-11
        torch.testing.assert_close(dlogp_dt, rhs, rtol=0, atol=1e-6)


@pytest.mark.parametrize("path", PATHS)
def test_gmm_velocity_is_the_conditional_expectation(mixture, path):
    """Importance sampling: E[u | x_t = x] with x1 from the mixture, weights N(x; alpha x1, sigma^2 I)."""
    n, tval = 400_000, 0.6
    x1 = gmm_sample(n, *mixture, generator=gen(10))
    x = torch.tensor([[0.5, -0.3], [-1.0, 0.2], [1.2, 0.6]], dtype=DT)
    a, s, da, ds = (float(c) for c in Fm.path_coefficients(torch.tensor([tval], dtype=DT), path))
    exact = Fm.gmm_marginal_velocity(x, torch.full((3,), tval, dtype=DT), *mixture, path=path)
    for i in range(3):
        logw = -0.5 * ((x[i] - a * x1) ** 2).sum(1) / s**2
        w = torch.softmax(logw, 0)
        u = ds * (x[i] - a * x1) / s + da * x1                                      # (n, 2)
        est = (w[:, None] * u).sum(0)
        se = ((w[:, None] ** 2) * (u - est) ** 2).sum(0).sqrt()                    # delta-method std error
        assert bool((se < 0.02).all()), se                                          # the check has power
        assert bool(((est - exact[i]).abs() < 5 * se).all()), (path, i, est, exact[i], se)


@pytest.mark.parametrize("path", PATHS)
def test_gmm_velocity_endpoints_are_finite_and_exact(mixture, path):
    x = torch.randn(7, 2, generator=gen(11), dtype=DT)
    zero, one = torch.zeros(7, dtype=DT), torch.ones(7, dtype=DT)
    mean = (mixture[2][:, None] * mixture[0]).sum(0)
    u0 = Fm.gmm_marginal_velocity(x, zero, *mixture, path=path)
    u1 = Fm.gmm_marginal_velocity(x, one, *mixture, path=path)
    if path == "linear":   # u_0 = -x + E[x1],  u_1 = x - E[x0 | x1 = x] = x
        torch.testing.assert_close(u0, -x + mean, rtol=0, atol=1e-14)
        torch.testing.assert_close(u1, x, rtol=0, atol=1e-14)
    else:                  # u_0 = (pi/2) E[x1],  u_1 = -(pi/2) E[x0 | x1 = x] = 0
        torch.testing.assert_close(u0, 0.5 * math.pi * mean.expand_as(x), rtol=0, atol=1e-14)
        torch.testing.assert_close(u1, torch.zeros_like(x), rtol=0, atol=1e-14)
    # log p_0 is the source N(0, I)
    lp0 = Fm.gmm_path_log_prob(x, zero, *mixture, path=path)
    torch.testing.assert_close(lp0, -0.5 * (x**2).sum(1) - math.log(2 * math.pi), rtol=0, atol=1e-13)


@pytest.mark.parametrize("path", PATHS)
def test_conversions_round_trip_and_give_the_exact_score(mixture, path):
    x = 1.5 * torch.randn(8, 2, generator=gen(12), dtype=DT)
    t = torch.linspace(0.05, 0.95, 8, dtype=DT)
    v = Fm.gmm_marginal_velocity(x, t, *mixture, path=path)
    xg = x.clone().requires_grad_(True)
    (score,) = torch.autograd.grad(Fm.gmm_path_log_prob(xg, t, *mixture, path=path).sum(), xg)
    torch.testing.assert_close(Fm.velocity_to_score(v, x, t, path), score, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(Fm.score_to_velocity(score, x, t, path), v, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(Fm.x1_to_velocity(Fm.velocity_to_x1(v, x, t, path), x, t, path), v,
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(Fm.eps_to_velocity(Fm.velocity_to_eps(v, x, t, path), x, t, path), v,
                               rtol=1e-12, atol=1e-12)
    # x_t = sigma eps_hat + alpha x1_hat holds for any v
    a, s, _, _ = Fm.path_coefficients(t, path)
    recon = s[:, None] * Fm.velocity_to_eps(v, x, t, path) + a[:, None] * Fm.velocity_to_x1(v, x, t, path)
    torch.testing.assert_close(recon, x, rtol=0, atol=1e-13)


def test_conversions_refuse_their_singular_time():
    x, one, zero = torch.ones(2, 2, dtype=DT), torch.ones(2, dtype=DT), torch.zeros(2, dtype=DT)
    for fn, t in [(Fm.velocity_to_score, one), (Fm.x1_to_velocity, one), (Fm.eps_to_velocity, zero),
                  (Fm.score_to_velocity, zero)]:
        for path in PATHS:
            with pytest.raises(ValueError, match=r"^t: "):
                fn(x, x, t, path)


# --- solvers, divergence and likelihood ----------------------------------------------------------

@pytest.mark.parametrize("case", ["gaussian-cosine", "mixture-linear", "mixture-cosine"])
def test_solver_orders_of_convergence(mixture, case):
    """Errors at t = 1 shrink like h, h^2, h^4 (slopes of log error vs log h over the finest grids).

    Gaussian data N(mu, s^2 I): the exact flow maps x0 to mu + s x0. (On the linear path that
    case is special: midpoint's h^2 term cancels at t = 1 and it converges like h^3, so it is
    not used.) The mixture: against RK4 with 1000 steps (error ~ 1e-10).
    """
    data, path = case.split("-")
    gauss = (torch.tensor([[1.0, -0.5]], dtype=DT), torch.tensor([0.4], dtype=DT), torch.ones(1, dtype=DT))
    mix = gauss if data == "gaussian" else mixture
    x0 = torch.randn(50, 2, generator=gen(13), dtype=DT)
    v = exact_velocity(mix, path)
    target = gauss[0] + gauss[1] * x0 if data == "gaussian" else Fm.ode_sample(v, x0, 1000, "rk4")
    grids = {"euler": [32, 64, 128], "midpoint": [16, 32, 64], "rk4": [16, 32, 64]}
    for method, order in (("euler", 1), ("midpoint", 2), ("rk4", 4)):
        errs = [float((Fm.ode_sample(v, x0, n, method) - target).abs().max()) for n in grids[method]]
        slopes = np.diff(np.log(errs)) / np.diff(np.log(1.0 / np.array(grids[method])))
        assert abs(slopes[-1] - order) < 0.2, (case, method, errs, slopes)
    traj = Fm.ode_trajectory(v, x0, 8, "rk4")
    assert traj.shape == (9, 50, 2)
    torch.testing.assert_close(traj[0], x0, rtol=0, atol=0)
    torch.testing.assert_close(traj[-1], Fm.ode_sample(v, x0, 8, "rk4"), rtol=0, atol=0)


def test_exact_divergence_of_a_linear_field():
    A = torch.tensor([[0.5, 2.0, 0.0], [-1.0, 1.5, 3.0], [0.2, 0.0, -4.0]], dtype=DT)
    x, t = torch.randn(4, 3, generator=gen(14), dtype=DT), torch.rand(4, generator=gen(15), dtype=DT)
    div = Fm.divergence(lambda y, s: y @ A.T * (1 + s[:, None]), x, t)
    torch.testing.assert_close(div, float(torch.trace(A)) * (1 + t), rtol=0, atol=1e-13)


def test_hutchinson_is_unbiased(mixture):
    # points between components, where the Jacobian is far from a multiple of I (so z^T J z varies)
    x = torch.tensor([[0.0, 0.5], [1.0, -1.0], [-1.0, -1.2], [0.2, 0.8]], dtype=DT)
    t = torch.full((4,), 0.5, dtype=DT)
    v = exact_velocity(mixture, "linear")
    exact = Fm.divergence(v, x, t)
    P = 4000
    est = Fm.hutchinson_divergence(v, x.repeat(P, 1), t.repeat(P), generator=gen(16)).reshape(P, 4)
    mean, se = est.mean(0), est.std(0) / math.sqrt(P)
    assert bool((se > 1e-2).all()), se                       # the estimator is random here
    assert bool(((mean - exact).abs() < 5 * se).all()), (mean, exact, se)
    many = Fm.hutchinson_divergence(v, x, t, n_probes=64, generator=gen(17))
    assert bool(((many - exact).abs() < 5 * est.std(0) / 8).all())


@pytest.mark.parametrize("path", PATHS)
def test_ode_log_prob_of_the_exact_velocity_is_the_exact_density(mixture, path):
    x1 = gmm_sample(6, *mixture, generator=gen(18))
    exact = Fm.gmm_path_log_prob(x1, torch.ones(6, dtype=DT), *mixture, path=path)
    lp = Fm.ode_log_prob(exact_velocity(mixture, path), x1, 100, "rk4")
    # RK4 with 100 steps: measured ~1e-6 (the error falls as h^4: 3e-4 at 25 steps, 1e-5 at 50)
    assert float((lp - exact).abs().max()) < 1e-5, (lp, exact)
    g = gen(19)
    hutch = Fm.ode_log_prob(exact_velocity(mixture, path), x1, 25, "rk4",
                            divergence_fn=lambda f, x, t: Fm.hutchinson_divergence(f, x, t, n_probes=8,
                                                                                   generator=g))
    assert float((hutch - exact).abs().max()) < 0.5, (hutch, exact)  # noisy; its bias is tested above


def test_ode_log_prob_of_a_gaussian_flow_in_closed_form():
    """v = (log s) x on [0, 1] maps N(0, I) to N(0, s^2 I): log p_1 is known exactly."""
    s, x = 0.5, torch.randn(5, 2, generator=gen(20), dtype=DT)
    lp = Fm.ode_log_prob(lambda y, t: math.log(s) * y, x, 40, "rk4")          # RK4 error ~ 1e-8
    exact = -0.5 * (x**2).sum(1) / s**2 - math.log(2 * math.pi * s**2)
    torch.testing.assert_close(lp, exact, rtol=0, atol=1e-7)


# --- the CFM gradient theorem, training, straightness, guidance -----------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_cfm_and_marginal_losses_have_the_same_gradient(mixture, path):
    """A model linear in its parameters: grad CFM - grad FM = -2 mean phi^T (u_cond - u_marg), mean zero."""
    n = 40_000
    g = gen(21)
    x0, x1 = torch.randn(n, 2, generator=g, dtype=DT), gmm_sample(n, *mixture, generator=g)
    t = 0.05 + 0.9 * torch.rand(n, generator=g, dtype=DT)
    W = torch.randn(6, 2, generator=g, dtype=DT).requires_grad_(True)

    def features(x, s):
        return torch.cat([x, s[:, None] * x, torch.ones_like(s)[:, None], s[:, None]], dim=1)  # (n, 6)

    model = lambda x, s: features(x, s) @ W  # noqa: E731
    (g_cfm,) = torch.autograd.grad(Fm.cfm_loss(model, x0, x1, t, path), W)
    x_t, u_c = Fm.path_sample(x0, x1, t, path)
    u_m = Fm.gmm_marginal_velocity(x_t, t, *mixture, path=path)
    phi = features(x_t, t)
    per_example = -2 * phi[:, :, None] * (u_c - u_m)[:, None, :]                   # (n, 6, 2)
    se = per_example.std(0) / math.sqrt(n)
    for target, should_agree in ((u_m, True), (1.1 * u_m, False)):             # the check has power
        (g_fm,) = torch.autograd.grad(((model(x_t, t) - target) ** 2).sum(1).mean(), W)
        agree = bool(((g_cfm - g_fm).abs() < 5 * se).all())
        assert agree == should_agree, (path, (g_cfm - g_fm) / se)


def test_training_approaches_the_exact_velocity(mixture):
    torch.manual_seed(0)
    data = gmm_sample(4000, *mixture, generator=gen(22))
    model = Fm.VelocityMLP(2, hidden=64)
    g = gen(23)
    x0, x1 = torch.randn(3000, 2, generator=g, dtype=DT), gmm_sample(3000, *mixture, generator=g)
    t = torch.rand(3000, generator=g, dtype=DT)
    x_t, _ = Fm.path_sample(x0, x1, t, "linear")
    u = Fm.gmm_marginal_velocity(x_t, t, *mixture)

    def error():
        with torch.no_grad():
            return float(((model(x_t, t) - u) ** 2).sum(1).mean())

    before = error()
    losses = Fm.train_velocity_model(model, data, steps=400, seed=0)
    after = error()
    assert len(losses) == 400 and all(math.isfinite(v) for v in losses)
    assert not model.training and next(model.parameters()).device.type == "cpu"
    assert after < 0.2 * before, (before, after)
    # the CFM loss floor is E||u_cond - u_marg||^2 > 0: the loss stays above the model error
    assert np.mean(losses[-50:]) > after


def test_conditional_model_label_dropout_and_null_label(mixture):
    torch.manual_seed(0)
    data = gmm_sample(600, *mixture, generator=gen(24))
    labels = (data[:, 0] > 0).long()
    model = Fm.VelocityMLP(2, hidden=16, n_classes=2)
    losses = Fm.train_velocity_model(model, data, steps=20, batch_size=64, labels=labels, p_uncond=0.5)
    assert len(losses) == 20
    x, t = torch.randn(4, 2, generator=gen(25)), torch.rand(4, generator=gen(26))
    with torch.no_grad():
        torch.testing.assert_close(model(x, t), model(x, t, torch.full((4,), 2)))
        assert not torch.allclose(model(x, t, torch.zeros(4, dtype=torch.long)), model(x, t))
    with pytest.raises(ValueError, match="labels"):
        Fm.VelocityMLP(2, hidden=8)(x, t, torch.zeros(4, dtype=torch.long))


def test_training_is_deterministic_and_reflow_pairs_stay_coupled(mixture):
    data = gmm_sample(300, *mixture, generator=gen(27))
    source = torch.randn(300, 2, generator=gen(28), dtype=DT)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = Fm.VelocityMLP(2, hidden=8)
        runs.append(Fm.train_velocity_model(model, data, steps=5, source=source, seed=3))
    assert runs[0] == runs[1]
    # a model trained on the coupling x1 = x0 + c sees the constant target c
    c = torch.tensor([1.0, -2.0], dtype=DT)
    torch.manual_seed(0)
    model = Fm.VelocityMLP(2, hidden=16)
    losses = Fm.train_velocity_model(model, source + c, steps=300, source=source, lr=1e-2)
    assert losses[-1] < 1e-2 * losses[0], (losses[0], losses[-1])


def test_reflow_couplings_are_ode_end_points(mixture):
    v = exact_velocity(mixture, "linear")
    x0, x1 = Fm.reflow_couplings(v, 20, steps=10, seed=5)
    torch.testing.assert_close(x0, torch.randn(20, 2, generator=gen(5), dtype=DT), rtol=0, atol=0)
    torch.testing.assert_close(x1, Fm.ode_sample(v, x0, 10, "rk4"), rtol=0, atol=0)


def test_straightness(mixture):
    x0 = torch.randn(400, 2, generator=gen(29), dtype=DT)
    assert Fm.straightness(lambda x, t: torch.ones_like(x) * torch.tensor([1.0, -3.0], dtype=DT), x0) < 1e-25
    # v = -x: X_t = x0 e^{-t}, a straight line at varying speed:
    # S = E||x0||^2 int_0^1 (e^{-1} - 1 + e^{-t})^2 dt = E||x0||^2 ((1 - e^{-2})/2 - (1 - e^{-1})^2)
    s = Fm.straightness(lambda x, t: -x, x0, steps=200)
    exact = float((x0**2).sum(1).mean()) * ((1 - math.exp(-2)) / 2 - (1 - math.exp(-1)) ** 2)
    assert s == pytest.approx(exact, rel=1e-4)
    assert Fm.straightness(exact_velocity(mixture, "linear"), x0, steps=50) > 0.05


def test_straightness_parts(mixture):
    x0 = torch.randn(400, 2, generator=gen(32), dtype=DT)
    # v = -x: straight lines at varying speed, so no bending and all of S is the speed part
    bend, speed = Fm.straightness_parts(lambda x, t: -x, x0, steps=200)
    exact = float((x0**2).sum(1).mean()) * ((1 - math.exp(-2)) / 2 - (1 - math.exp(-1)) ** 2)
    assert bend < 1e-20 and speed == pytest.approx(exact, rel=1e-4)
    # the parts add up to S computed directly as E||d - v||^2 on the same trajectories
    v = exact_velocity(mixture, "cosine")
    bend, speed = Fm.straightness_parts(v, x0, steps=40)
    traj = Fm.ode_trajectory(v, x0, 40, "rk4")
    grid = torch.linspace(0, 1, 41, dtype=DT)
    gaps = torch.stack([((traj[-1] - traj[0]) - v(traj[k], grid[k].expand(400))).pow(2).sum(1).mean()
                        for k in range(41)])
    assert bend + speed == pytest.approx(float(torch.trapezoid(gaps, dx=1 / 40)), rel=1e-12)
    assert bend > 0.01 and speed > 0.01


def test_cfg_velocity():
    vu, vc = torch.randn(3, 2, generator=gen(30), dtype=DT), torch.randn(3, 2, generator=gen(31), dtype=DT)
    torch.testing.assert_close(Fm.cfg_velocity(vu, vc, 0.0), vu, rtol=0, atol=0)
    torch.testing.assert_close(Fm.cfg_velocity(vu, vc, 1.0), vc, rtol=0, atol=1e-15)
    torch.testing.assert_close(Fm.cfg_velocity(vu, vc, 3.0), 3.0 * vc - 2.0 * vu, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="scale"):
        Fm.cfg_velocity(vu, vc, float("nan"))


@pytest.mark.parametrize("fn", ["path_sample", "gmm_marginal_velocity", "ode_sample", "velocity_to_x1"])
def test_float32_in_float32_out(mixture, fn):
    x = torch.randn(5, 2, generator=gen(32))
    t = torch.rand(5, generator=gen(33))
    calls = {"path_sample": lambda: Fm.path_sample(x, x, t, "cosine")[1],
             "gmm_marginal_velocity": lambda: Fm.gmm_marginal_velocity(x, t, *mixture),
             "ode_sample": lambda: Fm.ode_sample(exact_velocity(mixture, "linear"), x, 3, "rk4"),
             "velocity_to_x1": lambda: Fm.velocity_to_x1(x, x, t, "cosine")}
    assert calls[fn]().dtype == torch.float32


# --- widget -----------------------------------------------------------------------------------------

def test_widget_callbacks_at_every_corner(mixture):
    reference = gmm_sample(100, *mixture, generator=gen(34))
    models = {p: exact_velocity(mixture, p) for p in PATHS}
    spec = Fm.sampling_widget_spec(models, reference, n_trajectories=50)
    assert spec.name == "flow-matching-sampling" and len(spec.grid()) == 30
    for values in spec.corners() + [spec.defaults()]:
        numbers, fig = spec.callback(**values)
        assert not spec.clipped_labels(values), (values, spec.clipped_labels(values))
        assert numbers and all(np.isfinite(v) for v in numbers.values()), values
        assert fig.axes and any(ax.has_data() for ax in fig.axes)
    # more steps of a better solver sample the exact flow better
    worst = spec.callback(path="linear", method="euler", steps=1)[0]["energy distance"]
    best = spec.callback(path="linear", method="rk4", steps=16)[0]["energy distance"]
    assert best < worst
    with pytest.raises(ValueError, match="path, method and steps"):
        spec.callback(path="linear", method="rk4", steps=3)
