"""The search pages (`/-/search`, `.json`, `.csv`) over real HTTP (`kb serve`) on the pipeline-built database:
ransomware actions first with the word marked, filters that combine and chips that each remove only
themselves, paging that returns every result exactly once (against SQL), the page showing exactly the JSON's
results, the CSV holding every result, numbers and labels in words, hostile queries and parameters never a
5xx, hostile rows inert, the home page's boxes leading here. In Chromium: tests/browser/test_search_browser.py."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
from site_helpers import HOSTILE_ACTION_ID, HOSTILE_BREACH_ID, SCRIPT, hostile_site

_ = hostile_site  # a fixture, used by name below

RISK = "164.308(a)(1)(ii)(A)"


def get(base: str, path: str, **params) -> httpx.Response:
    return httpx.get(base + path, params=params, timeout=120)


def answer(base: str, **params) -> dict:
    r = get(base, "/-/search.json", **params)
    assert r.status_code == 200, r.text
    return r.json()


def card_ids(html: str) -> list[str]:
    return [unescape(i) for i in re.findall(r'<li class="search-card" data-id="([^"]+)"', html)]


def chips(html: str) -> dict[str, str]:
    """{name=value: the address of its × link} for the filter chips of a page."""
    found = re.findall(r'<li class="chip" data-filter="([^"]+)">.*?<a class="remove" href="([^"]+)"', html, re.S)
    return {unescape(f): unescape(href) for f, href in found}


def text_of(html: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def sql_ids(db, kind: str, match: str) -> set[str]:
    table, fts = (
        ("enforcement_actions", "enforcement_actions_search") if kind == "actions" else ("breaches", "breaches_fts")
    )
    rows = db.execute(f"select t.id from {fts} join {table} t on t.rowid = {fts}.rowid where {fts} match ?", [match])
    return {r[0] for r in rows}


# ------------------------------------------------------------------ relevance and snippets


def test_ransomware_actions_come_first_with_the_word_marked(datasette_url: str, built_db) -> None:
    a = answer(datasette_url, q="ransomware", kind="actions")
    ransomware = {r[0] for r in built_db.execute("select action_id from action_topics where topic_id = 'ransomware'")}
    top = [r["id"] for r in a["results"][:10]]
    assert len(top) == 10 and set(top) <= ransomware, f"not ransomware actions: {set(top) - ransomware}"
    assert a["sort"] == "relevance" and a["total"] == len(sql_ids(built_db, "actions", '"ransomware"'))
    scores = [r["score"] for r in a["results"]]
    assert scores == sorted(scores), "bm25: lower is better"
    for r in a["results"][:10]:
        assert re.search(r"<mark>ransomware</mark>", r["snippet_html"], re.I), r
        assert "<mark>" not in r["snippet"] and "ransomware" in r["snippet"].lower()
    html = get(datasette_url, "/-/search", q="ransomware").text
    assert card_ids(html)[:10] == top
    assert html.count("<mark>") >= 10


def test_date_order_is_newest_first(datasette_url: str) -> None:
    a = answer(datasette_url, q="ransomware", kind="actions", sort="date", per_page="100")
    dates = [r["date"] for r in a["results"]]
    dated = [d for d in dates if d]
    assert a["sort"] == "date" and dated == sorted(dated, reverse=True)
    assert dates == dated + [None] * (len(dates) - len(dated))  # undated actions (known by year only) last


# ------------------------------------------------------------------ filters and chips


def test_filters_combine_and_each_chip_removes_only_itself(datasette_url: str, built_db) -> None:
    filters = {"year": "2025", "topic": "risk_analysis", "provision": RISK, "type": "resolution_agreement"}
    a = answer(datasette_url, q="ransomware", kind="actions", **filters)
    expected = {
        r[0]
        for r in built_db.execute(
            """select a.id from enforcement_actions_search s join enforcement_actions a on a.rowid = s.rowid
           where s.enforcement_actions_search match '"ransomware"' and a.year = 2025
             and a.action_type = 'resolution_agreement'
             and a.id in (select action_id from action_topics where topic_id = 'risk_analysis')
             and a.id in (select action_id from action_provisions where provision_id = ? or provision_id like ?)""",
            [RISK, RISK + "(%"],
        )
    }
    assert expected and {r["id"] for r in a["results"]} == expected and a["total"] == len(expected)
    assert {(f["name"], f["value"]) for f in a["filters"]} == set(filters.items())

    page = get(datasette_url, "/-/search", q="ransomware", kind="actions", **filters).text
    shown = chips(page)
    assert set(shown) == {f"{k}={v}" for k, v in filters.items()}
    for chip, href in shown.items():
        after = httpx.get(datasette_url + href, timeout=120)
        assert after.status_code == 200
        assert set(chips(after.text)) == set(shown) - {chip}, f"removing {chip}"
        assert "q=ransomware" in href and "kind=actions" in href
        remaining = answer(datasette_url, **dict(httpx.URL(href).params.multi_items()))
        assert remaining["total"] >= a["total"]


def test_a_filter_value_adds_exactly_its_count(datasette_url: str) -> None:
    a = answer(datasette_url, q="risk analysis", kind="actions")
    tried = 0
    for facet in a["facets"]:
        for value in facet["values"][:2]:
            narrowed = answer(datasette_url, **dict(httpx.URL(value["add_url"]).params.multi_items()))
            assert narrowed["total"] == value["count"], (facet["name"], value)
            tried += 1
    assert tried >= 10


def test_breach_filters(datasette_url: str, built_db) -> None:
    a = answer(datasette_url, q="laptop", kind="breaches", type="Theft", year="2015", state="CA")
    n = built_db.execute(
        """select count(*) from breaches_fts f join breaches b on b.rowid = f.rowid
           where breaches_fts match '"laptop"' and b.year = 2015 and b.state = 'CA'
             and b.id in (select l.breach_id from breaches_breach_types l join breach_types t
                          on t.id = l.breach_type_id where t.name = 'Theft')"""
    ).fetchone()[0]
    assert n > 0 and a["total"] == n
    assert all("Theft" in r["type"] and r["state"] == "CA" and r["date"].startswith("2015") for r in a["results"])


# ------------------------------------------------------------------ paging, JSON, CSV


@pytest.mark.parametrize(
    ("kind", "q", "sort"), [("actions", "risk analysis", "relevance"), ("breaches", "laptop", "date")]
)
def test_paging_returns_every_result_exactly_once(datasette_url: str, built_db, kind: str, q: str, sort: str) -> None:
    expected = sql_ids(built_db, kind, " ".join(f'"{w}"' for w in q.split()))
    seen: list[str] = []
    params = {"q": q, "kind": kind, "sort": sort}
    a = answer(datasette_url, **params)
    while True:
        assert a["total"] == len(expected)
        seen += [r["id"] for r in a["results"]]
        if not a["links"]["next_json"]:
            break
        a = httpx.get(datasette_url + a["links"]["next_json"], timeout=120).json()
    assert len(seen) == len(set(seen)) == len(expected) and set(seen) == expected
    assert a["page"] == a["pages"] == -(-len(expected) // 20)
    page2 = get(datasette_url, "/-/search", page="2", **params).text
    assert f'Showing 21–40 of <strong id="search-total">{len(expected):,}</strong>' in page2


def test_the_page_shows_the_json_results(datasette_url: str) -> None:
    for params in (
        {"q": "ransomware", "kind": "actions"},
        {"q": "phishing", "kind": "breaches", "type": "Hacking/IT Incident", "page": "2"},
        {"kind": "actions", "year": "2018"},
    ):
        a = answer(datasette_url, **params)
        html = get(datasette_url, "/-/search", **params).text
        assert card_ids(html) == [r["id"] for r in a["results"]] and a["results"], params
        titles = [unescape(t) for t in re.findall(r'<h2><a href="[^"]+">([^<]*)</a></h2>', html)]
        assert titles == [r["title"] for r in a["results"]]
        for r in a["results"]:
            assert f'href="{r["url"]}"' in html


def test_csv_holds_every_result_in_order(datasette_url: str) -> None:
    pages = [answer(datasette_url, q="encryption", kind="actions", per_page="100")]
    r = get(datasette_url, "/-/search.csv", q="encryption", kind="actions")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].startswith("id,url,title,date,agency,agency_label,type_label,amount_usd")
    ids = [line.split(",", 1)[0] for line in lines[1:]]
    assert ids == [x["id"] for p in pages for x in p["results"]] and len(ids) == pages[0]["total"]


def test_cors_on_the_search_routes(datasette_url: str) -> None:
    for path in ("/-/search", "/-/search.json", "/-/search.csv"):
        r = get(datasette_url, path, q="ransomware")
        assert r.status_code == 200 and r.headers.get("access-control-allow-origin") == "*", path


# ------------------------------------------------------------------ what a person reads


def test_numbers_dates_and_labels_in_words(datasette_url: str) -> None:
    text = text_of(get(datasette_url, "/-/search", q="change healthcare", kind="breaches").text)
    assert "192,700,000 people affected" in text and "July 19, 2024" in text
    text = text_of(get(datasette_url, "/-/search", q="anthem", kind="actions").text)
    assert "$16,000,000" in text and "October 15, 2018" in text and "Resolution agreement" in text
    for q, kind in (("penalty", "actions"), ("laptop", "breaches")):
        text = text_of(get(datasette_url, "/-/search", q=q, kind=kind).text)
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)[:5]
        assert not re.search(r"\d{5,}", text), "numbers of five digits or more have separators"
        assert '["' not in text and "null" not in text


def test_empty_and_wordless_queries_show_examples(datasette_url: str) -> None:
    for params in ({}, {"q": ""}, {"q": '"'}, {"q": "( * )"}, {"kind": "breaches"}):
        r = get(datasette_url, "/-/search", **params)
        assert r.status_code == 200, params
        assert 'class="search-examples"' in r.text and 'class="search-card"' not in r.text
    assert "holds no word to search for" in get(datasette_url, "/-/search", q='"').text


def test_nothing_found_says_so(datasette_url: str) -> None:
    r = get(datasette_url, "/-/search", q="zzzqqqxx")
    assert r.status_code == 200 and "Nothing matches" in r.text


HOSTILE_QUERIES = [
    '"',
    '""',
    "(",
    ")",
    "*",
    "a AND",
    "OR",
    "NOT a",
    "NEAR(a b, 2)",
    "a:b",
    "^a",
    "{a b}: c",
    "'; drop table breaches; --",
    SCRIPT,
    'x" OR "y',
    "\u201cquoted\u201d",
    "\x00",
    "a" * 500,
    "ransomware*",
    '"risk analysis',
    "-phishing +email",
    "%",
    "_",
    "\\",
]
HOSTILE_PARAMS = [
    {"kind": "<script>"},
    {"sort": "1;"},
    {"page": "-1"},
    {"page": "99999999999"},
    {"per_page": "abc"},
    {"year": "'"},
    {"provision": '")'},
    {"q": "a" * 501},
    {"kind": "breaches", "topic": "x"},
    {"state": SCRIPT},
    {"page": "500", "q": "ransomware"},
]


@pytest.mark.parametrize("fmt", ["", ".json", ".csv"])
def test_hostile_queries_never_fail(datasette_url: str, fmt: str) -> None:
    for kind in ("actions", "breaches"):
        for q in HOSTILE_QUERIES:
            r = get(datasette_url, f"/-/search{fmt}", q=q, kind=kind)
            assert r.status_code == 200, (q, kind, r.text[:300])
            assert SCRIPT not in r.text or fmt != "", "the query is escaped in the page"
    for params in HOSTILE_PARAMS:
        r = get(datasette_url, f"/-/search{fmt}", **params)
        assert r.status_code < 500 and r.status_code in (200, 400), (params, r.status_code)
        if fmt == "":
            assert "<script>window" not in r.text


def test_hostile_rows_stay_text(hostile_site: str) -> None:
    """The hostile rows are not in the full-text indexes (added after the build): found by their state."""
    for kind, row_id in (("actions", HOSTILE_ACTION_ID), ("breaches", HOSTILE_BREACH_ID)):
        html = get(hostile_site, "/-/search", kind=kind, state="ZZ").text
        assert card_ids(html) == [row_id]
        assert "<script>window.__pwned" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
        hit = answer(hostile_site, kind=kind, state="ZZ")["results"][0]
        assert "<script>" not in hit["snippet_html"] and "<img" not in hit["snippet_html"]
        assert SCRIPT in hit["title"] + hit["snippet"], "the JSON gives the text as it is"


def test_home_page_search_boxes_lead_to_the_search_pages(datasette_url: str) -> None:
    html = get(datasette_url, "/").text
    forms = re.findall(r'<form action="([^"]+)" method="get" class="kb-search">(.*?)</form>', html, re.S)
    searches = [(action, body) for action, body in forms if action.endswith("/-/search")]
    assert len(searches) == 2
    kinds = {re.search(r'name="kind" value="(\w+)"', body).group(1) for _, body in searches}
    assert kinds == {"actions", "breaches"} and all('name="q"' in body for _, body in searches)
