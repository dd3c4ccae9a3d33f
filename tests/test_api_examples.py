"""The curl examples of docs/api.md ("API examples") run as written against a real server."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "docs" / "api.md"
README_BASE = "http://127.0.0.1:8001"


def readme_curl_lines() -> list[str]:
    text = README.read_text()
    section = text.split("## API examples", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.startswith("curl ")]


def test_readme_has_api_examples() -> None:
    assert len(readme_curl_lines()) >= 8


@pytest.mark.parametrize("index", range(len(readme_curl_lines())))
def test_readme_curl_example_runs(index: int, datasette_url: str) -> None:
    lines = readme_curl_lines()
    args = shlex.split(lines[index].replace(README_BASE, datasette_url))
    result = subprocess.run(
        [*args, "--fail", "--write-out", "\n%{http_code}"], capture_output=True, text=True, timeout=60
    )
    body, _, status = result.stdout.rpartition("\n")
    assert result.returncode == 0 and status == "200", lines[index]
    assert len(body.strip()) > 20 and body.strip() not in ("[]", "{}"), (lines[index], body[:300])
