"""Publish with Datasette: merge the metadata fragments and assemble the `datasette serve` command."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from etl.build import REPO_ROOT

DATASETTE_DIR = REPO_ROOT / "datasette"

# Read-only serving limits (see README "Reliability").
SETTINGS = {
    "sql_time_limit_ms": 2000,
    "max_returned_rows": 1000,
    "default_page_size": 50,
    "facet_time_limit_ms": 500,
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


def merged_metadata(fragments_dir: Path = DATASETTE_DIR / "metadata") -> dict:
    """One metadata document from every `*.yml` fragment (base.yml first), so that each area
    describes its own tables without a hand-kept list."""
    files = sorted(fragments_dir.glob("*.yml"), key=lambda p: (p.name != "base.yml", p.name))
    metadata: dict = {}
    for path in files:
        _deep_merge(metadata, yaml.safe_load(path.read_text()) or {}, str(path))
    return metadata


def write_metadata(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged_metadata(), indent=2, sort_keys=True))
    return out


def serve_command(db: Path, port: int, metadata_path: Path, host: str = "127.0.0.1") -> list[str]:
    """The datasette command line: immutable database, plugins, templates and limits."""
    cmd = ["datasette", "serve", "-i", str(db), "--host", host, "--port", str(port),
           "--metadata", str(metadata_path)]
    plugins = DATASETTE_DIR / "plugins"
    templates = DATASETTE_DIR / "templates"
    static = DATASETTE_DIR / "static"
    if any(plugins.glob("*.py")):
        cmd += ["--plugins-dir", str(plugins)]
    if templates.exists():
        cmd += ["--template-dir", str(templates)]
    if static.exists():
        cmd += ["--static", f"static:{static}"]
    for name, value in SETTINGS.items():
        cmd += ["--setting", name, str(value).lower() if isinstance(value, bool) else str(value)]
    return cmd
