"""The precedent range as a Markdown memo (`/-/precedents.md`, `kb precedents` without --json): the
summary in words, the base rate, today's penalty tiers, every precedent with its HHS source and the eCFR
link of each provision, and the caveats. A pure function of the answer of etl.precedents.precedent_range."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from etl.agencies import AGENCIES
from etl.precedents import citation, label_of

Link = Callable[[str], str]  # an action id -> its address on the site


def md(text: Any) -> str:
    """Text from the data inside Markdown: HTML-escaped (Markdown passes raw HTML through) and markup-inert
    (as kb_site.cards escapes case cards)."""
    s = str(text if text is not None else "").replace("\n", " ")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]#|])", r"\\\1", s)


def link(text: str, url: str | None) -> str:
    """A Markdown link to an http(s) address (in <...>, so the parentheses of eCFR anchors stay in it);
    the text alone for anything else."""
    if not url or not re.fullmatch(r"https?://[^\s<>]+", url):
        return text
    return f"[{text}](<{url}>)"


def usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.0f}"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def memo(answer: dict, generated: str, action_link: Link | None = None) -> str:
    """The whole memo; `action_link` adds a link to each precedent's page on the site."""
    parts = [
        _heading(answer, generated),
        _summary(answer["summary"], who_did(answer["query"])),
        _base_rate(answer["base_rate"]),
        _tiers(answer["penalty_tiers"]),
        _precedents(answer["precedents"], action_link),
        "## Caveats\n\n" + "\n".join(f"- {c}" for c in answer["caveats"]),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def describe_query(query: dict) -> str:
    subject = query["subject"]
    if subject and subject["kind"] == "action":
        return f"cases like {md(subject['entity'])} ({subject['date'] or 'undated'})"
    if subject:
        return f"cases like the breach report of {md(subject['entity'])} ({subject['date']})"
    return f"“{md(query['text'])}”"


def facts_in_words(query: dict) -> list[str]:
    words = []
    for name, value in query["facts"].items():
        if value is None:
            continue
        shown = f"{value:,}" if name == "individuals_affected" else md(label_of(name, value))
        source = query["facts_from"].get(name, "given")
        words.append(f"{name.replace('_', ' ')}: {shown}" + ("" if source == "given" else f" ({source})"))
    return words


def who_did(query: dict) -> str:
    """Who the precedents are from: 'OCR' for an OCR-only range, the enforcers' short names for a few,
    'the enforcers' for all of them."""
    agencies = query.get("agencies") or []
    if not agencies or len(agencies) == len(AGENCIES):
        return "the enforcers"
    return " and ".join(label_of("agency_short", a) for a in agencies)


def sentence_text(sentence: dict | None) -> str:
    """A criminal case's sentence in words: its months of prison, probation and supervised release, fine
    and restitution, else its words as recorded, else its outcome; 'sentence not recorded' for none."""
    if not sentence:
        return "sentence not recorded"
    parts = [
        f"{_months(sentence.get(k))} {words}"
        for k, words in (
            ("prison_months", "in prison"),
            ("probation_months", "of probation"),
            ("supervised_release_months", "of supervised release"),
        )
        if sentence.get(k)
    ]
    parts += [
        f"{words} {usd(sentence[k])}"
        for k, words in (("fine_usd", "fine"), ("restitution_usd", "restitution"))
        if sentence.get(k)
    ]
    return ", ".join(parts) or sentence.get("words") or sentence.get("outcome") or "sentence not recorded"


def _months(value: float | None) -> str:
    n = float(value or 0)
    return plural(int(n), "month") if n.is_integer() else f"{n:g} months"


def sentences_sentence(t: dict) -> str:
    """The criminal cases among the precedents, in one sentence."""
    parts = [f"{plural(t['n'], 'criminal case')} (no amount: sentences instead)"]
    for key, words in (
        ("prison_months", "prison"),
        ("probation_months", "probation"),
        ("supervised_release_months", "supervised release"),
    ):
        f = t[key]
        if f["n"]:
            parts.append(f"{words} in {f['n']} (median {f['median']:g} months, {f['min']:g} to {f['max']:g})")
    if t["with_fine"]:
        parts.append(f"a fine in {t['with_fine']}")
    if t["with_restitution"]:
        parts.append(f"restitution in {t['with_restitution']}")
    outcomes = ", ".join(f"{md(o)} {n}" for o, n in t["outcomes"].items())
    return "; ".join(parts) + (f"; outcomes: {outcomes}" if outcomes else "")


def _heading(answer: dict, generated: str) -> str:
    query = answer["query"]
    facts = facts_in_words(query)
    agencies = query.get("agencies") or []
    lines = [
        f"# Precedent range: {describe_query(query)}",
        "",
        f"What {who_did(query)} did in the enforcement actions most like this incident"
        + (f" ({', '.join(label_of('agency', a) for a in agencies)} only)" if agencies else " (every enforcer)")
        + f". Generated {generated} from the HIPAA enforcement knowledge base. Not legal advice.",
    ]
    if query["text"]:
        lines += ["", f"> {md(query['text'])}"]
    if facts:
        lines += ["", "Facts: " + "; ".join(facts) + "."]
    return "\n".join(lines)


def amount_sentence(a: dict) -> str:
    if not a["n_known"]:
        return f"no amount known ({plural(a['n'], 'action')})"
    return (
        f"median {usd(a['median'])}; middle half {usd(a['p25'])} to {usd(a['p75'])}; "
        f"range {usd(a['min'])} to {usd(a['max'])} ({a['n_known']} of {a['n']} amounts known)"
    )


def cap_sentence(cap: dict) -> str:
    lengths = ", ".join(f"{plural(n, 'plan')} of {plural(int(y), 'year')}" for y, n in cap["years"].items())
    parts = [
        f"{cap['with_plan']} of {cap['n']} with a corrective action plan",
        f"{cap['without_plan']} without"
        + (
            f" ({cap['without_plan_penalties']} of them civil money penalties)" if cap["without_plan_penalties"] else ""
        ),
        f"{cap['unknown']} unknown",
    ]
    text = ", ".join(parts)
    if lengths:
        text += f". Lengths: {lengths}" + (
            f", {cap['years_unknown']} of unknown length" if cap["years_unknown"] else ""
        )
    return text


def _summary(s: dict, who: str = "the enforcers") -> str:
    n = s["n"]
    if not n:
        return f"## What {who} did\n\nNo enforcement action is close enough to this description."
    types = ", ".join(
        plural(c, label_of("action_type", t), label_of("action_types", t)) for t, c in s["by_type"].items() if c
    )
    days = s["time_to_action_days"]
    enforcers = ", ".join(f"{label_of('agency', a)} {c}" for a, c in s.get("by_agency", {}).items())
    lines = [
        f"## What {who} did in {plural(n, 'similar case')}",
        "",
        f"- **Enforcers**: {enforcers}." if enforcers else "",
        f"- **Actions**: {types}; announced {', '.join(f'{y} ({c})' for y, c in s['years'].items())}.",
    ]
    amount = s["amount"]
    if amount.get("pooled", True):
        if amount["n"]:
            lines.append(f"- **Amounts** (dollars of the year announced): {amount_sentence(amount)}.")
            if len(amount["by_type"]) > 1:
                lines += [
                    f"  - {label_of('action_types', t)}: {amount_sentence(a)}." for t, a in amount["by_type"].items()
                ]
    else:
        lines.append("- **Amounts** (dollars of the year announced), per enforcer, never pooled:")
        lines += [f"  - {label_of('agency', a)}: {amount_sentence(f)}." for a, f in amount["by_agency"].items()]
    if s.get("sentences", {}).get("n"):
        lines.append(f"- **Criminal cases**: {sentences_sentence(s['sentences'])}.")
    if s["cap"]["n"]:
        lines.append(f"- **Corrective action plans** (OCR's): {cap_sentence(s['cap'])}.")
    lines = [line for line in lines if line]
    if s["cap"]["obligations"]:
        top = "; ".join(f"{md(label_of('obligation', o['label']))} ({o['count']})" for o in s["cap"]["obligations"][:6])
        lines.append(f"  - Obligations, where recorded ({plural(s['cap']['obligations_recorded'], 'plan')}): {top}.")
    if days["n"]:
        lines.append(
            f"- **From the breach report to the action**: median {days['median']:,.0f} days, "
            f"{days['min']:,} to {days['max']:,} ({days['n']} of {n} actions linked to a report)."
        )
    else:
        lines.append(f"- **From the breach report to the action**: unknown (none of the {n} is linked to a report).")
    for name, rows in (("Initiatives", s["initiatives"]), ("Topics", s["topics"])):
        if rows:
            shown = ", ".join(f"{md(r.get('name') or label_of('initiative', r['value']))} ({r['count']})" for r in rows)
            lines.append(f"- **{name}**: {shown}.")
    return "\n".join(lines) + "\n\n" + _provisions(s["provisions"], n)


def _provisions(rows: list[dict], n: int) -> str:
    if not rows:
        return "No provision is recorded for these actions."
    lines = [
        f"### Provisions cited (of {plural(n, 'precedent')})",
        "",
        "| provision | heading | cited by | basis |",
        "|---|---|---|---|",
    ]
    for r in rows:
        basis = ", ".join(f"{BASIS_WORDS.get(b, b)} {c}" for b, c in r["basis"].items())
        cited = link(md(citation(r["provision"])), r["ecfr_url"])
        lines.append(f"| {cited} | {md(r['heading'])} | {r['count']} of {n} ({r['share']:.0%}) | {basis} |")
    return "\n".join(lines)


BASIS_WORDS = {
    "stated": "stated in the action's documents",
    "mapped": "mapped from OCR's words",
    "rule named": "a HIPAA rule named without a section",
    "authority": "the attorney general's authority under HIPAA",
    "initiative": "from the initiative",
    "first_pass": "first research pass",
}


def _base_rate(b: dict) -> str:
    c = b["criteria"]
    criteria = [f"{k.replace('_', ' ')} {md(label_of(k, v))}" for k, v in c.items() if v]
    head = "## Base rate in the Breach Portal\n\n"
    if not b["similar_reports"]:
        return head + f"No Breach Portal report matches ({'; '.join(criteria) or 'no criteria'})."
    return head + (
        f"{b['with_action']:,} of {b['similar_reports']:,} reports like it ({'; '.join(criteria) or 'all reports'}) "
        f"are linked to an enforcement action ({b['share']:.1%}); {b['under_investigation']:,} of them are still under "
        "investigation."
    )


def _tiers(tiers: list[dict]) -> str:
    if not tiers:
        return ""
    lines = [
        f"## Today's civil money penalty tiers (effective {tiers[0]['effective_date']})",
        "",
        "| tier | culpability | per violation | calendar-year cap | OCR's cap under its 2019 notice (2009 dollars) |",
        "|---|---|---|---|---|",
    ]
    for t in tiers:
        lines.append(
            f"| {t['tier']} | {md(t['culpability'])} | {usd(t['min_per_violation'])} to {usd(t['max_per_violation'])} "
            f"| {usd(t['calendar_year_cap'])} | {usd(t['discretion_cap_2009_dollars'])} |"
        )
    return "\n".join(lines)


def _precedents(precedents: list[dict], action_link: Link | None) -> str:
    if not precedents:
        return ""
    lines = ["## The precedents", ""]
    for p in precedents:
        name = link(md(p["entity"]), action_link(p["id"])) if action_link else md(p["entity"])
        agency = p.get("agency") or "ocr"
        if agency == "ocr":
            plan = {True: "corrective action plan", False: "no plan", None: "plan unknown"}[p["cap"]]
            if p["cap"] and p["cap_years"]:
                plan += f" ({plural(p['cap_years'], 'year')})"
            money = f"{usd(p['amount_usd'])}, {plan}"
            source = " " + (
                link("HHS source", p["hhs_url"])
                if p["hhs_url"]
                else link("source (no hhs.gov address recorded)", p["source_url"])
            )
        else:
            money = md(sentence_text(p.get("sentence"))) if agency == "doj" else usd(p["amount_usd"])
            source = " " + link("source", p["source_url"])
        lines.append(
            f"{p['rank']}. **{name}**, {p['announced'] or 'undated'}: {label_of('agency_short', agency)}, "
            f"{label_of('action_type', p['action_type'])}, {money}.{source}"
        )
        if p["provisions"]:
            cited = ", ".join(link(md(citation(c["provision"])), c["ecfr_url"]) for c in p["provisions"])
            lines.append(f"   Provisions: {cited}.")
        lines.append(f"   Why: {md('; '.join(p['why']))}.")
    return "\n".join(lines)
