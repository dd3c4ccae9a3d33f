"""`breach_changes`: what changed for each breach report between consecutive exports of a list.

Kinds:
- `revised`: a value differs between two consecutive observations of the report (one row per field);
- `moved`: the report's next observation is in the other tab (under investigation -> archive);
- `added`: the report is in an export but not in the previous export of the same list and tab
  (and was not in the other tab before, which would be a move);
- `left_list`: the report is in an export but not in the next export of the same list and tab, and is
  not seen in the other tab afterwards (closed and archived after the last archive export we hold, or
  withdrawn).
The first export of each list and tab is the baseline: its reports are not "added".
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

import sqlite_utils

from etl.context import BuildContext, Echo

COMPARED_FIELDS = (
    "entity_name",
    "state",
    "covered_entity_type",
    "individuals_affected",
    "breach_type",
    "location",
    "business_associate_present",
    "qualified_service_organization_present",
    "description",
)
STATUS_FIELD = "status"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _change(
    kind: str, breach_id: str, field: str, old: object, new: object, export_from: dict, export_to: dict
) -> dict:
    return {
        "breach_id": breach_id,
        "kind": kind,
        "field": field,
        "old_value": _text(old),
        "new_value": _text(new),
        "from_export_id": export_from["id"],
        "to_export_id": export_to["id"],
        "from_export_date": export_from["export_date"],
        "to_export_date": export_to["export_date"],
    }


def compute_changes(exports: list[dict], observations: list[dict]) -> list[dict]:
    """Pure diff. `exports`: dicts with id, list, tab, export_date. `observations`: dicts with breach_id,
    export_id, status and the COMPARED_FIELDS."""
    order = sorted(exports, key=lambda e: (e["export_date"], e["list"], e["tab"], e["id"]))
    position = {e["id"]: i for i, e in enumerate(order)}
    export_by_id = {e["id"]: e for e in order}
    seen_in: dict[str, dict[str, dict]] = defaultdict(dict)  # export id -> breach id -> observation
    timeline: dict[str, list[dict]] = defaultdict(list)  # breach id -> observations in export order
    for obs in sorted(observations, key=lambda o: (position[o["export_id"]], o["breach_id"])):
        seen_in[obs["export_id"]][obs["breach_id"]] = obs
        timeline[obs["breach_id"]].append(obs)

    def neighbour(breach_id: str, export: dict, step: int) -> dict | None:
        """The report's observation just after (step=1) or before (step=-1) `export`, any tab."""
        line = timeline[breach_id]
        here = position[export["id"]]
        candidates = [o for o in line if (position[o["export_id"]] - here) * step > 0]
        return (candidates[0] if step > 0 else candidates[-1]) if candidates else None

    changes: list[dict] = []
    # Revisions and moves: along each report's own history.
    for breach_id, line in timeline.items():
        for a, b in pairwise(line):
            ea, eb = export_by_id[a["export_id"]], export_by_id[b["export_id"]]
            if ea["tab"] != eb["tab"]:
                changes.append(_change("moved", breach_id, STATUS_FIELD, a["status"], b["status"], ea, eb))
            for field in COMPARED_FIELDS:
                if a[field] != b[field]:
                    changes.append(_change("revised", breach_id, field, a[field], b[field], ea, eb))
    # Arrivals and departures: between consecutive exports of the same list and tab.
    sequences: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for export in order:
        sequences[(export["list"], export["tab"])].append(export)
    for sequence in sequences.values():
        for ea, eb in pairwise(sequence):
            before, after = seen_in[ea["id"]], seen_in[eb["id"]]
            for breach_id in sorted(before.keys() - after.keys()):
                nxt = neighbour(breach_id, ea, 1)
                if nxt is None or export_by_id[nxt["export_id"]]["tab"] == ea["tab"]:
                    changes.append(
                        _change("left_list", breach_id, STATUS_FIELD, before[breach_id]["status"], None, ea, eb)
                    )
            for breach_id in sorted(after.keys() - before.keys()):
                prev = neighbour(breach_id, eb, -1)
                if prev is None or export_by_id[prev["export_id"]]["tab"] == eb["tab"]:
                    changes.append(_change("added", breach_id, STATUS_FIELD, None, after[breach_id]["status"], ea, eb))
    field_order = {f: i for i, f in enumerate((STATUS_FIELD, *COMPARED_FIELDS))}
    changes.sort(
        key=lambda c: (c["to_export_date"], c["to_export_id"], c["breach_id"], field_order[c["field"]], c["kind"])
    )
    return changes


def write_changes(db: sqlite_utils.Database, changes: list[dict]) -> None:
    """(Re)create `breach_changes` holding `changes`."""
    db["breach_changes"].drop(ignore=True)
    db.table("breach_changes").create(
        {
            "id": int,
            "breach_id": str,
            "kind": str,
            "field": str,
            "old_value": str,
            "new_value": str,
            "from_export_id": str,
            "to_export_id": str,
            "from_export_date": str,
            "to_export_date": str,
        },
        pk="id",
        foreign_keys=[
            ("breach_id", "breaches", "id"),
            ("from_export_id", "exports", "id"),
            ("to_export_id", "exports", "id"),
        ],
    )
    db.table("breach_changes").insert_all({"id": i, **c} for i, c in enumerate(changes, start=1))
    for columns in (["breach_id"], ["kind"], ["to_export_id"]):
        db.table("breach_changes").create_index(columns, if_not_exists=True)


def build_changes(db: sqlite_utils.Database, echo: Echo = print) -> dict[str, int]:
    """(Re)write `breach_changes` from `exports` and `breach_observations`; return counts by kind."""
    exports = list(db.query("select id, list, tab, export_date from exports"))
    observations = list(
        db.query(f"select breach_id, export_id, status, {', '.join(COMPARED_FIELDS)} from breach_observations")
    )
    changes = compute_changes(exports, observations)
    with db.atomic():
        write_changes(db, changes)
    counts: dict[str, int] = defaultdict(int)
    for c in changes:
        counts[c["kind"]] += 1
    for ea, eb in sorted({(c["from_export_id"], c["to_export_id"]) for c in changes}):
        pair = [c for c in changes if (c["from_export_id"], c["to_export_id"]) == (ea, eb)]
        by_kind = {k: sum(1 for c in pair if c["kind"] == k) for k in ("revised", "moved", "added", "left_list")}
        revised_reports = len({c["breach_id"] for c in pair if c["kind"] == "revised"})
        echo(
            f"changes {ea} -> {eb}: {revised_reports} reports revised ({by_kind['revised']} fields), "
            f"{by_kind['moved']} moved, {by_kind['added']} added, {by_kind['left_list']} left the list"
        )
    return {f"breach_changes_{kind}": n for kind, n in sorted(counts.items())} | {"breach_changes": len(changes)}


def stage(ctx: BuildContext) -> None:
    ctx.counts.update(build_changes(ctx.db, ctx.echo))
