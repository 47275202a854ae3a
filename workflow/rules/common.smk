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
    ]
