"""The benchmarks behind ``bayesbach bench`` (bayesbach.dev.bench): each prints one JSON line of figures."""

from __future__ import annotations

import json

from bayesbach.dev.synthetic import write_midi

C4, G4 = 60, 67


def test_bench_convert_prints_one_json_line(tmp_path, capsys):
    from bayesbach.cli import main

    for i in range(3):
        write_midi(tmp_path / f"bwv{i + 1}.mid", [(C4 + i, 0, 1), (G4, 0.5, 1)])
    assert main(["bench", "convert", str(tmp_path), "--repeats", "3", "--workers", "1"]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1
    figures = json.loads(out)
    assert (figures["bench"], figures["files"], figures["events"], figures["runs"]) == ("convert", 3, 6, 3)  # 2 chords a file
    # timings only: positive (parse_share, parsing over the whole serial conversion, is near 1 for such tiny files
    # and noisy on a loaded machine, so no upper bound)
    assert figures["files_per_s"] > 0 and figures["serial_files_per_s"] > 0 and figures["parse_share"] > 0


def test_bench_bayes_times_the_observer_of_an_order_and_says_what_pruning_dropped(capsys):
    from bayesbach.cli import main

    assert main(["bench", "bayes", "--pieces", "1", "--order", "2", "--repeats", "1", "--single", "1",
                 "--prune", "1e-7", "--sigma", "0.2"]) == 0
    figures = json.loads(capsys.readouterr().out.strip())
    assert (figures["bench"], figures["order"], figures["test_pieces"], figures["exact"]) == ("bayes", 2, 1, False)
    assert figures["states"] > figures["seen_chords"] and figures["seconds"] > 0
    assert 0 <= figures["discarded_max_per_step"] <= 1e-7 and 0 < figures["mean_states_kept"] <= figures["states"]


def test_bench_bayes_compares_the_kernel_with_the_reference_path(capsys):
    from bayesbach.cli import main

    assert main(["bench", "bayes", "--pieces", "1", "--order", "2", "--repeats", "1", "--single", "0",
                 "--kernel", "numba", "--threads", "1", "--compare"]) == 0
    figures = json.loads(capsys.readouterr().out.strip())
    assert (figures["kernel"], figures["threads"]) == ("numba", 1)
    assert figures["reference_seconds"] > 0 and figures["speedup"] > 0 and figures["max_difference"] <= 1e-12


def test_bench_bayes_job_times_a_whole_observer_job(capsys):
    from bayesbach.cli import main

    assert main(["bench", "bayes", "--job", "--pieces", "1", "--order", "1", "--kernel", "numpy"]) == 0
    figures = json.loads(capsys.readouterr().out.strip())
    assert (figures["bench"], figures["order"], figures["kernel"], figures["exact"]) == ("bayes_job", 1, "numpy", True)
    assert figures["evaluations"] > 0 and figures["job_minutes"] > 0 and figures["test_seconds"] > 0
    assert set(figures["mean_test_bits"]) == {"decode", "predict"}


def test_bench_train_prints_the_real_against_the_bare_step(capsys):
    from bayesbach.cli import main

    assert main(["bench", "train", "--hidden", "4", "--batch-size", "4", "--chunk-length", "8", "--batches", "2",
                 "--repeats", "1", "--threads", "1"]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1
    figures = json.loads(out)
    assert (figures["bench"], figures["hidden"], figures["batch_size"], figures["chunk_length"], figures["device"]) \
        == ("train", 4, 4, 8, "cpu")
    assert figures["batches_per_s"] > 0 and figures["model_batches_per_s"] > 0 and figures["validation_pieces"] == 70
    # one run: the overhead is the ratio of the two step times
    assert abs(figures["overhead"] - figures["model_batches_per_s"] / figures["batches_per_s"]) < 0.01 * figures["overhead"]


def test_bench_train_pack_prints_packed_against_solo_network_rates(capsys):
    from bayesbach.cli import main

    assert main(["bench", "train", "--pack", "3", "--hidden", "4", "--batch-size", "4", "--chunk-length", "8",
                 "--batches", "2", "--repeats", "1", "--threads", "1"]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1
    figures = json.loads(out)
    assert (figures["bench"], figures["pack"], figures["hidden"], figures["device"]) == ("train", 3, 4, "cpu")
    assert figures["network_batches_per_s"] == round(3000 / figures["packed_step_ms"], 3) or \
        abs(figures["network_batches_per_s"] - 3000 / figures["packed_step_ms"]) < 0.01 * figures["network_batches_per_s"]
    # one run: the speed-up is the ratio of the two rates
    assert abs(figures["pack_speedup"] - figures["network_batches_per_s"] / figures["solo_network_batches_per_s"]) \
        < 0.01 * figures["pack_speedup"]


def test_bench_evaluate_times_one_networks_evaluation(capsys):
    from bayesbach.cli import main

    assert main(["bench", "evaluate", "--pieces", "3", "--train-pieces", "4", "--hidden", "8", "--repeats", "1",
                 "--threads", "1"]) == 0
    figures = json.loads(capsys.readouterr().out.strip())
    assert (figures["bench"], figures["hidden"], figures["test_pieces"], figures["runs"]) == ("evaluate", 8, 3, 1)
    assert figures["errors_seconds"] > 0 and figures["encoding_seconds"] > 0
    # two passes over the test steps (decode and predict) per timed run; errors_seconds is rounded to 1 ms
    assert abs(figures["test_steps_per_s"] * figures["errors_seconds"] / (2 * figures["test_steps"]) - 1) \
        <= 0.0005 / figures["errors_seconds"] + 1e-3


def test_bench_crawl_crawls_the_generated_site_on_loopback(capsys):
    from bayesbach.cli import main

    assert main(["bench", "crawl", "--pages", "2", "--files-per-page", "2", "--repeats", "1"]) == 0
    figures = json.loads(capsys.readouterr().out.strip())
    assert (figures["bench"], figures["runs"]) == ("crawl", 1)
    assert figures["files_kept"] > 0 and figures["requests"] >= figures["pages"] and figures["seconds"] > 0
