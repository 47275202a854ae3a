from bayesbach.core import logs
from bayesbach.core.schemas import ENCODING, ERRORS
from bayesbach.evaluation.collect import ENCODING_ORDER, ERRORS_ORDER, collect

logs.setup(snakemake.log[0])
collect(list(snakemake.input.errors), snakemake.output.errors, ERRORS, ERRORS_ORDER)
collect(list(snakemake.input.encoding), snakemake.output.encoding, ENCODING, ENCODING_ORDER)
