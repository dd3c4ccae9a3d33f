"""The published site over HTTP: a real `kb serve` (Datasette + the site plugin) on the database the real
pipeline built from the snapshot. Every canned query, feed and API example found in the merged metadata
is requested; figures on the pages are checked against SQL on the same database."""

from __future__ import annotations

import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from html import unescape
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
from conftest import REPO_ROOT
from servers import free_port, wait_for_server
from site_helpers import HOSTILE_ACTION_ID, HOSTILE_BREACH_ID, IMG, JS_URL, SCRIPT, hostile_site

from etl.site import SETTINGS, merged_metadata, publish_bundle, serve_command
from kb_site.feeds import FEED_PAGE_SIZE

ATOM = "{http://www.w3.org/2005/Atom}"
PLUGIN = "kb-site"
_ = hostile_site  # a fixture, used by name below


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize over every canned query of the merged metadata (no hand-kept list)."""
    if "query_name" in metafunc.fixturenames:
        queries = merged_metadata()["databases"]["kb"]["queries"]
        metafunc.parametrize("query_name", sorted(queries))


@pytest.fixture(scope="module")
def metadata() -> dict:
    return merged_metadata()


def named_parameters(query: dict) -> list[str]:
    if "params" in query:
        return list(query["params"])
    sql = re.sub(r"'[^']*'", "''", query["sql"])  # no parameters inside string literals
    return sorted(set(re.findall(r"(?<![:\w]):([A-Za-z_]\w*)", sql)))


def example_params(metadata: dict, name: str) -> dict:
    query = metadata["databases"]["kb"]["queries"][name]
    return dict(
        query.get("example_params")
        or metadata.get("plugins", {}).get(PLUGIN, {}).get("example_params", {}).get(name)
        or {}
    )


def get(url: str, **kw) -> httpx.Response:
    return httpx.get(url, timeout=60, **kw)


# ------------------------------------------------------------------ configuration


def test_serve_command_is_read_only_with_cors_and_limits(tmp_path: Path) -> None:
    cmd = serve_command(tmp_path / "kb.db", 8001, tmp_path / "metadata.json")
    assert cmd[:3] == ["datasette", "serve", "-i"], "the database must be served immutable"
    assert "--cors" in cmd
    assert not {"--plugins-dir", "--template-dir", "--static"} & set(cmd), "the kb_site entry point brings the site"
    settings = dict(zip(cmd[cmd.index("--setting") + 1 :: 3], cmd[cmd.index("--setting") + 2 :: 3], strict=True))
    assert settings["sql_time_limit_ms"] == str(SETTINGS["sql_time_limit_ms"])
    assert settings["max_returned_rows"] == str(SETTINGS["max_returned_rows"])
    assert settings["allow_download"] == "true"


def test_example_params_name_only_existing_queries(metadata: dict) -> None:
    queries = metadata["databases"]["kb"]["queries"]
    stale = set(metadata["plugins"][PLUGIN]["example_params"]) - set(queries)
    assert not stale, f"example_params for canned queries that no longer exist: {sorted(stale)}"


def test_serve_refuses_a_database_not_named_kb(tmp_path: Path) -> None:
    db = tmp_path / "site.db"
    db.write_bytes(b"")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kb"), "serve", "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode != 0 and "must be named kb.db" in result.stderr


# ------------------------------------------------------------------ canned queries and feeds


def test_canned_query_returns_rows(datasette_url: str, metadata: dict, query_name: str) -> None:
    query = metadata["databases"]["kb"]["queries"][query_name]
    params = example_params(metadata, query_name)
    missing = set(named_parameters(query)) - set(params)
    assert not missing, (
        f"canned query {query_name!r} needs example_params for {sorted(missing)} "
        f"(in its own metadata or under plugins.{PLUGIN}.example_params)"
    )
    r = get(f"{datasette_url}/kb/{query_name}.json?" + urlencode({**params, "_shape": "objects"}))
    assert r.status_code == 200, r.text[:500]
    assert r.json()["rows"], f"{query_name} with {params} returned no rows"
    page = get(f"{datasette_url}/kb/{query_name}?" + urlencode(params))
    assert page.status_code == 200
    csv = get(f"{datasette_url}/kb/{query_name}.csv?" + urlencode(params))
    assert csv.status_code == 200 and csv.text.count("\n") >= 2, "CSV has a header and at least one row"


def _feeds(metadata: dict) -> list[str]:
    return sorted(n for n, q in metadata["databases"]["kb"]["queries"].items() if "atom_id" in q["sql"])


def _entries(text: str) -> list[ET.Element]:
    return ET.fromstring(text.encode()).findall(f"{ATOM}entry")


def test_feeds_exist(metadata: dict) -> None:
    assert {"feed_new_actions", "feed_breach_reports"} <= set(_feeds(metadata))


@pytest.mark.parametrize("feed", ["feed_new_actions", "feed_breach_reports"])
def test_feed_is_valid_atom_filterable_by_state_and_entity_type(datasette_url: str, built_db, feed: str) -> None:
    everything = get(f"{datasette_url}/kb/{feed}.atom")
    assert everything.status_code == 200 and "xml" in everything.headers["content-type"]
    entries = _entries(everything.text)
    assert entries, "the unfiltered feed has entries"
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(ids) == len(set(ids)), "entry ids are unique"
    assert all(e.find(f"{ATOM}updated").text[:4].isdigit() for e in entries)
    table, type_column = (
        ("enforcement_actions", "entity_type") if feed == "feed_new_actions" else ("breaches", "covered_entity_type")
    )
    state, entity_type = built_db.execute(
        f"select state, {type_column} from {table} where state is not null and {type_column} is not null "
        f"group by 1, 2 order by count(*) desc limit 1"
    ).fetchone()
    filtered = get(
        f"{datasette_url}/kb/{feed}.json?"
        + urlencode({"state": state.lower(), "entity_type": entity_type, "_shape": "objects"})
    )
    rows = filtered.json()["rows"]
    assert rows and len(rows) <= len(entries) + 100
    assert {r["state"] for r in rows} == {state}
    assert {r.get("entity_type") or r.get("covered_entity_type") for r in rows} == {entity_type}
    atom = get(f"{datasette_url}/kb/{feed}.atom?" + urlencode({"state": state, "entity_type": entity_type}))
    # A paged feed's query returns one row more than a page: that row only says a next page exists.
    paged = "feed_key" in rows[0] and len(rows) > FEED_PAGE_SIZE
    shown = rows[:FEED_PAGE_SIZE] if paged else rows
    assert sorted(e.find(f"{ATOM}id").text for e in _entries(atom.text)) == sorted(r["atom_id"] for r in shown)
    assert ('rel="next"' in atom.text) == paged


@pytest.mark.parametrize("feed", ["feed_new_actions", "feed_breach_reports"])
def test_feed_with_no_matching_rows_is_an_empty_valid_feed(datasette_url: str, feed: str) -> None:
    r = get(f"{datasette_url}/kb/{feed}.atom?state=QQ")
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.tag == f"{ATOM}feed" and not root.findall(f"{ATOM}entry")


def test_breach_feed_reports_revisions_from_breach_changes(datasette_url: str, built_db) -> None:
    change = built_db.execute(
        "select breach_id, field, new_value from breach_changes where kind = 'revised' "
        "order by to_export_date desc, breach_id desc limit 1"
    ).fetchone()
    assert change, "the snapshot's under-investigation exports differ"
    rows = get(f"{datasette_url}/kb/feed_breach_reports.json?kind=revised&_shape=objects&_size=max").json()["rows"]
    revised = [r for r in rows if r["breach_id"] == change[0] and r["event"] == "revised"]
    assert revised and revised[0]["field"] == change[1] and revised[0]["new_value"] == change[2]


# ------------------------------------------------------------------ API page, CORS, downloads


def test_every_api_example_runs_as_written(datasette_url: str, tmp_path: Path) -> None:
    page = get(f"{datasette_url}/-/api")
    assert page.status_code == 200
    commands = [unescape(c) for c in re.findall(r"<pre><code>(curl .*?)</code></pre>", page.text)]
    queries = merged_metadata()["databases"]["kb"]["queries"]
    assert len(commands) >= len(queries) + 5, "one example per canned query plus the general ones"
    for i, command in enumerate(commands):
        argv = shlex.split(command)
        assert argv[0] == "curl" and argv[1].startswith(datasette_url)
        out = tmp_path / f"example-{i}"
        result = subprocess.run(
            [*argv, "-sS", "-o", str(out), "-w", "%{http_code}"], capture_output=True, text=True, timeout=120
        )
        assert result.stdout == "200", f"{command} -> {result.stdout} {result.stderr}"
        assert out.stat().st_size > 50, f"{command} returned almost nothing"


def test_json_api_sends_cors_headers(datasette_url: str) -> None:
    r = get(f"{datasette_url}/kb/enforcement_actions.json?_size=1", headers={"Origin": "https://example.org"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


def test_site_is_read_only(datasette_url: str, built_db) -> None:
    before = built_db.execute("select count(*) from enforcement_actions").fetchone()[0]
    r = get(f"{datasette_url}/kb.json", params={"sql": "delete from enforcement_actions"})
    assert r.status_code in (400, 403)
    assert built_db.execute("select count(*) from enforcement_actions").fetchone()[0] == before


def test_every_table_downloads_as_json_and_csv(datasette_url: str) -> None:
    tables = [t["name"] for t in get(f"{datasette_url}/kb.json").json()["tables"] if not t["hidden"]]
    assert {"enforcement_actions", "breaches", "provisions", "breach_changes"} <= set(tables)
    for table in tables:
        j = get(f"{datasette_url}/kb/{table}.json?_size=2&_shape=objects")
        assert j.status_code == 200, table
        c = get(f"{datasette_url}/kb/{table}.csv?_size=2")
        assert c.status_code == 200 and c.text.splitlines()[0], table
    full = get(f"{datasette_url}/kb/breaches.csv?_stream=on&_size=max")
    assert full.status_code == 200


# ------------------------------------------------------------------ pages


def test_home_page_says_what_the_kb_holds(datasette_url: str, built_db) -> None:
    html = get(datasette_url + "/").text
    n_actions = built_db.execute("select count(*) from enforcement_actions").fetchone()[0]
    n_breaches = built_db.execute("select count(*) from breaches").fetchone()[0]
    first, last = built_db.execute("select min(announced), max(announced) from enforcement_actions").fetchone()
    assert f'id="count-actions">{n_actions:,}<' in html
    assert f'id="count-breaches">{n_breaches:,}<' in html
    assert first in html and last in html
    for (date,) in built_db.execute("select max(export_date) from exports group by list, tab"):
        assert f'<td class="last-export">{date}</td>' in html
    for way in (
        'id="search-precedents"',
        'id="browse-provisions"',
        'id="browse-facets"',
        'action="/-/similar"',
        'action="/-/search"',
    ):
        assert way in html
    assert html.count('<svg class="chart"') == 4
    dollars = built_db.execute("select sum(amount_usd) from enforcement_actions").fetchone()[0]
    assert f"${dollars:,}" in html


def _a_linked_action(built_db) -> str:
    """An action with a linked breach report, source documents and cited provisions."""
    return built_db.execute("""
        select a.id from enforcement_actions a
        where exists (select 1 from breach_action_links l where l.action_id = a.id)
          and exists (select 1 from action_documents d where d.action_id = a.id)
          and exists (select 1 from action_provisions p where p.action_id = a.id and p.provision_id is not null)
        order by a.id limit 1""").fetchone()[0]


def test_action_page_reads_like_a_case_brief(datasette_url: str, built_db) -> None:
    action_id = _a_linked_action(built_db)
    a = dict(
        zip(
            ["entity", "announced", "amount_usd", "summary"],
            built_db.execute(
                "select entity, announced, amount_usd, summary from enforcement_actions where id = ?", [action_id]
            ).fetchone(),
            strict=True,
        )
    )
    html = get(f"{datasette_url}/kb/enforcement_actions/{quote(action_id)}").text
    assert 'class="case-brief"' in html
    assert f"<h1>{escape_html(a['entity'])}</h1>" in html
    assert a["announced"] in html and escape_html(a["summary"]) in html
    if a["amount_usd"] is not None:
        assert f"${a['amount_usd']:,}" in html
    for (pid,) in built_db.execute(
        "select distinct provision_id from action_provisions where action_id = ? and provision_id is not null",
        [action_id],
    ):
        assert f'href="/-/provision/{quote(pid, safe=".()")}"' in html
        assert f"https://www.ecfr.gov/current/title-45/section-{pid.split('(')[0]}" in html
    for (breach_id,) in built_db.execute("select breach_id from breach_action_links where action_id = ?", [action_id]):
        assert f'href="/kb/breaches/{quote(breach_id)}"' in html
    for (url,) in built_db.execute("select url from action_documents where action_id = ?", [action_id]):
        assert f'href="{escape_html(url)}"' in html
    assert 'class="similar-cases"' in html, "the similar-case block is included"
    assert f'href="/-/case-card/{quote(action_id)}.md"' in html


def escape_html(s: str) -> str:
    from markupsafe import escape

    return str(escape(s))


def test_case_cards(datasette_url: str, built_db) -> None:
    action_id = _a_linked_action(built_db)
    entity, amount, cap = built_db.execute(
        "select entity, amount_usd, cap_years from enforcement_actions where id = ?", [action_id]
    ).fetchone()
    txt = get(f"{datasette_url}/-/case-card/{quote(action_id)}.txt")
    md = get(f"{datasette_url}/-/case-card/{quote(action_id)}.md")
    assert txt.headers["content-type"].startswith("text/plain")
    assert md.headers["content-type"].startswith("text/markdown")
    assert txt.text.startswith(entity)
    for card in (txt.text, md.text):
        if amount is not None:
            assert f"${amount:,}" in card
        assert "Lesson" in card and "Facts" in card
        assert f"/kb/enforcement_actions/{quote(action_id)}" in card
        for (pid,) in built_db.execute(
            "select distinct provision_id from action_provisions where action_id = ? and provision_id is not null",
            [action_id],
        ):
            assert pid in card.replace("\\", "")
    assert get(f"{datasette_url}/-/case-card/no-such-action.md").status_code == 404


def test_provision_page_figures(datasette_url: str, built_db) -> None:
    pid = "164.308(a)(1)(ii)(A)"
    rows = built_db.execute(
        """
        with recursive tree(id) as (select ? union select p.id from provisions p join tree on p.parent = tree.id)
        select distinct a.id, a.amount_usd, a.year from action_provisions ap
        join enforcement_actions a on a.id = ap.action_id where ap.provision_id in (select id from tree)""",
        [pid],
    ).fetchall()
    assert rows, "the snapshot has risk-analysis actions"
    amounts = [r[1] for r in rows if r[1] is not None]
    html = get(f"{datasette_url}/-/provision/{quote(pid, safe='.()')}").text
    heading = built_db.execute("select heading from provisions where id = ?", [pid]).fetchone()[0]
    assert f"45 CFR {pid} — {heading}" in html
    assert f'id="provision-actions">{len(rows)}<' in html
    assert f'id="provision-total">${sum(amounts):,}<' in html
    assert f'id="provision-median">${statistics.median(amounts):,.0f}<' in html
    assert "https://www.ecfr.gov/current/title-45/section-164.308" in html
    assert html.count('href="/kb/enforcement_actions/') == len(rows)
    assert get(f"{datasette_url}/-/provision/999.999").status_code == 404
    parent = get(f"{datasette_url}/-/provision/164.308").text
    n_parent = int(re.search(r'id="provision-actions">(\d+)<', parent).group(1))
    assert n_parent >= len(rows), "a section counts the actions citing its paragraphs"


def test_provisions_browse_page_links_every_cited_provision(datasette_url: str, built_db) -> None:
    html = get(f"{datasette_url}/-/provisions").text
    for (pid,) in built_db.execute(
        "select distinct provision_id from action_provisions where provision_id is not null"
    ):
        assert f'href="/-/provision/{quote(pid, safe=".()")}"' in html


def test_amounts_render_as_dollars_in_tables(datasette_url: str, built_db) -> None:
    action_id, amount = built_db.execute(
        "select id, amount_usd from enforcement_actions where amount_usd >= 1000 order by amount_usd desc limit 1"
    ).fetchone()
    html = get(f"{datasette_url}/kb/enforcement_actions?id={quote(action_id)}").text
    assert f'<span class="usd">${amount:,}</span>' in html


def test_entity_ids_link_to_the_entity_page(datasette_url: str, built_db) -> None:
    breach_id, entity_id = built_db.execute(
        "select breach_id, b.entity_id from breach_action_links l join breaches b on b.id = l.breach_id "
        "where l.action_id = '2018-10-15-anthem'"
    ).fetchone()
    html = get(f"{datasette_url}/kb/breaches?id={quote(breach_id)}&_col=entity_id").text
    assert f'<a href="/kb/entities/{quote(entity_id, safe="")}">{entity_id}</a>' in html
    assert get(f"{datasette_url}/kb/entities/{quote(entity_id, safe='')}").status_code == 200


# ------------------------------------------------------------------ source text is data, never markup

HOSTILE_PAGES = [
    "/",
    f"/kb/enforcement_actions/{HOSTILE_ACTION_ID}",
    f"/kb/breaches/{HOSTILE_BREACH_ID}",
    "/kb/enforcement_actions?state=ZZ",
    "/kb/breaches?state=ZZ",
    "/-/provisions",
    "/kb/feed_new_actions?state=ZZ",
    "/kb/actions_by_ids?ids=" + HOSTILE_ACTION_ID,
]


@pytest.mark.parametrize("path", HOSTILE_PAGES)
def test_source_markup_is_inert(hostile_site: str, path: str) -> None:
    r = get(hostile_site + path)
    assert r.status_code == 200
    for raw in (SCRIPT, IMG, 'onerror="window', f'href="{JS_URL}', "href='javascript:", 'href="javascript:'):
        assert raw not in r.text, f"{path} carries {raw!r} unescaped"


def test_hostile_action_page_shows_the_text_escaped(hostile_site: str) -> None:
    html = get(f"{hostile_site}/kb/enforcement_actions/{HOSTILE_ACTION_ID}").text
    assert "&lt;script&gt;window.__pwned" in html
    assert "onerror=&#34;window" in html
    assert 'href="https://www.hhs.gov/hostile-test"' in html, "http(s) sources still become links"
    pid_page = re.search(r'href="(/-/provision/[^"]+)"', html).group(1)
    provision = get(hostile_site + pid_page).text
    assert SCRIPT not in provision and "&lt;script&gt;" in provision


def test_hostile_feeds_and_case_cards(hostile_site: str) -> None:
    atom = get(f"{hostile_site}/kb/feed_new_actions.atom?state=ZZ")
    assert atom.status_code == 200
    entry = _entries(atom.text)[0]
    assert SCRIPT in entry.find(f"{ATOM}title").text, "feed text is text (escaped in the XML), not markup"
    assert "<script>" not in atom.text
    md = get(f"{hostile_site}/-/case-card/{HOSTILE_ACTION_ID}.md")
    assert "<script>" not in md.text and "&lt;script&gt;" in md.text
    assert "\\[link\\](javascript:" in md.text, "a Markdown link in the source stays literal text"
    assert not re.search(r"(?<!\\)\]\(javascript:", md.text)
    assert "javascript:" not in md.text.split("**Sources:**")[1]
    assert md.headers["x-content-type-options"] == "nosniff"


# ------------------------------------------------------------------ publish bundle


def test_publish_bundle_serves_the_site(built: dict, tmp_path: Path) -> None:
    bundle = publish_bundle(built["db"], tmp_path / "dist")
    for part in ("kb.db", "metadata.json", "requirements.txt", "run.sh"):
        assert (bundle / part).exists(), part
    assert not (bundle / "plugins").exists() and not (bundle / "etl").exists(), "the site comes as a wheel"
    (wheel,) = bundle.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    for part in ("kb_site/hooks.py", "kb_site/templates/index.html", "kb_site/static/site.css", "etl/similar.py"):
        assert part in names, part
    assert "[datasette]\nkb_site = kb_site" in entry_points
    assert (bundle / "kb.db").read_bytes() == built["db"].read_bytes()
    requirements = (bundle / "requirements.txt").read_text().splitlines()
    assert any(r.startswith("datasette==") for r in requirements) and f"./{wheel.name}" in requirements
    run = (bundle / "run.sh").read_text()
    assert "--cors" in run and "-i kb.db" in run and str(REPO_ROOT) not in run, "paths are bundle-relative"
    assert "--plugins-dir" not in run and "--template-dir" not in run, "the entry point loads the site"
    # The wheel installed (without its dependencies: this environment has them) ahead of the project's
    # editable install, so the bundle's server runs the site from the wheel.
    site = tmp_path / "site-packages"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], check=True
    )
    env = dict(os.environ, DATASETTE=str(Path(sys.executable).parent / "datasette"), PYTHONPATH=str(site))
    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from datasette.plugins import get_plugins; print(json.dumps(get_plugins()))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )  # not the repository: `python -c` imports from its working directory
    (plugin,) = [p for p in json.loads(listed.stdout) if p["templates_path"]]
    assert plugin["templates_path"] == str(site / "kb_site" / "templates")
    assert plugin["static_path"] == str(site / "kb_site" / "static")
    port = free_port()
    log = tmp_path / "bundle.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(bundle / "run.sh"), str(port), "127.0.0.1"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = wait_for_server(proc, f"http://127.0.0.1:{port}", log)
        home = get(url + "/").text
        assert 'id="count-actions"' in home
        css = re.search(r'<link rel="stylesheet" href="(/-/static-plugins/[^"]+/site\.css)"', home).group(1)
        assert get(url + css).status_code == 200
        assert get(url + "/-/provision/164.308").status_code == 200
        assert get(url + "/kb/feed_new_actions.atom").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
