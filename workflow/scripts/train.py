from pathlib import Path

from bayesbach.core import logs
from bayesbach.networks.training_job import train_pack

logs.setup(snakemake.log[0])
p = snakemake.params
train_pack(
    Path(snakemake.input.pieces).parent, [Path(d) for d in p.outs],
    arch=p.arch, hidden=p.hidden, cells=[(float(noise), int(run)) for noise, run in p.cells], seed=p.seed,
    # Checkpoint and log cadence change no result: read from the config, not params (no rerun).
    train={**p.train, **{k: snakemake.config["train"][k] for k in ("checkpoint_every", "log_seconds")}},
    gap=p.gap, device=p.device, threads=snakemake.threads,
)
