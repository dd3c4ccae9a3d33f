"""`scrapy crawl` with an honest exit code.

Scrapy's own crawl command exits 0 even when the spider closed on an error (it only fails when the
crawler could not start). etl/build.py and `kb crawl` rely on the exit code, so this override, picked
up through COMMANDS_MODULE, exits 1 when `crawlers.outcome.crawl_failure` says the crawl failed.
"""

from __future__ import annotations

import argparse
import os
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawlers.outcome import crawl_failure

NO_SUFFIX_LIST_FETCH = "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"  # empty: no HTTP request for the list


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        # Scrapy's cookie middleware splits domains with tldextract, which by default fetches the Public Suffix
        # List from publicsuffix.org on first use in each environment: a host the crawl never meant to contact,
        # and offline a logged traceback. The list tldextract ships is enough for the hosts we crawl.
        os.environ.setdefault(NO_SUFFIX_LIST_FETCH, "")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        stats = crawler.stats.get_stats()
        failure = crawl_failure(stats, stats.get("finish_reason"))
        if failure:
            print(f"crawl of {args[0]!r} failed: {failure}", file=sys.stderr)
            self.exitcode = 1
