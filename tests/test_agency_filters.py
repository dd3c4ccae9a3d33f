"""The enforcer (`agency`) as a filter across search, similar cases and the precedent range, over real
Datasette HTTP on the pipeline-built database: every row returned has the agency asked for, the counts per
agency equal SQL, several agencies may be asked for, an unknown agency is a 400, and the precedent range
never pools amounts across enforcers nor counts a criminal case as $0."""

from __future__ import annotations

import csv
import io
import subprocess

import httpx
import pytest
from conftest import KB

from etl.agencies import AGENCIES

NYP = "state-ag-ny-2023-12-27-"


def get(url: str, *pairs: tuple[str, str], **params) -> httpx.Response:
    return httpx.get(url, params=[*pairs, *params.items()], timeout=120)


# ------------------------------------------------------------------ search


def test_pixel_tracking_finds_new_york_presbyterian_by_default(datasette_url: str) -> None:
    r = get(f"{datasette_url}/-/search.json", q="pixel tracking")
    assert r.status_code == 200
    ids = [x["id"] for x in r.json()["results"]]
    assert any(i.startswith(NYP) for i in ids), ids
    nyp = next(x for x in r.json()["results"] if x["id"].startswith(NYP))
    assert nyp["agency"] == "state_ag" and nyp["agency_label"] == "State attorneys general"
    page = get(f"{datasette_url}/-/search", q="pixel tracking").text
    assert "State attorneys general" in page and 'data-facet="agency"' in page


@pytest.mark.parametrize("agency", list(AGENCIES))
def test_search_agency_filter_returns_only_that_agency_and_counts_equal_sql(
    datasette_url: str, built_db, agency: str
) -> None:
    r = get(f"{datasette_url}/-/search.json", agency=agency, per_page="100")
    assert r.status_code == 200, r.text
    answer = r.json()
    expected = built_db.execute("select count(*) from enforcement_actions where agency = ?", [agency]).fetchone()[0]
    assert answer["total"] == expected
    assert answer["results"] and all(x["agency"] == agency for x in answer["results"])
    assert answer["filters"][0]["value_label"] == AGENCIES[agency]


def test_search_agency_facet_counts_equal_sql(datasette_url: str, built_db) -> None:
    answer = get(f"{datasette_url}/-/search.json", q="breach").json()
    facet = next(f for f in answer["facets"] if f["name"] == "agency")
    counts = {v["value"]: v["count"] for v in facet["values"]}
    expected = dict(built_db.execute(
        "select a.agency, count(*) from enforcement_actions_search s join enforcement_actions a on a.rowid = s.rowid "
        "where enforcement_actions_search match 'breach' group by 1").fetchall())  # fmt: skip
    assert counts == expected
    assert {v["label"] for v in facet["values"]} <= set(AGENCIES.values())


def test_search_several_agencies_and_bad_agency(datasette_url: str, built_db) -> None:
    r = get(f"{datasette_url}/-/search.json", ("agency", "ftc"), ("agency", "doj"), per_page="100")
    expected = built_db.execute("select count(*) from enforcement_actions where agency in ('ftc', 'doj')").fetchone()[0]
    assert r.json()["total"] == expected and {x["agency"] for x in r.json()["results"]} == {"ftc", "doj"}
    assert get(f"{datasette_url}/-/search.json", agency="ftc,doj").json()["total"] == expected
    bad = get(f"{datasette_url}/-/search.json", agency="hhs")
    assert bad.status_code == 400 and "agency must be one of" in bad.json()["error"]
    rows = list(csv.DictReader(io.StringIO(get(f"{datasette_url}/-/search.csv", agency="ftc").text)))
    ftc = built_db.execute("select count(*) from enforcement_actions where agency = 'ftc'").fetchone()[0]
    assert len(rows) == ftc and {r["agency"] for r in rows} == {"ftc"}
    assert {r["agency_label"] for r in rows} == {"Federal Trade Commission"}


# ------------------------------------------------------------------ similar cases


@pytest.mark.parametrize("agency", ["ocr", "state_ag", "ftc", "doj"])
def test_similar_agency_filter(datasette_url: str, agency: str) -> None:
    r = get(f"{datasette_url}/-/similar.json", q="patient data shared without permission", kind="actions",
            agency=agency, k="20")  # fmt: skip
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results and all(x["agency"] == agency for x in results)
    assert all(x["agency_label"] == AGENCIES[agency] for x in results)
    assert r.json()["agency"] == [agency]


def test_similar_several_agencies_like_and_bad_agency(datasette_url: str) -> None:
    r = get(f"{datasette_url}/-/similar.json", ("agency", "ftc"), ("agency", "state_ag"), q="pixel tracking", k="30")
    actions = [x for x in r.json()["results"] if x["kind"] == "action"]
    assert actions and {x["agency"] for x in actions} <= {"ftc", "state_ag"}
    assert any(x["id"].startswith(NYP) for x in actions)
    like = get(f"{datasette_url}/-/similar.json", like="ftc-2023-02-01-goodrx-holdings", agency="ocr", k="10")
    assert like.status_code == 200 and all(x["agency"] == "ocr" for x in like.json()["results"])
    bad = get(f"{datasette_url}/-/similar.json", q="x", agency="fbi")
    assert bad.status_code == 400 and "agency must be" in bad.json()["error"]
    page = get(f"{datasette_url}/-/similar", q="pixel tracking", agency="state_ag").text
    assert 'value="state_ag" checked' in page and "State attorneys general" in page


def test_kb_similar_cli_agency(built: dict) -> None:
    out = subprocess.run([KB, "similar", "pixel tracking", "--kind", "actions", "--agency", "state_ag", "--k", "3",
                          "--db", str(built["db"])], capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("[State AG]") == 3 and NYP in out.stdout


# ------------------------------------------------------------------ the precedent range


def test_precedents_agency_filter_every_precedent_has_it(datasette_url: str, built_db) -> None:
    for agency in AGENCIES:
        r = get(f"{datasette_url}/-/precedents.json", q="patient records disclosed without authorization",
                agency=agency)  # fmt: skip
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["query"]["agencies"] == [agency]
        assert all(p["agency"] == agency for p in answer["precedents"])
        ids = [p["id"] for p in answer["precedents"]]
        if ids:
            rows = built_db.execute(
                f"select distinct agency from enforcement_actions where id in ({','.join('?' * len(ids))})", ids
            ).fetchall()
            assert rows == [(agency,)]
            assert answer["summary"]["by_agency"] == {agency: len(ids)}


def test_precedents_never_pool_amounts_and_criminal_cases_have_sentences(datasette_url: str, built_db) -> None:
    r = get(f"{datasette_url}/-/precedents.json", ("agency", "ocr"), ("agency", "doj"),
            q="an employee looked up patient records and sold them to identity thieves")  # fmt: skip
    answer = r.json()
    s = answer["summary"]
    doj = [p for p in answer["precedents"] if p["agency"] == "doj"]
    ocr = [p for p in answer["precedents"] if p["agency"] == "ocr"]
    assert doj and ocr, "the question finds both enforcers' cases"
    amount = s["amount"]
    assert amount["criminal"] == len(doj) and amount["n"] == len(ocr) and "doj" not in amount["by_agency"]
    assert amount["unknown"] == sum(p["amount_usd"] is None for p in ocr)  # a criminal case is not unknown
    assert s["sentences"]["n"] == len(doj)
    prison = [p["sentence"]["prison_months"] for p in doj if p["sentence"] and p["sentence"]["prison_months"]]
    assert s["sentences"]["prison_months"]["n"] == len(prison)
    assert any("criminal case" in c for c in answer["caveats"])
    for p in doj:
        assert p["amount_usd"] is None and p["cap"] is None


def test_precedents_mixed_enforcers_give_per_agency_figures(datasette_url: str) -> None:
    r = get(f"{datasette_url}/-/precedents.json", ("agency", "state_ag"), ("agency", "ftc"),
            q="hospital website pixel tracking shared patient data with facebook")  # fmt: skip
    s = r.json()["summary"]
    assert set(s["by_agency"]) == {"state_ag", "ftc"}
    assert s["amount"]["pooled"] is False and s["amount"]["median"] is None
    for agency, figures in s["amount"]["by_agency"].items():
        known = sorted(
            p["amount_usd"] for p in r.json()["precedents"] if p["agency"] == agency and p["amount_usd"] is not None
        )
        assert figures["n_known"] == len(known) and (not known or figures["max"] == known[-1])
    page = get(f"{datasette_url}/-/precedents", ("agency", "state_ag"), ("agency", "ftc"),
               q="hospital website pixel tracking shared patient data with facebook").text  # fmt: skip
    assert "per enforcer, never pooled" in page and "Federal Trade Commission" in page
    memo = get(f"{datasette_url}/-/precedents.md", agency="state_ag,ftc",
               q="hospital website pixel tracking shared patient data with facebook").text  # fmt: skip
    assert "per enforcer, never pooled" in memo and "45 CFR 15 U.S.C." not in memo and "15 U.S.C. 45(a)" in memo
    bad = get(f"{datasette_url}/-/precedents.json", q="x", agency="nope")
    assert bad.status_code == 400 and "agency must be" in bad.json()["error"]


def test_kb_precedents_cli_agency(built: dict) -> None:
    out = subprocess.run([KB, "precedents", "stolen laptop", "--agency", "ocr", "--json", "--db", str(built["db"])],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert '"agencies": [\n      "ocr"\n    ]' in out.stdout
