"""Two-sample statistics against independent computations (SciPy, naive double loops)."""

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.metrics import energy_distance, mmd_rbf


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def naive_mmd(x, y, h):
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * h * h))
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def naive_energy(x, y):
    d = lambda a, b: np.sqrt(np.sum((a - b) ** 2))
    m, n = len(x), len(y)
    exy = sum(d(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    exx = sum(d(x[i], x[j]) for i in range(m) for j in range(m)) / m**2
    eyy = sum(d(y[i], y[j]) for i in range(n) for j in range(n)) / n**2
    return 2 * exy - exx - eyy


def test_energy_distance_matches_scipy_in_one_dimension(rng):
    x, y = rng.normal(size=60), rng.normal(0.7, 1.5, size=45)
    assert energy_distance(x, y) == pytest.approx(scipy.stats.energy_distance(x, y) ** 2, rel=1e-10)


def test_energy_distance_matches_a_double_loop_in_two_dimensions(rng):
    x, y = rng.normal(size=(15, 2)), rng.normal(0.5, 1.0, size=(11, 2))
    assert energy_distance(x, y) == pytest.approx(naive_energy(x, y), rel=1e-10)
    ref = naive_energy(x, y)
    assert energy_distance(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(ref, rel=1e-10)


def test_mmd_matches_a_double_loop(rng):
    x, y = rng.normal(size=(12, 3)), rng.normal(0.3, 1.2, size=(9, 3))
    for h in (0.5, 1.0, 3.0):
        assert mmd_rbf(x, y, h) == pytest.approx(naive_mmd(x, y, h), rel=1e-10, abs=1e-14)


def test_mmd_is_unbiased_for_one_distribution(rng):
    vals = [mmd_rbf(rng.normal(size=(30, 2)), rng.normal(size=(30, 2)), 1.0) for _ in range(300)]
    se = np.std(vals, ddof=1) / np.sqrt(len(vals))
    assert abs(np.mean(vals)) < 4 * se
    # and clearly positive for different distributions
    assert mmd_rbf(rng.normal(size=(200, 2)), rng.normal(1.0, 1.0, size=(200, 2)), 1.0) > 20 * se


def test_statistics_grow_with_the_shift(rng):
    x = rng.normal(size=(400, 2))
    shifts = [0.0, 0.5, 1.0, 2.0]
    ed = [energy_distance(x, rng.normal(size=(400, 2)) + s) for s in shifts]
    mmd = [mmd_rbf(x, rng.normal(size=(400, 2)) + s, 1.0) for s in shifts]
    assert ed == sorted(ed) and mmd == sorted(mmd)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=2, max_size=12),
       st.lists(st.floats(-100, 100), min_size=2, max_size=12))
def test_symmetry_and_identity(xs, ys):
    x, y = np.array(xs), np.array(ys)
    assert energy_distance(x, y) == pytest.approx(energy_distance(y, x), rel=1e-9, abs=1e-9)
    assert energy_distance(x, y) >= 0
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert mmd_rbf(x, y, 2.0) == pytest.approx(mmd_rbf(y, x, 2.0), rel=1e-9, abs=1e-12)


def test_extreme_inputs_stay_finite():
    x, y = np.array([[1e8, -1e8], [0.0, 0.0]]), np.array([[-1e8, 1e8], [1.0, 1.0]])
    assert np.isfinite(energy_distance(x, y)) and np.isfinite(mmd_rbf(x, y, 1e-3))
