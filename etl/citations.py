"""Find 45 CFR (HIPAA) and 42 CFR Part 2 citations in free text and write them in one canonical form.

Canonical forms (what `Citation.canonical`, `canonical_citations` and `canonicalize` return):

- a 45 CFR section or paragraph: ``164.308``, ``164.308(a)(1)(ii)(A)`` (no title, no "§", no spaces);
- a 45 CFR part: ``Part 164``; a subpart: ``164 Subpart C``;
- a range of sections (``164.400-414``, ``§§ 164.400 through 164.414``): ``164.400-164.414``, kept as
  one citation of kind "range" (not expanded: the text names the span, not each section);
- 42 CFR Part 2 (substance use disorder records), kept apart from 45 CFR: ``42 CFR Part 2``,
  ``42 CFR 2.31``, ``42 CFR 2.31(a)``.

Lists are expanded: ``§§ 164.502(a) and 164.530(c)`` gives two citations, and a bare paragraph after a
citation is its sibling: ``164.308(a)(1)(ii)(A) and (B)`` gives ``...(A)`` and ``...(B)``.

A section number written with no context ("45 CFR", "§", "Section", "Part") counts only if it is a real
section of Part 160 or 164 (`BARE_SECTIONS`), so that amounts, dates, phone numbers and version numbers
are not taken for citations. With context, the part must still be 160, 162 or 164 (42 CFR: part 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Every section of 45 CFR Parts 160 and 164 (Part 164 Subpart B is reserved). A bare number must be
# one of these; tests check that data/reference/provisions.csv lists exactly these sections.
BARE_SECTIONS: frozenset[str] = frozenset(
    [f"160.{n}" for n in (101, 102, 103, 104, 105, 201, 202, 203, 204, 205)]
    + [f"160.{n}" for n in range(300, 317, 2)]
    + ["160.400", "160.401"]
    + [f"160.{n}" for n in range(402, 427, 2)]
    + [f"160.{n}" for n in range(500, 553, 2)]
    + [f"164.{n}" for n in (102, 103, 104, 105, 106)]
    + [f"164.{n}" for n in range(302, 319, 2)]
    + [f"164.{n}" for n in range(400, 415, 2)]
    + ["164.500", "164.501"]
    + [f"164.{n}" for n in range(502, 515, 2)]
    + [f"164.{n}" for n in range(520, 535, 2)]
)
HIPAA_PARTS = frozenset({160, 162, 164})
PART2_TITLE = 42

_SP = r"[ \t\u00a0]*"  # spaces within one citation (no line breaks between "164.308" and "(a)")


def _title(name: str) -> str:
    return rf"(?P<{name}>45|42)\s*C\.?\s?F\.?\s?R\.?"


_TITLE = _title("title")
_SECT_WORD = r"(?:§§?|\bsections?\b\.?|\bsecs?\.|\bsec\b)"
# One paragraph label: a, aa, roman numerals, 1-2 digits, or one capital letter. Lowercase words such as
# "(see)" are not labels.
_LABEL = (
    "(?:" + "|".join([r"[ivxl]{2,6}", *(c * 2 for c in "abcdefghjkmnopqrstuwyz"), r"[a-z]", r"\d{1,2}", r"[A-Z]"]) + ")"
)
_PARAS = rf"(?:{_SP}\({_LABEL}\))*"
# A section number: not part of a larger number, amount, date or dotted version.
_SECNUM = r"(?<![\w$.,/-])(?<!\$\s)(?P<part>\d{1,3})\.(?P<sec>\d{1,4})(?![\d])(?!\.\d)(?!,\d)"
_SEP = r"(?:\s*,\s*(?:and|or)\s+|\s*,\s*|\s+(?:and|or)\s+|\s*&\s*|\s*;\s*)"
_RANGE_SEP = r"(?:\s*[-\u2010-\u2014]\s*|\s+(?:through|thru|to)\s+)"

_ANCHOR = re.compile(
    rf"""
    (?P<subpart_of>\bsubparts?{_SP}(?P<sp_letters>[A-E](?:\s*(?:,|and|or|&)\s*[A-E])*)\s+of\s+
        (?:{_title("sp_title")}\s*)?part\s+(?P<sp_part>\d{{1,3}})\b)
    | (?P<titled>{_TITLE}\s*,?\s*(?P<t_word>{_SECT_WORD}\s*|parts?\b\s*)?)
    | (?P<part_word>\bparts?{_SP}(?P<pw_part>\d{{1,3}})\b(?!\.\d))
    | (?P<sect_word>{_SECT_WORD}\s*)
    | (?P<bare>{_SECNUM})
    """,
    re.IGNORECASE | re.VERBOSE,
)
_SECTION_AT = re.compile(rf"{_SECNUM}(?P<paras>{_PARAS})")
_PART_AT = re.compile(rf"(?P<part>\d{{1,3}})\b(?!\.\d)(?:\s*,?\s*subpart{_SP}(?P<subpart>[A-Z])\b)?", re.IGNORECASE)
_PART_LIST_NEXT = re.compile(rf"{_SEP}(?:parts?\s+)?(?P<part>\d{{1,3}})\b(?!\.\d)", re.IGNORECASE)
_SUBPART_AFTER = re.compile(rf"\s*,?\s*subpart{_SP}(?P<subpart>[A-Z])\b", re.IGNORECASE)
_PARAS_AT = re.compile(rf"(?P<paras>\({_LABEL}\)(?:{_SP}\({_LABEL}\))*)")
_LABEL_RE = re.compile(r"\(([^()]+)\)")
_SEP_RE = re.compile(_SEP, re.IGNORECASE)
_RANGE_RE = re.compile(
    rf"{_RANGE_SEP}(?:(?P<part>\d{{1,3}})\.)?(?P<sec>\d{{1,4}})(?![\d])(?!\.\d)(?!,\d)", re.IGNORECASE
)
_PARA_RANGE_RE = re.compile(rf"{_RANGE_SEP}\((?P<label>{_LABEL})\)", re.IGNORECASE)
# canonicalize() accepts the canonical subpart form, which free text does not use without "Part".
_CANON_SUBPART = re.compile(r"(?:part\s+)?(?P<part>160|162|164)\s*,?\s*subpart\s+(?P<subpart>[A-Z])", re.IGNORECASE)

_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50}


@dataclass(frozen=True)
class Citation:
    """One citation found in a text. `start`/`end` are offsets of `text` in the searched string."""

    canonical: str
    title: int  # 45 or 42
    part: int  # 160, 162, 164 (title 45) or 2 (title 42)
    section: str | None  # "164.308"; None for a part or subpart reference
    paragraphs: tuple[str, ...]  # ("a", "1", "ii", "A")
    kind: str  # "section" | "part" | "subpart" | "range"
    subpart: str | None = None  # "C" for "164 Subpart C"
    range_end: str | None = None  # "164.414" for "164.400-164.414"
    start: int = 0
    end: int = 0
    text: str = ""


def _section_canonical(title: int, section: str, paragraphs: tuple[str, ...]) -> str:
    body = section + "".join(f"({p})" for p in paragraphs)
    return f"42 CFR {body}" if title == PART2_TITLE else body


def _section_number(c: Citation) -> str:
    """'308' of the section citation '164.308' (the callers pass citations made by _Scanner.section)."""
    assert c.section is not None, c  # only part/subpart citations have none
    return c.section.split(".")[1]


def _part_canonical(title: int, part: int, subpart: str | None) -> str:
    if title == PART2_TITLE:
        return f"42 CFR Part {part}" + (f" Subpart {subpart}" if subpart else "")
    return f"{part} Subpart {subpart}" if subpart else f"Part {part}"


def _part_allowed(title: int, part: int) -> bool:
    return part == 2 if title == PART2_TITLE else part in HIPAA_PARTS


def _section_allowed(title: int, part: int, section: str, explicit: bool) -> bool:
    if not _part_allowed(title, part):
        return False
    return explicit or section in BARE_SECTIONS


def _labels(paras: str) -> tuple[str, ...]:
    return tuple(_LABEL_RE.findall(paras))


def _label_style(label: str) -> str:
    if label.isdigit():
        return "digit"
    if label.isupper():
        return "upper"
    if re.fullmatch(r"[ivxl]+", label) and label not in ("l",):
        return "roman_or_lower"
    return "lower"


def _styles_match(label: str, existing: str) -> bool:
    a, b = _label_style(label), _label_style(existing)
    if a == b:
        return True
    # "(i)", "(v)", "(x)" may be a letter or a roman numeral; let the previous level decide.
    return {a, b} == {"roman_or_lower", "lower"} and len(label) == 1 and len(existing) == 1


def _sibling(paragraphs: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...] | None:
    """Paragraphs `new` written after a citation ("(A), (B)", "(a)(1) and (b)(2)") replace the deepest
    level of the previous citation that has the same numbering style."""
    for depth in range(len(paragraphs) - 1, -1, -1):
        if _styles_match(new[0], paragraphs[depth]):
            return paragraphs[:depth] + new
    return None


def _roman_value(s: str) -> int | None:
    if not re.fullmatch(r"[ivxl]+", s):
        return None
    total = 0
    for i, ch in enumerate(s):
        v = _ROMAN[ch]
        total += -v if i + 1 < len(s) and _ROMAN[s[i + 1]] > v else v
    return total


def _to_roman(n: int) -> str:
    out = ""
    for value, sym in ((50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out += sym
            n -= value
    return out


def _label_range(first: str, last: str) -> list[str] | None:
    """Labels from `first` to `last` inclusive, or None when they are not one numbering run."""
    if first.isdigit() and last.isdigit():
        a, b = int(first), int(last)
        return [str(n) for n in range(a, b + 1)] if a < b <= a + 30 else None
    ra, rb = _roman_value(first), _roman_value(last)
    if ra and rb and len(first) + len(last) > 2 and ra < rb:
        return [_to_roman(n) for n in range(ra, rb + 1)]
    if (
        len(first) == len(last) == 1
        and first.isalpha()
        and last.isalpha()
        and first.isupper() == last.isupper()
        and ord(first) < ord(last)
    ):
        return [chr(c) for c in range(ord(first), ord(last) + 1)]
    return None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.found: list[Citation] = []

    def add(self, citation: Citation) -> None:
        self.found.append(citation)

    def section(self, title: int, part: int, sec: str, paragraphs: tuple[str, ...], start: int, end: int) -> Citation:
        section = f"{part}.{sec}"
        c = Citation(
            _section_canonical(title, section, paragraphs),
            title,
            part,
            section,
            paragraphs,
            "section",
            start=start,
            end=end,
            text=self.text[start:end],
        )
        self.add(c)
        return c

    def run(self) -> list[Citation]:
        pos = 0
        while True:
            m = _ANCHOR.search(self.text, pos)
            if not m:
                return self.found
            pos = self.anchor(m)

    def anchor(self, m: re.Match) -> int:
        if m.group("subpart_of"):
            return self.subparts_of(m)
        if m.group("titled"):
            title = int(m.group("title"))
            word = (m.group("t_word") or "").strip().lower()
            if word.startswith("part"):
                return self.parts(m.start(), m.end(), title)
            end = self.sections(m.start(), m.end(), title, explicit=True)
            if end is None and not word:  # "45 CFR 164" with no "Part"
                return self.parts(m.start(), m.end(), title)
            return end or m.end()
        if m.group("part_word"):
            return self.parts(m.start(), m.start(), 45, after_word=True)
        if m.group("sect_word"):
            return self.sections(m.start(), m.end(), 45, explicit=True) or m.end()
        return self.sections(m.start(), m.start(), 45, explicit=False) or m.end()

    def subparts_of(self, m: re.Match) -> int:
        title = int(m.group("sp_title") or 45)
        part = int(m.group("sp_part"))
        if _part_allowed(title, part):
            for letter in re.findall(r"\b([A-Ea-e])\b", m.group("sp_letters")):
                self.add(
                    Citation(
                        _part_canonical(title, part, letter.upper()),
                        title,
                        part,
                        None,
                        (),
                        "subpart",
                        subpart=letter.upper(),
                        start=m.start(),
                        end=m.end(),
                        text=m.group(0),
                    )
                )
        return m.end()

    def parts(self, start: int, pos: int, title: int, after_word: bool = False) -> int:
        """`Part 164`, `Parts 160 and 164`, `Part 164, Subpart C`, `45 CFR 164` at `pos`."""
        if after_word:
            word = re.compile(r"parts?\s*", re.IGNORECASE).match(self.text, pos)
            assert word is not None  # called at the start of _ANCHOR's part_word match, which begins so
            pos = word.end()
        m = _PART_AT.match(self.text, pos)
        if not m:
            return pos + 1
        end = self.one_part(start, m, title)
        while (n := _PART_LIST_NEXT.match(self.text, end)) and _part_allowed(title, int(n.group("part"))):
            sub = _SUBPART_AFTER.match(self.text, n.end())
            part = int(n.group("part"))
            stop = sub.end() if sub else n.end()
            subpart = sub.group("subpart").upper() if sub else None
            self.add(
                Citation(
                    _part_canonical(title, part, subpart),
                    title,
                    part,
                    None,
                    (),
                    "subpart" if subpart else "part",
                    subpart=subpart,
                    start=n.start("part"),
                    end=stop,
                    text=self.text[n.start("part") : stop],
                )
            )
            end = stop
        return end

    def one_part(self, start: int, m: re.Match, title: int) -> int:
        part = int(m.group("part"))
        if not _part_allowed(title, part):
            return m.end()
        subpart = m.group("subpart").upper() if m.group("subpart") else None
        self.add(
            Citation(
                _part_canonical(title, part, subpart),
                title,
                part,
                None,
                (),
                "subpart" if subpart else "part",
                subpart=subpart,
                start=start,
                end=m.end(),
                text=self.text[start : m.end()],
            )
        )
        return m.end()

    def sections(self, start: int, pos: int, title: int, explicit: bool) -> int | None:
        """A section citation at `pos` and the list that follows it; None when there is none."""
        m = _SECTION_AT.match(self.text, pos)
        if not m:
            return None
        part, sec = int(m.group("part")), m.group("sec")
        if not _section_allowed(title, part, f"{part}.{sec}", explicit):
            return None
        last = self.section(title, part, sec, _labels(m.group("paras")), start, m.end())
        end = self.range_after(last, m.end(), explicit)
        while True:
            sep = _SEP_RE.match(self.text, end)
            if not sep:
                return end
            nxt = sep.end()
            sm = _SECTION_AT.match(self.text, nxt)
            if sm:
                p, s = int(sm.group("part")), sm.group("sec")
                if not _section_allowed(title, p, f"{p}.{s}", explicit):
                    return end
                last = self.section(title, p, s, _labels(sm.group("paras")), nxt, sm.end())
                end = self.range_after(last, sm.end(), explicit)
                continue
            pm = _PARAS_AT.match(self.text, nxt)
            if not pm or not last.paragraphs:
                return end
            new = _sibling(last.paragraphs, _labels(pm.group("paras")))
            if new is None:
                return end
            last = self.section(title, last.part, _section_number(last), new, nxt, pm.end())
            end = self.paragraph_range_after(last, pm.end())

    def range_after(self, first: Citation, pos: int, explicit: bool) -> int:
        """`164.400-414`, `164.400 through 164.414` (sections) or `(A)-(D)` (paragraphs)."""
        if first.paragraphs:
            return self.paragraph_range_after(first, pos)
        m = _RANGE_RE.match(self.text, pos)
        if not m:
            return pos
        part = int(m.group("part") or first.part)
        end_section = f"{part}.{m.group('sec')}"
        sec_start, sec_end = int(_section_number(first)), int(m.group("sec"))
        if (
            part != first.part
            or not sec_start < sec_end <= 999
            or not _section_allowed(first.title, part, end_section, explicit)
        ):
            return pos
        self.found.pop()
        canonical = f"{first.section}-{end_section}"
        if first.title == PART2_TITLE:
            canonical = f"42 CFR {canonical}"
        self.add(
            Citation(
                canonical,
                first.title,
                first.part,
                first.section,
                (),
                "range",
                range_end=end_section,
                start=first.start,
                end=m.end(),
                text=self.text[first.start : m.end()],
            )
        )
        return m.end()

    def paragraph_range_after(self, last: Citation, pos: int) -> int:
        m = _PARA_RANGE_RE.match(self.text, pos)
        if not m:
            return pos
        labels = _label_range(last.paragraphs[-1], m.group("label"))
        if labels is None:
            return pos
        for label in labels[1:]:
            self.section(
                last.title,
                last.part,
                _section_number(last),
                last.paragraphs[:-1] + (label,),
                m.start("label") - 1,
                m.end(),
            )
        return m.end()


def parse_citations(text: str) -> list[Citation]:
    """Every 45 CFR / 42 CFR Part 2 citation in `text`, in order of appearance (repeats included)."""
    return _Scanner(text).run()


def canonical_citations(text: str) -> list[str]:
    """The canonical strings of the citations in `text`, each once, in order of first appearance."""
    return list(dict.fromkeys(c.canonical for c in parse_citations(text)))


def canonicalize(s: str) -> str:
    """The canonical form of one citation ("§ 164.530(c)", "45 C.F.R. 164.308(a)(1)(ii)(A)",
    "164 Subpart C", "42 CFR Part 2"). Raises ValueError unless `s` is exactly one citation."""
    stripped = s.strip().rstrip(".").strip()
    sub = _CANON_SUBPART.fullmatch(stripped)
    if sub:
        return _part_canonical(45, int(sub.group("part")), sub.group("subpart").upper())
    # A string handed to canonicalize() is a citation by assertion: parse it with explicit context.
    prefixed = stripped if re.match(r"(?:45|42)\s*C\.?\s?F\.?\s?R|§|sec|part", stripped, re.I) else f"§ {stripped}"
    offset = len(prefixed) - len(stripped)
    found = parse_citations(prefixed)
    if len(found) != 1 or found[0].end != len(prefixed) or found[0].start > offset:
        raise ValueError(f"not a single 45 CFR / 42 CFR Part 2 citation: {s!r}")
    return found[0].canonical
