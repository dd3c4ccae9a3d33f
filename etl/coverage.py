"""`coverage_by_year`: per submission year, how complete the Breach Portal record held here is, and why.

The portal shows only its current state: closed reports in the archive tab, open ones under
investigation. A report is held when some recorded export listed it, so a report that closed between
the last archive export and the next under-investigation export, or that was submitted and closed
between two under-investigation exports, is in none of them. Narratives (Web Description) are published
only in the archive tab, so reports closed after the last archive export have none here.

The rule is computed from the `exports` table, not written for today's files, so it follows the snapshot
as it grows. `year_coverage` is pure; `stage` reads and writes the database.
"""

from __future__ import annotations

import sqlite_utils

from etl.context import BuildContext, Echo

COLUMNS = {
    "year": int,
    "reports": int,
    "in_archive": int,
    "only_under_investigation": int,
    "still_open": int,
    "without_narrative": int,
    "complete": int,
    "reason": str,
}


def year_coverage(years: dict[int, dict], exports: list[dict], oldest_open_submission: dict[str, str]) -> list[dict]:
    """One row per submission year.

    `years`: year -> counts (reports, in_archive, only_under_investigation, still_open, without_narrative);
    `exports`: the hipaa list's exports (id, tab, export_date); `oldest_open_submission`: export id -> the
    oldest submission date it lists."""
    ordered = sorted(exports, key=lambda e: (e["export_date"], e["id"]))
    archives = [e for e in ordered if e["tab"] == "archive"]
    last_archive = archives[-1] if archives else None
    later_open = [
        e
        for e in ordered
        if e["tab"] == "under_investigation"
        and (last_archive is None or e["export_date"] > last_archive["export_date"])
    ]
    first_open = later_open[0] if later_open else None
    # Reports still open at the last archive export and closed before the next open-tab export: only
    # submissions from the oldest one that next export still lists can plausibly be among them.
    gap_from = (
        int(oldest_open_submission[first_open["id"]][:4])
        if first_open and last_archive and first_open["id"] in oldest_open_submission
        else None
    )
    archive_year = int(last_archive["export_date"][:4]) if last_archive else None
    first_open_year = int(first_open["export_date"][:4]) if first_open else None
    rows = []
    for year in sorted(years):
        counts = years[year]
        gaps = []  # why reports of this year may be missing altogether
        # gap_from is set only when both exports exist; the explicit checks say so to the type checker
        if (
            gap_from is not None
            and archive_year is not None
            and last_archive is not None
            and first_open is not None
            and gap_from <= year <= archive_year
        ):
            gaps.append(
                f"reports still open at the archive export of {last_archive['export_date']} and closed "
                f"before the under-investigation list of {first_open['export_date']} are in no "
                "recorded export"
            )
        if first_open_year is not None and year >= (archive_year or first_open_year):
            gaps.append(
                "a report submitted and closed between two recorded exports "
                f"({', '.join(e['export_date'] for e in later_open)}) is in none of them"
            )
        if ordered and year >= int(ordered[-1]["export_date"][:4]):
            gaps.append(f"the newest export is of {ordered[-1]['export_date']}: later submissions are not held yet")
        if not gaps:
            gaps_text = (
                "complete as far as the exports show: its reports had closed and reached the archive by "
                f"{last_archive['export_date']}, or are in a later under-investigation list"
                if last_archive
                else "complete as far as the exports show"
            )
        else:
            gaps_text = "incomplete: " + "; ".join(gaps)
        notes = [gaps_text]
        if counts["without_narrative"]:
            notes.append(
                f"{counts['without_narrative']:,} of its reports have no narrative: they closed after "
                f"the last archive export ({last_archive['export_date'] if last_archive else 'none'}), "
                "and narratives are published only in the archive"
            )
        rows.append({"year": year, **counts, "complete": int(not gaps), "reason": "; ".join(notes) + "."})
    return rows


def build_coverage(db: sqlite_utils.Database, echo: Echo = print) -> dict[str, int]:
    """(Re)write `coverage_by_year` for the hipaa list from `breaches`, `investigations` and `exports`."""
    exports = list(db.query("select id, tab, export_date from exports where list = 'hipaa'"))
    oldest = {
        r["export_id"]: r["oldest"]
        for r in db.query(
            "select export_id, min(submission_date) as oldest from breach_observations group by export_id"
        )
    }
    years = {
        r["year"]: {
            k: r[k] for k in ("reports", "in_archive", "only_under_investigation", "still_open", "without_narrative")
        }
        for r in db.query("""
        with held as (
          select b.id, b.year, coalesce(i.still_open, 0) as still_open,
                 exists(select 1 from breach_observations o join exports e on e.id = o.export_id
                        where o.breach_id = b.id and e.tab = 'archive') as archived
          from breaches b left join investigations i on i.breach_id = b.id
          where b.list = 'hipaa' and b.year is not null
        )
        select year, count(*) as reports, sum(archived) as in_archive,
               sum(not archived) as only_under_investigation, sum(still_open) as still_open,
               -- closed after the last archive export: never listed in an archive, no longer open
               sum(not archived and not still_open) as without_narrative
        from held
        group by year""")
    }
    rows = year_coverage(years, exports, oldest)
    with db.atomic():
        db["coverage_by_year"].drop(ignore=True)
        db.table("coverage_by_year").create(COLUMNS, pk="year")
        db.table("coverage_by_year").insert_all(rows)
    incomplete = [str(r["year"]) for r in rows if not r["complete"]]
    echo(f"coverage: {len(rows)} submission years, incomplete: {', '.join(incomplete) or 'none'}")
    return {"coverage_years": len(rows), "coverage_years_incomplete": len(incomplete)}


def stage(ctx: BuildContext) -> None:
    ctx.counts.update(build_coverage(ctx.db, ctx.echo))
