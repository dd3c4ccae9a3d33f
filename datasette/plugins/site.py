"""The site's own pages on top of Datasette: home page figures, the case brief of an enforcement action,
provision pages, trainers' case cards, the API page, dollar formatting and server-rendered SVG charts.

Everything read from the sources is data: it reaches HTML only through Jinja autoescaping or
`markupsafe.escape`, and only http(s) addresses ever become links.
"""
from __future__ import annotations

import json
import math
import re
import statistics
import weakref
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import datasette_atom
from datasette import hookimpl
from datasette.utils import urlsafe_components
from datasette.utils.asgi import NotFound, Response
from feedgen.feed import FeedGenerator
from lxml import etree
from markupsafe import Markup, escape

DATABASE = "kb"
PLUGIN = "kb-site"
ECFR_SECTION = "https://www.ecfr.gov/current/title-45/section-{section}"
ACTION_TYPE_LABELS = {"resolution_agreement": "Resolution agreement", "civil_money_penalty": "Civil money penalty",
                      "other": "Other action"}
ENTITY_TYPE_LABELS = {"healthcare_provider": "Health care provider", "health_plan": "Health plan",
                      "business_associate": "Business associate", "clearinghouse": "Health care clearinghouse"}


# ------------------------------------------------------------------ formatting

def usd(value: Any) -> str:
    """'$1,250,000', or '' for no amount."""
    if value is None or value == "":
        return ""
    return f"${float(value):,.0f}"


def number(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def safe_url(url: Any) -> str | None:
    """The address if it is an http(s) URL, else None: a source's `javascript:` link never becomes a link."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.netloc and not re.search(r"\s", url):
        return url
    return None


def ecfr_url(provision_id: str) -> str:
    """eCFR address of a 45 CFR provision, with the paragraph anchor eCFR uses (#p-164.308(a)(1))."""
    section = provision_id.split("(", 1)[0]
    url = ECFR_SECTION.format(section=quote(section))
    return url + (f"#p-{quote(provision_id, safe='.()')}" if "(" in provision_id else "")


def provision_path(provision_id: str) -> str:
    return "/-/provision/" + quote(provision_id, safe=".()")


def entity_path(entity_id: str) -> str:
    return f"/{DATABASE}/entities/" + quote(entity_id, safe="")


def action_path(action_id: str) -> str:
    return f"/{DATABASE}/enforcement_actions/" + quote(action_id, safe="")


def year_of(date: str | None) -> str | None:
    return date[:4] if date and re.match(r"\d{4}", date) else None


# ------------------------------------------------------------------ SVG charts (server-rendered, no JS)

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#7a7a7a", "#30343f"]


def _short(value: float) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"


def _nice_ceiling(value: float) -> float:
    """The smallest 4 x (1, 2, 2.5 or 5 x 10^k) >= value, so the four grid steps are round numbers."""
    if value <= 0:
        return 4
    step = value / 4
    magnitude = 10 ** math.floor(math.log10(step))
    nice = next(m for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step)
    return 4 * nice * magnitude


def bar_chart(points: list[tuple[str, float]], *, title: str, unit: str = "", href: str | None = None,
              width: int = 640, height: int = 220, incomplete: frozenset[str] = frozenset()) -> Markup:
    """A bar per (label, value). `href` (with {label}) makes each bar a link."""
    return stacked_bar_chart([label for label, _ in points], {"": {label: v for label, v in points}},
                             title=title, unit=unit, href=href, width=width, height=height, incomplete=incomplete)


INCOMPLETE_NOTE = "* incomplete year: faded bars undercount (see coverage below)"


def stacked_bar_chart(categories: list[str], series: dict[str, dict[str, float]], *, title: str,
                      unit: str = "", href: str | None = None, width: int = 640, height: int = 220,
                      incomplete: frozenset[str] = frozenset()) -> Markup:
    """Stacked bars: one bar per category, one coloured segment per series; a legend when >1 series.
    Categories in `incomplete` are drawn faded, their label starred, with a note under the chart."""
    left, right, top, bottom = 56, 8, 24, 36
    legend = [name for name in series if name]
    legend_h = 18 * ((len(legend) + 2) // 3) if legend else 0
    marked = [c for c in categories if c in incomplete]
    note_h = 16 if marked else 0
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = {c: sum(s.get(c, 0) or 0 for s in series.values()) for c in categories}
    peak = _nice_ceiling(max(totals.values(), default=0))
    step = plot_w / max(len(categories), 1)
    bar_w = max(step * 0.8, 1)
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height + legend_h + note_h}" '
           f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
           f'<title>{escape(title)}</title>',
           f'<text class="chart-title" x="{left}" y="14">{escape(title)}</text>']
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{escape(unit + _short(value))}</text>')
    label_every = max(1, round(len(categories) / 12))
    for i, category in enumerate(categories):
        x = left + i * step + (step - bar_w) / 2
        y_base = top + plot_h
        if href:
            out.append(f'<a href="{escape(href.format(label=quote(str(category))))}">')
        for j, (name, values) in enumerate(series.items()):
            value = values.get(category, 0) or 0
            if value <= 0:
                continue
            h = plot_h * value / peak
            y_base -= h
            tip = f"{category}{' ' + name if name else ''}: {unit}{value:,.0f}"
            faded = ' fill-opacity="0.4" class="incomplete"' if category in incomplete else ""
            if faded:
                tip += " (incomplete year)"
            out.append(f'<rect x="{x:.1f}" y="{y_base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                       f'fill="{PALETTE[j % len(PALETTE)]}"{faded}><title>{escape(tip)}</title></rect>')
        if href:
            out.append("</a>")
        if i % label_every == 0 or category in incomplete:
            star = "*" if category in incomplete else ""
            out.append(f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" '
                       f'text-anchor="middle">{escape(category)}{star}</text>')
    for j, name in enumerate(legend):
        lx, ly = left + (j % 3) * (plot_w / 3), height + 4 + 18 * (j // 3)
        out.append(f'<rect x="{lx:.1f}" y="{ly:.1f}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
                   f'<text class="legend" x="{lx + 14:.1f}" y="{ly + 9:.1f}">{escape(name)}</text>')
    if marked:
        out.append(f'<text class="legend chart-note" x="{left}" y="{height + legend_h + 10}">'
                   f'{escape(INCOMPLETE_NOTE)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


# ------------------------------------------------------------------ queries

async def _rows(datasette, sql: str, params: Iterable | dict = ()) -> list[dict]:
    result = await datasette.get_database(DATABASE).execute(sql, params)
    return [dict(r) for r in result.rows]


async def _one(datasette, sql: str, params: Iterable | dict = ()) -> dict | None:
    rows = await _rows(datasette, sql, params)
    return rows[0] if rows else None


def _years(rows: list[dict], key: str = "year") -> list[str]:
    """Every year from the first to the last, so gaps show as empty bars."""
    years = sorted(int(r[key]) for r in rows if r[key] is not None)
    return [str(y) for y in range(years[0], years[-1] + 1)] if years else []


# `kb serve` serves the database immutable, so what is derived from the whole file is the same for every
# request: compute it once per server instead of re-running a dozen queries on each page view.
_derived: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _once(datasette, name: str, compute):
    per_server = _derived.setdefault(datasette, {})
    if name not in per_server:
        per_server[name] = await compute(datasette)
    return per_server[name]


async def home_figures(datasette) -> dict:
    return await _once(datasette, "home_figures", _home_figures)


async def _home_figures(datasette) -> dict:
    actions = await _one(datasette, """
        select count(*) as n, sum(amount_usd) as dollars, count(amount_usd) as with_amount,
               min(announced) as first, max(announced) as last,
               sum(action_type = 'resolution_agreement') as agreements,
               sum(action_type = 'civil_money_penalty') as penalties
        from enforcement_actions""")
    breaches = await _one(datasette, """
        select count(*) as n, sum(individuals_affected) as individuals, min(submission_date) as first,
               max(submission_date) as last, count(distinct state) as states
        from breaches""")
    exports = await _rows(datasette, """
        select list, tab, max(export_date) as last_export, count(*) as exports, sum(rows_read) as rows_read
        from exports group by list, tab order by list, tab""")
    counts = {t: (await _one(datasette, f"select count(*) as n from [{t}]"))["n"]
              for t in ("entities", "provisions", "action_documents", "breach_action_links")}
    per_year = await _rows(datasette, """
        select substr(announced, 1, 4) as year, count(*) as actions, coalesce(sum(amount_usd), 0) as dollars
        from enforcement_actions where announced is not null group by 1 order by 1""")
    breach_types = await _rows(datasette, """
        select b.year as year, t.value as type, count(*) as n
        from breaches b, json_each(b.breach_types) t where b.year is not null group by 1, 2 order by 1, 2""")
    affected = await _rows(datasette, """
        select year, coalesce(sum(individuals_affected), 0) as individuals, count(*) as reports
        from breaches where year is not null group by year order by year""")
    provisions = await top_provisions(datasette, limit=8,
                                      kinds=("standard", "implementation_specification", "paragraph"))
    years = _years(per_year)
    by_type: dict[str, dict[str, float]] = defaultdict(dict)
    for r in breach_types:
        by_type[r["type"]][str(r["year"])] = r["n"]
    breach_years = _years(affected)
    incomplete = frozenset(str(r["year"]) for r in await _rows(
        datasette, "select year from coverage_by_year where not complete"))
    return {
        "actions": actions, "breaches": breaches, "exports": exports, "counts": counts,
        "top_provisions": provisions,
        "action_years": [r["year"] for r in per_year],
        "states": await _rows(datasette, """select state, count(*) as n from enforcement_actions
                                  where state is not null group by state order by n desc, state"""),
        "entity_types": await _rows(datasette, """select entity_type, count(*) as n from enforcement_actions
                                  where entity_type is not null group by entity_type order by n desc"""),
        "charts": {
            "actions": bar_chart([(y, next((r["actions"] for r in per_year if r["year"] == y), 0)) for y in years],
                                 title="Enforcement actions per year",
                                 href=f"/{DATABASE}/enforcement_actions?year={{label}}"),
            "dollars": bar_chart([(y, next((r["dollars"] for r in per_year if r["year"] == y), 0)) for y in years],
                                 title="Dollars per year (settlements and penalties)", unit="$",
                                 href=f"/{DATABASE}/enforcement_actions?year={{label}}"),
            "breach_types": stacked_bar_chart(breach_years, dict(sorted(by_type.items())),
                                              title="Breach reports per year by type of breach",
                                              incomplete=incomplete),
            "affected": bar_chart([(str(r["year"]), r["individuals"]) for r in affected],
                                  title="Individuals affected per year (as reported)",
                                  href=f"/{DATABASE}/breaches?year={{label}}", incomplete=incomplete),
        },
    }


async def provision_tree(datasette) -> tuple[dict[str, dict], dict[str, set[str]]]:
    """Every provision by id, and for each the set of actions citing it or any provision below it
    (a paragraph's citation counts for its section, subpart and part)."""
    return await _once(datasette, "provision_tree", _provision_tree)


async def _provision_tree(datasette) -> tuple[dict[str, dict], dict[str, set[str]]]:
    # rowid order is the reference file's document order: part, subpart, section, paragraph
    provisions = {r["id"]: r for r in await _rows(datasette, "select * from provisions order by rowid")}
    cites = await _rows(datasette, """select distinct action_id, provision_id from action_provisions
                                       where provision_id is not null""")
    actions: dict[str, set[str]] = defaultdict(set)
    for c in cites:
        node, seen = c["provision_id"], set()
        while node and node not in seen:  # walk up the parent chain
            seen.add(node)
            actions[node].add(c["action_id"])
            node = (provisions.get(node) or {}).get("parent")
    return provisions, actions


def _provision_link(p: dict, n: int) -> dict:
    return dict(p, actions=n, path=provision_path(p["id"]), ecfr=safe_url(p.get("ecfr_url")) or ecfr_url(p["id"]))


async def top_provisions(datasette, limit: int | None = None, kinds: tuple[str, ...] = ()) -> list[dict]:
    """Cited provisions, most-cited first (only `kinds`, e.g. ('section', 'paragraph'), when given)."""
    provisions, actions = await provision_tree(datasette)
    rows = [_provision_link(p, len(actions[pid])) for pid, p in provisions.items()
            if actions[pid] and (not kinds or p.get("kind") in kinds)]
    rows.sort(key=lambda r: (-r["actions"], r["id"]))
    return rows[:limit] if limit else rows


async def cited_provisions(datasette) -> list[dict]:
    """Every cited provision in document order (part, subpart, section, paragraph), for browsing."""
    provisions, actions = await provision_tree(datasette)
    return [_provision_link(p, len(actions[pid])) for pid, p in provisions.items() if actions[pid]]


async def provision_figures(datasette, provision_id: str) -> dict | None:
    provisions, actions = await provision_tree(datasette)
    provision = provisions.get(provision_id)
    if provision is None:
        return None
    ids = sorted(actions[provision_id])
    cited = await _rows(datasette, f"""
        select a.id, a.entity, a.announced, a.year, a.action_type, a.amount_usd, a.state,
               (select group_concat(distinct ap.provision_id) from action_provisions ap
                where ap.action_id = a.id) as provisions
        from enforcement_actions a where a.id in ({", ".join("?" for _ in ids)})
        order by a.announced desc, a.id""", ids) if ids else []
    below = {pid for pid in provisions if _is_below(provisions, pid, provision_id)}
    for r in cited:
        r["cited_as"] = ", ".join(x for x in (r["provisions"] or "").split(",") if x in below)
        r["path"] = action_path(r["id"])
        r["action_label"] = ACTION_TYPE_LABELS.get(r["action_type"], r["action_type"])
    amounts = [r["amount_usd"] for r in cited if r["amount_usd"] is not None]
    per_year: dict[str, int] = defaultdict(int)
    for r in cited:
        if r["year"] is not None:
            per_year[str(r["year"])] += 1
    span = [str(y) for y in range(int(min(per_year)), int(max(per_year)) + 1)] if per_year else []
    children = [_provision_link(p, len(actions[pid])) for pid, p in provisions.items()
                if p.get("parent") == provision_id]
    parents, node = [], provision.get("parent")
    while node and node in provisions and len(parents) < 10:
        parents.insert(0, _provision_link(provisions[node], len(actions[node])))
        node = provisions[node].get("parent")
    return {
        "id": provision_id, "provision": provision, "ecfr": _provision_link(provision, 0)["ecfr"],
        "actions": cited, "direct": sum(1 for r in cited if provision_id in (r["provisions"] or "").split(",")),
        "total_usd": sum(amounts), "median_usd": statistics.median(amounts) if amounts else None,
        "with_amount": len(amounts),
        "chart": bar_chart([(y, per_year.get(y, 0)) for y in span],
                           title=f"Actions citing {provision_id} per year", width=560, height=180),
        "children": children, "parents": parents,
    }


def _is_below(provisions: dict[str, dict], pid: str, ancestor: str) -> bool:
    """pid is ancestor or lies under it in the parent chain."""
    seen: set[str] = set()
    while pid and pid not in seen:
        if pid == ancestor:
            return True
        seen.add(pid)
        pid = (provisions.get(pid) or {}).get("parent")
    return False


def _json_list(value: Any) -> list:
    if not value:
        return []
    parsed = json.loads(value) if isinstance(value, str) else value
    return parsed if isinstance(parsed, list) else [parsed]


def _cited_provision(p: dict) -> dict:
    pid = p["provision_id"]
    return dict(p, labels=_other_labels(p["labels"], p["heading"]),
                path=provision_path(pid) if pid else None,
                ecfr=(safe_url(p["ecfr_url"]) or ecfr_url(pid)) if pid else None)


def _other_labels(labels: str | None, heading: str | None) -> str | None:
    """The sources' labels of a citation (a JSON list), without one that just repeats the heading."""
    kept = [x for x in _json_list(labels) if x and x.strip().lower() != (heading or "").lower()]
    return "; ".join(kept) or None


async def case_brief(datasette, action_id: str) -> dict | None:
    """Everything the case brief and the case card show about one enforcement action."""
    action = await _one(datasette, "select * from enforcement_actions where id = ?", [action_id])
    if action is None:
        return None
    cited = await _rows(datasette, """
        select ap.provision_id, coalesce(ap.provision_id, ap.provision) as shown, p.heading, p.ecfr_url,
               json_group_array(distinct ap.label) as labels, group_concat(distinct ap.source) as sources
        from action_provisions ap left join provisions p on p.id = ap.provision_id
        where ap.action_id = ? group by shown order by shown""", [action_id])
    documents = await _rows(datasette, """select url, kind, title, published from action_documents
                                          where action_id = ? order by published, url""", [action_id])
    seen = {d["url"] for d in documents}
    for kind, column in (("hhs.gov page", "hhs_urls"), ("research source", "evidence")):
        for url in _json_list(action.get(column)):
            if url not in seen:
                seen.add(url)
                documents.append({"url": url, "kind": kind, "title": None, "published": None})
    breaches = await _rows(datasette, """
        select l.score, l.method, l.evidence, l.days_to_action, b.id, b.entity_name, b.state, b.submission_date,
               b.individuals_affected, b.breach_type, b.location
        from breach_action_links l join breaches b on b.id = l.breach_id
        where l.action_id = ? order by l.score desc, b.submission_date""", [action_id])
    entity = None
    if action.get("entity_id"):
        entity = await _one(datasette, "select * from entities where id = ?", [action["entity_id"]])
    # Corrective action plan: cap 1 / 0 / NULL (unknown). A length means a plan even where cap is unset.
    cap, years = action.get("cap"), action.get("cap_years")
    obligations = [{"monitor / independent assessor": "a monitor or independent assessor",
                    "other": "other obligations (see the notes)"}.get(o, o)
                   for o in _json_list(action.get("cap_obligations")) if isinstance(o, str)]
    if cap == 1 or (cap is None and years):
        plan = {"state": "yes", "text": "Yes" + (f", {years} year{'s' if years != 1 else ''}" if years else ""),
                "obligations": ("The plan requires: " + "; ".join(obligations) + ".") if obligations else None}
    elif action.get("action_type") == "civil_money_penalty":
        plan = {"state": "penalty", "text": "No corrective action plan: a civil money penalty is imposed, not "
                "a settlement, and carries no plan", "obligations": None}
    elif cap == 0:
        plan = {"state": "no", "text": "No corrective action plan (per the sources)", "obligations": None}
    else:
        plan = {"state": "unknown", "text": "Unknown (not found in the sources)", "obligations": None}
    return {
        "action": action, "entity": entity, "cap": plan,
        "action_type": ACTION_TYPE_LABELS.get(action.get("action_type"), action.get("action_type")),
        "entity_type": ENTITY_TYPE_LABELS.get(action.get("entity_type"), action.get("entity_type")),
        "amount": usd(action.get("amount_usd")),
        "incident": _json_list(action.get("incident")),
        "provisions": [_cited_provision(p) for p in cited],
        "documents": [dict(d, safe_url=safe_url(d["url"])) for d in documents],
        "breaches": [dict(b, path=f"/{DATABASE}/breaches/" + quote(b["id"], safe="")) for b in breaches],
        "card_md": f"/-/case-card/{quote(action_id, safe='')}.md",
        "card_txt": f"/-/case-card/{quote(action_id, safe='')}.txt",
    }


# ------------------------------------------------------------------ case cards (trainers)

def _md(text: Any) -> str:
    """Source text inside Markdown: HTML-escaped (Markdown passes raw HTML through) and markup-inert."""
    s = str(text if text is not None else "")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]#|])", r"\\\1", s)


def case_card(case: dict, base_url: str, markdown: bool) -> str:
    a = case["action"]
    esc = _md if markdown else (lambda v: "" if v is None else str(v))
    title = f"{a.get('entity')} — {case['action_type']}, {a.get('announced') or 'date unknown'}"
    facts = [("Entity", a.get("entity")), ("Entity type", case["entity_type"]), ("State", a.get("state")),
             ("Announced", a.get("announced")), ("Action", case["action_type"]),
             ("Amount", case["amount"] or "not reported"),
             ("Corrective action plan", case["cap"]["text"] + (f". {case['cap']['obligations']}"
                                                               if case["cap"]["obligations"] else "")),
             ("Individuals affected", number(a.get("individuals_affected")) or "not reported")]
    cites = [(f"45 CFR {p['shown']}" if p["provision_id"] else p["shown"] or p["labels"])
             + (f" ({p['heading']})" if p.get("heading") else "") for p in case["provisions"]]
    headings = [p.get("heading") or p["labels"] or p["shown"] for p in case["provisions"]]
    lesson = ("OCR found this entity's compliance lacking on: " + "; ".join(headings) + ". "
              "Check that your own program documents and performs each of these.") if headings else \
        "No provision is recorded for this action."
    # official pages only (documents, hhs.gov); the research sources are on the case brief
    sources = [d["safe_url"] for d in case["documents"] if d["safe_url"] and d["kind"] != "research source"]
    page = base_url + action_path(a["id"])
    if markdown:
        lines = [f"### {esc(title)}", ""]
        lines += [f"- **{k}:** {esc(v)}" for k, v in facts if v not in (None, "")]
        lines += ["", "**Provisions cited:** " + ("; ".join(esc(c) for c in cites) or "none recorded"), "",
                  f"**Facts.** {esc(a.get('summary') or '')}", "", f"**Lesson.** {esc(lesson)}", "",
                  "**Sources:** " + ", ".join(f"<{u.replace('<', '%3C').replace('>', '%3E')}>"
                                             for u in [page, *sources])]
    else:
        lines = [title, "=" * len(title), ""]
        lines += [f"{k}: {v}" for k, v in facts if v not in (None, "")]
        lines += ["", "Provisions cited: " + ("; ".join(cites) or "none recorded"), "",
                  f"Facts: {a.get('summary') or ''}", "", f"Lesson: {lesson}", "",
                  "Sources: " + " ".join([page, *sources])]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ routes

def _base_url(request) -> str:
    return f"{request.scheme}://{request.host}"


async def provision_page(datasette, request):
    provision_id = unquote(request.url_vars["provision_id"])
    figures = await provision_figures(datasette, provision_id)
    if figures is None:
        raise NotFound(f"No provision {provision_id!r} and no action cites it")
    return Response.html(await datasette.render_template(
        "provision.html", {"p": figures, "usd": usd}, request=request))


async def provisions_page(datasette, request):
    return Response.html(await datasette.render_template(
        "provisions.html", {"provisions": await cited_provisions(datasette)}, request=request))


async def case_card_route(datasette, request):
    action_id, fmt = request.url_vars["action_id"], request.url_vars["fmt"]
    case = await case_brief(datasette, action_id)
    if case is None:
        raise NotFound(f"No enforcement action {action_id!r}")
    body = case_card(case, _base_url(request), markdown=fmt == "md")
    content_type = "text/markdown; charset=utf-8" if fmt == "md" else "text/plain; charset=utf-8"
    return Response(body, content_type=content_type, headers={"X-Content-Type-Options": "nosniff"})


def example_params(datasette, name: str, query: dict) -> dict:
    """Sample parameters of a canned query: its own `example_params`, else the kb-site plugin
    configuration's entry for it (queries that other metadata fragments own)."""
    config = datasette.plugin_config(PLUGIN) or {}
    return dict(query.get("example_params") or (config.get("example_params") or {}).get(name) or {})


def api_examples(datasette, base_url: str) -> list[dict]:
    """The API page's examples: the plugin configuration's list plus one per canned query, each with
    a curl command. Tests run exactly these."""
    config = datasette.plugin_config(PLUGIN) or {}
    examples = [dict(e) for e in config.get("api_examples", [])]
    queries = datasette.metadata("queries", database=DATABASE) or {}
    for name, q in sorted(queries.items()):
        params = example_params(datasette, name, q)
        fmt = ".atom" if "atom_id" in q.get("sql", "") else ".json"
        query = "&".join(f"{quote(k)}={quote(str(v), safe='(),')}" for k, v in params.items() if v != "")
        examples.append({"title": q.get("title") or name, "description": q.get("description", ""),
                         "description_html": q.get("description_html", ""), "params": list(params),
                         "path": f"/{DATABASE}/{name}{fmt}" + (f"?{query}" if query else ""), "query": name})
    for e in examples:
        e["curl"] = f"curl '{base_url}{e['path']}'"
    return examples


async def api_page(datasette, request):
    examples = api_examples(datasette, _base_url(request))
    return Response.html(await datasette.render_template(
        "api.html", {"examples": examples, "time_limit_s": datasette.setting("sql_time_limit_ms") / 1000,
                     "max_rows": datasette.setting("max_returned_rows")}, request=request))


@hookimpl
def register_routes():
    return [
        (r"^/-/provision/(?P<provision_id>[^/]+)$", provision_page),
        (r"^/-/provisions$", provisions_page),
        (r"^/-/case-card/(?P<action_id>[^/]+)\.(?P<fmt>md|txt)$", case_card_route),
        (r"^/-/api$", api_page),
    ]


# ------------------------------------------------------------------ template variables and cells

@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def inner():
        if template == "index.html":
            return {"kb": await home_figures(datasette), "usd": usd, "number": number}
        if view_name == "row" and database == DATABASE and table == "enforcement_actions" and request:
            action_id = urlsafe_components(request.url_vars["pks"])[0]
            return {"case": await case_brief(datasette, action_id), "usd": usd, "number": number}
        return {"usd": usd, "number": number}
    return inner


@hookimpl
def render_cell(value, column, table, database):
    """Dollar amounts (columns named `amount_usd` / `*_usd`) as $1,234,567; provision ids and entity ids as
    links (entity_id is filled after its tables are loaded, so it carries no declared foreign key)."""
    if database != DATABASE or value is None or isinstance(value, bytes):
        return None
    if (column == "amount_usd" or column.endswith("_usd")) and isinstance(value, (int, float)):
        return Markup('<span class="usd">{}</span>').format(usd(value))
    if column in ("provision_id",) or (table == "provisions" and column == "id"):
        return Markup('<a href="{}">{}</a>').format(provision_path(str(value)), value)
    if column == "entity_id" and table != "entities":
        return Markup('<a href="{}">{}</a>').format(entity_path(str(value)), value)
    return None


# datasette-atom 0.9 has two problems for feed readers, fixed here by wrapping its renderer:
# - an empty result (a feed filtered to a state with no new actions) is a 500 (max() of no rows): it must be
#   a valid, empty feed;
# - it cannot page. A feed query that returns a `feed_key` column and `limit FEED_PAGE_SIZE + 1` is paged:
#   the extra row only says that a next page exists, and the feed gets a rel="next" link whose `before`
#   parameter is the last shown row's key (RFC 5005 paged feeds).
# docs/upstream/datasette-atom.md describes the patch offered upstream.
FEED_PAGE_SIZE = 100
_render_atom = datasette_atom.render_atom


def _render_atom_paged(datasette, request, sql, columns, rows, database, table, query_name, view_name, data):
    if not rows:
        return _empty_feed(datasette, request, database, query_name)
    paged = "feed_key" in columns and len(rows) > FEED_PAGE_SIZE
    shown = list(rows[:FEED_PAGE_SIZE]) if paged else list(rows)
    response = _render_atom(datasette, request, sql, columns, shown, database, table, query_name, view_name, data)
    if not paged:
        return response
    root = etree.fromstring(response.body)
    next_url = _with_param(request, "before", str(shown[-1]["feed_key"]))
    link = etree.Element("{http://www.w3.org/2005/Atom}link", href=next_url, rel="next")
    self_link = root.find("{http://www.w3.org/2005/Atom}link")
    (self_link.addnext(link) if self_link is not None else root.insert(0, link))
    return Response(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True),
                    content_type="application/xml; charset=utf-8", status=200)


def _with_param(request, name: str, value: str) -> str:
    args = [(k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k != name]
    return request.url.split("?", 1)[0] + "?" + urlencode(args + [(name, value)])


def _empty_feed(datasette, request, database, query_name):
    fg = FeedGenerator()
    fg.id(request.url)
    fg.link(href=request.url, rel="self")
    fg.title((datasette.metadata("queries", database=database) or {}).get(query_name, {}).get("title")
             or query_name or "feed")
    fg.updated(datetime.now(timezone.utc))
    return Response(fg.atom_str(pretty=True), content_type="application/xml; charset=utf-8", status=200)


datasette_atom.render_atom = _render_atom_paged
