"""kb_site/templates/base.html is Datasette's own base.html with <html lang="en"> (axe: html-has-lang), and
nothing else: when Datasette is upgraded and its base.html changes, this fails, and the copy is redone."""

from __future__ import annotations

import re
from pathlib import Path

import datasette

from etl.context import REPO_ROOT

OURS = REPO_ROOT / "kb_site" / "templates" / "base.html"
THEIRS = Path(datasette.__file__).parent / "templates" / "base.html"


def test_base_template_is_datasettes_with_the_page_language() -> None:
    ours = re.sub(r"\A\{#-.*?-#\}\n", "", OURS.read_text(), flags=re.S)
    assert '<html lang="en">' in ours
    assert ours.replace('<html lang="en">', "<html>") == THEIRS.read_text()
