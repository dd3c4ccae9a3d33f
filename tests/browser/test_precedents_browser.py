"""The precedent range as a person sees it, in headless Chromium: the page at 1366 px and on a 390 px phone
(nothing wider than the screen), its charts drawn, and the printed memo without the form and navigation.
Screenshots land in tests/artifacts/."""

from __future__ import annotations

from .conftest import ARTIFACTS, shoot

QUERY = "/-/precedents?q=ransomware+attack+no+risk+analysis"


def test_precedent_range_page_on_desktop_and_phone(page, datasette_url) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(datasette_url + QUERY)
    assert page.locator(".precedent-card").count() >= 5
    for chart in ("svg.amount-chart", "svg.hbar-chart", ".precedents-plans svg.chart"):
        assert page.locator(chart).bounding_box()["height"] > 60, chart
    assert page.locator("#fig-amount .figure").inner_text().startswith("$")
    shoot(page, "20-precedents-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(datasette_url + QUERY)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "21-precedents-390")
    assert not page.problems, page.problems


def test_precedent_range_prints_as_a_memo(page, datasette_url) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(datasette_url + QUERY)
    page.emulate_media(media="print")
    for hidden in ("form.precedents-form", ".kb-nav", "header", ".memo-links"):
        assert not page.locator(hidden).first.is_visible(), hidden
    assert page.locator(".precedents-caveats").is_visible()
    shoot(page, "22-precedents-print")
    page.pdf(path=str(ARTIFACTS / "22-precedents-print.pdf"), format="Letter")
    assert not page.problems, page.problems


def test_case_brief_leads_to_cases_like_it(page, datasette_url) -> None:
    page.goto(datasette_url + "/kb/enforcement_actions/2018-10-15-anthem")
    page.click(".precedents-link a")
    page.wait_for_load_state()
    assert "like=2018-10-15-anthem" in page.url
    assert "Anthem" in page.locator(".precedents-answer h2").inner_text()
    assert page.locator(".precedent-card").count() >= 1
    assert not page.problems, page.problems
