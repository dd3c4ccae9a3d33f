"""Similar-case search on the site.

- `/-/similar` (HTML) and `/-/similar.json`: `?q=<free text>` or `?like=<action id>`, with `k` (1..100,
  default 10), `kind` (actions|breaches|all) and `ranker` (hybrid|vector|bm25, for q). Bad input is
  HTTP 400 with a JSON error `{"ok": false, "error": ...}` (HTML: the error in the page).
- Row pages of `enforcement_actions` get `similar_cases` (from the precomputed `similar_actions` table, no
  model) for kb_site/templates/_similar_cases.html (`row_page_vars`).

The vectors and the query encoder are loaded once per server process, under a lock, when the server starts
(`preload`, from the startup hook): the first search is as fast as the next. A search runs on Datasette's
own read connection (`execute_fn`, a worker thread), so the event loop never waits for the model.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from urllib.parse import urlencode

from datasette.utils import tilde_encode
from datasette.utils.asgi import Response

from etl.similar import KINDS, MAX_QUERY_CHARS, RANKERS, Searcher, SearchError, open_searcher

_lock = threading.Lock()
_searchers: dict[str, Searcher] = {}


class BadRequest(Exception):
    pass


async def _find_database(datasette):
    """(name, database) of the first attached database that has embeddings (the knowledge base, normally
    `kb`), or None."""
    for name, db in datasette.databases.items():
        if name != "_internal" and await db.table_exists("embeddings"):
            return name, db
    return None


# (name, database) per server, once found: asking every database for its tables cost each search a query
_found: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _database(datasette):
    if datasette not in _found:
        found = await _find_database(datasette)
        if found is None:
            raise RuntimeError("similar-case search: no attached database has an embeddings table (run `kb build`)")
        _found[datasette] = found
    return _found[datasette]


def _searcher(name: str, conn) -> Searcher:
    with _lock:
        if name not in _searchers:
            _searchers[name] = open_searcher(conn)
        return _searchers[name]


async def preload(datasette) -> None:
    """Load the vectors and the query encoder and embed one query, before the server answers: otherwise the
    first search after a start paid for all of it (seconds). Nothing to load without embeddings."""
    found = await _find_database(datasette)
    if found is None:
        return
    name, db = found

    def load(conn) -> None:
        searcher = _searcher(name, conn)
        assert searcher.encoder is not None  # open_searcher always gives one
        searcher.encoder(["warm up"])  # the first run of a session allocates its buffers

    await db.execute_fn(load)


def _params(request) -> dict:
    args = request.args
    q, like = args.get("q"), args.get("like")
    if q is not None and like is not None:
        raise BadRequest("give either q or like, not both")
    if q is not None:
        if not q.strip():
            raise BadRequest("q is empty")
        if len(q) > MAX_QUERY_CHARS:
            raise BadRequest(f"q is longer than {MAX_QUERY_CHARS} characters")
    if like is not None and not like.strip():
        raise BadRequest("like is empty")
    k_raw = args.get("k", "10")
    if not re.fullmatch(r"\d{1,3}", k_raw.strip()) or not 1 <= int(k_raw) <= 100:
        raise BadRequest("k must be an integer from 1 to 100")
    kind = args.get("kind") or ("actions" if like is not None else "all")
    if kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}")
    ranker = args.get("ranker") or "hybrid"
    if ranker not in RANKERS:
        raise BadRequest(f"ranker must be one of {', '.join(RANKERS)}")
    return {"q": q, "like": like, "k": int(k_raw), "kind": kind, "ranker": ranker}


def _link(datasette, db_name: str, item: dict) -> str:
    table = "enforcement_actions" if item["kind"] == "action" else "breaches"
    return datasette.urls.row(db_name, table, tilde_encode(item["id"]))


async def _search(datasette, params: dict) -> tuple[str, list[dict], dict | None]:
    name, db = await _database(datasette)

    def run(conn):
        searcher = _searcher(name, conn)
        if params["like"] is not None:
            return searcher.like(conn, params["like"], k=params["k"], kind=params["kind"])
        return searcher.search(conn, params["q"], k=params["k"], kind=params["kind"], ranker=params["ranker"])

    try:
        results = await db.execute_fn(run)
    except SearchError as e:
        raise BadRequest(str(e)) from e
    for item in results:
        item["url"] = _link(datasette, name, item)
    source = None
    if params["like"] is not None:
        row = (
            await db.execute(
                "select id, entity, announced, amount_usd from enforcement_actions where id = ?", [params["like"]]
            )
        ).first()
        source = {
            "id": row["id"],
            "entity": row["entity"],
            "date": row["announced"],
            "amount": row["amount_usd"],
            "url": datasette.urls.row(name, "enforcement_actions", tilde_encode(row["id"])),
        }
    return name, results, source


async def similar_view(datasette, request):
    as_json = bool(request.url_vars.get("format"))
    try:
        params = _params(request)
        if params["q"] is None and params["like"] is None:
            if as_json:
                raise BadRequest("give q (free text) or like (an enforcement action id)")
            return Response.html(
                await datasette.render_template(
                    "similar.html", {"params": params, "results": None, "error": None, "source": None}, request=request
                )
            )
        _, results, source = await _search(datasette, params)
    except BadRequest as e:
        if as_json:
            return Response.json({"ok": False, "error": str(e), "status": 400}, status=400)
        params = {
            "q": request.args.get("q"),
            "like": request.args.get("like"),
            "k": 10,
            "kind": "all",
            "ranker": "hybrid",
        }
        return Response.html(
            await datasette.render_template(
                "similar.html", {"params": params, "results": None, "error": str(e), "source": None}, request=request
            ),
            status=400,
        )
    if as_json:
        return Response.json(
            {
                "ok": True,
                "q": params["q"],
                "like": params["like"],
                "k": params["k"],
                "kind": params["kind"],
                "ranker": None if params["like"] else params["ranker"],
                "source": source,
                "results": results,
            }
        )
    return Response.html(
        await datasette.render_template(
            "similar.html", {"params": params, "results": results, "error": None, "source": source}, request=request
        )
    )


async def row_page_vars(datasette, database: str, action_id: str) -> dict:
    """`similar_cases` (and the link to search for more) for an enforcement action's row page."""
    db = datasette.get_database(database)
    if not await db.table_exists("similar_actions"):
        return {"similar_cases": None}
    rows = await db.execute(
        """select s.rank, s.similar_id, s.score, s.shared_provisions, a.entity, a.announced, a.amount_usd
           from similar_actions s join enforcement_actions a on a.id = s.similar_id
           where s.action_id = ? order by s.rank""",
        [action_id],
    )
    cases = [
        {
            "id": r["similar_id"],
            "entity": r["entity"],
            "date": r["announced"],
            "amount": r["amount_usd"],
            "score": r["score"],
            "shared_provisions": json.loads(r["shared_provisions"] or "[]"),
            "url": datasette.urls.row(database, "enforcement_actions", tilde_encode(r["similar_id"])),
        }
        for r in rows.rows
    ]
    more = datasette.urls.path("/-/similar") + "?" + urlencode({"like": action_id})
    return {"similar_cases": cases, "similar_more_url": more}


async def search_database(datasette):
    """(name, database) of the knowledge base that similar-case search runs on (for kb_site.precedents)."""
    return await _database(datasette)


def shared_searcher(name: str, conn) -> Searcher:
    """The one Searcher of this server for database `name` (loaded on first use, under the lock)."""
    return _searcher(name, conn)
