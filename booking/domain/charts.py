"""Bar charts drawn as inline SVG on the server: no script, no external file, print-friendly.

Each chart has role="img", a <title> and a <desc> naming every value, and text labels on every
bar, so that colour is never the only carrier of meaning. Colours reach at least 4.5:1 on white.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

#: Series colours: dark blue and dark orange, both above 4.5:1 on white.
COLOURS = ("#0b4f9c", "#a34700")
TEXT = "#1b1b1b"
LABEL_WIDTH = 220
BAR_WIDTH = 340
VALUE_WIDTH = 150
ROW_HEIGHT = 28
TOP = 34

#: What an empty chart says.
NO_READINGS = "No readings in this range."


@dataclass(frozen=True)
class Bar:
    """One row of a chart: a label and its values, one per series."""

    label: str
    values: tuple[float, ...]
    #: What is written after the bar, e.g. "75% (6 of 8 seats)".
    text: str


def _attr(value: str) -> str:
    return escape(value, quote=True)


def bar_chart(chart_id: str, title: str, description: str, bars: list[Bar], *,
              series: tuple[str, ...], scale: float,
              empty: str = NO_READINGS) -> Markup:
    """A horizontal (stacked, when several series) bar chart as an <svg> element.

    `scale` is the value a full-width bar stands for (100 for percentages); `empty` is said
    when there are no bars.
    """
    height = TOP + ROW_HEIGHT * max(len(bars), 1) + 8
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="{_attr(chart_id)}-title {_attr(chart_id)}-desc">',
        f'<title id="{_attr(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{_attr(chart_id)}-desc">{escape(description)} '
        + escape("; ".join(f"{bar.label}: {bar.text}" for bar in bars) or empty)
        + "</desc>",
    ]
    if len(series) > 1:  # a legend, as text and swatches
        x = LABEL_WIDTH
        for index, name in enumerate(series):
            parts.append(f'<rect x="{x}" y="8" width="14" height="14" '
                         f'fill="{COLOURS[index % len(COLOURS)]}"/>')
            parts.append(f'<text x="{x + 20}" y="20" font-size="13" fill="{TEXT}">'
                         f'{escape(name)}</text>')
            x += 30 + 8 * len(name)
    if not bars:
        parts.append(f'<text x="0" y="{TOP + 16}" font-size="14" fill="{TEXT}">'
                     f'{escape(empty)}</text>')
    for row, bar in enumerate(bars):
        y = TOP + row * ROW_HEIGHT
        label = bar.label if len(bar.label) <= 30 else bar.label[:29] + "…"
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" font-size="13" '
                     f'text-anchor="end" fill="{TEXT}">{escape(label)}</text>')
        x = float(LABEL_WIDTH)
        for index, value in enumerate(bar.values):
            length = BAR_WIDTH * min(max(value, 0) / scale, 1) if scale else 0
            if length > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{length:.1f}" height="18" '
                             f'fill="{COLOURS[index % len(COLOURS)]}"/>')
            x += length
        parts.append(f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + 17}" font-size="13" '
                     f'fill="{TEXT}">{escape(bar.text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def fill_rate_chart(chart_id: str, groups, what: str) -> Markup:
    """Fill rate per group (events, books…): seats booked out of seats offered."""
    bars = [Bar(group.label, ((group.figures.fill_rate or 0) * 100,),
                f"{(group.figures.fill_rate or 0) * 100:.0f}% "
                f"({group.figures.seats} of {group.figures.capacity} seats)")
            for group in groups if group.figures.capacity]
    return bar_chart(chart_id, f"Fill rate by {what}",
                     f"Seats booked as a share of seats offered, by {what}.", bars,
                     series=("Fill rate",), scale=100)


def attendance_chart(chart_id: str, groups, what: str) -> Markup:
    """Attended and no-show bookings per group, stacked."""
    marked = [group for group in groups if group.figures.attended + group.figures.no_show]
    scale = max((g.figures.attended + g.figures.no_show for g in marked), default=0)
    bars = [Bar(group.label, (group.figures.attended, group.figures.no_show),
                f"{group.figures.attended} attended, {group.figures.no_show} no-show")
            for group in marked]
    return bar_chart(chart_id, f"Attendance and no-shows by {what}",
                     f"Bookings marked attended and no-show at the desk, by {what}.", bars,
                     series=("Attended", "No-show"), scale=scale,
                     empty="No booking in this range was marked attended or no-show yet."
                     if any(g.figures.readings for g in groups) else NO_READINGS)
