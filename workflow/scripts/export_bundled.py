from pathlib import Path

from bayesbach import logs
from bayesbach.corpus import export_bundled

logs.setup(snakemake.log[0])
export_bundled(Path(snakemake.output.manifest).parent, snakemake.params.max_works, snakemake.threads)
