"""Parse Breach Portal CSV exports into raw items: header validation, record splitting, row -> raw item.

Pure functions over bytes: no Scrapy, no I/O. The spider calls `parse_export` both when it replays a
recorded file and when the live site has just answered an export post, so both paths share one parser.

Decisions worth knowing:
- Records are split on the raw bytes (a newline outside double quotes ends a record), so that each item
  keeps its exact record text and the 1-based physical line (counted in LF) where it starts. Fields with
  embedded newlines (CRLF or LF) and NUL bytes stay inside their record.
- Each record is decoded as UTF-8; a record that is not valid UTF-8 is decoded as cp1252 instead (latin-1
  for the five bytes cp1252 leaves undefined) and its item says so in "encoding". Nothing is dropped.
- A record with the wrong number of columns, or one the csv module cannot read, still gives one item,
  with fields=None and the reason in "error", so the ETL can put it in rejected_rows.
- The header is validated by position; anything else than the known headers is an ExportFormatError
  naming the file. So is a body that is not CSV at all (the portal answers a wrong post with an HTML page).
- An export with no records (the header alone, e.g. the 42 CFR Part 2 list while it is empty) gives one
  *export item* (record 0, fields None, raw = the header text), so that the export itself still reaches the
  ETL and the `exports` table (rows read 0).
- Exports re-saved by a spreadsheet program read the same: fields quoted only where needed, CRLF and LF
  mixed, a UTF-8 byte-order mark, records in cp1252. The text is kept exactly as decoded; repairing
  mojibake and flagging lost characters is normalization (etl/normalize/text_repair.py).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

SOURCE = "breach_portal"
LISTS = ("hipaa", "part2")

# The live site titles some columns with the toString() of a JSF component instead of its header text.
QUIRK_TITLE = re.compile(r"javax\.faces\.component\.UIPanel@[0-9a-fA-F]+")


@dataclass(frozen=True)
class Column:
    field: str
    titles: tuple[str, ...]  # accepted clean titles
    quirk: bool = False  # may also be titled javax.faces.component.UIPanel@<hex>


HIPAA_COLUMNS: tuple[Column, ...] = (
    Column("name", ("Name of Covered Entity",), quirk=True),
    Column("state", ("State",)),
    Column("covered_entity_type", ("Covered Entity Type",)),
    Column("individuals_affected", ("Individuals Affected",)),
    Column("submission_date", ("Breach Submission Date",)),
    Column("breach_type", ("Type of Breach",)),
    Column("location", ("Location of Breached Information",)),
    Column("business_associate_present", ("Business Associate Present",), quirk=True),
    Column("web_description", ("Web Description",)),
)

# The 42 CFR Part 2 list has no covered entity type; its name column is titled for a Part 2 program, and its
# 7th column is "Qualified Service Organization Present" (a QSO is Part 2's counterpart of a business
# associate), titled javax.faces.component.UIPanel@<hex> on the live site. No clean-titled Part 2 export has
# been recorded; "Business Associate Present" is accepted at that position too (the project's hand-written
# Part 2 fixture uses it), and either way the column is stored as qualified_service_organization_present.
PART2_COLUMNS: tuple[Column, ...] = (
    Column("name", ("Name of Part 2 Program", "Name of Entity"), quirk=True),
    *(c for c in HIPAA_COLUMNS[1:7] if c.field != "covered_entity_type"),
    Column(
        "qualified_service_organization_present",
        ("Qualified Service Organization Present", "Business Associate Present"),
        quirk=True,
    ),
    HIPAA_COLUMNS[8],
)

COLUMNS_BY_LIST = {"hipaa": HIPAA_COLUMNS, "part2": PART2_COLUMNS}

EXPORT_NAME_PATTERN = "breach_report[_part2]_<archive|under_investigation>_<YYYY-MM[-DD]>.csv"
EXPORT_NAME = re.compile(
    r"^breach_report(?P<part2>_part2)?_(?P<tab>archive|under_investigation)_"
    r"(?P<date>\d{4}-\d{2}(?:-\d{2})?)$"
)


class ExportFormatError(ValueError):
    """The export cannot be read as a Breach Portal CSV export; the message names the file."""


@dataclass(frozen=True)
class ExportInfo:
    """Where an export came from: its file name, which portal list and tab, and when it was exported."""

    export_file: str
    list: str
    tab: str
    export_date: str


@dataclass(frozen=True)
class RawRecord:
    line: int  # 1-based physical line where the record starts
    data: bytes  # the record's bytes without its line terminator


def export_file_name(list_: str, tab: str, export_date: str) -> str:
    """The file name a live export is saved under (and that `export_info_from_name` reads back)."""
    part2 = "_part2" if list_ == "part2" else ""
    return f"breach_report{part2}_{tab}_{export_date}.csv"


def export_info_from_name(file_name: str) -> ExportInfo:
    """Read list, tab and export date from a recorded export's file name.

    breach_report_archive_2024-08.csv -> hipaa / archive / 2024-08;
    breach_report_part2_under_investigation_2026-07-15.csv -> part2 / under_investigation / 2026-07-15.
    """
    name = PurePath(file_name).name
    match = EXPORT_NAME.match(PurePath(name).stem) if name.endswith(".csv") else None
    if not match:
        raise ExportFormatError(
            f"{name}: cannot tell list, tab and export date from the file name; expected {EXPORT_NAME_PATTERN}"
        )
    return ExportInfo(
        export_file=name, list="part2" if match["part2"] else "hipaa", tab=match["tab"], export_date=match["date"]
    )


def split_records(data: bytes) -> Iterator[RawRecord]:
    """Split CSV bytes into records: a LF outside double quotes ends a record (a CR before it is dropped).

    Doubled quotes inside a quoted field toggle the state twice, so they need no special case. A final
    LF does not start an empty record; any other empty line is a record (and will be reported).
    """
    start, line, record_line, in_quotes = 0, 1, 1, False
    quote, lf = ord('"'), ord("\n")
    for pos, byte in enumerate(data):
        if byte == quote:
            in_quotes = not in_quotes
        elif byte == lf:
            if not in_quotes:
                end = pos - 1 if pos > start and data[pos - 1] == ord("\r") else pos
                yield RawRecord(record_line, data[start:end])
                start, record_line = pos + 1, line + 1
            line += 1
    if start < len(data):
        yield RawRecord(record_line, data[start:])


def decode_record(data: bytes) -> tuple[str, str]:
    """Decode one record's bytes; return (text, encoding used)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


# The largest field an export row may have: the csv module's default limit, stated here because the limit is
# process-wide and another spider in the same process raises it (hhs_enforcement reads whole pages).
FIELD_LIMIT = 131_072


def read_row(text: str) -> list[str]:
    """The fields of one record's text (raises csv.Error for text the csv module rejects, or for a field
    longer than FIELD_LIMIT)."""
    rows = list(csv.reader([text], strict=True))
    fields = rows[0] if rows else []
    if len(text) > FIELD_LIMIT and any(len(field) > FIELD_LIMIT for field in fields):
        raise csv.Error(f"field larger than field limit ({FIELD_LIMIT})")
    return fields


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def looks_like_html(data: bytes) -> bool:
    head = data[:512].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<?xml", b"<partial-response")) or b"<html" in head


def check_header(header: list[str], list_: str, export_file: str) -> tuple[Column, ...]:
    """Validate the header row by position; return the columns it maps to or raise naming the file."""
    columns = COLUMNS_BY_LIST[list_]
    problems = []
    if len(header) != len(columns):
        problems.append(f"{len(header)} columns, expected {len(columns)}")
    else:
        for i, (title, column) in enumerate(zip(header, columns, strict=True), start=1):
            title = title.strip()
            if title in column.titles or (column.quirk and QUIRK_TITLE.fullmatch(title)):
                continue
            problems.append(f"column {i} is {title!r}, expected {column.titles[0]!r}")
    if problems:
        expected = ",".join(f'"{c.titles[0]}"' for c in columns)
        raise ExportFormatError(
            f"{export_file}: line 1: unrecognised {list_} export header ({'; '.join(problems)}); "
            f"expected {expected} (columns 1 and {len(columns) - 1} may be javax.faces.component.UIPanel@<hex>)"
        )
    return columns


def parse_export(data: bytes, info: ExportInfo) -> Iterator[dict]:
    """Yield one raw item (architecture.md contract) per record of an export body.

    Raises ExportFormatError (naming the file) before yielding anything if the body is not a CSV export
    with a known header.
    """
    if not data.strip():
        raise ExportFormatError(f"{info.export_file}: empty export")
    if data.startswith(UTF16_BOMS):
        raise ExportFormatError(
            f'{info.export_file}: line 1: UTF-16 text (a spreadsheet\'s "Unicode text" format), not a CSV '
            'export; save it as "CSV UTF-8"'
        )
    if looks_like_html(data):
        raise ExportFormatError(
            f"{info.export_file}: not a CSV export: the server sent an HTML/XML page "
            f"(starts {data[:80]!r}); the export post was probably wrong or the session expired"
        )
    records = split_records(data.removeprefix(b"\xef\xbb\xbf"))
    header_record = next(records)
    header_text, _ = decode_record(header_record.data)
    try:
        header = read_row(header_text)
    except csv.Error as e:
        raise ExportFormatError(f"{info.export_file}: line 1: header is not CSV: {e}") from e
    columns = check_header(header, info.list, info.export_file)
    sha256 = hashlib.sha256(data).hexdigest()
    number = 0
    for number, record in enumerate(records, start=1):
        yield record_item(record, number, columns, info, sha256)
    if number == 0:
        yield export_item(header_record, header_text, info, sha256)


def _provenance(info: ExportInfo, sha256: str) -> dict:
    return {
        "source": SOURCE,
        "list": info.list,
        "tab": info.tab,
        "export_file": info.export_file,
        "export_sha256": sha256,
        "export_date": info.export_date,
    }


def export_item(header: RawRecord, header_text: str, info: ExportInfo, sha256: str) -> dict:
    """The one item of an export without records: record 0 is the header line, not a row. It carries the
    export's provenance, so the export is still listed (rows read 0) instead of leaving no trace."""
    return {
        **_provenance(info, sha256),
        "line": header.line,
        "record": 0,
        "fields": None,
        "error": None,
        "raw": header_text,
        "encoding": decode_record(header.data)[1],
    }


def is_export_item(item: dict) -> bool:
    """True for the header-only export item (record 0), False for an item of one record."""
    return item.get("record") == 0


def record_item(record: RawRecord, number: int, columns: tuple[Column, ...], info: ExportInfo, sha256: str) -> dict:
    """One raw item for one record: fields by validated position, or fields=None and the reason."""
    text, encoding = decode_record(record.data)
    fields, error = None, None
    try:
        row = read_row(text)
    except csv.Error as e:
        error = f"unreadable CSV record: {e}"
    else:
        if len(row) == len(columns):
            fields = {column.field: value for column, value in zip(columns, row, strict=True)}
        else:
            error = f"expected {len(columns)} columns, got {len(row)}"
    return {
        **_provenance(info, sha256),
        "line": record.line,
        "record": number,
        "fields": fields,
        "error": error,
        "raw": text,
        "encoding": encoding,
    }


def count_records(data: bytes) -> int:
    """Number of records after the header (what the live-crawl guard compares)."""
    return max(sum(1 for _ in split_records(data.removeprefix(b"\xef\xbb\xbf"))) - 1, 0)
