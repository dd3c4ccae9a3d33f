"""kb_site/facet_cache.py: on an immutable database a request's facet counts are computed once; a mutable
database is never cached; callers get copies."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import sqlite_utils
from datasette.app import Datasette

from kb_site import facet_cache

METADATA = {"databases": {"t": {"tables": {"reports": {"facets": ["state", {"array": "kinds"}]}}}}}
PATH = "/t/reports.json?_size=2"


def _database(tmp_path: Path) -> Path:
    path = tmp_path / "t.db"
    rows = [
        {"id": i, "state": "CA" if i % 3 else "NY", "kinds": '["theft", "loss"]' if i % 2 else '["theft"]'}
        for i in range(30)
    ]
    sqlite_utils.Database(path)["reports"].insert_all(rows, pk="id")
    return path


def _run(ds: Datasette, path: str, times: int) -> tuple[int, list[dict]]:
    ran = 0
    execute = ds.execute

    async def counting(database, sql, *args, **kwargs):
        nonlocal ran
        ran += "as count" in sql
        return await execute(database, sql, *args, **kwargs)

    ds.execute = counting  # type: ignore[method-assign]

    async def requests() -> list[dict]:
        await ds.invoke_startup()
        return [(await ds.client.get(path)).json()["facet_results"] for _ in range(times)]

    results = asyncio.run(requests())
    return ran, results


def test_immutable_database_computes_a_requests_facets_once(tmp_path: Path):
    ds = Datasette(immutables=[str(_database(tmp_path))], metadata=METADATA)
    ran, results = _run(ds, PATH, 3)
    assert ran == 2  # the state facet and the kinds array facet, once each
    assert results[0] == results[1] == results[2]
    assert {r["value"]: r["count"] for r in results[0]["state"]["results"]} == {"CA": 20, "NY": 10}
    ran_other, _ = _run(ds, PATH + "&state=CA", 1)  # another URL: computed anew
    assert ran_other == 2


def test_mutable_database_is_not_cached(tmp_path: Path):
    ds = Datasette([str(_database(tmp_path))], metadata=METADATA)
    ran, _ = _run(ds, PATH, 2)
    assert ran == 4


def _fake_facet(url: str) -> SimpleNamespace:
    database = SimpleNamespace(is_mutable=False)
    return SimpleNamespace(
        ds=SimpleNamespace(get_database=lambda _name: database),
        database="d",
        request=SimpleNamespace(url=url),
        sql="select 1",
        params={},
    )


def test_callers_get_copies_and_timeouts_are_not_kept():
    calls: list[str] = []

    async def facet_results(self):
        calls.append(self.request.url)
        timed_out = ["state"] if "slow" in self.request.url else []
        return [{"name": "state", "results": [{"value": "CA", "count": 1}]}], timed_out

    wrapped = facet_cache.cached(facet_results)
    first, _ = asyncio.run(wrapped(_fake_facet("http://x/t?fast")))
    first[0]["results"].clear()  # the table view adds to what it is given
    second, _ = asyncio.run(wrapped(_fake_facet("http://x/t?fast")))
    assert second[0]["results"] == [{"value": "CA", "count": 1}]
    asyncio.run(wrapped(_fake_facet("http://x/t?slow")))
    asyncio.run(wrapped(_fake_facet("http://x/t?slow")))
    assert calls == ["http://x/t?fast", "http://x/t?slow", "http://x/t?slow"]
