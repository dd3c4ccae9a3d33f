"""US state and territory codes as used by the Breach Portal's State column."""

from __future__ import annotations

STATES = frozenset(
    {
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    }
)
DISTRICT = frozenset({"DC"})
TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP"})
# USPS codes for military mail (Armed Forces Americas / Europe / Pacific): an entity can report from one.
MILITARY = frozenset({"AA", "AE", "AP"})
VALID_CODES = STATES | DISTRICT | TERRITORIES | MILITARY


def parse_state(raw: str | None) -> str | None:
    """Two-letter code, upper-cased; blank -> None; anything else raises ValueError."""
    stripped = (raw or "").strip()
    code = stripped.upper()
    if not code:
        return None
    if code not in VALID_CODES:
        raise ValueError(f"unknown state code {stripped!r}")
    return code
