"""OCR Breach Portal spider: CSV exports of the HIPAA and 42 CFR Part 2 breach lists -> raw items.

Replay:  scrapy crawl breach_portal -a export=PATH [-s RAW_DIR=...]
         PATH is one export or a folder of *.csv exports; list, tab and export date come from each file
         name (crawlers.exports.export_info_from_name).
Live:    scrapy crawl breach_portal -a out=FOLDER [-a export_date=YYYY-MM-DD] [-a force=1] [-a lists=hipaa,part2]
         For each list, in its own session (cookie jar): GET its grid page (breach_report_hip.jsf,
         breach_report_part2.jsf) and check it is that grid (crawlers.inspect_portal); post the CSV exporter's
         command (read from its onclick) for the tab shown; switch the PrimeFaces tab view to the archive tab
         with the documented AJAX post; post the same exporter command with the archive's _activeIndex. The
         archive export must hold other data rows than the first (or both none). A <redirect> answering the
         switch (expired view) starts the list afresh once. Only then are both exports guarded against
         shrinking (crawlers.live) and saved as FOLDER/breach_report[_part2]_<tab>_<export date>.csv. The export
         date is the injected `export_date` argument or BREACH_PORTAL_EXPORT_DATE setting, else today's date.
         A page without a tab view is not crawled. Step by step: docs/crawling-breach-portal.md.

Both modes read the CSV bytes with the same `crawlers.exports.parse_export`. Any bad export or page stops the
crawl with one logged error line naming the file or address (CloseSpider, no traceback), and the project's
crawl command then exits non-zero. In replay, every file name is checked before any file is read. An export without records (the
header alone) gives one export item, so that it still reaches the raw files (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, NoReturn
from urllib.parse import urlparse

import scrapy
from parsel import Selector
from scrapy.exceptions import CloseSpider
from scrapy.http import Response

from crawlers import jsf
from crawlers.exports import (
    EXPORT_NAME_PATTERN,
    LISTS,
    ExportFormatError,
    ExportInfo,
    export_file_name,
    export_info_from_name,
    is_export_item,
    parse_export,
)
from crawlers.inspect_portal import LIST_MARKS, LIST_PAGES, PortalPage, list_of_page_name, read_portal_page
from crawlers.items import BreachPortalItem
from crawlers.live import decide_for_folder, save_export

PORTAL_URL = "https://ocrportal.hhs.gov/ocr/breach/"
MAX_ATTEMPTS = 2  # an expired view: one fresh start of the list, as the working scrapers do


class BreachPortalSpider(scrapy.Spider):
    name = "breach_portal"
    # The contract (crawlers/registry.py, docs/crawling.md): `kb build` replays <snapshot>/breach_portal and
    # stops without it; `kb crawl` saves the fresh exports there (-a out=...).
    snapshot_folder = "breach_portal"
    snapshot_required = True
    live_saves_snapshot = True

    def raw_file_stem(self, item: BreachPortalItem) -> str:
        """One raw file per export: RAW_DIR/breach_portal/<export file stem>.jsonl."""
        return PurePath(item["export_file"]).stem

    def __init__(
        self,
        export: str | None = None,
        out: str | None = None,
        export_date: str | None = None,
        force: str | bool = False,
        lists: str = ",".join(LISTS),
        portal_url: str = PORTAL_URL,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.export = Path(export) if export else None
        self.out = Path(out) if out else None
        self.export_date_arg = export_date
        self.force_arg = force
        self.lists = [name.strip() for name in lists.split(",") if name.strip()]
        unknown = set(self.lists) - set(LIST_PAGES)
        if unknown:
            raise ValueError(f"unknown list(s) {sorted(unknown)}; known: {sorted(LIST_PAGES)}")
        self.portal_url = portal_url
        self.allowed_domains = [urlparse(portal_url).hostname]  # the portal's host, also when pointed elsewhere
        self.flows: dict[str, ListFlow] = {}  # the live crawl of each list under way

    # --- configuration (injected clock and force flag) -------------------------------------------------

    @property
    def export_date(self) -> str:
        value = self.export_date_arg or self.settings.get("BREACH_PORTAL_EXPORT_DATE")
        return value or dt.date.today().isoformat()

    def clock_arguments(self) -> dict[str, str]:
        """The arguments that fix this crawl's "now" (crawlers.recording keeps them for a replay)."""
        return {"export_date": self.export_date}

    @property
    def force(self) -> bool:
        value = self.force_arg or self.settings.getbool("BREACH_PORTAL_FORCE")
        return str(value).lower() in {"1", "true", "yes"}

    # --- start -----------------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.export is not None:
            for path, info in self._replayed_exports(self.export):
                try:
                    body = path.read_bytes()
                except OSError as e:
                    self._fail(f"{path}: cannot read the export: {e.strerror or e}")
                for item in self.parse_export_body(body, info, path):
                    yield item
            return
        for list_ in self.lists:
            yield self.list_page_request(list_)

    def _export_paths(self, export: Path) -> list[Path]:
        if export.is_file():
            return [export]
        paths = sorted(export.glob("*.csv")) if export.is_dir() else []
        if not paths:
            self._fail(f"{export}: no *.csv exports found (not a file, or a folder without exports)")
        return paths

    def _replayed_exports(self, export: Path) -> list[tuple[Path, ExportInfo]]:
        """Every export to replay with what its name says, all names checked before any file is read: a file
        whose name does not say list, tab and date (e.g. the portal's download name breach_report.csv) stops
        the replay with one line naming it and the expected pattern."""
        found = []
        for path in self._export_paths(export):
            try:
                found.append((path, export_info_from_name(path.name)))
            except ExportFormatError:
                self._fail(
                    f"{path}: file name: cannot tell list, tab and export date from {path.name!r}; expected "
                    f"{EXPORT_NAME_PATTERN} (rename it, or add it with `kb import-export FILE --tab TAB "
                    f"--date YYYY-MM[-DD] [--list part2]`)"
                )
        return found

    # --- the shared parse path -------------------------------------------------------------------------

    def parse_export_body(self, body: bytes, info: ExportInfo, path: Path | None = None) -> Iterator[BreachPortalItem]:
        """One item per record of an export (replayed file or live answer), or the export item of an export
        without records; a bad export stops the crawl (the message names `path` when replaying a file)."""
        try:
            for record in parse_export(body, info):
                yield BreachPortalItem(**record)
        except ExportFormatError as e:
            message = str(e)
            if path is not None and message.startswith(info.export_file):
                message = str(path) + message[len(info.export_file) :]
            self._fail(message)

    def _fail(self, message: str) -> NoReturn:
        """Log one line (no traceback) and close the spider; `scrapy crawl` then exits 1."""
        self.logger.error(" ".join(message.split()))
        raise CloseSpider(reason="export_error")

    # --- live form flow (docs/crawling-breach-portal.md) ----------------------------------------------

    def list_page_request(self, list_: str, attempt: int = 1) -> scrapy.Request:
        """The GET of a list's grid page. Each list, and each fresh start of it, has its own cookie jar: its
        own JSF session (JSESSIONID and the load balancer's asig_persistence cookie)."""
        return scrapy.Request(
            self.portal_url + LIST_PAGES[list_],
            callback=self.parse_page,
            cb_kwargs={"list_": list_, "attempt": attempt},
            meta={"cookiejar": session_jar(list_, attempt)},
            dont_filter=True,
        )

    def parse_page(self, response: Response, list_: str, attempt: int = 1) -> Iterator[scrapy.Request]:
        """The grid page: check it is the grid asked for and has what the flow needs, then export its first tab."""
        asked = self.portal_url + LIST_PAGES[list_]
        if list_of_page_name(response.url) != list_:
            self._fail(
                f"{asked}: the answer came from {response.url}, not from the {list_} grid page "
                f"{LIST_PAGES[list_]} (moved or redirected?); nothing exported"
            )
        page = read_portal_page(response, response.url)
        form, control, view, archive = self._parts_of_grid_page(page, list_, asked)
        try:
            fields = jsf.form_fields(form)
            jsf.view_state(fields)
            action = response.urljoin(jsf.form_action(form))
        except jsf.JsfError as e:
            self._fail(f"{asked}: unexpected page: {e}")
        flow = ListFlow(
            list_=list_,
            attempt=attempt,
            action=action,
            fields=fields,
            control=control,
            tab_view=view,
            archive_tab=archive,
            reported_rows=None if page.empty else page.reported_rows,
        )
        self.flows[list_] = flow
        yield self.export_request(flow, fields, "under_investigation")

    def _parts_of_grid_page(
        self, page: PortalPage, list_: str, asked: str
    ) -> tuple[Selector, jsf.Control, jsf.TabView, jsf.Tab]:
        """The form, CSV exporter, tab view and archive tab of the list's grid page; anything else stops the
        crawl with one line naming the address."""
        if page.form is None or not page.grid or page.list != list_:
            found = f"the {page.list} grid" if page.grid else page.problem or "no grid that says which list it is"
            self._fail(
                f"{asked}: the page is not the {list_} grid (expected a results grid with "
                f"{LIST_MARKS[list_]!r} in it; found {found}); nothing exported"
            )
        if page.csv_control is None:
            self._fail(f"{asked}: unexpected page: {page.problem}")
        if page.tab_view is None:
            # The 2025 layout reached the archive through a button; exporting only the tab shown would leave
            # the archive silently stale, so the list is not crawled at all (docs/crawling-breach-portal.md).
            self._fail(
                f"{asked}: the page has no tab view (PrimeFaces div.ui-tabs), so its archive cannot be reached "
                f"the documented way; nothing exported for the {list_} list. Save the page from a browser and "
                "check it with `kb crawl --inspect PAGE.html` (docs/crawling-breach-portal.md)"
            )
        if page.archive_tab is None:
            self._fail(f"{asked}: unexpected page: {page.problem}")
        if page.archive_tab.index == page.tab_view.active_index:
            self._fail(f"{asked}: the page opens on its archive tab, not on the cases under investigation")
        return page.form, page.csv_control, page.tab_view, page.archive_tab

    def export_request(self, flow: ListFlow, fields: dict[str, str], tab: str) -> scrapy.FormRequest:
        """The plain (non-AJAX) form post of the CSV exporter's command: the same command for both tabs."""
        return scrapy.FormRequest(
            flow.action,
            formdata={**fields, **flow.control.params()},
            callback=self.parse_export_response,
            cb_kwargs={"list_": flow.list_, "tab": tab},
            meta={"cookiejar": flow.cookiejar},
            dont_filter=True,
        )

    def parse_export_response(self, response: Response, list_: str, tab: str) -> Iterator[Any]:
        """A live export answer, judged by its body: a CSV export with a known header, or the crawl stops.
        After the first tab comes the tab switch; after the archive, both exports are checked and saved."""
        info = ExportInfo(
            export_file=export_file_name(list_, tab, self.export_date),
            list=list_,
            tab=tab,
            export_date=self.export_date,
        )
        try:
            export = Export(info, response.body, list(parse_export(response.body, info)))
        except ExportFormatError as e:
            self._fail(f"{response.url}: export post answered with something else than the CSV export: {e}")
        flow = self.flows[list_]
        if tab == "under_investigation":
            self._check_against_grid(flow, export, response.url)
            flow.exports.append(export)
            yield self.tab_change_request(flow)
            return
        self._check_switch(flow, export, response.url)
        for kept in [*flow.exports, export]:
            if self._keep(kept.info, kept.body):
                yield from (BreachPortalItem(**item) for item in kept.items)
        del self.flows[list_]

    def _check_against_grid(self, flow: ListFlow, export: Export, url: str) -> None:
        """A header-only export is believed only when the grid itself said the list is empty."""
        if flow.reported_rows and not export.data_rows():
            self._fail(
                f"{url}: {export.info.export_file}: the export holds no rows but the grid reports "
                f"{flow.reported_rows} rows; nothing saved for the {flow.list_} list"
            )

    def _check_switch(self, flow: ListFlow, archive: Export, url: str) -> None:
        """The archive export must hold other data rows than the first tab's (headers differ every time: their
        UIPanel hashes), or the switch silently failed. Two empty exports cannot tell; that is said."""
        first_rows, archive_rows = flow.exports[0].data_rows(), archive.data_rows()
        if archive_rows and archive_rows == first_rows:
            self._fail(
                f"{url}: {archive.info.export_file}: the archive export has the same {len(archive_rows)} data rows "
                f"as the under-investigation export, so the switch to the archive tab did not take effect; "
                f"nothing saved for the {flow.list_} list"
            )
        if not archive_rows and not first_rows:
            self.logger.warning(
                "%s: both tabs exported no rows: two empty exports cannot show that the switch to the archive "
                "took effect; both are kept as exported",
                flow.list_,
            )

    def _keep(self, info: ExportInfo, body: bytes) -> bool:
        if self.out is None:
            return True
        decision = decide_for_folder(self.out, info.export_file, body, self.force)
        if not decision.save:
            self.logger.error("%s: %s", info.export_file, decision.reason)
            return False
        path = save_export(self.out, info.export_file, body)
        self.logger.info("saved %s: %s", path, decision.reason)
        return True

    def tab_change_request(self, flow: ListFlow) -> scrapy.FormRequest:
        """The PrimeFaces AJAX post that switches the tab view to the archive tab (the documented recipe)."""
        return scrapy.FormRequest(
            flow.action,
            formdata=jsf.tab_change_formdata(flow.fields, flow.tab_view, flow.archive_tab),
            headers=jsf.AJAX_HEADERS,
            callback=self.parse_tab_change,
            cb_kwargs={"list_": flow.list_},
            meta={"cookiejar": flow.cookiejar},
            dont_filter=True,
        )

    def parse_tab_change(self, response: Response, list_: str) -> Iterator[scrapy.Request]:
        """The partial-response of the tab switch: its view state, then the same exporter posted for the archive.
        An expired view (<redirect>) starts the list afresh, once."""
        flow = self.flows[list_]
        try:
            partial = jsf.parse_partial_response(response.body)
        except jsf.ViewExpired as e:
            if flow.attempt >= MAX_ATTEMPTS:
                self._fail(
                    f"{response.url}: switching to the archive tab: {e}; the view expired again after a fresh "
                    f"start; nothing saved for the {list_} list"
                )
            self.logger.warning(
                "%s: switching to the archive tab: %s; fetching the list page afresh and retrying once", response.url, e
            )
            del self.flows[list_]
            yield self.list_page_request(list_, flow.attempt + 1)
            return
        except jsf.JsfError as e:
            self._fail(f"{response.url}: switching to the archive tab {flow.archive_tab.label!r}: {e}")
        name, _ = jsf.view_state(flow.fields)
        fields = {
            **flow.fields,
            name: partial.view_state,
            f"{flow.tab_view.id}_activeIndex": str(flow.archive_tab.index),
        }
        yield self.export_request(flow, fields, "archive")


@dataclass(frozen=True)
class Export:
    """A live export that passed the header check: where it goes, its bytes, its items."""

    info: ExportInfo
    body: bytes
    items: list[dict]

    def data_rows(self) -> list[str]:
        """The records' text without the header (whose UIPanel titles change with every export)."""
        return [item["raw"] for item in self.items if not is_export_item(item)]


@dataclass
class ListFlow:
    """One list's live crawl in one session: what its grid page said, and the exports taken so far."""

    list_: str
    attempt: int
    action: str
    fields: dict[str, str]
    control: jsf.Control
    tab_view: jsf.TabView
    archive_tab: jsf.Tab
    reported_rows: int | None  # what the paginator reports; None when the grid says the list is empty
    exports: list[Export] = field(default_factory=list)

    @property
    def cookiejar(self) -> str:
        return session_jar(self.list_, self.attempt)


def session_jar(list_: str, attempt: int) -> str:
    """The Scrapy cookie jar (meta "cookiejar") of one list's session: its own per list and per fresh start."""
    return f"{list_}-{attempt}"
