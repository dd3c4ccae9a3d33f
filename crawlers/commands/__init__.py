"""Project Scrapy commands (COMMANDS_MODULE): `crawl` that exits non-zero when the crawl failed, and `replay`
that replays several spiders' snapshot folders in one process."""
