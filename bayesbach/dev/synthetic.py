"""Synthetic data for the tests and the benchmarks, never downloads.

- MIDI files written with pretty_midi (:func:`write_midi`), and folders of them (:func:`write_midi_folder`);
- tiny periodic corpora, in memory (:func:`periodic_pieces`) or in the contracted
  ``events.parquet`` / ``pieces.parquet`` form (:func:`write_dataset`), with key labels
  (:func:`write_file_keys`);
- small corpora drawn from a known first- or second-order chain over all chords of a few units, where
  the theory fixes what the reference models can reach (:func:`known_chain`, :func:`known_chain2`,
  :func:`sample_chain`), and pitch-class chords voiced as MIDI pitches (:func:`voice`);
- paper-scale random corpora for the benchmarks: independent units
  (:func:`random_corpus`) or one sparse first-order chord chain (:func:`chain_corpus`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pretty_midi
import pyarrow.parquet as pq

from bayesbach.core import schemas
from bayesbach.core.registry import KEY_NAMES

# I - IV - V - I ...: period 3, so the next chord is a function of the current one.
PROGRESSION = [(60, 64, 67), (65, 69, 72), (67, 71, 74)]


def chords(n: int, phase: int = 0) -> list[tuple[int, ...]]:
    return [PROGRESSION[(phase + t) % len(PROGRESSION)] for t in range(n)]


def pc12(seq: list[tuple[int, ...]]) -> np.ndarray:
    y = np.zeros((len(seq), 12), np.float32)
    for t, chord in enumerate(seq):
        y[t, [p % 12 for p in chord]] = 1
    return y


def periodic_pieces(n: int, rng: np.random.Generator, lo: int = 20, hi: int = 60, prefix: str = "p",
                    files: int = 1) -> dict[str, list[np.ndarray]]:
    """``n`` pieces of ``files`` files each, of random length and phase, in the loader's form."""
    return {f"{prefix}{i}": [pc12(chords(int(rng.integers(lo, hi)), int(rng.integers(3)))) for _ in range(files)]
            for i in range(n)}


def write_dataset(folder: Path, splits: dict[str, int], seed: int = 0) -> Path:
    """``events.parquet`` and ``pieces.parquet`` of periodic pieces: ``splits`` = pieces per split."""
    rng = np.random.default_rng(seed)
    rows, pieces = [], []
    bwv = 1
    for split, count in splits.items():
        for _ in range(count):
            piece = f"bwv{bwv:04d}"
            n_events = 0
            for f in range(2):  # two files per composition, scored each on its own
                seq = chords(int(rng.integers(15, 40)), int(rng.integers(3)))
                rows += [{"piece": piece, "file": f"{piece}_{f}.mid", "step": t, "pitches": list(c),
                          "pcs": sum(1 << (p % 12) for p in set(c)),
                          "onset": 0.5 * t, "duration": 0.5} for t, c in enumerate(seq)]
                n_events += len(seq)
            pieces.append({"piece": piece, "bwv": bwv, "n_files": 2, "n_events": n_events, "family": piece,
                           "split": split})
            bwv += 1
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schemas.EVENTS), folder / "events.parquet")
    pq.write_table(pa.Table.from_pylist(pieces, schema=schemas.PIECES), folder / "pieces.parquet")
    return folder


def write_file_keys(folder: Path) -> Path:
    """``file_keys.parquet`` beside a dataset's ``events.parquet``: file i (in name order) in key i mod 24 of
    ``registry.KEY_NAMES``, as if estimated; what the key decoding reads."""
    events = pq.read_table(folder / "events.parquet", columns=["piece", "file"])
    files = sorted({(f, p) for f, p in zip(events.column("file").to_pylist(), events.column("piece").to_pylist())})
    rows = [{"file": f, "piece": p, "key": KEY_NAMES[i % 24], "key_source": "estimate", "estimate": KEY_NAMES[i % 24],
             "correlation": 1.0} for i, (f, p) in enumerate(files)]
    pq.write_table(pa.Table.from_pylist(rows, schema=schemas.FILE_KEYS), folder / "file_keys.parquet")
    return folder


def known_chain(rng: np.random.Generator, units: int = 4, vocab: int = 8, successors: int = 3,
                concentration: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """A sparse first-order chain over the 2^units chords: (transition matrix, start distribution).

    Chord ``i`` is the binary code of ``i`` (bit u = unit u, as ``alphabet.all_chords``). Every chord
    moves to one of ``successors`` chords of a ``vocab``-chord vocabulary; pieces start uniformly in it.
    """
    n = 2**units
    words = rng.choice(n, vocab, replace=False)
    matrix = np.zeros((n, n))
    for i in range(n):
        nxt = rng.choice(words, successors, replace=False)
        matrix[i, nxt] = rng.dirichlet(np.full(successors, concentration))
    initial = np.zeros(n)
    initial[words] = 1 / len(words)
    return matrix, initial


def known_chain2(rng: np.random.Generator, units: int = 3, successors: int = 2,
                 concentration: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A second-order chain over the 2^units chords: (P(c | a, b) as an array [a, b, c], P(b | a), P(a)).

    Each pair of chords moves to ``successors`` chords of its own (drawn independently per pair), so the
    chord before the last matters: P(c | b) mixes over a and is much less certain than P(c | a, b). The
    first chord is uniform, the second drawn from a dense first-order matrix.
    """
    n = 2**units
    tensor = np.zeros((n, n, n))
    for a in range(n):
        for b in range(n):
            tensor[a, b, rng.choice(n, successors, replace=False)] = rng.dirichlet(np.full(successors, concentration))
    return tensor, rng.dirichlet(np.ones(n), size=n), np.full(n, 1 / n)


def sample_chain(rng: np.random.Generator, matrix: np.ndarray, initial: np.ndarray, lengths, prefix: str,
                 tensor: np.ndarray | None = None) -> dict[str, list[np.ndarray]]:
    """One-file pieces drawn from the chain of :func:`known_chain`, keyed ``{prefix}000``, ``{prefix}001``, ...

    With ``tensor`` (of :func:`known_chain2`) every chord from the third on is drawn from P(c | a, b) instead.
    """
    units = int(np.log2(len(initial)))
    chords = ((np.arange(len(initial))[:, None] >> np.arange(units)) & 1).astype(np.float32)
    out = {}
    for i, n in enumerate(lengths):
        s = [rng.choice(len(initial), p=initial)]
        for _ in range(int(n) - 1):
            p = matrix[s[-1]] if tensor is None or len(s) < 2 else tensor[s[-2], s[-1]]
            s.append(rng.choice(len(initial), p=p))
        out[f"{prefix}{i:03d}"] = [chords[s]]
    return out


def voice(pieces: dict[str, list[np.ndarray]], rng: np.random.Generator, octaves=(4, 5, 6),
          doubling: float = 0.3) -> dict[str, list[np.ndarray]]:
    """Pitch-class chords (``pc12``) as MIDI pitches (``pitch``, 128 units): each sounding pitch class in one
    octave of ``octaves`` (MIDI 12 * (octave + 1) + pc), doubled in another with probability ``doubling``.

    The same pitch-class set comes in many voicings, so held-out pieces hold chords never seen in training.
    """
    out = {}
    for piece, files in pieces.items():
        voiced = []
        for y in files:
            steps, pcs = np.nonzero(y)
            first = rng.choice(octaves, len(steps))
            second = np.where(rng.random(len(steps)) < doubling, rng.choice(octaves, len(steps)), first)
            x = np.zeros((len(y), 128), np.float32)
            for octave in (first, second):
                x[steps, 12 * (octave + 1) + pcs] = 1
            voiced.append(x)
        out[piece] = voiced
    return out


def write_midi(path: Path, *tracks: list[tuple[int, float, float]], drums: list | None = None, tempo: float = 120.0) -> Path:
    """Write a MIDI file: each track is a list of (pitch, start s, end s); ``drums`` a drum track."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    for notes in tracks:
        inst = pretty_midi.Instrument(program=0)
        inst.notes = [pretty_midi.Note(velocity=80, pitch=p, start=s, end=e) for p, s, e in notes]
        pm.instruments.append(inst)
    if drums:
        inst = pretty_midi.Instrument(program=0, is_drum=True)
        inst.notes = [pretty_midi.Note(velocity=80, pitch=p, start=s, end=e) for p, s, e in drums]
        pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def write_midi_folder(folder: Path, names: list[str], seed: int = 0, works: dict[str, str] | None = None,
                      steps: int = 30) -> Path:
    """A folder of MIDI files (``names``, paths below it) of ``steps`` random four-note chords each, the folder
    source's input, with a ``works.csv`` from ``works`` (file -> work) when given."""
    rng = np.random.default_rng(seed)
    for name in names:
        chords = rng.integers(48, 72, (steps, 4))
        write_midi(folder / name, *[[(int(p), t * 0.5, t * 0.5 + 0.5) for t, p in enumerate(voice)] for voice in chords.T])
    if works:
        (folder / "works.csv").write_text("file,work\n" + "".join(f"{f},{w}\n" for f, w in works.items()))
    return folder


def random_corpus(pieces: int, units: int = 12, seed: int = 0, polyphony: float = 2.3) -> dict:
    """Random compositions of realistic length (log-normal, median about 200 steps, 20 to 4,000)
    and polyphony (independent units, ``polyphony`` sounding on average), for benchmarks."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(200), 0.8, pieces), 20, 4000).astype(int)
    return {f"syn{i:04d}": [(rng.random((n, units)) < polyphony / units).astype(np.float32)] for i, n in enumerate(lengths)}


def chain_corpus(pieces: dict[str, int], units: int = 12, vocab: int = 1500, successors: int = 30,
                    polyphony: float = 2.3, seed: int = 0) -> dict[str, dict]:
    """Splits of compositions drawn from one sparse first-order chord chain (``pieces``: split -> count).

    ``vocab`` chords of about ``polyphony`` units, each followed by one of ``successors``
    chords: a transition structure as sparse as music's, at any scale. Lengths are
    log-normal with median 2,000 steps (20 to 20,000).
    """
    rng = np.random.default_rng(seed)
    chords = (rng.random((vocab, units)) < polyphony / units).astype(np.float32)
    table = rng.integers(0, vocab, (vocab, successors))
    cumulative = np.cumsum(rng.dirichlet(np.full(successors, 0.5), vocab), 1)
    out = {}
    for split, count in pieces.items():
        lengths = np.clip(rng.lognormal(np.log(2000), 0.8, count), 20, 20000).astype(int)
        states = np.empty((count, lengths.max()), np.int64)
        states[:, 0] = rng.integers(0, vocab, count)
        for t in range(1, lengths.max()):  # all pieces at once, one step at a time
            pick = (rng.random((count, 1)) > cumulative[states[:, t - 1]]).sum(1)
            states[:, t] = table[states[:, t - 1], np.minimum(pick, successors - 1)]
        out[split] = {f"{split[:2]}{i:04d}": [chords[states[i, :n]]] for i, n in enumerate(lengths)}
    return out


def write_events(folder: Path, splits: dict[str, dict[str, list[np.ndarray]]]) -> Path:
    """``events.parquet`` and ``pieces.parquet`` of pc12 chords given in the loader's form per split (``{split:
    {piece: [files]}}``), each pitch class voiced once above middle C, half a second a chord."""
    events, pieces = [], []
    for split, comps in splits.items():
        for piece, files in comps.items():
            for f, y in enumerate(files):
                steps = len(y)
                bits = (np.asarray(y) > 0.5)
                rows, cols = np.nonzero(bits)
                offsets = np.zeros(steps + 1, np.int32)
                np.cumsum(np.bincount(rows, minlength=steps), out=offsets[1:])
                events.append(pa.table({
                    "piece": [piece] * steps, "file": [f"{piece}_{f}.mid"] * steps,
                    "step": np.arange(steps, dtype=np.int32),
                    "pitches": pa.ListArray.from_arrays(pa.array(offsets), pa.array(60 + cols, pa.uint8())),
                    "pcs": (bits.astype(np.uint16) << np.arange(12, dtype=np.uint16)).sum(1).astype(np.uint16),
                    "onset": 0.5 * np.arange(steps), "duration": np.full(steps, 0.5)}, schema=schemas.EVENTS))
            pieces.append({"piece": piece, "bwv": len(pieces) + 1, "n_files": len(files),
                           "n_events": sum(len(y) for y in files), "family": piece, "split": split})
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.concat_tables(events), folder / "events.parquet")
    pq.write_table(pa.Table.from_pylist(pieces, schema=schemas.PIECES), folder / "pieces.parquet")
    return folder


def write_study(results: Path, splits: dict[str, dict[str, list[np.ndarray]]], sweep: dict, references: list[str],
                refs: dict | None = None, seed: int = 0) -> Path:
    """A finished study's results folder without its training: the dataset of ``splits`` (:func:`write_events`),
    every network of ``sweep`` (arch, hidden, noise, runs) with untrained weights, and at each of its noise levels
    every reference of ``references``: a trained one untrained, a counted one's meta.json with unit smoothing
    strengths (its job's choice, as a generalisation or annotation counts it again). What the annotation reads."""
    import torch

    from bayesbach.core.layout import model_dir, network_dirs, reference_dir, under
    from bayesbach.core.registry import REFERENCES
    from bayesbach.networks.models import build, recurrent_spec
    from bayesbach.references import trained

    refs = {"ff_hidden": 16, "rnn_arch": "gru", "rnn_hidden": 8, **(refs or {})}
    results = Path(results)
    write_events(Path(under("results/dataset", str(results))), splits)
    at = lambda p: Path(under(p, str(results)))  # noqa: E731
    for k, folder in enumerate(network_dirs(sweep)):
        arch, hidden, noise, run = folder.split("/")[-4:]
        spec = recurrent_spec(arch, 12, int(hidden[1:]))
        net = build(spec, seed=seed + k)
        out = at(model_dir(arch, int(hidden[1:]), float(noise[1:]), int(run[1:])))
        out.mkdir(parents=True, exist_ok=True)
        for state in ("decoder.pt", "probe.pt"):
            torch.save(net.state_dict(), out / state)
        (out / "meta.json").write_text(json.dumps({"model": spec, "arch": arch, "hidden": int(hidden[1:]),
                                                   "noise": float(noise[1:]), "run": int(run[1:]), "seed": seed,
                                                   "encoding": "pc12"}))
    for noise in sweep["noise"]:
        for name in references:
            out = at(reference_dir(name, noise))
            out.mkdir(parents=True, exist_ok=True)
            meta = {"model": name, "noise": float(noise), "seed": seed, "encoding": "pc12"}
            if REFERENCES[name].kind == "trained":
                spec = trained.spec(name, 12, refs)
                torch.save(build(spec, seed=seed).state_dict(), out / "model.pt")
                meta["spec"] = spec
            elif name != "global":
                order = int(name[-1]) if name[-1].isdigit() else 1
                meta["smoothing"] = {"beta": 1.0, **{f"a{k}": 1.0 for k in range(1, order + 1)}}
            (out / "meta.json").write_text(json.dumps(meta))
    return results
