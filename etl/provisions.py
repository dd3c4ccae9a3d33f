"""Reference tables `provisions` (45 CFR Parts 160/164, 42 CFR Part 2, and the other enforcers' law: 16 CFR
Part 318, 15 U.S.C. 45, 42 U.S.C. 1320d-5/1320d-6) and `penalty_tiers`, loaded from data/reference/*.csv,
and `resolve()`, which maps a citation to the provision row that stands for it.

Other loaders (enforcement actions, ...) link their citations with `resolve(citation)`:
    resolve("164.308(a)(1)(ii)(A)")    -> ("164.308(a)(1)(ii)(A)", "exact")
    resolve("164.530(b)(1)")           -> ("164.530(b)", "parent")    # deeper than the table: nearest parent
    resolve("164.400-164.414")         -> ("164 Subpart D", "range")  # smallest row holding both ends
    resolve("42 CFR 2.13")             -> ("42 CFR Part 2", "parent") # Part 2 and Part 162: listed as parts
    resolve("16 CFR 318.3(a)")         -> ("16 CFR 318.3", "parent")
    resolve("42 U.S.C. 1320d-6(a)(3)") -> ("42 U.S.C. 1320d-6(a)(3)", "exact")
    resolve("164.309")                 -> (None, "unknown")           # keep the citation, flag it
    resolve("junk")                    -> (None, "invalid")
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from etl.citations import canonicalize
from etl.context import BuildContext, BuildError

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
PROVISIONS_CSV = REFERENCE_DIR / "provisions.csv"
PENALTY_TIERS_CSV = REFERENCE_DIR / "penalty_tiers.csv"

RULES = (
    "Security",
    "Privacy",
    "Breach Notification",
    "Enforcement",
    "General",
    "Part 2",
    "Health Breach Notification Rule",  # 16 CFR Part 318 (FTC)
    "FTC Act",  # 15 U.S.C. 45 (Section 5)
    "HIPAA statute",  # 42 U.S.C. 1320d-5 (civil, state attorneys general), 1320d-6 (criminal)
)
KINDS = ("part", "subpart", "section", "standard", "implementation_specification", "paragraph")
REQUIRED_ADDRESSABLE = ("Required", "Addressable")
BASES = ("regulation", "enforcement_discretion")

PROVISION_COLUMNS = {
    "id": str,
    "title": int,
    "part": int,
    "subpart": str,
    "section": str,
    "paragraph": str,
    "heading": str,
    "rule": str,
    "kind": str,
    "required_addressable": str,
    "parent": str,
    "level": int,
    "ecfr_url": str,
    "note": str,
}
PENALTY_COLUMNS = {
    "id": str,
    "effective_date": str,
    "basis": str,
    "tier": int,
    "culpability": str,
    "provision": str,
    "min_per_violation": int,
    "max_per_violation": int,
    "calendar_year_cap": int,
    "authority": str,
    "source_url": str,
    "note": str,
}
_REQUIRED = {
    "provisions": ("id", "title", "part", "heading", "rule", "kind", "level", "ecfr_url"),
    "penalty_tiers": (
        "id",
        "effective_date",
        "basis",
        "tier",
        "culpability",
        "provision",
        "calendar_year_cap",
        "authority",
        "source_url",
    ),
}


class ReferenceCSVError(BuildError):
    """A reference CSV row is invalid; the message names file, line and field."""


def _convert(path: Path, line: int, field: str, raw: str, kind: type) -> object:
    if raw == "":
        return None
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ReferenceCSVError(f"{path}: line {line}: field {field!r}: not an integer: {raw!r}") from None
    return raw


def read_reference(path: Path, columns: dict[str, type], table: str) -> list[dict]:
    """Rows of a reference CSV with typed values (None for empty). Raises ReferenceCSVError naming the
    file, line and field of the first bad value."""
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != list(columns):
            raise ReferenceCSVError(f"{path}: line 1: header {reader.fieldnames} != expected {list(columns)}")
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise ReferenceCSVError(f"{path}: line {line}: wrong number of fields")
            typed = {f: _convert(path, line, f, row[f], kind) for f, kind in columns.items()}
            for f in _REQUIRED[table]:
                if typed[f] is None:
                    raise ReferenceCSVError(f"{path}: line {line}: field {f!r}: empty")
            typed["_line"] = line
            rows.append(typed)
    return rows


def _url_ok(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and " " not in url


def _is_usc(provision_id: str) -> bool:
    return bool(_USC_ID.match(provision_id))


_USC_ID = re.compile(r"\d+ U\.S\.C\. ")
_URL_PREFIX = {False: "https://www.ecfr.gov/", True: "https://uscode.house.gov/"}


def validate_provisions(rows: list[dict], path: Path = PROVISIONS_CSV) -> None:
    """Every id canonical and unique, every parent listed earlier, enums respected, URLs well formed (eCFR
    for the CFR, uscode.house.gov for the U.S. Code). A U.S. Code section is a root of its own: the table
    lists no part above it."""
    seen: set[str] = set()
    for r in rows:
        where = f"{path}: line {r['_line']}"
        try:
            canonical = canonicalize(r["id"])
        except ValueError as e:
            raise ReferenceCSVError(f"{where}: field 'id': {e}") from None
        usc = _is_usc(r["id"])
        root = r["kind"] == "part" or (usc and r["kind"] == "section")
        checks = [
            ("id", canonical == r["id"], f"not canonical (canonical form {canonical!r})"),
            ("id", r["id"] not in seen, "duplicate id"),
            ("rule", r["rule"] in RULES, f"not one of {RULES}"),
            ("kind", r["kind"] in KINDS, f"not one of {KINDS}"),
            (
                "required_addressable",
                r["required_addressable"] in (None, *REQUIRED_ADDRESSABLE),
                f"not empty or one of {REQUIRED_ADDRESSABLE}",
            ),
            ("parent", r["parent"] is None or r["parent"] in seen, "parent not listed on an earlier line"),
            ("parent", (r["parent"] is None) == root, "only parts and U.S. Code sections have no parent"),
            (
                "ecfr_url",
                _url_ok(r["ecfr_url"]) and r["ecfr_url"].startswith(_URL_PREFIX[usc]),
                f"not an {_URL_PREFIX[usc]} URL",
            ),
        ]
        for field, ok, reason in checks:
            if not ok:
                raise ReferenceCSVError(f"{where}: field {field!r}: {r[field]!r}: {reason}")
        seen.add(r["id"])


def validate_penalty_tiers(rows: list[dict], provision_ids: Collection[str], path: Path = PENALTY_TIERS_CSV) -> None:
    seen: set[str] = set()
    for r in rows:
        where = f"{path}: line {r['_line']}"
        amounts = [r["min_per_violation"], r["max_per_violation"], r["calendar_year_cap"]]
        checks = [
            ("id", r["id"] not in seen, "duplicate id"),
            ("effective_date", bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["effective_date"])), "not YYYY-MM-DD"),
            ("basis", r["basis"] in BASES, f"not one of {BASES}"),
            ("tier", r["tier"] in (1, 2, 3, 4), "not 1-4"),
            ("provision", r["provision"] in provision_ids, "not a provisions id"),
            ("min_per_violation", all(a is None or a > 0 for a in amounts), "amounts must be positive"),
            (
                "max_per_violation",
                r["min_per_violation"] is None
                or r["max_per_violation"] is None
                or r["min_per_violation"] <= r["max_per_violation"],
                "minimum above maximum",
            ),
            ("source_url", _url_ok(r["source_url"]), "not a well-formed http(s) URL"),
        ]
        for field, ok, reason in checks:
            if not ok:
                raise ReferenceCSVError(f"{where}: field {field!r}: {r[field]!r}: {reason}")
        seen.add(r["id"])


@lru_cache(maxsize=4)
def _provision_ids(path: Path) -> frozenset[str]:
    return frozenset(r["id"] for r in read_reference(path, PROVISION_COLUMNS, "provisions"))


def _ancestors(canonical: str) -> list[str]:
    """`canonical` and the ids above it, nearest first: paragraphs stripped one level at a time,
    then the section ("164.308(a)(1)" -> "164.308(a)" -> "164.308"; "42 U.S.C. 1320d-6(a)(3)" ->
    "42 U.S.C. 1320d-6(a)" -> "42 U.S.C. 1320d-6")."""
    m = re.fullmatch(
        r"(?P<prefix>(?:42|16) CFR |\d+ U\.S\.C\. )?(?P<section>\d+\.\d+|(?<=U\.S\.C\. )[\w-]+)"
        r"(?P<paras>(?:\([^()]+\))*)",
        canonical,
    )
    if not m:
        return [canonical]
    labels = re.findall(r"\(([^()]+)\)", m.group("paras"))
    base = (m.group("prefix") or "") + m.group("section")
    chain = [base + "".join(f"({x})" for x in labels[:k]) for k in range(len(labels), -1, -1)]
    # 42 CFR Part 2 and 45 CFR Part 162 are listed as whole parts (their sections mostly are not); every
    # section of 16 CFR Part 318 is listed, so an unlisted one is unknown, as an unlisted 45 CFR 164 one.
    if m.group("prefix") == "42 CFR ":
        chain.append("42 CFR Part 2")
    elif not m.group("prefix") and m.group("section").startswith("162."):
        chain.append("Part 162")
    return chain


def resolve(citation: str, provision_ids: Collection[str] | None = None) -> tuple[str | None, str]:
    """(provision id, flag) for a citation. Flags: "exact" (listed as is), "parent" (cited below the
    table's depth: the nearest listed ancestor), "range" (the smallest listed row holding both ends of a
    section range), "unknown" (a well-formed citation the table does not list: keep it, link nothing),
    "invalid" (not a citation). `provision_ids` defaults to the ids in data/reference/provisions.csv."""
    ids = _provision_ids(PROVISIONS_CSV) if provision_ids is None else provision_ids
    try:
        canonical = canonicalize(citation)
    except ValueError:
        return None, "invalid"
    range_m = re.fullmatch(r"(?P<prefix>(?:42|16) CFR )?(?P<a>\d+\.\d+)-(?P<b>\d+\.\d+)", canonical)
    if range_m:
        return _resolve_range(range_m, ids)
    chain = _ancestors(canonical)
    for depth, candidate in enumerate(chain):
        if candidate in ids:
            return candidate, "exact" if depth == 0 else "parent"
    return None, "unknown"


def _resolve_range(m: re.Match, ids: Collection[str]) -> tuple[str | None, str]:
    prefix = m.group("prefix") or ""
    first, last = prefix + m.group("a"), prefix + m.group("b")
    if first not in ids or last not in ids:
        return None, "unknown"
    parents = _parent_map()

    def chain(node: str) -> list[str]:
        out = [node]
        while parent := parents.get(out[-1]):
            out.append(parent)
        return out

    last_chain = set(chain(last))
    common = next((n for n in chain(first) if n in last_chain), None)
    return (common, "range") if common in ids else (None, "unknown")


@lru_cache(maxsize=1)
def _parent_map() -> dict[str, str | None]:
    return {r["id"]: r["parent"] for r in read_reference(PROVISIONS_CSV, PROVISION_COLUMNS, "provisions")}


def _without_line(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "_line"}


def load(db, provisions_csv: Path = PROVISIONS_CSV, penalty_csv: Path = PENALTY_TIERS_CSV) -> dict[str, int]:
    """Validate both CSVs and (re)write the two tables. Returns {table: rows loaded}."""
    provisions = read_reference(provisions_csv, PROVISION_COLUMNS, "provisions")
    validate_provisions(provisions, provisions_csv)
    tiers = read_reference(penalty_csv, PENALTY_COLUMNS, "penalty_tiers")
    validate_penalty_tiers(tiers, {r["id"] for r in provisions}, penalty_csv)
    db["provisions"].create(
        PROVISION_COLUMNS, pk="id", foreign_keys=[("parent", "provisions", "id")], if_not_exists=True
    )
    db["penalty_tiers"].create(
        PENALTY_COLUMNS, pk="id", foreign_keys=[("provision", "provisions", "id")], if_not_exists=True
    )
    db["provisions"].upsert_all([_without_line(r) for r in provisions], pk="id")
    db["penalty_tiers"].upsert_all([_without_line(r) for r in tiers], pk="id")
    # A row removed from a CSV must leave the table too (the build normally starts from an empty file).
    for table, rows in (("penalty_tiers", tiers), ("provisions", provisions)):
        keep = [r["id"] for r in rows]
        db[table].delete_where(f"id not in ({', '.join('?' * len(keep))})", keep)
    for column in ("rule", "kind", "parent"):
        db["provisions"].create_index([column], if_not_exists=True)
    db["penalty_tiers"].create_index(["effective_date", "tier"], if_not_exists=True)
    return {"provisions": len(provisions), "penalty_tiers": len(tiers)}


def stage(ctx: BuildContext) -> None:
    """Build stage: load the reference tables before anything that links to them."""
    counts = load(ctx.db)
    for table, n in counts.items():
        ctx.counts[table] = n
        ctx.echo(f"load   {table}: {n} rows read from data/reference/{table}.csv, {n} loaded, 0 rejected")
