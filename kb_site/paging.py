"""Keyset paging of sorted tables: the primary key breaks ties on the first page too.

Datasette 0.65.5 (and its main branch as of 1.0a37) sorts a table's first page by the sort column alone
(`order by submission_date desc limit 51`) but every following page by the sort column and then the
primary key (`... order by submission_date desc, id`), with a `_next=<value>,<pk>` condition that assumes
that second order. When page 1 ends inside a group of equal sort values, SQLite returns that group in
whatever order its plan gives (walking idx_breaches_submission_date backwards: the highest rowid first),
so page 2 repeats some rows of the group and never returns others. JSON `next_url` paging and
`.csv?_stream=on` (which pages the same way internally) both lost rows: 2 of 7,329 breach reports at
`_size=50` under the default `sort_desc: submission_date`.

`apply()` makes Datasette's table view add the primary key (or rowid) to ORDER BY whenever a sort is
given, first page included: the patch of docs/upstream/datasette-sort-tiebreaker.md, applied to
`TableView._data_traced` when the server starts (the `startup` hook in kb_site/hooks.py). If the Datasette source does not read as expected (an upgrade),
nothing is patched and a warning says so; tests/test_api_paging.py then shows whether the bug is still
there.
"""

from __future__ import annotations

import inspect
import textwrap
import warnings

# The first page's sort: right after the _sort_desc branch sets order_by, add the keys (tables only:
# views have no keys and page by offset).
_SORT_DESC = '            order_by = f"{escape_sqlite(sort_desc)} desc"\n'
_TIEBREAK = (
    "\n"
    "        # The primary keys break ties on every page, the first one included: the\n"
    "        # ?_next= keyset condition below assumes rows are in (sort, pks) order\n"
    "        if (sort or sort_desc) and not is_view:\n"
    '            order_by = f"{order_by}, {order_by_pks}"\n'
)
# ...and the _next= branch no longer appends them a second time.
_NEXT_TIEBREAK = '                    order_by = f"{order_by}, {order_by_pks}"\n'

_PATCHED = "_kb_sort_tiebreaker"


def _patched_source(source: str) -> str | None:
    if source.count(_SORT_DESC) != 1 or source.count(_NEXT_TIEBREAK) != 1:
        return None
    return source.replace(_SORT_DESC, _SORT_DESC + _TIEBREAK).replace(_NEXT_TIEBREAK, "")


def apply() -> bool:
    """Patch TableView once; True when the patched method is in place. Called from the startup hook, not at
    import: the plugin is imported while Datasette itself is still importing its views."""
    from datasette.views import table as _table

    view = _table.TableView
    if getattr(view._data_traced, _PATCHED, False):
        return True
    original = view._data_traced
    lines, first_line = inspect.getsourcelines(original)
    source = _patched_source("".join(lines))
    if source is None:
        warnings.warn(
            "kb_site.paging: datasette.views.table.TableView._data_traced is not the code this "
            "patch expects (Datasette upgraded?); sorted tables are paged by Datasette unchanged. "
            "See docs/upstream/datasette-sort-tiebreaker.md.",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    # Compiled as if in Datasette's own file, at its own line, so that tracebacks point there.
    code = compile(
        "\n" * (first_line - 1) + textwrap.dedent(source), inspect.getsourcefile(original) or "<datasette>", "exec"
    )
    namespace: dict = {}
    exec(code, _table.__dict__, namespace)  # noqa: S102 - Datasette's own source, two lines changed
    patched = namespace[original.__name__]
    patched.__qualname__ = original.__qualname__
    patched.__doc__ = original.__doc__
    setattr(patched, _PATCHED, True)
    view._data_traced = patched
    return True
