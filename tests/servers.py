"""Start real servers for tests: a free loopback port, `kb serve`, and waiting until a server answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
KB = str(Path(sys.executable).parent / "kb")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_kb_serve(db: Path, timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """`kb serve` on db; its log goes to a file beside db (an unread pipe would fill and block it), one per
    server: pytest-xdist workers each serve the shared build."""
    port = free_port()
    log = db.with_name(f"{db.stem}-{port}.log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [KB, "serve", "--db", str(db), "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )
    return proc, wait_for_server(proc, f"http://127.0.0.1:{port}", log, timeout)


def wait_for_server(proc: subprocess.Popen, url: str, log: Path, timeout: float = 120) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(url + "/-/versions.json", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server at {url} did not start within {timeout} s")
