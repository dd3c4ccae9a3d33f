"""The site is the installable Datasette plugin package kb_site: the `datasette` entry point registers it,
and Datasette finds its hooks, templates and static files without any --plugins-dir / --template-dir."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "kb_site"
HOOKS = {
    "asgi_wrapper",
    "extra_css_urls",
    "extra_template_vars",
    "filters_from_request",
    "handle_exception",
    "register_output_renderer",
    "register_routes",
    "render_cell",
    "startup",
}


def test_the_entry_point_registers_kb_site() -> None:
    (entry,) = [e for e in importlib.metadata.entry_points(group="datasette") if e.name == "kb_site"]
    assert entry.value == "kb_site"
    assert entry.load().__file__ == str(PACKAGE / "__init__.py"), "the editable install points at this tree"


def test_datasette_lists_the_plugin_with_its_templates_and_static_files() -> None:
    # A fresh interpreter, as `datasette serve` starts: plugins are loaded from the entry points.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from datasette.plugins import get_plugins; print(json.dumps(get_plugins()))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    (plugin,) = [p for p in json.loads(out.stdout) if p["templates_path"] == str(PACKAGE / "templates")]
    assert plugin["static_path"] == str(PACKAGE / "static")
    assert set(plugin["hooks"]) == HOOKS
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "datasette"), "plugins"], capture_output=True, text=True, check=True, cwd="/"
    )
    (shown,) = [p for p in json.loads(listed.stdout) if p["name"] == plugin["name"]]
    assert shown["templates"] and shown["static"]


def test_an_app_uses_the_package_templates_and_serves_its_stylesheet() -> None:
    from datasette.app import Datasette

    async def check() -> None:
        ds = Datasette(memory=True)
        await ds.invoke_startup()
        for name in ("index.html", "row-kb-enforcement_actions.html", "_kb_nav.html"):
            assert ds.jinja_env.get_template(name).filename == str(PACKAGE / "templates" / name)
        page = await ds.client.get("/-/versions")
        (url,) = re.findall(r'<link rel="stylesheet" href="(/-/static-plugins/[^"]+)"', page.text)
        assert url.endswith("/site.css")
        served = await ds.client.get(url)
        assert served.status_code == 200 and served.text == (PACKAGE / "static" / "site.css").read_text()

    asyncio.run(check())
