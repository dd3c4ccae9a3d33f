"""etl.press_releases: which pages announce OCR HIPAA actions, and the facts read from them.

Small hand-written texts for each rule, then the whole recorded snapshot (223 pages) against the
golden files and against the curated facts (data/curated/ocr_actions.jsonl)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import REPO_ROOT, SNAPSHOT_DIR

from crawlers.spiders.hhs_enforcement import replay_items
from etl.normalize.names import name_key, name_keys
from etl.press_releases import extract_action, extract_actions, is_enforcement_action

GOLDEN = REPO_ROOT / "tests" / "golden" / "hhs_enforcement"
CURATED = REPO_ROOT / "data" / "curated" / "ocr_actions.jsonl"


def _item(
    title: str,
    *paragraphs: str,
    url: str = "https://www.hhs.gov/about/news/2020/03/04/x.html",
    kind: str = "press_release",
    published: str | None = None,
) -> dict[str, Any]:
    """A hand-written raw item (same shape as the spider's)."""
    return {
        "source": "hhs_enforcement",
        "url": url,
        "kind": kind,
        "title": title,
        "published": published,
        "text": "\n\n".join(paragraphs),
        "links": [],
        "fetched_from": url,
        "sha256": "0" * 64,
        "line": None,
        "error": None,
    }


SETTLEMENT = _item(
    "Dental practice pays $1,250,000 to settle HIPAA case",
    "Smile Dental Group, LLC has agreed to pay $1,250,000 to the Office for Civil Rights (OCR) to settle "
    "potential violations of the HIPAA Privacy Rule. The practice disclosed the PHI of 3,102 patients.",
    "OCR found the practice had not conducted a risk analysis as required by 45 C.F.R. § 164.308(a)(1)(ii)(A).",
    "Follow OCR on Twitter.",
)


def test_settlement_facts() -> None:
    action = extract_action(SETTLEMENT)
    assert action == {
        "entity": "Smile Dental Group, LLC",
        "announced": "2020-03-04",
        "amount_usd": 1_250_000,
        "action_type": "resolution_agreement",
        "citations": ["164.308(a)(1)(ii)(A)"],
        "url": SETTLEMENT["url"],
        "title": SETTLEMENT["title"],
        "summary": SETTLEMENT["text"].split("\n\nFollow")[0],
        "individuals_affected": 3102,
        "individuals_affected_stated": "3,102 patients",
    }


def test_civil_money_penalty_and_short_form_expansion() -> None:
    item = _item(
        "OCR imposes a $5.5 million penalty",
        "OCR has issued a Notice of Final Determination finding that Coastal Heart Institute of Ohio "
        "(CHIO) violated HIPAA, requiring CHIO to pay $5.5 million in civil money penalties.",
    )
    [action] = extract_actions(item)
    assert (action["entity"], action["amount_usd"], action["action_type"]) == (
        "Coastal Heart Institute of Ohio",
        5_500_000,
        "civil_money_penalty",
    )


@pytest.mark.parametrize(
    "item",
    [
        _item("HHS announces a grant of $2 million", "HHS will pay $2 million to states for opioid programs."),
        _item("OCR issues HIPAA guidance", "The Office for Civil Rights (OCR) issued HIPAA guidance on apps."),
        _item(
            "OCR settles disability case",
            "OCR reached an agreement with a hospital that will pay $50000 "
            "to settle a complaint under Section 504 of the Rehabilitation Act.",
        ),  # OCR, but not HIPAA
        {**SETTLEMENT, "kind": "agreement_pdf"},  # the agreement itself is not an announcement
        {**SETTLEMENT, "error": "field Text: not a recorded list", "text": None},
    ],
    ids=["not-ocr", "no-payment", "not-hipaa", "pdf", "error-row"],
)
def test_not_enforcement_announcements(item: dict[str, Any]) -> None:
    assert extract_actions(item) == []
    assert not is_enforcement_action(item)
    assert extract_action(item) is None


def test_several_payers_give_one_action_each_when_they_add_up_to_the_total() -> None:
    item = _item(
        "Two clinics pay a total of $300000",
        "OCR announced HIPAA settlements with North Clinic (NC) and South Clinic (SC). Together they paid OCR $300000.",
        "NC has paid OCR $100000 and SC has paid OCR $200000.",
    )
    actions = extract_actions(item)
    assert [(a["entity"], a["amount_usd"]) for a in actions] == [("North Clinic", 100000), ("South Clinic", 200000)]
    with pytest.raises(ValueError, match="announces 2 actions"):
        extract_action(item)


def test_several_payers_that_do_not_add_up_stay_one_action() -> None:
    # "$75000" to SC is a different matter the text mentions; without a matching total, one action.
    item = _item(
        "North Clinic pays $100000 to settle HIPAA case",
        "North Clinic has agreed to pay $100000 to OCR to settle potential HIPAA violations.",
        "In 2015 South Clinic paid OCR $75000 in an unrelated case.",
    )
    assert [(a["entity"], a["amount_usd"]) for a in extract_actions(item)] == [("North Clinic", 100000)]


def test_payer_that_cannot_be_read_still_gives_the_action_with_entity_none() -> None:
    item = _item(
        "Hospital settles HIPAA case",
        "The hospital has agreed to pay $75000 to OCR to settle potential HIPAA violations.",
    )
    assert [(a["entity"], a["amount_usd"]) for a in extract_actions(item)] == [(None, 75000)]


def test_entity_from_title_when_the_page_has_no_body() -> None:
    item = _item("OCR Concludes Record Year for HIPAA Enforcement with $3 Million Mercy Clinic Settlement")
    [action] = extract_actions(item)
    assert (action["entity"], action["amount_usd"], action["summary"]) == ("Mercy Clinic", 3_000_000, None)


def test_announced_falls_back_to_published_then_to_the_date_line() -> None:
    case_url = "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/x/index.html"
    base = SETTLEMENT | {"url": case_url, "kind": "case_page"}
    assert extract_action(base | {"published": "2019-01-02"})["announced"] == "2019-01-02"
    dated = base | {"text": "May 23 2019\n\n" + SETTLEMENT["text"]}
    action = extract_action(dated)
    assert action["announced"] == "2019-05-23"
    assert action["summary"].startswith("Smile Dental Group")  # the date line is not the summary
    assert extract_action(base)["announced"] is None


def test_qualified_counts_are_stated_but_not_taken_as_exact() -> None:
    item = _item(
        "Clinic pays $10000 to settle HIPAA breach",
        "Clinic Corp. has paid $10000 to OCR to settle HIPAA violations after the ePHI of "
        "approximately 3.5 million people was exposed.",
    )
    action = extract_action(item)
    assert (action["individuals_affected"], action["individuals_affected_stated"]) == (
        None,
        "approximately 3.5 million people",
    )


# -- the recorded snapshot ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot_items() -> list[dict[str, Any]]:
    folder = SNAPSHOT_DIR / "hhs_press_releases"
    return [item for path in sorted(folder.glob("*.csv")) for item in replay_items(path)]


def test_enforcement_releases_in_the_snapshot_are_exactly_the_golden_files(snapshot_items) -> None:
    found = {i["url"] for i in snapshot_items if is_enforcement_action(i)}
    cases = [json.loads(p.read_text(encoding="utf-8")) for p in GOLDEN.glob("*.expected.json")]
    golden = {case["url"] for case in cases if "snapshot_file" in case}  # not the hand-written fixtures
    assert len(snapshot_items) == 223
    assert found == golden
    assert len(found) == 11
    assert sum(len(extract_actions(i)) for i in snapshot_items) == 13  # Boston release: three entities


def _same_entity(extracted: str, curated: str) -> bool:
    """Equal match keys (legal suffixes and punctuation dropped), against any name the curated
    entity carries ("Upper San Juan Health Service District d/b/a Pagosa Springs Medical Center")."""
    return name_key(extracted) in name_keys(curated)


def test_snapshot_actions_agree_with_the_curated_facts(snapshot_items) -> None:
    """Same (date, amount, type) set as the curated records of that period, the same entities, and
    the same count of individuals wherever the text states an exact one."""
    actions = [a for i in snapshot_items for a in extract_actions(i)]
    curated = [json.loads(line) for line in CURATED.read_text(encoding="utf-8").splitlines() if line.strip()]
    in_period = [c for c in curated if c["announced"] and "2018-01-01" <= c["announced"] <= "2019-05-31"]
    assert sorted((a["announced"], a["amount_usd"], a["action_type"]) for a in actions) == sorted(
        (c["announced"], c["amount_usd"], c["action_type"]) for c in in_period
    )
    for action in actions:
        [match] = [
            c
            for c in in_period
            if (c["announced"], c["amount_usd"]) == (action["announced"], action["amount_usd"])
            and _same_entity(action["entity"], c["entity"])
        ]
        if action["individuals_affected"] is not None:
            assert action["individuals_affected"] == match["individuals_affected"], action["entity"]
