"""The other composers (bayesbach.evaluation.generalisation): every Bach-trained network and Bach-fitted reference
scored on another corpus with the study's own protocol, beside the corpus's own references; and their statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.core.atomic import write_torch
from bayesbach.dataset.loader import load_split
from bayesbach.evaluation.collect import collect_generalisation
from bayesbach.evaluation.generalisation import OtherNoiseLevel, generalise
from bayesbach.evaluation.evaluation_job import evaluate_network
from bayesbach.evaluation.stats import GENERALISATION_COLUMNS, compare, generalisation_comparisons, holm
from bayesbach.networks.models import build
from bayesbach.references.counted import counted_reference
from bayesbach.references.trained import network_reference

torch.set_num_threads(1)
SEED, NOISE = 3, 0.5
COUNTED = ("global", "markov_counts", "bayes")


def write_corpus(folder: Path, splits: dict[str, int], seed: int) -> Path:
    """events.parquet and pieces.parquet of random chords (about three of twelve pitch classes each step), two files
    per composition, so that no pitch class is always or never heard."""
    rng = np.random.default_rng(seed)
    events, pieces = [], []
    for split, count in splits.items():
        for i in range(count):
            piece = f"{split[:2]}{seed}_{i}"
            n = 0
            for f in range(2):
                steps = rng.random((int(rng.integers(20, 40)), 12)) < 0.25
                steps[~steps.any(1), int(rng.integers(12))] = True  # no silent step
                events += [{"piece": piece, "file": f"{piece}_{f}.mid", "step": t,
                            "pitches": [60 + pc for pc in np.flatnonzero(s)],
                            "pcs": int(sum(1 << int(pc) for pc in np.flatnonzero(s)))} for t, s in enumerate(steps)]
                n += len(steps)
            pieces.append({"piece": piece, "bwv": None, "n_files": 2, "n_events": n, "family": piece, "split": split})
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(events, schema=schemas.EVENTS), folder / "events.parquet")
    pq.write_table(pa.Table.from_pylist(pieces, schema=schemas.PIECES), folder / "pieces.parquet")
    return folder


@pytest.fixture(scope="module")
def bach(tmp_path_factory) -> dict:
    """A "Bach" corpus with one network and four references fitted on it at NOISE, and another composer's."""
    root = tmp_path_factory.mktemp("bach")
    data = write_corpus(root / "dataset", {"train": 6, "validation": 2, "test": 3}, seed=1)
    spec = {"kind": "recurrent", "arch": "gru", "units": 12, "hidden": 5, "layers": 1}
    net = root / "models/gru/h5/s0.5/r0"
    write_torch(net / "decoder.pt", build(spec, seed=1).state_dict())
    write_torch(net / "probe.pt", build(spec, seed=2).state_dict())
    (net / "meta.json").write_text(json.dumps({"model": spec, "arch": "gru", "hidden": 5, "noise": NOISE, "run": 0,
                                               "encoding": "pc12", "gap": 20}))
    refs = [root / "references" / name for name in (*COUNTED, "markov_low")]
    for name in COUNTED:
        counted_reference(data, [root / "references" / name], name=name, noises=[NOISE], seed=SEED)
    network_reference(data, [root / "references/markov_low"], name="markov_low", noises=[NOISE], seed=SEED,
                      refs={"batches": 3, "ff_hidden": 6}, device="cpu", threads=1,
                      train={"lr": 0.02, "batch_size": 4, "chunk_length": 8, "val_every": 2, "checkpoint_every": 2,
                             "log_seconds": 0, "encoding": "pc12"})
    evaluate_network(data, net, root / "net_errors.parquet", root / "net_encoding.parquet", seed=SEED)
    other = write_corpus(root / "other", {"train": 5, "validation": 2, "test": 4}, seed=2)
    return {"root": root, "data": data, "net": net, "refs": refs, "other": other}


def run(bach: dict, composer: Path, out: Path, corpus: str, **kwargs) -> pd.DataFrame:
    args = {"noise": NOISE, "model_dirs": [bach["net"]], "reference_dirs": bach["refs"],
            "own_models": ["global", "markov_counts"], "encoding": "pc12", "seed": SEED, **kwargs}
    table = generalise(bach["data"], composer, out, corpus=corpus, **args)
    assert table.schema == schemas.GENERALISATION and pq.read_table(out).equals(table)
    return table.to_pandas()


def rows(df: pd.DataFrame, model: str, column: str = "bce") -> dict:
    part = df[df["model"] == model]
    return dict(zip(zip(part["task"], part["piece"]), part[column]))


def test_on_the_corpus_they_were_fitted_on_the_models_give_exactly_their_own_jobs_errors(bach, tmp_path):
    gen = run(bach, bach["data"], tmp_path / "same.parquet", "bach")
    assert set(gen["corpus"]) == {"bach"}
    for folder in bach["refs"]:  # counted again with the job's smoothing, or loaded: the same numbers
        for column in ("bce", "bits"):  # bits: a counted model's of its distribution over chords, as its job's
            assert rows(gen, folder.name, column) == rows(pd.read_parquet(folder / "errors.parquet"), folder.name,
                                                          column), (folder.name, column)
    assert rows(gen, "gru") == rows(pd.read_parquet(bach["root"] / "net_errors.parquet"), "gru")
    trained = gen[gen["model"] == "markov_low"].iloc[0]
    assert pd.isna(trained["arch"]) and trained["hidden"] == 6  # the reference's cell, as errors.parquet has it
    # fitted on this corpus's own training split, the composer's own references are the study's
    assert rows(gen, "own_global") == rows(gen, "global")
    assert rows(gen, "own_markov_counts") == rows(gen, "markov_counts")


def test_on_another_corpus_the_bach_fit_meets_the_corpus_own_fit(bach, tmp_path):
    gen = run(bach, bach["other"], tmp_path / "other.parquet", "other")
    run(bach, bach["other"], tmp_path / "again.parquet", "other")
    assert (tmp_path / "again.parquet").read_bytes() == (tmp_path / "other.parquet").read_bytes()  # a rerun: the same
    test = load_split(bach["other"], "test")
    assert set(gen["piece"]) == set(test)
    assert set(gen["model"]) == {"gru", *COUNTED, "markov_low", "own_global", "own_markov_counts"}

    def global_bce(train: Path, task: str) -> dict:  # the constant marginal's pooled BCE per test piece, by hand
        m = np.concatenate([f for files in load_split(train, "train").values() for f in files]).mean(0, np.float64)
        out = {}
        for piece, files in test.items():
            ys = [(y[1:] if task == "predict" else y).astype(np.float64) for y in files]
            total = sum(-(y * np.log(m) + (1 - y) * np.log1p(-m)).sum() for y in ys)
            out[(task, piece)] = total / sum(y.size for y in ys)
        return out

    for task in ("decode", "predict"):
        own = {k: v for k, v in rows(gen, "own_global").items() if k[0] == task}
        fitted_on_bach = {k: v for k, v in rows(gen, "global").items() if k[0] == task}
        assert own == pytest.approx(global_bce(bach["other"], task), rel=1e-9)
        assert fitted_on_bach == pytest.approx(global_bce(bach["data"], task), rel=1e-9)
    # the Bach-fitted first-order model keeps the smoothing its own job chose on Bach
    meta = json.loads((bach["root"] / "references/markov_counts/meta.json").read_text())
    assert meta["smoothing"] and rows(gen, "markov_counts") != rows(gen, "own_markov_counts")
    # collected, two jobs' tables make one sorted table
    collected = collect_generalisation([tmp_path / "other.parquet", tmp_path / "other.parquet"], tmp_path / "all.parquet")
    assert collected.num_rows == 2 * len(gen) and collected.schema == schemas.GENERALISATION


def test_a_model_of_another_noise_level_is_refused(bach, tmp_path):
    with pytest.raises(OtherNoiseLevel, match="not of this job's 1.0"):
        run(bach, bach["other"], tmp_path / "x.parquet", "other", noise=1.0)


def test_statistics_pair_each_network_with_each_composers_own_references_within_the_composer():
    rng = np.random.default_rng(0)
    pieces = [f"p{i}" for i in range(7)]
    records = []
    for corpus in ("monteverdi", "palestrina"):
        for noise in (0.2, 1.0):
            for run_ in (0, 1):
                records += [(corpus, "gru", "gru", 8, noise, run_, "predict", p, rng.uniform(0.3, 0.6)) for p in pieces]
            for model in ("own_global", "own_markov_counts", "markov_high"):
                records += [(corpus, model, None, None, noise, None, "predict", p, rng.uniform(0.3, 0.6)) for p in pieces]
    df = pd.DataFrame(records, columns=schemas.GENERALISATION.names[:-1])  # no bits: the statistics compare BCE
    table = generalisation_comparisons(df)
    assert list(table.columns) == GENERALISATION_COLUMNS
    assert set(zip(table["corpus"], table["versus"])) == {(c, v) for c in ("monteverdi", "palestrina")
                                                          for v in ("own_global", "own_markov_counts", "markov_high")}
    # one family per composer and task: two cells of the sweep x three references, Holm within it
    assert set(table["family"]) == {"monteverdi/predict/reference", "palestrina/predict/reference"}
    assert (table["family_size"] == 6).all()
    for _, family in table.groupby("family"):
        np.testing.assert_allclose(family["p_holm"], holm(family["p"].to_numpy()))
    row = table.query("corpus == 'palestrina' and versus == 'own_markov_counts' and noise == 1.0").iloc[0]
    part = df[(df["corpus"] == "palestrina") & (df["noise"] == 1.0)]
    net = part[part["model"] == "gru"].groupby("piece")["bce"].mean()  # runs first
    own = part[part["model"] == "own_markov_counts"].set_index("piece")["bce"].loc[net.index]
    expected = compare(net.to_numpy(), own.to_numpy())
    assert row["mean_diff"] == pytest.approx(expected["mean_diff"]) and row["p"] == pytest.approx(expected["p"])
    assert row["runs"] == 2 and row["n_pieces"] == 7
    assert generalisation_comparisons(df.iloc[:0]).empty
