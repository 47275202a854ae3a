from pathlib import Path

from bayesbach.core import logs
from bayesbach.dataset.keys import label_files

logs.setup(snakemake.log[0])
label_files(snakemake.input.events, [Path(m).parent for m in snakemake.input.manifests], snakemake.output.file_keys,
            snakemake.threads)
