"""Execute the book's chapters into Jupyter Book's execution cache, two at a time.

``jupyter-book build`` executes the chapters one after another, inside Sphinx's reading
phase. Run first (``make book``, ``make book-strict``), this fills the same cache
(``book/_build/.jupyter_cache``, the one MyST-NB reads with ``execute_notebooks: cache``) from
``--jobs`` processes at once, the way MyST-NB would: same working directory (``book/``),
same per-cell timeout, same environment (``BOOK_BUILD``). The build then finds every chapter
executed ("Using cached notebook") and only renders. A chapter already in the cache is not
run again; a chapter that fails stops here, with its traceback, before Sphinx starts.

Usage: ``python tools/execute_parallel.py [--jobs 2] [--timeout 120]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CACHE = BOOK / "_build" / ".jupyter_cache"

sys.path.insert(0, str(ROOT / "tests"))
from toc_notebooks import toc_notebooks  # noqa: E402


def _execute(path: str, timeout: int) -> tuple[str, object, float, str | None]:
    """One chapter, executed as MyST-NB executes it (jupyter-cache's ``single_nb_execution``: its
    directory as the working directory, no per-cell timing), with the polling client of
    tests/polling_client.py."""
    import traceback

    import nbformat
    from polling_client import PollingNotebookClient

    nb = nbformat.read(path, as_version=4)
    timeout = nb.metadata.get("execution", {}).get("timeout", timeout)  # meta_override, as MyST-NB
    start = time.perf_counter()
    try:
        PollingNotebookClient(nb, resources={"metadata": {"path": str(Path(path).parent)}}, timeout=timeout,
                              allow_errors=False, record_timing=False).execute()
    except Exception:  # noqa: BLE001 -- reported with its traceback, the build stops
        return path, nb, time.perf_counter() - start, traceback.format_exc()
    return path, nb, time.perf_counter() - start, None


def _expected_seconds(path: Path) -> float:
    """How long a chapter is expected to run: its median in the last ``make bench``
    (``benchmarks/results.json``), or, for a chapter not in it, its file size in seconds per MB."""
    import json

    results = ROOT / "benchmarks" / "results.json"
    try:
        medians = {row["chapter"]: row["median_s"] for row in json.loads(results.read_text())["chapters"]}
    except (OSError, KeyError, TypeError, ValueError):
        medians = {}
    return medians.get(path.stem, path.stat().st_size / 1e6)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="chapters executed at once")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell (the book's _config.yml)")
    args = parser.parse_args(argv)

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(CACHE))
    todo = []
    for p in toc_notebooks():
        try:
            cache.match_cache_notebook(nbformat.read(p, as_version=4))
        except KeyError:  # jupyter-cache raises KeyError when nothing matches
            todo.append(str(p))
    if not todo:
        print("execute_parallel: every chapter is in the cache already")
        return 0
    # the longest chapters first, so that the queues end together
    todo.sort(key=lambda p: -_expected_seconds(Path(p)))
    start = time.perf_counter()
    failed = []
    with ProcessPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(_execute, p, args.timeout) for p in todo]
        for future in as_completed(futures):
            path, nb, seconds, error = future.result()
            name = Path(path).name
            if error is not None:
                failed.append(name)
                print(f"execute_parallel: {name} FAILED after {seconds:.1f} s\n{error}", file=sys.stderr)
                continue
            uri = cache.add_nb_to_project(path).uri
            cache.cache_notebook_bundle(CacheBundleIn(nb, uri, data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"execute_parallel: {name} executed in {seconds:.1f} s")
    print(f"execute_parallel: {len(todo)} chapters in {time.perf_counter() - start:.1f} s "
          f"on {args.jobs} processes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
