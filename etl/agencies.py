"""The enforcers and the words every stage and the site share about their actions.

A leaf module (it imports nothing from `etl`): the loaders write these codes, the site shows their labels.
An action's `agency` is one of `AGENCIES`; its `action_type` (the form of the action) one of `ACTION_FORMS`;
each amount it names has a kind of `AMOUNT_KINDS`.
"""

from __future__ import annotations

# code -> the enforcer's name, in the order the site lists them.
AGENCIES: dict[str, str] = {
    "ocr": "HHS Office for Civil Rights",
    "state_ag": "State attorneys general",
    "ftc": "Federal Trade Commission",
    "doj": "Federal prosecutors (DOJ)",
}
AGENCY_SHORT: dict[str, str] = {"ocr": "OCR", "state_ag": "State AG", "ftc": "FTC", "doj": "DOJ"}
# What each enforcer's actions rest on, in one line (enforcer pages and docs).
AGENCY_BASIS: dict[str, str] = {
    "ocr": "HIPAA's administrative rules, 45 CFR Parts 160 and 164 (civil, 42 U.S.C. 1320d-5)",
    "state_ag": "HIPAA through 42 U.S.C. 1320d-5(d) (added by HITECH), and state consumer-protection, "
    "breach-notification and medical-privacy laws",
    "ftc": "Section 5 of the FTC Act (15 U.S.C. 45(a)) and the Health Breach Notification Rule (16 CFR Part 318)",
    "doj": "HIPAA's criminal provision, 42 U.S.C. 1320d-6 (wrongful disclosure or obtaining of health information)",
}

# The form of an action (enforcement_actions.action_type) -> words.
ACTION_FORMS: dict[str, str] = {
    "resolution_agreement": "Resolution agreement",
    "civil_money_penalty": "Civil money penalty",
    "settlement": "Settlement",
    "assurance_of_voluntary_compliance": "Assurance of voluntary compliance",
    "consent_judgment": "Consent judgment",
    "consent_order": "Consent order",
    "civil_penalty_order": "Civil penalty order",
    "complaint": "Complaint",
    "administrative_decision": "Administrative decision",
    "redress_distribution": "Refunds paid out",
    "plea": "Guilty plea",
    "sentence": "Sentence",
    "charge": "Criminal charge",
    "deferred_prosecution_agreement": "Deferred prosecution agreement",
    "other": "Other",
}

# Kinds of money an action names (action_amounts.kind) -> words.
AMOUNT_KINDS: dict[str, str] = {
    "paid": "paid (settlement or civil penalty)",
    "redress": "consumer redress",
    "state_payment": "paid to states under the same settlement",
    "suspended": "suspended (not collected unless the terms are broken)",
    "redress_distributed": "refunds paid out under an earlier order",
    "required_spending": "security spending required or credited (not a payment)",
    "fine": "criminal fine",
    "restitution": "restitution",
    "other": "other",
}
# The kinds that count as money an action required paid: enforcement_actions.amount_usd and an incident's
# total. Suspended amounts, refunds distributed under an earlier order (already counted there) and
# required spending never count; criminal fines and restitution are part of a sentence.
PAID_KINDS: tuple[str, ...] = ("paid", "redress", "state_payment")
