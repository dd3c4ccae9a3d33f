"""Types every build stage shares: the build context, the input-error base class, the echo callable.

A leaf module: it imports nothing from `etl`, so every stage can import it and the orchestrator
(`etl/build.py`) imports the stages, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

REPO_ROOT = Path(__file__).resolve().parent.parent

Echo = Callable[[str], None]


class BuildError(Exception):
    """Bad input or a failed stage; the message names the input at fault (`path:line: field 'x': reason`).
    Every input error of the pipeline derives from it, so the CLI reports all of them in one place."""


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
    # Problems that do not stop the build (e.g. an override naming a report absent from this snapshot):
    # stages append {"file", "line", "field", "reason"}; the build writes them to `override_problems`.
    warnings: list[dict] = field(default_factory=list)
