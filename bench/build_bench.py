"""Build time by stage on the full snapshot: cold (empty raw dir and embedding cache) and unchanged.

Target (issue 7): an unchanged rebuild under 10 s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import REPO_ROOT, save
from etl.build import build


def _timed_build(snapshot_dir: Path, work: Path) -> dict:
    started = time.perf_counter()
    ctx = build(
        snapshot_dir,
        work / "kb.db",
        work / "raw",
        work / "cache",
        REPO_ROOT / "data" / "curated",
        echo=lambda _line: None,
    )
    return {
        "total_s": round(time.perf_counter() - started, 2),
        "stages_s": {name: round(secs, 2) for name, secs in ctx.timings.items()},
        "counts": ctx.counts,
    }


def main(snapshot_dir: Path, results_dir: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        work = Path(tmp)
        cold = _timed_build(snapshot_dir, work)
        unchanged = _timed_build(snapshot_dir, work)
    figures = {"cold": cold, "unchanged": unchanged}
    print("\nBuild time by stage (s)")
    stages = list(cold["stages_s"])
    print(f"{'stage':<28}{'cold':>9}{'unchanged':>11}")
    for name in stages:
        print(f"{name:<28}{cold['stages_s'][name]:>9}{unchanged['stages_s'].get(name, float('nan')):>11}")
    print(f"{'total':<28}{cold['total_s']:>9}{unchanged['total_s']:>11}   (target: unchanged < 10 s)")
    save(results_dir, "build", figures)
    return figures
