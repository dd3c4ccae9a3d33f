"""The Breach Portal over time, on pages: a breach report's history across every export that listed it,
the investigations page (how long reports stay under investigation), and the coverage of each submission
year for the home page. Reads the tables of etl/changes.py, etl/investigations.py and etl/coverage.py.

Source text reaches HTML only through Jinja autoescaping; links are built with `datasette.urls`.
"""
from __future__ import annotations

from typing import Any, Iterable

from datasette import hookimpl
from datasette.utils import urlsafe_components
from datasette.utils.asgi import Response

DATABASE = "kb"
# The values of a report that an export can revise, in the order the history table shows them.
TRACKED = (("individuals_affected", "Individuals affected"), ("status", "Status"),
           ("breach_type", "Type of breach"), ("location", "Location of breached information"),
           ("entity_name", "Name as listed"), ("covered_entity_type", "Entity type"),
           ("business_associate_present", "Business associate present"))
STATUS_LABELS = {"under_investigation": "Under investigation", "archived": "Closed (archive)"}
GROUPINGS = (("year", "Submission year"), ("size", "Individuals affected"), ("type", "Type of breach"),
             ("entity", "Entity type"))


async def _rows(datasette, sql: str, params: Iterable | dict = ()) -> list[dict]:
    result = await datasette.get_database(DATABASE).execute(sql, params)
    return [dict(r) for r in result.rows]


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
    return [field for field, _ in TRACKED
            if field in ALWAYS_SHOWN or len({repr(o[field]) for o in observations}) > 1]


def history_rows(observations: list[dict], fields: list[str]) -> list[dict]:
    """One row per export that listed the report (oldest first), each value with `changed` set where it
    differs from the export before."""
    rows, previous = [], None
    for obs in observations:
        cells = []
        for field in fields:
            changed = previous is not None and previous[field] != obs[field]
            cells.append({"field": field, "text": _shown(field, obs[field]), "changed": changed,
                          "before": _shown(field, previous[field]) if changed else None})
        rows.append({"export_id": obs["export_id"], "export_date": obs["export_date"], "tab": obs["tab"],
                     "line": obs["line"], "cells": cells, "revised": any(c["changed"] for c in cells)})
        previous = obs
    return rows


async def breach_history(datasette, breach_id: str) -> dict | None:
    found = await _rows(datasette, "select * from breaches where id = ?", [breach_id])
    if not found:
        return None
    observations = await _rows(datasette, f"""
        select o.export_id, o.line, e.export_date, e.tab, {", ".join("o." + f for f, _ in TRACKED)}
        from breach_observations o join exports e on e.id = o.export_id
        where o.breach_id = ? order by e.export_date, e.id""", [breach_id])
    investigation = await _rows(datasette, "select * from investigations where breach_id = ?", [breach_id])
    actions = await _rows(datasette, """
        select a.id, a.entity, a.announced, a.action_type, a.amount_usd, l.method, l.days_to_action
        from breach_action_links l join enforcement_actions a on a.id = l.action_id
        where l.breach_id = ? order by a.announced""", [breach_id])
    left = await _rows(datasette, """
        select to_export_date from breach_changes where breach_id = ? and kind = 'left_list'
        order by to_export_date""", [breach_id])
    urls = datasette.urls
    fields = shown_fields(observations)
    labels = dict(TRACKED)
    return {
        "breach": found[0], "history": history_rows(observations, fields), "columns": [labels[f] for f in fields],
        "unchanged": [label for field, label in TRACKED if field not in fields],
        "investigation": investigation[0] if investigation else None, "left_list": [r["to_export_date"] for r in left],
        "actions": [dict(a, path=urls.row(DATABASE, "enforcement_actions", a["id"])) for a in actions],
        "entity_path": urls.row(DATABASE, "entities", found[0]["entity_id"]) if found[0]["entity_id"] else None,
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
    return merge_complete_years(await _rows(datasette, "select * from coverage_by_year order by year"))


async def investigations_page(datasette, request):
    by = request.args.get("by") or "year"
    if by not in dict(GROUPINGS):
        by = "year"
    # The canned query is the one definition of the grouping; the page shows its answer.
    durations = await datasette.get_canned_query(DATABASE, "investigation_durations", request.actor)
    groups = await _rows(datasette, durations["sql"], {"by": by})
    totals = (await _rows(datasette, """
        select count(*) as reports, sum(closed_before is not null) as closed, sum(still_open) as still_open,
               sum(still_open = 1 and open_days_min > 730) as open_two_years,
               min(first_seen_open) as first_export, max(last_seen_open) as last_export
        from investigations"""))[0]
    exports = await _rows(datasette, """select export_date from exports where tab = 'under_investigation'
                                        order by export_date""")
    urls = datasette.urls
    queries = [(name, title, urls.query(DATABASE, name)) for name, title in (
        ("investigation_durations", "Durations by group (also as JSON and CSV)"),
        ("investigations_open_over_two_years", "Reports still under investigation after two years"),
        ("placeholder_counts_after_six_months", "Counts still a 500 / 501 placeholder after six months"),
        ("largest_upward_revisions", "The largest upward revisions of individuals affected"))]
    return Response.html(await datasette.render_template("investigations.html", {
        "by": by, "by_label": dict(GROUPINGS)[by], "groupings": GROUPINGS, "groups": groups, "totals": totals,
        "exports": [e["export_date"] for e in exports], "queries": queries,
        "table_url": urls.table(DATABASE, "investigations"),
    }, request=request))


@hookimpl
def register_routes():
    return [(r"^/-/investigations$", investigations_page)]


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def inner():
        if view_name == "row" and database == DATABASE and table == "breaches" and request:
            breach_id = urlsafe_components(request.url_vars["pks"])[0]
            return {"report": await breach_history(datasette, breach_id)}
        if template == "index.html":
            return {"coverage": await coverage_rows(datasette)}
        return {}
    return inner
