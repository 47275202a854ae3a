from bayesbach.core import logs
from bayesbach.evaluation.collect import collect_generalisation

logs.setup(snakemake.log[0])
collect_generalisation(list(snakemake.input), snakemake.output.generalisation)
