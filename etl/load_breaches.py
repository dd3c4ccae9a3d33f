"""Load the Breach Portal raw JSONL (one file per export) into `breaches` and its satellite tables.

Exports are read in export-date order; a report keeps one stable id across exports, and `breaches`
holds the values of the latest export that lists it, `breach_observations` the values it had in each.
Every raw row ends up either loaded or in `rejected_rows` (file, line, field, reason, raw), and each
rejection is printed as one line `file:line: field 'x': reason`. An export without records (its raw file
holds only the export item, record 0) is still listed in `exports`, with rows read 0.

Before a row is normalized its text is repaired (etl/normalize/text_repair.py: mojibake decoded, lost
characters flagged); each observation records how its record was decoded (`text_encoding`) and what the
repair did (`text_repair`, `text_repair_detail`), and `breaches.text_flag` says what could not be repaired
in the values shown.
"""

from __future__ import annotations

import builtins
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from etl.context import BuildContext, BuildError, Echo
from etl.normalize.breaches import BREACH_TYPES, LIST_PREFIX, LOCATIONS, RowRejected, breach_id_base, normalize_row
from etl.normalize.dates import period_end
from etl.normalize.text_repair import UNREPAIRABLE, repair_fields

SOURCE = "breach_portal"
STATUS_OF_TAB = {"archive": "archived", "under_investigation": "under_investigation"}
# The values that describe a report; two rows of the same id base with equal values are the same report.
VALUE_FIELDS = (
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
OBSERVED_FIELDS = (
    "status",
    "entity_name",
    "entity_key",
    "state",
    "covered_entity_type",
    "individuals_affected",
    "individuals_placeholder",
    "submission_date",
    "year",
    "breach_type",
    "location",
    "business_associate_present",
    "qualified_service_organization_present",
    "description",
)
INT_FIELDS = (
    "individuals_affected",
    "individuals_placeholder",
    "year",
    "business_associate_present",
    "qualified_service_organization_present",
)
# How each observation's text reached us (raw item `encoding`) and what etl/normalize/text_repair.py did.
TEXT_FIELDS = ("text_encoding", "text_repair", "text_repair_detail")
# Rejections printed per export (all of them are in rejected_rows).
PRINTED_REJECTIONS = 50
EXPORT_KEYS = ("list", "tab", "export_file", "export_sha256", "export_date")
OWN_TABLES = (
    "breaches_breach_types",
    "breaches_breach_locations",
    "breach_observations",
    "breach_types",
    "breach_locations",
    "breaches",
    "exports",
)


@dataclass
class Export:
    id: str
    file: str
    sha256: str
    list: str
    tab: str
    export_date: str
    jsonl: Path
    items: builtins.list[dict] = field(default_factory=builtins.list)  # `list` is also a field name here


# ---------------------------------------------------------------- reading the raw files


def _read_jsonl(path: Path) -> Export:
    """One raw file: its export and its record items. The export item of an export without records
    (record 0, crawlers.exports.export_item) gives the export and no row; it must be the file's only item."""
    export: Export | None = None
    header_only = False
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        at = path.read_bytes()[: e.start].count(b"\n") + 1
        raise BuildError(f"{path}:{at}: not UTF-8 ({e.reason} at byte {e.start})") from e
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise BuildError(f"{path}:{number}: not valid JSON ({e})") from e
        if not isinstance(item, dict):
            raise BuildError(f"{path}:{number}: not a raw item (a JSON object)")
        for key in (*EXPORT_KEYS, "line", "fields", "raw"):
            if key not in item:
                raise BuildError(f"{path}:{number}: field {key!r}: missing from the raw item")
        for key in EXPORT_KEYS:
            if not isinstance(item[key], str):
                raise BuildError(f"{path}:{number}: field {key!r}: expected a string, got {item[key]!r}")
        if not isinstance(item["line"], int) or isinstance(item["line"], bool):
            raise BuildError(f"{path}:{number}: field 'line': expected a line number, got {item['line']!r}")
        fields = item["fields"]
        if fields is not None and not (
            isinstance(fields, dict)
            and all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in fields.items())
        ):
            raise BuildError(f"{path}:{number}: field 'fields': expected an object of strings, or null")
        if not isinstance(item["raw"], str):
            raise BuildError(f"{path}:{number}: field 'raw': expected the record's text")
        if item["list"] not in LIST_PREFIX:
            raise BuildError(f"{path}:{number}: field 'list': unknown list {item['list']!r}")
        if item["tab"] not in STATUS_OF_TAB:
            raise BuildError(f"{path}:{number}: field 'tab': unknown tab {item['tab']!r}")
        try:
            period_end(item["export_date"])
        except ValueError as e:
            raise BuildError(f"{path}:{number}: field 'export_date': {e}") from e
        if export is None:
            export = Export(
                id=Path(item["export_file"]).stem,
                file=item["export_file"],
                sha256=item["export_sha256"],
                list=item["list"],
                tab=item["tab"],
                export_date=item["export_date"],
                jsonl=path,
            )
        else:
            for key, value in zip(
                EXPORT_KEYS, (export.list, export.tab, export.file, export.sha256, export.export_date), strict=True
            ):
                if item[key] != value:
                    raise BuildError(
                        f"{path}:{number}: field {key!r}: {item[key]!r} differs from the file's first item ({value!r})"
                    )
        is_header = item.get("record") == 0
        if header_only or (is_header and export.items):
            raise BuildError(
                f"{path}:{number}: field 'record': an export item (record 0, an export without "
                "records) must be the raw file's only item"
            )
        if is_header:
            header_only = True
            continue
        export.items.append(item)
    if export is None:
        raise BuildError(f"{path}: empty raw file: not even the export item of an export without records")
    return export


def read_exports(folder: Path, echo: Echo = print) -> list[Export]:
    """Every export in `folder` (*.jsonl), in export-date order."""
    if not folder.is_dir():
        raise BuildError(f"{folder}: no breach_portal raw folder (run the crawl stage first)")
    exports = [_read_jsonl(path) for path in sorted(folder.glob("*.jsonl"))]
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
        self.known: dict[str, list[str]] = defaultdict(list)  # base -> ids in suffix order
        self.values: dict[str, tuple] = {}  # id -> latest values

    def assign(self, records: list[tuple[str, dict]]) -> list[str]:
        """ids for one export's (base, record) pairs, in the same order."""
        by_base: dict[str, list[int]] = defaultdict(list)
        for i, (base, _) in enumerate(records):
            by_base[base].append(i)
        ids: list[str | None] = [None] * len(records)
        for base, rows in by_base.items():
            free = list(self.known[base])
            for i in rows:  # same report, same values
                values = _values(records[i][1])
                match = next((k for k in free if self.values[k] == values), None)
                if match:
                    ids[i] = match
                    free.remove(match)
            for i in rows:  # same report, revised values
                if ids[i] is None and free:
                    ids[i] = free.pop(0)
            for i in rows:  # a report not seen before
                if ids[i] is None:
                    n = len(self.known[base]) + 1
                    new_id = base if n == 1 else f"{base}-{n}"
                    ids[i] = new_id
                    self.known[base].append(new_id)
        assigned = [i for i in ids if i is not None]
        assert len(assigned) == len(records)
        for breach_id, (_, record) in zip(assigned, records, strict=True):
            self.values[breach_id] = _values(record)
        return assigned


def _values(record: dict) -> tuple:
    return tuple(record[f] for f in VALUE_FIELDS)


# ---------------------------------------------------------------- normalizing one export


@dataclass
class ExportResult:
    observations: list[dict]
    rejected: list[dict]
    messages: list[str] = field(default_factory=list)  # one `file:line: field 'x': reason` per failing field


def normalize_export(export: Export, assigner: IdAssigner) -> ExportResult:
    not_after = period_end(export.export_date)
    status = STATUS_OF_TAB[export.tab]
    loaded: list[tuple[dict, dict]] = []
    result = ExportResult([], [])
    for item in export.items:
        if item["fields"] is None:
            _reject(result, export, item, [("row", item.get("error") or "unreadable row")])
            continue
        text = repair_fields(item["fields"])
        try:
            record = normalize_row(text.fields, not_after)
        except RowRejected as e:
            _reject(result, export, item, [(err.field, err.reason) for err in e.errors])
            continue
        record.update(text_encoding=item.get("encoding"), text_repair=text.status, text_repair_detail=text.detail)
        loaded.append((item, record))
    ids = assigner.assign([(breach_id_base(export.list, rec), rec) for _, rec in loaded])
    result.observations = [
        {
            "breach_id": breach_id,
            "export_id": export.id,
            "line": item["line"],
            "record": item.get("record"),
            "list": export.list,
            **{f: (status if f == "status" else rec[f]) for f in OBSERVED_FIELDS},
            **{f: rec[f] for f in TEXT_FIELDS},
            "breach_types": rec["breach_types"],
            "locations": rec["locations"],
        }
        for breach_id, (item, rec) in zip(ids, loaded, strict=True)
    ]
    return result


def _reject(result: ExportResult, export: Export, item: dict, errors: list[tuple[str, str]]) -> None:
    result.rejected.append(
        {
            "source": SOURCE,
            "file": export.file,
            "line": item["line"],
            "field": ", ".join(f for f, _ in errors),
            "reason": "; ".join(reason if f == "row" else f"{f}: {reason}" for f, reason in errors),
            "raw": item["raw"],
        }
    )
    result.messages += [
        f"{export.file}:{item['line']}: field {f!r}: {' '.join(str(reason).split())}" for f, reason in errors
    ]


# ---------------------------------------------------------------- writing the tables


def create_tables(db: sqlite_utils.Database) -> None:
    if "breaches_fts" in db.table_names():
        db.table("breaches").disable_fts()
    for name in OWN_TABLES:
        db[name].drop(ignore=True)
    db.table("exports").create(
        {
            "id": str,
            "file": str,
            "sha256": str,
            "list": str,
            "tab": str,
            "export_date": str,
            "rows_read": int,
            "rows_loaded": int,
            "rows_rejected": int,
        },
        pk="id",
    )
    db.table("breaches").create(
        {
            "id": str,
            "list": str,
            "entity_name": str,
            "entity_key": str,
            "state": str,
            "covered_entity_type": str,
            "individuals_affected": int,
            "individuals_placeholder": int,
            "submission_date": str,
            "year": int,
            "breach_type": str,
            "location": str,
            "breach_types": str,
            "locations": str,
            "business_associate_present": int,
            "qualified_service_organization_present": int,
            "description": str,
            "status": str,
            "first_seen": str,
            "last_seen": str,
            "sector": str,
            "entity_id": str,
            "text_flag": str,
        },
        pk="id",
        not_null={"list", "entity_name", "entity_key", "submission_date", "status"},
    )
    db.table("breach_observations").create(
        {
            "breach_id": str,
            "export_id": str,
            "line": int,
            "record": int,
            **{f: (int if f in INT_FIELDS else str) for f in OBSERVED_FIELDS},
            **{f: str for f in TEXT_FIELDS},
        },
        pk=("breach_id", "export_id"),
        foreign_keys=[("breach_id", "breaches", "id"), ("export_id", "exports", "id")],
    )
    for lookup, link, fk in (
        ("breach_types", "breaches_breach_types", "breach_type_id"),
        ("breach_locations", "breaches_breach_locations", "breach_location_id"),
    ):
        db.table(lookup).create({"id": int, "name": str}, pk="id")
        db.table(link).create(
            {"breach_id": str, fk: int},
            pk=("breach_id", fk),
            foreign_keys=[("breach_id", "breaches", "id"), (fk, lookup, "id")],
        )
    if "rejected_rows" not in db.table_names():
        db.table("rejected_rows").create(
            {"id": int, "source": str, "file": str, "line": int, "field": str, "reason": str, "raw": str}, pk="id"
        )
    db.table("rejected_rows").delete_where("source = ?", [SOURCE])


def _breach_rows(observations: list[dict]) -> list[dict]:
    """One row per report: the values of its latest observation (observations come in export order)."""
    rows: dict[str, dict] = {}
    first_seen: dict[str, str] = {}
    for obs in observations:
        first_seen.setdefault(obs["breach_id"], obs["export_date"])
        rows[obs["breach_id"]] = {
            "id": obs["breach_id"],
            "list": obs["list"],
            **{f: obs[f] for f in OBSERVED_FIELDS if f != "status"},
            "breach_types": json.dumps(obs["breach_types"]),
            "locations": json.dumps(obs["locations"]),
            "status": obs["status"],
            "first_seen": first_seen[obs["breach_id"]],
            "last_seen": obs["export_date"],
            "sector": None,
            "entity_id": None,
            # what the values shown could not be repaired from (None when the text is clean or repaired)
            "text_flag": obs["text_repair_detail"] if obs["text_repair"] == UNREPAIRABLE else None,
        }
    columns = (
        "id",
        "list",
        "entity_name",
        "entity_key",
        "state",
        "covered_entity_type",
        "individuals_affected",
        "individuals_placeholder",
        "submission_date",
        "year",
        "breach_type",
        "location",
        "breach_types",
        "locations",
        "business_associate_present",
        "qualified_service_organization_present",
        "description",
        "status",
        "first_seen",
        "last_seen",
        "sector",
        "entity_id",
        "text_flag",
    )
    return [{c: row[c] for c in columns} for row in sorted(rows.values(), key=lambda r: r["id"])]


def _write(db: sqlite_utils.Database, exports: list[Export], results: list[ExportResult]) -> list[dict]:
    create_tables(db)
    observations = []
    for export, result in zip(exports, results, strict=True):
        db.table("exports").insert(
            {
                "id": export.id,
                "file": export.file,
                "sha256": export.sha256,
                "list": export.list,
                "tab": export.tab,
                "export_date": export.export_date,
                "rows_read": len(export.items),
                "rows_loaded": len(result.observations),
                "rows_rejected": len(result.rejected),
            }
        )
        observations += [dict(o, export_date=export.export_date) for o in result.observations]
        db.table("rejected_rows").insert_all(result.rejected)
    breaches = _breach_rows(observations)
    db.table("breaches").insert_all(breaches)
    db.table("breach_observations").insert_all(
        {k: v for k, v in o.items() if k not in ("list", "export_date", "breach_types", "locations")}
        for o in observations
    )
    for lookup, link, fk, vocabulary, column in (
        ("breach_types", "breaches_breach_types", "breach_type_id", BREACH_TYPES, "breach_types"),
        ("breach_locations", "breaches_breach_locations", "breach_location_id", LOCATIONS, "locations"),
    ):
        ids = {name: i for i, name in enumerate(vocabulary, start=1)}
        db.table(lookup).insert_all({"id": i, "name": name} for name, i in ids.items())
        db.table(link).insert_all(
            {"breach_id": b["id"], fk: ids[name]} for b in breaches for name in json.loads(b[column])
        )
    db.table("breaches").enable_fts(["entity_name", "description"], tokenize="porter", create_triggers=False)
    for table, columns in (
        ("breaches", ["state"]),
        ("breaches", ["submission_date"]),
        ("breaches", ["covered_entity_type"]),
        ("breaches", ["year"]),
        ("breaches", ["entity_key"]),
        ("breaches", ["status"]),
        ("breach_observations", ["export_id"]),
        ("breaches_breach_types", ["breach_type_id"]),
        ("breaches_breach_locations", ["breach_location_id"]),
        ("rejected_rows", ["source", "file"]),
    ):
        db.table(table).create_index(columns, if_not_exists=True)
    return breaches


def load(db: sqlite_utils.Database, folder: Path, echo: Echo = print) -> dict[str, int]:
    """Load every export in `folder` into `db` (replacing what an earlier load wrote); return counts."""
    exports = read_exports(folder, echo)
    assigner = IdAssigner()
    results = [normalize_export(export, assigner) for export in exports]
    with db.atomic():  # one transaction: one fsync instead of one per batch of rows
        breaches = _write(db, exports, results)
    read = loaded = rejected = 0
    for export, result in zip(exports, results, strict=True):
        n_read, n_loaded, n_rejected = len(export.items), len(result.observations), len(result.rejected)
        if n_read != n_loaded + n_rejected:
            raise BuildError(f"{export.jsonl}: {n_read} rows read but {n_loaded} loaded + {n_rejected} rejected")
        for message in result.messages[:PRINTED_REJECTIONS]:
            echo(f"reject {message}")
        if len(result.messages) > PRINTED_REJECTIONS:
            echo(f"reject {export.file}: {len(result.messages) - PRINTED_REJECTIONS} more (all in rejected_rows)")
        repaired = Counter(o["text_repair"] for o in result.observations)
        text = (
            f"; text repaired in {repaired['repaired']}, unrepairable in {repaired[UNREPAIRABLE]}"
            if repaired["repaired"] or repaired[UNREPAIRABLE]
            else ""
        )
        echo(
            f"load   {SOURCE} {export.file} ({export.tab}, {export.export_date}): "
            f"rows read {n_read} = loaded {n_loaded} + rejected {n_rejected}{text}"
        )
        read, loaded, rejected = read + n_read, loaded + n_loaded, rejected + n_rejected
    echo(
        f"load   {SOURCE} total: rows read {read} = loaded {loaded} + rejected {rejected}; "
        f"{loaded} observations of {len(breaches)} distinct breach reports in {len(exports)} exports"
    )
    return {
        "breach_exports": len(exports),
        "breach_rows_read": read,
        "breach_rows_loaded": loaded,
        "breach_rows_rejected": rejected,
        "breaches": len(breaches),
        "breach_observations": loaded,
    }


def stage(ctx: BuildContext) -> None:
    ctx.counts.update(load(ctx.db, ctx.raw_dir / SOURCE, ctx.echo))
