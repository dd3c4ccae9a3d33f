"""Dates as the Breach Portal exports them (MM/DD/YYYY), checked for plausibility."""

from __future__ import annotations

import calendar
import re
from datetime import date

# The HITECH breach notification interim final rule took effect on 2009-09-23 (74 FR 42740);
# the portal holds no report submitted before it (earliest in the data: 2009-10-21).
BREACH_RULE_START = date(2009, 9, 23)

_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_PREFIX = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def parse_us_date(raw: str) -> date:
    """MM/DD/YYYY (or ISO YYYY-MM-DD) -> date; raises ValueError naming the problem."""
    text = raw.strip()
    if m := _US_DATE.fullmatch(text):
        month, day, year = (int(g) for g in m.groups())
    elif m := _ISO_DATE.fullmatch(text):
        year, month, day = (int(g) for g in m.groups())
    else:
        raise ValueError(f"not a date (expected MM/DD/YYYY): {raw!r}")
    try:
        return date(year, month, day)
    except ValueError as e:
        raise ValueError(f"impossible date {raw!r}: {e}") from None


def period_end(iso_prefix: str) -> date:
    """Last day of the period an ISO date or prefix names: "2024-08" -> 2024-08-31, "2024" -> 2024-12-31."""
    m = _ISO_PREFIX.fullmatch(iso_prefix.strip())
    if not m:
        raise ValueError(f"not an ISO date or prefix: {iso_prefix!r}")
    year, month, day = m.group(1), m.group(2), m.group(3)
    if day:
        return date(int(year), int(month), int(day))
    if month:
        return date(int(year), int(month), calendar.monthrange(int(year), int(month))[1])
    return date(int(year), 12, 31)


def period_start(iso_prefix: str) -> date:
    """First day of the period an ISO date or prefix names: "2024-08" -> 2024-08-01, "2024" -> 2024-01-01."""
    m = _ISO_PREFIX.fullmatch(iso_prefix.strip())
    if not m:
        raise ValueError(f"not an ISO date or prefix: {iso_prefix!r}")
    return date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))


def parse_submission_date(raw: str, not_after: date, not_before: date = BREACH_RULE_START) -> date:
    """A breach submission date that could be real: parseable, not before the breach rule, and not
    after `not_after` (the export's date: a report cannot be submitted after the file listing it)."""
    value = parse_us_date(raw)
    if value < not_before:
        raise ValueError(f"{value.isoformat()} is before the breach notification rule ({not_before.isoformat()})")
    if value > not_after:
        raise ValueError(f"{value.isoformat()} is after the export date ({not_after.isoformat()})")
    return value
