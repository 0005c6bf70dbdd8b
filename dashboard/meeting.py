"""What the joint meeting looks at, as page sections the overview and 会议展示 share.

Each section is one function taking the filters, so a page is a list of calls
and another engineer's section (issue 9's progress figures) slots in beside
these without touching them: the street ranking and the department ranking
with their changes (环比/同比), the city map coloured by a figure, a period's
figure or a change with classes fixed across the periods compared, the typical
cases of a quarter, and large HTML tables for the projector that print
without breaking a number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import common, data
from dashboard import map as pmap
from geo import measures, periods
from layers import accountability, compare, registry
from layers import street_areas as streets_layer
from layers.base import Layer, LayerData
from layers.filters import Filters
from layers.html import esc

#: Map views: key → label. A period's figure (classes shared by the three periods) or a change.
MAP_VIEWS = {"current": "本期", "prev": "上期", "yoy": "去年同期", "change_prev": "环比变化",
             "change_yoy": "同比变化"}
#: What the rankings can be ordered by, for streets (departments add the time limit).
STREET_KEYS = [k for k in accountability.RANK_KEYS if k not in accountability.DEPARTMENT_ONLY]
DEPARTMENT_KEYS = list(accountability.RANK_KEYS)

#: Help (the written definition) of each column a ranking may carry.
COLUMN_HELP: dict[str, str] = {
    header: measures.help_text(key) for key, header in accountability.HEADERS.items()
    if key != "per_1000"} | {
    "每千户诉求": "期内受理件数 ÷ 辖区住户数 × 1000",
    "排名": measures.ranking_rule_text(),
}


def bases(f: Filters, fetch: Callable[[data.Context, Filters], pd.DataFrame]
          ) -> dict[str, pd.DataFrame]:
    """``fetch`` for the comparison periods of ``f`` (环比 and 同比) that the data cover."""
    c = data.ctx()
    return {kind: fetch(c, f.compared(kind)) for kind in accountability.CHANGE_KINDS
            if common.comparable(f, kind)}


def street_ranking(f: Filters, key: str = "overdue") -> pd.DataFrame:
    """The street offices the account may see, ranked by ``key``, with 环比/同比."""
    c = data.ctx()
    table = accountability.street_table(data.street_figures(c, f.area(None, None)),
                                        bases(f.area(None, None), data.street_figures), key)
    return table[table["街道/镇"].isin(set(common.visible_streets().values()))]


def department_ranking(f: Filters, key: str = "overdue", role: str = "lead") -> pd.DataFrame:
    """The departments in ``role`` (牵头/配合) ranked by ``key``, with 环比/同比."""
    c = data.ctx()
    return accountability.department_table(data.departments(c, f),
                                           bases(f, data.departments), key, role)


def comparison_caption(f: Filters, kinds: Sequence[str] = tuple(accountability.CHANGE_KINDS)
                       ) -> str:
    """Which days 环比 and 同比 (or ``kinds``) compare with, and the flat threshold."""
    p, first = f.period, data.first_day(data.ctx())
    return ("　".join(compare.comparison_text(k, p, first) for k in kinds)
            + f"　·　±{compare.flat_pct():g}% 以内为持平（→）")


def column_config(df: pd.DataFrame) -> dict[str, Any]:
    """Streamlit column settings carrying each column's written definition as its help."""
    return {col: st.column_config.Column(help=COLUMN_HELP[col])
            for col in df.columns if col in COLUMN_HELP}


def show_ranking(df: pd.DataFrame, *, height: int = 420, key: str | None = None) -> None:
    st.dataframe(df, hide_index=True, width="stretch", height=height,
                 column_config=column_config(df), key=key)


# --- the city map with comparisons -------------------------------------------------------

def street_map(f: Filters, measure: str, view: str = "current", *, label_px: int = 15,
               outline: float = 1.2,
               extra: Sequence[tuple[Layer, LayerData, dict[str, Any]]] = ()
               ) -> tuple[pmap.MapView, str]:
    """The street offices coloured by ``measure`` in ``view`` (:data:`MAP_VIEWS`), figures
    printed on the areas. The class bounds are shared by this period, the previous
    one and the same period last year, so a colour means the same figure on all three
    maps; a change is coloured in the fixed change classes."""
    c = data.ctx()
    f = f.area(None, None)
    layer = registry.get("street_areas")
    by_period: dict[str, LayerData] = {
        "current": data.layer_data(c, "street_areas", f),
        "prev": data.layer_data(c, "street_areas", f.compared("prev")),
        "yoy": data.layer_data(c, "street_areas", f.compared("yoy"))}
    bounds = streets_layer.shared_bounds(list(by_period.values()), measure)
    options: dict[str, Any] = {"measure": measure, "label_px": label_px, "outline": outline,
                               "show_values": True}
    if view.startswith("change_"):
        kind = view.removeprefix("change_")
        shown = by_period["current"]
        options |= {"change_from": by_period[kind],
                    "change_label": periods.COMPARISONS[kind][0]}
    else:
        shown = by_period[view]
        options |= {"bounds": bounds,
                    "bounds_note": "本期、上期、去年同期三期共用分级：同一颜色即同一数值"}
    drawn: list[tuple[Layer, LayerData, dict[str, Any]]] = [(layer, shown, options), *extra]
    return pmap.build(drawn, bounds=pmap.city_bounds(shown.features, margin=0.12))


def view_period_text(f: Filters, view: str) -> str:
    """The days a map view shows, in words."""
    if view == "current":
        return f"本期 {f.period.text()}"
    if view in ("prev", "yoy"):
        return f"{MAP_VIEWS[view]} {periods.compare(f.period, view).text()}"
    kind = view.removeprefix("change_")
    return (f"本期 {f.period.text()} 对比{MAP_VIEWS[kind]} "
            f"{periods.compare(f.period, kind).text()}")


# --- tables for the projector and for print ------------------------------------------------

def _cell(col: str, v: Any) -> str:
    text = common.fmt_value(v.item() if hasattr(v, "item") else v)
    cls = []
    if isinstance(v, str) and v[:1] in compare.ARROWS.values():
        cls.append({"▲": "up", "▼": "down", "→": "flat"}[v[:1]])
    if col in ("排名",) or not isinstance(v, str) or v[:1] in compare.ARROWS.values():
        cls.append("num")
    attr = f' class="{" ".join(cls)}"' if cls else ""
    return f"<td{attr}>{esc(text)}</td>"


def html_table(df: pd.DataFrame, *, max_rows: int | None = None, cls: str = "") -> str:
    """``df`` as a large-type HTML table: numbers never wrap (print and projector), rises
    red and falls green, headers carrying their definition as a tooltip."""
    rows = df if max_rows is None else df.head(max_rows)
    head = "".join(
        f'<th title="{esc(COLUMN_HELP[c])}">{esc(c)}</th>' if c in COLUMN_HELP
        else f"<th>{esc(c)}</th>" for c in rows.columns)
    body = "".join("<tr>" + "".join(_cell(c, v) for c, v in zip(rows.columns, r, strict=True))
                   + "</tr>" for r in rows.itertuples(index=False))
    return (f'<table class="pm-table {esc(cls)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def typical_table(f: Filters, quarter: str) -> pd.DataFrame:
    """The quarter's typical cases as the meeting reads them (no case text: the note)."""
    df = data.typical_cases(data.ctx(), f, quarter)
    out = pd.DataFrame({
        "工单号": df["case_no"], "问题类别": df["category"], "层级": df["level"],
        "牵头部门": df["lead_dept"], "街道/镇": df["street"].fillna("—"),
        "小区": df["compound"].fillna("—"), "状态": df["status"],
        "说明": df["note"]})
    return out


def rank_key_picker(options: Sequence[str], *, key: str, default: str = "overdue",
                    label: str = "排序依据") -> str:
    """A select box of ranking keys (its help states the fair minimum)."""
    return str(st.selectbox(label, list(options), index=list(options).index(default),
                            format_func=lambda k: accountability.RANK_KEYS[k].label, key=key,
                            help=measures.ranking_rule_text()) or default)
