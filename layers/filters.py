"""The dashboard's filters, as one frozen (hashable) value.

Every cached query takes a :class:`Filters`, so the cache key always holds
every filter and the user's area: two sessions with different filters can
never share a result. :meth:`Filters.case_where` turns them into one SQL
``WHERE`` clause with bind parameters, used by every case query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from geo import measures, periods

#: Chinese labels of the dispute-category themes (``categories.theme``).
CATEGORY_THEMES = {
    "service": "物业服务", "fees": "收费", "governance": "业主自治与物业更替",
    "construction": "违建与装修", "environment": "环境卫生", "security": "治安与噪声",
    "fire": "消防安全", "elevator": "电梯安全", "health": "卫生健康", "utilities": "水电气讯",
    "other": "其他",
}


@dataclass(frozen=True)
class Filters:
    """What the user chose: period, kinds of case, and the area in view.

    Parameters
    ----------
    start, end
        Cases received from ``start`` to ``end`` (both days included).
    as_of
        The day against which "overdue" is judged (the data's cut-off date).
    themes, categories, channels, statuses
        Empty means all.
    street, community_id, compound_id
        The area in view; ``None`` means the whole city (a compound: its card).
    distinct
        Count distinct complaints: one complaint reported through several
        channels counts once (:func:`geo.measures.is_distinct`).
    """

    start: dt.date
    end: dt.date
    as_of: dt.date
    themes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    street: str | None = None
    community_id: int | None = None
    compound_id: int | None = None
    distinct: bool = False

    @classmethod
    def year_to(cls, as_of: dt.date, **kw: Any) -> Filters:
        """The 365 days up to ``as_of``."""
        return cls(start=as_of - dt.timedelta(days=364), end=as_of, as_of=as_of, **kw)

    def area(self, street: str | None = None, community_id: int | None = None,
             compound_id: int | None = None) -> Filters:
        """The same filters on another area."""
        return replace(self, street=street, community_id=community_id, compound_id=compound_id)

    @property
    def period(self) -> periods.Period:
        return periods.Period(self.start, self.end, self.as_of)

    def compared(self, kind: str) -> Filters:
        """The same filters over the period ``self`` is compared with (``prev`` 环比,
        ``yoy`` 同比, :func:`geo.periods.compare`), judged at that period's own cut-off."""
        p = periods.compare(self.period, kind)
        return replace(self, start=p.start, end=p.end, as_of=p.as_of)

    def with_(self, **kw: Any) -> Filters:
        return replace(self, **kw)

    def params(self) -> dict[str, Any]:
        """Bind parameters used by :meth:`case_where` and the layers' SQL."""
        return {
            "f_start": dt.datetime.combine(self.start, dt.time.min, tzinfo=measures.TZ),
            "f_end": dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min,
                                         tzinfo=measures.TZ),
            **measures.cutoff_params(self.as_of),
            "f_themes": list(self.themes),
            "f_categories": list(self.categories),
            "f_channels": list(self.channels),
            "f_statuses": list(self.statuses),
            "f_street": self.street,
            "f_community": self.community_id,
            "f_compound": self.compound_id,
        }

    def case_where(self, alias: str = "c", *, area: bool = True, period: bool = True) -> str:
        """An SQL condition on the cases table ``alias`` for these filters."""
        a = alias
        parts = ["TRUE"]
        if period:
            parts.append(f"{a}.received_at >= :f_start AND {a}.received_at < :f_end")
        if self.themes:
            parts.append(
                f"{a}.category_code IN (SELECT code FROM categories WHERE theme = ANY(:f_themes))"
            )
        if self.categories:
            parts.append(f"{a}.category_code = ANY(:f_categories)")
        if self.channels:
            parts.append(f"{a}.channel = ANY(:f_channels)")
        if self.statuses:
            parts.append(f"{a}.status = ANY(:f_statuses)")
        if self.distinct:
            parts.append(measures.is_distinct(a))
        if area and self.street:
            parts.append(f"{a}.street_code = :f_street")
        if area and self.community_id is not None:
            parts.append(f"{a}.community_id = :f_community")
        if area and self.compound_id is not None:
            parts.append(f"{a}.compound_id = :f_compound")
        return " AND ".join(parts)
