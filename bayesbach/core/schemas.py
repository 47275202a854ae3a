"""Arrow schemas of every Parquet file the stages write (the contracts of docs/architecture.md)."""

import pyarrow as pa

MANIFEST = pa.schema(
    [
        ("file", pa.string()),
        ("bwv", pa.int32()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("sha256", pa.string()),
        ("bytes", pa.int64()),
    ]
)
REJECTS = pa.schema([("file", pa.string()), ("reason", pa.string())])
EVENTS = pa.schema(
    [
        ("piece", pa.string()),
        ("file", pa.string()),
        ("step", pa.int32()),
        ("pitches", pa.list_(pa.uint8())),
        ("pcs", pa.uint16()),
    ]
)
PIECES = pa.schema(
    [
        ("piece", pa.string()),
        ("bwv", pa.int32()),
        ("n_files", pa.int32()),
        ("n_events", pa.int64()),
        ("split", pa.string()),
    ]
)


def rejects_table(rejects: list[tuple[str, str]]) -> pa.Table:
    """``(file, reason)`` pairs as a rejects table, sorted by file."""
    rejects = sorted(rejects)
    return pa.table({"file": [f for f, _ in rejects], "reason": [r for _, r in rejects]}, schema=REJECTS)


ERRORS = pa.schema(
    [
        ("model", pa.string()),
        ("arch", pa.string()),
        ("hidden", pa.int32()),
        ("noise", pa.float64()),
        ("run", pa.int32()),
        ("task", pa.string()),
        ("piece", pa.string()),
        ("bce", pa.float64()),
    ]
)
HISTORY = pa.schema(
    [("stage", pa.string()), ("batch", pa.int32()), ("train_loss", pa.float64()), ("val_loss", pa.float64())]
)
# results/evaluation/encoding.parquet: prediction-error encoding per network and test piece
ENCODING = pa.schema([("arch", pa.string()), ("hidden", pa.int32()), ("noise", pa.float64()), ("run", pa.int32()),
                      ("piece", pa.string()), ("steps", pa.int64()), ("corr_state", pa.float64()),
                      ("corr_change", pa.float64()), ("mse_state", pa.float64()), ("mse_change", pa.float64()),
                      ("mse_baseline", pa.float64()), ("gain_state", pa.float64()), ("gain_change", pa.float64())])
# results/listen/example.parquet: the example piece's chord sequences per noise level and kind
EXAMPLE = pa.schema([("noise", pa.float64()), ("piece", pa.string()), ("kind", pa.string()), ("step", pa.int32()),
                     ("values", pa.list_(pa.float32()))])
