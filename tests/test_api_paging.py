"""Every row of every table and view comes back exactly once over the JSON API (following next_url) and over
the CSV stream (`.csv?_stream=on`), under each table's default sort, on the real pipeline-built database
served by `kb serve`.

Tables and views are listed from the database itself; default sorts come from the merged metadata that
`kb serve` uses. Each table is paged whole with a page size chosen from its own data: at most MAX_PAGES
pages, and, where the default sort has ties, the first page ends inside a group of equal values (Datasette
0.65.5 lost and repeated rows exactly there: see kb_site/paging.py and
docs/upstream/datasette-sort-tiebreaker.md)."""

from __future__ import annotations

import ast
import base64
import csv
import io
import math
from collections import Counter
from urllib.parse import urlsplit

import httpx
import pytest
from datasette.utils import tilde_decode

from etl.site import SETTINGS, merged_metadata

MAX_PAGES = 12  # per table and variant: keeps the module to a few hundred requests
MAX_ROWS = SETTINGS["max_returned_rows"]


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _objects(db) -> list[tuple[str, bool]]:
    """(name, is_view) for every table and view of the database, as Datasette lists them."""
    return [
        (name, kind == "view")
        for name, kind in db.execute(
            "select name, type from sqlite_master where type in ('table', 'view') order by name"
        ).fetchall()
    ]


class Plan:
    """How one table is paged and what must come back."""

    def __init__(self, db, name: str, is_view: bool, table_meta: dict) -> None:
        self.name, self.is_view = name, is_view
        info = db.execute(f"pragma table_xinfo({q(name)})").fetchall()
        self.declared = {row[1]: (row[2] or "").upper() for row in info}
        self.pks = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
        rowid_table = not self.pks and not is_view
        self.key_columns = self.pks or (["rowid"] if rowid_table else [row[1] for row in info if not row[6]])
        self.sort = table_meta.get("sort") or table_meta.get("sort_desc")
        self.desc = bool(table_meta.get("sort_desc"))
        self.count = db.execute(f"select count(*) from {q(name)}").fetchone()[0]
        select = ", ".join(q(c) if c != "rowid" else "rowid" for c in self.key_columns)
        blobs = {
            row[1]
            for row in info
            if not row[6]
            and db.execute(f"select 1 from {q(name)} where typeof({q(row[1])}) = 'blob' limit 1").fetchone()
        }
        self.blob_columns = blobs & set(self.key_columns)
        # Other BLOB columns (embedding vectors, FTS5 sizes) are left out of the responses: they take no
        # part in paging, and writing them is most of the time the stream takes.
        self.nocol = "".join(f"&_nocol={c}" for c in sorted(blobs - set(self.key_columns) - {self.sort}))
        foreign_keys = {row[3] for row in db.execute(f"pragma foreign_key_list({q(name)})")}
        # _labels=on turns these columns' values into {"value", "label"}, in the rows _next tokens come from.
        self.labelled_keys = bool(foreign_keys & {*self.pks, self.sort})
        self.expected = Counter(
            tuple(text(v) for v in row) for row in db.execute(f"select {select} from {q(name)}").fetchall()
        )
        self.size, self.first_page_ends_in_tie = self._page_size(db)

    def untokenizable(self, db) -> int:
        """Rows Datasette's keyset tokens cannot point at: a token carries each key (and sort) value as
        text, so a BLOB value, or a number in a column without numeric affinity (FTS5's internal
        *_fts_idx tables: `segid, term` declared without types, term a BLOB), never compares equal to it."""
        if self.is_view:
            return 0
        bad = []
        for column in [*self.pks, *([self.sort] if self.sort else [])]:
            declared = self.declared.get(column, "")
            no_affinity = not declared or "BLOB" in declared  # SQLite: a text parameter stays text
            bad.append(
                f"typeof({q(column)}) = 'blob'"
                + (f" or typeof({q(column)}) in ('integer', 'real')" if no_affinity else "")
            )
        if not bad:
            return 0
        return db.execute(f"select count(*) from {q(self.name)} where {' or '.join(bad)}").fetchone()[0]

    def _page_size(self, db) -> tuple[int, bool]:
        """(page size, whether the first page ends inside a group of equal sort values)."""
        if self.untokenizable(db):
            assert self.count <= MAX_ROWS, (
                f"{self.name}: {self.count} rows with keys Datasette cannot page by; they fit one page of "
                f"_size=max only while the table has at most {MAX_ROWS} rows"
            )
            return MAX_ROWS, False
        size = min(MAX_ROWS, max(2, math.ceil(self.count / MAX_PAGES)))
        if self.sort and not self.is_view:
            values = [
                v
                for (v,) in db.execute(
                    f"select {q(self.sort)} from {q(self.name)} order by {q(self.sort)}{' desc' if self.desc else ''}"
                )
            ]
            # The smallest page size from `size` up whose first page ends inside a tie.
            for s in range(size, min(len(values) - 1, MAX_ROWS) + 1):
                if values[s - 1] == values[s]:
                    return s, True
        return size, False


def text(value) -> str:
    """A key value as the CSV stream writes it, and as JSON values compare to the database's; a BLOB as hex."""
    if isinstance(value, dict) and "value" in value:  # _labels=on
        value = value["value"]
    if isinstance(value, bytes):
        return value.hex()
    return "" if value is None else str(value)


def json_key(plan: Plan, column: str, value) -> str:
    """Datasette's JSON writes a BLOB as its UTF-8 text, or as {"$base64": true, "encoded": ...}."""
    if column in plan.blob_columns:
        if isinstance(value, dict) and value.get("$base64"):
            return base64.b64decode(value["encoded"]).hex()
        return value.encode("utf-8").hex() if isinstance(value, str) else text(value)
    return text(value)


def csv_key(plan: Plan, header: list[str], record: list[str], column: str) -> str:
    """The CSV stream writes a BLOB as the address of its .blob download, whose path ends in the row's
    keys (tilde-encoded, a BLOB as Python's bytes literal)."""
    cell = record[header.index(column)]
    if column in plan.blob_columns and cell.startswith(("http://", "https://")):
        keys = urlsplit(cell).path.rsplit("/", 1)[1].removesuffix(".blob").split(",")
        return ast.literal_eval(tilde_decode(keys[plan.key_columns.index(column)])).hex()
    return cell


@pytest.fixture(scope="module")
def plans(built_db) -> list[Plan]:
    tables = merged_metadata()["databases"]["kb"].get("tables", {})
    return [Plan(built_db.conn, name, is_view, tables.get(name, {})) for name, is_view in _objects(built_db.conn)]


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=120) as c:
        yield c


def _sqlite_order(value):
    """SQLite's order of stored values: NULL, numbers, text, BLOB."""
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, value) if isinstance(value, str) else (3, str(value))


def page_json(client: httpx.Client, url: str, plan: Plan, labels: bool) -> tuple[list[tuple], list]:
    keys, sort_values, pages = [], [], 0
    next_url = f"{url}/kb/{plan.name}.json?_size={plan.size}&_shape=objects{plan.nocol}" + (
        "&_labels=on" if labels else ""
    )
    while next_url:
        r = client.get(next_url)
        assert r.status_code == 200, f"{next_url}: {r.status_code} {r.text[:300]}"
        data = r.json()
        for row in data["rows"]:
            keys.append(tuple(json_key(plan, c, row[c]) for c in plan.key_columns))
            if plan.sort:
                value = row.get(plan.sort)
                sort_values.append(value["value"] if isinstance(value, dict) else value)
        pages += 1
        assert pages <= plan.count // plan.size + 2, f"{plan.name}: next_url keeps going after {pages} pages"
        next_url = data.get("next_url")
    return keys, sort_values


def page_csv(client: httpx.Client, url: str, plan: Plan, labels: bool) -> list[tuple]:
    r = client.get(
        f"{url}/kb/{plan.name}.csv?_stream=on&_size={plan.size}{plan.nocol}" + ("&_labels=on" if labels else "")
    )
    assert r.status_code == 200, f"{plan.name}.csv: {r.status_code} {r.text[:300]}"
    records = list(csv.reader(io.StringIO(r.text)))
    header, body = records[0], records[1:]
    assert header[:1] != [""] and all(len(rec) == len(header) for rec in body), (
        f"{plan.name}.csv: the stream was cut off or carries an error: {r.text[-300:]!r}"
    )
    return [tuple(csv_key(plan, header, rec, c) for c in plan.key_columns) for rec in body]


def exactly_once(plan: Plan, keys: list[tuple], how: str) -> list[str]:
    """Each key as often as the database holds it (once, for a key; a view may repeat a row)."""
    got = Counter(keys)
    over, missing = got - plan.expected, plan.expected - got
    if len(keys) == plan.count and not over and not missing:
        return []
    return [
        f"{plan.name} ({how}, sort {plan.sort or 'key'}{' desc' if plan.desc else ''}, _size={plan.size}): "
        f"{len(keys)} rows for count(*) {plan.count}; {sum(missing.values())} missing {sorted(missing)[:3]}, "
        f"{sum(over.values())} repeated or unknown {sorted(over)[:3]}"
    ]


def test_the_tiebreak_patch_applies_to_the_installed_datasette() -> None:
    """kb_site.paging patches Datasette's source; an upgrade that changes it turns this red (and the paging
    tests show whether the upgrade fixed the bug)."""
    from datasette.views.table import TableView

    from kb_site import paging

    assert paging.apply() and getattr(TableView._data_traced, "_kb_sort_tiebreaker", False)


def test_datasette_serves_every_table_and_view_of_the_database(datasette_url: str, built_db) -> None:
    listing = httpx.get(f"{datasette_url}/kb.json", timeout=60).json()
    served = {t["name"] for t in listing["tables"]} | {v["name"] for v in listing.get("views", [])}
    assert served == {name for name, _ in _objects(built_db.conn)}


def test_page_sizes_end_the_first_page_inside_ties_of_the_default_sorts(plans: list[Plan]) -> None:
    """The paging tests below test the tiebreak: the reported table (breaches, sort_desc submission_date)
    and the other tables whose default sort has repeated values start with a page that splits a tie."""
    breaches = next(p for p in plans if p.name == "breaches")
    assert breaches.sort == "submission_date" and breaches.first_page_ends_in_tie
    split = sorted(p.name for p in plans if p.first_page_ends_in_tie)
    assert len(split) >= 3, split


def test_json_next_url_returns_every_row_exactly_once(datasette_url: str, plans: list[Plan], client) -> None:
    problems = []
    for plan in plans:
        for labels in (False, True) if plan.labelled_keys else (False,):
            keys, sort_values = page_json(client, datasette_url, plan, labels)
            how = "json" + (" _labels=on" if labels else "")
            problems += exactly_once(plan, keys, how)
            if plan.sort and not plan.is_view:
                order = [_sqlite_order(v) for v in sort_values]
                if order != sorted(order, reverse=plan.desc):
                    problems.append(f"{plan.name} ({how}): rows not in {plan.sort} order")
    assert not problems, "\n".join(problems)


def test_csv_stream_returns_every_row_exactly_once(datasette_url: str, plans: list[Plan], client) -> None:
    problems = []
    for plan in plans:
        for labels in (False, True) if plan.labelled_keys else (False,):
            problems += exactly_once(
                plan,
                page_csv(client, datasette_url, plan, labels),
                "csv _stream=on" + (" _labels=on" if labels else ""),
            )
    assert not problems, "\n".join(problems)


def test_documented_full_csv_download_has_every_breach_report_once(
    datasette_url: str, plans: list[Plan], client
) -> None:
    """The /-/api example as written (`_size=max`: pages of 1,000 inside the stream)."""
    plan = next(p for p in plans if p.name == "breaches")
    r = client.get(f"{datasette_url}/kb/breaches.csv?_stream=on&_size=max")
    records = list(csv.reader(io.StringIO(r.text)))
    ids = [rec[records[0].index("id")] for rec in records[1:]]
    assert len(ids) == plan.count and Counter((i,) for i in ids) == plan.expected
