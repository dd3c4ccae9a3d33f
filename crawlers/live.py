"""Keeping fresh live exports: the shrink guard and the atomic save into the snapshot folder.

A live export that suddenly has far fewer rows than the last good export of the same list and tab is more
likely a broken or truncated answer than real news, so it does not replace or join the snapshot unless
forced. The decision is a pure function (`guard_decision`); the I/O around it is kept small. The same guard
keeps a live hhs.gov crawl with far fewer pages than the last good one from replacing it
(crawlers/spiders/hhs_enforcement.py, `unit="pages"`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from crawlers.exports import ExportFormatError, count_records, export_info_from_name
from crawlers.registry import spiders

MIN_RATIO = 0.8


@dataclass(frozen=True)
class GuardDecision:
    save: bool
    reason: str


def guard_decision(
    fresh_rows: int,
    last_good_rows: int | None,
    force: bool = False,
    min_ratio: float = MIN_RATIO,
    *,
    unit: str = "rows",
    last_good: str = "last good export",
    first: str = "no earlier export of this list and tab",
) -> GuardDecision:
    """Whether a fresh export with fresh_rows records may be saved, given the last good export's count.
    `unit`, `last_good` and `first` (the reason when there is nothing to compare with) word the reason for
    another kind of output, e.g. the pages of a crawl."""
    if last_good_rows is None:
        return GuardDecision(True, first)
    if fresh_rows >= min_ratio * last_good_rows:
        return GuardDecision(True, f"{fresh_rows} {unit}, {last_good} had {last_good_rows}")
    shrink = f"{fresh_rows} {unit} is under {min_ratio:.0%} of the {last_good_rows} {unit} of the {last_good}"
    if force:
        return GuardDecision(True, f"{shrink}; saved because forced")
    return GuardDecision(False, f"{shrink}; not saved (re-run with force to accept it)")


def last_good_export(folder: Path, list_: str, tab: str, exclude: str | None = None) -> Path | None:
    """The newest export of the same list and tab already in folder (by export date in its name)."""
    if not folder.is_dir():
        return None
    candidates = []
    for path in folder.glob("*.csv"):
        try:
            info = export_info_from_name(path.name)
        except ExportFormatError:
            continue  # not an export file (e.g. a note someone left); it is not a candidate
        if info.list == list_ and info.tab == tab and path.name != exclude:
            candidates.append((info.export_date, path))
    return max(candidates)[1] if candidates else None


def decide_for_folder(folder: Path, file_name: str, data: bytes, force: bool) -> GuardDecision:
    """Apply the guard to a fresh export about to be saved as folder/file_name."""
    info = export_info_from_name(file_name)
    previous = last_good_export(folder, info.list, info.tab)
    last_rows = count_records(previous.read_bytes()) if previous else None
    decision = guard_decision(count_records(data), last_rows, force)
    where = f" (compared with {previous.name})" if previous else ""
    return GuardDecision(decision.save, decision.reason + where)


def save_export(folder: Path, file_name: str, data: bytes) -> Path:
    """Write data to folder/file_name atomically (temporary file, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file_name
    tmp = target.with_name(f"{file_name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def live_crawl_commands(
    python: str,
    out: Path,
    raw_dir: Path,
    force: bool = False,
    export_date: str | None = None,
    record: Path | None = None,
) -> list[list[str]]:
    """The `scrapy crawl` command lines of a live crawl, one per spider (each runs in its own process).
    A spider that saves what it fetched into the snapshot (`live_saves_snapshot`, crawlers.registry) gets
    its snapshot sub-folder as `out` and `export_date` when given; every spider gets `force` (its shrink
    guard lets a smaller result through) when given. With `record`, each spider's
    exchanges are saved under record/<spider name> (crawlers.recording)."""
    commands = []
    for spider in spiders():
        cmd = [python, "-m", "scrapy", "crawl", spider.name, "-s", f"RAW_DIR={raw_dir}"]
        if record is not None:
            cmd += ["-s", f"RECORD_DIR={record / spider.name}"]
        if spider.live_saves_snapshot:
            cmd += ["-a", f"out={out / str(spider.snapshot_folder)}"]
        if force:  # every live crawl has a shrink guard; force lets a smaller result through
            cmd += ["-a", "force=1"]
        if spider.live_saves_snapshot and export_date:
            cmd += ["-a", f"export_date={export_date}"]
        commands.append(cmd)
    return commands
