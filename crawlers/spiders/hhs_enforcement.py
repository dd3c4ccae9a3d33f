"""HHS OCR HIPAA enforcement pages: the agreements index, case pages, press releases, agreement PDFs.

Two modes, one parsing path:

* live:   `scrapy crawl hhs_enforcement [-a route=archive|direct]`  starts at the agreements index and
          follows, by URL pattern (`url_kind`), the case pages, press releases and PDFs it links to; from
          each case page its press releases and PDFs, from each press release its PDFs. hhs.gov answers 403
          to automated clients (2025-26), so the default route reads the Internet Archive's raw captures of
          the same addresses (`<archive_url><as_of>id_/<hhs.gov address>`); `route=direct` asks `site_url`.
          Either way an item's `url` is the hhs.gov address, `fetched_from` the address its bytes came from
          and `captured` when they were captured (docs/crawling-hhs.md).
* replay: `scrapy crawl hhs_enforcement -a export=PATH`  reads recorded press releases (a CSV, or a
          directory of CSVs, with columns URL and Text; Text is the page's `<p>` elements as a Python
          list repr, e.g. ../shared/snapshot/hhs_press_releases). Each row's markup becomes an
          HtmlResponse and goes through `_page_item`, the same code a live page goes through.

Replay emits every recorded page (223 in the snapshot), not only enforcement releases: deciding what
is an enforcement action is extraction, which belongs to etl/press_releases.py (is_enforcement_action).

Output: one raw file per crawl, <RAW_DIR>/hhs_enforcement/<stem>.jsonl (stem = export file/directory
name, or "live"), written by crawlers.pipelines.RawJsonlPipeline: it replaces the previous file only
when the crawl succeeded (crawlers.outcome.crawl_failure). A live crawl fails, with one error line, and
leaves the last good live.jsonl in place when a page answers 403 (blocked), when the index cannot be
fetched, when it got no page, or when it got under 80% of the pages of the last good live.jsonl (the
shrink guard of crawlers/live.py; `-a force=1` accepts it). Any other page that cannot be fetched or read
(a 404: no capture; an HTML page at a .pdf address; a PDF pypdf cannot read) becomes an item with `error`
set and the crawl goes on. Bad input files of a replay (missing, no CSV, no URL/Text columns, not UTF-8)
fail at start-up, before any output is opened, so `scrapy crawl` exits with status 1 and a message naming
the file (and line); a replay of an export without pages writes an empty file. A row that cannot be read
as a page becomes an item with `error` set and `text` null, so that the ETL can put it in rejected_rows
with its file and line.

Raw item fields: the hhs_enforcement contract of docs/architecture.md (RAW_FIELDS): `line` is the 1-based
physical line where a replayed row starts (null live), `error` null or why the row is not a page, `captured`
the capture time (live; null in replay). `sha256` is of the bytes as fetched: the response body live, the
row's Text cell (UTF-8) in replay.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy
from parsel import Selector, SelectorList  # scrapy's Selector subclasses these; their methods return them
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotSupported
from scrapy.http import HtmlResponse, Response, TextResponse
from twisted.python.failure import Failure

from crawlers.live import guard_decision
from crawlers.pdf_text import PdfError, read_pdf

INDEX_URL = "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/index.html"
# Live routes (docs/crawling-hhs.md): hhs.gov answers 403 to automated clients (2025-26), so by default the
# crawl reads the Internet Archive's raw captures of the same addresses; `-a route=direct` asks the site.
ARCHIVE_URL = "https://web.archive.org/web/"
SITE_URL = "https://www.hhs.gov"
# A capture's address: <archive>/<timestamp>id_/<hhs.gov address>, the timestamp UTC YYYYMMDDhhmmss.
CAPTURE_RE = re.compile(r"/(\d{1,14})id_/(https?:/+.+)$")
HHS_URL = "hhs_url"  # request meta: the hhs.gov address a request asks for, whatever the route

# Page kinds by address; the site was redesigned several times, URLs changed less than the markup.
# The shapes are those of the hhs.gov addresses in data/curated/ocr_actions.jsonl (a test checks each).
HHS = r"^https?://(?:www\.)?hhs\.gov/"
CASE_PAGE_RE = re.compile(
    HHS + r"(?:"
    # agreements/<slug>/index.html, agreements/<slug>/, agreements/<slug>.html, examples/<a>/<b>/index.html
    r"hipaa/for-professionals/compliance-enforcement/(?:agreements|examples)/(?!index\.html$)[^?#]+?"
    r"(?:/index\.html|/|\.html)"
    r"|ocr/privacy/hipaa/enforcement/examples/(?!index\.html$)[^/?#]+\.html"
    r"|guidance/document/[^/?#]+)$",
    re.I,
)
PRESS_RELEASE_RE = re.compile(
    HHS + r"(?:about/news/\d{4}/\d{2}/\d{2}/[^?#]+"
    r"|press-room/(?!index\.html$)[^/?#]+\.html"
    r"|news/press/\d{4}pres/\d{2}/[^/?#]+\.html)$",
    re.I,
)
PDF_RE = re.compile(HHS + r"[^?#]+\.pdf$", re.I)
# Departmental Appeals Board decisions (civil money penalties appealed): recognised, not crawled.
DECISION_RE = re.compile(HHS + r"about/agencies/dab/decisions/[^?#]+$", re.I)
URL_KINDS = [
    ("agreement_pdf", PDF_RE),
    ("case_page", CASE_PAGE_RE),
    ("press_release", PRESS_RELEASE_RE),
    ("decision", DECISION_RE),
]
# Query parameters that do not change the document (`?language=en` on PDF and page links of the 2025- site).
NEUTRAL_QUERY = {"language"}
URL_DATE_RE = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/")
# A date line such as "FOR IMMEDIATE RELEASE October 15, 2018" or "Date: May 23, 2019".
DATE_LINE_RE = re.compile(
    r"(?:for immediate release:?|date:|released:?)?\s*(January|February|March|April|May|June|July|August"
    r"|September|October|November|December)\s+(\d{1,2}),?\s+(\d{4})",
    re.I,
)
DATE_BLOCKS = 4  # only the top of the page: later dates are the story's, not the page's
ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
PUBLISHED_META = "//meta[@name='article:published_time' or @property='article:published_time']/@content"
# The press-room header ("FOR IMMEDIATE RELEASE ... Submit a Request for Comment") spans at most these blocks.
RELEASE_HEADER_BLOCKS = 6
REQUEST_FOR_COMMENT = "submit a request for comment"
REVIEW_STAMP_RE = re.compile(r"last (?:reviewed|updated|modified)", re.I)

# Where the page's own content is, newest layouts first; body is the last resort.
MAIN_CONTENT = ["main", "[role=main]", "article", "#content", "body"]
BLOCKS = ["p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "dd", "dt", "blockquote", "pre"]
PAGE_FURNITURE = ["nav", "header", "footer", "aside", "form", "script", "style", "noscript"]
# The recorded pages (and some live ones) have the e-mail sign-up box and social buttons as plain
# <p>s after the article; everything from the first of these on is page furniture, not content.
CHROME_TEXT = {"enter your email:"}
CHROME_LINK_CLASS = "addthis_button"

REPLAY_COLUMNS = ("url", "text")
# The 2019 scraper escaped non-ASCII as \u2019, \xa0, \n, \t in the Text cell; undo exactly those.
ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[nt\\])")
ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}

RAW_FIELDS = (
    "source",
    "url",
    "kind",
    "title",
    "published",
    "text",
    "links",
    "fetched_from",
    "captured",
    "sha256",
    "line",
    "error",
)


class ReplayInputError(ValueError):
    """The export given with -a export=... cannot be replayed; the message names the file."""


class HhsEnforcementSpider(scrapy.Spider):
    name = "hhs_enforcement"
    # The contract (crawlers/registry.py, docs/crawling.md): `kb build` replays <snapshot>/hhs_press_releases
    # when the snapshot has it (else it keeps the raw files already there); a live crawl saves no snapshot.
    snapshot_folder = "hhs_press_releases"
    snapshot_required = False
    live_saves_snapshot = False
    # The raw file of a live crawl; `kb build` keeps it when it prunes the raw files of replayed exports.
    live_raw_stem = "live"

    def __init__(
        self,
        export: str | None = None,
        *args: Any,
        route: str = "archive",
        archive_url: str = ARCHIVE_URL,
        site_url: str = SITE_URL,
        as_of: str | None = None,
        force: str | bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.export = Path(export) if export else None
        # Checked here so that bad input fails the crawl at start-up (exit status 1), not mid-way.
        self.export_files = replay_files(self.export) if self.export else []
        self.raw_stem = (
            (self.export.stem if self.export.is_file() else self.export.name) if self.export else self.live_raw_stem
        )
        self.route = make_route(route, archive_url=archive_url, site_url=site_url, as_of=as_of)
        self.allowed_domains = [urlsplit(self.route.base).hostname or ""]
        self.force = str(force).lower() in {"1", "true", "yes"}
        self.pages = 0  # items of this live crawl without error
        self.stopped = False
        self.result_checked = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> HhsEnforcementSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.check_live_result, signal=signals.spider_idle)
        return spider

    def clock_arguments(self) -> dict[str, str]:
        """The arguments that fix this crawl's "now" (crawlers.recording keeps them, so a replay on another
        day asks the archive for the same captures)."""
        return {"as_of": self.route.as_of} if isinstance(self.route, ArchiveRoute) else {}

    def raw_file_stem(self, item: dict[str, Any]) -> str:
        """Every item of a crawl goes to one raw file, named after the replayed file or folder, or `live`."""
        return self.raw_stem

    def raw_files_at_open(self) -> list[str]:
        return [self.raw_stem]  # written even when the crawl finds no page (a replay of an empty export)

    async def start(self) -> AsyncIterator[Any]:
        if self.export is None:
            yield self._request(INDEX_URL, self.parse_index)
            return
        for path in self.export_files:
            for item in replay_items(path):
                yield item

    # -- live callbacks -------------------------------------------------------------------------

    def parse_index(self, response: Response) -> Iterator[scrapy.Request]:
        """Agreements index: follow every case page, press release and PDF it links to (matched by URL, not by
        markup): recent actions mostly have a press-room page and PDFs but no case page."""
        page, _ = self._as_fetched(response)
        yield from self._follow(page_links(page), ("case_page", "press_release", "agreement_pdf"))

    def parse_case_page(self, response: Response) -> Iterator[Any]:
        page, captured = self._as_fetched(response)
        item = _page_item(page, kind="case_page", fetched_from=response.url, raw=response.body, captured=captured)
        yield self._counted(item)
        yield from self._follow(item["links"], ("press_release", "agreement_pdf"))

    def parse_press_release(self, response: Response) -> Iterator[Any]:
        page, captured = self._as_fetched(response)
        item = _page_item(page, kind="press_release", fetched_from=response.url, raw=response.body, captured=captured)
        yield self._counted(item)
        yield from self._follow(item["links"], ("agreement_pdf",))

    def parse_pdf(self, response: Response) -> Iterator[dict[str, Any]]:
        page, captured = self._as_fetched(response)
        item = pdf_item(page, fetched_from=response.url, captured=captured)
        if item["error"]:
            self.logger.warning("%s: %s (recorded with the error; the crawl goes on)", item["url"], item["error"])
        yield self._counted(item)

    def on_error(self, failure: Failure) -> Iterator[dict[str, Any]]:
        """A request without a usable answer. A 403 means the site refuses this crawler: stop at once (nothing
        more will come back, and asking again is not polite). Without the index there is nothing to crawl:
        stop. Any other page (a 404: no capture of it; a 5xx after the retries): an item with the error."""
        request: scrapy.Request = failure.request  # type: ignore[attr-defined]  # Scrapy sets it for errbacks
        url = request.meta[HHS_URL]
        response: Response | None = getattr(failure.value, "response", None)
        if response is not None and response.status == 403:
            self._stop(
                "blocked",
                f"{url}: HTTP 403 from {response.url}: blocked, the site refuses automated clients "
                f"(route {self.route.name!r}; see docs/crawling-hhs.md); the raw files are left as they were",
            )
        why = f"HTTP {response.status} from {response.url}" if response is not None else f"{failure.getErrorMessage()}"
        if request.callback == self.parse_index:
            self._stop(
                "no_index", f"{url}: the agreements index was not fetched ({why}); the raw files are left as they were"
            )
        self.logger.warning("%s: %s (recorded with the error; the crawl goes on)", url, why)
        yield self._counted(
            _item(
                url=url,
                kind=url_kind(url),
                title=None,
                published=None,
                text=None,
                links=[],
                fetched_from=response.url if response is not None else request.url,
                raw=response.body if response is not None else b"",
                error=why,
            )
        )

    # -- live plumbing ----------------------------------------------------------------------------

    def _request(self, url: str, callback: Callable[[Response], Iterator[Any]]) -> scrapy.Request:
        """A request for the hhs.gov address `url` by this crawl's route (the address itself rides along)."""
        return scrapy.Request(self.route.address(url), callback=callback, errback=self.on_error, meta={HHS_URL: url})

    def _follow(self, links: Iterable[str], kinds: tuple[str, ...]) -> Iterator[scrapy.Request]:
        """A request for each link of one of these kinds, at its canonical address (duplicates are dropped
        by Scrapy's duplicate filter)."""
        callbacks = {
            "case_page": self.parse_case_page,
            "press_release": self.parse_press_release,
            "agreement_pdf": self.parse_pdf,
        }
        for url in links:
            kind = url_kind(url)
            if kind in kinds:
                yield self._request(canonical_url(url), callbacks[kind])

    def _as_fetched(self, response: Response) -> tuple[Response, str | None]:
        """The response as the hhs.gov page it is (its links resolve against the hhs.gov address, not the
        archive's), and when it was captured."""
        try:
            fetched = self.route.fetched(response)
        except RouteError as exc:
            self._stop("route", str(exc))
        return response.replace(url=fetched.url), fetched.captured

    def _counted(self, item: dict[str, Any]) -> dict[str, Any]:
        if item["error"] is None:
            self.pages += 1
        return item

    def _stop(self, reason: str, message: str) -> NoReturn:
        """End the crawl as failed, with one error line: the raw file of the last good crawl stays."""
        self.logger.error(message)
        self.stopped = True
        raise CloseSpider(reason)

    def check_live_result(self) -> None:
        """When a live crawl has nothing left to fetch: fail it if it got no page, or far fewer pages than the
        last good live crawl's raw file holds (the shrink guard, crawlers/live.py; `-a force=1` accepts it)."""
        if self.export is not None or self.stopped or self.result_checked:
            return
        self.result_checked = True
        last_good = Path(self.settings.get("RAW_DIR", "data/raw")) / self.name / f"{self.raw_stem}.jsonl"
        problem = live_result_problem(self.pages, count_pages(last_good), self.force, last_good)
        if problem:
            self._stop("too_few_pages", problem)
        self.logger.info("%d pages fetched by route %r", self.pages, self.route.name)


# -- routes: where the live crawl fetches hhs.gov's addresses -----------------------------------


class RouteError(ValueError):
    """A response's address does not say which hhs.gov address it answers; the message names it."""


@dataclass(frozen=True)
class Fetched:
    """What a live response is: the hhs.gov address its bytes belong to, and when they were captured."""

    url: str
    captured: str | None


@dataclass(frozen=True)
class ArchiveRoute:
    """hhs.gov's addresses through the Internet Archive's raw captures: `<base><as_of>id_/<url>` redirects to
    the capture nearest `as_of` (UTC, YYYYMMDD[hhmmss]), whose address holds its exact timestamp; `id_`
    serves the bytes as captured, links unchanged (hhs.gov addresses, followed through the archive again)."""

    base: str
    as_of: str
    name = "archive"

    def address(self, url: str) -> str:
        return f"{self.base}{self.as_of}id_/{url}"

    def fetched(self, response: Response) -> Fetched:
        m = CAPTURE_RE.search(response.url)
        if m is None:
            raise RouteError(f"{response.url}: not an archive capture address (<archive>/<timestamp>id_/<url>)")
        timestamp, url = m.groups()
        return Fetched(canonical_url(re.sub(r"^(https?:)/+", r"\1//", url)), capture_time(timestamp))


@dataclass(frozen=True)
class DirectRoute:
    """hhs.gov's addresses fetched from the site itself, at `base` (https://www.hhs.gov, which in 2025-26
    answers 403 to automated clients; another address serves a replica)."""

    base: str
    name = "direct"

    def address(self, url: str) -> str:
        site, page = urlsplit(self.base), urlsplit(url)
        return urlunsplit((site.scheme, site.netloc, page.path, page.query, ""))

    def fetched(self, response: Response) -> Fetched:
        page = urlsplit(response.url)
        return Fetched(
            canonical_url(urlunsplit(("https", "www.hhs.gov", page.path, page.query, ""))), http_date(response)
        )


def make_route(route: str, *, archive_url: str, site_url: str, as_of: str | None) -> ArchiveRoute | DirectRoute:
    """The route named by `-a route=` (archive or direct), with its base address; bad values name the argument."""
    if route == "direct":
        return DirectRoute(site_url)
    if route != "archive":
        raise ValueError(f"-a route={route!r}: expected 'archive' or 'direct'")
    as_of = as_of or datetime.now(UTC).strftime("%Y%m%d")
    if not re.fullmatch(r"\d{4,14}", as_of):
        raise ValueError(f"-a as_of={as_of!r}: expected a UTC timestamp YYYYMMDD[hhmmss]")
    return ArchiveRoute(archive_url if archive_url.endswith("/") else archive_url + "/", as_of)


def capture_time(timestamp: str) -> str | None:
    """ISO time (UTC) of a 14-digit archive timestamp; None for a shorter one or an impossible date (the
    archive did not say exactly when)."""
    try:
        return datetime.strptime(timestamp, "%Y%m%d%H%M%S").strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None


def http_date(response: Response) -> str | None:
    """The response's Date header as ISO time (UTC): when the site served these bytes; None without one."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError):  # a malformed header says nothing about the time
        return None
    if when.tzinfo is None:  # "-0000": UTC, origin unknown (RFC 5322)
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def count_pages(raw_file: Path) -> int | None:
    """Items without error in a raw file (the pages a crawl got); None when there is no such file."""
    if not raw_file.exists():
        return None
    lines = raw_file.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and json.loads(line).get("error") is None)


def live_result_problem(pages: int, last_good_pages: int | None, force: bool, last_good: Path) -> str | None:
    """Why a finished live crawl must not replace `last_good`, or None when it may."""
    if pages == 0:
        return f"the live crawl got no page (see the warnings above); {last_good} is kept"
    decision = guard_decision(
        pages,
        last_good_pages,
        force,
        unit="pages",
        last_good=f"last good live crawl ({last_good})",
        first="no earlier live crawl",
    )
    return None if decision.save else decision.reason


def pdf_item(response: Response, *, fetched_from: str, captured: str | None = None) -> dict[str, Any]:
    """The item of an agreement PDF; bytes that are not a readable PDF give an item with `error` set, so that
    one bad file (an HTML page at a .pdf address) is recorded and the crawl goes on."""
    try:
        pdf = read_pdf(response.body)
    except PdfError as exc:
        return _item(
            url=response.url,
            kind="agreement_pdf",
            title=None,
            published=None,
            text=None,
            links=[],
            fetched_from=fetched_from,
            captured=captured,
            raw=response.body,
            error=str(exc),
        )
    return _item(
        url=response.url,
        kind="agreement_pdf",
        title=pdf.title,
        published=None,
        text=pdf.text,
        links=[],
        fetched_from=fetched_from,
        captured=captured,
        raw=response.body,
    )


def url_kind(url: str) -> str | None:
    """What an hhs.gov address is by its shape: 'case_page', 'press_release', 'agreement_pdf' or 'decision';
    None for any other page (an index, another site)."""
    canonical = canonical_url(url)
    return next((kind for kind, pattern in URL_KINDS if pattern.match(canonical)), None)


def canonical_url(url: str) -> str:
    """One address per hhs.gov document: https://www.hhs.gov, without fragment or `?language=en`; other
    sites' addresses are returned as given."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in ("hhs.gov", "www.hhs.gov"):
        return url
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in NEUTRAL_QUERY])
    return urlunsplit(("https", "www.hhs.gov", parts.path, query, ""))


# -- replay -------------------------------------------------------------------------------------


def replay_files(export: Path) -> list[Path]:
    """The CSV files of an export (a file or a directory), each checked for the needed columns."""
    if not export.exists():
        raise ReplayInputError(f"{export}: export not found")
    files = sorted(export.glob("*.csv")) if export.is_dir() else [export]
    if not files:
        raise ReplayInputError(f"{export}: no .csv files in this directory")
    for path in files:
        header = _read_header(path)
        missing = [c for c in REPLAY_COLUMNS if c not in header]
        if missing:
            raise ReplayInputError(
                f"{path}: line 1: missing column(s) {', '.join(missing)} (case-insensitive); header is {header!r}"
            )
    return files


def _read_header(path: Path) -> list[str]:
    row = next(csv.reader(io.StringIO(read_text(path))), None)
    if row is None:
        raise ReplayInputError(f"{path}: empty file, expected a header with columns URL and Text")
    return [c.strip().lower() for c in row]


def read_text(path: Path) -> str:
    """The whole export as text (a few MB); not UTF-8 is an error naming the file and line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ReplayInputError(f"{path}: line {line}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def replay_items(path: Path) -> Iterator[dict[str, Any]]:
    """One raw item per recorded row of `path` (header already checked by replay_files)."""
    csv.field_size_limit(max(csv.field_size_limit(), 50_000_000))
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    header = [c.strip().lower() for c in next(reader)]
    url_col, text_col = header.index("url"), header.index("text")
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:  # the file is broken from here on, not just one row
            raise ReplayInputError(f"{path}: line {start}: {exc}") from exc
        if row is None:
            return
        yield replay_row_item(row, url_col, text_col, fetched_from=str(path), line=start, width=len(header))
        start = reader.line_num + 1


def replay_row_item(
    row: list[str], url_col: int, text_col: int, *, fetched_from: str, line: int, width: int
) -> dict[str, Any]:
    """Parse one recorded row; a row that is not a page gives an item with `error` set."""
    url = row[url_col].strip() if len(row) > url_col else ""
    cell = row[text_col] if len(row) > text_col else ""
    error = None
    if len(row) != width:
        error = f"expected {width} columns, got {len(row)}"
    elif not url.startswith(("http://", "https://")):
        error = f"field URL: not an absolute URL: {url[:80]!r}"
    elif not (cell.startswith("[") and cell.endswith("]")):
        error = "field Text: not a recorded list of <p> elements (expected '[...]')"
    if error:
        return _item(
            url=url or None,
            kind=None,
            title=None,
            published=None,
            text=None,
            links=[],
            fetched_from=fetched_from,
            raw=cell.encode("utf-8"),
            line=line,
            error=error,
        )
    html = f"<html><body>{decode_escapes(cell[1:-1])}</body></html>"
    response = HtmlResponse(url=url, body=html.encode("utf-8"), encoding="utf-8")
    kind = "case_page" if CASE_PAGE_RE.match(url) else "press_release"
    return _page_item(response, kind=kind, fetched_from=fetched_from, raw=cell.encode("utf-8"), line=line)


def decode_escapes(text: str) -> str:
    """Undo the recorder's backslash escapes (\\u2019, \\xa7, \\n ...) and nothing else.

    codecs' unicode_escape would also mangle the file's real non-ASCII characters, so not that.
    """

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        return ESCAPES.get(code) or chr(int(code[1:], 16))

    return ESCAPE_RE.sub(one, text)


# -- shared page parsing ----------------------------------------------------------------------


def _page_item(
    response: Response,
    *,
    kind: str | None,
    fetched_from: str,
    raw: bytes,
    line: int | None = None,
    captured: str | None = None,
) -> dict[str, Any]:
    root = main_content(response)
    blocks = _content_blocks(root)
    title, title_el = _parse_title(response, root)
    body = [b for b in blocks if b.root is not title_el]
    header_blocks, release_date = _release_header(body)
    header = {b.root for b in body[:header_blocks]}
    body = body[header_blocks:]
    text = "\n\n".join(t for b in body if (t := _block_text(b)))
    if not blocks:  # content outside any block element (old table layouts): take it whole
        text = _block_text(root)
    return _item(
        url=response.url,
        kind=kind,
        title=title,
        published=_parse_published(response, root, body, release_date),
        text=text,
        links=page_links(response, root, [b for b in blocks if b.root not in header]),
        fetched_from=fetched_from,
        captured=captured,
        raw=raw,
        line=line,
    )


def _item(
    *,
    url: str | None,
    kind: str | None,
    title: str | None,
    published: str | None,
    text: str | None,
    links: list[str],
    fetched_from: str,
    raw: bytes,
    captured: str | None = None,
    line: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "source": "hhs_enforcement",
        "url": url,
        "kind": kind,
        "title": title,
        "published": published,
        "text": text,
        "links": links,
        "fetched_from": fetched_from,
        "captured": captured,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "line": line,
        "error": error,
    }


def main_content(response: Response) -> Selector:
    """The page's main content element: <main>, [role=main], <article>, #content, else <body>."""
    if not isinstance(response, TextResponse):  # what response.css would raise for it, with the url
        raise NotSupported(f"{response.url}: response content isn't text")
    for css in MAIN_CONTENT:
        found = response.css(css)
        if found:
            return found[0]
    return response.selector


def _ancestors_within(element: Any, root: Any) -> Iterator[Any]:
    """The element's ancestors up to (not including) root: markup around the main content
    (a layout table cell holding #content, say) says nothing about the content."""
    for ancestor in element.iterancestors():
        if ancestor is root:
            return
        yield ancestor


def _outside_furniture(sel: SelectorList[Selector], root: Selector) -> list[Selector]:
    return [s for s in sel if not any(a.tag in PAGE_FURNITURE for a in _ancestors_within(s.root, root.root))]


def _content_blocks(root: Selector) -> list[Selector]:
    """Outermost block elements of the content, in order, up to the first piece of page chrome."""
    selves = " or ".join(f"self::{b}" for b in BLOCKS)
    blocks = [
        b
        for b in _outside_furniture(root.xpath(f".//*[{selves}]"), root)
        if not any(a.tag in BLOCKS for a in _ancestors_within(b.root, root.root))
    ]
    for i, block in enumerate(blocks):
        if _is_chrome(block):
            return blocks[:i]
    return blocks


def _is_chrome(block: Selector) -> bool:
    return _block_text(block).lower() in CHROME_TEXT or bool(
        block.xpath(f".//a[contains(@class, '{CHROME_LINK_CLASS}')]")
    )


def _block_text(block: Selector) -> str:
    return " ".join(block.xpath("string()").get("").split())


def _parse_title(response: Response, root: Selector) -> tuple[str | None, Any]:
    """Title and the element it came from: the content's <h1>, else the breadcrumb's last step,
    else <title>. The element is left out of the text."""
    for h1 in _outside_furniture(root.css("h1"), root):
        if text := _block_text(h1):
            return text, h1.root
    for crumb in response.css("[class*=breadcrumb]"):
        # The current page is the breadcrumb's own text after the links: "Home > News > Title".
        text = " ".join(" ".join(crumb.xpath("./text()").getall()).split()).lstrip("> ").strip()
        if text:
            return text, crumb.root
    text = " ".join(response.css("title::text").get("").split())
    return (text or None), None


def _parse_published(
    response: Response, root: Selector, blocks: list[Selector], release_date: str | None = None
) -> str | None:
    """The date the page was published, from the most to the least explicit source: the page's metadata
    (JSON-LD datePublished, <meta name="article:published_time">), the press-room header's date, a
    <time datetime> in the content that is not a review stamp, a block near the top that is only a date
    ("October 15, 2018"), else the date in its address (/YYYY/MM/DD/)."""
    metadata = [*_json_ld_dates(response), *response.xpath(PUBLISHED_META).getall()]
    for stamp in [*metadata, *([release_date] if release_date else []), *_content_times(root)]:
        if m := ISO_DATE_RE.match(stamp.strip()):
            return m.group(0)
    for block in blocks[:DATE_BLOCKS]:
        if m := DATE_LINE_RE.fullmatch(_block_text(block)):
            return _long_date(m)
    if m := URL_DATE_RE.search(response.url):
        return "-".join(m.groups())
    return None


def _release_header(blocks: list[Selector]) -> tuple[int, str | None]:
    """How many of the first blocks are a press-room header, and the date it gives. Press-room pages
    (2025-) begin "FOR IMMEDIATE RELEASE / <Month D, YYYY> / Contact: ... / Submit a Request for Comment":
    a notice to journalists, not part of the story (it would become the summary), but it dates the page."""
    texts = [_block_text(b) for b in blocks[:RELEASE_HEADER_BLOCKS]]
    if not texts or not texts[0].upper().startswith("FOR IMMEDIATE RELEASE"):
        return 0, None
    last = next((i for i, t in enumerate(texts) if REQUEST_FOR_COMMENT in t.lower()), None)
    if last is None:  # no request-for-comment line: the header ends with its contact block, if it has one
        last = next((i for i, t in enumerate(texts) if t.lower().startswith("contact")), 0)
    m = DATE_LINE_RE.search(" ".join(texts[: last + 1]))
    return last + 1, (_long_date(m) if m else None)


def _long_date(m: re.Match[str]) -> str:
    """ISO date of a DATE_LINE_RE match ("October 15, 2018")."""
    return datetime.strptime(" ".join(m.group(1, 2, 3)), "%B %d %Y").date().isoformat()


def _json_ld_dates(response: Response) -> list[str]:
    """Every datePublished of the page's JSON-LD, top-level or in an @graph. A block that is not valid JSON
    says nothing about the date: the next source of the date applies."""
    dates = []
    for script in response.xpath("//script[@type='application/ld+json']/text()").getall():
        try:
            data = json.loads(script)
        except json.JSONDecodeError:
            continue
        nodes = data if isinstance(data, list) else [data]
        for node in nodes:
            if isinstance(node, dict):
                graph = node.get("@graph")
                for entry in [node, *(graph if isinstance(graph, list) else [])]:
                    if isinstance(entry, dict) and isinstance(entry.get("datePublished"), str):
                        dates.append(entry["datePublished"])
    return dates


def _content_times(root: Selector) -> list[str]:
    """<time datetime> values of the content, without review stamps: on the 2026 layout the first <time>
    in <main> is "Content last reviewed <time>", the date someone last looked at the page."""
    return [
        time.attrib.get("datetime", "")
        for time in root.css("time[datetime]")
        if not REVIEW_STAMP_RE.search(time.xpath("string(..)").get(""))
    ]


def page_links(response: Response, root: Selector | None = None, blocks: Iterable[Selector] | None = None) -> list[str]:
    """Absolute http(s) links of the main content in page order, without fragments, deduplicated;
    links inside page furniture or after the content (chrome) are left out."""
    root = root if root is not None else main_content(response)
    blocks = list(blocks) if blocks is not None else _content_blocks(root)
    kept = {b.root for b in blocks}
    links: list[str] = []
    for a in _outside_furniture(root.css("a[href]"), root):
        ancestors = list(_ancestors_within(a.root, root.root))
        if any("breadcrumb" in (e.get("class") or "") for e in ancestors):
            continue  # site navigation, not a link of this page's content
        if any(e.tag in BLOCKS for e in ancestors) and not any(e in kept for e in ancestors):
            continue  # inside a block dropped as page chrome
        url = response.urljoin(a.attrib["href"].strip()).split("#")[0]
        if url.startswith(("http://", "https://")) and url not in links:
            links.append(url)
    return links
