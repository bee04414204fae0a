"""companion's diffusion loss and samplers agree with the loop-per-step references of the benchmark.

The references (``benchmarks/diffusion_reference.py``) are written from the papers'
formulas with scalar schedule lookups; here a tiny network, float64, fixed seeds.
"""

import sys
from pathlib import Path

import pytest
import torch

from companion import diffusion as Df

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import diffusion_reference as R  # noqa: E402

DT = torch.float64
TOL = 1e-10


@pytest.fixture
def setup():
    torch.manual_seed(0)
    model = Df.EpsMLP(2, hidden=8, emb_dim=4).double()
    betas = Df.linear_beta_schedule(12, 1e-3, 0.2)
    return model, betas


def test_schedule_and_timesteps(setup):
    _, betas = setup
    ab = torch.tensor(R.cumulative_products(betas), dtype=DT)
    assert torch.allclose(ab, Df.alphas_cumprod(betas), rtol=0, atol=1e-15)
    for steps in range(1, 13):
        assert R.even_timesteps(12, steps) == Df.ddim_timesteps(12, steps)


def test_loss_matches_reference(setup):
    model, betas = setup
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(7, 2, generator=g, dtype=DT), torch.randn(7, 2, generator=g, dtype=DT)
    t = torch.randint(0, 12, (7,), generator=g)
    with torch.no_grad():
        ours = Df.simple_loss(model, x0, t, eps, Df.alphas_cumprod(betas))
        ref = R.reference_loss(model, x0, t, eps, betas)
    assert abs(float(ours - ref)) < TOL


def test_ddpm_matches_reference(setup):
    model, betas = setup
    ours = Df.ddpm_sample(model, betas, (6, 2), seed=3, dtype=DT)
    ref = R.reference_ddpm(model, betas, (6, 2), seed=3)
    assert float((ours - ref).abs().max()) < TOL


@pytest.mark.parametrize("steps, eta", [(12, 0.0), (5, 0.0), (5, 0.6), (12, 1.0)])
def test_ddim_matches_reference(setup, steps, eta):
    model, betas = setup
    ours = Df.ddim_sample(model, Df.alphas_cumprod(betas), (6, 2), steps, eta, seed=4, dtype=DT)
    ref = R.reference_ddim(model, betas, (6, 2), steps, eta, seed=4)
    assert float((ours - ref).abs().max()) < TOL
