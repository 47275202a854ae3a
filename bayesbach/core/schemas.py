"""Arrow schemas of every Parquet file the stages write (the contracts of docs/architecture.md), in the
order of the stages. Each is written field: type, one file per line."""

import pyarrow as pa

string, int32, int64, float64 = pa.string(), pa.int32(), pa.int64(), pa.float64()

# data/raw/<source>/manifest.parquet: one row per kept MIDI file of a source; key (registry.KEY_NAMES) is music21's
# analysis of the score where the source has one (bundled), else null; piece the file's composition where the
# source gives it (folder, the bundled corpora), else null (read from the file's name)
MANIFEST = pa.schema({"file": string, "bwv": int32, "source": string, "url": string, "sha256": string, "bytes": int64,
                      "key": string, "piece": string})
# rejects.parquet (of a source, and of the dataset): one row per file not used, with the reason
REJECTS = pa.schema({"file": string, "reason": string})
# data/raw/web/report.parquet: one row per start URL of a crawl (what it gave and why), written on every run
CRAWL_REPORT = pa.schema({"start_url": string, "site": string, "outcome": string, "reason": string, "pages": int32,
                          "files_kept": int32, "files_new": int32, "skipped": pa.map_(string, int32),
                          "errors": pa.list_(string)})
# results/dataset/events.parquet: one row per chord event; onset and duration in seconds (the file's tempo map)
EVENTS = pa.schema({"piece": string, "file": string, "step": int32, "pitches": pa.list_(pa.uint8()), "pcs": pa.uint16(),
                    "onset": pa.float64(), "duration": pa.float64()})
# results/dataset/file_keys.parquet: one row per file of events.parquet: its key label and the label's source
# (registry.KEY_SOURCES), the score's, key signature's and Krumhansl-Schmuckler keys behind it (null where absent)
FILE_KEYS = pa.schema({"file": string, "piece": string, "key": string, "key_source": string, "score_key": string,
                       "signature_key": string, "estimate": string, "correlation": float64})
# results/dataset/pieces.parquet: one row per composition, with its family (named by a member piece) and split
PIECES = pa.schema({"piece": string, "bwv": int32, "n_files": int32, "n_events": int64, "family": string,
                    "split": string})
# results/models/.../history.parquet: one row per validation point of a training run
HISTORY = pa.schema({"stage": string, "batch": int32, "train_loss": float64, "val_loss": float64})
# results/evaluation/errors.parquet (and each network's or reference's part of it): one row per model, cell, task,
# piece; bce in nats per unit and step, bits the mean information content of the actual chord (docs/science.md)
ERRORS = pa.schema({"model": string, "arch": string, "hidden": int32, "noise": float64, "run": int32, "task": string,
                    "piece": string, "bce": float64, "bits": float64})
# results/evaluation/generalisation.parquet (and each composer's part of it at one noise level): rows of errors.parquet
# on the test compositions of another composer (corpus, a name of generalisation.composers): the Bach-trained networks,
# the Bach-fitted references, and the composer's own references ("own_" + the reference's name)
GENERALISATION = pa.schema({"corpus": string, "model": string, "arch": string, "hidden": int32, "noise": float64,
                            "run": int32, "task": string, "piece": string, "bce": float64, "bits": float64})
# results/evaluation/encoding.parquet: prediction-error encoding per network and test piece (evaluation.prediction_errors):
# correlations of the error energy (raw, and partial given the input energy), read-outs of e_t and their gains; the
# history control (e_t from [x_{t+1}, h_t], and what h_{t+1} adds: gain_over_history)
ERROR_CODING = pa.schema({"arch": string, "hidden": int32, "noise": float64, "run": int32, "piece": string, "steps": int64,
                          "corr_state": float64, "corr_change": float64, "corr_input": float64, "pcorr_state": float64,
                          "pcorr_change": float64, "mse_state": float64, "mse_change": float64, "mse_input": float64,
                          "mse_joint": float64, "mse_history": float64, "mse_full": float64, "mse_baseline": float64,
                          "gain_state": float64, "gain_change": float64, "gain_input": float64, "gain_joint": float64,
                          "gain_history": float64, "gain_full": float64, "gain_over_input": float64,
                          "gain_over_history": float64})
# results/evaluation/keys.parquet: key decoding per network, decoder (registry.KEY_DECODERS: the state, the
# memory-matched controls input_memory (noisy input), control_decoded (the network's decoded chords) and
# control_observer (bayes's posterior means; absent when the study runs no bayes), input_all, majority, chance), test
# piece and bin of steps into the file [bin_start, bin_end) (bin_end null: to the file's end); memory = the network's
# effective memory
KEY_DECODING = pa.schema({"arch": string, "hidden": int32, "noise": float64, "run": int32, "memory": float64,
                          "decoder": string, "piece": string, "bin_start": int32, "bin_end": int32, "steps": int64,
                          "accuracy": float64})
# results/listen/example.parquet: the example piece's chord sequences per noise level and kind
EXAMPLE = pa.schema({"noise": float64, "piece": string, "kind": string, "step": int32, "values": pa.list_(pa.float32())})
# OUT/annotations.parquet of bayesbach annotate (results/annotations/ for the test split): one row per stimulus file,
# chord step and model; the information content and entropy of the model's prediction of the chord and, for the
# observers, the Bayesian surprise of its update, in bits (NaN where a model has none: a file's first chord, surprise
# of a model that is no observer); onset and duration in seconds (bayesbach.evaluation.annotate)
ANNOTATIONS = pa.schema({"file": string, "step": int32, "onset": float64, "duration": float64, "model": string,
                         "ic_bits": float64, "entropy_bits": float64, "surprise_bits": float64})


def rejects_table(rejects: list[tuple[str, str]]) -> pa.Table:
    """``(file, reason)`` pairs as a rejects table, sorted by file."""
    rejects = sorted(rejects)
    return pa.table({"file": [f for f, _ in rejects], "reason": [r for _, r in rejects]}, schema=REJECTS)
