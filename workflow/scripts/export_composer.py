from pathlib import Path

from bayesbach.core import logs
from bayesbach.corpus.bundled import export_composer

logs.setup(snakemake.log[0])
export_composer(snakemake.wildcards.composer, Path(snakemake.output.manifest).parent, snakemake.params.max_files,
                snakemake.threads)
