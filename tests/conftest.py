"""Shared fixtures: a fresh database, and a database built by the real pipeline from the snapshot,
served by a real Datasette process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlite_utils

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def datasette_url(built: dict[str, Path]):
    """A real Datasette server (started by `kb serve`) on the pipeline-built database."""
    port = _free_port()
    # The server's log goes to a file: an unread pipe fills up (one access-log line per request) and
    # then blocks the server.
    log = (built["root"] / "datasette.log").open("wb")
    proc = subprocess.Popen([KB, "serve", "--db", str(built["db"]), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"datasette exited: {(built['root'] / 'datasette.log').read_text()}")
        try:
            if httpx.get(url + "/-/versions.json", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("datasette did not start within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()
