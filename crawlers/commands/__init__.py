"""Project Scrapy commands (COMMANDS_MODULE): `crawl` that exits non-zero when the crawl failed."""
