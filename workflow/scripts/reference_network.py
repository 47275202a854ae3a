from pathlib import Path

from bayesbach.core import logs
from bayesbach.references.trained import network_reference

logs.setup(snakemake.log[0])
network_reference(
    Path(snakemake.input.pieces).parent, Path(snakemake.output.meta).parent, name=snakemake.wildcards.name,
    noise=float(snakemake.wildcards.noise), seed=snakemake.params.seed, refs=dict(snakemake.params.refs),
    # Checkpoint and log cadence change no result: read from the config, not params (no rerun).
    train={**snakemake.params.train, **{k: snakemake.config["train"][k] for k in ("checkpoint_every", "log_seconds")}}, gap=snakemake.params.gap, device=snakemake.params.device,
    threads=snakemake.threads,
)
