"""The docs that are generated from the code are up to date (run `cog -r docs/cli.md` after changing a
command's help)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT

COG = str(Path(sys.executable).parent / "cog")


def test_cli_reference_matches_the_commands() -> None:
    result = subprocess.run([COG, "--check", "docs/cli.md"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr + "\nrun: cog -r docs/cli.md"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    pages = sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "docs").glob("*.md"))
    assert pages and [p for p in pages if p not in readme] == []
