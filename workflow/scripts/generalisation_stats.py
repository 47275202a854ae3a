from bayesbach.core import logs
from bayesbach.evaluation.stats import write_generalisation_stats

logs.setup(snakemake.log[0])
write_generalisation_stats(snakemake.input.generalisation, snakemake.output.stats)
