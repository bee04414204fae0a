"""NoiseSchedule (computed once, checked once) and the samplers' check-once loop."""

import math

import pytest
import torch

from companion import diffusion as Df
from companion import validation
from companion.schedules import NoiseSchedule, alphas_cumprod, cosine_beta_schedule, linear_beta_schedule


def test_posterior_coefficients_match_the_precision_weighted_form():
    """Bayes with precisions (the chapter's derivation), computed independently of ``_of``."""
    betas = cosine_beta_schedule(50).double()
    s = NoiseSchedule.from_betas(betas)
    for t in range(2, 51):                       # paper steps; the array index is t - 1
        beta, alpha = float(betas[t - 1]), 1.0 - float(betas[t - 1])
        ab_prev = math.prod(1.0 - float(b) for b in betas[: t - 1])
        var = 1.0 / (alpha / beta + 1.0 / (1.0 - ab_prev))
        coef_xt, coef_x0 = var * math.sqrt(alpha) / beta, var * math.sqrt(ab_prev) / (1.0 - ab_prev)
        got = (float(s.posterior_variance[t - 1]), float(s.posterior_coef_xt[t - 1]),
               float(s.posterior_coef_x0[t - 1]))
        assert got == pytest.approx((var, coef_xt, coef_x0), rel=1e-9), t
    # t = 1: abar_0 = 1, so the posterior is the point mass at x0
    assert float(s.posterior_variance[0]) == 0.0 and float(s.posterior_coef_x0[0]) == pytest.approx(1.0)
    assert torch.equal(s.alphas_cumprod, alphas_cumprod(betas))


def test_named_constructors_and_the_public_posterior_agree():
    assert torch.equal(NoiseSchedule.linear(20).betas, linear_beta_schedule(20))
    assert torch.equal(NoiseSchedule.cosine(20).alphas_cumprod, alphas_cumprod(cosine_beta_schedule(20)))
    s = NoiseSchedule.linear(10, 1e-3, 0.2)
    x0, x_t, t = torch.randn(4, 2), torch.randn(4, 2), torch.tensor([0, 3, 6, 9])
    mean, var = Df.q_posterior_mean_variance(x0, x_t, t, s.betas)
    assert torch.equal(var[:, 0], s.posterior_variance[t].float())
    coef_x0, coef_xt = s.posterior_coef_x0[t, None].float(), s.posterior_coef_xt[t, None].float()
    assert torch.allclose(mean, coef_x0 * x0 + coef_xt * x_t)


@pytest.mark.parametrize("bad", [torch.tensor([0.1, float("nan")]), torch.tensor([0.1, 1.0]),
                                 torch.tensor([[0.1, 0.2]]), torch.tensor([0.0, 0.2])])
def test_from_betas_checks_the_betas_once(bad):
    with pytest.raises(ValueError, match="betas"):
        NoiseSchedule.from_betas(bad)


def _nan_after(n_calls: int):
    calls = []

    def model(x, t):
        calls.append(1)
        return torch.full_like(x, math.nan) if len(calls) > n_calls else torch.zeros_like(x)
    return model


def test_samplers_check_once_unless_asked_to_check_every_step(monkeypatch):
    b = linear_beta_schedule(10, 1e-3, 0.2)
    # correct input: the same samples, checked once or at every step
    net = lambda x, t: 0.1 * x  # noqa: E731
    quiet = Df.ddpm_sample(net, b, (8, 2), seed=1), Df.ddim_sample(net, alphas_cumprod(b), (8, 2), 5, seed=1)
    monkeypatch.setattr(validation, "CHECK_EVERY_CALL", True)
    loud = Df.ddpm_sample(net, b, (8, 2), seed=1), Df.ddim_sample(net, alphas_cumprod(b), (8, 2), 5, seed=1)
    assert all(torch.equal(a, c) for a, c in zip(quiet, loud, strict=True))
    # a model that breaks down mid-way: found at its step only when every step is checked
    with pytest.raises(ValueError, match="eps"):
        Df.ddpm_sample(_nan_after(3), b, (8, 2))
    monkeypatch.setattr(validation, "CHECK_EVERY_CALL", False)
    assert torch.isnan(Df.ddpm_sample(_nan_after(3), b, (8, 2))).all()
    # the output's shape is checked at every step either way (it costs nothing)
    with pytest.raises(ValueError, match="eps_model"):
        Df.ddpm_sample(lambda x, t: x[:, :1], b, (8, 2))
    with pytest.raises(ValueError, match="eps_model"):
        Df.ddim_sample(lambda x, t: x[:, :1], alphas_cumprod(b), (8, 2), 5)
