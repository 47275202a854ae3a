from pathlib import Path

from bayesbach import logs
from bayesbach.references import network_reference

logs.setup(snakemake.log[0])
network_reference(
    Path(snakemake.input.pieces).parent, Path(snakemake.output.meta).parent, name=snakemake.wildcards.name,
    noise=float(snakemake.wildcards.noise), seed=snakemake.params.seed, refs=dict(snakemake.params.refs),
    train=dict(snakemake.params.train), gap=snakemake.params.gap, device=snakemake.params.device,
    threads=snakemake.threads,
)
