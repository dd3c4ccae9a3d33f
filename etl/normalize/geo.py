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
# Names of the states, the District and Puerto Rico: entity resolution reads "Allegheny County, Pennsylvania"
# as the organisation "Allegheny County" of that state (etl.normalize.names.reduced_key).
STATE_NAMES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho",
    "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia",
    "WI": "Wisconsin", "WY": "Wyoming", "DC": "District of Columbia", "PR": "Puerto Rico",
}  # fmt: skip


def parse_state(raw: str | None) -> str | None:
    """Two-letter code, upper-cased; blank -> None; anything else raises ValueError."""
    stripped = (raw or "").strip()
    code = stripped.upper()
    if not code:
        return None
    if code not in VALID_CODES:
        raise ValueError(f"unknown state code {stripped!r}")
    return code
