"""Load the Breach Portal raw JSONL (one file per export) into `breaches` and its satellite tables.

Exports are read in export-date order; a report keeps one stable id across exports, and `breaches`
holds the values of the latest export that lists it, `breach_observations` the values it had in each.
Every raw row ends up either loaded or in `rejected_rows` (file, line, field, reason, raw).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from etl.context import BuildContext, BuildError, Echo
from etl.normalize.breaches import (BREACH_TYPES, LOCATIONS, LIST_PREFIX, RowRejected, breach_id_base,
                                    normalize_row)
from etl.normalize.dates import period_end

SOURCE = "breach_portal"
STATUS_OF_TAB = {"archive": "archived", "under_investigation": "under_investigation"}
# The values that describe a report; two rows of the same id base with equal values are the same report.
VALUE_FIELDS = ("entity_name", "state", "covered_entity_type", "individuals_affected", "breach_type",
                "location", "business_associate_present", "description")
OBSERVED_FIELDS = ("status", "entity_name", "entity_key", "state", "covered_entity_type",
                   "individuals_affected", "individuals_placeholder", "submission_date", "year",
                   "breach_type", "location", "business_associate_present", "description")
EXPORT_KEYS = ("list", "tab", "export_file", "export_sha256", "export_date")
OWN_TABLES = ("breaches_breach_types", "breaches_breach_locations", "breach_observations", "breach_types",
              "breach_locations", "breaches", "exports")


@dataclass
class Export:
    id: str
    file: str
    sha256: str
    list: str
    tab: str
    export_date: str
    jsonl: Path
    items: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------- reading the raw files

def _read_jsonl(path: Path) -> Export | None:
    export: Export | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise BuildError(f"{path}:{number}: not valid JSON ({e})") from e
        missing = [k for k in (*EXPORT_KEYS, "line", "fields", "raw") if k not in item]
        if missing:
            raise BuildError(f"{path}:{number}: raw item lacks {', '.join(missing)}")
        if item["list"] not in LIST_PREFIX or item["tab"] not in STATUS_OF_TAB:
            raise BuildError(f"{path}:{number}: unknown list/tab {item['list']!r}/{item['tab']!r}")
        try:
            period_end(item["export_date"])
        except ValueError as e:
            raise BuildError(f"{path}:{number}: export_date: {e}") from e
        if export is None:
            export = Export(id=Path(item["export_file"]).stem, file=item["export_file"],
                            sha256=item["export_sha256"], list=item["list"], tab=item["tab"],
                            export_date=item["export_date"], jsonl=path)
        elif (export.file, export.sha256, export.list, export.tab, export.export_date) != (
                item["export_file"], item["export_sha256"], item["list"], item["tab"], item["export_date"]):
            raise BuildError(f"{path}:{number}: export metadata differs from the file's first item")
        export.items.append(item)
    return export


def read_exports(folder: Path, echo: Echo = print) -> list[Export]:
    """Every export in `folder` (*.jsonl), in export-date order."""
    if not folder.is_dir():
        raise BuildError(f"{folder}: no breach_portal raw folder (run the crawl stage first)")
    exports = []
    for path in sorted(folder.glob("*.jsonl")):
        export = _read_jsonl(path)
        if export is None:
            echo(f"load   {SOURCE} {path.name}: no records, skipped")
            continue
        exports.append(export)
    if not exports:
        raise BuildError(f"{folder}: no breach_portal exports (*.jsonl) found")
    ids = [e.id for e in exports]
    if len(set(ids)) != len(ids):
        raise BuildError(f"{folder}: two raw files claim the same export file")
    return sorted(exports, key=lambda e: (e.export_date, e.list, e.tab, e.id))


# ---------------------------------------------------------------- stable ids

class IdAssigner:
    """Gives each report an id that survives re-exports.

    Rows are grouped by id base (date, name key, state). Within a base, a row takes the id of a known
    report with identical values first (so repeated reports keep their suffix even if the list order
    changes), then the remaining known ids in suffix order (a revised report), then a new id
    (`base`, `base-2`, ... by order of appearance)."""

    def __init__(self) -> None:
        self.known: dict[str, list[str]] = defaultdict(list)    # base -> ids in suffix order
        self.values: dict[str, tuple] = {}                         # id -> latest values

    def assign(self, records: list[tuple[str, dict]]) -> list[str]:
        """ids for one export's (base, record) pairs, in the same order."""
        by_base: dict[str, list[int]] = defaultdict(list)
        for i, (base, _) in enumerate(records):
            by_base[base].append(i)
        ids: list[str | None] = [None] * len(records)
        for base, rows in by_base.items():
            free = list(self.known[base])
            for i in rows:                          # same report, same values
                values = _values(records[i][1])
                match = next((k for k in free if self.values[k] == values), None)
                if match:
                    ids[i] = match
                    free.remove(match)
            for i in rows:                          # same report, revised values
                if ids[i] is None and free:
                    ids[i] = free.pop(0)
            for i in rows:                          # a report not seen before
                if ids[i] is None:
                    n = len(self.known[base]) + 1
                    ids[i] = base if n == 1 else f"{base}-{n}"
                    self.known[base].append(ids[i])
            for i in rows:
                self.values[ids[i]] = _values(records[i][1])
        return ids  # type: ignore[return-value]


def _values(record: dict) -> tuple:
    return tuple(record[f] for f in VALUE_FIELDS)


# ---------------------------------------------------------------- normalizing one export

@dataclass
class ExportResult:
    observations: list[dict]
    rejected: list[dict]


def normalize_export(export: Export, assigner: IdAssigner) -> ExportResult:
    not_after = period_end(export.export_date)
    status = STATUS_OF_TAB[export.tab]
    loaded: list[tuple[dict, dict]] = []
    rejected: list[dict] = []
    for item in export.items:
        if item["fields"] is None:
            rejected.append(_rejection(export, item, "row", item.get("error") or "unreadable row"))
            continue
        try:
            record = normalize_row(item["fields"], not_after)
        except RowRejected as e:
            rejected.append(_rejection(export, item, ", ".join(err.field for err in e.errors),
                                       "; ".join(f"{err.field}: {err.reason}" for err in e.errors)))
            continue
        loaded.append((item, record))
    ids = assigner.assign([(breach_id_base(export.list, rec), rec) for _, rec in loaded])
    observations = [
        {"breach_id": breach_id, "export_id": export.id, "line": item["line"], "record": item.get("record"),
         "list": export.list, **{f: (status if f == "status" else rec[f]) for f in OBSERVED_FIELDS},
         "breach_types": rec["breach_types"], "locations": rec["locations"]}
        for breach_id, (item, rec) in zip(ids, loaded)
    ]
    return ExportResult(observations, rejected)


def _rejection(export: Export, item: dict, field_name: str, reason: str) -> dict:
    return {"source": SOURCE, "file": export.file, "line": item["line"], "field": field_name,
            "reason": reason, "raw": item["raw"]}


# ---------------------------------------------------------------- writing the tables

def create_tables(db: sqlite_utils.Database) -> None:
    if "breaches_fts" in db.table_names():
        db["breaches"].disable_fts()
    for name in OWN_TABLES:
        db[name].drop(ignore=True)
    db["exports"].create({"id": str, "file": str, "sha256": str, "list": str, "tab": str,
                          "export_date": str, "rows_read": int, "rows_loaded": int, "rows_rejected": int},
                         pk="id")
    db["breaches"].create({
        "id": str, "list": str, "entity_name": str, "entity_key": str, "state": str,
        "covered_entity_type": str, "individuals_affected": int, "individuals_placeholder": int,
        "submission_date": str, "year": int, "breach_type": str, "location": str, "breach_types": str,
        "locations": str, "business_associate_present": int, "description": str, "status": str,
        "first_seen": str, "last_seen": str, "sector": str, "entity_id": str,
    }, pk="id", not_null={"list", "entity_name", "entity_key", "submission_date", "status"})
    db["breach_observations"].create({
        "breach_id": str, "export_id": str, "line": int, "record": int,
        **{f: (int if f in ("individuals_affected", "individuals_placeholder", "year",
                            "business_associate_present") else str) for f in OBSERVED_FIELDS},
    }, pk=("breach_id", "export_id"),
        foreign_keys=[("breach_id", "breaches", "id"), ("export_id", "exports", "id")])
    for lookup, link, fk in (("breach_types", "breaches_breach_types", "breach_type_id"),
                             ("breach_locations", "breaches_breach_locations", "breach_location_id")):
        db[lookup].create({"id": int, "name": str}, pk="id")
        db[link].create({"breach_id": str, fk: int}, pk=("breach_id", fk),
                        foreign_keys=[("breach_id", "breaches", "id"), (fk, lookup, "id")])
    if "rejected_rows" not in db.table_names():
        db["rejected_rows"].create({"id": int, "source": str, "file": str, "line": int, "field": str,
                                    "reason": str, "raw": str}, pk="id")
    db["rejected_rows"].delete_where("source = ?", [SOURCE])


def _breach_rows(observations: list[dict]) -> list[dict]:
    """One row per report: the values of its latest observation (observations come in export order)."""
    rows: dict[str, dict] = {}
    first_seen: dict[str, str] = {}
    for obs in observations:
        first_seen.setdefault(obs["breach_id"], obs["export_date"])
        rows[obs["breach_id"]] = {
            "id": obs["breach_id"], "list": obs["list"],
            **{f: obs[f] for f in OBSERVED_FIELDS if f != "status"},
            "breach_types": json.dumps(obs["breach_types"]), "locations": json.dumps(obs["locations"]),
            "status": obs["status"], "first_seen": first_seen[obs["breach_id"]], "last_seen": obs["export_date"],
            "sector": None, "entity_id": None,
        }
    columns = ("id", "list", "entity_name", "entity_key", "state", "covered_entity_type", "individuals_affected",
               "individuals_placeholder", "submission_date", "year", "breach_type", "location", "breach_types",
               "locations", "business_associate_present", "description", "status", "first_seen", "last_seen",
               "sector", "entity_id")
    return [{c: row[c] for c in columns} for row in sorted(rows.values(), key=lambda r: r["id"])]


def _write(db: sqlite_utils.Database, exports: list[Export], results: list[ExportResult]) -> list[dict]:
    create_tables(db)
    observations = []
    for export, result in zip(exports, results):
        db["exports"].insert({"id": export.id, "file": export.file, "sha256": export.sha256,
                              "list": export.list, "tab": export.tab, "export_date": export.export_date,
                              "rows_read": len(export.items), "rows_loaded": len(result.observations),
                              "rows_rejected": len(result.rejected)})
        observations += [dict(o, export_date=export.export_date) for o in result.observations]
        db["rejected_rows"].insert_all(result.rejected)
    breaches = _breach_rows(observations)
    db["breaches"].insert_all(breaches)
    db["breach_observations"].insert_all(
        {k: v for k, v in o.items() if k not in ("list", "export_date", "breach_types", "locations")}
        for o in observations)
    for lookup, link, fk, vocabulary, column in (
            ("breach_types", "breaches_breach_types", "breach_type_id", BREACH_TYPES, "breach_types"),
            ("breach_locations", "breaches_breach_locations", "breach_location_id", LOCATIONS, "locations")):
        ids = {name: i for i, name in enumerate(vocabulary, start=1)}
        db[lookup].insert_all({"id": i, "name": name} for name, i in ids.items())
        db[link].insert_all({"breach_id": b["id"], fk: ids[name]}
                            for b in breaches for name in json.loads(b[column]))
    db["breaches"].enable_fts(["entity_name", "description"], tokenize="porter", create_triggers=False)
    for table, columns in (("breaches", ["state"]), ("breaches", ["submission_date"]),
                           ("breaches", ["covered_entity_type"]), ("breaches", ["year"]),
                           ("breaches", ["entity_key"]), ("breaches", ["status"]),
                           ("breach_observations", ["export_id"]),
                           ("breaches_breach_types", ["breach_type_id"]),
                           ("breaches_breach_locations", ["breach_location_id"]),
                           ("rejected_rows", ["source", "file"])):
        db[table].create_index(columns, if_not_exists=True)
    return breaches


def load(db: sqlite_utils.Database, folder: Path, echo: Echo = print) -> dict[str, int]:
    """Load every export in `folder` into `db` (replacing what an earlier load wrote); return counts."""
    exports = read_exports(folder, echo)
    assigner = IdAssigner()
    results = [normalize_export(export, assigner) for export in exports]
    with db.atomic():  # one transaction: one fsync instead of one per batch of rows
        breaches = _write(db, exports, results)
    read = loaded = rejected = 0
    for export, result in zip(exports, results):
        n_read, n_loaded, n_rejected = len(export.items), len(result.observations), len(result.rejected)
        if n_read != n_loaded + n_rejected:
            raise BuildError(f"{export.jsonl}: {n_read} rows read but {n_loaded} loaded + {n_rejected} rejected")
        echo(f"load   {SOURCE} {export.file} ({export.tab}, {export.export_date}): "
             f"rows read {n_read} = loaded {n_loaded} + rejected {n_rejected}")
        read, loaded, rejected = read + n_read, loaded + n_loaded, rejected + n_rejected
    echo(f"load   {SOURCE} total: rows read {read} = loaded {loaded} + rejected {rejected}; "
         f"{loaded} observations of {len(breaches)} distinct breach reports in {len(exports)} exports")
    return {"breach_exports": len(exports), "breach_rows_read": read, "breach_rows_loaded": loaded,
            "breach_rows_rejected": rejected, "breaches": len(breaches), "breach_observations": loaded}


def stage(ctx: BuildContext) -> None:
    ctx.counts.update(load(ctx.db, ctx.raw_dir / SOURCE, ctx.echo))
