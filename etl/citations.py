"""Find the citations of health-privacy law in free text and write them in one canonical form: 45 CFR
(HIPAA's rules, OCR), 42 CFR Part 2, and the legal bases of the other enforcers: 16 CFR Part 318 (the
FTC's Health Breach Notification Rule), Section 5 of the FTC Act (15 U.S.C. 45) and HIPAA's statute in
the U.S. Code (42 U.S.C. 1320d-5(d), state attorneys general's civil actions; 42 U.S.C. 1320d-6,
federal prosecutors' criminal cases).

Canonical forms (what `Citation.canonical`, `canonical_citations` and `canonicalize` return):

- a 45 CFR section or paragraph: ``164.308``, ``164.308(a)(1)(ii)(A)`` (no title, no "§", no spaces);
- a 45 CFR part: ``Part 164``; a subpart: ``164 Subpart C``;
- a range of sections (``164.400-414``, ``§§ 164.400 through 164.414``): ``164.400-164.414``, kept as
  one citation of kind "range" (not expanded: the text names the span, not each section);
- 42 CFR Part 2 (substance use disorder records), kept apart from 45 CFR: ``42 CFR Part 2``,
  ``42 CFR 2.31``, ``42 CFR 2.31(a)``;
- 16 CFR Part 318 (Health Breach Notification Rule): ``16 CFR Part 318``, ``16 CFR 318.3``,
  ``16 CFR 318.5(a)(1)``, ``16 CFR 318.3-318.5``. A 318.x section counts only with 16 CFR context in the
  same citation ("16 C.F.R. §§ 318.3 and 318.5", "16 CFR Part 318, § 318.3", "§ 318.3 of Title 16",
  "§ 318.3 of the Health Breach Notification Rule"); "Part 318" counts only as "16 CFR Part 318" or "Part
  318 of Title 16". A bare "318.3" or "Part 318" is nothing (an amount, a part of a lease);
- the U.S. Code (`Citation.code` "USC"): ``<title> U.S.C. <section><paragraphs>``, with "§", spaces and
  dashes normalized: ``15 U.S.C. 45(a)``, ``15 U.S.C. 45``, ``15 U.S.C. 45d``, ``42 U.S.C. 1320d-5(d)``,
  ``42 U.S.C. 1320d-6(a)(3)``. Titles 15 and 42 only (the FTC Act; HIPAA's statute). With "15 U.S.C." or
  "42 U.S.C." (or "section N of title 15/42") any section is taken as written. Without a title only HIPAA's
  own sections, ``1320d`` and ``1320d-1`` … ``1320d-99``, count: the number with its "d" and dash names
  nothing else, while "1320" alone (patients, dollars) is never taken;
- the FTC Act by its own section numbers: "Section 5 of the FTC Act", "Section 5(a) of the Federal Trade
  Commission Act", "FTC Act Sec. 5(a)", "FTC Act § 5" give ``15 U.S.C. 45(a)``: Section 5 of the Act is
  codified at 15 U.S.C. 45, and an unqualified "Section 5" in an enforcement text is its subsection (a),
  the ban on unfair or deceptive acts or practices (a 15 U.S.C. form without a paragraph stays
  ``15 U.S.C. 45``, as written). "Section 5(n) of the FTC Act" gives ``15 U.S.C. 45(n)``. The Act must be
  named: "Section 5 of the contract" is nothing.

Lists are expanded: ``§§ 164.502(a) and 164.530(c)`` gives two citations, and a bare paragraph after a
citation is its sibling: ``164.308(a)(1)(ii)(A) and (B)`` gives ``...(A)`` and ``...(B)``.

A section number written with no context ("45 CFR", "§", "Section", "Part") counts only if it is a real
section of Part 160 or 164 (`BARE_SECTIONS`), so that amounts, dates, phone numbers and version numbers
are not taken for citations. With context, the part must still be 160, 162 or 164 (42 CFR: part 2; 16 CFR:
part 318).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

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
HBNR_TITLE = 16  # 16 CFR Part 318, the FTC's Health Breach Notification Rule
HBNR_PART = 318
# The sections of 16 CFR Part 318 (Purpose and scope ... Sunset); tests check that provisions.csv lists
# exactly these. Unlike BARE_SECTIONS they never make a bare number a citation: 318.x needs 16 CFR context.
HBNR_SECTIONS: frozenset[str] = frozenset(f"318.{n}" for n in range(1, 10))
# The parts each CFR title may cite (title 45 is HIPAA_PARTS).
_TITLE_PARTS = {45: HIPAA_PARTS, PART2_TITLE: frozenset({2}), HBNR_TITLE: frozenset({HBNR_PART})}
USC_TITLES = frozenset({15, 42})  # the FTC Act (15 U.S.C. 41 ff.) and HIPAA's statute (42 U.S.C. 1320d ff.)

_SP = r"[ \t\u00a0]*"  # spaces within one citation (no line breaks between "164.308" and "(a)")


def _title(name: str) -> str:
    return rf"(?P<{name}>45|42|(?<![\d.$,/-])16)\s*C\.?\s?F\.?\s?R\.?"


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
# "of Title 16", "of 16 C.F.R.", "of title 42 of the Code of Federal Regulations" after a part or section.
_OF_TITLE = re.compile(
    r"\s*,?\s+of\s+(?:title\s+(?P<t1>16|42|45)\b(?!\s*,?\s*(?:of\s+the\s+)?U\.?\s?S\.?\s?C|\s*,?\s*United)"
    r"|(?P<t2>16|42|45)\s*C\.?\s?F\.?\s?R\b\.?)",
    re.IGNORECASE,
)
_OF_HBNR = re.compile(r"\s*,?\s+of\s+the\s+(?:FTC'?s\s+)?Health\s+Breach\s+Notification\s+Rule\b", re.IGNORECASE)
_SECT_AFTER = re.compile(rf"\s*,?\s*(?P<word>{_SECT_WORD})\s*", re.IGNORECASE)
# canonicalize() accepts the canonical subpart form, which free text does not use without "Part".
_CANON_SUBPART = re.compile(r"(?:part\s+)?(?P<part>160|162|164)\s*,?\s*subpart\s+(?P<subpart>[A-Z])", re.IGNORECASE)

_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50}


@dataclass(frozen=True)
class Citation:
    """One citation found in a text. `start`/`end` are offsets of `text` in the searched string.

    `code` says which code `title` belongs to: "CFR" (the Code of Federal Regulations, titles 45, 42 and
    16) or "USC" (the United States Code, titles 15 and 42). `part` is the CFR part (160, 162 or 164 of
    title 45, 2 of title 42, 318 of title 16); a U.S. Code section is cited by title and section alone, so
    its `part` is 0 and its `section` is the section as the Code numbers it ("45", "45d", "1320d-6")."""

    canonical: str
    title: int  # CFR: 45, 42 or 16; USC: 15 or 42
    part: int  # CFR: 160, 162, 164 (title 45), 2 (title 42), 318 (title 16); USC: 0
    section: str | None  # "164.308", "318.3", "1320d-6"; None for a part or subpart reference
    paragraphs: tuple[str, ...]  # ("a", "1", "ii", "A")
    kind: str  # "section" | "part" | "subpart" | "range"
    subpart: str | None = None  # "C" for "164 Subpart C"
    range_end: str | None = None  # "164.414" for "164.400-164.414"
    start: int = 0
    end: int = 0
    text: str = ""
    code: str = "CFR"  # "CFR" | "USC"


def _cfr_prefix(title: int) -> str:
    """45 CFR citations are written without their title; the other titles carry it ("42 CFR 2.31")."""
    return "" if title == 45 else f"{title} CFR "


def _section_canonical(title: int, section: str, paragraphs: tuple[str, ...]) -> str:
    return _cfr_prefix(title) + section + "".join(f"({p})" for p in paragraphs)


def _section_number(c: Citation) -> str:
    """'308' of the section citation '164.308' (the callers pass citations made by _Scanner.section)."""
    assert c.section is not None, c  # only part/subpart citations have none
    return c.section.split(".")[1]


def _part_canonical(title: int, part: int, subpart: str | None) -> str:
    if title != 45:
        return f"{title} CFR Part {part}" + (f" Subpart {subpart}" if subpart else "")
    return f"{part} Subpart {subpart}" if subpart else f"Part {part}"


def _part_allowed(title: int, part: int) -> bool:
    return part in _TITLE_PARTS.get(title, frozenset())


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
                return self.sections_after_part(self.parts(m.start(), m.end(), title), title)
            end = self.sections(m.start(), m.end(), title, explicit=True)
            if end is None and not word:  # "45 CFR 164" with no "Part"
                return self.sections_after_part(self.parts(m.start(), m.end(), title), title)
            return end or m.end()
        if m.group("part_word"):
            before = len(self.found)
            end = self.parts(m.start(), m.start(), 45, after_word=True)
            if len(self.found) == before:  # "Part 318 of Title 16": not 45 CFR, but its title follows
                return self.part_of_title(m) or end
            return end
        if m.group("sect_word"):
            end = self.sections(m.start(), m.end(), 45, explicit=True)
            return end or self.sections_of_title(m.start(), m.end()) or m.end()
        return self.sections(m.start(), m.start(), 45, explicit=False) or m.end()

    def part_of_title(self, m: re.Match) -> int | None:
        """`Part 318 of Title 16` (also `of 16 CFR`), `Part 2 of Title 42`: the title after the part."""
        of = _OF_TITLE.match(self.text, m.end("pw_part"))
        if not of or int(of.group("t1") or of.group("t2")) == 45:
            return None
        title = int(of.group("t1") or of.group("t2"))
        before = len(self.found)
        self.parts(m.start(), m.start(), title, after_word=True)
        if len(self.found) == before:
            return None
        self.extend_last(of.end())
        return self.sections_after_part(of.end(), title)

    def extend_last(self, end: int) -> None:
        """The last citation's span reaches `end` (its title written after it: "Part 318 of Title 16")."""
        last = self.found[-1]
        self.found[-1] = replace(last, end=end, text=self.text[last.start : end])

    def sections_after_part(self, pos: int, title: int) -> int:
        """`16 CFR Part 318, §§ 318.3 and 318.5`: sections written right after their part keep its title
        (45 CFR sections need no such help: a "§" before them is context enough)."""
        w = _SECT_AFTER.match(self.text, pos)
        if not w or title == 45:
            return pos
        return self.sections(w.start("word"), w.end(), title, explicit=True) or pos

    def sections_of_title(self, start: int, pos: int) -> int | None:
        """`§ 318.3 of Title 16`, `§§ 318.3 and 318.5 of 16 CFR`, `§ 318.3 of the Health Breach
        Notification Rule`, `§ 2.31 of Title 42`: sections whose title comes after them."""
        for title in (HBNR_TITLE, PART2_TITLE):
            before = len(self.found)
            end = self.sections(start, pos, title, explicit=True)
            if end is not None:
                of = _OF_TITLE.match(self.text, end)
                if of and int(of.group("t1") or of.group("t2")) == title:
                    self.extend_last(of.end())
                    return of.end()
                if title == HBNR_TITLE and (hbnr := _OF_HBNR.match(self.text, end)):
                    self.extend_last(hbnr.end())
                    return hbnr.end()
            del self.found[before:]
        return None

    def subparts_of(self, m: re.Match) -> int:
        title = int(m.group("sp_title") or 45)
        part = int(m.group("sp_part"))
        if _part_allowed(title, part) and title != HBNR_TITLE:  # Part 318 has no subparts
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
        canonical = f"{_cfr_prefix(first.title)}{first.section}-{end_section}"
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


# --- the U.S. Code and the FTC Act ---------------------------------------------------------------

_DASH = r"[-\u2010-\u2014]"
# A U.S. Code section as the Code numbers it: 45, 45d, 1320d, 1320d-6, 300gg-11 (not part of a word).
_USC_SEC = rf"\d{{1,5}}[a-z]{{0,3}}(?:{_DASH}\d{{1,3}}[a-z]{{0,2}})?(?![\w])(?!{_DASH}\d)"
_USC_PARAS = rf"(?P<paras>(?:{_SP}\({_LABEL}\))*)"
_USC_MARK = r"(?:§§?|(?i:\bsections?\b\.?|\bsecs?\b\.?))"
_FTC_ACT = r"(?:FTC|F\.T\.C\.|(?i:Federal\s+Trade\s+Commission))\s+(?i:Act)\b"
# Not compiled with re.IGNORECASE: paragraph labels and section letters are case-sensitive ("(A)" is not
# "(a)"); the words around them are matched in either case with (?i:...).
_USC_ANCHOR = re.compile(
    rf"""
    (?P<titled>(?<![\w.$,/-])(?P<t_title>15|42){_SP}(?:U\.?{_SP}S\.?{_SP}C\.?|(?i:usc)\b)(?:{_SP}A\.)?
        \s*,?\s*(?:(?P<t_mark>{_USC_MARK})\s*)?(?P<t_sec>{_USC_SEC}))
    | (?P<of_title>(?P<o_mark>{_USC_MARK})\s*(?P<o_sec>{_USC_SEC})(?P<o_paras>(?:{_SP}\({_LABEL}\))*)
        \s*,?\s+(?i:of\s+title)\s+(?P<o_title>15|42)\b(?!\s*,?\s*(?:of\s+the\s+)?(?i:code\s+of\s+federal|c\.?\s?f\.?\s?r)))
    | (?P<ftc_of>(?<![\w.])(?P<f_mark>{_USC_MARK})\s*5(?![\d.]|[.,]\d)(?P<f_paras>(?:{_SP}\({_LABEL}\))*)
        (?:\s*(?:,|(?i:and)|&)\s*\d{{1,2}}[a-z]?(?:\({_LABEL}\))*)*\s+of\s+(?i:the)\s+{_FTC_ACT})
    | (?P<ftc_act>{_FTC_ACT}\s*,?\s*(?:§|(?i:\bsection\b|\bsec\b\.?))\s*5(?![\d.]|[.,]\d)
        (?P<a_paras>(?:{_SP}\({_LABEL}\))*))
    | (?P<bare>(?<![\w.$,/\u2010-\u2014-])(?:(?P<b_mark>{_USC_MARK})\s*)?(?P<b_sec>1320d(?:{_DASH}\d{{1,2}})?)
        (?![\w])(?!{_DASH}\d))
    """,
    re.VERBOSE,
)
_USC_NEXT = re.compile(rf"(?:{_USC_MARK}\s*)?(?P<sec>{_USC_SEC})")
_HIPAA_STATUTE = re.compile(rf"1320d(?:{_DASH}\d{{1,2}})?")


def _usc_section(sec: str) -> str:
    return re.sub(_DASH, "-", sec)


class _USCScanner:
    """U.S. Code citations of titles 15 and 42, and the FTC Act cited by its own section 5."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: list[Citation] = []

    def add(self, title: int, sec: str, paragraphs: tuple[str, ...], start: int, end: int) -> Citation:
        section = _usc_section(sec)
        body = section + "".join(f"({p})" for p in paragraphs)
        c = Citation(
            f"{title} U.S.C. {body}",
            title,
            0,
            section,
            paragraphs,
            "section",
            start=start,
            end=end,
            text=self.text[start:end],
            code="USC",
        )
        self.found.append(c)
        return c

    def run(self) -> list[Citation]:
        pos = 0
        while m := _USC_ANCHOR.search(self.text, pos):
            pos = self.anchor(m)
        return self.found

    def anchor(self, m: re.Match) -> int:
        if m.group("titled"):
            paras = _PARAS_AT.match(self.text, m.end())
            end = paras.end() if paras else m.end()
            first = self.add(
                int(m.group("t_title")), m.group("t_sec"), _labels(paras.group(0)) if paras else (), m.start(), end
            )
            plural = (m.group("t_mark") or "").lower() in ("§§", "sections", "secs.")
            return self.listed(first, end, plural, hipaa_only=False)
        if m.group("of_title"):
            self.add(int(m.group("o_title")), m.group("o_sec"), _labels(m.group("o_paras")), m.start(), m.end())
            return m.end()
        if m.group("ftc_of") or m.group("ftc_act"):
            # Section 5 of the FTC Act is 15 U.S.C. 45; unqualified, its subsection (a), the ban on unfair
            # or deceptive acts or practices, is what an enforcement text means by it.
            labels = _labels(m.group("f_paras") or m.group("a_paras") or "") or ("a",)
            self.add(15, "45", labels, m.start(), m.end())
            return m.end()
        paras = _PARAS_AT.match(self.text, m.end())
        end = paras.end() if paras else m.end()
        first = self.add(42, m.group("b_sec"), _labels(paras.group(0)) if paras else (), m.start(), end)
        return self.listed(first, end, (m.group("b_mark") or "").lower() == "§§", hipaa_only=True)

    def listed(self, last: Citation, end: int, plural: bool, hipaa_only: bool) -> int:
        """`42 U.S.C. 1320d-5(d) and 1320d-6`, `15 U.S.C. §§ 45(a) and 52`, `1320d-6(a) and (b)(3)`. A number
        with no letter continues the list only after "§§" or "sections" ("45 and 30 days" is no list)."""
        while sep := _SEP_RE.match(self.text, end):
            nxt = sep.end()
            sm = _USC_NEXT.match(self.text, nxt)
            if sm and (plural or re.search(r"[a-z]", sm.group("sec"))):
                if hipaa_only and not _HIPAA_STATUTE.fullmatch(sm.group("sec")):
                    return end
                paras = _PARAS_AT.match(self.text, sm.end())
                stop = paras.end() if paras else sm.end()
                last = self.add(last.title, sm.group("sec"), _labels(paras.group(0)) if paras else (), nxt, stop)
                end = stop
                continue
            pm = _PARAS_AT.match(self.text, nxt)
            if not pm or not last.paragraphs:
                return end
            new = _sibling(last.paragraphs, _labels(pm.group("paras")))
            if new is None:
                return end
            assert last.section is not None  # U.S. Code citations are sections
            last = self.add(last.title, last.section, new, nxt, pm.end())
            end = pm.end()
        return end


def parse_citations(text: str) -> list[Citation]:
    """Every citation in `text` (45 CFR, 42 CFR Part 2, 16 CFR Part 318, 15 and 42 U.S.C., the FTC Act's
    Section 5), in order of appearance (repeats included)."""
    cfr = _Scanner(text).run()
    usc = [u for u in _USCScanner(text).run() if not any(u.start < c.end and c.start < u.end for c in cfr)]
    return sorted(cfr + usc, key=lambda c: c.start) if usc else cfr


def canonical_citations(text: str) -> list[str]:
    """The canonical strings of the citations in `text`, each once, in order of first appearance."""
    return list(dict.fromkeys(c.canonical for c in parse_citations(text)))


def canonicalize(s: str) -> str:
    """The canonical form of one citation ("§ 164.530(c)", "45 C.F.R. 164.308(a)(1)(ii)(A)",
    "164 Subpart C", "42 CFR Part 2", "16 C.F.R. § 318.3", "42 USC 1320d-5(d)", "Section 5 of the FTC Act").
    A canonical form is returned unchanged. Raises ValueError unless `s` is exactly one citation."""
    stripped = s.strip().rstrip(".").strip()
    sub = _CANON_SUBPART.fullmatch(stripped)
    if sub:
        return _part_canonical(45, int(sub.group("part")), sub.group("subpart").upper())
    # A string handed to canonicalize() is a citation by assertion: parse it with explicit context.
    titled = r"(?:45|42|16)\s*C\.?\s?F\.?\s?R|(?:15|42)\s*U\.?\s?S\.?\s?C|§|sec|part|ftc|f\.t\.c|federal"
    prefixed = stripped if re.match(titled, stripped, re.I) else f"§ {stripped}"
    offset = len(prefixed) - len(stripped)
    found = parse_citations(prefixed)
    if len(found) != 1 or found[0].end != len(prefixed) or found[0].start > offset:
        raise ValueError(f"not a single citation (45 CFR, 42 CFR Part 2, 16 CFR Part 318, 15 or 42 U.S.C.): {s!r}")
    return found[0].canonical
