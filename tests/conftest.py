"""Shared fixtures: a fresh database, and a database built by the real pipeline from the snapshot,
served by a real Datasette process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from servers import start_kb_serve

REPO_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = Path(os.environ.get("KB_SNAPSHOT_DIR", REPO_ROOT.parent / "shared" / "snapshot"))
KB = str(Path(sys.executable).parent / "kb")


@pytest.fixture
def fresh_db(tmp_path: Path) -> sqlite_utils.Database:
    return sqlite_utils.Database(tmp_path / "test.db")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run `kb build` once per test session on the full recorded snapshot."""
    root = tmp_path_factory.mktemp("built")
    paths = {"db": root / "kb.db", "raw": root / "raw", "cache": root / "cache", "root": root}
    result = subprocess.run(
        [KB, "build", "--snapshot-dir", str(SNAPSHOT_DIR), "--db", str(paths["db"]),
         "--raw-dir", str(paths["raw"]), "--cache-dir", str(paths["cache"])],
        capture_output=True, text=True, cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    paths["build_output"] = result.stdout
    return paths


@pytest.fixture(scope="session")
def built_db(built: dict[str, Path]) -> sqlite_utils.Database:
    return sqlite_utils.Database(built["db"])


@pytest.fixture(scope="session")
def datasette_url(built: dict[str, Path]):
    """A real Datasette server (started by `kb serve`) on the pipeline-built database."""
    db = built["db"]
    proc, url = start_kb_serve(db)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
