"""Entity names: a cleaned display form, and a match key for entity resolution.

`clean_name` keeps the name as published (case, punctuation) minus stray whitespace and control
characters. `name_key` reduces it to what identifies the organisation, so that
"Bay Oral Surgery & Implant Center, Inc." and "bay oral surgery and implant center" meet.
"""

from __future__ import annotations

import re
import unicodedata

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


def slugify(key: str, max_length: int = 80) -> str:
    """URL-safe slug of a name key, cut at a word boundary so ids stay readable."""
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "unnamed"
