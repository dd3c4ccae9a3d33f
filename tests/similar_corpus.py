"""A small hand-written knowledge base for the similar-case search tests.

HAND-WRITTEN TEST FIXTURE: the actions and breach reports below were written for these tests (loosely
modelled on real OCR cases, but not real records). The tables use the same names and columns as the real
loaders (etl/load_actions.py, etl/load_breaches.py, etl/provisions.py) so that etl/embed.py and
etl/similar.py run on it unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlite_utils

PROVISIONS = [
    ("164.308(a)(1)(ii)(A)", "Risk analysis"),
    ("164.308(a)(1)(ii)(B)", "Risk management"),
    ("164.312(a)(2)(iv)", "Encryption and decryption"),
    ("164.524", "Access of individuals to protected health information"),
    ("164.502(a)", "Uses and disclosures of protected health information: general rules"),
    ("164.530(c)", "Safeguards for protected health information"),
    ("164.312(b)", "Audit controls"),
    ("164.308(a)(5)", "Security awareness and training"),
]

# (id, entity, announced, action_type, amount_usd, incident, summary, provision ids)
ACTIONS = [
    (
        "2020-01-15-alpha-regional-hospital",
        "Alpha Regional Hospital",
        "2020-01-15",
        "resolution_agreement",
        1500000,
        ["ransomware"],
        "Attackers encrypted the hospital's file servers and demanded a ransom; the records of 200,000 patients "
        "were unavailable for two weeks. OCR found the hospital had never conducted an enterprise-wide risk "
        "analysis.",
        ["164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(B)"],
    ),
    (
        "2021-10-10-kappa-orthopedics",
        "Kappa Orthopedics",
        "2021-10-10",
        "resolution_agreement",
        250000,
        ["ransomware"],
        "A ransomware attack encrypted the orthopedic practice's electronic health record system. OCR found "
        "no risk analysis and no risk management plan.",
        ["164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(B)"],
    ),
    (
        "2019-05-01-beta-family-clinic",
        "Beta Family Clinic",
        "2019-05-01",
        "resolution_agreement",
        100000,
        ["theft of unencrypted laptop from employee's car"],
        "An unencrypted laptop holding patient records was stolen from a physician's car. The clinic had not "
        "encrypted its portable devices.",
        ["164.312(a)(2)(iv)", "164.308(a)(1)(ii)(A)"],
    ),
    (
        "2018-03-03-gamma-dental",
        "Gamma Dental",
        "2018-03-03",
        "civil_money_penalty",
        50000,
        ["disclosure of patient information in replies to online reviews"],
        "The dental practice answered negative Yelp reviews by posting patients' names and treatment details.",
        ["164.502(a)"],
    ),
    (
        "2021-07-07-delta-health",
        "Delta Health",
        "2021-07-07",
        "resolution_agreement",
        30000,
        ["delayed patient access to records"],
        "A patient asked for copies of her medical records and waited nine months for them.",
        ["164.524"],
    ),
    (
        "2017-02-02-epsilon-pharmacy",
        "Epsilon Pharmacy",
        "2017-02-02",
        "resolution_agreement",
        2000000,
        ["improper disposal of PHI in unsecured dumpsters"],
        "Pharmacies threw prescription labels and pill bottles with patient names into open trash bins.",
        ["164.530(c)"],
    ),
    (
        "2022-09-09-zeta-health-plan",
        "Zeta Health Plan",
        "2022-09-09",
        "resolution_agreement",
        700000,
        ["phishing / email account compromise"],
        "Employees answered a phishing email and gave away their passwords; hackers read member data in their "
        "mailboxes.",
        ["164.308(a)(5)", "164.308(a)(1)(ii)(A)"],
    ),
    (
        "2016-04-04-eta-medical-center",
        "Eta Medical Center",
        "2016-04-04",
        "resolution_agreement",
        275000,
        ["workforce snooping in celebrity patient records"],
        "Staff looked at a celebrity's medical records without a work reason; the hospital did not review access logs.",
        ["164.312(b)"],
    ),
]

# (id, entity_name, submission_date, breach_type, location, individuals_affected, description)
LONG_TAIL = (
    "Later that month a courier van carrying boxes of paper records to an offsite storage vendor "
    "was broken into and the boxes were stolen."
)
LONG_DESCRIPTION = " ".join(
    [
        "The covered entity reported that an employee of its billing office sent spreadsheets of account numbers "
        "to the wrong recipient on several occasions over a period of months, and that the recipients confirmed "
        "deletion."
    ]
    * 12
    + [LONG_TAIL]
)
BREACHES = [
    (
        "2020-02-01-omega-clinic-tx",
        "Omega Clinic",
        "2020-02-01",
        "Hacking/IT Incident",
        "Network Server",
        40000,
        "A ransomware attack encrypted the clinic's network server; the attackers demanded payment in bitcoin. "
        "The clinic restored from backups and notified patients.",
    ),
    (
        "2019-06-01-sigma-imaging-ca",
        "Sigma Imaging",
        "2019-06-01",
        "Theft",
        "Laptop",
        3000,
        "An unencrypted laptop was stolen from an employee's vehicle.",
    ),
    (
        "2018-08-01-long-billing-ny",
        "Long Billing Services",
        "2018-08-01",
        "Unauthorized Access/Disclosure",
        "Paper/Films, Email",
        900,
        LONG_DESCRIPTION,
    ),
    (
        "2021-01-01-script-test-fl",
        "<script>alert('x')</script> Clinic",
        "2021-01-01",
        "Hacking/IT Incident",
        "Email",
        600,
        "Staff <script>alert('pwned')</script> clicked a phishing link & lost mailbox data.",
    ),
    (
        "2022-05-05-nodesc-hospital-oh",
        "Nodesc Hospital",
        "2022-05-05",
        "Hacking/IT Incident",
        "Network Server",
        12000,
        None,
    ),
]


def build_mini_kb(path: Path) -> sqlite_utils.Database:
    """Create the hand-written mini knowledge base (loaders' tables and FTS only, no embeddings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db["provisions"].insert_all([{"id": p, "heading": h} for p, h in PROVISIONS], pk="id")
    db["enforcement_actions"].insert_all(
        [
            {
                "id": i,
                "entity": e,
                "announced": d,
                "year": int(d[:4]),
                "action_type": t,
                "amount_usd": a,
                "summary": s,
                "incident": json.dumps(inc),
                "agency": "ocr",  # every enforcer's actions share the table (etl/agencies.py)
            }
            for i, e, d, t, a, inc, s, _ in ACTIONS
        ],
        pk="id",
    )
    db["action_provisions"].insert_all(
        [{"action_id": i, "provision": p, "provision_id": p} for i, *_, provs in ACTIONS for p in provs],
        pk=("action_id", "provision"),
    )
    db["breaches"].insert_all(
        [
            {
                "id": i,
                "entity_name": e,
                "submission_date": d,
                "breach_type": t,
                "location": loc,
                "individuals_affected": n,
                "description": desc,
            }
            for i, e, d, t, loc, n, desc in BREACHES
        ],
        pk="id",
    )
    db["enforcement_actions"].enable_fts(["entity", "summary", "incident"], create_triggers=True)
    db["breaches"].enable_fts(["entity_name", "description", "breach_type", "location"], create_triggers=True)
    return db
