"""etl/precedents.py and etl/precedents_memo.py without a build: quartiles, the summary figures, plans,
facts from words and forms, the base rate's size bands, and the memo's escaping. The figures over the real
build, the page, the JSON and the CLI are tests/test_precedents_site.py."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl import precedents as prec
from etl.precedents_memo import link, md, memo


@given(
    st.lists(st.integers(min_value=0, max_value=20_000_000), min_size=1, max_size=40),
    st.sampled_from([0, 0.25, 0.5, 0.75, 1]),
)
def test_quantile_is_linear_interpolation_between_closest_ranks(values: list[int], q: float) -> None:
    assert prec.quantile(values, q) == pytest.approx(float(np.percentile(values, q * 100, method="linear")))


def test_quantile_worked_example() -> None:
    # positions (n - 1) * q of [10, 20, 40, 80]: 0.75 -> 17.5, 1.5 -> 30, 2.25 -> 50
    assert [prec.quantile([80, 10, 40, 20], q) for q in (0.25, 0.5, 0.75)] == [17.5, 30.0, 50.0]


def precedent(i: int, **values) -> dict:
    """A hand-written precedent of the contract (fields the summary reads)."""
    base = {
        "id": f"a{i}",
        "action_type": "resolution_agreement",
        "amount_usd": None,
        "year": 2020,
        "cap": None,
        "cap_years": None,
        "cap_obligations": [],
        "initiative": None,
        "topics": [],
        "provisions": [],
        "days_from_report": None,
    }
    return base | values


def cited(provision: str, basis: str) -> dict:
    return {"provision": provision, "heading": "h", "ecfr_url": None, "basis": basis}


SAMPLE = [
    precedent(1, amount_usd=100, cap=True, cap_years=2, cap_obligations=["training"], topics=["ransomware"],
              provisions=[cited("164.308(a)(1)(ii)(A)", "stated")], days_from_report=100, year=2021),
    precedent(2, amount_usd=300, cap=True, cap_years=None, initiative="risk_analysis", topics=["ransomware"],
              provisions=[cited("164.308(a)(1)(ii)(A)", "first_pass"), cited("164.502(a)", "mapped")]),
    precedent(3, action_type="civil_money_penalty", amount_usd=1000, cap=False, days_from_report=300),
    precedent(4, cap=None, days_from_report=200),
]  # fmt: skip


def test_summary_figures_of_hand_written_precedents() -> None:
    s = prec.summarize(SAMPLE, {"ransomware": "Ransomware"})
    assert s["n"] == 4 and s["by_type"] == {"resolution_agreement": 3, "civil_money_penalty": 1}
    assert s["amount"] | {"by_type": None, "by_agency": None} == {
        "n": 4, "n_known": 3, "unknown": 1, "min": 100, "p25": 200.0, "median": 300, "p75": 650.0, "max": 1000,
        "by_type": None, "by_agency": None, "pooled": True, "criminal": 0,
    }  # fmt: skip
    assert list(s["amount"]["by_agency"]) == ["ocr"] and s["by_agency"] == {"ocr": 4}
    assert s["amount"]["by_type"]["civil_money_penalty"]["median"] == 1000
    cap = s["cap"]
    assert (cap["with_plan"], cap["without_plan"], cap["without_plan_penalties"], cap["unknown"]) == (2, 1, 1, 1)
    assert cap["years"] == {"2": 1} and cap["years_unknown"] == 1 and cap["obligations_recorded"] == 1
    assert cap["obligations"] == [{"label": "training", "count": 1, "actions": ["a1"]}]
    first = s["provisions"][0]
    assert first["provision"] == "164.308(a)(1)(ii)(A)" and first["count"] == 2 and first["share"] == 0.5
    assert first["basis"] == {"stated": 1, "first_pass": 1} and first["actions"] == ["a1", "a2"]
    assert s["initiatives"] == [{"value": "risk_analysis", "count": 1, "share": 0.25, "actions": ["a2"]}]
    assert s["topics"][0] | {"actions": None} == {
        "value": "ransomware",
        "name": "Ransomware",
        "count": 2,
        "share": 0.5,
        "actions": None,
    }
    assert s["time_to_action_days"] == {"n": 3, "median": 200, "min": 100, "max": 300}
    assert s["years"] == {"2020": 3, "2021": 1}


def test_summary_of_no_precedents_says_unknown_not_zero() -> None:
    s = prec.summarize([])
    assert s["n"] == 0 and s["amount"]["median"] is None and s["time_to_action_days"]["median"] is None


@pytest.mark.parametrize(
    "cap, years, action_type, expected",
    [
        (1, 3, "resolution_agreement", True),
        (None, 2, "resolution_agreement", True),  # a known length means a plan
        (0, None, "resolution_agreement", False),
        (None, None, "civil_money_penalty", False),  # a penalty carries no plan
        (None, None, "resolution_agreement", None),
    ],
)
def test_has_plan(cap, years, action_type, expected) -> None:
    assert prec.has_plan({"cap": cap, "cap_years": years, "action_type": action_type}) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ransomware encrypted our file server", {"breach_type": "Hacking/IT Incident", "location": "Network Server"}),
        ("a laptop was stolen from a car", {"breach_type": "Theft", "location": "Laptop"}),
        ("phishing email", {"breach_type": "Hacking/IT Incident", "location": "Email"}),
        ("a laptop was lost or stolen", {"location": "Laptop"}),  # two types named: none inferred
        ("the practice took months to send records", {}),
    ],
)
def test_facts_inferred_only_where_the_words_are_plain(text: str, expected: dict) -> None:
    assert prec.infer_facts(text) == expected


@pytest.mark.parametrize(
    "individuals, band",
    [(1, "500 – 999"), (999, "500 – 999"), (1000, "1,000 – 9,999"), (2_500_000, "1,000,000 or more")],
)
def test_size_bands(individuals: int, band: str) -> None:
    assert prec.size_band(individuals)[2] == band


@pytest.fixture
def facts_db(tmp_path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "facts.db")
    conn.executescript(
        """create table breach_types (id integer primary key, name text);
           create table breach_locations (id integer primary key, name text);
           create table breaches (id text, state text);
           insert into breach_types (name) values ('Theft'), ('Unknown');
           insert into breach_locations (name) values ('Laptop');
           insert into breaches values ('b1', 'CA');"""
    )
    return conn


def test_parse_facts_reads_a_form(facts_db) -> None:
    raw = {"sector": "dental", "breach_type": "Theft", "location": "", "individuals_affected": "12,000", "state": None}
    assert prec.parse_facts(facts_db, raw) == prec.Facts(
        sector="dental", breach_type="Theft", individuals_affected=12000
    )


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"sector": "dentist"}, "sector must be one of"),
        ({"breach_type": "Unknown"}, "breach_type must be one of"),
        ({"state": "ZZ"}, "state must be one of"),
        ({"individuals_affected": "0"}, "individuals_affected must be a whole number"),
        ({"individuals_affected": "many"}, "individuals_affected must be a whole number"),
    ],
)
def test_parse_facts_names_a_bad_fact(facts_db, raw: dict, message: str) -> None:
    with pytest.raises(prec.PrecedentError, match=message):
        prec.parse_facts(facts_db, raw)


@pytest.mark.parametrize(
    "query, message",
    [
        (prec.Query(), "give one of"),
        (prec.Query(text="x", like="y"), "give one of"),
        (prec.Query(text="   "), "the description is empty"),
        (prec.Query(text="x" * 2001), "longer than 2000"),
    ],
)
def test_resolve_refuses_bad_questions(facts_db, query: prec.Query, message: str) -> None:
    with pytest.raises(prec.PrecedentError, match=message):
        prec.resolve(facts_db, query)


def test_resolve_marks_where_each_fact_came_from(facts_db) -> None:
    resolved = prec.resolve(facts_db, prec.Query(text="laptop stolen", facts=prec.Facts(breach_type="Loss")))
    assert resolved.facts.breach_type == "Loss" and resolved.facts.location == "Laptop"
    assert resolved.sources == {"breach_type": "given", "location": "inferred"}


def test_memo_source_text_is_inert_and_links_are_http_only() -> None:
    assert md("<script>x</script> [a](javascript:b) *c*") == r"&lt;script&gt;x&lt;/script&gt; \[a\](javascript:b) \*c\*"
    assert link("t", "javascript:alert(1)") == "t" and link("t", "https://x/a(b)") == "[t](<https://x/a(b)>)"


def test_memo_of_an_answer_without_precedents() -> None:
    answer = {
        "query": {"text": "x", "subject": None, "facts": {}, "facts_from": {}},
        "precedents": [],
        "summary": prec.summarize([]),
        "base_rate": {"similar_reports": 0, "with_action": 0, "share": None, "under_investigation": 0, "criteria": {}},
        "penalty_tiers": [],
        "caveats": ["c"],
    }
    text = memo(answer, "2026-01-01")
    assert "No enforcement action is close enough" in text and "No Breach Portal report matches" in text


def test_memo_names_action_types_in_good_plurals() -> None:
    two = [
        precedent(1, action_type="civil_money_penalty", amount_usd=100),
        precedent(2, action_type="civil_money_penalty"),
    ]
    answer = {
        "query": {"text": "x", "subject": None, "facts": {}, "facts_from": {}},
        "precedents": [],
        "summary": prec.summarize(two),
        "base_rate": {"similar_reports": 0, "with_action": 0, "share": None, "under_investigation": 0, "criteria": {}},
        "penalty_tiers": [],
        "caveats": [],
    }
    assert "2 civil money penalties" in memo(answer, "2026-01-01")


# ------------------------------------------------------------------ several enforcers


def test_amounts_are_never_pooled_across_enforcers_and_criminal_cases_have_no_amount() -> None:
    mixed = [
        precedent(1, amount_usd=100),
        precedent(2, amount_usd=300),
        precedent(3, agency="state_ag", action_type="consent_judgment", amount_usd=5_000_000),
        precedent(4, agency="doj", action_type="sentence", amount_usd=None, sentence={"prison_months": 16}),
        precedent(5, agency="doj", action_type="plea", amount_usd=None, sentence=None),
    ]
    s = prec.summarize(mixed)
    amount = s["amount"]
    assert amount["pooled"] is False and amount["median"] is None and amount["p25"] is None
    assert amount["n"] == 3 and amount["n_known"] == 3 and amount["unknown"] == 0  # criminal cases not unknown
    assert amount["criminal"] == 2
    assert amount["by_agency"]["ocr"]["median"] == 200 and amount["by_agency"]["state_ag"]["median"] == 5_000_000
    assert "doj" not in amount["by_agency"]
    assert s["by_agency"] == {"ocr": 2, "state_ag": 1, "doj": 2}
    assert s["sentences"]["n"] == 2 and s["sentences"]["prison_months"]["median"] == 16
    assert s["cap"]["n"] == 2  # OCR's plans only
    assert s["by_type"]["consent_judgment"] == 1 and s["by_type"]["sentence"] == 1


def test_one_other_enforcer_is_pooled_over_itself() -> None:
    s = prec.summarize([precedent(1, agency="ftc", action_type="consent_order", amount_usd=7)])
    assert s["amount"]["pooled"] is True and s["amount"]["median"] == 7 and list(s["amount"]["by_agency"]) == ["ftc"]
    assert "resolution_agreement" not in s["by_type"] and s["cap"]["n"] == 0


def test_parse_agencies() -> None:
    from etl.similar import SearchError, parse_agencies

    assert parse_agencies(["ftc,ocr", "doj", ""]) == ("ocr", "ftc", "doj")
    assert parse_agencies([]) == ()
    with pytest.raises(SearchError, match="agency must be"):
        parse_agencies(["hhs"])


def test_citation_keeps_titled_ids() -> None:
    assert prec.citation("164.308(a)") == "45 CFR 164.308(a)"
    for titled in ("16 CFR 318.3", "15 U.S.C. 45(a)", "42 U.S.C. 1320d-6", "42 CFR 2.31"):
        assert prec.citation(titled) == titled
