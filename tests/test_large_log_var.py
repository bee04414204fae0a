"""Gaussian KL and log-likelihoods at log-variances of +-50: finite, and equal to the closed form.

The reference values are the closed forms written in log-variances and evaluated with
Python floats (float64), e.g.
``KL = (lv_p - lv_q)/2 + (exp(lv_q - lv_p) + (m_q - m_p)^2 exp(-lv_p))/2 - 1/2``.
Tolerances: relative 1e-12 in float64, 1e-6 in float32 (a few roundings of 6e-8 each),
plus an absolute 1e-9 / 1e-4 for values near zero.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from companion import distributions as Ds
from companion import vae as Va

LOG_VARS = (-50.0, 0.0, 50.0)
TOL = {torch.float64: (1e-12, 1e-9), torch.float32: (1e-6, 1e-4)}
LOG_2PI = math.log(2.0 * math.pi)
F32_MAX = float(torch.finfo(torch.float32).max)


def kl_closed_form(m_q: float, lv_q: float, m_p: float, lv_p: float) -> float:
    return 0.5 * (lv_p - lv_q) + 0.5 * (math.exp(lv_q - lv_p) + (m_q - m_p) ** 2 * math.exp(-lv_p)) - 0.5


def log_prob_closed_form(x: float, m: float, lv: float) -> float:
    return -0.5 * (LOG_2PI + lv + (x - m) ** 2 * math.exp(-lv))


def assert_close(out: torch.Tensor, expected: float, dtype: torch.dtype) -> None:
    rtol, atol = TOL[dtype]
    assert out.dtype == dtype
    value = float(out)
    assert math.isfinite(value), value
    assert abs(value - expected) <= atol + rtol * abs(expected), (value, expected)


def as_tensor(v: float, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor([v], dtype=dtype)


@pytest.mark.parametrize("dtype", TOL, ids=str)
@pytest.mark.parametrize(("lv_q", "lv_p"), list(itertools.product(LOG_VARS, LOG_VARS)))
@pytest.mark.parametrize("dm", [0.0, 1.0])
def test_kl_normal_with_variances_exp_pm50(lv_q, lv_p, dm, dtype):
    expected = kl_closed_form(dm, lv_q, 0.0, lv_p)
    if expected > F32_MAX / 4 and dtype == torch.float32:
        pytest.skip(f"the KL itself, {expected:.3g}, exceeds the float32 range")
    out = Ds.kl_normal(as_tensor(dm, dtype), as_tensor(lv_q, dtype).exp(), as_tensor(0.0, dtype),
                       as_tensor(lv_p, dtype).exp())
    assert_close(out, expected, dtype)


def test_kl_normal_numpy_float64_at_the_extremes():
    lv = np.array(LOG_VARS)
    lv_q, lv_p = np.meshgrid(lv, lv)
    out = Ds.kl_normal(0.0, np.exp(lv_q), 0.0, np.exp(lv_p))
    expected = np.vectorize(lambda a, b: kl_closed_form(0.0, a, 0.0, b))(lv_q, lv_p)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("dtype", TOL, ids=str)
@pytest.mark.parametrize("lv", LOG_VARS)
@pytest.mark.parametrize("mu", [0.0, 3.0])
def test_kl_normal_std_with_log_var_pm50(lv, mu, dtype):
    out = Va.kl_normal_std(torch.tensor([[mu, 0.0]], dtype=dtype), torch.tensor([[lv, 0.0]], dtype=dtype))
    assert_close(out[0], kl_closed_form(mu, lv, 0.0, 0.0), dtype)


def test_kl_normal_std_numpy_and_gradient_at_pm50():
    lv = torch.tensor([[-50.0, 50.0]], dtype=torch.float64, requires_grad=True)
    out = Va.kl_normal_std(torch.zeros(1, 2, dtype=torch.float64), lv)
    (grad,) = torch.autograd.grad(out.sum(), lv)
    # d/dlv of (e^lv - 1 - lv)/2 is (e^lv - 1)/2
    np.testing.assert_allclose(grad.numpy(), 0.5 * (np.exp([[-50.0, 50.0]]) - 1.0), rtol=1e-12)
    out_np = Va.kl_normal_std(np.zeros(2), np.array([-50.0, 50.0]))
    expected = kl_closed_form(0, -50, 0, 0) + kl_closed_form(0, 50, 0, 0)
    assert math.isclose(float(out_np), expected, rel_tol=1e-12)


@pytest.mark.parametrize("dtype", TOL, ids=str)
@pytest.mark.parametrize("lv", LOG_VARS)
@pytest.mark.parametrize("dx", [0.0, 1.0, 1e3])
def test_normal_log_prob_with_variance_exp_pm50(lv, dx, dtype):
    out = Ds.normal_log_prob(as_tensor(dx, dtype), as_tensor(0.0, dtype), as_tensor(lv, dtype).exp())
    assert_close(out, log_prob_closed_form(dx, 0.0, lv), dtype)


@pytest.mark.parametrize("dtype", TOL, ids=str)
@pytest.mark.parametrize("lv", LOG_VARS)
@pytest.mark.parametrize("dx", [0.0, 1.0, 1e3])
def test_diag_normal_log_prob_with_log_var_pm50(lv, dx, dtype):
    out = Va.diag_normal_log_prob(as_tensor(dx, dtype), as_tensor(0.0, dtype), as_tensor(lv, dtype))
    assert_close(out, log_prob_closed_form(dx, 0.0, lv), dtype)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_diag_normal_log_prob_at_the_mean_with_a_vanishing_variance(kind):
    """Bug found by these tests: 0 * exp(1000) = 0 * inf gave NaN at x = mu; the term is exactly 0."""
    lv = -1000.0
    args = (np.zeros(1), np.zeros(1), np.array([lv]))
    if kind == "torch":
        args = tuple(torch.as_tensor(a) for a in args)
    out = Va.diag_normal_log_prob(*args)
    assert math.isclose(float(out), -0.5 * (LOG_2PI + lv), rel_tol=1e-15)


@pytest.mark.parametrize("dtype", TOL, ids=str)
@pytest.mark.parametrize("lv", [-50.0, 50.0])
def test_vae_gaussian_decoder_likelihood_with_log_var_pm50(lv, dtype):
    """The VAE's Gaussian decoder, log p(x | z), with its learned log-variance at +-50."""
    torch.manual_seed(0)
    model = Va.VAE(3, 2, hidden=(4,), likelihood="gaussian").to(dtype)
    with torch.no_grad():
        model.obs_log_var.fill_(lv)
    z = torch.randn(2, 5, 2, dtype=dtype)                                              # (n, batch, d)
    x = torch.randn(5, 3, dtype=dtype)
    out = model.log_likelihood(x, z)                                                   # (n, batch)
    mean = model.decode(z).double()
    expected = -0.5 * (3 * (LOG_2PI + lv) + ((x.double() - mean) ** 2).sum(-1) * math.exp(-lv))
    rtol, _ = TOL[dtype]
    assert out.dtype == dtype and bool(torch.isfinite(out).all())
    assert bool(((out.double() - expected).abs() <= 10 * rtol * expected.abs()).all())


@pytest.mark.parametrize("lv", [-50.0, 50.0])
def test_elbo_with_log_var_pm50_is_finite_and_exact(lv):
    """The ELBO of the linear-Gaussian model with q's log-variance at +-50: Monte Carlo with fixed
    noise equals the closed form built from kl_normal_std."""
    model = Va.LinearGaussianModel(np.array([[1.0], [0.5]]), np.zeros(2), 1.0)
    x = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
    mu, log_var = torch.zeros(1, 1, dtype=torch.float64), torch.full((1, 1), lv, dtype=torch.float64)
    exact = model.elbo_exact(x, mu, log_var)
    eps = torch.tensor([[[1.0]], [[-1.0]]], dtype=torch.float64)                        # antithetic pair
    mc = Va.elbo(x, mu, log_var, model.log_likelihood, n_samples=2, eps=eps)
    assert bool(torch.isfinite(exact).all()) and bool(torch.isfinite(mc).all())
    # with e = +-1 the sample mean of a quadratic in z is exact
    assert math.isclose(float(mc), float(exact), rel_tol=1e-12)
    ell = float(model.expected_log_likelihood(x, mu, log_var))
    assert math.isclose(float(exact), ell - kl_closed_form(0.0, lv, 0.0, 0.0), rel_tol=1e-12)
