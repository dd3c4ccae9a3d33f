"""Build the knowledge base: run every stage into a temporary file, then move it into place.

A failed build raises and leaves the previous database untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from crawlers.registry import SpiderContract, spiders
from etl import (
    build_stamp,
    changes,
    coverage,
    embed,
    entities,
    incidents,
    investigations,
    links,
    load_actions,
    load_breaches,
    load_enforcers,
    override_problems,
    provisions,
    sectors,
    similar,
    topics,
)
from etl.context import REPO_ROOT, BuildContext, BuildError, Echo

__all__ = ["REPO_ROOT", "BuildContext", "BuildError", "Echo", "build", "STAGES"]


SPIDER_ERROR = re.compile(r"^\S+ \S+ \[[\w.]+\] ERROR: (.*)$", re.M)


def run_replays(replays: dict[str, Path], raw_dir: Path) -> None:
    """Replay spiders on their snapshot folders ({spider: folder}) in one Scrapy subprocess
    (crawlers/commands/replay.py): Twisted's reactor cannot restart in-process, and one process pays Scrapy's
    start-up once for all of them."""
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
    cmd = [sys.executable, "-m", "scrapy", "replay", *(f"{spider}={folder}" for spider, folder in replays.items())]
    cmd += ["-s", f"RAW_DIR={raw_dir}", "-s", "LOG_LEVEL=WARNING"]
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0 or "Traceback" in result.stderr:
        # The spiders report bad input as `[<spider>] ERROR: <path>: <reason>` lines: those alone are the
        # message. Anything else (a crash) keeps the tail of the log, traceback included.
        reasons = SPIDER_ERROR.findall(result.stderr)
        if reasons and "Traceback" not in result.stderr:
            raise BuildError("\n".join(reasons))
        what = ", ".join(f"{folder} with spider {spider!r}" for spider, folder in replays.items())
        raise BuildError(f"crawl replay of {what} failed:\n{result.stderr[-4000:]}")


def prune_stale_raw(spider_raw_dir: Path, export_dir: Path, echo: Echo, live_stem: str | None = None) -> None:
    """Drop raw files of exports no longer in the snapshot, so the loaders read exactly the snapshot and the
    live crawl. A spider names its raw file after the export file it replayed, or after the folder; a spider
    whose live crawl saves no snapshot declares the raw file that crawl writes (`live_raw_stem`): no replay
    makes it, so it is kept."""
    current = {p.stem for p in export_dir.iterdir() if p.is_file()} | {export_dir.name}
    if live_stem:
        current.add(live_stem)
    for raw in sorted(spider_raw_dir.glob("*.jsonl")):
        if raw.stem not in current:
            echo(f"crawl  removing {raw}: its export is no longer in {export_dir}")
            raw.unlink()


# Written beside a spider's raw files after a successful replay (the loaders read only *.jsonl).
REPLAY_STAMP = ".replayed.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def replay_stamp(export_dir: Path, spider_raw_dir: Path) -> dict:
    """What a replay's raw files depend on (the snapshot files, the crawler code and Scrapy's version) and
    the raw files themselves. When all of it equals the stamp of the last replay, replaying again would
    write the same bytes, so the crawl stage skips the Scrapy subprocess (most of an unchanged rebuild)."""
    from importlib.metadata import version

    code = hashlib.sha256()
    for path in sorted((REPO_ROOT / "crawlers").rglob("*.py")):
        code.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return {
        # Every entry: a folder named like an export is input too (the replay rejects it).
        "inputs": {
            str(p.relative_to(export_dir)): _sha256(p) if p.is_file() else "" for p in sorted(export_dir.rglob("*"))
        },
        "crawler_code": code.hexdigest(),
        "scrapy": version("scrapy"),
        "raw_files": {p.name: _sha256(p) for p in sorted(spider_raw_dir.glob("*.jsonl"))},
    }


def replays_due(snapshot_dir: Path, raw_dir: Path, echo: Echo) -> list[tuple[SpiderContract, Path]]:
    """The spiders whose snapshot folder must be replayed, with that folder: those whose raw files are not
    what the folder and the crawler code give (replay_stamp)."""
    # Which spiders replay which snapshot folder is declared on each spider class (crawlers/registry.py).
    replays: list[tuple[SpiderContract, Path]] = []
    for contract in spiders():
        if contract.snapshot_folder is None:
            continue
        spider, export = contract.name, snapshot_dir / contract.snapshot_folder
        if not export.is_dir():
            if contract.snapshot_required:
                raise BuildError(f"{export}: snapshot folder not found (set SNAPSHOT_DIR)")
            echo(f"crawl  {spider}: no {export}; using the raw items already in {raw_dir / spider}")
            continue
        stamp_path = raw_dir / spider / REPLAY_STAMP
        if stamp_path.exists() and json.loads(stamp_path.read_text()) == replay_stamp(export, raw_dir / spider):
            echo(f"crawl  {spider}: {export} and the crawler code unchanged since the last replay; raw files kept")
            continue
        stamp_path.unlink(missing_ok=True)
        echo(f"crawl  {spider}: replaying {export}")
        replays.append((contract, export))
    return replays


def crawl_stage(snapshot_dir: Path, raw_dir: Path, echo: Echo) -> None:
    if not snapshot_dir.is_dir():
        raise BuildError(f"{snapshot_dir}: snapshot folder not found (set SNAPSHOT_DIR)")
    replays = replays_due(snapshot_dir, raw_dir, echo)
    if not replays:
        return
    run_replays({contract.name: export for contract, export in replays}, raw_dir)
    for contract, export in replays:
        spider_raw = raw_dir / contract.name
        prune_stale_raw(spider_raw, export, echo, getattr(contract.spider_class, "live_raw_stem", None))
        spider_raw.mkdir(parents=True, exist_ok=True)
        stamp = json.dumps(replay_stamp(export, spider_raw), indent=1, sort_keys=True)
        (spider_raw / REPLAY_STAMP).write_text(stamp)


# The stages after the crawl, in order. Each reads the raw files or tables the previous ones wrote.
STAGES: list[Callable[[BuildContext], None]] = [
    provisions.stage,
    load_breaches.stage,
    load_actions.stage,
    load_enforcers.stage,  # the other enforcers' actions, beside OCR's
    entities.stage,
    links.stage,
    incidents.stage,  # reads breach_action_links
    topics.stage,
    sectors.stage,
    override_problems.stage,  # after the last stage that reads an overrides file
    changes.stage,
    investigations.stage,
    coverage.stage,
    # similar-case search: last, after every loader (it reads actions, provisions and breaches)
    embed.stage,
    similar.neighbours_stage,
]


def stage_name(stage: Callable[[BuildContext], None]) -> str:
    module = stage.__module__.rsplit(".", 1)[-1]
    return module if stage.__name__ == "stage" else f"{module}.{stage.__name__}"


def build(
    snapshot_dir: Path,
    db_path: Path,
    raw_dir: Path,
    cache_dir: Path,
    curated_dir: Path,
    echo: Echo = print,
    crawl: bool = True,
    force: bool = False,
) -> BuildContext:
    """Build db_path from the snapshot; return the context with each stage's counts and timings. When the
    database was built from exactly the inputs of this build (etl/build_stamp.py) it is kept, unless force."""
    from etl.encoders import model_id

    db_path.parent.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if crawl:
        crawl_stage(snapshot_dir, raw_dir, echo)
    crawl_seconds = time.perf_counter() - started
    stamp = build_stamp.inputs_stamp(raw_dir, curated_dir, model_id())
    if not force and build_stamp.unchanged(db_path, stamp):
        echo(
            f"build  inputs unchanged since {db_path} was made (raw files, curated facts, reference tables, code, "
            "libraries): database kept; kb build --force rebuilds it"
        )
        echo(f"timings: crawl {crawl_seconds:.1f}s, stamp {time.perf_counter() - started - crawl_seconds:.1f}s")
        kept = BuildContext(
            sqlite_utils.Database(db_path), snapshot_dir, raw_dir, cache_dir, curated_dir, db_path, echo
        )
        kept.counts["kept"] = 1
        return kept
    for stale in db_path.parent.glob(f"{db_path.name}.tmp-*"):  # left by a killed build
        stale.unlink()
    tmp_path = db_path.with_name(f"{db_path.name}.tmp-{os.getpid()}")
    try:
        db = sqlite_utils.Database(tmp_path)
        ctx = BuildContext(
            db=db,
            snapshot_dir=snapshot_dir,
            raw_dir=raw_dir,
            cache_dir=cache_dir,
            curated_dir=curated_dir,
            previous_db=db_path if db_path.exists() else None,
            echo=echo,
        )
        ctx.timings["crawl"] = crawl_seconds
        for stage in STAGES:
            stage_started = time.perf_counter()
            stage(ctx)
            ctx.timings[stage_name(stage)] = time.perf_counter() - stage_started
        build_stamp.write(db, stamp)
        db.execute("vacuum")
        db.close()
        os.replace(tmp_path, db_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    echo("timings: " + ", ".join(f"{name} {secs:.1f}s" for name, secs in ctx.timings.items()))
    return ctx
