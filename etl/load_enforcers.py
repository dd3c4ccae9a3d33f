"""Load the actions of the enforcers beyond OCR: state attorneys general, the FTC and federal prosecutors.

Inputs: the reviewed curated lists in data/curated/beyond_ocr/ (`SOURCES`: file -> agency) and their
`amounts.csv` (the components of every amount that is not simply "paid"). Each line is normalized by
etl.normalize.enforcers; a line that fails goes to `rejected_rows` (source 'curated', file, line, field,
reason) and the rest load. The build prints `lines N = loaded + rejected` per file.

Writes, next to OCR's rows (etl.load_actions runs first):
- `enforcement_actions`: one row per record, `agency` state_ag / ftc / doj, origin 'curated';
- `action_provisions`: one row per legal basis, source 'curated'. A basis naming a citation
  (etl.citations: 45 CFR, 16 CFR Part 318, 15 U.S.C. 45, 42 U.S.C. 1320d-5 / 1320d-6) gets its canonical
  form, basis 'stated'; a HIPAA rule named without a section gets its 45 CFR Part 164 subpart, basis
  'rule named'; a state attorney general's HIPAA claim rests on 42 U.S.C. 1320d-5(d), basis 'authority'; any
  other law (state statutes) is kept as written, provision null, basis 'as written';
- `action_amounts`: every action's money by kind (OCR's one amount as 'paid'), see etl.agencies;
- `criminal_sentences`: a federal criminal case's steps and sentence.

Ids have OCR's form with the agency in front: `state-ag-ny-2023-12-27-newyork-presbyterian`,
`state-ag-multistate-2020-09-30-anthem`, `ftc-2023-02-01-goodrx-holdings`, `doj-2004-08-richard-w-gibson`
(a criminal case is dated by its first step as written). OCR's ids do not change.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import sqlite_utils

from etl import action_search
from etl.agencies import AMOUNT_KINDS
from etl.citations import canonical_citations
from etl.context import BuildContext, BuildError, Echo
from etl.normalize.enforcers import Amount, RecordError, normalize
from etl.normalize.names import name_key, slugify, unique_slug

FOLDER = "beyond_ocr"
SOURCES = {
    "state_ag_actions.jsonl": "state_ag",
    "ftc_actions.jsonl": "ftc",
    "doj_hipaa_criminal.jsonl": "doj",
}
AMOUNTS_FILE = "amounts.csv"
AMOUNT_COLUMNS = {"action_id": str, "n": int, "kind": str, "amount_usd": int, "note": str}
SENTENCE_COLUMNS = {
    "action_id": str,
    "prison_months": float,
    "probation_months": float,
    "supervised_release_months": float,
    "fine_usd": int,
    "restitution_usd": int,
    "words": str,
    "other": str,
    "charged": str,
    "plea_or_verdict": str,
    "sentenced": str,
    "outcome": str,
}
# A HIPAA rule named in words -> its subpart of 45 CFR Part 164.
RULE_SUBPARTS = (
    (re.compile(r"security", re.I), "164 Subpart C"),
    (re.compile(r"breach notification", re.I), "164 Subpart D"),
    (re.compile(r"privacy", re.I), "164 Subpart E"),
)
_UNCONFIRMED = re.compile(r"not confirmed|per .* only|investigated;|referenced only|asserted only", re.I)
AG_AUTHORITY = "42 U.S.C. 1320d-5(d)"
_ENTITY_TYPES = (
    (re.compile(r"^business associate", re.I), "business_associate"),
    (re.compile(r"^plan", re.I), "health_plan"),
    (re.compile(r"^provider", re.I), "healthcare_provider"),
    (re.compile(r"clearinghouse", re.I), "clearinghouse"),
)


def read_amounts(path: Path) -> dict[str, list[Amount]]:
    """amounts.csv: record id -> its components, in file order (a missing file lists none)."""
    if not path.exists():
        return {}
    out: dict[str, list[Amount]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            raw = (row.get("amount_usd") or "").strip()
            if raw and not raw.isdigit():
                raise BuildError(f"{path}:{line}: field 'amount_usd': not whole dollars: {raw!r}")
            if row.get("kind") not in AMOUNT_KINDS:
                raise BuildError(
                    f"{path}:{line}: field 'kind': {row.get('kind')!r} is not one of {', '.join(AMOUNT_KINDS)}"
                )
            out.setdefault(row["record"], []).append(Amount(row["kind"], int(raw) if raw else None, row["note"]))
    return out


def entity_type(action: dict[str, Any]) -> str | None:
    """The HIPAA role in OCR's words where the record names one; 'individual' for a person charged."""
    if action["agency"] == "doj":
        return "individual" if action.get("defendant_type") == "individual" else None
    detail = action.get("entity_type_detail") or ""
    return next((code for pattern, code in _ENTITY_TYPES if pattern.search(detail)), None)


def action_id(action: dict[str, Any]) -> str:
    """The id before de-duplication (see the module docstring)."""
    prefix = action["agency"].replace("_", "-")
    if action["agency"] == "state_ag":
        prefix += "-" + (action["ag_state"].lower() if action["ag_state"] else "multistate")
    when = action.get("first_step") or action["announced"] or (str(action["year"]) if action["year"] else "undated")
    return f"{prefix}-{when}-{slugify(name_key(action['entity']))}"


def action_row(action: dict[str, Any], action_id: str, line: int) -> dict[str, Any]:
    return {
        "id": action_id,
        "entity": action["entity"],
        "entity_key": name_key(action["entity"]),
        "announced": action["announced"],
        "year": action["year"],
        "action_type": action["action_type"],
        "amount_usd": action["amount_usd"],
        "entity_type": entity_type(action),
        "state": action["state"],
        "individuals_affected": action["individuals_affected"],
        "incident": json.dumps([]),
        "incident_text": None,
        "summary": action["summary"],
        "notes": action["notes"],
        "hhs_urls": json.dumps([]),
        "evidence": json.dumps(action["evidence"]),
        "confidence": action["confidence"],
        "origin": "curated",
        "curated_line": line,
        "agency": action["agency"],
        "source_record": action["source_record"],
        "entity_detail": action["entity_detail"] if action["entity_detail"] != action["entity"] else None,
        "entity_type_detail": action["entity_type_detail"],
        "form_detail": action["form_detail"],
        "amount_note": action["amount_note"],
        "states": json.dumps(action["states"]),
        "lead_states": json.dumps(action["lead_states"]),
        "multistate": int(action["multistate"]),
        "states_note": action["states_note"],
        "cites_hipaa": None if action["cites_hipaa"] is None else int(action["cites_hipaa"]),
        "hipaa_basis": action["hipaa_basis"],
        "individuals_affected_text": action["individuals_affected_text"],
        "docket": action["docket"],
        "forum": action["forum"],
        "sentence": (action["sentence"] or {}).get("words"),
    }


def basis_provisions(action_id: str, action: dict[str, Any], resolve: Any) -> list[dict[str, Any]]:
    """One action_provisions row per citation its legal basis names (see the module docstring)."""
    rows: list[tuple[str | None, str, str]] = []  # (provision, label, basis)
    for text in action["legal_basis"]:
        cited = canonical_citations(text)
        if cited:
            rows += [(c, text, "stated") for c in cited]
        elif re.search(r"\bHIPAA\b|HITECH", text) and not _UNCONFIRMED.search(text):
            rows += [(subpart, text, "rule named") for p, subpart in RULE_SUBPARTS if p.search(text)]
        else:
            rows.append((None, text, "as written"))
    if action["agency"] == "state_ag" and action["cites_hipaa"] and all(p != AG_AUTHORITY for p, _, _ in rows):
        rows.append((AG_AUTHORITY, "a state attorney general's civil action under HIPAA", "authority"))
    out: list[dict[str, Any]] = []
    seen: set[tuple[str | None, str]] = set()
    for provision, label, basis in rows:
        if (provision, label) in seen:
            continue
        seen.add((provision, label))
        provision_id, flag = resolve(provision) if provision else (None, None)
        out.append(
            {
                "id": f"{action_id}/curated/{len(out) + 1}",
                "action_id": action_id,
                "provision": provision,
                "provision_id": provision_id,
                "flag": flag,
                "label": label,
                "basis": basis,
                "source": "curated",
                "sentence": None,
                "url": None,
            }
        )
    return out


def read_source(path: Path, agency: str, amounts: dict[str, list[Amount]]) -> tuple[list[tuple[int, dict]], list[dict]]:
    """(line, normalized action) of each good line of one file, and a rejected_rows row for each bad one."""
    good, bad = [], []
    for line, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(raw)
            source_id = record.get("id") if isinstance(record, dict) else None
            good.append((line, normalize(agency, record, amounts.get(str(source_id)))))
        except json.JSONDecodeError as e:
            bad.append(_rejected(path, line, "(line)", f"not JSON: {e.msg}", raw))
        except RecordError as e:
            bad.append(_rejected(path, line, e.field, e.reason, raw))
    return good, bad


def check_folder(folder: Path) -> list[str]:
    """Every problem of the curated lists and amounts.csv in `folder`, one `file:line: field 'x': reason`
    line each (what `kb check-curated` prints; `kb build` rejects the same lines)."""
    try:
        amounts = read_amounts(folder / AMOUNTS_FILE)
    except BuildError as e:
        return [str(e)]
    problems, records = [], set()
    for name, agency in SOURCES.items():
        good, bad = read_source(folder / name, agency, amounts)
        problems += [f"{e['file']}:{e['line']}: field {e['field']!r}: {e['reason']}" for e in bad]
        records |= {action["source_record"] for _, action in good}
    problems += [f"{folder / AMOUNTS_FILE}: record {r!r} is in no curated file" for r in sorted(set(amounts) - records)]
    return problems


def _rejected(path: Path, line: int, field: str, reason: str, raw: str) -> dict[str, Any]:
    return {"source": "curated", "file": str(path), "line": line, "field": field, "reason": reason, "raw": raw}


def _ocr_amounts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return [
        {"action_id": r["id"], "n": 1, "kind": "paid", "amount_usd": r["amount_usd"], "note": None}
        for r in db.query(
            "select id, amount_usd from enforcement_actions where agency = 'ocr' and amount_usd is not null"
        )
    ]


def load(db: sqlite_utils.Database, folder: Path, echo: Echo = print, resolve: Any = None) -> dict[str, int]:
    """Add the actions of every file of `folder` to enforcement_actions (after etl.load_actions)."""
    if not db["enforcement_actions"].exists():
        raise BuildError("load_enforcers needs enforcement_actions: run etl.load_actions first")
    if resolve is None:
        from etl.provisions import resolve
    amounts = read_amounts(folder / AMOUNTS_FILE)
    taken = {r["id"] for r in db.query("select id from enforcement_actions")}
    actions, provisions, money, sentences, rejected = [], [], _ocr_amounts(db), [], []
    counts: dict[str, int] = {}
    for name, agency in SOURCES.items():
        path = folder / name
        if not path.exists():
            raise BuildError(f"{path}: curated {agency} actions not found")
        good, bad = read_source(path, agency, amounts)
        for e in bad:
            echo(f"reject {e['file']}:{e['line']}: field {e['field']!r}: {e['reason']}")
        rejected += bad
        for line, action in good:
            aid = unique_slug(action_id(action), taken)
            actions.append(action_row(action, aid, line))
            provisions += basis_provisions(aid, action, resolve)
            money += [
                {"action_id": aid, "n": n, "kind": a.kind, "amount_usd": a.amount_usd, "note": a.note or None}
                for n, a in enumerate(action["amounts"], start=1)
            ]
            if action["sentence"]:
                sentences.append({"action_id": aid, **action["sentence"]})
        lines = len(good) + len(bad)
        echo(f"load   curated {FOLDER}/{name}: lines {lines} = loaded {len(good)} + rejected {len(bad)}")
        counts[f"{agency}_loaded"], counts[f"{agency}_rejected"] = len(good), len(bad)
    unknown = sorted(set(amounts) - {a["source_record"] for a in actions})
    if unknown:
        raise BuildError(f"{folder / AMOUNTS_FILE}: records not in the curated files: {', '.join(unknown)}")
    _write(db, actions, provisions, money, sentences, rejected)
    by_agency = dict(db.execute("select agency, count(*) from enforcement_actions group by agency").fetchall())
    echo("load   enforcement_actions by agency: " + ", ".join(f"{k} {v}" for k, v in sorted(by_agency.items())))
    return counts


def _write(db: sqlite_utils.Database, actions, provisions, money, sentences, rejected) -> None:
    for table in ("action_amounts", "criminal_sentences"):
        db[table].drop(ignore=True)
    db.table("enforcement_actions").insert_all(actions)
    db.table("action_provisions").insert_all(provisions)
    db.table("rejected_rows").insert_all(rejected)
    fk = [("action_id", "enforcement_actions", "id")]
    db.table("action_amounts").create(AMOUNT_COLUMNS, pk=("action_id", "n"), foreign_keys=fk)
    db.table("action_amounts").insert_all(money)
    db.table("criminal_sentences").create(SENTENCE_COLUMNS, pk="action_id", foreign_keys=fk)
    db.table("criminal_sentences").insert_all(sentences)
    for columns in (["agency"], ["action_type"], ["agency", "year"]):
        db.table("enforcement_actions").create_index(columns, if_not_exists=True)
    db.table("action_amounts").create_index(["kind"], if_not_exists=True)
    action_search.index(db)


def stage(ctx: BuildContext) -> None:
    ctx.counts.update(load(ctx.db, ctx.curated_dir / FOLDER, ctx.echo))
