"""Case cards for trainers: one enforcement action as Markdown or plain text (facts, provisions cited,
amount, corrective action plan, a lesson, source links), from `queries.case_brief`.

Markdown cards escape HTML and Markdown markup in source text, and link only http(s) addresses."""

from __future__ import annotations

import re
from typing import Any

from kb_site.formatting import number


def _md(text: Any) -> str:
    """Source text inside Markdown: HTML-escaped (Markdown passes raw HTML through) and markup-inert."""
    s = str(text if text is not None else "")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]#|])", r"\\\1", s)


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
    cites = [
        (p["citation"] if p["provision_id"] else p["shown"] or p["labels"])
        + (f" ({p['heading']})" if p.get("heading") else "")
        for p in case["provisions"]
    ]
    headings = [p.get("heading") or p["labels"] or p["shown"] for p in case["provisions"]]
    lesson = (
        (
            "OCR found this entity's compliance lacking on: " + "; ".join(headings) + ". "
            "Check that your own program documents and performs each of these."
        )
        if headings
        else "No provision is recorded for this action."
    )
    # official pages only (documents, hhs.gov); the research sources are on the case brief
    sources = [d["safe_url"] for d in case["documents"] if d["safe_url"] and d["kind"] != "research source"]
    page = base_url + case["path"]
    if markdown:
        lines = [f"### {esc(title)}", ""]
        lines += [f"- **{k}:** {esc(v)}" for k, v in facts if v not in (None, "")]
        lines += [
            "",
            "**Provisions cited:** " + ("; ".join(esc(c) for c in cites) or "none recorded"),
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
