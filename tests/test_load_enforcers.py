"""The enforcers beyond OCR: normalizing the three curated lists, loading them beside OCR's actions, and
joining actions of different enforcers on one incident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl import incidents, load_actions, load_enforcers
from etl.agencies import ACTION_FORMS, AMOUNT_KINDS
from etl.context import BuildError
from etl.normalize.enforcers import Amount, RecordError, display_name, normalize, paid_total, state_ag_form

REPO = Path(__file__).resolve().parent.parent
CURATED = REPO / "data" / "curated"
BEYOND = CURATED / "beyond_ocr"


def _records(name: str) -> list[dict]:
    return [json.loads(line) for line in (BEYOND / name).read_text(encoding="utf-8").splitlines()]


def _record(name: str, record_id: str) -> dict:
    return next(r for r in _records(name) if r["id"] == record_id)


@pytest.fixture
def loaded(fresh_db, tmp_path):
    """OCR's curated actions (no crawl), then the other enforcers' lists, as the build runs them."""
    load_actions.load(fresh_db, CURATED / "ocr_actions.jsonl", tmp_path / "no-raw", echo=lambda _: None)
    ocr_ids = [r["id"] for r in fresh_db.query("select id from enforcement_actions order by rowid")]
    lines: list[str] = []
    counts = load_enforcers.load(fresh_db, BEYOND, echo=lines.append)
    return fresh_db, ocr_ids, counts, lines


# --- normalizing (pure) ---------------------------------------------------------------------------


def test_every_form_of_the_real_state_ag_records_has_a_code():
    forms = {r["action_form"]: state_ag_form(r["action_form"]) for r in _records("state_ag_actions.jsonl")}
    assert set(forms.values()) <= set(ACTION_FORMS) and "other" not in forms.values()
    assert forms["settlement (AOD)"] == "assurance_of_voluntary_compliance"
    assert forms["AVC"] == "assurance_of_voluntary_compliance"
    assert forms["consent judgment (agreed final judgment)"] == "consent_judgment"
    assert forms["complaint (pending; outcome not found)"] == "complaint"
    assert forms["settlement (consent order)"] == "consent_order"
    assert forms["settlement"] == "settlement"


def test_a_multistate_record_keeps_codes_and_says_what_it_does_not_know():
    anthem = normalize("state_ag", _record("state_ag_actions.jsonl", "MULTI-2020-Anthem"))
    assert anthem["states"] == [] and anthem["lead_states"] == []
    assert "43 states + DC" in anthem["states_note"] and "lead: not confirmed" in anthem["states_note"]
    assert anthem["multistate"] and anthem["state"] is None and anthem["ag_state"] is None
    assert anthem["amount_usd"] == 39_500_000 and anthem["announced"] == "2020-09-30"
    comstar = normalize("state_ag", _record("state_ag_actions.jsonl", "MULTI-2026-Comstar"))
    assert comstar["states"] == ["MA", "CT"] and comstar["lead_states"] == ["MA", "CT"]
    assert comstar["amount_usd"] == 515_000


def test_names_and_counts_read_as_people_know_them():
    assert display_name("GoodRx Holdings, Inc. (d/b/a GoodRx Gold, GoodRx Care, HeyDoctor)") == "GoodRx Holdings, Inc."
    assert display_name("Health Net of the Northeast, Inc.; Health Net, Inc.") == "Health Net of the Northeast, Inc."
    assert display_name("(unnamed)") == "(unnamed)"
    rec = dict(_record("state_ag_actions.jsonl", "NC-2010-PromptMed"))
    assert normalize("state_ag", rec)["individuals_affected"] is None  # "757 (about 600 files recovered)"
    rec["individuals_affected"] = "3,403"
    assert normalize("state_ag", rec)["individuals_affected"] == 3403


def test_amounts_by_kind_count_only_money_required_paid():
    assert paid_total([Amount("paid", 30_508, ""), Amount("suspended", 169_492, "")]) == 30_508
    assert paid_total([Amount("suspended", 21_000_000, "")]) is None
    assert paid_total([Amount("paid", 0, ""), Amount("suspended", 2_500_000, "")]) == 0
    assert paid_total([Amount("redress", 5_100_000, ""), Amount("paid", 2_000_000, "")]) == 7_100_000
    # a paid part of unknown amount: no total rather than the known parts read as the whole
    assert paid_total([Amount("paid", 365_000, ""), Amount("paid", None, "")]) is None
    assert paid_total([Amount("required_spending", 275_000, ""), Amount("paid", 475_000, "")]) == 475_000


def test_ftc_amount_types_map_to_kinds():
    goodrx = normalize("ftc", _record("ftc_actions.jsonl", "ftc-2023-goodrx"))
    assert (goodrx["amount_usd"], goodrx["amounts"]) == (1_500_000, [Amount("paid", 1_500_000, "")])
    assert goodrx["action_type"] == "civil_penalty_order" and goodrx["entity"] == "GoodRx Holdings, Inc."
    refunds = normalize("ftc", _record("ftc_actions.jsonl", "ftc-2024-betterhelp-refunds"))
    assert refunds["action_type"] == "redress_distribution" and refunds["amount_usd"] is None
    assert refunds["year"] == 2024  # no date: the year the researchers put in the id
    odd = dict(_record("ftc_actions.jsonl", "ftc-2023-goodrx"), amount_type="mystery")
    with pytest.raises(RecordError) as e:
        normalize("ftc", odd)
    assert e.value.field == "amount_type"


def test_a_criminal_case_keeps_its_dates_as_written_and_its_sentence_in_words():
    gibson = normalize("doj", _record("doj_hipaa_criminal.jsonl", "doj-2004-gibson"))
    assert gibson["action_type"] == "sentence" and gibson["year"] == 2004
    # sentenced "2004-11 (day not captured)": the last step has no day, so the case has no announced date
    assert gibson["announced"] is None
    assert gibson["sentence"]["words"] == "16 months in prison"
    assert gibson["sentence"]["plea_or_verdict"].startswith("2004-08-19")
    assert gibson["amount_usd"] is None and gibson["entity_type_detail"].startswith("Phlebotomist")
    zhou = normalize("doj", _record("doj_hipaa_criminal.jsonl", "doj-2010-zhou"))
    assert zhou["announced"] == "2010-04-27" and zhou["sentence"]["words"] == "4 months in prison, $2,000 fine"
    aegerion = normalize("doj", _record("doj_hipaa_criminal.jsonl", "doj-2017-aegerion"))
    assert aegerion["action_type"] == "deferred_prosecution_agreement"
    laulu = normalize("doj", _record("doj_hipaa_criminal.jsonl", "doj-laulu"))
    assert laulu["year"] is None and laulu["announced"] is None


@pytest.mark.parametrize(
    ("agency", "name", "record_id", "change", "field"),
    [
        ("state_ag", "state_ag_actions.jsonl", "NC-2010-PromptMed", {"announced_date": "2010-02-30"}, "announced_date"),
        ("state_ag", "state_ag_actions.jsonl", "NC-2010-PromptMed", {"amount_usd": "50k"}, "amount_usd"),
        ("state_ag", "state_ag_actions.jsonl", "NC-2010-PromptMed", {"states": []}, "states"),
        ("state_ag", "state_ag_actions.jsonl", "NC-2010-PromptMed", {"evidence_urls": ["see notes"]}, "evidence"),
        ("ftc", "ftc_actions.jsonl", "ftc-2023-goodrx", {"respondent": " "}, "respondent"),
        ("ftc", "ftc_actions.jsonl", "ftc-2023-goodrx", {"confidence": "sure"}, "confidence"),
        (
            "doj",
            "doj_hipaa_criminal.jsonl",
            "doj-2010-zhou",
            {"sentence": {"prison_months": "four"}},
            "sentence.prison_months",
        ),
        ("doj", "doj_hipaa_criminal.jsonl", "doj-2010-zhou", {"dates": ["2010"]}, "dates"),
    ],
)
def test_a_bad_field_names_itself(agency, name, record_id, change, field):
    with pytest.raises(RecordError) as e:
        normalize(agency, {**_record(name, record_id), **change})
    assert e.value.field == field


# --- loading ------------------------------------------------------------------------------------


def test_every_line_loads_and_ocr_ids_do_not_change(loaded):
    db, ocr_ids, counts, lines = loaded
    expected = {name: len(_records(name)) for name in load_enforcers.SOURCES}
    for name, agency in load_enforcers.SOURCES.items():
        assert counts[f"{agency}_loaded"] == expected[name] and counts[f"{agency}_rejected"] == 0
        assert f"beyond_ocr/{name}: lines {expected[name]} = loaded {expected[name]} + rejected 0" in "\n".join(lines)
    by_agency = dict(db.execute("select agency, count(*) from enforcement_actions group by agency").fetchall())
    assert by_agency == {
        "ocr": len(ocr_ids),
        "state_ag": expected["state_ag_actions.jsonl"],
        "ftc": expected["ftc_actions.jsonl"],
        "doj": expected["doj_hipaa_criminal.jsonl"],
    }
    assert [
        r["id"] for r in db.query("select id from enforcement_actions where agency = 'ocr' order by rowid")
    ] == ocr_ids
    # one source record, one action
    records = [r[0] for r in db.execute("select source_record from enforcement_actions where agency != 'ocr'")]
    assert len(records) == len(set(records)) == sum(expected.values())


def test_ids_have_ocrs_form_with_the_agency_in_front(loaded):
    db, *_ = loaded
    ids = {r["source_record"]: r["id"] for r in db.query("select id, source_record from enforcement_actions")}
    assert ids["ftc-2023-goodrx"] == "ftc-2023-02-01-goodrx-holdings"
    assert ids["MULTI-2020-Anthem"] == "state-ag-multistate-2020-09-30-anthem"
    assert ids["CA-2020-Anthem"] == "state-ag-ca-2020-09-30-anthem"
    assert ids["NY-2018-Aetna-HIV"] == "state-ag-ny-2018-aetna"  # undated: its year
    assert ids["doj-2004-gibson"] == "doj-2004-08-richard-w-gibson"  # dated by its first step as written
    assert ids["doj-laulu"] == "doj-undated-stacy-laulu"


def test_ids_are_the_same_on_a_second_load(loaded, tmp_path):
    db, *_ = loaded
    first = [tuple(r) for r in db.execute("select id, source_record from enforcement_actions order by rowid")]
    load_actions.load(db, CURATED / "ocr_actions.jsonl", tmp_path / "no-raw", echo=lambda _: None)
    load_enforcers.load(db, BEYOND, echo=lambda _: None)
    assert [tuple(r) for r in db.execute("select id, source_record from enforcement_actions order by rowid")] == first


def test_goodrx_is_an_ftc_health_breach_notification_rule_action(loaded):
    db, *_ = loaded
    goodrx = db["enforcement_actions"].get("ftc-2023-02-01-goodrx-holdings")
    assert (goodrx["agency"], goodrx["announced"], goodrx["amount_usd"]) == ("ftc", "2023-02-01", 1_500_000)
    assert goodrx["docket"].startswith("3:23-cv-00460")
    cited = {r[0] for r in db.execute("select provision from action_provisions where action_id = ?", [goodrx["id"]])}
    assert {"16 CFR Part 318", "15 U.S.C. 45(a)"} <= cited
    ids = {r[0] for r in db.execute("select provision_id from action_provisions where action_id = ?", [goodrx["id"]])}
    assert "16 CFR Part 318" in ids  # linked to the provisions table


def test_legal_bases_are_citations_rule_subparts_or_the_law_as_written(loaded):
    db, *_ = loaded

    def bases(source_record: str) -> set[tuple]:
        return {
            (r["provision"], r["basis"])
            for r in db.query(
                "select p.provision, p.basis from action_provisions p join enforcement_actions a on a.id = p.action_id"
                " where a.source_record = ?",
                [source_record],
            )
        }

    # a state AG suing under HIPAA rests on 42 U.S.C. 1320d-5(d)
    assert ("42 U.S.C. 1320d-5(d)", "authority") in bases("CA-2020-Anthem") or (
        "42 U.S.C. 1320d-5(d)",
        "stated",
    ) in bases("CA-2020-Anthem")
    # a state-law-only action gets no HIPAA citation, and its law as written
    prompt_med = bases("NC-2010-PromptMed")
    assert prompt_med == {(None, "as written")}
    # a criminal case cites HIPAA's criminal provision
    assert ("42 U.S.C. 1320d-6(a)(3)", "stated") in bases("doj-2004-gibson")
    # "HIPAA Security Rule ..." without a section: its subpart
    rule_named = {r[0] for r in db.execute("select provision from action_provisions where basis = 'rule named'")}
    assert rule_named <= {"164 Subpart C", "164 Subpart D", "164 Subpart E"} and rule_named


def test_amounts_by_kind_and_sentences_are_tables(loaded):
    db, *_ = loaded
    kinds = {r[0] for r in db.execute("select distinct kind from action_amounts")}
    assert kinds <= set(AMOUNT_KINDS)
    amca = db.execute(
        "select id, amount_usd from enforcement_actions where source_record = 'MULTI-2021-AMCA'"
    ).fetchone()
    assert amca[1] is None  # nothing payable: the whole $21M was suspended
    assert db.execute("select kind, amount_usd from action_amounts where action_id = ?", [amca[0]]).fetchall() == [
        ("suspended", 21_000_000)
    ]
    # OCR's amounts are there too, as paid, so a query over action_amounts sees every enforcer
    assert db.execute(
        "select kind, amount_usd from action_amounts where action_id = '2018-10-15-anthem'"
    ).fetchall() == [("paid", 16_000_000)]
    sentences = db["criminal_sentences"].count
    assert sentences == db.execute("select count(*) from enforcement_actions where agency = 'doj'").fetchone()[0]
    gibson = db.execute(
        "select prison_months, words from criminal_sentences where action_id like 'doj-2004-08-%'"
    ).fetchone()
    assert gibson == (16, "16 months in prison")


def test_the_search_index_holds_every_enforcers_actions(loaded):
    db, *_ = loaded
    found = {
        r[0]
        for r in db.execute(
            "select a.id from enforcement_actions a where a.rowid in (select rowid from enforcement_actions_search "
            "where enforcement_actions_search match 'pixel tracking')"
        )
    }
    assert any(i.startswith("state-ag-ny-2023-12-27-") for i in found)
    assert db["enforcement_actions_search"].count == db["enforcement_actions"].count


def test_a_bad_line_is_rejected_with_file_line_and_field_and_the_rest_load(fresh_db, tmp_path):
    load_actions.load(fresh_db, CURATED / "ocr_actions.jsonl", tmp_path / "no-raw", echo=lambda _: None)
    folder = tmp_path / "beyond_ocr"
    folder.mkdir()
    for name in load_enforcers.SOURCES:
        lines = (BEYOND / name).read_text(encoding="utf-8").splitlines()
        if name == "ftc_actions.jsonl":
            bad = json.loads(lines[2])
            bad["announced_date"] = "2023-13-01"
            lines[2] = json.dumps(bad)
            lines.insert(5, "{not json")
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    echoed: list[str] = []
    counts = load_enforcers.load(fresh_db, folder, echo=echoed.append)
    ftc = len(_records("ftc_actions.jsonl"))
    assert (counts["ftc_loaded"], counts["ftc_rejected"]) == (ftc - 1, 2)
    rejected = list(
        fresh_db.query("select file, line, field, reason from rejected_rows where file like '%ftc_actions%'")
    )
    assert [(r["line"], r["field"]) for r in rejected] == [(3, "announced_date"), (6, "(line)")]
    assert f"lines {ftc + 1} = loaded {ftc - 1} + rejected 2" in "\n".join(echoed)
    assert any(line.startswith("reject ") and "ftc_actions.jsonl:3: field 'announced_date'" in line for line in echoed)


def test_amounts_file_naming_an_unknown_record_or_kind_stops_the_build(fresh_db, tmp_path):
    load_actions.load(fresh_db, CURATED / "ocr_actions.jsonl", tmp_path / "no-raw", echo=lambda _: None)
    folder = tmp_path / "beyond_ocr"
    folder.mkdir()
    for name in load_enforcers.SOURCES:
        (folder / name).write_text((BEYOND / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "amounts.csv").write_text("record,kind,amount_usd,note\nnobody,paid,5,x\n", encoding="utf-8")
    with pytest.raises(BuildError, match="nobody"):
        load_enforcers.load(fresh_db, folder, echo=lambda _: None)
    (folder / "amounts.csv").write_text("record,kind,amount_usd,note\nftc-2023-goodrx,bribe,5,x\n", encoding="utf-8")
    with pytest.raises(BuildError, match=r"amounts.csv:2: field 'kind'"):
        load_enforcers.load(fresh_db, folder, echo=lambda _: None)


# --- incidents ------------------------------------------------------------------------------------


def _incident_db(loaded):
    db, *_ = loaded
    # the incident files name Breach Portal reports of the full snapshot: give this database the ones named
    reports = {r["breach"] for r in _csv(CURATED / "incident_links.csv") if r["breach"]}
    db["breaches"].insert_all([{"id": b} for b in sorted(reports)], pk="id")
    db["breach_action_links"].create({"breach_id": str, "action_id": str, "evidence": str})
    return db


def _csv(path: Path) -> list[dict]:
    import csv

    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_anthem_and_comstar_incidents_join_every_enforcer(loaded):
    db = _incident_db(loaded)
    warnings: list[dict] = []
    incidents.build(db, CURATED, echo=lambda _: None, warnings=warnings)
    assert warnings == []
    members = {
        r["incident_id"]: r
        for r in db.query("select incident_id, group_concat(action_id) as actions from incident_members group by 1")
    }
    anthem = {a: db["enforcement_actions"].get(a) for a in members["anthem-2015-cyberattack"]["actions"].split(",")}
    by = {(a["agency"], a["year"], a["amount_usd"]) for a in anthem.values()}
    assert {("ocr", 2018, 16_000_000), ("state_ag", 2020, 39_500_000)} <= by
    row = db["incidents"].get("anthem-2015-cyberattack")
    assert row["total_paid_usd"] == sum(a["amount_usd"] for a in anthem.values())
    assert row["first_breach_id"] == "2015-02-13-anthem-in"
    comstar = db["incidents"].get("comstar-2022-ransomware")
    assert (comstar["total_paid_usd"], json.loads(comstar["agencies"])) == (75_000 + 515_000, ["ocr", "state_ag"])
    assert db["enforcement_actions"].get("2025-05-30-comstar")["incident_id"] == "comstar-2022-ransomware"


def test_an_incident_member_absent_from_this_build_is_skipped_and_reported(loaded, tmp_path):
    db = _incident_db(loaded)
    (tmp_path / "incidents.csv").write_text("incident,title,summary\nx-1,X,\n", encoding="utf-8")
    (tmp_path / "incident_links.csv").write_text(
        "incident,action,breach,evidence\nx-1,2018-10-15-anthem,,same\nx-1,no-such-action,,same\n", encoding="utf-8"
    )
    warnings: list[dict] = []
    incidents.build(db, tmp_path, echo=lambda _: None, warnings=warnings)
    assert [(w["line"], w["field"]) for w in warnings] == [(3, "action")]
    assert db["incidents"].get("x-1")["actions"] == 1


@pytest.mark.parametrize(
    ("links", "message"),
    [
        ("x-1,2018-10-15-anthem,2015-02-13-anthem-in,why", "either an action or a breach report"),
        ("x-1,2018-10-15-anthem,,", "field 'evidence'"),
        ("y-2,2018-10-15-anthem,,why", "'y-2' is not in incidents.csv"),
    ],
)
def test_a_malformed_incident_row_names_file_line_and_field(loaded, tmp_path, links, message):
    db = _incident_db(loaded)
    (tmp_path / "incidents.csv").write_text("incident,title,summary\nx-1,X,\n", encoding="utf-8")
    (tmp_path / "incident_links.csv").write_text(f"incident,action,breach,evidence\n{links}\n", encoding="utf-8")
    with pytest.raises(incidents.IncidentFileError, match=rf"incident_links.csv:2: .*{message}"):
        incidents.build(db, tmp_path, echo=lambda _: None)


def test_check_curated_names_a_bad_line_of_another_enforcers_list(tmp_path):
    from click.testing import CliRunner

    from etl.cli import cli

    (tmp_path / "beyond_ocr").mkdir()
    (tmp_path / "ocr_actions.jsonl").write_text((CURATED / "ocr_actions.jsonl").read_text(encoding="utf-8"))
    for name in [*load_enforcers.SOURCES, "amounts.csv"]:
        (tmp_path / "beyond_ocr" / name).write_text((BEYOND / name).read_text(encoding="utf-8"), encoding="utf-8")
    ok = CliRunner().invoke(cli, ["check-curated", str(tmp_path / "ocr_actions.jsonl")])
    assert ok.exit_code == 0 and "every line valid" in ok.output
    doj = (BEYOND / "doj_hipaa_criminal.jsonl").read_text(encoding="utf-8").splitlines()
    bad = json.loads(doj[1])
    bad["confidence"] = "certain"
    doj[1] = json.dumps(bad)
    (tmp_path / "beyond_ocr" / "doj_hipaa_criminal.jsonl").write_text("\n".join(doj) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check-curated", str(tmp_path / "ocr_actions.jsonl")])
    assert result.exit_code == 1
    assert "doj_hipaa_criminal.jsonl:2: field 'confidence'" in result.output


# --- over HTTP ------------------------------------------------------------------------------------


def test_the_table_api_filters_by_agency(datasette_url, built_db):
    import httpx

    rows = httpx.get(
        f"{datasette_url}/kb/enforcement_actions.json",
        params={"agency": "ftc", "_shape": "array", "_size": "max"},
        timeout=60,
    ).json()
    expected = built_db.execute("select count(*) from enforcement_actions where agency = 'ftc'").fetchone()[0]
    assert len(rows) == expected == len(_records("ftc_actions.jsonl"))
    assert {r["agency"] for r in rows} == {"ftc"}
    goodrx = [r for r in rows if r["entity"].startswith("GoodRx")]
    assert [(r["announced"], r["amount_usd"]) for r in goodrx] == [("2023-02-01", 1_500_000)]
    facets = httpx.get(
        f"{datasette_url}/kb/enforcement_actions.json", params={"_facet": "agency", "_size": "0"}, timeout=60
    ).json()["facet_results"]["agency"]["results"]
    counts = dict(built_db.execute("select agency, count(*) from enforcement_actions group by agency").fetchall())
    assert {f["value"]: f["count"] for f in facets} == counts
