"""Text that went through the wrong encoding: repair what can be repaired, flag what lost characters.

Pure: strings in, strings and a verdict out. The crawler keeps every record's text exactly as decoded
(crawlers/exports.py, raw item `encoding`); this module is applied by etl/load_breaches.py before a row is
normalized, and its verdict is stored with each observation (`text_repair`, `text_repair_detail`).

Two kinds of damage are told apart:
- **mojibake**, UTF-8 bytes read as cp1252/latin-1 and saved again ("CafÃ©", "Maryâ€™s"): nothing is
  lost, ftfy decodes it back ("Café", "Mary’s"). Only ftfy's encoding fixes are used: its other fixes
  (straightening curly quotes, NFC, ligatures, full-width characters, HTML entities, line breaks, control
  characters) would change text that is not damaged.
- **lost characters**: a program that could not encode a character wrote "?" instead, or a decoder wrote
  U+FFFD. A spreadsheet that saved "Hawai‘i" in cp1252 left the bytes 0x83 0x3F 0x3F, read back as
  "Hawaiƒ??i"; the recorded archive itself has "St. Mary���s" (three U+FFFD for one ’). What the
  character was cannot be recovered, so the text is kept as it is and the row is flagged `unrepairable`
  with where the loss is, never presented as clean. (Mojibake of text that had already lost bytes,
  "Maryâ€?s", is decoded as far as it goes: "Mary�s", repaired and flagged.)

Only repairs ftfy explains as undoing a cp1252/latin-1 read of UTF-8 are applied (TRUSTED_STEPS), and only
if they bring in no character outside the Latin letters and punctuation this data is written in
(_REPAIRED_CHARS): on short clean text ftfy can misfire ("”é" read as MacRoman mojibake would become "ӎ",
"é®‘" read as cp1252 mojibake "鮑"). None of the 9,940 recorded records is changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import ftfy

NONE, REPAIRED, UNREPAIRABLE = "none", "repaired", "unrepairable"

_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_encoding=True,
    restore_byte_a0=True,
    replace_lossy_sequences=True,  # within a repair, bytes lost before us come back as U+FFFD (flagged below)
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=True,
    remove_control_chars=False,
    normalization=None,
    explain=True,
)

# The repairs trusted: undoing UTF-8 read as cp1252 or latin-1 (what Windows programs do to a UTF-8 export),
# also piece by piece in a mixed text, and C1 controls or a lost no-break space left by such a read. ftfy
# also knows MacRoman, cp437 and others; a plan using one of them is not applied, because on clean text of
# this data it is a false alarm: "”é" would become "ӎ" (MacRoman read back), so the text stays as it is.
TRUSTED_STEPS = {
    ("encode", "sloppy-windows-1252"),
    ("encode", "latin-1"),
    ("encode", "windows-1252"),
    ("decode", "utf-8"),
    ("decode", "utf-8-variants"),
    ("decode", "windows-1252"),
    ("decode", "sloppy-windows-1252"),
    ("apply", "decode_inconsistent_utf8"),
    ("apply", "fix_c1_controls"),
    ("apply", "restore_byte_a0"),
    ("apply", "fix_surrogates"),
    ("transcode", "restore_byte_a0"),
    ("transcode", "replace_lossy_sequences"),
}
# A repair may only bring in characters of the text this data holds (English about U.S. entities): Latin
# letters with accents, spacing modifiers (the ʻokina), punctuation, currency and letterlike signs, U+FFFD
# for bytes lost before us. Clean text whose cp1252 bytes happen to be valid UTF-8 ("é®‘" is the UTF-8 of
# "鮑") would otherwise be "repaired" into another script.
_REPAIRED_CHARS = re.compile(
    r"[\t\n\r\x20-\x7e\xa0-\u024f\u02b0-\u02ff\u2000-\u206f\u20a0-\u20cf"
    r"\u2100-\u214f\ufffd]*"
)

# Where characters were lost: U+FFFD; "?" right after a non-ASCII character (a multi-byte character whose
# first byte survived and whose other bytes became "?": "ƒ??"); two or more "?" in a row; a "?" between two
# letters (a character the encoder could not write: "Hawai?i"). None of the 9,940 records of the recorded
# exports has a "?" anywhere, so this flags no clean row there; a false alarm elsewhere only flags the row,
# the text is kept either way.
LOST = re.compile(r"\ufffd+|[^\x00-\x7f]\?+|\?{2,}|(?<=[^\W\d_])\?(?=[^\W\d_])")
CONTEXT = 12
# Every trusted repair needs one of these in the text: a C1 control, or the cp1252/latin-1 reading of a UTF-8
# lead byte (0xC2-0xF4 -> "Â".."ô"). Text without any (ASCII, or only ’ “ ” – ...) is not handed to ftfy.
_MOJIBAKE_HINT = re.compile(r"[\x80-\x9f\xc2-\xf4]")
MAX_PLACES = 3  # places named per field in the detail


@dataclass(frozen=True)
class TextRepair:
    """A row's text after repair: the fields, the verdict (none | repaired | unrepairable) and what was done
    or lost, one `field: ...` entry per change, joined with "; " (None when the verdict is none)."""

    fields: dict[str, str | None]
    status: str
    detail: str | None


def repair_text(text: str) -> str:
    """`text` with mojibake decoded (unchanged when there is none, or when only an untrusted plan would change
    it, see TRUSTED_STEPS). ASCII text has none (most rows)."""
    if not text or not _MOJIBAKE_HINT.search(text):
        return text
    fixed = ftfy.fix_and_explain(text, config=_FTFY)
    if fixed.text == text or not all(tuple(step) in TRUSTED_STEPS for step in fixed.explanation or ()):
        return text
    introduced = "".join(set(fixed.text) - set(text))
    if not _REPAIRED_CHARS.fullmatch(introduced):
        return text
    return fixed.text


def lost_characters(text: str) -> list[str]:
    """The places in `text` where characters were lost, each with some context around it."""
    if not text or ("?" not in text and "\ufffd" not in text):
        return []
    return [_around(text, m.start(), m.end()) for m in LOST.finditer(text)]


def changed_span(before: str, after: str) -> tuple[str, str]:
    """The part of `before` that differs from `after` (and that part of `after`), with some context."""
    prefix = 0
    while prefix < min(len(before), len(after)) and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(before), len(after)) - prefix
        and before[len(before) - 1 - suffix] == after[len(after) - 1 - suffix]
    ):
        suffix += 1
    return (_around(before, prefix, len(before) - suffix), _around(after, prefix, len(after) - suffix))


def _around(text: str, start: int, end: int) -> str:
    return " ".join(text[max(start - CONTEXT, 0) : end + CONTEXT].split())


def repair_fields(fields: Mapping[str, str | None]) -> TextRepair:
    """Repair every text field of one row; the verdict is unrepairable when any field still has lost
    characters, repaired when any field changed, else none."""
    repaired: dict[str, str | None] = {}
    notes: list[str] = []
    lost = False
    for name, value in fields.items():
        if not isinstance(value, str):
            repaired[name] = value
            continue
        fixed = repair_text(value)
        if fixed != value:
            old, new = changed_span(value, fixed)
            notes.append(f"{name}: repaired {old!r} -> {new!r}")
        places = list(dict.fromkeys(lost_characters(fixed)))  # each distinct place once, in text order
        if places:
            lost = True
            more = f" (and {len(places) - MAX_PLACES} more)" if len(places) > MAX_PLACES else ""
            notes.append(f"{name}: characters lost at {', '.join(map(repr, places[:MAX_PLACES]))}{more}")
        repaired[name] = fixed
    status = UNREPAIRABLE if lost else REPAIRED if notes else NONE
    return TextRepair(repaired, status, "; ".join(notes) or None)
