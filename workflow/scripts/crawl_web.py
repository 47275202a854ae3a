from pathlib import Path

from bayesbach import logs
from bayesbach.crawl import CrawlOptions, crawl

logs.setup(snakemake.log[0])
crawl(Path(snakemake.output.manifest).parent, CrawlOptions.from_config(dict(snakemake.params.web)))
