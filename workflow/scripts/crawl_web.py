from pathlib import Path

from bayesbach.core import logs
from bayesbach.corpus.crawl import CrawlOptions, crawl

logs.setup(snakemake.log[0])
# params.web holds the keys that decide the result (the rerun trigger); the crawl takes the whole section.
crawl(Path(snakemake.output.manifest).parent, CrawlOptions.from_config(snakemake.config["corpus"]["web"]))
