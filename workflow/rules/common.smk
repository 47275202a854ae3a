# Configuration: validated (and completed with defaults) before any job is planned.
from snakemake.exceptions import WorkflowError

from bayesbach.config import ConfigError, check_config
from bayesbach.provenance import source_digest

try:
    check_config(config, workflow.source_path("../schemas/config.schema.yaml"))
except ConfigError as e:
    raise WorkflowError(str(e)) from None


def code(*modules):
    """Parameter that changes when the library code a rule runs changes (see bayesbach.provenance)."""
    return source_digest(*modules)


def source_manifests():
    return expand("data/raw/{source}/manifest.parquet", source=config["corpus"]["sources"])


def all_targets():
    return [
        "results/dataset/events.parquet",
        "results/dataset/rejects.parquet",
        "results/dataset/pieces.parquet",
    ] + network_targets()


def noise_label(sigma):
    """The {noise} wildcard: Python's repr of the float (0.5, 1.0, 0.001)."""
    return repr(float(sigma))


def network_targets():
    """Every file of every cell of the sweep (results/models/{arch}/h{hidden}/s{noise}/r{run}/)."""
    sweep = config["sweep"]
    return expand(
        "results/models/{arch}/h{hidden}/s{noise}/r{run}/{file}",
        arch=sweep["arch"], hidden=sweep["hidden"], noise=[noise_label(s) for s in sweep["noise"]],
        run=range(sweep["runs"]), file=["decoder.pt", "probe.pt", "history.parquet", "meta.json"],
    )


def train_params():
    """The config values a training job uses (a changed budget reruns training, not the dataset)."""
    keys = ("lr", "batch_size", "chunk_length", "decode_batches", "probe_batches", "val_every",
            "checkpoint_every", "log_seconds", "encoding", "layers")
    return {k: config["train"][k] for k in keys}
