from pathlib import Path

from bayesbach.core import logs
from bayesbach.evaluation.jobs import evaluate_network

logs.setup(snakemake.log[0])
evaluate_network(
    Path(snakemake.input.pieces).parent, Path(snakemake.input.meta).parent, snakemake.output.errors,
    snakemake.output.encoding, snakemake.output.key_decoding, seed=snakemake.params.seed, threads=snakemake.threads,
)
