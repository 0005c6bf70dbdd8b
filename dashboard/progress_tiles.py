"""The progress figures as pages show them: tiles, a table per street office, a monthly trend.

The figures and their definitions are :mod:`geo.measures`'s (``PROGRESS``),
computed by :mod:`layers.progress` over the sidebar's period; the data come
from :mod:`dashboard.data` (cached per data version and scope, so a record
shows on the next run).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import common, data
from geo import history, measures
from layers import progress
from layers.filters import Filters


def figures(f: Filters) -> dict[str, Any]:
    """The progress figures of ``f``'s area (its street, or every street the account sees)."""
    df = data.progress_by_street(data.ctx(), f)
    if f.street:
        df = df[df["street_code"] == f.street]
    else:
        df = df[df["street_code"].isin(list(common.visible_streets()))]
    return progress.totals(df)


def tiles(f: Filters, *, big: bool = False, stacked: bool = False,
          keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Progress tiles for ``f``'s area and period; returns the figures shown."""
    t = figures(f)
    rate = t["committee_rate"]
    value = {**t, "committee_rate": None if rate is None else f"{rate}%"}
    bad = {"untaken_end", "committee_overdue", "hazards_late", "committee_missing"}
    shown = keys or ("sanwu_start", "taken_over", "untaken_end", "custody_end",
                     "committee_rate", "committee_overdue", "hazards_found", "hazards_on_time",
                     "hazards_late")
    common.kpis([(measures.PROGRESS_BY_KEY[k].label, value[k], k in bad and bool(t[k]))
                 for k in shown], big=big, stacked=stacked)
    return t


def line(f: Filters, keys: tuple[str, ...] = ("untaken_end", "custody_end", "committee_rate",
                                             "committee_overdue", "hazards_late")) -> str:
    """The progress figures in one line of text (where there is no room for tiles)."""
    t = figures(f)
    rate = t["committee_rate"]
    value = {**t, "committee_rate": "—" if rate is None else f"{rate}%"}
    return "工作进展：" + "　·　".join(f"{measures.PROGRESS_BY_KEY[k].label} {value[k]}"
                                      for k in keys)


def definitions() -> None:
    """The written definitions of the progress figures, folded away."""
    cm = history.committee_settings()["eligible_min_households"]
    with st.expander("进展指标的口径"):
        st.markdown("\n".join(f"- {d}" for d in measures.progress_definitions(cm)))


def trend(f: Filters, *, height: int = 260) -> None:
    """The monthly trend: 三无 still open and taken over, committees, hazards."""
    df = data.progress_monthly(data.ctx(), f)
    if df.empty:
        st.info("该时段没有数据。")
        return
    df = df.rename(columns=progress.MONTHLY_HEADERS)
    df["月份"] = [f"{d:%Y-%m}" for d in pd.to_datetime(df["day"])]
    left, right = st.columns(2)
    with left:
        st.markdown("**三无小区（月末）与业委会**")
        st.line_chart(df.set_index("月份")[["三无未托管", "三无已托管", "到期未换届"]],
                      height=height)
    with right:
        st.markdown("**隐患：当月发现与整改完成**")
        st.bar_chart(df.set_index("月份")[["当月发现隐患", "当月整改完成"]], height=height,
                     stack=False)
