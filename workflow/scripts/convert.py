from pathlib import Path

from bayesbach.core import logs
from bayesbach.dataset.midi import convert_sources

logs.setup(snakemake.log[0])
convert_sources([Path(m).parent for m in snakemake.input], Path(snakemake.output.events).parent, snakemake.threads)
