"""`scrapy replay SPIDER=FOLDER [SPIDER=FOLDER ...]`: several spiders replay their snapshot folders in one
process, each as if run by `scrapy crawl SPIDER -a export=FOLDER`.

`kb build` replays every spider that declares a snapshot folder (crawlers/registry.py). One process for all
of them pays the start-up of Python, Scrapy and Twisted once instead of once per spider: about a second
each, most of a small build's crawl stage. Like the project's `crawl`, it exits 1 when any crawl failed,
naming the spider.
"""

from __future__ import annotations

import argparse
import os
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawlers.commands.crawl import NO_SUFFIX_LIST_FETCH
from crawlers.outcome import crawl_failure


def parse_replays(args: list[str]) -> dict[str, str]:
    """`spider=folder` arguments as {spider: folder}; each spider once."""
    replays: dict[str, str] = {}
    for arg in args:
        spider, sep, folder = arg.partition("=")
        if not sep or not spider or not folder:
            raise UsageError(f"expected SPIDER=FOLDER, got {arg!r}")
        if spider in replays:
            raise UsageError(f"spider {spider!r} given twice")
        replays[spider] = folder
    return replays


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return "<spider>=<snapshot folder> [<spider>=<snapshot folder> ...]"

    def short_desc(self) -> str:
        return "Replay spiders on recorded snapshot folders, all in one process"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        replays = parse_replays(args)
        if not replays:
            raise UsageError("give at least one SPIDER=FOLDER")
        os.environ.setdefault(NO_SUFFIX_LIST_FETCH, "")  # as in `crawl`: no Public Suffix List download
        assert self.crawler_process
        crawlers = {}
        for spider, folder in replays.items():
            crawlers[spider] = self.crawler_process.create_crawler(spider)
            self.crawler_process.crawl(crawlers[spider], export=folder)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        for spider, crawler in crawlers.items():
            assert crawler.stats
            stats = crawler.stats.get_stats()
            failure = crawl_failure(stats, stats.get("finish_reason"))
            if failure:
                print(f"crawl of {spider!r} failed: {failure}", file=sys.stderr)
                self.exitcode = 1
