"""An entity's page in headless Chromium (kb_site/templates/row-kb-entities.html): the organisation's name
as title, its facts and its timeline with a link to every record, the raw row folded, and nothing wider
than a 390 px phone (tests/test_entity_page.py checks over HTTP that the server draws it all). Screenshots
land in tests/artifacts/."""

from __future__ import annotations

import pytest

from .conftest import shoot

ENTITY = "/kb/entities/anthem-in"


@pytest.mark.parametrize("width, height", [(1366, 900), (390, 844)])
def test_the_entity_page_at_both_widths(page, datasette_url, width, height) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(datasette_url + ENTITY)
    assert page.locator("h1").first.inner_text() == "Anthem, Inc."
    assert page.title() == "Anthem, Inc."
    items = page.locator("ol.timeline > li")
    assert items.count() >= 10  # Anthem's and WellPoint's reports and their two settlements
    assert page.locator("ol.timeline a[href^='/kb/enforcement_actions/']").count() >= 2
    assert page.locator(".entity-facts").first.is_visible()
    assert not page.locator(".raw-row table").first.is_visible()  # the raw row is folded away
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shoot(page, f"40-entity-{width}")
    assert not page.problems, page.problems
