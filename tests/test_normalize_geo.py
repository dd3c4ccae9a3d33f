import pytest

from etl.normalize.geo import parse_state


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("WI", "WI"),
        ("PR", "PR"),
        ("DC", "DC"),
        ("GU", "GU"),
        ("VI", "VI"),
        ("AS", "AS"),
        ("MP", "MP"),
        ("AE", "AE"),
        (" ca ", "CA"),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_parse_state(raw, expected):
    assert parse_state(raw) == expected


@pytest.mark.parametrize("raw", ["XX", "ZZ", "Cal", "C", "U.S.", "ON"])
def test_parse_state_rejects(raw):
    with pytest.raises(ValueError, match="unknown state code"):
        parse_state(raw)
