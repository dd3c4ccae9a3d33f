"""Override rows skipped because what they name is absent from this build (`override_problems`).

The reviewed overrides files (data/curated/entity_overrides.csv, link_overrides.csv, sector_overrides.csv,
topic_overrides.csv) name breach reports, enforcement actions and entities of the project's full snapshot.
A build of another snapshot (a few rows, an older or newer export) may lack some of them, so a row whose
target is absent is not an error: the stage reading the file calls `report`, which prints
`path:line: field 'x': reason (override skipped)` and adds the problem to the build's `ctx.warnings`; the row
changes nothing and the build goes on. `stage` (after the last stage that reads an overrides file) writes
them to `override_problems`, always created, empty when every row applied. A malformed row (unknown rule or
decision, empty reason, wrong number of columns, unknown topic or sector) is wrong in every snapshot and
still stops the build.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from etl.context import BuildContext, Echo

TABLE = "override_problems"
COLUMNS = {"id": int, "file": str, "line": int, "field": str, "reason": str}


def problem(file: str | Path, line: int, field: str, reason: str) -> dict:
    """One skipped override row, in the shape of `BuildContext.warnings` entries."""
    return {"file": str(file), "line": line, "field": field, "reason": reason}


def message(p: dict) -> str:
    """The line the build prints for a skipped row."""
    return f"{p['file']}:{p['line']}: field {p.get('field')!r}: {p['reason']} (override skipped)"


def report(problems: Iterable[dict], echo: Echo, warnings: list[dict] | None = None) -> None:
    """Print each problem and add it to `warnings` (the build's `ctx.warnings`) when given."""
    for p in problems:
        echo(message(p))
        if warnings is not None:
            warnings.append(p)


def write(db: sqlite_utils.Database, problems: Iterable[dict]) -> int:
    """(Re)create `override_problems` with one row per problem, numbered in the order they were found."""
    rows = [
        {"id": n, "file": str(p["file"]), "line": p["line"], "field": p.get("field"), "reason": p["reason"]}
        for n, p in enumerate(problems, 1)
    ]
    with db.atomic():
        db[TABLE].drop(ignore=True)
        db.table(TABLE).create(COLUMNS, pk="id")
        db.table(TABLE).insert_all(rows)
    return len(rows)


def stage(ctx: BuildContext) -> None:
    """Build stage: write ctx.warnings to `override_problems` (after every stage that reads an overrides file)."""
    n = write(ctx.db, ctx.warnings)
    ctx.counts[TABLE] = n
    ctx.echo(
        f"override problems: {n} override rows skipped (their targets are absent from this snapshot)"
        if n
        else "override problems: none (every override row applied)"
    )
