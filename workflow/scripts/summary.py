from pathlib import Path

from bayesbach.core import logs
from bayesbach.report.page import write_summary

logs.setup(snakemake.log[0])
write_summary(
    dict(snakemake.params.config), pieces=snakemake.input.pieces, errors=snakemake.input.errors,
    stats=snakemake.input.stats, figures=list(snakemake.input.figures), captions=Path(snakemake.input.captions[0]).parent,
    listen=Path(snakemake.input.listen[0]).parent, out_html=snakemake.output.html, out_text=snakemake.output.text,
)
