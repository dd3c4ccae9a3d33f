"""How the site answers what it cannot serve, over real HTTP (`kb serve` on the pipeline-built database):
no request answers 5xx, unknown paths are 404 with the site's navigation, write methods are 405, a cited
paragraph goes to the provision that stands for it, a full-text search of a table without one is a 400,
every route the site registers sends CORS headers. Plus the pure helpers behind them (fast tier)."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from datasette.utils.asgi import NotFound, Request
from datasette.utils.sqlite import sqlite3
from datasette.views.base import DatasetteError

from etl.site import merged_metadata
from kb_site import hooks
from kb_site.errors import READ_METHODS, describe
from kb_site.formatting import cfr_citation, federal_register, long_date

NAV = 'class="kb-nav"'

# Paths no page answers: unknown databases, tables and rows, provision paths with slashes, parentheses and
# encoded junk, unknown /-/ pages.
UNKNOWN_PATHS = [
    "/-/provision/a/b",
    "/-/provision/164.308(a)(1)(ii)(A)/extra",
    "/-/provision/164.308%2F(a)",
    "/-/provision/..%2F..%2Fetc%2Fpasswd",
    "/-/provision/164.524(a)(1)(i",
    "/-/provision/)(",
    "/-/provision/%00",
    "/-/provision/%ff%fe",
    "/-/provision/%20",
    "/-/provision/" + "9" * 3000,
    "/-/provision/164.309",
    "/-/provision/999.999",
    "/kb/nosuchtable",
    "/kb/nosuchtable/x",
    "/kb/nosuchtable/x/y",
    "/kb/nosuchtable/x/y.json",
    "/kb/enforcement_actions/no-such-action",
    "/kb/enforcement_actions/no-such-action.json",
    "/kb/enforcement_actions/a/b/c",
    "/kb/%3Cscript%3E",
    "/nosuchdb",
    "/nosuchdb/table/row",
    "/%E2%80%AE",
    "/-/nosuch",
    "/-/penalties/x",
    "/-/case-card/no-such-action.md",
    "/-/case-card/no-such-action.pdf",
    "/-/case-card/",
    "/-/similar.xml",
    "/-/static-plugins/nosuch/x.css",
]
# Known pages with parameters that make no sense: a 4xx, never a 5xx.
BAD_PARAMETERS = [
    "/kb/enforcement_actions?_sort=nosuchcolumn",
    "/kb/enforcement_actions.json?_sort_desc=nosuchcolumn",
    "/kb/enforcement_actions.json?_sort=year&_sort_desc=year",
    "/kb/breaches?_where=1=1;select+1",
    "/kb/enforcement_actions.json?_col=nosuch",
    "/kb/enforcement_actions.json?_size=abc",
    "/kb/enforcement_actions.json?_search_nosuch=x",
    "/kb.json?sql=select+nosuch",
    "/-/similar.json?k=abc",
]
# Odd values that a page may well answer (an empty feed, a first page): never a 5xx.
ODD_PARAMETERS = [
    "/kb/breaches.json?_next=%00",
    "/kb/feed_new_actions.atom?state=%00",
    "/-/provision/164.308?cited=%00",
]
WRITE_METHODS = ("POST", "PUT", "DELETE", "PATCH")


def request(method: str, url: str, **kw) -> httpx.Response:
    return httpx.request(method, url, timeout=60, **kw)


# ------------------------------------------------------------------ no 5xx, 404 with navigation, 405


@pytest.mark.parametrize("method", ("GET", "HEAD", *WRITE_METHODS, "OPTIONS"))
def test_no_malformed_request_answers_5xx(datasette_url: str, method: str) -> None:
    failures = []
    for path in UNKNOWN_PATHS + BAD_PARAMETERS + ODD_PARAMETERS:
        r = request(method, datasette_url + path, follow_redirects=True)
        if r.status_code >= 500:
            failures.append(f"{method} {path[:80]} -> {r.status_code}")
    assert not failures, failures


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_an_unknown_path_is_a_404_with_the_sites_navigation(datasette_url: str, path: str) -> None:
    r = request("GET", datasette_url + path, follow_redirects=True)  # Datasette redirects %-escapes to ~
    assert r.status_code == 404, f"{path} -> {r.status_code}"
    if path.endswith(".json"):
        assert r.json()["ok"] is False and r.json()["status"] == 404
    else:
        assert NAV in r.text and 'href="/"' in r.text and 'href="/-/provisions"' in r.text
        assert "/-/static-plugins/" in r.text, "the site's stylesheet"
    assert r.headers["access-control-allow-origin"] == "*"
    assert request("HEAD", datasette_url + path, follow_redirects=True).status_code == 404


@pytest.mark.parametrize("path", BAD_PARAMETERS)
def test_a_bad_parameter_is_a_4xx(datasette_url: str, path: str) -> None:
    r = request("GET", datasette_url + path, follow_redirects=True)
    assert 400 <= r.status_code < 500, f"{path} -> {r.status_code}"


@pytest.mark.parametrize("method", WRITE_METHODS)
@pytest.mark.parametrize("path", ["/", "/kb/breaches", "/kb/breaches.json", "/kb/feed_new_actions.atom",
                                  "/kb/actions_by_ids.json?ids=x", "/-/penalties", "/-/provision/a/b"])  # fmt: skip
def test_a_write_method_is_a_405_anywhere(datasette_url: str, method: str, path: str) -> None:
    r = request(method, datasette_url + path, content=b"x=1")
    assert r.status_code == 405, f"{method} {path} -> {r.status_code}"
    assert r.headers["allow"] == ", ".join(READ_METHODS)
    if path.split("?")[0].endswith(".json"):
        assert r.json()["status"] == 405
    else:
        assert NAV in r.text and "read-only" in r.text


# ------------------------------------------------------------------ provision pages


def _nearest_listed(built_db, citation: str) -> str:
    """The citation with paragraphs stripped from the end until the provisions table lists it."""
    listed = {r[0] for r in built_db.execute("select id from provisions")}
    while citation not in listed:
        citation = re.sub(r"\([^()]*\)$", "", citation)
    return citation


def _cited_actions(built_db, provision_id: str) -> int:
    return built_db.execute(
        """with recursive tree(id) as (select ? union select p.id from provisions p join tree on p.parent = tree.id)
           select count(distinct action_id) from action_provisions where provision_id in (select id from tree)""",
        [provision_id],
    ).fetchone()[0]


def test_a_cited_paragraph_goes_to_the_provision_that_stands_for_it(datasette_url: str, built_db) -> None:
    cited = "164.524(a)(1)(i)"
    nearest = _nearest_listed(built_db, cited)
    assert nearest != cited, "the reference table does not list the paragraph itself"
    r = request("GET", f"{datasette_url}/-/provision/{cited}")
    assert r.status_code == 302
    assert r.headers["location"] == f"/-/provision/{quote(nearest, safe='.()')}?cited={quote(cited, safe='')}"
    page = request("GET", datasette_url + r.headers["location"]).text
    note = re.search(r'<p class="provision-cited" id="provision-cited">(.*?)</p>', page, re.S).group(1)
    assert f"<strong>45 CFR {cited}</strong>" in note and f"45 CFR {nearest}" in note
    if _cited_actions(built_db, nearest) == 0:  # then the note points to the nearest provision actions cite
        above = re.search(r'<a href="/-/provision/([^"]+)">', note).group(1)
        assert _cited_actions(built_db, above.replace("%20", " ")) > 0
        assert f"/-/provision/{above}" in page, "a parent of the provision"


def test_a_citation_in_another_form_redirects_to_its_listed_form(datasette_url: str) -> None:
    r = request("GET", f"{datasette_url}/-/provision/45%20CFR%20164.308")
    assert r.status_code == 302 and r.headers["location"] == "/-/provision/164.308"


def test_an_unrelated_cited_parameter_is_not_shown(datasette_url: str) -> None:
    page = request("GET", f"{datasette_url}/-/provision/164.308?cited=164.524(a)(1)(i)").text
    assert 'id="provision-cited"' not in page


def test_an_unlisted_section_is_a_404_that_names_it(datasette_url: str, built_db) -> None:
    assert not built_db.execute("select 1 from provisions where id = '164.309'").fetchone()
    r = request("GET", f"{datasette_url}/-/provision/164.309")
    assert r.status_code == 404 and "45 CFR 164.309 is not a provision this knowledge base lists" in r.text
    assert 'href="/-/provisions"' in r.text


def test_title_42_provisions_are_not_titled_45_cfr(datasette_url: str, built_db) -> None:
    rows = built_db.execute("select id, heading from provisions where title = 42").fetchall()
    assert rows, "the reference table holds 42 CFR Part 2"
    for pid, heading in rows:
        page = request("GET", f"{datasette_url}/-/provision/{quote(pid, safe='.()')}").text
        assert f"<title>{pid} {heading}</title>" in page
        assert f"<h1>{pid} — {heading}</h1>" in page
        assert "45 CFR 42" not in page
    for (action_id,) in built_db.execute(
        "select distinct action_id from action_provisions where provision_id like '42 CFR%'"
    ):
        brief = request("GET", f"{datasette_url}/kb/enforcement_actions/{quote(action_id)}").text
        card = request("GET", f"{datasette_url}/-/case-card/{quote(action_id)}.txt").text
        assert "45 CFR 42" not in brief and "45 CFR 42" not in card


# ------------------------------------------------------------------ full-text search


def _fts_tables() -> set[str]:
    tables = merged_metadata()["databases"]["kb"]["tables"]
    return {name for name, t in tables.items() if t.get("fts_table")}


def test_search_on_a_table_without_full_text_search_is_a_400(datasette_url: str, built_db) -> None:
    table = "provisions"
    assert built_db[table].detect_fts() is None and table not in _fts_tables()
    for param in ("_search", "_search_heading"):
        r = request("GET", f"{datasette_url}/kb/{table}.json?{param}=access")
        assert r.status_code == 400 and r.json()["ok"] is False
        assert f"{table} has no full-text search, so {param}= cannot filter it" in r.json()["error"]
        page = request("GET", f"{datasette_url}/kb/{table}?{param}=access")
        assert page.status_code == 400 and "has no full-text search" in page.text and NAV in page.text
    empty = request("GET", f"{datasette_url}/kb/{table}.json?_search=")
    assert empty.status_code == 200, "an empty search box filters nothing and refuses nothing"


def test_search_on_a_table_with_full_text_search_still_filters(datasette_url: str, built_db) -> None:
    total = built_db.execute("select count(*) from enforcement_actions").fetchone()[0]
    r = request("GET", f"{datasette_url}/kb/enforcement_actions.json?_search=ransomware&_size=max&_shape=objects")
    assert r.status_code == 200 and 0 < len(r.json()["rows"]) < total


# ------------------------------------------------------------------ CORS on every route the site registers


SAMPLE_VALUES = {
    "provision_id": "164.308",
    "fmt": "md",
    "format": ".json",
    "agency": "ftc",
    "incident_id": "anthem-2015-cyberattack",
}


def _route_paths(pattern: str, values: dict[str, str]) -> list[str]:
    """Concrete paths for a route pattern: each named group filled from `values`; an optional group also
    left out."""
    group = re.compile(r"\(\?P<(\w+)>((?:[^()\\]|\\.)*)\)(\?)?")
    missing = [m.group(1) for m in group.finditer(pattern) if m.group(1) not in values]
    assert not missing, f"route {pattern}: give SAMPLE_VALUES for {missing}"
    variants = [pattern]
    for m in group.finditer(pattern):
        variants = [v.replace(m.group(0), values[m.group(1)], 1) for v in variants] + (
            [v.replace(m.group(0), "", 1) for v in variants] if m.group(3) else []
        )
    paths = [re.sub(r"\\(.)", r"\1", v.strip("^$")) for v in variants]
    for path in paths:
        assert re.fullmatch(pattern.strip("^$"), path), f"{path} does not match its route {pattern}"
    return paths


def test_every_route_of_the_site_sends_cors_headers(datasette_url: str, built_db) -> None:
    action_id = built_db.execute("select id from enforcement_actions order by id limit 1").fetchone()[0]
    values = {**SAMPLE_VALUES, "action_id": action_id}
    routes = hooks.register_routes()
    assert any(".json" in pattern for pattern, _ in routes), "the site registers JSON routes"
    for pattern, _ in routes:
        for path in _route_paths(pattern, values):
            r = request("GET", datasette_url + path, headers={"Origin": "https://example.org"})
            assert r.status_code < 500, f"{path} -> {r.status_code}"
            assert r.headers.get("access-control-allow-origin") == "*", f"{path} sends no CORS header"
    similar = request("GET", f"{datasette_url}/-/similar.json?like={action_id}&k=2")
    assert similar.status_code == 200 and similar.headers["access-control-allow-origin"] == "*"
    card = request("GET", f"{datasette_url}/-/case-card/{action_id}.md")
    assert card.status_code == 200 and card.headers["access-control-allow-origin"] == "*"


def test_an_error_answer_sends_cors_headers_too(datasette_url: str) -> None:
    r = request("GET", f"{datasette_url}/-/similar.json?k=abc&q=x")
    assert r.status_code == 400 and r.headers["access-control-allow-origin"] == "*"


# ------------------------------------------------------------------ the pure helpers (fast tier)


def test_describe_gives_datasettes_statuses_and_400_for_its_client_errors() -> None:
    req = Request.fake("/kb/enforcement_actions")
    assert describe(req, NotFound("404"))[:2] == (404, "There is no page at /kb/enforcement_actions.")
    assert describe(req, NotFound("No enforcement action 'x'"))[1] == "No enforcement action 'x'"
    assert describe(req, DatasetteError("Cannot sort table by nosuch"))[0] == 400
    assert describe(req, DatasetteError("Cannot use _sort and _sort_desc at the same time"))[0] == 400
    assert describe(req, DatasetteError("something else broke"))[0] == 500
    assert describe(req, DatasetteError("Invalid SQL", status=400))[0] == 400
    assert describe(req, sqlite3.Warning("You can only execute one statement at a time."))[:3] == (
        400,
        "You can only execute one statement at a time.",
        "Invalid SQL",
    )
    assert describe(req, ValueError("a bug"))[:2] == (500, "a bug")


def test_citations_dates_and_federal_register_references() -> None:
    assert cfr_citation("164.308(a)(1)") == "45 CFR 164.308(a)(1)"
    assert cfr_citation("Part 164") == "45 CFR Part 164"
    assert cfr_citation("42 CFR Part 2") == "42 CFR Part 2" and cfr_citation("42 CFR 2.31") == "42 CFR 2.31"
    assert long_date("2026-01-28") == "January 28, 2026" and long_date("2019-04-30") == "April 30, 2019"
    assert long_date("2026-13-01") == "2026-13-01" and long_date(None) == ""
    fr = federal_register("45 CFR 102.3, published late: 91 FR 3665 (FR Doc 2026-01688, 2026-01-28)")
    assert fr == {
        "citation": "91 FR 3665",
        "doc": "2026-01688",
        "url": "https://www.federalregister.gov/d/2026-01688",
    }
    assert federal_register("Notification ..., 84 FR 18151 (2019-04-30)") == {
        "citation": "84 FR 18151",
        "doc": None,
        "url": None,
    }
    assert federal_register("45 CFR 102.3, 2024 annual inflation adjustment")["citation"] is None
