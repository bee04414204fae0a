"""The benchmark suite: `make bench` runs this and writes results.json and results.md.

Measures, on this machine:
1. each chapter's execution time in a fresh kernel (median of --repeats runs);
2. each widget callback's latency over its whole slider grid (callback + PNG render,
   as in the live widget): median and 95th percentile;
3. `companion` against independent implementations on identical inputs: time ratio
   and maximum absolute difference (`references`: Gaussian KLs against
   torch.distributions; `flows-zuko`: coupling flows against zuko; `diffusion-reference`:
   the diffusion loss and samplers against loop-per-step references;
   `flow-matching-reference`: flow matching's conditional paths and training step against
   torchcfm). Each comparison asserts agreement within 1e-6 in float64 and stops the run if
   it fails;
4. each chapter model's training throughput at the chapter's settings, and the quality
   number the chapter reports at that budget (`training`);
5. with `--only builds` (not by default: about 25 minutes), cold and warm `make book`
   and, with `--with-make-test`, `make test` wall times.

Claims about speed in the book come from this file's output, never from timed tests.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import diffusion_reference as DR  # noqa: E402
from toc_notebooks import toc_notebooks  # noqa: E402

CHAPTER_MODULES = ["toolkit", "vae", "gan", "flows", "diffusion", "flow_matching", "guidance", "capstone"]
SECTIONS = ["chapters", "widgets", "references", "flows-zuko", "diffusion-reference", "diffusers",
            "flow-matching-reference", "training", "builds"]
DEFAULT_SECTIONS = [name for name in SECTIONS if name != "builds"]
AGREEMENT_TOL = 1e-6  # float64 agreement required of every comparison with a reference
SLOWER_THAN = 1.05    # time ratios above this get a "why" note under the comparison table


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


#: Each chapter's running-time budget in seconds, as its introduction states it ("under half a
#: minute", "under a minute"; the book's budget per chapter, 90 s, for the others). A chapter whose
#: median exceeds its budget stops the run: the budget is checked here, by the benchmark, not by a
#: timed assert inside the chapter, which a loaded machine could fail.
CHAPTER_BUDGET_S = {"toolkit": 30, "vae": 60, "gan": 60, "flows": 60}
BOOK_BUDGET_S = 90


def bench_chapters(repeats: int) -> list[dict]:
    import nbformat
    from polling_client import PollingNotebookClient  # nbclient, reading the kernel in short polls

    rows = []
    for path in toc_notebooks():
        times = []
        for _ in range(repeats):
            nb = nbformat.read(path, as_version=4)
            start = time.perf_counter()
            PollingNotebookClient(nb, timeout=300, kernel_name="python3",
                                  resources={"metadata": {"path": str(path.parent)}}).execute()
            times.append(time.perf_counter() - start)
        budget = CHAPTER_BUDGET_S.get(path.stem, BOOK_BUDGET_S)
        rows.append({"chapter": path.stem, "median_s": statistics.median(times), "runs_s": times,
                     "budget_s": budget})
        print(f"chapter {path.stem:12s} median {statistics.median(times):6.1f} s  budget {budget} s  "
              f"runs {times}")
    over = [f"{r['chapter']} ({r['median_s']:.1f} s > {r['budget_s']} s)" for r in rows
            if r["median_s"] > r["budget_s"]]
    if over:
        raise AssertionError(f"chapters over their running-time budget: {over}")
    return rows


def bench_widgets() -> list[dict]:
    """Each widget over its whole slider grid: the callback alone, and what the live widget
    does on a slider move (``WidgetSpec.render``: callback, then the PNG with the layout
    fixed by the first render). The first render, at the defaults, happens when the widget
    is displayed; it is reported separately and not counted in the slider statistics."""
    rows = []
    for name in CHAPTER_MODULES:
        try:
            module = importlib.import_module(f"companion.views.{name}")
        except ImportError:
            continue
        factory = getattr(module, "widget_specs", None)
        if factory is None:
            continue
        start = time.perf_counter()
        specs = factory()
        prep = time.perf_counter() - start
        for spec in specs:
            t0 = time.perf_counter()
            spec.render()
            first = (time.perf_counter() - t0) * 1000
            lat, cb = [], []
            for values in spec.grid():
                t0 = time.perf_counter()
                spec.callback(**values)
                cb.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                spec.render(values)
                lat.append((time.perf_counter() - t0) * 1000)
            for values in spec.corners():  # the reused figure draws what a new one would
                _, reused = spec.render(values)
                spec._figures.clear()
                if spec.render(values)[1] != reused:
                    raise AssertionError(f"{spec.name}: a reused figure drew another picture at {values}")
            row = {"widget": spec.name, "module": name, "grid_points": len(lat),
                   "callback_median_ms": float(np.median(cb)),
                   "callback_p95_ms": float(np.percentile(cb, 95)),
                   "median_ms": float(np.median(lat)), "p95_ms": float(np.percentile(lat, 95)),
                   "first_render_ms": first, "precompute_s": prep}
            rows.append(row)
            print(f"widget {spec.name:28s} n={len(lat):4d} "
                  f"callback median {row['callback_median_ms']:6.1f} ms "
                  f"p95 {row['callback_p95_ms']:6.1f} ms; with PNG render median {row['median_ms']:6.1f} ms "
                  f"p95 {row['p95_ms']:6.1f} ms; first render {first:6.1f} ms")
    return rows


def _time_pair(ours, ref, repeats: int = 21) -> dict:
    """Median times (ms) per call of ``ours`` and ``ref``.

    Each sample times a batch of calls long enough (about 20 ms) that the timer's resolution and
    one-off stalls matter little; the two alternate, in the order ours-ref and then ref-ours, so
    that load from other processes, and whichever ran just before, fall on both alike.
    """
    ours(), ref()
    t0 = time.perf_counter()
    ours()
    number = max(1, round(0.02 / max(time.perf_counter() - t0, 1e-9)))
    t_ours: list[float] = []
    t_ref: list[float] = []
    for i in range(repeats):
        pairs = ((ours, t_ours), (ref, t_ref))
        for f, ts in (pairs if i % 2 == 0 else pairs[::-1]):
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            ts.append((time.perf_counter() - t0) / number)
    return {"ours_ms": statistics.median(t_ours) * 1e3, "ref_ms": statistics.median(t_ref) * 1e3}


def _bench_references() -> list[dict]:
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
    rows.append({"what": "Gaussian KL (1e5, float64) vs torch.distributions", "name": "kl_normal",
                 "slower_because": "input validation: each of the four 1e5-element inputs is scanned for "
                                   "NaN/inf and the variances checked positive (about half the time in a "
                                   "profile); the arithmetic is the same",
                 **_time_pair(ours, ref),
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
                     **_time_pair(ours, ref),
                     "max_abs_diff": float((ours() - ref()).abs().max())})
    for row in rows:
        row["time_ratio"] = row["ours_ms"] / row["ref_ms"]
        print(f"{row['what']}: ours {row['ours_ms']:.3f} ms, ref {row['ref_ms']:.3f} ms, "
              f"ratio {row['time_ratio']:.2f}, max |diff| {row['max_abs_diff']:.1e}")
    return rows


def bench_references() -> list[dict]:
    """The Gaussian KLs against torch.distributions, on one thread like every other comparison
    (with two threads on a shared 2-core machine, small ops can spin for far longer than they compute)."""
    with one_thread():
        return _bench_references()


def _optional(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


@contextlib.contextmanager
def one_thread():
    """One intra-op thread, as every chapter sets: the models are tiny."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _finish_comparisons(rows: list[dict], section: str) -> list[dict]:
    """Add the time ratio, print each row, and stop the run if any row disagrees beyond the tolerance."""
    for row in rows:
        row["time_ratio"] = row["ours_ms"] / row["ref_ms"]
        row["tolerance"] = AGREEMENT_TOL
        print(f"{row['what']}: ours {row['ours_ms']:.3f} ms, ref {row['ref_ms']:.3f} ms, "
              f"ratio {row['time_ratio']:.2f}, max |diff| {row['max_abs_diff']:.1e} "
              f"({'agree' if row['max_abs_diff'] <= AGREEMENT_TOL else 'DISAGREE'} at {AGREEMENT_TOL:.0e})")
    bad = [r["what"] for r in rows if not r["max_abs_diff"] <= AGREEMENT_TOL]
    if bad:
        raise AssertionError(f"{section}: companion and the reference disagree beyond {AGREEMENT_TOL:g}: "
                             f"{bad}")
    return rows


# ------------------------------------------------------------------ coupling flows vs zuko

SLOWER_FLOW = {  # from cProfile of Flow.log_prob (2000 points, one thread)
    "affine": "every layer validates its input (a NaN/inf scan, about 10% of the time in a profile), and "
              "the conditioner takes the masked full vector and returns a scale and shift for every "
              "coordinate (zeroed on the kept ones), where zuko's takes only the kept coordinates and "
              "returns only the transformed ones",
    "spline": "the spline is evaluated for every coordinate and the kept ones masked out afterwards "
              "(twice the spline work in 2-D: softmax, knots, bin search), plus input validation in every "
              "layer and in rational_quadratic_spline (about 10% of the time in a profile)",
}
SLOWER_DDPM = ("each step gathers the schedule's coefficients at a tensor of steps, one per sample, and "
               "multiplies whole tensors, where the reference multiplies by Python floats; the arguments "
               "are checked once, on entry, and the network's cost is the same")
SLOWER_DDIM = ("each step gathers the schedule at a tensor of steps, one per sample, where the reference "
               "uses Python floats; the arguments are checked once, on entry, and the network's cost is "
               "the same")
ZUKO_SLOPE = 1e-12  # zuko's minimum spline slope; tiny so that its soft clip can represent our parameters


def _unclip(v, limit: float):
    """Inverse of zuko's soft clip ``u -> u / (1 + |u| / limit)`` (defined for ``|v| < limit``)."""
    return v / (1 - v.abs() / limit)


def zuko_twin(flow):
    """The same flow built from zuko's modules, with our trained weights copied in.

    zuko transforms map data to base, so the twin lists our layers' inverses in reverse
    order. Each coupling layer becomes zuko's ``GeneralCouplingTransform`` with zuko's
    ``MLP`` (same widths, tanh), whose weights are ours restricted to the kept inputs and
    to the outputs of the transformed coordinates. zuko parameterises its univariate
    transforms differently (a soft clip instead of our tanh bound, a plain softmax
    instead of our minimum bin size, ``exp`` instead of our softplus slopes), so the
    ``univariate`` maps our network's outputs onto zuko's parameters exactly:
    affine layers use ``MonotonicAffineTransform``, spline layers the inverse of
    ``MonotonicRQSTransform``. Permutations become ``PermutationTransform``.
    """
    import torch
    from torch import nn
    from zuko.distributions import DiagNormal
    from zuko.flows.coupling import GeneralCouplingTransform
    from zuko.lazy import Flow as ZukoFlow
    from zuko.lazy import UnconditionalDistribution, UnconditionalTransform
    from zuko.transforms import MonotonicAffineTransform, MonotonicRQSTransform, PermutationTransform

    from companion import flows as Fl

    dtype = next(flow.parameters()).dtype
    affine_limit = -math.log(1e-3)     # MonotonicAffineTransform's default slope
    spline_limit = -math.log(ZUKO_SLOPE)
    transforms = []
    for layer in reversed(flow.layers):
        if isinstance(layer, Fl.Permutation):  # ours: y = x[:, perm]; towards the base: x = y[:, inv_perm]
            perm = UnconditionalTransform(PermutationTransform, layer.inv_perm.clone(), buffer=True)
            transforms.append(perm)
            continue
        mask = layer.mask.bool()
        kept, free = mask.nonzero().squeeze(-1), (~mask).nonzero().squeeze(-1)
        if isinstance(layer, Fl.AffineCoupling):
            def univariate(t, s_raw, bound=layer.scale_bound):
                s = bound * torch.tanh(s_raw / bound)  # ours: y = x e^s + t, so x = e^{-s} y - t e^{-s}
                return MonotonicAffineTransform(-t * torch.exp(-s), _unclip(-s, affine_limit))
            shapes = ((), ())
            # our outputs: s_raw for every coordinate, then t; zuko's: (t_j, s_raw_j) per free coordinate
            rows = torch.stack([torch.stack([layer.dim + j, j]) for j in free]).reshape(-1)
        elif isinstance(layer, Fl.SplineCoupling):
            K = layer.n_bins

            def univariate(w, h, d, K=K, bound=layer.bound):
                def bins(raw):  # our bin fractions min_bin + (1 - K min_bin) softmax -> zuko's softmax logits
                    log_frac = torch.log(1e-3 + (1 - 1e-3 * K) * torch.softmax(raw, dim=-1))
                    return _unclip(log_frac - log_frac.mean(dim=-1, keepdim=True), spline_limit / 2)
                slopes = _unclip(torch.log(1e-3 + nn.functional.softplus(d)), spline_limit)
                # our forward (base -> data) is the spline; towards the base, its inverse
                return MonotonicRQSTransform(bins(w), bins(h), slopes, bound=bound, slope=ZUKO_SLOPE).inv
            shapes = ((K,), (K,), (K - 1,))
            per = 3 * K - 1  # our outputs: (dim, 3K - 1) per point, the same layout zuko unpacks
            rows = torch.cat([torch.arange(j * per, (j + 1) * per) for j in free])
        else:
            raise TypeError(f"no zuko twin for {type(layer).__name__}")
        twin = GeneralCouplingTransform(layer.dim, mask=mask, univariate=univariate, shapes=shapes,
                                        hidden_features=[layer.net[0].out_features] * 2,
                                        activation=nn.Tanh).to(dtype)
        ours = [m for m in layer.net if isinstance(m, nn.Linear)]
        theirs = [m for m in twin.hyper if hasattr(m, "weight")]
        assert len(ours) == len(theirs) == 3
        with torch.no_grad():
            theirs[0].weight.copy_(ours[0].weight[:, kept])  # the masked inputs only ever see zeros
            theirs[0].bias.copy_(ours[0].bias)
            theirs[1].weight.copy_(ours[1].weight)
            theirs[1].bias.copy_(ours[1].bias)
            theirs[2].weight.copy_(ours[2].weight[rows])
            theirs[2].bias.copy_(ours[2].bias[rows])
        transforms.append(twin)
    base = UnconditionalDistribution(DiagNormal, torch.zeros(flow.dim, dtype=dtype),
                                     torch.ones(flow.dim, dtype=dtype), buffer=True)
    return ZukoFlow(transforms, base)


def bench_flows_zuko() -> list[dict]:
    """Our coupling flows against zuko twins: ``log_prob`` and sampling, float64, trained weights."""
    import torch
    import zuko

    from companion import flows as Fl

    cases = [  # the flows chapter's two trained flows, at its sizes and data
        ("affine", 6, Fl.sample_two_moons(4000, rng=1), Fl.sample_two_moons(2000, rng=2), "two moons"),
        ("spline", 4, Fl.sample_checkerboard(4000, rng=3), Fl.sample_checkerboard(2000, rng=4),
         "checkerboard"),
    ]
    rows = []
    with one_thread():
        for kind, n_layers, train, test, data_name in cases:
            flow = Fl.make_flow(n_layers=n_layers, kind=kind, hidden=32, seed=0).double()
            Fl.train_flow(flow, train, steps=300, batch_size=256, lr=5e-3, seed=0, progress=False)
            twin = zuko_twin(flow)
            x = torch.as_tensor(test, dtype=torch.float64)
            n = x.shape[0]
            size = f"{n_layers} {kind} coupling layers, hidden 32, {n} points, float64"
            layer = "RealNVP affine" if kind == "affine" else "rational-quadratic spline"
            with torch.no_grad():
                diff_lp = float((flow.log_prob(x) - twin().log_prob(x)).abs().max())
                z = torch.randn(n, flow.dim, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
                ours_x = flow.sample(n, generator=torch.Generator().manual_seed(5))  # draws the same z
                diff_s = float((ours_x - twin().transform.inv(z)).abs().max())
                rows.append({"name": f"{kind} flow log_prob", "slower_because": SLOWER_FLOW[kind],
                             "what": f"flow log_prob ({layer}; {size}, held-out {data_name}) vs zuko "
                                     f"{zuko.__version__} GeneralCouplingTransform + MLP, our weights copied",
                             **_time_pair(lambda f=flow, x=x: f.log_prob(x),
                                          lambda z=twin, x=x: z().log_prob(x)),
                             "max_abs_diff": diff_lp})
                rows.append({"name": f"{kind} flow sampling", "slower_because": SLOWER_FLOW[kind],
                             "what": f"flow sampling ({layer}; {size}) vs the zuko twin's sample(), "
                                     "difference from the same base noise",
                             **_time_pair(lambda f=flow, n=n: f.sample(n),
                                          lambda z=twin, n=n: z().sample((n,))),
                             "max_abs_diff": diff_s})
    return _finish_comparisons(rows, "flows-zuko")


# ------------------------------------------------------ diffusion vs loop-per-step references


def bench_diffusion_reference() -> list[dict]:
    """companion's diffusion loss and samplers against benchmarks/diffusion_reference.py.

    The diffusion chapter's network and schedule (EpsMLP, hidden 64, linear schedule,
    T = 100), in float64 with fixed random weights: agreement does not need training.
    """
    import torch

    from companion import diffusion as Df

    T, n = 100, 2000
    torch.manual_seed(0)
    model = Df.EpsMLP(2, hidden=64).double()
    betas = Df.beta_schedule("linear", T)
    ab = Df.alphas_cumprod(betas)
    g = torch.Generator().manual_seed(0)
    batch = 256
    x0 = torch.randn(batch, 2, generator=g, dtype=torch.float64)
    t = torch.randint(0, T, (batch,), generator=g)
    eps = torch.randn(batch, 2, generator=g, dtype=torch.float64)
    rows = []

    def step(loss_fn):  # one training step's computation: loss and gradients
        model.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()]

    ours_step = lambda: step(lambda: Df.simple_loss(model, x0, t, eps, ab))  # noqa: E731
    ref_step = lambda: step(lambda: DR.reference_loss(model, x0, t, eps, betas))  # noqa: E731
    setting = f"EpsMLP hidden 64, linear schedule T={T}, float64"
    with one_thread():
        (l1, g1), (l2, g2) = ours_step(), ref_step()
        diff = max(float((l1 - l2).abs()), *(float((a - b).abs().max()) for a, b in zip(g1, g2, strict=True)))
        rows.append({"name": "diffusion training step",
                     "slower_because": "input validation of x0, eps, t and the schedule in simple_loss",
                     "what": f"diffusion training step: simple_loss + backward (batch {batch}; {setting}) "
                             "vs loop reference (loss and every gradient)",
                     **_time_pair(ours_step, ref_step),
                     "max_abs_diff": diff})
        with torch.no_grad():
            ours = lambda: Df.ddpm_sample(model, betas, (n, 2), seed=1, dtype=torch.float64)  # noqa: E731
            ref = lambda: DR.reference_ddpm(model, betas, (n, 2), seed=1)  # noqa: E731
            rows.append({"name": "DDPM sampler", "slower_because": SLOWER_DDPM,
                         "what": f"DDPM sampler, {T} steps, {n} points ({setting}) vs loop reference, "
                                 "same noise",
                         **_time_pair(ours, ref, 7),
                         "max_abs_diff": float((ours() - ref()).abs().max())})
            for steps, eta in [(20, 0.0), (20, 0.5)]:
                def ours(steps=steps, eta=eta):
                    return Df.ddim_sample(model, ab, (n, 2), steps, eta, seed=1, dtype=torch.float64)

                def ref(steps=steps, eta=eta):
                    return DR.reference_ddim(model, betas, (n, 2), steps, eta, seed=1)

                rows.append({"name": f"DDIM sampler (eta = {eta:g})", "slower_because": SLOWER_DDIM,
                             "what": f"DDIM sampler, {steps} steps, eta = {eta:g}, {n} points ({setting}) "
                                     "vs loop reference, same noise",
                             **_time_pair(ours, ref, 7),
                             "max_abs_diff": float((ours() - ref()).abs().max())})
    return _finish_comparisons(rows, "diffusion-reference")


# ------------------------------------------------------------------ diffusion samplers vs diffusers

def bench_diffusers() -> list[dict]:
    """ddpm_sample and ddim_sample against a plain loop over diffusers' DDPMScheduler / DDIMScheduler.

    The same network (the chapter's EpsMLP, fixed random weights, float64), the same schedule and
    the same noise: the loop draws its initial state from the seeded generator and passes that
    generator to every ``scheduler.step``, which draws its noise from it in the order ours does.
    diffusers keeps its schedule in float32; the schedulers' arrays are replaced by float64 ones so
    that the samples can agree to the float64 tolerance. DDIM runs every step (``steps = T``), where
    diffusers' step (``t - T // steps``) and ours visit the same steps; with fewer steps the two
    choose different subsets. diffusers is a benchmark-only dependency (``make bench`` installs it).
    """
    import torch
    from diffusers import DDIMScheduler, DDPMScheduler

    from companion import diffusion as Df
    from companion import samplers

    T, n = 100, 2000
    torch.manual_seed(0)
    model = Df.EpsMLP(2, hidden=64).double()
    betas = Df.beta_schedule("linear", T).double()
    ab = torch.cumprod(1.0 - betas, dim=0)
    setting = f"EpsMLP hidden 64, linear schedule T={T}, float64"

    def float64(scheduler):
        scheduler.betas, scheduler.alphas, scheduler.alphas_cumprod = betas, 1.0 - betas, ab
        if hasattr(scheduler, "final_alpha_cumprod"):
            scheduler.final_alpha_cumprod = torch.tensor(1.0, dtype=torch.float64)
        return scheduler

    ddpm = float64(DDPMScheduler(num_train_timesteps=T, trained_betas=betas.numpy(),
                                 variance_type="fixed_small", clip_sample=False, prediction_type="epsilon"))
    ddim = float64(DDIMScheduler(num_train_timesteps=T, trained_betas=betas.numpy(), clip_sample=False,
                                 set_alpha_to_one=True, steps_offset=0, prediction_type="epsilon",
                                 timestep_spacing="leading"))

    def loop(scheduler, steps, **step_kwargs):
        gen = torch.Generator().manual_seed(1)
        x = torch.randn((n, 2), generator=gen, dtype=torch.float64)
        scheduler.set_timesteps(steps)
        for t in scheduler.timesteps:
            eps = model(x, torch.full((n,), int(t), dtype=torch.long))
            x = scheduler.step(eps, t, x, generator=gen, **step_kwargs).prev_sample
        return x

    rows = []
    with one_thread(), torch.no_grad():
        ours = lambda: samplers.ddpm_sample(model, betas, (n, 2), seed=1, dtype=torch.float64)  # noqa: E731
        ref = lambda: loop(ddpm, T)  # noqa: E731
        rows.append({"name": "DDPM sampler vs diffusers",
                     "what": f"ddpm_sample, {T} steps, {n} points ({setting}) vs a loop over diffusers' "
                             "DDPMScheduler, same noise",
                     **_time_pair(ours, ref, 7), "max_abs_diff": float((ours() - ref()).abs().max())})
        for eta in (0.0, 1.0):
            def ours(eta=eta):
                return samplers.ddim_sample(model, ab, (n, 2), T, eta, seed=1, dtype=torch.float64)

            def ref(eta=eta):
                return loop(ddim, T, eta=eta)

            rows.append({"name": f"DDIM sampler vs diffusers (eta = {eta:g})",
                         "what": f"ddim_sample, {T} steps, eta = {eta:g}, {n} points ({setting}) vs a loop "
                                 "over diffusers' DDIMScheduler, same noise",
                         **_time_pair(ours, ref, 7), "max_abs_diff": float((ours() - ref()).abs().max())})
    return _finish_comparisons(rows, "diffusers")


# ------------------------------------------------------------------ flow matching vs torchcfm

SLOWER_FM = ("input validation at the public boundary: x0 and x1 are scanned for NaN/inf, their shapes "
             "compared and t checked to lie in [0, 1] (t.min()/t.max()); the arithmetic is the same, and "
             "torchcfm spends its own extra time drawing noise that sigma = 0 multiplies by zero")
SLOWER_FM_STEP = ("input validation in cfm_loss (x0 and x1 scanned for NaN/inf, their shapes compared, t "
                  "checked to lie in [0, 1]): about 0.05 ms per call at batch 256, measured as cfm_loss "
                  "against its unchecked kernel; the network's forward and backward passes are the same")


def _torchcfm_matcher(path: str):
    """torchcfm's matcher for ``path`` with ``sigma = 0``: deterministic given ``(x0, x1, t)``.

    ``ConditionalFlowMatcher`` is the linear path (x_t = t x1 + (1 - t) x0, u_t = x1 - x0),
    ``VariancePreservingConditionalFlowMatcher`` the cosine one (x_t = cos(pi t / 2) x0 +
    sin(pi t / 2) x1). Both still draw ``randn_like(x0)`` on each call, which sigma = 0
    multiplies by zero: the result does not depend on it.
    """
    from torchcfm.conditional_flow_matching import (
        ConditionalFlowMatcher,
        VariancePreservingConditionalFlowMatcher,
    )

    return (ConditionalFlowMatcher(sigma=0.0) if path == "linear"
            else VariancePreservingConditionalFlowMatcher(sigma=0.0))


def bench_flow_matching_reference() -> list[dict]:
    """companion.flow_matching against torchcfm (MIT), float64, on identical ``(x0, x1, t)``.

    The conditional point and velocity (``path_sample``) on the chapter's evaluation batch
    (20 000 points of the ring mixture), and one training step (``cfm_loss`` + backward) of
    the chapter's network (VelocityMLP, hidden 64, fixed random weights: agreement does not
    need training) at its batch of 256 against the same step computed from torchcfm's
    ``(x_t, u_t)``, with our loss's reduction (squared norm summed over dimensions, averaged
    over the batch); the loss and every gradient are compared. ``t`` includes both ends, 0 and 1.
    """
    import torch
    import torchcfm

    from companion import diffusion as Df
    from companion import flow_matching as FM

    version = getattr(torchcfm, "__version__", "")
    g = torch.Generator().manual_seed(0)
    means, stds, weights = Df.ring_gmm()
    torch.manual_seed(0)
    model = FM.VelocityMLP(2, hidden=64).double()

    def draw(n):
        x0 = torch.randn(n, 2, generator=g, dtype=torch.float64)
        x1 = Df.gmm_sample(n, means, stds, weights, g)
        t = torch.rand(n, generator=g, dtype=torch.float64)
        t[0], t[1] = 0.0, 1.0
        return x0, x1, t

    def step(loss_fn):  # one training step's computation: loss and gradients
        model.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()]

    def ref_loss(ref, x0, x1, t):
        _, x_t, u_t = ref.sample_location_and_conditional_flow(x0, x1, t)
        return (model(x_t, t) - u_t).pow(2).sum(1).mean()

    rows = []
    with one_thread():
        for path in FM.PATHS:
            ref = _torchcfm_matcher(path)
            name = type(ref).__name__
            n, batch = 20_000, 256
            x0, x1, t = draw(n)
            (xt_ours, ut_ours) = FM.path_sample(x0, x1, t, path)
            t_ref, xt_ref, ut_ref = ref.sample_location_and_conditional_flow(x0, x1, t)
            assert t_ref is t  # torchcfm used our times, not a fresh draw
            diff = max(float((xt_ours - xt_ref).abs().max()), float((ut_ours - ut_ref).abs().max()))
            rows.append({"name": f"path_sample ({path})", "slower_because": SLOWER_FM,
                         "what": f"flow matching conditional point and velocity, {path} path: path_sample "
                                 f"({n} points of the ring mixture, 2-D, float64) vs torchcfm {version} "
                                 f"{name}(sigma=0).sample_location_and_conditional_flow (x_t and u_t)",
                         **_time_pair(lambda x0=x0, x1=x1, t=t, p=path: FM.path_sample(x0, x1, t, p),
                                      lambda x0=x0, x1=x1, t=t, r=ref:
                                          r.sample_location_and_conditional_flow(x0, x1, t)),
                         "max_abs_diff": diff})
            x0, x1, t = draw(batch)
            ours_step = lambda x0=x0, x1=x1, t=t, p=path: step(  # noqa: E731
                lambda: FM.cfm_loss(model, x0, x1, t, p))
            ref_step = lambda x0=x0, x1=x1, t=t, r=ref: step(  # noqa: E731
                lambda: ref_loss(r, x0, x1, t))
            (l1, g1), (l2, g2) = ours_step(), ref_step()
            diff = max(float((l1 - l2).abs()),
                       *(float((a - b).abs().max()) for a, b in zip(g1, g2, strict=True)))
            rows.append({"name": f"flow matching training step ({path})", "slower_because": SLOWER_FM_STEP,
                         "what": f"flow matching training step, {path} path: cfm_loss + backward "
                                 f"(batch {batch}; VelocityMLP hidden 64, float64) vs the same loss on "
                                 "torchcfm's x_t and u_t (loss and every gradient)",
                         **_time_pair(ours_step, ref_step),
                         "max_abs_diff": diff})
    return _finish_comparisons(rows, "flow-matching-reference")


# ------------------------------------------------------------------------ training throughput


def _timed(f, *args, **kwargs):
    """``(f(*args, **kwargs), seconds)``."""
    start = time.perf_counter()
    out = f(*args, **kwargs)
    return out, time.perf_counter() - start


def _training_row(model: str, chapter: str, settings: str, steps: int, seconds: float, quality: str,
                  value: float, note: str = "") -> dict:
    row = {"model": model, "chapter": chapter, "settings": settings, "steps": steps, "seconds": seconds,
           "steps_per_s": steps / seconds, "quality": quality, "quality_value": value, "note": note}
    print(f"train {model:34s} {steps:5d} steps in {seconds:6.2f} s = {row['steps_per_s']:7.1f} steps/s; "
          f"{quality} = {value:.4f} {note}")
    return row


def _flow_matching_training_row(train_data, held_out, floor: float) -> dict:
    """The flow-matching chapter's linear-path velocity (VelocityMLP hidden 64; 1200 steps, batch 256,
    lr 3e-3), trained on ``train_data`` (the diffusion row's), so that the two rows compare at equal
    budget: the energy distance of 2000 ODE samples (16 midpoint steps = 32 network evaluations) to
    ``held_out``, and the relative squared error of the field against the exact mixture velocity at
    t = 0.5 (a column of the chapter's table). Call inside ``one_thread()``."""
    import torch

    from companion import diffusion as Df
    from companion import flow_matching as FM
    from companion.metrics import energy_distance

    means, stds, weights = Df.ring_gmm()
    torch.manual_seed(0)
    model = FM.VelocityMLP(2, hidden=64)
    _, sec = _timed(lambda: FM.train_velocity_model(model, train_data.float(), path="linear", steps=1200,
                                                    batch_size=256, lr=3e-3, seed=0))

    def v_net(x, t):
        with torch.no_grad():
            return model(x.float(), t.float()).to(x.dtype)

    x0 = torch.randn(2000, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    samples = FM.ode_sample(v_net, x0, 16, method="midpoint")
    g = torch.Generator().manual_seed(2)
    t = torch.full((20_000,), 0.5, dtype=torch.float64)
    x_t, _ = FM.path_sample(torch.randn(20_000, 2, generator=g, dtype=torch.float64),
                            Df.gmm_sample(20_000, means, stds, weights, g), t, "linear")
    u = FM.gmm_marginal_velocity(x_t, t, means, stds, weights, path="linear")
    rel = float(((v_net(x_t, t) - u) ** 2).sum(1).mean() / (u**2).sum(1).mean())
    return _training_row("flow matching, ring of 8 (VelocityMLP hidden 64, linear path)", "flow_matching",
                         "1200 steps, batch 256, lr 3e-3 (cosine decay); the diffusion row's data", 1200, sec,
                         "energy distance of 2000 ODE samples (16 midpoint steps) to held-out",
                         energy_distance(samples, held_out),
                         f"(held-out vs held-out {floor:.4f}; relative squared error vs the exact velocity "
                         f"at t=0.5 {rel:.4f})")


def bench_training() -> list[dict]:
    """Each chapter's training call, with the chapter's settings, timed; then the chapter's quality number.

    One thread, as in the chapters. Times include what the training function does
    besides optimiser steps at those settings (the VAE's and GAN's periodic evaluations).
    """
    import torch

    from companion import diffusion as Df
    from companion import distributions as D
    from companion import flows as Fl
    from companion import gan as Gn
    from companion import guidance as G
    from companion import vae as V
    from companion.diffusion import alphas_cumprod, linear_beta_schedule, q_sample
    from companion.metrics import energy_distance, mmd_rbf

    gen = lambda seed: torch.Generator().manual_seed(seed)  # noqa: E731
    rows = []
    with one_thread():
        # VAE chapter: the digits VAE and the moons VAE
        x_train, x_test, _, _ = V.load_digits01(test_fraction=0.2, seed=0)
        torch.manual_seed(0)
        m = V.VAE(64, 2, hidden=(128,), likelihood="bernoulli")
        _, sec = _timed(lambda: V.train_vae(m, x_train, steps=1000, batch_size=128, lr=3e-3, val_data=x_test,
                                            eval_every=100, seed=0, progress=False))
        with torch.no_grad():
            est, se = D.mc_estimate(m.elbo(x_test, n_samples=16, generator=gen(4)))
        rows.append(_training_row("VAE, digits 0/1 (64 -> 2, Bernoulli)", "vae",
                                  "1000 steps, batch 128, lr 3e-3, held-out ELBO every 100", 1000, sec,
                                  "held-out ELBO (nats / image)", float(est), f"(+- {float(se):.2f})"))
        moons = V.make_moons_2d(2000, noise=0.08, seed=0)
        moons_test = V.make_moons_2d(500, noise=0.08, seed=1)
        torch.manual_seed(0)
        m = V.VAE(2, 2, hidden=(64, 64), likelihood="gaussian", obs_var=0.01)
        _, sec = _timed(lambda: V.train_vae(m, moons, steps=1500, batch_size=256, lr=3e-3,
                                            val_data=moons_test, eval_every=500, seed=0, progress=False))
        with torch.no_grad():
            value = m.elbo(moons_test, n_samples=16, generator=gen(7)).mean().item()
        rows.append(_training_row("VAE, two moons (2 -> 2, Gaussian)", "vae",
                                  "1500 steps, batch 256, lr 3e-3", 1500, sec,
                                  "held-out ELBO (nats / point)", value))

        # GAN chapter: the four training-dynamics runs
        data = Gn.ring_of_gaussians(5000, n_modes=8, radius=2.0, std=0.05, rng=1)
        for lr_g in Gn.DYNAMICS_SETTINGS["lr_g"]:
            for lr_d in Gn.DYNAMICS_SETTINGS["lr_d"]:
                run, sec = _timed(lambda lr_g=lr_g, lr_d=lr_d: Gn.train_gan(data, steps=1000, lr_g=lr_g,
                                                                            lr_d=lr_d, seed=0,
                                                       progress=False, hidden=48, batch_size=128,
                                                       eval_every=100))
                h = run.history
                rows.append(_training_row(f"GAN, ring of 8 (lr_g {lr_g:g}, lr_d {lr_d:g})", "gan",
                                          "1000 iterations (1 D + 1 G step), batch 128, hidden 48, "
                                          "mode coverage every 100", 1000, sec,
                                          "modes covered of 8 at the end",
                                          float(h["modes_covered"][-1]),
                                          f"(high quality {h['high_quality'][-1]:.2f})"))

        # flows chapter: the moons flow and the two checkerboard flows
        flow_cases = [("affine", 6, Fl.sample_two_moons(4000, rng=1), Fl.sample_two_moons(2000, rng=2),
                       "two moons"),
                      ("affine", 6, Fl.sample_checkerboard(4000, rng=3), Fl.sample_checkerboard(2000, rng=4),
                       "checkerboard"),
                      ("spline", 4, Fl.sample_checkerboard(4000, rng=3), Fl.sample_checkerboard(2000, rng=4),
                       "checkerboard")]
        for kind, n_layers, train, test, name in flow_cases:
            flow = Fl.make_flow(n_layers=n_layers, kind=kind, hidden=32, seed=0)
            _, sec = _timed(Fl.train_flow, flow, train, steps=300, batch_size=256, lr=5e-3, seed=0,
                            progress=False)
            note = "(entropy floor log 8 = 2.079)" if name == "checkerboard" else ""
            rows.append(_training_row(f"flow, {name} ({n_layers} {kind} layers)", "flows",
                                      "300 steps, batch 256, lr 5e-3, hidden 32", 300, sec,
                                      "held-out NLL (nats)", Fl.negative_log_likelihood(flow, test), note))

        # diffusion chapter: the noise predictor, then DDPM samples against held-out data
        means, stds, weights = Df.ring_gmm()
        g = gen(0)
        train_data = Df.gmm_sample(20_000, means, stds, weights, g)
        held_out, held_out_2 = (Df.gmm_sample(2_000, means, stds, weights, g) for _ in range(2))
        betas = Df.beta_schedule("linear", 100)
        torch.manual_seed(0)
        model = Df.EpsMLP(2, hidden=64)
        _, sec = _timed(lambda: Df.train_eps_model(model, train_data, Df.alphas_cumprod(betas), steps=1200,
                                                   batch_size=256, lr=3e-3, seed=0, progress=False))
        x_net = Df.ddpm_sample(model, betas, (2000, 2), seed=1).double()
        floor = energy_distance(held_out_2, held_out)
        rows.append(_training_row("diffusion, ring of 8 (EpsMLP hidden 64, T=100)", "diffusion",
                                  "1200 steps, batch 256, lr 3e-3 (cosine decay); data from a fresh "
                                  "seed-0 generator (the chapter's comes later in its stream)", 1200, sec,
                                  "energy distance of 2000 DDPM samples to held-out",
                                  energy_distance(x_net, held_out),
                                  f"(held-out vs held-out {floor:.4f}; MMD^2 h=0.5 "
                                  f"{mmd_rbf(x_net, held_out, 0.5):+.5f})"))

        # flow-matching chapter: the linear-path velocity, on the diffusion row's data
        rows.append(_flow_matching_training_row(train_data, held_out, floor))

        # guidance chapter: the conditional denoiser (label dropout) and the noisy classifier
        mix = G.ring_mixture()
        ab_all = alphas_cumprod(linear_beta_schedule(50, 1e-3, 0.2))
        exact = G.MixtureDenoiser(mix, ab_all)
        train_x, train_labels = mix.sample(4000, seed=0)
        (net, _), sec = _timed(G.train_conditional_denoiser, train_x, train_labels, 3, ab_all, p_uncond=0.2,
                               steps=2000, hidden=64, seed=0, progress=False)
        x0_test, c_test = mix.sample(2000, seed=9)
        xt = q_sample(x0_test, 25, torch.randn(2000, 2, generator=gen(1), dtype=torch.float64), ab_all)
        with torch.no_grad():
            pred = net(xt.float(), 25, c_test).double()
        ref = exact(xt, 25, c_test)
        rel = float(((pred - ref) ** 2).sum(1).mean() / (ref**2).sum(1).mean())
        rows.append(_training_row("guidance, conditional denoiser (hidden 64, T=50)", "guidance",
                                  "2000 steps, batch 256, lr 3e-3, p_uncond 0.2", 2000, sec,
                                  "relative squared error vs exact eps at t=25, conditional (own noise draw)",
                                  rel,
                                  "(chapter asserts < 0.02)"))
        (clf, _), sec = _timed(lambda: G.train_noisy_classifier(train_x, train_labels, 3, ab_all, steps=800,
                                                                hidden=64, seed=0, progress=False))
        x0_ce, c_ce = mix.sample(3000, seed=13)
        xt = q_sample(x0_ce, 10, torch.randn(3000, 2, generator=gen(2), dtype=torch.float64), ab_all)
        with torch.no_grad():
            ce_clf = -float(clf(xt.float(), 10).double().gather(1, c_ce[:, None]).mean())
        ce_exact = -float(G.class_log_posterior(mix, xt, float(ab_all[10])).gather(1, c_ce[:, None]).mean())
        rows.append(_training_row("guidance, noisy classifier (hidden 64, T=50)", "guidance",
                                  "800 steps, batch 256, lr 3e-3", 800, sec,
                                  "cross-entropy above the exact posterior at t=10, nats (own noise draw)",
                                  ce_clf - ce_exact,
                                  "(chapter asserts < 0.05)"))
    return rows


# ------------------------------------------------------------------------ build and test times


def bench_builds(*, cold: bool = True, make_test: bool = False) -> dict:
    """Wall times of `make book` cold (no book/_build, so no execution cache), then warm, and `make test`.

    Logs go to benchmarks/.out/. Cold removes book/_build, which holds the build, the
    Jupyter execution cache (_build/.jupyter_cache) and the executed notebooks; it keeps
    .venv and the vendored JavaScript, as a fresh clone after `make test` would have them.
    """
    logs = ROOT / "benchmarks" / ".out"
    logs.mkdir(parents=True, exist_ok=True)

    def make(target: str, log_name: str) -> float:
        start = time.perf_counter()
        with open(logs / log_name, "w") as log:
            subprocess.run(["make", target], cwd=ROOT, check=True, stdout=log, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - start
        print(f"make {target} ({log_name}): {seconds:.1f} s")
        return seconds

    out: dict = {"book_cold_s": None, "book_warm_s": None, "make_test_s": None}
    if cold:
        shutil.rmtree(ROOT / "book" / "_build", ignore_errors=True)
        out["book_cold_s"] = make("book", "book_cold.log")
    out["book_warm_s"] = make("book", "book_warm.log")
    if make_test:
        out["make_test_s"] = make("test", "make_test.log")
    return out


def write_markdown(results: dict, path: Path) -> None:
    m = results["machine"]
    lines = [f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), torch {m['torch']}, "
             f"Python {m['python']}.", ""]
    if results.get("chapters"):
        lines += ["| chapter | median run time (s) | budget (s) | runs (s) |", "|---|---|---|---|"]
        lines += [f"| {r['chapter']} | {r['median_s']:.1f} | {r.get('budget_s', '')} | "
                  + ", ".join(f"{t:.1f}" for t in r["runs_s"]) + " |" for r in results["chapters"]]
        lines.append("")
    if results.get("widgets"):
        lines += ["Widgets over their whole slider grid. A slider move in JupyterLab costs the callback, "
                  "drawing into the figure of the last move (emptied and reused, "
                  "`plotting.reused_figures`; at every corner of the sliders the bench checks it "
                  "gives the same PNG, byte for byte, as a new figure), plus the PNG render "
                  "(`WidgetSpec.render`; issue 16's target: median under 50 ms). The callback "
                  "column times the callback alone, building a new figure; the first render, "
                  "when the widget appears, also lays the figure out.", "",
                  "| widget | grid points | callback median (ms) | callback p95 (ms) "
                  "| slider move, with render: median (ms) | slider move: p95 (ms) | first render (ms) |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['widget']} | {r['grid_points']} | {r['callback_median_ms']:.1f} | "
                  f"{r['callback_p95_ms']:.1f} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | "
                  + (f"{r['first_render_ms']:.0f} |" if "first_render_ms" in r else "not measured |")
                  for r in results["widgets"]]
        lines.append("")
    comparisons = [r for key in ("references", "flows_zuko", "diffusion_reference", "diffusers",
                                 "flow_matching_reference")
                   for r in results.get(key) or []]
    if comparisons:
        lines += ["| comparison | ours (ms) | reference (ms) | time ratio (ours / ref) "
                  "| max abs difference |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['what']} | {r['ours_ms']:.3f} | {r['ref_ms']:.3f} | {r['time_ratio']:.2f} | "
                  f"{r['max_abs_diff']:.1e} |" for r in comparisons]
        lines.append("")
        slower = [r for r in comparisons if r["time_ratio"] > SLOWER_THAN and r.get("slower_because")]
        if slower:
            lines += [f"Where `companion` is slower than the reference (time ratio above {SLOWER_THAN}), "
                      "and why:", ""]
            lines += [f"- {r.get('name', r['what'])}: {100 * (r['time_ratio'] - 1):.0f}% slower; "
                      f"{r['slower_because']}." for r in slower]
            lines.append("")
    if results.get("training"):
        lines += ["Training throughput (one thread, the chapter's settings; the quality number the "
                  "chapter reports at that budget):", "",
                  "| model | chapter | settings | steps | time (s) | steps / s | quality |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['model']} | {r['chapter']} | {r['settings']} | {r['steps']} | {r['seconds']:.2f} | "
                  f"{r['steps_per_s']:.0f} | {r['quality']}: {r['quality_value']:.4g}"
                  + (f" {r['note']}" if r["note"] else "") + " |"
                  for r in results["training"]]
        lines.append("")
    if results.get("builds"):
        b = results["builds"]
        fmt = lambda v: "not measured" if v is None else f"{v:.1f}"  # noqa: E731
        lines += [f"Build and test wall times (measured {b.get('date', '?')}):", "",
                  "| step | wall time (s) | budget |", "|---|---|---|",
                  f"| `make book`, cold (no `book/_build`, no execution cache) | {fmt(b['book_cold_s'])} | "
                  "executing every chapter < 360 s (this time includes the HTML build) |",
                  f"| `make book`, warm (nothing changed) | {fmt(b['book_warm_s'])} | < 30 s |",
                  "| `make test`, right after (the book's execution cache warm; from a fresh clone it "
                  f"also executes every chapter: see the README) | {fmt(b['make_test_s'])} | < 1200 s |", ""]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="chapter runs per chapter")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (repeatable); the others keep their last results. "
                             f"Default: {', '.join(DEFAULT_SECTIONS)} ('builds' only when named)")
    parser.add_argument("--with-make-test", action="store_true", help="builds: also time `make test`")
    parser.add_argument("--builds-warm-only", action="store_true",
                        help="builds: skip the cold `make book` (a quick check; cold stays unmeasured)")
    args = parser.parse_args()
    only = set(args.only or DEFAULT_SECTIONS)
    out = ROOT / "benchmarks"
    previous = out / "results.json"
    # With --only, keep the other sections of the last run (they say when they were measured).
    results = json.loads(previous.read_text()) if args.only and previous.exists() else {}
    results["machine"] = machine()
    if "references" in only:
        results["references"] = bench_references()
    if "flows-zuko" in only:
        results["flows_zuko"] = bench_flows_zuko()
    if "diffusion-reference" in only:
        results["diffusion_reference"] = bench_diffusion_reference()
    if "diffusers" in only:
        results["diffusers"] = bench_diffusers()
    if "flow-matching-reference" in only:
        results["flow_matching_reference"] = bench_flow_matching_reference()
    if "training" in only:
        results["training"] = bench_training()
    if "widgets" in only:
        results["widgets"] = bench_widgets()
    if "chapters" in only:
        results["chapters"] = bench_chapters(args.repeats)
    if "builds" in only:
        results["builds"] = {**bench_builds(cold=not args.builds_warm_only, make_test=args.with_make_test),
                             "date": time.strftime("%Y-%m-%d")}
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, out / "results.md")
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}")


if __name__ == "__main__":
    main()
