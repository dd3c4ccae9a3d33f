"""Server-rendered SVG charts (no JavaScript, nothing loaded from a CDN): plain and stacked bars, optional
links per bar, faded bars for incomplete years; amounts on a logarithmic axis; horizontal shares.

The charts are fluid: an SVG without a viewBox, as wide as its container, horizontal positions in percent
and vertical ones in pixels. Its text keeps its CSS size (12 px, site.css) at every width: a 640-unit
viewBox drawn 358 px wide on a phone shrank 10 px labels to 5.6 px. Titles, legends and notes are HTML
around the SVG, where they wrap; a crowded category axis is labelled vertically. Labels and titles are
escaped.
"""

from __future__ import annotations

import math
from urllib.parse import quote

from markupsafe import Markup, escape

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#7a7a7a", "#30343f"]
CHAR_PX = 7.2  # width of a character of the 12 px axis text, roughly: enough to lay labels out
NARROW_PX = 350  # a chart's width on a 390 px phone (less the page's margins): labels must fit there
INCOMPLETE_NOTE = "* incomplete year: faded bars undercount (see coverage below)"


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


def _svg(css_class: str, title: str, height: float, width: int, role: str = "img") -> str:
    """The opening of a fluid chart: its title as HTML (it wraps; the SVG's own label says it to a screen
    reader), then an SVG as wide as its container up to `width` px, `height` px tall."""
    return (
        f'<p class="chart-title" aria-hidden="true">{escape(title)}</p>'
        f'<svg class="{css_class}" role="{role}" width="100%" height="{height:.0f}" style="max-width: {width}px" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )


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


def _category_labels(categories: list[str], incomplete: frozenset[str], left: float, step: float, y: float):
    """The category axis: horizontal labels when they fit side by side on a phone, else vertical ones
    (every category, or every k-th when even those crowd), the incomplete ones starred. Returns (the SVG,
    the height the labels take)."""
    labels = [f"{c}*" if c in incomplete else str(c) for c in categories]
    longest = max((len(s) for s in labels), default=1) * CHAR_PX
    narrow_step = NARROW_PX * step / 100  # px per category on a phone
    if longest + 6 <= narrow_step:
        return "".join(
            f'<text class="axis" x="{left + (i + 0.5) * step:.2f}%" y="{y + 14:.0f}" text-anchor="middle">'
            f"{escape(label)}</text>"
            for i, label in enumerate(labels)
        ), 20
    every = max(1, math.ceil(14 / narrow_step))
    out = []
    for i, (category, label) in enumerate(zip(categories, labels, strict=True)):
        if (len(categories) - 1 - i) % every == 0 or category in incomplete:
            # a nested svg puts the origin at the bar's centre, so the label can turn about it
            out.append(
                f'<svg x="{left + (i + 0.5) * step:.2f}%" y="{y + 4:.0f}" width="1" height="1" overflow="visible">'
                f'<text class="axis" transform="rotate(-90)" text-anchor="end" dy="0.35em">{escape(label)}</text></svg>'
            )
    return "".join(out), longest + 10


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
    Categories in `incomplete` are drawn faded, their label starred, with a note under the chart.
    `height` is the plot's with its value axis; the category labels add theirs."""
    top, right = 16, 1.0
    totals = {c: sum(s.get(c, 0) or 0 for s in series.values()) for c in categories}
    peak = _nice_ceiling(max(totals.values(), default=0))
    ticks = [unit + _short(peak * i / 4) for i in range(5)]
    # the value labels sit in a gutter as wide as the longest of them on a phone
    left = min(18.0, 1 + max(len(t) for t in ticks) * CHAR_PX * 100 / NARROW_PX)
    plot_h = height - top - 20
    step = (100 - left - right) / max(len(categories), 1)
    axis, axis_h = _category_labels(categories, incomplete, left, step, top + plot_h)
    # A chart whose bars are links is a group of links, not one image (axe: nested-interactive).
    out = [_svg("chart", title, top + plot_h + axis_h, width, role="group" if href else "img")]
    for i, label in enumerate(ticks):
        y = top + plot_h - plot_h * i / 4
        out.append(
            f'<line class="grid" x1="{left:.2f}%" x2="{100 - right:.2f}%" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis axis-value" x="0" y="{y + 4:.1f}">{escape(label)}</text>'
        )
    for i, category in enumerate(categories):
        out.append(_stack(category, series, x=left + i * step + step * 0.1, bar_w=step * 0.8, unit=unit,
                          base=top + plot_h, plot_h=plot_h, peak=peak, href=href, incomplete=incomplete))  # fmt: skip
    out.append(axis)
    out.append("</svg>")
    legend = [name for name in series if name]
    if legend:
        out.append('<ul class="chart-legend">')
        out += [
            f'<li><span class="swatch" style="background: {PALETTE[j % len(PALETTE)]}"></span>{escape(name)}</li>'
            for j, name in enumerate(legend)
        ]
        out.append("</ul>")
    if any(c in incomplete for c in categories):
        out.append(f'<p class="chart-note">{escape(INCOMPLETE_NOTE)}</p>')
    return Markup("".join(out))


def _stack(category, series, *, x, bar_w, unit, base, plot_h, peak, href, incomplete) -> str:
    """One category's bar: a segment per series, bottom up, each with its tooltip; a link when `href` and the
    bar has a segment (an empty link would have no name for a screen reader to read)."""
    if href and not any((values.get(category, 0) or 0) > 0 for values in series.values()):
        href = None
    out = [f'<a href="{escape(href.format(label=quote(str(category))))}">'] if href else []
    y = base
    for j, (name, values) in enumerate(series.items()):
        value = values.get(category, 0) or 0
        if value <= 0:
            continue
        h = plot_h * value / peak
        y -= h
        tip = f"{category}{' ' + name if name else ''}: {unit}{value:,.0f}"
        faded = ' fill-opacity="0.4" class="incomplete"' if category in incomplete else ""
        if faded:
            tip += " (incomplete year)"
        out.append(
            f'<rect x="{x:.2f}%" y="{y:.1f}" width="{max(bar_w, 0.2):.2f}%" height="{h:.1f}" '
            f'fill="{PALETTE[j % len(PALETTE)]}"{faded}><title>{escape(tip)}</title></rect>'
        )
    if href:
        out.append("</a>")
    return "".join(out)


def _log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten spanning [low, high] (at least two)."""
    first = math.floor(math.log10(max(low, 1)))
    last = max(math.ceil(math.log10(max(high, 1))), first + 1)
    return [10.0**e for e in range(first, last + 1)]


def _anchor(x: float) -> str:
    """Text at x% anchored so that it stays inside the chart near either edge."""
    return "start" if x < 12 else "end" if x > 88 else "middle"


def amount_strip_chart(
    groups: dict[str, list[tuple[str, float]]],
    quartiles: dict[str, float],
    *,
    title: str,
    reference: tuple[str, float] | None = None,
    width: int = 640,
) -> Markup:
    """Amounts on one logarithmic dollar axis: a row of dots per group ({group: [(label, amount)]}, a
    tooltip each, the group's name above it), the quartiles of all of them drawn first (min-max line,
    p25-p75 box, median bar), and an optional dashed reference line (label, amount)."""
    left, right, top, row_h = 2.0, 3.0, 44, 40
    bottom = top + row_h * max(len(groups), 1) + 4
    values = [v for rows in groups.values() for _, v in rows] + ([reference[1]] if reference else [])
    ticks = _log_ticks(min(values, default=1), max(values, default=10))
    span = math.log10(ticks[-1]) - math.log10(ticks[0])

    def x(v: float) -> float:
        return left + (100 - left - right) * (math.log10(max(v, ticks[0])) - math.log10(ticks[0])) / span

    out = [_svg("chart amount-chart", title, bottom + (40 if reference else 22), width)]
    for t in ticks:
        out.append(
            f'<line class="grid" x1="{x(t):.2f}%" x2="{x(t):.2f}%" y1="{top - 22}" y2="{bottom}"/>'
            f'<text class="axis" x="{x(t):.2f}%" y="{bottom + 16}" text-anchor="{_anchor(x(t))}">'
            f"${escape(_short(t))}</text>"
        )
    if quartiles:
        out.append(_quartile_marks(quartiles, x, top - 14))
    for i, (group, rows) in enumerate(groups.items()):
        y = top + row_h * i
        out.append(f'<text class="legend" x="0" y="{y + 12}">{escape(group)}</text>')
        for label, value in rows:
            out.append(
                f'<circle cx="{x(value):.2f}%" cy="{y + 27}" r="5" fill="{PALETTE[i % len(PALETTE)]}" '
                f'fill-opacity="0.75"><title>{escape(label)}: ${value:,.0f}</title></circle>'
            )
    if reference:
        rx = x(reference[1])
        # labelled under the axis, where no dot can cover it, and towards the middle of the chart
        side = ' text-anchor="end"' if rx > 50 else ""
        out.append(
            f'<line class="reference" x1="{rx:.2f}%" x2="{rx:.2f}%" y1="{top - 22}" y2="{bottom + 22}" '
            f'stroke="#8a4b00" stroke-dasharray="4 3"/><text class="legend reference-label" x="{rx:.2f}%" '
            f'y="{bottom + 34}"{side} dx="{-4 if side else 4}" fill="#8a4b00">{escape(reference[0])}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _quartile_marks(q: dict[str, float], x, y: float) -> str:
    """min-max whisker, p25-p75 box and median bar of the quartiles at height y, the median labelled above."""
    tip = escape(
        f"min ${q['min']:,.0f}, 25th percentile ${q['p25']:,.0f}, median ${q['median']:,.0f}, "
        f"75th percentile ${q['p75']:,.0f}, max ${q['max']:,.0f}"
    )
    box_w = max(x(q["p75"]) - x(q["p25"]), 0.3)
    median = x(q["median"])
    return (
        f'<g class="quartiles"><title>{tip}</title>'
        f'<line x1="{x(q["min"]):.2f}%" x2="{x(q["max"]):.2f}%" y1="{y:.1f}" y2="{y:.1f}" stroke="#30343f"/>'
        f'<rect x="{x(q["p25"]):.2f}%" y="{y - 7:.1f}" width="{box_w:.2f}%" height="14" fill="#dbe8f1" stroke="#1f5f8b"/>'
        f'<line x1="{median:.2f}%" x2="{median:.2f}%" y1="{y - 9:.1f}" y2="{y + 9:.1f}" stroke="#d1495b" stroke-width="3"/>'
        f'<text class="legend" x="{median:.2f}%" y="{y - 13:.1f}" text-anchor="{_anchor(median)}">'
        f"median of all ${escape(_short(q['median']))}</text></g>"
    )


def hbar_chart(rows: list[tuple[str, float, str]], *, title: str, total: int, width: int = 640) -> Markup:
    """Horizontal bars, one per (label, count, tooltip), as a share of `total`, largest first: each bar under
    its label and count, so that a long label never squeezes the bar on a phone."""
    row_h = 38
    out = [_svg("chart hbar-chart", title, row_h * max(len(rows), 1) + 4, width)]
    for i, (label, count, tip) in enumerate(rows):
        y = row_h * i
        share = 100 * count / total if total else 0
        out.append(
            f'<text class="legend" x="0" y="{y + 14}">{escape(label)}: {count:,.0f} of {total:,}</text>'
            f'<rect class="track" x="0" y="{y + 20}" width="100%" height="12" fill="#eef3f7"/>'
            f'<rect x="0" y="{y + 20}" width="{max(share, 0.3):.2f}%" height="12" fill="{PALETTE[0]}">'
            f"<title>{escape(tip)}</title></rect>"
        )
    out.append("</svg>")
    return Markup("".join(out))
