"""How a table page's cells and facets read, without a server: lists as chips (escaped), codes and flags in
words, counts with separators, an empty `cap` as unknown (kb_site/cells.py); the sort and facet order of
kb_site/tables.py."""

from __future__ import annotations

import json

from markupsafe import Markup

from kb_site.cells import chips, facet_words, json_list, missing_value, table_cell
from kb_site.tables import in_metadata_order, sort_words


def test_a_json_list_reads_as_chips() -> None:
    cell = table_cell("incident", json.dumps(["ransomware", "no risk analysis"]))
    assert isinstance(cell, Markup)
    assert cell == (
        '<span class="chips"><span class="chip">ransomware</span><span class="chip">no risk analysis</span></span>'
    )


def test_chips_escape_their_text_and_link_only_http_addresses() -> None:
    hostile = ["<script>window.__pwned = 1</script>", "javascript:alert(1)", "https://www.hhs.gov/x?a=1&b=2"]
    cell = str(chips("hhs_urls", hostile))
    assert "<script>" not in cell and "&lt;script&gt;window.__pwned" in cell
    assert 'href="javascript:' not in cell and '<span class="chip">javascript:alert(1)</span>' in cell
    assert '<a class="chip" href="https://www.hhs.gov/x?a=1&amp;b=2"' in cell and ">hhs.gov</a>" in cell


def test_an_empty_list_says_what_empty_means() -> None:
    assert "not recorded" in table_cell("cap_obligations", "[]")  # not researched, not "none"
    assert table_cell("incident", "[]") == '<span class="chips-empty"></span>'


def test_only_real_json_arrays_become_chips() -> None:
    assert json_list("[not json") is None
    assert json_list("plain text") is None
    assert json_list('[["nested"]]') is None
    assert json_list("[1, 2]") == [1, 2]


def test_codes_flags_and_counts_in_words() -> None:
    assert table_cell("action_type", "civil_money_penalty") == "Civil money penalty"
    assert table_cell("covered_entity_type", "healthcare_provider") == "Health care provider"
    assert table_cell("status", "under_investigation") == "Under investigation"
    assert table_cell("origin", "curated+crawled") == "Curated and crawled"
    assert table_cell("cap", 1) == "Yes" and table_cell("cap", 0) == "No"
    assert table_cell("individuals_affected", 192700000) == "192,700,000"
    assert table_cell("year", 2024) is None  # a year is not a quantity
    assert table_cell("curated_line", 1234) is None  # nor is a line number
    assert table_cell("state", "NY") is None  # left to Datasette


def test_unknown_reads_unknown() -> None:
    assert missing_value("cap") == "unknown"
    assert missing_value("amount_usd") is None  # an empty amount stays empty (no source gave it)


def test_facet_values_in_words() -> None:
    assert facet_words("cap", 1, 1) == "Yes"
    assert facet_words("action_type", "resolution_agreement", "resolution_agreement") == "Resolution agreement"
    assert facet_words("entity_id", "anthem-in", "Anthem, Inc.") == "Anthem, Inc."  # a foreign key's label
    assert facet_words("cap_obligations", "risk analysis", "risk analysis") == "risk analysis"


def test_sorts_read_in_words() -> None:
    assert sort_words("announced", True, "TEXT") == "announced, newest first"
    assert sort_words("individuals_affected", True, "INTEGER") == "individuals affected, largest first"
    assert sort_words("entity", False, "TEXT") == "entity, A to Z"


def test_facets_follow_the_metadata_order() -> None:
    results = [{"name": "state"}, {"name": "cap_obligations"}, {"name": "year"}, {"name": "extra"}, {"name": "state"}]
    ordered = in_metadata_order(results, ["year", "state", {"array": "cap_obligations"}])
    assert [f["name"] for f in ordered] == ["year", "state", "cap_obligations", "extra"]


def test_beyond_ocr_codes_read_in_words() -> None:
    from etl.agencies import ACTION_FORMS, AGENCIES
    from kb_site import cells

    for code, words in AGENCIES.items():
        assert cells.coded_value("agency", code) == words
    for code, words in ACTION_FORMS.items():
        if code != "other":
            assert cells.coded_value("action_type", code) == words
    assert cells.coded_value("entity_type", "individual") == "Individual (a person charged)"
    assert cells.flag_words("multistate", 1) == "Yes" and cells.flag_words("cites_hipaa", 0) == "No"
    assert cells.coded_value("kind", "suspended").startswith("Suspended")
    assert cells.coded_value("kind", "section") is None  # provisions.kind keeps its value
    assert cells.column_label("agency") == "Enforcer" and cells.column_label("lead_states") == "Lead states"
