"""Worker processes for work that splits into independent jobs (the capstone's fifteen trainings).

A pool of ``workers`` processes is started once and kept: a worker takes a second or two to
start (a fresh interpreter that imports torch), so a notebook starts them early
(:func:`start_workers`) and every later call reuses them. Each worker runs torch on one thread
and ignores Ctrl-C, which reaches the whole process group: the parent stops waiting and cancels
the jobs not yet started.
"""

from __future__ import annotations

import torch

from .validation import check_int

__all__ = ["start_workers", "worker_pool"]

_POOLS: dict = {}


def worker_pool(workers: int):
    """A ``concurrent.futures`` pool of ``workers`` processes, started on first use and kept.

    Example:
        >>> worker_pool(0)
        Traceback (most recent call last):
        ...
        ValueError: workers: expected an integer >= 1, got 0
    """
    workers = check_int(workers, "workers", low=1, high=64)
    if workers not in _POOLS:
        import atexit
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # "spawn", not "fork": forking a process whose torch has started its thread pools can hang
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start)
        atexit.register(pool.shutdown)
        _POOLS[workers] = pool
    return _POOLS[workers]


def start_workers(workers: int = 2) -> None:
    """Start the ``workers`` processes now, in the background, for a later call that uses them
    (``run_benchmark(..., workers=workers)``): each imports torch and sets up its optimiser code
    while the notebook runs other cells. One worker means no processes: nothing to start.
    """
    workers = check_int(workers, "workers", low=1, high=64)
    if workers > 1:
        pool = worker_pool(workers)
        for _ in range(workers):
            pool.submit(_warm_up)


def _warm_up() -> None:
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the first Adam imports torch._dynamo


def _worker_start() -> None:
    """Each worker: one torch thread, and deaf to Ctrl-C / the notebook's interrupt."""
    import signal

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
