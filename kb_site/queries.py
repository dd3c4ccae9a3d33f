"""The SQL the site's pages read: home page figures and charts, the provision tree and provision pages,
the case brief of an enforcement action, an entity's page, a breach report's history across exports, the coverage of
each submission year, the investigations page's figures and the penalties page's amounts. Async
functions of `datasette`; links in what they return are built with `datasette.urls`.

Reads the tables of the build (etl/): enforcement_actions, breaches, provisions, action_provisions,
action_documents, breach_action_links, entities, exports, breach_observations, breach_changes
(etl/changes.py), investigations (etl/investigations.py), coverage_by_year (etl/coverage.py) and
penalty_tiers (etl/provisions.py, from data/reference/penalty_tiers.csv).
"""

from __future__ import annotations

import json
import statistics
import weakref
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from etl.agencies import AGENCIES, AGENCY_SHORT, PAID_KINDS
from etl.citations import canonicalize
from etl.provisions import resolve
from kb_site.cells import SECTOR_LABELS
from kb_site.charts import bar_chart, stacked_bar_chart
from kb_site.formatting import (
    ACTION_TYPE_LABELS,
    AGENCY_LABELS,
    AMOUNT_KIND_LABELS,
    DATABASE,
    ENTITY_TYPE_LABELS,
    action_path,
    breach_path,
    case_card_path,
    cfr_citation,
    ecfr_url,
    entity_path,
    federal_register,
    long_date,
    plural,
    provision_path,
    safe_url,
    state_name,
    usd,
)
from kb_site.sources import ordered_sources


async def _rows(datasette, sql: str, params: Iterable | dict = ()) -> list[dict]:
    result = await datasette.get_database(DATABASE).execute(sql, params)
    return [dict(r) for r in result.rows]


async def _one(datasette, sql: str, params: Iterable | dict = ()) -> dict | None:
    rows = await _rows(datasette, sql, params)
    return rows[0] if rows else None


async def _single(datasette, sql: str, params: Iterable | dict = ()) -> dict:
    """The one row of an aggregate query (which always returns exactly one)."""
    rows = await _rows(datasette, sql, params)
    if len(rows) != 1:
        raise ValueError(f"expected one row, got {len(rows)}: {sql}")
    return rows[0]


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


def _by_agency(rows: list[dict]) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Actions and dollars per year as stacked-chart series, one per enforcer in etl.agencies order."""
    actions: dict[str, dict[str, float]] = {}
    dollars: dict[str, dict[str, float]] = {}
    for code, label in AGENCY_SHORT.items():
        mine = [r for r in rows if r["agency"] == code]
        if mine:
            actions[label] = {r["year"]: r["actions"] for r in mine}
            dollars[label] = {r["year"]: r["dollars"] for r in mine}
    return actions, dollars


async def _home_figures(datasette) -> dict:
    actions = await _one(
        datasette,
        """
        select count(*) as n, sum(amount_usd) as dollars, count(amount_usd) as with_amount,
               min(announced) as first, max(announced) as last,
               sum(action_type = 'resolution_agreement') as agreements,
               sum(action_type = 'civil_money_penalty') as penalties
        from enforcement_actions""",
    )
    by_agency = {
        r["agency"]: r
        for r in await _rows(
            datasette,
            "select agency, count(*) as n, sum(amount_usd) as dollars from enforcement_actions group by agency",
        )
    }
    breaches = await _one(
        datasette,
        """
        select count(*) as n, sum(individuals_affected) as individuals, min(submission_date) as first,
               max(submission_date) as last, count(distinct state) as states
        from breaches""",
    )
    exports = await _rows(
        datasette,
        """
        select list, tab, max(export_date) as last_export, count(*) as exports, sum(rows_read) as rows_read
        from exports group by list, tab order by list, tab""",
    )
    counts = {
        t: (await _single(datasette, f"select count(*) as n from [{t}]"))["n"]
        for t in ("entities", "provisions", "action_documents", "breach_action_links")
    }
    per_year = await _rows(
        datasette,
        """
        select cast(year as text) as year, count(*) as actions, coalesce(sum(amount_usd), 0) as dollars
        from enforcement_actions where year is not null group by 1 order by 1""",
    )
    agency_years = await _rows(
        datasette,
        """
        select agency, cast(year as text) as year, count(*) as actions, coalesce(sum(amount_usd), 0) as dollars
        from enforcement_actions where year is not null group by 1, 2""",
    )
    actions_by, dollars_by = _by_agency(agency_years)
    breach_types = await _rows(
        datasette,
        """
        select b.year as year, t.value as type, count(*) as n
        from breaches b, json_each(b.breach_types) t where b.year is not null group by 1, 2 order by 1, 2""",
    )
    affected = await _rows(
        datasette,
        """
        select year, coalesce(sum(individuals_affected), 0) as individuals, count(*) as reports
        from breaches where year is not null group by year order by year""",
    )
    provisions = await top_provisions(
        datasette, limit=8, kinds=("standard", "implementation_specification", "paragraph"), titles=(45,)
    )
    years = _years(per_year)
    by_type: dict[str, dict[str, float]] = defaultdict(dict)
    for r in breach_types:
        by_type[r["type"]][str(r["year"])] = r["n"]
    breach_years = _years(affected)
    incomplete = frozenset(str(r["year"]) for r in await coverage_rows(datasette) if not r["complete"])
    by_year = {
        table: str(datasette.urls.table(DATABASE, table)) + "?year={label}"
        for table in ("enforcement_actions", "breaches")
    }
    return {
        "actions": actions,
        "by_agency": [
            {"agency": code, "label": AGENCIES[code], "n": by_agency[code]["n"], "dollars": by_agency[code]["dollars"]}
            for code in AGENCIES
            if code in by_agency
        ],
        "breaches": breaches,
        "exports": exports,
        "counts": counts,
        "top_provisions": provisions,
        "action_years": [r["year"] for r in per_year],
        "states": await _rows(
            datasette,
            """select state, count(*) as n from enforcement_actions
                                  where state is not null group by state order by n desc, state""",
        ),
        "entity_types": await _rows(
            datasette,
            """select entity_type, count(*) as n from enforcement_actions
                                  where entity_type is not null group by entity_type order by n desc""",
        ),
        "charts": {
            "actions": stacked_bar_chart(
                years,
                actions_by,
                title="Enforcement actions per year, by enforcer",
                href=by_year["enforcement_actions"],
            ),
            "dollars": stacked_bar_chart(
                years,
                dollars_by,
                title="Dollars required paid per year, by enforcer",
                unit="$",
                href=by_year["enforcement_actions"],
            ),
            "breach_types": stacked_bar_chart(
                breach_years,
                dict(sorted(by_type.items())),
                title="Breach reports per year by type of breach",
                incomplete=incomplete,
            ),
            "affected": bar_chart(
                [(str(r["year"]), r["individuals"]) for r in affected],
                title="Individuals affected per year (as reported)",
                href=by_year["breaches"],
                incomplete=incomplete,
            ),
        },
    }


async def provision_tree(datasette) -> tuple[dict[str, dict], dict[str, set[str]]]:
    """Every provision by id, and for each the set of actions citing it or any provision below it
    (a paragraph's citation counts for its section, subpart and part)."""
    return await _once(datasette, "provision_tree", _provision_tree)


async def _provision_tree(datasette) -> tuple[dict[str, dict], dict[str, set[str]]]:
    # rowid order is the reference file's document order: part, subpart, section, paragraph
    provisions = {r["id"]: r for r in await _rows(datasette, "select * from provisions order by rowid")}
    cites = await _rows(
        datasette,
        """select distinct action_id, provision_id from action_provisions
                                       where provision_id is not null""",
    )
    actions: dict[str, set[str]] = defaultdict(set)
    for c in cites:
        node, seen = c["provision_id"], set()
        while node and node not in seen:  # walk up the parent chain
            seen.add(node)
            actions[node].add(c["action_id"])
            node = (provisions.get(node) or {}).get("parent")
    return provisions, actions


def _provision_link(urls, p: dict, n: int) -> dict:
    return dict(
        p,
        actions=n,
        citation=cfr_citation(p["id"]),
        path=provision_path(urls, p["id"]),
        ecfr=safe_url(p.get("ecfr_url")) or ecfr_url(p["id"]),
    )


async def top_provisions(
    datasette, limit: int | None = None, kinds: tuple[str, ...] = (), titles: tuple[int, ...] = ()
) -> list[dict]:
    """Cited provisions, most-cited first (only `kinds`, e.g. ('section', 'paragraph'), and only those of
    the CFR or U.S. Code `titles`, e.g. (45,), when given)."""
    provisions, actions = await provision_tree(datasette)
    rows = [
        _provision_link(datasette.urls, p, len(actions[pid]))
        for pid, p in provisions.items()
        if actions[pid] and (not kinds or p.get("kind") in kinds) and (not titles or p.get("title") in titles)
    ]
    rows.sort(key=lambda r: (-r["actions"], r["id"]))
    return rows[:limit] if limit else rows


async def cited_provisions(datasette) -> list[dict]:
    """Every cited provision in document order (part, subpart, section, paragraph), for browsing."""
    provisions, actions = await provision_tree(datasette)
    return [_provision_link(datasette.urls, p, len(actions[pid])) for pid, p in provisions.items() if actions[pid]]


async def provision_figures(datasette, provision_id: str) -> dict | None:
    provisions, actions = await provision_tree(datasette)
    provision = provisions.get(provision_id)
    if provision is None:
        return None
    ids = sorted(actions[provision_id])
    cited = (
        await _rows(
            datasette,
            f"""
        select a.id, a.entity, a.announced, a.year, a.action_type, a.amount_usd, a.state,
               (select group_concat(distinct ap.provision_id) from action_provisions ap
                where ap.action_id = a.id) as provisions
        from enforcement_actions a where a.id in ({", ".join("?" for _ in ids)})
        order by a.announced desc, a.id""",
            ids,
        )
        if ids
        else []
    )
    below = {pid for pid in provisions if _is_below(provisions, pid, provision_id)}
    for r in cited:
        r["cited_as"] = ", ".join(x for x in (r["provisions"] or "").split(",") if x in below)
        r["path"] = action_path(datasette.urls, r["id"])
        r["action_label"] = ACTION_TYPE_LABELS.get(r["action_type"], r["action_type"])
    amounts = [r["amount_usd"] for r in cited if r["amount_usd"] is not None]
    per_year: dict[str, int] = defaultdict(int)
    for r in cited:
        if r["year"] is not None:
            per_year[str(r["year"])] += 1
    span = [str(y) for y in range(int(min(per_year)), int(max(per_year)) + 1)] if per_year else []
    children = [
        _provision_link(datasette.urls, p, len(actions[pid]))
        for pid, p in provisions.items()
        if p.get("parent") == provision_id
    ]
    parents: list[dict] = []
    node = provision.get("parent")
    while node and node in provisions and len(parents) < 10:
        parents.insert(0, _provision_link(datasette.urls, provisions[node], len(actions[node])))
        node = provisions[node].get("parent")
    return {
        "id": provision_id,
        "citation": cfr_citation(provision_id),
        "about_penalties": _is_below(provisions, provision_id, PENALTY_SECTION),
        "provision": provision,
        "ecfr": _provision_link(datasette.urls, provision, 0)["ecfr"],
        "actions": cited,
        "direct": sum(1 for r in cited if provision_id in (r["provisions"] or "").split(",")),
        "total_usd": sum(amounts),
        "median_usd": statistics.median(amounts) if amounts else None,
        "with_amount": len(amounts),
        "chart": bar_chart(
            [(y, per_year.get(y, 0)) for y in span],
            title=f"Actions citing {provision_id} per year",
            width=560,
            height=180,
        ),
        "children": children,
        "parents": parents,
    }


async def nearest_provision(datasette, citation: str) -> tuple[str | None, str | None]:
    """(the listed provision that stands for a citation, the citation in canonical form): the provision
    itself, its nearest listed parent ('164.524(a)(1)(i)' -> '164.524(a)') or the smallest row holding a
    range; (None, canonical) for a well-formed citation the table does not list, (None, None) for text
    that is not a citation."""
    provisions, _ = await provision_tree(datasette)
    try:
        canonical = canonicalize(citation)
    except ValueError:
        return None, None
    return resolve(canonical, provisions.keys())[0], canonical


def _is_below(provisions: dict[str, dict], pid: str | None, ancestor: str) -> bool:
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


def _cited_provision(urls, p: dict) -> dict:
    pid = p["provision_id"]
    return dict(
        p,
        citation=cfr_citation(pid) if pid else None,
        labels=_other_labels(p["labels"], p["heading"] if pid else p["shown"]),
        as_written=not pid and "as written" in (p.get("bases") or "").split(","),
        path=provision_path(urls, pid) if pid else None,
        ecfr=(safe_url(p["ecfr_url"]) or ecfr_url(pid)) if pid else None,
    )


def _other_labels(labels: str | None, heading: str | None) -> str | None:
    """The sources' labels of a citation (a JSON list), without one that just repeats the heading."""
    kept = [x for x in _json_list(labels) if x and x.strip().lower() != (heading or "").lower()]
    return "; ".join(kept) or None


async def case_brief(datasette, action_id: str) -> dict | None:
    """Everything the case brief and the case card show about one enforcement action."""
    action = await _one(datasette, "select * from enforcement_actions where id = ?", [action_id])
    if action is None:
        return None
    urls = datasette.urls
    cited = await _rows(
        datasette,
        """
        select ap.provision_id, coalesce(ap.provision_id, ap.provision, ap.label) as shown, p.heading, p.ecfr_url,
               json_group_array(distinct ap.label) as labels, group_concat(distinct ap.source) as sources,
               group_concat(distinct ap.basis) as bases
        from action_provisions ap left join provisions p on p.id = ap.provision_id
        where ap.action_id = ? group by shown order by shown""",
        [action_id],
    )
    documents = await _rows(
        datasette,
        """select url, kind, title, published from action_documents
                                          where action_id = ? order by published, url""",
        [action_id],
    )
    seen = {d["url"] for d in documents}
    for kind, column in (("hhs.gov page", "hhs_urls"), ("research source", "evidence")):
        for url in _json_list(action.get(column)):
            if url not in seen:
                seen.add(url)
                documents.append({"url": url, "kind": kind, "title": None, "published": None})
    breaches = await _rows(
        datasette,
        """
        select l.score, l.method, l.evidence, l.days_to_action, b.id, b.entity_name, b.state, b.submission_date,
               b.individuals_affected, b.breach_type, b.location
        from breach_action_links l join breaches b on b.id = l.breach_id
        where l.action_id = ? order by l.score desc, b.submission_date""",
        [action_id],
    )
    entity = None
    if action.get("entity_id"):
        entity = await _one(datasette, "select * from entities where id = ?", [action["entity_id"]])
    # Corrective action plan: cap 1 / 0 / NULL (unknown). A length means a plan even where cap is unset.
    cap, years = action.get("cap"), action.get("cap_years")
    obligations = [
        {
            "monitor / independent assessor": "a monitor or independent assessor",
            "other": "other obligations (see the notes)",
        }.get(o, o)
        for o in _json_list(action.get("cap_obligations"))
        if isinstance(o, str)
    ]
    if cap == 1 or (cap is None and years):
        plan = {
            "state": "yes",
            "text": "Yes" + (f", {years} year{'s' if years != 1 else ''}" if years else ""),
            "obligations": ("The plan requires: " + "; ".join(obligations) + ".") if obligations else None,
        }
    elif action.get("action_type") == "civil_money_penalty":
        plan = {
            "state": "penalty",
            "text": "No corrective action plan: a civil money penalty is imposed, not "
            "a settlement, and carries no plan",
            "obligations": None,
        }
    elif cap == 0:
        plan = {"state": "no", "text": "No corrective action plan (per the sources)", "obligations": None}
    else:
        plan = {"state": "unknown", "text": "Unknown (not found in the sources)", "obligations": None}
    agency = action.get("agency") or "ocr"
    amounts = await _rows(
        datasette, "select n, kind, amount_usd, note from action_amounts where action_id = ? order by n", [action_id]
    )
    sentence = await _one(datasette, "select * from criminal_sentences where action_id = ?", [action_id])
    return {
        "action": action,
        "agency": agency,
        "agency_label": AGENCY_LABELS.get(agency, agency),
        "is_ocr": agency == "ocr",
        "is_criminal": agency == "doj",
        "states": states_of(action),
        "amounts": amount_rows(amounts),
        "paid_text": paid_text_of(action, amounts),
        "sentence": sentence_rows(sentence, action),
        "path": action_path(urls, action_id),
        "entity": entity,
        "cap": plan,
        "entity_path": entity_path(urls, entity["id"]) if entity else None,
        "action_type": ACTION_TYPE_LABELS.get(action.get("action_type") or "", action.get("action_type")),
        "entity_type": ENTITY_TYPE_LABELS.get(action.get("entity_type") or "", action.get("entity_type")),
        "role": role_in_action(action),
        "amount": usd(action.get("amount_usd")),
        "incident": _json_list(action.get("incident")),
        "provisions": [_cited_provision(urls, p) for p in cited],
        "documents": ordered_sources(dict(d, safe_url=safe_url(d["url"])) for d in documents),
        "breaches": [dict(b, path=breach_path(urls, b["id"])) for b in breaches],
        "card_md": case_card_path(urls, action_id, "md"),
        "card_txt": case_card_path(urls, action_id, "txt"),
    }


def states_of(action: dict) -> dict:
    """The states of an action in words: every state named (names, lead states marked), multistate or not,
    and the note when the list is not known ('multistate: 40 states + DC')."""
    codes = [c for c in _json_list(action.get("states")) if isinstance(c, str)]
    leads = [c for c in _json_list(action.get("lead_states")) if isinstance(c, str)]
    return {
        "multistate": bool(action.get("multistate")),
        "names": [state_name(c) for c in codes],
        "leads": [state_name(c) for c in leads],
        "note": action.get("states_note"),
        "count": len(codes),
    }


def amount_rows(amounts: list[dict]) -> list[dict]:
    """An action's amounts by kind, each saying whether it counts as paid (etl.agencies.PAID_KINDS):
    suspended amounts, refunds paid out under an earlier order and required spending never do."""
    return [
        dict(
            a,
            label=AMOUNT_KIND_LABELS.get(a["kind"], a["kind"]),
            shown=usd(a["amount_usd"]) if a["amount_usd"] is not None else "amount not known",
            counted=a["kind"] in PAID_KINDS,
        )
        for a in amounts
    ]


def paid_text_of(action: dict, amounts: list[dict]) -> str:
    """The money the action required paid, in words: the amount, else why there is none."""
    if action.get("amount_usd") is not None:
        return usd(action["amount_usd"])
    if action.get("agency") == "doj":
        return "none (a criminal case: see the sentence)"
    if amounts and not any(a["kind"] in PAID_KINDS for a in amounts):
        return "nothing recorded as paid (the amounts below are not payments)"
    return "not reported"


SENTENCE_MONTHS = (
    ("prison_months", "Prison"),
    ("probation_months", "Probation"),
    ("supervised_release_months", "Supervised release"),
)


def sentence_rows(sentence: dict | None, action: dict) -> dict | None:
    """A criminal case's sentence for the brief: months of each kind, fine and restitution, the steps as
    written (charged, plea or verdict, sentenced) and the outcome; None for a civil action."""
    if action.get("agency") != "doj":
        return None
    s = sentence or {}

    def months(value: float | None) -> str | None:
        if not value:
            return None
        return f"{value:g} month{'s' if value != 1 else ''}"

    terms = [(label, months(s.get(key))) for key, label in SENTENCE_MONTHS]
    terms += [("Fine", usd(s.get("fine_usd")) or None), ("Restitution", usd(s.get("restitution_usd")) or None)]
    steps = [
        ("Charged", s.get("charged")),
        ("Plea or verdict", s.get("plea_or_verdict")),
        ("Sentenced", s.get("sentenced")),
    ]
    return {
        "words": s.get("words") or action.get("sentence"),
        "terms": [(k, v) for k, v in terms if v],
        "steps": [(k, v) for k, v in steps if v],
        "outcome": s.get("outcome"),
        "other": s.get("other"),
    }


def sector_words(sector: str | None) -> str:
    """What an organisation is, in words ('Health plan'); 'unknown' when no sector is recorded."""
    if not sector:
        return "unknown"
    words = SECTOR_LABELS.get(sector) or sector.replace("_", " ")
    return words[:1].upper() + words[1:]


def role_in_action(action: dict) -> dict:
    """An action's two descriptions of its organisation: the role the agreement or penalty names it in
    (entity_type) and what it is (its sector), with a note where they disagree: Anthem, Inc., a health
    plan, is named a business associate of its affiliated covered entities in its 2018 agreement."""
    entity_type, sector = action.get("entity_type"), action.get("sector")
    named = ENTITY_TYPE_LABELS.get(entity_type or "", entity_type) if entity_type else "unknown"
    document = {
        "resolution_agreement": "the resolution agreement",
        "civil_money_penalty": "the civil money penalty",
    }.get(action.get("action_type") or "", "the action")
    note = None
    if entity_type == "business_associate" and sector and not sector.startswith("business_associate"):
        note = (
            f"Named a business associate in {document} because it acted as one for other covered entities; "
            f"its own sector is {sector_words(sector).lower()}."
        )
    return {"named_as": named, "named_in": document, "what_it_is": sector_words(sector), "note": note}


# ------------------------------------------------------------------ an entity's page

# How a record joined its entity (entity_names.method, etl/entities.py), in words.
JOINED_BY = (
    ("override", "a reviewed override"),
    ("alias", "a d/b/a name"),
    ("reduced key", "the same name without a location or designation"),
    ("key", "the same name"),
)


def joined_by(methods: Iterable[str]) -> str:
    """The ways the records under one name joined the entity, in words, loosest first."""
    found = [words for prefix, words in JOINED_BY if any(m.startswith(prefix) for m in methods)]
    return "; ".join(found) or "unknown"


def counted(labels: Iterable[str | None], unit: str) -> str:
    """'Health plan' when every record says so, else 'Health plan (7 reports), Business associate (2
    reports)': most often first, missing labels as 'unknown'."""
    counts: dict[str, int] = defaultdict(int)
    for label in labels:
        counts[label or "unknown"] += 1
    if len(counts) == 1:
        return next(iter(counts))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] == "unknown", kv[0]))
    return ", ".join(f"{label} ({plural(n, unit)})" for label, n in ranked) or "unknown"


def _report_facts(b: dict) -> list[str]:
    if b.get("individuals_affected") is None:
        affected = "individuals affected unknown"
    else:
        affected = plural(b["individuals_affected"], "individual") + " affected"
        if b.get("individuals_placeholder"):
            affected += " (500 or 501: often a placeholder)"
    status = STATUS_LABELS.get(b.get("status") or "", "status unknown")
    return [affected, b.get("breach_type") or "type of breach unknown", status]


def _action_facts(a: dict) -> list[str]:
    named = ENTITY_TYPE_LABELS.get(a.get("entity_type") or "", a.get("entity_type") or "unknown")
    return [usd(a.get("amount_usd")) or "amount not reported", f"named as: {named}"]


def _tied(links: list[dict], by_id: dict[tuple[str, str], dict]) -> dict[tuple[str, str], list[dict]]:
    """For each record, the records of this page the breach-to-action links tie it to, oldest first."""
    tied: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for link in links:
        report, action = ("breach", link["breach_id"]), ("action", link["action_id"])
        if report in by_id and action in by_id:
            for this, other in ((report, action), (action, report)):
                row = by_id[other]
                if other[0] == "breach":
                    text = f"breach report by {row.get('entity_name')}"
                else:
                    label = ACTION_TYPE_LABELS.get(row.get("action_type") or "", "Enforcement action")
                    text = f"{label.lower()} with {row.get('entity')}"
                tied[this].append({"text": text, "path": row["path"], "date": row.get("date"),
                                   "days": link.get("days_to_action")})  # fmt: skip
    for records in tied.values():
        records.sort(key=lambda t: t["date"] or "9999")
    return tied


def timeline_items(entity_id: str, reports: list[dict], actions: list[dict], links: list[dict]) -> list[dict]:
    """An entity's breach reports and enforcement actions as one list, oldest first (undated last), each
    with its facts in words and the records the links tie it to. Rows carry their page's `path`; an
    action against another entity (a parent or subsidiary) that followed one of these reports is marked
    `elsewhere`."""
    by_id = {("breach", b["id"]): b for b in reports} | {("action", a["id"]): a for a in actions}
    tied = _tied(links, by_id)
    items = []
    for (kind, rid), row in by_id.items():
        is_breach = kind == "breach"
        action_label = ACTION_TYPE_LABELS.get(row.get("action_type") or "", "Enforcement action")
        if row.get("agency") and row["agency"] != "ocr":  # whose action it is, when not OCR's
            action_label = f"{AGENCY_SHORT.get(row['agency'], row['agency'])} · {action_label}"
        items.append(
            {
                "kind": kind,
                "id": rid,
                "date": row.get("date"),
                "date_text": long_date(row["date"]) if row.get("date") else "date unknown",
                "label": "Breach report" if is_breach else action_label,
                "name": row.get("entity_name") if is_breach else row.get("entity"),
                "path": row["path"],
                "facts": _report_facts(row) if is_breach else _action_facts(row),
                "tied_label": "Followed by" if is_breach else "Follows",
                "tied": tied[(kind, rid)],
                "elsewhere": not is_breach and row.get("entity_id") != entity_id,
            }
        )
    return sorted(items, key=lambda i: (i["date"] is None, i["date"] or "", i["kind"], i["id"]))


def paid_text(own_actions: list[dict]) -> str:
    """'$16,000,000', '$3,000,000 (1 amount not reported)', 'unknown' when no amount is known, '$0' when
    there is no action."""
    amounts = [a["amount_usd"] for a in own_actions if a.get("amount_usd") is not None]
    if not own_actions:
        return "$0"
    if not amounts:
        return "unknown"
    missing = len(own_actions) - len(amounts)
    return usd(sum(amounts)) + (f" ({plural(missing, 'amount')} not reported)" if missing else "")


def entity_totals(entity_id: str, reports: list[dict], actions: list[dict]) -> dict:
    """Its breach reports, its own enforcement actions, what they cost, and the individuals its reports
    name (the actions against another entity that followed its reports are counted apart)."""
    own = [a for a in actions if a.get("entity_id") == entity_id]
    known = [b["individuals_affected"] for b in reports if b.get("individuals_affected") is not None]
    return {
        "reports": len(reports),
        "reports_text": plural(len(reports), "breach report"),
        "actions": len(own),
        "actions_text": plural(len(own), "enforcement action"),
        "paid_text": paid_text(own),
        "individuals_text": f"{sum(known):,}" if known else "unknown",
        "elsewhere": len(actions) - len(own),
    }


def name_rows(names: list[dict]) -> list[dict]:
    """The names an entity appears under, each with its states, its records and how they joined, in words."""
    rows = []
    for n in names:
        counts = [plural(n["reports"], "breach report") if n["reports"] else "",
                  plural(n["actions"], "enforcement action") if n["actions"] else ""]  # fmt: skip
        states = [state_name(s) for s in (n["states"] or "").split(",") if s]
        rows.append(
            dict(
                n,
                states_text=", ".join(states) or "state unknown",
                counts_text=", ".join(c for c in counts if c),
                joined=joined_by((n["methods"] or "").split(",")),
            )
        )
    return rows


async def entity_page(datasette, entity_id: str) -> dict | None:
    """Everything an entity's page shows: its names, what it is, where, and every breach report and
    enforcement action on one timeline with totals."""
    entity = await _one(datasette, "select * from entities where id = ?", [entity_id])
    if entity is None:
        return None
    urls = datasette.urls
    names = await _rows(
        datasette,
        """
        select n.name, group_concat(distinct n.state) as states, sum(n.source = 'breach') as reports,
               sum(n.source = 'action') as actions, group_concat(distinct n.method) as methods,
               min(coalesce(b.submission_date, a.announced)) as first
        from entity_names n
        left join breaches b on n.source = 'breach' and b.id = n.record_id
        left join enforcement_actions a on n.source = 'action' and a.id = n.record_id
        where n.entity_id = ? group by n.name order by count(*) desc, first, n.name""",
        [entity_id],
    )
    reports = await _rows(
        datasette,
        """
        select id, submission_date as date, entity_name, state, individuals_affected, individuals_placeholder,
               breach_type, covered_entity_type, sector, status
        from breaches where entity_id = ? order by submission_date, id""",
        [entity_id],
    )
    # its own actions, and those against another entity (a parent, a subsidiary) that followed its reports
    actions = await _rows(
        datasette,
        """
        select id, announced as date, entity, entity_id, state, action_type, amount_usd, entity_type, sector, agency
        from enforcement_actions
        where entity_id = :id or id in (select l.action_id from breach_action_links l
                                        join breaches b on b.id = l.breach_id where b.entity_id = :id)
        order by announced, id""",
        {"id": entity_id},
    )
    links = await _rows(
        datasette,
        """
        select l.breach_id, l.action_id, l.days_to_action from breach_action_links l
        join breaches b on b.id = l.breach_id join enforcement_actions a on a.id = l.action_id
        where b.entity_id = :id or a.entity_id = :id""",
        {"id": entity_id},
    )
    related_ids = _json_list(entity.get("related_entities"))
    marks = ", ".join("?" for _ in related_ids)
    related = await _rows(
        datasette, f"select id, name, state from entities where id in ({marks}) order by name", related_ids
    )
    for row, path in [*((b, breach_path) for b in reports), *((a, action_path) for a in actions)]:
        row["path"] = path(urls, row["id"])
    own = [a for a in actions if a["entity_id"] == entity_id]
    return {
        "entity": entity,
        "names": name_rows(names),
        "what_it_is": counted((sector_words(r.get("sector")) for r in [*reports, *own]), "record"),
        "reported_as": counted((ENTITY_TYPE_LABELS.get(b.get("covered_entity_type") or "") for b in reports), "report"),
        "named_as": counted((ENTITY_TYPE_LABELS.get(a.get("entity_type") or "") for a in own), "action"),
        "states": ", ".join(state_name(s) for s in _json_list(entity.get("states"))) or "unknown",
        "timeline": timeline_items(entity_id, reports, actions, links),
        "totals": entity_totals(entity_id, reports, actions),
        "related": [dict(r, path=entity_path(urls, r["id"]), state_text=state_name(r["state"])) for r in related],
        "timeline_query": f"{urls.database(DATABASE)}/entity_timeline?entity_id={quote(entity_id, safe='')}",
    }


# ------------------------------------------------------------------ the Breach Portal over time

# The values of a report that an export can revise, in the order the history table shows them.
TRACKED = (
    ("individuals_affected", "Individuals affected"),
    ("status", "Status"),
    ("breach_type", "Type of breach"),
    ("location", "Location of breached information"),
    ("entity_name", "Name as listed"),
    ("covered_entity_type", "Entity type"),
    ("business_associate_present", "Business associate present"),
)
STATUS_LABELS = {"under_investigation": "Under investigation", "archived": "Closed (archive)"}
GROUPINGS = (
    ("year", "Submission year"),
    ("size", "Individuals affected"),
    ("type", "Type of breach"),
    ("entity", "Entity type"),
)


def _shown(field: str, value: Any) -> str:
    """A value as a reader sees it: numbers with separators, statuses and yes/no in words."""
    if value is None or value == "":
        return "not given"
    if field == "individuals_affected":
        return f"{int(value):,}"
    if field == "status":
        return STATUS_LABELS.get(value, str(value))
    if field == "business_associate_present":
        return "Yes" if value else "No"
    if field == "covered_entity_type":
        return str(value).replace("_", " ").capitalize()
    return str(value)


ALWAYS_SHOWN = ("individuals_affected", "status")


def shown_fields(observations: list[dict]) -> list[str]:
    """The count and status, plus every other tracked value that some export revised."""
    return [field for field, _ in TRACKED if field in ALWAYS_SHOWN or len({repr(o[field]) for o in observations}) > 1]


def history_rows(observations: list[dict], fields: list[str]) -> list[dict]:
    """One row per export that listed the report (oldest first), each value with `changed` set where it
    differs from the export before."""
    rows: list[dict] = []
    previous: dict | None = None
    for obs in observations:
        cells = []
        for field in fields:
            before = previous[field] if previous is not None else obs[field]
            changed = before != obs[field]
            cells.append(
                {
                    "field": field,
                    "text": _shown(field, obs[field]),
                    "changed": changed,
                    "before": _shown(field, before) if changed else None,
                }
            )
        rows.append(
            {
                "export_id": obs["export_id"],
                "export_date": obs["export_date"],
                "tab": obs["tab"],
                "line": obs["line"],
                "cells": cells,
                "revised": any(c["changed"] for c in cells),
            }
        )
        previous = obs
    return rows


async def breach_history(datasette, breach_id: str) -> dict | None:
    found = await _rows(datasette, "select * from breaches where id = ?", [breach_id])
    if not found:
        return None
    observations = await _rows(
        datasette,
        f"""
        select o.export_id, o.line, e.export_date, e.tab, {", ".join("o." + f for f, _ in TRACKED)}
        from breach_observations o join exports e on e.id = o.export_id
        where o.breach_id = ? order by e.export_date, e.id""",
        [breach_id],
    )
    investigation = await _rows(datasette, "select * from investigations where breach_id = ?", [breach_id])
    actions = await _rows(
        datasette,
        """
        select a.id, a.entity, a.announced, a.action_type, a.amount_usd, l.method, l.days_to_action
        from breach_action_links l join enforcement_actions a on a.id = l.action_id
        where l.breach_id = ? order by a.announced""",
        [breach_id],
    )
    left = await _rows(
        datasette,
        """
        select to_export_date from breach_changes where breach_id = ? and kind = 'left_list'
        order by to_export_date""",
        [breach_id],
    )
    urls = datasette.urls
    fields = shown_fields(observations)
    labels = dict(TRACKED)
    return {
        "breach": found[0],
        "history": history_rows(observations, fields),
        "columns": [labels[f] for f in fields],
        "unchanged": [label for field, label in TRACKED if field not in fields],
        "investigation": investigation[0] if investigation else None,
        "left_list": [r["to_export_date"] for r in left],
        "actions": [dict(a, path=action_path(urls, a["id"])) for a in actions],
        "entity_path": entity_path(urls, found[0]["entity_id"]) if found[0]["entity_id"] else None,
        "status": STATUS_LABELS.get(found[0]["status"], found[0]["status"]),
    }


def merge_complete_years(rows: list[dict]) -> list[dict]:
    """Consecutive complete years with the same explanation become one row ("2009 – 2021"), so the
    table is about the years that need a reader's attention."""
    merged: list[dict] = []
    for row in rows:
        last = merged[-1] if merged else None
        if last and row["complete"] and last["complete"] and row["reason"] == last["reason"]:
            last["years"] = f"{last['first_year']} – {row['year']}"
            for key in ("reports", "in_archive", "only_under_investigation"):
                last[key] += row[key]
        else:
            merged.append(dict(row, years=str(row["year"]), first_year=row["year"]))
    return merged


async def coverage_rows(datasette) -> list[dict]:
    """coverage_by_year with the complete years merged; incomplete years stay one row each."""
    return await _once(datasette, "coverage", _coverage_rows)


async def _coverage_rows(datasette) -> list[dict]:
    return merge_complete_years(await _rows(datasette, "select * from coverage_by_year order by year"))


async def investigation_figures(datasette, by: str, actor=None) -> dict:
    """The investigations page: durations grouped `by` one of GROUPINGS, totals, and the export dates
    (once per server and grouping: the database is immutable)."""
    return await _once(datasette, f"investigations:{by}", lambda d: _investigation_figures(d, by, actor))


async def _investigation_figures(datasette, by: str, actor=None) -> dict:
    # The canned query is the one definition of the grouping; the page shows its answer.
    durations = await datasette.get_canned_query(DATABASE, "investigation_durations", actor)
    groups = await _rows(datasette, durations["sql"], {"by": by})
    totals = (
        await _rows(
            datasette,
            """
        select count(*) as reports, sum(closed_before is not null) as closed, sum(still_open) as still_open,
               sum(still_open = 1 and open_days_min > 730) as open_two_years,
               min(first_seen_open) as first_export, max(last_seen_open) as last_export
        from investigations""",
        )
    )[0]
    exports = await _rows(
        datasette,
        """select export_date from exports where tab = 'under_investigation'
                                        order by export_date""",
    )
    return {"groups": groups, "totals": totals, "exports": [e["export_date"] for e in exports]}


# ------------------------------------------------------------------ civil money penalty amounts

PENALTY_SECTION = "160.404"  # Amount of a civil money penalty


async def penalty_figures(datasette) -> dict:
    """The penalties page: today's amounts per culpability tier, every adjustment newest first, and the
    2019 enforcement discretion caps with their inflation-adjusted value (once per server)."""
    return await _once(datasette, "penalties", _penalty_figures)


async def _penalty_figures(datasette) -> dict:
    rows = await _rows(datasette, "select * from penalty_tiers order by effective_date desc, tier")
    history = _adjustments(datasette.urls, [r for r in rows if r["basis"] == "regulation"])
    discretion = _adjustments(datasette.urls, [r for r in rows if r["basis"] == "enforcement_discretion"])
    current, hitech = history[0], history[-1]
    factors = _inflation_factors(hitech, current)
    if discretion:
        adjusted = _adjusted_caps(discretion[0], factors)
        for t in current["tiers"]:
            t["discretion_cap"] = adjusted.get(t["tier"])
    common = {(f["base"], f["now"]) for f in factors.values()}
    return {
        "current": current,
        "hitech": hitech,
        "history": history,
        "discretion": discretion[0] if discretion else None,
        "factor": next(iter(factors.values())) if len(common) == 1 else None,
        "section_path": provision_path(datasette.urls, PENALTY_SECTION),
        "table_url": datasette.urls.table(DATABASE, "penalty_tiers"),
    }


def _adjustments(urls, rows: list[dict]) -> list[dict]:
    """Rows grouped by effective date, in the order given: one set of figures for the four tiers each."""
    by_date: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_date[r["effective_date"]].append(
            dict(
                r, provision_path=provision_path(urls, r["provision"]), provision_citation=cfr_citation(r["provision"])
            )
        )
    return [
        {
            "effective_date": date,
            "date_text": long_date(date),
            "authority": tiers[0]["authority"],
            "federal_register": federal_register(tiers[0]["authority"]),
            "source_url": safe_url(tiers[0]["source_url"]),
            "notes": sorted({t["note"] for t in tiers if t["note"]}),
            "tiers": tiers,
        }
        for date, tiers in by_date.items()
    ]


def _inflation_factors(first: dict, latest: dict) -> dict[int, dict]:
    """Per tier, how much the regulation's annual cap grew from the first figures (2009) to the latest:
    {tier: {"base", "now", "value"}}, for the tiers whose both caps are known."""
    base = {t["tier"]: t["calendar_year_cap"] for t in first["tiers"]}
    now = {t["tier"]: t["calendar_year_cap"] for t in latest["tiers"]}
    return {
        tier: {"base": base[tier], "now": now[tier], "value": now[tier] / base[tier]}
        for tier in sorted(base)
        if base[tier] and now.get(tier)
    }


def _adjusted_caps(discretion: dict, factors: dict[int, dict]) -> dict[int, int]:
    """The enforcement discretion caps (stated in 2009 dollars) in today's dollars, each times its tier's
    factor; set as `adjusted_cap` on the discretion rows too."""
    adjusted = {}
    for t in discretion["tiers"]:
        factor = factors.get(t["tier"])
        t["adjusted_cap"] = (
            round(t["calendar_year_cap"] * factor["value"]) if factor and t["calendar_year_cap"] else None
        )
        adjusted[t["tier"]] = t["adjusted_cap"]
    return adjusted
