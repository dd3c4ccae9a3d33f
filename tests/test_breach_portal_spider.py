"""The breach_portal spider: replay of the recorded exports through a real `scrapy crawl`, a few steps of the
live JSF form flow on hand-written page fixtures (callbacks driven with Scrapy responses, no network), and the
guard that keeps a shrunken live export out of the snapshot. The fixtures are in tests/golden/breach_portal/,
where tests/test_golden.py also checks the single-step cases against their expected files. The live flow as
the real site runs it (real page, documented recipes, a replica of the portal) is tested in
tests/test_breach_portal_live.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, SNAPSHOT_DIR
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawlers.exports import count_records, export_info_from_name
from crawlers.live import decide_for_folder, guard_decision, last_good_export, live_crawl_commands
from crawlers.pipelines import RawJsonlPipeline
from crawlers.spiders.breach_portal import BreachPortalSpider

FIXTURES = REPO_ROOT / "tests" / "golden" / "breach_portal"
EXPORTS = SNAPSHOT_DIR / "breach_portal"
PAGE_URL = "https://ocrportal.hhs.gov/ocr/breach/breach_report_hip.jsf"


def scrapy_crawl(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "breach_portal", *args, "-s", "LOG_LEVEL=WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# --- replay through a real crawl ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    raw = tmp_path_factory.mktemp("raw")
    result = scrapy_crawl("-a", f"export={EXPORTS}", "-s", f"RAW_DIR={raw}")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return {p.name: read_jsonl(p) for p in sorted((raw / "breach_portal").iterdir())}


def test_replay_writes_one_raw_file_per_export_with_every_record(replayed: dict[str, list[dict]]) -> None:
    # one raw file per export in the snapshot, each with as many items as its CSV has records
    assert set(replayed) == {f"{p.stem}.jsonl" for p in EXPORTS.glob("*.csv")}
    for export in EXPORTS.glob("*.csv"):
        assert len(replayed[f"{export.stem}.jsonl"]) == count_records(export.read_bytes()), export.name
    # facts about the recorded files named here
    assert {
        name: len(replayed[name])
        for name in (
            "breach_report_archive_2024-08.jsonl",
            "breach_report_under_investigation_2024-11.jsonl",
            "breach_report_under_investigation_2026-04.jsonl",
            "breach_report_under_investigation_2026-07-15.jsonl",
        )
    } == {
        "breach_report_archive_2024-08.jsonl": 5371,
        "breach_report_under_investigation_2024-11.jsonl": 857,
        "breach_report_under_investigation_2026-04.jsonl": 702,
        "breach_report_under_investigation_2026-07-15.jsonl": 733,
    }
    for items in replayed.values():
        assert [i["record"] for i in items] == list(range(1, len(items) + 1))
        assert all(i["fields"] is not None and i["error"] is None for i in items)
        lines = [i["line"] for i in items]
        assert lines[0] == 2 and lines == sorted(set(lines))


@pytest.mark.parametrize(
    "stem, tab, export_date",
    [
        ("breach_report_archive_2024-08", "archive", "2024-08"),
        ("breach_report_under_investigation_2026-04", "under_investigation", "2026-04"),
        ("breach_report_under_investigation_2026-07-15", "under_investigation", "2026-07-15"),
    ],
)
def test_replay_items_carry_their_provenance(
    replayed: dict[str, list[dict]], stem: str, tab: str, export_date: str
) -> None:
    sha256 = hashlib.sha256((EXPORTS / f"{stem}.csv").read_bytes()).hexdigest()
    for item in replayed[f"{stem}.jsonl"]:
        assert (
            item["source"],
            item["list"],
            item["tab"],
            item["export_file"],
            item["export_sha256"],
            item["export_date"],
        ) == ("breach_portal", "hipaa", tab, f"{stem}.csv", sha256, export_date)
        assert set(item) == {
            "source",
            "list",
            "tab",
            "export_file",
            "export_sha256",
            "export_date",
            "line",
            "record",
            "fields",
            "error",
            "raw",
            "encoding",
        }


def test_replay_keeps_multiline_descriptions_and_identical_rows(replayed: dict[str, list[dict]]) -> None:
    archive = replayed["breach_report_archive_2024-08.jsonl"]
    multiline = [i for i in archive if "\n" in i["fields"]["web_description"]]
    assert len(multiline) == 364  # the snapshot README's count
    assert all(i["raw"].count("\n") >= 1 for i in multiline)
    # The README's 4,578 described rows; 488 more carry the export's "\N" null marker, kept as exported.
    assert sum(1 for i in archive if i["fields"]["web_description"] not in ("", "\\N")) == 4578
    assert sum(1 for i in archive if i["fields"]["web_description"] == "\\N") == 488
    for stem in ("breach_report_under_investigation_2026-04", "breach_report_under_investigation_2026-07-15"):
        items = replayed[f"{stem}.jsonl"]
        mcewen = [i for i in items if i["fields"]["name"] == "McEwen & Associates"]
        assert len(mcewen) == 3 and len({i["raw"] for i in mcewen}) == 1
        assert len({i["record"] for i in mcewen}) == 3


def test_replay_of_part2_fixtures(tmp_path: Path) -> None:
    result = scrapy_crawl("-a", f"export={FIXTURES}", "-s", f"RAW_DIR={tmp_path}")
    assert result.returncode == 0, result.stderr
    archive = read_jsonl(tmp_path / "breach_portal" / "breach_report_part2_archive_2026-07-15.jsonl")
    open_cases = read_jsonl(tmp_path / "breach_portal" / "breach_report_part2_under_investigation_2026-07-15.jsonl")
    assert [len(archive), len(open_cases)] == [2, 3]
    assert {(i["list"], i["tab"]) for i in archive} == {("part2", "archive")}
    assert {(i["list"], i["tab"], i["export_date"]) for i in open_cases} == {
        ("part2", "under_investigation", "2026-07-15")
    }
    assert all("covered_entity_type" not in i["fields"] for i in archive + open_cases)
    assert archive[0]["fields"]["web_description"].endswith(
        'file server.\nThe program notified patients and "upgraded" its firewall.'
    )
    assert archive[1]["line"] == 4
    assert open_cases[1]["fields"]["location"] == "Email, Paper/Films"


def test_unknown_header_fails_the_crawl_and_keeps_the_old_raw_file(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.copy(EXPORTS / "breach_report_under_investigation_2026-04.csv", exports)
    (exports / "breach_report_archive_2030-01.csv").write_text('"Name","State"\n"A","WI"\n', encoding="utf-8")
    raw = tmp_path / "raw" / "breach_portal"
    raw.mkdir(parents=True)
    (raw / "breach_report_under_investigation_2026-04.jsonl").write_text("previous good file\n")
    result = scrapy_crawl("-a", f"export={exports}", "-s", f"RAW_DIR={tmp_path / 'raw'}")
    assert result.returncode != 0
    assert "breach_report_archive_2030-01.csv: line 1: unrecognised hipaa export header" in result.stderr
    assert (raw / "breach_report_under_investigation_2026-04.jsonl").read_text() == "previous good file\n"
    assert sorted(p.name for p in raw.iterdir()) == ["breach_report_under_investigation_2026-04.jsonl"]


def test_html_page_instead_of_csv_fails_the_crawl(tmp_path: Path) -> None:
    export = tmp_path / "breach_report_archive_2030-01.csv"
    shutil.copy(FIXTURES / "export_error_page.html", export)
    result = scrapy_crawl("-a", f"export={export}", "-s", f"RAW_DIR={tmp_path / 'raw'}")
    assert result.returncode != 0
    assert "breach_report_archive_2030-01.csv: not a CSV export" in result.stderr
    assert not (tmp_path / "raw" / "breach_portal" / "breach_report_archive_2030-01.jsonl").exists()


def test_missing_export_path_fails_the_crawl(tmp_path: Path) -> None:
    result = scrapy_crawl("-a", f"export={tmp_path / 'nothing-here'}", "-s", f"RAW_DIR={tmp_path}")
    assert result.returncode != 0
    assert "no *.csv exports found" in result.stderr


# --- live form flow on hand-written fixtures (more in tests/test_breach_portal_live.py) -------------------


@pytest.fixture
def make_spider(tmp_path: Path):
    def make(**kwargs: str) -> BreachPortalSpider:
        crawler = get_crawler(BreachPortalSpider)
        return BreachPortalSpider.from_crawler(
            crawler, out=str(tmp_path / "snapshot"), export_date="2026-07-15", **kwargs
        )

    return make


def export_response(request: Request, body: bytes) -> TextResponse:
    return TextResponse(request.url, body=body, request=request, headers={"Content-Type": "text/csv; charset=UTF-8"})


def call(request: Request, response) -> list:
    return list(request.callback(response, **request.cb_kwargs))


def first_export(spider: BreachPortalSpider) -> Request:
    page = HtmlResponse(PAGE_URL, body=(FIXTURES / "breach_report_hip.html").read_bytes(), encoding="utf-8")
    [export] = call(Request(PAGE_URL, callback=spider.parse_page, cb_kwargs={"list_": "hipaa"}), page)
    return export


def test_html_answer_to_the_export_post_stops_the_crawl(make_spider, tmp_path: Path, caplog) -> None:
    export_open = first_export(make_spider())
    page = HtmlResponse(export_open.url, body=(FIXTURES / "export_error_page.html").read_bytes(), request=export_open)
    with pytest.raises(CloseSpider):
        call(export_open, page)
    assert "breach_report_under_investigation_2026-07-15.csv: not a CSV export" in caplog.text
    assert not (tmp_path / "snapshot").exists()


def test_page_without_the_form_stops_the_crawl(make_spider, caplog) -> None:
    spider = make_spider()
    response = HtmlResponse(PAGE_URL, body=b"<html><body><p>Maintenance</p></body></html>")
    with pytest.raises(CloseSpider):
        call(Request(PAGE_URL, callback=spider.parse_page, cb_kwargs={"list_": "hipaa"}), response)
    assert "no form with id 'ocrForm'" in caplog.text


@pytest.mark.parametrize("force, saved", [("", False), ("1", True)])
def test_shrunken_live_export_is_kept_out_unless_forced(
    make_spider, tmp_path: Path, caplog, force: str, saved: bool
) -> None:
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    shutil.copy(EXPORTS / "breach_report_archive_2024-08.csv", snapshot)  # 5,371 rows
    export_open = first_export(make_spider(force=force))
    [switch] = call(
        export_open,
        export_response(export_open, (EXPORTS / "breach_report_under_investigation_2026-07-15.csv").read_bytes()),
    )
    partial = XmlResponse(switch.url, body=(FIXTURES / "tab_change_archive.xml").read_bytes(), request=switch)
    [export_archive] = call(switch, partial)
    body = (EXPORTS / "breach_report_under_investigation_2026-04.csv").read_bytes()  # a fresh archive of 702 rows
    out = call(export_archive, export_response(export_archive, body))
    fresh = snapshot / "breach_report_archive_2026-07-15.csv"
    assert fresh.exists() == saved
    assert (snapshot / "breach_report_under_investigation_2026-07-15.csv").exists()  # not shrunk: saved
    assert len(out) == (733 + 702 if saved else 733)  # the archive's items only when kept
    if not saved:
        assert "702 rows is under 80% of the 5371 rows" in caplog.text


# --- the guard, pure ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fresh, last, force, save",
    [
        (100, None, False, True),
        (0, None, False, True),
        (80, 100, False, True),
        (79, 100, False, False),
        (79, 100, True, True),
        (733, 702, False, True),
        (702, 5371, False, False),
    ],
)
def test_guard_decision(fresh: int, last: int | None, force: bool, save: bool) -> None:
    decision = guard_decision(fresh, last, force)
    assert decision.save is save
    assert decision.reason


def test_last_good_export_picks_newest_of_same_list_and_tab(tmp_path: Path) -> None:
    for name in [
        "breach_report_archive_2024-08.csv",
        "breach_report_archive_2026-07-15.csv",
        "breach_report_archive_2026-07.csv",
        "breach_report_part2_archive_2027-01-01.csv",
        "breach_report_under_investigation_2027-01-01.csv",
        "notes.csv",
    ]:
        (tmp_path / name).write_text("")
    assert last_good_export(tmp_path, "hipaa", "archive").name == "breach_report_archive_2026-07-15.csv"
    assert last_good_export(tmp_path, "part2", "archive").name == "breach_report_part2_archive_2027-01-01.csv"
    assert last_good_export(tmp_path, "part2", "under_investigation") is None
    assert last_good_export(tmp_path / "missing", "hipaa", "archive") is None


def test_decide_for_folder_counts_records_not_lines(tmp_path: Path) -> None:
    shutil.copy(EXPORTS / "breach_report_archive_2024-08.csv", tmp_path)  # 5,371 records on 6,567 lines
    lines = (EXPORTS / "breach_report_archive_2024-08.csv").read_bytes().split(b"\n")
    short = b"\n".join(lines[:4300]) + b"\n"  # 4,299 lines after the header, but fewer records
    decision = decide_for_folder(tmp_path, "breach_report_archive_2026-07-15.csv", short, force=False)
    assert not decision.save and "breach_report_archive_2024-08.csv" in decision.reason


def test_live_crawl_commands(tmp_path: Path) -> None:
    commands = live_crawl_commands("py", tmp_path / "snap", tmp_path / "raw", force=True, export_date="2026-07-15")
    assert [c[4] for c in commands] == ["breach_portal", "hhs_enforcement"]
    portal = commands[0]
    assert portal[:5] == ["py", "-m", "scrapy", "crawl", "breach_portal"]
    assert f"out={tmp_path / 'snap' / 'breach_portal'}" in portal
    assert portal[-4:] == ["-a", "force=1", "-a", "export_date=2026-07-15"]
    assert not any(arg.startswith(("export=", "out=")) for arg in commands[1])  # saves no snapshot
    assert not any(arg.startswith("export=") for command in commands for arg in command)


# --- the raw-file pipeline -----------------------------------------------------------------------------


def test_raw_jsonl_has_one_item_per_line_whatever_the_text(tmp_path: Path) -> None:
    """Line separators Python's splitlines() honours (U+2028, NEL) must not split a raw item."""
    name = "Example Clinic\u2028North\x85South\u2029"
    data = (
        (FIXTURES / "breach_report_part2_archive_2026-07-15.csv")
        .read_bytes()
        .replace(b"Example Withdrawal Management Clinic", name.encode())
    )
    info = export_info_from_name("breach_report_part2_archive_2026-07-15.csv")
    crawler = get_crawler(BreachPortalSpider, {"RAW_DIR": str(tmp_path)})
    crawler.spider = BreachPortalSpider.from_crawler(crawler, export="unused")
    pipeline = RawJsonlPipeline.from_crawler(crawler)
    for item in crawler.spider.parse_export_body(data, info):
        pipeline.process_item(item, crawler.spider)
    pipeline.spider_closed(crawler.spider, "finished")
    path = tmp_path / "breach_portal" / "breach_report_part2_archive_2026-07-15.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[1])["fields"]["name"] == name
    assert "\n" in json.loads(lines[0])["fields"]["web_description"]


def test_failed_crawl_leaves_no_raw_file(tmp_path: Path) -> None:
    crawler = get_crawler(BreachPortalSpider, {"RAW_DIR": str(tmp_path)})
    crawler.spider = BreachPortalSpider.from_crawler(crawler, export="unused")
    pipeline = RawJsonlPipeline.from_crawler(crawler)
    data = (FIXTURES / "breach_report_part2_archive_2026-07-15.csv").read_bytes()
    for item in crawler.spider.parse_export_body(
        data, export_info_from_name("breach_report_part2_archive_2026-07-15.csv")
    ):
        pipeline.process_item(item, crawler.spider)
    pipeline.spider_closed(crawler.spider, "export_error")
    assert list((tmp_path / "breach_portal").iterdir()) == []
