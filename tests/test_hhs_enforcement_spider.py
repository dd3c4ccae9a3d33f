"""The hhs_enforcement spider: live callbacks on hand-written pages, replay of the recorded press
releases (in-process for rows, as a real `scrapy crawl` subprocess for the whole export), failures, and
the raw file written only by a good crawl. Its golden files (tests/golden/hhs_enforcement/) are checked
by the generic runner, tests/test_golden.py."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, SNAPSHOT_DIR
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawlers.pipelines import RawJsonlPipeline
from crawlers.spiders.hhs_enforcement import (
    INDEX_URL,
    RAW_FIELDS,
    HhsEnforcementSpider,
    ReplayInputError,
    decode_escapes,
    replay_files,
    replay_items,
    replay_row_item,
)
from etl.press_releases import extract_actions

FIXTURES = REPO_ROOT / "tests" / "golden" / "hhs_enforcement"
PRESS_RELEASES = SNAPSHOT_DIR / "hhs_press_releases"
CASE_URL = "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/anthem/index.html"
OLD_CASE_URL = "https://www.hhs.gov/ocr/privacy/hipaa/enforcement/examples/providenceresolutionagreement.html"


def _response(url: str, body: bytes) -> Response:
    if url.endswith(".pdf"):
        return Response(url=url, body=body)
    return HtmlResponse(url=url, body=body, encoding="utf-8")


def _run_callback(callback: str, url: str, body: bytes, **spider_args: str) -> tuple[list[dict], list[Request]]:
    """What a live callback yields for `body` fetched from `url`; by default by the direct route (hhs.gov's
    own addresses), as the hand-written pages are hhs.gov pages."""
    spider = HhsEnforcementSpider(**{"route": "direct", **spider_args})
    out = list(getattr(spider, callback)(_response(url, body)))
    return [o for o in out if isinstance(o, dict)], [o for o in out if isinstance(o, Request)]


# -- live flow on hand-written pages --------------------------------------------------------------


def test_index_follows_links_by_url_pattern_only_from_main_content() -> None:
    items, requests = _run_callback("parse_index", INDEX_URL, (FIXTURES / "agreements_index.html").read_bytes())
    assert items == []
    assert [(r.url, r.callback.__name__) for r in requests] == [
        (
            "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/mie/index.html",
            "parse_case_page",
        ),
        (CASE_URL, "parse_case_page"),
        (
            "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/bostoncases/",
            "parse_case_page",
        ),
        (OLD_CASE_URL, "parse_case_page"),
        (
            "https://www.hhs.gov/about/news/2019/05/23/indiana-medical-records-service-pays-100000-to-settle-hipaa-breach.html",
            "parse_press_release",
        ),
        ("https://www.hhs.gov/sites/default/files/example-agreement.pdf", "parse_pdf"),
    ]
    assert not any("navonly" in r.url or "footeronly" in r.url for r in requests)


def test_case_page_yields_item_and_follows_press_release_and_pdf() -> None:
    items, requests = _run_callback("parse_case_page", CASE_URL, (FIXTURES / "case_page_new_layout.html").read_bytes())
    [item] = items
    assert tuple(item) == RAW_FIELDS
    assert item["kind"] == "case_page" and item["published"] == "2018-10-15"
    assert item["title"].startswith("Anthem Pays OCR $16 Million")
    assert "All agreements" not in item["text"] and "Home" not in item["text"]  # aside, breadcrumb
    assert [(r.url.rsplit("/", 1)[1], r.callback.__name__) for r in requests] == [
        ("anthem-ra-cap.pdf", "parse_pdf"),
        (
            "anthem-pays-ocr-16-million-record-hipaa-settlement-following-largest-health-data-breach-history.html",
            "parse_press_release",
        ),
    ]


def test_old_layout_page_content_comes_from_content_div() -> None:
    items, _ = _run_callback("parse_case_page", OLD_CASE_URL, (FIXTURES / "case_page_old_layout.html").read_bytes())
    [item] = items
    assert item["text"].startswith("HHS, Providence Health & Services Agree")
    assert "Health Information Privacy" not in item["text"]  # the left menu cell is outside #content
    assert item["title"] == "Providence Health & Services Resolution Agreement"  # <title>: no h1


def test_pdf_yields_item_with_extracted_text() -> None:
    body = (FIXTURES / "agreement.pdf").read_bytes()
    items, requests = _run_callback("parse_pdf", "https://www.hhs.gov/sites/default/files/anthem-ra-cap.pdf", body)
    [item] = items
    assert requests == []
    assert item["kind"] == "agreement_pdf"
    assert "$16,000,000 (Resolution Amount)" in item["text"]
    assert "45 C.F.R. § 164.308(a)(1)(ii)(A)" in item["text"]


# -- replay ---------------------------------------------------------------------------------------


def test_decode_escapes_undoes_only_the_recorders_escapes() -> None:
    assert decode_escapes(r"Patients\u2019 PHI \xa7 164.308\n\tnext") == "Patients’ PHI § 164.308\n\tnext"
    assert decode_escapes("already decoded: é ’") == "already decoded: é ’"
    assert decode_escapes(r"a literal \\u2019") == r"a literal \u2019"


def test_replay_row_is_parsed_like_a_page() -> None:
    items = list(replay_items(PRESS_RELEASES / "hhs_press_releases_2018_p_fragments.csv"))
    assert len(items) == 171
    boston = next(i for i in items if "abc-filming" in i["url"])
    assert boston["line"] == 2 and boston["error"] is None
    assert boston["title"].startswith("Unauthorized Disclosure of Patients’ Protected Health Information")
    assert boston["published"] == "2018-09-20"
    assert "BMC has paid OCR $100000" in boston["text"]
    assert "Enter your email" not in boston["text"] and "Toll Free" not in boston["text"]  # page chrome
    assert "\\u2019" not in boston["text"] and "patients’" in boston["text"]
    assert (
        "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/bostoncases/index.html"
        in boston["links"]
    )
    assert "https://www.hhs.gov/about" not in boston["links"]  # breadcrumb


def test_replay_bad_rows_become_error_items_with_their_line(tmp_path: Path) -> None:
    # Hand-written CSV: a good row, a row missing a column, a row whose Text is not a recorded list.
    path = tmp_path / "bad_rows.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", "URL", "Text", "Cleaned_Text"])
        w.writerow(["0", "https://www.hhs.gov/about/news/2018/01/02/a.html", "[<p>Line one\nline two</p>]", "x"])
        w.writerow(["1", "https://www.hhs.gov/about/news/2018/01/03/b.html"])
        w.writerow(["2", "https://www.hhs.gov/about/news/2018/01/04/c.html", "<p>no brackets</p>", "x"])
    good, short, unlisted = replay_items(path)
    assert good["error"] is None and good["text"] == "Line one line two" and good["line"] == 2
    assert short["line"] == 4 and short["error"] == "expected 4 columns, got 2" and short["text"] is None
    assert unlisted["line"] == 5 and "field Text" in unlisted["error"]


@pytest.mark.parametrize("header", [["", "URL", "Cleaned_Text"], ["index", "address", "Text"]])
def test_replay_rejects_csv_without_url_and_text_columns(tmp_path: Path, header: list[str]) -> None:
    path = tmp_path / "wrong_columns.csv"
    path.write_text(",".join(header) + "\n", encoding="utf-8")
    with pytest.raises(ReplayInputError, match=r"wrong_columns\.csv: line 1: missing column"):
        replay_files(tmp_path)


def _crawl(export: Path, raw_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "hhs_enforcement",
            "-a",
            f"export={export}",
            "-s",
            f"RAW_DIR={raw_dir}",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_replay_crawl_of_the_snapshot_writes_every_page(tmp_path: Path) -> None:
    result = _crawl(PRESS_RELEASES, tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "hhs_enforcement" / "hhs_press_releases.jsonl"
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(items) == 223  # 171 of 2018 + 52 of 2019, none dropped
    assert [p.name for p in out.parent.iterdir()] == ["hhs_press_releases.jsonl"]  # no temporary file left
    assert all(tuple(i) == RAW_FIELDS and i["source"] == "hhs_enforcement" for i in items)
    assert all(i["error"] is None and i["kind"] == "press_release" for i in items)
    assert len({i["url"] for i in items}) == 223
    by_file: dict[str, int] = {}
    for i in items:
        by_file[Path(i["fetched_from"]).name] = by_file.get(Path(i["fetched_from"]).name, 0) + 1
    assert by_file == {"hhs_press_releases_2018_p_fragments.csv": 171, "hhs_press_releases_2019_p_fragments.csv": 52}
    # one page (Cottage Health, 2019-02-07) was recorded without any body paragraph
    assert [i["url"].rsplit("/", 1)[1] for i in items if not i["text"]] == [
        "ocr-concludes-all-time-record-year-for-hipaa-enforcement-with-3-million-cottage-health-settlement.html"
    ]


def test_replay_crawl_fails_on_missing_export(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_dir"
    result = _crawl(missing, tmp_path / "raw")
    assert result.returncode != 0
    assert f"{missing}: export not found" in result.stderr
    assert not (tmp_path / "raw").exists()


def test_replay_crawl_fails_on_csv_without_expected_columns(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(",address,body\n0,https://www.hhs.gov/x.html,[<p>x</p>]\n", encoding="utf-8")
    result = _crawl(export, tmp_path / "raw")
    assert result.returncode != 0
    assert f"{export}: line 1: missing column(s) url, text" in result.stderr


def test_replay_crawl_fails_on_non_utf8_line_and_keeps_the_previous_good_file(tmp_path: Path) -> None:
    export = tmp_path / "releases.csv"
    good = ",URL,Text\n0,https://www.hhs.gov/about/news/2018/01/02/a.html,[<p>First release.</p>]\n"
    export.write_text(good, encoding="utf-8")
    assert _crawl(export, tmp_path / "raw").returncode == 0
    out = tmp_path / "raw" / "hhs_enforcement" / "releases.jsonl"
    before = out.read_bytes()
    assert json.loads(before)["text"] == "First release."
    # The same export, now with a byte that is not UTF-8 on its third line.
    export.write_bytes(good.encode() + b"1,https://www.hhs.gov/about/news/2018/01/03/b.html,[<p>\xff</p>]\n")
    result = _crawl(export, tmp_path / "raw")
    assert result.returncode != 0
    assert f"{export}: line 3: not UTF-8" in result.stderr
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    "reason, errors, replaced", [("finished", 0, True), ("finished", 2, False), ("shutdown", 0, False)]
)
def test_raw_file_is_replaced_only_after_a_clean_crawl(
    tmp_path: Path, reason: str, errors: int, replaced: bool
) -> None:
    export = tmp_path / "releases.csv"
    export.write_text(",URL,Text\n", encoding="utf-8")
    crawler = get_crawler(HhsEnforcementSpider, {"RAW_DIR": str(tmp_path / "raw")})
    crawler.spider = spider = HhsEnforcementSpider.from_crawler(crawler, export=str(export))
    crawler.stats = MemoryStatsCollector(crawler)  # the crawl itself is not run here
    pipeline = RawJsonlPipeline.from_crawler(crawler)
    output = tmp_path / "raw" / "hhs_enforcement" / "releases.jsonl"
    output.parent.mkdir(parents=True)
    output.write_text("previous good output\n")
    pipeline.spider_opened(spider)
    item = replay_row_item(
        ["0", "https://www.hhs.gov/about/news/2018/01/02/a.html", "[<p>New.</p>]"],
        1,
        2,
        fetched_from=str(export),
        line=2,
        width=3,
    )
    pipeline.process_item(item, spider)
    if errors:
        crawler.stats.set_value("log_count/ERROR", errors)
    pipeline.spider_closed(spider, reason)
    if replaced:
        assert [json.loads(line) for line in output.read_text().splitlines()] == [item]
    else:
        assert output.read_text() == "previous good output\n"
    assert [p.name for p in output.parent.iterdir()] == ["releases.jsonl"]  # no temporary file left


def test_a_good_crawl_without_pages_writes_an_empty_raw_file(tmp_path: Path) -> None:
    """The raw file says what the export holds: nothing, not the pages of an earlier export."""
    export = tmp_path / "releases.csv"
    export.write_text(",URL,Text\n", encoding="utf-8")
    output = tmp_path / "raw" / "hhs_enforcement" / "releases.jsonl"
    output.parent.mkdir(parents=True)
    output.write_text("pages of an earlier export\n")
    result = _crawl(export, tmp_path / "raw")
    assert result.returncode == 0, result.stderr
    assert output.read_text() == ""


# -- the 2026 layout (issue 16) -------------------------------------------------------------------

REAL_2026_PAGE = SNAPSHOT_DIR / "hhs_pages" / "guidance-risk-analysis_2026-10-01.html"
REAL_2026_URL = "https://www.hhs.gov/hipaa/for-professionals/security/guidance/guidance-risk-analysis/index.html"


def _real_2026_page() -> bytes:
    if not REAL_2026_PAGE.exists():
        pytest.skip(f"{REAL_2026_PAGE} not found (the real 2026 hhs.gov page, read in place)")
    return REAL_2026_PAGE.read_bytes()


def test_real_2026_page_is_dated_by_its_publication_not_its_review_stamp() -> None:
    """The first <time> in <main> is "Content last reviewed 2026-08-12"; JSON-LD datePublished is 2010-07-14."""
    items, _ = _run_callback("parse_case_page", REAL_2026_URL, _real_2026_page())
    [item] = items
    assert item["published"] == "2010-07-14"
    assert item["title"] == "Guidance on Risk Analysis"
    assert "Content last reviewed" not in item["text"]


@pytest.mark.parametrize(
    "head, published",
    [
        ('<meta name="article:published_time" content="2025-05-30 04:00:00" />', "2025-05-30"),
        ("", None),  # only the review stamp: no publication date, rather than the wrong one
    ],
)
def test_review_stamp_is_never_the_publication_date(head: str, published: str | None) -> None:
    # Hand-written 2026-shaped page: no JSON-LD, the review stamp after the article inside <main>.
    body = (
        f"<html><head>{head}</head><body><main><h1>A page</h1><article><p>Text.</p></article>"
        '<div class="page-stamp"><span class="hide-date">Content last reviewed '
        '<time datetime="2026-08-12T04:00:00Z">August 12, 2026</time></span></div></main></body></html>'
    ).encode()
    items, _ = _run_callback("parse_case_page", CASE_URL, body)
    assert items[0]["published"] == published


PRESS_ROOM_URL = "https://www.hhs.gov/press-room/ocr-hipaa-racap-deer-oaks.html"


def test_press_room_header_is_a_date_source_and_not_text() -> None:
    body = (FIXTURES / "press_room_2026.html").read_bytes()
    items, _ = _run_callback("parse_press_release", PRESS_ROOM_URL, body)
    [item] = items
    assert item["published"] == "2025-07-07"  # the header's date, not the review stamp of the 8th
    assert item["title"].startswith("HHS Office for Civil Rights Settles HIPAA Ransomware Investigation")
    assert item["text"].startswith("Today, the U.S. Department of Health and Human Services (HHS)")
    for header in ("FOR IMMEDIATE RELEASE", "Contact", "202-690-6343", "Submit a Request for Comment"):
        assert header not in item["text"]
    assert not any("media-inquiries" in u or u.startswith("mailto:") for u in item["links"])
    [action] = extract_actions(item)
    assert action["announced"] == "2025-07-07" and action["amount_usd"] == 225000
    assert action["summary"].startswith("Today, the U.S. Department")


def test_press_room_header_in_one_block() -> None:
    # Hand-written: the same header as one paragraph with line breaks.
    body = (
        b"<html><body><main><p>FOR IMMEDIATE RELEASE<br>December 16, 2025<br>Contact: HHS Press Office<br>"
        b"202-690-6343<br>media@hhs.gov<br><a href='/x'>Submit a Request for Comment</a></p>"
        b"<h1>OCR Settles with Concentra</h1><p>The story.</p></main></body></html>"
    )
    items, _ = _run_callback(
        "parse_press_release", "https://www.hhs.gov/press-room/ocr-settles-with-concentra.html", body
    )
    assert (items[0]["published"], items[0]["text"]) == ("2025-12-16", "The story.")


@pytest.mark.parametrize(
    "body, error",
    [
        # Hand-written: an HTML block page served at a .pdf address, as Akamai does.
        (b"<html><head><title>Access Denied</title></head><body>Access Denied</body></html>", "not a PDF"),
        (b"%PDF-1.7\n% a truncated file, no objects, no xref\n", "unreadable PDF"),
    ],
)
def test_a_bad_pdf_becomes_an_item_with_its_error(body: bytes, error: str) -> None:
    url = "https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-pih.pdf"
    items, requests = _run_callback("parse_pdf", url, body)
    [item] = items
    assert (item["url"], item["kind"], item["text"], requests) == (url, "agreement_pdf", None, [])
    assert item["error"].startswith(error)


def _curated_hhs_addresses() -> list[str]:
    """Every hhs.gov address anywhere in the curated actions (hhs_urls, evidence ...)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and re.match(r"https?://(?:www\.)?hhs\.gov/", value):
            found.add(value)

    for line in (REPO_ROOT / "data" / "curated" / "ocr_actions.jsonl").read_text(encoding="utf-8").splitlines():
        walk(json.loads(line))
    return sorted(found)


def test_every_hhs_address_of_the_curated_actions_is_recognised() -> None:
    from crawlers.spiders.hhs_enforcement import url_kind

    addresses = _curated_hhs_addresses()
    assert len(addresses) > 100
    assert [u for u in addresses if url_kind(u) is None] == []


@pytest.mark.parametrize(
    "url, kind",
    [
        ("https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/index.html", None),
        ("https://www.hhs.gov/press-room/index.html", None),
        ("https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/MCPN.html", "case_page"),
        ("https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/bostoncases/", "case_page"),
        ("https://www.hhs.gov/guidance/document/cvs-settlement-landing-page", "case_page"),
        ("http://www.hhs.gov/news/press/2014pres/04/20140422b.html", "press_release"),
        ("https://www.hhs.gov/press-room/ocr-hipaa-racap-deer-oaks.html", "press_release"),
        ("https://www.hhs.gov/sites/default/files/ocr-concentra-npd.pdf?language=en", "agreement_pdf"),
        ("https://hhs.gov/about/agencies/dab/decisions/alj-decisions/2023/alj-cr6232/index.html", "decision"),
        ("https://www.example.org/press-room/ocr-hipaa-racap-deer-oaks.html", None),
    ],
)
def test_url_kind(url: str, kind: str | None) -> None:
    from crawlers.spiders.hhs_enforcement import url_kind

    assert url_kind(url) == kind


AGREEMENTS = "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/"


def test_2026_index_follows_case_pages_of_every_shape_press_releases_and_pdfs() -> None:
    body = (FIXTURES / "agreements_index_2026.html").read_bytes()
    items, requests = _run_callback("parse_index", INDEX_URL, body)
    assert items == []
    assert [(r.url, r.callback.__name__) for r in requests] == [
        ("https://www.hhs.gov/press-room/ocr-hipaa-racap-deer-oaks.html", "parse_press_release"),
        ("https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-pih.pdf", "parse_pdf"),
        ("https://www.hhs.gov/press-room/ocr-settles-with-concentra.html", "parse_press_release"),
        ("https://www.hhs.gov/sites/default/files/ocr-concentra-npd.pdf", "parse_pdf"),  # ?language=en dropped
        (AGREEMENTS + "optum-medical-care.html", "parse_case_page"),
        (AGREEMENTS + "MCPN.html", "parse_case_page"),
        (AGREEMENTS + "anthem/index.html", "parse_case_page"),
        (AGREEMENTS + "bostoncases/", "parse_case_page"),
        (
            "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/examples/rite-aid/index.html",
            "parse_case_page",
        ),
        ("https://www.hhs.gov/guidance/document/case-example-cignet-health", "parse_case_page"),
        (
            "https://www.hhs.gov/about/news/2019/05/23/indiana-medical-records-service-pays-100000-to-settle-hipaa-breach.html",
            "parse_press_release",
        ),
        ("https://www.hhs.gov/news/press/2014pres/04/20140422b.html", "parse_press_release"),  # http: one address
        (OLD_CASE_URL, "parse_case_page"),
    ]


def test_press_release_follows_its_pdfs() -> None:
    body = (FIXTURES / "press_room_2026.html").read_bytes()
    _, requests = _run_callback("parse_press_release", PRESS_ROOM_URL, body)
    assert [(r.url, r.callback.__name__) for r in requests] == [
        ("https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-deer-oaks.pdf", "parse_pdf")
    ]


def test_archive_route_reads_the_hhs_address_and_capture_time_from_the_capture_address() -> None:
    capture = f"https://web.archive.org/web/20250708123456id_/{PRESS_ROOM_URL}"
    body = (FIXTURES / "press_room_2026.html").read_bytes()
    items, requests = _run_callback("parse_press_release", capture, body, route="archive", as_of="20261201")
    [item] = items
    assert (item["url"], item["fetched_from"], item["captured"]) == (PRESS_ROOM_URL, capture, "2025-07-08T12:34:56Z")
    # the page's relative links are hhs.gov addresses, asked of the archive as of the crawl's timestamp
    assert "https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-deer-oaks.pdf?language=en" in item["links"]
    assert [(r.url, r.meta["hhs_url"]) for r in requests] == [
        (
            "https://web.archive.org/web/20261201id_/https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-deer-oaks.pdf",
            "https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-deer-oaks.pdf",
        )
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"route": "browser"}, "-a route='browser': expected 'archive' or 'direct'"),
        ({"as_of": "yesterday"}, "-a as_of='yesterday': expected a UTC timestamp YYYYMMDD[hhmmss]"),
    ],
)
def test_bad_route_arguments_are_named(args: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        HhsEnforcementSpider(**args)


def test_inspect_hhs_page_on_the_real_2026_page() -> None:
    from crawlers.inspect_hhs import inspect_hhs_page

    got = inspect_hhs_page(_real_2026_page(), REAL_2026_URL)
    assert (got["title"], got["published"], got["kind"]) == ("Guidance on Risk Analysis", "2010-07-14", None)
    assert got["links"]["case_pages"] == got["links"]["press_releases"] == []
    assert "https://www.hhs.gov/sites/default/files/small-practice-security-guide-1.pdf" in got["links"]["pdfs"]
    assert json.loads(json.dumps(got)) == got  # printable as JSON as it is


def test_inspect_hhs_page_on_a_2026_index() -> None:
    from crawlers.inspect_hhs import inspect_hhs_page

    got = inspect_hhs_page((FIXTURES / "agreements_index_2026.html").read_bytes(), INDEX_URL)
    assert (got["title"], got["kind"]) == ("Resolution Agreements", None)
    assert len(got["links"]["case_pages"]) == 7 and len(got["links"]["press_releases"]) == 4
    assert got["links"]["pdfs"] == [
        "https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-pih.pdf",
        "https://www.hhs.gov/sites/default/files/ocr-concentra-npd.pdf",
    ]
