"""The briefing's maps, drawn offline with matplotlib (no browser, no tiles, no network).

They show what 会议展示 shows: the street offices coloured by a figure in the
classes the dashboard uses (:func:`layers.street_areas.shared_bounds`, shared
by the period, the previous one and the same period last year), the figure
printed on each area; the dispute hexagons in the hot-spot classes with open
hazards. Chinese type is Noto Sans CJK (Debian's ``fonts-noto-cjk``, installed
by ``scripts/bootstrap``). The PNG carries no time stamp or software version,
so the same data give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import matplotlib.patheffects as pe
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from layers import street_areas as streets_layer
from layers import style
from layers.base import LayerData

#: Chinese font families, in order of preference (the first installed is used).
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei")
DPI = 200


class FontMissingError(RuntimeError):
    """No Chinese font: the maps would print boxes instead of names."""


def cjk_font() -> str:
    """The Chinese font family matplotlib will use; raises when none is installed."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FONTS:
        if family in names:
            return family
    raise FontMissingError(
        "没有可用的中文字体，简报地图无法显示中文：请安装 fonts-noto-cjk"
        "（运行 scripts/bootstrap，或 apt-get install fonts-noto-cjk）。")


def _frame(data: LayerData) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame.from_features(data.features, crs="EPSG:4326")
    return gdf


def _view(ax: Any, streets: gpd.GeoDataFrame, margin: float = 0.08) -> None:
    core = streets[streets["street_kind"] == "street"]
    x0, y0, x1, y1 = (core if len(core) else streets).total_bounds
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    ax.set_xlim(x0 - dx, x1 + dx)
    ax.set_ylim(y0 - dy, y1 + dy)
    ax.set_axis_off()


def _figure() -> tuple[Figure, Any]:
    """A figure of its own (no pyplot: its global state is not safe across the dashboard's
    threads), 16 × 12.5 cm, the width of the A4 page's text."""
    fig = Figure(figsize=(16 / 2.54, 12.5 / 2.54))
    return fig, fig.subplots()


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight",
                metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def _halo() -> list[Any]:
    return [pe.withStroke(linewidth=3, foreground="white")]


def street_map(streets: LayerData, measure: str, bounds: Sequence[float], title: str) -> bytes:
    """The street offices coloured by ``measure`` in classes ``bounds``, values printed."""
    family = cjk_font()
    label, unit, _good = streets_layer.MEASURES[measure]
    palette = streets_layer.palette(measure)
    gdf = _frame(streets)
    gdf["fill"] = [style.classify(v if not isinstance(v, str) else None, bounds, palette)
                   for v in gdf[measure]]
    fig, ax = _figure()
    gdf.plot(ax=ax, color=gdf["fill"], edgecolor="#333333", linewidth=0.6)
    _view(ax, gdf)
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    for row in gdf.itertuples():
        at = row.geometry.representative_point()
        if not (xmin <= at.x <= xmax and ymin <= at.y <= ymax):
            continue
        value = getattr(row, measure)
        town = row.street_kind == "town"
        shown = "—" if value is None or value != value else (
            f"{value:.1f}%" if unit == "%" else f"{value:,.0f}")
        # parse_math=False: a name is text, never a formula ("$…$" would be one, or break)
        ax.annotate(f"{row.name}\n{shown}", (at.x, at.y), ha="center", va="center",
                    parse_math=False,
                    fontsize=6 if town else 7.5, fontweight="normal" if town else "bold",
                    color="#444444" if town else "#111111", path_effects=_halo(),
                    fontfamily=family)
    items = style.class_items(bounds, palette, "%" if unit == "%" else "")
    legend = ax.legend(handles=[Patch(facecolor=c, edgecolor="#555555", label=t)
                                for c, t in items],
                       title=f"{label}（{unit}）", loc="lower left", framealpha=0.9,
                       prop={"family": family, "size": 7})
    legend.get_title().set_fontfamily(family)
    legend.get_title().set_fontsize(7.5)
    ax.set_title(title, fontsize=10, fontfamily=family)
    return _png(fig)


def hotspot_map(streets: LayerData, hexes: LayerData, hazards: LayerData, title: str) -> bytes:
    """Dispute density on hexagons (the hot-spot layer's quantile classes), street outlines
    and names, open hazards as dots (past their deadline ringed in black)."""
    family = cjk_font()
    gdf = _frame(streets)
    fig, ax = _figure()
    gdf.plot(ax=ax, color="#f4f4f4", edgecolor="#666666", linewidth=0.6)
    items: list[tuple[str, str]] = []
    if hexes.features:
        hx = _frame(hexes)
        bounds = style.quantile_breaks(list(hx["n"]))
        hx["fill"] = [style.classify(v, bounds) for v in hx["n"]]
        hx.plot(ax=ax, color=hx["fill"], edgecolor="#7f0000", linewidth=0.2, alpha=0.85)
        items = style.class_items(bounds, counts=True)
    if hazards.features:
        hz = _frame(hazards)
        colours = [style.THEME_COLORS.get(t, "#333333") for t in hz["theme"]]
        edges = ["#000000" if o else "#ffffff" for o in hz["overdue"]]
        ax.scatter(hz.geometry.x, hz.geometry.y, s=7, c=colours, edgecolors=edges,
                   linewidths=0.5, zorder=3)
    _view(ax, gdf, margin=0.03)
    for row in gdf[gdf["street_kind"] == "street"].itertuples():
        at = row.geometry.representative_point()
        ax.annotate(row.name, (at.x, at.y), ha="center", va="center", fontsize=6.5,
                    parse_math=False,
                    color="#222222", path_effects=_halo(), fontfamily=family)
    handles = [Patch(facecolor=c, edgecolor="#7f0000", label=t) for c, t in items]
    handles += [Patch(facecolor=style.THEME_COLORS[k], edgecolor="#ffffff",
                      label=f"未整改隐患：{name}")
                for k, name in (("fire", "消防"), ("elevator", "电梯"), ("security", "治安"))]
    legend = ax.legend(handles=handles, title="诉求（件/六边形）与隐患（黑圈：逾期未整改）",
                       loc="lower left", framealpha=0.9, prop={"family": family, "size": 6.5})
    legend.get_title().set_fontfamily(family)
    legend.get_title().set_fontsize(7)
    ax.set_title(title, fontsize=10, fontfamily=family)
    return _png(fig)
