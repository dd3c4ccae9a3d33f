"""Dollar amounts as HHS writes them in press releases and case pages.

Handles "$16 million", "$16,000,000", "$999000" (a scraper that dropped the commas), "$5.55 million",
"$1.5M", "$3 Million", "$260\\xa0million" (non-breaking space, also as a literal escape left by a
lossy scraper). Values are whole dollars computed with Decimal (no float rounding: $5.55 million is
5,550,000 exactly); cents are rounded half-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

_MULTIPLIERS = {
    "thousand": 10**3,
    "k": 10**3,
    "million": 10**6,
    "mil": 10**6,
    "mn": 10**6,
    "m": 10**6,
    "billion": 10**9,
    "bn": 10**9,
    "b": 10**9,
}
_SPACE = r"(?:\s|\\xa0|&nbsp;)"
_AMOUNT = re.compile(
    r"\$" + _SPACE + r"?"
    r"(?P<number>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?"
    # Word units may follow a space; the one/two-letter forms only attached ("$1.5M", "$100K"),
    # so that "$5 more" or "$35 for a month" are not read as multiples.
    r"(?:" + _SPACE + r"*(?P<word>thousand|million|billion)\b|(?P<letter>mil|mn|bn|[kmb])(?![A-Za-z]))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Amount:
    dollars: int
    text: str
    start: int
    end: int


def _value(match: re.Match[str]) -> int:
    number = Decimal(match["number"].replace(",", "") + (f".{match['fraction']}" if match["fraction"] else ""))
    unit = (match["word"] or match["letter"] or "").lower()
    scaled = number * _MULTIPLIERS.get(unit, 1)
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def find_amounts(text: str) -> list[Amount]:
    """Every dollar amount in running text, in order of appearance."""
    return [Amount(_value(m), m.group(0), m.start(), m.end()) for m in _AMOUNT.finditer(text)]


def parse_amount(text: str) -> int:
    """One amount that makes up the whole string ("$16 million" -> 16000000); raises ValueError otherwise."""
    stripped = text.strip()
    match = _AMOUNT.fullmatch(stripped)
    if not match:
        raise ValueError(f"not a dollar amount: {text!r}")
    return _value(match)
