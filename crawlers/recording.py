"""Record a live crawl's HTTP exchanges as files, and replay them offline through the same spider.

The first real run against a changed site is the one worth keeping: `kb crawl --record DIR` sets
RECORD_DIR=DIR/<spider> and `RecordingMiddleware` saves every exchange the spider makes (robots.txt and
each redirect hop included) as it went over the wire:

    DIR/<spider>/manifest.json      spider, its -a arguments with its clock (export date, as_of),
                                    when recorded
    DIR/<spider>/0001.json          request (method, URL, headers, form fields) and response (status,
                                    URL, headers, body file or, past RECORD_MAX_BODY bytes, its sha256)
    DIR/<spider>/0001.body          the response body, decoded when it came gzip/deflate-encoded

With REPLAY_DIR=DIR/<spider>, `ReplayMiddleware` answers every request from those files instead of the
network, in the place of the downloader, so cookies, redirects and the spider's own checks run as they did.
A request the recording does not hold (another URL, or other form fields: the site's flow changed, or the
spider's did) is answered with nothing: the request fails with one error line naming the field that
differs, and the crawl fails (crawlers.outcome); so does a replay that never asks for some recorded exchange. tests/test_recordings.py replays every recording under
tests/recordings/ this way, so a recorded exchange becomes a test by being saved there.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
import sys
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.responsetypes import responsetypes

MANIFEST = "manifest.json"
DEFAULT_MAX_BODY = 50_000_000  # the portal's archive export is about 5.4 MB; PDFs a few MB
FORM_TYPE = b"application/x-www-form-urlencoded"

logger = logging.getLogger(__name__)


class RecordingError(ValueError):
    """A recording folder cannot be read; the message names the file."""


def _headers(headers: Any) -> dict[str, list[str]]:
    return {k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in headers.items()}


def request_record(request: Request) -> dict[str, Any]:
    """What identifies a request: method, URL, headers and, for a form post, its fields in order."""
    record: dict[str, Any] = {"method": request.method, "url": request.url, "headers": _headers(request.headers)}
    if request.body:
        if FORM_TYPE in (request.headers.get("Content-Type") or b""):
            record["form"] = parse_qsl(request.body.decode("latin-1"), keep_blank_values=True)
        else:
            record["body_sha256"] = hashlib.sha256(request.body).hexdigest()
    return record


def decoded_body(response: Response) -> tuple[bytes, str | None]:
    """The body as the spider reads it, and the content coding it was sent with (if undone here)."""
    coding = (response.headers.get("Content-Encoding") or b"").decode("latin-1").strip().lower()
    if coding in {"gzip", "x-gzip"}:
        return gzip.decompress(response.body), coding
    if coding == "deflate":
        try:
            return zlib.decompress(response.body), coding
        except zlib.error:  # raw deflate without the zlib wrapper, as some servers send it
            return zlib.decompress(response.body, -zlib.MAX_WBITS), coding
    return response.body, None


def spider_arguments(argv: list[str]) -> dict[str, str]:
    """The `-a name=value` spider arguments of a `scrapy crawl` command line (a replay starts the same way)."""
    arguments: dict[str, str] = {}
    for i, word in enumerate(argv):
        if word == "-a" and i + 1 < len(argv):
            given = argv[i + 1]
        elif word.startswith("-a") and len(word) > 2:
            given = word[2:]
        else:
            continue
        name, equals, value = given.partition("=")
        if equals:
            arguments[name] = value
    return arguments


class RecordingMiddleware:
    """Saves each exchange; enabled by the RECORD_DIR setting (NotConfigured without it)."""

    def __init__(self, folder: Path, max_body: int, crawler: Crawler) -> None:
        self.folder = folder
        self.max_body = max_body
        self.crawler = crawler
        self.count = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordingMiddleware:
        folder = crawler.settings.get("RECORD_DIR")
        if not folder:
            raise NotConfigured("RECORD_DIR is not set")
        middleware = cls(Path(folder), crawler.settings.getint("RECORD_MAX_BODY", DEFAULT_MAX_BODY), crawler)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    def spider_opened(self, spider: Spider) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if any(self.folder.glob("*.json")):
            raise NotConfigured(f"{self.folder}: already holds a recording; record into an empty folder")
        manifest = {
            "spider": spider.name,
            # as started, with the injected clock made explicit: a replay on another day asks the same
            "arguments": {**getattr(spider, "clock_arguments", dict)(), **spider_arguments(sys.argv)},
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")

    def process_response(self, request: Request, response: Response) -> Response:
        self.count += 1
        stem = f"{self.count:04d}"
        body, coding = decoded_body(response)
        headers = _headers(response.headers)
        if coding:
            headers.pop("Content-Encoding", None)
        record: dict[str, Any] = {
            "request": request_record(request),
            "response": {"status": response.status, "url": response.url, "headers": headers},
        }
        if coding:
            record["response"]["decoded_from"] = coding
        if len(body) <= self.max_body:
            (self.folder / f"{stem}.body").write_bytes(body)
            record["response"]["body_file"] = f"{stem}.body"
        else:
            record["response"]["body_sha256"] = hashlib.sha256(body).hexdigest()
            record["response"]["body_size"] = len(body)
        (self.folder / f"{stem}.json").write_text(json.dumps(record, indent=1) + "\n")
        return response


def read_recording(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The manifest and the exchanges of a recording folder, in the order they were recorded."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise RecordingError(f"{folder / MANIFEST}: cannot read the manifest: {e}") from e
    exchanges = []
    for path in sorted(folder.glob("[0-9]*.json")):
        try:
            exchanges.append(json.loads(path.read_text()))
        except json.JSONDecodeError as e:
            raise RecordingError(f"{path}: line {e.lineno}: not JSON: {e.msg}") from e
    return manifest, exchanges


def difference(recorded: dict[str, Any], request: dict[str, Any]) -> str | None:
    """How a request differs from a recorded one with the same method and URL (None: it does not)."""
    if recorded.get("body_sha256") != request.get("body_sha256"):
        return "request body"
    old, new = dict(recorded.get("form", [])), dict(request.get("form", []))
    for name in sorted(old.keys() | new.keys()):
        if old.get(name) != new.get(name):
            return f"form field {name!r}: recorded {old.get(name)!r}, now {new.get(name)!r}"
    return None


class ReplayMiddleware:
    """Answers requests from a recording; enabled by the REPLAY_DIR setting (NotConfigured without it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        _, self.recorded = read_recording(folder)
        self.unserved = list(self.recorded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        folder = crawler.settings.get("REPLAY_DIR")
        if not folder:
            raise NotConfigured("REPLAY_DIR is not set")
        middleware = cls(Path(folder))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_closed(self, spider: Spider) -> None:
        """A replay that asked for less than was recorded also strayed from the recorded flow."""
        if self.unserved:
            first = self.unserved[0]["request"]
            logger.error(
                "%d recorded exchange(s) of %s were never asked for, first %s %s",
                len(self.unserved),
                self.folder,
                first["method"],
                first["url"],
            )

    def process_request(self, request: Request) -> Response:
        asked = request_record(request)
        for exchange in self._same_url(self.unserved, request):
            if difference(exchange["request"], asked) is None:
                self.unserved.remove(exchange)
                return self._response(request, exchange["response"])
        nearest = self._same_url(self.recorded, request)
        why = difference(nearest[0]["request"], asked) if nearest else None
        why = why or ("asked more often than recorded" if nearest else "no recorded request to this URL")
        # An error line, not only IgnoreRequest (which Scrapy drops quietly): a replay that strays fails.
        message = f"{request.method} {request.url}: not in the recording {self.folder}: {why}"
        logger.error(message)
        raise IgnoreRequest(message)

    @staticmethod
    def _same_url(exchanges: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
        return [e for e in exchanges if (e["request"]["method"], e["request"]["url"]) == (request.method, request.url)]

    def _response(self, request: Request, recorded: dict[str, Any]) -> Response:
        if "body_file" not in recorded:
            message = f"{request.url}: the recording {self.folder} kept only the sha256 of this body"
            logger.error(message)
            raise IgnoreRequest(message)
        body = (self.folder / recorded["body_file"]).read_bytes()
        headers = {k: v for k, v in recorded["headers"].items() if k.lower() not in {"content-length"}}
        cls = responsetypes.from_args(headers=headers, url=recorded["url"], body=body)
        return cls(url=recorded["url"], status=recorded["status"], headers=headers, body=body, request=request)
