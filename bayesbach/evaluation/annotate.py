"""The study's models as instruments: per-chord information content, entropy and Bayesian surprise of any stimuli,
in bits, at the chords' onsets (docs/science.md, "Annotation").

:func:`annotate` reads MIDI files with the dataset's converter (:func:`bayesbach.dataset.midi.events_from_bytes`:
a file it cannot use goes to ``rejects.parquet`` with its reason) and runs on them the models of a finished study,
nothing retrained (:func:`study_models`):

- every trained network of the sweep, by cell (``<arch>_h<hidden>_s<noise>``, its training noise level): its
  probe's prediction head, the runs of a cell a mixture of their predictive distributions;
- every reference of the study, from the folder of the study noise level nearest ``noise``: a trained one's
  ``model.pt`` (:func:`bayesbach.references.trained.load_reference`), a counted one counted again on the study's
  training split with the smoothing its meta.json gives (as :func:`bayesbach.evaluation.generalisation.bach_reference`
  does). ``decoder_ff`` only decodes and has no prediction to annotate.

Each model's prediction of chord t (t >= 1: the first chord of a file has none, as in the study's scoring) from the
input up to t - 1 is a distribution over every chord. Its information content ``ic`` = -log2 P(the actual chord)
and its entropy are in bits:

- independent units (the networks, ``global``, the trained references): ic = the sum of the units' binary
  cross-entropies / ln 2, entropy = the sum of their binary entropies; a mixture of runs, by listing every chord;
- categorical (``markov_countsK``: the filter of its own model at sigma 0 on the clean chords; ``bayesK`` and
  ``bayes_memoryless`` at ``noise``): the filter's categorical prediction with its back-off, so that an unseen
  chord has a finite ic (:meth:`bayesbach.references.observer.Observer.filter`, ``measures``).

The observers also give ``surprise``, KL(posterior after chord t || the prior it was updated from), at every step.

Inputs are the chords as heard at ``noise`` = 0; at ``noise`` > 0 with the study's common random numbers
(:mod:`bayesbach.dataset.noise`, one realisation per stimulus, a function of the study's seed and its name).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp

from bayesbach.core import schemas
from bayesbach.core.atomic import write_json, write_parquet
from bayesbach.core.exceptions import StudyError
from bayesbach.core.layout import DATASET_DIR, MODEL_DIR, REFERENCE_DIR, under
from bayesbach.core.registry import REFERENCES
from bayesbach.evaluation import annotation_files as written
from bayesbach.evaluation.annotation_files import Stimulus, read_stimuli
from bayesbach.dataset.loader import load_split
from bayesbach.dataset.midi import midi_files
from bayesbach.dataset.noise import crn_inputs
from bayesbach.networks.models import load_network, probabilities
from bayesbach.networks.scoring import HEADS, Padded
from bayesbach.references import counted
from bayesbach.references.alphabet import ENUMERABLE, EPS, all_chords
from bayesbach.references.observer import observer_of
from bayesbach.references.ppm import entropy_bits
from bayesbach.references.trained import NETWORKS, load_reference

log = logging.getLogger(__name__)

LN2 = math.log(2)
ENCODING = "pc12"  # the encoding annotated (the entropy over every chord lists them: ENUMERABLE units)
STEPS = 2048  # steps of a mixture's listed chords at once (two arrays of steps x 4,096 chords doubles)
HEAD = HEADS["predict"][0]


class UnknownModel(StudyError):
    """A model or network cell asked for that the study does not have."""


@dataclass
class Measures:
    """One model's annotation of one stimulus, per step (NaN where it has none)."""

    ic: np.ndarray
    entropy: np.ndarray
    surprise: np.ndarray | None = None  # the observers'


# ---- the measures of the two kinds of distribution ------------------------------------------------


def factorised_measures(ps: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ic, entropy) in bits of chords ``y`` (T x U) under independent units of probabilities ``ps`` (R x T x U),
    the mixture of R such predictions with equal weights; R = 1: the sums of the units' BCEs and binary entropies."""
    ps = np.clip(np.asarray(ps, np.float64), EPS, 1 - EPS)
    y = np.asarray(y, np.float64)
    log_p, log_q = np.log(ps), np.log1p(-ps)
    per_run = (y * log_p + (1 - y) * log_q).sum(-1)  # (R, T) log P_r(y_t)
    ic = -(logsumexp(per_run, axis=0) - np.log(len(ps))) / LN2
    if len(ps) == 1:
        return ic, -(ps[0] * log_p[0] + (1 - ps[0]) * log_q[0]).sum(-1) / LN2
    units = ps.shape[-1]
    if units > ENUMERABLE:
        raise StudyError(f"the entropy of a mixture over every chord of {units} units is not enumerable")
    chords = all_chords(units).T  # (U, 2^U)
    base, logit = log_q.sum(-1), log_p - log_q  # log P_r(c) = base + c . logit: one product per run
    entropy = np.empty(ps.shape[1])
    for lo in range(0, ps.shape[1], STEPS):
        at = slice(lo, lo + STEPS)
        mix = np.zeros((len(base[0, at]), chords.shape[1]))
        for r in range(len(ps)):  # the mixture's probabilities, summed in place (no (R, steps, 2^U) array)
            log_c = logit[r, at] @ chords
            log_c += base[r, at, None]
            mix += np.exp(log_c, out=log_c)
        mix /= len(ps)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(mix > 0, mix * np.log(mix), 0.0)  # an underflowed chord adds 0 log 0 = 0
        entropy[at] = -terms.sum(-1) / LN2
    return ic, entropy


def _at_steps(values: np.ndarray, steps: int, first: float = np.nan) -> np.ndarray:
    """A prediction of chords 1..T-1 placed at their steps, the first chord's value ``first``."""
    return np.concatenate([[first], values]) if steps else np.empty(0)


# ---- the models ---------------------------------------------------------------------------------


@dataclass
class Model:
    """A model of the study ready to annotate: ``measures(stimuli)`` -> {stem: Measures}."""

    name: str
    kind: str  # "network", "trained", "counted"
    observer: bool = False  # gives surprise
    over: str = "all 4,096 pitch-class sets"  # what its entropy sums over
    detail: dict = field(default_factory=dict)  # what the sidecar says of it

    def measures(self, stimuli: list[Stimulus], noise: float, seed: int) -> dict[str, Measures]:
        raise NotImplementedError


@dataclass
class Factorised(Model):
    """Networks (the runs of one cell: their probes) or a trained reference or ``global``: independent units."""

    nets: list = field(default_factory=list)  # torch modules, each with a "predict" head
    inputs: str = "noisy"
    marginal: np.ndarray | None = None  # ``global``: the constant prediction instead of nets

    def measures(self, stimuli, noise, seed):
        pieces = {s.stem: [s.y] for s in stimuli}
        if self.marginal is not None:
            ps = [np.broadcast_to(self.marginal, (1, *s.y.shape)) for s in stimuli]
        else:
            padded = Padded.build(pieces, seed)
            x = padded.inputs(noise, self.inputs)
            with torch.no_grad():
                out = np.stack([probabilities(net, x, HEAD).numpy() for net in self.nets])  # (R, F, T, U)
            ps = [out[:, i, :len(s.y)] for i, s in enumerate(stimuli)]
        result = {}
        for s, p in zip(stimuli, ps):
            ic, entropy = factorised_measures(p[:, :-1], s.y[1:])
            result[s.stem] = Measures(_at_steps(ic, len(s.y)), _at_steps(entropy, len(s.y)))
        return result


@dataclass
class Categorical(Model):
    """A counted reference: the filter of its model (``markov_countsK``: at sigma 0 on the clean chords)."""

    fitted: object = None  # counted.MarkovCounts or counted.Bayes

    def measures(self, stimuli, noise, seed):
        m = self.fitted
        memoryless = getattr(m, "memoryless", False)
        sigma = noise if self.observer else 0.0
        observer = observer_of(m.model, m.smoothing, sigma, counted.prune_of(m.model, memoryless), memoryless)
        clean = {s.stem: [s.y] for s in stimuli}
        result = {}
        for stem, _, _, _, pred_bits, entropy, surprise in observer.run(crn_inputs(clean, sigma, seed), targets=clean,
                                                                        measures=True):
            steps = len(clean[stem][0])
            result[stem] = Measures(_at_steps(pred_bits[0], steps), _at_steps(entropy[0], steps),
                                    surprise[0] if self.observer else None)
        return result


@dataclass
class Sequential(Model):
    """A PPM model (:class:`~bayesbach.references.ppm_reference.PPMReference`): each chord's distribution over its
    alphabet given the chords before it in the stimulus, the short-term memory empty at its start. The alphabet is
    the training chords and the stimulus's own (IDyOM's), so a stimulus's values do not depend on the others."""

    fitted: object = None
    over: str = "its alphabet (the training split's chords and the stimulus's own, as IDyOM's)"

    def measures(self, stimuli, noise, seed):
        ppm, result = self.fitted, {}
        for s in stimuli:
            ppm.symbols.truncate(ppm.n_train)
            seq = ppm.symbols.of(s.y)
            p, ic = ppm.predictions(seq)
            result[s.stem] = Measures(_at_steps(ic, len(seq)), _at_steps(entropy_bits(p), len(seq)))
        return result


@dataclass
class Protocol(Model):
    """Any other counted reference, through the counted protocol alone (its ``probabilities``): its per-unit
    prediction read as independent units, as the study scores a reference that gives no categorical bits."""

    fitted: object = None

    def measures(self, stimuli, noise, seed):
        clean = {s.stem: [s.y] for s in stimuli}
        result = {}
        for stem, _, predict, *_ in self.fitted.probabilities(clean, noise, seed):  # it adds any noise it hears
            y = clean[stem][0]
            ic, entropy = factorised_measures(np.asarray(predict[0])[None], y[1:])
            result[stem] = Measures(_at_steps(ic, len(y)), _at_steps(entropy, len(y)))
        return result


def _noise_of(folder: Path) -> float:
    """The noise level of a reference's folder (RESULTS/references/s{noise}/{name})."""
    return float(folder.parent.name[1:])


def _nearest(folders: list[Path], noise: float) -> Path:
    """The folder of the noise level nearest ``noise`` (the lower of two as near)."""
    return min(folders, key=lambda f: (abs(_noise_of(f) - noise), _noise_of(f)))


def network_cells(results: Path) -> dict[str, list[Path]]:
    """{``<arch>_h<hidden>_s<noise>``: its runs' folders} of every trained network under ``results``."""
    pattern = under(MODEL_DIR, str(results)).format(arch="*", hidden="*", noise="*", run="*")
    cells: dict[str, list[Path]] = {}
    for meta in sorted(_glob(pattern + "/meta.json")):
        run = meta.parent
        arch, hidden, sigma = run.parents[2].name, run.parents[1].name, run.parent.name
        cells.setdefault(f"{arch}_{hidden}_{sigma}", []).append(run)
    return cells


def reference_folders(results: Path) -> dict[str, list[Path]]:
    """{name: its folders at every noise level} of every reference under ``results``."""
    pattern = under(REFERENCE_DIR, str(results)).format(noise="*", name="*")
    out: dict[str, list[Path]] = {}
    for meta in sorted(_glob(pattern + "/meta.json")):
        out.setdefault(meta.parent.name, []).append(meta.parent)
    return out


def _glob(pattern: str) -> list[Path]:
    p = Path(pattern)
    return list(Path(p.anchor).glob(str(p.relative_to(p.anchor)))) if p.is_absolute() else list(Path().glob(pattern))


def _pick(names: list[str] | None, available: list[str], what: str) -> list[str]:
    if names is None:
        return available
    unknown = [n for n in names if n not in available]
    if unknown:
        raise UnknownModel(f"the study has no {what} {', '.join(unknown)}; it has: {', '.join(available) or 'none'}")
    return [n for n in available if n in names]  # in the study's order


def study_models(results: Path, models: list[str] | None = None, networks: list[str] | None = None,
                 noise: float = 0.0) -> tuple[list[Model], int]:
    """The study's models under ``results`` ready to annotate, and its seed: the references ``models`` (default
    every one that predicts) and the network cells ``networks`` (default every cell)."""
    results = Path(results)
    cells = dict(sorted(network_cells(results).items()))
    refs = reference_folders(results)
    order = [n for n in REFERENCES if n in refs and "predict" in REFERENCES[n].tasks]
    if models is not None and "decoder_ff" in models:
        raise UnknownModel("decoder_ff only decodes: it has no prediction of the next chord to annotate")
    chosen_refs = _pick(models, order, "reference")
    chosen_cells = _pick(networks, list(cells), "network cell")
    if not chosen_refs and not chosen_cells:
        raise UnknownModel(f"no trained network nor reference under {results}: annotate needs a finished study")
    seeds, out = set(), []
    train = None
    for name in chosen_refs:
        folder = _nearest(refs[name], noise)
        meta = json.loads((folder / "meta.json").read_text())
        seeds.add(int(meta["seed"]))
        if meta.get("encoding", ENCODING) != ENCODING:
            raise StudyError(f"{folder}: annotate scores {ENCODING} studies, not {meta['encoding']}")
        detail = {"folder": str(folder), "fitted_noise": float(meta["noise"])}
        if REFERENCES[name].kind == "trained":
            fitted = load_reference(folder)
            out.append(Factorised(name, "trained", detail=detail, nets=[fitted.model], inputs=NETWORKS[name].inputs))
            continue
        if train is None:  # counted again on the study's training split, with the strengths its job chose
            train = load_split(Path(under(DATASET_DIR, str(results))), "train", ENCODING)
        fitted = counted.refit(meta, train).model
        if name == "global":
            out.append(Factorised(name, "counted", detail=detail, marginal=fitted.marginal))
        elif name.startswith("ppm_"):
            out.append(Sequential(name, "counted", detail=detail, fitted=fitted))
        elif not hasattr(fitted, "model"):  # a counted reference known by its protocol alone (docs: "How to add")
            out.append(Protocol(name, "counted", detail=detail, fitted=fitted))
        else:
            out.append(Categorical(name, "counted", observer=name.startswith("bayes"), detail=detail, fitted=fitted))
    for cell in chosen_cells:
        nets = []
        for run in cells[cell]:
            net, meta = load_network(run, "probe")
            seeds.add(int(meta["seed"]))
            nets.append(net)
        out.append(Factorised(cell, "network", detail={"runs": [str(r) for r in cells[cell]], "fitted_noise":
                                                       float(meta["noise"])}, nets=nets))
    if len(seeds) > 1:
        raise StudyError(f"the models under {results} come from studies of different seeds: {sorted(seeds)}")
    return out, seeds.pop()


def annotate(paths: list[Path], out: Path, **options) -> dict:
    """Annotate the MIDI files of ``paths`` (files, or folders searched for .mid/.midi; a file below a folder is
    named by its path from there) with the study's models: :func:`annotate_files`."""
    return annotate_files(midi_files(paths), out, **options)


def annotate_files(files: list[tuple[str, Path]], out: Path, *, results: Path, models: list[str] | None = None,
                   networks: list[str] | None = None, noise: float = 0.0, rate: float | None = None,
                   mat: bool = False, threads: int | None = None) -> dict:
    """Annotate MIDI ``files`` (name, path) with the study's models (module text); writes OUT/<stem>_events.tsv and
    .json per stimulus (and with ``rate`` <stem>_regressors.tsv, with ``mat`` .mat), annotations.parquet and
    rejects.parquet; returns what it did (stimuli, events, models, rejects, seconds)."""
    if threads:
        torch.set_num_threads(threads)
    if not noise >= 0:
        raise StudyError(f"--noise is a standard deviation, >= 0, not {noise!r}")
    if rate is not None and not rate > 0:
        raise StudyError(f"--rate is a sampling rate in Hz, > 0, not {rate!r}")
    if mat and rate is None:
        raise StudyError("--mat writes the regressors: it needs --rate")
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stimuli, rejects = read_stimuli(files)
    for name, reason in rejects:
        log.warning("rejected %s: %s", name, reason)
    chosen, seed = study_models(results, models, networks, noise)
    t_fit = time.perf_counter()
    values, per_model = {}, {}
    for m in chosen:
        t = time.perf_counter()
        values[m.name] = m.measures(stimuli, float(noise), seed) if stimuli else {}
        per_model[m.name] = round(time.perf_counter() - t, 3)
    log.debug("seconds per model: %s", per_model)
    car = written.sidecar(chosen, float(noise))
    for s in stimuli:
        cols = written.columns(s, chosen, {m.name: values[m.name][s.stem] for m in chosen})
        written.write_tsv(out / f"{s.stem}_events.tsv", cols)
        write_json(out / f"{s.stem}_events.json", {c: car[c] for c in cols})
        if rate:
            written.write_regressors(out, s, cols, float(rate), mat)
    write_parquet(out / "annotations.parquet", written.long_table(stimuli, chosen, values))
    write_parquet(out / "rejects.parquet", schemas.rejects_table(rejects))
    seconds = time.perf_counter() - t0
    events = sum(len(s.y) for s in stimuli)
    log.info("%d stimuli (%d chords) annotated with %d models in %.1f s (models loaded in %.1f s); %d rejected",
             len(stimuli), events, len(chosen), seconds, t_fit - t0, len(rejects))
    return {"stimuli": len(stimuli), "events": events, "models": len(chosen), "rejects": len(rejects),
            "seconds": round(seconds, 3), "load_seconds": round(t_fit - t0, 3), "model_seconds": per_model}
