"""Scrapy items: the raw item shapes of docs/architecture.md (raw strings plus provenance)."""

from __future__ import annotations

import scrapy


class BreachPortalItem(scrapy.Item):
    """One record of one Breach Portal CSV export (see crawlers/exports.py for how it is filled)."""

    source = scrapy.Field()  # "breach_portal"
    list = scrapy.Field()  # "hipaa" | "part2"
    tab = scrapy.Field()  # "archive" | "under_investigation"
    export_file = scrapy.Field()  # e.g. "breach_report_archive_2024-08.csv"
    export_sha256 = scrapy.Field()  # sha256 of the whole export file
    export_date = scrapy.Field()  # "2024-08" | "2026-07-15"
    line = scrapy.Field()  # 1-based physical line (LF-counted) where the record starts
    record = scrapy.Field()  # 1-based record number in the export
    fields = scrapy.Field()  # dict of raw strings by column, or None when the row is unusable
    error = scrapy.Field()  # None, or why fields is None ("expected 9 columns, got 7")
    raw = scrapy.Field()  # the record's CSV text
    encoding = scrapy.Field()  # "utf-8", or "cp1252"/"latin-1" when the record was not valid UTF-8
