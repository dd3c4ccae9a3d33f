"""Coverage per submission year: the rule on a hand-made export list, then facts about the recorded files."""

from __future__ import annotations

from etl.coverage import year_coverage

# Hand-written: an archive export of 2024-08 and under-investigation exports of 2024-11 and 2025-06.
EXPORTS = [
    {"id": "a", "tab": "archive", "export_date": "2024-08"},
    {"id": "u1", "tab": "under_investigation", "export_date": "2024-11"},
    {"id": "u2", "tab": "under_investigation", "export_date": "2025-06"},
]
OLDEST = {"a": "2009-10-21", "u1": "2022-03-21", "u2": "2023-02-17"}


def counts(without_narrative: int = 0) -> dict:
    return {
        "reports": 10,
        "in_archive": 10,
        "only_under_investigation": 0,
        "still_open": 0,
        "without_narrative": without_narrative,
    }


def test_years_before_the_oldest_open_report_are_complete_and_later_ones_say_why_not() -> None:
    rows = {r["year"]: r for r in year_coverage({y: counts() for y in (2021, 2022, 2024, 2025)}, EXPORTS, OLDEST)}
    assert rows[2021]["complete"] == 1 and rows[2021]["reason"].startswith("complete as far as the exports show")
    assert (
        rows[2022]["complete"] == 0 and "closed before the under-investigation list of 2024-11" in rows[2022]["reason"]
    )
    assert "submitted and closed between two recorded exports (2024-11, 2025-06)" in rows[2024]["reason"]
    assert "newest export is of 2025-06" in rows[2025]["reason"]
    assert "closed before the under-investigation list" not in rows[2025]["reason"]


def test_missing_narratives_are_counted_without_making_a_year_incomplete() -> None:
    row = year_coverage({2021: counts(without_narrative=3)}, EXPORTS, OLDEST)[0]
    assert row["complete"] == 1 and "3 of its reports have no narrative" in row["reason"]


def test_an_archive_alone_leaves_only_its_own_year_open() -> None:
    rows = year_coverage({2020: counts(), 2024: counts()}, EXPORTS[:1], {"a": "2009-10-21"})
    assert [r["complete"] for r in rows] == [1, 0]


def test_recorded_exports_leave_2009_to_2021_complete(built_db) -> None:
    # Facts about the archive of 2024-08 and the under-investigation list of 2024-11 (oldest report 2022-03-21).
    complete = {r[0] for r in built_db.execute("select year from coverage_by_year where complete")}
    assert set(range(2010, 2022)) <= complete and 2023 not in complete and 2024 not in complete
    total = built_db.execute("select sum(reports) from coverage_by_year").fetchone()[0]
    assert total == built_db.execute("select count(*) from breaches where list = 'hipaa'").fetchone()[0]
