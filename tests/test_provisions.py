"""The reference tables (data/reference/provisions.csv, penalty_tiers.csv), their load stage and resolve()."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import sqlite_utils

from etl.citations import BARE_SECTIONS, HBNR_SECTIONS, canonicalize
from etl.context import BuildContext
from etl.provisions import (
    KINDS,
    PENALTY_COLUMNS,
    PENALTY_TIERS_CSV,
    PROVISION_COLUMNS,
    PROVISIONS_CSV,
    RULES,
    ReferenceCSVError,
    load,
    read_reference,
    resolve,
    stage,
    validate_provisions,
)
from etl.site import merged_metadata


@pytest.fixture
def provisions() -> list[dict]:
    return read_reference(PROVISIONS_CSV, PROVISION_COLUMNS, "provisions")


@pytest.fixture
def tiers() -> list[dict]:
    return read_reference(PENALTY_TIERS_CSV, PENALTY_COLUMNS, "penalty_tiers")


# --- the CSV -------------------------------------------------------------------------------------


def test_provisions_csv_is_valid(provisions: list[dict]) -> None:
    validate_provisions(provisions)  # raises ReferenceCSVError naming line and field
    ids = {r["id"] for r in provisions}
    for r in provisions:
        assert canonicalize(r["id"]) == r["id"]
        assert r["parent"] is None or r["parent"] in ids
        assert r["rule"] in RULES and r["kind"] in KINDS
        if " U.S.C. " in r["id"]:  # the U.S. Code: uscode.house.gov, one page per section
            assert r["ecfr_url"] == (
                f"https://uscode.house.gov/view.xhtml?req=granuleid:USC-prelim-title{r['title']}-section"
                f"{r['section']}&num=0&edition=prelim"
            ), r["id"]
            assert r["id"] == f"{r['title']} U.S.C. {r['section']}{r['paragraph'] or ''}" and r["part"] == 0
            continue
        assert re.fullmatch(r"https://www\.ecfr\.gov/current/title-(?:16|42|45)/[\w./()#-]+", r["ecfr_url"]), r[
            "ecfr_url"
        ]
        assert r["ecfr_url"].startswith(f"https://www.ecfr.gov/current/title-{r['title']}/")
        if r["paragraph"]:
            assert r["ecfr_url"].endswith(f"#p-{r['id']}")
            assert r["id"] == r["section"] + r["paragraph"]


def test_parent_is_nearest_listed_ancestor_and_levels_follow(provisions: list[dict]) -> None:
    by_id = {r["id"]: r for r in provisions}
    for r in provisions:
        if r["parent"]:
            assert r["level"] > by_id[r["parent"]]["level"], r["id"]
            if r["paragraph"]:  # a paragraph's parent is its section or a paragraph of it
                parent = by_id[r["parent"]]
                assert r["section"] == parent["section"] and r["id"].startswith(parent["id"].split("(")[0]), r["id"]


def test_every_real_section_listed_once(provisions: list[dict]) -> None:
    """The parser's bare-number sections are exactly the sections this table lists for Parts 160/164."""
    listed = {r["id"] for r in provisions if r["kind"] == "section" and r["title"] == 45}
    assert listed == set(BARE_SECTIONS)
    # 16 CFR Part 318 is listed whole too: its nine sections (which need 16 CFR context to be cited).
    hbnr = {r["id"] for r in provisions if r["kind"] == "section" and r["title"] == 16}
    assert hbnr == {f"16 CFR {s}" for s in HBNR_SECTIONS}


def test_other_enforcers_provisions(provisions: list[dict]) -> None:
    """The legal bases of the FTC, state attorneys general and federal prosecutors are listed under the
    canonical ids etl.citations writes (action_provisions.provision_id references them)."""
    by_id = {r["id"]: r for r in provisions}
    expected = {
        "16 CFR Part 318": ("Health Breach Notification Rule", "part", "Health Breach Notification Rule"),
        "16 CFR 318.3": ("Health Breach Notification Rule", "section", "Breach notification requirement"),
        "15 U.S.C. 45(a)": ("FTC Act", "paragraph", None),
        "15 U.S.C. 45d": ("FTC Act", "section", None),
        "42 U.S.C. 1320d-5(d)": ("HIPAA statute", "paragraph", "Enforcement by State attorneys general"),
        "42 U.S.C. 1320d-6": (
            "HIPAA statute",
            "section",
            "Wrongful disclosure of individually identifiable health information",
        ),
        "42 U.S.C. 1320d-6(a)(3)": ("HIPAA statute", "paragraph", None),
        "42 U.S.C. 1320d-6(b)(3)": ("HIPAA statute", "paragraph", None),
    }
    for pid, (rule, kind, heading) in expected.items():
        row = by_id[pid]
        assert (row["rule"], row["kind"]) == (rule, kind), pid
        assert heading is None or row["heading"] == heading, pid
        assert canonicalize(pid) == pid
    assert by_id["15 U.S.C. 45(a)"]["parent"] == "15 U.S.C. 45"
    assert by_id["42 U.S.C. 1320d-6(a)(3)"]["parent"] == "42 U.S.C. 1320d-6(a)"
    assert {r["title"] for r in provisions} == {15, 16, 42, 45}


def test_security_rule_implementation_specifications(provisions: list[dict]) -> None:
    specs = {r["id"]: r for r in provisions if r["kind"] == "implementation_specification" and r["rule"] == "Security"}
    by_section = {s: sum(1 for i in specs if i.startswith(s)) for s in ("164.308", "164.310", "164.312", "164.316")}
    # HHS's Security Rule matrix: 21 specs in 164.308, 8 in 164.310, 7 in 164.312, 3 in 164.316.
    assert by_section == {"164.308": 21, "164.310": 8, "164.312": 7, "164.316": 3}
    assert specs["164.308(a)(1)(ii)(A)"]["heading"] == "Risk analysis"
    assert specs["164.308(a)(1)(ii)(A)"]["required_addressable"] == "Required"
    assert specs["164.312(a)(2)(iv)"]["required_addressable"] == "Addressable"
    assert specs["164.308(a)(1)(ii)(A)"]["parent"] == "164.308(a)(1)"
    assert all(r["required_addressable"] in ("Required", "Addressable") for r in specs.values())


def test_penalty_tiers(tiers: list[dict], provisions: list[dict]) -> None:
    ids = {r["id"] for r in provisions}
    dates = sorted({r["effective_date"] for r in tiers})
    for date in dates:  # every set of figures covers the four tiers once
        assert sorted(r["tier"] for r in tiers if r["effective_date"] == date) == [1, 2, 3, 4]
    for r in tiers:
        assert r["provision"] in ids and r["source_url"].startswith(("http://", "https://"))
        if r["min_per_violation"] is not None and r["max_per_violation"] is not None:
            assert r["min_per_violation"] <= r["max_per_violation"]
    regulation = [r for r in tiers if r["basis"] == "regulation"]
    for tier in (1, 2, 3, 4):  # adjustments only ever raise the figures
        caps = [
            r["calendar_year_cap"] for r in sorted(regulation, key=lambda r: r["effective_date"]) if r["tier"] == tier
        ]
        assert caps == sorted(caps) and len(caps) == len({r["effective_date"] for r in regulation})
    hitech = {
        r["tier"]: (r["min_per_violation"], r["calendar_year_cap"])
        for r in regulation
        if r["effective_date"] == "2009-02-18"
    }
    assert hitech == {1: (100, 1_500_000), 2: (1_000, 1_500_000), 3: (10_000, 1_500_000), 4: (50_000, 1_500_000)}
    ned = {r["tier"]: r["calendar_year_cap"] for r in tiers if r["basis"] == "enforcement_discretion"}
    assert ned == {1: 25_000, 2: 100_000, 3: 250_000, 4: 1_500_000}


# --- validation errors name file, line and field ------------------------------------------------


def _copy_with(tmp_path: Path, src: Path, old: str, new: str) -> Path:
    text = src.read_text(encoding="utf-8")
    assert old in text
    out = tmp_path / src.name
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


@pytest.mark.parametrize(
    "old,new,field",
    [
        (",Security,implementation_specification,Required,", ",Safety,implementation_specification,Required,", "rule"),
        (",164.308(a)(1),6,", ",164.999(z),6,", "parent"),
        ("164.308(a)(1)(ii)(A),45", "164.308 (a)(1)(ii)(A),45", "id"),
        ("https://www.ecfr.gov/current/title-45/section-164.308#", "ftp://example/section-164.308#", "ecfr_url"),
        (",Required,164.308(a)(1),6,", ",Sometimes,164.308(a)(1),6,", "required_addressable"),
        (
            ",42 U.S.C. 1320d-6,3,https://uscode.house.gov/",
            ",42 U.S.C. 1320d-6,3,https://www.ecfr.gov/",
            "ecfr_url",
        ),
        (",HIPAA statute,section,,,2,", ",HIPAA statute,section,,42 U.S.C. 1320d-5,2,", "parent"),
        (
            ",Security,implementation_specification,Required,164.308(a)(1),6,",
            ",Security,implementation_specification,Required,164.308(a)(1),six,",
            "level",
        ),
    ],
)
def test_bad_provision_row_is_named(
    fresh_db: sqlite_utils.Database, tmp_path: Path, old: str, new: str, field: str
) -> None:
    # Each case copies the real CSV and breaks one field of one row (hand-made fixture).
    bad = _copy_with(tmp_path, PROVISIONS_CSV, old, new)
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if new in text)
    with pytest.raises(ReferenceCSVError, match=rf"{re.escape(str(bad))}: line {line}: field '{field}'"):
        load(fresh_db, provisions_csv=bad)


def test_bad_penalty_row_is_named(fresh_db: sqlite_utils.Database, tmp_path: Path) -> None:
    # Hand-made fixture: the real CSV with one tier pointing at a provision that does not exist.
    bad = _copy_with(tmp_path, PENALTY_TIERS_CSV, ",160.404(b)(2)(iv),", ",160.404(b)(9),")
    with pytest.raises(ReferenceCSVError, match=r"penalty_tiers.csv: line \d+: field 'provision'"):
        load(fresh_db, penalty_csv=bad)


# --- loading ------------------------------------------------------------------------------------


def test_stage_loads_both_tables_idempotently(
    fresh_db: sqlite_utils.Database, tmp_path: Path, provisions: list[dict], tiers: list[dict]
) -> None:
    lines: list[str] = []
    ctx = BuildContext(
        db=fresh_db,
        snapshot_dir=tmp_path,
        raw_dir=tmp_path,
        cache_dir=tmp_path,
        curated_dir=tmp_path,
        previous_db=None,
        echo=lines.append,
    )
    stage(ctx)
    first = list(fresh_db["provisions"].rows), list(fresh_db["penalty_tiers"].rows)
    stage(ctx)
    assert (list(fresh_db["provisions"].rows), list(fresh_db["penalty_tiers"].rows)) == first
    assert fresh_db["provisions"].count == len(provisions)
    assert fresh_db["penalty_tiers"].count == len(tiers)
    assert ctx.counts == {"provisions": len(provisions), "penalty_tiers": len(tiers)}
    assert any(f"provisions: {len(provisions)} rows read" in s and "0 rejected" in s for s in lines)
    assert fresh_db["provisions"].pks == ["id"]
    assert {(fk.column, fk.other_table) for fk in fresh_db["provisions"].foreign_keys} == {("parent", "provisions")}
    assert {(fk.column, fk.other_table) for fk in fresh_db["penalty_tiers"].foreign_keys} == {
        ("provision", "provisions")
    }
    assert list(fresh_db.execute("pragma foreign_key_check").fetchall()) == []
    row = fresh_db["provisions"].get("164.308(a)(1)(ii)(B)")
    assert (row["heading"], row["level"], row["part"]) == ("Risk management", 6, 164)


def test_row_removed_from_csv_leaves_table(fresh_db: sqlite_utils.Database, tmp_path: Path) -> None:
    load(fresh_db)
    # Hand-made fixture: the real penalty CSV without its last row.
    lines = PENALTY_TIERS_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    shorter = tmp_path / "penalty_tiers.csv"
    shorter.write_text("".join(lines[:-1]), encoding="utf-8")
    load(fresh_db, penalty_csv=shorter)
    assert fresh_db["penalty_tiers"].count == len(lines) - 2


# --- resolve ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "citation,expected",
    [
        ("164.308(a)(1)(ii)(A)", ("164.308(a)(1)(ii)(A)", "exact")),
        ("45 C.F.R. § 164.530(c)", ("164.530(c)", "exact")),
        ("164.530(b)(1)", ("164.530(b)", "parent")),
        ("164.502(e)(1)(ii)", ("164.502(e)(1)", "parent")),
        ("164.308(a)(1)(ii)(A)(1)", ("164.308(a)(1)(ii)(A)", "parent")),
        ("164.400-164.414", ("164 Subpart D", "range")),
        ("164.308-164.316", ("164 Subpart C", "range")),
        ("164 Subpart C", ("164 Subpart C", "exact")),
        ("Part 160", ("Part 160", "exact")),
        ("42 CFR Part 2", ("42 CFR Part 2", "exact")),
        ("42 CFR 2.31(a)", ("42 CFR 2.31", "parent")),
        ("42 CFR 2.13", ("42 CFR Part 2", "parent")),
        ("162.920", ("Part 162", "parent")),
        ("164.309", (None, "unknown")),
        ("164.309-164.311", (None, "unknown")),
        ("16 C.F.R. § 318.3", ("16 CFR 318.3", "exact")),
        ("16 CFR 318.3(a)", ("16 CFR 318.3", "parent")),
        ("16 CFR 318.3-318.5", ("16 CFR Part 318", "range")),
        ("16 CFR 318.12", (None, "unknown")),
        ("Section 5 of the FTC Act", ("15 U.S.C. 45(a)", "exact")),
        ("15 U.S.C. 45(a)(1)", ("15 U.S.C. 45(a)", "parent")),
        ("15 USC 45", ("15 U.S.C. 45", "exact")),
        ("15 U.S.C. 52", (None, "unknown")),
        ("42 USC 1320d-5(d)", ("42 U.S.C. 1320d-5(d)", "exact")),
        ("42 U.S.C. 1320d-5(d)(1)", ("42 U.S.C. 1320d-5(d)", "parent")),
        ("42 U.S.C. 1320d-6(a)(3)", ("42 U.S.C. 1320d-6(a)(3)", "exact")),
        ("42 U.S.C. 1320d-6(b)(3)(A)", ("42 U.S.C. 1320d-6(b)(3)", "parent")),
        ("42 U.S.C. 17930", (None, "unknown")),
        ("not a citation", (None, "invalid")),
    ],
)
def test_resolve(citation: str, expected: tuple) -> None:
    assert resolve(citation) == expected


def test_resolve_every_curated_citation() -> None:
    """Every section the curated enforcement facts cite resolves to a listed provision."""
    import json

    curated = Path(__file__).resolve().parent.parent.parent / "shared" / "curated" / "ocr_actions.jsonl"
    if not curated.exists():
        pytest.skip(f"{curated} not present")
    cited = {v["cfr"] for line in curated.read_text().splitlines() for v in json.loads(line)["violations"] if v["cfr"]}
    flags = {c: resolve(c) for c in cited}
    assert [c for c, (pid, _) in flags.items() if pid is None] == []


# --- publishing ---------------------------------------------------------------------------------


def test_metadata_describes_every_column() -> None:
    tables = next(iter(merged_metadata()["databases"].values()))["tables"]
    for table, columns in (("provisions", PROVISION_COLUMNS), ("penalty_tiers", PENALTY_COLUMNS)):
        assert set(tables[table]["columns"]) == set(columns), table
    assert tables["provisions"]["label_column"] == "heading"
    assert set(tables["provisions"]["facets"]) >= {"rule", "kind"}


def test_built_database_has_reference_tables(built_db: sqlite_utils.Database, provisions: list[dict]) -> None:
    assert built_db["provisions"].count == len(provisions)
    assert built_db["penalty_tiers"].count > 0
    assert list(built_db.execute("pragma foreign_key_check(provisions)").fetchall()) == []


def test_datasette_serves_provisions(datasette_url: str) -> None:
    r = httpx.get(
        f"{datasette_url}/kb/provisions.json",
        params={
            "_shape": "objects",
            "rule": "Security",
            "kind": "implementation_specification",
            "_facet": "required_addressable",
            "_size": "max",
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert {row["id"] for row in data["rows"]} >= {"164.308(a)(1)(ii)(A)", "164.312(e)(2)(ii)"}
    counts = {f["value"]: f["count"] for f in data["facet_results"]["required_addressable"]["results"]}
    assert counts["Required"] + counts["Addressable"] == len(data["rows"])
    page = httpx.get(f"{datasette_url}/kb/provisions/164.308(a)(1)(ii)(A)", timeout=30)
    assert page.status_code == 200 and "Risk analysis" in page.text
