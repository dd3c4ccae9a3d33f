"""OCR Breach Portal spider: CSV exports of the HIPAA and 42 CFR Part 2 breach lists -> raw items.

Replay:  scrapy crawl breach_portal -a export=PATH [-s RAW_DIR=...]
         PATH is one export or a folder of *.csv exports; list, tab and export date come from each file
         name (crawlers.exports.export_info_from_name).
Live:    scrapy crawl breach_portal -a out=FOLDER [-a export_date=YYYY-MM-DD] [-a force=1] [-a lists=hipaa,part2]
         For each list page (breach_report.jsf, breach_report_part2.jsf): GET the page, post the CSV export of
         the active tab, switch to the other tab with the PrimeFaces AJAX post, post its CSV export. Each
         fresh export is checked (crawlers.exports), guarded against shrinking (crawlers.live) and saved as
         FOLDER/breach_report[_part2]_<tab>_<export date>.csv. The export date is the injected
         `export_date` argument or BREACH_PORTAL_EXPORT_DATE setting, else today's date.

Both modes hand the CSV bytes to the same `parse_export_body`. Any bad export stops the crawl with one
logged error line naming the file (CloseSpider, no traceback), and the project's crawl command then exits
non-zero. In replay, every file name is checked before any file is read. An export without records (the
header alone) gives one export item, so that it still reaches the raw files (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path, PurePath
from typing import Any, NoReturn
from urllib.parse import urlparse

import scrapy
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
    parse_export,
)
from crawlers.items import BreachPortalItem
from crawlers.live import decide_for_folder, save_export

PORTAL_URL = "https://ocrportal.hhs.gov/ocr/breach/"
LIST_PAGES = {"hipaa": "breach_report.jsf", "part2": "breach_report_part2.jsf"}
TAB_LABELS = {"under_investigation": re.compile(r"investigation", re.I), "archive": re.compile(r"archive", re.I)}
FORM_ID = "ocrForm"
EXPORT_LABEL = "CSV"


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

    # --- configuration (injected clock and force flag) -------------------------------------------------

    @property
    def export_date(self) -> str:
        value = self.export_date_arg or self.settings.get("BREACH_PORTAL_EXPORT_DATE")
        return value or dt.date.today().isoformat()

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
            yield scrapy.Request(
                self.portal_url + LIST_PAGES[list_], callback=self.parse_page, cb_kwargs={"list_": list_}
            )

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

    # --- live form flow --------------------------------------------------------------------------------

    def parse_page(self, response: Response, list_: str) -> Iterator[scrapy.Request]:
        """The list page: read the form and its tabs, then export the active tab."""
        try:
            form = jsf.find_form(response, FORM_ID)
            fields = jsf.form_fields(form)
            jsf.view_state(fields)
            view = jsf.find_tab_view(form)
            active = next(t for t in view.tabs if t.index == view.active_index)
            tab = self._tab_name(active)
            control = jsf.find_control(form.xpath(".//div[@id=$id]", id=active.panel_id)[0], EXPORT_LABEL)
        except (jsf.JsfError, StopIteration, IndexError) as e:
            self._fail(f"{response.url}: unexpected page: {e}")
        state = {
            "list_": list_,
            "action": response.urljoin(jsf.form_action(form)),
            "fields": fields,
            "view": view,
            "todo": [t for t in view.tabs if t != active],
        }
        yield self.export_request(state, control, tab)

    def export_request(self, state: dict, control: jsf.Control, tab: str) -> scrapy.FormRequest:
        """The non-AJAX form post that downloads the CSV export of the current tab."""
        return scrapy.FormRequest(
            state["action"],
            formdata={**state["fields"], **control.params()},
            callback=self.parse_export_response,
            cb_kwargs={"state": state, "tab": tab},
            dont_filter=True,
        )

    def parse_export_response(self, response: Response, state: dict, tab: str) -> Iterator[Any]:
        """A live export answer: check and parse it, save it if the guard agrees, then go to the next tab."""
        info = ExportInfo(
            export_file=export_file_name(state["list_"], tab, self.export_date),
            list=state["list_"],
            tab=tab,
            export_date=self.export_date,
        )
        try:
            items = list(parse_export(response.body, info))
        except ExportFormatError as e:
            self._fail(f"{response.url}: export post answered with something else than the CSV export: {e}")
        if self._keep(info, response.body):
            yield from (BreachPortalItem(**item) for item in items)
        if state["todo"]:
            yield self.tab_change_request(state, state["todo"][0])

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

    def tab_change_request(self, state: dict, tab: jsf.Tab) -> scrapy.FormRequest:
        """The PrimeFaces AJAX post that switches the tab view to `tab`."""
        return scrapy.FormRequest(
            state["action"],
            formdata=jsf.tab_change_formdata(state["fields"], state["view"], tab),
            headers=jsf.AJAX_HEADERS,
            callback=self.parse_tab_change,
            cb_kwargs={"state": state, "tab": tab},
            dont_filter=True,
        )

    def parse_tab_change(self, response: Response, state: dict, tab: jsf.Tab) -> Iterator[scrapy.Request]:
        """The partial-response of a tab switch: new view state and tab content, then export that tab."""
        try:
            partial = jsf.parse_partial_response(response.body)
            scope = self._tab_content(partial, state["view"], tab)
            control = jsf.find_control(scope, EXPORT_LABEL)
        except jsf.JsfError as e:
            self._fail(f"{response.url}: switching to tab {tab.label!r}: {e}")
        name, _ = jsf.view_state(state["fields"])
        fields = {
            **state["fields"],
            **jsf.form_fields(scope),
            name: partial.view_state,
            f"{state['view'].id}_activeIndex": str(tab.index),
        }
        next_state = {**state, "fields": fields, "todo": state["todo"][1:]}
        yield self.export_request(next_state, control, self._tab_name(tab))

    @staticmethod
    def _tab_content(partial: jsf.PartialResponse, view: jsf.TabView, tab: jsf.Tab) -> scrapy.Selector:
        """The HTML of the newly shown tab: its panel inside an update, or the tab view's own update."""
        for html in partial.updates.values():
            panel = scrapy.Selector(text=html).xpath("//*[@id=$id]", id=tab.panel_id)
            if panel:
                return panel[0]
        if view.id in partial.updates:  # dynamic tab load: the update holds just the tab's content
            return scrapy.Selector(text=partial.updates[view.id])
        raise jsf.JsfError(f"the partial-response updates neither {tab.panel_id} nor {view.id}")

    @staticmethod
    def _tab_name(tab: jsf.Tab) -> str:
        names = [name for name, label in TAB_LABELS.items() if label.search(tab.label)]
        if len(names) != 1:
            raise jsf.JsfError(f"cannot tell which list tab {tab.label!r} is")
        return names[0]
