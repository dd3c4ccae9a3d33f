"""Shared fixtures: a fresh database, and a database built by the real pipeline from the snapshot,
served by a real Datasette process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlite_utils
from filelock import FileLock
from servers import start_kb_serve

REPO_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = Path(os.environ.get("KB_SNAPSHOT_DIR", REPO_ROOT.parent / "shared" / "snapshot"))
KB = str(Path(sys.executable).parent / "kb")


# Test tiers (README "A map of the code"): a test is `build` when it needs a `kb build` of real exports,
# `server` when it talks to a real `kb serve` / Datasette process, `browser` when it drives Chromium, `model`
# when it embeds with the real model. `make check` runs the rest (pure functions, small SQLite databases,
# spiders on recorded responses); `make test` runs everything.
# Tiers follow from the fixtures a test uses, so no list of tests is kept by hand.
TIER_FIXTURES = {
    "build": {"built", "built_db", "good_build", "baseline", "small_build", "merged", "replayed", "resaved_build"},
    "server": {"datasette_url", "hostile_site", "mini_url"},
    "browser": {"page", "browser_context"},
    # loads the sentence-transformers model and embeds a corpus (seconds each)
    "model": {"mini", "mini_kb", "searcher"},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for tier, names in TIER_FIXTURES.items():
            if fixtures & names:
                item.add_marker(getattr(pytest.mark, tier))
        if "server" in item.keywords and "build" not in item.keywords and fixtures & {"datasette_url", "hostile_site"}:
            item.add_marker(pytest.mark.build)
    items[:] = files_in_run_order(items)


def needs_full_build(item: pytest.Item) -> bool:
    return "built" in getattr(item, "fixturenames", ())


def files_in_run_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """The files that need no full build first, each group most tests first (pytest-xdist's own order, which
    `--no-loadscope-reorder` in the Makefile leaves to this hook): the full build, started with the run
    (full_build_in_background), is made while those are tested, and the run ends on files of few tests."""
    files: dict[Path, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.path, []).append(item)

    def order(path: Path) -> tuple[bool, int]:
        return any(map(needs_full_build, files[path])), -len(files[path])

    return [item for path in sorted(files, key=order) for item in files[path]]


def run_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The temporary folder of the whole test run: under pytest-xdist, the parent of the workers' own."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session", autouse=True)
def shared_embeddings(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One embedding cache for the small `kb build` runs of this pytest process, and the run's action vectors
    that every build's cache starts from (tests/snapshot_builds.py)."""
    import snapshot_builds

    snapshot_builds.SHARED_CACHE = tmp_path_factory.getbasetemp() / "shared-embeddings"
    snapshot_builds.SEED_ROOT = run_dir(tmp_path_factory, worker_id)
    return snapshot_builds.SHARED_CACHE


@pytest.fixture
def fresh_db(tmp_path: Path) -> sqlite_utils.Database:
    return sqlite_utils.Database(tmp_path / "test.db")


def full_build(shared: Path) -> dict[str, Path]:
    """`kb build` of the full recorded snapshot into shared/built, once per test run: under pytest-xdist
    (`pytest -n 2`) whichever worker takes the file lock first builds, and the others reuse it."""
    from snapshot_builds import seeded_cache

    root = shared / "built"
    paths = {"db": root / "kb.db", "raw": root / "raw", "cache": root / "cache", "root": root}
    output = root / "build_output.txt"  # written last: its presence means the build succeeded
    with FileLock(str(shared / "built.lock")):
        if not output.exists():
            root.mkdir(exist_ok=True)
            # Starts from the run's action vectors (made once for every build, tests/snapshot_builds.py):
            # the breach reports' 5,000-odd descriptions are still embedded cold.
            seeded_cache(paths["cache"])
            command = [KB, "build", "--snapshot-dir", str(SNAPSHOT_DIR), "--db", str(paths["db"]),
                       "--raw-dir", str(paths["raw"]), "--cache-dir", str(paths["cache"])]  # fmt: skip
            result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
            assert result.returncode == 0, result.stdout + result.stderr
            output.write_text(result.stdout)
    return paths


_started_full_build: Future | None = None


@pytest.fixture(scope="session", autouse=True)
def full_build_in_background(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str, shared_embeddings: Path
) -> Iterator[None]:
    """When the run holds tests that need the full build, start it with the run, in a thread: its 90-odd
    seconds, on the cores the files that need no full build (run first) leave free, instead of a worker
    waiting for it. `built` then waits for that thread."""
    global _started_full_build
    if any(map(needs_full_build, request.session.items)):
        with ThreadPoolExecutor(1, thread_name_prefix="full-build") as pool:
            _started_full_build = pool.submit(full_build, run_dir(tmp_path_factory, worker_id))
            yield
    else:
        yield


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, Path]:
    """The database built by the real pipeline from the full recorded snapshot (full_build)."""
    if _started_full_build is not None:
        _started_full_build.result()  # a failed build fails here, with its output
    paths = full_build(run_dir(tmp_path_factory, worker_id))
    return {**paths, "build_output": (paths["root"] / "build_output.txt").read_text()}


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
