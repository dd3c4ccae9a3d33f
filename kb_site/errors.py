"""How the site answers a request it cannot serve: the error page (the `handle_exception` hook), the 405
for a method other than GET, HEAD and OPTIONS (the `asgi_wrapper` hook) and the 400 for a full-text
search of a table that has none (the `filters_from_request` hook).

- Every error is the site's own page (kb_site/templates/kb_error.html, with the site's navigation and
  stylesheet), or JSON `{"ok": false, "error", "status", "title"}` for a `.json` address, with CORS
  headers when Datasette runs with `--cors`. Statuses follow Datasette's: its 4xx exceptions keep their
  status, anything else is a 500 whose traceback goes to the server log.
- Datasette 0.65.5's own handler is unregistered when the server starts (`replace_default_handler`): it
  calls rich's `print_exception` for every error, also where no exception is being handled (a path no
  route matches, such as /-/provision/a/b or /kb/table/x/y), and rich 15 then raises
  `ValueError: Value for 'trace' required`, turning each such 404 into a 500. Datasette awaits every
  handler's answer, so adding ours beside it would not be enough.
- A row of a table that does not exist is a 404 (Datasette answers "no such table" as a 400).
- Datasette gives a few client errors a 500: a `_sort` by a column that does not exist (a DatasetteError
  left at its default status) and a `_where` holding two statements (SQLite's Warning, or ProgrammingError
  with the standard library's sqlite3). They are 400s.
- The site is read-only (`kb serve` serves the database immutable, and no canned query writes), so a POST,
  PUT, DELETE or PATCH is a 405 before Datasette sees it: Datasette 0.65.5 answers a POST to a table, or to
  a canned query's JSON, with an AssertionError or AttributeError, a 500.
"""

from __future__ import annotations

import sys
import traceback

from datasette.utils import add_cors_headers, tilde_decode
from datasette.utils.asgi import BadRequest, Base400, NotFound, Request, Response
from datasette.utils.sqlite import sqlite3
from datasette.views.base import DatasetteError
from markupsafe import Markup

DEFAULT_HANDLER = "datasette.handle_exception"  # the name Datasette registers its default plugin under
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# Datasette 0.65.5's DatasetteErrors about the request that it leaves at status 500 (views/table.py).
CLIENT_ERRORS = ("Cannot sort table by ", "Cannot use _sort and _sort_desc at the same time")
TITLES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 500: "Server error"}


def replace_default_handler() -> None:
    """Leave the site's handle_exception as the only one (see the module's docstring)."""
    # Imported here: datasette.plugins loads the plugins, this package among them, when first imported.
    from datasette.plugins import pm

    if pm.get_plugin(DEFAULT_HANDLER) is not None:
        pm.unregister(name=DEFAULT_HANDLER)


class MethodNotAllowed(Base400):
    status = 405


def describe(request, exception: BaseException) -> tuple[int, str | Markup, str | None, dict]:
    """(status, message, title, extra JSON fields) of an exception, as Datasette's handler gives them but
    for the client errors it leaves at 500 (CLIENT_ERRORS, sqlite3.Warning / ProgrammingError)."""
    if isinstance(exception, Base400):
        message = str(exception.args[0]) if exception.args else ""
        if exception.status == 404 and message in ("", "404"):
            message = f"There is no page at {request.path}."
        return exception.status, message, None, {}
    if isinstance(exception, DatasetteError):
        message = Markup(exception.message) if exception.message_is_html else exception.message
        status = 400 if exception.status == 500 and str(message).startswith(CLIENT_ERRORS) else exception.status
        return status, message, exception.title, dict(exception.error_dict or {})
    # Two statements in a `_where`: pysqlite3 raises Warning, Python 3.11's sqlite3 ProgrammingError.
    if isinstance(exception, (sqlite3.Warning, sqlite3.ProgrammingError)):
        return 400, str(exception), "Invalid SQL", {}
    traceback.print_exception(exception, file=sys.stderr)
    return 500, str(exception), None, {}


async def _missing_row_table(datasette, request) -> str | None:
    """The table of a row address (/db/table/pk) when the database has no such table or view: Datasette
    0.65.5 queries it anyway and answers 'no such table' as a 400 "Invalid SQL"."""
    route = request.url_vars
    if not {"database", "table", "pks"} <= set(route):
        return None
    try:
        db = datasette.get_database(route=tilde_decode(route["database"]))
    except KeyError:
        return None
    table = tilde_decode(route["table"])
    return None if await db.table_exists(table) or table in await db.view_names() else table


async def error_response(datasette, request, exception: BaseException) -> Response:
    if table := await _missing_row_table(datasette, request):
        exception = NotFound(f"There is no table {table!r}, so no row {request.path}.")
    status, message, title, extra = describe(request, exception)
    headers = {"Allow": ", ".join(READ_METHODS)} if status == 405 else {}
    if datasette.cors:
        add_cors_headers(headers)
    if request.path.endswith(".json"):
        body = {**extra, "ok": False, "error": str(message), "status": status, "title": title}
        return Response.json(body, status=status, headers=headers)
    context = {"status": status, "error": message, "title": title or TITLES.get(status, f"Error {status}")}
    html = await datasette.render_template("kb_error.html", context, request=request, view_name="error")
    return Response.html(html, status=status, headers=headers)


def read_only(app, datasette):
    """ASGI middleware: a request with a method that could write gets the site's 405 page."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            return await app(scope, receive, send)
        await datasette.invoke_startup()  # idempotent; `datasette serve` has run it before serving
        refusal = MethodNotAllowed(f"This site is read-only: {scope['method']} is not accepted, only GET and HEAD.")
        # Outside Datasette's CSRF middleware, which sets the scope's token: the error page has no form
        request = Request(dict(scope, csrftoken=lambda: ""), receive)
        response = await error_response(datasette, request, refusal)
        await response.asgi_send(send)

    return wrapped


async def _fts_table(datasette, database: str, table: str, request) -> str | None:
    """The full-text table Datasette would search for this request (its own lookup, datasette/filters.py)."""
    db = datasette.get_database(database)
    metadata = datasette.table_metadata(database, table)
    return request.args.get("_fts_table") or metadata.get("fts_table") or await db.fts_table(table)


async def searchable_tables(datasette, database: str) -> list[str]:
    """The visible tables a `_search` can filter."""
    db = datasette.get_database(database)
    hidden = set(await db.hidden_table_names())
    names = [t for t in await db.table_names() if t not in hidden]
    return [t for t in names if datasette.table_metadata(database, t).get("fts_table") or await db.fts_table(t)]


async def refuse_search_without_fts(datasette, request, database: str, table: str) -> None:
    """BadRequest (400) when `_search` or `_search_<column>` is given a value for a table or view that has
    no full-text index: Datasette would ignore it and return every row."""
    searched = [k for k in request.args if (k == "_search" or k.startswith("_search_")) and request.args.get(k)]
    if not searched or await _fts_table(datasette, database, table, request):
        return
    others = ", ".join(await searchable_tables(datasette, database)) or "none"
    raise BadRequest(
        f"{table} has no full-text search, so {searched[0]}= cannot filter it. "
        f"Tables with full-text search: {others}. To match a column's text, use ?<column>__contains=<text>."
    )
