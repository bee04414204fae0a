"""Small shared utilities: seeding, and the two environment switches of the book.

Every chapter runs on a laptop CPU within its time budget by default. Two environment
variables change that without editing a chapter:

- ``COMPANION_TRAIN_SCALE=k`` multiplies every chapter's training steps by ``k``
  (:func:`train_scale`, :func:`scaled`), for nicer figures at ``k`` times the cost;
- ``COMPANION_DEVICE`` picks the device the chapters train on (:func:`default_device`).

Unset, they give the tested path: the steps as written, on the CPU.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from .validation import check_int

# moved_names is package plumbing, not listed here
__all__ = ["set_seed", "start_chapter", "train_scale", "scaled", "default_device", "worst", "markdown_table"]

#: The largest accepted ``COMPANION_TRAIN_SCALE``.
_MAX_TRAIN_SCALE = 100


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch, and return a fresh NumPy ``Generator``.

    Every chapter calls this once at the top so that a run gives the same numbers.

    Example:
        >>> a = set_seed(0).normal(); b = set_seed(0).normal()
        >>> a == b
        True
    """
    seed = check_int(seed, "seed", low=0)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- legacy global state, seeded for third-party code
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def start_chapter(seed: int = 0, *, threads: int | None = 1) -> np.random.Generator:
    """The one setup call at the top of every chapter; returns :func:`set_seed`'s generator.

    It seeds Python, NumPy and torch with ``seed`` (one seed per chapter: the same run gives the
    same numbers), applies the book's figure style, and runs torch on ``threads`` threads: the
    book's networks are tiny, so one thread is as fast as several and never oversubscribes a
    shared CPU. ``threads=None`` leaves torch's own choice.

    Example:
        >>> a = start_chapter(0, threads=None).normal(); b = start_chapter(0, threads=None).normal()
        >>> a == b
        True
    """
    rng = set_seed(seed)
    if threads is not None:
        torch.set_num_threads(check_int(threads, "threads", low=1))
    from .plotting import use_book_style  # presentation, imported only when a chapter starts

    use_book_style()
    return rng


def train_scale() -> int:
    """The training-length multiplier: the environment variable ``COMPANION_TRAIN_SCALE``.

    Unset (or empty) it is 1, the chapters' tested budget. Otherwise it must be an
    integer from 1 to 100.

    Raises:
        ValueError: the variable is not such an integer; the message names it.

    Example:
        >>> 1 <= train_scale() <= 100
        True
    """
    raw = os.environ.get("COMPANION_TRAIN_SCALE", "").strip()
    if raw == "":
        return 1
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= _MAX_TRAIN_SCALE:
        raise ValueError(f"COMPANION_TRAIN_SCALE: expected an integer from 1 to {_MAX_TRAIN_SCALE}, "
                         f"got {raw!r}")
    return value


def scaled(steps: int) -> int:
    """``steps * train_scale()``: a chapter's training steps, times ``COMPANION_TRAIN_SCALE``.

    Args:
        steps: the chapter's step count at the default scale, an integer >= 1.

    Example:
        >>> scaled(300) == 300 * train_scale()   # 300 unless COMPANION_TRAIN_SCALE is set
        True
    """
    steps = check_int(steps, "steps", low=1)
    return steps * train_scale()


def default_device() -> str:
    """The device the chapters train on: the environment variable ``COMPANION_DEVICE``.

    Unset (or empty) it is ``"cpu"``, the tested path. ``"auto"`` gives ``"cuda"`` when
    ``torch.cuda.is_available()`` and ``"cpu"`` otherwise; ``"cpu"``, ``"cuda"``,
    ``"cuda:N"`` and ``"mps"`` are taken as they are, after checking that the GPU exists.

    Raises:
        ValueError: an unknown value, or a GPU asked for where none is found; the
            message names ``COMPANION_DEVICE``.

    Example:
        >>> torch.device(default_device()).type in ("cpu", "cuda", "mps")   # "cpu" unless set
        True
    """
    raw = os.environ.get("COMPANION_DEVICE", "").strip()
    value = raw.lower()
    if value in ("", "cpu"):
        return "cpu"
    if value == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if value == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError("COMPANION_DEVICE: 'mps' asked for, but no Apple GPU (MPS) was found")
        return "mps"
    if value == "cuda" or (value.startswith("cuda:") and value[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ValueError(f"COMPANION_DEVICE: {raw!r} asked for, but no GPU was found "
                             "(torch.cuda.is_available() is False); unset it or use 'auto' or 'cpu'")
        index = int(value[5:]) if ":" in value else 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"COMPANION_DEVICE: {raw!r} asked for, but only "
                             f"{torch.cuda.device_count()} GPU(s) were found")
        return value
    raise ValueError(f"COMPANION_DEVICE: expected 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto', got {raw!r}")


def moved_names(module: str, homes: Mapping[str, Sequence[str]]):
    """A module ``__getattr__`` that finds names whose home moved, importing the new home on first use.

    ``homes`` maps a module of the package (``"schedules"``, ``"views.diffusion"``) to the names that
    live there now; a module assigns ``__getattr__ = moved_names(__name__, _HOMES)`` so that readers'
    code written against the old path keeps working, with no import (and no import cycle) until
    a moved name is used.

    Example:
        >>> getattr_ = moved_names("companion.diffusion", {"schedules": ("snr",)})
        >>> getattr_("snr").__module__
        'companion.schedules'
    """
    import importlib

    def __getattr__(name: str):
        for home, names in homes.items():
            if name in names:
                return getattr(importlib.import_module(f"companion.{home}"), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def worst(*values) -> float:
    """The largest of ``values``, and NaN if any of them holds a NaN: the worst error of a check.

    Each value may be a number, a NumPy array, a torch tensor, or an iterable of these (a
    generator, a list, a dict's ``values()``); every element counts. Python's ``max`` cannot be
    trusted with this: every comparison with NaN is false, so ``max(0.0, nan)`` is ``0.0``, and a
    check ``max(errors) < tol`` passes when a formula returns NaN after the first entry. The
    chapters take their worst errors with this function instead.

    Example:
        >>> worst(0.1, [0.3, 0.2]), max(0.0, float("nan")), worst(0.0, float("nan"))
        (0.3, 0.0, nan)
    """
    flat: list[float] = []

    def add(v) -> None:
        # an array counts by its own maximum: NumPy's and torch's propagate NaN, unlike max()
        if isinstance(v, torch.Tensor):
            if v.numel():
                flat.append(float(v.detach().max()))
        elif isinstance(v, np.ndarray | np.generic):
            if np.size(v):
                flat.append(float(np.max(v)))
        elif isinstance(v, int | float):
            flat.append(float(v))
        elif isinstance(v, str | bytes) or not hasattr(v, "__iter__"):
            raise TypeError("values: expected numbers, arrays, tensors or iterables of them, "
                            f"got {type(v).__name__}")
        else:
            for item in v:
                add(item)

    for v in values:
        add(v)
    if not flat:
        raise ValueError("values: expected at least one number, got none")
    return float(np.max(flat))


def markdown_table(header, rows) -> str:
    """A Markdown table of ``rows`` under ``header``, for results a reader should read as a table.

    A chapter displays it with ``display(Markdown(markdown_table(...)))`` in a cell whose metadata
    asks MyST-NB for MyST Markdown (``"mystnb": {"markdown_format": "myst"}``; its default,
    CommonMark, has no tables): the site renders a table (which stacks or scrolls on a phone)
    where a printed text table would wrap its rows, and JupyterLab renders it too.
    Cells are written with ``str`` (format numbers before); ``|`` in a cell is escaped. The first
    column is left-aligned, the others right-aligned (they hold numbers).

    Example:
        >>> print(markdown_table(["path", "loss"], [["linear", "0.52"], ["cosine", "0.61"]]))
        | path | loss |
        |:--|--:|
        | linear | 0.52 |
        | cosine | 0.61 |
    """
    header = [str(h) for h in header]
    if not header:
        raise ValueError("header: expected at least one column, got none")
    rows = [list(r) for r in rows]
    if not rows:
        raise ValueError("rows: expected at least one row, got none")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"rows: row {i} has {len(row)} cells, expected {len(header)} (one per header)")

    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join([":--"] + ["--:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
