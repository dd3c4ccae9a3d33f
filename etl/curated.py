"""Schema check of the curated enforcement facts (data/curated/ocr_actions.jsonl).

One JSON object per line, every field present (null where unknown), no other fields. `read_curated`
checks every line and returns the valid records with their line numbers plus one `CuratedError`
(file, line, field, reason) per problem found, so that the loader can put each bad line in
`rejected_rows` and load the rest; `load_curated` is the strict form (raises on any error), used by
`kb check-curated`. The field list and what each field means are in data/curated/README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from etl.citations import canonicalize
from etl.normalize.geo import VALID_CODES
from etl.normalize.names import name_key

CURATED_FILE = "ocr_actions.jsonl"

ACTION_TYPES = ("resolution_agreement", "civil_money_penalty", "other")
ENTITY_TYPES = ("healthcare_provider", "health_plan", "business_associate", "clearinghouse")
INITIATIVES = ("right_of_access", "risk_analysis")
CONFIDENCE = ("high", "medium", "low")
BASES = ("stated", "mapped", "initiative", "first_pass")
VIOLATION_FIELDS = ("cfr", "label", "basis")
# What a corrective action plan requires (`cap_obligations`), the fixed labels of the shared file's README.
CAP_OBLIGATIONS = (
    "risk analysis",
    "risk management plan",
    "policies and procedures",
    "training",
    "breach notification",
    "access log review",
    "encryption",
    "device and media inventory",
    "business associate agreements",
    "right of access procedures",
    "monitor / independent assessor",
    "annual reports",
    "other",
)
_URL = re.compile(r"https?://[^\s/]+\.[^\s/]+(/\S*)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class CuratedError:
    """One problem in the curated file. `line` is 1-based; `field` is the JSON field ("violations[1].cfr")
    or "(line)" when the line itself is unreadable."""

    file: str
    line: int
    field: str
    reason: str
    raw: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: field {self.field!r}: {self.reason}"


class CuratedFormatError(ValueError):
    """The curated file has invalid lines; `errors` lists every one."""

    def __init__(self, errors: list[CuratedError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class CuratedRecord:
    line: int
    record: dict[str, Any]


# --- field checks: each returns a reason string when the value is invalid, else None ---------------


def _text(value: Any, allow_empty: bool = False) -> str | None:
    if not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    if value != value.strip():
        return "leading or trailing whitespace"
    if not value and not allow_empty:
        return "empty string"
    return None


def _optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda value: None if value is None else check(value)


def _iso_date(value: Any) -> str | None:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return f"expected a date YYYY-MM-DD or null, got {value!r}"
    try:
        date.fromisoformat(value)
    except ValueError as e:
        return f"impossible date {value!r}: {e}"
    return None


def _enum(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda value: None if value in choices else f"{value!r} is not one of {', '.join(choices)}"


def _count(lowest: int, highest: int | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        # bool is an int subclass; true/false in a count is a typo, not a number.
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected a whole number, got {value!r}"
        if value < lowest or (highest is not None and value > highest):
            bounds = f"{lowest}..{highest}" if highest is not None else f">= {lowest}"
            return f"{value} is out of range ({bounds})"
        return None

    return check


def _state(value: Any) -> str | None:
    if value not in VALID_CODES:
        return f"{value!r} is not a two-letter US state or territory code"
    return None


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"expected true, false or null, got {value!r}"


def _string_list(
    value: Any, urls: bool = False, non_empty: bool = False, choices: tuple[str, ...] | None = None
) -> str | None:
    if not isinstance(value, list):
        return f"expected a list, got {type(value).__name__}"
    if non_empty and not value:
        return "empty list (at least one entry required)"
    for i, item in enumerate(value):
        if reason := _text(item):
            return f"item {i}: {reason}"
        if urls and not _URL.fullmatch(item):
            return f"item {i}: not an http(s) address: {item!r}"
        if choices is not None and item not in choices:
            return f"item {i}: {item!r} is not one of {', '.join(choices)}"
    if len(set(value)) != len(value):
        return "repeated entry"
    return None


FIELD_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "entity": _text,
    "announced": _optional(_iso_date),
    "action_type": _enum(ACTION_TYPES),
    "amount_usd": _optional(_count(0)),
    "entity_type": _optional(_enum(ENTITY_TYPES)),
    "state": _optional(_state),
    "individuals_affected": _optional(_count(0)),
    "breach_reported": _optional(_iso_date),
    "cap_years": _optional(_count(1, 10)),
    "cap": _optional(_boolean),
    "cap_obligations": lambda v: _string_list(v, choices=CAP_OBLIGATIONS),
    "initiative": _optional(_enum(INITIATIVES)),
    "incident": lambda v: _string_list(v, non_empty=True),
    "violations": lambda v: None,  # checked item by item in _violation_errors
    "summary": _text,
    "hhs_urls": lambda v: _string_list(v, urls=True),
    "evidence": lambda v: _string_list(v, urls=True, non_empty=True),
    "confidence": _enum(CONFIDENCE),
    "notes": lambda v: _text(v, allow_empty=True),
}
FIELDS = tuple(FIELD_CHECKS)


def _violation_errors(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return [("violations", f"expected a list, got {type(value).__name__}")]
    if not value:
        return [("violations", "empty list (every action alleges at least one requirement)")]
    errors = []
    for i, item in enumerate(value):
        where = f"violations[{i}]"
        if not isinstance(item, dict):
            errors.append((where, f"expected an object, got {type(item).__name__}"))
            continue
        for key in sorted(set(VIOLATION_FIELDS) - item.keys()):
            errors.append((f"{where}.{key}", "missing"))
        for key in sorted(item.keys() - set(VIOLATION_FIELDS)):
            errors.append((f"{where}.{key}", "unknown field"))
        if "cfr" in item and item["cfr"] is not None:
            if reason := _text(item["cfr"]):
                errors.append((f"{where}.cfr", reason))
            else:
                try:
                    canonicalize(item["cfr"])
                except ValueError as e:
                    errors.append((f"{where}.cfr", str(e)))
        if "label" in item and (reason := _text(item["label"])):
            errors.append((f"{where}.label", reason))
        if "basis" in item and (reason := _enum(BASES)(item["basis"])):
            errors.append((f"{where}.basis", reason))
    return errors


def record_errors(record: Any) -> list[tuple[str, str]]:
    """(field, reason) for every problem of one parsed line; empty when the record is valid."""
    if not isinstance(record, dict):
        return [("(line)", f"expected a JSON object, got {type(record).__name__}")]
    errors = [(key, "missing") for key in FIELDS if key not in record]
    errors += [(key, "unknown field") for key in record if key not in FIELD_CHECKS]
    for key, check in FIELD_CHECKS.items():
        if key in record and (reason := check(record[key])):
            errors.append((key, reason))
    if "violations" in record:
        errors += _violation_errors(record["violations"])
    announced, reported = record.get("announced"), record.get("breach_reported")
    if (
        isinstance(announced, str)
        and isinstance(reported, str)
        and not _iso_date(announced)
        and not _iso_date(reported)
        and reported > announced
    ):
        errors.append(("breach_reported", f"{reported} is after the announcement {announced}"))
    errors += _cap_errors(record, {fld for fld, _ in errors})
    return errors


def _cap_errors(record: dict, bad: set[str]) -> list[tuple[str, str]]:
    """Agreement between `cap`, `cap_years`, `cap_obligations` and `action_type` (each field checked
    only when its own value is valid). A plan length or obligations mean there is a plan (cap true);
    a civil money penalty is imposed, not settled, and carries no plan."""
    if not all(key in record and key not in bad for key in ("cap", "cap_years", "cap_obligations")):
        return []
    cap, errors = record["cap"], []
    if record["cap_years"] is not None and cap is not True:
        errors.append(
            (
                "cap_years",
                f"{record['cap_years']} years given but cap is {json.dumps(cap)}: a plan length requires cap true",
            )
        )
    if record["cap_obligations"] and cap is not True:
        errors.append(
            ("cap_obligations", f"obligations listed but cap is {json.dumps(cap)}: obligations require cap true")
        )
    if record.get("action_type") == "civil_money_penalty" and "action_type" not in bad and cap is True:
        errors.append(
            (
                "cap",
                "true for a civil_money_penalty: a penalty is not a settlement and carries "
                "no corrective action plan (use null)",
            )
        )
    return errors


def read_curated(path: Path) -> tuple[list[CuratedRecord], list[CuratedError]]:
    """Check every line of `path`. Returns (valid records, errors); a line with any error is not in
    the valid list. Blank lines are errors too (a JSONL line per action, nothing else)."""
    valid: list[CuratedRecord] = []
    errors: list[CuratedError] = []
    seen: dict[tuple[str, str | None], int] = {}
    file = str(path)
    with path.open(encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.rstrip("\n")
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(
                    CuratedError(file, number, "(line)", f"not valid JSON: {e.msg} at column {e.colno}", line)
                )
                continue
            problems = record_errors(record)
            if not problems:
                key = (name_key(record["entity"]), record["announced"])
                if key in seen:
                    problems = [("entity", f"same entity and announcement date as line {seen[key]}")]
                else:
                    seen[key] = number
            if problems:
                errors += [CuratedError(file, number, fld, reason, line) for fld, reason in problems]
            else:
                valid.append(CuratedRecord(number, record))
    return valid, errors


def load_curated(path: Path) -> list[CuratedRecord]:
    """Every record of `path`; raises CuratedFormatError naming each bad line and field."""
    valid, errors = read_curated(path)
    if errors:
        raise CuratedFormatError(errors)
    return valid
