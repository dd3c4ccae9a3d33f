"""Topics of enforcement actions (many per action), derived by the rules in `TOPICS`, then corrected by
data/curated/topic_overrides.csv.

An action has a topic when ANY of the topic's rules fires:
- provision: the action cites one of the topic's sections, or a paragraph under it (action_provisions,
  curated or from the crawled documents: "164.524" covers "164.524(b)(2)");
- initiative: the curated `initiative` is the topic's OCR initiative (right_of_access, risk_analysis);
- keyword: one of the topic's patterns occurs in the action's own words: incident labels, summary and
  curated requirement labels (not the documents' full text, whose boilerplate mentions most topics).

The rules (also in the `topics` table, column `rule`):

| topic | provisions | initiative | keywords (case-insensitive) |
|---|---|---|---|
| risk_analysis | 164.308(a)(1)(ii)(A) | risk_analysis | risk analysis, risk assessment |
| risk_management | 164.308(a)(1)(ii)(B) | | risk management |
| right_of_access | 164.524 | right_of_access | right of access, access to (their) records, copy of records |
| impermissible_disclosure | 164.502(a) | | impermissible/unauthorized disclosure, disclosed ... without authorization |
| media_online_disclosure | | | media, reporter, television, filming, documentary, online review, Yelp, testimonials, social media |
| missing_baa | 164.502(e), 164.504(e), 164.308(b), 164.314(a) | | business associate agreement |
| encryption | 164.312(a)(2)(iv), 164.312(e)(2)(ii) | | encrypt / unencrypted |
| disposal | 164.310(d)(2)(i) | | disposal, dumpster, trash, shred, discarded |
| workforce_access_control | 164.308(a)(4), 164.312(a)(1), 164.312(a)(2)(i) | | snooping, insider, workforce ... accessed/viewed, without a need |
| terminated_user_access | 164.308(a)(3)(ii)(C) | | former employee/contractor, terminated user, after separation |
| ransomware | | | ransomware, ransom |
| phishing_email | | | phishing, email account compromise, spear phishing |
| exposed_server | | | misconfigured, exposed/accessible on the internet, search engines, web/FTP/PACS server, firewall |
| breach_notification | 164.404, 164.406, 164.408, 164.410, 164.400-164.414 | | breach notification, failed to notify, untimely notification, unreported breach |
| failure_to_cooperate | 160.310 | | failure to cooperate, failed to respond to OCR, subpoena |

Overrides (topic_overrides.csv: action_id,topic,action,reason; action is add or remove) are applied
after the rules; a malformed override (unknown topic, action other than add or remove, empty reason) stops
the build with the file, line and field. One naming an action absent from this build, or removing a topic
the rules do not give it here, is skipped and reported (etl/override_problems.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from etl.context import BuildContext, BuildError
from etl.csv_input import checked_rows
from etl.override_problems import problem, report

OVERRIDES_FILE = "topic_overrides.csv"
OVERRIDE_COLUMNS = ["action_id", "topic", "action", "reason"]


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    description: str
    provisions: tuple[str, ...] = ()
    initiative: str | None = None
    keywords: tuple[str, ...] = ()  # regular expressions, case-insensitive

    @property
    def rule(self) -> str:
        parts = []
        if self.provisions:
            parts.append("cites " + " or ".join(self.provisions) + " (or a paragraph under it)")
        if self.initiative:
            parts.append(f"initiative is {self.initiative}")
        if self.keywords:
            parts.append("text matches " + " | ".join(f"/{k}/" for k in self.keywords))
        return "; or ".join(parts)


TOPICS: tuple[Topic, ...] = (
    Topic(
        "risk_analysis",
        "Risk analysis",
        "No accurate and thorough assessment of the risks to ePHI (Security Rule risk analysis).",
        ("164.308(a)(1)(ii)(A)",),
        "risk_analysis",
        (r"risk analys[ie]s", r"risk assessment"),
    ),
    Topic(
        "risk_management",
        "Risk management",
        "Security measures not implemented to reduce the risks found to a reasonable level.",
        ("164.308(a)(1)(ii)(B)",),
        None,
        (r"risk management",),
    ),
    Topic(
        "right_of_access",
        "Right of access",
        "Patients or their personal representatives not given timely access to, or copies of, their "
        "records, or charged unreasonable fees (OCR's Right of Access Initiative).",
        ("164.524",),
        "right_of_access",
        (
            r"(?<!users' )(?<!user )right of access",
            r"access to (?:(?:his|her|their|the patient'?s?|own) )?(?:medical )?records",
            r"cop(?:y|ies) of (?:(?:his|her|their|the) )?(?:medical )?records",
            r"records? requests?",
        ),
    ),
    Topic(
        "impermissible_disclosure",
        "Impermissible disclosure",
        "Protected health information used or disclosed without a permission of the Privacy Rule.",
        ("164.502(a)",),
        None,
        (
            r"impermissibl[ey] (?:use|disclos)",
            r"unauthori[sz]ed disclosure",
            r"disclos\w* [\w ,]{0,60}without (?:the patients?'? )?authori[sz]ation",
        ),
    ),
    Topic(
        "media_online_disclosure",
        "Media / online-review disclosure",
        "Patient information given to reporters or film crews, or posted in replies to online reviews, "
        "testimonials or social media.",
        (),
        None,
        # "media" alone also means backup media, and news reports of an incident are not disclosures.
        (
            r"disclos\w*(?: [\w-]+){0,3} to (?:the )?(?:news )?media",
            r"media (?:outlets|contacts|interviews?)",
            r"reporter",
            r"television (?:crew|documentary|network|filming)",
            r"\bTV (?:crew|documentary|reporter)",
            r"film crews?",
            r"filming",
            r"documentary",
            r"online reviews?",
            r"patient reviews?",
            r"yelp",
            r"google reviews?",
            r"testimonial",
            r"social media",
            r"success stories",
            r"press release",
        ),
    ),
    Topic(
        "missing_baa",
        "Missing business associate agreement",
        "PHI shared with a vendor without a (compliant) business associate agreement.",
        ("164.502(e)", "164.504(e)", "164.308(b)", "164.314(a)"),
        None,
        (r"business associate agreement", r"\bBAA\b"),
    ),
    Topic(
        "encryption",
        "Device and media encryption",
        "Unencrypted laptops, drives, phones, backup media or transmissions.",
        ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)"),
        None,
        # Not plain "encrypted": ransomware "encrypted the servers" is the attack, not the safeguard.
        (
            r"unencrypted",
            r"(?:no|lack of|little|without|missing|not|never) (?:[\w-]+ ){0,2}encrypt",
            r"encryption (?:of|or|and|until|despite|on|for)",
            r"device encryption",
            r"encrypt(?:ed)? (?:its )?(?:mobile |portable )?(?:devices|laptops|workstations|media)",
        ),
    ),
    Topic(
        "disposal",
        "Disposal",
        "PHI on paper or devices thrown away or returned without being destroyed or wiped.",
        ("164.310(d)(2)(i)",),
        None,
        (r"dispos(?:al|ed|ing)", r"dumpster", r"\btrash\b", r"shred", r"discarded", r"photocopier hard drives"),
    ),
    Topic(
        "workforce_access_control",
        "Workforce snooping / access control",
        "Workforce members looking at records without a need, or access not limited to those who need it.",
        ("164.308(a)(4)", "164.312(a)(1)", "164.312(a)(2)(i)"),
        None,
        (
            r"snoop",
            r"insider",
            r"without (?:a )?(?:job-related |business )?need",
            r"curiosity",
            r"(?<!former )(?:employees?|workforce(?: members?)?|staff|guards?) "
            r"(?:impermissibly |improperly |inappropriately )?(?:accessed|viewed)",
            r"shared (?:login )?credentials",
            r"generic credentials",
        ),
    ),
    Topic(
        "terminated_user_access",
        "Terminated-user access",
        "Former workforce members or contractors kept (or used) access after they left.",
        ("164.308(a)(3)(ii)(C)",),
        None,
        (
            r"former (?:employee|contractor|workforce|affiliate|staff)",
            r"terminat\w+ (?:employee|user)",
            r"after (?:their |his |her )?(?:separation|termination|leaving)",
            r"still-active credentials",
        ),
    ),
    Topic(
        "ransomware", "Ransomware", "Ransomware or extortion attacks.", (), None, (r"ransom", r"GandCrab", r"\bPYSA\b")
    ),
    Topic(
        "phishing_email",
        "Phishing / email compromise",
        "Phishing e-mails, compromised e-mail accounts, credential theft by e-mail.",
        (),
        None,
        (r"phish", r"e-?mail account compromise", r"compromised e-?mail", r"e-?mail compromise"),
    ),
    Topic(
        "exposed_server",
        "Exposed server / misconfiguration",
        "Servers, databases or applications left reachable from the internet, misconfigured or unprotected.",
        (),
        None,
        (
            r"misconfigur",
            r"(?:exposed|accessible|visible|posted) (?:on|to|via) (?:the )?(?:public )?internet",
            r"search engines?",
            r"(?:web|FTP|PACS|public|unsecured) server",
            r"firewall protections disabled",
            r"web crawlers",
            r"exposed online",
            r"public internet",
            r"default file-sharing",
            r"without (?:a )?login",
            r"unsecured (?:FTP|PACS|database)",
        ),
    ),
    Topic(
        "breach_notification",
        "Breach notification",
        "Individuals, HHS or the media not notified of a breach, late, or with wrong numbers.",
        ("164.404", "164.406", "164.408", "164.410", "164.400-164.414"),
        None,
        # Not "Breach Notification Rule": summaries name the rules OCR looked at, breached or not.
        (
            r"fail\w* to (?:timely )?notify",
            r"(?:untimely|late) (?:breach )?(?:investigation and )?notification",
            r"breach notification (?:to|letters|was late|failures?)",
            r"unreported breach",
            r"under-?reported",
            r"notification letters",
            r"reported late",
            r"notified [\w ,]{0,40} only \d+",
        ),
    ),
    Topic(
        "failure_to_cooperate",
        "Failure to cooperate with OCR",
        "The entity ignored OCR's investigation, data requests or subpoena.",
        ("160.310",),
        None,
        (
            r"fail\w* to cooperate",
            r"fail\w* to respond to OCR",
            r"(?:ignored|did not respond to) OCR",
            r"OCR(?:'s)? data requests",
            r"subpoena",
        ),
    ),
)
TOPIC_IDS = tuple(t.id for t in TOPICS)
_COMPILED = {t.id: [re.compile(k, re.IGNORECASE) for k in t.keywords] for t in TOPICS}


@dataclass(frozen=True)
class ActionFacts:
    """What the rules look at for one action."""

    id: str
    provisions: tuple[str, ...]
    initiative: str | None
    text: str


def covers(rule_provision: str, cited: str) -> bool:
    """Whether citing `cited` counts as citing `rule_provision`: equal, a paragraph under it, or a
    range that starts with it ("164.400-164.414")."""
    return cited == rule_provision or cited.startswith(rule_provision + "(") or cited.startswith(rule_provision + "-")


def topic_evidence(topic: Topic, facts: ActionFacts) -> list[str]:
    """Why the topic applies (empty when it does not): one phrase per rule that fired."""
    evidence = []
    cited = sorted({p for p in facts.provisions if any(covers(r, p) for r in topic.provisions)})
    if cited:
        evidence.append("cites " + ", ".join(cited))
    if topic.initiative and facts.initiative == topic.initiative:
        evidence.append(f"initiative {facts.initiative}")
    for pattern in _COMPILED[topic.id]:
        if m := pattern.search(facts.text):
            evidence.append(f"text: {m.group(0)!r}")
            break
    return evidence


def classify(facts: ActionFacts) -> dict[str, str]:
    """{topic id: evidence} for every topic whose rules fire."""
    out = {}
    for topic in TOPICS:
        if evidence := topic_evidence(topic, facts):
            out[topic.id] = "; ".join(evidence)
    return out


@dataclass(frozen=True)
class TopicOverride:
    line: int
    action_id: str
    topic: str
    action: str
    reason: str


def read_overrides(path: Path, action_ids: set[str]) -> tuple[list[TopicOverride], list[dict]]:
    """Rows of topic_overrides.csv naming an action of `action_ids`, and the rows skipped because their
    action is not there (file, line, field, reason). A malformed row raises BuildError naming file, line
    and field."""
    if not path.exists():
        return [], []
    out, skipped = [], []
    for line, row in checked_rows(path, OVERRIDE_COLUMNS, BuildError):

        def bad(fld: str, reason: str, line: int = line) -> BuildError:
            return BuildError(f"{path}:{line}: field {fld!r}: {reason}")

        if row["topic"] not in TOPIC_IDS:
            raise bad("topic", f"{row['topic']!r} is not one of {', '.join(TOPIC_IDS)}")
        if row["action"] not in ("add", "remove"):
            raise bad("action", f"{row['action']!r} is not add or remove")
        if not row["reason"].strip():
            raise bad("reason", "empty (say why the rules are wrong here)")
        if row["action_id"] not in action_ids:
            skipped.append(problem(path, line, "action_id", f"no enforcement action {row['action_id']!r}"))
            continue
        out.append(TopicOverride(line, row["action_id"], row["topic"], row["action"], row["reason"].strip()))
    return out, skipped


def action_facts(db: sqlite_utils.Database) -> list[ActionFacts]:
    labels: dict[str, list[str]] = {}
    provisions: dict[str, set[str]] = {}
    for row in db.query("select action_id, provision, label from action_provisions"):
        if row["provision"]:
            provisions.setdefault(row["action_id"], set()).add(row["provision"])
        if row["label"]:
            labels.setdefault(row["action_id"], []).append(row["label"])
    out = []
    for a in db.query("select id, initiative, incident, summary from enforcement_actions order by id"):
        text = " | ".join([*json.loads(a["incident"] or "[]"), a["summary"] or "", *labels.get(a["id"], [])])
        out.append(ActionFacts(a["id"], tuple(sorted(provisions.get(a["id"], ()))), a["initiative"], text))
    return out


def derive(
    facts: Iterable[ActionFacts], overrides: list[TopicOverride], path: Path
) -> tuple[list[dict[str, Any]], list[dict]]:
    """action_topics rows: the rules' topics, then the overrides applied; and the overrides skipped
    because they remove a topic the rules do not give (file, line, field, reason)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    skipped: list[dict] = []
    for f in facts:
        for topic_id, evidence in classify(f).items():
            rows[(f.id, topic_id)] = {"action_id": f.id, "topic_id": topic_id, "source": "rule", "evidence": evidence}
    for o in overrides:
        key = (o.action_id, o.topic)
        if o.action == "remove":
            if key not in rows:
                skipped.append(
                    problem(
                        path,
                        o.line,
                        "topic",
                        f"the rules do not give {o.action_id} the topic {o.topic}, so there is nothing to remove",
                    )
                )
                continue
            del rows[key]
        else:
            rows[key] = {
                "action_id": o.action_id,
                "topic_id": o.topic,
                "source": "override",
                "evidence": f"override: {o.reason}",
            }
    return [rows[k] for k in sorted(rows)], skipped


def load(
    db: sqlite_utils.Database, overrides_path: Path, echo=print, warnings: list[dict] | None = None
) -> dict[str, int]:
    """(Re)write topics and action_topics. Override rows naming an action absent from `db`, or removing a
    topic the rules do not give, are printed, added to `warnings` (the build's ctx.warnings) and skipped."""
    action_ids = {r["id"] for r in db.query("select id from enforcement_actions")}
    overrides, skipped = read_overrides(overrides_path, action_ids)
    rows, not_removed = derive(action_facts(db), overrides, overrides_path)
    skipped += not_removed
    report(skipped, echo, warnings)
    for name in ("action_topics", "topics"):
        db[name].drop(ignore=True)
    db.table("topics").create({"id": str, "name": str, "description": str, "rule": str}, pk="id")
    db.table("topics").insert_all(
        {"id": t.id, "name": t.name, "description": t.description, "rule": t.rule} for t in TOPICS
    )
    db.table("action_topics").create(
        {"action_id": str, "topic_id": str, "source": str, "evidence": str},
        pk=("action_id", "topic_id"),
        foreign_keys=[("action_id", "enforcement_actions", "id"), ("topic_id", "topics", "id")],
    )
    db.table("action_topics").insert_all(rows)
    db.table("action_topics").create_index(["topic_id"], if_not_exists=True)
    with_topic = len({r["action_id"] for r in rows})
    applied = len(overrides) - len(not_removed)
    echo(
        f"derive topics: {len(rows)} action topics ({sum(r['source'] == 'override' for r in rows)} by override, "
        f"{applied} overrides applied"
        + (f", {len(skipped)} skipped (override_problems)" if skipped else "")
        + f"); {with_topic} of {len(action_ids)} actions have a topic"
    )
    return {
        "action_topics": len(rows),
        "topic_overrides": applied,
        "actions_without_topic": len(action_ids) - with_topic,
    }


def stage(ctx: BuildContext) -> None:
    ctx.counts.update(load(ctx.db, ctx.curated_dir / OVERRIDES_FILE, ctx.echo, ctx.warnings))
