"""Facet counts computed once per server for each request that asks for them.

Every table page and table JSON request computes the table's default facets (breaches: state, entity type,
breach types, year): one SQL query each over the filtered rows, plus a link for every value. On the
full-text request `/kb/breaches.json?_search=phishing&_size=20` that was 1.6x the cost of the request
without facets and count, and under 16 concurrent clients the table requests' p99 went over 250 ms with
the facets and under it without (docs/benchmarks.md). The database is served immutable (`datasette serve
-i`), so a facet's results for a request can never change while the server runs: they are kept, per
facet class, keyed by the request's full URL (scheme, host, path and query string decide the filter, the
facets asked for, their size and every link in the result) and the SQL and parameters they ran on.

Only immutable databases are cached, and never a result whose facet query timed out (a busy moment must
not stick). At most MAX_ENTRIES results are kept, least recently used dropped first: a result is up to
8 KB as JSON (the column facets of a breaches search), some 25 KB as Python objects, so the cache stays
near 12 MB at worst, within the server's 300 MB. `apply()` wraps `facet_results` of Datasette's facet
classes once, from the startup hook.
"""

from __future__ import annotations

import copy
import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

MAX_ENTRIES = 500

_cache: OrderedDict[tuple, tuple[list, list]] = OrderedDict()
_PATCHED = "_kb_facet_cache"

FacetResults = Callable[[Any], Awaitable[tuple[list, list]]]


def _key(facet) -> tuple:
    params = facet.params.items() if isinstance(facet.params, dict) else enumerate(facet.params)
    return (type(facet).__name__, facet.database, facet.request.url, facet.sql, tuple(sorted(params, key=str)))


def cached(method: FacetResults) -> FacetResults:
    """`facet_results` that answers from the cache for immutable databases."""

    @functools.wraps(method)
    async def facet_results(self) -> tuple[list, list]:
        if self.ds.get_database(self.database).is_mutable:
            return await method(self)
        key = _key(self)
        if key in _cache:
            _cache.move_to_end(key)
        else:
            results, timed_out = await method(self)
            if timed_out:
                return results, timed_out
            _cache[key] = (results, timed_out)
            if len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
        # a copy: the table view adds to the results it is given
        return copy.deepcopy(_cache[key])

    setattr(facet_results, _PATCHED, True)
    return facet_results


def apply() -> None:
    """Wrap the facet classes Datasette registers (column, array, date), once per process."""
    from datasette import facets

    for cls in (facets.ColumnFacet, facets.ArrayFacet, facets.DateFacet):
        if not getattr(cls.facet_results, _PATCHED, False):
            cls.facet_results = cached(cls.facet_results)
