"""Facts of an OCR HIPAA enforcement action, read from the text of an hhs_enforcement raw item.

Pure functions, no I/O. Input: one raw item (docs/architecture.md, hhs_enforcement contract) with
title, text (paragraphs separated by blank lines), url, published. Output: one dict per action:

    {"entity", "announced" (YYYY-MM-DD | None), "amount_usd" (int | None),
     "action_type" ("resolution_agreement" | "civil_money_penalty"), "citations" (canonical CFR strings),
     "url", "title", "summary" (first one or two paragraphs | None),
     "individuals_affected" (int, only when the text states an exact count | None),
     "individuals_affected_stated" (the phrase as written, e.g. "over 33500 individuals" | None)}

How the text is read (HHS releases follow a few fixed phrasings; the recorded 2018-2019 text also
lost its commas, so "Boston Medical Center (BMC) Brigham and Women's Hospital (BWH)" must still parse):
- an action is announced when the title or the lead paragraphs mention OCR and HIPAA and a dollar
  amount that is paid ("agreed to pay $X", "paid OCR $X", "Settlements Totaling $X", "$X ... Settlement");
- the payer is the name right before the paying verb ("Anthem Inc. has agreed to pay"), with short
  forms expanded through the text's own definitions ("... Cancer Center (MD Anderson)");
- a release naming several payers with their own amounts ("BMC has paid OCR $100000 BWH has paid OCR
  $384000 ...") gives one action per payer, but only if those amounts add up to the total the release
  states; otherwise the release is one action;
- "civil money penalty" next to the amount makes it a civil_money_penalty, else a resolution_agreement.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from etl.citations import canonical_citations
from etl.normalize.amounts import Amount, find_amounts

URL_DATE = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/")
TEXT_DATE = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November"
    r"|December)\s+(\d{1,2}),?\s+(\d{4})\b"
)
OCR = re.compile(r"\bOCR\b|Office for Civil Rights")
HIPAA = re.compile(r"\bHIPAA\b|Health Insurance Portability and Accountability Act")
# A paying verb right before the amount: "has agreed to pay $X", "paid OCR $X", "Pays OCR $X".
PAY_BEFORE = re.compile(
    r"(?:\b(?:has|have)\s+)?(?:\bagreed\s+to\s+)?\b(?:to\s+)?(?:pay|pays|paid)"
    r"(?:\s+(?:OCR|HHS))?\s*$",
    re.I,
)
TOTAL_BEFORE = re.compile(r"\b(?:totaling|totalling|a\s+total\s+of)\s*$", re.I)
SETTLE_AFTER = re.compile(r"^[^.$]{0,40}?\b(?:settle|settlement|settlements|penalty|penalties)\b", re.I)
CMP = re.compile(r"civil\s+money\s+penalt|\bCMP\b|\bpenalties\b", re.I)
INDIVIDUALS = re.compile(
    r"\b(?:e?PHI|information|records?|data)\)?\s+of\s+"
    r"(?P<stated>(?P<qual>approximately|about|almost|nearly|over|more\s+than|at\s+least|up\s+to)?\s*"
    r"(?P<n>\d[\d,]*(?:\.\d+)?)(?:\s+(?P<million>million))?\s+(?:individuals|patients|people|persons))",
    re.I,
)
# Words that may join the capitalized words of a name ("Allergy Associates of Hartford P.C.").
CONNECTORS = {"of", "and", "the", "for", "de", "la", "d/b/a", "&", "at"}
CORPORATE_SUFFIX = re.compile(r"^(?:Inc|LLC|L\.L\.C|LLP|Ltd|Corp|Co|P\.?C|P\.?A|PL|PLLC|N\.A)\.?,?$")
ABBREVIATION = re.compile(r"\(\s*[“\"]?(?P<abbr>[^()“”\"]{1,60}?)[”\"]?\s*\)")
PAYER_CONTEXT = 120  # how far before the verb a payer's name can start


def is_enforcement_action(item: dict[str, Any]) -> bool:
    """True when the item announces an OCR HIPAA resolution agreement or civil money penalty."""
    return bool(extract_actions(item))


def extract_action(item: dict[str, Any]) -> dict[str, Any] | None:
    """The one action a page announces, or None. A page announcing several (a multi-entity release)
    raises ValueError: use extract_actions for those."""
    actions = extract_actions(item)
    if len(actions) > 1:
        raise ValueError(f"{item.get('url')}: announces {len(actions)} actions; use extract_actions")
    return actions[0] if actions else None


def extract_actions(item: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action the page announces: [] for a page that is not an OCR HIPAA settlement/penalty
    announcement (or a PDF, or an unreadable row), one per paying entity otherwise."""
    if item.get("error") or item.get("kind") == "agreement_pdf":
        return []
    title = item.get("title") or ""
    paragraphs = [p for p in (item.get("text") or "").split("\n\n") if p.strip()]
    dateline = paragraphs[0] if paragraphs and TEXT_DATE.fullmatch(paragraphs[0].strip()) else None
    if dateline:  # a page's date line ("October 15, 2018") is not part of the story
        paragraphs = paragraphs[1:]
    lead = "\n\n".join([title] + paragraphs[:2])
    if not (OCR.search(lead) and HIPAA.search(lead)):
        return []
    payments = _payments(title, paragraphs)
    if not payments:
        return []
    base = {
        "announced": _announced(item),
        "citations": canonical_citations("\n\n".join([title] + paragraphs)),
        "url": item.get("url"),
        "title": item.get("title"),
        "summary": "\n\n".join(paragraphs[:2]) or None,
    }
    per_entity = _per_entity(payments)
    if per_entity:
        return [_action(base, entity, amount, type_, None, None) for entity, amount, type_ in per_entity]
    entity, amount, type_ = payments[0]
    count, stated = _individuals(paragraphs)
    return [_action(base, entity, amount, type_, count, stated)]


def _action(
    base: dict[str, Any],
    entity: str | None,
    amount: int | None,
    action_type: str,
    count: int | None,
    stated: str | None,
) -> dict[str, Any]:
    return {
        "entity": entity,
        "announced": base["announced"],
        "amount_usd": amount,
        "action_type": action_type,
        "citations": base["citations"],
        "url": base["url"],
        "title": base["title"],
        "summary": base["summary"],
        "individuals_affected": count,
        "individuals_affected_stated": stated,
    }


Payment = tuple[str | None, int, str]  # (payer or None for a stated total, dollars, action type)


def _payments(title: str, paragraphs: list[str]) -> list[Payment]:
    """Paid amounts, lead paragraphs first, then the title, then the rest of the text; those with a
    named payer first. A total ("Totaling $X") or an unnamed payer ("the three entities paid") has
    payer None: a page whose payer cannot be read still gives its action, with entity None, so that
    the loader reports it instead of it being lost here."""
    ordered = paragraphs[:2] + [title] + paragraphs[2:]
    abbreviations = _abbreviations("\n\n".join(paragraphs + [title]))
    found: list[Payment] = []
    for block in ordered:
        for amount in find_amounts(block):
            before, after = block[: amount.start], block[amount.end :]
            if pay := PAY_BEFORE.search(before):
                payer = _name_before(before[: pay.start()])
            elif TOTAL_BEFORE.search(before):
                payer = None
            elif SETTLE_AFTER.search(after):
                payer = _name_after(after)
            else:
                continue
            payer = abbreviations.get(payer, payer) if payer else None
            found.append((payer, amount.dollars, _action_type(block, amount)))
    return [p for p in found if p[0]] + [p for p in found if not p[0]]


def _per_entity(payments: list[Payment]) -> list[Payment]:
    """Several payers, each once, whose amounts add up to a total the page states; else []."""
    firsts: dict[str, Payment] = {}
    for payment in payments:
        if payment[0] and payment[0] not in firsts:
            firsts[payment[0]] = payment
    totals = {amount for payer, amount, _ in payments if payer is None}
    if len(firsts) > 1 and sum(p[1] for p in firsts.values()) in totals:
        return list(firsts.values())
    return []


def _action_type(block: str, amount: Amount) -> str:
    near = block[max(0, amount.start - 60) : amount.end + 60]
    return "civil_money_penalty" if CMP.search(near) else "resolution_agreement"


def _tokens_are_name(tokens: list[str]) -> str | None:
    # A lower-case joining word cannot start a name; a capitalized one can ("The University of ...").
    while tokens and tokens[0] in CONNECTORS:
        tokens = tokens[1:]
    while tokens and tokens[-1].lower() in CONNECTORS:
        tokens = tokens[:-1]
    return " ".join(tokens) or None


def _is_name_token(token: str, following: list[str]) -> bool:
    # "Anthem, Inc.": a comma belongs to a name only before a company suffix.
    if token.endswith(",") and not (following and CORPORATE_SUFFIX.match(following[0])):
        return False
    return bool(re.match(r"^[“\"]?[A-Z0-9][\w'’.&/-]*[”\"]?,?$", token))


def _name_before(text: str) -> str | None:
    """The capitalized name that ends `text` ("... assets of Filefax Inc." -> "Filefax Inc."),
    skipping a trailing short form in parentheses ("Pagosa Springs Medical Center (PSMC)")."""
    text = re.sub(r"\s*\([^()]*\)\s*$", "", text[-PAYER_CONTEXT:].rstrip())
    tokens: list[str] = []
    for token in reversed(text.split()):
        if _is_name_token(token, tokens) or (tokens and token.lower() in CONNECTORS):
            tokens.insert(0, token)
        else:
            break
    return _tokens_are_name(tokens)


def _name_after(text: str) -> str | None:
    """The capitalized name between an amount and "Settlement": "$3 Million Cottage Health Settlement"."""
    m = re.match(r"^\s*(?:million\s+|thousand\s+)?(?P<name>.*?)\s+(?:HIPAA\s+)?(?:Settlements?|Penalty)\b", text, re.I)
    if not m:
        return None
    tokens = m.group("name").split()
    return (
        _tokens_are_name(tokens)
        if tokens and all(_is_name_token(t, tokens[i + 1 :]) or t.lower() in CONNECTORS for i, t in enumerate(tokens))
        else None
    )


def _abbreviations(text: str) -> dict[str, str]:
    """Short forms the text defines: "Boston Medical Center (BMC)" -> {"BMC": "Boston Medical Center"}."""
    found: dict[str, str] = {}
    for m in ABBREVIATION.finditer(text):
        name = _name_before(text[: m.start()])
        abbr = m.group("abbr").strip()
        if name and abbr not in found and name != abbr:
            found[abbr] = name
    return found


def _announced(item: dict[str, Any]) -> str | None:
    """The press release date in its address, else the date the page gave, else a date line
    at the top of the text ("October 15, 2018")."""
    if m := URL_DATE.search(item.get("url") or ""):
        return "-".join(m.groups())
    if item.get("published"):
        return item["published"]
    if m := TEXT_DATE.search((item.get("text") or "")[:200]):
        return datetime.strptime(" ".join(m.groups()), "%B %d %Y").date().isoformat()
    return None


def _individuals(paragraphs: list[str]) -> tuple[int | None, str | None]:
    """(exact count, phrase): the count only when the text states one without "over", "about" ..."""
    stated = None
    for m in INDIVIDUALS.finditer("\n\n".join(paragraphs)):
        phrase = " ".join(m.group("stated").split())
        if not m.group("qual") and not m.group("million") and "." not in m.group("n"):
            return int(m.group("n").replace(",", "")), phrase
        stated = stated or phrase
    return None, stated
