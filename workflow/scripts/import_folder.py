from pathlib import Path

from bayesbach.core import logs
from bayesbach.corpus.folder import export_folder

logs.setup(snakemake.log[0])
export_folder(list(snakemake.params.paths), Path(snakemake.output.manifest).parent,
              bwv_numbers=snakemake.params.bwv_numbers, max_files=snakemake.params.max_files)
