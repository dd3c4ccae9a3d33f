"""Small snapshots made from real recorded export rows, and `kb build` runs on them (tests/test_bad_input.py,
tests/test_crash.py, tests/test_override_problems.py).

The exports are cut from the recorded snapshot (SNAPSHOT_DIR) at test time: real header, real records,
plus whatever damage a test applies to them. Nothing here is a stand-in for a pipeline stage: every build is
the real `kb build` command in a subprocess, with every file of data/curated/ as it is: the overrides that
name breach reports or entities of the full snapshot only are skipped and listed in `override_problems`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

from conftest import KB, REPO_ROOT, SNAPSHOT_DIR
from filelock import FileLock

from crawlers.exports import split_records
from etl.embed import CACHE_FILE

ARCHIVE = "breach_report_archive_2024-08.csv"
APRIL = "breach_report_under_investigation_2026-04.csv"
JULY = "breach_report_under_investigation_2026-07-15.csv"

EMBED_LINE = re.compile(r"embedded (\d+) texts, reused (\d+) from cache")
ROWS_LINE = re.compile(r"breach_portal total: rows read (\d+) = loaded (\d+) \+ rejected (\d+)")


def export_records(name: str) -> tuple[bytes, list[bytes]]:
    """(header bytes, record bytes in file order) of a recorded export."""
    records = [r.data for r in split_records((SNAPSHOT_DIR / "breach_portal" / name).read_bytes())]
    return records[0], records[1:]


def csv_record(fields: list[str]) -> str:
    """One record as the portal writes it: every field quoted, no line terminator."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(fields)
    return out.getvalue()


def read_fields(record: bytes) -> list[str]:
    return next(csv.reader([record.decode("utf-8")], strict=True))


def curated_dir(root: Path) -> Path:
    """root/curated: a link to each of the project's curated files and folders (beyond_ocr/); a file a test put
    there first stays."""
    folder = root / "curated"
    folder.mkdir(parents=True, exist_ok=True)
    for path in (REPO_ROOT / "data" / "curated").iterdir():
        if not (folder / path.name).exists():
            (folder / path.name).symlink_to(path)
    return folder


def make_snapshot(root: Path, exports: dict[str, bytes], name: str = "snapshot") -> Path:
    """root/<name> with breach_portal/<file> for each export and the real hhs_press_releases folder."""
    snapshot = root / name
    portal = snapshot / "breach_portal"
    portal.mkdir(parents=True, exist_ok=True)
    for old in portal.glob("*"):
        old.unlink()
    for name, data in exports.items():
        (portal / name).write_bytes(data)
    if not (snapshot / "hhs_press_releases").exists():
        (snapshot / "hhs_press_releases").symlink_to(SNAPSHOT_DIR / "hhs_press_releases")
    return snapshot


# The embedding cache the small builds of one pytest process share (set by conftest's `shared_embeddings`):
# vectors are keyed by content hash and model, so a build that shares it writes the same database, and the
# same texts are embedded once per process instead of once per build. A test that counts what a build
# embeds (tests/test_crash.py) asks for a cache of its own.
SHARED_CACHE: Path | None = None
# Where the vectors of the curated actions are made once per test run, for every pytest-xdist worker (set by
# conftest's `shared_embeddings`): the 1,200-odd action texts are in every build, and each build's cache
# starts as a copy of them (see action_vectors).
SEED_ROOT: Path | None = None


def action_vectors() -> Path:
    """An embedding cache holding the vectors of every curated action's texts: made by a real `kb build` of
    five under-investigation rows (they have no description, so nothing else is embedded), once per test
    run under a file lock, whichever worker asks first."""
    assert SEED_ROOT is not None, "conftest's shared_embeddings sets SEED_ROOT"
    root = SEED_ROOT / "action-vectors"
    cache, done = root / "cache" / CACHE_FILE, root / "done"
    with FileLock(str(SEED_ROOT / "action-vectors.lock")):
        if not done.exists():
            header, records = export_records(JULY)
            snapshot = make_snapshot(root, {JULY: b"\n".join([header, *records[:5]]) + b"\n"})
            command = _command(root, snapshot, root / "cache")
            result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, env=build_env())
            assert result.returncode == 0, result.stdout + result.stderr
            done.touch()
    return cache


def seeded_cache(folder: Path) -> Path:
    """folder as an embedding cache folder; a new one starts with the action vectors (action_vectors)."""
    if not (folder / CACHE_FILE).exists():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(action_vectors(), folder / CACHE_FILE)
    return folder


def build_command(root: Path, snapshot: Path, own_cache: bool = False) -> list[str]:
    cache = seeded_cache(root / "cache" if own_cache or SHARED_CACHE is None else SHARED_CACHE)
    return _command(root, snapshot, cache)


def _command(root: Path, snapshot: Path, cache: Path) -> list[str]:
    return [
        KB,
        "build",
        "--snapshot-dir",
        str(snapshot),
        "--db",
        str(root / "kb.db"),
        "--raw-dir",
        str(root / "raw"),
        "--cache-dir",
        str(cache),
        "--curated-dir",
        str(curated_dir(root)),
    ]


def build_env() -> dict[str, str]:
    # Unbuffered, so that a test watching the output sees each stage's line when it is printed.
    return dict(os.environ, PYTHONUNBUFFERED="1")


def run_build(root: Path, snapshot: Path, own_cache: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        build_command(root, snapshot, own_cache), capture_output=True, text=True, cwd=REPO_ROOT, env=build_env()
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
