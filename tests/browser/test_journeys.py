"""The three users' journeys, in headless Chromium at 1366×900 and on a 390×844 phone: what the person sees at
each step and how many steps it took. A step is one page the person reaches by typing an address, submitting
a form or following a link.

- The compliance officer: the ransomware question (search, the case, what OCR did in cases like it), the
  right-of-access cases against small practices, and the penalty range today.
- The journalist: the JSON API (every ransomware action exactly once across pages, the same as CSV; a table
  filtered and exported; the precedent range as data).
- The trainer: three case cards with their citations (eCFR) and the HHS source.
"""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from .conftest import shoot

SCREENS = {"desktop": (1366, 900), "phone": (390, 844)}


class Journey:
    """A person's path through the site: each reached page is a step; every page must fit the screen."""

    def __init__(self, page, base: str, width: int) -> None:
        self.page, self.base, self.width, self.steps = page, base, width, 0

    def _arrived(self) -> None:
        self.page.wait_for_load_state()
        self.steps += 1
        assert self.page.evaluate("document.documentElement.scrollWidth") <= self.width, self.page.url

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self._arrived()

    def click(self, locator) -> None:
        locator.first.click()
        self._arrived()

    def search(self, box: str, words: str) -> None:
        self.page.fill(box, words)
        self.page.press(box, "Enter")
        self._arrived()

    def in_first_screen(self, locator) -> bool:
        box = locator.first.bounding_box()
        return box is not None and box["y"] < self.page.viewport_size["height"]


@pytest.fixture(params=list(SCREENS))
def person(request, page, datasette_url: str) -> Journey:
    width, height = SCREENS[request.param]
    page.set_viewport_size({"width": width, "height": height})
    journey = Journey(page, datasette_url, width)
    journey.screen = request.param
    yield journey
    assert not page.problems, page.problems


def test_compliance_officer_ransomware_question(person: Journey) -> None:
    """'What did OCR do when a clinic had ransomware and no risk analysis?' in four steps."""
    page = person.page
    person.open("/")
    person.search("#fts-actions", "ransomware risk analysis")
    first = page.locator("li.search-card")
    assert person.in_first_screen(first), "the first result is in the first screen"
    assert "ransomware" in first.first.inner_text().lower() or first.first.locator("mark").count()
    person.click(first.first.locator("h2 a"))
    assert "/kb/enforcement_actions/" in page.url
    assert page.locator(".case-provisions li").count() >= 1
    assert page.locator(".case-cap").inner_text().strip()  # yes / no / unknown, never blank
    person.click(page.locator(".precedents-link a"))
    assert "/-/precedents" in page.url
    median = page.locator("#fig-amount .figure").inner_text()
    assert re.fullmatch(r"\$[\d,]+", median.strip()), median
    assert "not legal advice" in page.content().lower()
    assert person.steps == 4
    shoot(page, f"40-journey-ransomware-{person.screen}")


def test_compliance_officer_right_of_access_at_small_practices(person: Journey) -> None:
    """The right-of-access cases against physician practices, with their amounts, in three steps."""
    page = person.page
    person.open("/")
    person.search("#fts-actions", "right of access")
    person.click(page.locator('.search-facet[data-facet=sector] a:has-text("Physician practice")'))
    cards = page.locator("li.search-card")
    assert cards.count() >= 5
    assert page.locator('li.chip[data-filter="sector=physician_practice"]').count() == 1
    texts = [cards.nth(i).inner_text() for i in range(cards.count())]
    assert all("Physician practice" in t for t in texts)
    assert sum("$" in t for t in texts) >= 5, "amounts read as dollars"
    assert person.steps == 3
    shoot(page, f"41-journey-right-of-access-{person.screen}")


def test_compliance_officer_penalty_range_today(person: Journey, built_db) -> None:
    """'What is the penalty range for willful neglect today?' in two steps, in the words of the regulation."""
    page = person.page
    person.open("/")
    person.click(page.locator('.kb-nav a:has-text("Penalty amounts")'))
    latest = built_db.execute(
        "select min_per_violation, calendar_year_cap from penalty_tiers where tier = 4 and basis = 'regulation'"
        " order by effective_date desc limit 1"
    ).fetchone()
    text = page.locator("body").inner_text()
    assert "Willful neglect, not corrected within 30 days" in text
    assert f"${latest[0]:,}" in text and f"${latest[1]:,}" in text
    assert person.steps == 2
    shoot(page, f"42-journey-penalties-{person.screen}")


def test_journalist_api_tasks(datasette_url: str, built_db) -> None:
    """Every ransomware action exactly once across the JSON pages, the same set as the CSV; a table filtered
    and exported as CSV; the precedent range as data."""
    seen: list[str] = []
    url = f"{datasette_url}/-/search.json?q=ransomware&kind=actions"
    while url:
        answer = httpx.get(url, timeout=60).json()
        seen += [r["id"] for r in answer["results"]]
        url = datasette_url + answer["links"]["next_json"] if answer["links"]["next_json"] else None
    assert len(seen) == len(set(seen)) == answer["total"] > 0
    as_csv = httpx.get(f"{datasette_url}/-/search.csv?q=ransomware&kind=actions", timeout=60).text
    assert sorted(r["id"] for r in csv.DictReader(io.StringIO(as_csv))) == sorted(seen)

    big = httpx.get(
        f"{datasette_url}/kb/breaches.csv?individuals_affected__gte=1000000&_size=max&_nofacet=1", timeout=60
    ).text
    rows = list(csv.DictReader(io.StringIO(big)))
    expected = built_db.execute("select count(*) from breaches where individuals_affected >= 1000000").fetchone()[0]
    assert len(rows) == expected > 0

    ranged = httpx.get(f"{datasette_url}/-/precedents.json?q=ransomware+attack+no+risk+analysis", timeout=60).json()
    assert ranged["summary"]["n"] == len(ranged["precedents"]) > 0
    assert {"min", "p25", "median", "p75", "max", "n_known"} <= set(ranged["summary"]["amount"])


def test_trainer_three_case_cards_with_citations(person: Journey, built_db) -> None:
    """From three case briefs to their Markdown cards: each cites its provisions on the eCFR and its HHS
    source, and draws its own lesson."""
    page = person.page
    ids = [
        r[0]
        for r in built_db.execute(
            "select id from enforcement_actions a where hhs_urls like '%hhs.gov%' and exists (select 1 from"
            " action_provisions p where p.action_id = a.id and p.provision_id is not null)"
            " order by announced desc limit 3"
        )
    ]
    lessons = set()
    for action_id in ids:
        person.open(f"/kb/enforcement_actions/{action_id}")
        href = page.locator("a.case-card-md").first.get_attribute("href")
        card = httpx.get(person.base + href, timeout=60).text
        assert re.search(r"\]\(<https://www\.ecfr\.gov/current/title-45/", card), action_id
        assert "<https://www.hhs.gov/" in card, action_id
        lessons.add(re.search(r"\*\*Lesson\.\*\* (.*)", card).group(1))
    assert len(ids) == 3 and person.steps == 3
    assert len(lessons) >= 2
