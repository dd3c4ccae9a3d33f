"""Case cards for trainers: one enforcement action as Markdown or plain text (facts, provisions cited with
their eCFR links, amount, corrective action plan, a lesson drawn from the case's own incident, citations and
plan, the HHS sources), from `queries.case_brief`.

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
}


def check_for(provision_id: str | None) -> str | None:
    """What the provision asks, in words, by its longest listed prefix."""
    if not provision_id:
        return None
    prefixes = [p for p in CHECKS if provision_id.startswith(p)]
    return CHECKS[max(prefixes, key=len)] if prefixes else None


def case_lesson(case: dict) -> str:
    """The lesson of this case, from its own facts: what happened (its incident labels), what OCR's citations
    ask of an entity, and what its corrective action plan required."""
    checks: list[str] = []
    for p in case["provisions"]:
        found = check_for(p["provision_id"]) or p.get("heading") or p["labels"] or p["shown"]
        if found and found not in checks:
            checks.append(found)
    parts = []
    if case["incident"]:
        parts.append("What happened: " + ", ".join(str(i) for i in case["incident"]) + ".")
    if checks:
        parts.append("Check that your own program has " + "; ".join(checks) + ".")
    else:
        parts.append("No provision is recorded for this action; read its sources for what OCR found.")
    if case["cap"]["obligations"]:
        parts.append(case["cap"]["obligations"])
    return " ".join(parts)


def _citation(p: dict, esc: Callable[[Any], str], markdown: bool) -> str:
    """One cited provision: its citation (an eCFR link in Markdown) and heading, or the words of a citation
    the sources give without a section."""
    heading = f" ({esc(p['heading'])})" if p.get("heading") else ""
    if not p["provision_id"]:
        return esc(p["shown"] or p["labels"]) + " (no section recorded)"
    if markdown and p.get("ecfr"):
        return f"[{esc(p['citation'])}](<{p['ecfr']}>){heading}"
    return f"{p['citation']}{heading}" + (f" <{p['ecfr']}>" if p.get("ecfr") else "")


def case_card(case: dict, base_url: str, markdown: bool) -> str:
    a = case["action"]
    esc = _md if markdown else (lambda v: "" if v is None else str(v))
    title = f"{a.get('entity')} — {case['action_type']}, {a.get('announced') or 'date unknown'}"
    facts = [
        ("Entity", a.get("entity")),
        ("Entity type", case["entity_type"]),
        ("State", a.get("state")),
        ("Announced", a.get("announced")),
        ("Action", case["action_type"]),
        ("Amount", case["amount"] or "not reported"),
        (
            "Corrective action plan",
            case["cap"]["text"] + (f". {case['cap']['obligations']}" if case["cap"]["obligations"] else ""),
        ),
        ("Individuals affected", number(a.get("individuals_affected")) or "not reported"),
    ]
    cites = [_citation(p, esc, markdown) for p in case["provisions"]]
    lesson = case_lesson(case)
    # official pages only (documents, hhs.gov); the research sources are on the case brief
    sources = [d["safe_url"] for d in case["documents"] if d["safe_url"] and d["kind"] != "research source"]
    page = base_url + case["path"]
    if markdown:
        lines = [f"### {esc(title)}", ""]
        lines += [f"- **{k}:** {esc(v)}" for k, v in facts if v not in (None, "")]
        lines += [
            "",
            "**Provisions cited:** " + ("; ".join(cites) or "none recorded"),
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
            "Provisions cited: " + ("; ".join(cites) or "none recorded"),
            "",
            f"Facts: {a.get('summary') or ''}",
            "",
            f"Lesson: {lesson}",
            "",
            "Sources: " + " ".join([page, *sources]),
        ]
    return "\n".join(lines) + "\n"
