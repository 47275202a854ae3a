from pathlib import Path

from bayesbach.core import logs
from bayesbach.corpus.bundled import export_bundled

logs.setup(snakemake.log[0])
export_bundled(Path(snakemake.output.manifest).parent, snakemake.params.max_works, snakemake.threads)
