"""Case cards for trainers: one enforcement action as Markdown or plain text (facts, provisions cited with
their eCFR links, amount, corrective action plan, a lesson drawn from the case's own incident, citations and
plan, the HHS sources), from `queries.case_brief`. Every enforcer's actions get one: a state attorney
general's, the FTC's or a criminal case's card names its enforcer, its form, its amounts by kind (or its
sentence) and its legal basis, and its lesson never claims an OCR finding.

Markdown cards escape HTML and Markdown markup in source text, and link only http(s) addresses."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kb_site.formatting import number


def _md(text: Any) -> str:
    """Source text inside Markdown: HTML-escaped (Markdown passes raw HTML through) and markup-inert."""
    s = str(text if text is not None else "")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]#|])", r"\\\1", s)


# What a cited provision asks of a regulated entity, in a trainer's words; the longest matching prefix of
# the provision id wins (164.308(a)(1)(ii)(A) before 164.308(a)).
CHECKS = {
    "164.308(a)(1)(ii)(A)": "an accurate, thorough and current risk analysis of all ePHI",
    "164.308(a)(1)(ii)(B)": "a risk management plan that acts on that analysis",
    "164.308(a)(1)(ii)(D)": "regular review of information system activity (logs, access reports)",
    "164.308(a)(1)": "a security management process",
    "164.308(a)(3)": "workforce access that ends when a job or employment ends",
    "164.308(a)(4)": "access to ePHI granted only as each role needs it",
    "164.308(a)(5)": "security awareness training",
    "164.308(a)(6)": "procedures to identify, respond to and document security incidents",
    "164.308(a)(7)": "a contingency plan: data backup, disaster recovery, emergency mode",
    "164.308(a)(8)": "periodic evaluation of the safeguards",
    "164.308(b)": "business associate agreements before a vendor handles ePHI",
    "164.502(e)": "business associate agreements before a vendor handles PHI",
    "164.504(e)": "business associate agreements with the required terms",
    "164.310(a)": "physical access controls for facilities and equipment",
    "164.310(c)": "workstation security",
    "164.310(d)": "device and media controls: inventory, reuse and disposal",
    "164.312(a)(2)(iv)": "encryption of ePHI at rest, or a documented equivalent",
    "164.312(a)": "technical access controls: unique user ids, automatic logoff",
    "164.312(b)": "audit controls that record activity in systems holding ePHI",
    "164.312(c)": "protection of ePHI from improper change or destruction",
    "164.312(d)": "authentication of every person or system that reaches ePHI",
    "164.312(e)": "transmission security: encryption of ePHI in transit",
    "164.316": "written security policies, procedures and documentation",
    "164.404": "notice to affected individuals within 60 days of discovering a breach",
    "164.406": "notice to the media of a breach affecting more than 500 residents of a state",
    "164.408": "notice of the breach to HHS",
    "164.410": "a business associate's notice of a breach to the covered entity",
    "164.414": "the burden of proof that notice was given or was not needed",
    "164.502(a)": "disclosures of PHI only as the Privacy Rule permits",
    "164.502(b)": "the minimum necessary PHI for each use and disclosure",
    "164.514(d)": "the minimum necessary PHI for each use and disclosure",
    "164.508": "the patient's written authorization where one is required",
    "164.510": "the patient's chance to agree or object before PHI is shared",
    "164.524": "patients' timely access to their records (30 days) at a reasonable, cost-based fee",
    "164.526": "patients' requests to amend their records",
    "164.530(b)": "Privacy Rule training of the workforce",
    "164.530(c)": "safeguards for PHI in every form, paper and speech included",
    "164.530(e)": "sanctions against workforce members who break the rules",
    "164.530(f)": "mitigation of harm from an improper disclosure",
    "164.530(i)": "privacy policies and procedures",
    "164.530(j)": "keeping the required documentation",
    "160.310": "cooperation with OCR's investigation",
    # beyond OCR (issue 14)
    "16 CFR 318": "notice to consumers, the FTC and (for 500 or more) the media when health app data is breached",
    "15 U.S.C. 45": "privacy and security promises to consumers that the practice keeps (FTC Act Section 5)",
    "42 U.S.C. 1320d-6": "a workforce that knows obtaining or disclosing patient information without "
    "authorization is a federal crime",
}
# What a card says of the enforcer's finding when it is not OCR's.
FOUND_BY = {
    "ocr": "what OCR found",
    "state_ag": "what the attorneys general alleged",
    "ftc": "what the FTC alleged",
    "doj": "what the prosecutors charged",
}


def check_for(provision_id: str | None) -> str | None:
    """What the provision asks, in words, by its longest listed prefix."""
    if not provision_id:
        return None
    prefixes = [p for p in CHECKS if provision_id.startswith(p)]
    return CHECKS[max(prefixes, key=len)] if prefixes else None


def case_lesson(case: dict) -> str:
    """The lesson of this case, from its own facts: what happened (its incident labels), what the citations
    ask of an entity, and what an OCR corrective action plan required. Another enforcer's case says whose
    action it is and claims no OCR finding: only provisions with a check of their own become checks, and
    the laws it rests on are named as its legal basis."""
    agency = case.get("agency") or "ocr"
    checks: list[str] = []
    laws: list[str] = []
    for p in case["provisions"]:
        check = check_for(p["provision_id"])
        found = check if agency != "ocr" else check or p.get("heading") or p["labels"] or p["shown"]
        if found and found not in checks:
            checks.append(found)
        if agency != "ocr":
            law = p.get("citation") or p["shown"]
            if law and law not in laws:
                laws.append(law)
    parts = []
    if agency != "ocr":
        parts.append(f"An action of {case.get('agency_label') or agency}, not an OCR finding.")
    if case["incident"]:
        parts.append("What happened: " + ", ".join(str(i) for i in case["incident"]) + ".")
    if laws:
        parts.append("It rests on " + "; ".join(laws) + ".")
    if checks:
        parts.append("Check that your own program has " + "; ".join(checks) + ".")
    elif agency == "ocr":
        parts.append("No provision is recorded for this action; read its sources for what OCR found.")
    else:
        parts.append(f"Read its sources for {FOUND_BY.get(agency, 'what the enforcer found')}.")
    if agency == "ocr" and case["cap"]["obligations"]:
        parts.append(case["cap"]["obligations"])
    return " ".join(parts)


def _citation(p: dict, esc: Callable[[Any], str], markdown: bool) -> str:
    """One cited provision: its citation (an eCFR link in Markdown) and heading, or the words of a citation
    the sources give without a section."""
    heading = f" ({esc(p['heading'])})" if p.get("heading") else ""
    if not p["provision_id"]:
        return esc(p["shown"] or p["labels"]) + (" (as written)" if p.get("as_written") else " (no section recorded)")
    if markdown and p.get("ecfr"):
        return f"[{esc(p['citation'])}](<{p['ecfr']}>){heading}"
    return f"{p['citation']}{heading}" + (f" <{p['ecfr']}>" if p.get("ecfr") else "")


def _states(states: dict | None) -> str | None:
    if not states:
        return None
    names = ", ".join(states["names"])
    if states["multistate"]:
        text = "multistate" + (f" ({names})" if names else "")
        text += f"; led by {', '.join(states['leads'])}" if states["leads"] else ""
    else:
        text = names
    note = states.get("note")
    return "; ".join(x for x in (text, note) if x) or None


def _sentence(sentence: dict | None) -> str:
    """A criminal case's sentence in one line: its terms, else its words, else its outcome."""
    if not sentence:
        return "not recorded"
    terms = ", ".join(f"{k.lower()} {v}" for k, v in sentence["terms"])
    text = terms or sentence.get("words") or ""
    if sentence.get("outcome"):
        text += f" (outcome: {sentence['outcome']})" if text else f"not recorded (outcome: {sentence['outcome']})"
    return text or "not recorded"


def case_card(case: dict, base_url: str, markdown: bool) -> str:
    a = case["action"]
    esc = _md if markdown else (lambda v: "" if v is None else str(v))
    title = f"{a.get('entity')} — {case['action_type']}, {a.get('announced') or 'date unknown'}"
    agency = case.get("agency") or "ocr"
    facts = [
        ("Enforcer", case.get("agency_label")),
        ("Entity", a.get("entity")),
        ("Entity type", case["entity_type"]),
        ("State", a.get("state")),
        ("States", _states(case.get("states")) if agency != "ocr" else None),
        ("Announced", a.get("announced")),
        ("Action" if agency == "ocr" else "Form", case["action_type"]),
    ]
    if agency == "ocr":
        facts += [
            ("Amount", case["amount"] or "not reported"),
            (
                "Corrective action plan",
                case["cap"]["text"] + (f". {case['cap']['obligations']}" if case["cap"]["obligations"] else ""),
            ),
        ]
    elif agency == "doj":
        facts.append(("Sentence", _sentence(case.get("sentence"))))
    else:
        facts.append(("Required paid", case["amount"] or case.get("paid_text") or "not reported"))
        facts += [
            (m["label"][:1].upper() + m["label"][1:], m["shown"] + ("" if m["counted"] else " (not counted as paid)"))
            for m in case.get("amounts") or []
            if not m["counted"] or len(case["amounts"]) > 1
        ]
    if agency != "ocr":
        facts += [("Docket", a.get("docket")), ("Forum", a.get("forum"))]
    facts.append(("Individuals affected", number(a.get("individuals_affected")) or "not reported"))
    cites = [_citation(p, esc, markdown) for p in case["provisions"]]
    lesson = case_lesson(case)
    # official pages only (documents, hhs.gov); the research sources are on the case brief
    # (another enforcer's actions have only research sources: their evidence is the card's source)
    sources = [
        d["safe_url"]
        for d in case["documents"]
        if d["safe_url"] and (d["kind"] != "research source" or agency != "ocr")
    ]
    page = base_url + case["path"]
    if markdown:
        lines = [f"### {esc(title)}", ""]
        lines += [f"- **{k}:** {esc(v)}" for k, v in facts if v not in (None, "")]
        lines += [
            "",
            f"**{'Provisions cited' if agency == 'ocr' else 'Legal basis'}:** " + ("; ".join(cites) or "none recorded"),
            "",
            f"**Facts.** {esc(a.get('summary') or '')}",
            "",
            f"**Lesson.** {esc(lesson)}",
            "",
            "**Sources:** " + ", ".join(f"<{u.replace('<', '%3C').replace('>', '%3E')}>" for u in [page, *sources]),
        ]
    else:
        lines = [title, "=" * len(title), ""]
        lines += [f"{k}: {v}" for k, v in facts if v not in (None, "")]
        lines += [
            "",
            f"{'Provisions cited' if agency == 'ocr' else 'Legal basis'}: " + ("; ".join(cites) or "none recorded"),
            "",
            f"Facts: {a.get('summary') or ''}",
            "",
            f"Lesson: {lesson}",
            "",
            "Sources: " + " ".join([page, *sources]),
        ]
    return "\n".join(lines) + "\n"
