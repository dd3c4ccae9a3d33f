"""Schema check of the curated enforcement facts: the project's file passes, and each kind of bad
line is reported with its line and field."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import KB, REPO_ROOT

from etl.curated import CAP_OBLIGATIONS, CURATED_FILE, CuratedFormatError, load_curated, read_curated

CURATED = REPO_ROOT / "data" / "curated" / CURATED_FILE
SHARED = REPO_ROOT.parent / "shared" / "curated" / CURATED_FILE


def _valid_record() -> dict:
    # Hand-made test input: one well-formed record (values modelled on the curated file's).
    return {
        "entity": "Example Clinic, P.C.",
        "announced": "2024-05-01",
        "action_type": "resolution_agreement",
        "amount_usd": 50000,
        "entity_type": "healthcare_provider",
        "state": "OH",
        "individuals_affected": 1200,
        "breach_reported": "2022-03-04",
        "cap_years": 2,
        "cap": True,
        "cap_obligations": ["risk analysis", "training"],
        "initiative": None,
        "incident": ["stolen unencrypted laptop"],
        "violations": [{"cfr": "164.308(a)(1)(ii)(A)", "label": "risk analysis", "basis": "mapped"}],
        "summary": "An example.",
        "hhs_urls": ["https://www.hhs.gov/example/index.html"],
        "evidence": ["https://example.org/a"],
        "confidence": "high",
        "notes": "",
    }


def _write(tmp_path: Path, records: list) -> Path:
    path = tmp_path / CURATED_FILE
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_project_file_is_valid_and_complete():
    records = load_curated(CURATED)
    assert len(records) == 184 == sum(1 for _ in CURATED.open())
    assert [r.line for r in records] == list(range(1, 185))
    assert sum(r.record["action_type"] == "civil_money_penalty" for r in records) == 17
    caps = [r.record["cap"] for r in records]
    assert (caps.count(True), caps.count(False), caps.count(None)) == (148, 3, 33)
    assert sum(bool(r.record["cap_obligations"]) for r in records) == 35


def test_review_changed_only_the_lines_it_says(tmp_path):
    """The reviewed copy differs from the shared file only in the records the README lists, and each of
    those records says so in its notes."""
    if not SHARED.exists():
        pytest.skip("shared curated file not present")
    shared = SHARED.read_text().splitlines()
    ours = CURATED.read_text().splitlines()
    changed = [n for n, (a, b) in enumerate(zip(shared, ours, strict=False), start=1) if a != b]
    assert len(shared) == len(ours)
    assert changed == [121, 125, 140, 150, 164]
    for n in changed:
        assert "Review (project copy):" in json.loads(ours[n - 1])["notes"]
    # The shared file fails exactly where the review corrected addresses.
    _, errors = read_curated(SHARED)
    assert sorted({(e.line, e.field) for e in errors}) == [
        (121, "hhs_urls"),
        (140, "evidence"),
        (150, "evidence"),
        (164, "evidence"),
    ]


def test_valid_hand_made_file_passes(tmp_path):
    path = _write(tmp_path, [_valid_record(), dict(_valid_record(), entity="Other Clinic")])
    assert [r.line for r in load_curated(path)] == [1, 2]


def _set(field, value):
    def change(r):
        r[field] = value
        return r

    return change


def _drop(field):
    def change(r):
        del r[field]
        return r

    return change


def _sets(**values):
    def change(r):
        r.update(values)
        return r

    return change


def _violation(key, value):
    def change(r):
        r["violations"] = [r["violations"][0], dict(r["violations"][0], **{key: value})]
        return r

    return change


BAD_LINES = [
    # (case, change to a valid record or a raw line, field reported, words in the reason)
    ("not json", '{"entity": "x",', "(line)", "not valid JSON"),
    ("not an object", "[1, 2]", "(line)", "JSON object"),
    ("missing field", _drop("summary"), "summary", "missing"),
    ("unknown field", _set("penalty", 5), "penalty", "unknown field"),
    ("empty entity", _set("entity", ""), "entity", "empty"),
    ("padded entity", _set("entity", " Example "), "entity", "whitespace"),
    ("bad date format", _set("announced", "05/01/2024"), "announced", "YYYY-MM-DD"),
    ("impossible date", _set("announced", "2024-02-30"), "announced", "impossible date"),
    ("unknown action type", _set("action_type", "settlement"), "action_type", "not one of"),
    ("amount as string", _set("amount_usd", "50000"), "amount_usd", "whole number"),
    ("negative amount", _set("amount_usd", -5), "amount_usd", "out of range"),
    ("boolean count", _set("individuals_affected", True), "individuals_affected", "whole number"),
    ("unknown entity type", _set("entity_type", "hospital"), "entity_type", "not one of"),
    ("bad state", _set("state", "XX"), "state", "state or territory"),
    ("cap years too long", _set("cap_years", 25), "cap_years", "out of range"),
    ("unknown initiative", _set("initiative", "hacking"), "initiative", "not one of"),
    ("incident not list", _set("incident", "laptop"), "incident", "expected a list"),
    ("empty incident", _set("incident", []), "incident", "empty list"),
    ("empty violations", _set("violations", []), "violations", "empty list"),
    ("junk citation", _violation("cfr", "section 5 of the rules"), "violations[1].cfr", "citation"),
    ("unknown basis", _violation("basis", "guess"), "violations[1].basis", "not one of"),
    ("violation extra key", _violation("year", 2020), "violations[1].year", "unknown field"),
    ("url without scheme", _set("hhs_urls", ["hhs.gov/x"]), "hhs_urls", "http(s) address"),
    ("repeated evidence", _set("evidence", ["https://a.org/x", "https://a.org/x"]), "evidence", "repeated"),
    ("no evidence", _set("evidence", []), "evidence", "empty list"),
    ("unknown confidence", _set("confidence", "certain"), "confidence", "not one of"),
    ("reported after announced", _set("breach_reported", "2025-01-01"), "breach_reported", "after"),
    ("notes null", _set("notes", None), "notes", "string"),
    # corrective action plan: cap true / false / null, obligations from CAP_OBLIGATIONS
    ("missing cap", _drop("cap"), "cap", "missing"),
    ("cap as string", _set("cap", "yes"), "cap", "expected true, false or null"),
    ("cap as number", _set("cap", 1), "cap", "expected true, false or null"),
    ("missing cap obligations", _drop("cap_obligations"), "cap_obligations", "missing"),
    ("cap obligations null", _set("cap_obligations", None), "cap_obligations", "expected a list"),
    ("cap obligations not list", _set("cap_obligations", "training"), "cap_obligations", "expected a list"),
    (
        "unknown cap obligation",
        _set("cap_obligations", ["staff retreat"]),
        "cap_obligations",
        "'staff retreat' is not one of risk analysis",
    ),
    ("repeated cap obligation", _set("cap_obligations", ["training", "training"]), "cap_obligations", "repeated"),
    (
        "obligations with unknown cap",
        _sets(cap=None, cap_years=None),
        "cap_obligations",
        "obligations listed but cap is null: obligations require cap true",
    ),
    (
        "obligations with no cap",
        _sets(cap=False, cap_years=None),
        "cap_obligations",
        "obligations listed but cap is false",
    ),
    (
        "cap years with no cap",
        _sets(cap=False, cap_obligations=[]),
        "cap_years",
        "2 years given but cap is false: a plan length requires cap true",
    ),
    ("cap years with unknown cap", _sets(cap=None, cap_obligations=[]), "cap_years", "a plan length requires cap true"),
    (
        "penalty with a plan",
        _sets(action_type="civil_money_penalty", cap_years=None, cap_obligations=[]),
        "cap",
        "a penalty is not a settlement",
    ),
]


@pytest.mark.parametrize("case, change, field, reason", BAD_LINES, ids=[c[0] for c in BAD_LINES])
def test_bad_line_is_reported_with_line_and_field(tmp_path, case, change, field, reason):
    bad = change if isinstance(change, str) else change(_valid_record())
    path = _write(tmp_path, [_valid_record(), bad, dict(_valid_record(), entity="Third Clinic")])
    valid, errors = read_curated(path)
    assert [r.line for r in valid] == [1, 3]
    assert {(e.line, e.field) for e in errors} == {(2, field)}
    assert reason in errors[0].reason
    assert str(errors[0]).startswith(f"{path}:2: field {field!r}:")
    with pytest.raises(CuratedFormatError, match=r":2: field"):
        load_curated(path)


@pytest.mark.parametrize(
    "values",
    [
        {"cap": True, "cap_years": None, "cap_obligations": []},  # a plan, length and terms not found
        {"cap": True, "cap_years": 3, "cap_obligations": list(CAP_OBLIGATIONS)},
        {"cap": False, "cap_years": None, "cap_obligations": []},  # sources say there is no plan
        {"cap": None, "cap_years": None, "cap_obligations": []},  # unknown
        {"action_type": "civil_money_penalty", "cap": None, "cap_years": None, "cap_obligations": []},
        {"action_type": "civil_money_penalty", "cap": False, "cap_years": None, "cap_obligations": []},
    ],
    ids=["plan-unknown-terms", "plan-every-obligation", "no-plan", "unknown", "penalty-unknown", "penalty-no-plan"],
)
def test_consistent_cap_fields_pass(tmp_path, values):
    path = _write(tmp_path, [dict(_valid_record(), **values)])
    assert [r.line for r in load_curated(path)] == [1]


def test_cap_errors_skip_fields_that_are_already_bad(tmp_path):
    """A malformed cap field is reported once, as itself, not again as a disagreement between fields."""
    path = _write(tmp_path, [dict(_valid_record(), cap="yes", cap_obligations=["nap"])])
    _, errors = read_curated(path)
    assert sorted(e.field for e in errors) == ["cap", "cap_obligations"]
    assert "not one of" in next(e.reason for e in errors if e.field == "cap_obligations")


def test_duplicate_action_is_reported_on_the_later_line(tmp_path):
    # "Example Clinic P.C." has the same name key as "Example Clinic, P.C.".
    path = _write(tmp_path, [_valid_record(), dict(_valid_record(), entity="Example Clinic P.C.")])
    _, errors = read_curated(path)
    assert [(e.line, e.field) for e in errors] == [(2, "entity")]
    assert "line 1" in errors[0].reason


def test_check_curated_command(tmp_path):
    path = _write(
        tmp_path,
        [
            _valid_record(),
            _set("state", "ZZ")(_valid_record()),
            dict(_valid_record(), entity="Third Clinic", cap=False),
        ],
    )
    result = subprocess.run([KB, "check-curated", str(path)], capture_output=True, text=True)
    assert result.returncode != 0
    assert f"{path}:2: field 'state'" in result.stderr
    assert f"{path}:3: field 'cap_years': 2 years given but cap is false" in result.stderr
    assert f"{path}:3: field 'cap_obligations': obligations listed but cap is false" in result.stderr
    ok = subprocess.run([KB, "check-curated", str(CURATED)], capture_output=True, text=True)
    assert ok.returncode == 0 and "184 records" in ok.stdout
