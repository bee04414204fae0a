"""The benchmark suite: `make bench` runs this and writes results.json and results.md.

Measures, on this machine:
1. each chapter's execution time in a fresh kernel (median of --repeats runs);
2. each widget callback's latency over its whole slider grid (callback + PNG render,
   as in the live widget): median and 95th percentile;
3. `companion` against independent implementations on identical inputs: time ratio
   and maximum absolute difference.

Claims about speed in the book come from this file's output, never from timed tests.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from toc_notebooks import toc_notebooks  # noqa: E402

CHAPTER_MODULES = ["widgets", "vae", "gan", "flows", "diffusion", "guidance"]


def machine() -> dict:
    import torch

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "torch": torch.__version__,
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}


def bench_chapters(repeats: int) -> list[dict]:
    import nbformat
    from nbclient import NotebookClient

    rows = []
    for path in toc_notebooks():
        times = []
        for _ in range(repeats):
            nb = nbformat.read(path, as_version=4)
            start = time.perf_counter()
            NotebookClient(nb, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            times.append(time.perf_counter() - start)
        rows.append({"chapter": path.stem, "median_s": statistics.median(times), "runs_s": times})
        print(f"chapter {path.stem:12s} median {statistics.median(times):6.1f} s  runs {times}")
    return rows


def bench_widgets() -> list[dict]:
    from companion.plotting import figure_png

    rows = []
    for name in CHAPTER_MODULES:
        try:
            module = importlib.import_module(f"companion.{name}")
        except ImportError:
            continue
        factory = getattr(module, "widget_specs", None)
        if factory is None:
            continue
        start = time.perf_counter()
        specs = factory()
        prep = time.perf_counter() - start
        for spec in specs:
            lat, cb = [], []
            for values in spec.grid():
                t0 = time.perf_counter()
                _, fig = spec.callback(**values)
                t1 = time.perf_counter()
                figure_png(fig)  # what the live widget then displays
                lat.append((time.perf_counter() - t0) * 1000)
                cb.append((t1 - t0) * 1000)
            row = {"widget": spec.name, "module": name, "grid_points": len(lat),
                   "callback_median_ms": float(np.median(cb)),
                   "callback_p95_ms": float(np.percentile(cb, 95)),
                   "median_ms": float(np.median(lat)), "p95_ms": float(np.percentile(lat, 95)),
                   "precompute_s": prep}
            rows.append(row)
            print(f"widget {spec.name:28s} n={len(lat):4d} "
                  f"callback median {row['callback_median_ms']:6.1f} ms "
                  f"p95 {row['callback_p95_ms']:6.1f} ms; with PNG render median {row['median_ms']:6.1f} ms "
                  f"p95 {row['p95_ms']:6.1f} ms")
    return rows


def _time(f, repeats=20) -> float:
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def bench_references() -> list[dict]:
    import torch

    from companion import distributions as D

    rows = []
    g = torch.Generator().manual_seed(0)
    mu_q = torch.randn(100_000, generator=g, dtype=torch.float64)
    mu_p = torch.zeros(100_000, dtype=torch.float64)
    var_q = torch.rand(100_000, generator=g, dtype=torch.float64) + 0.1
    var_p = torch.ones(100_000, dtype=torch.float64)
    ours = lambda: D.kl_normal(mu_q, var_q, mu_p, var_p)
    ref = lambda: torch.distributions.kl_divergence(torch.distributions.Normal(mu_q, var_q.sqrt()),
                                                    torch.distributions.Normal(mu_p, var_p.sqrt()))
    rows.append({"what": "Gaussian KL (1e5, float64) vs torch.distributions",
                 "ours_ms": _time(ours) * 1e3, "ref_ms": _time(ref) * 1e3,
                 "max_abs_diff": float((ours() - ref()).abs().max())})
    vae = _optional("companion.vae")
    if vae is not None and hasattr(vae, "kl_normal_std"):
        log_var = torch.log(var_q).reshape(1000, 100)
        mu = mu_q.reshape(1000, 100)
        ours = lambda: vae.kl_normal_std(mu, log_var)
        ref = lambda: torch.distributions.kl_divergence(
            torch.distributions.Normal(mu, (0.5 * log_var).exp()),
            torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
        rows.append({"what": "kl_normal_std (1000x100, float64) vs torch.distributions",
                     "ours_ms": _time(ours) * 1e3, "ref_ms": _time(ref) * 1e3,
                     "max_abs_diff": float((ours() - ref()).abs().max())})
    for row in rows:
        row["time_ratio"] = row["ours_ms"] / row["ref_ms"]
        print(f"{row['what']}: ours {row['ours_ms']:.3f} ms, ref {row['ref_ms']:.3f} ms, "
              f"ratio {row['time_ratio']:.2f}, max |diff| {row['max_abs_diff']:.1e}")
    return rows


def _optional(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def write_markdown(results: dict, path: Path) -> None:
    m = results["machine"]
    lines = [f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), torch {m['torch']}, "
             f"Python {m['python']}.", ""]
    if results.get("chapters"):
        lines += ["| chapter | median run time (s) | runs (s) |", "|---|---|---|"]
        lines += [f"| {r['chapter']} | {r['median_s']:.1f} | "
                  + ", ".join(f"{t:.1f}" for t in r["runs_s"]) + " |" for r in results["chapters"]]
        lines.append("")
    if results.get("widgets"):
        lines += ["| widget | grid points | callback median (ms) | callback p95 (ms) "
                  "| with PNG render: median (ms) | with PNG render: p95 (ms) |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['widget']} | {r['grid_points']} | {r['callback_median_ms']:.1f} | "
                  f"{r['callback_p95_ms']:.1f} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} |"
                  for r in results["widgets"]]
        lines.append("")
    if results.get("references"):
        lines += ["| comparison | ours (ms) | reference (ms) | time ratio | max abs difference |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['what']} | {r['ours_ms']:.3f} | {r['ref_ms']:.3f} | {r['time_ratio']:.2f} | "
                  f"{r['max_abs_diff']:.1e} |" for r in results["references"]]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="chapter runs per chapter")
    parser.add_argument("--only", choices=["chapters", "widgets", "references"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["chapters", "widgets", "references"])
    out = ROOT / "benchmarks"
    previous = out / "results.json"
    # With --only, keep the other sections of the last run (they say when they were measured).
    results = json.loads(previous.read_text()) if args.only and previous.exists() else {}
    results["machine"] = machine()
    if "references" in only:
        results["references"] = bench_references()
    if "widgets" in only:
        results["widgets"] = bench_widgets()
    if "chapters" in only:
        results["chapters"] = bench_chapters(args.repeats)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, out / "results.md")
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}")


if __name__ == "__main__":
    main()
