"""breach_changes between consecutive exports: hand-made small exports first, then the real build."""

from __future__ import annotations

import pytest
from breach_raw import fields, write_export

from etl.changes import build_changes, compute_changes
from etl.load_breaches import load

APRIL = "breach_report_under_investigation_2026-04.csv"
JULY = "breach_report_under_investigation_2026-07-15.csv"


def changes_of(db, **where):
    clause = " and ".join(f"{k} = ?" for k in where) or "1"
    return [
        (r["breach_id"], r["kind"], r["field"], r["old_value"], r["new_value"])
        for r in db.query(f"select * from breach_changes where {clause} order by id", list(where.values()))
    ]


@pytest.fixture
def two_exports(fresh_db, tmp_path):
    raw = tmp_path / "breach_portal"
    write_export(
        raw,
        APRIL,
        "2026-04",
        [
            fields(name="Cahaba Center for Mental Health", state="AL", count="501", date="05/27/2025"),
            fields(name="44North", state="MI", location="Desktop Computer", date="02/16/2026"),
            fields(name="Gone Clinic", state="OR", date="01/02/2026"),
            fields(name="Steady Clinic", state="WA", date="01/03/2026"),
        ],
    )
    write_export(
        raw,
        JULY,
        "2026-07-15",
        [
            fields(name="Cahaba Center for Mental Health", state="AL", count="15085", date="05/27/2025"),
            fields(name="44North", state="MI", location="Email", date="02/16/2026"),
            fields(name="Steady Clinic", state="WA", date="01/03/2026"),
            fields(name="New Clinic", state="TX", date="06/30/2026"),
        ],
    )
    load(fresh_db, raw, echo=lambda _: None)
    return fresh_db


def test_revisions_arrivals_and_departures(two_exports):
    lines: list[str] = []
    counts = build_changes(two_exports, echo=lines.append)
    assert changes_of(two_exports) == [  # ordered by to-export, then breach id
        ("2025-05-27-cahaba-center-for-mental-health-al", "revised", "individuals_affected", "501", "15085"),
        ("2026-01-02-gone-clinic-or", "left_list", "status", "under_investigation", None),
        ("2026-02-16-44north-mi", "revised", "location", "Desktop Computer", "Email"),
        ("2026-06-30-new-clinic-tx", "added", "status", None, "under_investigation"),
    ]
    assert counts == {
        "breach_changes": 4,
        "breach_changes_added": 1,
        "breach_changes_left_list": 1,
        "breach_changes_revised": 2,
    }
    row = next(two_exports["breach_changes"].rows_where("kind = 'left_list'"))
    assert (row["from_export_date"], row["to_export_date"]) == ("2026-04", "2026-07-15")
    assert lines == [
        "changes breach_report_under_investigation_2026-04 -> breach_report_under_investigation_2026-07-15: "
        "2 reports revised (2 fields), 0 moved, 1 added, 1 left the list"
    ]


def test_rebuilding_changes_is_idempotent(two_exports):
    build_changes(two_exports, echo=lambda _: None)
    first = list(two_exports["breach_changes"].rows)
    build_changes(two_exports, echo=lambda _: None)
    assert list(two_exports["breach_changes"].rows) == first


EXPORTS = [  # hand-written: one archive export and two under-investigation exports
    {"id": "ui-1", "list": "hipaa", "tab": "under_investigation", "export_date": "2026-04"},
    {"id": "arch-1", "list": "hipaa", "tab": "archive", "export_date": "2026-05-01"},
    {"id": "ui-2", "list": "hipaa", "tab": "under_investigation", "export_date": "2026-07-15"},
]


def obs(breach_id, export_id, status, **values):
    base = dict.fromkeys(
        (
            "entity_name",
            "state",
            "covered_entity_type",
            "individuals_affected",
            "breach_type",
            "location",
            "business_associate_present",
            "qualified_service_organization_present",
            "description",
        )
    )
    base.update(entity_name=breach_id, individuals_affected=1000)
    return {"breach_id": breach_id, "export_id": export_id, "status": status, **base, **values}


def test_closed_case_moves_to_the_archive_not_left_list():
    observations = [
        obs("a", "ui-1", "under_investigation"),
        obs("a", "arch-1", "archived", description="Closed after technical assistance."),
        obs("b", "ui-1", "under_investigation"),
        obs("b", "ui-2", "under_investigation"),
    ]
    changes = compute_changes(EXPORTS, observations)
    assert [
        (c["breach_id"], c["kind"], c["field"], c["old_value"], c["new_value"], c["to_export_id"]) for c in changes
    ] == [
        ("a", "moved", "status", "under_investigation", "archived", "arch-1"),
        ("a", "revised", "description", None, "Closed after technical assistance.", "arch-1"),
    ]


def test_first_export_is_a_baseline_and_part2_is_separate():
    exports = EXPORTS + [{"id": "p2-1", "list": "part2", "tab": "archive", "export_date": "2026-07-15"}]
    changes = compute_changes(
        exports,
        [
            obs("a", "ui-1", "under_investigation"),
            obs("p", "p2-1", "archived"),
            obs("c", "ui-2", "under_investigation"),
        ],
    )
    assert [(c["breach_id"], c["kind"]) for c in changes] == [("a", "left_list"), ("c", "added")]


# ------------------------------------------------------------------ the real build of the snapshot


def test_real_april_to_july_changes(built_db):
    april, july = "breach_report_under_investigation_2026-04", "breach_report_under_investigation_2026-07-15"
    pair = {"from_export_id": april, "to_export_id": july}
    revised = changes_of(built_db, kind="revised", **pair)
    assert len({r[0] for r in revised}) == 15  # 15 of the reports in both lists were revised
    assert (
        "2025-05-27-cahaba-center-for-mental-health-al",
        "revised",
        "individuals_affected",
        "501",
        "15085",
    ) in revised
    assert ("2026-02-16-44north-mi", "revised", "location", "Desktop Computer", "Email") in revised

    def ids(export_id):
        return {
            r[0] for r in built_db.execute("select breach_id from breach_observations where export_id = ?", [export_id])
        }

    left = {r[0] for r in changes_of(built_db, kind="left_list", **pair)}
    added = {r[0] for r in changes_of(built_db, kind="added", **pair)}
    assert left == ids(april) - ids(july) and added == ids(july) - ids(april)
    assert len(ids(april) & ids(july)) + len(left) == 702 and len(ids(april) & ids(july)) + len(added) == 733
    assert changes_of(built_db, kind="moved", **pair) == []  # no 2026 report is in the (older) archive export


def test_real_change_healthcare_count_history(built_db):
    # Facts about the recorded under-investigation exports of 2024-11, 2025-06 and 2025-11.
    revised = changes_of(
        built_db, breach_id="2024-07-19-change-healthcare-mn", kind="revised", field="individuals_affected"
    )
    assert [(r[3], r[4]) for r in revised] == [("100000000", "190000000"), ("190000000", "192700000")]
