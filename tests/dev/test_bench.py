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
