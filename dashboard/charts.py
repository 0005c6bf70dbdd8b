"""Charts of the dashboard (Altair, drawn by Streamlit), in Chinese.

``st.line_chart`` labels a time axis in English (Vega's default locale:
"January", "Mar 02") and draws a period's partial first and last weeks as
drops. Here the axis is numeric (``3月2日``) and partial weeks are scaled to a
whole week and marked (:func:`layers.stats.per_full_week`).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from layers import stats

SERIES = {"received": "受理", "pending": "其中待办", "overdue": "其中超期"}
COLOURS = ["#305496", "#fd8d3c", "#c00000"]


def weekly_trend(trend: pd.DataFrame, *, height: int = 300) -> alt.LayerChart:
    """Cases per week (partial weeks scaled to seven days, hollow points), Chinese axis."""
    scaled = stats.per_full_week(trend)
    long = scaled.melt(id_vars=["week", "days", "partial"], value_vars=list(SERIES),
                       var_name="series", value_name="value")
    long["series"] = long["series"].map(SERIES)
    long["week"] = pd.to_datetime(long["week"])
    long["note"] = ["不满7天（" + str(d) + "天），已按7天折算" if p else "整周"
                    for d, p in zip(long["days"], long["partial"], strict=True)]
    x = alt.X("week:T", title="周（周一起）",
              axis=alt.Axis(format="%-m月%-d日", labelAngle=0, labelOverlap=True))
    y = alt.Y("value:Q", title="件/周")
    colour = alt.Color("series:N", title=None, sort=list(SERIES.values()),
                       scale=alt.Scale(domain=list(SERIES.values()), range=COLOURS),
                       legend=alt.Legend(orient="top"))
    tooltip = [alt.Tooltip("week:T", title="周", format="%Y年%-m月%-d日"),
               alt.Tooltip("series:N", title="指标"), alt.Tooltip("value:Q", title="件/周"),
               alt.Tooltip("note:N", title="说明")]
    base = alt.Chart(long).encode(x=x, y=y, color=colour, tooltip=tooltip)
    line = base.mark_line(strokeWidth=2.5)
    points = base.mark_point(size=70, strokeWidth=2).encode(
        fill=alt.condition("datum.partial", alt.value("white"), colour),
        shape=alt.condition("datum.partial", alt.value("circle"), alt.value("circle")))
    return alt.LayerChart(layer=[line, points]).properties(height=height)
