"""The search pages as a person sees them, in headless Chromium: the first result within the first screen at
1366×900 and on a 390×844 phone, nothing wider than the screen, the home page's box leading to the results
and on to a case brief, and a filter chip's × removing that filter. Screenshots land in tests/artifacts/."""

from __future__ import annotations

from .conftest import shoot

SEARCHES = {
    "actions": "/-/search?q=ransomware&kind=actions",
    "breaches": "/-/search?q=laptop&kind=breaches&type=Theft&year=2015",
}
SCREENS = {"1366": (1366, 900), "390": (390, 844)}


def test_first_result_in_the_first_screen(page, datasette_url) -> None:
    for name, (width, height) in SCREENS.items():
        page.set_viewport_size({"width": width, "height": height})
        for kind, path in SEARCHES.items():
            page.goto(datasette_url + path)
            card = page.locator("li.search-card").first
            box = card.bounding_box()
            assert box is not None and box["y"] + box["height"] <= height, (kind, name, box)
            assert card.locator("mark").count() >= 1, "the matched word is marked"
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (kind, name)
            shoot(page, f"30-search-{kind}-{name}")
    assert not page.problems, page.problems


def test_home_box_to_results_to_case_brief(page, datasette_url) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(datasette_url + "/")
    page.fill("#fts-actions", "ransomware")
    page.press("#fts-actions", "Enter")
    page.wait_for_load_state()
    assert "/-/search" in page.url and "q=ransomware" in page.url
    title = page.locator("li.search-card h2 a").first
    entity = title.inner_text()
    title.click()
    page.wait_for_load_state()
    assert "/kb/enforcement_actions/" in page.url
    assert page.locator("article.case-brief h1").inner_text() == entity
    assert not page.problems, page.problems


def test_a_chip_removes_its_own_filter(page, datasette_url) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(datasette_url + "/-/search?q=ransomware&kind=actions")
    total = int(page.locator("#search-total").inner_text().replace(",", ""))
    page.locator(".search-facet[data-facet=year] a").first.click()
    page.wait_for_load_state()
    page.locator(".search-facet[data-facet=topic] a").first.click()
    page.wait_for_load_state()
    chips = page.locator("li.chip")
    before = [chips.nth(i).get_attribute("data-filter") for i in range(chips.count())]
    assert len(before) == 2 and before[0].startswith("year=") and before[1].startswith("topic=")
    narrowed = int(page.locator("#search-total").inner_text().replace(",", ""))
    shoot(page, "32-search-chips")
    page.locator("li.chip a.remove").first.click()
    page.wait_for_load_state()
    after = [chips.nth(i).get_attribute("data-filter") for i in range(chips.count())]
    assert after == before[1:], "the year's × removes the year only"
    assert narrowed <= int(page.locator("#search-total").inner_text().replace(",", "")) <= total
    assert not page.problems, page.problems
