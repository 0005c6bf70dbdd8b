"""Colours and classes shared by layers and legends: strong colours that read on a projector."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Sequential palette (ColorBrewer YlOrRd, 5 classes) for counts and rates.
SEQUENTIAL = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Reversed for measures where high is good (closure rate).
SEQUENTIAL_GOOD = ("#bd0026", "#f03b20", "#fd8d3c", "#a1d99b", "#31a354")

LEVEL_COLORS = {"community": "#2b83ba", "street": "#fdae61", "city": "#7b3294"}
MODE_COLORS = {
    "property_firm": "#4575b4",
    "owners_self": "#74add1",
    "work_unit": "#a6d96a",
    "street_custody": "#fdae61",
    "none": "#b2abd2",
}
SANWU_COLOR = "#c00000"
THEME_COLORS = {"fire": "#e31a1c", "elevator": "#6a3d9a", "security": "#1f78b4"}
#: Qualitative palette for firms (ColorBrewer Paired + Dark2), cycled.
FIRM_COLORS = (
    "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3", "#b2df8a",
    "#fb9a99", "#fdbf6f", "#cab2d6", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e",
    "#e6ab02", "#a6761d", "#666666", "#17becf",
)
NO_DATA = "#dddddd"


def _nice(x: float) -> float:
    if x <= 0:
        return 0.0
    mag = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if x <= m * mag:
            return m * mag
    return 10 * mag


def breaks(values: Sequence[float], k: int = 5) -> list[float]:
    """Upper bounds of ``k`` equal-interval classes from 0 to a rounded maximum."""
    vals = [v for v in values if v is not None and v == v]
    top = _nice(max(vals)) if vals and max(vals) > 0 else 1.0
    return [top * (i + 1) / k for i in range(k)]


def classify(value: float | None, bounds: Sequence[float],
             palette: Sequence[str] = SEQUENTIAL) -> str:
    """Colour of ``value`` given class upper ``bounds``."""
    if value is None or value != value:
        return NO_DATA
    for b, colour in zip(bounds, palette, strict=False):
        if value <= b:
            return colour
    return palette[len(bounds) - 1]


def fmt(x: float) -> str:
    """A class bound as short text (no trailing .0)."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def swatches(title: str, items: Sequence[tuple[str, str]], *, shape: str = "box") -> str:
    """An HTML legend: ``title`` and rows of (colour, label)."""
    radius = "50%" if shape == "dot" else "3px"
    rows = "".join(
        f'<div class="pm-legend-row"><span class="pm-swatch" style="background:{c};'
        f'border-radius:{radius}"></span>{label}</div>'
        for c, label in items
    )
    return f'<div class="pm-legend"><div class="pm-legend-title">{title}</div>{rows}</div>'


def class_legend(title: str, bounds: Sequence[float], palette: Sequence[str] = SEQUENTIAL,
                 unit: str = "") -> str:
    """Legend for classes from :func:`breaks`."""
    items, lo = [], 0.0
    for b, c in zip(bounds, palette, strict=False):
        items.append((c, f"{fmt(lo)}–{fmt(b)}{unit}"))
        lo = b
    return swatches(title, items)
