"""The search pages' pure parts (kb_site.search_queries, kb_site.search) on hand-written rows: typed text to
a safe FTS5 expression (no input is a syntax error), filters that combine, provision filters that take
the paragraphs under a section, counts per filter value, snippets escaped with only <mark> added, and the
query-string parameters checked. The real build over HTTP: tests/test_search_site.py."""

from __future__ import annotations

import sqlite3

import pytest
from datasette.utils import MultiParams
from hypothesis import given, settings
from hypothesis import strategies as st

from kb_site import search_queries as sq
from kb_site.search import BadRequest, Params, highlight, opening, parse_params, plain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ransomware", '"ransomware"'),
        ("Risk Analysis", '"risk" "analysis"'),
        ('"right of access"', '"right of access"'),
        ("laptop OR tablet stolen", '("laptop" OR "tablet") "stolen"'),
        ("ransom*", '"ransom"*'),
        ('"stolen lap"*', '"stolen lap"*'),
        ("risk-analysis", '"risk analysis"'),
        ("a AND b NOT c", '"a" "b" "c"'),
        ("entity:anthem", '"entity anthem"'),
        ('"', None),
        ("( ) * ^ \" ' :", None),
        ("OR", None),
        ("", None),
        ("OR ransomware", '"ransomware"'),
        ('unbalanced "quote here', '"unbalanced" "quote here"'),
    ],
)
def test_match_expression(text: str, expected: str | None) -> None:
    assert sq.match_expression(text) == expected


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("create virtual table t using fts5(a, b, tokenize='porter')")
    conn.execute("insert into t values ('ransomware encrypted the server', 'right of access')")
    return conn


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc \"()*:^-+ORANDNOTEAR{}.,'\\\u201c\u00e9")), max_size=40) | st.text())
def test_no_text_is_an_fts_syntax_error(fts: sqlite3.Connection, text: str) -> None:
    expression = sq.match_expression(text)
    if expression is not None:
        fts.execute("select count(*) from t where t match ?", [expression]).fetchone()


def test_stems_match_other_forms(fts: sqlite3.Connection) -> None:
    assert fts.execute("select count(*) from t where t match ?", [sq.match_expression("encrypts")]).fetchone()[0] == 1


# ---- the queries on a handful of actions ----------------------------------------------------------------

ACTIONS = [
    # id, entity, announced, action_type, amount, state, sector, summary, provisions, topics
    (
        "2020-01-01-alpha",
        "Alpha Clinic",
        "2020-01-01",
        "resolution_agreement",
        100000,
        "CA",
        "physician_practice",
        "Ransomware encrypted the EHR; no risk analysis.",
        ["164.308(a)(1)(ii)(A)"],
        ["ransomware", "risk_analysis"],
    ),
    (
        "2021-01-01-beta",
        "Beta Hospital",
        "2021-01-01",
        "civil_money_penalty",
        2500000,
        "TX",
        "hospital_health_system",
        "Ransomware attack and a late breach notice.",
        ["164.404(b)"],
        ["ransomware"],
    ),
    (
        "2021-06-01-gamma",
        "Gamma Dental",
        "2021-06-01",
        "resolution_agreement",
        None,
        "TX",
        "dental",
        "A stolen laptop, unencrypted.",
        ["164.312(a)(2)(iv)", "164.308(a)(1)(ii)(A)"],
        ["encryption"],
    ),
    (
        "2022-01-01-delta",
        "Delta Plan",
        None,
        "resolution_agreement",
        50000,
        None,
        "health_plan",
        "Right of access: records sent late.",
        ["164.524"],
        ["right_of_access"],
    ),
]


@pytest.fixture(scope="module")
def kb() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript("""
        create table enforcement_actions (id text primary key, entity text, announced text, year integer,
            action_type text, amount_usd integer, state text, sector text, summary text,
            agency text not null default 'ocr', states text default '[]', multistate integer default 0,
            sentence text);
        create virtual table enforcement_actions_search using fts5(entity, summary, incident_text, notes, documents,
            tokenize='porter');
        create table action_provisions (action_id text, provision_id text);
        create table action_topics (action_id text, topic_id text);
        create table topics (id text, name text);
        create table provisions (id text, heading text);
    """)
    for a in ACTIONS:
        year = int(a[2][:4]) if a[2] else None
        cursor = conn.execute(
            "insert into enforcement_actions (id, entity, announced, year, action_type, amount_usd, state, sector,"
            " summary) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*a[:3], year, *a[3:8]],
        )
        conn.execute(
            "insert into enforcement_actions_search (rowid, entity, summary) values (?, ?, ?)",
            [cursor.lastrowid, a[1], a[7]],
        )
        conn.executemany("insert into action_provisions values (?, ?)", [(a[0], p) for p in a[8]])
        conn.executemany("insert into action_topics values (?, ?)", [(a[0], t) for t in a[9]])
    conn.executemany(
        "insert into provisions values (?, ?)",
        [
            ("164.308(a)(1)(ii)(A)", "Risk analysis"),
            ("164.404(b)", "Timeliness"),
            ("164.312(a)(2)(iv)", "Encryption"),
            ("164.524", "Access"),
        ],
    )
    return conn


def ids(conn: sqlite3.Connection, text: str | None, filters: dict | None = None, sort: str = "relevance") -> list[str]:
    search = sq.Search(sq.ACTIONS, text and sq.match_expression(text), filters or {}, sort)
    rows = sq.page(conn, search)
    assert sq.count(conn, search) == len(rows)
    return [r["id"] for r in rows]


def test_words_filters_and_orders(kb: sqlite3.Connection) -> None:
    assert set(ids(kb, "ransomware")) == {"2020-01-01-alpha", "2021-01-01-beta"}
    assert ids(kb, "ransomware", sort="date") == ["2021-01-01-beta", "2020-01-01-alpha"]
    assert ids(kb, None) == ["2021-06-01-gamma", "2021-01-01-beta", "2020-01-01-alpha", "2022-01-01-delta"], (
        "no words: newest first, an unknown date last"
    )
    assert ids(kb, "ransomware", {"year": ["2021"]}) == ["2021-01-01-beta"]
    assert ids(kb, None, {"year": ["2020", "2021"]}) == ["2021-06-01-gamma", "2021-01-01-beta", "2020-01-01-alpha"], (
        "years: any of them"
    )
    assert ids(kb, None, {"state": ["TX"], "type": ["resolution_agreement"]}) == ["2021-06-01-gamma"]
    assert ids(kb, None, {"topic": ["ransomware", "risk_analysis"]}) == ["2020-01-01-alpha"], "topics: all of them"
    assert ids(kb, "laptop", {"topic": ["ransomware"]}) == []


def test_a_provision_filter_takes_the_paragraphs_under_it(kb: sqlite3.Connection) -> None:
    assert ids(kb, None, {"provision": ["164.308"]}) == ["2021-06-01-gamma", "2020-01-01-alpha"]
    assert ids(kb, None, {"provision": ["164.308(a)(1)(ii)(A)", "164.312"]}) == ["2021-06-01-gamma"]
    assert ids(kb, None, {"provision": ["164.30"]}) == [], "a prefix that is not a parent matches nothing"


def test_counts_per_filter_value(kb: sqlite3.Connection) -> None:
    search = sq.Search(sq.ACTIONS, None, {"state": ["TX"]})
    counts = {f.name: dict(sq.facet_counts(kb, search, f)) for f in sq.ACTIONS.facets}
    assert counts["year"] == {"2021": 2}
    assert counts["type"] == {"civil_money_penalty": 1, "resolution_agreement": 1}
    assert counts["topic"] == {"ransomware": 1, "encryption": 1}
    assert counts["provision"] == {"164.404(b)": 1, "164.312(a)(2)(iv)": 1, "164.308(a)(1)(ii)(A)": 1}
    for name, values in counts.items():  # adding a value gives exactly its count
        for value, n in values.items():
            assert len(ids(kb, None, {"state": ["TX"], name: [value]})) == n, (name, value)


def test_unknown_filter_is_refused(kb: sqlite3.Connection) -> None:
    with pytest.raises(ValueError, match="location is not a filter"):
        sq.count(kb, sq.Search(sq.ACTIONS, None, {"location": ["Laptop"]}))


# ---- snippets and parameters ---------------------------------------------------------------------------


def test_snippets_are_escaped_and_marked() -> None:
    raw = f"<script>x</script> a {sq.OPEN}ransomware{sq.CLOSE} & <b>"
    assert str(highlight(raw)) == "&lt;script&gt;x&lt;/script&gt; a <mark>ransomware</mark> &amp; &lt;b&gt;"
    assert plain(raw) == "<script>x</script> a ransomware & <b>"
    assert str(highlight(f"{sq.CLOSE}a{sq.OPEN}{sq.OPEN}b")) == "a<mark>b</mark>", "always well-formed"
    assert opening("word " * 100, 20) == "word word word word…"


def params(**args: str | list[str]) -> Params:
    return parse_params(MultiParams({k: v if isinstance(v, list) else [v] for k, v in args.items()}))


def test_parameters() -> None:
    p = params(q=" ransomware ", kind="actions", year=["2020", "2020", ""], provision="164.308", page="2")
    assert (p.q, p.kind, p.page, p.filters) == (
        "ransomware",
        "actions",
        2,
        {"year": ["2020"], "provision": ["164.308"]},
    )
    assert p.pairs() == [
        ("q", "ransomware"),
        ("kind", "actions"),
        ("year", "2020"),
        ("provision", "164.308"),
        ("page", "2"),
    ]
    assert params().kind == "actions" and params().filters == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"kind": "entities"}, "kind must be one of"),
        ({"sort": "amount"}, "sort must be one of"),
        ({"page": "0"}, "page must be"),
        ({"page": "two"}, "page must be"),
        ({"per_page": "1000"}, "per_page must be"),
        ({"year": "20x0"}, "year must be a year"),
        ({"kind": "breaches", "provision": "164.308"}, "provision is not a filter of breach reports"),
        ({"topic": "x", "location": "Laptop"}, "location is not a filter of enforcement actions"),
        ({"q": "x" * 501}, "longer than 500"),
    ],
)
def test_bad_parameters(args: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        params(**args)
