from bayesbach.core import logs
from bayesbach.dataset.split import split_dataset

logs.setup(snakemake.log[0])
split_dataset(snakemake.input.events, snakemake.output.pieces, snakemake.params.seed, dict(snakemake.params.ratios),
              **snakemake.params.families)
