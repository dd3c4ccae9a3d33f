"""Build the knowledge base: run every stage into a temporary file, then move it into place.

A failed build raises and leaves the previous database untouched.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlite_utils

REPO_ROOT = Path(__file__).resolve().parent.parent

Echo = Callable[[str], None]


class BuildError(Exception):
    """A build stage failed; the message names the input at fault."""


@dataclass
class BuildContext:
    db: sqlite_utils.Database
    snapshot_dir: Path
    raw_dir: Path
    cache_dir: Path
    curated_dir: Path
    previous_db: Path | None
    echo: Echo = print
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


# (spider name, snapshot sub-folder it replays)
REPLAYED_SOURCES = [
    ("breach_portal", "breach_portal"),
    ("hhs_enforcement", "hhs_press_releases"),
]


def run_spider(spider: str, export: Path, raw_dir: Path) -> None:
    """Run one spider in replay mode in a subprocess (Twisted's reactor cannot restart in-process)."""
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-a", f"export={export}",
           "-s", f"RAW_DIR={raw_dir}", "-s", "LOG_LEVEL=WARNING"]
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0 or "Traceback" in result.stderr:
        raise BuildError(f"crawl replay of {export} with spider {spider!r} failed:\n{result.stderr[-4000:]}")


def crawl_stage(snapshot_dir: Path, raw_dir: Path, echo: Echo) -> None:
    for spider, folder in REPLAYED_SOURCES:
        export = snapshot_dir / folder
        if not export.exists():
            raise BuildError(f"{export}: snapshot folder not found (set SNAPSHOT_DIR)")
        echo(f"crawl  {spider}: replaying {export}")
        run_spider(spider, export, raw_dir)


def load_stages() -> list[Callable[[BuildContext], None]]:
    """The stages after the crawl, in order. Each reads the raw files or tables the previous ones wrote."""
    from etl import load_breaches

    return [
        load_breaches.stage,
    ]


def stage_name(stage: Callable[[BuildContext], None]) -> str:
    module = stage.__module__.rsplit(".", 1)[-1]
    return module if stage.__name__ == "stage" else f"{module}.{stage.__name__}"


def build(snapshot_dir: Path, db_path: Path, raw_dir: Path, cache_dir: Path,
          curated_dir: Path, echo: Echo = print, crawl: bool = True) -> BuildContext:
    """Build db_path from the snapshot; return the context with each stage's counts and timings."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if crawl:
        crawl_stage(snapshot_dir, raw_dir, echo)
    crawl_seconds = time.perf_counter() - started
    for stale in db_path.parent.glob(f"{db_path.name}.tmp-*"):  # left by a killed build
        stale.unlink()
    tmp_path = db_path.with_name(f"{db_path.name}.tmp-{os.getpid()}")
    try:
        db = sqlite_utils.Database(tmp_path)
        ctx = BuildContext(db=db, snapshot_dir=snapshot_dir, raw_dir=raw_dir, cache_dir=cache_dir,
                           curated_dir=curated_dir,
                           previous_db=db_path if db_path.exists() else None, echo=echo)
        ctx.timings["crawl"] = crawl_seconds
        for stage in load_stages():
            stage_started = time.perf_counter()
            stage(ctx)
            ctx.timings[stage_name(stage)] = time.perf_counter() - stage_started
        db.execute("vacuum")
        db.close()
        os.replace(tmp_path, db_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    echo("timings: " + ", ".join(f"{name} {secs:.1f}s" for name, secs in ctx.timings.items()))
    return ctx
