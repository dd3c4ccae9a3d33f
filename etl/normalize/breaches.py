"""One Breach Portal row (raw strings) -> a normalized record, or the list of fields that fail.

Pure: the caller passes the export's date as the upper bound for submission dates, so a test can
inject any "today" and a rebuild of the same files gives the same result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from etl.normalize.dates import parse_submission_date
from etl.normalize.geo import parse_state
from etl.normalize.names import clean_name, name_key, slugify

COVERED_ENTITY_TYPES = {
    "healthcare provider": "healthcare_provider",
    "health care provider": "healthcare_provider",
    "health plan": "health_plan",
    "business associate": "business_associate",
    # The portal spells it "Healthcare Clearing House"; the rule's term is "health care clearinghouse".
    "healthcare clearing house": "clearinghouse",
    "healthcare clearinghouse": "clearinghouse",
    "health care clearinghouse": "clearinghouse",
}

# Vocabularies of the multi-valued columns, as the portal writes them (every value seen in the
# 2024-08 archive and the 2026 under-investigation exports). "Other Portable Electronic Device" is
# one value, which is why cells are split on ", " and each piece checked against this list.
BREACH_TYPES = (
    "Hacking/IT Incident",
    "Improper Disposal",
    "Loss",
    "Other",
    "Theft",
    "Unauthorized Access/Disclosure",
    "Unknown",
)
LOCATIONS = (
    "Desktop Computer",
    "Electronic Medical Record",
    "Email",
    "Laptop",
    "Network Server",
    "Other",
    "Other Portable Electronic Device",
    "Paper/Films",
)

PLACEHOLDER_COUNTS = (500, 501)
FIELDS = (
    "name",
    "state",
    "covered_entity_type",
    "individuals_affected",
    "submission_date",
    "breach_type",
    "location",
    "business_associate_present",
    "web_description",
)
# The 42 CFR Part 2 export has no covered entity type, and its yes/no column is "Qualified Service
# Organization Present" (crawlers/exports.py PART2_COLUMNS), not "Business Associate Present".
PART2_FIELDS = (
    "name",
    "state",
    "individuals_affected",
    "submission_date",
    "breach_type",
    "location",
    "qualified_service_organization_present",
    "web_description",
)
QSO_FIELD = "qualified_service_organization_present"
LIST_PREFIX = {"hipaa": "", "part2": "p2-"}


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class RowRejected(ValueError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))


def parse_covered_entity_type(raw: str | None) -> str | None:
    text = " ".join((raw or "").split()).lower()
    if not text:
        return None
    if text not in COVERED_ENTITY_TYPES:
        raise ValueError(f"unknown covered entity type {raw!r}")
    return COVERED_ENTITY_TYPES[text]


def parse_individuals(raw: str | None) -> int | None:
    """A head count. Blank -> None (the portal published the report without one); commas allowed
    only as thousands separators."""
    text = (raw or "").strip()
    if not text:
        return None
    if text.startswith("-") and re.fullmatch(r"-\d[\d,]*", text):
        raise ValueError(f"negative count {raw!r}")
    if not re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d+", text):
        raise ValueError(f"not a whole number {raw!r}")
    return int(text.replace(",", ""))


def parse_multi(raw: str | None, vocabulary: tuple[str, ...]) -> list[str]:
    """ "Theft, Unauthorized Access/Disclosure" -> both values; every piece must be in the vocabulary."""
    text = " ".join((raw or "").split())
    if not text:
        return []
    values = [v.strip() for v in text.split(", ")]
    known = {v.lower(): v for v in vocabulary}
    unknown = [v for v in values if v.lower() not in known]
    if unknown:
        raise ValueError(f"unknown value(s) {unknown!r} in {raw!r}")
    result: list[str] = []
    for v in values:
        canonical = known[v.lower()]
        if canonical not in result:
            result.append(canonical)
    return result


def parse_yes_no(raw: str | None) -> bool:
    text = (raw or "").strip().lower()
    if text in ("yes", "y"):
        return True
    if text in ("no", "n"):
        return False
    raise ValueError(f"expected Yes or No, got {raw!r}")


def clean_description(raw: str | None) -> str | None:
    """Keep paragraphs: unify line ends, remove NULs and control characters, collapse runs of spaces
    within a line, at most one blank line between paragraphs; None when nothing is left."""
    text = (raw or "").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text or None


def normalize_row(fields: dict[str, str | None], not_after: date) -> dict:
    """The normalized record of one row; raises RowRejected listing every field that fails.
    `not_after` is the latest possible submission date (the export's date)."""
    errors: list[FieldError] = []

    def field(name: str, parse, *args):
        try:
            return parse(fields.get(name), *args)
        except ValueError as e:
            errors.append(FieldError(name, str(e)))
            return None

    name = clean_name(fields.get("name") or "")
    if not name:
        errors.append(FieldError("name", "blank entity name"))
    state = field("state", parse_state)
    covered_entity_type = field("covered_entity_type", parse_covered_entity_type)
    individuals = field("individuals_affected", parse_individuals)
    submitted = field("submission_date", lambda raw: parse_submission_date(raw or "", not_after))
    types = field("breach_type", parse_multi, BREACH_TYPES)
    locations = field("location", parse_multi, LOCATIONS)
    # A row has the yes/no column of its list: business associate (HIPAA) or qualified service organization
    # (Part 2); the other one is None. A row with neither is checked (and rejected) as a HIPAA row.
    qso = field(QSO_FIELD, parse_yes_no) if QSO_FIELD in fields else None
    ba = (
        field("business_associate_present", parse_yes_no)
        if "business_associate_present" in fields or QSO_FIELD not in fields
        else None
    )
    if errors:
        raise RowRejected(errors)
    return {
        "entity_name": name,
        "entity_key": name_key(name),
        "state": state,
        "covered_entity_type": covered_entity_type,
        "individuals_affected": individuals,
        "individuals_placeholder": int(individuals in PLACEHOLDER_COUNTS),
        "submission_date": submitted.isoformat(),
        "year": submitted.year,
        "breach_type": ", ".join(types) or None,
        "location": ", ".join(locations) or None,
        "breach_types": types,
        "locations": locations,
        "business_associate_present": None if ba is None else int(ba),
        "qualified_service_organization_present": None if qso is None else int(qso),
        "description": clean_description(fields.get("web_description")),
    }


def breach_id_base(list_name: str, record: dict) -> str:
    """`YYYY-MM-DD-<name-key-slug>-<state or xx>`, prefixed `p2-` for the Part 2 list. Reports that
    share it get `-2`, `-3` (see etl/load_breaches.py)."""
    state = (record["state"] or "xx").lower()
    return f"{LIST_PREFIX[list_name]}{record['submission_date']}-{slugify(record['entity_key'])}-{state}"
