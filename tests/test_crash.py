"""A build killed with SIGKILL (no cleanup runs) while loading and while embedding: the previous database stays
byte-for-byte in place, and the next build completes, reusing the vectors the killed build had committed.

Real `kb build` subprocesses on snapshots cut from the recorded exports (tests/snapshot_builds.py), with a
cache of their own that starts with the run's action vectors: the baseline is 5 rows (it embeds nothing new);
the killed builds use both 2026 exports and the first 400 records of the archive, whose ~340 descriptions
take the embedding several batches.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from snapshot_builds import (
    APRIL,
    ARCHIVE,
    EMBED_LINE,
    JULY,
    ROWS_LINE,
    build_command,
    build_env,
    export_records,
    make_snapshot,
    run_build,
    sha256,
)

ARCHIVE_RECORDS = 400
TIMEOUT = 600


def _export(name: str, records: int | None = None) -> bytes:
    header, rows = export_records(name)
    return b"\n".join([header, *rows[:records]]) + b"\n"


class WatchedBuild:
    """`kb build` in a subprocess whose merged stdout/stderr is read line by line as it is printed."""

    def __init__(self, command: list[str]):
        self.proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO_ROOT, env=build_env()
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"build ended ({self.proc.returncode}) before {what}:\n{''.join(self.lines)[-3000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"no {what} within {TIMEOUT} s")
            time.sleep(0.05)

    def printed(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL
        self.reader.join(timeout=10)


def _cache_rows(cache: Path) -> int:
    if not cache.exists():
        return 0
    conn = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("select count(*) from vectors").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet, or the writer holds the lock: ask again
        return 0
    finally:
        conn.close()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("crash")
    result = run_build(root, make_snapshot(root, {JULY: _export(JULY, 5)}, name="snapshot-small"), own_cache=True)
    assert result.returncode == 0, result.stdout + result.stderr
    snapshot = make_snapshot(
        root, {ARCHIVE: _export(ARCHIVE, ARCHIVE_RECORDS), APRIL: _export(APRIL), JULY: _export(JULY)}
    )
    return {
        "root": root,
        "db": root / "kb.db",
        "sha": sha256(root / "kb.db"),
        "snapshot": snapshot,
        "cache": root / "cache" / "embeddings.sqlite",
    }


def test_kill_while_loading_keeps_the_previous_database(baseline: dict) -> None:
    root = baseline["root"]
    build = WatchedBuild(build_command(root, baseline["snapshot"], own_cache=True))
    build.wait_for(lambda: build.printed("load   provisions"), "loading stage")  # load_breaches runs next
    build.kill()
    output = "".join(build.lines)
    assert "embed" not in output and "built " not in output  # killed mid-load, not after
    assert list(root.glob("kb.db.tmp-*")), "the killed build should have left its temporary file behind"
    assert sha256(baseline["db"]) == baseline["sha"]
    conn = sqlite3.connect(f"file:{baseline['db']}?mode=ro", uri=True)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert conn.execute("select count(*) from breaches").fetchone()[0] == 5
    finally:
        conn.close()


def test_kill_while_embedding_then_rebuild_reuses_the_committed_vectors(baseline: dict) -> None:
    root, cache = baseline["root"], baseline["cache"]
    before = _cache_rows(cache)  # the action vectors the cache started with
    assert before > 0
    build = WatchedBuild(build_command(root, baseline["snapshot"], own_cache=True))
    build.wait_for(lambda: build.printed("embed  texts"), "embedding progress line")
    build.wait_for(lambda: _cache_rows(cache) > before, "committed batch in the embedding cache")
    build.kill()
    assert not build.printed("embedded "), "the build finished embedding before it was killed"
    committed = _cache_rows(cache)
    assert committed > before
    assert sha256(baseline["db"]) == baseline["sha"]

    result = run_build(root, baseline["snapshot"], own_cache=True)

    assert result.returncode == 0, result.stdout + result.stderr
    embedded, reused = map(int, EMBED_LINE.search(result.stdout).groups())
    assert reused == committed  # every vector the killed build committed, and the baseline's
    assert embedded > 0 and _cache_rows(cache) == committed + embedded
    read, loaded, rejected = map(int, ROWS_LINE.search(result.stdout).groups())
    assert (read, rejected) == (ARCHIVE_RECORDS + 702 + 733, 0) and loaded == read
    assert sha256(baseline["db"]) != baseline["sha"]
    assert not list(root.glob("kb.db.tmp-*"))  # the stale file of the killed build is gone too
    conn = sqlite3.connect(f"file:{baseline['db']}?mode=ro", uri=True)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert conn.execute("select count(*) from breach_observations").fetchone()[0] == read
        chunks = conn.execute("select count(*) from embeddings").fetchone()[0]
        distinct = conn.execute("select count(distinct content_hash) from embeddings").fetchone()[0]
        assert distinct == embedded + reused and chunks >= distinct
        assert conn.execute("select count(*) from similar_actions").fetchone()[0] > 0
    finally:
        conn.close()
