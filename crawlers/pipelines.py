"""Item pipelines: the one writer of raw files (JSON lines), each replaced only by a good crawl.

`RawJsonlPipeline` writes each item to RAW_DIR/<spider name>/<spider.raw_file_stem(item)>.jsonl with
Scrapy's JsonLinesItemExporter (one exporter per file). A spider may also name, in `raw_files_at_open()`,
raw files a good crawl writes even when it yields no item for them (an empty file then replaces the old
one). Items go to a temporary file beside the target; when the spider closes successfully
(crawlers.outcome.crawl_failure) each temporary file is renamed over its target, otherwise the temporary
files are deleted, so a failed crawl never replaces a good raw file. Every spider of the project declares
`raw_file_stem` (crawlers.registry); items of a spider without it pass through unwritten.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exporters import JsonLinesItemExporter

from crawlers.outcome import crawl_failure


@dataclass
class _OpenFile:
    target: Path
    tmp: Path
    handle: IO[bytes]
    exporter: JsonLinesItemExporter


class RawJsonlPipeline:
    def __init__(self, raw_dir: Path, crawler: Crawler) -> None:
        self.raw_dir = raw_dir
        self.crawler = crawler
        self.files: dict[Path, _OpenFile] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawJsonlPipeline:
        pipeline = cls(Path(crawler.settings.get("RAW_DIR", "data/raw")), crawler)
        crawler.signals.connect(pipeline.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def _target(self, spider: Spider, stem: str) -> Path:
        return self.raw_dir / spider.name / f"{stem}.jsonl"

    def spider_opened(self, spider: Spider) -> None:
        for stem in getattr(spider, "raw_files_at_open", list)():
            self._open(self._target(spider, stem))

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        spider = spider or self.crawler.spider
        raw_file_stem = getattr(spider, "raw_file_stem", None)
        if spider is None or raw_file_stem is None:
            return item
        self._open(self._target(spider, raw_file_stem(item))).exporter.export_item(item)
        return item

    def _open(self, target: Path) -> _OpenFile:
        if target not in self.files:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
            handle = tmp.open("wb")
            # ASCII-only JSON: non-ASCII is escaped, so U+2028 / U+0085 in a description cannot be taken
            # for a line break by a reader that splits with str.splitlines().
            # Scrapy annotates the exporter's file as BytesIO; any binary file object works (ignore that gap).
            exporter = JsonLinesItemExporter(handle, encoding="utf-8", ensure_ascii=True)  # type: ignore[arg-type]
            exporter.start_exporting()
            self.files[target] = _OpenFile(target, tmp, handle, exporter)
        return self.files[target]

    def spider_closed(self, spider: Spider, reason: str) -> None:
        failure = crawl_failure(self.crawler.stats.get_stats(), reason)
        for opened in self.files.values():
            opened.exporter.finish_exporting()
            opened.handle.close()
            if failure:
                opened.tmp.unlink()
            else:
                os.replace(opened.tmp, opened.target)
        if failure:
            # INFO, not WARNING: the cause was already logged as the crawl's one error line, and a replay run
            # by `kb build` (LOG_LEVEL=WARNING) should print that line alone.
            spider.logger.info("raw files left unchanged: %s", failure)
        else:
            spider.logger.info("wrote %d raw file(s) under %s", len(self.files), self.raw_dir)
        self.files.clear()
