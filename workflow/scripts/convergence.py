from pathlib import Path

from bayesbach.core import logs
from bayesbach.evaluation.convergence import write_convergence


def folders(files):
    """The folders of a list of HISTORY_FILES, once each, in order."""
    return list(dict.fromkeys(Path(p).parent for p in files))


logs.setup(snakemake.log[0])
write_convergence(folders(snakemake.input.networks), folders(snakemake.input.references), snakemake.output.convergence)
