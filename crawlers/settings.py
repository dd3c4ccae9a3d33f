"""Scrapy settings: polite defaults for crawling public HHS sites."""

BOT_NAME = "hipaa_kb"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# An honest User-Agent with a contact URL, so the site operator can reach us.
USER_AGENT = (
    "hipaa-enforcement-kb/0.1 (+https://github.com/hipaa-enforcement-kb/hipaa-enforcement-kb; "
    "research crawler of public OCR data)"
)
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_TIMES = 3
HTTPCACHE_ENABLED = False
COOKIES_ENABLED = True  # JSF keeps the view state in the session
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# Where raw JSONL goes, one file per export / source (see crawlers/pipelines.py).
RAW_DIR = "data/raw"

# Raw JSONL writer (one file per export, replaced only when the crawl succeeds).
ITEM_PIPELINES = {"crawlers.pipelines.RawJsonlPipeline": 800}
# Our `crawl` command exits non-zero when the spider closed on an error (crawlers/commands/crawl.py).
COMMANDS_MODULE = "crawlers.commands"

# Record a live crawl's exchanges (RECORD_DIR) or answer requests from such a recording (REPLAY_DIR);
# each does nothing unless its setting is given (crawlers/recording.py). Next to the downloader, so what is
# recorded or replayed is the exchange as sent: cookies set, every redirect hop its own exchange.
DOWNLOADER_MIDDLEWARES = {
    "crawlers.recording.RecordingMiddleware": 950,
    "crawlers.recording.ReplayMiddleware": 960,
}
