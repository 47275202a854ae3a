from bayesbach.core import logs
from bayesbach.evaluation.stats import write_stats

logs.setup(snakemake.log[0])
write_stats(snakemake.input.errors, snakemake.output.stats, snakemake.input.encoding)
