from pathlib import Path

from bayesbach.core import logs
from bayesbach.evaluation.generalisation import generalise

logs.setup(snakemake.log[0])
generalise(
    Path(snakemake.input.pieces).parent, Path(snakemake.input.composer_pieces).parent, snakemake.output.errors,
    corpus=snakemake.wildcards.composer, noise=float(snakemake.wildcards.noise),
    model_dirs=sorted({str(Path(p).parent) for p in snakemake.input.networks}),
    reference_dirs=[str(Path(p).parent) for p in snakemake.input.references], own_models=list(snakemake.params.own_models),
    encoding=snakemake.params.encoding, seed=snakemake.params.seed, threads=snakemake.threads,
)
