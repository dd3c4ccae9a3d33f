"""`investigations`: how long each breach report stayed on the under-investigation list, as honest bounds.

OCR publishes no closing dates. What the exports show is which report each under-investigation export
lists; a report that one export lists and the next export of the same list no longer lists was closed
(or withdrawn) between the two. So for every report ever listed as under investigation:

- `first_seen_open` / `last_seen_open`: export dates of the first and last under-investigation export
  listing it;
- `closed_after` / `closed_before`: the last export that listed it and the first later export of that tab
  that no longer lists it (both null while the newest export still lists it: `still_open` = 1);
- `open_days_min` / `open_days_max`: the open period in days from the submission date, as bounds. An
  export known only to the month happened no earlier than the first day of that month or the newest
  submission date it lists, and no later than the month's last day; the bounds use those extremes, never
  a made-up day. For a report still open, `open_days_max` is null (the investigation has not ended);
- `closure_confirmed_by`: a later archive export that lists the report (its closure is then certain).

The computation is a pure function (`compute_investigations`); `stage` reads and writes the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from etl.context import BuildContext, Echo
from etl.normalize.dates import period_end, period_start

OPEN_TAB = "under_investigation"
CLOSED_TAB = "archive"
COLUMNS = {
    "breach_id": str,
    "list": str,
    "submission_date": str,
    "first_seen_open": str,
    "last_seen_open": str,
    "exports_listing": int,
    "exports_missing": int,
    "closed_after": str,
    "closed_before": str,
    "still_open": int,
    "closure_confirmed_by": str,
    "open_days_min": int,
    "open_days_max": int,
}


@dataclass(frozen=True)
class ExportSpan:
    """An export and the earliest and latest day it can have been taken."""

    id: str
    list: str
    tab: str
    export_date: str
    earliest: date
    latest: date


def export_spans(exports: list[dict], newest_submission: dict[str, str | None]) -> list[ExportSpan]:
    """Exports in date order with their possible days: a month-only export was taken no earlier than
    the first of the month or the newest submission it lists, no later than the month's last day."""
    spans = []
    for e in exports:
        earliest = period_start(e["export_date"])
        if newest := newest_submission.get(e["id"]):
            earliest = max(earliest, date.fromisoformat(newest))
        spans.append(ExportSpan(e["id"], e["list"], e["tab"], e["export_date"], earliest, period_end(e["export_date"])))
    return sorted(spans, key=lambda s: (s.export_date, s.list, s.tab, s.id))


def compute_investigations(
    spans: list[ExportSpan], listed: dict[str, set[str]], submission: dict[str, str]
) -> list[dict]:
    """One row per report listed in any under-investigation export.

    `listed`: export id -> ids of the reports it lists; `submission`: report id -> ISO submission date."""
    open_sequences: dict[str, list[ExportSpan]] = defaultdict(list)  # list -> its open-tab exports
    archives: dict[str, list[ExportSpan]] = defaultdict(list)
    for span in spans:
        (open_sequences if span.tab == OPEN_TAB else archives)[span.list].append(span)
    rows = []
    for list_name, sequence in open_sequences.items():
        reports = sorted(set().union(*(listed.get(s.id, set()) for s in sequence)))
        for breach_id in reports:
            rows.append(
                _investigation(
                    breach_id,
                    list_name,
                    sequence,
                    archives[list_name],
                    listed,
                    date.fromisoformat(submission[breach_id]),
                )
            )
    return rows


def _investigation(
    breach_id: str,
    list_name: str,
    sequence: list[ExportSpan],
    archives: list[ExportSpan],
    listed: dict[str, set[str]],
    submitted: date,
) -> dict:
    listing = [i for i, s in enumerate(sequence) if breach_id in listed.get(s.id, set())]
    first, last = sequence[listing[0]], sequence[listing[-1]]
    still_open = listing[-1] == len(sequence) - 1
    closed_before = None if still_open else sequence[listing[-1] + 1]
    confirmed = next(
        (a for a in archives if a.export_date > last.export_date and breach_id in listed.get(a.id, set())), None
    )
    return {
        "breach_id": breach_id,
        "list": list_name,
        "submission_date": submitted.isoformat(),
        "first_seen_open": first.export_date,
        "last_seen_open": last.export_date,
        "exports_listing": len(listing),
        # exports between the first and last listing that do not list it (off the list, then back on)
        "exports_missing": listing[-1] - listing[0] + 1 - len(listing),
        "closed_after": None if still_open else last.export_date,
        "closed_before": closed_before.export_date if closed_before else None,
        "still_open": int(still_open),
        "closure_confirmed_by": confirmed.id if confirmed else None,
        "open_days_min": max((last.earliest - submitted).days, 0),
        "open_days_max": (closed_before.latest - submitted).days if closed_before else None,
    }


def build_investigations(db: sqlite_utils.Database, echo: Echo = print) -> dict[str, int]:
    """(Re)write `investigations` from `exports`, `breach_observations` and `breaches`; return counts."""
    exports = list(db.query("select id, list, tab, export_date from exports"))
    newest = {
        r["export_id"]: r["newest"]
        for r in db.query(
            "select export_id, max(submission_date) as newest from breach_observations group by export_id"
        )
    }
    listed: dict[str, set[str]] = defaultdict(set)
    for r in db.query("select export_id, breach_id from breach_observations"):
        listed[r["export_id"]].add(r["breach_id"])
    submission = {r["id"]: r["submission_date"] for r in db.query("select id, submission_date from breaches")}
    rows = compute_investigations(export_spans(exports, newest), listed, submission)
    with db.atomic():
        db["investigations"].drop(ignore=True)
        db.table("investigations").create(COLUMNS, pk="breach_id", foreign_keys=[("breach_id", "breaches", "id")])
        db.table("investigations").insert_all(rows)
        for columns in (["still_open"], ["closed_after"], ["submission_date"]):
            db.table("investigations").create_index(columns)
    closed = sum(1 for r in rows if r["closed_before"])
    still_open = sum(r["still_open"] for r in rows)
    confirmed = sum(1 for r in rows if r["closure_confirmed_by"])
    echo(
        f"investigations: {len(rows)} reports ever under investigation = {closed} closed between two exports "
        f"+ {still_open} still open in the newest export; {confirmed} closures confirmed by a later archive"
    )
    return {"investigations": len(rows), "investigations_closed": closed, "investigations_open": still_open}


def stage(ctx: BuildContext) -> None:
    ctx.counts.update(build_investigations(ctx.db, ctx.echo))
