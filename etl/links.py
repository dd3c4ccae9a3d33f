"""Links from a breach report to the enforcement action that followed it (`breach_action_links`).

A breach report is a candidate for an action when its organization is the action's (same entity, an
entity the overrides file lists as related, or, for an action without a state, the same name key) and
it was submitted before the action was announced (Right of Access Initiative actions follow complaints,
not breach reports, and get no rule links). The facts then decide: the curated date the breach
was reported and the curated number of individuals are strong evidence; a breach type consistent with
the incident, the report's year named in the action's summary, and the action's amount (or, weaker, an
outcome of its kind) quoted in the report's web description (OCR adds the settlement text to archived
reports) add to it; contradicting
facts subtract. Candidates scoring at least LINK_THRESHOLD are linked (method 'rules').
data/curated/link_overrides.csv (breach_id,action_id,decision,reason; decision link|unlink) fixes the
rest (method 'override'). A malformed row (an empty field, a decision other than link or unlink) stops the
build; a row naming a breach report or action absent from this build, or unlinking a pair the rules do not
link here, is skipped and reported (etl/override_problems.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlite_utils

from etl.context import BuildContext, BuildError
from etl.csv_input import checked_rows
from etl.normalize.amounts import find_amounts
from etl.override_problems import problem, report

OVERRIDES_FILE = "link_overrides.csv"
OVERRIDE_COLUMNS = ["breach_id", "action_id", "decision", "reason"]
LINK_THRESHOLD = 0.55

# Base score by how the breach's organization was matched to the action's.
ENTITY_MATCH = {
    "same entity": 0.3,
    "related entity": 0.25,
    "same name, action has no state": 0.2,
    "reported on the curated date with the curated count": 0.3,
}
# A hard fact ties a report to one action; type and year alone only fit a kind of incident.
HARD = (
    "= curated breach_reported",
    "days from curated",
    "~ curated",
    "near curated",
    "summary gives",
    "cites the $",
    "description tells of",
)
_COUNT = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d{4,}\b")

# Words of an incident description -> the Breach Portal "Type of Breach" they correspond to.
INCIDENT_TYPES = [
    (
        "Hacking/IT Incident",
        re.compile(
            r"hack|cyber|malware|ransomware|phish|attack|intrusion|threat actor|"
            r"compromised|exploit|virus|persistent threat|intruder|unauthori[sz]ed access to [\w' ]*network",
            re.I,
        ),
    ),
    ("Theft", re.compile(r"stolen|theft|stole|burglar|break-in", re.I)),
    ("Loss", re.compile(r"\blost\b|\bloss of\b|missing|misplaced", re.I)),
    ("Improper Disposal", re.compile(r"dispos|dumpster|trash|discard|recycl", re.I)),
    (
        "Unauthorized Access/Disclosure",
        re.compile(
            r"impermissib|disclos|unauthori[sz]ed access|snoop|e-?mail|mail(ed|ing)|posted|fax|"
            r"publicly accessible|exposed|internet|online|search engine|employee",
            re.I,
        ),
    ),
]
NEUTRAL_TYPES = {"Other", "Unknown"}
# OCR adds the outcome to an archived report's description; the words name the kind of action.
OUTCOME_WORDS = {
    "civil_money_penalty": re.compile(r"civil money penalt|\bCMP\b", re.I),
    "resolution_agreement": re.compile(
        r"resolution agreement|\bRA/CAP\b|agreed to (?:pay|a settlement)|to settle (?:potential|charges|multiple|"
        r"alleged)|settlement with (?:the )?(?:U\.S\. )?(?:Department|HHS|OCR|Office)|monetary settlement",
        re.I,
    ),
}
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")


class LinkOverrideError(BuildError):
    """A row of link_overrides.csv is malformed; the message names file, line and field."""


@dataclass(frozen=True)
class Link:
    breach_id: str
    action_id: str
    score: float
    method: str
    evidence: str


@dataclass(frozen=True)
class LinkOverride:
    line: int
    breach_id: str
    action_id: str
    decision: str
    reason: str


def _days(a: str, b: str) -> int:
    return (date.fromisoformat(b[:10]) - date.fromisoformat(a[:10])).days


def incident_types(text: str) -> set[str]:
    """Breach Portal types an incident description points to."""
    return {name for name, pattern in INCIDENT_TYPES if pattern.search(text)}


def _text_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return [value]
        return [str(v) for v in parsed] if isinstance(parsed, list) else [str(parsed)]
    return [str(v) for v in value]


def score_candidate(breach: dict, action: dict, entity_match: str) -> tuple[float, list[str]]:
    """Score one (breach, action) pair from their facts; return the score and the evidence phrases."""
    score = ENTITY_MATCH[entity_match]
    evidence = [entity_match]
    submitted = breach["submission_date"]
    if action.get("breach_reported"):
        gap = abs(_days(action["breach_reported"], submitted))
        if gap <= 7:
            score += 0.4
            evidence.append(f"reported {submitted} = curated breach_reported {action['breach_reported']}")
        elif gap <= 60:
            score += 0.3
            evidence.append(
                f"reported {submitted}, {gap} days from curated breach_reported {action['breach_reported']}"
            )
        elif gap > 365:
            score -= 0.3
            evidence.append(
                f"reported {submitted}, over a year from curated breach_reported {action['breach_reported']}"
            )
    n_breach, n_action = breach.get("individuals_affected"), action.get("individuals_affected")
    if n_breach and n_action and not breach.get("individuals_placeholder"):
        ratio = min(n_breach, n_action) / max(n_breach, n_action)
        if ratio >= 0.95:
            score += 0.3
            evidence.append(f"{n_breach:,} affected ~ curated {n_action:,}")
        elif ratio >= 0.6:
            score += 0.15
            evidence.append(f"{n_breach:,} affected, near curated {n_action:,}")
        elif ratio < 0.1:
            score -= 0.2
            evidence.append(f"{n_breach:,} affected vs curated {n_action:,}")
    summary = action.get("summary") or ""
    if (
        n_breach
        and n_breach != n_action
        and not breach.get("individuals_placeholder")
        and any(int(c.replace(",", "")) == n_breach for c in _COUNT.findall(summary) if not _YEAR.fullmatch(c))
    ):
        score += 0.3
        evidence.append(f"summary gives the report's {n_breach:,} affected")
    incident_text = " ".join(_text_list(action.get("incident"))) or (action.get("summary") or "")
    expected = incident_types(incident_text)
    reported = set(_text_list(breach.get("breach_types"))) - NEUTRAL_TYPES
    if expected and reported:
        if expected & reported:
            score += 0.1
            evidence.append(f"type {', '.join(sorted(expected & reported))} fits the incident")
        else:
            score -= 0.1
            evidence.append(f"type {', '.join(sorted(reported))} does not fit the incident")
    named_years = {int(y) for y in _YEAR.findall((action.get("summary") or "") + " " + incident_text)}
    if breach.get("year") in named_years:
        score += 0.15
        evidence.append(f"summary names {breach['year']}")
    amount = action.get("amount_usd")
    description = breach.get("description") or ""
    outcome = OUTCOME_WORDS.get(action.get("action_type") or "")
    if amount and any(a.dollars == amount for a in find_amounts(description)):
        score += 0.4
        evidence.append(f"report's description cites the ${amount:,}")
    elif outcome and outcome.search(description):
        score += 0.25
        evidence.append(f"report's description tells of a {action['action_type'].replace('_', ' ')}")
    return round(max(0.0, min(1.0, score)), 2), evidence


def candidates(db: sqlite_utils.Database, related: dict[str, set[str]]) -> list[tuple[dict, dict, str]]:
    """(breach, action, entity match) for every breach reported before an action of its organization, and
    for a report under another name filed within 3 days of the curated date with the curated count (+-5%)
    in the action's state: the two facts together identify it."""
    breaches = list(db.query("select * from breaches where entity_id is not null order by id"))
    by_entity: dict[str, list[dict]] = {}
    by_key: dict[str, list[dict]] = {}
    by_date: dict[str, list[dict]] = {}
    for b in db.query("select * from breaches where submission_date is not null order by id"):
        day = date.fromisoformat(b["submission_date"][:10])
        for shift in range(-3, 4):
            by_date.setdefault((day + timedelta(days=shift)).isoformat(), []).append(b)
    for b in breaches:
        by_entity.setdefault(b["entity_id"], []).append(b)
        by_key.setdefault(b["entity_key"], []).append(b)
    out = []
    for a in db.query("select * from enforcement_actions order by id"):
        if a.get("initiative") == "right_of_access":
            continue  # these follow patients' complaints about access to records, never a breach report
        found: dict[str, tuple[dict, str]] = {}
        for b in by_entity.get(a["entity_id"], []) if a["entity_id"] else []:
            found.setdefault(b["id"], (b, "same entity"))
        for other in sorted(related.get(a["entity_id"], ())):
            for b in by_entity.get(other, []):
                found.setdefault(b["id"], (b, "related entity"))
        if not a["state"] and a["entity_key"]:
            for b in by_key.get(a["entity_key"], []):
                found.setdefault(b["id"], (b, "same name, action has no state"))
        if a["breach_reported"] and a["individuals_affected"]:
            for b in by_date.get(a["breach_reported"][:10], []):
                n = b["individuals_affected"] or 0
                if (
                    (not a["state"] or b["state"] == a["state"])
                    and not b.get("individuals_placeholder")
                    and min(n, a["individuals_affected"]) >= 0.95 * max(n, a["individuals_affected"])
                ):
                    found.setdefault(b["id"], (b, "reported on the curated date with the curated count"))
        for bid in sorted(found):
            b, how = found[bid]
            if _reported_before(b, a):
                out.append((b, a, how))
    return out


def _reported_before(breach: dict, action: dict) -> bool:
    if not breach["submission_date"]:
        return False
    if action["announced"]:
        return breach["submission_date"] < action["announced"]
    return action["year"] is not None and int(breach["submission_date"][:4]) <= action["year"]


def rule_links(db: sqlite_utils.Database, related: dict[str, set[str]]) -> list[Link]:
    """Candidates scoring LINK_THRESHOLD or more; one resting on type and year alone is dropped when
    another report of the same action and year has a hard fact (that one is the report behind it)."""
    passing: dict[str, list[tuple[Link, int, bool]]] = {}
    for b, a, how in candidates(db, related):
        score, evidence = score_candidate(b, a, how)
        if score >= LINK_THRESHOLD:
            hard = any(marker in e for e in evidence for marker in HARD)
            passing.setdefault(a["id"], []).append(
                (Link(b["id"], a["id"], score, "rules", "; ".join(evidence)), b["year"], hard)
            )
    links = []
    for action_id in sorted(passing):
        hard_years = {year for _, year, hard in passing[action_id] if hard}
        links += [link for link, year, hard in passing[action_id] if hard or year not in hard_years]
    return links


def read_overrides(path: Path) -> list[LinkOverride]:
    rows = []
    for line, row in checked_rows(path, OVERRIDE_COLUMNS, LinkOverrideError):
        for col in OVERRIDE_COLUMNS:
            if not (row[col] or "").strip():
                raise LinkOverrideError(f"{path}:{line}: field {col!r} is empty")
        if row["decision"].strip() not in ("link", "unlink"):
            raise LinkOverrideError(f"{path}:{line}: field 'decision': {row['decision']!r} is not link or unlink")
        rows.append(
            LinkOverride(
                line, row["breach_id"].strip(), row["action_id"].strip(), row["decision"].strip(), row["reason"].strip()
            )
        )
    return rows


def apply_overrides(
    db: sqlite_utils.Database, links: list[Link], overrides: list[LinkOverride], source: str = OVERRIDES_FILE
) -> tuple[list[Link], list[dict]]:
    """Reviewed decisions win over the rules. Returns the links and the override rows skipped (file, line,
    field, reason): a row naming a breach report or action absent from this build, or unlinking a pair the
    rules do not link in it (a stale row, or one whose reports this snapshot lacks), changes nothing."""
    by_pair = {(link.breach_id, link.action_id): link for link in links}
    skipped: list[dict] = []
    for o in overrides:
        if not db.execute("select 1 from breaches where id = ?", [o.breach_id]).fetchone():
            skipped.append(problem(source, o.line, "breach_id", f"no breach {o.breach_id!r}"))
            continue
        if not db.execute("select 1 from enforcement_actions where id = ?", [o.action_id]).fetchone():
            skipped.append(problem(source, o.line, "action_id", f"no action {o.action_id!r}"))
            continue
        pair = (o.breach_id, o.action_id)
        if o.decision == "unlink":
            if pair not in by_pair:
                skipped.append(
                    problem(source, o.line, "decision", "unlink of a pair the rules do not link (stale override)")
                )
                continue
            del by_pair[pair]
        else:
            by_pair[pair] = Link(o.breach_id, o.action_id, 1.0, "override", o.reason)
    return [by_pair[p] for p in sorted(by_pair)], skipped


def related_entities(db: sqlite_utils.Database) -> dict[str, set[str]]:
    """Entity id -> the entities the entity overrides list as related to it (both directions)."""
    out: dict[str, set[str]] = {}
    for row in db.query("select id, related_entities from entities"):
        for other in json.loads(row["related_entities"] or "[]"):
            out.setdefault(row["id"], set()).add(other)
    return out


def write_links(db: sqlite_utils.Database, links: list[Link]) -> None:
    dates = {r["id"]: r["submission_date"] for r in db.query("select id, submission_date from breaches")}
    announced = {r["id"]: r["announced"] for r in db.query("select id, announced from enforcement_actions")}
    with db.atomic():
        _create_and_insert(db, links, dates, announced)


def _create_and_insert(db: sqlite_utils.Database, links: list[Link], dates: dict, announced: dict) -> None:
    db["breach_action_links"].drop(ignore=True)
    db.table("breach_action_links").create(
        {"breach_id": str, "action_id": str, "score": float, "method": str, "evidence": str, "days_to_action": int},
        pk=("breach_id", "action_id"),
        foreign_keys=[("breach_id", "breaches", "id"), ("action_id", "enforcement_actions", "id")],
    )
    db.table("breach_action_links").insert_all(
        {
            "breach_id": link.breach_id,
            "action_id": link.action_id,
            "score": link.score,
            "method": link.method,
            "evidence": link.evidence,
            "days_to_action": _days(dates[link.breach_id], announced[link.action_id])
            if dates[link.breach_id] and announced[link.action_id]
            else None,
        }
        for link in links
    )
    db.table("breach_action_links").create_index(["action_id"])


def stage(ctx: BuildContext) -> None:
    """Build stage: link breach reports to enforcement actions (after etl.entities.stage)."""
    path = ctx.curated_dir / OVERRIDES_FILE
    try:
        overrides = read_overrides(path) if path.exists() else []
    except LinkOverrideError as e:
        raise BuildError(str(e)) from e
    rules = rule_links(ctx.db, related_entities(ctx.db))
    links, skipped = apply_overrides(ctx.db, rules, overrides, source=str(path))
    report(skipped, ctx.echo, ctx.warnings)
    write_links(ctx.db, links)
    skipped_lines = {p["line"] for p in skipped}
    applied = [o for o in overrides if o.line not in skipped_lines]
    linked_actions = len({link.action_id for link in links})
    actions = ctx.db["enforcement_actions"].count
    ctx.counts["breach_action_links"] = len(links)
    by_overrides = (
        f"{sum(o.decision == 'link' for o in applied)} linked and "
        f"{sum(o.decision == 'unlink' for o in applied)} unlinked by overrides"
    )
    if skipped:
        by_overrides += f", {len(skipped)} overrides skipped (override_problems)"
    ctx.echo(
        f"links: {len(links)} breach-action links ({len(rules)} by rules, {by_overrides}); "
        f"{linked_actions} of {actions} actions linked to a breach report"
    )
