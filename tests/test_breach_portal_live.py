"""The Breach Portal's live flow as the real site runs it (issue 16; docs/crawling-breach-portal.md).

Three kinds of input, each saying what it is:
- the real 2025 page, read in place from ../shared/snapshot/breach_portal_pages/ (never copied into git);
- hand-written 2026-shaped pages and partial-responses in tests/golden/breach_portal/, built from the documented
  structure (each says so in a comment), driven through the spider's callbacks;
- a local replica of the portal (`Portal` below) that answers like the real site, against which the real spider
  runs in a `scrapy crawl` subprocess.
"""

from __future__ import annotations

import asyncio
import http.server
import itertools
import re
import secrets
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from conftest import REPO_ROOT, SNAPSHOT_DIR
from parsel import Selector
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawlers import jsf
from crawlers.exports import count_records
from crawlers.inspect_portal import inspect_portal_page
from crawlers.spiders.breach_portal import BreachPortalSpider

FIXTURES = REPO_ROOT / "tests" / "golden" / "breach_portal"
EXPORTS = SNAPSHOT_DIR / "breach_portal"
REAL_PAGE = SNAPSHOT_DIR / "breach_portal_pages" / "breach_report_2025-05-27.html"
PORTAL = "https://ocrportal.hhs.gov/ocr/breach/"
HIP_URL = PORTAL + "breach_report_hip.jsf"
PART2_URL = PORTAL + "breach_report_part2.jsf"
FRONT_URL = PORTAL + "breach_frontpage.jsf"
HIP_VIEW_STATE = "-5151515151515151515:1111111111111111111"
ARCHIVE_VIEW_STATE = "-5151515151515151515:4444444444444444444"
# The hidden fields of the hand-written HIPAA page's ocrForm, as a browser submits them.
HIP_PAGE_FIELDS = {
    "ocrForm": "ocrForm",
    "ocrForm:reportResultTable_rppDD": "100",
    "ocrForm:reportResultTable_rowExpansionState": "",
    "ocrForm:j_idt31_activeIndex": "0",
    "javax.faces.ViewState": HIP_VIEW_STATE,
}
# The documented tab switch (../shared/snapshot/breach_portal_pages/README.md), for the HIPAA page's ids.
TAB_CHANGE_RECIPE = {
    "javax.faces.partial.ajax": "true",
    "javax.faces.source": "ocrForm:j_idt31",
    "javax.faces.partial.execute": "ocrForm:j_idt31",
    "javax.faces.behavior.event": "tabChange",
    "ocrForm:j_idt31_newTab": "ocrForm:j_idt31:archiveTab",
    "ocrForm:j_idt31_tabindex": "1",
    "ocrForm:j_idt31_activeIndex": "1",
}
UNDER_INVESTIGATION_CSV = EXPORTS / "breach_report_under_investigation_2026-07-15.csv"  # 733 records
ARCHIVE_STAND_IN_CSV = EXPORTS / "breach_report_under_investigation_2026-04.csv"  # 702 other records
UIPANEL = re.compile(rb"javax\.faces\.component\.UIPanel@[0-9a-f]+")


def real_page() -> bytes:
    if not REAL_PAGE.exists():
        pytest.skip(f"{REAL_PAGE} is missing")
    return REAL_PAGE.read_bytes()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def with_fresh_panel_hashes(csv: bytes) -> bytes:
    """The export header as the live site sends it: each UIPanel title has a new hash every time."""
    return UIPANEL.sub(lambda _: b"javax.faces.component.UIPanel@" + secrets.token_hex(4).encode(), csv)


def part2_header_only() -> bytes:
    """The empty Part 2 list's export: the 8-column header alone, 208 bytes (README), with fresh hashes."""
    return (
        b'"javax.faces.component.UIPanel@' + secrets.token_hex(4).encode() + b'","State","Individuals Affected",'
        b'"Breach Submission Date","Type of Breach","Location of Breached Information",'
        b'"javax.faces.component.UIPanel@' + secrets.token_hex(4).encode() + b'","Web Description"\n'
    )


# --- the exporter and the page, read like the crawler reads them ----------------------------------------


def test_the_csv_exporter_is_the_onclick_command_of_the_link_around_its_image() -> None:
    """Defect 2: the exporter is an <a> without id; only its <img> has an id (ocrForm:j_idt367, not a command)."""
    form = jsf.find_form(Selector(body=real_page(), type="html"), "ocrForm")
    control = jsf.find_control(form, "CSV")
    assert control.params() == {"ocrForm:j_idt366": "ocrForm:j_idt366"}
    assert control.id == "ocrForm:j_idt366"
    hand_written = jsf.find_form(Selector(body=fixture("breach_report_hip.html"), type="html"), "ocrForm")
    assert jsf.find_control(hand_written, "CSV").params() == {"ocrForm:j_idt389": "ocrForm:j_idt389"}


def test_onclick_parameters_are_read_from_the_key_value_object() -> None:
    onclick = "mojarra.jsfcljs(document.getElementById('ocrForm'),{'ocrForm:j_idt9':'ocrForm:j_idt9','p':'1'},'');"
    assert jsf.onclick_params(onclick) == {"ocrForm:j_idt9": "ocrForm:j_idt9", "p": "1"}
    primefaces = "PrimeFaces.addSubmitParam('ocrForm',{'ocrForm:j_idt5':'ocrForm:j_idt5'}).submit('ocrForm');"
    assert jsf.onclick_params(primefaces) == {"ocrForm:j_idt5": "ocrForm:j_idt5"}
    assert jsf.onclick_params('PrimeFaces.ab({s:"ocrForm:j_idt43",f:"ocrForm"});return false;') == {}


def test_inspect_the_real_2025_page() -> None:
    assert inspect_portal_page(real_page()) == {
        "list": "hipaa",
        "grid": True,
        "csv_command": "ocrForm:j_idt366",
        "tab_view": None,  # 2025: the archive was behind a button; ocrForm:j_idt31 was a panel grid then
        "archive_tab": None,
        "reported_rows": 797,
        "empty": False,
    }


@pytest.mark.parametrize(
    "name, url, expected",
    [
        (
            "breach_report_hip.html",
            HIP_URL,
            {
                "list": "hipaa",
                "grid": True,
                "csv_command": "ocrForm:j_idt389",
                "tab_view": "ocrForm:j_idt31",
                "archive_tab": "ocrForm:j_idt31:archiveTab",
                "reported_rows": 733,
                "empty": False,
            },
        ),
        (
            "breach_report_part2.html",
            None,
            {
                "list": "part2",
                "grid": True,
                "csv_command": "ocrForm:j_idt301",
                "tab_view": "ocrForm:j_idt29",
                "archive_tab": "ocrForm:j_idt29:archiveTab",
                "reported_rows": 0,
                "empty": True,
            },
        ),
        (
            "front_page.html",
            FRONT_URL,
            {
                "list": None,
                "grid": False,
                "csv_command": None,
                "tab_view": None,
                "archive_tab": None,
                "reported_rows": None,
                "empty": False,
            },
        ),
        # the Part 2 grid saved from the HIPAA address: the page says which list it is
        ("breach_report_part2.html", HIP_URL, {"list": "part2", "grid": True}),
    ],
)
def test_inspect_hand_written_2026_pages(name: str, url: str | None, expected: dict) -> None:
    got = inspect_portal_page(fixture(name), url)
    assert list(got) == ["list", "grid", "csv_command", "tab_view", "archive_tab", "reported_rows", "empty"]
    assert {k: got[k] for k in expected} == expected


# --- the spider's callbacks on hand-written 2026-shaped pages -------------------------------------------


@pytest.fixture
def spider(tmp_path: Path) -> BreachPortalSpider:
    crawler = get_crawler(BreachPortalSpider)
    return BreachPortalSpider.from_crawler(crawler, out=str(tmp_path / "snapshot"), export_date="2026-07-15")


def html(url: str, body: bytes, request: Request | None = None) -> HtmlResponse:
    return HtmlResponse(url, body=body, encoding="utf-8", request=request or Request(url))


def csv_answer(request: Request, body: bytes) -> TextResponse:
    headers = {"Content-Type": "text/csv", "Content-Disposition": 'attachment; filename="breach_report.csv"'}
    return TextResponse(request.url, body=body, request=request, headers=headers)


def form(request: Request) -> dict[str, str]:
    parsed = parse_qs(request.body.decode(), keep_blank_values=True)
    assert all(len(v) == 1 for v in parsed.values()), parsed
    return {k: v[0] for k, v in parsed.items()}


def call(request: Request, response) -> list:
    return list(request.callback(response, **request.cb_kwargs))


def start_requests(spider: BreachPortalSpider) -> list[Request]:
    async def collect() -> list:
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def open_page(spider: BreachPortalSpider, list_: str = "hipaa", body: bytes | None = None, url: str = "") -> list:
    [request] = [r for r in start_requests(spider) if r.cb_kwargs["list_"] == list_]
    page = body if body is not None else fixture("breach_report_hip.html")
    return call(request, html(url or request.url, page, request))


def test_each_list_is_fetched_from_its_grid_page_in_its_own_session(spider: BreachPortalSpider) -> None:
    """Defect 1 (address) and 7 (one cookie jar per list)."""
    requests = start_requests(spider)
    assert [(r.url, r.cb_kwargs["list_"]) for r in requests] == [(HIP_URL, "hipaa"), (PART2_URL, "part2")]
    jars = [r.meta.get("cookiejar") for r in requests]
    assert None not in jars and len(set(jars)) == 2


def test_a_redirect_away_from_the_grid_page_stops_the_crawl_with_one_line(spider, caplog) -> None:
    """Defect 1: the front page the old address redirects to is refused, naming both addresses."""
    with pytest.raises(CloseSpider):
        open_page(spider, body=fixture("front_page.html"), url=FRONT_URL)
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert line.startswith(f"{HIP_URL}: ") and FRONT_URL in line and "\n" not in line


def test_a_page_that_is_not_the_grid_asked_for_stops_the_crawl(spider, caplog) -> None:
    """Defect 1: the Part 2 grid served at the HIPAA address is not exported as HIPAA."""
    with pytest.raises(CloseSpider):
        open_page(spider, body=fixture("breach_report_part2.html"))
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert line.startswith(f"{HIP_URL}: ") and "Covered Entity" in line


def test_the_export_is_a_plain_post_of_the_hidden_fields_and_the_command(spider) -> None:
    """Defects 2 and 3: the exporter outside the tab view is found and its onclick command posted."""
    [export] = open_page(spider)
    assert export.method == "POST" and export.url == HIP_URL
    assert "Faces-Request" not in export.headers
    assert form(export) == {**HIP_PAGE_FIELDS, "ocrForm:j_idt389": "ocrForm:j_idt389"}
    assert export.meta["cookiejar"] == start_requests(spider)[0].meta["cookiejar"]


def switch_request(spider: BreachPortalSpider) -> Request:
    [export] = open_page(spider)
    [switch] = call(export, csv_answer(export, UNDER_INVESTIGATION_CSV.read_bytes()))
    return switch


def test_the_tab_switch_sends_exactly_the_documented_recipe(spider) -> None:
    """Defect 4: no _contentLoad, no other parameter; the page's fields with the recipe over them."""
    switch = switch_request(spider)
    assert switch.method == "POST" and switch.url == HIP_URL
    assert switch.headers["Faces-Request"] == b"partial/ajax"
    assert form(switch) == {**HIP_PAGE_FIELDS, **TAB_CHANGE_RECIPE}
    assert switch.meta["cookiejar"] == start_requests(spider)[0].meta["cookiejar"]


def archive_export_request(spider: BreachPortalSpider) -> Request:
    switch = switch_request(spider)
    [export] = call(switch, XmlResponse(switch.url, body=fixture("tab_change_archive.xml"), request=switch))
    return export


def test_the_archive_export_reposts_the_same_command_with_the_archive_tab_index(spider) -> None:
    """Defect 3: the same exporter command (not one looked for in the AJAX answer), _activeIndex=1, and the
    view state of the partial-response."""
    export = archive_export_request(spider)
    assert "Faces-Request" not in export.headers
    assert form(export) == {
        **HIP_PAGE_FIELDS,
        "ocrForm:j_idt31_activeIndex": "1",
        "javax.faces.ViewState": ARCHIVE_VIEW_STATE,
        "ocrForm:j_idt389": "ocrForm:j_idt389",
    }


def test_both_exports_are_saved_once_the_archive_is_shown_to_differ(spider, tmp_path: Path) -> None:
    export = archive_export_request(spider)
    archive = with_fresh_panel_hashes(ARCHIVE_STAND_IN_CSV.read_bytes())
    items = call(export, csv_answer(export, archive))
    assert len(items) == 733 + 702
    assert [i["tab"] for i in items] == ["under_investigation"] * 733 + ["archive"] * 702
    snapshot = tmp_path / "snapshot"
    assert (snapshot / "breach_report_archive_2026-07-15.csv").read_bytes() == archive
    assert (snapshot / "breach_report_under_investigation_2026-07-15.csv").read_bytes() == (
        UNDER_INVESTIGATION_CSV.read_bytes()
    )


def test_an_archive_with_the_same_data_rows_stops_the_crawl_and_nothing_is_saved(spider, tmp_path, caplog) -> None:
    """Defect 5: the switch silently failed; the header's UIPanel hashes differ, the data rows do not."""
    export = archive_export_request(spider)
    same_rows = with_fresh_panel_hashes(UNDER_INVESTIGATION_CSV.read_bytes())
    assert same_rows != UNDER_INVESTIGATION_CSV.read_bytes()
    with pytest.raises(CloseSpider):
        call(export, csv_answer(export, same_rows))
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "same 733 data rows" in line and "breach_report_archive_2026-07-15.csv" in line
    assert not (tmp_path / "snapshot").exists()


def test_the_empty_part2_list_gives_two_header_only_exports(spider, tmp_path: Path, caplog) -> None:
    """The empty list: "No records found.", "Displaying 0 - 0 of 0", both exports the header alone. Two empty
    exports cannot show the switch took effect; that is said, and both are kept."""
    [export] = open_page(spider, "part2", fixture("breach_report_part2.html"))
    assert form(export)["ocrForm:j_idt301"] == "ocrForm:j_idt301"
    [switch] = call(export, csv_answer(export, part2_header_only()))
    assert form(switch)["ocrForm:j_idt29_newTab"] == "ocrForm:j_idt29:archiveTab"
    partial = fixture("tab_change_archive.xml").replace(b"ocrForm:j_idt31", b"ocrForm:j_idt29")
    [archive_export] = call(switch, XmlResponse(switch.url, body=partial, request=switch))
    assert form(archive_export)["ocrForm:j_idt29_activeIndex"] == "1"
    items = call(archive_export, csv_answer(archive_export, part2_header_only()))
    assert [(i["tab"], i["record"], i["fields"]) for i in items] == [
        ("under_investigation", 0, None),
        ("archive", 0, None),
    ]
    saved = sorted(p.name for p in (tmp_path / "snapshot").iterdir())
    assert saved == [
        "breach_report_part2_archive_2026-07-15.csv",
        "breach_report_part2_under_investigation_2026-07-15.csv",
    ]
    assert "cannot show that the switch to the archive took effect" in caplog.text


def test_a_header_only_export_of_a_grid_with_rows_stops_the_crawl(spider, caplog) -> None:
    [export] = open_page(spider)
    header = UNDER_INVESTIGATION_CSV.read_bytes().split(b"\n", 1)[0] + b"\n"
    with pytest.raises(CloseSpider):
        call(export, csv_answer(export, header))
    assert "reports 733 rows" in caplog.text


def test_part2_export_with_uipanel_titles_stores_the_qso_column(spider) -> None:
    """Defect 6 (already fixed in crawlers/exports.py, tested in tests/test_exports.py): Part 2's 7th column is
    stored as qualified_service_organization_present, also on the live path with the 1st and 7th titled
    javax.faces.component.UIPanel@<hex>."""
    [export] = open_page(spider, "part2", fixture("breach_report_part2.html"))
    row = b'"Example Program (hand-written)","ZZ","612","06/30/2026","Theft","Laptop","Yes",""\n'
    [switch] = call(export, csv_answer(export, part2_header_only() + row))
    partial = fixture("tab_change_archive.xml").replace(b"ocrForm:j_idt31", b"ocrForm:j_idt29")
    [archive_export] = call(switch, XmlResponse(switch.url, body=partial, request=switch))
    items = call(archive_export, csv_answer(archive_export, part2_header_only()))
    fields = items[0]["fields"]
    assert fields["qualified_service_organization_present"] == "Yes"
    assert "business_associate_present" not in fields and fields["name"] == "Example Program (hand-written)"


def test_an_expired_view_starts_the_list_afresh_once_then_stops_the_crawl(spider, tmp_path, caplog) -> None:
    """Defect 7: a <redirect> in the partial-response -> a fresh GET of the list page in a new session, and
    the whole list once more; a second <redirect> stops the crawl and nothing is saved."""
    switch = switch_request(spider)
    redirect = fixture("tab_change_redirect.xml")
    [fresh] = call(switch, XmlResponse(switch.url, body=redirect, request=switch))
    assert (fresh.method, fresh.url, fresh.dont_filter) == ("GET", HIP_URL, True)
    assert fresh.meta["cookiejar"] != switch.meta["cookiejar"]
    [export] = call(fresh, html(HIP_URL, fixture("breach_report_hip.html"), fresh))
    assert export.meta["cookiejar"] == fresh.meta["cookiejar"]
    [switch_again] = call(export, csv_answer(export, UNDER_INVESTIGATION_CSV.read_bytes()))
    with pytest.raises(CloseSpider):
        call(switch_again, XmlResponse(switch.url, body=redirect, request=switch_again))
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "expired again" in line and "nothing saved" in line
    assert not (tmp_path / "snapshot").exists()


def test_a_jsf_error_in_the_partial_response_stops_the_crawl(spider, caplog) -> None:
    switch = switch_request(spider)
    with pytest.raises(CloseSpider):
        call(switch, XmlResponse(switch.url, body=fixture("tab_change_expired.xml"), request=switch))
    assert "ViewExpiredException" in caplog.text


def test_a_page_without_a_tab_view_stops_the_crawl_before_any_export(spider, caplog) -> None:
    """The real 2025 page (archive behind a button, no tab view) served at the HIPAA address: the archive
    cannot be reached the documented way, so nothing of the list is exported (decision in
    docs/crawling-breach-portal.md)."""
    with pytest.raises(CloseSpider):
        open_page(spider, body=real_page())
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "no tab view" in line and "kb crawl --inspect" in line


# --- a local replica of the portal ---------------------------------------------------------------------------


@dataclass
class Session:
    """One servlet session: its id, the view state of its current view, which tab the view shows."""

    id: str
    list_page: str
    view_state: str
    active_index: int = 0


@dataclass(frozen=True)
class ListPage:
    fixture: str
    view_state: str  # the literal in the fixture, replaced by the session's
    tab_view: str
    archive_tab: str
    csv_command: str
    exports: tuple  # (under investigation, archive): functions giving the CSV body


LIST_PAGES = {
    "breach_report_hip.jsf": ListPage(
        "breach_report_hip.html",
        HIP_VIEW_STATE,
        "ocrForm:j_idt31",
        "ocrForm:j_idt31:archiveTab",
        "ocrForm:j_idt389",
        (
            lambda: with_fresh_panel_hashes(UNDER_INVESTIGATION_CSV.read_bytes()),
            lambda: with_fresh_panel_hashes(ARCHIVE_STAND_IN_CSV.read_bytes()),
        ),
    ),
    "breach_report_part2.jsf": ListPage(
        "breach_report_part2.html",
        "-6262626262626262626:2222222222222222222",
        "ocrForm:j_idt29",
        "ocrForm:j_idt29:archiveTab",
        "ocrForm:j_idt301",
        (part2_header_only, part2_header_only),
    ),
}


@dataclass
class Behaviour:
    """How the replica misbehaves, per test."""

    expire_ajax: int = 0  # answer this many AJAX posts with <redirect> (and end their session)
    ignore_tab_change: bool = False  # accept the switch but keep showing the first tab (a silent failure)
    hip_moved: bool = False  # breach_report_hip.jsf redirects to the front page too
    redeployed: bool = False  # the server expects another CSV command than the page shows
    log: list[dict] = field(default_factory=list)


class Portal(http.server.BaseHTTPRequestHandler):
    """Answers like the live portal (../shared/snapshot/breach_portal_pages/README.md): breach_report.jsf
    redirects to a front page; each list page opens a session (JSESSIONID, path /ocr, and the load
    balancer's asig_persistence); a post of the session's view state and the page's CSV command answers the
    CSV with its headers; anything else posted gets HTTP 200 and the page's HTML again; the documented
    tabChange post switches the view to the archive; an AJAX post on an expired session gets <redirect>."""

    behaviour = Behaviour()
    sessions: dict[str, Session] = {}
    counter = itertools.count(1)

    def log_message(self, *args) -> None:  # keep pytest output quiet
        pass

    def send(self, body: bytes, content_type: str, status: int = 200, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def cookie(self, name: str) -> str | None:
        found = re.search(rf"(?:^|;\s*){name}=([^;]+)", self.headers.get("Cookie", ""))
        return found.group(1) if found else None

    def page_name(self) -> str:
        return self.path.split("?")[0].split(";")[0].rsplit("/", 1)[-1]

    def do_GET(self) -> None:
        name = self.page_name()
        self.behaviour.log.append({"method": "GET", "page": name, "session": self.cookie("JSESSIONID")})
        if name == "breach_report.jsf" or (name == "breach_report_hip.jsf" and self.behaviour.hip_moved):
            self.send(b"", "text/html", 302, {"Location": "/ocr/breach/breach_frontpage.jsf"})
        elif name == "breach_frontpage.jsf":
            self.send(fixture("front_page.html"), "text/html; charset=UTF-8")
        elif name in LIST_PAGES:
            session = self.sessions.get(self.cookie("JSESSIONID") or "")
            if session is None or session.list_page != name:
                session = Session(secrets.token_hex(8).upper(), name, self.new_view_state())
                self.sessions[session.id] = session
            session.view_state, session.active_index = self.new_view_state(), 0
            cookies = [
                f"JSESSIONID={session.id}; Path=/ocr; HttpOnly",
                f"asig_persistence={next(self.counter)}; Path=/",
            ]
            self.send_page(name, session, cookies)
        else:
            self.send(b"not found", "text/plain", 404)

    def new_view_state(self) -> str:
        return f"-{next(self.counter)}:{secrets.randbelow(10**18)}"

    def send_page(self, name: str, session: Session, cookies: list[str] | None = None) -> None:
        page = LIST_PAGES[name]
        body = fixture(page.fixture).replace(page.view_state.encode(), session.view_state.encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for cookie in cookies or []:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        name = self.page_name()
        length = int(self.headers["Content-Length"])
        data = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
        ajax = self.headers.get("Faces-Request") == "partial/ajax"
        session = self.sessions.get(self.cookie("JSESSIONID") or "")
        self.behaviour.log.append(
            {"method": "POST", "page": name, "session": self.cookie("JSESSIONID"), "ajax": ajax, "form": data}
        )
        if ajax and (session is None or self.behaviour.expire_ajax > 0):
            self.behaviour.expire_ajax = max(self.behaviour.expire_ajax - 1, 0)
            if session is not None:
                del self.sessions[session.id]
            redirect = f'<partial-response id="j_id1"><redirect url="/ocr/breach/{name}"></redirect></partial-response>'
            self.send(b"<?xml version='1.0' encoding='UTF-8'?>\n" + redirect.encode(), "text/xml; charset=UTF-8")
            return
        page = LIST_PAGES.get(name)
        known = page is not None and session is not None and session.list_page == name
        if known and data.get("javax.faces.ViewState") == session.view_state and data.get("ocrForm") == "ocrForm":
            if ajax and self.is_tab_change(data, page):
                return self.switch_to_archive(session, page)
            command = "ocrForm:j_idt999" if self.behaviour.redeployed else page.csv_command
            if not ajax and data.get(command) == command and self.tab_posted(data, page, session):
                csv = page.exports[session.active_index]()
                disposition = 'attachment; filename="breach_report.csv"'
                return self.send(csv, "text/csv", headers={"Content-Disposition": disposition})
        # a post the portal does not understand: HTTP 200 and the page's HTML again
        self.send(fixture(page.fixture if page else "front_page.html"), "text/html; charset=UTF-8")

    def is_tab_change(self, data: dict[str, str], page: ListPage) -> bool:
        recipe = {
            "javax.faces.partial.ajax": "true",
            "javax.faces.source": page.tab_view,
            "javax.faces.partial.execute": page.tab_view,
            "javax.faces.behavior.event": "tabChange",
            f"{page.tab_view}_newTab": page.archive_tab,
            f"{page.tab_view}_tabindex": "1",
            f"{page.tab_view}_activeIndex": "1",
        }
        return all(data.get(k) == v for k, v in recipe.items())

    def tab_posted(self, data: dict[str, str], page: ListPage, session: Session) -> bool:
        return data.get(f"{page.tab_view}_activeIndex") == str(session.active_index) or (
            self.behaviour.ignore_tab_change and data.get(f"{page.tab_view}_activeIndex") == "1"
        )

    def switch_to_archive(self, session: Session, page: ListPage) -> None:
        # PrimeFaces given _contentLoad renders the tab's own content only; the view keeps its tab.
        loads_content_only = f"{page.tab_view}_contentLoad" in self.last_form()
        if not (self.behaviour.ignore_tab_change or loads_content_only):
            session.active_index = 1
        session.view_state = self.new_view_state()
        partial = fixture("tab_change_archive.xml").replace(b"ocrForm:j_idt31", page.tab_view.encode())
        partial = partial.replace(ARCHIVE_VIEW_STATE.encode(), session.view_state.encode())
        self.send(partial, "text/xml; charset=UTF-8")

    def last_form(self) -> dict[str, str]:
        return self.behaviour.log[-1]["form"]


@pytest.fixture
def portal():
    Portal.behaviour = Behaviour()
    Portal.sessions = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ocr/breach/"
    server.shutdown()
    server.server_close()


def crawl(portal_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "breach_portal",
            "-a",
            f"portal_url={portal_url}",
            "-a",
            f"out={tmp_path / 'snap'}",
            *args,
            "-s",
            "BREACH_PORTAL_EXPORT_DATE=2026-07-15",
            "-s",
            f"RAW_DIR={tmp_path / 'raw'}",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=0",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )


def saved(tmp_path: Path) -> list[str]:
    snap = tmp_path / "snap"
    return sorted(p.name for p in snap.iterdir()) if snap.exists() else []


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if "ERROR" in line]


def test_live_crawl_of_both_lists_against_the_replica(portal: str, tmp_path: Path) -> None:
    result = crawl(portal, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert saved(tmp_path) == [
        "breach_report_archive_2026-07-15.csv",
        "breach_report_part2_archive_2026-07-15.csv",
        "breach_report_part2_under_investigation_2026-07-15.csv",
        "breach_report_under_investigation_2026-07-15.csv",
    ]
    snap = tmp_path / "snap"
    assert count_records((snap / "breach_report_archive_2026-07-15.csv").read_bytes()) == 702
    assert count_records((snap / "breach_report_under_investigation_2026-07-15.csv").read_bytes()) == 733
    assert len((snap / "breach_report_part2_archive_2026-07-15.csv").read_bytes()) == 208
    raw = tmp_path / "raw" / "breach_portal"
    assert sorted(p.name for p in raw.glob("*.jsonl")) == [n.replace(".csv", ".jsonl") for n in saved(tmp_path)]
    log = Portal.behaviour.log
    # the two lists run side by side, so their pages may be asked for in either order
    assert sorted(e["page"] for e in log if e["method"] == "GET" and e["page"] != "robots.txt") == [
        "breach_report_hip.jsf",
        "breach_report_part2.jsf",
    ]
    # each list in its own session: no session id is sent for both lists
    sessions = {page: {e["session"] for e in log if e["page"] == page and e["method"] == "POST"} for page in LIST_PAGES}
    assert all(len(ids) == 1 and None not in ids for ids in sessions.values())
    assert not sessions["breach_report_hip.jsf"] & sessions["breach_report_part2.jsf"]
    assert [e["ajax"] for e in log if e["method"] == "POST" and e["page"] == "breach_report_hip.jsf"] == [
        False,
        True,
        False,
    ]


def test_an_expired_view_is_retried_once_in_a_fresh_session(portal: str, tmp_path: Path) -> None:
    Portal.behaviour.expire_ajax = 1
    result = crawl(portal, tmp_path, "-a", "lists=hipaa")
    assert result.returncode == 0, result.stderr
    assert saved(tmp_path) == [
        "breach_report_archive_2026-07-15.csv",
        "breach_report_under_investigation_2026-07-15.csv",
    ]
    gets = [e for e in Portal.behaviour.log if e["method"] == "GET" and e["page"] == "breach_report_hip.jsf"]
    assert len(gets) == 2 and gets[1]["session"] is None  # the fresh GET carries no old session
    raw = tmp_path / "raw" / "breach_portal"
    assert count_records((tmp_path / "snap" / "breach_report_archive_2026-07-15.csv").read_bytes()) == 702
    assert sum(1 for _ in (raw / "breach_report_under_investigation_2026-07-15.jsonl").open()) == 733


def test_a_view_that_keeps_expiring_fails_the_crawl_and_saves_nothing(portal: str, tmp_path: Path) -> None:
    Portal.behaviour.expire_ajax = 100
    result = crawl(portal, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert any("expired again" in line for line in error_lines(result))
    assert saved(tmp_path) == []
    assert not list((tmp_path / "raw").rglob("*.jsonl"))


def test_a_tab_switch_that_silently_fails_is_caught(portal: str, tmp_path: Path) -> None:
    Portal.behaviour.ignore_tab_change = True
    result = crawl(portal, tmp_path, "-a", "lists=hipaa")
    assert result.returncode == 1
    assert any("same 733 data rows" in line for line in error_lines(result))
    assert saved(tmp_path) == []


def test_a_grid_page_that_moved_fails_the_crawl_with_one_line(portal: str, tmp_path: Path) -> None:
    Portal.behaviour.hip_moved = True
    result = crawl(portal, tmp_path, "-a", "lists=hipaa")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "breach_report_hip.jsf" in line and "breach_frontpage.jsf" in line
    assert saved(tmp_path) == []


def test_an_export_post_answered_with_the_page_fails_the_crawl(portal: str, tmp_path: Path) -> None:
    Portal.behaviour.redeployed = True
    result = crawl(portal, tmp_path, "-a", "lists=hipaa")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "not a CSV export" in line and "breach_report_hip.jsf" in line
    assert saved(tmp_path) == []
    assert not list((tmp_path / "raw").rglob("*.jsonl"))


def test_a_crawl_in_a_fresh_environment_asks_no_third_host(
    portal: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scrapy's cookie handling would fetch the Public Suffix List from publicsuffix.org the first time in an
    environment (offline: a logged traceback); the crawl command makes tldextract use the list it ships."""
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "empty-tldextract-cache"))
    monkeypatch.delenv("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", raising=False)
    result = crawl(portal, tmp_path, "-a", "lists=hipaa")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "publicsuffix" not in result.stderr.lower()
