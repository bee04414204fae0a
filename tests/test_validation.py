"""The input-validation convention: errors name the argument and the expectation."""

import numpy as np
import pytest
import torch

from companion.validation import (
    check_array,
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    check_same_shape,
    check_scalar,
)


@pytest.mark.parametrize("x", [np.array([1.0, 2.0]), torch.tensor([1.0, 2.0])])
def test_check_array_returns_the_same_kind(x):
    assert check_array(x, "x") is x


def test_check_array_converts_lists_to_float64():
    out = check_array([1, 2, 3], "x")
    assert isinstance(out, np.ndarray) and out.dtype == np.float64


@pytest.mark.parametrize("bad", [np.array([1.0, np.nan]), torch.tensor([np.inf, 1.0])])
def test_nan_and_inf_are_rejected_by_name(bad):
    with pytest.raises(ValueError, match=r"^my_arg: expected finite values"):
        check_array(bad, "my_arg")


def test_empty_is_rejected_unless_allowed():
    with pytest.raises(ValueError, match="batch: expected a non-empty array"):
        check_array(np.zeros((0, 2)), "batch")
    assert check_array(np.zeros((0, 2)), "batch", allow_empty=True).shape == (0, 2)


def test_shape_and_ndim():
    with pytest.raises(ValueError, match=r"x: expected shape \(any, 2\), got \(3, 3\)"):
        check_array(np.zeros((3, 3)), "x", shape=(None, 2))
    with pytest.raises(ValueError, match=r"x: expected 2 dimension\(s\)"):
        check_array(np.zeros(3), "x", ndim=2)
    check_array(np.zeros((3, 2)), "x", shape=(None, 2), ndim=(1, 2))


@pytest.mark.parametrize("bad", ["abc", None, True, np.array(["a"]), np.array([1 + 1j])])
def test_non_numeric_is_a_type_error(bad):
    with pytest.raises(TypeError, match="^x: expected"):
        check_array(bad, "x")


def test_check_positive():
    with pytest.raises(ValueError, match="var: expected values > 0, got minimum -1.0"):
        check_positive(np.array([1.0, -1.0]), "var")
    with pytest.raises(ValueError, match="var: expected values > 0"):
        check_positive(torch.tensor([0.0]), "var")
    check_positive(np.array([0.0]), "var", strict=False)


def test_check_in_range_open_and_closed():
    with pytest.raises(ValueError, match=r"beta: expected values in \(0, 1\)"):
        check_in_range(np.array([0.5, 1.0]), "beta", 0, 1, closed=(False, False))
    check_in_range(np.array([0.0, 1.0]), "p", 0, 1)
    with pytest.raises(ValueError, match=r"p: expected values in \[0, 1\]"):
        check_in_range(np.array([-0.1]), "p", 0, 1)


def test_check_same_shape_names_both():
    with pytest.raises(ValueError, match="mu and log_var: expected the same shape"):
        check_same_shape(mu=np.zeros((2, 3)), log_var=torch.zeros(2, 2))


def test_check_scalar():
    assert check_scalar(np.float32(2.5), "scale") == 2.5
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="scale: expected a finite number"):
            check_scalar(bad, "scale")
    with pytest.raises(TypeError, match="scale: expected a real number"):
        check_scalar("1", "scale")
    with pytest.raises(ValueError, match="sigma: expected > 0"):
        check_scalar(0.0, "sigma", low=0.0, closed=(False, True))


def test_check_int_and_choice():
    with pytest.raises(TypeError, match="k: expected an integer"):
        check_int(2.0, "k")
    with pytest.raises(ValueError, match="k: expected an integer >= 1, got 0"):
        check_int(0, "k", low=1)
    with pytest.raises(ValueError, match=r"kind: expected one of \['a', 'b'\]"):
        check_choice("c", "kind", ["a", "b"])


@pytest.mark.parametrize("entries", [[1e30, float("nan"), -5.0], [float("nan")] * 3, [2.0, float("inf")],
                                     [-float("inf"), 0.0], [float("nan"), float("inf"), 1.0]])
@pytest.mark.parametrize("kind", ["tensor", "grad", "half", "numpy"])
def test_every_non_finite_entry_is_caught_wherever_it_sits(entries, kind):
    """check_array's torch path finds NaN and infinities through one reduction (the largest
    absolute entry); it must catch them next to huge finite values, alone, and under autograd."""
    import torch

    x = {"tensor": lambda: torch.tensor(entries, dtype=torch.float64),
         "grad": lambda: torch.tensor(entries, requires_grad=True),
         "half": lambda: torch.tensor(entries, dtype=torch.float16),
         "numpy": lambda: np.array(entries)}[kind]()
    with np.errstate(over="ignore"):  # in half precision 1e30 is itself infinite
        bad = int((~np.isfinite(np.array(entries, dtype=np.float16 if kind == "half" else float))).sum())
    with pytest.raises(ValueError, match=f"x: expected finite values, got {bad} NaN or infinite"):
        check_array(x, "x")
    fine = torch.tensor([1e30, -3e38, 0.0], dtype=torch.float32)
    assert check_array(fine, "x") is fine and check_array(torch.tensor([3, -7]), "x") is not None


def test_unchecked_gives_the_networks_kernel_and_the_same_numbers():
    """Samplers and losses call ``unchecked(model)`` on inputs they built: the book's networks'
    ``_forward``, which returns what ``forward`` does, bit for bit, without the checks."""
    from companion import validation
    from companion.diffusion import EpsMLP
    from companion.flow_matching import VelocityMLP
    from companion.validation import unchecked

    torch.manual_seed(0)
    x = torch.randn(5, 2)
    for model, t in ((EpsMLP(2, hidden=8), torch.arange(5)), (VelocityMLP(2, hidden=8), torch.rand(5))):
        fast = unchecked(model)
        assert fast == model._forward and fast is not model
        assert torch.equal(fast(x, t), model(x, t))
        with pytest.raises(ValueError, match="t: expected finite"):
            model(x, torch.full((5,), float("nan")))
        validation.CHECK_EVERY_CALL = True
        try:
            assert unchecked(model) is model
        finally:
            validation.CHECK_EVERY_CALL = False
    plain = lambda x, t: x  # noqa: E731
    assert unchecked(plain) is plain
    calls = []  # a forward hook runs only on a normal call: then the module itself is used
    handle = model.register_forward_hook(lambda *args: calls.append(1))
    try:
        assert unchecked(model) is model
    finally:
        handle.remove()
    assert unchecked(model) == model._forward
    from companion.flows import make_flow

    flow = make_flow(2, 2, seed=0)
    layer = flow.layers[0]
    handle = layer.register_forward_pre_hook(lambda *args: calls.append(2))
    try:
        flow.sample(3)
    finally:
        handle.remove()
    assert calls == [2]
    from companion.diffusion import _timestep_embedding, timestep_embedding

    steps = torch.arange(0, 1000, 37)  # the kernel the networks use is the public function's
    assert torch.equal(_timestep_embedding(steps, 16), timestep_embedding(steps, 16))
