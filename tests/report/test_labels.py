"""Models' spelled-out names (bayesbach.report.labels)."""

from __future__ import annotations

import pandas as pd

from bayesbach.core.registry import REFERENCES
from bayesbach.report.labels import model_label, network_label


def test_networks_are_named_by_architecture_and_size():
    assert network_label("gru", 16) == "GRU, 16 units"
    assert network_label("elman", 4.0) == "Elman RNN, 4 units"


def test_references_take_their_registry_label_and_rnn_pred_its_size():
    for name, ref in REFERENCES.items():
        assert model_label(name) == ref.label
    errors = pd.DataFrame({"model": ["gru", "rnn_pred"], "arch": ["gru", "lstm"], "hidden": [8, 256]})
    assert model_label("rnn_pred", errors) == "LSTM trained to predict (256 units)"
    assert model_label("rnn_pred", errors.iloc[:1]) == REFERENCES["rnn_pred"].label  # no row of its own
    assert model_label("lstm") == "LSTM" and model_label("unknown") == "unknown"


def test_a_composers_own_reference_says_it_was_fitted_on_the_composer():
    assert model_label("own_markov_counts") == f"{REFERENCES['markov_counts'].label}, fitted on the composer"
    assert model_label("own_nothing") == "own_nothing"


def test_an_architecture_and_a_reference_added_to_the_registry_take_their_entries_labels(monkeypatch):
    import toys

    toys.patch_architecture(monkeypatch)
    toys.patch_references(monkeypatch)
    assert network_label(toys.ARCH, 4) == "Elman RNN (ReLU), 4 units"
    errors = pd.DataFrame({"model": [toys.RNN_REFERENCE], "arch": [toys.ARCH], "hidden": [4]})
    assert model_label(toys.RNN_REFERENCE, errors) == "Elman RNN (ReLU) trained to decode (4 units)"
    assert model_label(toys.RNN_REFERENCE) == "Recurrent net trained to decode"
    assert model_label("own_" + toys.COUNTED_REFERENCE) == "Global frequencies, add-one, fitted on the composer"
