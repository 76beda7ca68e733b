"""Inline SVG charts: probability bars and line charts. Pure string building, no scripts.

Every chart is self-contained SVG with its numbers in ``data-*`` attributes,
so the page needs no charting library and a test can read what was drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from shared.presentation.view import Bar, Point


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]
    css: str  # a class name that sets the colour and dash
    percent: bool = False


def probability_bars(title: str, bars: tuple[Bar, ...]) -> str:
    """One dimension: a horizontal bar per value, length = probability, the most likely highlighted."""
    row_h, label_w, bar_w = 22, 150, 220
    height = row_h * len(bars) + 24
    rows = [f'<text class="chart-title" x="0" y="14">{escape(title)}</text>']
    for i, bar in enumerate(bars):
        y = 22 + i * row_h
        width = max(1.0, bar.probability * bar_w)
        cls = "bar top" if bar.top else "bar"
        rows.append(
            f'<text class="label" x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect class="{cls}" x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 6}"'
            f' data-value="{escape(bar.value)}" data-probability="{bar.probability:.6f}">'
            f"<title>{escape(bar.label)}: {bar.probability:.1%}</title></rect>"
            f'<text class="pct" x="{label_w + width + 4:.1f}" y="{y + 14}">{bar.probability:.0%}</text>'
        )
    return (
        f'<svg class="chart bars" viewBox="0 0 {label_w + bar_w + 40} {height}" width="{label_w + bar_w + 40}"'
        f' height="{height}" role="img" aria-label="{escape(title)}">{"".join(rows)}</svg>'
    )


def line_chart(title: str, series: list[Series], *, y_min: float | None = None, y_max: float | None = None) -> str:
    """Lines over shared periods (x) with their points; an empty chart says so instead of drawing nothing."""
    width, height, left, right, top, bottom = 560, 220, 48, 12, 26, 34
    periods = sorted({p.period for s in series for p in s.points})
    if not periods:
        return (
            f'<svg class="chart line empty" viewBox="0 0 {width} 60" width="{width}" height="60" role="img"'
            f' aria-label="{escape(title)}"><text class="chart-title" x="0" y="14">{escape(title)}</text>'
            f'<text class="label" x="0" y="40">No data yet.</text></svg>'
        )
    values = [p.value for s in series for p in s.points]
    lo = min(values) if y_min is None else min(y_min, min(values))
    hi = max(values) if y_max is None else max(y_max, max(values))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    index = {d: i for i, d in enumerate(periods)}
    span = max(1, len(periods) - 1)

    def sx(period_index: int) -> float:
        return left + (width - left - right) * (period_index / span if len(periods) > 1 else 0.5)

    def sy(value: float) -> float:
        return top + (height - top - bottom) * (1 - (value - lo) / (hi - lo))

    parts = [f'<text class="chart-title" x="0" y="14">{escape(title)}</text>']
    for frac in (0.0, 0.5, 1.0):
        value = lo + frac * (hi - lo)
        y = sy(value)
        label = f"{value:.0%}" if series and series[0].percent else f"{value:.2f}"
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    for i in sorted({0, len(periods) // 2, len(periods) - 1}):
        # The end labels are anchored inwards so that they are not cut at the edges.
        anchor = "start" if i == 0 and len(periods) > 1 else "end" if i == len(periods) - 1 > 0 else "middle"
        parts.append(
            f'<text class="axis" x="{sx(i):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}">'
            f"{periods[i].isoformat()}</text>"
        )
    legend_x = left
    for s in series:
        if not s.points:
            continue
        coords = " ".join(f"{sx(index[p.period]):.1f},{sy(p.value):.1f}" for p in s.points)
        parts.append(
            f'<polyline class="series {s.css}" points="{coords}" data-series="{escape(s.name)}"'
            f' data-points="{len(s.points)}"/>'
        )
        for p in s.points:
            shown = f"{p.value:.1%}" if s.percent else f"{p.value:.3f}"
            parts.append(
                f'<circle class="dot {s.css}" cx="{sx(index[p.period]):.1f}" cy="{sy(p.value):.1f}" r="2.5">'
                f"<title>{escape(s.name)} {p.period.isoformat()}: {shown} (n={p.n})</title></circle>"
            )
        parts.append(
            f'<line class="series {s.css}" x1="{legend_x}" x2="{legend_x + 18}" y1="{height - 6}" y2="{height - 6}"/>'
            f'<text class="label" x="{legend_x + 22}" y="{height - 2}">{escape(s.name)}</text>'
        )
        legend_x += 30 + 7 * len(s.name)
    return (
        f'<svg class="chart line" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f' aria-label="{escape(title)}">{"".join(parts)}</svg>'
    )
