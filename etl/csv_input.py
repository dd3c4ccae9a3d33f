"""Reading the project's hand-maintained CSV files (overrides, reference tables) with checked shape."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path


def checked_rows(path: Path, columns: list[str], error: type[Exception]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each row of a CSV whose header must be exactly `columns`.
    A wrong header or a row with the wrong number of fields raises `error` naming the file and line;
    checking the values is the caller's job."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != list(columns):
            raise error(
                f"{path}:1: field '(header)': expected columns {','.join(columns)}, "
                f"got {','.join(reader.fieldnames or [])}"
            )
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise error(f"{path}:{reader.line_num}: field '(line)': expected {len(columns)} columns")
            yield reader.line_num, row
