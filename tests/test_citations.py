"""The 45 CFR / 42 CFR Part 2 citation parser (etl/citations.py) and `kb cite`; the other enforcers' law
(16 CFR Part 318, the FTC Act, 42 U.S.C. 1320d-N) is tested in tests/test_citations_federal.py."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.citations import BARE_SECTIONS, Citation, canonical_citations, canonicalize, parse_citations
from etl.cli import cli

# Hand-written examples: the ways enforcement documents write citations, and what they must give.
EXAMPLES = [
    ("45 C.F.R. § 164.308(a)(1)(ii)(A)", ["164.308(a)(1)(ii)(A)"]),
    ("45 CFR 164.308(a)(1)(ii)(A)", ["164.308(a)(1)(ii)(A)"]),
    ("45 C.F.R. §164.308(a)(1)(ii)(A).", ["164.308(a)(1)(ii)(A)"]),
    ("§§ 164.502(a) and 164.530(c)", ["164.502(a)", "164.530(c)"]),
    ("164.308(a)(1)(ii)(A) and (B)", ["164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(B)"]),
    ("Section 164.312(a)(1)", ["164.312(a)(1)"]),
    ("See section 164.312 (a)(2)(iv) of the Security Rule", ["164.312(a)(2)(iv)"]),
    ("45 C.F.R. Part 164, Subpart C", ["164 Subpart C"]),
    ("45 C.F.R. Parts 160 and 164", ["Part 160", "Part 164"]),
    ("45 C.F.R. Part 160 and Subparts A and C of Part 164", ["Part 160", "164 Subpart A", "164 Subpart C"]),
    ("failed to provide timely access (164.524) to records", ["164.524"]),
    ("45 C.F.R. §§ 164.308(a)(1)(ii)(A), (B) and 164.316", ["164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(B)", "164.316"]),
    ("the Breach Notification Rule, 164.400-414,", ["164.400-164.414"]),
    ("45 C.F.R. §§ 164.400 through 164.414", ["164.400-164.414"]),
    ("45 C.F.R. § 164.308(a)(1)(ii)(A)-(D)", [f"164.308(a)(1)(ii)({x})" for x in "ABCD"]),
    ("164.310(d)(2)(i) through (iv)", [f"164.310(d)(2)({x})" for x in ("i", "ii", "iii", "iv")]),
    ("164.312(a)(2)(iv), (e)(2)(ii)", ["164.312(a)(2)(iv)", "164.312(e)(2)(ii)"]),
    ("45 C.F.R. § 160.310(b); 164.530(i)", ["160.310(b)", "164.530(i)"]),
    ("45 CFR 162.920 and 45 CFR 164", ["162.920", "Part 164"]),
    ("42 CFR Part 2", ["42 CFR Part 2"]),
    ("42 C.F.R. Part 2 and 42 C.F.R. § 2.31", ["42 CFR Part 2", "42 CFR 2.31"]),
    ("42 C.F.R. §§ 2.31(a) and 2.32", ["42 CFR 2.31(a)", "42 CFR 2.32"]),
    ("164.502(a) and 164.502(a) again", ["164.502(a)"]),
    ("164.308 (see) more", ["164.308"]),  # a word in parentheses is not a paragraph
]

NOT_CITATIONS = [
    "$164,308",
    "$164.50",
    "paid $ 164.502 today",
    "1/16/4",
    "on 01/16/2024",
    "2024-01-16",
    "call 202-619-0403",
    "1-800-368-1019",
    "(800) 368-1019",
    "202.619.0403",
    "Washington, D.C. 20201",
    "20201-0004",
    "version 16.4",
    "v1.164.308",
    "164.308.2",
    "a 16.4% rise",
    "Section 2.3 of the agreement",
    "§ 2.31",
    "Part 2 of this agreement",
    "Section 13410(d) of the HITECH Act",
    # "42 U.S.C. 1320d-5" was here until the parser learnt the U.S. Code: tests/test_citations_federal.py
    "164.309",
    "160.999 units",
    "Part 99",
    "45 CFR 170.315",
]


@pytest.mark.parametrize("text,expected", EXAMPLES)
def test_examples(text: str, expected: list[str]) -> None:
    assert canonical_citations(text) == expected


@pytest.mark.parametrize("text", NOT_CITATIONS)
def test_not_citations(text: str) -> None:
    assert parse_citations(text) == []


def test_citation_fields_and_offsets() -> None:
    text = "OCR cited 45 C.F.R. §§ 164.502(a) and 164.530(c)(1), and 42 C.F.R. Part 2."
    found = parse_citations(text)
    assert [c.canonical for c in found] == ["164.502(a)", "164.530(c)(1)", "42 CFR Part 2"]
    first, second, part2 = found
    assert first.text == "45 C.F.R. §§ 164.502(a)" and text[first.start : first.end] == first.text
    assert (second.title, second.part, second.section, second.paragraphs, second.kind) == (
        45,
        164,
        "164.530",
        ("c", "1"),
        "section",
    )
    assert second.text == "164.530(c)(1)"
    assert (part2.title, part2.part, part2.section, part2.kind) == (42, 2, None, "part")


def test_range_and_subpart_fields() -> None:
    (rng,) = parse_citations("45 C.F.R. 164.400-414")
    assert (rng.kind, rng.section, rng.range_end, rng.canonical) == ("range", "164.400", "164.414", "164.400-164.414")
    (sub,) = parse_citations("45 C.F.R. Part 164, Subpart E")
    assert (sub.kind, sub.part, sub.subpart, sub.section) == ("subpart", 164, "E", None)


def test_sibling_follows_numbering_style() -> None:
    # "(b)(2)" after "(a)(1)" replaces from the letter level; "(3)" only replaces the number level.
    assert canonical_citations("164.530(a)(1) and (b)(2)") == ["164.530(a)(1)", "164.530(b)(2)"]
    assert canonical_citations("164.316(b)(2)(i), (3)") == ["164.316(b)(2)(i)", "164.316(b)(3)"]
    # An enumeration that fits no level of the previous citation is not taken as a paragraph.
    assert canonical_citations("164.524 and (A) the entity") == ["164.524"]


def test_bare_numbers_need_a_real_section_but_context_does_not() -> None:
    assert canonical_citations("figure 164.309 rose") == []
    assert canonical_citations("45 C.F.R. § 164.309") == ["164.309"]  # kept; provisions.resolve flags it


@pytest.mark.parametrize(
    "raw,canonical",
    [
        ("164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(A)"),
        ("§ 164.530(c)", "164.530(c)"),
        ("45 C.F.R. § 164.530(c).", "164.530(c)"),
        ("  Section 164.524 ", "164.524"),
        ("164.308 (a)(1)", "164.308(a)(1)"),
        ("164 Subpart C", "164 Subpart C"),
        ("Part 164, Subpart C", "164 Subpart C"),
        ("Part 164", "Part 164"),
        ("45 CFR Part 160", "Part 160"),
        ("164.400-414", "164.400-164.414"),
        ("42 CFR 2.31", "42 CFR 2.31"),
        ("42 C.F.R. Part 2", "42 CFR Part 2"),
    ],
)
def test_canonicalize(raw: str, canonical: str) -> None:
    assert canonicalize(raw) == canonical


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "junk",
        "164.308(foo)",
        "$164.308",
        "2.31",
        "164.308 and 164.310",
        "see 164.308",
        "164.308(a",
        "Part 2",
        "99.1",
    ],
)
def test_canonicalize_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError, match="not a single"):
        canonicalize(junk)


# --- properties --------------------------------------------------------------------------------

_LEVELS = [
    st.sampled_from("abcdefghjk"),
    st.integers(1, 12).map(str),
    st.sampled_from(["i", "ii", "iii", "iv", "v", "vi"]),
    st.sampled_from("ABCDEF"),
]


@st.composite
def valid_citations(draw: st.DrawFn) -> str:
    section = draw(st.sampled_from(sorted(BARE_SECTIONS)))
    depth = draw(st.integers(0, 4))
    return section + "".join(f"({draw(level)})" for level in _LEVELS[:depth])


@given(st.text())
@settings(max_examples=300)
def test_never_crashes_and_spans_are_exact(text: str) -> None:
    for c in parse_citations(text):
        assert isinstance(c, Citation)
        assert text[c.start : c.end] == c.text
        assert canonicalize(c.canonical) == c.canonical


_FRAGMENTS = [
    "45",
    "42",
    "C.F.R.",
    "CFR",
    "§",
    "§§",
    "Section",
    "164.308",
    "164.400",
    "414",
    "2.31",
    "160.310",
    "(a)",
    "(1)",
    "(ii)",
    "(A)",
    "(B)",
    "(iv)",
    " ",
    ", ",
    " and ",
    "-",
    " through ",
    "Part",
    "Parts",
    "164",
    "160",
    "2",
    "Subpart",
    "Subparts",
    "C",
    "of",
    "$",
    ".",
    "\n",
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join))
@settings(max_examples=500)
def test_citation_like_text_never_crashes_and_round_trips(text: str) -> None:
    for c in parse_citations(text):
        assert text[c.start : c.end] == c.text
        assert canonicalize(c.canonical) == c.canonical


@given(valid_citations(), st.sampled_from(["45 C.F.R. § {}", "45 CFR {}", "Section {}", "§{}", "{}"]))
def test_valid_citations_round_trip(canonical: str, form: str) -> None:
    assert canonicalize(canonical) == canonical
    assert canonical_citations(f"OCR found a violation of {form.format(canonical)}, it said.") == [canonical]


_noise = st.one_of(
    st.integers(1, 10**9).map(lambda n: f"${n:,}"),
    st.tuples(st.integers(1, 10**7), st.integers(0, 99)).map(lambda t: f"${t[0]:,}.{t[1]:02d}"),
    st.tuples(st.integers(1, 12), st.integers(1, 31), st.integers(0, 2030)).map(lambda t: f"{t[0]}/{t[1]}/{t[2]}"),
    st.dates().map(lambda d: d.isoformat()),
    st.tuples(st.integers(200, 999), st.integers(200, 999), st.integers(0, 9999)).flatmap(
        lambda t: st.sampled_from(
            [
                f"{t[0]}-{t[1]}-{t[2]:04d}",
                f"1-{t[0]}-{t[1]}-{t[2]:04d}",
                f"({t[0]}) {t[1]}-{t[2]:04d}",
                f"{t[0]}.{t[1]}.{t[2]:04d}",
            ]
        )
    ),
    st.tuples(st.integers(10000, 99999), st.integers(0, 9999)).map(lambda t: f"{t[0]}-{t[1]:04d}"),
    st.integers(10000, 99999).map(str),
    st.tuples(st.integers(0, 200), st.integers(0, 99)).map(lambda t: f"{t[0]}.{t[1]}"),
    st.tuples(st.integers(0, 20), st.integers(0, 999), st.integers(0, 999)).map(lambda t: f"v{t[0]}.{t[1]}.{t[2]}"),
    st.tuples(st.integers(0, 999), st.integers(0, 999), st.integers(0, 99)).map(lambda t: f"{t[0]}.{t[1]}.{t[2]}"),
)


@given(st.lists(_noise, min_size=1, max_size=8), st.sampled_from([" ", ", ", " and ", "; ", "\n"]))
def test_amounts_dates_phones_give_nothing(tokens: list[str], sep: str) -> None:
    assert parse_citations(sep.join(tokens)) == []


# --- kb cite -------------------------------------------------------------------------------------


def test_kb_cite_argument() -> None:
    result = CliRunner().invoke(cli, ["cite", "45 C.F.R. § 164.308(a)(1)(ii)(A) and (B); $164,308"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == ["164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(B)"]


def test_kb_cite_stdin() -> None:
    result = CliRunner().invoke(cli, ["cite", "-"], input="Right of access, 45 CFR 164.524.\nNothing here 1/16/4.\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == ["164.524"]
