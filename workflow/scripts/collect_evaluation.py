from bayesbach.core import logs
from bayesbach.evaluation.collect import collect_evaluation

logs.setup(snakemake.log[0])
collect_evaluation(list(snakemake.input.errors), list(snakemake.input.encoding), snakemake.output.errors,
                   snakemake.output.encoding, list(snakemake.input.key_decoding),
                   snakemake.output.key_decoding)
