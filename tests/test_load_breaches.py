"""Loading Breach Portal raw JSONL into SQLite: hand-made small exports (tests/breach_raw.py) for the
rules, then the real build of the recorded snapshot."""

from __future__ import annotations

import json

import httpx
import pytest
import sqlite_utils
from breach_raw import dump, fields, write_export
from conftest import SNAPSHOT_DIR

from crawlers.exports import count_records
from etl.changes import build_changes, write_changes
from etl.context import BuildError
from etl.load_breaches import create_tables, load
from etl.site import merged_metadata

ARCHIVE = "breach_report_archive_2024-08.csv"
APRIL = "breach_report_under_investigation_2026-04.csv"
JULY = "breach_report_under_investigation_2026-07-15.csv"


@pytest.fixture
def raw(tmp_path):
    return tmp_path / "raw" / "breach_portal"


def test_every_row_loaded_or_rejected_with_file_line_field_reason(fresh_db, raw):
    write_export(
        raw,
        APRIL,
        "2026-04",
        [
            fields(name="Good One, Inc."),
            fields(name="Bad State", state="XX"),
            (None, "expected 9 columns, got 7"),
            fields(name="Future Clinic", date="05/02/2026"),  # after the April export
            fields(name="Zero Date", date="00/00/0000", count="-3"),
            fields(name="Good Two", cet="Healthcare Clearing House", state=""),
        ],
    )
    lines: list[str] = []
    counts = load(fresh_db, raw, echo=lines.append)
    assert counts["breach_rows_read"] == 6 and counts["breach_rows_loaded"] == 2
    assert counts["breach_rows_rejected"] == 4
    assert any("rows read 6 = loaded 2 + rejected 4" in line for line in lines)
    export = fresh_db["exports"].get("breach_report_under_investigation_2026-04")
    assert (export["rows_read"], export["rows_loaded"], export["rows_rejected"]) == (6, 2, 4)
    rejected = {r["line"]: r for r in fresh_db["rejected_rows"].rows}
    assert {line: (r["file"], r["field"]) for line, r in rejected.items()} == {
        3: (APRIL, "state"),
        4: (APRIL, "row"),
        5: (APRIL, "submission_date"),
        6: (APRIL, "individuals_affected, submission_date"),
    }
    assert "unknown state code 'XX'" in rejected[3]["reason"]
    assert rejected[4]["reason"] == "expected 9 columns, got 7"
    assert "after the export date (2026-04-30)" in rejected[5]["reason"]
    assert "negative" in rejected[6]["reason"] and "impossible date" in rejected[6]["reason"]
    assert '"Bad State"' in rejected[3]["raw"]
    assert {r["source"] for r in rejected.values()} == {"breach_portal"}
    loaded = {r["entity_name"]: r for r in fresh_db["breaches"].rows}
    assert loaded["Good Two"]["state"] is None and loaded["Good Two"]["covered_entity_type"] == "clearinghouse"
    assert loaded["Good Two"]["id"] == "2025-03-10-good-two-xx"


def test_repeated_keys_are_kept_with_suffixes_in_order(fresh_db, raw):
    same = fields(name="McEwen & Associates", state="TX", count="500", date="08/21/2025")
    write_export(
        raw,
        APRIL,
        "2026-04",
        [
            same,
            fields(name="Other"),
            same,
            dict(same, individuals_affected="900"),
            dict(same, name="McEwen and Associates, LLC"),
        ],
    )
    load(fresh_db, raw, echo=lambda _: None)
    rows = list(
        fresh_db.query(
            "select b.id, o.line from breaches b join breach_observations o on o.breach_id = b.id "
            "where b.entity_key = 'mcewen and associates' order by o.line"
        )
    )
    base = "2025-08-21-mcewen-and-associates-tx"
    assert [(r["id"], r["line"]) for r in rows] == [(base, 2), (f"{base}-2", 4), (f"{base}-3", 5), (f"{base}-4", 6)]


def test_same_report_keeps_its_id_and_latest_values(fresh_db, raw):
    write_export(
        raw, ARCHIVE, "2024-08", [fields(name="Old Case", date="01/05/2020", description="Closed.")], tab="archive"
    )
    write_export(
        raw,
        APRIL,
        "2026-04",
        [
            fields(name="Cahaba Center for Mental Health", state="AL", count="501", date="05/27/2025"),
            fields(name="Fieldtex Products, Inc.", state="NY", count="5901", date="12/03/2025"),
            fields(name="Fieldtex Products, Inc.", state="NY", count="9206", date="12/03/2025"),
        ],
    )
    write_export(
        raw,
        JULY,
        "2026-07-15",
        [
            # the count was revised; the duplicates come in the other order; the name has a trailing space now
            fields(name="Cahaba Center for Mental Health ", state="AL", count="15085", date="05/27/2025"),
            fields(name="Fieldtex Products, Inc.", state="NY", count="9206", date="12/03/2025"),
            fields(name="Fieldtex Products, Inc.", state="NY", count="5901", date="12/03/2025"),
        ],
    )
    counts = load(fresh_db, raw, echo=lambda _: None)
    assert counts["breaches"] == 4 and counts["breach_observations"] == 7
    cahaba = fresh_db["breaches"].get("2025-05-27-cahaba-center-for-mental-health-al")
    assert (cahaba["individuals_affected"], cahaba["individuals_placeholder"]) == (15085, 0)
    assert (cahaba["first_seen"], cahaba["last_seen"], cahaba["status"]) == (
        "2026-04",
        "2026-07-15",
        "under_investigation",
    )
    history = [
        (o["export_id"], o["individuals_affected"], o["individuals_placeholder"])
        for o in fresh_db.query(
            "select * from breach_observations where breach_id = ? order by export_id", [cahaba["id"]]
        )
    ]
    assert history == [
        ("breach_report_under_investigation_2026-04", 501, 1),
        ("breach_report_under_investigation_2026-07-15", 15085, 0),
    ]
    fieldtex = {
        r["id"]: r["individuals_affected"]
        for r in fresh_db.query("select id, individuals_affected from breaches where entity_key = 'fieldtex products'")
    }
    assert fieldtex == {"2025-12-03-fieldtex-products-ny": 5901, "2025-12-03-fieldtex-products-ny-2": 9206}
    old = fresh_db["breaches"].get("2020-01-05-old-case-ca")
    assert (old["status"], old["last_seen"], old["description"]) == ("archived", "2024-08", "Closed.")


def test_part2_list_has_its_own_ids(fresh_db, raw):
    part2 = {
        k: v
        for k, v in fields(name="Example Recovery Program", date="06/30/2026").items()
        if k != "covered_entity_type"
    }  # the Part 2 export has no such column
    write_export(raw, "breach_report_part2_under_investigation_2026-07-15.csv", "2026-07-15", [part2], list_="part2")
    write_export(raw, JULY, "2026-07-15", [fields(name="Example Recovery Program", date="06/30/2026")])
    load(fresh_db, raw, echo=lambda _: None)
    rows = {r["id"]: (r["list"], r["covered_entity_type"]) for r in fresh_db["breaches"].rows}
    assert rows == {
        "p2-2026-06-30-example-recovery-program-ca": ("part2", None),
        "2026-06-30-example-recovery-program-ca": ("hipaa", "healthcare_provider"),
    }


def test_multi_valued_columns_lookup_and_link_tables(fresh_db, raw):
    write_export(
        raw,
        ARCHIVE,
        "2024-08",
        [
            fields(
                name="Multi",
                date="06/01/2020",
                breach_type="Theft, Unauthorized Access/Disclosure",
                location="Desktop Computer, Laptop, Other Portable Electronic Device",
            ),
            fields(name="No Type", date="06/01/2020", breach_type=""),
        ],
        tab="archive",
    )
    load(fresh_db, raw, echo=lambda _: None)
    multi = next(fresh_db["breaches"].rows_where("entity_name = 'Multi'"))
    assert json.loads(multi["breach_types"]) == ["Theft", "Unauthorized Access/Disclosure"]
    assert json.loads(multi["locations"]) == ["Desktop Computer", "Laptop", "Other Portable Electronic Device"]
    linked = [
        r["name"]
        for r in fresh_db.query(
            "select l.name from breaches_breach_locations bl join breach_locations l on l.id = bl.breach_location_id "
            "where bl.breach_id = ? order by l.name",
            [multi["id"]],
        )
    ]
    assert linked == ["Desktop Computer", "Laptop", "Other Portable Electronic Device"]
    assert fresh_db["breaches_breach_types"].count == 2
    no_type = next(fresh_db["breaches"].rows_where("entity_name = 'No Type'"))
    assert (no_type["breach_type"], no_type["breach_types"]) == (None, "[]")


def test_full_text_search_with_stemming(fresh_db, raw):
    write_export(
        raw,
        ARCHIVE,
        "2024-08",
        [
            fields(
                name="Phish Target",
                date="06/01/2020",
                description="An employee was the subject of an email phishing attack.",
            ),
            fields(name="Lost Laptop Clinic", date="06/01/2020", description="A laptop was stolen from a car."),
        ],
        tab="archive",
    )
    load(fresh_db, raw, echo=lambda _: None)
    hits = [r["entity_name"] for r in fresh_db["breaches"].search("phished")]
    assert hits == ["Phish Target"]


def test_load_is_idempotent(tmp_path, raw):
    write_export(raw, APRIL, "2026-04", [fields(name="A"), fields(name="A"), fields(name="B", state="ZZ")])
    write_export(raw, JULY, "2026-07-15", [fields(name="A", count="1300"), fields(name="C")])
    first, second = (sqlite_utils.Database(tmp_path / name) for name in ("one.db", "two.db"))
    load(first, raw, echo=lambda _: None)
    load(second, raw, echo=lambda _: None)
    assert dump(first) == dump(second)
    load(second, raw, echo=lambda _: None)  # again into the same database
    assert dump(first) == dump(second)


def test_bad_raw_file_names_file_and_line(fresh_db, raw):
    path = write_export(raw, APRIL, "2026-04", [fields()])
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(BuildError, match=r"2026-04\.jsonl:2: not valid JSON"):
        load(fresh_db, raw, echo=lambda _: None)


def test_missing_raw_folder_is_an_error(fresh_db, tmp_path):
    with pytest.raises(BuildError, match="no breach_portal raw folder"):
        load(fresh_db, tmp_path / "nowhere", echo=lambda _: None)


# ------------------------------------------------------------------ the real build of the snapshot


def test_real_build_reconciles(built, built_db):
    exports = {e["file"]: e for e in built_db["exports"].rows}
    # Every export of the snapshot is loaded, each with as many rows as its file has records ...
    snapshot = sorted((SNAPSHOT_DIR / "breach_portal").glob("*.csv"))
    assert sorted(exports) == [p.name for p in snapshot]
    for path in snapshot:
        assert exports[path.name]["rows_read"] == count_records(path.read_bytes()), path.name
    # ... and the files named here have the record counts the snapshot README documents.
    assert {f: exports[f]["rows_read"] for f in (ARCHIVE, APRIL, JULY)} == {ARCHIVE: 5371, APRIL: 702, JULY: 733}
    for e in exports.values():
        assert e["rows_read"] == e["rows_loaded"] + e["rows_rejected"]
        assert f"{e['file']} ({e['tab']}, {e['export_date']}): rows read {e['rows_read']} = " in built["build_output"]
    rejected = built_db.execute("select count(*) from rejected_rows where source = 'breach_portal'").fetchone()[0]
    assert rejected == sum(e["rows_rejected"] for e in exports.values())
    observations = built_db["breach_observations"].count
    assert observations == sum(e["rows_loaded"] for e in exports.values())
    # Every archive row is its own report (the 34 repeated keys are kept, none merged) ...
    archive_ids = built_db.execute(
        "select count(distinct breach_id) from breach_observations where export_id = 'breach_report_archive_2024-08'"
    ).fetchone()[0]
    assert archive_ids == exports[ARCHIVE]["rows_loaded"]
    # ... no report of the 2026 exports named here is in the (older) archive export ...
    in_both = built_db.execute(
        "select count(*) from (select breach_id from breach_observations where export_id = ? "
        "intersect select breach_id from breach_observations where export_id in (?, ?))",
        [ARCHIVE.removesuffix(".csv"), APRIL.removesuffix(".csv"), JULY.removesuffix(".csv")],
    ).fetchone()[0]
    assert in_both == 0
    # ... and a report is one row whatever the number of exports listing it.
    distinct = built_db.execute("select count(distinct breach_id) from breach_observations").fetchone()[0]
    assert built_db["breaches"].count == distinct
    assert built_db["breaches"].count >= 7300  # seven recorded exports: 7,329 reports


def test_real_build_keeps_data_quirks(built_db):
    def one(sql):
        return built_db.execute(sql).fetchone()[0]

    assert one("select count(*) from breaches where status = 'archived' and state is null") == 13
    assert one("select count(*) from breaches where status = 'archived' and covered_entity_type is null") == 5
    assert one("select count(*) from breaches where covered_entity_type = 'clearinghouse'") >= 10
    assert one("select min(submission_date) from breaches") == "2009-10-21"
    assert one("select count(*) from breaches where individuals_placeholder = 1") == one(
        "select count(*) from breaches where individuals_affected in (500, 501)"
    )
    # the three rows identical in every column are kept as three reports
    assert one("select count(*) from breaches where id like '2025-08-21-mcewen-and-associates-tx%'") == 3
    assert one("select count(*) from breach_locations where name = 'Other Portable Electronic Device'") == 1
    assert one("select count(*) from breaches where description like '%' || char(13) || '%'") == 0
    cahaba = built_db["breaches"].get("2025-05-27-cahaba-center-for-mental-health-al")
    first_listed = built_db.execute(
        "select min(e.export_date) from breach_observations o join exports e on e.id = o.export_id "
        "where o.breach_id = ?",
        [cahaba["id"]],
    ).fetchone()[0]
    assert cahaba["individuals_affected"] == 15085 and cahaba["first_seen"] == first_listed
    # the recorded 2025-06 export already lists it (with the 501 placeholder, revised by 2026-07-15)
    assert first_listed <= "2025-06"


def test_datasette_search_and_facets(datasette_url, built_db):
    found = httpx.get(
        f"{datasette_url}/kb/breaches.json",
        params={"_search": "phishing", "_shape": "objects", "_size": "max"},
        timeout=30,
    )
    assert found.status_code == 200, found.text
    rows = found.json()["rows"]
    assert rows and all("phish" in f"{r['entity_name']} {r['description']}".lower() for r in rows)
    facets = httpx.get(
        f"{datasette_url}/kb/breaches.json",
        params={"_facet_array": "breach_types", "state": "TX", "_size": "0"},
        timeout=30,
    ).json()
    counts = {f["value"]: f["count"] for f in facets["facet_results"]["breach_types"]["results"]}
    expected = built_db.execute(
        "select count(*) from breaches_breach_types bt join breaches b on b.id = bt.breach_id "
        "join breach_types t on t.id = bt.breach_type_id "
        "where b.state = 'TX' and t.name = 'Theft'"
    ).fetchone()[0]
    assert counts["Theft"] == expected > 0
    default = httpx.get(f"{datasette_url}/kb/breaches.json", params={"_size": "1"}, timeout=30).json()
    assert {"state", "covered_entity_type", "breach_types", "year"} <= set(default["facet_results"])


def test_real_raw_files_load_to_identical_databases(built, tmp_path):
    dumps = []
    for name in ("a.db", "b.db"):
        db = sqlite_utils.Database(tmp_path / name)
        load(db, built["raw"] / "breach_portal", echo=lambda _: None)
        build_changes(db, echo=lambda _: None)
        dumps.append(dump(db))
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["breaches"]) > 6000


def test_metadata_describes_every_column():
    tables = merged_metadata()["databases"]["kb"]["tables"]
    db = sqlite_utils.Database(memory=True)
    create_tables(db)  # the tables as the loaders create them
    write_changes(db, [])
    for name in (
        "breaches",
        "breach_observations",
        "breach_types",
        "breaches_breach_types",
        "breach_locations",
        "breaches_breach_locations",
        "exports",
        "rejected_rows",
        "breach_changes",
    ):
        assert {c.name for c in db[name].columns} == set(tables[name]["columns"]), name
