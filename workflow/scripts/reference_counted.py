from pathlib import Path

from bayesbach.core import logs
from bayesbach.references.counted import counted_reference

logs.setup(snakemake.log[0])
counted_reference(
    Path(snakemake.input.pieces).parent, Path(snakemake.output.meta).parent, name=snakemake.wildcards.name,
    noise=float(snakemake.wildcards.noise), seed=snakemake.params.seed,
    encoding=snakemake.params.encoding,
)
