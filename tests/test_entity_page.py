"""An entity's page (kb_site/templates/row-kb-entities.html, kb_site.queries.entity_page), the role and
sector on a case brief, its labelled sources, and the business-associate query: the pure functions on
hand-made rows, then the pages over real HTTP on the real build."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import httpx

from kb_site.formatting import plural, state_name
from kb_site.queries import counted, entity_totals, joined_by, paid_text, role_in_action, sector_words, timeline_items

# --- pure functions (hand-made rows, shaped as entity_page reads them) -----------------------------


def report(rid: str, date: str | None, individuals: int | None = 1000, **extra) -> dict:
    row = {"id": rid, "date": date, "entity_name": "Example Clinic", "individuals_affected": individuals,
           "individuals_placeholder": 0, "breach_type": "Theft", "status": "archived", "path": f"/b/{rid}"}  # fmt: skip
    return row | extra


def action(aid: str, date: str | None, entity_id: str = "example-clinic-tx", amount: int | None = 50000) -> dict:
    return {"id": aid, "date": date, "entity": "Example Clinic", "entity_id": entity_id, "amount_usd": amount,
            "action_type": "resolution_agreement", "entity_type": "healthcare_provider", "path": f"/a/{aid}"}  # fmt: skip


def test_the_timeline_is_oldest_first_with_undated_last_and_links_both_ways():
    reports = [report("b2", "2019-05-01"), report("b1", "2016-03-02", None), report("b0", None)]
    actions = [action("a1", "2018-01-10"), action("a2", "2020-06-30", entity_id="example-parent-tx")]
    links = [{"breach_id": "b1", "action_id": "a1", "days_to_action": 679}]
    items = timeline_items("example-clinic-tx", reports, actions, links)
    assert [i["id"] for i in items] == ["b1", "a1", "b2", "a2", "b0"]
    b1, a1 = items[0], items[1]
    assert b1["date_text"] == "March 2, 2016" and items[-1]["date_text"] == "date unknown"
    assert b1["facts"] == ["individuals affected unknown", "Theft", "Closed (archive)"]
    assert a1["facts"] == ["$50,000", "named as: Health care provider"]
    assert b1["tied"] == [{"text": "resolution agreement with Example Clinic", "path": "/a/a1", "date": "2018-01-10",
                           "days": 679}]  # fmt: skip
    assert a1["tied_label"] == "Follows" and a1["tied"][0]["path"] == "/b/b1"
    assert [i["elsewhere"] for i in items] == [False, False, False, True, False]


def test_a_placeholder_count_and_an_unknown_status_read_as_such():
    [item] = timeline_items("x", [report("b", "2020-01-01", 500, individuals_placeholder=1, status=None)], [], [])
    assert item["facts"] == ["500 individuals affected (500 or 501: often a placeholder)", "Theft", "status unknown"]


def test_totals_count_only_the_entitys_own_actions():
    reports = [report("b1", "2016-01-01", 1_500), report("b2", "2017-01-01", None)]
    actions = [action("a1", "2018-01-01", amount=2_000_000), action("a2", "2019-01-01", amount=None),
               action("a3", "2019-01-01", entity_id="example-parent-tx")]  # fmt: skip
    totals = entity_totals("example-clinic-tx", reports, actions)
    assert (totals["reports_text"], totals["actions_text"]) == ("2 breach reports", "2 enforcement actions")
    assert totals["paid_text"] == "$2,000,000 (1 amount not reported)"
    assert totals["individuals_text"] == "1,500" and totals["elsewhere"] == 1


def test_paid_reads_unknown_when_no_amount_is_known():
    assert paid_text([]) == "$0"
    assert paid_text([action("a", "2020-01-01", amount=None)]) == "unknown"
    assert paid_text([action("a", "2020-01-01", amount=16_000_000)]) == "$16,000,000"


def test_labels_in_words():
    assert counted(["Health plan"] * 3, "report") == "Health plan"
    assert counted(["Health plan", None, "Business associate", "Health plan"], "report") == (
        "Health plan (2 reports), Business associate (1 report), unknown (1 report)"
    )
    assert joined_by(["key+state", "reduced key 'anthem'"]) == (
        "the same name without a location or designation; the same name"
    )
    assert joined_by(["override (merge, entity_overrides.csv line 3)"]) == "a reviewed override"
    assert joined_by([""]) == "unknown"
    assert sector_words("hospital_health_system") == "Hospital or health system"
    assert sector_words(None) == "unknown"
    assert (state_name("IN"), state_name("GU"), state_name(None)) == ("Indiana", "GU", "unknown")
    assert (plural(1, "breach report"), plural(2310, "breach report")) == ("1 breach report", "2,310 breach reports")


def test_role_and_sector_of_an_action():
    anthem = {"entity_type": "business_associate", "sector": "health_plan", "action_type": "resolution_agreement"}
    role = role_in_action(anthem)
    assert (role["named_as"], role["what_it_is"]) == ("Business associate", "Health plan")
    assert role["note"].startswith("Named a business associate in the resolution agreement")
    vendor = {
        "entity_type": "business_associate",
        "sector": "business_associate_it",
        "action_type": "civil_money_penalty",
    }
    assert role_in_action(vendor)["note"] is None and role_in_action(vendor)["named_in"] == "the civil money penalty"
    assert role_in_action({})["named_as"] == "unknown" and role_in_action({})["what_it_is"] == "unknown"


# --- over HTTP on the real build -------------------------------------------------------------------


def get(url: str) -> str:
    r = httpx.get(url, timeout=60)
    assert r.status_code == 200, url
    return r.text


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_entity_page_is_drawn_on_the_server(datasette_url: str, built_db) -> None:
    html = get(f"{datasette_url}/kb/entities/anthem-in")
    page = html[html.index('<article class="entity-page"') : html.index("</article>")]
    assert "<title>Anthem, Inc.</title>" in html and "<h1>Anthem, Inc.</h1>" in page
    assert "<script" not in page and "entity_timeline.json" not in html  # no JS builds the content
    names = {r[0] for r in built_db.execute("select distinct name from entity_names where entity_id = 'anthem-in'")}
    assert "WellPoint, Inc." in names and "Anthem ACE" in names
    for name in names:
        assert f'<span class="entity-name">{name}</span>' in page
    reports = built_db.execute(
        "select id from breaches where entity_id = 'anthem-in' order by submission_date"
    ).fetchall()
    actions = built_db.execute(
        "select id, amount_usd from enforcement_actions where entity_id = 'anthem-in'"
    ).fetchall()
    for (rid,) in reports:
        assert f'href="/kb/breaches/{quote(rid)}"' in page
    for aid, _ in actions:
        assert f'href="/kb/enforcement_actions/{quote(aid)}"' in page
    dates = re.findall(r'<time datetime="(\d{4}-\d\d-\d\d)">', page)
    assert dates == sorted(dates) and len(dates) == len(reports) + len(actions)
    words = text_of(page)
    paid = sum(a for _, a in actions)
    assert f"{len(reports)} breach reports · {len(actions)} enforcement actions · ${paid:,} paid" in words
    assert "What it is Health plan" in words and "State Indiana" in words
    assert "78,800,000 individuals affected" in words  # separators, never 78800000
    assert "Related organisations" in words and 'href="/kb/entities/anthem-bcbs-of-ga-in"' in page
    assert re.search(r'<details class="case-raw raw-row">\s*<summary>All fields of this record', page)
    assert '["action", "breach"]' not in re.sub(r"<details.*?</details>", "", page, flags=re.S)  # no JSON lists


def test_an_entity_without_actions_and_the_kaiser_health_plan(datasette_url: str, built_db) -> None:
    words = text_of(get(f"{datasette_url}/kb/entities/kaiser-foundation-health-plan-ca"))
    # OCR never acted against it; California's attorney general did (2014, 2023)
    actions = built_db.execute(
        "select agency, amount_usd from enforcement_actions where entity_id = 'kaiser-foundation-health-plan-ca'"
    ).fetchall()
    assert actions and {a for a, _ in actions} == {"state_ag"}
    paid = sum(amount or 0 for _, amount in actions)
    assert f"12 breach reports · {len(actions)} enforcement actions · ${paid:,} paid" in words
    assert words.count("State AG · ") == len(actions)  # the timeline says whose action each is
    bare = built_db.execute(
        "select id from entities where id not in (select entity_id from enforcement_actions where entity_id is not null)"
        " and id in (select entity_id from breaches) order by id limit 1"
    ).fetchone()[0]
    bare_words = text_of(get(f"{datasette_url}/kb/entities/{bare}"))
    assert "· 0 enforcement actions" in bare_words and "Enforcement actions none against it" in bare_words
    assert "Kaiser Foundation Health Plan, Inc., Southern California" in words
    assert "joined by the same name without a location or designation" in words
    assert "Kaiser Foundation Health Plan of Colorado , Colorado" in words  # related, not merged


def test_the_case_brief_shows_role_and_sector_and_hhs_sources_first(datasette_url: str, built_db) -> None:
    html = get(f"{datasette_url}/kb/enforcement_actions/2018-10-15-anthem")
    words = text_of(html)
    assert "Named as Business associate (its role in the resolution agreement)" in words
    assert "What it is Health plan Named a business associate in the resolution agreement" in words
    sources = html[html.index('<section class="case-documents">') :]
    sources = sources[: sources.index("</section>")]
    labels = re.findall(r'<span class="source-kind">([^<]+):</span>', sources)
    assert labels[:2] == ["HHS press release", "HHS case page"]
    assert labels.index("Law firm") < labels.index("Trade press") < labels.index("Other source")
    assert sources.index("From HHS") < sources.index("Other sources")
    urls = {r[0] for r in built_db.execute("select url from action_documents where action_id = '2018-10-15-anthem'")}
    assert all(f'href="{u}"' in sources for u in urls)


def test_the_business_associate_query_shows_role_and_sector(datasette_url: str) -> None:
    rows = httpx.get(
        f"{datasette_url}/kb/actions_largest_business_associates.json?_shape=array&agency=ocr", timeout=60
    ).json()
    assert (rows[0]["entity"], rows[0]["named_as"], rows[0]["what_it_is"]) == (
        "Anthem, Inc.",
        "business_associate",
        "health_plan",
    )
    html = get(f"{datasette_url}/kb/actions_largest_business_associates?agency=ocr")
    assert re.search(r'scope="col">Named as</th>.*scope="col">What it is</th>', html, flags=re.S)
    assert '<td class="col-what_it_is">Health plan</td>' in html
    assert "is a health plan, named a business associate" in html  # the note in the description
