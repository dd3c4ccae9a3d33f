"""Did a crawl succeed? One rule shared by the raw-file pipeline and the `scrapy crawl` exit code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def crawl_failure(stats: Mapping[str, Any], reason: str | None) -> str | None:
    """Why a finished crawl counts as failed, or None if it succeeded.

    A crawl fails if it closed for any other reason than "finished" (e.g. a CloseSpider raised on a bad
    export), or if anything was logged at ERROR level (spider exceptions, pipeline errors, downloads
    that gave up): nothing may be lost silently.
    """
    if reason != "finished":
        return f"spider closed with reason {reason!r}"
    errors = stats.get("log_count/ERROR", 0)
    if errors:
        return f"{errors} error(s) logged"
    return None
