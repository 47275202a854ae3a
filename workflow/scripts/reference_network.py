from pathlib import Path

from bayesbach.core import logs
from bayesbach.references.trained import network_reference

logs.setup(snakemake.log[0])
metas = snakemake.output.meta  # one meta.json, or one per noise level of params.noises (a sigma-free reference)
network_reference(
    Path(snakemake.input.pieces).parent, [Path(m).parent for m in ([metas] if isinstance(metas, str) else metas)],
    name=snakemake.wildcards.name, noises=snakemake.params.noises, seed=snakemake.params.seed,
    refs=dict(snakemake.params.refs),
    # Checkpoint and log cadence change no result: read from the config, not params (no rerun).
    train={**snakemake.params.train, **{k: snakemake.config["train"][k] for k in ("checkpoint_every", "log_seconds")}}, gap=snakemake.params.gap, device=snakemake.params.device,
    threads=snakemake.threads,
)
