"""Formatting and links: dollar amounts, counts, safe external addresses, eCFR addresses, and the site's
own paths (built with `datasette.urls`, so they follow Datasette's `base_url` setting).

Everything read from the sources is data: it reaches HTML only through Jinja autoescaping or
`markupsafe.escape`, and only http(s) addresses ever become links.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from datasette.utils import tilde_encode

from etl.agencies import ACTION_FORMS, AGENCIES, AGENCY_SHORT, AMOUNT_KINDS
from etl.normalize.geo import STATE_NAMES
from etl.site import DATABASE_NAME as DATABASE  # "kb": Datasette names the database after its file

ECFR_SECTION = "https://www.ecfr.gov/current/title-45/section-{section}"
FEDERAL_REGISTER_DOC = "https://www.federalregister.gov/d/{doc}"
MONTHS = "January February March April May June July August September October November December".split()
# The form of an action in words: etl.agencies' vocabulary (never a second copy), "Other action" for other.
ACTION_TYPE_LABELS = {**ACTION_FORMS, "other": "Other action"}
ENTITY_TYPE_LABELS = {
    "healthcare_provider": "Health care provider",
    "health_plan": "Health plan",
    "business_associate": "Business associate",
    "clearinghouse": "Health care clearinghouse",
    "individual": "Individual (a person charged)",
}
AGENCY_LABELS = AGENCIES  # 'ocr' -> 'HHS Office for Civil Rights', ...
AGENCY_SHORT_LABELS = AGENCY_SHORT  # 'ocr' -> 'OCR', ...
AMOUNT_KIND_LABELS = AMOUNT_KINDS
# A citation that names its own title ('42 CFR 2.31', '16 CFR 318.3', '15 U.S.C. 45(a)', '42 U.S.C. 1320d-6').
_TITLED = re.compile(r"^\d+ (?:CFR|U\.S\.C\.) ")


def usd(value: Any) -> str:
    """'$1,250,000', or '' for no amount."""
    if value is None or value == "":
        return ""
    return f"${float(value):,.0f}"


def number(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def safe_url(url: Any) -> str | None:
    """The address if it is an http(s) URL, else None: a source's `javascript:` link never becomes a link."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.netloc and not re.search(r"\s", url):
        return url
    return None


def cfr_citation(provision_id: str) -> str:
    """A provision id as a citation: '45 CFR 164.308(a)', '45 CFR Part 164' for HIPAA's rules, whose ids
    carry no title; every other id names its title already and is shown as it is ('42 CFR 2.31',
    '16 CFR 318.3', '15 U.S.C. 45(a)', '42 U.S.C. 1320d-6')."""
    return provision_id if _TITLED.match(provision_id) else f"45 CFR {provision_id}"


def agency_label(agency: str | None) -> str:
    """'HHS Office for Civil Rights' for 'ocr'; an unknown code as it is."""
    return AGENCIES.get(agency or "", agency or "unknown")


def long_date(date: str | None) -> str:
    """'January 28, 2026' for '2026-01-28' (other text as it is)."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", date or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        return date or ""
    return f"{MONTHS[int(m.group(2)) - 1]} {int(m.group(3))}, {m.group(1)}"


def federal_register(authority: str | None) -> dict:
    """The Federal Register notice an authority text cites: {'citation': '91 FR 3665', 'url': its
    federalregister.gov address when the text gives the FR Doc number, else None}."""
    cite = re.search(r"\b(\d{2,3}) FR (\d+)\b", authority or "")
    doc = re.search(r"\bFR Doc\.? (\d{4}-\d{5})\b", authority or "")
    return {
        "citation": f"{cite.group(1)} FR {cite.group(2)}" if cite else None,
        "doc": doc.group(1) if doc else None,
        "url": FEDERAL_REGISTER_DOC.format(doc=doc.group(1)) if doc else None,
    }


def ecfr_url(provision_id: str) -> str:
    """eCFR address of a 45 CFR provision, with the paragraph anchor eCFR uses (#p-164.308(a)(1))."""
    section = provision_id.split("(", 1)[0]
    url = ECFR_SECTION.format(section=quote(section))
    return url + (f"#p-{quote(provision_id, safe='.()')}" if "(" in provision_id else "")


def plural(n: int, word: str, words: str | None = None) -> str:
    """'1 breach report', '2,310 breach reports' (`words` for an irregular plural)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def state_name(code: str | None) -> str:
    """'Indiana' for 'IN'; a code without a name (a territory, military mail) as it is; 'unknown' for none."""
    if not code:
        return "unknown"
    return STATE_NAMES.get(code, code)


def year_of(date: str | None) -> str | None:
    return date[:4] if date and re.match(r"\d{4}", date) else None


# ------------------------------------------------------------------ the site's own paths
# `urls` is `datasette.urls`. Row ids are tilde-encoded as Datasette encodes them (the project's ids are
# slugs, which encoding leaves as they are).


def row_path(urls, table: str, row_id: str) -> str:
    return urls.row(DATABASE, table, tilde_encode(str(row_id)))


def action_path(urls, action_id: str) -> str:
    return row_path(urls, "enforcement_actions", action_id)


def breach_path(urls, breach_id: str) -> str:
    return row_path(urls, "breaches", breach_id)


def entity_path(urls, entity_id: str) -> str:
    return row_path(urls, "entities", entity_id)


def provision_path(urls, provision_id: str) -> str:
    return urls.path("/-/provision/" + quote(provision_id, safe=".()"))


def case_card_path(urls, action_id: str, fmt: str) -> str:
    return urls.path(f"/-/case-card/{quote(action_id, safe='')}.{fmt}")
