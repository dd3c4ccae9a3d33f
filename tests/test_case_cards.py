"""Case cards (kb_site/cards.py): every provision with its eCFR link, a lesson drawn from the case's own
incident, citations and plan (not one sentence for every case), the HHS sources."""

from __future__ import annotations

import re

import httpx

from kb_site.cards import case_card, case_lesson, check_for


def provision(pid: str | None, heading: str | None = None, shown: str | None = None) -> dict:
    ecfr = f"https://www.ecfr.gov/current/title-45/section-{pid.split('(')[0]}" if pid else None
    return {"provision_id": pid, "citation": f"45 CFR {pid}" if pid else None, "heading": heading,
            "shown": shown or pid, "labels": None, "ecfr": ecfr}  # fmt: skip


def case(provisions: list[dict], incident: list[str], obligations: str | None = None) -> dict:
    return {
        "action": {"entity": "Example Clinic", "announced": "2025-01-02", "summary": "Hand-written."},
        "action_type": "Resolution agreement",
        "entity_type": "Health care provider",
        "amount": "$10,000",
        "cap": {"text": "Yes, 2 years", "obligations": obligations},
        "provisions": provisions,
        "incident": incident,
        "documents": [{"safe_url": "https://www.hhs.gov/example.html", "kind": "hhs.gov page"}],
        "path": "/kb/enforcement_actions/x",
    }


def test_the_longest_listed_prefix_says_what_a_provision_asks() -> None:
    assert check_for("164.308(a)(1)(ii)(A)").startswith("an accurate, thorough and current risk analysis")
    assert check_for("164.308(a)(1)(ii)(B)").startswith("a risk management plan")
    assert check_for("164.524(c)(2)").startswith("patients' timely access")
    assert check_for("164.999") is None and check_for(None) is None


def test_lessons_come_from_each_case() -> None:
    ransomware = case(
        [provision("164.308(a)(1)(ii)(A)", "Risk analysis")], ["ransomware"], "The plan requires: training."
    )
    access = case([provision("164.524", "Access of individuals")], ["right of access delay"])
    assert case_lesson(ransomware) != case_lesson(access)
    assert "What happened: ransomware." in case_lesson(ransomware)
    assert "risk analysis" in case_lesson(ransomware) and "The plan requires: training." in case_lesson(ransomware)
    assert "30 days" in case_lesson(access)
    unmapped = case([provision(None, shown="audit controls")], [])
    assert "audit controls" in case_lesson(unmapped)


def test_markdown_cards_link_each_provision_to_the_ecfr() -> None:
    card = case_card(case([provision("164.308(a)(1)(ii)(A)", "Risk analysis")], ["ransomware"]), "http://kb", True)
    assert (
        "[45 CFR 164.308(a)(1)(ii)(A)](<https://www.ecfr.gov/current/title-45/section-164.308>) (Risk analysis)" in card
    )
    assert "<https://www.hhs.gov/example.html>" in card
    text = case_card(case([provision("164.524")], []), "http://kb", False)
    assert "45 CFR 164.524 <https://www.ecfr.gov/current/title-45/section-164.524>" in text


def test_real_cards_draw_their_lessons_from_their_citations_and_cite_the_ecfr(datasette_url: str, built_db) -> None:
    cited: dict[str, set[str]] = {}
    for action_id, pid in built_db.execute(
        "select action_id, provision_id from action_provisions where provision_id is not null"
        " and action_id in (select id from enforcement_actions order by announced desc limit 20)"
    ):
        cited.setdefault(action_id, set()).add(pid)
    lessons = set()
    for action_id, pids in cited.items():
        card = httpx.get(f"{datasette_url}/-/case-card/{action_id}.md", timeout=60).text
        assert re.search(r"\]\(<https://www\.ecfr\.gov/current/title-(45|42)/", card), action_id
        lesson = re.search(r"\*\*Lesson\.\*\* (.*)", card).group(1)
        for check in filter(None, map(check_for, pids)):
            assert check in lesson, (action_id, check)
        lessons.add(lesson)
    assert len(cited) >= 10 and len(lessons) >= 5  # not one sentence for every case
