"""bayesbach convert (bayesbach.cli.dataset): the config's sources, read as the workflow's convert rule reads them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bayesbach.cli import main
from bayesbach.core import schemas
from bayesbach.dataset.midi import convert_sources
from bayesbach.dev.synthetic import write_midi
from cli_study import write_yaml


def test_convert_reads_the_config_sources_as_the_workflow_does(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "data/raw/bundled"
    write_midi(source / "bwv1.1.mid", [(60, 0, 1), (64, 0.5, 1)])
    (source / "bwv2.1.mid").write_bytes(b"MThd")  # truncated: rejected with a reason
    manifest = [{"file": f, "bwv": b, "source": "bundled", "url": "", "sha256": "", "bytes": 0}
                for f, b in (("bwv1.1.mid", 1), ("bwv2.1.mid", 2))]
    pq.write_table(pa.Table.from_pylist(manifest, schema=schemas.MANIFEST), source / "manifest.parquet")
    config = write_yaml(tmp_path / "c.yaml", {"corpus": {"sources": ["bundled"]}})
    assert main(["convert", "--config", config, "--workers", "1"]) == 0
    assert "1 files -> events, 1 rejected" in capsys.readouterr().out
    convert_sources([source], tmp_path / "direct", 1)
    for table in ("events.parquet", "rejects.parquet"):  # the rule's function, the rule's names (bundled/...)
        assert pq.read_table(tmp_path / "results/dataset" / table).equals(pq.read_table(tmp_path / "direct" / table))
    assert pq.read_table(tmp_path / "direct/events.parquet").column("file")[0].as_py() == "bundled/bwv1.1.mid"
