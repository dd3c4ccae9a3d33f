"""`kb import-export`: a hand-downloaded export (the portal names every download breach_report.csv) checked and
copied into a snapshot under the name the build reads. The files imported are the real recorded exports
(copied to a temporary folder under the portal's download name), a header-only Part 2 export (hand-written,
see tests/test_exports.py) and damaged copies made here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO_ROOT, SNAPSHOT_DIR
from test_exports import PART2_HEADER_ONLY

from crawlers.exports import export_info_from_name
from etl.cli import cli
from etl.import_export import ImportExportError, import_export

APRIL = SNAPSHOT_DIR / "breach_portal" / "breach_report_under_investigation_2026-04.csv"
APRIL_NAME = "breach_report_under_investigation_2026-04.csv"


@pytest.fixture
def download(tmp_path: Path) -> Path:
    """The real April 2026 export as the browser saves it."""
    path = tmp_path / "downloads" / "breach_report.csv"
    path.parent.mkdir()
    path.write_bytes(APRIL.read_bytes())
    return path


def portal_files(snapshot: Path) -> list[str]:
    folder = snapshot / "breach_portal"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_import_places_the_file_under_its_export_name(download: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot"
    result = import_export(download, "under_investigation", "2026-04", "hipaa", snapshot)
    assert result.target == snapshot / "breach_portal" / APRIL_NAME and result.created
    assert result.target.read_bytes() == APRIL.read_bytes()
    assert (result.records, result.unreadable, result.newest_submission) == (702, 0, "2026-04-07")  # README: 702
    assert portal_files(snapshot) == [APRIL_NAME]  # no temporary file left
    info = export_info_from_name(result.target.name)
    assert (info.list, info.tab, info.export_date) == ("hipaa", "under_investigation", "2026-04")


def test_import_again_is_a_no_op_but_other_bytes_are_never_overwritten(download: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot"
    import_export(download, "under_investigation", "2026-04", "hipaa", snapshot)
    again = import_export(download, "under_investigation", "2026-04", "hipaa", snapshot)
    assert not again.created and again.target.read_bytes() == APRIL.read_bytes()

    header, _, rest = APRIL.read_bytes().partition(b"\n")
    other = download.with_name("breach_report (1).csv")
    other.write_bytes(header + b"\n" + rest.split(b"\n", 1)[1])  # one record fewer
    with pytest.raises(ImportExportError, match="already exists with other content") as e:
        import_export(other, "under_investigation", "2026-04", "hipaa", snapshot)
    assert "\n" not in str(e.value)
    assert (snapshot / "breach_portal" / APRIL_NAME).read_bytes() == APRIL.read_bytes()
    assert portal_files(snapshot) == [APRIL_NAME]


def test_a_file_appearing_meanwhile_is_not_replaced(
    download: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final step is a hard link, which fails instead of replacing a file another process just wrote."""
    snapshot = tmp_path / "snapshot"
    target = snapshot / "breach_portal" / APRIL_NAME
    real_link = os.link

    def racing_link(src, dst):
        Path(dst).write_bytes(b"written by someone else meanwhile\n")
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(ImportExportError, match="appeared meanwhile"):
        import_export(download, "under_investigation", "2026-04", "hipaa", snapshot)
    assert target.read_bytes() == b"written by someone else meanwhile\n"
    assert portal_files(snapshot) == [APRIL_NAME]


def test_header_only_part2_export_is_imported(tmp_path: Path) -> None:
    download = tmp_path / "breach_report.csv"
    download.write_bytes(PART2_HEADER_ONLY)
    result = import_export(download, "under_investigation", "2026-08-01", "part2", tmp_path / "snapshot")
    assert result.target.name == "breach_report_part2_under_investigation_2026-08-01.csv"
    assert (result.records, result.newest_submission) == (0, None)


@pytest.mark.parametrize(
    "case, args, message",
    [
        ("wrong list", ("under_investigation", "2026-04", "part2"), "line 1: unrecognised part2 export header"),
        (
            "date too early",
            ("under_investigation", "2026-03", "hipaa"),
            ":2: field 'submission_date': 04/07/2026 is after the export date 2026-03; is --date right?",
        ),
        ("bad date", ("under_investigation", "2026-13", "hipaa"), "--date '2026-13'"),
        ("bad day", ("under_investigation", "2026-02-30", "hipaa"), "--date '2026-02-30'"),
        ("not a date", ("under_investigation", "April", "hipaa"), "expected YYYY-MM or YYYY-MM-DD"),
        ("bad tab", ("closed", "2026-04", "hipaa"), "--tab 'closed'"),
    ],
)
def test_bad_import_is_refused_with_one_line_and_writes_nothing(
    download: Path, tmp_path: Path, case: str, args: tuple, message: str
) -> None:
    snapshot = tmp_path / "snapshot"
    with pytest.raises(ImportExportError) as e:
        import_export(download, *args, snapshot_dir=snapshot)
    assert message in str(e.value) and "\n" not in str(e.value), str(e.value)
    if case in ("wrong list", "date too early"):
        assert str(e.value).startswith(str(download))
    assert portal_files(snapshot) == []


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "empty export"),
        # HAND-WRITTEN test input: what the portal answers a wrong export post with
        (b'<!DOCTYPE html>\n<html><body><form id="ocrForm"></form></body></html>\n', "not a CSV export"),
        (b'"Name","State"\n"A","WI"\n', "line 1: unrecognised hipaa export header"),
    ],
)
def test_non_exports_are_refused(tmp_path: Path, body: bytes, message: str) -> None:
    download = tmp_path / "breach_report.csv"
    download.write_bytes(body)
    with pytest.raises(ImportExportError, match=message) as e:
        import_export(download, "archive", "2026-07-15", "hipaa", tmp_path / "snapshot")
    assert str(e.value).startswith(f"{download}: ")
    assert portal_files(tmp_path / "snapshot") == []


def test_cli_imports_then_the_crawler_replays_the_file(download: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot"
    args = [
        "import-export",
        str(download),
        "--tab",
        "under_investigation",
        "--date",
        "2026-04",
        "--snapshot-dir",
        str(snapshot),
    ]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert (
        first.output
        == f"imported {snapshot / 'breach_portal' / APRIL_NAME} (702 records, newest submission 2026-04-07)\n"
    )
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0 and second.output.startswith("already there, unchanged: ")
    refused = CliRunner().invoke(cli, [*args[:5], "2026-03", *args[6:]])
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit)  # a ClickException, no traceback
    [line] = refused.output.splitlines()
    assert line.startswith(f"Error: {download}:2: field 'submission_date': ")

    # the crawler reads the imported file by its name, like every recorded export
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "breach_portal",
            "-a",
            f"export={snapshot / 'breach_portal'}",
            "-s",
            f"RAW_DIR={tmp_path / 'raw'}",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert replay.returncode == 0, replay.stderr
    items = [
        json.loads(text)
        for text in (tmp_path / "raw" / "breach_portal" / "breach_report_under_investigation_2026-04.jsonl")
        .read_text()
        .splitlines()
    ]
    assert len(items) == 702 and {(i["list"], i["tab"], i["export_date"]) for i in items} == {
        ("hipaa", "under_investigation", "2026-04")
    }
