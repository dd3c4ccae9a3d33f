"""Malformed Breach Portal exports through the real pipeline (`kb build` in a subprocess).

The exports are made at test time from real recorded rows (tests/snapshot_builds.py), each damaged in one
known way, so every expectation below is about a row whose line we placed ourselves. Rows come from the
under-investigation export (no Web Description) and description-less archive rows, so these builds embed
nothing new: their cache starts with the run's action vectors (tests/snapshot_builds.py).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from snapshot_builds import (
    ARCHIVE,
    JULY,
    ROWS_LINE,
    build_command,
    build_env,
    csv_record,
    export_records,
    make_snapshot,
    read_fields,
    run_build,
    sha256,
)
from test_exports import PART2_HEADER_ONLY  # hand-written: the empty Part 2 list's 8-column header (see there)

from crawlers.exports import EXPORT_NAME_PATTERN

PART2_EMPTY = "breach_report_part2_under_investigation_2026-08-01.csv"

# physical line in the damaged July export -> (rejected field, words the reason must contain)
JULY_REJECTED = {
    7: ("row", "expected 9 columns, got 8"),
    10: ("row", "field larger than field limit"),
    11: ("submission_date", "impossible date '00/00/0000'"),
    12: ("submission_date", "impossible date '02/30/2020'"),
    13: ("submission_date", "2913-01-15 is after the export date (2026-07-15)"),
    14: ("individuals_affected", "negative count '-1,200'"),
    15: ("individuals_affected", "not a whole number 'many'"),
}
FIVE_MB = 5 * 1024 * 1024


def damaged_july() -> tuple[bytes, dict[str, list[str]]]:
    """The July export's header and 15 of its rows, damaged; and the real fields of the rows kept intact."""
    header, records = export_records(JULY)
    rows = [read_fields(r) for r in records[:15]]
    lines: list[bytes] = [header] + records[:5]  # lines 1-6: header, 5 good rows
    lines.append(csv_record(rows[5][:8]).encode())  # 7: a column missing
    cp1252 = [f"{rows[6][0].strip()} \u201cEast\u201d", *rows[6][1:]]
    lines.append(csv_record(cp1252).encode("cp1252"))  # 8: curly quotes in cp1252
    lines.append(csv_record([rows[7][0].replace(" ", " \x00", 1), *rows[7][1:]]).encode())  # 9: a NUL byte
    lines.append(csv_record([*rows[8][:8], "x" * FIVE_MB]).encode())  # 10: a 5 MB description
    for row, date in zip(
        rows[9:12], ["00/00/0000", "02/30/2020", "01/15/2913"], strict=True
    ):  # 11-13: impossible dates
        lines.append(csv_record([*row[:4], date, *row[5:]]).encode())
    for row, count in zip(rows[12:14], ["-1,200", "many"], strict=True):  # 14-15: bad counts
        lines.append(csv_record([*row[:3], count, *row[4:]]).encode())
    lines.append(records[14])  # 16: good
    intact = {"good": [r[0] for r in rows[:5]] + [rows[14][0]], "cp1252": cp1252, "nul": rows[7]}
    return b"\n".join(lines) + b"\n", intact


def truncated_archive() -> tuple[bytes, list[str], int]:
    """Header, three one-line description-less archive rows, then a row cut inside its description (no final
    newline: the file ends mid-record). Returns the bytes, the good rows' names and the cut record's line."""
    header, records = export_records(ARCHIVE)
    plain = [r for r in records if b"\n" not in r and read_fields(r)[8] == ""][:3]
    described = next(r for r in records if b"\n" not in r and len(read_fields(r)[8]) > 200)
    cut = described[: len(described) - 100]
    return b"\n".join([header, *plain, cut]), [read_fields(r)[0] for r in plain], 5


@pytest.fixture(scope="module")
def good_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("bad-input")
    july, intact = damaged_july()
    archive, archive_names, cut_line = truncated_archive()
    exports = {JULY: july, ARCHIVE: archive, PART2_EMPTY: PART2_HEADER_ONLY}
    snapshot = make_snapshot(root, exports)
    result = run_build(root, snapshot)
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        "root": root,
        "exports": exports,
        "intact": intact,
        "archive_names": archive_names,
        "cut_line": cut_line,
        "output": result.stdout,
        "db": root / "kb.db",
    }


def _query(db: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_every_bad_row_is_rejected_with_file_line_field_reason(good_build: dict) -> None:
    rejected = _query(
        good_build["db"], "select * from rejected_rows where source = 'breach_portal' order by file, line"
    )
    by_place = {(r["file"], r["line"]): r for r in rejected}
    expected = {(JULY, line) for line in JULY_REJECTED} | {(ARCHIVE, good_build["cut_line"])}
    assert set(by_place) == expected
    for line, (field, reason) in JULY_REJECTED.items():
        row = by_place[(JULY, line)]
        assert row["field"] == field and reason in row["reason"], dict(row)
        assert row["raw"]  # the record's text is kept for review
    cut = by_place[(ARCHIVE, good_build["cut_line"])]
    assert cut["field"] == "row" and "unexpected end of data" in cut["reason"]
    assert len(by_place[(JULY, 10)]["raw"]) > FIVE_MB  # the whole oversized record, not a stub


def test_every_rejection_is_printed_as_one_line(good_build: dict) -> None:
    """`file:line: field 'x': reason`, one line per failing field, and no traceback anywhere."""
    printed = [line.removeprefix("reject ") for line in good_build["output"].splitlines() if line.startswith("reject ")]
    for line, (field, reason) in JULY_REJECTED.items():
        [message] = [m for m in printed if m.startswith(f"{JULY}:{line}: field {field!r}: ")]
        assert reason in message
    assert any(
        m.startswith(f"{ARCHIVE}:{good_build['cut_line']}: field 'row': ") and "unexpected end of data" in m
        for m in printed
    )
    assert len(printed) == len(JULY_REJECTED) + 1
    assert "Traceback" not in good_build["output"]


def test_header_only_part2_export_is_listed_with_no_rows(good_build: dict) -> None:
    """The empty Part 2 list (its export is the header alone) leaves a trace: an `exports` row, rows read 0."""
    [export] = _query(good_build["db"], "select * from exports where file = ?", (PART2_EMPTY,))
    assert (export["list"], export["tab"], export["export_date"]) == ("part2", "under_investigation", "2026-08-01")
    assert (export["rows_read"], export["rows_loaded"], export["rows_rejected"]) == (0, 0, 0)
    assert export["sha256"] == sha256(good_build["root"] / "snapshot" / "breach_portal" / PART2_EMPTY)
    assert (
        f"{PART2_EMPTY} (under_investigation, 2026-08-01): rows read 0 = loaded 0 + rejected 0" in good_build["output"]
    )
    raw = good_build["root"] / "raw" / "breach_portal" / f"{Path(PART2_EMPTY).stem}.jsonl"
    [item] = [json.loads(line) for line in raw.read_text().splitlines()]
    assert (item["record"], item["fields"], item["raw"]) == (0, None, PART2_HEADER_ONLY.decode().rstrip("\n"))
    assert not _query(good_build["db"], "select id from breaches where list = 'part2'")
    columns = {r["name"] for r in _query(good_build["db"], "select name from pragma_table_info('breaches')")}
    assert {"qualified_service_organization_present", "business_associate_present", "text_flag"} <= columns


def test_good_rows_still_load_and_the_counts_reconcile(good_build: dict) -> None:
    db = good_build["db"]
    names = {r["entity_name"] for r in _query(db, "select entity_name from breaches")}
    intact = good_build["intact"]
    for name in intact["good"] + good_build["archive_names"]:
        assert " ".join(name.split()) in names
    exports = {r["file"]: r for r in _query(db, "select * from exports")}
    assert (exports[JULY]["rows_read"], exports[JULY]["rows_loaded"], exports[JULY]["rows_rejected"]) == (15, 8, 7)
    assert (exports[ARCHIVE]["rows_read"], exports[ARCHIVE]["rows_loaded"], exports[ARCHIVE]["rows_rejected"]) == (
        4,
        3,
        1,
    )
    match = ROWS_LINE.search(good_build["output"])
    assert match and tuple(map(int, match.groups())) == (19, 11, 8)
    assert len(names) == 11


def test_cp1252_record_and_nul_byte_are_read_not_rejected(good_build: dict) -> None:
    db, intact = good_build["db"], good_build["intact"]
    [curly] = _query(db, "select * from breaches where entity_name like ?", ("%\u201cEast\u201d%",))
    assert curly["entity_name"] == intact["cp1252"][0]
    assert curly["state"] == intact["cp1252"][1]
    raw = (good_build["root"] / "raw" / "breach_portal" / f"{Path(JULY).stem}.jsonl").read_text()
    line8 = next(json.loads(text) for text in raw.splitlines() if json.loads(text)["line"] == 8)
    assert line8["encoding"] == "cp1252"
    nul_name = " ".join(intact["nul"][0].split())
    [clean] = _query(db, "select entity_name from breaches where entity_name = ?", (nul_name,))
    assert "\x00" not in clean["entity_name"]
    assert not _query(db, "select id from breaches where instr(entity_name, char(0)) or instr(description, char(0))")


# A file that cannot be read at all: the build stops naming it, and nothing already built is replaced.
# HAND-WRITTEN test input (the HTML page below says so in a comment inside it).
UNREADABLE = {
    "html_page": (
        b"<!DOCTYPE html>\n<!-- hand-written test fixture: what the portal serves with status 200 when an "
        b"export post is wrong -->\n<html><head><title>Breach Portal: Notice to the Secretary of HHS Breach "
        b'of Unsecured Protected Health Information</title></head><body><form id="ocrForm"></form>'
        b"</body></html>\n",
        "not a CSV export",
    ),
    "unknown_header": (None, "unrecognised hipaa export header"),
    "empty_file": (b"", "empty export"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_unreadable_file_fails_the_build_naming_it_and_keeps_the_old_database(good_build: dict, case: str) -> None:
    root, db = good_build["root"], good_build["db"]
    body, message = UNREADABLE[case]
    if body is None:  # the real July export with its first column renamed
        first_title, rest = good_build["exports"][JULY].split(b",", 1)
        body = b'"Entity Name",' + rest
        assert first_title.startswith(b'"javax.faces.component.UIPanel@')
    bad_name = "breach_report_under_investigation_2026-08-01.csv"
    snapshot = make_snapshot(root, {**good_build["exports"], bad_name: body}, name=f"snapshot-{case}")
    raw_files = {p: sha256(p) for p in (root / "raw").rglob("*.jsonl")}
    db_before = sha256(db)

    result = run_build(root, snapshot)

    assert result.returncode != 0
    assert bad_name in result.stderr and message in result.stderr, result.stderr[-3000:]
    assert sha256(db) == db_before
    assert not list(root.glob("kb.db.tmp-*"))
    assert {p: sha256(p) for p in (root / "raw").rglob("*.jsonl")} == raw_files


def test_misnamed_export_fails_the_build_with_one_line(good_build: dict) -> None:
    """The portal names every download breach_report.csv; dropped into the snapshot as it is, it stops the
    build with one line naming it and the expected pattern, and no traceback."""
    root, db = good_build["root"], good_build["db"]
    snapshot = make_snapshot(
        root, {**good_build["exports"], "breach_report.csv": good_build["exports"][JULY]}, name="snapshot-misnamed"
    )
    db_before = sha256(db)

    result = run_build(root, snapshot)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    path = snapshot / "breach_portal" / "breach_report.csv"
    [line] = [text for text in result.stderr.splitlines() if str(path) in text]
    assert f"{path}: file name: " in line and EXPORT_NAME_PATTERN in line and "kb import-export" in line
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr  # kb's error, that line, the crawl's verdict
    assert sha256(db) == db_before


def test_a_folder_named_like_an_export_fails_the_build_with_one_line(good_build: dict) -> None:
    root = good_build["root"]
    snapshot = make_snapshot(root, good_build["exports"], name="snapshot-folder")
    folder = snapshot / "breach_portal" / "breach_report_archive_2030-01.csv"
    folder.mkdir()
    result = run_build(root, snapshot)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    [line] = [text for text in result.stderr.splitlines() if str(folder) in text]
    assert f"{folder}: cannot read the export: " in line


# A raw file damaged by hand (the loader's input): one line `path:line: field 'x': reason`, no traceback.
RAW_DAMAGE = {
    "not json": (lambda item: "{not json", "not valid JSON"),
    "not an object": (lambda item: "[1, 2]", "not a raw item"),
    "no fields": (lambda item: {k: v for k, v in item.items() if k != "fields"}, "field 'fields': missing"),
    "fields a list": (lambda item: dict(item, fields=["a", "b"]), "field 'fields': expected an object"),
    "a number for a name": (
        lambda item: dict(item, fields=dict(item["fields"], name=7)),
        "field 'fields': expected an object",
    ),
    "line as text": (lambda item: dict(item, line="7"), "field 'line': expected a line number"),
    "export date a number": (lambda item: dict(item, export_date=2026), "field 'export_date': expected a string"),
    "bad export date": (lambda item: dict(item, export_date="2026-13"), "field 'export_date': "),
    "unknown tab": (lambda item: dict(item, tab="closed"), "field 'tab': unknown tab 'closed'"),
    "other export": (lambda item: dict(item, export_sha256="0" * 64), "field 'export_sha256': "),
    "export item among records": (lambda item: dict(item, record=0, fields=None), "field 'record': an export item"),
}


@pytest.mark.parametrize("case", list(RAW_DAMAGE))
def test_damaged_raw_file_is_one_line_naming_path_line_and_field(good_build: dict, tmp_path: Path, case: str) -> None:
    import sqlite_utils

    from etl.context import BuildError
    from etl.load_breaches import load

    source = good_build["root"] / "raw" / "breach_portal" / f"{Path(JULY).stem}.jsonl"
    lines = source.read_text().splitlines()
    damage, message = RAW_DAMAGE[case]
    damaged = damage(json.loads(lines[2]))
    lines[2] = damaged if isinstance(damaged, str) else json.dumps(damaged)
    folder = tmp_path / "breach_portal"
    folder.mkdir()
    target = folder / source.name
    target.write_text("\n".join(lines) + "\n")
    with pytest.raises(BuildError) as e:
        load(sqlite_utils.Database(memory=True), folder, echo=lambda _: None)
    assert str(e.value).startswith(f"{target}:3: ") and message in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_unchanged_snapshot_skips_the_replay_but_an_edited_raw_file_is_crawled_again(good_build: dict) -> None:
    root = good_build["root"]
    snapshot = make_snapshot(root, good_build["exports"], name="snapshot-again")
    first = run_build(root, snapshot)  # replays unless the last build used the same files
    assert first.returncode == 0, first.stderr
    db_sha = sha256(root / "kb.db")
    raw = root / "raw" / "breach_portal" / f"{Path(JULY).stem}.jsonl"
    raw_sha = sha256(raw)

    again = run_build(root, snapshot)
    assert again.returncode == 0, again.stderr
    assert "breach_portal: " in again.stdout and "unchanged since the last replay" in again.stdout
    assert "replaying" not in again.stdout
    assert sha256(root / "kb.db") == db_sha  # same input, same bytes

    raw.write_text(raw.read_text().replace('"line": 2,', '"line": 99,'))  # someone edits a raw file
    edited = run_build(root, snapshot)
    assert edited.returncode == 0, edited.stderr
    assert f"breach_portal: replaying {snapshot / 'breach_portal'}" in edited.stdout
    assert sha256(raw) == raw_sha and sha256(root / "kb.db") == db_sha


def test_a_build_from_unchanged_inputs_keeps_the_database_and_force_rebuilds_the_same_bytes(good_build: dict) -> None:
    root = good_build["root"]
    snapshot = make_snapshot(root, good_build["exports"], name="snapshot-stamp")
    assert run_build(root, snapshot).returncode == 0
    db_sha = sha256(root / "kb.db")

    kept = run_build(root, snapshot)
    assert kept.returncode == 0, kept.stderr
    assert "inputs unchanged since" in kept.stdout and "database kept" in kept.stdout
    assert "built " not in kept.stdout
    assert "embed " not in kept.stdout  # no stage ran
    assert sha256(root / "kb.db") == db_sha

    forced = subprocess.run(
        [*build_command(root, snapshot), "--force"], capture_output=True, text=True, cwd=REPO_ROOT, env=build_env()
    )
    assert forced.returncode == 0, forced.stderr
    assert "built " in forced.stdout and sha256(root / "kb.db") == db_sha  # same input, same bytes

    # a curated file changes: the stages run again, and the change shows
    link = root / "curated" / "incidents.csv"
    original = link.read_text(encoding="utf-8")
    link.unlink()
    link.write_text(original.replace("Anthem cyberattack, 2015", "Anthem cyberattack (2015)"), encoding="utf-8")
    try:
        changed = run_build(root, snapshot)
        assert changed.returncode == 0, changed.stderr
        assert "built " in changed.stdout
        titles = {r["title"] for r in _query(root / "kb.db", "select title from incidents")}
        assert "Anthem cyberattack (2015)" in titles
    finally:
        link.unlink()
        link.symlink_to(REPO_ROOT / "data" / "curated" / "incidents.csv")
    restored = run_build(root, snapshot)
    assert "built " in restored.stdout and sha256(root / "kb.db") == db_sha
