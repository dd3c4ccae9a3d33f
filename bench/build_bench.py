"""Build time on the full snapshot, each against its floor measured in the same run (issue 15).

- cold: `kb build` with empty raw and embedding-cache folders (the crawl replayed, every text embedded).
  Floor: sentence-transformers' bare `model.encode()` of the same distinct texts, float32 with its defaults
  (batch 32, torch's own thread count), in a process of its own (bench/bare_encode.py): the embedding
  alone, as the model's own API does it. Goal: <= 60 s with retrieval quality kept (bench/similar_bench.py).
- unchanged: `kb build` again on the same folders. Floor: a Python process that imports the build and
  reads the replay stamps, which is all an unchanged build cannot skip. Goal: <= 5 s.

Each build is the `kb` command in a new process (start-up and imports count, as for a user); the stage
timings come from the line it prints.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import KB, REPO_ROOT, save

COLD_GOAL_S = 60.0
UNCHANGED_GOAL_S = 5.0

# What an unchanged build cannot avoid: start Python, import the build, read every spider's replay stamp.
READ_STAMPS = """
import json, sys
from pathlib import Path
from crawlers.registry import spiders
from etl.build import REPLAY_STAMP, replay_stamp
snapshot, raw = Path(sys.argv[1]), Path(sys.argv[2])
for contract in spiders():
    if contract.snapshot_folder and (snapshot / contract.snapshot_folder).is_dir():
        stamp = json.loads((raw / contract.name / REPLAY_STAMP).read_text())
        assert stamp == replay_stamp(snapshot / contract.snapshot_folder, raw / contract.name)
"""


def _timed(cmd: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}")
    return seconds, result.stdout


def _kb_build(snapshot_dir: Path, work: Path) -> dict:
    cmd = [KB, "build", "--snapshot-dir", str(snapshot_dir), "--db", str(work / "kb.db"),
           "--raw-dir", str(work / "raw"), "--cache-dir", str(work / "cache")]  # fmt: skip
    seconds, output = _timed(cmd)
    timings = re.search(r"^timings: (.*)$", output, re.M)
    stages = dict(re.findall(r"([\w.]+) ([\d.]+)s", timings.group(1))) if timings else {}
    embedded = re.search(r"embedded (\d+) texts", output)
    return {
        "total_s": round(seconds, 2),
        "stages_s": {name: float(secs) for name, secs in stages.items()},
        "embedded_texts": int(embedded.group(1)) if embedded else None,
    }


def main(snapshot_dir: Path, results_dir: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        work = Path(tmp)
        cold = _kb_build(snapshot_dir, work)
        unchanged = _kb_build(snapshot_dir, work)
        stamps_s, _ = _timed([sys.executable, "-c", READ_STAMPS, str(snapshot_dir), str(work / "raw")])
        bare_s, bare_out = _timed([sys.executable, "-m", "bench.bare_encode", str(work / "kb.db")])
    bare = json.loads(bare_out)
    figures = {
        "cold": {**cold, "floor_bare_encode_s": bare["seconds"], "floor_texts": bare["texts"], "goal_s": COLD_GOAL_S},
        "unchanged": {**unchanged, "floor_read_stamps_s": round(stamps_s, 2), "goal_s": UNCHANGED_GOAL_S},
    }
    print("\nBuild time by stage (s), `kb build` in a new process")
    print(f"{'stage':<28}{'cold':>9}{'unchanged':>11}")
    for name in cold["stages_s"]:
        print(f"{name:<28}{cold['stages_s'][name]:>9}{unchanged['stages_s'].get(name, float('nan')):>11}")
    print(f"{'total (wall, process)':<28}{cold['total_s']:>9}{unchanged['total_s']:>11}")
    print(
        f"floors: bare model.encode() of the {bare['texts']} texts {bare['seconds']} s; "
        f"start Python and read the stamps {stamps_s:.2f} s"
    )
    save(results_dir, "build", figures)
    return figures
