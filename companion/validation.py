"""Input validation shared by every public function of :mod:`companion`.

The convention: a public function checks its arguments first, and a bad argument
raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, wrong
value or shape) with a message that *names the argument* and says what was expected::

    >>> import numpy as np
    >>> check_array(np.array([1.0, float("nan")]), "x")
    Traceback (most recent call last):
    ...
    ValueError: x: expected finite values, got 1 NaN or infinite entries
    >>> check_positive(np.array([1.0, -2.0]), "var")
    Traceback (most recent call last):
    ...
    ValueError: var: expected values > 0, got minimum -2.0

Arrays may be NumPy arrays or torch tensors; the checks return the argument
unchanged (Python scalars and lists are converted to float64 NumPy arrays), so a
function keeps the kind of array it was given.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Union, overload

import numpy as np

__all__ = [
    "ArrayLike",
    "Array",
    "check_array",
    "check_positive",
    "check_in_range",
    "check_same_shape",
    "check_broadcast",
    "check_scalar",
    "check_int",
    "check_choice",
    "is_torch",
]

if TYPE_CHECKING:  # torch is imported by the modules that use it, not by this one
    import torch
    from typing_extensions import TypeIs

#: What public functions accept where they take numbers: a NumPy array, a torch tensor, a Python
#: number or a (nested) list of numbers.
ArrayLike = Union[np.ndarray, "torch.Tensor", float, Sequence[float], Sequence[Sequence[float]]]
#: What the checks return and the functions compute with: an array of the kind given (a tensor
#: stays a tensor; numbers and lists become float64 NumPy arrays).
Array = Union[np.ndarray, "torch.Tensor"]

#: Public functions check their arguments once, at the boundary; the loops inside them (a
#: sampler's steps) check nothing again. Set this to ``True`` to have them run every check of
#: every step as well, as ``torch.distributions``' ``validate_args`` does: slower, never needed
#: for correct input, useful to find the step where a model starts returning NaN.
CHECK_EVERY_CALL = False


def unchecked(fn: Any, kernel: str = "_forward", otherwise: Any = None) -> Any:
    """``fn``'s kernel without its argument checks, for a loop that made the arguments itself.

    The book's networks (``EpsMLP``, ``VelocityMLP``) check their input in ``forward`` and offer
    the rest as ``_forward``; a sampler or a loss that calls one many times with tensors it
    built calls ``unchecked(model)``. Any other callable, a network with forward hooks (which
    only a normal call runs), or every callable while :data:`CHECK_EVERY_CALL` is set, is
    returned as it is (or ``otherwise``, when given: a flow layer's checked ``inverse`` stands in
    for its ``_inverse`` kernel).
    """
    found = getattr(fn, kernel, None)
    if found is None or CHECK_EVERY_CALL or not callable(found) or has_hooks(fn):
        return fn if otherwise is None else otherwise
    return found


def has_hooks(module: Any) -> bool:
    """Whether a torch module has forward hooks (its own or global) that calling its kernel
    directly would skip: then :func:`unchecked` and the flows call the module as usual."""
    own = getattr(module, "_forward_hooks", None) or getattr(module, "_forward_pre_hooks", None)
    torch_module = sys.modules.get("torch.nn.modules.module")
    shared = torch_module is not None and bool(getattr(torch_module, "_global_forward_hooks", None)
                                               or getattr(torch_module, "_global_forward_pre_hooks", None))
    return bool(own) or shared


def array_namespace(x: Array) -> ModuleType:
    """The module whose functions work on ``x``: ``torch`` for a tensor, ``numpy`` otherwise.

    The Array API's idiom: ``xp = array_namespace(var); xp.log(var)`` computes with the kind of
    array it was given.

    Example:
        >>> array_namespace(np.ones(2)).__name__
        'numpy'
    """
    return sys.modules["torch"] if is_torch(x) else np


def is_torch(x: object) -> TypeIs[torch.Tensor]:
    """Whether ``x`` is a torch tensor (asked without importing torch: where no module has imported
    it, nothing can be a tensor, so these checks never load it themselves)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _to_float(x: Any) -> float:
    return float(x.detach().cpu().item()) if is_torch(x) else float(x)


@overload
def check_array(x: torch.Tensor, name: str, *, ndim: int | Sequence[int] | None = None,
                shape: Sequence[int | None] | None = None, finite: bool = True,
                allow_empty: bool = False) -> torch.Tensor: ...
@overload
def check_array(x: np.ndarray | float | Sequence[float] | Sequence[Sequence[float]], name: str, *,
                ndim: int | Sequence[int] | None = None, shape: Sequence[int | None] | None = None,
                finite: bool = True, allow_empty: bool = False) -> np.ndarray: ...
@overload
def check_array(x: ArrayLike, name: str, *, ndim: int | Sequence[int] | None = None,
                shape: Sequence[int | None] | None = None, finite: bool = True,
                allow_empty: bool = False) -> Array: ...


def check_array(
    x: ArrayLike,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
    allow_empty: bool = False,
) -> Array:
    """Check that ``x`` is a numeric array and return it.

    Args:
        x: a NumPy array, torch tensor, Python number or (nested) list of numbers.
        name: the argument's name, used in error messages.
        ndim: the allowed number of dimensions (an int or a collection of ints).
        shape: the expected shape; ``None`` entries match any size.
        finite: reject NaN and infinite entries.
        allow_empty: accept arrays with zero entries.

    Returns:
        ``x`` itself if it is an array or tensor, else a float64 NumPy array.

    Raises:
        TypeError: ``x`` is not numeric.
        ValueError: wrong dimension or shape, empty, or not finite.
    """
    if is_torch(x):
        if not (x.dtype.is_floating_point or str(x.dtype) in ("torch.int32", "torch.int64")):
            raise TypeError(f"{name}: expected a numeric tensor, got dtype {x.dtype}")
    elif isinstance(x, np.ndarray):
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise TypeError(f"{name}: expected a real numeric array, got dtype {x.dtype}")
    elif isinstance(x, bool) or x is None or isinstance(x, str):
        raise TypeError(f"{name}: expected a number or an array, got {type(x).__name__}")
    else:
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{name}: expected a number or an array, got {type(x).__name__}"
            ) from err
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name}: expected {want} dimension(s), got shape {tuple(x.shape)}"
            )
    if shape is not None:
        got = tuple(x.shape)
        if len(got) != len(shape) or any(
            s is not None and s != g for s, g in zip(shape, got, strict=True)
        ):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, got {got}")
    n = x.numel() if is_torch(x) else x.size
    if n == 0 and not allow_empty:
        raise ValueError(f"{name}: expected a non-empty array, got shape {tuple(x.shape)}")
    if finite and n > 0:
        # the largest |entry| is NaN or infinite exactly when some entry is: one reduction, a third
        # of the time of counting the non-finite entries (counted only to word the error)
        ok = float(x.detach().abs().max()) < math.inf if is_torch(x) else bool(np.isfinite(x).all())
        if not ok:
            bad = int((~x.isfinite()).sum()) if is_torch(x) else int((~np.isfinite(x)).sum())
            raise ValueError(f"{name}: expected finite values, got {bad} NaN or infinite entries")
    return x


@overload
def check_positive(x: torch.Tensor, name: str, *, strict: bool = True) -> torch.Tensor: ...
@overload
def check_positive(x: np.ndarray | float | Sequence[float], name: str, *,
                   strict: bool = True) -> np.ndarray: ...
@overload
def check_positive(x: ArrayLike, name: str, *, strict: bool = True) -> Array: ...


def check_positive(x: ArrayLike, name: str, *, strict: bool = True) -> Array:
    """Check that every entry of ``x`` is finite and > 0 (``>= 0`` if not ``strict``)."""
    x = check_array(x, name)
    low = _to_float(x.min())
    if (strict and low <= 0) or (not strict and low < 0):
        op = ">" if strict else ">="
        raise ValueError(f"{name}: expected values {op} 0, got minimum {low}")
    return x


@overload
def check_in_range(x: torch.Tensor, name: str, low: float, high: float, *,
                   closed: tuple[bool, bool] = (True, True)) -> torch.Tensor: ...
@overload
def check_in_range(x: np.ndarray | float | Sequence[float], name: str, low: float, high: float, *,
                   closed: tuple[bool, bool] = (True, True)) -> np.ndarray: ...
@overload
def check_in_range(x: ArrayLike, name: str, low: float, high: float, *,
                   closed: tuple[bool, bool] = (True, True)) -> Array: ...


def check_in_range(
    x: ArrayLike,
    name: str,
    low: float,
    high: float,
    *,
    closed: tuple[bool, bool] = (True, True),
) -> Array:
    """Check that every entry of ``x`` lies in the interval from ``low`` to ``high``.

    ``closed`` says whether each end is included: ``(False, False)`` is the open
    interval (low, high).
    """
    x = check_array(x, name)
    lo, hi = _to_float(x.min()), _to_float(x.max())
    bad_lo = lo < low if closed[0] else lo <= low
    bad_hi = hi > high if closed[1] else hi >= high
    if bad_lo or bad_hi:
        interval = ("[" if closed[0] else "(") + f"{low}, {high}" + ("]" if closed[1] else ")")
        raise ValueError(f"{name}: expected values in {interval}, got range [{lo}, {hi}]")
    return x


def check_same_shape(**arrays: ArrayLike) -> None:
    """Check that all keyword arguments have one shape, naming them if not.

    >>> check_same_shape(mu=np.zeros(3), log_var=np.zeros(2))
    Traceback (most recent call last):
    ...
    ValueError: mu and log_var: expected the same shape, got (3,) and (2,)
    """
    names = list(arrays)
    shapes = [tuple(np.shape(a)) if not is_torch(a) else tuple(a.shape) for a in arrays.values()]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError(
            f"{' and '.join(names)}: expected the same shape, got "
            + " and ".join(str(s) for s in shapes)
        )


def check_broadcast(**arrays: ArrayLike) -> tuple[int, ...]:
    """Check that all keyword arguments broadcast together, naming them if not; return the shape.

    >>> check_broadcast(x=np.zeros(3), mu=0.0, var=np.ones((2, 1)))
    (2, 3)
    >>> check_broadcast(x=np.zeros(3), mu=np.zeros(2))
    Traceback (most recent call last):
    ...
    ValueError: x and mu: expected shapes that broadcast together, got (3,) and (2,)
    """
    shapes = [tuple(a.shape) if is_torch(a) else tuple(np.shape(a)) for a in arrays.values()]
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(
            f"{' and '.join(arrays)}: expected shapes that broadcast together, got "
            + " and ".join(str(s) for s in shapes)
        ) from None


def check_scalar(
    x: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: tuple[bool, bool] = (True, True),
) -> float:
    """Check that ``x`` is a finite real number (optionally in a range) and return it as float.

    >>> check_scalar(float("nan"), "scale")
    Traceback (most recent call last):
    ...
    ValueError: scale: expected a finite number, got nan
    """
    if isinstance(x, bool) or not (isinstance(x, (numbers.Real, np.ndarray)) or is_torch(x)):
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}")
    if isinstance(x, np.ndarray) or is_torch(x):
        if (x.numel() if is_torch(x) else x.size) != 1:
            raise TypeError(f"{name}: expected a single number, got shape {tuple(x.shape)}")
    value = _to_float(x) if is_torch(x) else float(np.asarray(x).reshape(()))
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    if low is not None and (value < low if closed[0] else value <= low):
        raise ValueError(f"{name}: expected {'>=' if closed[0] else '>'} {low}, got {value}")
    if high is not None and (value > high if closed[1] else value >= high):
        raise ValueError(f"{name}: expected {'<=' if closed[1] else '<'} {high}, got {value}")
    return value


def check_int(x: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Check that ``x`` is an integer (optionally within ``[low, high]``) and return it."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Integral, np.integer)):
        raise TypeError(f"{name}: expected an integer, got {type(x).__name__}")
    value = int(x)
    if low is not None and value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name}: expected an integer <= {high}, got {value}")
    return value


def check_choice(x: Any, name: str, choices: Sequence[str]) -> str:
    """Check that ``x`` is one of ``choices``."""
    if x not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {x!r}")
    return x
