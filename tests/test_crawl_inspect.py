"""`kb crawl --inspect PAGE.html`: what the crawler reads from a saved page, as JSON (docs/crawling.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO_ROOT, SNAPSHOT_DIR

from etl.cli import cli

REAL_PORTAL_PAGE = SNAPSHOT_DIR / "breach_portal_pages" / "breach_report_2025-05-27.html"
REAL_HHS_PAGE = SNAPSHOT_DIR / "hhs_pages" / "guidance-risk-analysis_2026-10-01.html"
# hand-written after the documented 2026 structure (the file says so)
PORTAL_2026 = REPO_ROOT / "tests" / "golden" / "breach_portal" / "breach_report_hip.html"


def inspect(path: Path, *args: str) -> dict:
    if not path.exists():
        pytest.skip(f"{path} is not in this snapshot")
    result = CliRunner().invoke(cli, ["crawl", "--inspect", str(path), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_real_2025_portal_page_shows_its_csv_command_and_reported_rows() -> None:
    found = inspect(REAL_PORTAL_PAGE)
    assert found["page"] == "breach_portal"
    assert (found["list"], found["grid"], found["empty"]) == ("hipaa", True, False)
    assert found["csv_command"] == "ocrForm:j_idt366"
    assert found["reported_rows"] == 797
    assert found["tab_view"] is None  # in 2025 the archive was behind a button, not a tab


def test_a_2026_portal_page_shows_its_tab_view_and_archive_tab() -> None:
    found = inspect(PORTAL_2026)
    assert found["tab_view"] == "ocrForm:j_idt31"
    assert found["archive_tab"] == "ocrForm:j_idt31:archiveTab"
    assert found["csv_command"] == "ocrForm:j_idt389"


def test_the_real_2026_hhs_page_is_dated_by_its_publication_not_its_review() -> None:
    found = inspect(REAL_HHS_PAGE)
    assert found["page"] == "hhs.gov"
    assert found["published"] == "2010-07-14"  # its "Content last reviewed" stamp says 2026-08-12
    assert found["url"].endswith("/guidance-risk-analysis/index.html")  # its own canonical address
    assert found["title"] == "Guidance on Risk Analysis"
    assert found["links"]["pdfs"] and all(u.endswith(".pdf") for u in found["links"]["pdfs"])


def test_an_address_given_with_url_is_used_to_tell_the_kind() -> None:
    url = "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/example/index.html"
    found = inspect(REAL_HHS_PAGE, "--url", url)
    assert found["url"] == url and found["kind"] == "case_page"
