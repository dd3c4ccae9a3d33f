"""The SQL of the search pages (`/-/search`, kb_site/search.py): full-text search of enforcement actions
(`enforcement_actions_search`, an action together with the text of its documents) and of breach reports
(`breaches_fts`), ranked by bm25 or by date, narrowed by filters, counted per filter value, one page at a
time. Plain functions of a sqlite3 connection: the view runs them in Datasette's read thread
(`execute_fn`), all the queries of one request on one connection.

Text a person types becomes a safe FTS5 expression (`match_expression`): every word is quoted, so no input
is an FTS syntax error. Words are all required; `OR` between two words (in capitals) asks for either;
"double quotes" keep a phrase; a `*` after a word matches it as a prefix. Anything else (parentheses,
NEAR, NOT, AND, column filters, a lone quote) is read as words or dropped.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# ---- the FTS5 expression ------------------------------------------------------------------------------

_TOKEN = re.compile(r'"([^"]*)"?(\*?)|([^\s"]+)')
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what FTS5's unicode61 tokenizer keeps
DROPPED = {"AND", "NOT", "NEAR"}


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    prefix: bool = False

    def fts(self) -> str:
        return '"' + " ".join(self.words) + '"' + ("*" if self.prefix else "")


def parse_terms(text: str) -> list[list[Term]]:
    """The words of `text` as groups of alternatives: every group is required, any term of a group will do
    (`a OR b c` -> [[a, b], [c]]). Only letters and digits reach the expression."""
    groups: list[list[Term]] = []
    join_next = False
    for m in _TOKEN.finditer(text):
        phrase, phrase_star, bare = m.groups()
        if bare in ("OR", "|"):
            join_next = bool(groups)
            continue
        if bare in DROPPED:
            continue
        raw = phrase if bare is None else bare
        words = tuple(w.lower() for w in _WORD.findall(raw))
        if not words:
            continue
        term = Term(words, prefix=bool(phrase_star) or (bare is not None and bare.endswith("*")))
        if join_next and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    return groups


def match_expression(text: str) -> str | None:
    """A safe FTS5 MATCH expression for what a person typed, or None when it holds no word."""
    groups = parse_terms(text)
    if not groups:
        return None
    parts = [g[0].fts() if len(g) == 1 else "(" + " OR ".join(t.fts() for t in g) + ")" for g in groups]
    return " ".join(parts)


# ---- what can be searched ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facet:
    """A filter: `pairs` selects (item, value) rows, one per value an item has. `multi`: an item can have
    several values, and several chosen values must all hold; otherwise any chosen value will do. `under`:
    a value also matches the paragraphs under it (a provision)."""

    name: str
    label: str
    pairs: str
    multi: bool = False
    under: bool = False
    order: str = "count"  # "count" (most first) or "value_desc" (years, newest first)
    limit: int | None = 12


@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    fts: str
    weights: tuple[float, ...]  # bm25 weight of each FTS column
    date: str
    title: str
    text: str  # the column whose opening stands in for a snippet when nothing matched in it
    snippet_columns: tuple[int, ...]  # FTS columns to take the snippet from, in order of preference
    columns: tuple[str, ...]
    facets: tuple[Facet, ...] = field(default=())

    def facet(self, name: str) -> Facet | None:
        return next((f for f in self.facets if f.name == name), None)


def _year(table: str, key: str = "id") -> Facet:
    return Facet(
        "year",
        "Year",
        f"select {key} as item, cast(year as text) as value from {table}",
        order="value_desc",
        limit=None,
    )


def _column(table: str, name: str, label: str, column: str) -> Facet:
    return Facet(name, label, f"select id as item, {column} as value from {table} where {column} is not null")


ACTIONS = Kind(
    name="actions",
    table="enforcement_actions",
    fts="enforcement_actions_search",  # entity, summary, incident_text, notes, documents
    weights=(10.0, 5.0, 5.0, 2.0, 1.0),
    date="announced",
    title="entity",
    text="summary",
    snippet_columns=(1, 2, 4, 3),
    columns=(
        "id",
        "entity",
        "announced",
        "action_type",
        "amount_usd",
        "state",
        "sector",
        "summary",
        "agency",
        "states",
        "multistate",
        "sentence",
    ),
    facets=(
        _column("enforcement_actions", "agency", "Enforcer", "agency"),  # several chosen: any of them
        _year("enforcement_actions"),
        _column("enforcement_actions", "type", "Action type", "action_type"),
        Facet(
            "provision",
            "Provision cited",
            "select action_id as item, provision_id as value from action_provisions where provision_id is not null",
            multi=True,
            under=True,
        ),
        Facet("topic", "Topic", "select action_id as item, topic_id as value from action_topics", multi=True),
        _column("enforcement_actions", "sector", "Sector", "sector"),
        _column("enforcement_actions", "state", "State", "state"),
    ),
)
BREACHES = Kind(
    name="breaches",
    table="breaches",
    fts="breaches_fts",  # entity_name, description
    weights=(5.0, 1.0),
    date="submission_date",
    title="entity_name",
    text="description",
    snippet_columns=(1,),
    columns=(
        "id",
        "entity_name",
        "submission_date",
        "individuals_affected",
        "individuals_placeholder",
        "breach_types",
        "locations",
        "covered_entity_type",
        "state",
        "sector",
        "status",
        "description",
    ),
    facets=(
        _year("breaches"),
        Facet(
            "type",
            "Type of breach",
            "select l.breach_id as item, t.name as value from breaches_breach_types l "
            "join breach_types t on t.id = l.breach_type_id",
            multi=True,
        ),
        Facet(
            "location",
            "Location of the information",
            "select l.breach_id as item, t.name as value from breaches_breach_locations l "
            "join breach_locations t on t.id = l.breach_location_id",
            multi=True,
        ),
        _column("breaches", "sector", "Sector", "sector"),
        _column("breaches", "state", "State", "state"),
    ),
)
KINDS = {k.name: k for k in (ACTIONS, BREACHES)}
SORTS = ("relevance", "date")
OPEN, CLOSE = "\x02", "\x03"  # around matched words in snippets (kb_site.search turns them into <mark>)


# ---- the queries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    kind: Kind
    match: str | None  # an FTS5 expression from match_expression, or None for no words
    filters: dict[str, list[str]]  # facet name -> chosen values
    sort: str = "relevance"
    limit: int = 20
    offset: int = 0


def _value_condition(facet: Facet) -> tuple[str, int]:
    """(the condition on `value` for one chosen value, how many times the value is bound)."""
    if facet.under:
        return "(value = ? or substr(value, 1, length(?) + 1) = ? || '(')", 3
    return "value = ?", 1


def _filters_sql(search: Search) -> tuple[str, list[Any]]:
    """`and ...` conditions on `t.id` for every chosen filter value."""
    sql, params = [], []
    for name, values in search.filters.items():
        facet = search.kind.facet(name)
        if facet is None:
            raise ValueError(f"{name} is not a filter of {search.kind.name}")
        condition, times = _value_condition(facet)
        groups = [[v] for v in values] if facet.multi else [values]  # multi: each value must hold
        for group in groups:
            sql.append(
                f" and t.id in (select item from ({facet.pairs}) where " + " or ".join([condition] * len(group)) + ")"
            )
            params += [v for v in group for _ in range(times)]
    return "".join(sql), params


def _from(search: Search, select: str) -> tuple[str, list[Any]]:
    """`select <select> from ... where <the words> <the filters>`, with `t` the searched table."""
    kind = search.kind
    where, params = _filters_sql(search)
    if search.match is None:
        return f"select {select} from [{kind.table}] t where 1{where}", params
    fts = f"[{kind.fts}]"
    return (
        f"select {select} from {fts} join [{kind.table}] t on t.rowid = {fts}.rowid where {fts} match ?{where}",
        [search.match, *params],
    )


def count(conn: sqlite3.Connection, search: Search) -> int:
    sql, params = _from(search, "count(*)")
    return conn.execute(sql, params).fetchone()[0]


def _order(search: Search) -> str:
    date = f"t.[{search.kind.date}]"
    if search.sort == "relevance" and search.match is not None:
        return "score, t.id"
    return f"{date} is null, {date} desc, t.id"


def page(conn: sqlite3.Connection, search: Search) -> list[dict]:
    """One page of results: the kind's columns, `score` (bm25, lower is better; None without words) and
    `snippets` (one per snippet column, matched words between OPEN and CLOSE)."""
    kind = search.kind
    select = ", ".join(f"t.[{c}]" for c in kind.columns)
    if search.match is None:
        select += ", null as score"
    else:
        weights = ", ".join(str(w) for w in kind.weights)
        select += f", bm25([{kind.fts}], {weights}) as score" + "".join(
            f", snippet([{kind.fts}], {c}, '{OPEN}', '{CLOSE}', '…', 24) as snippet_{c}" for c in kind.snippet_columns
        )
    sql, params = _from(search, select)
    cursor = conn.execute(f"{sql} order by {_order(search)} limit ? offset ?", [*params, search.limit, search.offset])
    names = [d[0] for d in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        row["snippets"] = [row.pop(f"snippet_{c}") for c in kind.snippet_columns if f"snippet_{c}" in row]
        rows.append(row)
    return rows


def facet_counts(conn: sqlite3.Connection, search: Search, facet: Facet) -> list[tuple[str, int]]:
    """(value, how many of the results have it), most first (years newest first). For a facet `under`, a
    value counts the results citing it or a paragraph under it."""
    matched, params = _from(search, "t.id")
    if facet.under:
        sql = f"""with cited as (select distinct item, value from ({facet.pairs}) where item in ({matched}))
                  select v.value as facet_value, count(distinct c.item) as n from (select distinct value from cited) v
                  join cited c on c.value = v.value or substr(c.value, 1, length(v.value) + 1) = v.value || '('
                  group by v.value"""
    else:
        sql = f"""select value as facet_value, count(distinct item) as n from ({facet.pairs})
                  where item in ({matched}) group by value"""
    order = "facet_value desc" if facet.order == "value_desc" else "n desc, facet_value"
    limit = "" if facet.limit is None else f" limit {int(facet.limit)}"
    return [(str(v), n) for v, n in conn.execute(f"{sql} order by {order}{limit}", params)]


def provisions_of(conn: sqlite3.Connection, action_ids: Sequence[str]) -> dict[str, list[dict]]:
    """The provisions each action cites, in the regulation's order: {action id: [{id, heading}]}."""
    if not action_ids:
        return {}
    marks = ", ".join("?" for _ in action_ids)
    rows = conn.execute(
        f"""select distinct ap.action_id, ap.provision_id, p.heading, p.rowid as position
            from action_provisions ap join provisions p on p.id = ap.provision_id
            where ap.action_id in ({marks}) order by ap.action_id, position""",
        list(action_ids),
    )
    out: dict[str, list[dict]] = {}
    for action_id, provision_id, heading, _ in rows:
        out.setdefault(action_id, []).append({"id": provision_id, "heading": heading})
    return out


def topic_names(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("select id, name from topics"))


def provision_headings(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, str | None]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    return dict(conn.execute(f"select id, heading from provisions where id in ({marks})", list(ids)))
