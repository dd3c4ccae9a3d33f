"""Datasette's table pages of the tables people reach (enforcement_actions, breaches), made readable by
kb_site/templates/kb_table.html: the columns that matter by default, labels in words, the column
documentation folded away, facets compact.

A table opts in with `plugins: kb-site: default_columns: [...]` (and `noun: [singular, plural]`) in its
metadata. The defaults apply to the HTML page only while the address names no columns: any `_col` or `_nocol`
is Datasette's own choice of columns, and the JSON and CSV always hold every column unless asked otherwise.
"""

from __future__ import annotations

from typing import Any

from datasette.utils import path_with_replaced_args

from kb_site import cells


async def table_page_vars(datasette, database: str, table: str, request) -> dict[str, Any] | None:
    """What kb_table.html needs, or None for a table that did not opt in."""
    config = datasette.plugin_config("kb-site", database=database, table=table) or {}
    defaults = config.get("default_columns")
    if not defaults or request is None:
        return None
    db = datasette.get_database(database)
    columns = await db.table_columns(table)
    pks = await db.primary_keys(table)
    chosen = "_col" in request.args or "_nocol" in request.args
    singular, plural = config.get("noun", ["row", "rows"])
    return {
        "shown": None if chosen else [*pks, *defaults],
        "column_count": len(columns),
        "default_count": len(set(pks) | set(defaults)),
        # `_col` lists the columns besides the primary key, which Datasette always shows first
        "every_column_url": path_with_replaced_args(request, [("_col", c) for c in columns if c not in pks]),
        "default_columns_url": path_with_replaced_args(request, {"_col": None, "_nocol": None}),
        "noun": {"one": singular, "many": plural},
        "facet_words": cells.facet_words,
        "null_words": cells.NULL_WORDS,
        "sort_words": sort_words,
        "in_metadata_order": in_metadata_order,
    }


DATE_COLUMNS = frozenset({"announced", "breach_reported", "first_seen", "last_seen", "year"})


def sort_words(column: str, descending: bool, column_type: str) -> str:
    """How a sort reads: 'announced, newest first', 'individuals affected, largest first'."""
    if column in DATE_COLUMNS or column.endswith("_date"):
        order = "newest first" if descending else "oldest first"
    elif column_type.upper() in ("INTEGER", "REAL", "FLOAT"):
        order = "largest first" if descending else "smallest first"
    else:
        order = "Z to A" if descending else "A to Z"
    return f"{cells.column_label(column).lower()}, {order}"


def in_metadata_order(facet_results: list[dict], configured: list) -> list[dict]:
    """Facets in the order the table's metadata lists them (Datasette orders them by how many values each
    has), then any asked for in the address; each column once (Datasette 0.65.5 draws a configured facet
    twice when the address asks for it too: `state` and `state_2`)."""
    names = [next(iter(f.values())) if isinstance(f, dict) else f for f in configured or []]
    rank = {name: i for i, name in enumerate(names)}
    once = list({f["name"]: f for f in reversed(facet_results)}.values())[::-1]
    return sorted(once, key=lambda f: rank.get(f["name"], len(rank)))
