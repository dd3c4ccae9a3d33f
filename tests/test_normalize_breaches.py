"""Row normalization of the Breach Portal. Raw values are the quirks seen in the real exports."""

from datetime import date

import pytest

from etl.normalize.breaches import (
    BREACH_TYPES,
    LOCATIONS,
    RowRejected,
    breach_id_base,
    clean_description,
    normalize_row,
    parse_covered_entity_type,
    parse_individuals,
    parse_multi,
    parse_yes_no,
)

EXPORT_DAY = date(2026, 7, 15)


def row(**overrides):
    # Hand-written raw row (the shape of crawlers' `fields`), based on the archive's first record.
    fields = {
        "name": "Bay Oral Surgery & Implant Center",
        "state": "WI",
        "covered_entity_type": "Healthcare Provider",
        "individuals_affected": "13055",
        "submission_date": "04/26/2024",
        "breach_type": "Hacking/IT Incident",
        "location": "Email",
        "business_associate_present": "No",
        "web_description": "An employee was phished.",
    }
    fields.update(overrides)
    return fields


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Healthcare Provider", "healthcare_provider"),
        ("Health Plan", "health_plan"),
        ("Business Associate", "business_associate"),
        ("Healthcare Clearing House", "clearinghouse"),
        ("healthcare  clearing house ", "clearinghouse"),
        ("", None),
        (None, None),
    ],
)
def test_covered_entity_type(raw, expected):
    assert parse_covered_entity_type(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13055", 13055),
        ("500", 500),
        ("501", 501),
        ("78800000", 78800000),
        ("15,085", 15085),
        (" 724 ", 724),
        ("", None),
    ],
)
def test_individuals(raw, expected):
    assert parse_individuals(raw) == expected


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("-5", "negative"),
        ("12a", "not a whole number"),
        ("1.5", "not a whole number"),
        ("1,50", "not a whole number"),
        ("unknown", "not a whole number"),
    ],
)
def test_individuals_rejects(raw, reason):
    with pytest.raises(ValueError, match=reason):
        parse_individuals(raw)


@pytest.mark.parametrize(
    "raw, vocabulary, expected",
    [
        ("Theft, Unauthorized Access/Disclosure", BREACH_TYPES, ["Theft", "Unauthorized Access/Disclosure"]),
        ("Hacking/IT Incident", BREACH_TYPES, ["Hacking/IT Incident"]),
        (
            "Desktop Computer, Laptop, Other Portable Electronic Device",
            LOCATIONS,
            ["Desktop Computer", "Laptop", "Other Portable Electronic Device"],
        ),
        ("Other, Other Portable Electronic Device", LOCATIONS, ["Other", "Other Portable Electronic Device"]),
        ("Paper/Films", LOCATIONS, ["Paper/Films"]),
        ("email,  Email", LOCATIONS, ["Email"]),  # case and repeated spaces tolerated, repeats dropped
        ("Laptop,Desktop Computer", LOCATIONS, None),  # split is on comma + space only: unknown value
        ("", BREACH_TYPES, []),
    ],
)
def test_parse_multi(raw, vocabulary, expected):
    if expected is None:
        with pytest.raises(ValueError, match="unknown value"):
            parse_multi(raw, vocabulary)
    else:
        assert parse_multi(raw, vocabulary) == expected


def test_parse_multi_rejects_unknown_piece():
    with pytest.raises(ValueError, match=r"\['Ransomware'\]"):
        parse_multi("Theft, Ransomware", BREACH_TYPES)


@pytest.mark.parametrize("raw, expected", [("Yes", True), ("No", False), (" yes ", True)])
def test_yes_no(raw, expected):
    assert parse_yes_no(raw) is expected


@pytest.mark.parametrize("raw", ["", "Unknown", "1", None])
def test_yes_no_rejects(raw):
    with pytest.raises(ValueError, match="expected Yes or No"):
        parse_yes_no(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("", None),
        ("  \r\n ", None),
        (None, None),
        ("First  paragraph.\r\n\r\nSecond\u00a0 paragraph.  ", "First paragraph.\n\nSecond paragraph."),
        ("One\r\n\r\n\r\n\r\nTwo", "One\n\nTwo"),
        ("Line one\nline two", "Line one\nline two"),
        ("NUL\x00 inside", "NUL inside"),
        ("old Mac\rline ends", "old Mac\nline ends"),
    ],
)
def test_clean_description(raw, expected):
    assert clean_description(raw) == expected


def test_normalize_row():
    record = normalize_row(
        row(
            name="Village Heart Seller, PC d/b/a Village Heart & Vein Center ",
            individuals_affected="501",
            breach_type="Theft, Unauthorized Access/Disclosure",
            web_description="",
        ),
        EXPORT_DAY,
    )
    assert record["entity_name"] == "Village Heart Seller, PC d/b/a Village Heart & Vein Center"
    assert record["entity_key"] == "village heart seller"
    assert (record["individuals_affected"], record["individuals_placeholder"]) == (501, 1)
    assert (record["submission_date"], record["year"]) == ("2024-04-26", 2024)
    assert record["breach_types"] == ["Theft", "Unauthorized Access/Disclosure"]
    assert record["breach_type"] == "Theft, Unauthorized Access/Disclosure"
    assert record["business_associate_present"] == 0
    assert record["description"] is None
    assert breach_id_base("hipaa", record) == "2024-04-26-village-heart-seller-wi"
    assert breach_id_base("part2", record) == "p2-2024-04-26-village-heart-seller-wi"


@pytest.mark.parametrize(
    "overrides, placeholder",
    [
        ({"individuals_affected": "500"}, 1),
        ({"individuals_affected": "502"}, 0),
        ({"individuals_affected": "15085"}, 0),
    ],
)
def test_placeholder_flag(overrides, placeholder):
    assert normalize_row(row(**overrides), EXPORT_DAY)["individuals_placeholder"] == placeholder


def test_blank_optional_fields_stay_null():
    # The real archive has blank State (13 rows), Covered Entity Type (5), one blank count and one blank type.
    record = normalize_row(row(state="", covered_entity_type="", individuals_affected="", breach_type=""), EXPORT_DAY)
    assert (record["state"], record["covered_entity_type"], record["individuals_affected"]) == (None, None, None)
    assert (record["breach_type"], record["breach_types"], record["individuals_placeholder"]) == (None, [], 0)
    assert breach_id_base("hipaa", record).endswith("-xx")


@pytest.mark.parametrize(
    "overrides, fields",
    [
        ({"state": "XX"}, ["state"]),
        ({"covered_entity_type": "Hospital"}, ["covered_entity_type"]),
        ({"individuals_affected": "-20"}, ["individuals_affected"]),
        ({"individuals_affected": "many"}, ["individuals_affected"]),
        ({"submission_date": "00/00/0000"}, ["submission_date"]),
        ({"submission_date": "03/14/2913"}, ["submission_date"]),
        ({"submission_date": "01/05/2008"}, ["submission_date"]),
        ({"breach_type": "Theft, Ransomware"}, ["breach_type"]),
        ({"location": "Desktop Computer, Cloud"}, ["location"]),
        ({"business_associate_present": ""}, ["business_associate_present"]),
        ({"name": "   "}, ["name"]),
        ({"state": "QQ", "submission_date": "2/31/2020"}, ["state", "submission_date"]),  # every bad field named
    ],
)
def test_rejected_rows_name_field_and_reason(overrides, fields):
    with pytest.raises(RowRejected) as info:
        normalize_row(row(**overrides), EXPORT_DAY)
    assert [e.field for e in info.value.errors] == fields
    assert all(e.reason for e in info.value.errors)
