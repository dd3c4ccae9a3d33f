"""A breach report's page lists the reports whose descriptions read most alike (etl.similar
Searcher.like_breach), and says why none are shown for a report without a description."""

from __future__ import annotations

import re

import httpx


def section(html: str) -> str:
    return html[html.index('<section class="breach-similar">') :].split("</section>")[0]


def test_a_described_report_lists_reports_like_it(datasette_url: str, built_db) -> None:
    breach_id = built_db.execute(
        "select item_id from embeddings where kind = 'breach' and part = 'text' order by item_id limit 1"
    ).fetchone()[0]
    html = httpx.get(f"{datasette_url}/kb/breaches/{breach_id}", timeout=60).text
    linked = re.findall(r'<a href="/kb/breaches/([^"]+)">', section(html))
    assert 1 <= len(linked) <= 5 and breach_id not in linked
    described = {r[0] for r in built_db.execute("select distinct item_id from embeddings where kind = 'breach'")}
    assert set(linked) <= described  # only reports with a description are compared


def test_a_report_without_a_description_says_why_none_are_shown(datasette_url: str, built_db) -> None:
    breach_id = built_db.execute("select id from breaches where description is null limit 1").fetchone()[0]
    shown = section(httpx.get(f"{datasette_url}/kb/breaches/{breach_id}", timeout=60).text)
    assert "has no description" in shown and "<li>" not in shown
