"""The SQL of the enforcer and incident pages (kb_site.enforcers): the four enforcers side by side, one
enforcer's figures (counts by year, largest actions or longest sentences, states, forms, legal bases), the
incidents and one incident with every enforcer's action on it, and the incident line of a case brief.

Async functions of `datasette`; links are built with `datasette.urls` (kb_site.formatting). Labels come
from etl.agencies (AGENCIES, AGENCY_SHORT, AGENCY_BASIS, ACTION_FORMS, AMOUNT_KINDS, PAID_KINDS), so a new
enforcer or form needs no change here. Reads enforcement_actions (its `agency`, `states`, `multistate`,
`incident_id`), action_amounts, criminal_sentences, action_provisions, incidents, incident_members and
breaches (etl/load_enforcers.py, etl/incidents.py).
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Iterable
from typing import Any

from datasette.utils import tilde_encode

from etl.agencies import ACTION_FORMS, AGENCIES, AGENCY_BASIS, AGENCY_SHORT, AMOUNT_KINDS, PAID_KINDS
from kb_site.charts import bar_chart
from kb_site.formatting import (
    DATABASE,
    action_path,
    breach_path,
    cfr_citation,
    long_date,
    plural,
    provision_path,
    safe_url,
    state_name,
    usd,
)

FEED = "feed_agency_actions"  # the canned query of the per-enforcer Atom feeds (kb_site/metadata/enforcers.yml)
PAID_WORDS = (
    "the sum of what each action required paid: settlements, civil money penalties, consumer redress and "
    "payments to states. Suspended amounts, security spending an order requires or credits, refunds paid "
    "out under an earlier order and criminal fines or restitution are not counted."
)
LISTED_ALL_UP_TO = 100  # an enforcer with more actions lists its latest ones and links to the table
LATEST = 25
STATES_SHOWN = 15  # the states with the most actions; the others are folded


def agency_slug(agency: str) -> str:
    """The enforcer's path segment: 'state-ag' for state_ag."""
    return agency.replace("_", "-")


def agency_code(segment: str) -> str | None:
    """The agency of a path segment ('state-ag' or 'state_ag' -> 'state_ag'), None when unknown."""
    code = (segment or "").strip().lower().replace("-", "_")
    return code if code in AGENCIES else None


def form_words(action_type: str | None) -> str:
    return ACTION_FORMS.get(action_type or "", action_type or "unknown form")


def basis_words(provision: str | None, label: str | None) -> str:
    """A legal basis as a citation in words: '45 CFR 164.308(a)', '45 CFR 164 Subpart C', '15 U.S.C. 45(a)',
    or the law as written."""
    if provision:
        return cfr_citation(provision)
    return label or "unknown"


def date_text(announced: str | None, year: Any) -> str:
    """An action's date in words; an action known only by its year says so; none reads 'date unknown'."""
    if announced:
        return long_date(announced)
    return f"{year} (day not known)" if year else "date unknown"


def states_words(states: list, lead_states: list, multistate: Any, note: str | None) -> str | None:
    """Whose action it is, for a state attorney general's: 'Massachusetts and Connecticut', '28 states, led by
    Tennessee', or the source's note when a multistate action's states are not listed; None when nothing
    is known."""
    states = [s for s in states if s]
    if states:
        names = [state_name(s) for s in states]
        if len(names) <= 4:
            return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        leads = [state_name(s) for s in lead_states if s and s in states and len(lead_states) < len(states)]
        return f"{len(names)} states" + (f", led by {' and '.join(leads)}" if leads else "")
    if multistate:
        return note or "several states (not listed)"
    return note or None


def _json_list(value: Any) -> list:
    if isinstance(value, list):
        return value
    try:
        parsed = json.loads(value) if value else []
    except (TypeError, ValueError):
        return []
    return parsed if isinstance(parsed, list) else []


async def _rows(datasette, sql: str, params: Iterable | dict = ()) -> list[dict]:
    result = await datasette.get_database(DATABASE).execute(sql, params)
    return [dict(r) for r in result.rows]


# The database is served immutable: what is derived from the whole file is computed once per server.
_derived: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _once(datasette, name: str, compute):
    per_server = _derived.setdefault(datasette, {})
    if name not in per_server:
        per_server[name] = await compute()
    return per_server[name]


def enforcer_links(urls, agency: str) -> dict:
    slug = agency_slug(agency)
    table = urls.table(DATABASE, "enforcement_actions")
    return {
        "page": urls.path(f"/-/enforcers/{slug}"),
        "json": urls.path(f"/-/enforcers/{slug}.json"),
        "table": f"{table}?agency={agency}",
        "table_json": urls.table(DATABASE, "enforcement_actions", format="json") + f"?agency={agency}&_shape=array",
        "feed": urls.query(DATABASE, FEED, format="atom") + f"?agency={agency}&before=",
    }


def _action_row(urls, a: dict) -> dict:
    """One action as the pages show it: its words, its amount and its case page."""
    return {
        "id": a["id"],
        "entity": a["entity"],
        "agency": a["agency"],
        "agency_label": AGENCY_SHORT.get(a["agency"], a["agency"]),
        "agency_name": AGENCIES.get(a["agency"], a["agency"]),
        "announced": a["announced"],
        "year": a["year"],
        "date_text": date_text(a["announced"], a["year"]),
        "action_type": a["action_type"],
        "form": form_words(a["action_type"]),
        "amount_usd": a["amount_usd"],
        "amount_text": usd(a["amount_usd"]) if a["amount_usd"] is not None else "unknown",
        "states": _json_list(a.get("states")),
        "multistate": bool(a.get("multistate")),
        "states_text": states_words(
            _json_list(a.get("states")), _json_list(a.get("lead_states")), a.get("multistate"), a.get("states_note")
        )
        if a["agency"] == "state_ag"
        else None,
        "sentence": a.get("sentence"),
        "url": action_path(urls, a["id"]),
    }


# ------------------------------------------------------------------ the four enforcers


async def enforcers_overview(datasette) -> list[dict]:
    """Every enforcer in AGENCIES order, with its counts, years covered and total paid (an enforcer with no
    action in this build is listed with zeros)."""

    async def compute() -> list[dict]:
        rows = await _rows(
            datasette,
            """
            select agency, count(*) as actions, min(year) as first_year, max(year) as last_year,
                   sum(amount_usd) as paid_usd, count(amount_usd) as with_amount,
                   sum(amount_usd > 0) as paid_something, sum(incident_id is not null) as in_incidents,
                   (select count(*) from criminal_sentences s join enforcement_actions d on d.id = s.action_id
                    where d.agency = a.agency and s.prison_months > 0) as prison_sentences
            from enforcement_actions a group by agency""",
        )
        by_agency = {r["agency"]: r for r in rows}
        out = []
        for code in [*AGENCIES, *sorted(set(by_agency) - set(AGENCIES))]:
            r = by_agency.get(code) or {"actions": 0, "first_year": None, "last_year": None, "paid_usd": None,
                                        "with_amount": 0, "paid_something": 0, "in_incidents": 0,
                                        "prison_sentences": 0}  # fmt: skip
            out.append(
                {
                    "agency": code,
                    "slug": agency_slug(code),
                    "name": AGENCIES.get(code, code),
                    "short": AGENCY_SHORT.get(code, code),
                    "basis": AGENCY_BASIS.get(code, "unknown"),
                    "actions": r["actions"],
                    "first_year": r["first_year"],
                    "last_year": r["last_year"],
                    "years_text": _years_text(r["first_year"], r["last_year"]),
                    "paid_usd": r["paid_usd"],
                    "paid_text": usd(r["paid_usd"]) if r["paid_usd"] is not None else "unknown",
                    "with_amount": r["with_amount"],
                    "in_incidents": r["in_incidents"],
                    "prison_sentences": r["prison_sentences"],
                    "links": enforcer_links(datasette.urls, code),
                }
            )
        return out

    return await _once(datasette, "enforcers_overview", compute)


def _years_text(first: Any, last: Any) -> str:
    if first is None:
        return "unknown"
    return str(first) if first == last else f"{first} – {last}"


# ------------------------------------------------------------------ one enforcer


async def enforcer_figures(datasette, agency: str) -> dict | None:
    """One enforcer's page: None for an agency code this site does not know."""
    if agency not in AGENCIES:
        return None
    return await _once(datasette, f"enforcer:{agency}", lambda: _enforcer_figures(datasette, agency))


async def _enforcer_figures(datasette, agency: str) -> dict:
    urls = datasette.urls
    overview = next(e for e in await enforcers_overview(datasette) if e["agency"] == agency)
    links = overview["links"]
    per_year = await _rows(
        datasette,
        """
        select year, count(*) as actions, coalesce(sum(amount_usd), 0) as paid_usd
        from enforcement_actions where agency = ? and year is not null group by year order by year""",
        [agency],
    )
    undated = (
        await _rows(
            datasette, "select count(*) as n from enforcement_actions where agency = ? and year is null", [agency]
        )
    )[0]["n"]
    actions = await _rows(
        datasette,
        """
        select a.id, a.entity, a.agency, a.announced, a.year, a.action_type, a.amount_usd, a.states,
               a.lead_states, a.multistate, a.states_note, a.sentence, a.incident_id, s.prison_months, s.probation_months,
               s.supervised_release_months, s.fine_usd, s.restitution_usd, s.outcome
        from enforcement_actions a left join criminal_sentences s on s.action_id = a.id
        where a.agency = ?
        order by coalesce(a.announced, cast(a.year as text)) desc, a.id""",
        [agency],
    )
    rows = [{**_action_row(urls, a), "incident_id": a["incident_id"]} for a in actions]
    by_id = {r["id"]: r for r in rows}
    if agency == "doj":
        largest_kind = "sentences"
        ranked = sorted(
            (a for a in actions if (a["prison_months"] or 0) > 0 or (a["probation_months"] or 0) > 0),
            key=lambda a: (-(a["prison_months"] or 0), -(a["probation_months"] or 0), a["id"]),
        )
        largest = [{**by_id[a["id"]], "sentence": a["sentence"] or "unknown"} for a in ranked[:10]]
    else:
        largest_kind = "amounts"
        ranked = sorted((a for a in actions if (a["amount_usd"] or 0) > 0), key=lambda a: (-a["amount_usd"], a["id"]))
        largest = [by_id[a["id"]] for a in ranked[:10]]
    forms = await _rows(
        datasette,
        """
        select action_type, count(*) as actions, sum(amount_usd) as paid_usd
        from enforcement_actions where agency = ? group by action_type order by actions desc, action_type""",
        [agency],
    )
    table = links["table"]
    forms = [
        {**f, "form": form_words(f["action_type"]), "url": f"{table}&action_type={f['action_type']}"} for f in forms
    ]
    bases = await _rows(
        datasette,
        """
        select p.provision, max(p.provision_id) as provision_id,
               case when p.provision is null then p.label end as label, p.basis,
               count(distinct p.action_id) as actions
        from action_provisions p join enforcement_actions a on a.id = p.action_id
        where a.agency = ?
        group by p.provision, case when p.provision is null then p.label end
        order by actions desc, p.provision is null, coalesce(p.provision, p.label)
        limit 12""",
        [agency],
    )
    bases = [
        {
            "citation": basis_words(b["provision"], b["label"]),
            "as_written": b["provision"] is None,
            "actions": b["actions"],
            "url": provision_path(urls, b["provision_id"]) if b["provision_id"] else None,
        }
        for b in bases
    ]
    states = await _state_figures(datasette, agency, table) if agency == "state_ag" else None
    incidents = await _rows(
        datasette,
        """
        select i.id, i.title, i.actions, i.total_paid_usd, count(*) as own
        from incidents i join enforcement_actions a on a.incident_id = i.id
        where a.agency = ? group by i.id order by i.first_action, i.id""",
        [agency],
    )
    incidents = [
        {**i, "url": urls.path(f"/-/incidents/{i['id']}"), "total_paid_text": usd(i["total_paid_usd"]) or "unknown"}
        for i in incidents
    ]
    years = [str(y) for y in range(per_year[0]["year"], per_year[-1]["year"] + 1)] if per_year else []
    counts = {str(r["year"]): r["actions"] for r in per_year}
    chart = bar_chart(
        [(y, counts.get(y, 0)) for y in years],
        title=f"{overview['short']} actions per year",
        # no links on the bars: charts.py gives a year without actions an empty link (axe: link-name); the
        # table under the chart links each year instead
    )
    listed = rows if len(rows) <= LISTED_ALL_UP_TO else rows[:LATEST]
    return {
        **overview,
        "per_year": [{"year": y, "actions": counts.get(y, 0), "url": f"{table}&year={y}"} for y in years],
        "undated": undated,
        "largest_kind": largest_kind,
        "largest": largest,
        "forms": forms,
        "bases": bases,
        "states": states,
        "incidents": incidents,
        "listed": listed,
        "listed_all": len(listed) == len(rows),
        "chart": chart,
    }


async def _state_figures(datasette, agency: str, table: str) -> dict:
    """State attorneys general: actions per state (a multistate action counts once under each state it
    names), and how many actions were brought by one state or by several."""
    per_state = await _rows(
        datasette,
        """
        select s.value as state, count(*) as actions, sum(a.multistate) as multistate,
               count(case when a.cites_hipaa = 1 then 1 end) as cite_hipaa,
               count(case when a.cites_hipaa is null then 1 end) as hipaa_unknown
        from enforcement_actions a, json_each(a.states) s
        where a.agency = ? group by s.value order by actions desc, s.value""",
        [agency],
    )
    split = (
        await _rows(
            datasette,
            """
            select sum(multistate = 1) as multistate, sum(multistate = 0) as single,
                   sum(multistate is null) as unknown,
                   sum(multistate = 1 and json_array_length(coalesce(states, '[]')) = 0) as multistate_unlisted
            from enforcement_actions where agency = ?""",
            [agency],
        )
    )[0]
    return {
        "per_state": [
            {**s, "name": state_name(s["state"]), "url": f"{table}&states__arraycontains={s['state']}"}
            for s in per_state
        ],
        "shown_first": STATES_SHOWN,
        "multistate": split["multistate"] or 0,
        "single": split["single"] or 0,
        "unknown": split["unknown"] or 0,
        "multistate_unlisted": split["multistate_unlisted"] or 0,
    }


# ------------------------------------------------------------------ incidents


def incident_path(urls, incident_id: str) -> str:
    return urls.path(f"/-/incidents/{incident_id}")


def agencies_text(counts: dict[str, int]) -> str:
    """'OCR (1), State AG (2)' in AGENCIES order."""
    order = [*AGENCIES, *sorted(set(counts) - set(AGENCIES))]
    return ", ".join(f"{AGENCY_SHORT.get(a, a)} ({counts[a]})" for a in order if counts.get(a))


async def incidents_list(datasette) -> list[dict]:
    async def compute() -> list[dict]:
        rows = await _rows(
            datasette,
            """
            select i.*, (select group_concat(a.agency) from enforcement_actions a where a.incident_id = i.id)
                     as member_agencies
            from incidents i order by i.first_action, i.id""",
        )
        out = []
        for r in rows:
            counts: dict[str, int] = {}
            for code in (r.pop("member_agencies") or "").split(","):
                if code:
                    counts[code] = counts.get(code, 0) + 1
            out.append(
                {
                    **r,
                    "agencies": _json_list(r["agencies"]),
                    "agency_counts": counts,
                    "agencies_text": agencies_text(counts) or "no action in this build",
                    "years_text": _years_text(
                        (r["first_action"] or "")[:4] or None, (r["last_action"] or "")[:4] or None
                    ),
                    "total_paid_text": usd(r["total_paid_usd"]) if r["total_paid_usd"] is not None else "unknown",
                    "url": incident_path(datasette.urls, r["id"]),
                }
            )
        return out

    return await _once(datasette, "incidents", compute)


def evidence_parts(evidence: str | None) -> dict:
    """An evidence note split into its words and the http(s) addresses it cites (links)."""
    text = evidence or ""
    found = re.findall(r"https?://[^\s;,]+", text)
    urls = [u for u in (safe_url(f.rstrip(".)")) for f in found) if u]
    words = re.sub(r"\s*;?\s*https?://[^\s;,]+", "", text).strip(" ;") if found else text.strip()
    return {"text": words or None, "urls": urls}


async def incident_figures(datasette, incident_id: str) -> dict | None:
    urls = datasette.urls
    found = await _rows(datasette, "select * from incidents where id = ?", [incident_id])
    if not found:
        return None
    incident = found[0]
    actions = await _rows(
        datasette,
        """
        select a.id, a.entity, a.agency, a.announced, a.year, a.action_type, a.amount_usd, a.states,
               a.lead_states, a.multistate, a.states_note, a.sentence, m.evidence, m.source
        from enforcement_actions a left join incident_members m on m.action_id = a.id and m.incident_id = a.incident_id
        where a.incident_id = ?
        order by coalesce(a.announced, cast(a.year as text)), a.id""",
        [incident_id],
    )
    amounts = await _rows(
        datasette,
        """
        select x.action_id, x.n, x.kind, x.amount_usd, x.note
        from action_amounts x join enforcement_actions a on a.id = x.action_id
        where a.incident_id = ? order by x.action_id, x.n""",
        [incident_id],
    )
    by_action: dict[str, list[dict]] = {}
    for x in amounts:
        by_action.setdefault(x["action_id"], []).append(
            {
                "kind": x["kind"],
                "kind_label": AMOUNT_KINDS.get(x["kind"], x["kind"] or "unknown"),
                "amount_usd": x["amount_usd"],
                "amount_text": usd(x["amount_usd"]) if x["amount_usd"] is not None else "unknown",
                "counted": x["kind"] in PAID_KINDS,
                "note": x["note"] or None,
            }
        )
    members = []
    counts: dict[str, int] = {}
    for a in actions:
        counts[a["agency"]] = counts.get(a["agency"], 0) + 1
        members.append(
            {
                **_action_row(urls, a),
                "amounts": by_action.get(a["id"], []),
                # one paid amount that is the action's amount says nothing more: the page lists it only when
                # there is more to it (several parts, or a kind that is not counted)
                "amounts_itemized": not _just_paid(by_action.get(a["id"], []), a["amount_usd"]),
                "evidence": evidence_parts(a["evidence"]),
                "evidence_source": a["source"],
            }
        )
    reports = await _rows(
        datasette,
        """
        select b.id, b.entity_name, b.state, b.submission_date, b.individuals_affected, b.breach_type,
               m.evidence, m.source
        from incident_members m join breaches b on b.id = m.breach_id
        where m.incident_id = ? order by b.submission_date, b.id""",
        [incident_id],
    )
    reports = [
        {
            "id": b["id"],
            "entity_name": b["entity_name"],
            "state": b["state"],
            "submission_date": b["submission_date"],
            "date_text": long_date(b["submission_date"]) or "date unknown",
            "individuals_affected": b["individuals_affected"],
            "individuals_text": f"{b['individuals_affected']:,}"
            if b["individuals_affected"] is not None
            else "unknown",
            "breach_type": b["breach_type"] or "unknown",
            "url": breach_path(urls, b["id"]),
            "evidence": evidence_parts(b["evidence"]),
            "evidence_source": b["source"],
        }
        for b in reports
    ]
    total = incident["total_paid_usd"]
    return {
        "id": incident["id"],
        "title": incident["title"],
        "summary": incident["summary"],
        "actions_count": len(members),
        "agencies": [a for a in AGENCIES if a in counts] + sorted(set(counts) - set(AGENCIES)),
        "agencies_text": agencies_text(counts) or "no action in this build",
        "first_action": incident["first_action"],
        "last_action": incident["last_action"],
        "total_paid_usd": total,
        "total_paid_text": usd(total) if total is not None else "unknown",
        "total_paid_counts": PAID_WORDS,
        # actions (criminal cases aside) whose amount no source gave: the total is then a floor
        "amount_unknown": incident.get("actions_amount_unknown") or 0,
        "actions": members,
        "breach_reports": reports,
        "url": incident_path(urls, incident["id"]),
        "json_url": urls.path(f"/-/incidents/{incident['id']}.json"),
        "query_url": urls.query(DATABASE, "actions_same_incident") + f"?incident={incident['id']}",
    }


def _just_paid(amounts: list[dict], amount_usd: Any) -> bool:
    return not amounts or (
        len(amounts) == 1 and amounts[0]["kind"] == "paid" and amounts[0]["amount_usd"] == amount_usd
    )


async def incident_of_action(datasette, action_id: str) -> dict | None:
    """The incident an action belongs to, for its case brief (kb_site/templates/_incident_line.html):
    {"id", "title", "url", "actions", "agencies_text", "text", "others": [{"id", "entity", "agency_label",
    "date_text", "url"}], "reports": the incident's Breach Portal reports}, or None when the action is on no
    incident."""
    rows = await _rows(
        datasette,
        """
        select i.id, i.title, a.id as action_id, a.entity, a.agency, a.announced, a.year
        from enforcement_actions own join incidents i on i.id = own.incident_id
        join enforcement_actions a on a.incident_id = i.id
        where own.id = ? order by coalesce(a.announced, cast(a.year as text)), a.id""",
        [action_id],
    )
    if not rows:
        return None
    reports = await _rows(
        datasette,
        """
        select b.id, b.entity_name, b.state, b.submission_date, b.individuals_affected
        from incident_members m join breaches b on b.id = m.breach_id
        where m.incident_id = ? order by b.submission_date, b.id""",
        [rows[0]["id"]],
    )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["agency"]] = counts.get(r["agency"], 0) + 1
    first = rows[0]
    url = incident_path(datasette.urls, first["id"])
    n = len(rows)
    return {
        "id": first["id"],
        "title": first["title"],
        "url": url,
        "actions": n,
        "agencies_text": agencies_text(counts),
        "text": f"{plural(n, 'action')} by {agencies_text(counts)}",
        "reports": [{**r, "url": datasette.urls.row(DATABASE, "breaches", tilde_encode(r["id"]))} for r in reports],
        "others": [
            {
                "id": r["action_id"],
                "entity": r["entity"],
                "agency_label": AGENCY_SHORT.get(r["agency"], r["agency"]),
                "date_text": date_text(r["announced"], r["year"]),
                "url": action_path(datasette.urls, r["action_id"]),
            }
            for r in rows
            if r["action_id"] != action_id
        ],
    }
