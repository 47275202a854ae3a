from pathlib import Path

from bayesbach.core import logs
from bayesbach.references.counted import counted_reference

logs.setup(snakemake.log[0])
metas = snakemake.output.meta  # one meta.json, or one per noise level of params.noises (a sigma-free reference)
counted_reference(
    Path(snakemake.input.pieces).parent, [Path(m).parent for m in ([metas] if isinstance(metas, str) else metas)],
    name=snakemake.wildcards.name, noises=snakemake.params.noises, seed=snakemake.params.seed,
    encoding=snakemake.params.encoding, settings=dict(snakemake.params.refs),
)
