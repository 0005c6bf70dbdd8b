"""The open hazards of a hotspot theme (隐患热点's list, its download and its rectification form).

One query: the list a fire brigade or police officer reads, the workbook they
download and the hazards the rectification form offers are the same rows, so a
hazard can be recorded exactly when it is listed.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from geo import measures
from geo.models import HAZARD_STATUSES
from geo.models import HAZARD_THEMES as HAZARD_THEME_LABELS
from layers.base import frame
from layers.filters import Filters
from layers.hotspot_stats import HAZARD_THEMES

#: The list's columns and their Chinese headings, in order.
TABLE_COLUMNS = {"id": "隐患编号", "compound": "小区", "street": "街道/镇", "theme": "隐患类别",
                 "description": "隐患描述", "found_on": "发现日期", "due_on": "整改期限",
                 "status": "状态", "overdue_days": "超期天数"}


def open_hazards(con: sa.Connection, f: Filters, theme: str) -> pd.DataFrame:
    """Hazards of analysis ``theme`` (a key of :data:`layers.hotspot_stats.HAZARD_THEMES`)
    found by ``f``'s cut-off and not yet rectified, soonest deadline first.

    Codes, not labels (``id, compound, street, theme, description, found_on, due_on,
    status, overdue, overdue_days``); :func:`table` makes the list a person reads.
    ``overdue`` is :func:`geo.measures.hazard_overdue`.
    """
    return frame(con, f"""
        SELECT h.id, x.name AS compound, s.name AS street, h.theme, h.description,
               h.found_on, h.due_on, h.status, {measures.hazard_overdue("h")} AS overdue,
               greatest(0, CAST(:f_as_of_day AS date) - h.due_on) AS overdue_days
        FROM hazards h JOIN compounds x ON x.id = h.compound_id
        JOIN streets s ON s.code = x.street_code
        WHERE h.theme = ANY(:themes) AND {measures.hazard_open("h")} AND h.found_on <= :f_as_of_day
          AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
        ORDER BY h.due_on, x.name, h.id
    """, {**f.params(), "themes": list(HAZARD_THEMES[theme])})


def table(hazards: pd.DataFrame) -> pd.DataFrame:
    """:func:`open_hazards` as the page shows and downloads it: Chinese headings and labels."""
    out = hazards[list(TABLE_COLUMNS)].copy()
    out["status"] = out["status"].map(HAZARD_STATUSES)
    out["theme"] = out["theme"].map(HAZARD_THEME_LABELS)
    return out.rename(columns=TABLE_COLUMNS)
