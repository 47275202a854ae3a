"""``bayesbach bench gpu``: the GPU measurements a lent device has minutes for, in one run.

In order: the CUDA tests (``pytest -k cuda`` over the test files that mention CUDA, in a subprocess),
:func:`~bayesbach.dev.bench.bench_train` alone at the paper's geometry (presets/paper.yaml: GRU, 512 x 512
batches) for each size, TF32 on for one of those cells (off is the cell itself, as training jobs run),
then :func:`~bayesbach.dev.bench.bench_pack` for each size and pack up to a packed width. The
observers have no GPU path (NumPy and SciPy on the host), which the result says. From the measured
steps it fits the cost model of :mod:`bayesbach.core.resources` (``batch_flops / FLOPS + chunk_length *
STEP_LATENCY_S``) and derives ``PACK_WIDTH`` as :mod:`bayesbach.core.packing` does; it prints the
constants and edits nothing.

A time budget bounds the whole run: a cell whose predicted time no longer fits is left out, and one that
runs past the budget is stopped (SIGALRM) and dropped. Either way the JSON is complete and valid, with
``cut_short`` set and the cells left out listed. The JSON is rewritten after every cell, so a run killed
from outside still leaves what it measured (``finished`` false).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bayesbach.dev.bench import bench_pack, bench_train

REPO = Path(__file__).resolve().parents[2]
OBSERVERS_SKIPPED = ("the observers have no GPU path: their filters run in NumPy and SciPy on the host "
                     "(bayesbach/references/observer.py), so `bayesbach bench bayes` measures them on a CPU")
SETUP_S = 3.0  # a cell's fixed cost before any is measured: the synthetic corpus, the model, warm-up


class BudgetExceeded(Exception):
    """The run's time budget ran out in the middle of a cell."""


@dataclass
class Plan:
    """What one run measures, and its budget."""

    hidden: list[int] = field(default_factory=lambda: [8, 32, 128, 256])
    packs: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32])
    max_width: int = 512  # packed hidden units (K x n) measured at most
    arch: str = "gru"
    batch_size: int = 512
    chunk_length: int = 512
    batches: int = 10
    repeats: int = 3
    device: str = "auto"
    threads: int | None = None
    tf32_hidden: int | None = None  # the cell measured with TF32 on (default: the largest size)
    budget_s: float = 480.0
    tests: bool = True
    tests_timeout_s: float = 180.0


def _cells(plan: Plan) -> list[dict]:
    """The cells in the order they run: every size alone (the fit needs them), TF32, then the packs."""
    cells = [{"kind": "solo", "hidden": n, "pack": 1} for n in plan.hidden]
    tf32 = plan.tf32_hidden or max(plan.hidden)
    cells.append({"kind": "tf32", "hidden": tf32, "pack": 1})
    cells += [{"kind": "pack", "hidden": n, "pack": k} for n in plan.hidden for k in plan.packs
              if k > 1 and k * n <= plan.max_width]
    return cells


def _name(cell: dict) -> str:
    return {"solo": f"{cell['hidden']} alone", "tf32": f"{cell['hidden']} alone, TF32 on",
            "pack": f"{cell['pack']} x {cell['hidden']} packed"}[cell["kind"]]


@contextmanager
def _deadline(seconds: float):
    """Raise :class:`BudgetExceeded` in this (main) thread after ``seconds``."""
    def alarm(signum, frame):
        raise BudgetExceeded

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- the cost model

def _flops(plan: Plan, hidden: int, pack: int) -> float:
    from bayesbach.core.registry import ENCODINGS
    from bayesbach.core.resources import batch_flops

    units = ENCODINGS["pc12"]
    return batch_flops(plan.arch, pack * hidden, pack * units, plan.batch_size, plan.chunk_length)


def _steps(cell: dict, plan: Plan) -> list[tuple[int, int]]:
    """(packed width, number) of the training steps a cell runs: bench_train alternates real and bare steps
    after 4 of warm-up (validation passes and input timings are small beside them); bench_pack alternates
    packed and solo after 3 of each."""
    if cell["kind"] == "pack":
        n = plan.batches * plan.repeats + 3
        return [(cell["pack"], n), (1, n)]
    return [(1, 2 * plan.batches * plan.repeats + 4)]


def fit_constants(points: list[tuple[float, float, float]], threads: int, device: str, batch_size: int) -> dict:
    """The two constants of the cost model fitted to ``(flops, chunk_length, measured seconds)`` of each
    measured batch, as relative least squares (each batch weighs alike, however long), non-negative:
    ``seconds = flops / FLOPS + chunk_length * STEP_LATENCY_S``. FLOPS is per thread on a CPU, as in
    resources.py. ``PACK_WIDTH`` is the packed width at which a batch's arithmetic equals its latency
    (``sqrt(latency * flops / (18 * batch_size))``, bayesbach/core/packing.py)."""
    import numpy as np
    from scipy.optimize import nnls

    if len(points) < 2:
        return {"cells": len(points), "reason": "fewer than two measured batches: nothing to fit"}
    a = np.array([[f / t, c / t] for f, c, t in points])
    (inv_rate, latency), _ = nnls(a, np.ones(len(points)))
    inv_rate, latency = float(inv_rate), float(latency)
    ratios = [(f * inv_rate + c * latency) / t for f, c, t in points]
    fitted = {"cells": len(points), "STEP_LATENCY_S": latency,
              "estimate_over_measured": [round(min(ratios), 3), round(max(ratios), 3)], "inverse_rate": inv_rate}
    if max(f * inv_rate / t for f, _, t in points) < 1e-6:  # every step latency alone: no rate, no width
        return {**fitted, "FLOPS": None, "PACK_WIDTH": None, "flops_per_s_sustained": None}
    rate = 1 / inv_rate
    return {**fitted, "FLOPS": rate / threads if device == "cpu" else rate, "flops_per_s_sustained": rate,
            "PACK_WIDTH": int(round(math.sqrt(latency * rate / (18 * batch_size))))}


def _estimate_s(plan: Plan, constants: dict, flops: float) -> float | None:
    if "FLOPS" not in constants:
        return None
    rate = constants["flops_per_s_sustained"]
    return (flops / rate if rate else 0.0) + plan.chunk_length * constants["STEP_LATENCY_S"]


def _default_constants(device: str, threads: int) -> dict:
    from bayesbach.core.resources import FLOPS, STEP_LATENCY_S

    rate = FLOPS[device] * (threads if device == "cpu" else 1)
    return {"FLOPS": FLOPS[device], "STEP_LATENCY_S": STEP_LATENCY_S[device], "flops_per_s_sustained": rate}


# --- the CUDA tests

def cuda_tests(timeout_s: float, available: bool) -> dict:
    """``pytest -k cuda`` over the test files that mention CUDA, in a subprocess; per-test outcomes."""
    tests = REPO / "tests"
    if not available:
        return {"status": "skipped", "reason": "no CUDA device: torch.cuda.is_available() is False"}
    if not tests.is_dir():
        return {"status": "skipped", "reason": f"no tests folder at {tests} (an installed package without its tests)"}
    files = sorted(str(p.relative_to(REPO)) for p in tests.rglob("test_*.py")
                   if re.search("cuda", p.read_text(errors="replace"), re.IGNORECASE))
    if timeout_s < 5:
        return {"status": "cut short", "reason": "no time left in the budget", "files": files}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda", f"--junitxml={report}",
               *files]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"status": "cut short", "reason": f"still running after {timeout_s:.0f} s", "files": files}
        seconds = time.perf_counter() - t0
        outcomes = {}
        if report.exists():
            for case in ET.parse(report).getroot().iter("testcase"):
                outcome = "passed"
                for child, name in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
                    if case.find(child) is not None:
                        outcome = name
                outcomes[f"{case.get('classname')}::{case.get('name')}"] = outcome
    counts = {k: sum(v == k for v in outcomes.values()) for k in ("passed", "failed", "error", "skipped")}
    ok = proc.returncode == 0 and counts["passed"] > 0
    return {"status": "passed" if ok else "failed", "returncode": proc.returncode, "seconds": round(seconds, 1),
            "files": files, **counts, "tests": outcomes,
            **({} if ok else {"output_tail": (proc.stdout + proc.stderr)[-3000:]})}


# --- the run

def _device(plan: Plan) -> tuple[str, str, int]:
    import torch

    from bayesbach.networks.training_job import resolve_device

    dev = resolve_device(plan.device)
    if plan.threads:
        torch.set_num_threads(plan.threads)
    threads = torch.get_num_threads()
    if dev.type == "cuda":
        return "cuda", torch.cuda.get_device_name(dev), threads
    return "cpu", (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"{threads} thread{'s' if threads != 1 else ''}"), threads


def run(plan: Plan, out: Path, log=print) -> dict:
    """Measure what ``plan`` asks for within its budget, writing ``out`` (JSON) and ``out`` with .md."""
    import torch

    begin = time.perf_counter()
    device, device_name, threads = _device(plan)
    result = {
        "bench": "gpu", "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "device": device,
        "device_name": device_name, "torch": torch.__version__, "cuda": torch.version.cuda, "threads": threads,
        "geometry": {"arch": plan.arch, "batch_size": plan.batch_size, "chunk_length": plan.chunk_length,
                     "batches": plan.batches, "repeats": plan.repeats, "data": "synthetic"},
        "budget_s": plan.budget_s, "finished": False, "cut_short": False, "cut_short_reasons": [],
        "cuda_tests": None, "cells": [], "left_out": [],
        "observers": {"status": "skipped", "reason": OBSERVERS_SKIPPED},
        "tf32": None, "constants": None,
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def left() -> float:
        return plan.budget_s - (time.perf_counter() - begin)

    def save():
        result["elapsed_s"] = round(time.perf_counter() - begin, 2)
        out.write_text(json.dumps(result, indent=1) + "\n")
        out.with_suffix(".md").write_text(markdown(result))

    def cut(reason: str):
        result["cut_short"] = True
        result["cut_short_reasons"].append(reason)

    if plan.tests:
        result["cuda_tests"] = cuda_tests(min(plan.tests_timeout_s, left()), torch.cuda.is_available())
        if result["cuda_tests"]["status"] == "cut short":
            cut("the CUDA tests did not finish within their share of the budget")
        log(f"CUDA tests: {result['cuda_tests']['status']}")
    else:
        result["cuda_tests"] = {"status": "skipped", "reason": "--no-tests"}
    save()

    points, setup_s = [], SETUP_S
    constants = _default_constants(device, threads)
    cells = _cells(plan)
    for i, cell in enumerate(cells):
        steps = _steps(cell, plan)
        per_batch = [_estimate_s(plan, constants, _flops(plan, cell["hidden"], k)) for k, _ in steps]
        predicted = setup_s + sum(n * s for (_, n), s in zip(steps, per_batch))
        if predicted > left():
            result["left_out"].append({**cell, "reason": f"predicted {predicted:.1f} s, {max(left(), 0):.1f} s left"})
            continue
        log(f"{_name(cell)} (predicted {predicted:.1f} s)")
        t0 = time.perf_counter()
        try:
            with _deadline(left()):
                if cell["kind"] == "pack":
                    figures = bench_pack(cell["pack"], plan.arch, cell["hidden"], plan.batch_size, plan.chunk_length,
                                         plan.batches, plan.device, plan.repeats, plan.threads)
                else:
                    figures = bench_train(plan.arch, cell["hidden"], plan.batch_size, plan.chunk_length, plan.batches,
                                          plan.device, None, plan.repeats, threads=plan.threads,
                                          tf32=cell["kind"] == "tf32")
        except BudgetExceeded:
            result["left_out"] += [{**cell, "reason": "stopped at the end of the budget"}] + [
                {**c, "reason": "not started: the budget had run out"} for c in cells[i + 1:]]
            break
        seconds = time.perf_counter() - t0
        if cell["kind"] == "pack":
            step_s, network_rate = figures["packed_step_ms"] / 1000, figures["network_batches_per_s"]
            measured = [step_s, figures["solo_step_ms"] / 1000]
            points += [(_flops(plan, cell["hidden"], cell["pack"]), plan.chunk_length, step_s),
                       (_flops(plan, cell["hidden"], 1), plan.chunk_length, measured[1])]
        else:
            step_s, network_rate = 1 / figures["batches_per_s"], figures["batches_per_s"]
            measured = [step_s]
            if cell["kind"] == "solo":
                points.append((_flops(plan, cell["hidden"], 1), plan.chunk_length, step_s))
        # The next prediction's fixed cost: the most any cell took beyond its timed steps so far.
        overhead_s = seconds - sum(n * s for (_, n), s in zip(steps, measured))
        setup_s = overhead_s if not result["cells"] else max(setup_s, overhead_s)
        result["cells"].append({**cell, "name": _name(cell), "width": cell["pack"] * cell["hidden"],
                                "step_ms": round(1000 * step_s, 3), "network_batches_per_s": network_rate,
                                "pack_speedup": figures.get("pack_speedup"), "overhead": figures.get("overhead"),
                                "seconds": round(seconds, 2), "figures": figures})
        fitted = fit_constants(points, threads, device, plan.batch_size)
        if "FLOPS" in fitted:
            constants = fitted
        result["constants"] = fitted
        save()
    if result["left_out"]:
        cut(f"{len(result['left_out'])} cell(s) left out to stay within the budget of {plan.budget_s:g} s")

    solo = {c["hidden"]: c for c in result["cells"] if c["kind"] == "solo"}
    tf32 = next((c for c in result["cells"] if c["kind"] == "tf32"), None)
    if tf32 and tf32["hidden"] in solo:
        off = solo[tf32["hidden"]]
        result["tf32"] = {"hidden": tf32["hidden"], "off_step_ms": off["step_ms"], "on_step_ms": tf32["step_ms"],
                          "speedup": round(off["step_ms"] / tf32["step_ms"], 3), "applies": device == "cuda"}
    if result["constants"] and "FLOPS" in result["constants"]:
        for c in (c for c in result["cells"] if c["kind"] != "tf32"):  # the fit's cells (IEEE float32)
            estimate = _estimate_s(plan, result["constants"], _flops(plan, c["hidden"], c["pack"]))
            c["estimate_ms"] = round(1000 * estimate, 3)
    result["finished"] = True
    save()
    return result


def constants_text(result: dict) -> str:
    """The lines to paste into bayesbach/core/resources.py (and packing.py), or why there are none."""
    c, device = result.get("constants") or {}, result["device"]
    if "FLOPS" not in c:
        return f"no constants fitted: {c.get('reason', 'no cell measured')}"
    from bayesbach.core.packing import PACK_WIDTH
    from bayesbach.core.resources import FLOPS, STEP_LATENCY_S

    low, high = c["estimate_over_measured"]
    width = c["PACK_WIDTH"]
    measured_width = ("  (the CPU's figure is measured: docs/performance.md, \"Packed training\")"
                      if device == "cpu" else "")
    return "\n".join([
        f"# recalibrated from `bayesbach bench gpu` on {result['device_name']}, {result['date']} "
        f"({c['cells']} measured batches; estimate / measured {low}-{high})",
        f'FLOPS["{device}"] = {c["FLOPS"]:.2g}  # now {FLOPS[device]:.2g}' + (", per thread" if device == "cpu" else "")
        if c["FLOPS"] is not None else f'# FLOPS["{device}"]: not determined (the steps fitted latency alone)',
        f'STEP_LATENCY_S["{device}"] = {c["STEP_LATENCY_S"]:.2g}  # now {STEP_LATENCY_S[device]:.2g}',
        f'PACK_WIDTH["{device}"] = {width}  # bayesbach/core/packing.py, now {PACK_WIDTH[device]}{measured_width}'
        if width is not None else f'# PACK_WIDTH["{device}"]: not derived (no arithmetic term fitted)',
    ])


def markdown(result: dict) -> str:
    """A section for docs/performance.md: the command, one table row per measured cell, what was skipped."""
    g = result["geometry"]
    lines = [
        f"Measured {result['date']} on {result['device_name']} ({result['device']}; torch {result['torch']}, "
        f"CUDA {result['cuda'] or 'none'}): GRU, {g['batch_size']} x {g['chunk_length']} batches, synthetic corpus, "
        f"{g['batches']} batches x {g['repeats']} repeats per cell, in {result.get('elapsed_s', 0):.0f} s of a "
        f"{result['budget_s']:g} s budget" + (" (cut short)." if result["cut_short"] else "."),
        "",
        "| date | device | cell | GRU units | K | packed width | step ms | network batches/s | pack_speedup "
        "| overhead | estimate ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    day, device = result["date"].split()[0], result["device_name"]
    for c in result["cells"]:
        cells = [day, device, c["name"], c["hidden"], c["pack"], c["width"], f"{c['step_ms']:.3f}",
                 f"{c['network_batches_per_s']:.3f}", "" if c["pack_speedup"] is None else f"{c['pack_speedup']:.3f}",
                 "" if c["overhead"] is None else f"{c['overhead']:.3f}",
                 f"{c['estimate_ms']:.3f}" if "estimate_ms" in c else ""]
        lines.append("| " + " | ".join(str(x) for x in cells) + " |")
    tests = result["cuda_tests"] or {}
    lines += ["", f"- CUDA tests: {tests.get('status')}"
              + (f" ({tests['passed']} passed, {tests['failed']} failed, {tests['error']} errors, "
                 f"{tests['skipped']} skipped)" if "passed" in tests else f" ({tests.get('reason', '')})")]
    if result["tf32"]:
        t = result["tf32"]
        lines.append(f"- TF32 at {t['hidden']} units: {t['off_step_ms']:.3f} ms off (IEEE float32, as training jobs "
                     f"run), {t['on_step_ms']:.3f} ms on, x{t['speedup']:.3f}"
                     + ("" if t["applies"] else " (no effect on a CPU)"))
    lines.append(f"- Observers: {result['observers']['status']}: {result['observers']['reason']}")
    for c in result["left_out"]:
        lines.append(f"- Left out: {_name(c)} ({c['reason']})")
    lines += ["", "Constants for bayesbach/core/resources.py, fitted as \"The cost model\" describes:", "", "```",
              constants_text(result), "```", ""]
    return "\n".join(lines)
