"""companion.utils: the environment switches COMPANION_TRAIN_SCALE and COMPANION_DEVICE, and ``worst``.

The chapters pass their training steps through ``scaled`` and their device through
``default_device``; unset, the variables must give exactly the tested CPU path.
"""

import math

import numpy as np
import pytest
import torch

from companion.utils import default_device, scaled, train_scale


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv("COMPANION_TRAIN_SCALE", raising=False)
    monkeypatch.delenv("COMPANION_DEVICE", raising=False)


def test_defaults_are_the_tested_cpu_path():
    assert train_scale() == 1
    assert scaled(1) == 1 and scaled(1200) == 1200
    assert default_device() == "cpu"


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("4", 4), (" 3 ", 3), ("100", 100), ("", 1)])
def test_train_scale_reads_the_variable(monkeypatch, raw, expected):
    monkeypatch.setenv("COMPANION_TRAIN_SCALE", raw)
    assert train_scale() == expected
    assert scaled(300) == 300 * expected
    assert isinstance(scaled(300), int)


@pytest.mark.parametrize("raw", ["0", "-2", "101", "2.5", "1e2", "two", "4x", "nan"])
def test_bad_train_scale_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("COMPANION_TRAIN_SCALE", raw)
    with pytest.raises(ValueError, match=r"COMPANION_TRAIN_SCALE: expected an integer from 1 to 100") as err:
        train_scale()
    assert repr(raw) in str(err.value)
    with pytest.raises(ValueError, match="COMPANION_TRAIN_SCALE"):
        scaled(10)


@pytest.mark.parametrize("raw", ["cpu", "CPU", " cpu ", ""])
def test_cpu(monkeypatch, raw):
    monkeypatch.setenv("COMPANION_DEVICE", raw)
    assert default_device() == "cpu"


def test_auto_follows_cuda_availability(monkeypatch):
    monkeypatch.setenv("COMPANION_DEVICE", "auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == "cuda"


@pytest.mark.parametrize("raw", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_a_gpu_says_so(monkeypatch, raw):
    monkeypatch.setenv("COMPANION_DEVICE", raw)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"COMPANION_DEVICE: .* but no GPU was found"):
        default_device()


def test_cuda_with_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    for raw in ("cuda", "cuda:0", "CUDA:1"):
        monkeypatch.setenv("COMPANION_DEVICE", raw)
        assert default_device() == raw.lower()
    monkeypatch.setenv("COMPANION_DEVICE", "cuda:2")
    with pytest.raises(ValueError, match=r"COMPANION_DEVICE: 'cuda:2' asked for, but only 2 GPU"):
        default_device()


def test_mps_without_an_apple_gpu(monkeypatch):
    monkeypatch.setenv("COMPANION_DEVICE", "mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="COMPANION_DEVICE: 'mps' asked for, but no Apple GPU"):
        default_device()
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert default_device() == "mps"


@pytest.mark.parametrize("raw", ["gpu", "cuda:", "cuda:x", "tpu", "cuda0", "1"])
def test_unknown_device_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("COMPANION_DEVICE", raw)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    expected = r"COMPANION_DEVICE: expected 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'"
    with pytest.raises(ValueError, match=expected):
        default_device()


def test_worst_keeps_a_nan_that_max_drops():
    """The chapters' worst-error helper: the largest value, NaN wherever a NaN hides (max drops it)."""
    from companion.utils import worst

    nan = float("nan")
    assert max(0.0, nan) == 0.0                        # why the helper exists
    assert math.isnan(worst(0.0, nan)) and math.isnan(worst([1.0, nan, 2.0]))
    assert math.isnan(worst(torch.tensor([0.5, nan]))) and math.isnan(worst(np.array([[nan]])))
    assert worst(0.1, [0.3, 0.2], (x for x in [0.25]), {"a": 0.05}.values()) == 0.3
    assert worst(torch.tensor([1.0, 4.0]), np.float64(2.0), 3) == 4.0
