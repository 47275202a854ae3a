"""``bayesbach bench gpu`` (bayesbach.dev.gpu_bench), run on the CPU with tiny sizes: the JSON, the Markdown
table, the fitted constants and the time budget. (No test here is named for the GPU: the command itself
runs ``pytest -k`` on such names when a GPU is present.)"""

from __future__ import annotations

import json
import math
import time

import pytest
import torch

from bayesbach.dev import gpu_bench

TINY = ["--device", "cpu", "--hidden", "4", "8", "--batch-size", "4", "--chunk-length", "8", "--batches", "3",
        "--repeats", "1", "--packs", "2", "--max-width", "16", "--threads", "1"]
# (kind, hidden, K): every size alone, TF32 on for the largest, then each pack up to the packed width 16
PLANNED = [("solo", 4, 1), ("solo", 8, 1), ("tf32", 8, 1), ("pack", 4, 2), ("pack", 8, 2)]
KEYS = {"bench", "date", "device", "device_name", "torch", "cuda", "threads", "geometry", "budget_s", "finished",
        "cut_short", "cut_short_reasons", "cuda_tests", "cells", "left_out", "observers", "tf32", "constants",
        "elapsed_s"}


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_a_tiny_run_on_the_cpu_writes_the_json_the_table_and_the_constants(tmp_path, capsys):
    from bayesbach.cli import main

    out = tmp_path / "bench" / "gpu.json"
    assert main(["bench", "gpu", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert set(result) == KEYS
    assert (result["bench"], result["device"], result["finished"], result["cut_short"]) == ("gpu", "cpu", True, False)
    assert result["geometry"] == {"arch": "gru", "batch_size": 4, "chunk_length": 8, "batches": 3, "repeats": 1,
                                  "data": "synthetic"}
    assert result["cuda_tests"]["status"] == "skipped" and "no CUDA device" in result["cuda_tests"]["reason"]
    assert result["observers"]["status"] == "skipped" and "no GPU path" in result["observers"]["reason"]
    assert [(c["kind"], c["hidden"], c["pack"]) for c in result["cells"]] == PLANNED and not result["left_out"]
    for c in result["cells"]:
        assert positive(c["step_ms"]) and positive(c["network_batches_per_s"]) and positive(c["seconds"])
        assert c["width"] == c["hidden"] * c["pack"] and c["figures"]["device"] == "cpu"
        assert positive(c["pack_speedup"]) if c["kind"] == "pack" else positive(c["overhead"])
        assert positive(c["estimate_ms"]) if c["kind"] != "tf32" else "estimate_ms" not in c
    assert result["tf32"]["hidden"] == 8 and not result["tf32"]["applies"] and positive(result["tf32"]["speedup"])
    constants = result["constants"]  # 2 solo steps and 2 x (packed, solo) steps
    assert constants["cells"] == 6 and constants["STEP_LATENCY_S"] >= 0
    # Such tiny networks are per-operation overhead: the fit may find no arithmetic term, and says so.
    assert positive(constants["FLOPS"]) and positive(constants["PACK_WIDTH"]) or \
        (constants["FLOPS"], constants["PACK_WIDTH"]) == (None, None)
    for line in ('FLOPS["cpu"]', 'STEP_LATENCY_S["cpu"] = ', 'PACK_WIDTH["cpu"]'):
        assert line in printed
    assert json.loads(printed.strip().splitlines()[-1])["cells"] == len(PLANNED)

    table = out.with_suffix(".md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| 20")]
    assert len(rows) == len(PLANNED)
    assert all(len(row.split("|")) == len(rows[0].split("|")) for row in rows)
    assert [row.split(" | ")[2] for row in rows] == ["4 alone", "8 alone", "8 alone, TF32 on", "2 x 4 packed",
                                                     "2 x 8 packed"]
    assert "CUDA tests: skipped" in table and "Observers: skipped" in table and 'FLOPS["cpu"]' in table


def test_the_json_is_never_the_markdown_file(tmp_path, capsys):
    from bayesbach.cli import main

    assert main(["bench", "gpu", "--out", str(tmp_path / "gpu.md"), *TINY]) == 1
    assert "names the JSON" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_a_budget_too_small_for_any_cell_leaves_a_valid_json_flagged_as_cut_short(tmp_path, capsys):
    from bayesbach.cli import main

    out = tmp_path / "gpu.json"
    t0 = time.perf_counter()
    assert main(["bench", "gpu", "--out", str(out), *TINY, "--budget-minutes", "0.005"]) == 0  # 0.3 s
    assert time.perf_counter() - t0 < 30
    result = json.loads(out.read_text())
    assert set(result) == KEYS and result["finished"] and result["cut_short"]
    assert result["cells"] == [] and [(c["kind"], c["hidden"], c["pack"]) for c in result["left_out"]] == PLANNED
    assert all("predicted" in c["reason"] for c in result["left_out"])
    assert "left out to stay within the budget" in result["cut_short_reasons"][0]
    assert "no constants fitted" in capsys.readouterr().out
    table = out.with_suffix(".md").read_text()
    assert "(cut short)" in table and table.count("- Left out: ") == len(PLANNED)


def test_a_cell_running_past_the_budget_is_stopped_and_the_rest_listed(tmp_path, monkeypatch):
    calls = []

    def slow(*args, **kwargs):  # a cell that would run far past the budget
        calls.append(args)
        time.sleep(30)

    monkeypatch.setattr(gpu_bench, "bench_train", slow)
    monkeypatch.setattr(gpu_bench, "SETUP_S", 0.0)  # predicted to fit, so it starts
    plan = gpu_bench.Plan(hidden=[4, 8], packs=[2], max_width=16, batch_size=4, chunk_length=8, batches=3,
                          repeats=1, device="cpu", threads=1, budget_s=1.0, tests=False)
    t0 = time.perf_counter()
    result = gpu_bench.run(plan, tmp_path / "gpu.json", log=lambda line: None)
    assert time.perf_counter() - t0 < 10 and len(calls) == 1
    assert result["finished"] and result["cut_short"] and result["cells"] == []
    assert [c["reason"] for c in result["left_out"]] == ["stopped at the end of the budget"] + \
        ["not started: the budget had run out"] * (len(PLANNED) - 1)
    assert json.loads((tmp_path / "gpu.json").read_text())["left_out"] == result["left_out"]
    assert result["cuda_tests"] == {"status": "skipped", "reason": "--no-tests"}


def test_the_fit_recovers_the_cost_models_constants_and_derives_the_pack_width_as_packing_does():
    from bayesbach.core.resources import batch_flops

    rate, latency = 2e12, 3e-5
    points = [(batch_flops("gru", w, 12 * (w // n), 512, 512), 512, 0.0)
              for n, w in ((8, 8), (32, 32), (128, 128), (256, 256), (8, 64), (128, 512))]
    points = [(f, c, f / rate + c * latency) for f, c, _ in points]
    fitted = gpu_bench.fit_constants(points, threads=1, device="cuda", batch_size=512)
    assert fitted["FLOPS"] == pytest.approx(rate, rel=1e-6)
    assert fitted["STEP_LATENCY_S"] == pytest.approx(latency, rel=1e-6)
    assert fitted["PACK_WIDTH"] == round(math.sqrt(latency * rate / (18 * 512)))
    assert fitted["estimate_over_measured"] == [1.0, 1.0]
    # On a CPU, FLOPS is per thread, as in resources.py.
    assert gpu_bench.fit_constants(points, threads=4, device="cpu", batch_size=512)["FLOPS"] == pytest.approx(rate / 4)
    assert "FLOPS" not in gpu_bench.fit_constants(points[:1], threads=1, device="cuda", batch_size=512)
    # Steps of latency alone (as small networks on a GPU may be): no rate, and nothing that is not valid JSON.
    flat = gpu_bench.fit_constants([(f, c, c * latency) for f, c, _ in points], threads=1, device="cuda",
                                   batch_size=512)
    assert (flat["FLOPS"], flat["PACK_WIDTH"]) == (None, None) and flat["STEP_LATENCY_S"] == pytest.approx(latency)
    json.dumps(flat, allow_nan=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU present the device tests would really train")
def test_the_device_tests_run_in_a_subprocess_and_each_outcome_is_recorded():
    """What a GPU machine runs, here without one: the tests named for the device run, and skip where they
    need it (the one that asks for a missing device passes)."""
    report = gpu_bench.cuda_tests(timeout_s=120, available=True)
    assert report["status"] == "passed", report.get("output_tail")
    assert "tests/networks/test_training_job.py" in report["files"] and report["returncode"] == 0
    tests = {name.rsplit("::", 1)[1]: outcome for name, outcome in report["tests"].items()}
    assert tests["test_asking_for_cuda_without_a_gpu_is_a_readable_error"] == "passed"
    assert tests["test_training_on_cuda_matches_the_cpu_run_closely"] == "skipped"
    assert (report["passed"], report["failed"], report["error"]) == (sum(v == "passed" for v in tests.values()), 0, 0)
    assert gpu_bench.cuda_tests(timeout_s=120, available=False)["status"] == "skipped"
