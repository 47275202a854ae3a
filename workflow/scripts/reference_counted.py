from pathlib import Path

from bayesbach import logs
from bayesbach.exact import exact_reference

logs.setup(snakemake.log[0])
exact_reference(
    Path(snakemake.input.pieces).parent, Path(snakemake.output.meta).parent, name=snakemake.wildcards.name,
    noise=float(snakemake.wildcards.noise), seed=snakemake.params.seed, gap=snakemake.params.gap,
    encoding=snakemake.params.encoding,
)
