"""Listening files (bayesbach.report.listening): chords voiced in one octave, the example piece, and what the
network perceives at each step."""

from __future__ import annotations

import io

import numpy as np
import pretty_midi
import torch

from bayesbach.dataset.noise import crn_noisy
from bayesbach.networks.models import build
from bayesbach.report.listening import LOWEST, example_piece, midi_bytes, perceive

torch.set_num_threads(1)


def test_midi_voices_pitch_classes_in_one_octave_and_holds_repeated_chords():
    c_major, g_major = np.zeros(12), np.zeros(12)
    c_major[[0, 4, 7]], g_major[[7, 11, 2]] = 1, 1
    chords = np.array([c_major, c_major, g_major, np.zeros(12), c_major * 0.4])  # last: below the threshold
    pm = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(chords, 0.5)))
    notes = sorted((n.pitch, n.start, n.end) for n in pm.instruments[0].notes)
    assert all(LOWEST <= p < LOWEST + 12 for p, _, _ in notes)
    # C4 E4 G3 held for two steps; G (already sounding) continues, B3 and D4 join at step 2
    assert notes == [(55, 0.0, 1.5), (59, 1.0, 1.5), (60, 0.0, 1.0), (62, 1.0, 1.5), (64, 0.0, 1.0)]


def test_example_piece_is_the_one_whose_first_file_has_the_median_length():
    test = {"a": [np.zeros((5, 12))], "b": [np.zeros((50, 12))], "c": [np.zeros((9, 12)), np.zeros((90, 12))],
            "d": [np.zeros((9, 12))]}
    assert example_piece(test) == "c"  # first files 5, 9, 9, 50: the lower middle, ties by name


def test_perceive_places_each_prediction_at_the_step_it_predicts():
    spec = {"kind": "recurrent", "arch": "gru", "units": 12, "hidden": 3, "layers": 1}
    dec, probe = build(spec, seed=0), build(spec, seed=1)
    y = (np.random.default_rng(0).random((20, 12)) < 0.25).astype(np.float32)
    out = perceive(dec, probe, y, 0.6, 3, "bwv0001")
    x = torch.from_numpy(crn_noisy(y, 0.6, 3, "bwv0001"))[None]
    np.testing.assert_array_equal(out["noisy"], x[0].numpy())
    with torch.no_grad():
        np.testing.assert_allclose(out["decoded"], torch.sigmoid(dec.logits(x, "observe"))[0].numpy(), atol=1e-6)
        np.testing.assert_allclose(out["predicted"][1:], torch.sigmoid(probe.logits(x, "predict"))[0, :-1].numpy(),
                                   atol=1e-6)
    assert not out["predicted"][0].any()
