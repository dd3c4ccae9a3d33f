"""crawlers.exports: Breach Portal CSV export parsing (header validation, record splitting, row -> raw item)."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from pathlib import Path

import pytest
from conftest import SNAPSHOT_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.exports import (
    EXPORT_NAME_PATTERN,
    ExportFormatError,
    ExportInfo,
    check_header,
    count_records,
    export_file_name,
    export_info_from_name,
    is_export_item,
    parse_export,
    split_records,
)
from etl.normalize.breaches import PART2_FIELDS, RowRejected, normalize_row

HIPAA_HEADER = [
    "Name of Covered Entity",
    "State",
    "Covered Entity Type",
    "Individuals Affected",
    "Breach Submission Date",
    "Type of Breach",
    "Location of Breached Information",
    "Business Associate Present",
    "Web Description",
]
PART2_HEADER = [h for h in HIPAA_HEADER if h != "Covered Entity Type"]
PART2_HEADER[0] = "Name of Part 2 Program"
PART2_HEADER[6] = "Qualified Service Organization Present"
# HAND-WRITTEN test input: the live Part 2 export while the list is empty, as the snapshot README
# (../shared/snapshot/README.md) gives it: the 8-column header alone, 208 bytes, with two UIPanel titles
# (made-up hex: it differs in every export).
PART2_HEADER_ONLY = (
    b'"javax.faces.component.UIPanel@3f2a91c7","State","Individuals Affected","Breach Submission Date",'
    b'"Type of Breach","Location of Breached Information","javax.faces.component.UIPanel@6b0e14d2",'
    b'"Web Description"\n'
)
PART2_EMPTY_INFO = ExportInfo(
    "breach_report_part2_under_investigation_2026-08-01.csv", "part2", "under_investigation", "2026-08-01"
)
HIPAA_INFO = ExportInfo("breach_report_archive_2024-08.csv", "hipaa", "archive", "2024-08")
PART2_INFO = ExportInfo("breach_report_part2_archive_2026-07-15.csv", "part2", "archive", "2026-07-15")
# Facts about the recorded exports these tests name (record counts from the snapshot README); the snapshot
# may hold more files, which these tests neither need nor forbid.
SNAPSHOT_EXPORTS = {
    "breach_report_archive_2024-08.csv": 5371,
    "breach_report_under_investigation_2024-11.csv": 857,
    "breach_report_under_investigation_2025-06.csv": 790,
    "breach_report_under_investigation_2025-11.csv": 742,
    "breach_report_under_investigation_2026-01.csv": 745,
    "breach_report_under_investigation_2026-04.csv": 702,
    "breach_report_under_investigation_2026-07-15.csv": 733,
}


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(encoding)


def with_quirk(header: list[str], positions: tuple[int, int]) -> list[str]:
    return [f"javax.faces.component.UIPanel@{i:x}ab12" if i in positions else h for i, h in enumerate(header)]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("breach_report_archive_2024-08.csv", ("hipaa", "archive", "2024-08")),
        ("breach_report_under_investigation_2026-07-15.csv", ("hipaa", "under_investigation", "2026-07-15")),
        ("breach_report_under_investigation_2026-04.csv", ("hipaa", "under_investigation", "2026-04")),
        ("/some/dir/breach_report_part2_archive_2026-07-15.csv", ("part2", "archive", "2026-07-15")),
        ("breach_report_part2_under_investigation_2026-07.csv", ("part2", "under_investigation", "2026-07")),
    ],
)
def test_export_info_from_name(name: str, expected: tuple[str, str, str]) -> None:
    info = export_info_from_name(name)
    assert (info.list, info.tab, info.export_date) == expected
    assert info.export_file == Path(name).name


@pytest.mark.parametrize(
    "name",
    [
        "breach_report.csv",
        "breach_report_archive.csv",
        "breach_report_closed_2024-08.csv",
        "breach_report_archive_2024-08.txt",
        "breach_report_archive_24-08.csv",
    ],
)
def test_export_info_from_bad_name_names_the_file(name: str) -> None:
    with pytest.raises(ExportFormatError, match=name.replace(".", r"\.")) as e:
        export_info_from_name(name)
    assert EXPORT_NAME_PATTERN in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    "list_, tab, date", [("hipaa", "archive", "2026-07-15"), ("part2", "under_investigation", "2026-07-15")]
)
def test_export_file_name_round_trips(list_: str, tab: str, date: str) -> None:
    info = export_info_from_name(export_file_name(list_, tab, date))
    assert (info.list, info.tab, info.export_date) == (list_, tab, date)


@pytest.mark.parametrize(
    "list_, header, fields",
    [
        ("hipaa", HIPAA_HEADER, 9),
        ("hipaa", with_quirk(HIPAA_HEADER, (0, 7)), 9),
        ("part2", PART2_HEADER, 8),
        ("part2", ["Name of Entity", *PART2_HEADER[1:]], 8),
        ("part2", [*PART2_HEADER[:6], "Business Associate Present", PART2_HEADER[7]], 8),
        ("part2", with_quirk(PART2_HEADER, (0, 6)), 8),
    ],
)
def test_check_header_accepts_clean_and_quirk_headers(list_: str, header: list[str], fields: int) -> None:
    columns = check_header(header, list_, "x.csv")
    assert len(columns) == fields
    assert columns[0].field == "name" and columns[-1].field == "web_description"
    assert ("covered_entity_type" in [c.field for c in columns]) == (list_ == "hipaa")


@pytest.mark.parametrize(
    "list_, header, problem",
    [
        ("hipaa", HIPAA_HEADER[:8], "8 columns, expected 9"),
        ("hipaa", with_quirk(HIPAA_HEADER, (0, 2)), "column 3 is 'javax.faces.component.UIPanel@2ab12'"),
        ("hipaa", [*HIPAA_HEADER[:3], "Individuals", *HIPAA_HEADER[4:]], "column 4 is 'Individuals'"),
        ("hipaa", [HIPAA_HEADER[1], HIPAA_HEADER[0], *HIPAA_HEADER[2:]], "column 1 is 'State'"),
        ("part2", HIPAA_HEADER, "9 columns, expected 8"),
        ("hipaa", PART2_HEADER, "8 columns, expected 9"),
    ],
)
def test_check_header_rejects_other_headers_naming_file_and_column(list_: str, header: list[str], problem: str) -> None:
    with pytest.raises(ExportFormatError) as e:
        check_header(header, list_, "breach_report_archive_2030-01.csv")
    assert str(e.value).startswith("breach_report_archive_2030-01.csv: line 1:")
    assert problem in str(e.value)


@pytest.mark.parametrize(
    "data, expected",
    [
        (b'"a","b"\n"c","d"\n', [(1, b'"a","b"'), (2, b'"c","d"')]),
        (b'"a","b"\r\n"c","d"\r\n', [(1, b'"a","b"'), (2, b'"c","d"')]),
        (b'"a","x\ny\nz"\n"c","d"', [(1, b'"a","x\ny\nz"'), (4, b'"c","d"')]),
        (b'"a","x\r\ny"\n"c"\n', [(1, b'"a","x\r\ny"'), (3, b'"c"')]),
        (b'"a","say ""hi""\n now"\n"c"\n', [(1, b'"a","say ""hi""\n now"'), (3, b'"c"')]),
        (b'"a\x00b","c"\n', [(1, b'"a\x00b","c"')]),
        (b'"a"\n\n"b"\n', [(1, b'"a"'), (2, b""), (3, b'"b"')]),
    ],
)
def test_split_records(data: bytes, expected: list[tuple[int, bytes]]) -> None:
    assert [(r.line, r.data) for r in split_records(data)] == expected


def test_wrong_column_count_is_an_item_with_the_reason_and_raw_text() -> None:
    data = csv_bytes(
        [
            HIPAA_HEADER,
            ["A", "WI", "Health Plan", "500", "01/02/2020", "Theft", "Laptop", "No", ""],
            ["B", "WI", "Health Plan", "500", "01/02/2020", "Theft", "Laptop"],
            ["C", "WI", "Health Plan", "500", "01/02/2020", "Theft", "Laptop", "No", "", "extra"],
        ]
    )
    items = list(parse_export(data, HIPAA_INFO))
    assert [i["record"] for i in items] == [1, 2, 3]
    assert items[0]["fields"]["name"] == "A" and items[0]["error"] is None
    assert items[1]["fields"] is None and items[1]["error"] == "expected 9 columns, got 7"
    assert items[1]["raw"] == '"B","WI","Health Plan","500","01/02/2020","Theft","Laptop"'
    assert items[1]["line"] == 3
    assert items[2]["fields"] is None and items[2]["error"] == "expected 9 columns, got 10"


def test_unreadable_record_and_blank_line_are_items_not_crashes() -> None:
    good = '"A","WI","Health Plan","500","01/02/2020","Theft","Laptop","No",""'
    data = "\n".join([",".join(f'"{h}"' for h in HIPAA_HEADER), good, "", '"B"x,"WI"', good, ""]).encode()
    items = list(parse_export(data, HIPAA_INFO))
    assert [i["line"] for i in items] == [2, 3, 4, 5]
    assert items[1]["error"] == "expected 9 columns, got 0" and items[1]["raw"] == ""
    assert items[2]["fields"] is None and items[2]["error"].startswith("unreadable CSV record")
    assert items[3]["fields"]["name"] == "A"


def test_non_utf8_record_falls_back_to_cp1252_and_says_so() -> None:
    data = csv_bytes(
        [HIPAA_HEADER, ["Café Clinic", "WI", "Healthcare Provider", "600", "01/02/2020", "Theft", "Laptop", "No", ""]]
    )
    data += csv_bytes(
        [
            [
                "Señor Dental – North",
                "TX",
                "Healthcare Provider",
                "700",
                "01/03/2020",
                "Loss",
                "Laptop",
                "No",
                "A \u201cquoted\u201d word",
            ]
        ],
        encoding="cp1252",
    )
    items = list(parse_export(data, HIPAA_INFO))
    assert [i["encoding"] for i in items] == ["utf-8", "cp1252"]
    assert items[0]["fields"]["name"] == "Café Clinic"
    assert items[1]["fields"]["name"] == "Señor Dental – North"
    assert items[1]["fields"]["web_description"] == "A \u201cquoted\u201d word"


def test_nul_bytes_and_embedded_newlines_are_kept() -> None:
    description = "line one\nline two\r\nline \x00three"
    data = csv_bytes(
        [
            HIPAA_HEADER,
            ["A\x00", "WI", "Health Plan", "500", "01/02/2020", "Theft", "Laptop", "No", description],
            ["B", "WI", "", "", "", "", "", "", ""],
        ]
    )
    items = list(parse_export(data, HIPAA_INFO))
    assert items[0]["fields"]["name"] == "A\x00"
    assert items[0]["fields"]["web_description"] == description
    assert items[1]["line"] == 5 and items[1]["fields"]["name"] == "B"


def test_utf8_bom_before_the_header_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + csv_bytes([HIPAA_HEADER, ["A", "", "", "", "", "", "", "", ""]])
    assert [i["fields"]["name"] for i in parse_export(data, HIPAA_INFO)] == ["A"]


@pytest.mark.parametrize(
    "body, message",
    [
        (b"<!DOCTYPE html>\n<html><body>Breach Portal</body></html>", "not a CSV export"),
        (b"<?xml version='1.0'?><partial-response/>", "not a CSV export"),
        (b"", "empty export"),
        (b'"Name","State"\n"A","B"\n', "unrecognised hipaa export header"),
    ],
)
def test_non_export_bodies_raise_naming_the_file(body: bytes, message: str) -> None:
    with pytest.raises(ExportFormatError, match=message) as e:
        list(parse_export(body, HIPAA_INFO))
    assert str(e.value).startswith(HIPAA_INFO.export_file)


def test_part2_rows_have_no_covered_entity_type_and_a_qso_column() -> None:
    data = csv_bytes(
        [
            with_quirk(PART2_HEADER, (0, 6)),
            ["P", "ZZ", "612", "06/30/2026", "Theft", "Laptop", "Yes", ""],
            ["Q", "ZZ", "1"],
        ]
    )
    items = list(parse_export(data, PART2_INFO))
    assert items[0]["list"] == "part2"
    assert items[0]["fields"] == {
        "name": "P",
        "state": "ZZ",
        "individuals_affected": "612",
        "submission_date": "06/30/2026",
        "breach_type": "Theft",
        "location": "Laptop",
        "qualified_service_organization_present": "Yes",
        "web_description": "",
    }
    assert tuple(items[0]["fields"]) == PART2_FIELDS
    assert items[1]["error"] == "expected 8 columns, got 3"
    # normalized: the QSO flag in its own column, no business associate flag for a Part 2 report
    row = dict(items[0]["fields"], state="VT")
    record = normalize_row(row, date(2026, 7, 15))
    assert (record["qualified_service_organization_present"], record["business_associate_present"]) == (1, None)
    with pytest.raises(RowRejected) as e:
        normalize_row(dict(row, qualified_service_organization_present="maybe"), date(2026, 7, 15))
    assert [err.field for err in e.value.errors] == ["qualified_service_organization_present"]


def test_hipaa_row_keeps_its_business_associate_flag() -> None:
    fields = dict(
        zip(
            (
                "name",
                "state",
                "covered_entity_type",
                "individuals_affected",
                "submission_date",
                "breach_type",
                "location",
                "business_associate_present",
                "web_description",
            ),
            ("A", "WI", "Health Plan", "500", "01/02/2020", "Theft", "Laptop", "Yes", ""),
            strict=True,
        )
    )
    record = normalize_row(fields, date(2026, 7, 15))
    assert (record["business_associate_present"], record["qualified_service_organization_present"]) == (1, None)


def test_header_only_export_is_one_export_item() -> None:
    """The empty Part 2 list: no record, but the export still gives one item with its provenance."""
    assert len(PART2_HEADER_ONLY) == 208  # the size the snapshot README gives
    [item] = parse_export(PART2_HEADER_ONLY, PART2_EMPTY_INFO)
    assert is_export_item(item)
    assert (item["record"], item["line"], item["fields"], item["error"]) == (0, 1, None, None)
    assert (item["list"], item["tab"], item["export_file"], item["export_date"]) == (
        "part2",
        "under_investigation",
        PART2_EMPTY_INFO.export_file,
        "2026-08-01",
    )
    assert item["export_sha256"] == hashlib.sha256(PART2_HEADER_ONLY).hexdigest()
    assert item["raw"] == PART2_HEADER_ONLY.decode().rstrip("\n") and item["encoding"] == "utf-8"
    assert count_records(PART2_HEADER_ONLY) == 0
    # the same header re-saved by a spreadsheet: BOM, CRLF
    [resaved] = parse_export(b"\xef\xbb\xbf" + PART2_HEADER_ONLY.replace(b"\n", b"\r\n"), PART2_EMPTY_INFO)
    assert is_export_item(resaved) and resaved["raw"] == item["raw"]
    # a header-only export of the wrong list is still refused
    with pytest.raises(ExportFormatError, match="unrecognised hipaa export header"):
        list(parse_export(PART2_HEADER_ONLY, HIPAA_INFO))


def test_records_are_never_export_items() -> None:
    data = csv_bytes([HIPAA_HEADER, ["A", "", "", "", "", "", "", "", ""], ["B"]])
    assert [is_export_item(i) for i in parse_export(data, HIPAA_INFO)] == [False, False]


def test_utf16_file_is_refused_with_one_line() -> None:
    data = "\ufeff" + ",".join(HIPAA_HEADER) + "\r\n"
    with pytest.raises(ExportFormatError) as e:
        list(parse_export(data.encode("utf-16-le"), HIPAA_INFO))
    assert str(e.value).startswith(f"{HIPAA_INFO.export_file}: line 1: UTF-16") and "\n" not in str(e.value)


field_text = st.text(alphabet=st.sampled_from(list('ab ,"\n\r\x00é–')), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(field_text, min_size=9, max_size=9), max_size=6))
def test_any_quoted_rows_round_trip(rows: list[list[str]]) -> None:
    items = list(parse_export(csv_bytes([HIPAA_HEADER, *rows]), HIPAA_INFO))
    if not rows:  # the header alone: one export item
        assert [is_export_item(i) for i in items] == [True]
        return
    assert [list(i["fields"].values()) for i in items] == rows
    assert [i["record"] for i in items] == list(range(1, len(rows) + 1))


@pytest.mark.parametrize("file_name, records", sorted(SNAPSHOT_EXPORTS.items()))
def test_snapshot_export_matches_the_csv_module(file_name: str, records: int) -> None:
    """Every record of the recorded exports, checked against an independent whole-file csv parse."""
    data = (SNAPSHOT_DIR / "breach_portal" / file_name).read_bytes()
    items = list(parse_export(data, export_info_from_name(file_name)))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))[1:]
    assert len(items) == len(rows) == records == count_records(data)
    assert [list(i["fields"].values()) for i in items] == rows
    assert [i["record"] for i in items] == list(range(1, records + 1))
    lines = data.split(b"\n")
    for item in items:  # each item's line is where its record text starts in the file
        assert lines[item["line"] - 1].startswith(item["raw"].encode().split(b"\n")[0])
    assert {i["export_sha256"] for i in items} == {hashlib.sha256(data).hexdigest()}
    assert {i["encoding"] for i in items} == {"utf-8"}
