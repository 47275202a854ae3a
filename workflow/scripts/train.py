from pathlib import Path

from bayesbach.core import logs
from bayesbach.networks.job import train_network

logs.setup(snakemake.log[0])
w = snakemake.wildcards
train_network(
    Path(snakemake.input.pieces).parent, Path(snakemake.output.meta).parent,
    arch=w.arch, hidden=int(w.hidden), noise=float(w.noise), run=int(w.run), seed=snakemake.params.seed,
    # Checkpoint and log cadence change no result: read from the config, not params (no rerun).
    train={**snakemake.params.train, **{k: snakemake.config["train"][k] for k in ("checkpoint_every", "log_seconds")}},
    gap=snakemake.params.gap, device=snakemake.params.device,
    threads=snakemake.threads,
)
