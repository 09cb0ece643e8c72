"""Charts drawn as SVG on the server: bars, grouped by series.

Why not a JavaScript chart library: the dashboard's charts are bars over months, channels and
tiers, which SVG draws directly; drawn here they need no script, no build step and nothing to
fetch, appear before any script could run, print, and are read by screen readers through
their title and the table beside each chart. (The CSV download gives the same rows.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 240
LEFT = 64
BOTTOM = 40
TOP = 16
# Colours with at least 3:1 contrast against white (WCAG 1.4.11 for graphics).
PALETTE = ("#1f5fa8", "#b3541e", "#2e7d32", "#6a1b9a", "#8d6e00", "#c2185b")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: its id (for the CSV link), title, the labels along the x axis, the series,
    and how to show a value (``shown``: one text per series, per label)."""

    id: str
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    unit: str = ""
    shown: Sequence[Sequence[str]] = field(default_factory=list)
    kind: str = "bars"

    def rows(self) -> list[list[str]]:
        """The chart as a table: a header, then one row per label."""
        head = ["", *(s.name for s in self.series)]
        body = [
            [label, *(self.text(i, j) for i in range(len(self.series)))]
            for j, label in enumerate(self.labels)
        ]
        return [head, *body]

    def text(self, series: int, label: int) -> str:
        if self.shown:
            return self.shown[series][label]
        return _number(self.series[series].values[label])

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def nice_max(value: float) -> float:
    """The top of the axis: 1, 2 or 5 times a power of ten, at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def svg(chart: Chart) -> Markup:
    """The chart as an inline SVG (bars, a y axis with five ticks, labels under the bars)."""
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - BOTTOM - TOP
    top = nice_max(max((v for s in chart.series for v in s.values), default=0))
    n = max(len(chart.labels), 1)
    group = plot_w / n
    bar = group * 0.8 / max(len(chart.series), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart.id)}-title" data-chart="{escape(chart.id)}">',
        f'<title id="{escape(chart.id)}-title">{escape(chart.title)}</title>',
    ]
    for k in range(6):
        y = TOP + plot_h - plot_h * k / 5
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{escape(_number(top * k / 5))}</text>"
        )
    for j, label in enumerate(chart.labels):
        x0 = LEFT + group * j + group * 0.1
        for i, series in enumerate(chart.series):
            value = series.values[j]
            h = plot_h * (value / top) if top else 0
            parts.append(
                f'<rect class="bar" x="{x0 + bar * i:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{max(bar - 1, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(series.name)}, '
                f"{escape(label)}: {escape(chart.text(i, j))}</title></rect>"
            )
        if n <= 16 or j % 2 == 0:
            parts.append(
                f'<text x="{LEFT + group * (j + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'class="label" text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class Heatmap:
    """A grid of cells: rows down, columns across, each with a shade (0–1: its share of the
    darkest) and a text. The table and the CSV give the texts, row by row."""

    id: str
    title: str
    row_title: str
    rows_labels: Sequence[str]
    columns: Sequence[str]
    shades: Sequence[Sequence[float | None]]  # None: no cell (e.g. a month not reached yet)
    texts: Sequence[Sequence[str]]
    note: str = ""
    kind: str = "heatmap"

    def rows(self) -> list[list[str]]:
        head = [self.row_title, *self.columns]
        return [
            head,
            *([label, *texts] for label, texts in zip(self.rows_labels, self.texts, strict=True)),
        ]

    @property
    def empty(self) -> bool:
        return not any(s for row in self.shades for s in row if s)


# From near white to the accent. The text in a cell is black or white, whichever contrasts
# more with its shade: one of the two always reaches 4.5:1 (black does down to a relative
# luminance of 0.175, white up to 0.183).
_LIGHT = (0xF3, 0xF5, 0xF8)
_DARK = (0x1F, 0x5F, 0xA8)


def _rgb(value: float) -> tuple[int, int, int]:
    v = min(max(value, 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * v) for lo, hi in zip(_LIGHT, _DARK, strict=True))
    return r, g, b


def _shade(value: float) -> str:
    r, g, b = _rgb(value)
    return f"#{r:02x}{g:02x}{b:02x}"


def _luminance(rgb: tuple[int, int, int]) -> float:
    def linear(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ink_for(value: float) -> str:
    """Black or white text, whichever contrasts more with the shade of ``value``."""
    lum = _luminance(_rgb(value))
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def heatmap_svg(chart: Heatmap) -> Markup:
    """The grid as an inline SVG: one square per cell, its text inside, labels on two sides."""
    left, top = 120, 28
    n_rows, n_cols = max(len(chart.rows_labels), 1), max(len(chart.columns), 1)
    cell_w = min(90.0, (WIDTH - left - 8) / n_cols)
    cell_h = 26
    height = top + cell_h * n_rows + 8
    width = left + cell_w * n_cols + 8
    parts = [
        f'<svg class="chart heatmap" viewBox="0 0 {width:.0f} {height}" role="img" '
        f'aria-labelledby="{escape(chart.id)}-title" data-chart="{escape(chart.id)}">',
        f'<title id="{escape(chart.id)}-title">{escape(chart.title)}</title>',
    ]
    for j, column in enumerate(chart.columns):
        parts.append(
            f'<text x="{left + cell_w * (j + 0.5):.1f}" y="{top - 8}" class="label" '
            f'text-anchor="middle">{escape(column)}</text>'
        )
    for i, label in enumerate(chart.rows_labels):
        y = top + cell_h * i
        parts.append(
            f'<text x="{left - 6}" y="{y + cell_h / 2 + 4:.1f}" class="label" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        for j, shade in enumerate(chart.shades[i]):
            if shade is None:
                continue
            x = left + cell_w * j
            text = chart.texts[i][j]
            ink = ink_for(shade)
            parts.append(
                f'<rect class="cell" x="{x:.1f}" y="{y}" width="{cell_w - 2:.1f}" '
                f'height="{cell_h - 2}" fill="{_shade(shade)}" data-shade="{shade:.3f}">'
                f"<title>{escape(label)}, {escape(chart.columns[j])}: {escape(text)}</title></rect>"
                f'<text x="{x + cell_w / 2 - 1:.1f}" y="{y + cell_h / 2 + 3:.1f}" '
                f'class="cell-text" text-anchor="middle" fill="{ink}">{escape(text)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
