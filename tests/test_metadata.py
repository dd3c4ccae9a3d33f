"""The Datasette metadata describes every table and column the real build creates (docs that cannot drift)."""

from __future__ import annotations

import pytest

from etl.site import merged_metadata


def _user_tables(db) -> list[str]:
    """Tables a user browses: not full-text indexes and not their shadow tables."""
    fts = [
        row[0]
        for row in db.execute(
            "select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%USING FTS%'"
        )
    ]
    return [
        name
        for name in db.table_names()
        if not any(name == f or name.startswith(f + "_") for f in fts) and not name.startswith("sqlite_")
    ]


def test_every_table_and_column_is_described(built_db) -> None:
    tables_meta = merged_metadata()["databases"]["kb"]["tables"]
    missing = []
    for table in _user_tables(built_db):
        meta = tables_meta.get(table)
        if not meta or not (meta.get("description") or meta.get("description_html")):
            missing.append(f"{table}: no table description")
            continue
        described = meta.get("columns", {})
        missing += [f"{table}.{col}" for col in built_db[table].columns_dict if not described.get(col)]
    assert missing == []


def test_metadata_names_no_table_the_build_lacks(built_db) -> None:
    tables_meta = merged_metadata()["databases"]["kb"]["tables"]
    assert sorted(set(tables_meta) - set(built_db.table_names())) == []


@pytest.mark.parametrize("key", ["title", "license", "license_url", "source", "source_url"])
def test_site_metadata_names_sources_and_licence(key: str) -> None:
    assert merged_metadata()[key]
