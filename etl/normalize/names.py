"""Entity names: a cleaned display form, and a match key for entity resolution.

`clean_name` keeps the name as published (case, punctuation) minus stray whitespace and control
characters. `name_key` reduces it to what identifies the organisation, so that
"Bay Oral Surgery & Implant Center, Inc." and "bay oral surgery and implant center" meet.
"""

from __future__ import annotations

import re
import unicodedata

from etl.normalize.geo import STATE_NAMES

# Tokens that only say what legal form the organisation has. Stripped from the end of the key,
# repeatedly ("X Holdings Co., Ltd." -> "x holdings"). Periods are removed before this test, so
# "L.L.C." and "P.C." arrive here as "llc" and "pc".
LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lllp",
        "lp",
        "pc",
        "pllc",
        "pa",
        "psc",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "limited",
        "plc",
    }
)

# "d/b/a", "d.b.a", "dba", "d/b/a/", "doing business as", "f/k/a", "formerly", "a/k/a": what follows
# is another name of the same organisation; the key is built from the legal name before it.
_ALIAS_MARKER = re.compile(
    r"(?<![\w])(?:d(?:\s*[./]\s*)?b(?:\s*[./]\s*)?a|f(?:\s*[./]\s*)?k(?:\s*[./]\s*)?a"
    r"|a\s*/\s*k\s*/\s*a|doing\s+business\s+as|formerly(?:\s+known\s+as)?)(?:[./](?!\w))?(?![\w])",
    re.IGNORECASE,
)
_PARENTHETICAL = re.compile(r"\([^()]*\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "`": "'"})


def clean_name(name: str) -> str:
    """The display form: NFC, control characters (NUL) removed, whitespace collapsed and trimmed."""
    text = unicodedata.normalize("NFC", _CONTROL.sub("", name))
    return " ".join(text.split())


def split_aliases(name: str) -> list[str]:
    """The names a published name contains, legal name first:
    "Capital Vision Services d/b/a MyEyeDr." -> ["Capital Vision Services", "MyEyeDr."]."""
    cleaned = clean_name(name)
    pieces = _ALIAS_MARKER.split(cleaned)
    if len(pieces) == 1:
        return [cleaned]
    parts = [p.strip(" ,;-()") for p in pieces]
    return [p for p in parts if p] or [cleaned]


def _ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _key_of(text: str) -> str:
    text = _ascii_fold(text).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"['.]", "", text)  # "women's" -> "womens", "l.l.c." -> "llc"
    tokens = re.sub(r"[^a-z0-9]+", " ", text).split()
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    while len(tokens) > 1 and tokens[-1] in LEGAL_SUFFIXES:
        tokens.pop()
    return " ".join(tokens)


def _without_parentheticals(text: str) -> str:
    # Parentheses hold abbreviations, quoted short names or sites: "(CPSI)", ("VVRMC"), "(Norcross)".
    previous = None
    while previous != text:
        previous, text = text, _PARENTHETICAL.sub(" ", text)
    return text


def name_key(name: str) -> str:
    """Match key: legal name only (before any d/b/a), parentheticals dropped, ASCII, lower case,
    "&" -> "and", punctuation removed, leading "The" and trailing legal-form suffixes dropped.
    Falls back to less reduction rather than returning an empty key. A key is its own key."""
    key = _reduce_once(name)
    # Dropping punctuation can uncover a marker or a prefix ("D'BA X" -> "dba x", "The The X" -> "the x"):
    # reduce until stable, so that name_key(name_key(n)) == name_key(n). Each pass only shortens the key.
    while (again := _reduce_once(key)) != key:
        key = again
    return key


def _reduce_once(name: str) -> str:
    # The fallback is the whole name, cleaned like the legal-name candidate: a control character must not
    # separate words in one path and vanish in the other ("DBA'\x08DBA").
    for candidate in (split_aliases(_without_parentheticals(name))[0], clean_name(name)):
        key = _key_of(candidate)
        if key:
            return key
    return ""


def name_keys(name: str) -> list[str]:
    """Keys of every name the published name carries (legal name first, then d/b/a and f/k/a names)."""
    keys = [name_key(name)]
    for alias in split_aliases(_without_parentheticals(name))[1:]:
        key = _key_of(alias)
        if key and key not in keys:
            keys.append(key)
    return keys


# What a published name can carry after the organisation's own name that says where it is or how it
# reports, not who it is. name_key keeps these (breach-report ids are built from it); reduced_key drops them
# for entity resolution only.
_DESIGNATIONS = (
    # The Breach Portal appends the contact's title to some names: "Palo Verde Hospital, Privacy Manager Breach".
    re.compile(r"\s*,\s*privacy\s+manager\s*-?\s*breach\s*$", re.IGNORECASE),
    # An affiliated covered entity (45 CFR 164.105(b)) is an organisation's commonly controlled plans or
    # providers designated as one covered entity: "Anthem Affiliated Covered Entities" is Anthem.
    re.compile(
        r"(?:\s*,\s*|\s+(?:as\s+an?|and)\s+|\s+)(?:single\s+)?affiliated\s+covered\s+entit(?:y|ies)\s*$", re.IGNORECASE
    ),
    # Its abbreviation, in capitals only ("Aetna ACE"), so that a name ending in the word "Ace" keeps it.
    re.compile(r"\s+S?ACE\s*$"),
)
_REGION = r"(?:(?:northern|southern|eastern|western|central|north|south|east|west)\s+)?"


def _own_state(state: str | None) -> re.Pattern | None:
    """The record's own state at the end of its name: ", Pennsylvania", ", Southern California", ", WI".
    Only after a comma: without one a state is part of the name ("Children's Hospital Colorado"), and
    "of California" names a separate corporation ("Molina Healthcare of California"). ", MD" is left alone:
    after a name it is a physician's degree more often than Maryland."""
    if not state or state not in STATE_NAMES:
        return None
    places = [re.escape(STATE_NAMES[state])] + ([state] if state != "MD" else [])
    return re.compile(rf"\s*,\s*{_REGION}(?:{'|'.join(places)})\.?\s*$", re.IGNORECASE)


def reduced_key(name: str, state: str | None) -> str:
    """name_key of the legal name without a trailing location of the record's own state (after a comma),
    an affiliated-covered-entity designation or the Breach Portal's "Privacy Manager Breach", and without
    "the" anywhere: "Kaiser Foundation Health Plan, Inc., Southern California" (CA) and "Kaiser Foundation
    Health Plan, Inc." both give "kaiser foundation health plan". Entity resolution joins records whose
    reduced keys agree in one state (etl/entities.py)."""
    legal = split_aliases(_without_parentheticals(name))[0]
    patterns = [*_DESIGNATIONS, *filter(None, [_own_state(state)])]
    previous = None
    while previous != legal:  # "X, Inc., Southern California, Privacy Manager Breach": one suffix a pass
        previous = legal
        for pattern in patterns:
            legal = pattern.sub("", legal)
    words = [w for w in name_key(legal).split() if w != "the"]
    return " ".join(words) or name_key(name)


def unique_slug(slug: str, taken: set[str]) -> str:
    """`slug`, or `slug-2`, `slug-3`, ... when taken; the result is added to `taken`."""
    candidate, n = slug, 1
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    taken.add(candidate)
    return candidate


def slugify(key: str, max_length: int = 80) -> str:
    """URL-safe slug of a name key, cut at a word boundary so ids stay readable."""
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "unnamed"
