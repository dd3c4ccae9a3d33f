"""Similar-case search on the site.

- `/-/similar` (HTML) and `/-/similar.json`: `?q=<free text>` or `?like=<action id>`, with `k` (results a
  page, 1..100, default 10), `page` (page × k at most 100), `kind` (actions|breaches|all) and `ranker`
  (hybrid|vector|bm25, for q) and `agency` (`ocr`, `state_ag`, `ftc`, `doj`, repeated or comma-separated;
  none: every enforcer; breach reports are never filtered). Each result says in words why it matched
  (`why`) and names its enforcer (`agency_label`). The page shows enforcement
  actions first and breach reports in their own section; an empty box shows examples. Bad input is HTTP 400
  with a JSON error `{"ok": false, "error": ...}` (HTML: the error in the page).
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

from etl.agencies import AGENCIES
from etl.precedents import why
from etl.similar import KINDS, MAX_QUERY_CHARS, RANKERS, Searcher, SearchError, open_searcher, parse_agencies
from kb_site.formatting import ACTION_TYPE_LABELS, cfr_citation

PER_PAGE = 10
MAX_RESULTS = 100  # the ranking's own limit (etl.similar: k at most 100)
SHORT_LIST = 5  # breach reports shown under the enforcement actions, with a link to all of them
SECTION_TITLES = {"actions": "Enforcement actions", "breaches": "Breach Portal reports"}
# What the page offers when the box is empty: the kinds of question people bring.
EXAMPLES = (
    "laptop stolen from an employee's car, not encrypted",
    "ransomware encrypted our servers and we had no current risk analysis",
    "a patient asked for her records and waited months",
    "a former employee kept using her login to look up patients",
    "patient information posted in a reply to an online review",
)

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


def _params(request, as_json: bool) -> dict:
    args = request.args
    q, like = args.get("q"), args.get("like")
    if not as_json and q is not None and not q.strip():
        q = None  # the page shows its examples for an empty box, not an error
    if q is not None and like is not None:
        raise BadRequest("give either q or like, not both")
    if q is not None:
        if not q.strip():
            raise BadRequest("q is empty")
        if len(q) > MAX_QUERY_CHARS:
            raise BadRequest(f"q is longer than {MAX_QUERY_CHARS} characters")
    if like is not None and not like.strip():
        raise BadRequest("like is empty")
    k_raw = args.get("k", str(PER_PAGE))
    if not re.fullmatch(r"\d{1,3}", k_raw.strip()) or not 1 <= int(k_raw) <= MAX_RESULTS:
        raise BadRequest(f"k must be an integer from 1 to {MAX_RESULTS}")
    page_raw = args.get("page", "1")
    if not re.fullmatch(r"\d{1,3}", page_raw.strip()) or not 1 <= int(page_raw) * int(k_raw) <= MAX_RESULTS:
        raise BadRequest(f"page must be a whole number from 1, and page × k at most {MAX_RESULTS}")
    kind = args.get("kind") or ("actions" if like is not None else "all")
    if kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}")
    ranker = args.get("ranker") or "hybrid"
    if ranker not in RANKERS:
        raise BadRequest(f"ranker must be one of {', '.join(RANKERS)}")
    try:
        agencies = parse_agencies(args.getlist("agency"))
    except SearchError as e:
        raise BadRequest(str(e)) from e
    return {
        "q": q,
        "like": like,
        "k": int(k_raw),
        "page": int(page_raw),
        "kind": kind,
        "ranker": ranker,
        "agency": agencies,
    }


def _link(datasette, db_name: str, item: dict) -> str:
    table = "enforcement_actions" if item["kind"] == "action" else "breaches"
    return datasette.urls.row(db_name, table, tilde_encode(item["id"]))


async def _search(datasette, params: dict) -> tuple[str, list[dict], bool, dict | None]:
    """One page of results (page `page` of `k`), whether another page follows, and the `like` source."""
    name, db = await _database(datasette)
    wanted = min(params["k"] * params["page"] + 1, MAX_RESULTS)  # one more: is there a next page?

    def run(conn):
        searcher = _searcher(name, conn)
        agencies = params.get("agency") or ()
        if params["like"] is not None:
            return searcher.like(conn, params["like"], k=wanted, kind=params["kind"], agencies=agencies)
        return searcher.search(
            conn, params["q"], k=wanted, kind=params["kind"], ranker=params["ranker"], agencies=agencies
        )

    try:
        found = await db.execute_fn(run)
    except SearchError as e:
        raise BadRequest(str(e)) from e
    start = params["k"] * (params["page"] - 1)
    results = found[start : start + params["k"]]
    for item in results:
        item["url"] = _link(datasette, name, item)
        item["why"] = why_matched(item)
        item["agency_label"] = AGENCIES.get(item["agency"] or "") if item.get("agency") else None
        item["action_label"] = ACTION_TYPE_LABELS.get(item["action_type"] or "") if item.get("action_type") else None
    has_more = len(found) > start + params["k"]
    source = await _like_source(datasette, name, db, params["like"]) if params["like"] is not None else None
    return name, results, has_more, source


async def _like_source(datasette, name: str, db, action_id: str) -> dict:
    row = (
        await db.execute("select id, entity, announced, amount_usd from enforcement_actions where id = ?", [action_id])
    ).first()
    return {
        "id": row["id"],
        "entity": row["entity"],
        "date": row["announced"],
        "amount": row["amount_usd"],
        "url": datasette.urls.row(name, "enforcement_actions", tilde_encode(row["id"])),
    }


def why_matched(item: dict) -> list[str]:
    """Why a result matched, in words (no fused score: it means nothing to a reader)."""
    provisions = [cfr_citation(p["id"]) for p in item.get("shared_provisions") or [] if p.get("id")]
    return why(item.get("matched_terms") or [], item.get("ranks") or {}, [], provisions, [])


def _page_url(datasette, params: dict, **changes) -> str:
    keys = ("q", "like", "kind", "ranker", "k", "page")
    query = {k: v for k, v in {**{k: params[k] for k in keys}, **changes}.items() if v is not None}
    query = {k: v for k, v in query.items() if (k, v) not in (("k", PER_PAGE), ("page", 1), ("ranker", "hybrid"))}
    pairs = [*query.items(), *(("agency", a) for a in params.get("agency") or ())]
    return datasette.urls.path("/-/similar") + "?" + urlencode(pairs)


async def _sections(datasette, params: dict) -> tuple[list[dict], dict | None]:
    """The page's result sections: enforcement actions first, then breach reports in their own section (a
    short list linking to all of them), or the one kind asked for; each with its paging links."""
    kinds = ["actions", "breaches"] if params["kind"] == "all" else [params["kind"]]
    sections, source = [], None
    for kind in kinds:
        short = len(kinds) > 1 and kind == "breaches"
        asked = {**params, "kind": kind, **({"k": SHORT_LIST, "page": 1} if short else {})}
        _, results, has_more, source = await _search(datasette, asked)
        sections.append(
            {
                "kind": kind,
                "title": SECTION_TITLES[kind],
                "results": results,
                "first": asked["k"] * (asked["page"] - 1) + 1,
                "more": _page_url(datasette, params, kind=kind, page=1) if short and has_more else None,
                "next": _page_url(datasette, asked, page=asked["page"] + 1) if has_more and not short else None,
                "previous": _page_url(datasette, asked, page=asked["page"] - 1) if asked["page"] > 1 else None,
            }
        )
    return sections, source


async def similar_view(datasette, request):
    as_json = bool(request.url_vars.get("format"))
    try:
        params = _params(request, as_json)
        if params["q"] is None and params["like"] is None:
            if as_json:
                raise BadRequest("give q (free text) or like (an enforcement action id)")
            return await _page(datasette, request, params)
        if as_json:
            _, results, has_more, source = await _search(datasette, params)
            return Response.json(_json_answer(params, results, has_more, source))
        sections, source = await _sections(datasette, params)
    except BadRequest as e:
        if as_json:
            return Response.json({"ok": False, "error": str(e), "status": 400}, status=400)
        fallback = {"q": request.args.get("q"), "like": request.args.get("like"), "k": PER_PAGE, "page": 1}
        fallback |= {"kind": "all", "ranker": "hybrid", "agency": ()}
        return await _page(datasette, request, fallback, error=str(e), status=400)
    return await _page(datasette, request, params, sections=sections, source=source)


def _json_answer(params: dict, results: list[dict], has_more: bool, source: dict | None) -> dict:
    return {
        "ok": True,
        "q": params["q"],
        "like": params["like"],
        "k": params["k"],
        "page": params["page"],
        "has_more": has_more,
        "kind": params["kind"],
        "ranker": None if params["like"] else params["ranker"],
        "agency": list(params.get("agency") or ()),
        "source": source,
        "results": results,
    }


async def _page(datasette, request, params: dict, sections=None, source=None, error=None, status: int = 200):
    context = {
        "params": params,
        "sections": sections,
        "error": error,
        "source": source,
        "examples": EXAMPLES,
        "agencies": [
            {"value": code, "label": words, "checked": code in (params.get("agency") or ())}
            for code, words in AGENCIES.items()
        ],
    }
    return Response.html(await datasette.render_template("similar.html", context, request=request), status=status)


async def row_page_vars(datasette, database: str, action_id: str) -> dict:
    """`similar_cases` (and the link to search for more) for an enforcement action's row page."""
    db = datasette.get_database(database)
    if not await db.table_exists("similar_actions"):
        return {"similar_cases": None}
    rows = await db.execute(
        """select s.rank, s.similar_id, s.score, s.shared_provisions, a.entity, a.announced, a.amount_usd, a.agency
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
            "agency": r["agency"],
            "agency_label": AGENCIES.get(r["agency"] or ""),
            "score": r["score"],
            "shared_provisions": json.loads(r["shared_provisions"] or "[]"),
            "url": datasette.urls.row(database, "enforcement_actions", tilde_encode(r["similar_id"])),
        }
        for r in rows.rows
    ]
    more = datasette.urls.path("/-/similar") + "?" + urlencode({"like": action_id})
    return {"similar_cases": cases, "similar_more_url": more}


async def breach_page_vars(datasette, breach_id: str) -> dict:
    """`similar_reports` for a breach report's page: the reports whose descriptions read most alike (None
    when the report has no description, so no vector to compare)."""
    name, db = await _database(datasette)

    def run(conn):
        return _searcher(name, conn).like_breach(conn, breach_id, k=SHORT_LIST)

    try:
        reports = await db.execute_fn(run)
    except SearchError:
        return {"similar_reports": None}
    for item in reports:
        item["url"] = _link(datasette, name, item)
    return {"similar_reports": reports}


async def search_database(datasette):
    """(name, database) of the knowledge base that similar-case search runs on (for kb_site.precedents)."""
    return await _database(datasette)


def shared_searcher(name: str, conn) -> Searcher:
    """The one Searcher of this server for database `name` (loaded on first use, under the lock)."""
    return _searcher(name, conn)
