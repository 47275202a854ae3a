from pathlib import Path

import pyarrow.parquet as pq

from bayesbach.core import logs
from bayesbach.corpus.crawl.report import report_html
from bayesbach.report.page import write_summary

logs.setup(snakemake.log[0])
crawl = "".join(report_html(pq.read_table(p)) for p in snakemake.input.crawl)
generalisation = list(snakemake.input.generalisation)  # [parquet, csv] when the study names other composers, else []
write_summary(
    dict(snakemake.params.config), pieces=snakemake.input.pieces, errors=snakemake.input.errors,
    stats=snakemake.input.stats, orders=snakemake.input.orders, keys=snakemake.input.key_decoding,
    file_keys=snakemake.input.file_keys, figures=list(snakemake.input.figures), captions=Path(snakemake.input.captions[0]).parent,
    listen=Path(snakemake.input.listen[0]).parent, out_html=snakemake.output.html, out_text=snakemake.output.text, crawl=crawl,
    generalisation=generalisation[0] if generalisation else None,
    generalisation_stats=generalisation[1] if generalisation else None,
    composer_pieces=list(snakemake.input.composer_pieces), convergence=snakemake.input.convergence,
)
