"""Fluid charts (kb_site/charts.py), without a server: no viewBox, so their 12 px text keeps its size at
every width; titles, legends and notes as HTML; vertical labels where categories crowd on a phone; every
label escaped. The rendered size on a phone is checked in Chromium (tests/browser/test_table_pages_browser.py)."""

from __future__ import annotations

import re

from kb_site import charts


def _font_px(svg: str) -> set[str]:
    return set(re.findall(r"font-size[:=]\s*\"?(\d+)", svg))


def test_charts_are_fluid_so_their_text_keeps_its_size() -> None:
    years = [str(y) for y in range(2008, 2027)]
    chart = str(charts.bar_chart([(y, i) for i, y in enumerate(years)], title="Actions <per> year", unit="$"))
    svg = chart[chart.index("<svg") :]
    assert "viewBox" not in svg, "no viewBox: the drawing stretches, its 12 px text does not shrink"
    assert 'width="100%"' in svg and not _font_px(svg), "text sizes come from site.css"
    assert '<p class="chart-title" aria-hidden="true">Actions &lt;per&gt; year</p>' in chart
    assert 'transform="rotate(-90)"' in svg, "19 years do not fit side by side on a phone: vertical labels"
    assert all(f">{y}<" in svg for y in years)


def test_few_short_categories_are_labelled_horizontally() -> None:
    svg = str(charts.bar_chart([("1 year", 2), ("2 years", 5)], title="Plans"))
    assert "rotate" not in svg and ">1 year<" in svg and ">2 years<" in svg


def test_incomplete_years_are_starred_and_explained_in_html() -> None:
    chart = str(charts.bar_chart([("2024", 5), ("2025", 7)], title="t", incomplete=frozenset({"2025"})))
    assert ">2025*<" in chart and ">2024<" in chart
    assert '<p class="chart-note">* incomplete year' in chart


def test_a_legend_is_html_and_escaped() -> None:
    chart = str(charts.stacked_bar_chart(["2024"], {"Theft <img>": {"2024": 3}, "Loss": {"2024": 1}}, title="t"))
    assert '<ul class="chart-legend">' in chart and "Theft &lt;img&gt;" in chart and "<img>" not in chart


def test_amount_and_share_charts_are_fluid() -> None:
    amounts = str(
        charts.amount_strip_chart(
            {"Resolution agreements": [("A <b>", 50_000.0), ("B", 2_000_000.0)]},
            {"min": 50_000, "p25": 100_000, "median": 500_000, "p75": 1_000_000, "max": 2_000_000},
            title="Amounts",
            reference=("today's cap", 2_190_294.0),
        )
    )
    shares = str(charts.hbar_chart([("45 CFR 164.308(a)(1)(ii)(A)", 9, "risk analysis")], title="P", total=12))
    for chart in (amounts, shares):
        assert "viewBox" not in chart and 'width="100%"' in chart
    assert "A &lt;b&gt;: $50,000" in amounts and "today&#39;s cap" in amounts
    assert ">45 CFR 164.308(a)(1)(ii)(A): 9 of 12<" in shares and 'width="75.00%"' in shares
