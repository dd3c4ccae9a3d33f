"""The penalties page `/-/penalties` over real HTTP: today's amounts per culpability tier, the 2019
enforcement discretion caps, the history, each figure checked against the penalty_tiers table with SQL;
and the links to it from the home page, provision 160.404 and every civil money penalty's case brief."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from urllib.parse import quote

import httpx
import pytest

FR_2026 = "https://www.federalregister.gov/d/2026-01688"


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=60)


@pytest.fixture(scope="module")
def page(datasette_url: str) -> str:
    r = get(f"{datasette_url}/-/penalties")
    assert r.status_code == 200
    return r.text


def dollars(value: int | None) -> str:
    return f"${value:,}"


def long_date(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d:%B} {d.day}, {d.year}"


def tiers(built_db, basis: str, effective_date: str) -> list[dict]:
    cursor = built_db.execute(
        "select * from penalty_tiers where basis = ? and effective_date = ? order by tier", [basis, effective_date]
    )
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor]


def latest(built_db) -> str:
    return built_db.execute("select max(effective_date) from penalty_tiers where basis = 'regulation'").fetchone()[0]


def first(built_db) -> str:
    return built_db.execute("select min(effective_date) from penalty_tiers where basis = 'regulation'").fetchone()[0]


def section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_todays_tiers_match_the_latest_figures(page: str, built_db) -> None:
    today = latest(built_db)
    assert f'<span id="penalties-effective">{long_date(today)}</span>' in page
    rows = tiers(built_db, "regulation", today)
    assert [r["tier"] for r in rows] == [1, 2, 3, 4]
    for r in rows:
        card = section(page, f'id="tier-{r["tier"]}"', "</section>")
        assert f"Tier {r['tier']}: {r['culpability']}" in unescape(card)
        for cls, column in (("tier-min", "min_per_violation"), ("tier-max", "max_per_violation"),
                            ("tier-cap", "calendar_year_cap")):  # fmt: skip
            shown = re.search(rf'<span class="usd {cls}">([^<]*)</span>', card).group(1)
            if r[column] is None:
                assert shown.endswith("not confirmed"), (r["tier"], column)
            else:
                assert shown == dollars(r[column]), (r["tier"], column)
        assert f'href="/-/provision/{quote(r["provision"], safe=".()")}"' in card


def test_the_source_is_the_federal_register_notice(page: str, built_db) -> None:
    authority = tiers(built_db, "regulation", latest(built_db))[0]["authority"]
    assert "91 FR 3665" in authority and "FR Doc 2026-01688" in authority
    source = section(page, 'class="penalty-source"', "</p>")
    assert f'href="{FR_2026}"' in source and "Federal Register, 91 FR 3665 (FR Doc 2026-01688)" in source


def test_the_2019_enforcement_discretion_caps_and_their_value_today(page: str, built_db) -> None:
    (ned_date,) = built_db.execute(
        "select distinct effective_date from penalty_tiers where basis = 'enforcement_discretion'"
    ).fetchone()
    assert ned_date == "2019-04-30"
    ned = tiers(built_db, "enforcement_discretion", ned_date)
    assert [r["calendar_year_cap"] for r in ned] == [25_000, 100_000, 250_000, 1_500_000]
    base = {r["tier"]: r["calendar_year_cap"] for r in tiers(built_db, "regulation", first(built_db))}
    now = {r["tier"]: r["calendar_year_cap"] for r in tiers(built_db, "regulation", latest(built_db))}
    block = section(page, 'id="enforcement-discretion"', "</section>")
    assert "April 30, 2019" in block and "84 FR 18151" in block
    for r in ned:
        adjusted = round(r["calendar_year_cap"] * now[r["tier"]] / base[r["tier"]])
        row = section(block, f'<tr data-tier="{r["tier"]}">', "</tr>")
        assert f'<td class="usd ned-cap">{dollars(r["calendar_year_cap"])}</td>' in row
        assert f'<td class="usd ned-adjusted">{dollars(adjusted)}</td>' in row
        card = section(page, f'id="tier-{r["tier"]}"', "</section>")
        assert f'<span class="usd tier-ned-cap">{dollars(adjusted)}</span>' in card


def test_the_history_shows_every_set_of_figures_newest_first(page: str, built_db) -> None:
    history = section(page, 'id="history"', "</section>")
    dates = [d for (d,) in built_db.execute(
        "select distinct effective_date from penalty_tiers where basis = 'regulation' order by 1 desc")]  # fmt: skip
    assert re.findall(r'data-effective="([\d-]+)"', history) == dates
    for d in dates:
        body = section(history, f'data-effective="{d}"', "</tbody>")
        assert long_date(d) in body
        for r in tiers(built_db, "regulation", d):
            cells = re.findall(r"<td[^>]*>([^<]*)</td>", section(body, f'<tr data-tier="{r["tier"]}">', "</tr>"))
            expected = [str(r["tier"])] + [
                dollars(r[c]) if r[c] is not None else "not confirmed"
                for c in ("min_per_violation", "max_per_violation", "calendar_year_cap")
            ]
            assert cells == expected, (d, r["tier"])
        assert text(r["authority"]) in text(body)


def test_the_page_is_linked_from_home_provision_160_404_and_every_civil_money_penalty(
    datasette_url: str, built_db
) -> None:
    link = 'href="/-/penalties"'
    assert link in get(f"{datasette_url}/").text
    for pid in ("160.404", "160.404(b)(2)(iv)"):
        assert 'class="provision-penalties"' in get(f"{datasette_url}/-/provision/{quote(pid, safe='.()')}").text
    assert 'class="provision-penalties"' not in get(f"{datasette_url}/-/provision/164.308").text
    penalties = [
        r[0] for r in built_db.execute("select id from enforcement_actions where action_type = 'civil_money_penalty'")
    ]
    assert penalties, "the curated facts hold civil money penalties"
    for action_id in penalties:
        brief = get(f"{datasette_url}/kb/enforcement_actions/{quote(action_id)}").text
        assert f'<a class="penalties-link" {link}>' in brief, action_id
    (settlement,) = built_db.execute(
        "select id from enforcement_actions where action_type = 'resolution_agreement' limit 1"
    ).fetchone()
    assert 'class="penalties-link"' not in get(f"{datasette_url}/kb/enforcement_actions/{quote(settlement)}").text
