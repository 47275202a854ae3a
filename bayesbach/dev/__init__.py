"""Developer tooling, never run by the workflow: benchmarks (``bayesbach bench``), synthetic corpora for
tests and benchmarks, and the archive-like fixture site the crawler is tested against."""
