"""Sector of each enforcement action and each breach report, from the name, entity type and text.

`classify_sector(name, entity_type, text)` applies, in order (first hit wins):
1. entity type business associate: health_plan when the name is an insurer's (Anthem, a Blue Cross
   plan: insurers are business associates of their affiliated plans); else business_associate_billing
   (billing, revenue cycle, claims, coding, collections, accounting, benefits administration),
   business_associate_it (software, IT, network, cloud, hosting, EHR, data, "information systems",
   "solutions"), else business_associate_other; judged on the name first, then on the text;
2. the name, by `NAME_RULES` in order: behavioral_health, dental, pharmacy, laboratory_imaging,
   health_plan, hospital_health_system;
3. the text, for behavioral health only ("a California psychiatric practice", "substance-use
   treatment provider"): a specialty the name does not show (not for health plans and clearinghouses);
4. the name, physician_practice (M.D., clinic, associates, surgery, P.C., ...), then public_agency
   (county, city of, department of, commission, authority): "Orange County Radiation Oncology Medical
   Group" is a practice, "Skagit County" and a state Medicaid department are agencies;
5. entity type health plan -> health_plan; clearinghouse -> business_associate_billing (claims
   processing is what a clearinghouse does);
6. the name key (etl.normalize.names.name_key: legal name, no parenthetical, no Inc./LLC) is "<Name> Health"
   or "<Name> Healthcare" -> hospital_health_system (Banner Health, Cottage Health, PIH Health);
7. the text, by `TEXT_RULES` (narrower phrases than the name rules: "dental practice", "federally
   qualified health center", "medical center");
8. other.
A name says more than a text: "Riverside Psychiatric Hospital" is behavioral health, so behavioral
health is tested before hospital (a psychiatric hospital whose name does not say so, such as Arbour
Hospital, needs an override); "Guam Memorial Hospital Authority" is a hospital, so hospital is tested before
public agency. Entity types are accepted as the curated file writes them ("business_associate") or
as the Breach Portal does ("Business Associate", "Healthcare Clearing House").

data/curated/sector_overrides.csv (kind,id,sector,reason; kind is action or breach) replaces the
rule's sector for one record; an unknown kind or sector, or an empty reason, stops the build naming file,
line and field. A row whose id is absent from this build is skipped and reported (etl/override_problems.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import sqlite_utils

from etl.context import BuildContext, BuildError
from etl.csv_input import checked_rows
from etl.normalize.names import name_key
from etl.override_problems import problem, report

SECTORS = (
    "behavioral_health",
    "dental",
    "hospital_health_system",
    "physician_practice",
    "pharmacy",
    "laboratory_imaging",
    "health_plan",
    "business_associate_it",
    "business_associate_billing",
    "business_associate_other",
    "public_agency",
    "other",
)
OVERRIDES_FILE = "sector_overrides.csv"
OVERRIDE_COLUMNS = ["kind", "id", "sector", "reason"]
KINDS = {"action": ("enforcement_actions", "id"), "breach": ("breaches", "id")}


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


BEHAVIORAL = _rx(
    r"psychiatr",
    r"psycholog",
    r"mental health",
    r"behavioral",
    r"behavioural",
    r"counsel(?:l)?ing",
    r"\bLPC\b",
    r"\bLCSW\b",
    r"addiction",
    r"substance (?:use|abuse)",
    r"recovery cent",
    r"(?<!cancer )treatment cent",
    r"rehab(?:ilitation)? cent(?:er|re) for (?:alcohol|drug)",
    r"detox",
    r"eating disorder",
    r"psychotherap",
)
DENTAL = _rx(
    r"dental",
    r"dentist",
    r"\bD\.?\s?D\.?\s?S\b",
    r"\bD\.?\s?M\.?\s?D\b",
    r"orthodont",
    r"endodont",
    r"periodont",
    r"oral (?:and maxillofacial )?surg",
    r"\bsmiles?\b",
)
PHARMACY = _rx(
    r"pharmac",
    r"\bdrug ?stores?\b",
    r"\bCVS\b",
    r"walgreen",
    r"rite aid",
    r"apothecar",
    r"\bRx\b",
    r"express scripts",
    r"infusion",
)
LAB_IMAGING = _rx(
    r"\blab\b",
    r"\blabs\b",
    r"laborator",
    r"imaging",
    r"radiolog",
    r"\bMRI\b",
    r"diagnostic",
    r"patholog",
    r"x-ray",
    r"\bquest\b",
    r"labcorp",
    r"genetic",
    r"\bPACS\b",
)
HEALTH_PLAN = _rx(
    r"health ?plan",
    r"insurance",
    r"\binsurer",
    r"blue cross",
    r"blue shield",
    r"\bBCBS",
    r"anthem",
    r"aetna",
    r"unitedhealthcare",
    r"cigna",
    r"humana",
    r"medicaid",
    r"medicare advantage",
    r"\bHMO\b",
    r"benefits? plan",
    r"welfare (?:benefit )?plan",
    r"premera",
    r"excellus",
    r"wellpoint",
    r"assurance",
    r"\bL\.?A\.? Care\b",
    r"health net\b",
    r"kaiser foundation health",
)
HOSPITAL = _rx(
    r"hospital(?!ist)",
    r"medical cent(?:er|re)",
    r"cancer cent(?:er|re)",
    r"memorial health",
    r"health ?care system",
    r"health system",
    r"health network",
    r"infirmary",
    r"health & services",
    r"health and services",
    r"health & science",
    r"health and science",
    r"health sciences",
    r"medical college",
    r"\bUCLA Health\b",
    r"University of [\w ]+ Medicine",
    r"health care network",
    r"\bsentara\b",
    r"\bmontefiore\b",
    r"\bhealth alliance\b",
    r"regional medical",
)
# Tested on the name key, after the physician rules: "Banner Health", "Cottage Health", "PIH Health".
HEALTH_SYSTEM_KEY = re.compile(r"^[a-z0-9 ]+ health(?:care)?$")
PUBLIC_AGENCY = _rx(
    r"\bcounty\b",
    r"\bcity of\b",
    r"\bstate of\b",
    r"department of",
    r"\bdept\.? of",
    r"commission",
    r"\bauthority\b",
    r"\bagency for\b",
    r"veterans affairs",
    r"\bpublic health\b",
    r"\bgovernment\b",
    r"\bcommonwealth of\b",
    r"\bbureau\b",
    r"\bdistrict\b",
    r"\btribe\b",
    r"\btribal\b",
    r"\bnation\b",
)
PHYSICIAN = _rx(
    r"\bM\.?\s?D\.?(?=\W|$)",
    r"\bD\.?O\.?(?=\W|$)",
    r"\bDr\.? ",
    r"physician",
    r"medical group",
    r"medical associates",
    r"\bassociates\b",
    r"\bclinic\b",
    r"\bclinics\b",
    r"practice",
    r"family (?:medicine|practice|health)",
    r"pediatric",
    r"orthop(?:a)?edic",
    r"dermatolog",
    r"surg(?:ery|ical)",
    r"cardio",
    r"oncolog",
    r"neurolog",
    r"podiatr",
    r"retina",
    r"\beye\b",
    r"ear,? nose",
    r"\bENT\b",
    r"women'?s health",
    r"primary care",
    r"\bspine\b",
    r"\bpain\b",
    r"allergy",
    r"gastro",
    r"urolog",
    r"obstetric",
    r"\bOB/?GYN",
    r"chiropract",
    r"physical therap",
    r"optometr",
    r"ophthalm",
    r"health cent(?:er|re)",
    r"community health",
    r"\bP\.?\s?C\.?$",
    r"\bP\.?\s?A\.?$",
    r"\bP\.?\s?L\.?$",
    r"\bPLLC\b",
    r"internal medicine",
    r"urgent care",
    r"specialists",
    r"endocrin",
    r"rheumatolog",
    r"fertility",
    r"plastic surg",
    r"\bASC\b",
    r"ambulatory surg",
    r"digestive",
    r"internists?",
)

BA_BILLING = _rx(
    r"billing",
    r"revenue cycle",
    r"\bclaims\b",
    r"coding",
    r"collection",
    r"accounting",
    r"\bCPAs?\b",
    r"accountant",
    r"medical management",
    r"practice management",
    r"\bRCM\b",
    r"third-party administrator",
    r"\bTPA\b",
    r"benefits administrat",
)
BA_IT = _rx(
    r"software",
    r"\bIT\b",
    r"information (?:systems|technology)",
    r"informatics",
    r"network",
    r"cloud",
    r"hosting",
    r"\bEHR\b",
    r"\bEMR\b",
    r"electronic health record",
    r"\bdata\b",
    r"solutions",
    r"technolog",
    r"\bVPN\b",
    r"cyber",
    r"\bdatabase",
    r"\bweb\b",
    r"portal",
    r"\bfusion\b",
)

NAME_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("behavioral_health", BEHAVIORAL),
    ("dental", DENTAL),
    ("pharmacy", PHARMACY),
    ("laboratory_imaging", LAB_IMAGING),
    ("health_plan", HEALTH_PLAN),
    ("hospital_health_system", HOSPITAL),
)
# The text names what the entity is less reliably than the name does ("the hospital's pharmacy"),
# so text rules use narrower phrases, in the same order.
BEHAVIORAL_TEXT = _rx(
    r"psychiatric (?:hospital|practice|group|facility|clinic|medical)",
    r"mental health (?:provider|center|clinic|practice|network|services)",
    r"behavioral health (?:provider|center|clinic|practice|services)",
    r"substance[- ]use(?: disorder)? treatment",
    r"addiction treatment",
    r"eating disorder treatment",
    r"counseling practice",
    r"psychotherapist",
)
TEXT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dental", _rx(r"dental (?:practice|office|clinic|group)", r"\bdentist\b")),
    ("pharmacy", _rx(r"\bpharmacy\b(?! benefit)", r"pharmacies")),
    (
        "laboratory_imaging",
        _rx(
            r"imaging (?:center|services|provider|company)",
            r"radiology (?:practice|group)",
            r"clinical laborator",
            r"diagnostic (?:imaging|testing|laborator)",
        ),
    ),
    ("hospital_health_system", _rx(r"\bhospital\b", r"health system", r"academic medical center", r"medical center")),
    ("public_agency", _rx(r"county (?:health|government)", r"state agency", r"public health department")),
    (
        "physician_practice",
        _rx(
            r"(?:medical|physician|surgical|family|solo|specialty|care|primary care|"
            r"management|pain management|podiatry|eye|dermatology) practice",
            r"physicians? group",
            r"medical group",
            r"multi-specialty group",
            r"\bclinic\b",
            r"practitioner",
            r"federally qualified health center",
            r"community health center",
            r"\bFQHC\b",
        ),
    ),
)
# Keys: the type lower-cased with "_" as a space ("business_associate", "Business Associate").
_ENTITY_TYPES = {
    "healthcare provider": "healthcare_provider",
    "health plan": "health_plan",
    "business associate": "business_associate",
    "clearinghouse": "clearinghouse",
    "healthcare clearing house": "clearinghouse",
    "health care clearinghouse": "clearinghouse",
    "healthcare clearinghouse": "clearinghouse",
}


def entity_type_code(entity_type: str | None) -> str | None:
    """'Business Associate' / 'business_associate' -> 'business_associate'; unknown or blank -> None."""
    return _ENTITY_TYPES.get(" ".join((entity_type or "").replace("_", " ").lower().split()))


def classify_sector(name: str, entity_type: str | None, text: str | None) -> str:
    """One of SECTORS for an organisation (see the module doc for the order of the rules)."""
    kind = entity_type_code(entity_type)
    text = text or ""
    if kind == "business_associate":
        if HEALTH_PLAN.search(name):  # an insurer acting as business associate of its affiliated plans
            return "health_plan"
        for probe in (name, text):
            if BA_BILLING.search(probe):
                return "business_associate_billing"
            if BA_IT.search(probe):
                return "business_associate_it"
        return "business_associate_other"
    for sector, pattern in NAME_RULES:
        if pattern.search(name):
            return sector
    if kind not in ("health_plan", "clearinghouse") and BEHAVIORAL_TEXT.search(text):
        return "behavioral_health"
    if PHYSICIAN.search(name):
        return "physician_practice"
    if PUBLIC_AGENCY.search(name):
        return "public_agency"
    if kind == "health_plan":
        return "health_plan"
    if kind == "clearinghouse":
        return "business_associate_billing"
    if HEALTH_SYSTEM_KEY.match(name_key(name)):
        return "hospital_health_system"
    for sector, pattern in TEXT_RULES:
        if pattern.search(text):
            return sector
    return "other"


def read_overrides(path: Path, db: sqlite_utils.Database) -> tuple[list[dict], list[dict]]:
    """Rows of sector_overrides.csv whose record is in `db`, and the rows skipped because it is not
    (file, line, field, reason). A malformed row raises BuildError naming file, line and field."""
    if not path.exists():
        return [], []
    out, skipped = [], []
    for line, row in checked_rows(path, OVERRIDE_COLUMNS, BuildError):
        where = f"{path}:{line}"
        if row["kind"] not in KINDS:
            raise BuildError(f"{where}: field 'kind': {row['kind']!r} is not action or breach")
        if row["sector"] not in SECTORS:
            raise BuildError(f"{where}: field 'sector': {row['sector']!r} is not one of {', '.join(SECTORS)}")
        if not row["reason"].strip():
            raise BuildError(f"{where}: field 'reason': empty (say why the rules are wrong here)")
        table, pk = KINDS[row["kind"]]
        if (
            not db[table].exists()
            or not db.execute(f"select 1 from [{table}] where [{pk}] = ?", [row["id"]]).fetchone()
        ):
            skipped.append(problem(path, line, "id", f"no {row['kind']} {row['id']!r} in {table}"))
            continue
        out.append(dict(row, line=line))
    return out, skipped


def _action_text(row: dict) -> str:
    return " ".join([row["summary"] or "", *json.loads(row["incident"] or "[]")])


def load(
    db: sqlite_utils.Database, overrides_path: Path, echo=print, warnings: list[dict] | None = None
) -> dict[str, int]:
    """Fill enforcement_actions.sector and breaches.sector (rules, then overrides). Override rows naming a
    record absent from `db` are printed, added to `warnings` (the build's ctx.warnings) and skipped."""
    overrides, skipped = read_overrides(overrides_path, db)
    report(skipped, echo, warnings)
    counts: dict[str, int] = {}
    for kind, (table, pk), query, text_of in (
        (
            "action",
            KINDS["action"],
            "select id, entity as name, entity_type, summary, incident from enforcement_actions",
            _action_text,
        ),
        (
            "breach",
            KINDS["breach"],
            "select id, entity_name as name, covered_entity_type as entity_type, description from breaches",
            lambda r: r["description"] or "",
        ),
    ):
        if not db[table].exists():
            continue
        sectors = {r["id"]: classify_sector(r["name"], r["entity_type"], text_of(r)) for r in db.query(query)}
        for o in overrides:
            if o["kind"] == kind:
                sectors[o["id"]] = o["sector"]
        with db.conn:
            db.conn.executemany(
                f"update [{table}] set sector = ? where [{pk}] = ?", [(s, i) for i, s in sorted(sectors.items())]
            )
        db.table(table).create_index(["sector"], if_not_exists=True)
        tally: dict[str, int] = {}
        for s in sectors.values():
            tally[s] = tally.get(s, 0) + 1
        echo(
            f"derive sectors {table}: "
            + ", ".join(f"{s} {tally[s]}" for s in SECTORS if s in tally)
            + f" ({sum(o['kind'] == kind for o in overrides)} by override)"
        )
        counts[f"{kind}_sectors"] = len(sectors)
    return counts


def stage(ctx: BuildContext) -> None:
    ctx.counts.update(load(ctx.db, ctx.curated_dir / OVERRIDES_FILE, ctx.echo, ctx.warnings))
