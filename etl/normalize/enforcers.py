"""Normalize the curated facts of the enforcers beyond OCR into one action shape (pure functions).

Three researched lists (data/curated/beyond_ocr/, see its README) name the same facts differently:
state attorneys general (`announced_date`, `states`, `entity`, `laws_cited`, `action_form`), the FTC
(`respondent`, `legal_basis`, `amount_type`, `docket_or_case`) and federal prosecutors (`defendant`,
`dates`, `statute`, `sentence`). `normalize(agency, record, amounts)` maps a record of any of them to one
`dict` with the fields of `ACTION_FIELDS`, or raises `RecordError(field, reason)`. Nothing here reads a
file or a database: etl/load_enforcers.py does, and decides ids.

Rules worth knowing:
- `entity` is the name before its first parenthesis or semicolon ("GoodRx Holdings, Inc."); the whole
  text stays in `entity_detail`.
- `amount_usd` is the money the action required paid: the sum of its `paid`, `redress` and
  `state_payment` components (etl.agencies.PAID_KINDS). A record's components come from amounts.csv when
  it is listed there; otherwise a state AG's `amount_usd` is paid, and an FTC `amount_type` names the kind.
- `states` keeps only two-letter codes; free text such as "multistate: 43 states + DC" is kept in
  `states_note`. `state` (the entity's own state in OCR's rows) stays null: an attorney general's state
  says where the action was brought, not where the entity is.
- A criminal case's dates are kept as written (`2004-08`, `2004-11-05`); `announced` is the last full date
  among sentence, plea or verdict, and charge; `year` comes from the last dated step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from etl.agencies import PAID_KINDS
from etl.normalize.geo import VALID_CODES

CONFIDENCE = ("high", "medium", "low")
_URL = re.compile(r"https?://\S+")
_ISO = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_PLAIN_COUNT = re.compile(r"\d{1,3}(?:,\d{3})*|\d+")
_STATE_FORMS = (
    # (pattern on the lower-cased action_form, form code); the first match wins.
    (r"\bavc\b|assurance of voluntary compliance|assurance of discontinuance|\baod\b", None),
    (r"^complaint", "complaint"),
    (r"consent judgment|stipulated judgment|agreed final judgment|consent decree", "consent_judgment"),
    (r"consent order", "consent_order"),
    (r"^administrative", "administrative_decision"),
    (r"^settlement", "settlement"),
)


@dataclass(frozen=True)
class RecordError(Exception):
    """One field of one record is unusable; the loader rejects the line with this reason."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"field {self.field!r}: {self.reason}"


@dataclass(frozen=True)
class Amount:
    kind: str
    amount_usd: int | None
    note: str


def _text(record: dict[str, Any], field: str, required: bool = True) -> str | None:
    value = record.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordError(field, "missing")
        return None
    if not isinstance(value, str):
        raise RecordError(field, f"expected text, got {type(value).__name__}")
    return value.strip()


def _list(record: dict[str, Any], field: str) -> list:
    value = record.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(field, f"expected a list, got {type(value).__name__}")
    return value


def _iso_date(value: str | None, field: str) -> str | None:
    """A full YYYY-MM-DD date at the start of `value`, checked; None when there is none."""
    if not value:
        return None
    m = _ISO.match(value.strip())
    if not m or not m.group(3):
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError as e:
        raise RecordError(field, f"not a date: {value!r}") from e


def _date_as_written(value: str | None) -> str | None:
    """The leading `YYYY`, `YYYY-MM` or `YYYY-MM-DD` of a date written with words after it."""
    if not value:
        return None
    m = _ISO.match(value.strip())
    return m.group(0) if m else None


def display_name(full: str) -> str:
    """The name a reader knows the party by: the text before its first parenthesis or semicolon."""
    short = re.split(r"\s*[(;]", full, maxsplit=1)[0].strip().rstrip(",")
    return short or full


def _count(value: Any) -> int | None:
    """An exact count only: 3,403 -> 3403; '~1.5M nationwide' -> None (kept as written elsewhere)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _PLAIN_COUNT.fullmatch(value.strip()):
        return int(value.strip().replace(",", ""))
    return None


def _evidence(urls: list) -> list[str]:
    out = [u for u in urls if isinstance(u, str) and _URL.fullmatch(u)]
    if not out:
        raise RecordError("evidence", "no http(s) address")
    return out


def _confidence(record: dict[str, Any]) -> str:
    value = record.get("confidence")
    if value not in CONFIDENCE:
        raise RecordError("confidence", f"expected one of {', '.join(CONFIDENCE)}, got {value!r}")
    return value


def paid_total(amounts: list[Amount]) -> int | None:
    """What the action required paid; None when it has no paid component, or one of unknown amount (the
    sum of the known parts would read as the whole)."""
    paid = [a.amount_usd for a in amounts if a.kind in PAID_KINDS]
    if not paid or None in paid:
        return None
    return sum(a for a in paid if a is not None)


def _states(record: dict[str, Any]) -> tuple[list[str], list[str], str | None]:
    states: list[str] = []
    notes: list[str] = []
    for s in _list(record, "states"):
        (states if s in VALID_CODES else notes).append(s)
    leads = [s.split(" ")[0] for s in _list(record, "lead_states") if s.split(" ")[0] in VALID_CODES]
    lead_notes = [s for s in _list(record, "lead_states") if s.split(" ")[0] not in VALID_CODES]
    if lead_notes:
        notes.append("lead: " + "; ".join(lead_notes))
    return states, leads, "; ".join(notes) or None


def _not_given() -> dict[str, Any]:
    """The fields of the action shape an enforcer's records may not give, as "not given" (a fresh dict)."""
    return {
        "entity_type_detail": None,
        "amount_usd": None,
        "amount_note": None,
        "states": [],
        "lead_states": [],
        "multistate": False,
        "states_note": None,
        "state": None,
        "cites_hipaa": None,
        "hipaa_basis": None,
        "individuals_affected": None,
        "individuals_affected_text": None,
        "same_incident_note": None,
        "docket": None,
        "forum": None,
        "sentence": None,
    }


def state_ag_form(action_form: str) -> str:
    """settlement (AOD) -> assurance_of_voluntary_compliance; 'complaint (pending)' -> complaint; ..."""
    lowered = action_form.lower()
    for pattern, code in _STATE_FORMS:
        if re.search(pattern, lowered):
            return code or "assurance_of_voluntary_compliance"
    return "other"


def state_ag_action(record: dict[str, Any], amounts: list[Amount] | None) -> dict[str, Any]:
    entity = _text(record, "entity")
    assert entity is not None
    states, leads, states_note = _states(record)
    if not states and not states_note:
        raise RecordError("states", "no state")
    amount = record.get("amount_usd")
    if amount is not None and not isinstance(amount, int):
        raise RecordError("amount_usd", f"expected whole dollars, got {amount!r}")
    if amounts is None:
        amounts = [] if amount is None else [Amount("paid", amount, "")]
    announced = _iso_date(_text(record, "announced_date", required=False), "announced_date")
    year = record.get("year")
    if not isinstance(year, int):
        raise RecordError("year", f"expected a year, got {year!r}")
    form = _text(record, "action_form")
    assert form is not None
    return {
        **_not_given(),
        "agency": "state_ag",
        "source_record": _text(record, "id"),
        "entity": display_name(entity),
        "entity_detail": entity,
        "entity_type_detail": _text(record, "entity_type", required=False),
        "announced": announced,
        "year": year,
        "action_type": state_ag_form(form),
        "form_detail": "; ".join(x for x in (form, _text(record, "action_form_detail", required=False)) if x),
        "amounts": amounts,
        "amount_usd": paid_total(amounts) if amounts else None,
        "amount_note": _text(record, "amount_note", required=False),
        "states": states,
        "lead_states": leads,
        "multistate": bool(record.get("multistate")),
        "states_note": states_note,
        # `state` is the entity's own state (as in OCR's rows), which the records do not give: the attorney
        # general's state is in `states`, and `ag_state` names a single-state action's id.
        "ag_state": states[0] if len(states) == 1 and not states_note else None,
        "legal_basis": [str(x) for x in _list(record, "laws_cited")],
        "cites_hipaa": record.get("cites_hipaa"),
        "hipaa_basis": _text(record, "hipaa_basis", required=False),
        "summary": _text(record, "summary"),
        "individuals_affected": _count(record.get("individuals_affected")),
        "individuals_affected_text": _text(record, "individuals_affected", required=False)
        if isinstance(record.get("individuals_affected"), str)
        else None,
        "same_incident_note": _text(record, "ocr_action_same_incident", required=False),
        "evidence": _evidence(_list(record, "evidence_urls")),
        "confidence": _confidence(record),
        "notes": _text(record, "notes", required=False),
    }


# FTC `amount_type` -> the kind of its one amount (records with several components are in amounts.csv).
FTC_AMOUNT_KINDS = {
    "civil_penalty": "paid",
    "monetary_payment_to_FTC": "paid",
    "consumer_redress": "redress",
    "consumer_redress_distribution": "redress_distributed",
    "civil_penalty_suspended": "suspended",
}


def ftc_form(record: dict[str, Any]) -> str:
    form = (record.get("action_form") or "").lower()
    if record.get("amount_type") == "consumer_redress_distribution" or form.startswith("refund"):
        return "redress_distribution"
    if "civil penalty" in form:
        return "civil_penalty_order"
    if "consent order" in form or "stipulated order" in form:
        return "consent_order"
    return "complaint"


def ftc_action(record: dict[str, Any], amounts: list[Amount] | None) -> dict[str, Any]:
    respondent = _text(record, "respondent")
    assert respondent is not None
    amount, kind = record.get("amount_usd"), record.get("amount_type")
    if amounts is None:
        if amount is not None and kind not in FTC_AMOUNT_KINDS:
            raise RecordError("amount_type", f"{kind!r} with an amount: list its components in amounts.csv")
        amounts = [] if amount is None else [Amount(FTC_AMOUNT_KINDS[str(kind)], amount, "")]
    announced = _iso_date(_text(record, "announced_date", required=False), "announced_date")
    dated = announced or next(
        (d for d in (_date_as_written(v) for v in (record.get("other_dates") or {}).values()) if d), None
    )
    year = int(dated[:4]) if dated else _year_in_id(record)
    basis = [str(x) for x in _list(record, "legal_basis")]
    return {
        **_not_given(),
        "agency": "ftc",
        "source_record": _text(record, "id"),
        "entity": display_name(respondent),
        "entity_detail": respondent,
        "announced": announced,
        "year": year,
        "action_type": ftc_form(record),
        "form_detail": _text(record, "action_form", required=False),
        "amounts": amounts,
        "amount_usd": paid_total(amounts) if amounts else None,
        "amount_note": _text(record, "amount_note", required=False),
        "legal_basis": basis,
        "summary": _text(record, "summary"),
        "evidence": _evidence([e.get("url") for e in _list(record, "evidence") if isinstance(e, dict)]),
        "confidence": _confidence(record),
        "notes": _text(record, "notes", required=False),
        "docket": _text(record, "docket_or_case", required=False),
        "forum": _text(record, "forum", required=False),
        "hbnr_action": bool(record.get("hbnr_action")),
        "category": _text(record, "category", required=False),
    }


def _year_in_id(record: dict[str, Any]) -> int | None:
    """The year the researchers put in the record's id (`ftc-2024-betterhelp-refunds`), if any."""
    m = re.search(r"\b(19|20)\d{2}\b", str(record.get("id") or ""))
    return int(m.group(0)) if m else None


SENTENCE_FIELDS = (
    "prison_months",
    "probation_months",
    "supervised_release_months",
    "fine_usd",
    "restitution_usd",
)


def sentence_words(sentence: dict[str, Any]) -> str | None:
    """'16 months in prison, 24 months of supervised release, $1,000 fine' (None when nothing is known)."""
    parts = []
    for field, words in (
        ("prison_months", "in prison"),
        ("probation_months", "of probation"),
        ("supervised_release_months", "of supervised release"),
    ):
        months = sentence.get(field)
        if months:
            parts.append(f"{_months(months)} {words}")
    for field, words in (("fine_usd", "fine"), ("restitution_usd", "restitution")):
        if sentence.get(field):
            parts.append(f"${sentence[field]:,.0f} {words}")
    return ", ".join(parts) or None


def _months(value: float) -> str:
    if float(value).is_integer():
        n = int(value)
        return f"{n} month" + ("s" if n != 1 else "")
    return f"{value:g} months"


def doj_form(dates: dict[str, Any], outcome: str) -> str:
    if "deferred prosecution" in outcome.lower():
        return "deferred_prosecution_agreement"
    if dates.get("sentenced") or outcome.lower().startswith("sentenced"):
        return "sentence"
    if dates.get("plea_or_verdict") or "pleaded" in outcome.lower():
        return "plea"
    return "charge"


def doj_case(record: dict[str, Any], amounts: list[Amount] | None) -> dict[str, Any]:
    defendant = _text(record, "defendant")
    assert defendant is not None
    dates = record.get("dates") or {}
    if not isinstance(dates, dict):
        raise RecordError("dates", "expected an object")
    steps = [dates.get(k) for k in ("sentenced", "plea_or_verdict", "charged")]
    full = [_iso_date(s, "dates") for s in steps]
    written = [_date_as_written(s) for s in steps]
    last_written = next((w for w in written if w), None)
    sentence = record.get("sentence") or {}
    if not isinstance(sentence, dict):
        raise RecordError("sentence", "expected an object")
    for field in SENTENCE_FIELDS:
        if sentence.get(field) is not None and not isinstance(sentence[field], int | float):
            raise RecordError(f"sentence.{field}", f"expected a number, got {sentence[field]!r}")
    outcome = _text(record, "outcome_status")
    assert outcome is not None
    return {
        **_not_given(),
        "agency": "doj",
        "source_record": _text(record, "id"),
        "entity": display_name(defendant),
        "entity_detail": defendant,
        "entity_type_detail": _text(record, "role", required=False),
        "defendant_type": _text(record, "defendant_type", required=False),
        # The date of the last step, when that step's day is known (a later step known only by its month
        # leaves the action undated rather than dated by an earlier step).
        "announced": next((f for f, w in zip(full, written, strict=True) if w), None),
        "year": int(last_written[:4]) if last_written else _year_in_id(record),
        # the first step as written (charge, else plea or verdict, else sentence): it names the case's id
        "first_step": next((w for w in reversed(written) if w), None),
        "action_type": doj_form(dates, outcome),
        "form_detail": outcome,
        "amounts": amounts or [],
        "legal_basis": [str(x) for x in _list(record, "statute")],
        "cites_hipaa": True,
        "hipaa_basis": _text(record, "hipaa_subsections", required=False),
        "summary": _text(record, "conduct"),
        "evidence": _evidence([e.get("url") for e in _list(record, "evidence") if isinstance(e, dict)]),
        "confidence": _confidence(record),
        "notes": _text(record, "notes", required=False),
        "docket": _text(record, "case_number", required=False),
        "forum": _text(record, "district", required=False),
        "sentence": {
            **{f: sentence.get(f) for f in SENTENCE_FIELDS},
            "other": sentence.get("other"),
            "charged": dates.get("charged"),
            "plea_or_verdict": dates.get("plea_or_verdict"),
            "sentenced": dates.get("sentenced"),
            "outcome": outcome,
            "words": sentence_words(sentence),
        },
    }


NORMALIZERS = {"state_ag": state_ag_action, "ftc": ftc_action, "doj": doj_case}


def normalize(agency: str, record: dict[str, Any], amounts: list[Amount] | None = None) -> dict[str, Any]:
    """The one action shape of a curated record of `agency` ('state_ag', 'ftc', 'doj')."""
    if not isinstance(record, dict):
        raise RecordError("(line)", "not a JSON object")
    return NORMALIZERS[agency](record, amounts)
