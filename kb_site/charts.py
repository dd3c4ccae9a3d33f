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
    """The smallest 4 x (1, 2, 2.5 or 5 x 10^k) >= value, so the four grid steps are round numbers."""
    if value <= 0:
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
    out = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height + legend_h + note_h}" '
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
