"""What a person sees: the site in headless Chromium, on the database the real pipeline built.
Home page -> full-text search -> similar-case search -> an action's case brief -> a provision page."""

from __future__ import annotations

import re
from urllib.parse import unquote

from site_helpers import HOSTILE_ACTION_ID, HOSTILE_BREACH_ID, hostile_site

from .conftest import shoot

_ = hostile_site  # a fixture, used by name below


def _no_problems(page) -> None:
    assert not page.problems, page.problems


def test_home_page_shows_what_the_kb_holds(page, datasette_url, built_db) -> None:
    page.goto(datasette_url + "/")
    n_actions = built_db.execute("select count(*) from enforcement_actions").fetchone()[0]
    assert page.locator("#count-actions").inner_text() == f"{n_actions:,}"
    assert page.locator("h2", has_text="Three ways in").is_visible()
    for way in ("#search-precedents", "#browse-provisions", "#browse-facets"):
        assert page.locator(way).is_visible()
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    assert all(charts.nth(i).bounding_box()["height"] > 100 for i in range(4)), "charts are drawn"
    shoot(page, "01-home")
    _no_problems(page)


def test_search_then_case_brief_then_provision(page, datasette_url, built_db) -> None:
    page.goto(datasette_url + "/")
    page.fill("#fts-actions", "risk analysis")
    page.click("#search-precedents form:first-of-type button")
    page.wait_for_load_state()
    assert "/-/search?" in page.url and "q=risk+analysis" in page.url
    assert page.locator("li.search-card").count() > 0, "full-text search finds actions"
    shoot(page, "02-full-text-search")

    # The case brief of an action that cites the risk-analysis provision.
    action_id = built_db.execute("""select action_id from action_provisions
        where provision_id = '164.308(a)(1)(ii)(A)' order by action_id limit 1""").fetchone()[0]
    entity = built_db.execute("select entity from enforcement_actions where id = ?", [action_id]).fetchone()[0]
    page.goto(f"{datasette_url}/kb/enforcement_actions/{action_id}")
    assert page.locator("article.case-brief h1").inner_text() == entity
    facts = page.locator("dl.case-facts").inner_text()
    for label in ("Entity", "Date announced", "Amount", "Action type", "Corrective action plan"):
        assert label in facts
    assert page.locator("section.case-provisions li").count() >= 1
    assert page.locator("section.case-documents li").count() >= 1
    assert page.locator("#use-this-case a.case-card-md").is_visible()
    shoot(page, "03-case-brief")

    link = page.locator("a.provision-link", has_text="164.308(a)(1)(ii)(A)")
    link.click()
    page.wait_for_load_state()
    assert unquote(page.url).endswith("/-/provision/164.308(a)(1)(ii)(A)")
    assert page.locator("h1").inner_text().startswith("45 CFR 164.308(a)(1)(ii)(A)")
    shown = int(page.locator("#provision-actions").inner_text())
    assert shown == page.locator("table.provision-actions tbody tr").count() and shown > 0
    assert page.locator(f"table.provision-actions a[href$='/{action_id}']").count() == 1
    assert re.fullmatch(r"\$[\d,]+", page.locator("#provision-median").inner_text())
    assert page.locator("a.ecfr").get_attribute("href").startswith("https://www.ecfr.gov/")
    shoot(page, "04-provision")
    _no_problems(page)


def test_similar_case_search(page, datasette_url) -> None:
    page.goto(datasette_url + "/")
    page.fill("#similar-q", "stolen unencrypted laptop with patient records")
    page.click("#search-precedents form:last-of-type button")
    page.wait_for_load_state()
    assert "/-/similar" in page.url
    cards = page.locator(".similar-card")
    assert cards.count() > 0, "similar-case search returns cases"
    assert "laptop" in page.locator("body").inner_text().lower()
    shoot(page, "05-similar-search")
    _no_problems(page)


def test_case_card_opens_as_text(page, datasette_url, built_db) -> None:
    action_id = built_db.execute(
        "select id from enforcement_actions where agency = 'ocr' and amount_usd is not null"
        " order by amount_usd desc limit 1"
    ).fetchone()[0]
    page.goto(f"{datasette_url}/kb/enforcement_actions/{action_id}")
    page.click("a.case-card-txt")
    page.wait_for_load_state()
    text = page.locator("body").inner_text()
    assert "Lesson:" in text and "Provisions cited:" in text and f"/kb/enforcement_actions/{action_id}" in text


def test_hostile_source_text_never_runs(page, hostile_site) -> None:
    for i, path in enumerate(
        [
            "/",
            f"/kb/enforcement_actions/{HOSTILE_ACTION_ID}",
            f"/kb/breaches/{HOSTILE_BREACH_ID}",
            "/kb/enforcement_actions?state=ZZ",
        ]
    ):
        page.goto(hostile_site + path)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.__pwned") == "undefined", f"injected script ran on {path}"
        assert page.locator("a[href^='javascript:']").count() == 0
        shoot(page, f"06-hostile-{i}")
    page.goto(f"{hostile_site}/kb/enforcement_actions/{HOSTILE_ACTION_ID}")
    assert "<script>window.__pwned = 'script'</script>" in page.locator("article.case-brief h1").inner_text(), (
        "the markup is shown as text"
    )
    _no_problems(page)
