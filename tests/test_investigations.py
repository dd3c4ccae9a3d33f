"""Investigation timelines: the pure computation on hand-made exports (every branch), then facts about the
real recorded exports this test names, read from the pipeline-built database."""

from __future__ import annotations

from datetime import date

import pytest

from etl.investigations import compute_investigations, export_spans

# Hand-written export list: an archive before the open-tab exports, three open-tab exports (one known only
# to the month), and an archive after them.
EXPORTS = [
    {"id": "arch-2024-08", "list": "hipaa", "tab": "archive", "export_date": "2024-08"},
    {"id": "ui-2024-11", "list": "hipaa", "tab": "under_investigation", "export_date": "2024-11"},
    {"id": "ui-2025-06", "list": "hipaa", "tab": "under_investigation", "export_date": "2025-06"},
    {"id": "ui-2025-07-15", "list": "hipaa", "tab": "under_investigation", "export_date": "2025-07-15"},
    {"id": "arch-2025-09", "list": "hipaa", "tab": "archive", "export_date": "2025-09"},
]
NEWEST = {"ui-2024-11": "2024-11-01", "ui-2025-06": "2025-06-13", "ui-2025-07-15": "2025-07-01"}
SUBMITTED = {
    "closed": "2024-10-01",
    "open": "2025-06-10",
    "gap": "2024-09-15",
    "confirmed": "2024-10-20",
    "archived-only": "2024-01-01",
}
LISTED = {
    "arch-2024-08": {"archived-only"},
    "ui-2024-11": {"closed", "gap", "confirmed"},
    "ui-2025-06": {"open", "confirmed"},
    "ui-2025-07-15": {"open", "gap"},
    "arch-2025-09": {"confirmed"},
}


@pytest.fixture
def rows() -> dict[str, dict]:
    spans = export_spans(EXPORTS, NEWEST)
    return {r["breach_id"]: r for r in compute_investigations(spans, LISTED, SUBMITTED)}


def test_one_row_per_report_ever_under_investigation(rows: dict[str, dict]) -> None:
    assert set(rows) == {"closed", "open", "gap", "confirmed"}


def test_closure_window_uses_the_extremes_of_month_only_exports(rows: dict[str, dict]) -> None:
    r = rows["closed"]
    assert (r["closed_after"], r["closed_before"], r["still_open"]) == ("2024-11", "2025-06", 0)
    # open at least until the 2024-11 export (no earlier than its newest submission, 2024-11-01) ...
    assert r["open_days_min"] == (date(2024, 11, 1) - date(2024, 10, 1)).days
    # ... and closed at the latest by the last day of June 2025
    assert r["open_days_max"] == (date(2025, 6, 30) - date(2024, 10, 1)).days


def test_the_newest_submission_in_an_export_tightens_its_earliest_day(rows: dict[str, dict]) -> None:
    # ui-2025-06 lists a report submitted 2025-06-13, so it was taken on or after that day
    assert rows["confirmed"]["open_days_min"] == (date(2025, 6, 13) - date(2024, 10, 20)).days


def test_a_report_in_the_newest_export_is_still_open_with_no_upper_bound(rows: dict[str, dict]) -> None:
    r = rows["open"]
    assert (r["still_open"], r["closed_after"], r["closed_before"], r["open_days_max"]) == (1, None, None, None)
    assert r["open_days_min"] == (date(2025, 7, 15) - date(2025, 6, 10)).days
    assert (r["first_seen_open"], r["last_seen_open"], r["exports_listing"]) == ("2025-06", "2025-07-15", 2)


def test_a_report_off_the_list_and_back_counts_the_gap(rows: dict[str, dict]) -> None:
    r = rows["gap"]
    assert (r["exports_listing"], r["exports_missing"], r["still_open"]) == (2, 1, 1)


def test_a_later_archive_listing_confirms_the_closure(rows: dict[str, dict]) -> None:
    assert rows["confirmed"]["closure_confirmed_by"] == "arch-2025-09"
    assert rows["confirmed"]["closed_before"] == "2025-07-15"
    assert rows["closed"]["closure_confirmed_by"] is None


def test_bounds_are_ordered_for_every_real_investigation(built_db) -> None:
    bad = list(
        built_db.query("""select breach_id from investigations where open_days_min < 0
        or open_days_max < open_days_min or (still_open = 1) != (closed_before is null)""")
    )
    assert bad == []


def test_every_report_of_an_open_tab_export_has_exactly_one_investigation(built_db) -> None:
    expected = {
        r["breach_id"]
        for r in built_db.query(
            """select distinct o.breach_id from breach_observations o join exports e on e.id = o.export_id
           where e.tab = 'under_investigation'"""
        )
    }
    got = [r["breach_id"] for r in built_db.query("select breach_id from investigations")]
    assert len(got) == len(set(got)) and set(got) == expected


def test_newest_open_export_reports_are_the_open_investigations(built_db) -> None:
    newest = built_db.execute("""select id from exports where tab = 'under_investigation' and list = 'hipaa'
                                 order by export_date desc limit 1""").fetchone()[0]
    listed = {r[0] for r in built_db.execute("select breach_id from breach_observations where export_id = ?", [newest])}
    still_open = {
        r[0] for r in built_db.execute("select breach_id from investigations where still_open = 1 and list = 'hipaa'")
    }
    assert listed == still_open


def test_recorded_exports_give_over_a_thousand_closure_windows(built_db) -> None:
    # Facts about the six recorded under-investigation exports 2024-11 .. 2026-07-15: a report listed in
    # 2024-11 and absent from 2025-06 was closed between those two exports.
    closed = built_db.execute("select count(*) from investigations where closed_before is not null").fetchone()[0]
    assert closed > 1000
    row = built_db.execute("""select count(*) from investigations
        where closed_after = '2024-11' and closed_before = '2025-06'""").fetchone()[0]
    assert row > 0
