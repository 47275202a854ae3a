"""Listening to what a network perceives: one example test piece per noise level as chords and MIDI.

For each noise level one network (the example network: :func:`bayesbach.core.registry.example_network`)
runs over the first file of the example piece (the test piece whose first file is of
median length, ties by name) with the study's CRN noise. Four chord sequences come out, each a (steps x units) array:

- ``clean``: the true chords y_t,
- ``noisy``: the input x_t = y_t + sigma * eps_t,
- ``decoded``: the observation head's probabilities (decoder.pt),
- ``predicted``: the prediction head's probabilities for y_{t+1} (probe.pt), placed
  at step t+1 so that it sounds together with the chord it predicts (step 0 is empty).

They are written as ``example.parquet`` (one row per noise, kind and step, the
values as a list) for the figures, and as MIDI files, thresholded at 0.5, each
pitch class voiced in one comfortable octave (G3 to F#4; the ``pitch`` encoding
keeps its MIDI pitches), one chord per ``step_seconds``.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pretty_midi
import pyarrow as pa
import torch

from bayesbach.core import schemas
from bayesbach.core.atomic import write_atomic, write_parquet
from bayesbach.dataset.loader import load_split
from bayesbach.networks.models import load_network
from bayesbach.core.layout import noise_label
from bayesbach.core.registry import LISTEN_KINDS
from bayesbach.dataset.noise import crn_noisy

log = logging.getLogger(__name__)

LOWEST = 55  # G3: pitch classes sound between G3 and F#4, the middle of a singer's or a piano's range


def example_piece(test: dict[str, list[np.ndarray]]) -> str:
    """The test piece whose first file (the one played) is of median length (the shorter of the two
    middle ones), ties broken by name."""
    if not test:
        raise ValueError("the test split is empty: no example piece to listen to")
    ranked = sorted(test, key=lambda p: (len(test[p][0]), p))
    return ranked[(len(ranked) - 1) // 2]


@torch.no_grad()
def perceive(decoder, probe, y: np.ndarray, sigma: float, seed: int, piece: str) -> dict[str, np.ndarray]:
    """The four chord sequences of a piece's first file (see the module text)."""
    x = crn_noisy(y, sigma, seed, piece)
    xt = torch.from_numpy(x)[None]
    decoded = torch.sigmoid(decoder.logits(xt, "observe"))[0].numpy()
    predicted = np.zeros_like(y)
    predicted[1:] = torch.sigmoid(probe.logits(xt, "predict"))[0, :-1].numpy()
    return {"clean": y, "noisy": x, "decoded": decoded, "predicted": predicted}


def midi_bytes(chords: np.ndarray, step_seconds: float, threshold: float = 0.5) -> bytes:
    """A MIDI file of multi-hot chords (steps x 12 pitch classes or 128 pitches); a held chord is one note."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=60.0)
    piano = pretty_midi.Instrument(program=0, name="chords")
    on = np.asarray(chords) > threshold
    units = on.shape[1]
    for u in range(units):
        pitch = LOWEST + (u - LOWEST) % 12 if units == 12 else u
        # runs of consecutive steps where the unit is on become one note
        edges = np.diff(np.r_[0, on[:, u].astype(np.int8), 0])
        for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            piano.notes.append(pretty_midi.Note(velocity=72, pitch=int(pitch), start=start * step_seconds,
                                                end=end * step_seconds))
    piano.notes.sort(key=lambda n: (n.start, n.pitch))
    pm.instruments.append(piano)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def listen(dataset: Path, networks: dict[float, Path], out: Path, *, seed: int, step_seconds: float = 0.3,
           max_steps: int = 256) -> str:
    """Write ``out/example.parquet`` and ``out/s{noise}/{kind}.mid`` for every noise level; returns the piece."""
    out = Path(out)
    rows, piece = [], None
    for sigma, model_dir in sorted(networks.items()):
        decoder, meta = load_network(model_dir, "decoder")
        probe, _ = load_network(model_dir, "probe")
        test = load_split(dataset, "test", meta["encoding"])
        piece = example_piece(test)
        seqs = perceive(decoder, probe, test[piece][0][:max_steps], float(sigma), seed, piece)
        for kind in LISTEN_KINDS:
            write_atomic(out / f"s{noise_label(sigma)}" / f"{kind}.mid", midi_bytes(seqs[kind], step_seconds))
            rows += [{"noise": float(sigma), "piece": piece, "kind": kind, "step": t, "values": v.tolist()}
                     for t, v in enumerate(seqs[kind])]
        log.info("sigma=%r: %s (%d steps) through %s h%d run %d", float(sigma), piece, len(seqs["clean"]),
                 meta["arch"], meta["hidden"], meta["run"])
    write_parquet(out / "example.parquet", pa.Table.from_pylist(rows, schema=schemas.EXAMPLE))
    return piece
