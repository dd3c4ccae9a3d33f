"""Dollar amounts in HHS press releases; the phrases are from the 2018-2019 releases in the snapshot."""

import pytest

from etl.normalize.amounts import find_amounts, parse_amount


@pytest.mark.parametrize(
    "text, dollars",
    [
        ("$16 million", 16_000_000),
        ("$16,000,000", 16_000_000),
        ("$999000", 999_000),  # the scraper dropped the commas
        ("$4348000", 4_348_000),
        ("$5.55 million", 5_550_000),  # exact, no float error
        ("$1.5M", 1_500_000),
        ("$100K", 100_000),
        ("$3 Million", 3_000_000),
        ("$2.34 billion", 2_340_000_000),
        ("$260\xa0million", 260_000_000),
        ("$260\\xa0million", 260_000_000),  # literal escape left by the scraper
        ("$1,190,000.50", 1_190_001),  # cents rounded half-up
        ("$ 125,000", 125_000),
    ],
)
def test_parse_amount(text, dollars):
    assert parse_amount(text) == dollars


@pytest.mark.parametrize("text", ["16 million", "$", "$1,50", "$five million", "about $3 million"])
def test_parse_amount_rejects(text):
    with pytest.raises(ValueError, match="not a dollar amount"):
        parse_amount(text)


def test_find_amounts_in_running_text():
    text = (
        "Anthem Inc. has agreed to pay $16 million to the U.S. Department of Health and Human Services "
        "... In addition to the $16 million settlement Anthem ... MD Anderson to pay $4348000 in civil "
        "money penalties; $35 for a month; and $10M to Diassess"
    )
    found = find_amounts(text)
    assert [a.dollars for a in found] == [16_000_000, 16_000_000, 4_348_000, 35, 10_000_000]
    assert text[found[2].start : found[2].end] == "$4348000"
    assert found[3].text == "$35"  # "for" is not a unit
