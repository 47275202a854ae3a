from pathlib import Path

from bayesbach.core import logs
from bayesbach.report.figures import make

logs.setup(snakemake.log[0])
files = {k: v for k, v in snakemake.input.items() if k != "model_dirs"}
dirs = sorted({str(Path(p).parent) for p in snakemake.input.get("model_dirs", [])})
options = {k: v for k, v in snakemake.params.items() if k not in ("name", "code")}  # a figure's own (example_steps)
make(snakemake.params.name, snakemake.output.png, model_dirs=dirs, **options, **files)
