"""Canned queries read as pages for a person (kb_site/templates/query-kb.html, kb_site/cells.py): column
labels in words, ids as links to their pages, coded values in words, counts with separators, the SQL behind a
toggle; the JSON keeps the raw values. Over real HTTP on the real build."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest

from kb_site.cells import coded_value, column_label, is_year_or_rank


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=60)


def headers(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'<th class="col-[^"]*" scope="col">([^<]*)</th>', html)]


def test_column_labels_and_coded_values_in_words() -> None:
    assert column_label("individuals_affected") == "Individuals affected"
    assert column_label("amount_usd") == "Amount"
    assert coded_value("action_type", "civil_money_penalty") == "Civil money penalty"
    assert coded_value("sector", "hospital_health_system") == "Hospital or health system"
    assert coded_value("sector", "a_new_code") == "A new code"  # an unknown code still reads as words
    assert coded_value("state", "NY") is None  # not a coded column: left as it is
    assert is_year_or_rank("year") and not is_year_or_rank("individuals_affected")


@pytest.fixture(scope="module")
def citing(datasette_url: str) -> str:
    r = get(f"{datasette_url}/kb/actions_citing_provision?provision=164.308(a)(1)(ii)(A)&year=2024")
    assert r.status_code == 200
    return r.text


def test_a_canned_query_has_its_title_labels_in_words_and_the_sql_folded(citing: str) -> None:
    assert "<h1>Actions citing a provision in a year</h1>" in citing
    assert headers(citing)[:4] == ["Id", "Announced", "Entity", "Form of the action"]
    assert not [h for h in headers(citing) if "_" in h]
    assert re.search(r'<details class="kb-sql">\s*<summary>The SQL behind this list</summary>', citing)
    assert '<label for="qp1">' in citing and ">Provision</label>" in citing


def test_action_ids_link_to_their_case_briefs_and_codes_read_in_words(
    citing: str, datasette_url: str, built_db
) -> None:
    ids = re.findall(r'<td class="col-id"><a href="/kb/enforcement_actions/([^"]+)">', citing)
    expected = [
        r[0]
        for r in built_db.execute(
            "select distinct a.id from enforcement_actions a join action_provisions p on p.action_id = a.id"
            " where substr(a.announced, 1, 4) = '2024' and p.provision_id like '164.308(a)(1)(ii)(A)%'"
        )
    ]
    assert sorted(ids) == sorted(expected) and ids
    assert re.search(r'class="col-amount_usd"><span class="usd">\$[\d,]+</span>', citing)
    assert "resolution_agreement" not in re.sub(r"<details.*?</details>", "", citing, flags=re.S)
    raw = get(f"{datasette_url}/kb/actions_citing_provision.json?provision=164.308(a)(1)(ii)(A)&year=2024&_shape=array")
    assert {row["action_type"] for row in raw.json()} <= {"resolution_agreement", "civil_money_penalty", "other"}


def test_breach_ids_link_to_their_reports_and_counts_have_separators(datasette_url: str, built_db) -> None:
    entity_id, individuals = built_db.execute(
        "select entity_id, individuals_affected from breaches where entity_id is not null"
        " and individuals_affected >= 1000000 order by individuals_affected desc limit 1"
    ).fetchone()
    html = get(f"{datasette_url}/kb/entity_timeline?entity_id={entity_id}").text
    assert re.search(r'<td class="col-record_id"><a href="/kb/breaches/[^"]+">', html)
    assert f"{individuals:,}" in html
    years = get(f"{datasette_url}/kb/delay_by_year").text
    assert re.search(r'<td class="col-year">20\d\d</td>', years)  # a year is not 2,024
