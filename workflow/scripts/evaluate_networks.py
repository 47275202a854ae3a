from pathlib import Path

from bayesbach.core import logs
from bayesbach.evaluation.evaluation_job import evaluate_networks

logs.setup(snakemake.log[0])
evaluate_networks(
    Path(snakemake.input.pieces).parent, [Path(d) for d in snakemake.params.models],
    [Path(d) for d in snakemake.params.outs], seed=snakemake.params.seed, threads=snakemake.threads,
    observer_dirs=[None if d is None else Path(d) for d in snakemake.params.observers],
)
