"""Entity resolution: must-merge / must-not-merge names, the overrides file, the tables written, and the
real build."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlite_utils

from etl import entities
from etl.context import BuildContext, BuildError
from etl.entities import (
    OVERRIDES_FILE,
    EntityOverride,
    OverrideError,
    Record,
    read_overrides,
    read_records,
    resolve,
    write_entities,
)
from etl.normalize.names import name_key

REPO_ROOT = Path(__file__).resolve().parent.parent


def rec(source: str, rid: str, name: str, state: str | None) -> Record:
    return Record(source, rid, name, name_key(name), state)


def make_db(db: sqlite_utils.Database, breaches: list[tuple], actions: list[tuple]) -> None:
    """Hand-made rows (not real records) in the columns etl/load_breaches.py and etl/load_actions.py write:
    breaches (id, name, state, date, individuals), actions (id, name, state, date, amount)."""
    db["breaches"].insert_all(
        [
            {
                "id": i,
                "entity_name": n,
                "entity_key": name_key(n),
                "state": s,
                "submission_date": d,
                "year": int(d[:4]),
                "individuals_affected": c,
                "individuals_placeholder": 0,
                "breach_types": '["Hacking/IT Incident"]',
                "description": "",
                "entity_id": None,
            }
            for i, n, s, d, c in breaches
        ],
        pk="id",
    )
    db["enforcement_actions"].insert_all(
        [
            {
                "id": i,
                "entity": n,
                "entity_key": name_key(n),
                "state": s,
                "announced": d,
                "year": int(d[:4]),
                "action_type": "resolution_agreement",
                "amount_usd": a,
                "individuals_affected": None,
                "breach_reported": None,
                "summary": "",
                "incident": "[]",
                "initiative": None,
                "entity_id": None,
            }
            for i, n, s, d, a in actions
        ],
        pk="id",
    )


MUST_MERGE = [
    (("Anthem, Inc.", "IN"), ("Anthem Inc", "IN")),
    (("Anthem Inc.", "IN"), ("ANTHEM, INC", "IN")),
    (("Banner Health", "AZ"), ("Banner Health (Banner Health Affiliated Covered Entities)", "AZ")),
    (
        ("Community Health Systems Professional Services Corporation (CHSPSC)", "TN"),
        ("Community Health Systems Professional Services Corporation", "TN"),
    ),
    (("Memorial Healthcare System", "FL"), ("South Broward Hospital District d/b/a Memorial Healthcare System", "FL")),
    (("Jackson Health System", "FL"), ("Public Health Trust of Miami Dade County DBA Jackson Health System", "FL")),
    (("Walgreen Co.", "IL"), ("Walgreen Company", "IL")),
    (("Aetna Inc.", "CT"), ("Aetna", None)),  # no state: joins the one entity its key has
    # the reduced key: a trailing location of the record's own state, a designation, "the"
    (("Kaiser Foundation Health Plan, Inc.", "CA"), ("Kaiser Foundation Health Plan, Inc., Southern California", "CA")),
    (("Kaiser Foundation Hospitals", "CA"), ("Kaiser Foundation Hospitals, Northern California", "CA")),
    (("Allegheny County", "PA"), ("Allegheny County, Pennsylvania", "PA")),
    (
        ("Public Health Trust of Miami Dade County DBA Jackson Health System", "FL"),
        ("Public Health Trust of Miami-Dade County, Florida", "FL"),
    ),
    (("Anthem, Inc.", "IN"), ("Anthem Affiliated Covered Entities", "IN")),
    (("Anthem Inc.", "IN"), ("Anthem ACE", "IN")),
    (("UnitedHealth Group", "MN"), ("UnitedHealth Group Single Affiliated Covered Entity (SACE)", "MN")),
    (("Palo Verde Hospital", "CA"), ("Palo Verde Hospital, Privacy Manager Breach", "CA")),
    (("Home for Little Wanderers", "MA"), ("The Home for the Little Wanderers", "MA")),
]

MUST_NOT_MERGE = [
    (("Community Hospital", "OK"), ("Community Hospital", "NE")),
    (("St. Joseph's Hospital", "CA"), ("St. Joseph Health", "CA")),
    (("St. Joseph's", "CA"), ("St. Joseph Health", "CA")),
    (("Memorial Hospital", "FL"), ("Memorial Healthcare System", "FL")),
    (("Children's Hospital", "CO"), ("Children's Hospital Colorado", "CO")),
    (("Anthem Blue Cross", "CA"), ("Anthem, Inc.", "IN")),
    (("Banner Health", "AZ"), ("Banner Health", "CO")),
    # a d/b/a name only joins a record of the same state
    (("Mission Community Hospital", "TX"), ("Deanco Healthcare LLC dba Mission Community Hospital", "CA")),
    # the reduced key leaves apart: "of <state>" (a separate corporation), a state without a comma, a
    # place that is not the record's state, and the same reduced key in another state
    (("Molina Healthcare", "CA"), ("Molina Healthcare of California", "CA")),
    (("Health Net, Inc.", "CA"), ("Health Net of California", "CA")),
    (("Kaiser Foundation Health Plan, Inc.", "CA"), ("Kaiser Foundation Health Plan of Colorado", "CO")),
    (("Gastroenterology Consultants, PA", "TX"), ("Gastroenterology Consultants of South Texas", "TX")),
    (("SCL Health \u2013 Colorado", "CO"), ("SCL Health \u2013 Kansas", "CO")),
    (("University of California, San Francisco", "CA"), ("University of California, Los Angeles Health", "CA")),
    (("Anthem, Inc.", "IN"), ("Connextions c/o Anthem BCBS", "IN")),  # Anthem's business associate
    (("Kaiser Foundation Health Plan, Inc.", "CA"), ("Kaiser Foundation Health Plan, Inc., Southern California", "NV")),
]


@pytest.mark.parametrize("a, b", MUST_MERGE)
def test_must_merge(a, b):
    res = resolve([rec("breach", "b1", *a), rec("action", "a1", *b)], [])
    assert res.entity_of[("breach", "b1")] == res.entity_of[("action", "a1")]


@pytest.mark.parametrize("a, b", MUST_NOT_MERGE)
def test_must_not_merge(a, b):
    res = resolve([rec("breach", "b1", *a), rec("action", "a1", *b)], [])
    assert res.entity_of[("breach", "b1")] != res.entity_of[("action", "a1")]


def test_stateless_record_stays_apart_when_its_key_has_two_states():
    res = resolve(
        [
            rec("breach", "ok", "Community Hospital", "OK"),
            rec("breach", "ne", "Community Hospital", "NE"),
            rec("action", "x", "Community Hospital", None),
        ],
        [],
    )
    ids = {res.entity_of[("breach", "ok")], res.entity_of[("breach", "ne")], res.entity_of[("action", "x")]}
    assert ids == {"community-hospital-ok", "community-hospital-ne", "community-hospital"}


def test_ids_are_slugs_of_key_and_state_and_independent_of_record_order():
    records = [
        rec("breach", "b1", "Anthem, Inc.", "IN"),
        rec("breach", "b2", "Anthem Inc", "IN"),
        rec("action", "a1", "Anthem, Inc.", "IN"),
        rec("breach", "b3", "Banner Health", "AZ"),
    ]
    first = resolve(records, []).entity_of
    assert first == resolve(list(reversed(records)), []).entity_of
    assert first[("breach", "b1")] == "anthem-in"
    assert first[("breach", "b3")] == "banner-health-az"


def test_a_join_on_the_reduced_key_says_so_and_the_id_stays_the_main_key():
    res = resolve(
        [
            rec("breach", "b1", "Kaiser Foundation Health Plan, Inc.", "CA"),
            rec("breach", "b2", "Kaiser Foundation Health Plan", "CA"),
            rec("breach", "b3", "Kaiser Foundation Health Plan, Inc., Southern California", "CA"),
        ],
        [],
    )
    assert set(res.entity_of.values()) == {"kaiser-foundation-health-plan-ca"}
    assert res.method_of[("breach", "b3")] == "reduced key 'kaiser foundation health plan'"
    assert res.method_of[("breach", "b1")] == "key+state"


def test_two_names_that_both_reduce_join_without_a_third():
    a = rec("breach", "b1", "The Home for the Little Wanderers", "MA")
    b = rec("breach", "b2", "Home for the Little Wanderers, Massachusetts", "MA")  # hand-written variant
    res = resolve([a, b], [])
    assert res.entity_of[("breach", "b1")] == res.entity_of[("breach", "b2")]


def test_a_record_without_a_key_is_left_unresolved():
    res = resolve([Record("breach", "b1", "", "", "TX"), rec("breach", "b2", "Texas Clinic", "TX")], [])
    assert [r.id for r in res.unresolved] == ["b1"]
    assert ("breach", "b1") not in res.entity_of


# --- overrides ----------------------------------------------------------------------------------

RECORDS = [
    rec("breach", "b-chs-1", "Community Health Systems Professional Services Corporation", "TN"),
    rec("breach", "b-chs-2", "Community Health Systems Professional Services Corporations", "TN"),
    rec("action", "a-chs", "CHSPSC LLC", "TN"),
    rec("breach", "b-sr", "Santa Rosa Memorial Hospital", "CA"),
    rec("action", "a-sjh", "St. Joseph Health", "CA"),
]


def test_merge_split_and_related_overrides():
    target = "community-health-systems-professional-services-tn"
    overrides = [
        EntityOverride(2, "merge", "name:CHSPSC LLC", "TN", target, "short name"),
        EntityOverride(
            3, "merge", "name:Community Health Systems Professional Services Corporations", None, target, "typo"
        ),
        EntityOverride(4, "split", "breach:b-chs-1", None, "chs-split-tn", "test split"),
        EntityOverride(5, "related", "name:Santa Rosa Memorial Hospital", "CA", "st-joseph-health-ca", "sub"),
    ]
    res = resolve(RECORDS, overrides)
    assert res.entity_of[("action", "a-chs")] == target
    assert res.entity_of[("breach", "b-chs-2")] == target
    assert res.entity_of[("breach", "b-chs-1")] == "chs-split-tn"
    assert res.method_of[("action", "a-chs")].startswith("override (merge")
    assert res.related == [("santa-rosa-memorial-hospital-ca", "st-joseph-health-ca", "sub")]
    # without the overrides the rules keep the three CHS names apart (different keys)
    plain = resolve(RECORDS, [])
    assert (
        len(
            {
                plain.entity_of[("breach", "b-chs-1")],
                plain.entity_of[("breach", "b-chs-2")],
                plain.entity_of[("action", "a-chs")],
            }
        )
        == 3
    )


@pytest.mark.parametrize(
    "override, field, reason",
    [
        (
            EntityOverride(7, "merge", "name:Nobody Anywhere", None, "anthem-in", "x"),
            "match",
            "'name:Nobody Anywhere' matches no record",
        ),
        (
            EntityOverride(7, "split", "name:CHSPSC LLC", "CA", "chs-ca", "x"),
            "match",
            "'name:CHSPSC LLC' in state CA matches no record",
        ),
        (
            EntityOverride(7, "split", "breach:no-such-breach", None, "chs-split-tn", "x"),
            "match",
            "'breach:no-such-breach' matches no record",
        ),
        (
            EntityOverride(7, "merge", "name:CHSPSC LLC", "TN", "no-such-entity", "x"),
            "target",
            "'no-such-entity' is not an entity id",
        ),
        (
            EntityOverride(7, "related", "action:a-chs", None, "no-such-entity", "x"),
            "target",
            "'no-such-entity' is not an entity id",
        ),
    ],
)
def test_an_override_whose_target_is_absent_is_skipped_and_reported(override, field, reason):
    # The file names records of the full snapshot; a build of another snapshot may lack them.
    res = resolve(RECORDS, [override], source="overrides.csv")
    assert res.skipped == [{"file": "overrides.csv", "line": 7, "field": field, "reason": reason}]
    plain = resolve(RECORDS, [])
    assert (res.entity_of, res.method_of, res.related) == (plain.entity_of, plain.method_of, plain.related)


def test_a_skipped_override_does_not_stop_the_next_ones():
    target = "community-health-systems-professional-services-tn"
    res = resolve(
        RECORDS,
        [
            EntityOverride(2, "merge", "name:Nobody Anywhere", None, target, "absent here"),
            EntityOverride(3, "merge", "name:CHSPSC LLC", "TN", target, "short name"),
        ],
        source="overrides.csv",
    )
    assert [(p["line"], p["field"]) for p in res.skipped] == [(2, "match")]
    assert res.entity_of[("action", "a-chs")] == target


@pytest.mark.parametrize(
    "line, field",
    [
        ("fuse,name:X,,x-tn,why", "rule"),
        ("merge,X,,x-tn,why", "match"),
        ("merge,name:X,,Not A Slug,why", "target"),
        ("merge,name:X,,x-tn,", "reason"),
        ("merge,name:X,,x-tn", "(line)"),
    ],
)
def test_malformed_override_rows_name_file_line_and_field(tmp_path, line, field):
    path = tmp_path / OVERRIDES_FILE
    path.write_text("rule,match,state,target,reason\nmerge,name:Y,,y-tn,fine\n" + line + "\n")
    with pytest.raises(OverrideError, match=re.escape(f"{OVERRIDES_FILE}:3: field '{field}'")):
        read_overrides(path)


def _ctx(db, curated_dir: Path, lines: list[str]) -> BuildContext:
    return BuildContext(
        db=db,
        snapshot_dir=curated_dir,
        raw_dir=curated_dir,
        cache_dir=curated_dir,
        curated_dir=curated_dir,
        previous_db=None,
        echo=lines.append,
    )


def test_stage_reports_an_absent_target_and_builds_on(fresh_db, tmp_path):
    make_db(
        fresh_db,
        breaches=[("2015-02-13-anthem-in", "Anthem Inc.", "IN", "2015-02-13", 78800000)],
        actions=[("2018-10-15-anthem", "Anthem, Inc.", "IN", "2018-10-15", 16000000)],
    )
    path = tmp_path / OVERRIDES_FILE
    path.write_text(
        "rule,match,state,target,reason\n"
        "split,breach:2014-01-01-elsewhere-tx,,elsewhere-tx,a report of another snapshot\n"
    )
    lines: list[str] = []
    ctx = _ctx(fresh_db, tmp_path, lines)
    entities.stage(ctx)
    assert ctx.warnings == [
        {"file": str(path), "line": 2, "field": "match", "reason": "'breach:2014-01-01-elsewhere-tx' matches no record"}
    ]
    assert f"{path}:2: field 'match': 'breach:2014-01-01-elsewhere-tx' matches no record (override skipped)" in lines
    assert "0 overrides applied, 1 skipped (override_problems)" in lines[-1]
    assert fresh_db["entities"].count == 1


def test_stage_stops_on_a_malformed_row_even_when_its_target_is_absent(fresh_db, tmp_path):
    make_db(fresh_db, breaches=[], actions=[("2018-10-15-anthem", "Anthem, Inc.", "IN", "2018-10-15", 16000000)])
    (tmp_path / OVERRIDES_FILE).write_text(
        "rule,match,state,target,reason\nfuse,breach:2014-01-01-elsewhere-tx,,elsewhere-tx,why\n"
    )
    ctx = _ctx(fresh_db, tmp_path, [])
    with pytest.raises(BuildError, match=re.escape(f"{OVERRIDES_FILE}:2: field 'rule'")):
        entities.stage(ctx)
    assert ctx.warnings == []


def test_the_reviewed_overrides_file_parses_and_every_row_has_a_reason():
    rows = read_overrides(REPO_ROOT / "data" / "curated" / OVERRIDES_FILE)
    assert rows and all(r.reason for r in rows)


# --- tables -------------------------------------------------------------------------------------


def test_write_entities_tables_and_entity_ids(fresh_db):
    make_db(
        fresh_db,
        breaches=[
            ("2015-02-13-anthem-in", "Anthem Inc.", "IN", "2015-02-13", 78800000),
            ("2016-10-26-anthem-in", "Anthem, Inc.", "IN", "2016-10-26", 3525),
            ("2016-08-03-banner-health-az", "Banner Health", "AZ", "2016-08-03", 3620000),
        ],
        actions=[("2018-10-15-anthem", "Anthem, Inc.", "IN", "2018-10-15", 16000000)],
    )
    records = read_records(fresh_db)
    n = write_entities(fresh_db, records, resolve(records, []))
    assert n == 2
    anthem = fresh_db["entities"].get("anthem-in")
    assert anthem["breach_count"] == 2 and anthem["action_count"] == 1
    assert json.loads(anthem["kinds"]) == ["action", "breach"]
    assert anthem["individuals_affected"] == 78800000 + 3525 and anthem["amount_usd"] == 16000000
    assert (anthem["first_breach_reported"], anthem["last_action"]) == ("2015-02-13", "2018-10-15")
    assert anthem["name_count"] == 2 and anthem["resolved_by"] == "key"
    assert fresh_db["entity_names"].count == 4
    assert {r["entity_id"] for r in fresh_db["breaches"].rows} == {"anthem-in", "banner-health-az"}
    assert fresh_db["enforcement_actions"].get("2018-10-15-anthem")["entity_id"] == "anthem-in"
    # idempotent: a second run writes the same rows
    before = list(fresh_db["entities"].rows)
    write_entities(fresh_db, records, resolve(records, []))
    assert list(fresh_db["entities"].rows) == before


# --- the real build ------------------------------------------------------------------------------


def test_every_record_of_the_real_build_has_an_entity(built_db):
    assert built_db.execute("select count(*) from breaches where entity_id is null").fetchone()[0] == 0
    assert built_db.execute("select count(*) from enforcement_actions where entity_id is null").fetchone()[0] == 0
    names = built_db["entity_names"].count
    assert names == built_db["breaches"].count + built_db["enforcement_actions"].count
    orphans = built_db.execute("select count(*) from entity_names where entity_id not in (select id from entities)")
    assert orphans.fetchone()[0] == 0


@pytest.mark.parametrize(
    "action_name, breach_name",
    [
        ("CHSPSC LLC", "Community Health Systems Professional Services Corporations"),
        ("Anthem, Inc.", "Anthem Inc."),
        ("Banner Health (Banner Health Affiliated Covered Entities)", "Banner Health"),
        ("University of Washington Medicine", "UW Medicine, Privacy Manager - Breach"),
    ],
)
def test_real_names_resolve_to_one_entity(built_db, action_name, breach_name):
    a = built_db.execute("select entity_id from enforcement_actions where entity = ?", [action_name]).fetchall()
    b = built_db.execute("select entity_id from breaches where entity_name = ?", [breach_name]).fetchall()
    assert a and b and {r[0] for r in a} == {r[0] for r in b}


def test_kaiser_and_anthem_after_the_rules_and_the_reviewed_overrides(built_db):
    """Kaiser's 18 entities of names containing 'Kaiser' are 9: one per corporation (the health plan of
    California and its regions, each regional health plan, the hospitals, Kaiser Permanente, one joint
    report), the regional plans related to the parent; Anthem's 5 are 3 with WellPoint in Anthem."""
    kaiser = {r[0] for r in built_db.execute("select entity_id from entity_names where name like '%kaiser%'")}
    assert kaiser == {
        "kaiser-foundation-health-plan-ca",
        "kaiser-foundation-health-plan-of-colorado-co",
        "kaiser-foundation-health-plan-of-georgia-ga",
        "kaiser-foundation-health-plan-of-the-mid-atlantic-states-md",
        "kaiser-foundation-health-plan-of-the-northwest-or",
        "kaiser-foundation-health-plan-of-washington-wa",
        "kaiser-foundation-hospitals-ca",
        "kaiser-foundation-hospitals-northern-california-and-the-permanente-medical-group-ca",
        "kaiser-permanente-ca",
    }
    parent = built_db["entities"].get("kaiser-foundation-health-plan-ca")
    assert parent["breach_count"] == 12 and parent["resolved_by"] == "override"
    assert "kaiser-foundation-health-plan-of-colorado-co" in json.loads(parent["related_entities"])
    anthem = {r[0] for r in built_db.execute("select entity_id from entity_names where name like '%anthem%'")}
    assert anthem == {"anthem-in", "anthem-bcbs-of-ga-in", "connextions-c-o-anthem-bcbs-in"}
    wellpoint = built_db.execute("select entity_id from enforcement_actions where entity = 'WellPoint, Inc.'")
    assert wellpoint.fetchone()[0] == "anthem-in"
    # the 2025 'Wellpoint, Inc.' report (a brand since 2024) stays apart
    assert built_db["breaches"].get("2025-10-07-wellpoint-in")["entity_id"] == "wellpoint-in"


def test_rule_built_entities_do_not_span_states(built_db):
    # Precision: without an override, one entity never holds records of two states.
    rows = built_db.execute("select id, states from entities where resolved_by != 'override'").fetchall()
    assert rows and all(len(json.loads(states)) <= 1 for _, states in rows)
