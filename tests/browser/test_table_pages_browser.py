"""The table pages people reach and the charts, as a person sees them in Chromium: the first row in the first
screen at 1366×900, nothing wider than a 390 px phone, labels in words, no serious accessibility violation;
chart text at least 11 px as drawn on a phone; the home page's exports table within the phone's width.
Screenshots land in tests/artifacts/."""

from __future__ import annotations

import pytest

from .conftest import shoot
from .test_accessibility import AXE, RUN_AXE

TABLE_PAGES = {
    "actions": "/kb/enforcement_actions",
    "breaches": "/kb/breaches",
    "actions-search": "/kb/enforcement_actions?_search=ransomware",
    "breaches-search": "/kb/breaches?_search=phishing&_facet=state",
    "actions-plan-unknown": "/kb/enforcement_actions?cap__isnull=1&action_type=civil_money_penalty",
}
CHART_PAGES = {
    "home": "/",
    "provision": "/-/provision/164.308(a)(1)(ii)(A)",
    "precedents": "/-/precedents?q=ransomware+attack+no+risk+analysis",
}
# The rendered size of a chart's text: its computed font size times the scale its SVG is drawn at
# (a rotated label's scale is the length of its matrix's first column).
CHART_TEXT = """() => [...document.querySelectorAll('svg.chart text')].map(t => {
    const m = t.getScreenCTM(), r = t.getBoundingClientRect(), svg = t.closest('svg.chart').getBoundingClientRect();
    return {text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b),
            inside: r.left >= svg.left - 1 && r.right <= svg.right + 1};
})"""


@pytest.mark.parametrize("name", list(TABLE_PAGES))
def test_the_first_row_is_in_the_first_screen(page, datasette_url: str, name: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(datasette_url + TABLE_PAGES[name])
    first = page.locator("table.rows-and-columns tbody tr").first.bounding_box()
    assert first is not None and first["y"] + first["height"] <= 900, f"{name}: first row at {first}"
    assert not page.locator("dl.column-descriptions").is_visible(), "the column documentation is folded"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shoot(page, f"50-table-{name}-1366")
    assert not page.problems, page.problems


@pytest.mark.parametrize("name", list(TABLE_PAGES))
def test_table_pages_fit_a_phone_with_labels_in_words(page, datasette_url: str, name: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(datasette_url + TABLE_PAGES[name])
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    labels = page.evaluate(
        """() => [...document.querySelectorAll('table.rows-and-columns tbody tr:first-child td')]
            .map(td => getComputedStyle(td, '::before').content)"""
    )
    assert labels[0] == '"Id"' and len(labels) > 3
    assert not [label for label in labels if "_" in label], labels
    text = page.locator("table.rows-and-columns tbody").inner_text()
    assert '["' not in text and "healthcare_provider" not in text and "civil_money_penalty" not in text
    shoot(page, f"51-table-{name}-390")
    assert not page.problems, page.problems


@pytest.mark.parametrize("width", [1366, 390])
def test_table_pages_have_no_serious_accessibility_violation(page, datasette_url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    for name, path in TABLE_PAGES.items():
        page.goto(datasette_url + path)
        page.locator("details.kb-facet").first.evaluate("d => d.open = true")  # its values too
        page.add_script_tag(path=str(AXE))
        assert page.evaluate(RUN_AXE) == [], f"{name} at {width} px"


def test_a_facet_opens_and_filters_in_words(page, datasette_url: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(datasette_url + "/kb/enforcement_actions")
    page.click("#facet-cap_obligations summary")
    page.locator("#facet-cap_obligations a", has_text="risk analysis").click()
    page.wait_for_load_state()
    assert "cap_obligations__arraycontains=risk+analysis" in page.url
    assert page.locator(".kb-selected").inner_text().startswith("Chosen: Plan obligations: risk analysis")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "52-table-facet-390")
    assert not page.problems, page.problems


@pytest.mark.parametrize("name", list(CHART_PAGES))
def test_chart_text_is_readable_on_a_phone(page, datasette_url: str, name: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(datasette_url + CHART_PAGES[name])
    texts = page.evaluate(CHART_TEXT)
    assert texts, f"{name} draws charts"
    small = [t for t in texts if t["px"] < 11]
    assert not small, f"{name}: chart text under 11 px on a phone: {small[:5]}"
    clipped = [t["text"] for t in texts if not t["inside"]]
    assert not clipped, f"{name}: chart text outside its chart: {clipped[:5]}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("svg.chart").first.scroll_into_view_if_needed()
    shoot(page, f"53-charts-{name}-390")


def test_the_home_pages_exports_table_fits_a_phone(page, datasette_url: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(datasette_url + "/")
    widths = page.evaluate(
        "(() => { const t = document.querySelector('table.kb-exports'); return [t.scrollWidth, t.parentElement.clientWidth]; })()"
    )
    assert widths[0] <= widths[1], f"exports table {widths[0]} px in {widths[1]} px"
