"""Add a Breach Portal export downloaded by hand to a snapshot folder, under the name the build reads.

The portal names every download `breach_report.csv`; the build reads list, tab and export date from the
file name (crawlers.exports.export_info_from_name), so a download has to be renamed before a build can use
it. `import_export` does that safely (`kb import-export FILE --tab TAB --date DATE [--list part2]`):

1. the file must parse as an export of that list: known header (crawlers.exports.check_header, the same
   check the crawler applies), not an HTML page, not empty;
2. no record may have a submission date after the export date (the build would reject it: a wrong --date
   would silently lose rows);
3. it is written to <snapshot>/breach_portal/<export_file_name(list, tab, date)> atomically: a temporary
   file in the same folder, flushed, then hard-linked to the final name, which fails instead of replacing
   a file that appeared meanwhile. A file of that name with the same bytes is left as it is (nothing to
   do); one with other bytes is never overwritten.

Every problem is an ImportExportError whose message is one line: `path:line: field 'x': reason` where a
line and field apply.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from crawlers.exports import LISTS, ExportFormatError, ExportInfo, export_file_name, parse_export
from etl.context import BuildError
from etl.normalize.dates import parse_submission_date, period_end

TABS = ("archive", "under_investigation")
EXPORT_DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?")
PORTAL_FOLDER = "breach_portal"


class ImportExportError(BuildError):
    """The file cannot be imported; the message is one line naming the file (and line, field)."""


@dataclass(frozen=True)
class ImportResult:
    target: Path
    records: int  # records after the header
    unreadable: int  # records the crawler will hand on as unreadable (they end in rejected_rows)
    newest_submission: str | None  # ISO date of the newest readable submission date
    created: bool  # False: the same file was already there


def check_export_date(export_date: str) -> str:
    """YYYY-MM or YYYY-MM-DD naming a real month or day."""
    if not EXPORT_DATE.fullmatch(export_date or ""):
        raise ImportExportError(f"--date {export_date!r}: expected YYYY-MM or YYYY-MM-DD")
    try:
        period_end(export_date)
        if len(export_date) == 10:
            date.fromisoformat(export_date)
    except ValueError as e:
        raise ImportExportError(f"--date {export_date!r}: {e}") from e
    return export_date


def check_export(data: bytes, source: Path, info: ExportInfo) -> tuple[int, int, str | None]:
    """(records, unreadable records, newest submission date) of an export of `info.list`; raises
    ImportExportError (one line naming `source`) when it is not one, or lists a report submitted after
    the export date."""
    try:
        items = list(parse_export(data, info))
    except ExportFormatError as e:
        message = str(e)
        if message.startswith(info.export_file):  # the parser names the target; the user knows the source
            message = message[len(info.export_file) :]
        raise ImportExportError(f"{source}{message} (checked as a {info.list} {info.tab} export)") from e
    records = [i for i in items if i["record"] != 0]
    not_after = period_end(info.export_date)
    newest: date | None = None
    for item in records:
        raw_date = (item["fields"] or {}).get("submission_date")
        if not raw_date:
            continue
        try:
            submitted = parse_submission_date(raw_date, date.max)
        except ValueError:
            continue  # an impossible date is the build's to reject (rejected_rows), not a wrong --date
        if submitted > not_after:
            raise ImportExportError(
                f"{source}:{item['line']}: field 'submission_date': {raw_date} is after the export date "
                f"{info.export_date}; is --date right? (the build would reject every such row)"
            )
        newest = max(newest or submitted, submitted)
    unreadable = sum(1 for i in records if i["fields"] is None)
    return len(records), unreadable, newest.isoformat() if newest else None


def import_export(
    source: Path, tab: str, export_date: str, list_: str = "hipaa", snapshot_dir: Path = Path("data/snapshot")
) -> ImportResult:
    """Check `source` as an export of `list_`/`tab` taken on `export_date`, then copy it into
    `snapshot_dir`/breach_portal/ under its export file name."""
    if list_ not in LISTS:
        raise ImportExportError(f"--list {list_!r}: expected one of {', '.join(LISTS)}")
    if tab not in TABS:
        raise ImportExportError(f"--tab {tab!r}: expected one of {', '.join(TABS)}")
    check_export_date(export_date)
    if not source.is_file():
        raise ImportExportError(f"{source}: no such file")
    try:
        data = source.read_bytes()
    except OSError as e:
        raise ImportExportError(f"{source}: cannot read: {e.strerror or e}") from e
    name = export_file_name(list_, tab, export_date)
    info = ExportInfo(export_file=name, list=list_, tab=tab, export_date=export_date)
    records, unreadable, newest = check_export(data, source, info)
    target = snapshot_dir / PORTAL_FOLDER / name
    try:
        created = _place(data, target)
    except OSError as e:
        raise ImportExportError(f"{target}: cannot write: {e.strerror or e}") from e
    return ImportResult(target, records, unreadable, newest, created)


def _place(data: bytes, target: Path) -> bool:
    """Write `data` at `target` atomically without ever replacing another file; False if it is already there."""
    if target.exists():
        if _same(target, data):
            return False
        raise ImportExportError(
            f"{target}: already exists with other content (sha256 "
            f"{_sha256(target.read_bytes())[:12]}, this file {_sha256(data)[:12]}); "
            "not overwritten: remove it first if it really is to be replaced"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, target)  # atomic, and fails if the name was taken meanwhile
        except FileExistsError:
            if _same(target, data):
                return False
            raise ImportExportError(f"{target}: appeared meanwhile with other content; not overwritten") from None
        except OSError:  # a file system without hard links: rename, after checking the name once more
            if target.exists():
                raise ImportExportError(f"{target}: appeared meanwhile; not overwritten") from None
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _same(path: Path, data: bytes) -> bool:
    return path.read_bytes() == data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
