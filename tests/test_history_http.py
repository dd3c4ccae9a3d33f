"""The Breach Portal over time, over HTTP on the real pipeline-built database: a report's history page, the
investigations page, coverage on the home page and the paged Atom feeds of the history."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
import requests

ATOM = "{http://www.w3.org/2005/Atom}"
# Facts about the recorded under-investigation exports 2024-11, 2025-06 and 2025-11 .. 2026-07-15.
CHANGE_HEALTHCARE = "2024-07-19-change-healthcare-mn"


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=60)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_change_healthcare_page_shows_each_count_with_its_export(datasette_url: str) -> None:
    page = get(f"{datasette_url}/kb/breaches/{CHANGE_HEALTHCARE}")
    assert page.status_code == 200
    history = page.text.split('id="history"', 1)[1].split("</table>", 1)[0]
    rows = [text_of(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", history, re.S)[1:]]
    first_cells = [r.split()[0] for r in rows]
    assert first_cells[:3] == ["2024-11", "2025-06", "2025-11"]
    assert "100,000,000" in rows[0] and "190,000,000 (was 100,000,000)" in rows[1]
    assert "192,700,000 (was 190,000,000)" in rows[2]
    assert all("192,700,000" in r and "(was" not in r for r in rows[3:])
    assert page.text.count("<mark>") == 2, "exactly the two revisions are highlighted"
    assert "<title>Change Healthcare, Inc. (2024-07-19)</title>" in page.text


def test_a_report_page_says_when_it_left_the_list(datasette_url: str, built_db) -> None:
    breach_id, after, before = built_db.execute(
        "select breach_id, closed_after, closed_before from investigations where closed_before is not null "
        "order by breach_id limit 1"
    ).fetchone()
    text = text_of(get(f"{datasette_url}/kb/breaches/{breach_id}").text)
    assert f"left the under-investigation list between the exports of {after} and {before}" in text


def test_investigations_page_groups_by_each_choice(datasette_url: str, built_db) -> None:
    total = built_db.execute("select count(*) from investigations").fetchone()[0]
    for by in ("year", "size", "type", "entity"):
        page = get(f"{datasette_url}/-/investigations?by={by}")
        assert page.status_code == 200
        body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        counts = [
            int(r[1].replace(",", "")) for r in re.findall(r"<tr><td>(.*?)</td><td class=\"num\">([\d,]+)</td>", body)
        ]
        assert sum(counts) == total, by
    assert f"{total:,}" in text_of(get(f"{datasette_url}/-/investigations").text)


def test_home_page_marks_incomplete_years(datasette_url: str, built_db) -> None:
    page = get(f"{datasette_url}/").text
    incomplete = [str(r[0]) for r in built_db.execute("select year from coverage_by_year where not complete")]
    assert incomplete, "the recorded exports leave recent years incomplete"
    coverage = text_of(page.split('id="coverage"', 1)[1].split("</section>", 1)[0])
    for year in incomplete:
        assert re.search(rf"\b{year} [\d,]+ [\d,]+ [\d,]+ incomplete:", coverage), year
    assert all(f">{y}*<" in page for y in incomplete), "chart labels star the incomplete years"


def _read_feed(url: str) -> tuple[list[str], int]:
    ids, pages = [], 0
    while url:
        root = ET.fromstring(get(url).content)
        pages += 1
        ids += [e.find(f"{ATOM}id").text for e in root.findall(f"{ATOM}entry")]
        url = next((link.get("href") for link in root.findall(f"{ATOM}link") if link.get("rel") == "next"), None)
    return ids, pages


@pytest.mark.parametrize(
    "kind, sql",
    [
        ("new", "select count(*) from breaches"),
        ("revised", "select count(*) from breach_changes where kind in ('revised', 'moved')"),
        ("left", "select count(*) from breach_changes where kind = 'left_list'"),
    ],
)
def test_breach_feeds_page_through_the_whole_history_once(datasette_url: str, built_db, kind: str, sql: str) -> None:
    ids, pages = _read_feed(f"{datasette_url}/kb/feed_breach_reports.atom?kind={kind}")
    expected = built_db.execute(sql).fetchone()[0]
    assert len(ids) == len(set(ids)) == expected
    assert pages == -(-expected // 100)


def test_breach_feed_is_newest_first(datasette_url: str, built_db) -> None:
    newest = built_db.execute("select max(export_date) from exports").fetchone()[0]
    root = ET.fromstring(get(f"{datasette_url}/kb/feed_breach_reports.atom?kind=new").content)
    updated = [e.find(f"{ATOM}updated").text[: len(newest)] for e in root.findall(f"{ATOM}entry")]
    assert updated[0] == newest and updated == sorted(updated, reverse=True)
