"""The enforcer and incident pages over real HTTP (kb_site/enforcers.py): `/-/enforcers`, `/-/enforcers/<agency>`,
`/-/incidents`, `/-/incidents/<id>` and their JSON, each fact checked against the pipeline-built database with
SQL; the per-enforcer Atom feed; the canned queries of kb_site/metadata/enforcers.yml; the incident line
of a case brief; the navigation and the home page's block."""

from __future__ import annotations

import re
import shlex
import subprocess
from html import unescape
from pathlib import Path

import httpx
import pytest
import yaml
from lxml import etree

from etl.agencies import ACTION_FORMS, AGENCIES, AGENCY_SHORT
from kb_site.enforcer_queries import agency_code, agency_slug, basis_words, evidence_parts, states_words
from kb_site.feeds import FEED_PAGE_SIZE, agency_feed_title

ATOM = "{http://www.w3.org/2005/Atom}"
ENFORCERS_YML = Path(__file__).resolve().parent.parent / "kb_site" / "metadata" / "enforcers.yml"
API_MD = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=60)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def scalar(db, sql: str, params=()):
    return db.execute(sql, params).fetchone()[0]


def dollars(value: int) -> str:
    return f"${value:,}"


# ------------------------------------------------------------------ pure helpers (no server)


def test_agency_path_segments() -> None:
    assert agency_code("state-ag") == agency_code("state_ag") == "state_ag"
    assert agency_code("FTC") == "ftc" and agency_code("nope") is None and agency_code("") is None
    assert [agency_slug(a) for a in AGENCIES] == ["ocr", "state-ag", "ftc", "doj"]


def test_words_of_bases_states_and_evidence() -> None:
    assert basis_words("164.308(a)(1)(ii)(A)", None) == "45 CFR 164.308(a)(1)(ii)(A)"
    assert basis_words("15 U.S.C. 45(a)", None) == "15 U.S.C. 45(a)"
    assert basis_words(None, "M.G.L. c. 93A") == "M.G.L. c. 93A" and basis_words(None, None) == "unknown"
    assert states_words(["MA", "CT"], ["MA", "CT"], 1, None) == "Massachusetts and Connecticut"
    assert states_words(["NY"], ["NY"], 0, None) == "New York"
    many = ["AK", "AR", "CT", "FL", "TN", "TX"]
    assert states_words(many, ["TN"], 1, None) == "6 states, led by Tennessee"
    assert states_words([], [], 1, "multistate: 43 states + DC") == "multistate: 43 states + DC"
    assert states_words([], [], 0, None) is None
    parts = evidence_parts("OCR's agreement concerns the attack; https://www.hhs.gov/a/index.html")
    assert parts == {"text": "OCR's agreement concerns the attack", "urls": ["https://www.hhs.gov/a/index.html"]}
    assert evidence_parts("see javascript:alert(1)")["urls"] == []


def test_feed_titles_never_assume_ocr() -> None:
    assert agency_feed_title("ftc") == "Federal Trade Commission: new enforcement actions"
    assert agency_feed_title("state-ag").startswith("State attorneys general")
    assert "OCR" not in agency_feed_title("doj") and "Every enforcer" in agency_feed_title("")


def test_the_feed_sql_spells_every_form_and_agency_as_etl_agencies_does() -> None:
    sql = yaml.safe_load(ENFORCERS_YML.read_text())["databases"]["kb"]["queries"]["feed_agency_actions"]["sql"]
    for code, words in ACTION_FORMS.items():
        if code != "other":
            assert f"when '{code}' then '{words}'" in sql, code
    for code, short in AGENCY_SHORT.items():
        assert f"when '{code}' then '{short}'" in sql, code


# ------------------------------------------------------------------ the pages over HTTP


@pytest.fixture(scope="module")
def enforcers_html(datasette_url: str) -> str:
    r = get(f"{datasette_url}/-/enforcers")
    assert r.status_code == 200
    return r.text


def test_enforcers_page_lists_all_four_with_their_counts(enforcers_html: str, datasette_url: str, built_db) -> None:
    page = text(enforcers_html)
    data = get(f"{datasette_url}/-/enforcers.json").json()
    assert [e["agency"] for e in data["enforcers"]] == list(AGENCIES)
    for e in data["enforcers"]:
        n = scalar(built_db, "select count(*) from enforcement_actions where agency = ?", [e["agency"]])
        assert e["actions"] == n and n > 0
        assert AGENCIES[e["agency"]] in page
        assert f'href="/-/enforcers/{agency_slug(e["agency"])}"' in enforcers_html
        assert f"/kb/enforcement_actions?agency={e['agency']}" in enforcers_html
        paid = scalar(built_db, "select sum(amount_usd) from enforcement_actions where agency = ?", [e["agency"]])
        assert e["paid_usd"] == paid
        if e["agency"] != "doj":
            assert dollars(paid) in page
    assert "None" not in page and " none " not in page.lower()


@pytest.mark.parametrize("segment", ["ocr", "state-ag", "state_ag", "ftc", "doj"])
def test_each_enforcer_page_counts_what_sql_counts(datasette_url: str, built_db, segment: str) -> None:
    agency = segment.replace("-", "_")
    r = get(f"{datasette_url}/-/enforcers/{segment}")
    assert r.status_code == 200
    page = text(r.text)
    n = scalar(built_db, "select count(*) from enforcement_actions where agency = ?", [agency])
    assert re.search(rf'id="enforcer-count">{n}<', r.text)
    assert AGENCIES[agency] in page and "What it enforces" in page
    assert f"/kb/enforcement_actions?agency={agency}" in r.text
    assert f"/kb/feed_agency_actions.atom?agency={agency}" in r.text
    assert "None" not in page
    data = get(f"{datasette_url}/-/enforcers/{segment}.json").json()
    assert data["actions"] == n and sum(y["actions"] for y in data["per_year"]) + data["undated"] == n
    assert sum(f["actions"] for f in data["forms"]) == n
    for year in data["per_year"]:
        assert year["actions"] == scalar(
            built_db, "select count(*) from enforcement_actions where agency = ? and year = ?", [agency, year["year"]]
        )
    # every listed action links to its case page
    for a in data["listed"]:
        assert f'href="/kb/enforcement_actions/{a["id"]}"' in r.text


def test_largest_actions_are_the_largest_amounts_and_doj_the_longest_sentences(datasette_url: str, built_db) -> None:
    ftc = get(f"{datasette_url}/-/enforcers/ftc.json").json()
    top = built_db.execute(
        "select id from enforcement_actions where agency = 'ftc' and amount_usd > 0 order by amount_usd desc, id limit 10"
    ).fetchall()
    assert [a["id"] for a in ftc["largest"]] == [row[0] for row in top]
    doj = get(f"{datasette_url}/-/enforcers/doj.json").json()
    assert doj["largest_kind"] == "sentences"
    longest = scalar(
        built_db,
        "select a.id from criminal_sentences s join enforcement_actions a on a.id = s.action_id "
        "where a.agency = 'doj' order by s.prison_months desc, a.id limit 1",
    )
    assert doj["largest"][0]["id"] == longest


def test_the_ftc_page_lists_goodrx(datasette_url: str) -> None:
    r = get(f"{datasette_url}/-/enforcers/ftc")
    row = re.search(r'<tr data-action-id="ftc-2023-02-01-goodrx-holdings">.*?</tr>', r.text, re.S)
    assert row, "GoodRx is listed"
    assert "GoodRx Holdings" in row.group(0) and "February 1, 2023" in row.group(0)
    assert "$1,500,000" in row.group(0) and "Civil penalty order" in row.group(0)


def test_the_state_ag_page_counts_states_with_json_each(datasette_url: str, built_db) -> None:
    data = get(f"{datasette_url}/-/enforcers/state-ag.json").json()
    for s in data["states"]["per_state"][:5]:
        expected = scalar(
            built_db,
            "select count(*) from enforcement_actions a, json_each(a.states) s where a.agency = 'state_ag' and s.value = ?",
            [s["state"]],
        )
        assert s["actions"] == expected
    assert data["states"]["multistate"] == scalar(
        built_db, "select count(*) from enforcement_actions where agency = 'state_ag' and multistate = 1"
    )
    assert data["states"]["single"] == scalar(
        built_db, "select count(*) from enforcement_actions where agency = 'state_ag' and multistate = 0"
    )
    page = get(f"{datasette_url}/-/enforcers/state-ag").text
    assert ">New York<" in page and "states__arraycontains=NY" in page


@pytest.mark.parametrize("path", ["/-/enforcers/nope", "/-/enforcers/nope.json", "/-/incidents/no-such-incident"])
def test_unknown_enforcer_or_incident_is_a_404_with_the_navigation(datasette_url: str, path: str) -> None:
    r = get(datasette_url + path)
    assert r.status_code == 404
    if path.endswith(".json"):
        assert r.json()["ok"] is False
    else:
        assert 'class="kb-nav"' in r.text


def test_incidents_page_lists_every_incident(datasette_url: str, built_db) -> None:
    r = get(f"{datasette_url}/-/incidents")
    assert r.status_code == 200
    ids = [row[0] for row in built_db.execute("select id from incidents")]
    for incident_id in ids:
        assert f'href="/-/incidents/{incident_id}"' in r.text
    data = get(f"{datasette_url}/-/incidents.json").json()
    assert sorted(i["id"] for i in data["incidents"]) == sorted(ids)


def _action(incident: dict, action_id: str) -> dict:
    return next(a for a in incident["actions"] if a["id"] == action_id)


def test_the_anthem_incident_shows_ocr_2018_and_the_states_2020_with_the_2015_report(
    datasette_url: str, built_db
) -> None:
    r = get(f"{datasette_url}/-/incidents/anthem-2015-cyberattack")
    assert r.status_code == 200
    page = text(r.text)
    data = get(f"{datasette_url}/-/incidents/anthem-2015-cyberattack.json").json()
    ocr = _action(data, "2018-10-15-anthem")
    assert (ocr["agency"], ocr["amount_usd"], ocr["announced"][:4]) == ("ocr", 16000000, "2018")
    states = _action(data, "state-ag-multistate-2020-09-30-anthem")
    assert (states["agency"], states["amount_usd"], states["announced"][:4]) == ("state_ag", 39500000, "2020")
    assert "$16,000,000" in page and "$39,500,000" in page
    assert "October 15, 2018" in page and "September 30, 2020" in page
    assert [a["id"] for a in data["actions"]] == [
        row[0]
        for row in built_db.execute(
            "select id from enforcement_actions where incident_id = 'anthem-2015-cyberattack' "
            "order by coalesce(announced, cast(year as text)), id"
        )
    ]
    total = scalar(built_db, "select total_paid_usd from incidents where id = 'anthem-2015-cyberattack'")
    assert data["total_paid_usd"] == total and dollars(total) in page
    assert "not counted" in page  # what the total counts is said
    report = data["breach_reports"][0]
    assert report["id"] == "2015-02-13-anthem-in" and report["submission_date"] == "2015-02-13"
    assert 'href="/kb/breaches/2015-02-13-anthem-in"' in r.text
    individuals = scalar(built_db, "select individuals_affected from breaches where id = '2015-02-13-anthem-in'")
    assert f"{individuals:,}" in page
    for a in data["actions"]:
        assert f'href="/kb/enforcement_actions/{a["id"]}"' in r.text
        assert a["evidence"]["text"], a["id"]


def test_the_comstar_incident_shows_ocr_and_the_two_states(datasette_url: str) -> None:
    r = get(f"{datasette_url}/-/incidents/comstar-2022-ransomware")
    page = text(r.text)
    data = get(f"{datasette_url}/-/incidents/comstar-2022-ransomware.json").json()
    by_agency = {a["agency"]: a for a in data["actions"]}
    assert by_agency["ocr"]["amount_usd"] == 75000 and by_agency["state_ag"]["amount_usd"] == 515000
    assert by_agency["state_ag"]["states"] == ["MA", "CT"]
    assert "$75,000" in page and "$515,000" in page and "Massachusetts and Connecticut" in page


def test_amounts_not_counted_are_shown_but_not_counted(datasette_url: str, built_db) -> None:
    row = built_db.execute(
        "select a.incident_id, x.action_id, x.amount_usd from action_amounts x join enforcement_actions a "
        "on a.id = x.action_id where a.incident_id is not null and x.kind not in ('paid', 'redress', 'state_payment') "
        "and x.amount_usd is not null limit 1"
    ).fetchone()
    if row is None:
        pytest.skip("no incident action with an amount that is not counted in this build")
    incident_id, action_id, amount = row
    data = get(f"{datasette_url}/-/incidents/{incident_id}.json").json()
    shown = [x for x in _action(data, action_id)["amounts"] if x["amount_usd"] == amount]
    assert shown and not shown[0]["counted"]
    assert "not counted in the total" in get(f"{datasette_url}/-/incidents/{incident_id}").text


def test_a_case_brief_variable_names_its_incident(datasette_url: str) -> None:
    """The case brief's template (owned elsewhere) includes _incident_line.html; until it does, the hook's
    variable is checked through the template itself rendering on the incident page's data."""
    r = get(f"{datasette_url}/kb/enforcement_actions/2018-10-15-anthem")
    assert r.status_code == 200
    if "case-incident-line" in r.text:
        line = text(re.search(r'<p class="case-incident-line".*?</p>', r.text, re.S).group(0))
        assert "Part of incident: Anthem cyberattack, 2015" in line and "OCR (1), State AG (2)" in line
        assert 'href="/-/incidents/anthem-2015-cyberattack"' in r.text


# ------------------------------------------------------------------ feeds and canned queries


@pytest.mark.parametrize("agency", list(AGENCIES))
def test_each_enforcer_feed_is_atom_with_one_entry_per_action(datasette_url: str, built_db, agency: str) -> None:
    r = get(f"{datasette_url}/kb/feed_agency_actions.atom?agency={agency}&before=")
    assert r.status_code == 200
    root = etree.fromstring(r.content)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == f"{AGENCIES[agency]}: new enforcement actions"
    entries = root.findall(f"{ATOM}entry")
    dated = scalar(
        built_db,
        "select count(*) from enforcement_actions where agency = ? and (announced is not null or year is not null)",
        [agency],
    )
    assert len(entries) == min(dated, FEED_PAGE_SIZE)
    ids = {e.findtext(f"{ATOM}id").rsplit("/", 1)[1] for e in entries}
    agencies = {
        row[0]
        for row in built_db.execute(
            f"select distinct agency from enforcement_actions where id in ({','.join('?' * len(ids))})", list(ids)
        )
    }
    assert agencies == {agency}
    if agency != "ocr":
        assert not any("OCR" in e.findtext(f"{ATOM}title") for e in entries)
    if dated > FEED_PAGE_SIZE:
        assert root.find(f"{ATOM}link[@rel='next']") is not None


def test_the_ftc_feed_names_goodrx_and_its_amount(datasette_url: str) -> None:
    body = get(f"{datasette_url}/kb/feed_agency_actions.atom?agency=ftc&before=").text
    assert "FTC civil penalty order: GoodRx Holdings, Inc., $1,500,000" in body


def test_actions_same_incident_by_incident_or_by_action(datasette_url: str, built_db) -> None:
    expected = [
        row[0]
        for row in built_db.execute(
            "select id from enforcement_actions where incident_id = 'comstar-2022-ransomware' "
            "order by coalesce(announced, cast(year as text)), id"
        )
    ]
    for query in ("incident=comstar-2022-ransomware&action=", "incident=&action=2025-05-30-comstar"):
        rows = get(f"{datasette_url}/kb/actions_same_incident.json?{query}&_shape=array").json()
        assert [r["id"] for r in rows] == expected and len(expected) == 2


def test_state_ag_hipaa_by_state_counts_what_sql_counts(datasette_url: str, built_db) -> None:
    rows = get(f"{datasette_url}/kb/state_ag_hipaa_by_state.json?_shape=array").json()
    expected = dict(
        built_db.execute(
            "select s.value, count(*) from enforcement_actions a, json_each(a.states) s "
            "where a.agency = 'state_ag' and a.cites_hipaa = 1 group by s.value"
        ).fetchall()
    )
    assert {r["state"]: r["actions"] for r in rows} == expected and expected


def test_ftc_hbnr_actions_are_the_16_cfr_part_318_actions(datasette_url: str, built_db) -> None:
    rows = get(f"{datasette_url}/kb/ftc_hbnr_actions.json?_shape=array").json()
    expected = {
        row[0]
        for row in built_db.execute(
            "select distinct a.id from enforcement_actions a join action_provisions p on p.action_id = a.id "
            "where a.agency = 'ftc' and p.provision like '16 CFR%'"
        )
    }
    assert {r["id"] for r in rows} == expected
    assert "ftc-2023-02-01-goodrx-holdings" in expected


@pytest.mark.parametrize("table", ["incidents", "incident_members", "action_amounts", "criminal_sentences"])
def test_the_new_tables_read_as_pages(datasette_url: str, table: str) -> None:
    r = get(f"{datasette_url}/kb/{table}")
    assert r.status_code == 200


# ------------------------------------------------------------------ navigation, home page, docs


def test_navigation_and_home_page_link_the_enforcers(datasette_url: str, built_db) -> None:
    home = get(f"{datasette_url}/").text
    block = re.search(r'<section class="kb-enforcers" id="four-enforcers">.*?</section>', home, re.S).group(0)
    for agency, name in AGENCIES.items():
        n = scalar(built_db, "select count(*) from enforcement_actions where agency = ?", [agency])
        assert f'href="/-/enforcers/{agency_slug(agency)}">{name}</a>' in block
        assert re.search(rf"{re.escape(name)}</a>: <strong class=\"figure\">{n:,}</strong>", block)
    for path in ("/-/penalties", "/-/enforcers/ftc", "/-/incidents/anthem-2015-cyberattack"):
        nav = re.search(r'<p class="kb-nav">.*?</p>', get(datasette_url + path).text, re.S).group(0)
        assert 'href="/-/enforcers">Enforcers</a>' in nav and 'href="/-/incidents">Incidents</a>' in nav


def _section_curl_lines() -> list[str]:
    section = API_MD.read_text().split("## Enforcers and incidents", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("curl ")]


def test_the_docs_section_examples_run(datasette_url: str) -> None:
    lines = _section_curl_lines()
    assert len(lines) >= 3
    for line in lines:
        args = shlex.split(line.replace("http://127.0.0.1:8001", datasette_url))
        result = subprocess.run([*args, "--fail"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and len(result.stdout) > 20, line


def test_incident_of_action_gives_the_case_brief_its_line(built) -> None:
    """What kb_site.hooks hands the case brief (`incident_line`), rendered by _incident_line.html."""
    import asyncio

    from datasette.app import Datasette
    from jinja2 import Environment, FileSystemLoader

    from kb_site.enforcer_queries import incident_of_action

    datasette = Datasette([str(built["db"])], immutables=[])
    line = asyncio.run(incident_of_action(datasette, "2025-05-30-comstar"))
    assert line["title"].startswith("Comstar") and line["actions"] == 2
    assert line["text"] == "2 actions by OCR (1), State AG (1)"
    assert [o["id"] for o in line["others"]] == ["state-ag-multistate-2026-01-28-comstar"]
    assert asyncio.run(incident_of_action(datasette, "no-such-action")) is None
    templates = Path(__file__).resolve().parent.parent / "kb_site" / "templates"
    html = (
        Environment(loader=FileSystemLoader(templates), autoescape=True)
        .get_template("_incident_line.html")
        .render(incident_line=line)
    )
    assert "Part of incident:" in html and f'href="{line["url"]}"' in html and "State AG, January 28, 2026" in html
