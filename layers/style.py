"""Colours and classes shared by layers and legends: strong colours that read on a projector."""

from __future__ import annotations

import math
from collections.abc import Sequence

from layers.html import esc

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
#: 三无 compounds their street office has taken over (三无，已托管): still 三无, being managed.
SANWU_CUSTODY_COLOR = "#ff9f1c"
THEME_COLORS = {"fire": "#e31a1c", "elevator": "#6a3d9a", "security": "#1f78b4"}
#: Credit grades, best to worst (ColorBrewer RdYlGn, 6 classes, reversed): an ordered scale
#: a room can read, where twenty qualitative firm colours could not be told apart.
GRADE_COLORS = {"AAA": "#1a9850", "AA": "#91cf60", "A": "#d9ef8b", "B": "#fee08b",
                "C": "#fc8d59", "D": "#d73027"}
#: The chosen firm's compounds, and every other firm's, when one firm is highlighted.
SELECTED_FIRM = "#08519c"
OTHER_FIRM = "#9e9e9e"
#: Share of households without professional management (sequential, light to dark purple).
GAP_PALETTE = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
#: Compounds without professional management, by class (management-classes.csv keys).
GAP_CLASS_COLORS = {"sanwu": "#c00000", "unmanaged": "#e7298a", "custody": "#fdae61",
                    "owners_self": "#74add1", "work_unit": "#a6d96a", "professional": "#4575b4"}
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


def quantile_breaks(values: Sequence[float], k: int = 5) -> list[float]:
    """Upper bounds of up to ``k`` quantile classes of whole counts (ties merged).

    Counts on hexagons are skewed (a few very busy cells, many with one or two
    cases), so equal intervals leave most cells in the palest class; quantile
    classes hold about as many cells each, so the contrast is visible.
    """
    vals = sorted(v for v in values if v is not None and v == v)
    if not vals:
        return [1.0]
    out: list[float] = []
    for i in range(1, k + 1):
        q = float(math.ceil(vals[math.ceil(i * len(vals) / k) - 1]))
        if not out or q > out[-1]:
            out.append(q)
    return out


def spread(palette: Sequence[str], n: int) -> list[str]:
    """``n`` colours of ``palette``, evenly spaced, always ending with its darkest."""
    if n >= len(palette):
        return list(palette)
    if n == 1:
        return [palette[-1]]
    return [palette[round(i * (len(palette) - 1) / (n - 1))] for i in range(n)]


def classify(value: float | None, bounds: Sequence[float],
             palette: Sequence[str] = SEQUENTIAL) -> str:
    """Colour of ``value`` given class upper ``bounds`` (fewer classes skip palette steps)."""
    if value is None or value != value:
        return NO_DATA
    colours = spread(palette, len(bounds))
    for b, colour in zip(bounds, colours, strict=False):
        if value <= b:
            return colour
    return colours[len(bounds) - 1]


def fmt(x: float) -> str:
    """A class bound as short text (no trailing .0)."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def swatches(title: str, items: Sequence[tuple[str, str]], *, shape: str = "box",
             columns: int = 1, notes: Sequence[str] = ()) -> str:
    """An HTML legend: ``title`` and rows of (colour, label), in ``columns`` columns, and
    ``notes`` under them (what the classes mean, a definition)."""
    radius = "50%" if shape == "dot" else "3px"
    rows = "".join(
        f'<div class="pm-legend-row"><span class="pm-swatch" style="background:{esc(c)};'
        f'border-radius:{radius}"></span>{esc(label)}</div>'
        for c, label in items
    )
    if columns > 1:
        rows = f'<div style="columns:{columns};column-gap:12px">{rows}</div>'
    rows += "".join(f'<div class="pm-legend-note">{esc(n)}</div>' for n in notes)
    return f'<div class="pm-legend"><div class="pm-legend-title">{esc(title)}</div>{rows}</div>'


def explained(title: str, items: Sequence[tuple[str, str, str]], note: str = "") -> str:
    """An HTML legend whose rows say what they mean: (colour, label, explanation), and a note.

    For classes a reader must understand, not just tell apart (hot-spot confidence,
    emerging patterns); every text is escaped.
    """
    rows = "".join(
        f'<div class="pm-legend-row pm-explained"><span class="pm-swatch" '
        f'style="background:{esc(c)}"></span><span>{esc(label)}'
        + (f'<span class="pm-legend-why">{esc(why)}</span>' if why else "")
        + "</span></div>"
        for c, label, why in items)
    foot = f'<div class="pm-legend-note">{esc(note)}</div>' if note else ""
    return (f'<div class="pm-legend"><div class="pm-legend-title">{esc(title)}</div>'
            f"{rows}{foot}</div>")


def class_items(bounds: Sequence[float], palette: Sequence[str] = SEQUENTIAL, unit: str = "",
                *, counts: bool = False) -> list[tuple[str, str]]:
    """(colour, label) of each class: of :func:`breaks`, or of whole ``counts`` from
    :func:`quantile_breaks` (labelled ``≤3``, ``4–8``, …, so no value is in two rows).
    The map's legend and the briefing's printed maps use the same."""
    items, lo = [], 0.0
    for i, (b, c) in enumerate(zip(bounds, spread(palette, len(bounds)), strict=False)):
        if not counts:
            label = f"{fmt(lo)}–{fmt(b)}"
        elif i == 0:
            label = f"≤{fmt(b)}"
        else:
            label = fmt(b) if b == lo + 1 else f"{fmt(lo + 1)}–{fmt(b)}"
        items.append((c, f"{label}{unit}"))
        lo = b
    return items


def class_legend(title: str, bounds: Sequence[float], palette: Sequence[str] = SEQUENTIAL,
                 unit: str = "", *, counts: bool = False, notes: Sequence[str] = ()) -> str:
    """HTML legend of :func:`class_items`."""
    return swatches(title, class_items(bounds, palette, unit, counts=counts), notes=notes)
