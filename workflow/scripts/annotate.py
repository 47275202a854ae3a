from pathlib import Path

from bayesbach.core import logs
from bayesbach.evaluation.annotate import annotate_files
from bayesbach.evaluation.annotation_files import split_stimuli

logs.setup(snakemake.log[0])
dataset = Path(snakemake.input.dataset[0]).parent
annotate_files(
    split_stimuli(dataset), Path(snakemake.output.annotations).parent, results=dataset.parent,
    models=snakemake.params.models, networks=snakemake.params.networks, threads=snakemake.threads,
)
