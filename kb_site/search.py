"""Full-text search pages for people: `/-/search?q=...&kind=actions|breaches`.

- `/-/search` (HTML): result cards (title, date, amount or individuals affected, type, state, sector, a
  snippet with the matched words marked, provisions as chips), ranked by relevance (bm25) or by date
  (`sort=date`), narrowed by filters that are query-string parameters (`agency` — the enforcer: `ocr`,
  `state_ag`, `ftc`, `doj`, several chosen meaning any of them —, `year`, `type`, `provision`, `topic`,
  `sector`, `state` for actions; `year`, `type`, `location`, `sector`, `state` for breach reports; repeat
  one for several values), 20 a page (`page`, `per_page` up to 100). No words and no filter: a page of
  examples. A query never fails on FTS syntax (kb_site.search_queries.match_expression).
- `/-/search.json`: the same page of results, with the filters, the counts per filter value and the links
  to the next and previous pages. `/-/search.csv`: every result, in the same order, one row each.

Bad parameters (an unknown kind or sort, a year that is not a year, a filter of the other kind, a page
that is not a number) are HTTP 400 (JSON: `{"ok": false, "error": ...}`). The SQL is kb_site.search_queries.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from etl.precedents import label_of
from kb_site import search_queries as sq
from kb_site.formatting import (
    ACTION_TYPE_LABELS,
    AGENCY_LABELS,
    DATABASE,
    ENTITY_TYPE_LABELS,
    action_path,
    breach_path,
    cfr_citation,
    long_date,
    provision_path,
)

PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
MAX_QUERY_CHARS = 500
FORMATS = {"": "html", ".json": "json", ".csv": "csv"}
KIND_LABELS = {"actions": "enforcement actions", "breaches": "breach reports"}
EXAMPLES = {
    "actions": ["ransomware", "risk analysis", '"right of access"', "laptop OR tablet", "business associate"],
    "breaches": ["phishing", '"stolen laptop"', "ransomware", "misdirected OR mailing", "paper records"],
}


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class Params:
    q: str = ""
    kind: str = "actions"
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE
    filters: dict[str, list[str]] = field(default_factory=dict)

    def pairs(self) -> list[tuple[str, str]]:
        """The query string, in a fixed order, leaving defaults out."""
        out = [("q", self.q)] if self.q else []
        out.append(("kind", self.kind))
        if self.sort != "relevance":
            out.append(("sort", self.sort))
        out += [(name, v) for name, values in self.filters.items() for v in values]
        if self.page != 1:
            out.append(("page", str(self.page)))
        if self.per_page != PER_PAGE:
            out.append(("per_page", str(self.per_page)))
        return out


def _integer(args, name: str, default: int, top: int) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"\d{1,6}", raw) or not 1 <= int(raw) <= top:
        raise BadRequest(f"{name} must be a whole number from 1 to {top:,}")
    return int(raw)


def parse_params(args) -> Params:
    """The search a query string asks for (`args`: Datasette's MultiParams); BadRequest when it makes no sense."""
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"q is longer than {MAX_QUERY_CHARS} characters")
    kind = args.get("kind") or "actions"
    if kind not in sq.KINDS:
        raise BadRequest(f"kind must be one of {', '.join(sq.KINDS)}")
    sort = args.get("sort") or "relevance"
    if sort not in sq.SORTS:
        raise BadRequest(f"sort must be one of {', '.join(sq.SORTS)}")
    return Params(
        q=q,
        kind=kind,
        sort=sort,
        page=_integer(args, "page", 1, MAX_PAGE),
        per_page=_integer(args, "per_page", PER_PAGE, MAX_PER_PAGE),
        filters=_filters(args, sq.KINDS[kind]),
    )


def _filters(args, kind: sq.Kind) -> dict[str, list[str]]:
    others = {f.name for k in sq.KINDS.values() for f in k.facets} - {f.name for f in kind.facets}
    for name in sorted(others):
        if any(v.strip() for v in args.getlist(name)):
            names = ", ".join(f.name for f in kind.facets)
            raise BadRequest(f"{name} is not a filter of {KIND_LABELS[kind.name]} (their filters: {names})")
    filters: dict[str, list[str]] = {}
    for facet in kind.facets:
        values = list(dict.fromkeys(v.strip() for v in args.getlist(facet.name) if v.strip()))
        if facet.name == "year" and any(not re.fullmatch(r"\d{4}", v) for v in values):
            raise BadRequest("year must be a year, like 2018")
        if facet.name == "agency":
            values = list(dict.fromkeys(a.strip() for v in values for a in v.split(",") if a.strip()))
            if unknown := [v for v in values if v not in AGENCY_LABELS]:
                raise BadRequest(f"agency must be one of {', '.join(AGENCY_LABELS)} (not {', '.join(unknown)})")
        if values:
            filters[facet.name] = values
    return filters


# ---- the view -------------------------------------------------------------------------------------------


async def search_view(datasette, request) -> Response:
    fmt = FORMATS[request.url_vars.get("format") or ""]
    try:
        params = parse_params(request.args)
    except BadRequest as e:
        return await _error(datasette, request, fmt, str(e))
    match = sq.match_expression(params.q)
    if fmt == "html" and match is None and not params.filters:
        kinds = _kinds(datasette.urls, params, None)
        context = {"params": params, "examples": _examples(datasette.urls), "kinds": kinds, "answer": None}
        return Response.html(await datasette.render_template("search.html", context, request=request))
    if fmt == "csv":
        return await _csv(datasette, request, params, match)
    answer = await compute(datasette, params, match)
    if fmt == "json":
        return Response.json(answer)
    shown = answer | {"results": [r | {"snippet_html": Markup(r["snippet_html"])} for r in answer["results"]]}
    context = {"params": params, "answer": shown, "kinds": _kinds(datasette.urls, params, answer), "examples": None}
    return Response.html(await datasette.render_template("search.html", context, request=request))


async def _error(datasette, request, fmt: str, message: str) -> Response:
    if fmt == "json":
        return Response.json({"ok": False, "error": message, "status": 400}, status=400)
    if fmt == "csv":
        return Response.text(f"Bad request: {message}\n", status=400)
    context = {
        "params": Params(q=(request.args.get("q") or "")[:MAX_QUERY_CHARS]),
        "error": message,
        "examples": _examples(datasette.urls),
        "kinds": None,
        "answer": None,
    }
    return Response.html(await datasette.render_template("search.html", context, request=request), status=400)


async def compute(datasette, params: Params, match: str | None) -> dict[str, Any]:
    """The answer of /-/search.json, which the page shows: the results of one page as cards, the total,
    the filters chosen (each with the link that removes it), the counts per filter value, the links."""
    kind = sq.KINDS[params.kind]
    search = sq.Search(kind, match, params.filters, params.sort, params.per_page, (params.page - 1) * params.per_page)
    other = sq.Search(sq.BREACHES if kind is sq.ACTIONS else sq.ACTIONS, match, {})

    def run(conn) -> dict[str, Any]:
        rows = sq.page(conn, search)
        facets = {f.name: sq.facet_counts(conn, search, f) for f in kind.facets}
        cited = {v for v, _ in facets.get("provision", [])} | set(params.filters.get("provision", []))
        return {
            "total": sq.count(conn, search),
            "other_total": sq.count(conn, other) if match is not None else None,
            "rows": rows,
            "facets": facets,
            "provisions": sq.provisions_of(conn, [r["id"] for r in rows]) if kind is sq.ACTIONS else {},
            "topics": sq.topic_names(conn) if kind is sq.ACTIONS else {},
            "headings": sq.provision_headings(conn, sorted(cited)),
        }

    found = await datasette.get_database(DATABASE).execute_fn(run)
    labels = _Labels(found["topics"], found["headings"])
    return _answer(datasette.urls, params, match, found, labels)


@dataclass(frozen=True)
class _Labels:
    topics: dict[str, str]
    headings: dict[str, str | None]

    def value(self, facet: str, value: str) -> str:
        """A filter value in words."""
        if facet == "type":
            return ACTION_TYPE_LABELS.get(value, value)
        if facet == "agency":
            return AGENCY_LABELS.get(value, value)
        if facet == "sector":
            return sentence(label_of("sector", value))
        if facet == "topic":
            return self.topics.get(value, value)
        if facet == "provision":
            return cfr_citation(value)
        return value


def _answer(urls, params: Params, match: str | None, found: dict, labels: _Labels) -> dict[str, Any]:
    kind = sq.KINDS[params.kind]
    total = found["total"]
    pages = max(1, -(-total // params.per_page))
    first = (params.page - 1) * params.per_page + 1
    results = [card(urls, kind, row, found["provisions"].get(row["id"], [])) for row in found["rows"]]
    return {
        "ok": True,
        "q": params.q,
        "kind": params.kind,
        "match": match,
        "sort": params.sort if match is not None else "date",
        "total": total,
        "page": params.page,
        "pages": pages,
        "per_page": params.per_page,
        "first": first if results else None,
        "last": first + len(results) - 1 if results else None,
        "filters": [
            {
                "name": name,
                "label": _facet_label(kind, name),
                "value": v,
                "value_label": labels.value(name, v),
                "remove_url": _url(urls, replace(params, filters=_without(params.filters, name, v), page=1)),
            }
            for name, values in params.filters.items()
            for v in values
        ],
        "facets": _facets(urls, params, kind, found["facets"], labels),
        "results": results,
        "other_kind": {
            "kind": _other(params.kind),
            "total": found["other_total"],
            "url": _url(urls, Params(q=params.q, kind=_other(params.kind))),
        },
        "links": _links(urls, params, pages),
    }


def _facet_label(kind: sq.Kind, name: str) -> str:
    facet = kind.facet(name)
    return facet.label if facet else name


def _other(kind: str) -> str:
    return "breaches" if kind == "actions" else "actions"


def _without(filters: dict[str, list[str]], name: str, value: str) -> dict[str, list[str]]:
    out = {n: [v for v in values if (n, v) != (name, value)] for n, values in filters.items()}
    return {n: values for n, values in out.items() if values}


def _with(filters: dict[str, list[str]], name: str, value: str) -> dict[str, list[str]]:
    return {**filters, name: [*filters.get(name, []), value]}


def _facets(urls, params: Params, kind: sq.Kind, counts: dict, labels: _Labels) -> list[dict]:
    """Each filter with the values it can add: a single-valued filter already chosen offers none (its chips
    are shown instead); a chosen value is not offered again."""
    out = []
    for facet in kind.facets:
        chosen = params.filters.get(facet.name, [])
        offered = [] if chosen and not facet.multi else [(v, n) for v, n in counts[facet.name] if v not in chosen]
        values = [
            {
                "value": v,
                "label": labels.value(facet.name, v),
                "count": n,
                "title": labels.headings.get(v) if facet.name == "provision" else None,
                "add_url": _url(urls, replace(params, filters=_with(params.filters, facet.name, v), page=1)),
            }
            for v, n in offered
        ]
        out.append({"name": facet.name, "label": facet.label, "values": values})
    return out


def _url(urls, params: Params, fmt: str = "") -> str:
    return urls.path(f"/-/search{fmt}") + "?" + urlencode(params.pairs(), safe="()")


def _links(urls, params: Params, pages: int) -> dict[str, Any]:
    first_page = replace(params, page=1)
    return {
        "json": _url(urls, params, ".json"),
        "csv": _url(urls, first_page, ".csv"),
        "next": _url(urls, replace(params, page=params.page + 1)) if params.page < pages else None,
        "previous": _url(urls, replace(params, page=min(params.page - 1, pages))) if params.page > 1 else None,
        "next_json": _url(urls, replace(params, page=params.page + 1), ".json") if params.page < pages else None,
        "previous_json": _url(urls, replace(params, page=min(params.page - 1, pages)), ".json")
        if params.page > 1
        else None,
        "by_relevance": _url(urls, replace(first_page, sort="relevance")),
        "by_date": _url(urls, replace(first_page, sort="date")),
        "clear_filters": _url(urls, replace(first_page, filters={})),
    }


def _kinds(urls, params: Params, answer: dict | None) -> list[dict]:
    """The two kinds as tabs, each with its count for these words (the other kind without filters) when
    there is an answer."""
    tabs = []
    for name in sq.KINDS:
        current = name == params.kind
        if answer is None:
            total, url = None, _url(urls, Params(q=params.q, kind=name))
        else:
            total = answer["total"] if current else answer["other_kind"]["total"]
            url = answer["other_kind"]["url"]
        tabs.append(
            {"kind": name, "label": sentence(KIND_LABELS[name]), "total": total, "url": None if current else url}
        )
    return tabs


def _examples(urls) -> dict[str, list[dict]]:
    return {
        kind: [{"q": q, "url": _url(urls, Params(q=q, kind=kind))} for q in examples]
        for kind, examples in EXAMPLES.items()
    }


# ---- a result -----------------------------------------------------------------------------------------


def sentence(text: str) -> str:
    """First letter in capitals, the rest as it is ('business associate (IT)' -> 'Business associate (IT)')."""
    return text[:1].upper() + text[1:]


def highlight(snippet: str) -> Markup:
    """A snippet as HTML: its text escaped, the matched words (between OPEN and CLOSE) in <mark>. Always
    well-formed, whatever control characters the text itself holds."""
    html, open_ = [], False
    for part in re.split(f"([{sq.OPEN}{sq.CLOSE}])", snippet):
        if part == sq.OPEN and not open_:
            html.append("<mark>")
            open_ = True
        elif part == sq.CLOSE and open_:
            html.append("</mark>")
            open_ = False
        elif part not in (sq.OPEN, sq.CLOSE):
            html.append(str(escape(part)))
    return Markup("".join(html) + ("</mark>" if open_ else ""))


def plain(snippet: str) -> str:
    return snippet.replace(sq.OPEN, "").replace(sq.CLOSE, "")


def opening(text: str | None, chars: int = 220) -> str:
    """The first words of a text, cut at a word, with '…' when cut."""
    text = " ".join((text or "").split())
    if len(text) <= chars:
        return text
    return text[:chars].rsplit(" ", 1)[0] + "…"


def _json_list(value: str | None) -> list[str]:
    parsed = json.loads(value) if value else []
    return [str(v) for v in parsed] if isinstance(parsed, list) else [str(parsed)]


def _snippet(kind: sq.Kind, row: dict) -> str:
    """The first snippet with a matched word in it, else the opening of the kind's text."""
    marked = [s for s in row.get("snippets", []) if s and sq.OPEN in s]
    return marked[0] if marked else opening(row.get(kind.text))


def card(urls, kind: sq.Kind, row: dict, provisions: list[dict]) -> dict[str, Any]:
    """One result as the page and the JSON show it."""
    snippet = _snippet(kind, row)
    common = {
        "id": row["id"],
        "title": row[kind.title],
        "date": row[kind.date],
        "date_text": long_date(row[kind.date]) if row[kind.date] else None,
        "state": row["state"],
        "sector": row["sector"],
        "sector_label": sentence(label_of("sector", row["sector"])) if row["sector"] else None,
        "snippet": plain(snippet),
        "snippet_html": str(highlight(snippet)),
        "score": row["score"],
    }
    if kind is sq.ACTIONS:
        return common | {
            "kind": "action",
            "url": action_path(urls, row["id"]),
            "agency": row["agency"],
            "agency_label": AGENCY_LABELS.get(row["agency"], row["agency"]),
            "states": _json_list(row["states"]),
            "multistate": bool(row["multistate"]),
            "sentence": row["sentence"],
            "amount_usd": row["amount_usd"],
            "type": row["action_type"],
            "type_label": ACTION_TYPE_LABELS.get(row["action_type"], row["action_type"]),
            "provisions": [
                {
                    "id": p["id"],
                    "citation": cfr_citation(p["id"]),
                    "heading": p["heading"],
                    "url": provision_path(urls, p["id"]),
                }
                for p in provisions
            ],
        }
    types, locations = _json_list(row["breach_types"]), _json_list(row["locations"])
    return common | {
        "kind": "breach",
        "url": breach_path(urls, row["id"]),
        "individuals_affected": row["individuals_affected"],
        "individuals_placeholder": bool(row["individuals_placeholder"]),
        "type": types,
        "type_label": ", ".join(types) or None,
        "locations": locations,
        "entity_type": row["covered_entity_type"],
        "entity_type_label": ENTITY_TYPE_LABELS.get(row["covered_entity_type"] or "", row["covered_entity_type"]),
        "status": row["status"],
    }


# ---- CSV ------------------------------------------------------------------------------------------------

CSV_COLUMNS = {
    "actions": [
        "id",
        "url",
        "title",
        "date",
        "agency",
        "agency_label",
        "type_label",
        "amount_usd",
        "sentence",
        "state",
        "states",
        "sector_label",
        "provisions",
        "snippet",
    ],
    "breaches": [
        "id",
        "url",
        "title",
        "date",
        "type_label",
        "individuals_affected",
        "state",
        "sector_label",
        "entity_type_label",
        "snippet",
    ],
}


async def _csv(datasette, request, params: Params, match: str | None) -> Response:
    """Every result (all pages), in the page's order, as CSV."""
    kind = sq.KINDS[params.kind]

    def run(conn) -> tuple[list[dict], dict[str, list[dict]]]:
        rows = sq.page(conn, sq.Search(kind, match, params.filters, params.sort, limit=-1))
        ids = [r["id"] for r in rows]
        return rows, sq.provisions_of(conn, ids) if kind is sq.ACTIONS else {}

    rows, provisions = await datasette.get_database(DATABASE).execute_fn(run)
    base = f"{request.scheme}://{request.host}"
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS[params.kind], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        c = card(datasette.urls, kind, row, provisions.get(row["id"], []))
        c["url"] = base + c["url"]
        c["provisions"] = "; ".join(p["id"] for p in c.get("provisions", []))
        c["states"] = "; ".join(c.get("states") or [])
        writer.writerow(c)
    return Response(out.getvalue(), content_type="text/csv; charset=utf-8")
