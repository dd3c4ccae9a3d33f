"""Server-rendered SVG bar charts (no JavaScript, nothing loaded from a CDN): plain and stacked bars,
optional links per bar, faded bars for incomplete years. Labels and titles are escaped."""

from __future__ import annotations

import math
from urllib.parse import quote

from markupsafe import Markup, escape

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#7a7a7a", "#30343f"]


def _short(value: float) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"


def _nice_ceiling(value: float) -> float:
    """The smallest 4 x (1, 2, 2.5 or 5 x 10^k) >= value, so the four grid steps are round numbers; at least
    4, so that an axis of small counts steps by whole numbers (a peak of 1 gave steps of 0.25, shown as 0)."""
    if value <= 4:
        return 4
    step = value / 4
    magnitude = 10 ** math.floor(math.log10(step))
    nice = next(m for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step)
    return 4 * nice * magnitude


def bar_chart(
    points: list[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    href: str | None = None,
    width: int = 640,
    height: int = 220,
    incomplete: frozenset[str] = frozenset(),
) -> Markup:
    """A bar per (label, value). `href` (with {label}) makes each bar a link."""
    return stacked_bar_chart(
        [label for label, _ in points],
        {"": {label: v for label, v in points}},
        title=title,
        unit=unit,
        href=href,
        width=width,
        height=height,
        incomplete=incomplete,
    )


INCOMPLETE_NOTE = "* incomplete year: faded bars undercount (see coverage below)"


def stacked_bar_chart(
    categories: list[str],
    series: dict[str, dict[str, float]],
    *,
    title: str,
    unit: str = "",
    href: str | None = None,
    width: int = 640,
    height: int = 220,
    incomplete: frozenset[str] = frozenset(),
) -> Markup:
    """Stacked bars: one bar per category, one coloured segment per series; a legend when >1 series.
    Categories in `incomplete` are drawn faded, their label starred, with a note under the chart."""
    left, right, top, bottom = 56, 8, 24, 36
    legend = [name for name in series if name]
    legend_h = 18 * ((len(legend) + 2) // 3) if legend else 0
    marked = [c for c in categories if c in incomplete]
    note_h = 16 if marked else 0
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = {c: sum(s.get(c, 0) or 0 for s in series.values()) for c in categories}
    peak = _nice_ceiling(max(totals.values(), default=0))
    step = plot_w / max(len(categories), 1)
    bar_w = max(step * 0.8, 1)
    # A chart whose bars are links is a group of links, not one image (axe: nested-interactive).
    role = "group" if href else "img"
    out = [
        f'<svg class="chart" role="{role}" viewBox="0 0 {width} {height + legend_h + note_h}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="{left}" y="14">{escape(title)}</text>',
    ]
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(unit + _short(value))}</text>"
        )
    label_every = max(1, round(len(categories) / 12))
    for i, category in enumerate(categories):
        x = left + i * step + (step - bar_w) / 2
        y_base: float = top + plot_h
        if href:
            out.append(f'<a href="{escape(href.format(label=quote(str(category))))}">')
        for j, (name, values) in enumerate(series.items()):
            value = values.get(category, 0) or 0
            if value <= 0:
                continue
            h = plot_h * value / peak
            y_base -= h
            tip = f"{category}{' ' + name if name else ''}: {unit}{value:,.0f}"
            faded = ' fill-opacity="0.4" class="incomplete"' if category in incomplete else ""
            if faded:
                tip += " (incomplete year)"
            out.append(
                f'<rect x="{x:.1f}" y="{y_base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"{faded}><title>{escape(tip)}</title></rect>'
            )
        if href:
            out.append("</a>")
        if i % label_every == 0 or category in incomplete:
            star = "*" if category in incomplete else ""
            out.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" '
                f'text-anchor="middle">{escape(category)}{star}</text>'
            )
    for j, name in enumerate(legend):
        lx, ly = left + (j % 3) * (plot_w / 3), height + 4 + 18 * (j // 3)
        out.append(
            f'<rect x="{lx:.1f}" y="{ly:.1f}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text class="legend" x="{lx + 14:.1f}" y="{ly + 9:.1f}">{escape(name)}</text>'
        )
    if marked:
        out.append(
            f'<text class="legend chart-note" x="{left}" y="{height + legend_h + 10}">{escape(INCOMPLETE_NOTE)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten spanning [low, high] (at least two)."""
    first = math.floor(math.log10(max(low, 1)))
    last = max(math.ceil(math.log10(max(high, 1))), first + 1)
    return [10.0**e for e in range(first, last + 1)]


def amount_strip_chart(
    groups: dict[str, list[tuple[str, float]]],
    quartiles: dict[str, float],
    *,
    title: str,
    reference: tuple[str, float] | None = None,
    width: int = 640,
) -> Markup:
    """Amounts on one logarithmic dollar axis: a row of dots per group ({group: [(label, amount)]}, a
    tooltip each), the quartiles of all of them drawn above (min-max line, p25-p75 box, median bar), and an
    optional dashed reference line (label, amount)."""
    left, right, top, row_h = 150, 16, 58, 26
    height = top + row_h * max(len(groups), 1) + 30
    values = [v for rows in groups.values() for _, v in rows] + ([reference[1]] if reference else [])
    ticks = _log_ticks(min(values, default=1), max(values, default=10))
    span = math.log10(ticks[-1]) - math.log10(ticks[0])

    def x(v: float) -> float:
        return left + (width - left - right) * (math.log10(max(v, ticks[0])) - math.log10(ticks[0])) / span

    out = [
        f'<svg class="chart amount-chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="8" y="14">{escape(title)}</text>',
    ]
    bottom = height - 22
    for t in ticks:
        out.append(
            f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 30}" y2="{bottom}"/>'
            f'<text class="axis" x="{x(t):.1f}" y="{bottom + 14}" text-anchor="middle">${escape(_short(t))}</text>'
        )
    if quartiles:
        out.append(_quartile_marks(quartiles, x, top - 22))
    for i, (group, rows) in enumerate(groups.items()):
        y = top + row_h * i + row_h / 2
        out.append(f'<text class="legend" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(group)}</text>')
        for label, value in rows:
            out.append(
                f'<circle cx="{x(value):.1f}" cy="{y:.1f}" r="5" fill="{PALETTE[i % len(PALETTE)]}" fill-opacity="0.75">'
                f"<title>{escape(label)}: ${value:,.0f}</title></circle>"
            )
    if reference:
        rx = x(reference[1])
        out.append(
            f'<line class="reference" x1="{rx:.1f}" x2="{rx:.1f}" y1="{top - 30}" y2="{bottom}" stroke="#8a4b00" '
            f'stroke-dasharray="4 3"/><text class="legend" x="{rx - 4:.1f}" y="{bottom - 4}" text-anchor="end" '
            f'fill="#8a4b00">{escape(reference[0])}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _quartile_marks(q: dict[str, float], x, y: float) -> str:
    """min-max whisker, p25-p75 box and median bar of the quartiles, labelled, at height y."""
    tip = escape(
        f"min ${q['min']:,.0f}, 25th percentile ${q['p25']:,.0f}, median ${q['median']:,.0f}, "
        f"75th percentile ${q['p75']:,.0f}, max ${q['max']:,.0f}"
    )
    box_w = max(x(q["p75"]) - x(q["p25"]), 2)
    return (
        f'<g class="quartiles"><title>{tip}</title>'
        f'<line x1="{x(q["min"]):.1f}" x2="{x(q["max"]):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#30343f"/>'
        f'<rect x="{x(q["p25"]):.1f}" y="{y - 7:.1f}" width="{box_w:.1f}" height="14" fill="#dbe8f1" stroke="#1f5f8b"/>'
        f'<line x1="{x(q["median"]):.1f}" x2="{x(q["median"]):.1f}" y1="{y - 9:.1f}" y2="{y + 9:.1f}" '
        f'stroke="#d1495b" stroke-width="3"/>'
        f'<text class="legend" x="{x(q["median"]):.1f}" y="{y - 12:.1f}" text-anchor="middle">'
        f"median ${escape(_short(q['median']))}</text>"
        f'<text class="axis" x="8" y="{y + 4:.1f}">quartiles of all</text></g>'
    )


def hbar_chart(rows: list[tuple[str, float, str]], *, title: str, total: int, width: int = 640) -> Markup:
    """Horizontal bars, one per (label, count, tooltip), as a share of `total`, largest first."""
    left, right, top, bar_h = 200, 70, 24, 22
    height = top + bar_h * max(len(rows), 1) + 8
    plot_w = width - left - right
    out = [
        f'<svg class="chart hbar-chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="8" y="14">{escape(title)}</text>',
    ]
    for i, (label, count, tip) in enumerate(rows):
        y = top + bar_h * i
        w = plot_w * count / total if total else 0
        out.append(
            f'<text class="legend" x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="{bar_h - 6}" fill="{PALETTE[0]}">'
            f"<title>{escape(tip)}</title></rect>"
            f'<text class="axis" x="{left + w + 4:.1f}" y="{y + 15}">{count:,.0f} of {total:,}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))
