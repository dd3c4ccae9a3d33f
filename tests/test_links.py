"""Breach-to-action links: scoring, candidates, overrides on a small hand-made database shaped like the real
tables, the known examples on the real build, and the canned queries over HTTP."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import httpx
import pytest
import sqlite_utils

from etl.context import BuildContext, BuildError
from etl.entities import EntityOverride, read_records, resolve, write_entities
from etl.links import (
    OVERRIDES_FILE,
    LinkOverride,
    LinkOverrideError,
    apply_overrides,
    read_overrides,
    related_entities,
    rule_links,
    score_candidate,
    write_links,
)
from etl.links import stage as links_stage
from etl.normalize.names import name_key

REPO_ROOT = Path(__file__).resolve().parent.parent


def breach(id, name, state, date, n, types, description="", placeholder=0):
    return {
        "id": id,
        "entity_name": name,
        "entity_key": name_key(name),
        "state": state,
        "submission_date": date,
        "year": int(date[:4]),
        "individuals_affected": n,
        "individuals_placeholder": placeholder,
        "breach_types": json.dumps(types),
        "description": description,
        "entity_id": None,
    }


def action(id, name, state, date, amount, n=None, reported=None, summary="", incident=(), initiative=None):
    return {
        "id": id,
        "entity": name,
        "entity_key": name_key(name),
        "state": state,
        "announced": date,
        "year": int(date[:4]),
        "action_type": "resolution_agreement",
        "amount_usd": amount,
        "individuals_affected": n,
        "breach_reported": reported,
        "summary": summary,
        "incident": json.dumps(list(incident)),
        "initiative": initiative,
        "entity_id": None,
    }


@pytest.fixture
def linked_db(fresh_db: sqlite_utils.Database) -> sqlite_utils.Database:
    """Hand-made rows shaped like the real ones (names, dates and counts modelled on real cases, texts
    shortened), resolved into entities with one `related` override."""
    fresh_db["breaches"].insert_all(
        [
            breach(
                "2015-02-13-anthem-in",
                "Anthem Inc.",
                "IN",
                "2015-02-13",
                78800000,
                ["Hacking/IT Incident"],
                "Anthem, Inc. has agreed to pay $16 million to the U.S. Department of Health and Human Services.",
            ),
            breach(
                "2016-10-26-anthem-in", "Anthem, Inc.", "IN", "2016-10-26", 3525, ["Unauthorized Access/Disclosure"]
            ),
            breach("2019-01-02-anthem-in", "Anthem, Inc.", "IN", "2019-01-02", 5000, ["Hacking/IT Incident"]),
            breach(
                "2016-08-03-banner-health-az", "Banner Health", "AZ", "2016-08-03", 3620000, ["Hacking/IT Incident"]
            ),
            breach("2014-03-05-banner-health-az", "Banner Health", "AZ", "2014-03-05", 55207, ["Other"]),
            breach("2012-01-10-cardionet-pa", "CardioNet", "PA", "2012-01-10", 1300, ["Theft"]),
            breach("2012-02-27-cardionet-pa", "CardioNet", "PA", "2012-02-27", 728, ["Theft"]),
            breach(
                "2011-09-27-north-memorial-health-care-mn",
                "North Memorial Health Care",
                "MN",
                "2011-09-27",
                9497,
                ["Theft"],
            ),
            breach(
                "2011-09-27-fairview-health-services-mn",
                "Fairview Health Services",
                "MN",
                "2011-09-27",
                14623,
                ["Theft"],
            ),
            breach(
                "2013-08-23-advocate-health-and-hospitals-il",
                "Advocate Health and Hospitals Corporation",
                "IL",
                "2013-08-23",
                4029530,
                ["Theft"],
            ),
        ],
        pk="id",
    )
    fresh_db["enforcement_actions"].insert_all(
        [
            action(
                "2018-10-15-anthem",
                "Anthem, Inc.",
                "IN",
                "2018-10-15",
                16000000,
                78800000,
                "2015-03-13",
                "Attackers stole data on almost 79 million people between December 2014 and January 2015.",
                ["cyberattack (spear phishing)"],
            ),
            action(
                "2023-02-02-banner-health",
                "Banner Health (Banner Health Affiliated Covered Entities)",
                "AZ",
                "2023-02-02",
                1250000,
                2810000,
                None,
                "Banner discovered in July 2016 that an attacker got in.",
                ["hacking"],
            ),
            action(
                "2021-01-12-banner-health",
                "Banner Health (on behalf of Banner Health Affiliated Covered Entities)",
                "AZ",
                "2021-01-12",
                200000,
                2,
                None,
                "A patient asked for records in 2016 and waited.",
                ["untimely access to records"],
                initiative="right_of_access",
            ),
            action(
                "2017-04-24-cardionet",
                "CardioNet",
                "PA",
                "2017-04-24",
                2500000,
                1391,
                None,
                "A laptop with ePHI of 1,391 people was stolen from a car in January 2012.",
                ["stolen laptop"],
            ),
            action(
                "2016-03-16-north-memorial-health-care-of-minnesota",
                "North Memorial Health Care of Minnesota",
                "MN",
                "2016-03-16",
                1550000,
                9497,
                "2011-09-27",
                "A laptop was stolen in 2011.",
                ["stolen laptop"],
            ),
            action(
                "2016-08-04-advocate-health-care-network",
                "Advocate Health Care Network",
                "IL",
                "2016-08-04",
                5550000,
                4000000,
                None,
                "Three 2013 breach reports at subsidiary Advocate Medical Group.",
                ["theft of desktop computers"],
            ),
        ],
        pk="id",
    )
    records = read_records(fresh_db)
    related = [
        EntityOverride(
            2,
            "related",
            "name:Advocate Health and Hospitals Corporation",
            "IL",
            "advocate-health-care-network-il",
            "subsidiary",
        )
    ]
    write_entities(fresh_db, records, resolve(records, related))
    return fresh_db


def pairs(links) -> set[tuple[str, str]]:
    return {(link.breach_id, link.action_id) for link in links}


def test_rules_link_the_report_behind_each_action_and_nothing_else(linked_db):
    links = rule_links(linked_db, related_entities(linked_db))
    assert pairs(links) == {
        ("2015-02-13-anthem-in", "2018-10-15-anthem"),  # date, count, amount quoted, type, year
        ("2016-08-03-banner-health-az", "2023-02-02-banner-health"),  # count near, type, year named
        ("2012-01-10-cardionet-pa", "2017-04-24-cardionet"),  # the Feb 2012 report has only type + year
        (
            "2011-09-27-north-memorial-health-care-mn",  # other name: curated date and count
            "2016-03-16-north-memorial-health-care-of-minnesota",
        ),
        (
            "2013-08-23-advocate-health-and-hospitals-il",  # related entity (override)
            "2016-08-04-advocate-health-care-network",
        ),
    }
    assert all(0 <= link.score <= 1 and link.method == "rules" and link.evidence for link in links)


def test_a_report_filed_after_the_action_is_never_a_candidate(linked_db):
    links = rule_links(linked_db, related_entities(linked_db))
    assert not any(link.breach_id == "2019-01-02-anthem-in" for link in links)


def test_right_of_access_actions_get_no_rule_links(linked_db):
    links = rule_links(linked_db, related_entities(linked_db))
    assert not any(link.action_id == "2021-01-12-banner-health" for link in links)


@pytest.mark.parametrize(
    "b, a, expect_min, expect_max, phrase",
    [
        # curated date, count and amount all agree
        (
            breach("b", "X", "IN", "2015-03-13", 1000, ["Theft"], "agreed to pay $750,000"),
            action("a", "X", "IN", "2018-01-01", 750000, 1000, "2015-03-13"),
            1.0,
            1.0,
            "cites the $750,000",
        ),
        # only type and year: enough for a weak link
        (
            breach("b", "X", "IN", "2015-03-13", 1000, ["Theft"]),
            action(
                "a", "X", "IN", "2018-01-01", 750000, summary="A laptop was stolen in 2015.", incident=["stolen laptop"]
            ),
            0.55,
            0.55,
            "summary names 2015",
        ),
        # reported years before the curated date, count far off, wrong type: no link
        (
            breach("b", "X", "IN", "2010-03-13", 100000, ["Theft"]),
            action("a", "X", "IN", "2018-01-01", 750000, 1000, "2015-03-13", incident=["ransomware"]),
            0.0,
            0.0,
            "over a year from curated",
        ),
        # placeholder count (500) is not evidence either way
        (
            breach("b", "X", "IN", "2015-03-13", 500, ["Other"], placeholder=1),
            action("a", "X", "IN", "2018-01-01", 750000, 100000),
            0.3,
            0.3,
            "same entity",
        ),
    ],
)
def test_score_candidate(b, a, expect_min, expect_max, phrase):
    score, evidence = score_candidate(b, a, "same entity")
    assert expect_min <= score <= expect_max
    assert any(phrase in e for e in evidence)


def test_overrides_link_and_unlink(linked_db):
    rules = rule_links(linked_db, related_entities(linked_db))
    overrides = [
        LinkOverride(2, "2012-01-10-cardionet-pa", "2017-04-24-cardionet", "unlink", "test"),
        LinkOverride(3, "2012-02-27-cardionet-pa", "2017-04-24-cardionet", "link", "reviewed: second laptop"),
    ]
    links, skipped = apply_overrides(linked_db, rules, overrides)
    assert skipped == []
    by_pair = {(link.breach_id, link.action_id): link for link in links}
    assert ("2012-01-10-cardionet-pa", "2017-04-24-cardionet") not in by_pair
    added = by_pair[("2012-02-27-cardionet-pa", "2017-04-24-cardionet")]
    assert (added.method, added.score, added.evidence) == ("override", 1.0, "reviewed: second laptop")


@pytest.mark.parametrize(
    "override, field, reason",
    [
        (
            LinkOverride(4, "2014-03-05-banner-health-az", "2023-02-02-banner-health", "unlink", "stale"),
            "decision",
            "unlink of a pair the rules do not link (stale override)",
        ),
        (
            LinkOverride(4, "no-such-breach", "2023-02-02-banner-health", "link", "x"),
            "breach_id",
            "no breach 'no-such-breach'",
        ),
        (LinkOverride(4, "no-such-breach", "no-such-action", "unlink", "x"), "breach_id", "no breach 'no-such-breach'"),
        (
            LinkOverride(4, "2014-03-05-banner-health-az", "no-such-action", "link", "x"),
            "action_id",
            "no action 'no-such-action'",
        ),
    ],
)
def test_an_override_whose_target_is_absent_is_skipped_and_reported(linked_db, override, field, reason):
    # The file names reports and actions of the full snapshot; a build of another snapshot may lack them.
    rules = rule_links(linked_db, related_entities(linked_db))
    link = LinkOverride(5, "2012-02-27-cardionet-pa", "2017-04-24-cardionet", "link", "applies")
    links, skipped = apply_overrides(linked_db, rules, [override, link], source="links.csv")
    assert skipped == [{"file": "links.csv", "line": 4, "field": field, "reason": reason}]
    assert pairs(links) == pairs(rules) | {("2012-02-27-cardionet-pa", "2017-04-24-cardionet")}


def test_stage_prints_and_records_skipped_overrides(linked_db, tmp_path):
    path = tmp_path / OVERRIDES_FILE
    path.write_text(
        "breach_id,action_id,decision,reason\n"
        "2014-08-20-not-in-this-snapshot-tn,2017-04-24-cardionet,link,a report of the full snapshot\n"
    )
    lines: list[str] = []
    ctx = BuildContext(
        db=linked_db,
        snapshot_dir=tmp_path,
        raw_dir=tmp_path,
        cache_dir=tmp_path,
        curated_dir=tmp_path,
        previous_db=None,
        echo=lines.append,
    )
    links_stage(ctx)
    assert ctx.warnings == [
        {"file": str(path), "line": 2, "field": "breach_id", "reason": "no breach '2014-08-20-not-in-this-snapshot-tn'"}
    ]
    assert lines[0] == (
        f"{path}:2: field 'breach_id': no breach '2014-08-20-not-in-this-snapshot-tn' (override skipped)"
    )
    assert "0 linked and 0 unlinked by overrides, 1 overrides skipped (override_problems)" in lines[-1]
    assert linked_db["breach_action_links"].count == len(rule_links(linked_db, related_entities(linked_db)))


def test_a_malformed_row_stops_the_stage_even_when_its_records_are_absent(linked_db, tmp_path):
    (tmp_path / OVERRIDES_FILE).write_text(
        "breach_id,action_id,decision,reason\nno-such-breach,no-such-action,maybe,why\n"
    )
    ctx = BuildContext(
        db=linked_db,
        snapshot_dir=tmp_path,
        raw_dir=tmp_path,
        cache_dir=tmp_path,
        curated_dir=tmp_path,
        previous_db=None,
        echo=lambda s: None,
    )
    with pytest.raises(BuildError, match=":2: field 'decision'"):
        links_stage(ctx)


def test_write_links_table_with_days_to_action(linked_db):
    write_links(linked_db, rule_links(linked_db, related_entities(linked_db)))
    row = linked_db["breach_action_links"].get(("2015-02-13-anthem-in", "2018-10-15-anthem"))
    assert row["days_to_action"] == 1340 and row["method"] == "rules" and row["score"] == 1.0
    assert {fk.other_table for fk in linked_db["breach_action_links"].foreign_keys} == {
        "breaches",
        "enforcement_actions",
    }


def test_the_reviewed_link_overrides_file_parses(tmp_path):
    rows = read_overrides(REPO_ROOT / "data" / "curated" / OVERRIDES_FILE)
    assert all(r.decision in ("link", "unlink") and r.reason for r in rows)
    bad = tmp_path / OVERRIDES_FILE
    bad.write_text("breach_id,action_id,decision,reason\nb,a,maybe,why\n")
    with pytest.raises(LinkOverrideError, match=":2: field 'decision'"):
        read_overrides(bad)
    bad.write_text("breach_id,action_id,decision,reason\nb,a,link,\n")
    with pytest.raises(LinkOverrideError, match=":2: field 'reason' is empty"):
        read_overrides(bad)
    bad.write_text("breach_id,action_id,decision,reason\nb,a,link\n")
    with pytest.raises(LinkOverrideError, match=r":2: field '\(line\)': expected 4 columns"):
        read_overrides(bad)


# --- the real build ------------------------------------------------------------------------------

KNOWN = [  # (action entity as HHS names it, announced, breach report id)
    ("Anthem, Inc.", "2018-10-15", "2015-02-13-anthem-in"),
    ("Premera Blue Cross", "2020-09-25", "2015-03-17-premera-blue-cross-wa"),
    ("Excellus Health Plan, Inc.", "2021-01-15", "2015-09-09-excellus-health-plan-ny"),
    ("CHSPSC LLC", "2020-09-23", "2014-08-21-community-health-systems-professional-services-corporations-tn"),
    ("Banner Health (Banner Health Affiliated Covered Entities)", "2023-02-02", "2016-08-03-banner-health-az"),
]


@pytest.mark.parametrize("entity, announced, breach_id", KNOWN)
def test_known_examples_on_the_real_build(built_db, entity, announced, breach_id):
    rows = built_db.execute(
        "select link.breach_id, link.score from breach_action_links link join enforcement_actions a on a.id = link.action_id "
        "where a.entity = ? and a.announced = ?",
        [entity, announced],
    ).fetchall()
    assert breach_id in {r[0] for r in rows}
    assert dict(rows)[breach_id] >= 0.8


def test_real_links_respect_order_and_score_range(built_db):
    bad = built_db.execute(
        "select count(*) from breach_action_links link join breaches b on b.id = link.breach_id "
        "join enforcement_actions a on a.id = link.action_id "
        "where b.submission_date >= a.announced or link.score < 0 or link.score > 1 or link.days_to_action <= 0"
    ).fetchone()[0]
    assert bad == 0
    assert built_db["breach_action_links"].count >= 60
    overrides = read_overrides(REPO_ROOT / "data" / "curated" / OVERRIDES_FILE)
    linked = {
        (r["breach_id"], r["action_id"]) for r in built_db["breach_action_links"].rows_where("method = 'override'")
    }
    assert linked == {(o.breach_id, o.action_id) for o in overrides if o.decision == "link"}


# --- canned queries over HTTP --------------------------------------------------------------------


def canned(url: str, name: str, **params) -> list[dict]:
    r = httpx.get(f"{url}/kb/{name}.json", params={**params, "_shape": "array"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_entity_timeline_over_http(datasette_url, built_db):
    rows = canned(datasette_url, "entity_timeline", entity_id="anthem-in")
    kinds = {(r["kind"], r["record_id"]) for r in rows}
    assert ("breach report", "2015-02-13-anthem-in") in kinds
    assert any(k.startswith("enforcement action") and rid == "2018-10-15-anthem" for k, rid in kinds)
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    expected = built_db.execute("select count(*) from breaches where entity_id = 'anthem-in'").fetchone()[0]
    assert sum(r["kind"] == "breach report" for r in rows) == expected


def test_delay_medians_over_http_match_python(datasette_url, built_db):
    delays = [
        r[0]
        for r in built_db.execute(
            "select max(days_to_action) from breach_action_links where days_to_action is not null group by action_id"
        )
    ]
    rows = {r["year"]: r for r in canned(datasette_url, "delay_by_year")}
    assert rows["all"]["linked_actions"] == len(delays)
    assert rows["all"]["median_days"] == statistics.median(delays)
    by_type = {r["action_type"]: r for r in canned(datasette_url, "delay_by_action_type")}
    assert by_type["all"]["median_days"] == statistics.median(delays)
    ra = [
        r[0]
        for r in built_db.execute(
            "select max(link.days_to_action) from breach_action_links link join enforcement_actions a on a.id = link.action_id "
            "where a.action_type = 'resolution_agreement' group by link.action_id"
        )
    ]
    assert by_type["resolution_agreement"]["median_days"] == statistics.median(ra)


def test_large_breach_share_and_actions_per_state_over_http(datasette_url, built_db):
    share = {r["year"]: r for r in canned(datasette_url, "large_breaches_with_action")}
    large = built_db.execute("select count(*) from breaches where individuals_affected >= 500000").fetchone()[0]
    followed = built_db.execute(
        "select count(distinct breach_id) from breach_action_links link join breaches b on b.id = link.breach_id "
        "where b.individuals_affected >= 500000"
    ).fetchone()[0]
    assert (share["all"]["large_breaches"], share["all"]["followed_by_action"]) == (large, followed)
    assert followed >= 5  # Anthem, Premera, Excellus, CHSPSC, Banner at least
    states = canned(datasette_url, "actions_per_state")
    assert sum(r["actions"] for r in states) == built_db["enforcement_actions"].count


def test_entity_page_over_http(datasette_url):
    r = httpx.get(f"{datasette_url}/kb/entities/anthem-in", timeout=30)
    assert r.status_code == 200
    assert "entity-timeline" in r.text and "Anthem" in r.text
