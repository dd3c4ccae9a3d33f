"""How a value reads in a result table: ids as links, coded values and column names in words, lists as
chips, counts with separators, yes/no flags in words.

Datasette renders canned-query results without knowing which table a column came from (render_cell gets
`table=None`), so an `id` is told apart by the row it sits in: an enforcement action's row has `announced`,
a breach report's has `submission_date`. Table pages (`table_cell`) know their table. JSON and CSV keep the
raw values; only the HTML reads in words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from etl.precedents import LABELS
from kb_site.formatting import (
    ACTION_TYPE_LABELS,
    AGENCY_LABELS,
    AMOUNT_KIND_LABELS,
    ENTITY_TYPE_LABELS,
    action_path,
    breach_path,
    safe_url,
)

# The sector vocabulary's words are the precedent range's (etl.precedents.LABELS), capitalised for a cell.
SECTOR_LABELS = {code: words[:1].upper() + words[1:] for code, words in LABELS["sector"].items()}
# Coded columns and their words; a code missing here reads with its underscores as spaces.
CODED_COLUMNS: dict[str, Mapping[str, str]] = {
    "action_type": ACTION_TYPE_LABELS,  # the form of an action: etl.agencies.ACTION_FORMS
    "agency": AGENCY_LABELS,
    "kind": AMOUNT_KIND_LABELS,  # action_amounts.kind only: see coded_value
    "entity_type": ENTITY_TYPE_LABELS,
    "covered_entity_type": ENTITY_TYPE_LABELS,
    "named_as": ENTITY_TYPE_LABELS,  # an action's entity_type: the role its agreement or penalty names
    "sector": SECTOR_LABELS,
    "what_it_is": SECTOR_LABELS,  # a sector, beside a named_as that can say otherwise
    "status": {"under_investigation": "Under investigation", "archived": "Archived"},
    "list": {"hipaa": "HIPAA", "part2": "42 CFR Part 2"},
    "event": {},
    "initiative": {"right_of_access": "Right of access", "risk_analysis": "Risk analysis"},
    "origin": {"curated+crawled": "Curated and crawled"},
    "confidence": {},
}
# 0/1 columns, read as Yes / No. A NULL in them is not a 0: `cap` NULL means no source says (NULL_WORDS).
FLAG_COLUMNS = frozenset(
    {
        "cap",
        "individuals_placeholder",
        "business_associate_present",
        "qualified_service_organization_present",
        "multistate",
        "cites_hipaa",
    }
)
NULL_WORDS = {"cap": "unknown"}
# An empty list where empty means not found rather than none (etl/curated.py: obligations not researched).
EMPTY_LIST_WORDS = {"cap_obligations": "not recorded"}
# Whole numbers that are positions or codes, not quantities: no thousands separator.
NOT_COUNTS = frozenset({"id", "rowid", "line", "record", "curated_line"})
# Column names whose words need more than underscores as spaces.
COLUMN_LABELS = {
    "id": "Id",
    "amount_usd": "Amount",
    "total_usd": "Total",
    "cap_years": "Plan length (years)",
    "similar_id": "Similar action",
    "record_id": "Record",
    "breach_id": "Breach report",
    "entity_name": "Entity",
    "provisions_cited": "Provisions cited",
    "case_card": "Case card",
    "percent_followed": "Percent followed by an action",
    "median_days_at_least": "Median days open, at least",
    "median_days_at_most": "Median days open, at most",
    "days_since_submission_at_least": "Days since submission, at least",
    "open_at_least_days": "Open at least (days)",
    "covered_entity_type": "Type of covered entity",
    "cap": "Corrective action plan",
    "cap_obligations": "Plan obligations",
    "incident": "Incident",
    "hhs_urls": "HHS pages",
    "breach_types": "Types of breach",
    "locations": "Locations",
    "individuals_placeholder": "Placeholder count (500 or 501)",
    "qualified_service_organization_present": "Qualified service organization present",
    "agency": "Enforcer",
    "action_type": "Form of the action",
    "source_record": "Source record",
    "entity_detail": "Entity, as the source names it",
    "entity_type_detail": "Entity type, as the source says",
    "form_detail": "Form, as the source says",
    "amount_note": "Amount note",
    "states": "States",
    "lead_states": "Lead states",
    "multistate": "Multistate",
    "states_note": "States note",
    "cites_hipaa": "Cites HIPAA",
    "hipaa_basis": "HIPAA basis",
    "individuals_affected_text": "Individuals affected, as written",
    "docket": "Docket",
    "forum": "Forum",
    "sentence": "Sentence",
    "incident_id": "Incident",
    "prison_months": "Prison (months)",
    "probation_months": "Probation (months)",
    "supervised_release_months": "Supervised release (months)",
    "fine_usd": "Fine",
    "restitution_usd": "Restitution",
    "plea_or_verdict": "Plea or verdict",
}


def column_label(column: str) -> str:
    """'individuals_affected' -> 'Individuals affected'; known columns by their own label."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    words = column.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def coded_value(column: str, value: Any) -> str | None:
    """A coded value of a known coded column in words, else None."""
    if column not in CODED_COLUMNS or not isinstance(value, str) or not value:
        return None
    if column == "kind" and value not in AMOUNT_KIND_LABELS:
        return None  # other tables' `kind` (provisions, documents, changes) keep their own values
    words = CODED_COLUMNS[column].get(value) or value.replace("_", " ")
    return words[:1].upper() + words[1:]


def record_link(urls, row: Mapping[str, Any], column: str, value: Any) -> Markup | None:
    """A query result's id as a link to its page: action and breach-report ids, told apart by their row."""
    if not isinstance(value, str) or not value:
        return None
    keys = set(row.keys())
    if column == "similar_id" or (column == "id" and "announced" in keys):
        path = action_path(urls, value)
    elif column == "breach_id" or (column == "id" and "submission_date" in keys):
        path = breach_path(urls, value)
    elif column == "record_id" and str(row["kind"]).startswith(("enforcement action", "breach report")):
        path = (breach_path if row["kind"] == "breach report" else action_path)(urls, value)
    else:
        return None
    return Markup('<a href="{}">{}</a>').format(path, value)


def query_cell(urls, row: Mapping[str, Any], column: str, value: Any) -> Markup | str | None:
    """A canned-query cell as it should read, or None to leave it to Datasette."""
    link = record_link(urls, row, column, value)
    if link is not None:
        return link
    if isinstance(value, int) and not isinstance(value, bool) and not is_year_or_rank(column):
        return f"{value:,}"
    return coded_value(column, value)


def is_year_or_rank(column: str) -> bool:
    """Whole numbers that are not quantities: 2024 must not read 2,024."""
    return column in ("rank", "year") or column.endswith(("_year", "year_"))


def flag_words(column: str, value: Any) -> str | None:
    """A 0/1 flag column's value as Yes / No, else None."""
    if column in FLAG_COLUMNS and value in (0, 1) and not isinstance(value, str):
        return "Yes" if value else "No"
    return None


def json_list(value: Any) -> list | None:
    """The items of a JSON array held as text (incident labels, plan obligations, types of breach), else
    None: a value that only looks like one stays as it is."""
    if not isinstance(value, str) or not value.startswith("["):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list) or any(isinstance(item, (list, dict)) for item in items):
        return None
    return items


def chips(column: str, items: list) -> Markup:
    """A list as small labelled spans; an http(s) address is a link named by its host. Every item is
    escaped (Markup.format): source text is data."""
    if not items:
        return Markup('<span class="chips-empty">{}</span>').format(EMPTY_LIST_WORDS.get(column, ""))
    out = []
    for item in items:
        url = safe_url(item)
        if url:
            host = url.split("/")[2].removeprefix("www.")
            out.append(Markup('<a class="chip" href="{}" title="{}">{}</a>').format(url, url, host))
        else:
            out.append(Markup('<span class="chip">{}</span>').format(item))
    return Markup('<span class="chips">{}</span>').format(Markup("").join(out))


def table_cell(column: str, value: Any) -> Markup | str | None:
    """A table page's cell as it should read (lists as chips, codes and flags in words, counts with
    separators), or None to leave it to Datasette."""
    if (items := json_list(value)) is not None:
        return chips(column, items)
    if (words := flag_words(column, value) or coded_value(column, value)) is not None:
        return words
    if isinstance(value, int) and not isinstance(value, bool) and not is_year_or_rank(column):
        return None if column in NOT_COUNTS else f"{value:,}"
    return None


def missing_value(column: str) -> str | None:
    """An empty cell in words where empty means not known (a NULL `cap`), else None (left blank)."""
    return NULL_WORDS.get(column)


def facet_words(column: str, value: Any, label: Any) -> str:
    """A facet value as it should read: Datasette's label (a foreign key's), else the code in words."""
    if label is not None and str(label) != str(value):
        return str(label)
    return flag_words(column, value) or coded_value(column, value) or ("" if value is None else str(value))
