"""Override rows whose target is absent from the build: skipped, printed and listed in `override_problems`;
malformed rows still stop the build; the project's own snapshot has no skipped row.

The small builds are the real `kb build` on five real rows of the July export (tests/snapshot_builds.py),
with the project's curated files as they are: the entity and link overrides name breach reports of the full
snapshot, which these builds lack.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from snapshot_builds import JULY, build_command, build_env, export_records, make_snapshot, run_build, sha256

from etl import override_problems
from etl.context import BuildContext

CURATED = REPO_ROOT / "data" / "curated"
# The reviewed files that name records of the full snapshot (incident_links.csv: the reports and actions of an
# incident), whose rows a smaller build skips and lists.
OVERRIDE_FILES = (
    "entity_overrides.csv",
    "link_overrides.csv",
    "sector_overrides.csv",
    "topic_overrides.csv",
    "incident_links.csv",
)
SKIPPED_LINE = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+): field '(?P<field>[^']*)': (?P<reason>.*) \(override skipped\)$", re.M
)


def _ctx(db, tmp_path: Path, lines: list[str]) -> BuildContext:
    return BuildContext(
        db=db,
        snapshot_dir=tmp_path,
        raw_dir=tmp_path,
        cache_dir=tmp_path,
        curated_dir=tmp_path,
        previous_db=None,
        echo=lines.append,
    )


def _rows(db_path: Path) -> list[dict]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        if not conn.execute("select 1 from sqlite_master where name = 'override_problems'").fetchone():
            pytest.fail("no override_problems table: etl.build.STAGES must run override_problems.stage")
        return [dict(r) for r in conn.execute("select * from override_problems order by id")]
    finally:
        conn.close()


# --- the table ------------------------------------------------------------------------------------


def test_stage_writes_the_build_warnings(fresh_db, tmp_path):
    lines: list[str] = []
    ctx = _ctx(fresh_db, tmp_path, lines)
    found = [
        override_problems.problem("data/curated/link_overrides.csv", 3, "breach_id", "no breach 'x'"),
        override_problems.problem(Path("data/curated/entity_overrides.csv"), 9, "match", "'name:Y' matches no record"),
    ]
    override_problems.report(found, ctx.echo, ctx.warnings)
    assert lines == [
        "data/curated/link_overrides.csv:3: field 'breach_id': no breach 'x' (override skipped)",
        "data/curated/entity_overrides.csv:9: field 'match': 'name:Y' matches no record (override skipped)",
    ]
    override_problems.stage(ctx)
    assert list(fresh_db["override_problems"].rows) == [
        {
            "id": 1,
            "file": "data/curated/link_overrides.csv",
            "line": 3,
            "field": "breach_id",
            "reason": "no breach 'x'",
        },
        {
            "id": 2,
            "file": "data/curated/entity_overrides.csv",
            "line": 9,
            "field": "match",
            "reason": "'name:Y' matches no record",
        },
    ]
    assert fresh_db["override_problems"].columns_dict == {
        "id": int,
        "file": str,
        "line": int,
        "field": str,
        "reason": str,
    }
    assert ctx.counts["override_problems"] == 2 and "2 override rows skipped" in lines[-1]


def test_stage_creates_the_table_when_every_override_applied(fresh_db, tmp_path):
    lines: list[str] = []
    ctx = _ctx(fresh_db, tmp_path, lines)
    override_problems.write(fresh_db, [override_problems.problem("old.csv", 2, "id", "left from an earlier run")])
    override_problems.stage(ctx)
    assert fresh_db["override_problems"].exists() and fresh_db["override_problems"].count == 0
    assert lines == ["override problems: none (every override row applied)"]


# --- a small real snapshot --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("override-problems")
    header, records = export_records(JULY)
    snapshot = make_snapshot(root, {JULY: b"\n".join([header, *records[:5]]) + b"\n"})
    result = run_build(root, snapshot)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {"root": root, "snapshot": snapshot, "db": root / "kb.db", "output": result.stdout}


def _data_lines(name: str) -> list[int]:
    """Physical line of each data row of a curated CSV file."""
    with (CURATED / name).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        return [reader.line_num for _ in reader]


def test_a_small_snapshot_builds_and_lists_the_overrides_it_lacks(small_build):
    printed = [m.groupdict() for m in SKIPPED_LINE.finditer(small_build["output"])]
    rows = _rows(small_build["db"])
    assert [{k: str(v) for k, v in r.items() if k != "id"} for r in rows] == printed
    assert [r["id"] for r in rows] == list(range(1, len(rows) + 1))
    assert {Path(r["file"]).name for r in rows} <= set(OVERRIDE_FILES)
    # every file named is the curated one the build read
    assert {Path(r["file"]).parent for r in rows} == {small_build["root"] / "curated"}
    by_file: dict[str, list[dict]] = {}
    for r in rows:
        by_file.setdefault(Path(r["file"]).name, []).append(r)
    # five 2026 reports: none of the reports the link overrides name, nor the reports the entity overrides merge
    assert [r["line"] for r in by_file["link_overrides.csv"]] == _data_lines("link_overrides.csv")
    assert {r["field"] for r in by_file["link_overrides.csv"]} == {"breach_id"}
    assert by_file["entity_overrides.csv"] and {r["field"] for r in by_file["entity_overrides.csv"]} <= {
        "match",
        "target",
    }
    assert "built " in small_build["output"]


def test_the_overrides_whose_targets_are_present_still_apply(small_build):
    skipped = {(Path(r["file"]).name, r["line"]) for r in _rows(small_build["db"])}
    conn = sqlite3.connect(f"file:{small_build['db']}?mode=ro", uri=True)
    try:
        with (CURATED / "sector_overrides.csv").open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            applied = [row for row in reader if ("sector_overrides.csv", reader.line_num) not in skipped]
        assert applied
        for row in applied:
            table = "enforcement_actions" if row["kind"] == "action" else "breaches"
            assert conn.execute(f"select sector from {table} where id = ?", [row["id"]]).fetchone() == (row["sector"],)
    finally:
        conn.close()


def test_a_malformed_override_still_stops_the_build(small_build):
    """The same snapshot with one bad row appended to the topic overrides: the build stops naming it, even
    though the row's action is absent too, and the database of the good build stays in place."""
    root = small_build["root"]
    curated = root / "curated-malformed"
    curated.mkdir()
    for path in CURATED.iterdir():  # files and the beyond_ocr/ folder
        (curated / path.name).symlink_to(path)
    bad = curated / "topic_overrides.csv"
    bad.unlink()
    text = (CURATED / "topic_overrides.csv").read_text(encoding="utf-8")
    bad.write_text(
        text + ("" if text.endswith("\n") else "\n") + "1999-01-01-nobody,hacking,add,why\n", encoding="utf-8"
    )
    bad_line = len(bad.read_text(encoding="utf-8").splitlines())
    command = build_command(root, small_build["snapshot"])
    command[command.index("--curated-dir") + 1] = str(curated)
    db_before = sha256(small_build["db"])
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, env=build_env())
    assert result.returncode != 0
    assert f"{bad}:{bad_line}: field 'topic': 'hacking' is not one of" in result.stderr, result.stderr[-3000:]
    assert sha256(small_build["db"]) == db_before


# --- the project's own snapshot: strict -----------------------------------------------------------


def test_the_full_snapshot_build_skips_no_override(built, built_db):
    """Every row of the reviewed overrides files applies to the project's snapshot: a row skipped here is a
    stale id or a typo, not a record of another snapshot."""
    assert SKIPPED_LINE.findall(built["build_output"]) == []
    assert built_db["override_problems"].exists(), "etl.build.STAGES must run override_problems.stage"
    assert list(built_db["override_problems"].rows) == []
