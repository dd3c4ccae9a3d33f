"""Publish with Datasette: merge the metadata fragments, assemble the `datasette serve` command, and write
the deployable bundle. The site itself is the kb_site package (a Datasette plugin registered by entry point)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from etl.context import REPO_ROOT

# The site package keeps its metadata fragments beside its templates (kb_site/metadata/*.yml).
METADATA_DIR = REPO_ROOT / "kb_site" / "metadata"

# Read-only serving limits (see README "Reliability").
SETTINGS = {
    "sql_time_limit_ms": 2000,
    "max_returned_rows": 1000,
    "default_page_size": 50,
    "facet_time_limit_ms": 500,
    # Suggesting facets tries every column of a table on each request: 0.5 s per breaches.json page, and
    # p50 1.4 s under 16 clients (bench/load.py). The tables' useful facets are set in the metadata.
    "suggest_facets": False,
    "allow_download": True,
}


def _deep_merge(into: dict, other: dict, origin: str) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value, origin)
        elif key in into and into[key] != value:
            raise ValueError(f"{origin}: key {key!r} is already set by another metadata fragment")
        else:
            into[key] = value


def merged_metadata(fragments_dir: Path = METADATA_DIR) -> dict:
    """One metadata document from every `*.yml` fragment (base.yml first), so that each area
    describes its own tables without a hand-kept list."""
    files = sorted(fragments_dir.glob("*.yml"), key=lambda p: (p.name != "base.yml", p.name))
    metadata: dict = {}
    for path in files:
        _deep_merge(metadata, yaml.safe_load(path.read_text()) or {}, str(path))
    return metadata


def write_metadata(out: Path) -> Path:
    """Write the merged metadata to out atomically: two `kb serve` of one database (test workers, replicas
    started together) each rewrite the file while the other's Datasette may be reading it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(merged_metadata(), indent=2, sort_keys=True))
    os.replace(tmp, out)
    return out


def serve_command(db: Path, port: int, metadata_path: Path, host: str = "127.0.0.1") -> list[str]:
    """The datasette command line: immutable database, metadata, CORS and limits. `kb serve` and the
    published bundle's run script both use it, so they cannot drift apart.

    The site itself (pages, hooks, templates, static files) is the kb_site package, which Datasette loads
    through its `datasette` entry point wherever the project is installed: no plugin or template folder
    is passed."""
    cmd = [
        "datasette",
        "serve",
        "-i",
        str(db),
        "--host",
        host,
        "--port",
        str(port),
        "--metadata",
        str(metadata_path),
        "--cors",
    ]
    for name, value in SETTINGS.items():
        cmd += ["--setting", name, str(value).lower() if isinstance(value, bool) else str(value)]
    return cmd


DATABASE_NAME = "kb"  # Datasette names a database after its file; the site (kb_site) and metadata say "kb"


def check_database_name(db: Path) -> None:
    if db.stem != DATABASE_NAME:
        raise ValueError(
            f"{db}: the database file must be named {DATABASE_NAME}.db "
            f"(Datasette names the database after the file, and the site's templates "
            f"and metadata refer to {DATABASE_NAME!r})"
        )


def _pinned_requirements(pyproject: Path) -> list[str]:
    """The project's pinned runtime dependencies: the site imports the etl package (similar-case
    search embeds the query), so a replica needs the same set as a build."""
    import tomllib

    return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])


RUN_SCRIPT = """#!/usr/bin/env bash
# Serve this bundle read-only. Usage: ./run.sh [PORT] [HOST]   (defaults 8001, 0.0.0.0)
# Install once, in this folder (requirements.txt names the project's wheel, which registers the site with
# Datasette): python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 && .venv/bin/pip install -r requirements.txt
set -euo pipefail
here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
cd "$here"
DATASETTE="${{DATASETTE:-$( [ -x .venv/bin/datasette ] && echo .venv/bin/datasette || echo datasette )}}"
exec "$DATASETTE" {args}
"""


# What a wheel of the project is built from (pyproject.toml's packages and its readme).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "etl", "crawlers", "kb_site")


def build_wheel(out_dir: Path) -> Path:
    """A wheel of the project (the etl, crawlers and kb_site packages, kb_site's templates and static files
    and the `datasette` entry point that registers the site), built from a copy of the working tree so
    that the build leaves nothing behind in it. Built with the running environment's setuptools, offline."""
    import shutil
    import subprocess
    import sys
    import tempfile

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kb-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in WHEEL_SOURCES:
            path = REPO_ROOT / name
            if path.is_dir():
                shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(path, src / name)
        wheels = Path(tmp) / "wheels"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "--wheel-dir",
                str(wheels),
                str(src),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"building the wheel failed:\n{result.stdout}{result.stderr}")
        (wheel,) = wheels.glob("*.whl")
        return Path(shutil.copy2(wheel, out_dir / wheel.name))


def publish_bundle(db: Path, out: Path) -> Path:
    """Write everything one stateless replica needs into `out`: the immutable database, merged
    metadata, a wheel of the project (the site package kb_site and the etl package it imports), pinned
    requirements naming that wheel, and a run script. `out` is replaced as a whole."""
    import shlex
    import shutil

    check_database_name(db)
    if not db.is_file():
        raise FileNotFoundError(f"{db}: no database to publish (run `kb build` first)")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(db, tmp / f"{DATABASE_NAME}.db")
    write_metadata(tmp / "metadata.json")
    wheel = build_wheel(tmp)
    requirements = [*_pinned_requirements(REPO_ROOT / "pyproject.toml"), f"./{wheel.name}"]
    (tmp / "requirements.txt").write_text("\n".join(requirements) + "\n")
    cmd = serve_command(Path(f"{DATABASE_NAME}.db"), 0, Path("metadata.json"), host="0.0.0.0")
    args = " ".join(shlex.quote(a) for a in cmd[1:])
    args = args.replace("--port 0", '--port "${1:-8001}"').replace("--host 0.0.0.0", '--host "${2:-0.0.0.0}"')
    run = tmp / "run.sh"
    run.write_text(RUN_SCRIPT.format(args=args))
    run.chmod(0o755)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out
