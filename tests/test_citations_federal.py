"""The citations of the other enforcers' law (etl/citations.py): 16 CFR Part 318 (the FTC's Health Breach
Notification Rule), Section 5 of the FTC Act (15 U.S.C. 45) and HIPAA's statute in the U.S. Code
(42 U.S.C. 1320d-5(d) for state attorneys general, 1320d-6 for federal prosecutors), and `kb cite`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.citations import canonical_citations, canonicalize, parse_citations
from etl.cli import cli

# Real-world spellings: the quoted ones are copied from ../shared/curated/beyond_ocr/*.jsonl (fields
# legal_basis, statute, laws_cited); the others are the ways agency documents write the same citations.
HBNR = [
    (
        "Health Breach Notification Rule, 16 C.F.R. Part 318 (failure to notify users, FTC and media of "
        "unauthorized disclosures)",
        ["16 CFR Part 318"],
    ),
    ("Health Breach Notification Rule, 16 C.F.R. Part 318 (1 count)", ["16 CFR Part 318"]),
    ("16 CFR Part 318", ["16 CFR Part 318"]),
    ("16 CFR 318", ["16 CFR Part 318"]),
    ("16 CFR § 318.3", ["16 CFR 318.3"]),
    ("16 C.F.R. 318.5(a)(1)", ["16 CFR 318.5(a)(1)"]),
    ("16 C.F.R. § 318.3(a)", ["16 CFR 318.3(a)"]),
    ("Part 318 of Title 16", ["16 CFR Part 318"]),
    ("Part 318 of Title 16 of the Code of Federal Regulations", ["16 CFR Part 318"]),
    ("16 C.F.R. §§ 318.3 and 318.5", ["16 CFR 318.3", "16 CFR 318.5"]),
    ("16 C.F.R. Part 318, §§ 318.3 and 318.5", ["16 CFR Part 318", "16 CFR 318.3", "16 CFR 318.5"]),
    ("Part 318 of Title 16, § 318.4", ["16 CFR Part 318", "16 CFR 318.4"]),
    ("§ 318.3 of Title 16", ["16 CFR 318.3"]),
    ("§§ 318.3 and 318.6 of 16 C.F.R.", ["16 CFR 318.3", "16 CFR 318.6"]),
    ("§ 318.3 of the Health Breach Notification Rule", ["16 CFR 318.3"]),
    ("16 C.F.R. §§ 318.3 through 318.6", ["16 CFR 318.3-318.6"]),
]

FTC_ACT = [
    ("FTC Act Sec. 5(a) (deception and unfairness)", ["15 U.S.C. 45(a)"]),
    ("FTC Act Sec. 5(a) unfairness (unreasonable data security)", ["15 U.S.C. 45(a)"]),
    ("FTC Act Sec. 5(a) deception (3 affirmative + 2 omission counts) and unfairness (2 counts)", ["15 U.S.C. 45(a)"]),
    ("Section 5(a) of the FTC Act", ["15 U.S.C. 45(a)"]),
    ("FTC Act § 5", ["15 U.S.C. 45(a)"]),
    ("Section 5 of the Federal Trade Commission Act", ["15 U.S.C. 45(a)"]),
    ("section 5 of the FTC Act", ["15 U.S.C. 45(a)"]),  # unqualified "Section 5": its subsection (a)
    ("Section 5(n) of the FTC Act", ["15 U.S.C. 45(n)"]),
    ("15 U.S.C. § 45(a)", ["15 U.S.C. 45(a)"]),
    ("15 USC 45", ["15 U.S.C. 45"]),  # a U.S. Code form without a paragraph stays as written
    ("15 U.S.C. § 45(m)(1)(A)", ["15 U.S.C. 45(m)(1)(A)"]),
    ("Opioid Addiction Recovery Fraud Prevention Act of 2018, 15 U.S.C. 45d", ["15 U.S.C. 45d"]),
    ("Section 5(a) of the FTC Act, 15 U.S.C. § 45(a)", ["15 U.S.C. 45(a)"]),
    ("Sections 5(a) and 12 of the FTC Act, 15 U.S.C. §§ 45(a) and 52", ["15 U.S.C. 45(a)", "15 U.S.C. 52"]),
]

HIPAA_STATUTE = [
    ("HIPAA (via HITECH 42 U.S.C. 1320d-5(d))", ["42 U.S.C. 1320d-5(d)"]),
    ("HITECH 42 U.S.C. 1320d-5(d) (state AG parens patriae)", ["42 U.S.C. 1320d-5(d)"]),
    (
        "HIPAA Privacy, Security (administrative/physical/technical safeguards), Breach Notification Rules via "
        "42 U.S.C. 1320d-5(d)",
        ["42 U.S.C. 1320d-5(d)"],
    ),
    # "42 U.S.C. 17930" is taken as written (title 42 given); 1320d-5(d) needs no title
    ("HIPAA as amended by HITECH (42 U.S.C. 17930 / 1320d-5(d))", ["42 U.S.C. 17930", "42 U.S.C. 1320d-5(d)"]),
    ("42 U.S.C. 1320d-6 (wrongful disclosure of IIHI)", ["42 U.S.C. 1320d-6"]),
    ("42 U.S.C. 1320d-6(a)(3)", ["42 U.S.C. 1320d-6(a)(3)"]),
    ("42 U.S.C. 1320d-6(b)(3)", ["42 U.S.C. 1320d-6(b)(3)"]),
    ("42 U.S.C. 1320d-6(a)(2), (b)(1) (obtaining IIHI)", ["42 U.S.C. 1320d-6(a)(2)", "42 U.S.C. 1320d-6(b)(1)"]),
    (
        "18 U.S.C. 371 (conspiracy to violate 42 U.S.C. 1320d-6(a) and (b)(3))",
        ["42 U.S.C. 1320d-6(a)", "42 U.S.C. 1320d-6(b)(3)"],
    ),
    ("42 U.S.C. § 1320d-6(a)(3)", ["42 U.S.C. 1320d-6(a)(3)"]),
    ("42 USC 1320d-5(d)", ["42 U.S.C. 1320d-5(d)"]),
    ("42 U.S.C. §1320d\u20136", ["42 U.S.C. 1320d-6"]),  # en dash
    ("42 U.S.C. \u00a7\u00a7 1320d-5 and 1320d-6", ["42 U.S.C. 1320d-5", "42 U.S.C. 1320d-6"]),
    ("section 1320d-6 of title 42", ["42 U.S.C. 1320d-6"]),
    ("Section 1320d-6(a)(2) of Title 42, United States Code", ["42 U.S.C. 1320d-6(a)(2)"]),
    ("42 U.S.C. 1320d-5", ["42 U.S.C. 1320d-5"]),
    # without a title: HIPAA's own section numbers name nothing else
    ("pleaded guilty under 1320d-6(a)(3)", ["42 U.S.C. 1320d-6(a)(3)"]),
    ("§ 1320d-5(d)", ["42 U.S.C. 1320d-5(d)"]),
]

MIXED = [
    (
        "OCR cited 45 C.F.R. § 164.308(a)(1)(ii)(A); the state sued under 42 U.S.C. 1320d-5(d); the FTC under "
        "Section 5 of the FTC Act and 16 C.F.R. § 318.3.",
        ["164.308(a)(1)(ii)(A)", "42 U.S.C. 1320d-5(d)", "15 U.S.C. 45(a)", "16 CFR 318.3"],
    ),
    ("HIPAA via 42 U.S.C. 1320d-5(d) (45 CFR Parts 160 and 164)", ["42 U.S.C. 1320d-5(d)", "Part 160", "Part 164"]),
]

NOT_CITATIONS = [
    "318.3 million",
    "a 318.3 rise",
    "§§ 318.3 and 318.5",  # no 16 CFR context
    "§ 318.3",
    "Part 318 of the lease",
    "Part 318",
    "16 CFR 312.5",  # COPPA: another part of title 16
    "Section 5 of the contract",
    "section 5(a) of the agreement",
    "Section 5 of the Act",
    "section 5.2 of the FTC Act",
    "FTC Act section 50",
    "45 days",
    "within 45 days of discovery",
    "1320 patients",
    "$1,320.56",
    "$1320",
    "call 202-619-0403",
    "1-800-368-1019",
    "(800) 368-1019",
    "18 U.S.C. 1028A(a)(1) (aggravated identity theft)",  # titles other than 15 and 42: not ours
    "Section 13410(d) of the HITECH Act",
    "1320d-6-2024",
    "model 1320dx",
]


@pytest.mark.parametrize("text,expected", HBNR + FTC_ACT + HIPAA_STATUTE + MIXED)
def test_examples(text: str, expected: list[str]) -> None:
    assert canonical_citations(text) == expected


@pytest.mark.parametrize("text", NOT_CITATIONS)
def test_not_citations(text: str) -> None:
    assert parse_citations(text) == []


CANONICAL = [
    "16 CFR Part 318",
    *(f"16 CFR 318.{n}" for n in range(1, 10)),
    "16 CFR 318.3(a)",
    "16 CFR 318.5(a)(1)",
    "16 CFR 318.3-318.5",
    "15 U.S.C. 45(a)",
    "15 U.S.C. 45",
    "15 U.S.C. 45d",
    "15 U.S.C. 45(m)(1)(A)",
    "42 U.S.C. 1320d-5(d)",
    "42 U.S.C. 1320d-5",
    "42 U.S.C. 1320d-6",
    "42 U.S.C. 1320d-6(a)(3)",
    "42 U.S.C. 1320d-6(b)(3)",
    "42 U.S.C. 1320d",
]


@pytest.mark.parametrize("canonical", CANONICAL)
def test_canonical_forms_are_fixed_points(canonical: str) -> None:
    assert canonicalize(canonical) == canonical
    assert canonical_citations(f"It cited {canonical}, then stopped.") == [canonical]


@pytest.mark.parametrize(
    "raw,canonical",
    [
        ("16 C.F.R. § 318.3", "16 CFR 318.3"),
        ("Part 318 of Title 16", "16 CFR Part 318"),
        ("§ 318.3 of Title 16", "16 CFR 318.3"),
        ("§ 318.3 of the Health Breach Notification Rule", "16 CFR 318.3"),
        ("section 1320d-6 of title 42", "42 U.S.C. 1320d-6"),
        ("Section 5 of the FTC Act", "15 U.S.C. 45(a)"),
        ("FTC Act Sec. 5(a)", "15 U.S.C. 45(a)"),
        ("15 U.S.C. § 45(a)", "15 U.S.C. 45(a)"),
        ("42 USC 1320d-5(d)", "42 U.S.C. 1320d-5(d)"),
        ("42 U.S.C. §1320d\u20136", "42 U.S.C. 1320d-6"),
        ("1320d-6(a)(3)", "42 U.S.C. 1320d-6(a)(3)"),
    ],
)
def test_canonicalize(raw: str, canonical: str) -> None:
    assert canonicalize(raw) == canonical


@pytest.mark.parametrize("junk", ["318.3", "Part 318", "Section 5", "45", "1320", "15 U.S.C.", "16 CFR 312.5"])
def test_canonicalize_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError, match="not a single"):
        canonicalize(junk)


def test_fields_and_offsets() -> None:
    text = "Under 16 C.F.R. § 318.3(a), FTC Act Sec. 5(a) and 42 U.S.C. § 1320d\u20136(b)(3)."
    hbnr, ftc, doj = parse_citations(text)
    for c in (hbnr, ftc, doj):
        assert text[c.start : c.end] == c.text
    assert (hbnr.code, hbnr.title, hbnr.part, hbnr.section, hbnr.paragraphs) == ("CFR", 16, 318, "318.3", ("a",))
    assert hbnr.text == "16 C.F.R. § 318.3(a)"
    assert (ftc.code, ftc.title, ftc.part, ftc.section, ftc.paragraphs, ftc.kind) == (
        "USC",
        15,
        0,
        "45",
        ("a",),
        "section",
    )
    assert ftc.text == "FTC Act Sec. 5(a)"
    assert (doj.code, doj.title, doj.section, doj.paragraphs) == ("USC", 42, "1320d-6", ("b", "3"))
    assert doj.text == "42 U.S.C. § 1320d\u20136(b)(3)"
    (hipaa,) = parse_citations("45 CFR 164.308")
    assert hipaa.code == "CFR"  # the default: callers that build Citation(...) positionally are unchanged


def test_curated_beyond_ocr_files_parse() -> None:
    """Every federal citation the curated beyond-OCR lists write is recognised (where the files exist)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent.parent / "shared" / "curated" / "beyond_ocr"
    if not folder.exists():
        pytest.skip(f"{folder} not present")
    found: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for field in ("laws_cited", "legal_basis", "statute"):
                values = record.get(field) or []
                for value in [values] if isinstance(values, str) else values:
                    found.setdefault(path.stem, set()).update(canonical_citations(value))
    assert {"42 U.S.C. 1320d-6", "42 U.S.C. 1320d-6(a)(3)", "42 U.S.C. 1320d-6(b)(3)"} <= found["doj_hipaa_criminal"]
    assert {"15 U.S.C. 45(a)", "16 CFR Part 318", "15 U.S.C. 45d"} <= found["ftc_actions"]
    assert "42 U.S.C. 1320d-5(d)" in found["state_ag_actions"]


_FRAGMENTS = [
    "16",
    "15",
    "42",
    "C.F.R.",
    "U.S.C.",
    "USC",
    "§",
    "§§",
    "Section",
    "5",
    "318.3",
    "318",
    "45",
    "45d",
    "1320d",
    "-6",
    "\u20135",
    "(a)",
    "(3)",
    "(b)",
    " of the FTC Act",
    " of Title ",
    "Part",
    " ",
    ", ",
    " and ",
    "$",
    ".",
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join))
@settings(max_examples=400)
def test_citation_like_text_round_trips(text: str) -> None:
    for c in parse_citations(text):
        assert text[c.start : c.end] == c.text
        assert canonicalize(c.canonical) == c.canonical


# --- kb cite -------------------------------------------------------------------------------------


def test_kb_cite_prints_federal_forms() -> None:
    text = (
        "GoodRx: FTC Act Sec. 5(a) and Health Breach Notification Rule, 16 C.F.R. Part 318; "
        "a state AG under 42 U.S.C. 1320d-5(d); a clerk under 42 U.S.C. 1320d-6(a)(3); 318.3 million users."
    )
    result = CliRunner().invoke(cli, ["cite", text])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        "15 U.S.C. 45(a)",
        "16 CFR Part 318",
        "42 U.S.C. 1320d-5(d)",
        "42 U.S.C. 1320d-6(a)(3)",
    ]


def test_kb_cite_stdin_and_help() -> None:
    result = CliRunner().invoke(cli, ["cite", "-"], input="Section 5 of the FTC Act\n16 CFR § 318.3\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == ["15 U.S.C. 45(a)", "16 CFR 318.3"]
    help_text = CliRunner().invoke(cli, ["cite", "--help"]).output
    assert "16 CFR Part 318" in help_text and "42 U.S.C. 1320d-5(d)" in help_text and "15 U.S.C. 45(a)" in help_text
