"""Generalisation to other composers (docs/science.md, "Other composers"): the models of the study, trained and fitted on
Bach alone, on the works of a composer they never met, beside that composer's own predictability.

One job per composer and noise level (:func:`generalise`) scores on the composer's test compositions, with the
study's protocol (every file on its own, the common random numbers of :mod:`bayesbach.dataset.noise`):

- every network of the sweep at that noise level, as the evaluation scores it on Bach
  (:func:`bayesbach.evaluation.evaluation_job.network_errors`);
- every reference of the study at that noise level, as fitted on Bach: a trained one from its ``model.pt``
  (:func:`bayesbach.references.trained.load_reference`), a counted one counted again on the Bach training split
  with the smoothing its own job chose and the options it was given (its meta.json), so neither a training nor a
  smoothing search is repeated;
- the composer's own references (``generalisation.own_models``, named ``own_<reference>``): counted models fitted
  on the composer's training split, their smoothing chosen on its validation split (a PPM model with IDyOM's
  defaults, not the study's references: keys). The global frequencies and
  the first-order chord model give the composer's own predictability.

The rows are those of errors.parquet with the composer in ``corpus`` (``schemas.GENERALISATION``);
:func:`bayesbach.evaluation.collect.collect_generalisation` joins every job's into ``generalisation.parquet``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from bayesbach.core import schemas
from bayesbach.core.atomic import write_parquet
from bayesbach.core.errors_table import errors_table
from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import ENCODINGS, OWN_PREFIX, REFERENCES, SPLITS
from bayesbach.dataset.loader import load_split
from bayesbach.evaluation.evaluation_job import network_errors
from bayesbach.networks.models import load_network
from bayesbach.references import counted
from bayesbach.references.trained import load_reference

log = logging.getLogger(__name__)


class OtherNoiseLevel(StudyError):
    """A model given to a job of another noise level."""


class Splits:
    """A dataset's splits, each loaded once per encoding."""

    def __init__(self, dataset: Path):
        self.dataset = Path(dataset)
        self._loaded: dict[tuple[str, str], dict[str, list[np.ndarray]]] = {}

    def __call__(self, split: str, encoding: str) -> dict[str, list[np.ndarray]]:
        if (split, encoding) not in self._loaded:
            self._loaded[split, encoding] = load_split(self.dataset, split, encoding)
        return self._loaded[split, encoding]


def _same_noise(meta: dict, sigma: float, where: Path) -> None:
    if not math.isclose(float(meta["noise"]), sigma, rel_tol=0, abs_tol=1e-12):
        raise OtherNoiseLevel(f"{where} holds a model of sigma = {float(meta['noise'])!r}, not of this job's {sigma!r}")


def bach_reference(folder: Path, bach: Splits, test: Splits, sigma: float, seed: int) -> pa.Table:
    """A reference fitted on Bach (its folder of results/references/) scored on ``test``'s test split."""
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    _same_noise(meta, sigma, folder)
    name, encoding = meta["model"], meta["encoding"]
    if REFERENCES[name].kind == "counted":  # counted again, with the strengths its job chose
        fitted = counted.refit(meta, bach("train", encoding), sigma, seed)  # and with its options (a PPM model's)
        bce, bits = fitted.evaluate(test("test", encoding), sigma, seed)  # bits of its distribution over chords
    else:
        fitted = load_reference(folder)
        bce, bits = fitted.scores(test("test", encoding), sigma, seed), None  # independent units: factorised
    return errors_table(bce, name, *fitted.cell, sigma, None, ENCODINGS[encoding], bits)


def own_reference(name: str, own: Splits, sigma: float, seed: int, encoding: str) -> pa.Table:
    """The counted reference ``name`` fitted on the composer's own training split (smoothing chosen on its
    validation split), scored on its test split, as ``own_<name>``."""
    splits = [own(split, encoding) for split in SPLITS]
    bce, bits, _ = counted.evaluate_counted(name, *splits, sigma, seed, encoding)
    return errors_table(bce, OWN_PREFIX + name, None, None, sigma, None, ENCODINGS[encoding], bits)


def generalise(dataset: Path, composer_dataset: Path, out: Path, *, corpus: str, noise: float, model_dirs: list[Path],
               reference_dirs: list[Path], own_models: list[str], encoding: str, seed: int,
               threads: int | None = None) -> pa.Table:
    """One job: every network of ``model_dirs`` and reference of ``reference_dirs`` (all of noise level ``noise``,
    trained on the Bach ``dataset``) and the composer's ``own_models`` scored on the test split of
    ``composer_dataset``; writes ``out`` (the rows of ``generalisation.parquet`` with ``corpus``)."""
    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    sigma = float(noise)
    bach, own = Splits(dataset), Splits(composer_dataset)
    tables = []
    for folder in map(Path, model_dirs):
        decoder, meta = load_network(folder, "decoder")
        probe, _ = load_network(folder, "probe")
        _same_noise(meta, sigma, folder)
        tables.append(network_errors(decoder, probe, meta, own("test", meta["encoding"]), seed)[1])
    tables += [bach_reference(folder, bach, own, sigma, seed) for folder in reference_dirs]
    tables += [own_reference(name, own, sigma, seed, encoding) for name in own_models]
    rows = pa.concat_tables(tables) if tables else schemas.ERRORS.empty_table()
    table = rows.add_column(0, "corpus", pa.array([corpus] * rows.num_rows, pa.string())).cast(schemas.GENERALISATION)
    write_parquet(Path(out), table)
    predict = table.filter(pc.equal(table["task"], "predict")).group_by("model").aggregate([("bce", "mean")])
    means = dict(zip(predict["model"].to_pylist(), predict["bce_mean"].to_pylist()))
    log.info("%s, sigma=%r: %d networks, %d Bach-fitted and %d own references on %d test compositions in %.1f s; "
             "mean prediction BCE: %s", corpus, sigma, len(model_dirs), len(reference_dirs), len(own_models),
             len(own("test", encoding)), time.perf_counter() - t0,
             ", ".join(f"{m} {b:.4f}" for m, b in sorted(means.items())))
    return table
