"""Load the enforcement actions: the reviewed curated facts, merged with what the crawler recorded.

Inputs
- data/curated/ocr_actions.jsonl (checked line by line by etl.curated; a bad line goes to
  `rejected_rows` with source 'curated', file, line, field and reason, and the rest still load);
- <raw_dir>/hhs_enforcement/*.jsonl, the crawler's pages; etl.press_releases.extract_actions turns an
  enforcement page into one {entity, announced, amount_usd, action_type, citations, url, title, summary,
  individuals_affected} per paying entity, and returns [] for any other page (news on other topics).

Merge (pure: `merge_crawled`). A crawled page joins an action when
1. their entity names match (etl.normalize.names keys equal, one key contained in the other as whole
   words, or token overlap >= 0.6) and the dates are at most DATE_WINDOW_DAYS apart; the best name
   score wins, then the nearest date. An undated page needs a name score >= 0.9 and a single candidate;
2. a joint announcement read as one action (the release states only the total) also joins every
   other action announced the same day whose name appears in the page text;
3. with no name match, the page joins the actions within MENTION_WINDOW_DAYS whose names its text
   contains.
A page that joins no action becomes an action of its own, origin 'crawled' (reported).
A joined page adds `action_documents` (its text) and `action_provisions` with source 'document' (each
45 CFR / 42 CFR Part 2 section it cites, with the first sentence citing it). Facts are compared, never
overwritten: amount, date and action type that differ are echoed and written to `merge_conflicts`, and
the curated value stays. A rounded figure agrees with the exact amount it rounds to ("$4.3 million"
vs 4,348,000); a joint announcement's amount is compared with the sum of its actions' amounts.
Where the curated amount or count is missing and the page matches one action, the page's value
fills it, recorded in merge_conflicts with resolution 'filled from crawled'.

Action ids are readable and stable: `YYYY-MM-DD-<slug of the entity's name key>` (undated:
`undated-<slug>`), `-2`, `-3` for repeats, assigned in curated-file order, crawled-only actions after.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlite_utils

from etl import action_search
from etl.citations import canonical_citations, canonicalize
from etl.context import BuildContext, BuildError
from etl.curated import CURATED_FILE, read_curated
from etl.normalize.names import name_key, name_keys, slugify, unique_slug

Echo = Callable[[str], None]
CRAWLED_SOURCE = "hhs_enforcement"
DATE_WINDOW_DAYS = 7
MENTION_WINDOW_DAYS = 3
NAME_THRESHOLD = 0.6
UNDATED_THRESHOLD = 0.9
COMPARED_FIELDS = ("amount_usd", "announced", "action_type")
FILLABLE_FIELDS = ("amount_usd", "individuals_affected")
# Words that say nothing about which organisation it is; left out of the token-overlap score.
_GENERIC_TOKENS = frozenset(
    {
        "and",
        "of",
        "the",
        "for",
        "at",
        "in",
        "a",
        "inc",
        "llc",
        "health",
        "medical",
        "center",
        "services",
        "group",
        "system",
        "care",
        "healthcare",
    }
)
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:U\.S|Inc|Corp|Co|Ltd|No|Dr|Mr|Mrs|Ms|St|Jr|Sr|P\.C|L\.L\.C|C\.F\.R|"
    r"e\.g|i\.e|v|vs|Sec|Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec)|\b[A-Z])\.$"
)

ACTION_COLUMNS = {
    "id": str,
    "entity": str,
    "entity_key": str,
    "announced": str,
    "year": int,
    "action_type": str,
    "amount_usd": int,
    "entity_type": str,
    "state": str,
    "individuals_affected": int,
    "breach_reported": str,
    "cap_years": int,
    "cap": int,
    "cap_obligations": str,
    "initiative": str,
    "incident": str,
    "incident_text": str,
    "summary": str,
    "notes": str,
    "hhs_urls": str,
    "evidence": str,
    "confidence": str,
    "sector": str,
    "entity_id": str,
    "origin": str,
    "curated_line": int,
    # Every enforcer's actions share this table (etl.agencies); the columns below are null where an
    # enforcer's records do not say (see docs/data-model.md).
    "agency": str,
    "source_record": str,
    "entity_detail": str,
    "entity_type_detail": str,
    "form_detail": str,
    "amount_note": str,
    "states": str,
    "lead_states": str,
    "multistate": int,
    "states_note": str,
    "cites_hipaa": int,
    "hipaa_basis": str,
    "individuals_affected_text": str,
    "docket": str,
    "forum": str,
    "sentence": str,
}
PROVISION_COLUMNS = {
    "id": str,
    "action_id": str,
    "provision": str,
    "provision_id": str,
    "flag": str,
    "label": str,
    "basis": str,
    "source": str,
    "sentence": str,
    "url": str,
}
DOCUMENT_COLUMNS = {
    "action_id": str,
    "url": str,
    "kind": str,
    "sha256": str,
    "title": str,
    "published": str,
    "text": str,
}
CONFLICT_COLUMNS = {
    "action_id": str,
    "field": str,
    "curated_value": str,
    "crawled_value": str,
    "source_url": str,
    "resolution": str,
}
OWN_TABLES = (
    "action_provisions",
    "action_documents",
    "merge_conflicts",
    "enforcement_actions_search",
    "enforcement_actions",
)


# --- ids and rows ------------------------------------------------------------------------------


def action_slug(entity: str, announced: str | None) -> str:
    """`2018-10-15-anthem`, `undated-inmediata-health-group` (before de-duplication)."""
    return f"{announced or 'undated'}-{slugify(name_key(entity))}"


def curated_action(record: dict[str, Any], action_id: str, line: int) -> dict[str, Any]:
    """The enforcement_actions row of one valid curated record (lists as JSON text; `cap` true / false /
    null as 1 / 0 / NULL, NULL meaning unknown)."""
    announced = record["announced"]
    return {
        "id": action_id,
        "entity": record["entity"],
        "entity_key": name_key(record["entity"]),
        "announced": announced,
        "year": int(announced[:4]) if announced else None,
        "action_type": record["action_type"],
        "amount_usd": record["amount_usd"],
        "entity_type": record["entity_type"],
        "state": record["state"],
        "individuals_affected": record["individuals_affected"],
        "breach_reported": record["breach_reported"],
        "cap_years": record["cap_years"],
        "cap": None if record["cap"] is None else int(record["cap"]),
        "cap_obligations": json.dumps(record["cap_obligations"]),
        "initiative": record["initiative"],
        "incident": json.dumps(record["incident"]),
        "incident_text": "; ".join(record["incident"]),
        "summary": record["summary"],
        "notes": record["notes"] or None,
        "hhs_urls": json.dumps(record["hhs_urls"]),
        "evidence": json.dumps(record["evidence"]),
        "confidence": record["confidence"],
        "sector": None,
        "entity_id": None,
        "origin": "curated",
        "curated_line": line,
        "agency": "ocr",
        "states": json.dumps([record["state"]] if record["state"] else []),
        "lead_states": json.dumps([record["state"]] if record["state"] else []),
        "multistate": 0,
        "cites_hipaa": 1,
    }


def _resolver() -> Callable[[str], tuple[str | None, str]]:
    from etl.provisions import resolve

    return resolve


def curated_provisions(
    action_id: str, record: dict[str, Any], resolve: Callable[[str], tuple[str | None, str]]
) -> list[dict[str, Any]]:
    """One action_provisions row per alleged requirement; a requirement with no section has provision,
    provision_id and flag null (its label still says what OCR alleged)."""
    rows = []
    for n, v in enumerate(record["violations"], start=1):
        provision = canonicalize(v["cfr"]) if v["cfr"] else None
        provision_id, flag = resolve(provision) if provision else (None, None)
        rows.append(
            {
                "id": f"{action_id}/curated/{n}",
                "action_id": action_id,
                "provision": provision,
                "provision_id": provision_id,
                "flag": flag,
                "label": v["label"],
                "basis": v["basis"],
                "source": "curated",
                "sentence": None,
                "url": None,
            }
        )
    return rows


def sentences(text: str) -> list[str]:
    """Sentences of running text: split after . ! ? before a capital or quote, not after "Inc." or "U.S."."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n", text):
        start = 0
        for m in re.finditer(r"[.!?][\"'\u201d\u2019)]?\s+(?=[A-Z\"\u201c(])", paragraph):
            if _ABBREVIATIONS.search(paragraph[start : m.start() + 1]):
                continue
            out.append(paragraph[start : m.end()].strip())
            start = m.end()
        if paragraph[start:].strip():
            out.append(paragraph[start:].strip())
    return out


def document_provisions(
    action_id: str, url: str, text: str, resolve: Callable[[str], tuple[str | None, str]], start: int = 1
) -> list[dict[str, Any]]:
    """One row per section a document cites, with the first sentence that cites it."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for sentence in sentences(text):
        for provision in canonical_citations(sentence):
            if provision in seen:
                continue
            seen.add(provision)
            provision_id, flag = resolve(provision)
            rows.append(
                {
                    "id": f"{action_id}/document/{start + len(rows)}",
                    "action_id": action_id,
                    "provision": provision,
                    "provision_id": provision_id,
                    "flag": flag,
                    "label": None,
                    "basis": "stated",
                    "source": "document",
                    "sentence": sentence,
                    "url": url,
                }
            )
    return rows


# --- crawled pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Crawled:
    """One action read from a crawled enforcement page: the raw item and what extraction read from it.
    `page_actions` is how many actions the page announces (several for a multi-entity release)."""

    file: str
    line: int
    item: dict[str, Any]
    action: dict[str, Any]
    page_actions: int = 1


Extract = Callable[[dict], list[dict]]


def read_crawled(folder: Path, extract: Extract) -> tuple[list[Crawled], list[dict], int, int]:
    """(actions read, rejected rows, enforcement pages, other pages) from every *.jsonl in `folder`."""
    found: list[Crawled] = []
    rejected: list[dict] = []
    pages = skipped = 0
    for path in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
        with path.open(encoding="utf-8") as f:
            for number, raw in enumerate(f, start=1):
                try:
                    item = json.loads(raw)
                except json.JSONDecodeError as e:
                    rejected.append(_rejected(str(path), number, "(line)", f"not valid JSON: {e.msg}", raw))
                    continue
                where = (item.get("fetched_from") or str(path), item.get("line") or number)
                if item.get("error") or not (item.get("text") or item.get("title")):
                    rejected.append(_rejected(*where, "text", item.get("error") or "page has no text or title", raw))
                    continue
                if not item.get("url"):  # its documents and provenance are keyed by the page's url
                    rejected.append(_rejected(*where, "url", "page has no url", raw))
                    continue
                try:
                    actions = extract(item)
                except ValueError as e:
                    rejected.append(_rejected(*where, "text", f"extraction failed: {e}", raw))
                    continue
                if not actions:
                    skipped += 1
                    continue
                pages += 1
                found += [Crawled(str(path), number, item, a, len(actions)) for a in actions]
    return found, rejected, pages, skipped


def _rejected(file: str, line: int, fld: str, reason: str, raw: str) -> dict[str, Any]:
    return {
        "source": CRAWLED_SOURCE,
        "file": file,
        "line": line,
        "field": fld,
        "reason": reason,
        "raw": raw.rstrip("\n"),
    }


def _fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces, padded: for whole-word containment tests."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().replace("&", " and ")
    text = re.sub(r"['.]", "", text)
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", text).split()) + " "


def name_score(a: str, b: str) -> float:
    """How well two published names match: 1.0 same key, 0.9 one key inside the other (whole words),
    else the overlap of their distinctive words (0..1)."""
    keys_a, keys_b = name_keys(a), name_keys(b)
    if set(keys_a) & set(keys_b):
        return 1.0
    best = 0.0
    for ka in keys_a:
        for kb in keys_b:
            short, long_ = sorted((ka, kb), key=len)
            if len(short) >= 6 and f" {short} " in f" {long_} ":
                best = max(best, 0.9)
            ta, tb = set(ka.split()) - _GENERIC_TOKENS, set(kb.split()) - _GENERIC_TOKENS
            if ta and tb:
                best = max(best, len(ta & tb) / len(ta | tb))
    return best


def mentioned(entity: str, folded_text: str) -> bool:
    """Whether a page's text names the entity (any of its keys of 6+ characters, as whole words)."""
    return any(len(k) >= 6 and f" {k} " in folded_text for k in name_keys(entity))


def _days_apart(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    return abs((date.fromisoformat(a) - date.fromisoformat(b)).days)


def match_page(page: Crawled, actions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The actions a crawled page belongs to, and how it matched ('name', 'name+joint', 'mention')."""
    extracted = page.action
    day = extracted.get("announced")
    text = _fold(" ".join(filter(None, [page.item.get("title"), page.item.get("text")])))
    scored = []
    for a in actions:
        gap = _days_apart(day, a["announced"])
        if day and (gap is None or gap > DATE_WINDOW_DAYS):
            continue
        score = name_score(extracted.get("entity") or "", a["entity"])
        if score >= (NAME_THRESHOLD if day else UNDATED_THRESHOLD):
            scored.append((-score, gap if gap is not None else 0, a["id"], a))
    scored.sort(key=lambda t: t[:3])
    if scored and not day and len(scored) > 1 and scored[0][:2] == scored[1][:2]:
        return [], "ambiguous"
    if scored:
        best = scored[0][3]
        joint = [
            a
            for a in actions
            if a is not best
            and day
            and a["announced"] == day
            and page.page_actions == 1
            and mentioned(a["entity"], text)
        ]
        return [best, *joint], "name+joint" if joint else "name"
    if not day:
        return [], "none"
    near = [
        a
        for a in actions
        if (g := _days_apart(day, a["announced"])) is not None
        and g <= MENTION_WINDOW_DAYS
        and mentioned(a["entity"], text)
    ]
    return near, "mention" if near else "none"


def amounts_agree(curated: int, crawled: int) -> bool:
    """Equal, or the crawled figure is a round number ("$4.3 million") the curated amount rounds to."""
    if curated == crawled:
        return True
    digits = str(crawled)
    zeros = len(digits) - len(digits.rstrip("0"))
    if crawled <= 0 or zeros < 5:
        return False
    step = 10**zeros
    return (curated + step // 2) // step * step == crawled


@dataclass
class MergeResult:
    actions: list[dict[str, Any]]
    documents: list[dict[str, Any]] = field(default_factory=list)
    provisions: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    report: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    matched_pages: int = 0
    new_actions: int = 0


def _conflicts(targets: list[dict[str, Any]], extracted: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """Differences between a page's facts and the curated actions it joined; fills curated gaps."""
    out: list[dict[str, Any]] = []
    curated = [a for a in targets if a["origin"] != "crawled"]
    if not curated:
        return out

    def record(action_id: str, fld: str, cur: Any, crawled: Any, resolution: str) -> None:
        out.append(
            {
                "action_id": action_id,
                "field": fld,
                "curated_value": None if cur is None else str(cur),
                "crawled_value": str(crawled),
                "source_url": url,
                "resolution": resolution,
            }
        )

    amount = extracted.get("amount_usd")
    if amount is not None:
        if len(curated) == 1:
            a = curated[0]
            if a["amount_usd"] is None:
                a["amount_usd"] = amount
                record(a["id"], "amount_usd", None, amount, "filled from crawled")
            elif not amounts_agree(a["amount_usd"], amount):
                record(a["id"], "amount_usd", a["amount_usd"], amount, "curated kept")
        elif all(a["amount_usd"] is not None for a in curated):
            total = sum(a["amount_usd"] for a in curated)
            if not amounts_agree(total, amount):
                for a in curated:
                    record(a["id"], "amount_usd", f"{a['amount_usd']} (joint total {total})", amount, "curated kept")
    for a in curated:
        day = extracted.get("announced")
        if day and a["announced"] and day != a["announced"]:
            record(a["id"], "announced", a["announced"], day, "curated kept")
        kind = extracted.get("action_type")
        if kind in ("resolution_agreement", "civil_money_penalty") and kind != a["action_type"]:
            record(a["id"], "action_type", a["action_type"], kind, "curated kept")
    count = extracted.get("individuals_affected")
    if count is not None and len(curated) == 1 and curated[0]["individuals_affected"] is None:
        curated[0]["individuals_affected"] = count
        record(curated[0]["id"], "individuals_affected", None, count, "filled from crawled")
    return out


def _crawled_action(extracted: dict[str, Any], action_id: str, url: str) -> dict[str, Any]:
    announced = extracted.get("announced")
    row: dict[str, Any] = {c: None for c in ACTION_COLUMNS}
    row.update(
        {
            "id": action_id,
            "entity": extracted["entity"],
            "entity_key": name_key(extracted["entity"]),
            "announced": announced,
            "year": int(announced[:4]) if announced else None,
            "action_type": extracted.get("action_type") or "other",
            "amount_usd": extracted.get("amount_usd"),
            "individuals_affected": extracted.get("individuals_affected"),
            "incident": "[]",
            "incident_text": None,
            "cap_obligations": "[]",
            "summary": extracted.get("summary") or extracted.get("title"),
            "notes": f"Extracted automatically from {url}; no curated record matched (not reviewed).",
            "hhs_urls": json.dumps([url]),
            "evidence": json.dumps([url]),
            "origin": "crawled",
            "agency": "ocr",  # the hhs.gov pages this loader reads are OCR's
            "states": "[]",
            "lead_states": "[]",
            "multistate": 0,
            "cites_hipaa": 1,
        }
    )
    return row


def merge_crawled(
    actions: list[dict[str, Any]], pages: list[Crawled], resolve: Callable[[str], tuple[str | None, str]]
) -> MergeResult:
    """Join each crawled page to its action(s) or add it as a crawled action (see the module doc).
    `actions` are the curated rows (origin 'curated'); they are updated in place."""
    result = MergeResult(actions=actions)
    taken = {a["id"] for a in actions}
    doc_counts: dict[str, int] = {}
    for page in pages:
        extracted, url = page.action, page.action.get("url") or page.item.get("url")
        if not url:  # read_crawled rejects such pages; a Crawled built elsewhere must carry its url too
            raise ValueError(f"{page.file}:{page.line}: crawled page has no url")
        targets, how = match_page(page, result.actions)
        if not targets and not extracted.get("entity"):
            where = (page.item.get("fetched_from") or page.file, page.item.get("line") or page.line)
            result.rejected.append(
                _rejected(
                    *where,
                    "entity",
                    f"{url}: no paying entity named, and the text "
                    "names no action announced within "
                    f"{MENTION_WINDOW_DAYS} days",
                    json.dumps(extracted),
                )
            )
            result.report.append(f"reject {url}: no entity and no curated action named in its text")
            continue
        if targets:
            result.matched_pages += 1
            result.report.append(f"merge  {url} -> {', '.join(a['id'] for a in targets)} ({how})")
        else:
            new = _crawled_action(
                extracted, unique_slug(action_slug(extracted["entity"], extracted.get("announced")), taken), url
            )
            result.actions.append(new)
            result.new_actions += 1
            targets = [new]
            result.report.append(f"merge  {url} -> new crawled action {new['id']} (no curated match: {how})")
        for conflict in _conflicts(targets, extracted, url):
            result.conflicts.append(conflict)
            result.report.append(
                f"merge  conflict {conflict['action_id']} {conflict['field']}: curated "
                f"{conflict['curated_value']}, crawled {conflict['crawled_value']} "
                f"({conflict['resolution']}; {url})"
            )
        for a in targets:
            if a["origin"] == "curated":
                a["origin"] = "curated+crawled"
            if any(d["action_id"] == a["id"] and d["url"] == url for d in result.documents):
                continue  # the same page recorded twice (e.g. two exports): one document
            result.documents.append(
                {
                    "action_id": a["id"],
                    "url": url,
                    "kind": page.item.get("kind"),
                    "sha256": page.item.get("sha256"),
                    "title": page.item.get("title"),
                    "published": page.item.get("published"),
                    "text": page.item.get("text") or "",
                }
            )
            rows = document_provisions(
                a["id"], url, page.item.get("text") or "", resolve, start=doc_counts.get(a["id"], 0) + 1
            )
            doc_counts[a["id"]] = doc_counts.get(a["id"], 0) + len(rows)
            result.provisions += rows
    return result


# --- database ----------------------------------------------------------------------------------


def _create_tables(db: sqlite_utils.Database) -> None:
    for name in OWN_TABLES:
        if db[name].exists() and name != "enforcement_actions_search":
            db.table(name).disable_fts()
        db[name].drop(ignore=True)
    db.table("enforcement_actions").create(
        ACTION_COLUMNS, pk="id", not_null={"entity", "action_type", "origin", "agency"}
    )
    provision_fks = [("action_id", "enforcement_actions", "id")]
    if db["provisions"].exists():
        provision_fks.append(("provision_id", "provisions", "id"))
    db.table("action_provisions").create(PROVISION_COLUMNS, pk="id", foreign_keys=provision_fks)
    db.table("action_documents").create(
        DOCUMENT_COLUMNS, pk=("action_id", "url"), foreign_keys=[("action_id", "enforcement_actions", "id")]
    )
    db.table("merge_conflicts").create(
        CONFLICT_COLUMNS,
        pk=("action_id", "field", "source_url"),
        foreign_keys=[("action_id", "enforcement_actions", "id")],
    )
    if not db["rejected_rows"].exists():
        db.table("rejected_rows").create(
            {"id": int, "source": str, "file": str, "line": int, "field": str, "reason": str, "raw": str}, pk="id"
        )
    db.table("rejected_rows").delete_where("source in (?, ?)", ["curated", CRAWLED_SOURCE])


def write(
    db: sqlite_utils.Database, result: MergeResult, curated_provisions_rows: list[dict], rejected: list[dict]
) -> None:
    _create_tables(db)
    db.table("enforcement_actions").insert_all(result.actions)
    db.table("action_provisions").insert_all(curated_provisions_rows + result.provisions)
    db.table("action_documents").insert_all(result.documents)
    db.table("merge_conflicts").insert_all(result.conflicts)
    db.table("rejected_rows").insert_all(rejected)
    for table, columns in (
        ("enforcement_actions", ["announced"]),
        ("enforcement_actions", ["year"]),
        ("enforcement_actions", ["action_type"]),
        ("enforcement_actions", ["entity_key"]),
        ("enforcement_actions", ["entity_type"]),
        ("enforcement_actions", ["state"]),
        ("action_provisions", ["action_id"]),
        ("action_provisions", ["provision"]),
        ("action_provisions", ["provision_id"]),
        ("merge_conflicts", ["action_id"]),
    ):
        db.table(table).create_index(columns, if_not_exists=True)
    action_search.index(db)


def load(
    db: sqlite_utils.Database,
    curated_path: Path,
    raw_dir: Path,
    echo: Echo = print,
    extract: Extract | None = None,
    resolve: Callable[[str], tuple[str | None, str]] | None = None,
) -> dict[str, int]:
    """Load curated + crawled actions into `db` (replacing an earlier load); return the counts."""
    if not curated_path.exists():
        raise BuildError(f"{curated_path}: curated enforcement facts not found")
    if extract is None:
        from etl.press_releases import extract_actions

        extract = extract_actions
    resolve = resolve or _resolver()
    records, errors = read_curated(curated_path)
    lines = sum(1 for _ in curated_path.open(encoding="utf-8"))
    bad_lines = {e.line for e in errors}
    if lines != len(records) + len(bad_lines):
        raise BuildError(f"{curated_path}: {lines} lines but {len(records)} loaded + {len(bad_lines)} rejected")
    rejected = [
        {"source": "curated", "file": e.file, "line": e.line, "field": e.field, "reason": e.reason, "raw": e.raw}
        for e in errors
    ]
    for e in errors:
        echo(f"reject {e}")
    taken: set[str] = set()
    actions, provisions = [], []
    for rec in records:
        action_id = unique_slug(action_slug(rec.record["entity"], rec.record["announced"]), taken)
        actions.append(curated_action(rec.record, action_id, rec.line))
        provisions += curated_provisions(action_id, rec.record, resolve)
    echo(f"load   curated {curated_path.name}: lines {lines} = loaded {len(records)} + rejected {len(bad_lines)}")

    found, crawl_rejected, pages, skipped = read_crawled(raw_dir / CRAWLED_SOURCE, extract)
    result = merge_crawled(actions, found, resolve)
    for line in result.report:
        echo(line)
    n_pages = pages + len(crawl_rejected) + skipped
    joined, added, unplaced = result.matched_pages, result.new_actions, len(result.rejected)
    if len(found) != joined + added + unplaced:
        raise BuildError(f"{len(found)} crawled actions read but {joined} joined + {added} added + {unplaced} rejected")
    echo(
        f"load   crawled {CRAWLED_SOURCE}: pages {n_pages} = enforcement {pages} + other {skipped} "
        f"+ rejected {len(crawl_rejected)}; actions read {len(found)} = joined {joined} + added as "
        f"crawled-only {added} + rejected {unplaced}; {len(result.conflicts)} merge conflicts"
    )
    crawl_rejected += result.rejected
    write(db, result, provisions, rejected + crawl_rejected)
    origins: dict[str, int] = {}
    for a in result.actions:
        origins[a["origin"]] = origins.get(a["origin"], 0) + 1
    echo(
        f"load   enforcement_actions: {len(result.actions)} ("
        + ", ".join(f"{k} {v}" for k, v in sorted(origins.items()))
        + ")"
    )
    return {
        "curated_lines": lines,
        "curated_loaded": len(records),
        "curated_rejected": len(bad_lines),
        "crawled_pages": n_pages,
        "crawled_enforcement_pages": pages,
        "crawled_actions": len(found),
        "crawled_rejected": len(crawl_rejected),
        "crawled_only_actions": result.new_actions,
        "enforcement_actions": len(result.actions),
        "merge_conflicts": len(result.conflicts),
    }


def stage(ctx: BuildContext) -> None:
    ctx.counts.update(load(ctx.db, ctx.curated_dir / CURATED_FILE, ctx.raw_dir, ctx.echo))
