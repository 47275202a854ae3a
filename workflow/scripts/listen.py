from pathlib import Path

from bayesbach.core import logs
from bayesbach.report.listening import listen

logs.setup(snakemake.log[0])
listen(
    Path(snakemake.input.pieces).parent, {float(s): Path(d) for s, d in snakemake.params.networks.items()},
    Path(snakemake.output.example).parent, seed=snakemake.params.seed,
    step_seconds=snakemake.params.step_seconds, max_steps=snakemake.params.max_steps,
)
