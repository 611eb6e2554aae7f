"""Server-rendered SVG charts for the safety dashboard (pure: no Django, no JavaScript).

Two shapes: a horizontal bar chart of rates (one bar a lot, room, practitioner..., with its
numbers written beside it) and a column chart of a monthly series. Every string is escaped here:
labels are user data (lot numbers, room and staff names) and may hold markup. Words come in
already translated, numbers already formatted (the caller localises both). The charts carry
role="img", a <title> and a <desc>; the page shows the same numbers as a table as well.

Colours are SVG presentation attributes with class names (safety/safety.css refines them): the
CSP forbids inline style attributes, and the drawing must read without the stylesheet too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 760
# Bar chart: label column, bar area, then the written numbers (room for "0.42 per 100 · 40 events
# / 10,000 sessions").
BAR_LABEL_X = 170  # labels end here (right-aligned)
BAR_X = 180
BAR_W = 260
BAR_TEXT_X = BAR_X + BAR_W + 12
BAR_ROW = 26
BAR_HEIGHT = 16
BAR_TOP = 22  # room for the reference line's label
MAX_LABEL_CHARS = 26
# Column chart.
COL_HEIGHT = 240
COL_LEFT = 52
COL_RIGHT = 12
COL_TOP = 28
COL_BOTTOM = 44
# More columns than this: no value over each column, and only some month labels.
COL_WRITTEN_MAX = 14

_PAINT = {
    "bar": 'fill="#1f6f78"',
    "bar-zero": 'fill="none" stroke="#1f6f78" stroke-width="1"',
    "label": 'fill="#16232f" font-size="12"',
    "value": 'fill="#44525f" font-size="12"',
    "axis": 'stroke="#8a98a5" stroke-width="1"',
    "grid": 'stroke="#d5dde3" stroke-width="1"',
    "ref": 'stroke="#a32020" stroke-width="1.5" stroke-dasharray="4 3"',
    "ref-text": 'fill="#a32020" font-size="11"',
    "tick": 'fill="#44525f" font-size="11"',
    "nodata": 'fill="#8a98a5" font-size="12"',
}


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: its label, its rate (None: nothing to show) and its numbers as
    written beside it (e.g. "2.5 per 100 · 3 / 120")."""

    label: str
    value: float | None
    text: str


@dataclass(frozen=True)
class Column:
    """One column of a column chart: its label ("Mar 2025"), its value (None: no data that
    month) and its numbers as written (the tooltip, and over the column when there is room).

    `tick` is written under the column ("Mar"; default the label) and `subtick` under that
    ("2025": give it where the year starts, so that a row of months stays readable)."""

    label: str
    value: float | None
    text: str
    tick: str | None = None
    subtick: str = ""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    """A coordinate, short: 12.0 -> "12", 12.345 -> "12.35"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _plain(value: float) -> str:
    return f"{value:g}"


def _short(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^k at or above `value` (an axis end that reads well)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * (1 + 1e-9):
            return float(step * power)
    return float(10 * power)  # pragma: no cover (10 × power always holds)


def _open(id_prefix: str, css: str, height: float, title: str, desc: str) -> list[str]:
    p = _e(id_prefix)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot {css}" width="{WIDTH}" '
        f'height="{_num(height)}" viewBox="0 0 {WIDTH} {_num(height)}" role="img" '
        f'aria-labelledby="{p}-title {p}-desc" font-family="system-ui, sans-serif">',
        f'<title id="{p}-title">{_e(title)}</title>',
        f'<desc id="{p}-desc">{_e(desc)}</desc>',
    ]


def bar_chart(bars: Sequence[Bar], *, title: str, desc: str, id_prefix: str,
              reference: float | None = None, reference_text: str = "", empty_text: str = "") -> str:
    """A horizontal bar chart as a complete <svg> element.

    `reference` draws a dashed line across the bars at that value (the clinic's overall rate),
    labelled `reference_text`; `empty_text` is written when there are no bars.
    """
    values = [b.value for b in bars if b.value is not None]
    top = max([*values, reference or 0.0, 0.0])
    scale_end = nice_ceiling(top)
    height = BAR_TOP + max(1, len(bars)) * BAR_ROW + 8
    out = _open(id_prefix, "plot-bars", height, title, desc)

    def x_of(value: float) -> float:
        return BAR_X + BAR_W * min(value, scale_end) / scale_end

    out.append(f'<line class="plot-axis" x1="{BAR_X}" y1="{BAR_TOP - 4}" x2="{BAR_X}" '
               f'y2="{_num(height - 6)}" {_PAINT["axis"]}/>')
    if not bars:
        out.append(f'<text class="plot-nodata" x="{BAR_X + 8}" y="{BAR_TOP + 17}" {_PAINT["nodata"]}>'
                   f"{_e(empty_text)}</text>")
    for i, bar in enumerate(bars):
        y = BAR_TOP + i * BAR_ROW
        middle = y + BAR_ROW / 2 + 4
        out.append(f'<g class="plot-row"><title>{_e(bar.label)}: {_e(bar.text)}</title>')
        out.append(f'<text class="plot-label" x="{BAR_LABEL_X}" y="{_num(middle)}" text-anchor="end" '
                   f'{_PAINT["label"]}>{_e(_short(bar.label))}</text>')
        bar_y = y + (BAR_ROW - BAR_HEIGHT) / 2
        if bar.value is not None and bar.value > 0:
            width = max(1.0, x_of(bar.value) - BAR_X)
            out.append(f'<rect class="plot-bar" x="{BAR_X}" y="{_num(bar_y)}" width="{_num(width)}" '
                       f'height="{BAR_HEIGHT}" {_PAINT["bar"]}/>')
        elif bar.value is not None:  # a zero: a thin outline, so the row does not look missing
            out.append(f'<rect class="plot-bar-zero" x="{BAR_X}" y="{_num(bar_y)}" width="2" '
                       f'height="{BAR_HEIGHT}" {_PAINT["bar-zero"]}/>')
        out.append(f'<text class="plot-value" x="{BAR_TEXT_X}" y="{_num(middle)}" {_PAINT["value"]}>'
                   f"{_e(bar.text)}</text></g>")
    if reference is not None and bars:
        x = _num(x_of(reference))
        out.append(f'<line class="plot-ref" x1="{x}" y1="{BAR_TOP - 4}" x2="{x}" y2="{_num(height - 6)}" '
                   f'{_PAINT["ref"]}/>')
        out.append(f'<text class="plot-ref-text" x="{x}" y="{BAR_TOP - 8}" text-anchor="middle" '
                   f'{_PAINT["ref-text"]}>{_e(reference_text)}</text>')
    out.append("</svg>")
    return "".join(out)


def column_chart(columns: Sequence[Column], *, title: str, desc: str, id_prefix: str,
                 axis_text: str = "", no_data_text: str = "–",
                 number: Callable[[float], str] = _plain) -> str:
    """A column chart as a complete <svg> element, with a value axis from 0.

    `axis_text` names the values (e.g. "events per 100 sessions"); a column without a value is
    marked `no_data_text`; `number` writes the axis's tick values (pass a localising formatter).
    """
    plot_w = WIDTH - COL_LEFT - COL_RIGHT
    plot_h = COL_HEIGHT - COL_TOP - COL_BOTTOM
    base = COL_TOP + plot_h
    values = [c.value for c in columns if c.value is not None]
    scale_end = nice_ceiling(max([*values, 0.0]))
    out = _open(id_prefix, "plot-columns", COL_HEIGHT, title, desc)
    if axis_text:
        out.append(f'<text class="plot-tick" x="{COL_LEFT}" y="{COL_TOP - 12}" {_PAINT["tick"]}>'
                   f"{_e(axis_text)}</text>")
    ticks = 4
    for k in range(ticks + 1):
        value = scale_end * k / ticks
        y = _num(base - plot_h * k / ticks)
        out.append(f'<line class="plot-grid" x1="{COL_LEFT}" y1="{y}" x2="{WIDTH - COL_RIGHT}" y2="{y}" '
                   f'{_PAINT["grid"]}/>')
        out.append(f'<text class="plot-tick" x="{COL_LEFT - 6}" y="{y}" dy="4" text-anchor="end" '
                   f'{_PAINT["tick"]}>{_e(number(value))}</text>')
    out.append(f'<line class="plot-axis" x1="{COL_LEFT}" y1="{base}" x2="{WIDTH - COL_RIGHT}" y2="{base}" '
               f'{_PAINT["axis"]}/>')
    n = len(columns)
    slot = plot_w / max(1, n)
    written = n <= COL_WRITTEN_MAX
    every = 1 if written else math.ceil(n / 12)
    for i, column in enumerate(columns):
        centre = COL_LEFT + slot * (i + 0.5)
        out.append(f'<g class="plot-col"><title>{_e(column.label)}: {_e(column.text)}</title>')
        if column.value is None:
            out.append(f'<text class="plot-nodata" x="{_num(centre)}" y="{base - 4}" text-anchor="middle" '
                       f'{_PAINT["nodata"]}>{_e(no_data_text)}</text>')
        else:
            h = plot_h * min(column.value, scale_end) / scale_end
            width = max(2.0, slot * 0.64)
            if h > 0:
                out.append(f'<rect class="plot-bar" x="{_num(centre - width / 2)}" y="{_num(base - h)}" '
                           f'width="{_num(width)}" height="{_num(h)}" {_PAINT["bar"]}/>')
            if written:
                out.append(f'<text class="plot-value" x="{_num(centre)}" y="{_num(base - h - 4)}" '
                           f'text-anchor="middle" {_PAINT["value"]}>{_e(number(column.value))}</text>')
        if i % every == 0:
            tick = column.label if column.tick is None else column.tick
            out.append(f'<text class="plot-tick" x="{_num(centre)}" y="{base + 16}" text-anchor="middle" '
                       f'{_PAINT["tick"]}>{_e(tick)}</text>')
        if column.subtick:
            out.append(f'<text class="plot-tick" x="{_num(centre)}" y="{base + 31}" text-anchor="middle" '
                       f'{_PAINT["tick"]}>{_e(column.subtick)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
