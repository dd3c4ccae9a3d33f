"""kb_site/similar.py over HTTP: /-/similar, /-/similar.json, bad input, escaping, and the
"Similar cases" block of enforcement action pages.

Most tests run a real Datasette on the hand-written mini corpus (tests/similar_corpus.py) with only this
area's hooks and templates (the rest of the site expects the full database, so the installed kb_site
plugin is unregistered and a small test plugin registers the similar-case route and row-page block); the
last ones use the `datasette_url` fixture, `kb serve` on the pipeline-built database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from servers import free_port, wait_for_server
from similar_corpus import build_mini_kb

from etl import embed, similar
from kb_site import similar as similar_site

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = REPO_ROOT / "kb_site" / "templates"
ALPHA = "2020-01-15-alpha-regional-hospital"
KAPPA = "2021-10-10-kappa-orthopedics"
SCRIPT_BREACH = "2021-01-01-script-test-fl"


@pytest.fixture(scope="module")
def mini_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("similar_site")
    db = build_mini_kb(root / "kb.db")
    ctx = SimpleNamespace(db=db, cache_dir=root / "cache", echo=lambda _: None, counts={})
    embed.stage(ctx)
    similar.neighbours_stage(ctx)
    db.close()
    plugins, templates = root / "plugins", root / "templates"
    plugins.mkdir()
    templates.mkdir()
    # Hand-written test plugin: the similar-case part of kb_site.hooks, alone.
    (plugins / "similar_only.py").write_text(SIMILAR_ONLY_PLUGIN)
    for name in ("similar.html", "_similar_cases.html", "_kb_nav.html"):
        (templates / name).symlink_to(TEMPLATES / name)
    # Hand-written test template: the site's own action page needs the site plugin and the full database,
    # so the mini site shows Datasette's row page plus this area's block, as any action template includes it.
    (templates / "row-kb-enforcement_actions.html").write_text(
        '{% extends "row.html" %}{% block content %}{{ super() }}{% include "_similar_cases.html" %}{% endblock %}'
    )
    port = free_port()
    log = root / "datasette.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WITHOUT_KB_SITE,
                "serve",
                "-i",
                str(root / "kb.db"),
                "--port",
                str(port),
                "--plugins-dir",
                str(plugins),
                "--template-dir",
                str(templates),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    url = wait_for_server(proc, f"http://127.0.0.1:{port}", log, timeout=60)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


# `datasette` with the installed kb_site plugin (entry point) unregistered before the app is built.
WITHOUT_KB_SITE = (
    "from datasette.plugins import pm; pm.unregister(name='kb_site'); from datasette.cli import cli; cli()"
)

SIMILAR_ONLY_PLUGIN = """
from datasette import hookimpl
from datasette.utils import urlsafe_components

from kb_site import similar


@hookimpl
def register_routes():
    return [(r"^/-/similar(?P<format>\\.json)?$", similar.similar_view)]


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if view_name != "row" or table != "enforcement_actions" or request is None:
        return {"kb_database": "kb"}  # what the site's navigation (_kb_nav.html) links with
    return similar.row_page_vars(datasette, database, urlsafe_components(request.url_vars["pks"])[0])
"""


def get(url: str, path: str, **params) -> httpx.Response:
    return httpx.get(url + path, params=params, timeout=60)


def test_search_json(mini_url):
    r = get(mini_url, "/-/similar.json", q="ransomware encrypted the servers", k="3", kind="actions")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["ranker"] == "hybrid" and body["k"] == 3
    results = body["results"]
    assert len(results) == 3 and {results[0]["id"], results[1]["id"]} == {ALPHA, KAPPA}
    assert results[0]["url"] == f"/kb/enforcement_actions/{results[0]['id']}"
    assert "ransomware" in results[0]["matched_terms"]
    assert [x["score"] for x in results] == sorted((x["score"] for x in results), reverse=True)


@pytest.mark.parametrize("ranker", ["vector", "bm25"])
def test_each_ranker_over_http(mini_url, ranker):
    r = get(mini_url, "/-/similar.json", q="laptop stolen from a car", ranker=ranker, kind="breaches")
    assert r.status_code == 200 and r.json()["ranker"] == ranker
    assert r.json()["results"][0]["id"] == "2019-06-01-sigma-imaging-ca"
    assert r.json()["results"][0]["url"] == "/kb/breaches/2019-06-01-sigma-imaging-ca"


def test_like_json(mini_url):
    body = get(mini_url, "/-/similar.json", like=ALPHA, k="2").json()
    assert body["source"]["id"] == ALPHA and body["kind"] == "actions"
    assert body["results"][0]["id"] == KAPPA
    assert [p["id"] for p in body["results"][0]["shared_provisions"]] == [
        "164.308(a)(1)(ii)(A)",
        "164.308(a)(1)(ii)(B)",
    ]


def test_search_page(mini_url):
    r = get(mini_url, "/-/similar", q="ransomware")
    assert r.status_code == 200
    assert 'class="similar-card"' in r.text and f'href="/kb/enforcement_actions/{ALPHA}"' in r.text
    assert "$1,500,000" in r.text and "Why it matched" in r.text and "164.308(a)(1)(ii)(A)" in r.text
    like = get(mini_url, "/-/similar", like=ALPHA)
    assert like.status_code == 200 and "Cases like" in like.text and "Kappa Orthopedics" in like.text
    assert "cites the same 45 CFR 164.308(a)(1)(ii)(A)" in like.text


def test_empty_search_page_is_the_form_with_examples(mini_url):
    for params in ({}, {"q": ""}, {"q": "   "}):
        r = get(mini_url, "/-/similar", **params)
        assert r.status_code == 200 and 'name="q"' in r.text, params
        assert 'class="similar-card"' not in r.text and "q is empty" not in r.text
        assert "Try one of these" in r.text and "/-/similar?q=laptop" in r.text


def test_actions_come_first_and_breach_reports_have_their_own_section(mini_url):
    html = get(mini_url, "/-/similar", q="laptop stolen from a car").text
    sections = [html.index(f'data-kind="{kind}"') for kind in ("actions", "breaches")]
    assert sections[0] < sections[1]
    actions = html[sections[0] : sections[1]]
    assert "/kb/breaches/" not in actions and "/kb/enforcement_actions/" in actions


def test_why_is_in_words_and_no_score_is_shown(mini_url):
    body = get(mini_url, "/-/similar.json", q="ransomware encrypted the servers", kind="actions").json()
    first = body["results"][0]
    assert any(reason.endswith("closest in meaning") for reason in first["why"])
    html = get(mini_url, "/-/similar", q="ransomware encrypted the servers", kind="actions").text
    assert "Why it matched: " in html and "score" not in html.lower()


def test_pages_follow_each_other_without_gaps_or_repeats(mini_url):
    every = get(mini_url, "/-/similar.json", q="laptop", kind="all", k="6").json()
    pages = [get(mini_url, "/-/similar.json", q="laptop", kind="all", k="2", page=str(n)).json() for n in (1, 2, 3)]
    assert [r["id"] for p in pages for r in p["results"]] == [r["id"] for r in every["results"]]
    assert pages[0]["has_more"] is True and pages[0]["page"] == 1
    html = get(mini_url, "/-/similar", q="laptop", kind="actions", k="2").text
    assert 'rel="next"' in html and "page=2" in html
    assert get(mini_url, "/-/similar.json", q="x", k="10", page="11").status_code == 400


@pytest.mark.parametrize(
    "params, message",
    [
        ({"q": ""}, "q is empty"),
        ({"q": "   "}, "q is empty"),
        ({"q": "x" * 2001}, "longer than 2000"),
        ({"q": "x", "k": "0"}, "k must be"),
        ({"q": "x", "k": "101"}, "k must be"),
        ({"q": "x", "k": "ten"}, "k must be"),
        ({"q": "x", "k": "1.5"}, "k must be"),
        ({"q": "x", "k": "-3"}, "k must be"),
        ({"q": "x", "kind": "cases"}, "kind must be"),
        ({"q": "x", "ranker": "magic"}, "ranker must be"),
        ({"like": "1999-01-01-nobody"}, "no enforcement action"),
        ({"like": ""}, "like is empty"),
        ({"q": "x", "like": ALPHA}, "not both"),
        ({}, "give q"),
    ],
)
def test_bad_input_is_400_json(mini_url, params, message):
    r = get(mini_url, "/-/similar.json", **params)
    assert r.status_code == 400
    assert r.json()["ok"] is False and message in r.json()["error"]


def test_bad_input_on_the_html_page_is_400(mini_url):
    r = get(mini_url, "/-/similar", q="x", k="0")
    assert r.status_code == 400 and "k must be an integer" in r.text


def test_fts_syntax_in_q_is_not_an_error(mini_url):
    for q in ['"', "AND(", "NEAR(x y) *", "a:b -c"]:
        r = get(mini_url, "/-/similar.json", q=q, ranker="bm25")
        assert r.status_code == 200, (q, r.text)


def test_script_in_the_data_renders_inert(mini_url):
    r = get(mini_url, "/-/similar", q="phishing link mailbox", kind="breaches")
    assert r.status_code == 200 and SCRIPT_BREACH in r.text
    assert "<script>alert(" not in r.text
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in r.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Clinic" in r.text


def test_script_in_the_query_renders_inert(mini_url):
    r = get(mini_url, "/-/similar", q="<script>alert(1)</script> laptop")
    assert r.status_code == 200 and "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)" in r.text


def test_row_page_shows_similar_cases(mini_url):
    r = get(mini_url, f"/kb/enforcement_actions/{ALPHA}")
    assert r.status_code == 200
    section = r.text[r.text.index("<h2>Similar cases</h2>") :]
    assert f'href="/kb/enforcement_actions/{KAPPA}"' in section
    assert "Kappa Orthopedics" in section and "$250,000" in section
    assert f"/-/similar?like={ALPHA}" in section


@pytest.mark.model
def test_searcher_is_loaded_once(tmp_path):
    import sqlite3

    db = build_mini_kb(tmp_path / "kb.db")
    embed.stage(SimpleNamespace(db=db, cache_dir=tmp_path / "cache", echo=lambda _: None, counts={}))
    conn = sqlite3.connect(tmp_path / "kb.db")
    assert similar_site._searcher("kb", conn) is similar_site._searcher("kb", conn)
    conn.close()


# ---- on the pipeline-built database, served by `kb serve` -------------------------------------------


def test_real_site_search_and_row_page(datasette_url, built_db):
    r = get(datasette_url, "/-/similar.json", q="stolen unencrypted laptop", kind="actions")
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 10 and sum("laptop" in (x["summary"] or "").lower() for x in results) >= 5
    action_id, similar_id = built_db.execute(
        "select action_id, similar_id from similar_actions where rank = 1 limit 1"
    ).fetchone()
    page = get(datasette_url, f"/kb/enforcement_actions/{action_id}")
    assert page.status_code == 200 and "Similar cases" in page.text and similar_id in page.text
    assert get(datasette_url, "/-/similar.json", q="x", k="0").status_code == 400
