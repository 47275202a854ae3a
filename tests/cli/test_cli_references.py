"""bayesbach reference (bayesbach.cli.references): a sigma-free reference fitted once for several noise levels."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from bayesbach.core.layout import reference_dir
from bayesbach.dev.synthetic import write_dataset
from cli_study import TINY, ok, write_yaml


def test_a_sigma_free_reference_is_fitted_once_for_several_noise_levels(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_dataset(tmp_path / "results/dataset", {"train": 2, "validation": 1, "test": 1})
    ok("reference", "markov_counts", "--noise", "0.2", "1", "--config", write_yaml(tmp_path / "tiny.yaml", TINY))
    assert capsys.readouterr().out.count("markov_counts at sigma=") == 2
    for sigma in (0.2, 1.0):
        folder = tmp_path / reference_dir("markov_counts", sigma)
        assert set(pq.read_table(folder / "errors.parquet").column("noise").to_pylist()) == {sigma}
        assert json.loads((folder / "meta.json").read_text())["noise"] == sigma
