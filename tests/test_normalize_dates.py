from datetime import date

import pytest

from etl.normalize.dates import parse_submission_date, parse_us_date, period_end

EXPORT_DAY = date(2026, 7, 15)  # the injected "today": the export's date


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("04/26/2024", date(2024, 4, 26)),
        ("10/21/2009", date(2009, 10, 21)),  # earliest report in the archive
        (" 7/1/2026 ", date(2026, 7, 1)),
        ("2026-07-01", date(2026, 7, 1)),
    ],
)
def test_parse_us_date(raw, expected):
    assert parse_us_date(raw) == expected


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("00/00/0000", "impossible date"),
        ("02/30/2024", "impossible date"),
        ("13/01/2024", "impossible date"),
        ("", "not a date"),
        ("April 7, 2026", "not a date"),
        ("01/02/03", "not a date"),
    ],
)
def test_parse_us_date_rejects(raw, reason):
    with pytest.raises(ValueError, match=reason):
        parse_us_date(raw)


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("03/14/2913", "after the export date"),  # typo'd year
        ("07/16/2026", "after the export date"),  # one day after the export
        ("09/22/2009", "before the breach notification rule"),
    ],
)
def test_parse_submission_date_rejects_implausible(raw, reason):
    with pytest.raises(ValueError, match=reason):
        parse_submission_date(raw, not_after=EXPORT_DAY)


def test_submission_on_export_day_is_accepted():
    assert parse_submission_date("07/15/2026", not_after=EXPORT_DAY) == EXPORT_DAY


@pytest.mark.parametrize(
    "prefix, expected",
    [
        ("2024-08", date(2024, 8, 31)),
        ("2024-02", date(2024, 2, 29)),
        ("2026-07-15", date(2026, 7, 15)),
        ("2025", date(2025, 12, 31)),
    ],
)
def test_period_end(prefix, expected):
    assert period_end(prefix) == expected
