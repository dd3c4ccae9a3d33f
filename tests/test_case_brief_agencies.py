"""Case briefs, case cards, provision pages and table cells for the enforcers beyond OCR, over real
Datasette HTTP on the pipeline-built database: GoodRx's FTC civil penalty and its 16 CFR Part 318 basis,
a federal criminal case's sentence (and no OCR-only lines), AMCA's suspended $21,000,000 that is not counted
as paid, a multistate settlement's states, state laws as written, and the new citations' provision pages."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import httpx
import pytest

GOODRX = "ftc-2023-02-01-goodrx-holdings"
AMCA = "state-ag-multistate-2021-03-11-retrieval-masters-creditors-bureau"
GIBSON = "doj-2004-08-richard-w-gibson"


def page(url: str) -> str:
    r = httpx.get(url, timeout=120)
    assert r.status_code == 200, (url, r.status_code)
    return r.text


def text_of(markup: str) -> str:
    """The brief's words, tags removed and spaces collapsed."""
    body = markup[markup.find('<article class="case-brief"') : markup.find('<details class="case-raw">')]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def brief(datasette_url: str, action_id: str) -> tuple[str, str]:
    markup = page(f"{datasette_url}/kb/enforcement_actions/{quote(action_id)}")
    return markup, text_of(markup)


def test_goodrx_ftc_brief(datasette_url: str, built_db) -> None:
    markup, words = brief(datasette_url, GOODRX)
    assert (
        built_db.execute("select amount_usd from enforcement_actions where id = ?", [GOODRX]).fetchone()[0] == 1_500_000
    )
    assert "Federal Trade Commission" in words and "Civil penalty order" in words
    assert "Required paid $1,500,000" in words
    assert 'href="/-/provision/16%20CFR%20Part%20318"' in markup and "16 CFR Part 318" in words
    assert "15 U.S.C. 45(a)" in words and "45 CFR 15" not in words and "45 CFR 16" not in words
    for ocr_only in ("Corrective action plan", "From HHS", "HHS announced", "Named as unknown"):
        assert ocr_only not in words, ocr_only
    assert "3:23-cv-00460" in words  # docket


def test_doj_brief_shows_the_sentence_and_no_ocr_lines(datasette_url: str, built_db) -> None:
    markup, words = brief(datasette_url, GIBSON)
    row = built_db.execute("select prison_months, charged, plea_or_verdict, sentenced from criminal_sentences "
                           "where action_id = ?", [GIBSON]).fetchone()  # fmt: skip
    assert row[0] == 16
    assert "Federal prosecutors (DOJ)" in words and 'class="case-sentence"' in markup
    assert "Prison: 16 months" in words
    for step in row[1:]:
        assert step in words
    assert "Corrective action plan" not in words and "data-cap" not in markup and "HHS announced" not in words
    assert "42 U.S.C. 1320d-6(a)(3)" in words and "Defendant" in words and "W.D. Wash." in words
    assert "Required paid" not in words and "Amount not reported" not in words


def test_every_doj_brief_has_no_corrective_action_plan_line(datasette_url: str, built_db) -> None:
    for (action_id,) in built_db.execute("select id from enforcement_actions where agency = 'doj' limit 6"):
        markup, words = brief(datasette_url, action_id)
        assert "Corrective action plan" not in words and 'class="case-sentence"' in markup, action_id


def test_amca_suspended_amount_is_shown_not_counted(datasette_url: str, built_db) -> None:
    amounts = built_db.execute("select kind, amount_usd from action_amounts where action_id = ?", [AMCA]).fetchall()
    assert amounts == [("suspended", 21_000_000)]
    assert built_db.execute("select amount_usd from enforcement_actions where id = ?", [AMCA]).fetchone()[0] is None
    markup, words = brief(datasette_url, AMCA)
    assert "State attorneys general" in words and "Multistate" in words and "led by Indiana, Texas" in words
    assert "40 states + DC" in words  # states_note: the list is not known
    assert "nothing recorded as paid" in words
    assert re.search(r'data-kind="suspended">.*?\$21,000,000.*?<td[^>]*>No</td>', markup, re.S)
    assert "(as written in the source)" in words  # state laws as written


def test_multistate_with_known_states_lists_them(datasette_url: str, built_db) -> None:
    row = built_db.execute("select id, states from enforcement_actions where agency = 'state_ag' and multistate = 1 "
                           "and json_array_length(states) > 1 limit 1").fetchone()  # fmt: skip
    if row is None:
        pytest.skip("no multistate action with its states listed")
    _, words = brief(datasette_url, row[0])
    assert re.search(r"Multistate \(\d+ states: ", words)


@pytest.mark.parametrize("pid", ["15 U.S.C. 45(a)", "16 CFR 318.3", "42 U.S.C. 1320d-6", "16 CFR Part 318"])
def test_new_provision_pages_show_their_own_title(datasette_url: str, built_db, pid: str) -> None:
    heading = built_db.execute("select heading from provisions where id = ?", [pid]).fetchone()[0]
    markup = page(f"{datasette_url}/-/provision/{quote(pid, safe='.()')}")
    assert f"<h1>{html.escape(pid)} — {html.escape(heading)}</h1>" in markup
    assert "45 CFR 1" not in markup.split("<h1>", 1)[1][:40]


def test_unknown_citation_404_names_every_title(datasette_url: str) -> None:
    r = httpx.get(f"{datasette_url}/-/provision/not-a-citation", timeout=60)
    assert r.status_code == 404 and "16 CFR Part 318" in r.text and "42 U.S.C." in r.text


def test_case_cards_for_other_enforcers_claim_no_ocr_finding(datasette_url: str) -> None:
    goodrx = page(f"{datasette_url}/-/case-card/{GOODRX}.md")
    assert "**Enforcer:** Federal Trade Commission" in goodrx and "**Required paid:** $1,500,000" in goodrx
    assert "not an OCR finding" in goodrx and "what OCR found" not in goodrx and "Corrective action plan" not in goodrx
    assert "16 CFR Part 318" in goodrx and "45 CFR 16" not in goodrx
    gibson = page(f"{datasette_url}/-/case-card/{GIBSON}.txt")
    assert "Sentence: prison 16 months" in gibson and "Form: Sentence" in gibson and "OCR found" not in gibson
    amca = page(f"{datasette_url}/-/case-card/{AMCA}.txt")
    assert "$21,000,000 (not counted as paid)" in amca and "led by Indiana" in amca
    ocr = page(f"{datasette_url}/-/case-card/2019-02-07-cottage-health.txt")
    assert "Enforcer: HHS Office for Civil Rights" in ocr and "Corrective action plan:" in ocr


def test_table_cells_read_in_words(datasette_url: str) -> None:
    table = page(f"{datasette_url}/kb/enforcement_actions?agency=doj&_col=agency&_col=action_type&_col=entity_type")
    assert "Federal prosecutors (DOJ)" in table and "Individual (a person charged)" in table
    amounts = page(f"{datasette_url}/kb/action_amounts?action_id={AMCA}")
    assert "Suspended (not collected unless the terms are broken)" in amounts
