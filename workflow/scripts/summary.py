from pathlib import Path

import pyarrow.parquet as pq

from bayesbach.core import logs
from bayesbach.corpus.crawl.report import report_html
from bayesbach.report.page import write_summary

logs.setup(snakemake.log[0])
crawl = "".join(report_html(pq.read_table(p)) for p in snakemake.input.crawl)
write_summary(
    dict(snakemake.params.config), pieces=snakemake.input.pieces, errors=snakemake.input.errors,
    stats=snakemake.input.stats, orders=snakemake.input.orders, figures=list(snakemake.input.figures), captions=Path(snakemake.input.captions[0]).parent,
    listen=Path(snakemake.input.listen[0]).parent, out_html=snakemake.output.html, out_text=snakemake.output.text, crawl=crawl,
)
