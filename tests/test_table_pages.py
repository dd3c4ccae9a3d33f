"""The table pages people reach (/kb/enforcement_actions, /kb/breaches: kb_site/templates/kb_table.html,
kb_site/tables.py) over real HTTP on the real build: the columns that matter by default and every column one
link away, labels and codes in words, lists as chips, counts formatted, the column documentation folded
after the rows, the plan facets with unknown counted; the JSON and CSV unchanged; source markup inert."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from urllib.parse import quote

import httpx
import pytest
from site_helpers import HOSTILE_ACTION_ID, HOSTILE_BREACH_ID, IMG, SCRIPT, hostile_site

from etl.site import merged_metadata

_ = hostile_site  # a fixture, used by name below
TABLES = ["enforcement_actions", "breaches"]


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=60)


def table_config(table: str) -> dict:
    return merged_metadata()["databases"]["kb"]["tables"][table]["plugins"]["kb-site"]


def shown_columns(html: str) -> list[str]:
    return re.findall(r'<th [^>]*data-column="([^"]+)"', html)


def rows_html(html: str) -> str:
    """The table's body: the rows as a person reads them."""
    return html.split('<table class="rows-and-columns kb-rows">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def absolute(base: str, href: str) -> str:
    """Datasette writes facet links as full addresses, other links as paths."""
    href = unescape(href)
    return href if href.startswith("http") else base + href


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.parametrize("table", TABLES)
def test_the_columns_that_matter_by_default(datasette_url: str, built_db, table: str) -> None:
    html = get(f"{datasette_url}/kb/{table}").text
    defaults = table_config(table)["default_columns"]
    columns = list(built_db[table].columns_dict)
    assert shown_columns(html) == [c for c in columns if c == "id" or c in defaults]
    assert f"Showing {len(defaults) + 1} of {len(columns)} columns" in text_of(html)
    every = re.search(r'<a href="([^"]+)">show every column</a>', html).group(1)
    assert shown_columns(get(absolute(datasette_url, every)).text) == columns


@pytest.mark.parametrize("table", TABLES)
def test_col_and_nocol_are_datasettes_own(datasette_url: str, built_db, table: str) -> None:
    columns = list(built_db[table].columns_dict)
    assert shown_columns(get(f"{datasette_url}/kb/{table}?_col=state").text) == ["id", "state"]
    nocol = shown_columns(get(f"{datasette_url}/kb/{table}?_nocol=state").text)
    assert nocol == [c for c in columns if c != "state"]


@pytest.mark.parametrize("table", TABLES)
def test_json_and_csv_keep_every_column_and_raw_values(datasette_url: str, built_db, table: str) -> None:
    columns = list(built_db[table].columns_dict)
    data = get(f"{datasette_url}/kb/{table}.json?_size=5").json()
    assert data["columns"] == columns
    first = dict(zip(columns, data["rows"][0], strict=True))
    db_row = next(built_db[table].rows_where("id = ?", [first["id"]]))
    assert first == db_row, "the JSON is the row as stored: codes, JSON lists, plain numbers"
    header = next(csv.reader(io.StringIO(get(f"{datasette_url}/kb/{table}.csv?_size=1").text)))
    assert header == columns


def test_labels_codes_numbers_and_lists_read_in_words(datasette_url: str, built_db) -> None:
    html = get(f"{datasette_url}/kb/breaches?_sort_desc=individuals_affected").text
    rows = rows_html(html)
    biggest = built_db.execute("select max(individuals_affected) from breaches").fetchone()[0]
    assert f"{biggest:,}" in rows
    assert '<span class="chip">' in rows, "types of breach as chips"
    for raw in ('["', "healthcare_provider", "under_investigation", "_"):
        assert raw not in text_of(rows), raw
    headers = re.findall(r'rel="nofollow">([^<&]+)', html)
    assert "Type of covered entity" in headers and "Individuals affected" in headers
    assert not [h for h in headers if "_" in h], headers
    actions = rows_html(get(f"{datasette_url}/kb/enforcement_actions?action_type=civil_money_penalty").text)
    assert "Civil money penalty" in actions and "civil_money_penalty" not in text_of(actions)
    assert re.search(r'<span class="usd">\$\d{1,3}(,\d{3})+</span>', actions), "amounts as dollars"


@pytest.mark.parametrize("table", TABLES)
def test_column_documentation_is_folded_after_the_rows(datasette_url: str, table: str) -> None:
    html = get(f"{datasette_url}/kb/{table}").text
    docs = html.index('<details class="kb-column-docs">')
    assert html.index('<table class="rows-and-columns') < docs
    assert html.index('<dl class="column-descriptions">') > docs
    assert "<dt>Individuals affected <code>individuals_affected</code></dt>" in html


def test_the_plan_facet_counts_unknown_plans(datasette_url: str, built_db) -> None:
    html = get(f"{datasette_url}/kb/enforcement_actions").text
    unknown = built_db.execute("select count(*) from enforcement_actions where cap is null").fetchone()[0]
    assert unknown > 0
    facet = html.split('id="facet-cap"', 1)[1].split("</details>", 1)[0]
    assert re.search(r">Yes</a> [\d,]+", facet) and ">unknown</a> " + f"{unknown:,}" in facet
    near = html.split('id="facet-cap"', 1)[1].split('<details class="kb-facet', 1)[0]
    assert f'({unknown:,} <a href="/kb/enforcement_actions?cap__isnull=1">unknown</a>)' in near
    page = get(f"{datasette_url}/kb/enforcement_actions?cap__isnull=1").text
    assert f"{unknown:,} enforcement actions" in text_of(page)
    assert "Corrective action plan: unknown" in text_of(page), "the chosen filter reads in words"
    # the plan is OCR's notion, no longer a default column of a table of every enforcer: ask for it
    page = get(f"{datasette_url}/kb/enforcement_actions?cap__isnull=1&_col=entity&_col=cap").text
    assert rows_html(page).count('<td class="col-cap type-none">unknown</td>') == min(unknown, 50)


def test_the_plan_obligations_facet_filters_by_obligation(datasette_url: str, built_db) -> None:
    html = get(f"{datasette_url}/kb/enforcement_actions").text
    facet = html.split('id="facet-cap_obligations"', 1)[1].split("</details>", 1)[0]
    assert "<summary>Plan obligations " in facet
    href, label, count = re.search(r'<a href="([^"]+)">([^<]+)</a> ([\d,]+)', facet).groups()
    expected = built_db.execute(
        "select count(*) from enforcement_actions, json_each(cap_obligations) where json_each.value = ?",
        [unescape(label)],
    ).fetchone()[0]
    assert int(count.replace(",", "")) == expected
    chosen = get(absolute(datasette_url, href)).text
    assert f"{expected:,} enforcement action" in text_of(chosen)
    assert f"Plan obligations: {unescape(label)}" in text_of(chosen)


def test_full_text_search_keeps_the_readable_page(datasette_url: str) -> None:
    html = get(f"{datasette_url}/kb/enforcement_actions?_search=ransomware").text
    assert "matching “ransomware”" in text_of(html)
    assert shown_columns(html)[:2] == ["id", "entity"]
    assert '<span class="chip">' in rows_html(html)


def test_hostile_list_items_stay_inert_in_chips(hostile_site: str) -> None:
    breaches = get(f"{hostile_site}/kb/breaches?id={quote(HOSTILE_BREACH_ID)}").text
    assert IMG not in breaches and 'onerror="window' not in breaches
    assert (
        '<span class="chip">Theft &lt;img src=x onerror=&#34;window.__pwned=&#39;onerror&#39;&#34;&gt;</span>'
        in breaches
    )
    actions = get(
        f"{hostile_site}/kb/enforcement_actions?id={quote(HOSTILE_ACTION_ID)}&_col=incident&_col=hhs_urls"
    ).text
    assert SCRIPT not in actions
    assert '<span class="chip">incident &lt;script&gt;window.__pwned' in actions
    assert 'href="javascript:' not in actions and '<span class="chip">javascript:window.__pwned' in actions
    assert '<a class="chip" href="https://www.hhs.gov/hostile-test"' in actions
