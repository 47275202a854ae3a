from bayesbach import logs
from bayesbach.evaluation import ENCODING, ENCODING_ORDER, ERRORS_ORDER, collect
from bayesbach.tables import ERRORS

logs.setup(snakemake.log[0])
collect(list(snakemake.input.errors), snakemake.output.errors, ERRORS, ERRORS_ORDER)
collect(list(snakemake.input.encoding), snakemake.output.encoding, ENCODING, ENCODING_ORDER)
