"""Write small raw Breach Portal JSONL exports for the load and changes tests.

HAND-WRITTEN TEST FIXTURES: the exports these helpers write are made up in the tests that call them
(shaped like the crawler's raw items, docs/architecture.md), so that the loader can be tested without
running the crawler.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

COLUMNS = (
    "name",
    "state",
    "covered_entity_type",
    "individuals_affected",
    "submission_date",
    "breach_type",
    "location",
    "business_associate_present",
    "web_description",
)


def fields(
    name="Acme Clinic",
    state="CA",
    cet="Healthcare Provider",
    count="1200",
    date="03/10/2025",
    breach_type="Hacking/IT Incident",
    location="Network Server",
    ba="No",
    description="",
):
    return dict(zip(COLUMNS, (name, state, cet, count, date, breach_type, location, ba, description), strict=True))


def write_export(
    folder: Path,
    file: str,
    export_date: str,
    rows: list[dict | tuple[None, str]],
    tab: str = "under_investigation",
    list_: str = "hipaa",
) -> Path:
    """One raw JSONL file; a row is a fields dict, or (None, error) for a row the spider could not read."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{Path(file).stem}.jsonl"
    items = []
    for record, row in enumerate(rows, start=1):
        row_fields, error = (row, None) if isinstance(row, dict) else row
        raw = ",".join(f'"{v}"' for v in row_fields.values()) if row_fields else f'"broken row {record}"'
        items.append(
            {
                "source": "breach_portal",
                "list": list_,
                "tab": tab,
                "export_file": file,
                "export_sha256": hashlib.sha256(file.encode()).hexdigest(),
                "export_date": export_date,
                "line": record + 1,
                "record": record,
                "fields": row_fields,
                "error": error,
                "raw": raw,
            }
        )
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def dump(db) -> dict[str, object]:
    """Schema and every table's rows (with rowids where the table has them), for comparing two databases."""
    schema = sorted(r[0] or "" for r in db.execute("select sql from sqlite_master"))
    tables = {}
    for name in sorted(db.table_names()):
        without_rowid = db.execute("select sql from sqlite_master where name = ?", [name]).fetchone()[0] or ""
        select = "*" if "WITHOUT ROWID" in without_rowid.upper() else "rowid, *"
        tables[name] = sorted(db.execute(f"select {select} from [{name}]").fetchall(), key=repr)
    return {"schema": schema, **tables}
