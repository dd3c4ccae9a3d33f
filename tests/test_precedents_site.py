"""The precedent range on the pipeline-built database, over real Datasette HTTP (`kb serve`): every summary
figure of `/-/precedents.json` recomputed with SQL from the precedents it lists, the contract's shape,
`kb precedents --json` printing the same JSON, the page and its memo, the links from case briefs and
breach report pages, bad input, and source text that stays inert."""

from __future__ import annotations

import json
import statistics
import subprocess

import httpx
import numpy as np
import pytest
from conftest import KB, REPO_ROOT
from site_helpers import HOSTILE_ACTION_ID, HOSTILE_BREACH_ID, IMG, SCRIPT, hostile_site

_ = hostile_site  # a fixture, used by name below

RANSOMWARE = "ransomware attack no risk analysis"
CONTRACT = {"query", "precedents", "summary", "base_rate", "penalty_tiers", "caveats"}
PRECEDENT_FIELDS = {"id", "entity", "announced", "action_type", "amount_usd", "cap", "cap_years", "similarity", "why"}


def get(url: str, **params) -> httpx.Response:
    return httpx.get(url, params=params, timeout=120)


@pytest.fixture(scope="module")
def ransomware(datasette_url: str) -> dict:
    """OCR's precedents (the figures below are recomputed as OCR's; tests/test_agency_filters.py covers the
    other enforcers)."""
    r = get(f"{datasette_url}/-/precedents.json", q=RANSOMWARE, agency="ocr")
    assert r.status_code == 200, r.text
    return r.json()


def marks(ids: list[str]) -> str:
    return ",".join("?" * len(ids))


# ------------------------------------------------------------------ the precedents and the contract


def test_ransomware_precedents_are_ransomware_actions(ransomware: dict, built_db) -> None:
    ids = [p["id"] for p in ransomware["precedents"]]
    assert 5 <= len(ids) <= ransomware["query"]["max_precedents"]
    ransom = {r[0] for r in built_db.execute(
        f"""select id from enforcement_actions where id in ({marks(ids)})
            and (lower(incident) like '%ransom%' or lower(summary) like '%ransom%')""", ids)}  # fmt: skip
    assert ransom == set(ids), f"not about ransomware: {set(ids) - ransom}"
    scores = [p["similarity"] for p in ransomware["precedents"]]
    assert scores == sorted(scores, reverse=True) and min(scores) >= ransomware["query"]["threshold"]


def test_contract_shape(ransomware: dict) -> None:
    assert set(ransomware) == CONTRACT
    assert all(PRECEDENT_FIELDS <= set(p) for p in ransomware["precedents"])
    s = ransomware["summary"]
    assert {"n", "by_type", "amount", "cap", "provisions", "time_to_action_days"} <= set(s)
    assert {"n_known", "min", "p25", "median", "p75", "max"} <= set(s["amount"])
    assert {"with_plan", "without_plan", "unknown", "years", "obligations"} <= set(s["cap"])
    assert all({"provision", "heading", "count", "share", "basis"} <= set(r) for r in s["provisions"])
    assert {"n", "median", "min", "max"} <= set(s["time_to_action_days"])
    assert {"similar_reports", "with_action", "share", "criteria"} <= set(ransomware["base_rate"])
    assert ransomware["penalty_tiers"] and all("calendar_year_cap" in t for t in ransomware["penalty_tiers"])
    assert any("Not legal advice" in c for c in ransomware["caveats"])
    assert any("dollars of the year" in c for c in ransomware["caveats"])


def test_precedents_carry_their_facts(ransomware: dict, built_db) -> None:
    for p in ransomware["precedents"]:
        row = built_db.execute(
            "select action_type, amount_usd, announced, cap_years from enforcement_actions where id = ?", [p["id"]]
        ).fetchone()
        assert (p["action_type"], p["amount_usd"], p["announced"], p["cap_years"]) == tuple(row)
        assert p["why"] and all(isinstance(w, str) for w in p["why"])
        assert p["source_url"] is None or p["source_url"].startswith(("http://", "https://"))


# ------------------------------------------------------------------ every figure, recomputed with SQL


def test_counts_types_and_years(ransomware: dict, built_db) -> None:
    ids = [p["id"] for p in ransomware["precedents"]]
    s = ransomware["summary"]
    assert s["n"] == len(ids)
    by_type = dict(built_db.execute(
        f"select action_type, count(*) from enforcement_actions where id in ({marks(ids)}) group by 1", ids).fetchall())  # fmt: skip
    assert {t: c for t, c in s["by_type"].items() if c} == by_type
    years = dict(built_db.execute(
        f"select cast(year as text), count(*) from enforcement_actions where id in ({marks(ids)}) group by 1", ids).fetchall())  # fmt: skip
    assert s["years"] == years


def amount_figures(built_db, ids: list[str], action_type: str | None = None) -> dict:
    where = f"id in ({marks(ids)})" + (" and action_type = ?" if action_type else "")
    params = ids + ([action_type] if action_type else [])
    n = built_db.execute(f"select count(*) from enforcement_actions where {where}", params).fetchone()[0]
    known = [r[0] for r in built_db.execute(
        f"select amount_usd from enforcement_actions where {where} and amount_usd is not null order by amount_usd", params)]  # fmt: skip
    figures = {"n": n, "n_known": len(known), "unknown": n - len(known)}
    for name, q in (("min", 0), ("p25", 25), ("median", 50), ("p75", 75), ("max", 100)):
        figures[name] = float(np.percentile(known, q, method="linear")) if known else None
    return figures


def test_amounts_and_quartiles(ransomware: dict, built_db) -> None:
    ids = [p["id"] for p in ransomware["precedents"]]
    amount = ransomware["summary"]["amount"]
    assert amount["pooled"] is True and amount["criminal"] == 0
    shown = {k: v for k, v in amount.items() if k not in ("by_type", "by_agency", "pooled", "criminal")}
    assert shown == pytest.approx(amount_figures(built_db, ids))
    for action_type, figures in amount["by_type"].items():
        assert figures == pytest.approx(amount_figures(built_db, ids, action_type))


def test_corrective_action_plans(ransomware: dict, built_db) -> None:
    ids = [p["id"] for p in ransomware["precedents"]]
    cap = ransomware["summary"]["cap"]
    plan = "(cap = 1 or (cap is null and cap_years is not null))"
    row = built_db.execute(
        f"""select sum({plan}), sum(not {plan} and (cap = 0 or action_type = 'civil_money_penalty')),
                   sum(not {plan} and coalesce(cap, -1) != 0 and action_type != 'civil_money_penalty'),
                   sum({plan} and cap_years is null), sum({plan} and cap_obligations not in ('[]', ''))
            from enforcement_actions where id in ({marks(ids)})""",
        ids,
    ).fetchone()
    assert (
        cap["with_plan"],
        cap["without_plan"],
        cap["unknown"],
        cap["years_unknown"],
        cap["obligations_recorded"],
    ) == tuple(v or 0 for v in row)
    years = dict(built_db.execute(
        f"""select cast(cap_years as text), count(*) from enforcement_actions
            where id in ({marks(ids)}) and {plan} and cap_years is not null group by 1""", ids).fetchall())  # fmt: skip
    assert cap["years"] == years
    obligations = dict(built_db.execute(
        f"""select o.value, count(*) from enforcement_actions a, json_each(a.cap_obligations) o
            where a.id in ({marks(ids)}) and {plan} group by 1""", ids).fetchall())  # fmt: skip
    assert {o["label"]: o["count"] for o in cap["obligations"]} == obligations


def test_provisions_with_share_and_basis(ransomware: dict, built_db) -> None:
    ids = [p["id"] for p in ransomware["precedents"]]
    rows = built_db.execute(
        f"""with best as (
              select action_id, provision_id,
                     min(case basis when 'stated' then 0 when 'mapped' then 1 when 'initiative' then 2 else 3 end) as b
              from action_provisions where action_id in ({marks(ids)}) and provision_id is not null
              group by 1, 2)
            select provision_id, count(*), sum(b = 0), sum(b = 1), sum(b = 2), sum(b = 3) from best
            group by 1 order by 2 desc, 1""",
        ids,
    ).fetchall()
    got = ransomware["summary"]["provisions"]
    assert [(r["provision"], r["count"]) for r in got] == [(r[0], r[1]) for r in rows]
    for r, expected in zip(got, rows, strict=True):
        assert r["share"] == round(expected[1] / len(ids), 4)
        names = ("stated", "mapped", "initiative", "first_pass")
        assert r["basis"] == {name: n for name, n in zip(names, expected[2:], strict=True) if n}


def test_initiatives_topics_and_time_to_action(ransomware: dict, built_db) -> None:
    ids = [p["id"] for p in ransomware["precedents"]]
    s = ransomware["summary"]
    initiatives = dict(built_db.execute(
        f"""select initiative, count(*) from enforcement_actions where id in ({marks(ids)})
            and initiative is not null group by 1""", ids).fetchall())  # fmt: skip
    assert {r["value"]: r["count"] for r in s["initiatives"]} == initiatives
    topics = dict(built_db.execute(
        f"select topic_id, count(*) from action_topics where action_id in ({marks(ids)}) group by 1", ids).fetchall())  # fmt: skip
    assert {r["value"]: r["count"] for r in s["topics"]} == topics
    days = [r[0] for r in built_db.execute(
        f"""select max(days_to_action) from breach_action_links where action_id in ({marks(ids)})
            and days_to_action is not null group by action_id""", ids)]  # fmt: skip
    expected = {"n": len(days), "median": statistics.median(days) if days else None,
                "min": min(days, default=None), "max": max(days, default=None)}  # fmt: skip
    assert s["time_to_action_days"] == expected


def test_base_rate(ransomware: dict, built_db) -> None:
    b = ransomware["base_rate"]
    assert b["criteria"]["breach_type"] == "Hacking/IT Incident"  # inferred from "ransomware"
    assert ransomware["query"]["facts_from"]["breach_type"] == "inferred"
    reports, linked, open_ = built_db.execute(
        """select count(*), sum(exists (select 1 from breach_action_links l where l.breach_id = b.id)),
                  sum(status = 'under_investigation')
           from breaches b where exists (select 1 from json_each(b.breach_types) t where t.value = 'Hacking/IT Incident')"""
    ).fetchone()
    assert (b["similar_reports"], b["with_action"], b["under_investigation"]) == (reports, linked, open_)
    assert b["share"] == round(linked / reports, 4)
    assert sum(r["reports"] for r in b["by_size_band"]) == reports


def test_penalty_tiers_are_todays(ransomware: dict, built_db) -> None:
    newest = built_db.execute("select max(effective_date) from penalty_tiers where basis = 'regulation'").fetchone()[0]
    tiers = ransomware["penalty_tiers"]
    assert [t["tier"] for t in tiers] == [1, 2, 3, 4] and {t["effective_date"] for t in tiers} == {newest}


def test_facts_choose_the_base_rate_band(datasette_url: str, built_db) -> None:
    answer = get(f"{datasette_url}/-/precedents.json", q="laptop stolen from a car", individuals_affected="12000",
                 sector="physician_practice").json()  # fmt: skip
    b = answer["base_rate"]
    assert b["criteria"] == {"breach_type": "Theft", "location": "Laptop", "sector": "physician_practice",
                             "size_band": "10,000 – 99,999"}  # fmt: skip
    n = built_db.execute(
        """select count(*) from breaches b where sector = 'physician_practice'
           and individuals_affected between 10000 and 99999
           and exists (select 1 from json_each(b.breach_types) t where t.value = 'Theft')
           and exists (select 1 from json_each(b.locations) t where t.value = 'Laptop')"""
    ).fetchone()[0]
    assert b["similar_reports"] == n
    for p in answer["precedents"]:
        assert (p["sector"] == "physician_practice") == any(w.startswith("same sector") for w in p["why"])


# ------------------------------------------------------------------ like / breach, the CLI, the page


def test_cases_like_an_action_leave_it_out(datasette_url: str) -> None:
    answer = get(f"{datasette_url}/-/precedents.json", like="2018-10-15-anthem").json()
    ids = [p["id"] for p in answer["precedents"]]
    assert ids and "2018-10-15-anthem" not in ids
    assert answer["query"]["subject"]["id"] == "2018-10-15-anthem"
    assert answer["query"]["facts_from"]["sector"] == "the action"
    assert any(w.startswith("cites the same") for p in answer["precedents"] for w in p["why"])


def test_cases_like_a_breach_report_leave_out_its_own_action(datasette_url: str, built_db) -> None:
    breach_id, action_id = built_db.execute(
        "select breach_id, action_id from breach_action_links order by breach_id limit 1"
    ).fetchone()
    answer = get(f"{datasette_url}/-/precedents.json", breach=breach_id).json()
    assert action_id not in [p["id"] for p in answer["precedents"]]
    assert answer["query"]["subject"]["actions"] == [action_id]
    assert answer["base_rate"]["left_out"] == [breach_id]


def test_cli_prints_the_same_json_as_the_endpoint(ransomware: dict, built: dict) -> None:
    result = subprocess.run(
        [KB, "precedents", RANSOMWARE, "--agency", "ocr", "--json", "--db", str(built["db"])],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ransomware


def test_cli_memo_and_bad_fact(built: dict) -> None:
    memo = subprocess.run([KB, "precedents", RANSOMWARE, "--db", str(built["db"])], capture_output=True, text=True)
    assert memo.returncode == 0 and memo.stdout.startswith("# Precedent range:")
    bad = subprocess.run([KB, "precedents", RANSOMWARE, "--sector", "dentist", "--db", str(built["db"])],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode != 0 and "sector must be one of" in bad.stderr


def test_page_shows_the_range_with_charts(datasette_url: str, ransomware: dict) -> None:
    r = get(f"{datasette_url}/-/precedents", q=RANSOMWARE, agency="ocr")
    assert r.status_code == 200
    html = r.text
    for fragment in ('svg class="chart amount-chart"', 'svg class="chart hbar-chart"', "corrective action plans",
                     "linear interpolation between closest ranks", "Not legal advice", 'id="fig-amount"'):  # fmt: skip
        assert fragment in html, fragment
    for p in ransomware["precedents"]:
        assert f'href="/kb/enforcement_actions/{p["id"]}"' in html
    median = ransomware["summary"]["amount"]["median"]
    assert f"${median:,.0f}" in html
    assert '{"query"' not in html and "from enforcement_actions" not in html, "no raw JSON or SQL for a reader"


def test_empty_form_and_bad_input(datasette_url: str) -> None:
    form = get(f"{datasette_url}/-/precedents")
    assert form.status_code == 200 and 'name="q"' in form.text and "precedents-answer" not in form.text
    for params in ({}, {"q": "x", "like": "y"}, {"like": "no-such-action"}, {"q": "x", "sector": "dentist"},
                   {"q": "x", "individuals_affected": "-3"}):  # fmt: skip
        r = get(f"{datasette_url}/-/precedents.json", **params)
        assert r.status_code == 400 and r.json()["ok"] is False and r.json()["error"]
    page = get(f"{datasette_url}/-/precedents", q="x", sector="dentist")
    assert page.status_code == 400 and "sector must be one of" in page.text


def test_json_and_memo_send_cors_headers(datasette_url: str) -> None:
    for path in ("/-/precedents.json", "/-/precedents.md"):
        assert get(datasette_url + path, q=RANSOMWARE).headers["access-control-allow-origin"] == "*"


def test_markdown_memo_cites_every_precedent(datasette_url: str, ransomware: dict) -> None:
    r = get(f"{datasette_url}/-/precedents.md", q=RANSOMWARE, agency="ocr")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    text = r.text
    for p in ransomware["precedents"]:
        assert f"(<{p['source_url']}>)" in text
        assert f"/kb/enforcement_actions/{p['id']}>" in text
    for row in ransomware["summary"]["provisions"]:
        assert f"(<{row['ecfr_url']}>)" in text
    assert "Not legal advice" in text


def test_case_brief_and_breach_page_link_to_their_range(datasette_url: str, built_db) -> None:
    action = get(f"{datasette_url}/kb/enforcement_actions/2018-10-15-anthem").text
    assert 'href="/-/precedents?like=2018-10-15-anthem"' in action
    breach_id = built_db.execute("select id from breaches order by id limit 1").fetchone()[0]
    page = get(f"{datasette_url}/kb/breaches/{breach_id}").text
    assert f'href="/-/precedents?breach={breach_id}"' in page
    assert get(f"{datasette_url}/-/precedents", breach=breach_id).status_code == 200


@pytest.mark.parametrize("params", [{"like": HOSTILE_ACTION_ID}, {"breach": HOSTILE_BREACH_ID}])
def test_source_markup_stays_inert(hostile_site: str, params: dict) -> None:
    for path in ("/-/precedents", "/-/precedents.md"):
        r = get(hostile_site + path, **params)
        assert r.status_code == 200, r.text
        assert SCRIPT not in r.text and IMG not in r.text
