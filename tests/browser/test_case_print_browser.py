"""A case brief printed as a one-case handout (kb_site/static/site.css, @media print), in headless Chromium:
no navigation, similar cases or links elsewhere; the facts, provisions and sources, with the eCFR and source
addresses printed after their links. Canned queries on a phone: labels in words, nothing wider than the
screen. Screenshots land in tests/artifacts/."""

from __future__ import annotations

from .conftest import ARTIFACTS, shoot

CASE = "/kb/enforcement_actions/2024-02-06-montefiore-medical-center"


def test_a_case_brief_prints_as_a_handout(page, datasette_url) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(datasette_url + CASE)
    assert page.locator(".similar-cases").first.is_visible()
    page.emulate_media(media="print")
    for hidden in (".kb-nav", "header", ".similar-cases", ".precedents-link", ".case-use"):
        assert not page.locator(hidden).first.is_visible(), hidden
    for shown in ("h1", ".case-facts", ".case-provisions", ".case-documents"):
        assert page.locator(shown).first.is_visible(), shown
    printed_after = page.evaluate("getComputedStyle(document.querySelector('.case-brief a.ecfr'), '::after').content")
    assert "https://www.ecfr.gov/" in printed_after
    shoot(page, "23-case-brief-print")
    page.pdf(path=str(ARTIFACTS / "23-case-brief-print.pdf"), format="Letter")
    assert not page.problems, page.problems


def test_a_canned_query_on_a_phone(page, datasette_url) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(datasette_url + "/kb/investigations_open_over_two_years")
    assert page.locator("h1").inner_text() != "kb"
    assert not page.locator("#sql-query").is_visible()  # folded behind its toggle
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    label = page.evaluate(
        "getComputedStyle(document.querySelector('.rows-and-columns td:nth-of-type(1)'), '::before').content"
    )
    assert label == '"Breach report"'
    assert "healthcare_provider" not in page.locator("table.rows-and-columns").inner_text()  # coded values in words
    shoot(page, "24-canned-query-390")
    assert not page.problems, page.problems
