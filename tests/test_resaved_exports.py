"""Exports re-saved by spreadsheet programs load whole: real recorded records re-written at test time the ways
Excel, LibreOffice and friends write them back, through the crawler's parser, the pure text repair and a real
`kb build`.

Ways a re-save changes an export (each applied to REAL records cut from the recorded snapshot):
- unquoted: fields quoted only where needed (csv.QUOTE_MINIMAL) instead of every field;
- mixed line ends: CRLF after some records and LF after others, and CRLF inside some multi-line fields;
- a UTF-8 byte-order mark before the header;
- mojibake: the UTF-8 text read as cp1252 and saved again as UTF-8 ("’" -> "â€™"), which loses nothing;
- cp1252 with lost apostrophes: saved in cp1252 by a program that turned every ’ and ‘ into the bytes
  0x83 0x3F 0x3F (read back "Hawaiƒ??i") and anything cp1252 cannot hold into "?": information is gone.

Expectations: every record read from every variant (same count, same lines), nothing rejected that the
original loads, the text of every lossless variant equal to the original's after repair, and every record
that lost characters kept as it is but flagged (breach_observations.text_repair = 'unrepairable',
breaches.text_flag).
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from pathlib import Path

import ftfy.bad_codecs  # noqa: F401  registers "sloppy-windows-1252", the codec real mojibake comes from
import pytest
from conftest import SNAPSHOT_DIR
from hypothesis import given, settings
from hypothesis import strategies as st
from snapshot_builds import ARCHIVE, JULY, ROWS_LINE, export_records, make_snapshot, read_fields, run_build
from test_exports import PART2_HEADER_ONLY

from crawlers.exports import export_info_from_name, parse_export
from etl.normalize.text_repair import (
    NONE,
    REPAIRED,
    UNREPAIRABLE,
    changed_span,
    lost_characters,
    repair_fields,
    repair_text,
)

APOSTROPHES = re.compile("[’‘]")
DAMAGE = b"\x83??"  # what the re-save left where an apostrophe was
BOM = b"\xef\xbb\xbf"


# ---------------------------------------------------------------- re-saving real records


def record_text(fields: list[str], quoted: bool) -> str:
    """One record without its line terminator. (The writer gets a real terminator: with lineterminator=""
    QUOTE_MINIMAL would leave a field with a line break unquoted.)"""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL, lineterminator="\r\n").writerow(fields)
    return out.getvalue().removesuffix("\r\n")


def mojibake(text: str) -> str:
    """UTF-8 bytes read as cp1252 (undefined bytes passed through, as real programs do)."""
    return text.encode("utf-8").decode("sloppy-windows-1252")


def cp1252_damaged(text: str) -> bytes:
    """cp1252, with every ’ and ‘ turned into 0x83 0x3F 0x3F and anything else cp1252 lacks into "?"."""
    return DAMAGE.join(part.encode("cp1252", errors="replace") for part in APOSTROPHES.split(text))


def damaged_text(text: str) -> str:
    """What the crawler reads back from cp1252_damaged(text)."""
    return cp1252_damaged(text).decode("cp1252")


def resave(
    header: list[str],
    rows: list[list[str]],
    *,
    quoted: bool = True,
    mixed_line_ends: bool = False,
    bom: bool = False,
    crlf: bool = False,
    encode=lambda text: text.encode("utf-8"),
    text=lambda value: value,
) -> bytes:
    """An export of `rows` written back the way a spreadsheet program might."""
    out = []
    for number, fields in enumerate([header, *rows]):
        odd = number % 2 == 1
        if mixed_line_ends and odd:
            fields = [re.sub(r"(?<!\r)\n", "\r\n", f) for f in fields]
        out.append(encode(record_text([text(f) for f in fields], quoted)))
        out.append(b"\r\n" if crlf or (mixed_line_ends and odd) else b"\n")
    return (BOM if bom else b"") + b"".join(out)


def lf(fields: dict[str, str]) -> dict[str, str]:
    return {k: v.replace("\r\n", "\n") for k, v in fields.items()}


def text_of(fields: list[str]) -> str:
    return "".join(fields)


def pick_archive_records() -> tuple[list[str], list[bytes]]:
    """The archive's header and ~35 real records: two for each non-ASCII character the archive holds (so every
    kind of text is there, with and without apostrophes, and both rows with U+FFFD), the Hawai‘i record,
    multi-line descriptions, plain ones and "\\N" ones."""
    header, records = export_records(ARCHIVE)
    fields = [read_fields(r) for r in records]
    chosen: list[int] = []
    by_char: dict[str, list[int]] = {}
    for i, f in enumerate(fields):
        for char in sorted({c for c in text_of(f) if ord(c) > 127}):
            by_char.setdefault(char, []).append(i)
    for indices in by_char.values():
        chosen += indices[:2]
    chosen += [i for i, f in enumerate(fields) if f[0].startswith("Hawai‘i")]
    no_apostrophe = [i for i, f in enumerate(fields) if not text_of(f).isascii() and not APOSTROPHES.search(text_of(f))]
    chosen += no_apostrophe[:4]
    ascii_only = [i for i, f in enumerate(fields) if text_of(f).isascii()]
    chosen += [i for i in ascii_only if "\n" in fields[i][8]][:3]
    chosen += [i for i in ascii_only if fields[i][8] == ""][:3]
    chosen += [i for i in ascii_only if fields[i][8] == "\\N"][:2]
    picked = sorted(set(chosen))
    return read_fields(header), [records[i] for i in picked]


def pick_july_records() -> tuple[list[str], list[bytes]]:
    header, records = export_records(JULY)
    non_ascii = [r for r in records if not r.isascii()]
    return read_fields(header), records[:6] + non_ascii[:4]


# ---------------------------------------------------------------- the pure text repair


@pytest.mark.parametrize(
    "text, repaired",
    [
        ("CafÃ© Clinic", "Café Clinic"),
        ("St. Maryâ€™s Hospital", "St. Mary’s Hospital"),
        ("Hawaiâ€˜i Medical Service Association", "Hawai‘i Medical Service Association"),
        ("A â€œquotedâ€\x9d word â€“ here", "A “quoted” word – here"),
        ("patients\x92 data", "patients’ data"),  # a C1 control from a latin-1 read of cp1252
        ("Ã© and ’ in one text", "é and ’ in one text"),  # mojibake next to clean text
    ],
)
def test_mojibake_is_repaired(text: str, repaired: str) -> None:
    assert repair_text(text) == repaired
    assert repair_text(repaired) == repaired


@pytest.mark.parametrize(
    "text",
    [
        "A “quoted” word’s – dash — § • ® í ó é\xa0end",
        "Señor Dental – North",
        "plain ASCII, with, commas",
        "line one\r\nline two\n",
        "Hawaiƒ??i",
        "",
    ],
)
def test_clean_or_lost_text_is_not_rewritten(text: str) -> None:
    """Only encoding fixes: curly quotes, dashes, NBSP, line ends stay; lost characters are not replaced."""
    assert repair_text(text) == text


@pytest.mark.parametrize(
    "text, places",
    [
        ("Hawaiƒ??i Medical Service Association", ["Hawaiƒ??i Medical Se"]),
        ("St. Mary���s Janesville", ["St. Mary���s Janesville"]),
        ("for a period of 4 �� years.", ["period of 4 �� years."]),
        ("Hawai?i", ["Hawai?i"]),
        ("patientsƒ?? data", ["patientsƒ?? data"]),
        ("Was it lost??", ["Was it lost??"]),
        ("Was it lost? No.", []),
        ("see page.php?id=3", ["see page.php?id=3"]),
        ("Qué? Sí.", ["Qué? Sí."]),
        ("A “quoted” word’s – dash", []),
        ("", []),
    ],
)
def test_lost_characters(text: str, places: list[str]) -> None:
    assert lost_characters(text) == places


def test_repair_fields_verdicts_and_details() -> None:
    clean = repair_fields({"name": "Señor Dental – North", "state": "TX", "web_description": None})
    assert (clean.status, clean.detail, clean.fields["web_description"]) == (NONE, None, None)
    fixed = repair_fields({"name": "CafÃ© Clinic", "state": "WI"})
    assert fixed.status == REPAIRED and fixed.fields == {"name": "Café Clinic", "state": "WI"}
    assert fixed.detail == "name: repaired 'CafÃ© Clinic' -> 'Café Clinic'"
    lost = repair_fields({"name": "CafÃ© Clinic", "web_description": "In Hawaiƒ??i."})
    assert lost.status == UNREPAIRABLE and lost.fields["web_description"] == "In Hawaiƒ??i."
    assert lost.detail == (
        "name: repaired 'CafÃ© Clinic' -> 'Café Clinic'; web_description: characters lost at 'In Hawaiƒ??i.'"
    )


def test_each_place_is_named_once_and_at_most_three_per_field() -> None:
    twice = repair_fields({"web_description": "In the Alzheimerƒ??s Registry. " * 2})
    assert twice.detail == "web_description: characters lost at 'he Alzheimerƒ??s Registry.'"
    many = repair_fields({"web_description": "; ".join(f"case {n}: patientƒ??s records" for n in range(7))})
    assert many.detail.startswith("web_description: characters lost at 'e 0: patientƒ??s records; c', ")
    assert many.detail.count("', '") == 2 and many.detail.endswith(" (and 4 more)")


def test_changed_span_shows_the_change_with_context() -> None:
    before, after = (
        "The covered entity, CafÃ© Clinic of Springfield, reported",
        "The covered entity, Café Clinic of Springfield, reported",
    )
    assert changed_span(before, after) == ("entity, CafÃ© Clinic of S", "entity, Café Clinic of S")


REAL_ALPHABET = "abcXYZ 09,.'\n" + "’“”•–‘—§í®óé\xa0"  # every non-ASCII character of the recorded exports but U+FFFD


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=REAL_ALPHABET, max_size=40))
def test_clean_text_of_the_real_alphabet_is_never_rewritten(text: str) -> None:
    """No false repair. (Repairing mojibake back is shown on every real record below, not on random strings:
    ftfy decodes a bare "â€\x9dÃ©" as "ӎ", not as "”é", because such a pair does not occur in real text.)"""
    assert repair_text(text) == text
    assert repair_fields({"name": text}).status == NONE


# ---------------------------------------------------------------- every record of the recorded archive


@pytest.fixture(scope="module")
def archive() -> dict:
    data = (SNAPSHOT_DIR / "breach_portal" / ARCHIVE).read_bytes()
    info = export_info_from_name(ARCHIVE)
    header, records = export_records(ARCHIVE)
    return {
        "data": data,
        "info": info,
        "header": read_fields(header),
        "rows": [read_fields(r) for r in records],
        "items": list(parse_export(data, info)),
    }


@pytest.mark.parametrize("variant", ["unquoted", "mixed_line_ends", "bom", "excel_utf8"])
def test_whole_archive_resaved_parses_to_the_same_fields(archive: dict, variant: str) -> None:
    options = {
        "unquoted": {"quoted": False},
        "mixed_line_ends": {"mixed_line_ends": True},
        "bom": {"bom": True},
        "excel_utf8": {"quoted": False, "mixed_line_ends": True, "bom": True},
    }[variant]
    data = resave(archive["header"], archive["rows"], **options)
    assert data != archive["data"]
    items = list(parse_export(data, archive["info"]))
    assert len(items) == len(archive["items"]) == 5371
    for item, original in zip(items, archive["items"], strict=True):
        assert (item["record"], item["line"], item["encoding"]) == (original["record"], original["line"], "utf-8")
        assert lf(item["fields"]) == lf(original["fields"])


def test_whole_archive_mojibake_is_repaired_to_the_original(archive: dict) -> None:
    data = resave(archive["header"], archive["rows"], text=mojibake)
    items = list(parse_export(data, archive["info"]))
    assert len(items) == 5371
    verdicts = {NONE: 0, REPAIRED: 0, UNREPAIRABLE: 0}
    for item, original in zip(items, archive["items"], strict=True):
        repaired = repair_fields(item["fields"])
        assert repaired.fields == original["fields"], item["line"]
        verdicts[repaired.status] += 1
        expected = (
            UNREPAIRABLE
            if "\ufffd" in text_of(original["fields"].values())
            else NONE
            if text_of(original["fields"].values()).isascii()
            else REPAIRED
        )
        assert repaired.status == expected, item["line"]
    # 1,960 of the 5,371 records hold non-ASCII text: each one is damaged here and repaired back
    assert verdicts == {NONE: 5371 - 1960, REPAIRED: 1958, UNREPAIRABLE: 2}


def test_whole_archive_in_cp1252_with_lost_apostrophes(archive: dict) -> None:
    data = resave(archive["header"], archive["rows"], quoted=False, crlf=True, encode=cp1252_damaged)
    items = list(parse_export(data, archive["info"]))
    assert len(items) == 5371
    for item, original in zip(items, archive["items"], strict=True):
        text = text_of(original["fields"].values())
        # a record is decoded as cp1252 when its bytes are not UTF-8 (the "???" of a U+FFFD row are ASCII)
        assert item["encoding"] == ("utf-8" if cp1252_damaged(text).isascii() else "cp1252")
        assert item["fields"] == {k: damaged_text(v) for k, v in original["fields"].items()}  # kept as read
        repaired = repair_fields(item["fields"])
        lossy = bool(APOSTROPHES.search(text)) or "\ufffd" in text
        assert repaired.status == (UNREPAIRABLE if lossy else NONE), item["line"]
        if not lossy:
            assert repaired.fields == original["fields"]  # cp1252 held every character: nothing lost
        else:
            assert repaired.fields == item["fields"]  # lost characters are not "repaired" into something else


def test_the_recorded_exports_need_no_repair_but_two_rows_lost_characters(archive: dict) -> None:
    """The recorded archive is clean except the two rows whose characters the portal itself lost (U+FFFD)."""
    flagged = [
        (i["line"], repair_fields(i["fields"]).detail)
        for i in archive["items"]
        if repair_fields(i["fields"]).status != NONE
    ]
    assert flagged == [
        (5461, "name: characters lost at 'BA: St. Mary���s Janesville'"),
        (6410, "web_description: characters lost at 'period of 4 �� years. The'"),
    ]


# ---------------------------------------------------------------- a real build of every variant

ORIGINAL_ARCHIVE = ARCHIVE
VARIANTS = {  # export file -> (how it was re-saved, resave options); dates after the original's, damage last
    "breach_report_archive_2024-09.csv": ("unquoted", {"quoted": False}),
    "breach_report_archive_2024-10.csv": ("mixed_line_ends", {"mixed_line_ends": True}),
    "breach_report_archive_2024-11.csv": ("bom", {"bom": True}),
    "breach_report_archive_2024-12.csv": ("excel_utf8", {"quoted": False, "mixed_line_ends": True, "bom": True}),
    "breach_report_archive_2025-01.csv": ("mojibake", {"text": mojibake}),
    "breach_report_archive_2025-02.csv": ("cp1252_damaged", {"quoted": False, "crlf": True, "encode": cp1252_damaged}),
}
JULY_RESAVED = "breach_report_under_investigation_2026-07-16.csv"
PART2_EMPTY = "breach_report_part2_under_investigation_2026-08-01.csv"  # header only, as the live list is today
VALUE_COLUMNS = (
    "entity_name",
    "state",
    "covered_entity_type",
    "individuals_affected",
    "submission_date",
    "breach_type",
    "location",
    "business_associate_present",
    "description",
)


@pytest.fixture(scope="module")
def resaved_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("resaved")
    header, records = pick_archive_records()
    rows = [read_fields(r) for r in records]
    july_header, july_records = pick_july_records()
    july_rows = [read_fields(r) for r in july_records]
    exports = {
        ORIGINAL_ARCHIVE: b"".join(r + b"\n" for r in [export_records(ARCHIVE)[0], *records]),
        JULY: b"".join(r + b"\n" for r in [export_records(JULY)[0], *july_records]),
        JULY_RESAVED: resave(july_header, july_rows, quoted=False, mixed_line_ends=True, bom=True),
        PART2_EMPTY: PART2_HEADER_ONLY,
    }
    for name, (_, options) in VARIANTS.items():
        exports[name] = resave(header, rows, **options)
    result = run_build(root, make_snapshot(root, exports))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    conn = sqlite3.connect(f"file:{root / 'kb.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    yield {"rows": rows, "july_rows": july_rows, "output": result.stdout, "db": conn, "exports": exports}
    conn.close()


def observations(build: dict, export_file: str) -> dict[int, sqlite3.Row]:
    return {
        r["record"]: r
        for r in build["db"].execute("select * from breach_observations where export_id = ?", (Path(export_file).stem,))
    }


def test_every_record_of_every_variant_is_accounted_for(resaved_build: dict) -> None:
    db, n, n_july = resaved_build["db"], len(resaved_build["rows"]), len(resaved_build["july_rows"])
    exports = {r["file"]: r for r in db.execute("select * from exports")}
    assert set(exports) == set(resaved_build["exports"])
    assert (exports[PART2_EMPTY]["rows_read"], exports[PART2_EMPTY]["list"]) == (0, "part2")
    for file, export in exports.items():
        expected = 0 if file == PART2_EMPTY else n_july if "under_investigation" in file else n
        assert (export["rows_read"], export["rows_loaded"], export["rows_rejected"]) == (expected, expected, 0), file
        assert (
            f"{file} ({export['tab']}, {export['export_date']}): rows read {expected} = loaded {expected} + rejected 0"
        ) in resaved_build["output"]
    assert not db.execute("select * from rejected_rows where source = 'breach_portal'").fetchall()
    # the project's overrides name reports of the full snapshot: reported, not fatal
    problems = db.execute("select count(*) from override_problems").fetchone()[0]
    assert problems > 0 and problems == resaved_build["output"].count("(override skipped)")
    total = n * (1 + len(VARIANTS)) + 2 * n_july
    match = ROWS_LINE.search(resaved_build["output"])
    assert match and tuple(map(int, match.groups())) == (total, total, 0)
    # every record at the same line as in the original, whatever the quoting, line ends and BOM
    original = observations(resaved_build, ORIGINAL_ARCHIVE)
    for file in VARIANTS:
        assert {r: o["line"] for r, o in observations(resaved_build, file).items()} == {
            r: o["line"] for r, o in original.items()
        }, file


@pytest.mark.parametrize("file", [f for f, (how, _) in VARIANTS.items() if how != "cp1252_damaged"] + [JULY_RESAVED])
def test_lossless_variants_load_the_original_text(resaved_build: dict, file: str) -> None:
    original = observations(resaved_build, JULY if file == JULY_RESAVED else ORIGINAL_ARCHIVE)
    variant = observations(resaved_build, file)
    assert len(variant) == len(original)
    mojibake_variant = VARIANTS.get(file, ("",))[0] == "mojibake"
    rows = resaved_build["july_rows" if file == JULY_RESAVED else "rows"]
    for record, obs in variant.items():
        before = original[record]
        assert {c: obs[c] for c in VALUE_COLUMNS} == {c: before[c] for c in VALUE_COLUMNS}, (file, record)
        assert obs["text_encoding"] == "utf-8"
        if mojibake_variant and not text_of(rows[record - 1]).isascii():
            # repaired; a row whose characters the portal had lost stays flagged, with the same place named
            assert obs["text_repair"] == (UNREPAIRABLE if before["text_repair"] == UNREPAIRABLE else REPAIRED)
            assert "repaired" in obs["text_repair_detail"]
            assert (before["text_repair_detail"] or "") in obs["text_repair_detail"]
        else:
            assert (obs["text_repair"], obs["text_repair_detail"]) == (
                before["text_repair"],
                before["text_repair_detail"],
            )
    if mojibake_variant:
        assert (
            f"{file} (archive, 2025-01): rows read {len(variant)} = loaded {len(variant)} + rejected 0; text repaired in"
            in resaved_build["output"]
        )


def test_lost_apostrophes_are_kept_and_flagged(resaved_build: dict) -> None:
    db = resaved_build["db"]
    [file] = [f for f, (how, _) in VARIANTS.items() if how == "cp1252_damaged"]
    original = observations(resaved_build, ORIGINAL_ARCHIVE)
    damaged = observations(resaved_build, file)
    kinds = {"lost": 0, "cp1252_clean": 0, "ascii": 0}
    for record, obs in damaged.items():
        fields = resaved_build["rows"][record - 1]
        text = text_of(fields)
        breach = db.execute("select * from breaches where id = ?", (obs["breach_id"],)).fetchone()
        assert breach["last_seen"] == "2025-02"  # the damaged export is the latest listing each of its reports
        if APOSTROPHES.search(text) or "\ufffd" in text:
            kinds["lost"] += 1
            assert obs["text_repair"] == UNREPAIRABLE and "characters lost at" in obs["text_repair_detail"]
            assert breach["text_flag"] == obs["text_repair_detail"]
            # the text is kept as read (whitespace cleaned as always), not passed off as the original
            assert obs["entity_name"] == " ".join(damaged_text(fields[0]).split())
            if APOSTROPHES.search(fields[0]):
                assert "ƒ??" in obs["entity_name"] and obs["entity_name"] != original[record]["entity_name"]
        else:
            kinds["cp1252_clean" if not text.isascii() else "ascii"] += 1
            assert obs["text_encoding"] == ("utf-8" if text.isascii() else "cp1252")
            assert {c: obs[c] for c in VALUE_COLUMNS} == {c: original[record][c] for c in VALUE_COLUMNS}
            assert obs["text_repair"] == NONE and breach["text_flag"] is None
    assert kinds["lost"] >= 10 and kinds["cp1252_clean"] >= 4 and kinds["ascii"] >= 8, kinds
    hawaii = db.execute("select * from breaches where entity_name like 'Hawaiƒ??i%'").fetchall()
    assert len(hawaii) == 1 and "Hawaiƒ??i" in hawaii[0]["text_flag"]
    # the original's rows whose text the portal itself lost are flagged too, in every variant
    assert {
        o["text_repair"] for o in original.values() if "\ufffd" in str(o["entity_name"]) + str(o["description"])
    } == {UNREPAIRABLE}
    assert f"text repaired in 0, unrepairable in {kinds['lost']}" in resaved_build["output"]
