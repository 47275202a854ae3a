"""The long tables (bayesbach.evaluation.collect): the per-job tables joined in an order that does not depend
on the order the jobs finished in."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from bayesbach.core import schemas
from bayesbach.core.errors_table import errors_table
from bayesbach.evaluation.collect import ERRORS_ORDER, collect


def job_tables(folder):
    parts = {
        "gru_r1": errors_table({"decode": {"bwv0002": 0.3, "bwv0001": 0.2}}, "gru", "gru", 8, 0.5, 1),
        "gru_r0": errors_table({"predict": {"bwv0001": 0.4}, "decode": {"bwv0001": 0.1}}, "gru", "gru", 8, 0.5, 0),
        "bayes": errors_table({"decode": {"bwv0001": 0.05}}, "bayes", None, None, 0.5, None),
        "global": errors_table({"predict": {"bwv0001": 0.6}}, "global", None, None, 1.0, None),
    }
    paths = {}
    for name, table in parts.items():
        paths[name] = folder / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths


def test_collected_errors_are_sorted_whatever_the_order_of_the_jobs(tmp_path):
    paths = job_tables(tmp_path)
    a = collect(list(paths.values()), tmp_path / "a.parquet", schemas.ERRORS, ERRORS_ORDER)
    b = collect(list(reversed(paths.values())), tmp_path / "b.parquet", schemas.ERRORS, ERRORS_ORDER)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert a.schema == schemas.ERRORS and a.num_rows == 6 and a.equals(b)
    rows = [(r["model"], r["run"], r["task"], r["piece"]) for r in a.to_pylist()]
    assert rows == [("bayes", None, "decode", "bwv0001"), ("global", None, "predict", "bwv0001"),
                    ("gru", 0, "decode", "bwv0001"), ("gru", 0, "predict", "bwv0001"),
                    ("gru", 1, "decode", "bwv0001"), ("gru", 1, "decode", "bwv0002")]


def test_nothing_to_collect_is_an_empty_table_of_the_schema(tmp_path):
    table = collect([], tmp_path / "empty.parquet", schemas.ERRORS, ERRORS_ORDER)
    assert table.num_rows == 0 and pq.read_table(tmp_path / "empty.parquet").schema == schemas.ERRORS


def test_tables_are_cast_to_the_schema(tmp_path):
    loose = pa.table({"model": ["gru"], "arch": ["gru"], "hidden": [8], "noise": [0.5], "run": [0], "task": ["decode"],
                      "piece": ["bwv0001"], "bce": [0.25], "bits": [4.328]})  # int64 hidden and run
    pq.write_table(loose, tmp_path / "loose.parquet")
    table = collect([tmp_path / "loose.parquet"], tmp_path / "out.parquet", schemas.ERRORS, ERRORS_ORDER)
    assert table.schema == schemas.ERRORS and table.to_pylist()[0]["bce"] == 0.25
