"""`scrapy replay` (crawlers/commands/replay.py): the arguments it takes, and what sharing one process with
another spider must not change. The replay itself runs in every `kb build` of the test suite."""

from __future__ import annotations

import csv

import pytest
from scrapy.exceptions import UsageError

from crawlers.commands.replay import parse_replays
from crawlers.exports import FIELD_LIMIT, read_row


def test_each_argument_names_a_spider_and_its_folder() -> None:
    assert parse_replays(["breach_portal=/s/breach_portal", "hhs_enforcement=/s/a=b"]) == {
        "breach_portal": "/s/breach_portal",
        "hhs_enforcement": "/s/a=b",
    }


@pytest.mark.parametrize("args", [["breach_portal"], ["=/s"], ["breach_portal="], ["a=/x", "a=/y"]])
def test_a_malformed_or_repeated_argument_is_a_usage_error(args: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_replays(args)


def test_an_oversized_export_field_is_rejected_even_after_another_spider_raised_the_csv_limit() -> None:
    previous = csv.field_size_limit()
    csv.field_size_limit(50_000_000)  # what hhs_enforcement does in the same replay process
    try:
        with pytest.raises(csv.Error, match="field larger than field limit"):
            read_row('"a","' + "x" * (FIELD_LIMIT + 1) + '"')
        assert read_row('"a","' + "x" * FIELD_LIMIT + '"')[1] == "x" * FIELD_LIMIT
    finally:
        csv.field_size_limit(previous)
