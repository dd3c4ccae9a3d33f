"""Incidents: one breach or course of conduct, with every enforcer's action on it and its breach reports.

Inputs: the reviewed files data/curated/incidents.csv (`incident,title,summary`) and incident_links.csv
(`incident,action,breach,evidence`: one member per row, an action named by its enforcement_actions id or
by its curated record id such as `MULTI-2020-Anthem`, or a Breach Portal report id, each with the
evidence that it belongs), and the `breach_action_links` etl/links.py made: a report linked to a member
action joins the incident too, its evidence saying so.

Writes `incidents` (with the total the actions required paid: the sum of their `amount_usd`, which counts
only paid kinds, etl.agencies.PAID_KINDS, and how many civil actions have no known amount, which makes the
total a floor), `incident_members` and `enforcement_actions.incident_id`.
A row naming an action or report absent from this build is skipped and reported (etl.override_problems),
since the files name records of the project's full snapshot.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import sqlite_utils

from etl.context import BuildContext, BuildError, Echo
from etl.csv_input import checked_rows
from etl.override_problems import problem, report

INCIDENTS_FILE = "incidents.csv"
LINKS_FILE = "incident_links.csv"
INCIDENT_COLUMNS = ["incident", "title", "summary"]
LINK_COLUMNS = ["incident", "action", "breach", "evidence"]
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class IncidentFileError(BuildError):
    """A malformed row of the incident files; the message names file, line and field."""


def read_incidents(path: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for line, row in checked_rows(path, INCIDENT_COLUMNS, IncidentFileError):
        if not _SLUG.fullmatch(row["incident"]):
            raise IncidentFileError(f"{path}:{line}: field 'incident': not a slug: {row['incident']!r}")
        if not row["title"].strip():
            raise IncidentFileError(f"{path}:{line}: field 'title': empty")
        if row["incident"] in out:
            raise IncidentFileError(f"{path}:{line}: field 'incident': {row['incident']} listed twice")
        out[row["incident"]] = row
    return out


def read_links(path: Path, incidents: dict[str, dict[str, str]]) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for line, row in checked_rows(path, LINK_COLUMNS, IncidentFileError):
        where = f"{path}:{line}"
        if row["incident"] not in incidents:
            raise IncidentFileError(f"{where}: field 'incident': {row['incident']!r} is not in {INCIDENTS_FILE}")
        if bool(row["action"].strip()) == bool(row["breach"].strip()):
            raise IncidentFileError(f"{where}: field 'action': give either an action or a breach report")
        if not row["evidence"].strip():
            raise IncidentFileError(f"{where}: field 'evidence': every member needs its evidence")
        rows.append((line, row))
    return rows


def resolve_members(
    db: sqlite_utils.Database, links: list[tuple[int, dict[str, str]]], path: Path
) -> tuple[list[dict[str, Any]], list[dict]]:
    """incident_members rows of the links whose action or report is in this build, and the skipped rows."""
    ids = {r["id"]: r["id"] for r in db.query("select id from enforcement_actions")}
    ids |= {
        r["source_record"]: r["id"]
        for r in db.query("select id, source_record from enforcement_actions where source_record is not null")
    }
    reports = {r["id"] for r in db.query("select id from breaches")}
    members, skipped = [], []
    for line, row in links:
        action, breach = row["action"].strip(), row["breach"].strip()
        if action and action not in ids:
            skipped.append(problem(path, line, "action", f"no action {action!r} in this build"))
            continue
        if breach and breach not in reports:
            skipped.append(problem(path, line, "breach", f"no breach report {breach!r} in this build"))
            continue
        members.append(
            {
                "incident_id": row["incident"],
                "action_id": ids[action] if action else None,
                "breach_id": breach or None,
                "evidence": row["evidence"].strip(),
                "source": "curated",
            }
        )
    return members, skipped


def linked_reports(db: sqlite_utils.Database, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reports etl/links.py linked to a member action, not already members of that incident."""
    have = {(m["incident_id"], m["breach_id"]) for m in members if m["breach_id"]}
    out = []
    for m in [m for m in members if m["action_id"]]:
        for link in db.query(
            "select breach_id, evidence from breach_action_links where action_id = ? order by breach_id",
            [m["action_id"]],
        ):
            if (m["incident_id"], link["breach_id"]) in have:
                continue
            have.add((m["incident_id"], link["breach_id"]))
            out.append(
                {
                    "incident_id": m["incident_id"],
                    "action_id": None,
                    "breach_id": link["breach_id"],
                    "evidence": f"linked to action {m['action_id']} by the breach-action rules: {link['evidence']}",
                    "source": "breach_action_links",
                }
            )
    return out


def incident_rows(
    db: sqlite_utils.Database, incidents: dict[str, dict[str, str]], members: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    actions = {r["id"]: r for r in db.query("select id, agency, announced, year, amount_usd from enforcement_actions")}
    rows = []
    for incident_id, row in incidents.items():
        mine = [actions[m["action_id"]] for m in members if m["incident_id"] == incident_id and m["action_id"]]
        reports = sorted(m["breach_id"] for m in members if m["incident_id"] == incident_id and m["breach_id"])
        dates = sorted(a["announced"] or str(a["year"]) for a in mine if a["announced"] or a["year"])
        paid = [a["amount_usd"] for a in mine if a["amount_usd"] is not None]
        rows.append(
            {
                "id": incident_id,
                "title": row["title"].strip(),
                "summary": row["summary"].strip() or None,
                "actions": len(mine),
                "agencies": json.dumps(sorted({a["agency"] for a in mine})),
                "first_action": dates[0] if dates else None,
                "last_action": dates[-1] if dates else None,
                "total_paid_usd": sum(paid) if paid else None,
                # Members whose amount no source gave (criminal cases have none): the total is then a floor.
                "actions_amount_unknown": sum(1 for a in mine if a["amount_usd"] is None and a["agency"] != "doj"),
                "breach_reports": len(reports),
                "first_breach_id": reports[0] if reports else None,
            }
        )
    return rows


def write(db: sqlite_utils.Database, incidents: list[dict[str, Any]], members: list[dict[str, Any]]) -> None:
    for table in ("incident_members", "incidents"):
        db[table].drop(ignore=True)
    db.table("incidents").create(
        {
            "id": str,
            "title": str,
            "summary": str,
            "actions": int,
            "agencies": str,
            "first_action": str,
            "last_action": str,
            "total_paid_usd": int,
            "actions_amount_unknown": int,
            "breach_reports": int,
            "first_breach_id": str,
        },
        pk="id",
        foreign_keys=[("first_breach_id", "breaches", "id")],
    )
    db.table("incidents").insert_all(incidents)
    db.table("incident_members").create(
        {"id": int, "incident_id": str, "action_id": str, "breach_id": str, "evidence": str, "source": str},
        pk="id",
        foreign_keys=[
            ("incident_id", "incidents", "id"),
            ("action_id", "enforcement_actions", "id"),
            ("breach_id", "breaches", "id"),
        ],
    )
    db.table("incident_members").insert_all({"id": n, **m} for n, m in enumerate(members, start=1))
    for column in ("incident_id", "action_id", "breach_id"):
        db.table("incident_members").create_index([column], if_not_exists=True)
    actions = db.table("enforcement_actions")
    if "incident_id" not in actions.columns_dict:
        actions.add_column("incident_id", str, fk="incidents", fk_col="id")
    db.execute("update enforcement_actions set incident_id = null")
    for m in members:
        if m["action_id"]:
            db.execute(
                "update enforcement_actions set incident_id = ? where id = ?", [m["incident_id"], m["action_id"]]
            )
    actions.create_index(["incident_id"], if_not_exists=True)


def build(db: sqlite_utils.Database, folder: Path, echo: Echo = print, warnings: list[dict] | None = None) -> dict:
    incidents_path, links_path = folder / INCIDENTS_FILE, folder / LINKS_FILE
    incidents = read_incidents(incidents_path)
    links = read_links(links_path, incidents)
    members, skipped = resolve_members(db, links, links_path)
    report(skipped, echo, warnings)
    members += linked_reports(db, members)
    rows = incident_rows(db, incidents, members)
    write(db, rows, members)
    n_actions = sum(1 for m in members if m["action_id"])
    echo(
        f"derive incidents: {len(rows)} incidents; {len(links)} curated members = {len(links) - len(skipped)} "
        f"placed + {len(skipped)} skipped; {n_actions} actions, "
        f"{len(members) - n_actions} breach reports ({sum(m['source'] != 'curated' for m in members)} via links)"
    )
    return {"incidents": len(rows), "incident_members": len(members)}


def stage(ctx: BuildContext) -> None:
    """Build stage: after etl.links (it reads breach_action_links), before etl.override_problems."""
    ctx.counts.update(build(ctx.db, ctx.curated_dir, ctx.echo, ctx.warnings))
