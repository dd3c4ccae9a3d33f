"""Loading enforcement actions: curated counts and rejects, merging crawled pages (real extractor on
hand-made pages), the built database, and the canned queries over HTTP."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from conftest import REPO_ROOT

from etl import load_actions
from etl.curated import CURATED_FILE, load_curated
from etl.load_actions import Crawled, action_slug, amounts_agree, merge_crawled, sentences
from etl.provisions import resolve

CURATED = REPO_ROOT / "data" / "curated" / CURATED_FILE


@pytest.fixture
def curated_records() -> list[dict]:
    return [r.record for r in load_curated(CURATED)]


def _covers(provision: str | None, wanted: str) -> bool:
    return bool(provision) and (provision == wanted or provision.startswith(wanted + "("))


# --- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entity, announced, slug",
    [
        ("Anthem, Inc.", "2018-10-15", "2018-10-15-anthem"),
        (
            "Regional Women's Health Group, LLC d/b/a Axia Women's Health",
            "2026-04-23",
            "2026-04-23-regional-womens-health-group",
        ),
        ("Inmediata Health Group, LLC", "2024-12-10", "2024-12-10-inmediata-health-group"),
        (
            "Management Services Organization Washington, Inc.",
            None,
            "undated-management-services-organization-washington",
        ),
        (
            "The University of Texas MD Anderson Cancer Center",
            "2018-06-18",
            "2018-06-18-university-of-texas-md-anderson-cancer-center",
        ),
    ],
)
def test_action_slug(entity, announced, slug):
    assert action_slug(entity, announced) == slug


@pytest.mark.parametrize(
    "curated, crawled, agree",
    [
        (4348000, 4300000, True),  # "$4.3 million" in the release
        (16000000, 16000000, True),
        (3217000, 3200000, True),
        (100000, 999000, False),
        (111400, 111000, False),  # not a round figure of the curated amount
        (5550000, 5500000, False),  # $5.5 million is not $5.55 million rounded
    ],
)
def test_amounts_agree(curated, crawled, agree):
    assert amounts_agree(curated, crawled) is agree


def test_sentences_keep_abbreviations():
    text = (
        "Anthem Inc. agreed to pay $16 million. OCR cited 45 C.F.R. § 164.308(a)(1)(ii)(A). "
        "The U.S. Department of Health and Human Services said so."
    )
    assert sentences(text) == [
        "Anthem Inc. agreed to pay $16 million.",
        "OCR cited 45 C.F.R. § 164.308(a)(1)(ii)(A).",
        "The U.S. Department of Health and Human Services said so.",
    ]


# --- curated load ------------------------------------------------------------------------------


def test_curated_load_counts(fresh_db, tmp_path, curated_records):
    lines: list[str] = []
    counts = load_actions.load(fresh_db, CURATED, tmp_path / "no-raw", echo=lines.append)
    assert counts["curated_loaded"] == fresh_db["enforcement_actions"].count == len(curated_records) == 184
    assert counts["curated_rejected"] == 0 and counts["crawled_pages"] == 0
    assert "lines 184 = loaded 184 + rejected 0" in "\n".join(lines)
    ids = [r["id"] for r in fresh_db.query("select id from enforcement_actions")]
    assert len(set(ids)) == 184
    # every requirement of every record is an action_provisions row
    assert fresh_db["action_provisions"].count == sum(len(r["violations"]) for r in curated_records)
    anthem = fresh_db["enforcement_actions"].get("2018-10-15-anthem")
    assert anthem["amount_usd"] == 16_000_000 and anthem["origin"] == "curated"
    assert json.loads(anthem["incident"]) == curated_records[anthem["curated_line"] - 1]["incident"]
    flags = {r["flag"] for r in fresh_db.query("select flag from action_provisions where provision is not null")}
    assert flags <= {"exact", "parent"}


def test_curated_cap_fields_land(fresh_db, tmp_path, curated_records):
    """cap is stored as 1 / 0 / NULL (unknown) and cap_obligations as a JSON array, line for line."""
    load_actions.load(fresh_db, CURATED, tmp_path / "no-raw", echo=lambda _: None)
    rows = {
        r["curated_line"]: r
        for r in fresh_db.query(
            "select curated_line, cap, typeof(cap) as kind, cap_obligations from enforcement_actions"
        )
    }
    for line, record in enumerate(curated_records, start=1):
        want = {True: 1, False: 0, None: None}[record["cap"]]
        assert (rows[line]["cap"], json.loads(rows[line]["cap_obligations"])) == (want, record["cap_obligations"])
        assert rows[line]["kind"] == {1: "integer", 0: "integer", None: "null"}[want]
    counts = dict(fresh_db.execute("select coalesce(cap, -1), count(*) from enforcement_actions group by cap"))
    assert counts == {
        1: sum(r["cap"] is True for r in curated_records),
        0: sum(r["cap"] is False for r in curated_records),
        -1: sum(r["cap"] is None for r in curated_records),
    }
    # array facet: one row per (action, obligation)
    per_label = dict(
        fresh_db.execute(
            "select j.value, count(*) from enforcement_actions, "
            "json_each(enforcement_actions.cap_obligations) j group by j.value"
        )
    )
    assert sum(per_label.values()) == sum(len(r["cap_obligations"]) for r in curated_records) > 0
    # the second shared review dated three actions and re-dated St. Joseph Health
    st_joseph = fresh_db["enforcement_actions"].get("2016-10-18-st-joseph-health")
    inmediata = fresh_db["enforcement_actions"].get("2024-12-10-inmediata-health-group")
    assert st_joseph["cap"] == 1 and inmediata["cap"] == 0
    for action_id in (
        "2014-12-08-anchorage-community-mental-health-services",
        "2025-01-15-south-broward-hospital-district",
        "undated-management-services-organization-washington",
    ):
        assert fresh_db["enforcement_actions"].get(action_id)
    ids = {r[0] for r in fresh_db.execute("select id from enforcement_actions")}
    assert not ids & {
        "2016-10-17-st-joseph-health",
        "undated-inmediata-health-group",
        "undated-anchorage-community-mental-health-services",
        "undated-south-broward-hospital-district",
    }


def test_cap_values_of_hand_made_records(fresh_db, tmp_path):
    records = [
        _curated(
            "Plan Clinic",
            "2030-01-01",
            10_000,
            cap=True,
            cap_years=2,
            cap_obligations=["risk analysis", "monitor / independent assessor"],
        ),
        _curated("No Plan Clinic", "2030-01-02", 10_000, cap=False),
        _curated("Unknown Clinic", "2030-01-03", 10_000),
        _curated("Penalty Clinic", "2030-01-04", 10_000, action_type="civil_money_penalty"),
    ]
    (tmp_path / CURATED_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    load_actions.load(fresh_db, tmp_path / CURATED_FILE, tmp_path / "no-raw", echo=lambda _: None)
    got = [
        tuple(r)
        for r in fresh_db.execute(
            "select entity, cap, cap_years, cap_obligations from enforcement_actions order by announced"
        )
    ]
    assert got == [
        ("Plan Clinic", 1, 2, '["risk analysis", "monitor / independent assessor"]'),
        ("No Plan Clinic", 0, None, "[]"),
        ("Unknown Clinic", None, None, "[]"),
        ("Penalty Clinic", None, None, "[]"),
    ]
    assert fresh_db["enforcement_actions"].columns_dict["cap"] is int


def test_bad_curated_lines_are_rejected_with_reasons(fresh_db, tmp_path):
    lines = CURATED.read_text().splitlines()
    third = json.loads(lines[2])
    third["amount_usd"] = "one million"  # hand-made corruption of two real lines
    lines[2] = json.dumps(third)
    lines[9] = lines[9][:40]
    path = tmp_path / CURATED_FILE
    path.write_text("\n".join(lines) + "\n")
    out: list[str] = []
    counts = load_actions.load(fresh_db, path, tmp_path / "no-raw", echo=out.append)
    assert counts["curated_loaded"] == fresh_db["enforcement_actions"].count == 182
    rejected = list(
        fresh_db.query("select file, line, field, reason from rejected_rows where source = 'curated' order by line")
    )
    assert [(r["line"], r["field"]) for r in rejected] == [(3, "amount_usd"), (10, "(line)")]
    assert all(r["file"] == str(path) for r in rejected)
    assert "lines 184 = loaded 182 + rejected 2" in "\n".join(out)


# --- merge with crawled pages (hand-made pages, real extractor) ---------------------------------


def _curated(entity, announced, amount, action_type="resolution_agreement", **extra) -> dict:
    # Hand-made curated record for the merge tests.
    record = {
        "entity": entity,
        "announced": announced,
        "action_type": action_type,
        "amount_usd": amount,
        "entity_type": "healthcare_provider",
        "state": "OH",
        "individuals_affected": None,
        "breach_reported": None,
        "cap_years": None,
        "cap": None,
        "cap_obligations": [],
        "initiative": None,
        "incident": ["hacking"],
        "violations": [{"cfr": "164.308(a)(1)(ii)(A)", "label": "risk analysis", "basis": "mapped"}],
        "summary": f"{entity} settled.",
        "hhs_urls": [],
        "evidence": ["https://example.org/e"],
        "confidence": "high",
        "notes": "",
    }
    record.update(extra)
    return record


def _page(line, url, published, title, text) -> dict:
    # Hand-made raw hhs_enforcement item (the crawler's contract), written like an HHS release.
    return {
        "source": "hhs_enforcement",
        "url": url,
        "kind": "press_release",
        "title": title,
        "published": published,
        "text": text,
        "links": [],
        "fetched_from": "handmade.csv",
        "sha256": f"{line:064x}",
        "line": line,
        "error": None,
    }


LEAD = (
    "to the Office for Civil Rights (OCR) at the U.S. Department of Health and Human Services (HHS) to "
    "settle potential violations of the Health Insurance Portability and Accountability Act (HIPAA)."
)


@pytest.fixture
def merged(fresh_db, tmp_path):
    curated = [
        _curated("Anthem, Inc.", "2030-10-15", 16_000_000),
        _curated("Lakeside Clinic, P.C.", "2030-03-02", 75_000),
        _curated("River Valley Hospital", "2030-05-05", None),
        _curated("Quiet Dental Group", "2030-07-07", 20_000),
    ]
    (tmp_path / CURATED_FILE).write_text("".join(json.dumps(r) + "\n" for r in curated))
    raw = tmp_path / "raw" / "hhs_enforcement"
    raw.mkdir(parents=True)
    pages = [
        # same entity written differently, a day later, with another amount -> two conflicts
        _page(
            2,
            "https://www.hhs.gov/about/news/2030/10/16/anthem.html",
            "2030-10-16",
            "Anthem Pays OCR $15 Million",
            f"Anthem Inc. has agreed to pay $15,000,000 {LEAD} OCR found that "
            "Anthem failed to review information system activity as required by 45 C.F.R. § "
            "164.308(a)(1)(ii)(D).\n\nThe breach affected millions.",
        ),
        # rounded amount in the release: agrees; cites two sections
        _page(
            3,
            "https://www.hhs.gov/about/news/2030/03/02/lakeside.html",
            "2030-03-02",
            "Lakeside Clinic Settles",
            f"Lakeside Clinic has agreed to pay $75,000 {LEAD} The clinic had no "
            "risk analysis (45 CFR 164.308(a)(1)(ii)(A)) and denied patients access under 45 CFR 164.524.",
        ),
        # curated amount missing: filled from the page, recorded
        _page(
            4,
            "https://www.hhs.gov/about/news/2030/05/05/river.html",
            "2030-05-05",
            "River Valley Hospital Settles",
            f"River Valley Hospital has agreed to pay $240,000 {LEAD}",
        ),
        # no curated match: a crawled-only action
        _page(
            5,
            "https://www.hhs.gov/about/news/2030/08/08/summit.html",
            "2030-08-08",
            "Summit Imaging Settles",
            f"Summit Imaging LLC has agreed to pay $90,000 {LEAD}",
        ),
        # not an enforcement release
        _page(
            6,
            "https://www.hhs.gov/about/news/2030/08/09/flu.html",
            "2030-08-09",
            "Flu season guidance",
            "HHS reminds everyone to get a flu shot.",
        ),
    ]
    (raw / "handmade.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pages) + "{not json\n")
    out: list[str] = []
    counts = load_actions.load(fresh_db, tmp_path / CURATED_FILE, tmp_path / "raw", echo=out.append)
    return fresh_db, counts, "\n".join(out)


def test_merge_reports_conflicts_and_keeps_curated_values(merged):
    db, counts, out = merged
    conflicts = {(r["action_id"], r["field"]): r for r in db.query("select * from merge_conflicts")}
    assert set(conflicts) == {
        ("2030-10-15-anthem", "amount_usd"),
        ("2030-10-15-anthem", "announced"),
        ("2030-05-05-river-valley-hospital", "amount_usd"),
    }
    amount = conflicts[("2030-10-15-anthem", "amount_usd")]
    assert (amount["curated_value"], amount["crawled_value"], amount["resolution"]) == (
        "16000000",
        "15000000",
        "curated kept",
    )
    assert amount["source_url"] == "https://www.hhs.gov/about/news/2030/10/16/anthem.html"
    anthem = db["enforcement_actions"].get("2030-10-15-anthem")
    assert (anthem["amount_usd"], anthem["announced"], anthem["origin"]) == (
        16_000_000,
        "2030-10-15",
        "curated+crawled",
    )
    river = db["enforcement_actions"].get("2030-05-05-river-valley-hospital")
    assert river["amount_usd"] == 240_000
    assert conflicts[("2030-05-05-river-valley-hospital", "amount_usd")]["resolution"] == "filled from crawled"
    assert "conflict 2030-10-15-anthem amount_usd: curated 16000000, crawled 15000000" in out
    assert counts["merge_conflicts"] == 3


def test_merge_adds_documents_sections_and_crawled_only_actions(merged):
    db, counts, out = merged
    assert db["enforcement_actions"].count == 5
    summit = db["enforcement_actions"].get("2030-08-08-summit-imaging")
    assert (summit["origin"], summit["amount_usd"]) == ("crawled", 90_000)
    assert (summit["cap"], summit["cap_obligations"]) == (None, "[]")  # not researched: unknown
    assert "new crawled action 2030-08-08-summit-imaging" in out
    docs = {r["action_id"]: r for r in db.query("select * from action_documents")}
    assert set(docs) == {
        "2030-10-15-anthem",
        "2030-03-02-lakeside-clinic",
        "2030-05-05-river-valley-hospital",
        "2030-08-08-summit-imaging",
    }
    cited = list(
        db.query(
            "select provision, provision_id, flag, sentence from action_provisions "
            "where action_id = '2030-03-02-lakeside-clinic' and source = 'document' order by id"
        )
    )
    assert [c["provision"] for c in cited] == ["164.308(a)(1)(ii)(A)", "164.524"]
    assert cited[1]["sentence"].startswith("The clinic had no risk analysis")
    assert cited[0]["flag"] == "exact" and cited[0]["provision_id"] == "164.308(a)(1)(ii)(A)"
    assert not list(db.query("select * from merge_conflicts where action_id = '2030-03-02-lakeside-clinic'"))
    # the page that is not JSON is rejected with file and line; the flu page is just not an action
    rejected = list(db.query("select file, line, field from rejected_rows where source = 'hhs_enforcement'"))
    assert [(Path(r["file"]).name, r["line"], r["field"]) for r in rejected] == [("handmade.jsonl", 6, "(line)")]
    assert counts["crawled_pages"] == 6 and counts["crawled_enforcement_pages"] == 4
    assert "pages 6 = enforcement 4 + other 1 + rejected 1" in out


def test_joint_release_is_compared_with_the_sum():
    # Hand-made: three curated actions announced the same day, one release stating only the total.
    actions = [
        load_actions.curated_action(_curated(name, "2030-09-20", amount), f"a{n}", n)
        for n, (name, amount) in enumerate(
            [
                ("Boston Medical Center", 100_000),
                ("Brigham and Women's Hospital", 384_000),
                ("Massachusetts General Hospital", 515_000),
            ],
            start=1,
        )
    ]
    item = _page(
        1,
        "https://www.hhs.gov/x.html",
        "2030-09-20",
        "Three settlements",
        "OCR reached separate settlements with Boston Medical Center (BMC) Brigham and Women's Hospital "
        "(BWH) and Massachusetts General Hospital (MGH). Collectively they paid $999,000.",
    )
    extracted = {
        "entity": "Boston Medical Center",
        "announced": "2030-09-20",
        "amount_usd": 999_000,
        "action_type": "resolution_agreement",
        "url": item["url"],
    }
    result = merge_crawled(actions, [Crawled("f", 1, item, extracted, 1)], resolve)
    assert {d["action_id"] for d in result.documents} == {"a1", "a2", "a3"}
    assert result.conflicts == []
    wrong = dict(extracted, amount_usd=1_500_000)
    result = merge_crawled([dict(a, origin="curated") for a in actions], [Crawled("f", 1, item, wrong, 1)], resolve)
    assert {c["action_id"] for c in result.conflicts if c["field"] == "amount_usd"} == {"a1", "a2", "a3"}


# --- the built database -------------------------------------------------------------------------


def test_build_loads_every_curated_action(built_db, built, curated_records):
    rejected = built_db.execute(
        "select count(distinct line) from rejected_rows where source = 'curated' and file like '%ocr_actions.jsonl'"
    ).fetchone()[0]
    curated = built_db.execute(
        "select count(*) from enforcement_actions where origin != 'crawled' and agency = 'ocr'"
    ).fetchone()[0]
    assert curated == len(curated_records) - rejected == 184
    assert "lines 184 = loaded 184 + rejected 0" in built["build_output"]
    # the recorded 2018-2019 releases joined their curated actions without duplicates
    merged = {r["id"] for r in built_db.query("select id from enforcement_actions where origin = 'curated+crawled'")}
    assert {
        "2018-10-15-anthem",
        "2019-05-06-touchstone-medical-imaging",
        "2018-09-20-boston-medical-center",
        "2018-09-20-brigham-and-womens-hospital",
        "2018-09-20-massachusetts-general-hospital",
    } <= merged
    by_key = defaultdict(list)
    for r in built_db.query("select entity_key, announced from enforcement_actions where agency = 'ocr'"):
        by_key[(r["entity_key"], r["announced"])].append(r)
    assert all(len(v) == 1 for v in by_key.values())
    docs = built_db.execute("select count(*) from action_documents").fetchone()[0]
    assert docs >= len(merged)


def test_search_finds_words_only_in_documents(built_db):
    # "Cignet"-style check on the real data: a word of Anthem's recorded press release text that the
    # curated record does not contain.
    doc = built_db.execute("select text from action_documents where action_id = '2018-10-15-anthem'").fetchone()[0]
    action = built_db["enforcement_actions"].get("2018-10-15-anthem")
    own = " ".join(str(action[c] or "") for c in ("entity", "summary", "incident_text", "notes")).lower()
    word = next(w for w in sorted(set(doc.lower().split())) if w.isalpha() and len(w) > 8 and w not in own)
    hits = [
        r[0]
        for r in built_db.execute(
            "select a.id from enforcement_actions a where a.rowid in (select rowid from enforcement_actions_search "
            "where enforcement_actions_search match ?)",
            [word],
        )
    ]
    assert "2018-10-15-anthem" in hits


# --- JSON API over HTTP ----------------------------------------------------------------------------


def _rows(url: str, params: dict | None = None) -> list[dict]:
    response = httpx.get(url, params={**(params or {}), "_shape": "array"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_http_actions_citing_provision_in_year(datasette_url, built_db, curated_records):
    rows = _rows(
        f"{datasette_url}/kb/actions_citing_provision.json", {"provision": "164.308(a)(1)(ii)(A)", "year": "2024"}
    )
    expected_entities = sorted(
        r["entity"]
        for r in curated_records
        if (r["announced"] or "").startswith("2024")
        and any(_covers(v["cfr"], "164.308(a)(1)(ii)(A)") for v in r["violations"])
    )
    from_documents = {
        r[0]
        for r in built_db.execute(
            "select a.entity from action_provisions p join enforcement_actions a on a.id = p.action_id "
            "where p.source = 'document' and a.year = 2024 and (p.provision = '164.308(a)(1)(ii)(A)' "
            "or p.provision like '164.308(a)(1)(ii)(A)(%')"
        )
    }
    assert sorted(r["entity"] for r in rows) == sorted(set(expected_entities) | from_documents)
    # the reviewed curated file of 2026-12-01 (which dated Inmediata Health Group 2024-12-10) gives nine
    assert len(rows) == 9
    # a parent provision also finds the paragraphs under it
    parent = _rows(
        f"{datasette_url}/kb/actions_citing_provision.json", {"provision": "164.308(a)(1)(ii)", "year": "2024"}
    )
    assert {r["id"] for r in rows} <= {r["id"] for r in parent}


def test_http_total_dollars_by_year(datasette_url, curated_records):
    rows = {r["year"]: r for r in _rows(f"{datasette_url}/kb/actions_dollars_by_year.json", {"agency": "ocr"})}
    totals: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for r in curated_records:
        year = r["announced"][:4] if r["announced"] else "(none)"
        totals[year] += r["amount_usd"] or 0
        counts[year] += 1
    assert {y: r["total_usd"] for y, r in rows.items()} == dict(totals)
    assert {y: r["actions"] for y, r in rows.items()} == dict(counts)
    assert rows["2018"]["total_usd"] == 25_683_400


def test_http_largest_against_business_associates(datasette_url, curated_records):
    rows = _rows(f"{datasette_url}/kb/actions_largest_business_associates.json", {"agency": "ocr"})
    by_date = sorted(
        (r for r in curated_records if r["entity_type"] == "business_associate" and r["amount_usd"]),
        key=lambda r: r["announced"] or "",
        reverse=True,
    )
    expected = sorted(by_date, key=lambda r: -r["amount_usd"])  # stable: ties stay latest first, as the query
    assert [(r["entity"], r["amount_usd"]) for r in rows] == [(r["entity"], r["amount_usd"]) for r in expected]
    assert rows[0]["entity"] == "Anthem, Inc." and rows[0]["amount_usd"] == 16_000_000


def test_http_largest_overall(datasette_url, curated_records, built_db):
    rows = _rows(f"{datasette_url}/kb/actions_largest_overall.json", {"agency": "ocr"})
    top = max(curated_records, key=lambda r: r["amount_usd"] or 0)
    assert (rows[0]["entity"], rows[0]["amount_usd"]) == (top["entity"], top["amount_usd"])
    assert {r["agency"] for r in rows} == {"ocr"}
    amounts = [r["amount_usd"] for r in rows]
    assert amounts == sorted(amounts, reverse=True) and len(rows) == 50
    # every enforcer when no agency is given
    everyone = _rows(f"{datasette_url}/kb/actions_largest_overall.json")
    largest = built_db.execute("select max(amount_usd) from enforcement_actions").fetchone()[0]
    assert everyone[0]["amount_usd"] == largest and len({r["agency"] for r in everyone}) > 1


def test_http_table_search_and_facets(datasette_url, built_db):
    data = httpx.get(
        f"{datasette_url}/kb/enforcement_actions.json",
        params={"_search": "ransomware", "_facet": "sector", "_size": "max", "_shape": "objects"},
        timeout=30,
    ).json()
    expected = {
        r[0]
        for r in built_db.execute(
            "select a.id from enforcement_actions a where a.rowid in (select rowid from enforcement_actions_search "
            "where enforcement_actions_search match 'ransomware')"
        )
    }
    assert {r["id"] for r in data["rows"]} == expected
    assert "2024-07-01-heritage-valley-health-system" in expected
    assert "sector" in data["facet_results"]
