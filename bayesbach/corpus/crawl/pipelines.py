"""The item pipeline: every download goes to the web source's store (checked, matched, kept once)."""

from __future__ import annotations


class StorePipeline:
    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls()
        pipeline.crawler = crawler
        return pipeline

    def process_item(self, item):
        self.crawler.spider.store.add(item)
        return item
