"""Widget callbacks at the corners of their sliders, and seeding."""

import itertools

import numpy as np
import pytest

import companion
from companion.widgets import KL_SLIDERS, kl_two_gaussians_view


def test_kl_view_at_every_corner_of_its_sliders():
    ranges = [(lo, hi) for lo, hi, _, _ in KL_SLIDERS.values()]
    for mu_q, sigma_q in itertools.product(*ranges):
        numbers, fig = kl_two_gaussians_view(mu_q, sigma_q)
        assert all(np.isfinite(v) and v >= 0 for v in numbers.values())
        lines = fig.axes[0].get_lines()
        assert len(lines) == 2 and all(np.isfinite(line.get_ydata()).all() for line in lines)


def test_kl_view_numbers_match_closed_form():
    numbers, _ = kl_two_gaussians_view(1.0, 0.5)
    assert numbers["KL(q||p)"] == pytest.approx(-np.log(0.5) + (0.25 + 1.0) / 2 - 0.5)


def test_kl_view_rejects_bad_sigma():
    with pytest.raises(ValueError, match="sigma_q: expected > 0"):
        kl_two_gaussians_view(0.0, 0.0)


def test_set_seed_reproduces_numpy_and_torch():
    import torch

    a = (companion.set_seed(3).normal(), torch.randn(2))
    b = (companion.set_seed(3).normal(), torch.randn(2))
    assert a[0] == b[0] and torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="seed: expected an integer >= 0"):
        companion.set_seed(-1)


def test_widget_spec_grid_and_corners():
    from companion.widgets import kl_widget_spec

    spec = kl_widget_spec()
    assert len(spec.grid()) == 13 * 6
    assert {"mu_q": -3.0, "sigma_q": 2.75} in spec.corners() and len(spec.corners()) == 4
    assert spec.values("sigma_q")[-1] == 2.75 and spec.defaults() == {"mu_q": 1.0, "sigma_q": 0.75}
    for values in spec.corners():
        numbers, fig = spec.callback(**values)
        assert fig.axes and all(np.isfinite(v) for v in numbers.values())
