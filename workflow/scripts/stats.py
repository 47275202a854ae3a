from bayesbach import logs
from bayesbach.stats import write_stats

logs.setup(snakemake.log[0])
write_stats(snakemake.input.errors, snakemake.output.stats)
