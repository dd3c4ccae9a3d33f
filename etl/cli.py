"""The `kb` command: thin click commands over the etl package's Python API."""
from __future__ import annotations

import json
from pathlib import Path

import click

from etl.build import REPO_ROOT, BuildError, build as build_kb


@click.group()
@click.version_option()
def cli() -> None:
    """HIPAA enforcement-case research knowledge base."""


@cli.command()
@click.option("--snapshot-dir", type=click.Path(path_type=Path), default=REPO_ROOT.parent / "shared" / "snapshot",
              show_default=True, help="Recorded exports to replay (breach_portal/, hhs_press_releases/).")
@click.option("--db", "db_path", type=click.Path(path_type=Path), default=REPO_ROOT / "data" / "kb.db",
              show_default=True)
@click.option("--raw-dir", type=click.Path(path_type=Path), default=REPO_ROOT / "data" / "raw", show_default=True)
@click.option("--cache-dir", type=click.Path(path_type=Path), default=REPO_ROOT / "data" / "cache",
              show_default=True)
@click.option("--curated-dir", type=click.Path(path_type=Path), default=REPO_ROOT / "data" / "curated",
              show_default=True)
@click.option("--no-crawl", is_flag=True, help="Reuse the raw JSONL already in --raw-dir.")
def build(snapshot_dir: Path, db_path: Path, raw_dir: Path, cache_dir: Path, curated_dir: Path,
          no_crawl: bool) -> None:
    """Build the database from the recorded snapshot (atomic: a failure keeps the old database)."""
    try:
        build_kb(snapshot_dir, db_path, raw_dir, cache_dir, curated_dir, echo=click.echo, crawl=not no_crawl)
    except BuildError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"built {db_path}")


@cli.command()
@click.option("--db", "db_path", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=REPO_ROOT / "data" / "kb.db", show_default=True)
@click.option("--port", type=int, default=8001, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def serve(db_path: Path, port: int, host: str) -> None:
    """Serve the database read-only with Datasette."""
    import os
    import sys

    from etl.site import serve_command, write_metadata

    metadata = write_metadata(db_path.parent / "metadata.json")
    cmd = serve_command(db_path, port, metadata, host=host)
    executable = str(Path(sys.executable).parent / cmd[0])
    os.execv(executable, [executable, *cmd[1:]])
