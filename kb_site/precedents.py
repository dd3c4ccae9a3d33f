"""Precedent range on the site ("what did OCR do in cases like mine?"), over etl.precedents:

- `/-/precedents` (HTML): a form (the incident in words, optional facts), then the summary in words, the
  charts, the base rate, today's penalty tiers, the precedents with why each matched, and the caveats;
  printed, it is a memo (the print stylesheet leaves the form and the site's chrome out).
- `/-/precedents.json`: the JSON contract of etl.precedents.precedent_range, as `kb precedents --json`.
- `/-/precedents.md`: the memo in Markdown (etl.precedents_memo), every precedent cited with its source.

Parameters: `q` (the incident), or `like` (an enforcement action id), or `breach` (a breach report id);
optional facts `sector`, `entity_type`, `breach_type`, `location`, `individuals_affected`, `state`;
`agency` (`ocr`, `state_ag`, `ftc`, `doj`; repeated or comma-separated; none: every enforcer). Bad
input is HTTP 400 (JSON: `{"ok": false, "error": ...}`). The computation runs on Datasette's read
connection with the server's one Searcher (kb_site.similar), like similar-case search.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from datasette.utils import add_cors_headers
from datasette.utils.asgi import Response

from etl import precedents_memo
from etl.agencies import AGENCIES
from etl.precedents import (
    FACT_NAMES,
    LABELS,
    PrecedentError,
    Query,
    citation,
    fact_choices,
    parse_facts,
    precedent_range,
)
from etl.precedents_memo import plural
from etl.similar import SearchError, parse_agencies
from kb_site import similar
from kb_site.charts import amount_strip_chart, bar_chart, hbar_chart
from kb_site.formatting import action_path, breach_path

FORMATS = {"": "html", ".json": "json", ".md": "md"}
SUBJECTS = ("q", "like", "breach")
CHART_PROVISIONS = 10  # provisions drawn in the chart (the table lists them all)


async def precedents_view(datasette, request) -> Response:
    fmt = FORMATS[request.url_vars.get("format") or ""]
    args = {name: (request.args.get(name) or "").strip() for name in (*SUBJECTS, *FACT_NAMES)}
    try:
        args["agency"] = ",".join(parse_agencies(request.args.getlist("agency")))
        answer, choices = await _compute(datasette, args, needs_subject=fmt != "html")
    except (PrecedentError, SearchError) as e:
        return await _error(datasette, request, fmt, args, str(e))
    if fmt != "html":
        assert answer is not None  # _compute refuses a JSON or Markdown request that asks nothing
        body = Response.json(answer) if fmt == "json" else _markdown(datasette, request, answer)
        return _cors(datasette, body)
    return Response.html(
        await datasette.render_template(
            "precedents.html", page_context(datasette, answer, choices, args), request=request
        )
    )


async def _compute(datasette, args: dict[str, str], needs_subject: bool) -> tuple[dict | None, dict]:
    """(the answer or None when nothing was asked, the form's choices), computed in one database call."""
    if needs_subject and not any(args[s] for s in SUBJECTS):
        raise PrecedentError("give q (the incident in words), like (an action id) or breach (a breach report id)")
    name, db = await similar.search_database(datasette)

    def run(conn) -> tuple[dict | None, dict]:
        choices = fact_choices(conn)
        if not any(args[s] for s in SUBJECTS):
            return None, choices
        query = Query(
            text=args["q"] or None,
            like=args["like"] or None,
            breach=args["breach"] or None,
            facts=parse_facts(conn, args),
            agencies=tuple(a for a in args["agency"].split(",") if a),
        )
        return precedent_range(conn, similar.shared_searcher(name, conn), query), choices

    return await db.execute_fn(run)


def _cors(datasette, response: Response) -> Response:
    if datasette.cors:
        add_cors_headers(response.headers)
    return response


async def _error(datasette, request, fmt: str, args: dict[str, str], message: str) -> Response:
    if fmt == "json":
        return _cors(datasette, Response.json({"ok": False, "error": message, "status": 400}, status=400))
    if fmt == "md":
        return _cors(datasette, Response.text(f"Bad request: {message}\n", status=400))
    _, db = await similar.search_database(datasette)
    args = {**args, "agency": args.get("agency", "")}
    fields = form_fields(await db.execute_fn(fact_choices), args)
    context: dict[str, Any] = {
        "answer": None,
        "args": args,
        "error": message,
        "fields": fields,
        "agency_options": agency_options(args),
    }
    return Response.html(await datasette.render_template("precedents.html", context, request=request), status=400)


def _markdown(datasette, request, answer: dict) -> Response:
    base = f"{request.scheme}://{request.host}"
    body = precedents_memo.memo(
        answer, datetime.date.today().isoformat(), lambda action_id: base + action_path(datasette.urls, action_id)
    )
    return Response(body, content_type="text/markdown; charset=utf-8", headers={"X-Content-Type-Options": "nosniff"})


# ---- the page ---------------------------------------------------------------------------------------


def page_context(datasette, answer: dict | None, choices: dict, args: dict[str, str]) -> dict[str, Any]:
    """What precedents.html shows: the form's fields (filled in with the facts the answer used: given, from
    the action or report, or inferred from the words), and for an answer its charts, links and wording."""
    used = {k: str(v) for k, v in (answer["query"]["facts"] if answer else {}).items() if v is not None}
    fields = form_fields(choices, {**used, **{k: v for k, v in args.items() if v}})
    context: dict[str, Any] = {
        "answer": answer,
        "args": args,
        "error": None,
        "fields": fields,
        "agency_options": agency_options(args),
    }
    if answer is None:
        return context
    pairs = [(k, v) for k, v in args.items() if v and k != "agency"]
    query = urlencode(pairs + [("agency", a) for a in args.get("agency", "").split(",") if a])
    urls = datasette.urls
    context.update(
        {
            "charts": charts(answer),
            "links": {p["id"]: action_path(urls, p["id"]) for p in answer["precedents"]},
            "subject_url": _subject_url(urls, answer["query"]["subject"]),
            "json_url": urls.path("/-/precedents.json") + "?" + query,
            "md_url": urls.path("/-/precedents.md") + "?" + query,
            "described": precedents_memo.describe_query(answer["query"]),
            "facts": precedents_memo.facts_in_words(answer["query"]),
            "amount_sentence": precedents_memo.amount_sentence,
            "cap_sentence": precedents_memo.cap_sentence,
            "label": lambda name, value: LABELS.get(name, {}).get(value, value),
            "basis_words": precedents_memo.BASIS_WORDS,
            "who": precedents_memo.who_did(answer["query"]),
            "sentence_text": precedents_memo.sentence_text,
            "sentences_sentence": precedents_memo.sentences_sentence,
            "citation": citation,
        }
    )
    return context


def _subject_url(urls, subject: dict | None) -> str | None:
    if subject is None:
        return None
    return action_path(urls, subject["id"]) if subject["kind"] == "action" else breach_path(urls, subject["id"])


def agency_options(args: dict[str, str]) -> list[dict]:
    """The enforcers as checkboxes: none ticked means every enforcer."""
    chosen = {a for a in args.get("agency", "").split(",") if a}
    return [{"value": code, "label": words, "checked": code in chosen} for code, words in AGENCIES.items()]


FIELD_LABELS = {
    "sector": "Sector",
    "entity_type": "Entity type",
    "breach_type": "Type of breach",
    "location": "Location of the information",
    "state": "State",
}


def form_fields(choices: dict, args: dict[str, str]) -> list[dict]:
    """The optional facts as form fields: a select per coded fact (values in words), a number for size."""
    fields: list[dict[str, Any]] = []
    for name, label in FIELD_LABELS.items():
        options = [(v, LABELS.get(name, {}).get(v, v)) for v in choices.get(name, [])]
        fields.append({"name": name, "label": label, "options": options, "value": args.get(name, "")})
    fields.insert(4, {"name": "individuals_affected", "label": "Individuals affected", "options": None,
                      "value": args.get("individuals_affected", "")})  # fmt: skip
    return fields


def charts(answer: dict) -> dict[str, Any]:
    """The amounts on one axis (quartiles marked, today's annual cap for reference), the plan lengths and
    the provisions cited most, each None when there is nothing to draw."""
    s = answer["summary"]
    out: dict[str, Any] = {"amounts": None, "plans": None, "provisions": None}
    known = [p for p in answer["precedents"] if p["amount_usd"] is not None and p.get("agency") != "doj"]
    if known:
        pooled = s["amount"]["pooled"]
        groups: dict[str, list[tuple[str, float]]] = {}
        for p in known:
            group = (
                LABELS["action_types"].get(p["action_type"], p["action_type"]).capitalize()
                if pooled
                else LABELS["agency"].get(p.get("agency") or "ocr", p.get("agency"))
            )
            groups.setdefault(group, []).append((p["entity"], p["amount_usd"]))
        caps = [t["calendar_year_cap"] for t in answer["penalty_tiers"] if t["calendar_year_cap"]]
        out["amounts"] = amount_strip_chart(
            groups,
            {k: s["amount"][k] for k in ("min", "p25", "median", "p75", "max")} if pooled else {},
            title=f"Amounts of the {plural(len(known), 'precedent')} with a known amount (logarithmic scale)",
            reference=(f"today's annual cap (${max(caps):,.0f})", max(caps)) if caps else None,
        )
    cap = s["cap"]
    if cap["with_plan"]:
        lengths = [(f"{y} year{'s' if y != '1' else ''}", n) for y, n in cap["years"].items()]
        out["plans"] = bar_chart(
            lengths + ([("length unknown", cap["years_unknown"])] if cap["years_unknown"] else []),
            title=f"Length of the {plural(cap['with_plan'], 'corrective action plan')}",
            width=420,
            height=180,
        )
    if s["provisions"]:
        rows = [(citation(r["provision"]), r["count"], r["heading"] or "") for r in s["provisions"][:CHART_PROVISIONS]]
        out["provisions"] = hbar_chart(rows, title="Provisions cited most often", total=s["n"])
    return out
