"""Precedent range: "what did the enforcers (OCR, state attorneys general, the FTC, federal prosecutors) do in
cases like mine?", answered in numbers.

Given a described incident (free text and optional facts), an enforcement action (`like`) or a Breach
Portal report (`breach`), `precedent_range` returns one JSON-ready dict (the contract of docs/api.md,
"Precedent range"), the same for `/-/precedents.json`, the page, the Markdown memo and `kb precedents`:

- precedents: the enforcement actions the hybrid ranking of etl/similar.py puts first (actions only),
  kept while their fused score is at least THRESHOLD and never more than MAX_PRECEDENTS, each with why
  it matched. An action or report is searched by its own words (an action's summary and incident
  labels; a report's description, or its type and location), the action itself (or the actions that
  followed the report) left out. Facts do not reorder the list: they choose the base rate and say which
  precedents share them.
- summary: distributions over exactly those precedents (amounts with quartiles by linear interpolation
  between closest ranks, corrective action plans, provisions, initiatives, topics, years, time from the
  breach report to the action); every figure carries its n and can be recomputed from the precedents.
  Enforcers (Query.agencies, default every one): amounts are never pooled across enforcers. Quartiles are
  computed per enforcer (`amount.by_agency`); the headline `amount` figures are those of the one enforcer
  when the civil precedents come from one, else null with `pooled` false. Criminal cases (DOJ) have no
  amount: they are left out of the amounts (never counted as $0 or as unknown) and summarized by their
  sentences (`sentences`). Corrective action plans are OCR's: counted over OCR's precedents only.
- base_rate: among Breach Portal reports like the incident (same type of breach and location of the
  information, same size band, same sector when given), how many are linked to an enforcement action.
- penalty_tiers: today's civil money penalty tiers (the newest effective date of `penalty_tiers`).
- caveats: what a reader must know before using the figures.

THRESHOLD and MAX_PRECEDENTS were chosen on bench/precedent_eval.jsonl (bench/precedent_bench.py and
docs/search.md, "Precedent range").
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from etl.agencies import ACTION_FORMS, AGENCIES, AGENCY_SHORT
from etl.similar import MAX_QUERY_CHARS, Searcher, SearchError, parse_agencies, query_terms

THRESHOLD = 0.0285  # reciprocal-rank-fusion score (k=60): at most 2/61 = 0.0328 (first in both rankings)
MAX_PRECEDENTS = 25
MIN_PRECEDENTS_FOR_FIGURES = 5
MAX_WORDS_SHOWN = (
    8  # of the words a precedent shares with the searched text  # under this, every figure carries a warning
)

ACTION_TYPES = ("resolution_agreement", "civil_money_penalty", "other")  # OCR's forms
CRIMINAL = "doj"  # the enforcer whose cases have sentences, not amounts
SENTENCE_FIELDS = ("prison_months", "probation_months", "supervised_release_months", "fine_usd", "restitution_usd")
ENTITY_TYPES = ("healthcare_provider", "health_plan", "business_associate", "clearinghouse")
SIZE_BANDS = (  # the bands of the investigations page (kb_site/metadata/investigations.yml)
    (0, 999, "500 – 999"),
    (1_000, 9_999, "1,000 – 9,999"),
    (10_000, 99_999, "10,000 – 99,999"),
    (100_000, 999_999, "100,000 – 999,999"),
    (1_000_000, None, "1,000,000 or more"),
)
BASIS_ORDER = ("stated", "mapped", "initiative", "first_pass")  # an action's best basis for a provision
# Headings that say little alone ("Standard"): shown after their parent's heading.
GENERIC_HEADINGS = frozenset(
    {"Standard", "Implementation specifications", "Applicability", "Definitions", "Documentation"}
)
FACT_NAMES = ("sector", "entity_type", "breach_type", "location", "individuals_affected", "state")

# Words that make the type of breach or the location of the information plain enough to infer for the
# base rate (said so in the answer; a given fact always wins). Ambiguous text infers nothing.
TYPE_WORDS = {
    "Hacking/IT Incident": r"ransom|hack|malware|phish|cyber|intrusion|intruder|virus|credential|exfiltrat",
    "Theft": r"stolen|theft|burglar|steal",
    "Loss": r"\blost\b|missing|misplaced",
    "Improper Disposal": r"dispos|dumpster|trash|discard",
    "Unauthorized Access/Disclosure": r"snoop|disclos|unauthori[sz]ed|wrong address|misdirect|faxed",
}
LOCATION_WORDS = {
    "Laptop": r"laptop",
    "Email": r"e-?mail",
    "Paper/Films": r"paper|films?\b|x-ray|binder|boxes",
    "Desktop Computer": r"desktop|workstation",
    "Other Portable Electronic Device": r"usb|thumb drive|flash drive|smartphone|iphone|tablet",
    "Network Server": r"server",
    "Electronic Medical Record": r"\behr\b|\bemr\b|electronic (?:health|medical) record",
}


class PrecedentError(SearchError):
    """Bad input (no incident, an unknown fact value, an unknown id): the message says which."""


@dataclass(frozen=True)
class Facts:
    sector: str | None = None
    entity_type: str | None = None
    breach_type: str | None = None
    location: str | None = None
    individuals_affected: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class Query:
    """Exactly one of text, like (an action id) and breach (a report id); facts are optional; agencies: the
    enforcers whose actions may be precedents (codes of etl.agencies.AGENCIES; empty: every enforcer)."""

    text: str | None = None
    like: str | None = None
    breach: str | None = None
    facts: Facts = field(default_factory=Facts)
    agencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subject:
    """The record a `like` or `breach` query starts from: the text searched for it, its facts, the
    enforcement actions and breach reports that are the case itself (left out of precedents and base
    rate), and how the answer names it."""

    text: str
    facts: dict[str, Any]
    own_actions: frozenset[str]
    own_reports: frozenset[str]
    shown: dict[str, Any]
    origin: str  # "the action" | "the report": where its facts come from, in words


@dataclass(frozen=True)
class Resolved:
    """What is searched and with which facts: the text, the facts (given, from the subject or inferred from
    the words), where each fact came from, and the subject (None for a described incident)."""

    text: str
    facts: Facts
    sources: dict[str, str]
    subject: Subject | None

    @property
    def own_actions(self) -> frozenset[str]:
        return self.subject.own_actions if self.subject else frozenset()

    @property
    def own_reports(self) -> frozenset[str]:
        return self.subject.own_reports if self.subject else frozenset()


# ---- input ------------------------------------------------------------------------------------------


def fact_choices(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """The values each fact may take: sectors and entity types of the build, the Breach Portal's types of
    breach and locations, and the states of the reports."""
    from etl.sectors import SECTORS

    column = lambda sql: [r[0] for r in conn.execute(sql)]  # noqa: E731
    return {
        "sector": list(SECTORS),
        "entity_type": list(ENTITY_TYPES),
        "breach_type": column("select name from breach_types where name != 'Unknown' order by name"),
        "location": column("select name from breach_locations order by name"),
        "state": column("select distinct state from breaches where state is not null order by state"),
    }


def parse_facts(conn: sqlite3.Connection, raw: Mapping[str, Any]) -> Facts:
    """Facts from strings (a form, query parameters, CLI options): empty means not given; an unknown value
    or a count that is not a whole number from 1 is a PrecedentError naming the fact."""
    choices = fact_choices(conn)
    values: dict[str, Any] = {}
    for name in FACT_NAMES:
        value = raw.get(name)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            continue
        if name == "individuals_affected":
            values[name] = _count(value)
        elif str(value) not in choices[name]:
            raise PrecedentError(f"{name} must be one of: {', '.join(choices[name])}")
        else:
            values[name] = str(value)
    return Facts(**values)


def _count(value: Any) -> int:
    text = str(value).replace(",", "")
    if not re.fullmatch(r"\d{1,10}", text) or int(text) < 1:
        raise PrecedentError("individuals_affected must be a whole number from 1")
    return int(text)


def infer_facts(text: str) -> dict[str, str]:
    """The type of breach and the location of the information, where exactly one of each is named."""
    found = {}
    for name, table in (("breach_type", TYPE_WORDS), ("location", LOCATION_WORDS)):
        hits = [value for value, pattern in table.items() if re.search(pattern, text, re.I)]
        if len(hits) == 1:
            found[name] = hits[0]
    return found


def resolve(conn: sqlite3.Connection, query: Query) -> Resolved:
    """The text to search and the facts to use for a query (see Resolved). A given fact wins over the
    subject's; facts are inferred from the words of a described incident only."""
    given = [name for name in ("text", "like", "breach") if getattr(query, name) not in (None, "")]
    if len(given) != 1:
        raise PrecedentError(
            "give one of: a description of the incident (q), like (an action id), breach (a report id)"
        )
    subject = _action(conn, query.like) if query.like else _report(conn, query.breach) if query.breach else None
    text = subject.text if subject else _description(query.text or "")
    candidates = (
        (asdict(query.facts), "given"),
        (subject.facts, subject.origin) if subject else (infer_facts(text), "inferred"),
    )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in FACT_NAMES:
        found = next(((facts[name], src) for facts, src in candidates if facts.get(name) not in (None, "")), None)
        if found:
            values[name], sources[name] = found
    return Resolved(text[:MAX_QUERY_CHARS], Facts(**values), sources, subject)


def _description(text: str) -> str:
    text = text.strip()
    if not text:
        raise PrecedentError("the description is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise PrecedentError(f"the description is longer than {MAX_QUERY_CHARS} characters")
    return text


def _action(conn: sqlite3.Connection, action_id: str) -> Subject:
    """An action: searched by its summary and incident labels; its facts, the type, location and size of
    its best-linked breach report filling what the action lacks."""
    rows = _dicts(
        conn,
        "select id, entity, announced, summary, incident, sector, entity_type, state, individuals_affected "
        "from enforcement_actions where id = ?",
        [action_id],
    )
    if not rows:
        raise PrecedentError(f"no enforcement action with id {action_id!r}")
    row = rows[0]
    text = " ".join([row["summary"] or "", "; ".join(json.loads(row["incident"] or "[]"))]).strip() or row["entity"]
    facts = {k: row[k] for k in ("sector", "entity_type", "state", "individuals_affected")}
    reports = _dicts(
        conn,
        "select b.id, b.breach_types, b.locations, b.individuals_affected from breach_action_links l "
        "join breaches b on b.id = l.breach_id where l.action_id = ? order by l.score desc, b.submission_date",
        [action_id],
    )
    if reports:
        facts |= {"breach_type": _first(reports[0]["breach_types"]), "location": _first(reports[0]["locations"])}
        facts["individuals_affected"] = facts["individuals_affected"] or reports[0]["individuals_affected"]
    shown = {"kind": "action", "id": row["id"], "entity": row["entity"], "date": row["announced"]}
    own_reports = frozenset(r["id"] for r in reports)
    return Subject(
        text, facts, frozenset({action_id}), own_reports, shown | {"reports": sorted(own_reports)}, "the action"
    )


def _report(conn: sqlite3.Connection, breach_id: str) -> Subject:
    """A breach report: searched by its description (or its type, location and entity type when it has
    none); the actions that followed it are the case itself."""
    rows = _dicts(
        conn,
        "select id, entity_name, submission_date, description, breach_type, location, breach_types, locations, "
        "sector, covered_entity_type, individuals_affected, state from breaches where id = ?",
        [breach_id],
    )
    if not rows:
        raise PrecedentError(f"no breach report with id {breach_id!r}")
    row = rows[0]
    kind = (row["covered_entity_type"] or "").replace("_", " ")
    text = (
        row["description"]
        or " ".join(x for x in (row["breach_type"], row["location"], kind) if x)
        or row["entity_name"]
    )
    facts = {
        "breach_type": _first(row["breach_types"]),
        "location": _first(row["locations"]),
        "sector": row["sector"],
        "entity_type": row["covered_entity_type"],
        "individuals_affected": row["individuals_affected"],
        "state": row["state"],
    }
    followed = frozenset(
        r[0] for r in conn.execute("select action_id from breach_action_links where breach_id = ?", (breach_id,))
    )
    shown = {
        "kind": "breach",
        "id": row["id"],
        "entity": row["entity_name"],
        "date": row["submission_date"],
        "actions": sorted(followed),
    }
    return Subject(text, facts, followed, frozenset({breach_id}), shown, "the report")


def _first(values: str | None) -> str | None:
    items = [v for v in (json.loads(values) if values else []) if v and v != "Unknown"]
    return items[0] if items else None


# ---- the precedents ---------------------------------------------------------------------------------


def ranked(
    conn: sqlite3.Connection,
    searcher: Searcher,
    resolved: Resolved,
    threshold: float = THRESHOLD,
    limit: int = MAX_PRECEDENTS,
    agencies: Sequence[str] = (),
) -> list[dict]:
    """The hybrid ranking's actions for the resolved text (actions of `agencies` only, when given), the
    excluded ones dropped, cut at threshold and limit (etl.similar result dicts, best first)."""
    k = min(100, limit + len(resolved.own_actions))
    hits = searcher.search(conn, resolved.text, k=k, kind="actions", ranker="hybrid", agencies=agencies)
    kept = [h for h in hits if h["id"] not in resolved.own_actions and h["score"] >= threshold]
    return kept[:limit]


ACTION_FIELDS = (
    "id, entity, announced, year, action_type, amount_usd, cap, cap_years, cap_obligations, initiative, "
    "entity_type, sector, state, individuals_affected, hhs_urls, evidence, agency, states, multistate"
)


@dataclass
class Related:
    """What the precedent rows need besides the actions' own columns, read once for all of them."""

    provisions: dict[str, list[dict]]
    topics: dict[str, list[str]]
    days: dict[str, int]
    sentences: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def read(cls, conn: sqlite3.Connection, ids: Sequence[str]) -> Related:
        marks = ",".join("?" * len(ids))
        topics = f"select action_id, topic_id from action_topics where action_id in ({marks}) order by topic_id"
        days = (
            f"select action_id, max(days_to_action) from breach_action_links where action_id in ({marks}) "
            "and days_to_action is not null group by action_id"
        )
        sentences = f"select action_id, {', '.join(SENTENCE_FIELDS)}, words, outcome from criminal_sentences where action_id in ({marks})"
        return cls(
            action_provisions(conn, ids),
            _grouped(conn, topics, ids),
            dict(conn.execute(days, list(ids))),
            {r.pop("action_id"): r for r in _dicts(conn, sentences, ids)}
            if _has_table(conn, "criminal_sentences")
            else {},
        )


def precedent_rows(conn: sqlite3.Connection, hits: Sequence[dict], resolved: Resolved) -> list[dict]:
    """One dict per ranked hit: the action's facts (cap as true / false / null), its provisions, topics
    and days from its first linked breach report, with why it matched."""
    ids = [h["id"] for h in hits]
    sql = f"select {ACTION_FIELDS} from enforcement_actions where id in ({','.join('?' * len(ids))})"
    rows = {r["id"]: r for r in _dicts(conn, sql, ids)}
    like = resolved.subject.shown["id"] if resolved.subject and resolved.subject.shown["kind"] == "action" else None
    related = Related.read(conn, ids + ([like] if like else []))
    common = common_words(conn) if resolved.subject else frozenset()
    out = []
    for rank, hit in enumerate(hits, 1):
        row = rows[hit["id"]]
        p = precedent(rank, hit, row, related)
        shared_provisions = {c["provision"] for c in related.provisions.get(like or "", [])}
        p["why"] = why(
            [t for t in hit["matched_terms"] if t not in common][:MAX_WORDS_SHOWN],
            hit["ranks"],
            [
                (name, row[name])
                for name in ("sector", "entity_type", "state")
                if row[name] and row[name] == getattr(resolved.facts, name)
            ],
            [c["provision"] for c in p["provisions"] if c["provision"] in shared_provisions],
            sorted(set(p["topics"]) & set(related.topics.get(like or "", []))),
        )
        out.append(p)
    return out


def precedent(rank: int, hit: dict, row: dict, related: Related) -> dict:
    """A precedent's entry of the contract (its `why` is added by precedent_rows)."""
    return {
        "rank": rank,
        **{k: row[k] for k in ("id", "agency", "entity", "announced", "year", "action_type", "amount_usd")},
        "states": json.loads(row["states"] or "[]"),
        "multistate": bool(row["multistate"]),
        "sentence": related.sentences.get(row["id"]) if row["agency"] == CRIMINAL else None,
        "cap": has_plan(row),
        "cap_years": row["cap_years"],
        "cap_obligations": json.loads(row["cap_obligations"] or "[]"),
        **{k: row[k] for k in ("initiative", "entity_type", "sector", "state", "individuals_affected")},
        "provisions": related.provisions.get(row["id"], []),
        "topics": related.topics.get(row["id"], []),
        "days_from_report": related.days.get(row["id"]),
        "hhs_url": _first_url(row["hhs_urls"], "hhs.gov"),
        "source_url": _first_url(row["hhs_urls"], "hhs.gov") or _first_url(row["evidence"]),
        "similarity": hit["score"],
    }


def common_words(conn: sqlite3.Connection, share: float = 0.2) -> frozenset[str]:
    """Words in at least `share` of the actions' summaries and incident labels ("ocr", "agreed", "plan"):
    left out of the words a precedent shares with an action's or a report's own text, which share many."""
    texts = [
        f"{summary or ''} {incident or ''}"
        for summary, incident in conn.execute("select summary, incident from enforcement_actions")
    ]
    counts = Counter(term for text in texts for term in set(query_terms(text)))
    return frozenset(term for term, n in counts.items() if n >= share * len(texts))


def has_plan(row: Mapping[str, Any]) -> bool | None:
    """True: a corrective action plan (cap 1, or a known plan length); False: none (cap 0, or a civil money
    penalty, which carries no plan); None: unknown. The rule of the case brief (kb_site.queries)."""
    if row.get("agency", "ocr") != "ocr":
        return None  # a corrective action plan is OCR's; other enforcers' terms are in their summaries
    if row["cap"] == 1 or (row["cap"] is None and row["cap_years"]):
        return True
    if row["cap"] == 0 or row["action_type"] == "civil_money_penalty":
        return False
    return None


def action_provisions(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, list[dict]]:
    """Per action: the provisions it cites (resolved to the provisions table), each once, with the best
    basis of its citations (stated, then mapped, initiative, first_pass)."""
    sql = (
        "select ap.action_id, ap.provision_id, p.heading, up.heading, p.ecfr_url, ap.basis from action_provisions ap "
        "join provisions p on p.id = ap.provision_id left join provisions up on up.id = p.parent "
        f"where ap.action_id in ({','.join('?' * len(ids))}) "
        "order by ap.action_id, ap.provision_id"
    )
    best: dict[tuple[str, str], dict] = {}
    for action_id, provision, heading, parent, ecfr, basis in conn.execute(sql, list(ids)):
        shown = f"{parent} ({heading.lower()})" if heading in GENERIC_HEADINGS and parent else heading
        entry = best.setdefault(
            (action_id, provision), {"provision": provision, "heading": shown, "ecfr_url": ecfr, "basis": basis}
        )
        if _basis_rank(basis) < _basis_rank(entry["basis"]):
            entry["basis"] = basis
    out: dict[str, list[dict]] = {}
    for (action_id, _), entry in best.items():
        out.setdefault(action_id, []).append(entry)
    return out


def _basis_rank(basis: str | None) -> int:
    return BASIS_ORDER.index(basis) if basis in BASIS_ORDER else len(BASIS_ORDER)


def why(
    words: list[str], ranks: Mapping[str, int], facts: list[tuple[str, str]], provisions: list[str], topics: list[str]
) -> list[str]:
    """Why a precedent matched, in words: the words it shares, its place in each ranking, the facts it
    shares with the query and (for `like`) the provisions and topics it shares with the action."""
    reasons = ["shares the words " + ", ".join(words)] if words else []
    ranked = (("vector", "closest in meaning"), ("bm25", "by the words shared"))
    reasons += [f"{_ordinal(ranks[r])} {label}" for r, label in ranked if r in ranks]
    reasons += [f"same {name.replace('_', ' ')} ({label_of(name, value)})" for name, value in facts]
    if provisions:
        reasons.append("cites the same " + ", ".join(provisions))
    if topics:
        reasons.append("same topics: " + ", ".join(t.replace("_", " ") for t in topics))
    return reasons


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _first_url(value: str | None, host: str = "") -> str | None:
    """The first http(s) address of a JSON list (on `host`, when given)."""
    urls = [u for u in json.loads(value or "[]") if isinstance(u, str) and u.startswith(("http://", "https://"))]
    return next((u for u in urls if host in u.split("/")[2]), None)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where type = 'table' and name = ?", (name,)).fetchone() is not None


def citation(provision_id: str) -> str:
    """A provision id as a citation: HIPAA's rules carry no title ('45 CFR 164.308(a)'); every other id
    names its own ('42 CFR 2.31', '16 CFR 318.3', '15 U.S.C. 45(a)', '42 U.S.C. 1320d-6')."""
    return provision_id if re.match(r"\d+ (?:CFR|U\.S\.C\.) ", provision_id) else f"45 CFR {provision_id}"


def _dicts(conn: sqlite3.Connection, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict]:
    cursor = conn.execute(sql, params if isinstance(params, Mapping) else list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _grouped(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in conn.execute(sql, list(params)):
        out.setdefault(key, []).append(value)
    return out


# ---- what OCR did in them ---------------------------------------------------------------------------


def _plural_form(words: str) -> str:
    """'consent judgment' -> 'consent judgments', 'assurance of voluntary compliance' -> 'assurances of ...'."""
    head, sep, tail = words.partition(" of ")
    head = head[:-1] + "ies" if head.endswith("y") else head + ("es" if head.endswith("s") else "s")
    return head + sep + tail


_FORMS = {code: words[:1].lower() + words[1:] for code, words in ACTION_FORMS.items() if code != "other"}
LABELS = {
    "action_type": {**_FORMS, "other": "other action"},
    "action_types": {
        **{code: _plural_form(words) for code, words in _FORMS.items()},
        "redress_distribution": "refunds paid out",
        "other": "other actions",
    },
    "agency": dict(AGENCIES),
    "agency_short": dict(AGENCY_SHORT),
    "entity_type": {
        "healthcare_provider": "health care provider",
        "health_plan": "health plan",
        "business_associate": "business associate",
        "clearinghouse": "health care clearinghouse",
        "individual": "individual (a person charged)",
    },
    "sector": {
        "behavioral_health": "behavioral health",
        "dental": "dental",
        "hospital_health_system": "hospital or health system",
        "physician_practice": "physician practice",
        "pharmacy": "pharmacy",
        "laboratory_imaging": "laboratory or imaging",
        "health_plan": "health plan",
        "business_associate_it": "business associate (IT)",
        "business_associate_billing": "business associate (billing)",
        "business_associate_other": "business associate (other)",
        "public_agency": "public agency",
        "other": "other",
    },
    "initiative": {"risk_analysis": "Risk Analysis Initiative", "right_of_access": "Right of Access Initiative"},
    "obligation": {"monitor / independent assessor": "a monitor or independent assessor", "other": "other obligations"},
}


def label_of(name: str, value: Any) -> str:
    """A coded value in words (sector, entity type, action type, initiative); other values as they are."""
    return LABELS.get(name, {}).get(value, str(value))


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile by linear interpolation between closest ranks: position (n - 1) * q of the sorted
    values (numpy's default, R's type 7)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def amount_figures(precedents: Sequence[dict]) -> dict:
    """n, how many amounts are known and unknown, and min / p25 / median / p75 / max of the known ones."""
    known = [p["amount_usd"] for p in precedents if p["amount_usd"] is not None]
    figures: dict[str, Any] = {"n": len(precedents), "n_known": len(known), "unknown": len(precedents) - len(known)}
    for name, q in (("min", 0.0), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("max", 1.0)):
        figures[name] = quantile(known, q) if known else None
    return figures


def cap_figures(precedents: Sequence[dict]) -> dict:
    """Plans: with, without (of which civil money penalties), unknown; lengths; obligations by frequency."""
    with_plan = [p for p in precedents if p["cap"] is True]
    obligations = Counter(o for p in with_plan for o in p["cap_obligations"])
    return {
        "n": len(precedents),
        "with_plan": len(with_plan),
        "without_plan": sum(p["cap"] is False for p in precedents),
        "without_plan_penalties": sum(
            p["cap"] is False and p["action_type"] == "civil_money_penalty" for p in precedents
        ),
        "unknown": sum(p["cap"] is None for p in precedents),
        "years": {str(y): n for y, n in sorted(Counter(p["cap_years"] for p in with_plan if p["cap_years"]).items())},
        "years_unknown": sum(not p["cap_years"] for p in with_plan),
        "obligations_recorded": sum(bool(p["cap_obligations"]) for p in with_plan),
        "obligations": [
            {"label": label, "count": n, "actions": [p["id"] for p in with_plan if label in p["cap_obligations"]]}
            for label, n in sorted(obligations.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def provision_figures(precedents: Sequence[dict]) -> list[dict]:
    """Each provision the precedents cite, most cited first: how many cite it, the share of n, and on
    which basis (counts of precedents by their best basis: stated, mapped, initiative, first_pass)."""
    cited: dict[str, dict] = {}
    for p in precedents:
        for c in p["provisions"]:
            entry = cited.setdefault(
                c["provision"],
                {
                    "provision": c["provision"],
                    "heading": c["heading"],
                    "ecfr_url": c["ecfr_url"],
                    "actions": [],
                    "basis": Counter(),
                },
            )
            entry["actions"].append(p["id"])
            entry["basis"][c["basis"]] += 1
    n = len(precedents)
    rows = [
        {
            **{k: e[k] for k in ("provision", "heading", "ecfr_url")},
            "citation": citation(e["provision"]),
            "count": len(e["actions"]),
            "share": round(len(e["actions"]) / n, 4),
            "basis": {b: e["basis"][b] for b in sorted(e["basis"], key=_basis_rank)},
            "actions": e["actions"],
        }
        for e in cited.values()
    ]
    return sorted(rows, key=lambda r: (-r["count"], r["provision"]))


def counted(precedents: Sequence[dict], values: Any) -> list[dict]:
    """[{value, count, share, actions}] most frequent first, for a function giving each precedent's values."""
    actions: dict[str, list[str]] = {}
    for p in precedents:
        for value in values(p):
            actions.setdefault(value, []).append(p["id"])
    n = len(precedents)
    rows = [
        {"value": v, "count": len(ids), "share": round(len(ids) / n, 4), "actions": ids} for v, ids in actions.items()
    ]
    return sorted(rows, key=lambda r: (-r["count"], r["value"]))


def days_figures(precedents: Sequence[dict]) -> dict:
    days = [p["days_from_report"] for p in precedents if p["days_from_report"] is not None]
    return {
        "n": len(days),
        "median": statistics.median(days) if days else None,
        "min": min(days, default=None),
        "max": max(days, default=None),
    }


def _agency(p: Mapping[str, Any]) -> str:
    return p.get("agency") or "ocr"


def _form_order(types: Counter, with_ocr: bool) -> list[str]:
    """Every form present, in ACTION_FORMS order; OCR's two forms also at 0 (a figure) when OCR's actions are
    among the precedents, or when there are none."""
    return [t for t in ACTION_FORMS if types[t] or (with_ocr and t in ("resolution_agreement", "civil_money_penalty"))]


def amounts_by_agency(precedents: Sequence[dict]) -> dict:
    """Amounts, never pooled across enforcers: per enforcer (by_agency, each with its figures per form);
    the headline figures those of the one enforcer when the civil precedents come from one, else counts only
    (quartiles null, pooled false). Criminal cases are left out (`criminal`: how many)."""
    civil = [p for p in precedents if _agency(p) != CRIMINAL]
    by_agency: dict[str, dict] = {}
    for agency in AGENCIES:
        own = [p for p in civil if _agency(p) == agency]
        if own:
            types = Counter(p["action_type"] for p in own)
            by_agency[agency] = {
                **amount_figures(own),
                "by_type": {
                    t: amount_figures([p for p in own if p["action_type"] == t]) for t in ACTION_FORMS if types[t]
                },
            }
    pooled = len(by_agency) <= 1
    if pooled:
        head = next(iter(by_agency.values()), {**amount_figures([]), "by_type": {}})
    else:
        head = {**amount_figures(civil), "by_type": {}}
        head.update({name: None for name in ("min", "p25", "median", "p75", "max")})
    return {**head, "pooled": pooled, "by_agency": by_agency, "criminal": len(precedents) - len(civil)}


def sentence_figures(precedents: Sequence[dict]) -> dict:
    """Criminal cases' sentences: how many, with prison / probation / supervised release (median, min, max
    months of those known), with a fine or restitution, and their outcomes."""
    cases = [p for p in precedents if _agency(p) == CRIMINAL]
    sentences = [p.get("sentence") or {} for p in cases]
    out: dict[str, Any] = {"n": len(cases), "actions": [p["id"] for p in cases]}
    for name in ("prison_months", "probation_months", "supervised_release_months"):
        months = [s[name] for s in sentences if s.get(name)]
        out[name] = {
            "n": len(months),
            "median": statistics.median(months) if months else None,
            "min": min(months, default=None),
            "max": max(months, default=None),
        }
    out["with_fine"] = sum(bool(s.get("fine_usd")) for s in sentences)
    out["with_restitution"] = sum(bool(s.get("restitution_usd")) for s in sentences)
    out["unknown"] = sum(not any(s.get(k) for k in SENTENCE_FIELDS) for s in sentences)
    outcomes = Counter((s.get("outcome") or "not recorded").split(";")[0].strip() for s in sentences)
    out["outcomes"] = dict(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def summarize(precedents: Sequence[dict], topic_names: Mapping[str, str] | None = None) -> dict:
    """Every summary figure, from exactly these precedents (topic_names: topic id -> its name)."""
    by_type = Counter(p["action_type"] for p in precedents)
    agencies = Counter(_agency(p) for p in precedents)
    return {
        "n": len(precedents),
        "by_agency": {a: agencies[a] for a in AGENCIES if agencies[a]},
        "by_type": {t: by_type[t] for t in _form_order(by_type, bool(agencies["ocr"]) or not precedents)},
        "amount": amounts_by_agency(precedents),
        "sentences": sentence_figures(precedents),
        "years": {str(y): n for y, n in sorted(Counter(p["year"] for p in precedents if p["year"]).items())},
        "cap": cap_figures([p for p in precedents if _agency(p) == "ocr"]),
        "provisions": provision_figures(precedents),
        "initiatives": counted(precedents, lambda p: [p["initiative"]] if p["initiative"] else []),
        "topics": [
            {**row, "name": (topic_names or {}).get(row["value"], row["value"])}
            for row in counted(precedents, lambda p: p["topics"])
        ],
        "time_to_action_days": days_figures(precedents),
    }


# ---- the base rate ----------------------------------------------------------------------------------


def size_band(individuals: int | None) -> tuple[int, int | None, str] | None:
    if individuals is None:
        return None
    return next(b for b in SIZE_BANDS if individuals >= b[0] and (b[1] is None or individuals <= b[1]))


SIMILAR_REPORTS = """
(:breach_type is null or b.id in (select x.breach_id from breaches_breach_types x
     join breach_types t on t.id = x.breach_type_id where t.name = :breach_type))
and (:location is null or b.id in (select x.breach_id from breaches_breach_locations x
     join breach_locations t on t.id = x.breach_location_id where t.name = :location))
and (:sector is null or b.sector = :sector)
and b.id not in (select value from json_each(:own_reports))
"""
BASE_RATE_SQL = (
    """
select {band} as band, count(*) as reports,
       sum(exists (select 1 from breach_action_links l where l.breach_id = b.id)) as with_action,
       sum(b.status = 'under_investigation') as under_investigation
from breaches b where """
    + SIMILAR_REPORTS
    + " group by band"
)


def _band_sql() -> str:
    cases = " ".join(
        f"when b.individuals_affected <= {high} then '{label}'" for _, high, label in SIZE_BANDS if high is not None
    )
    return f"case when b.individuals_affected is null then 'unknown' {cases} else '{SIZE_BANDS[-1][2]}' end"


def base_rate(conn: sqlite3.Connection, facts: Facts, own_reports: frozenset[str] = frozenset()) -> dict:
    """Breach Portal reports like the incident (same type of breach, location and sector where known) per
    size band, and the headline for the incident's own band (all bands when the size is not known). The
    case's own reports (own_reports) are left out."""
    criteria = {"breach_type": facts.breach_type, "location": facts.location, "sector": facts.sector}
    params = {**criteria, "own_reports": json.dumps(sorted(own_reports))}
    bands = _bands(conn, params)
    band = size_band(facts.individuals_affected)
    chosen = [b for b in bands if b["band"] == band[2]] if band else bands
    reports = sum(b["reports"] for b in chosen)
    with_action = sum(b["with_action"] for b in chosen)
    ids = _linked_actions(conn, params, band)
    return {
        "similar_reports": reports,
        "with_action": with_action,
        "share": round(with_action / reports, 4) if reports else None,
        "under_investigation": sum(b["under_investigation"] for b in chosen),
        "criteria": {**criteria, "size_band": band[2] if band else None},
        "left_out": sorted(own_reports),
        "by_size_band": [b for b in bands if b["reports"] or b["band"] != "unknown"],
        "actions": ids,
    }


def _bands(conn: sqlite3.Connection, params: dict[str, Any]) -> list[dict[str, Any]]:
    """reports, with_action and under_investigation per size band, every band (unknown size last)."""
    counted = {r["band"]: r for r in _dicts(conn, BASE_RATE_SQL.format(band=_band_sql()), params)}
    empty = {"reports": 0, "with_action": 0, "under_investigation": 0}
    out: list[dict[str, Any]] = []
    for label in [b[2] for b in SIZE_BANDS] + ["unknown"]:
        row = counted.get(label, empty)
        out.append({"band": label, **{k: int(row[k] or 0) for k in empty}})
    return out


def _linked_actions(conn: sqlite3.Connection, params: dict, band: tuple[int, int | None, str] | None) -> list[str]:
    """The enforcement actions linked to the counted reports (so the count can be checked)."""
    size = ""
    if band is not None:
        size = f" and b.individuals_affected >= {band[0]}" + (
            f" and b.individuals_affected <= {band[1]}" if band[1] is not None else ""
        )
    sql = f"select distinct l.action_id from breaches b join breach_action_links l on l.breach_id = b.id where {SIMILAR_REPORTS}{size} order by 1"
    return [r[0] for r in conn.execute(sql, params)]


# ---- the penalty frame, caveats, the whole answer ---------------------------------------------------


def penalty_tiers(conn: sqlite3.Connection) -> list[dict]:
    """Today's tiers: the newest effective date of the regulation's amounts, each tier with the annual cap
    OCR applies under its 2019 notice of enforcement discretion (stated in 2009 dollars)."""
    rows = _dicts(
        conn,
        "select tier, culpability, provision, min_per_violation, max_per_violation, calendar_year_cap, "
        "effective_date, authority, source_url from penalty_tiers where basis = 'regulation' and effective_date = "
        "(select max(effective_date) from penalty_tiers where basis = 'regulation') order by tier",
    )
    discretion = dict(
        conn.execute(
            "select tier, calendar_year_cap from penalty_tiers where basis = 'enforcement_discretion' and effective_date = "
            "(select max(effective_date) from penalty_tiers where basis = 'enforcement_discretion')"
        ).fetchall()
    )
    return [{**r, "discretion_cap_2009_dollars": discretion.get(r["tier"])} for r in rows]


def caveats(summary: dict, base: dict, resolved: Resolved) -> list[str]:
    n = summary["n"]
    notes = [
        "Not legal advice: a summary of what the enforcers announced in past cases, not a prediction of what they will do.",
        f"Every figure is computed from the {n} precedent{'s' if n != 1 else ''} listed, and each can be traced to them.",
        "Amounts are in dollars of the year each action was announced, not adjusted for inflation.",
        "Quartiles are computed by linear interpolation between closest ranks (position (n - 1) × q of the sorted amounts).",
        "A resolution agreement's amount is a settlement, not a penalty under the tiers; civil money penalties carry no corrective action plan.",
    ]
    amount = summary["amount"]
    if not amount["pooled"]:
        notes.append(
            "The precedents come from more than one enforcer: amounts are given per enforcer, never pooled "
            "(a state attorney general's or the FTC's settlement is not an OCR settlement)."
        )
    if amount["criminal"]:
        notes.append(
            f"{plural_words(amount['criminal'], 'criminal case')} have no amount: their sentences are shown instead, "
            "and they are not counted in the amounts (neither as $0 nor as unknown)."
        )
    if summary["n"] and summary["cap"]["n"] < summary["n"]:
        notes.append("Corrective action plans are OCR's: counted over OCR's precedents only.")
    if n == 0:
        notes.insert(
            0, "No enforcement action is close enough to this description: describe the incident in other words."
        )
    elif n < MIN_PRECEDENTS_FOR_FIGURES:
        notes.insert(0, f"Only {n} precedent{'s' if n != 1 else ''}: too few for the figures to mean much.")
    cap = summary["cap"]
    if cap["with_plan"] and cap["obligations_recorded"] < cap["with_plan"]:
        recorded = cap["obligations_recorded"]
        notes.append(
            f"What the plans require is recorded for {recorded} of the {cap['with_plan']} plans only."
            if recorded
            else "What the plans require is not recorded for any of them."
        )
    notes.append(
        "Base rate: a report counts as leading to an action only where the link was found; "
        f"{base['under_investigation']:,} of the {base['similar_reports']:,} reports are still under investigation and may yet lead to one, "
        "and reports closed between two recorded exports of 2022 onward are in none of them."
    )
    if resolved.sources and "inferred" in resolved.sources.values():
        inferred = [k.replace("_", " ") for k, v in resolved.sources.items() if v == "inferred"]
        notes.append(
            f"The {' and '.join(inferred)} of the base rate {'were' if len(inferred) > 1 else 'was'} inferred from the description's words."
        )
    if resolved.facts.individuals_affected is not None and resolved.facts.individuals_affected < 500:
        notes.append(
            "The Breach Portal lists only breaches of 500 or more individuals: compared with its smallest size band."
        )
    return notes


def plural_words(n: int, word: str) -> str:
    return f"{n:,} {word if n == 1 else word + 's'}"


def query_block(query: Query, resolved: Resolved) -> dict:
    return {
        "agencies": list(query.agencies),
        "text": query.text.strip() if query.text else None,
        "like": query.like,
        "breach": query.breach,
        "searched": resolved.text,
        "subject": resolved.subject.shown if resolved.subject else None,
        "facts": asdict(resolved.facts),
        "facts_from": resolved.sources,
        "ranking": "hybrid",
        "threshold": THRESHOLD,
        "max_precedents": MAX_PRECEDENTS,
    }


def precedent_range(conn: sqlite3.Connection, searcher: Searcher, query: Query) -> dict:
    """The whole answer (module docstring): query, precedents, summary, base_rate, penalty_tiers, caveats."""
    query = replace(query, agencies=parse_agencies(query.agencies))
    resolved = resolve(conn, query)
    precedents = precedent_rows(conn, ranked(conn, searcher, resolved, agencies=query.agencies), resolved)
    summary = summarize(precedents, dict(conn.execute("select id, name from topics").fetchall()))
    base = base_rate(conn, resolved.facts, resolved.own_reports)
    return {
        "query": query_block(query, resolved),
        "precedents": precedents,
        "summary": summary,
        "base_rate": base,
        "penalty_tiers": penalty_tiers(conn),
        "caveats": caveats(summary, base, resolved),
    }
