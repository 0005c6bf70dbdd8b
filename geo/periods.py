"""Periods the joint meeting talks in: quarters, months, and what a period is compared with.

The meeting reviews a quarter (本季度, 上季度), sometimes a month (本月), and
asks what changed: against the previous period (环比) and against the same
period a year earlier (同比). All of it is date arithmetic on Kaili days,
kept here, pure, so the sidebar, the rankings, the maps and the briefing
agree on which days a period covers.

A period is judged at a cut-off: the figures "as at" a day (超期 is "still open
after its due time at the cut-off", :mod:`geo.measures`). A comparison period
is judged as long after its own end as the period itself is judged after its
end (:func:`compare`), so both periods' cases had the same time to be closed:
the current quarter to date, judged at the data's cut-off, is compared with
the previous quarter over the same number of days from its start, judged at
the end of those days.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

#: Sidebar presets: URL value → Chinese label.
PRESETS: dict[str, str] = {
    "q": "本季度",
    "prev_q": "上季度",
    "m": "本月",
    "yoy": "去年同期",
}
#: Comparisons: key → (short label, long label).
COMPARISONS: dict[str, tuple[str, str]] = {
    "prev": ("环比", "与上一周期相比"),
    "yoy": ("同比", "与去年同期相比"),
}

_QUARTER = re.compile(r"^\s*(\d{4})\s*[Qq]\s*([1-4])\s*$")


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end`` (both included), judged at the end of day ``as_of``."""

    start: dt.date
    end: dt.date
    as_of: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def text(self) -> str:
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(day: dt.date) -> dt.date:
    start = quarter_start(day)
    return add_months(start, 3) - dt.timedelta(days=1)


def quarter_name(day: dt.date) -> str:
    """``2026Q3`` for any day of the third quarter of 2026."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_label(day: dt.date) -> str:
    """``2026年第3季度``."""
    return f"{day.year}年第{(day.month - 1) // 3 + 1}季度"


def quarter_label_of(name: str) -> str:
    """``2026年第3季度`` for ``2026Q3`` (the name itself when it is not a quarter)."""
    m = _QUARTER.match(name or "")
    return f"{m.group(1)}年第{m.group(2)}季度" if m else name


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clipped to the end of the target month."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def year_earlier(day: dt.date) -> dt.date:
    """The same day a year earlier (29 February becomes the 28th)."""
    return add_months(day, -12)


def parse_quarter(text: str, as_of: dt.date) -> Period:
    """The quarter ``2026Q3`` as a period: up to ``as_of`` when the quarter is not over.

    Raises
    ------
    ValueError
        With a Chinese message, when ``text`` is not ``YYYYQn`` or the quarter lies
        wholly after ``as_of``.
    """
    m = _QUARTER.match(text or "")
    if not m:
        raise ValueError(f"“{text}”不是季度，请写成 2026Q3 这样的形式")
    start = dt.date(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
    if start > as_of:
        raise ValueError(f"{text} 尚未开始（数据截至 {as_of:%Y-%m-%d}）")
    end = min(quarter_end(start), as_of)
    return Period(start, end, as_of)


def preset(key: str, as_of: dt.date) -> Period:
    """The days of sidebar preset ``key`` (:data:`PRESETS`) for data cut off at ``as_of``.

    本季度 and 本月 run from the first day to the cut-off; 上季度 is the whole
    previous quarter; 去年同期 is 本季度's days a year earlier. Every preset is
    judged at the data's cut-off, as every other period of the dashboard.
    """
    if key == "q":
        return Period(quarter_start(as_of), as_of, as_of)
    if key == "prev_q":
        start = add_months(quarter_start(as_of), -3)
        return Period(start, quarter_end(start), as_of)
    if key == "m":
        return Period(as_of.replace(day=1), as_of, as_of)
    if key == "yoy":
        q = preset("q", as_of)
        return Period(year_earlier(q.start), year_earlier(q.end), as_of)
    raise KeyError(key)


def _is_quarter_aligned(p: Period) -> bool:
    return p.start == quarter_start(p.start) and p.end <= quarter_end(p.start)


def _is_month_aligned(p: Period) -> bool:
    return p.start.day == 1 and p.end < add_months(p.start, 1)


def previous(p: Period) -> Period:
    """The period before ``p`` (环比), judged as long after its end as ``p`` is.

    A quarter (or a quarter to date) is compared with the quarter before, over
    the same number of days from its start (never past that quarter's end); a
    month likewise with the month before; any other span with the same number
    of days just before it.
    """
    if _is_quarter_aligned(p):
        start = add_months(p.start, -3)
        end = min(start + dt.timedelta(days=p.days - 1), quarter_end(start))
    elif _is_month_aligned(p):
        start = add_months(p.start, -1)
        end = min(start + dt.timedelta(days=p.days - 1), add_months(start, 1)
                  - dt.timedelta(days=1))
    else:
        end = p.start - dt.timedelta(days=1)
        start = end - dt.timedelta(days=p.days - 1)
    return Period(start, end, end + (p.as_of - p.end))


def same_last_year(p: Period) -> Period:
    """The same days a year earlier (同比), judged a year earlier."""
    return Period(year_earlier(p.start), year_earlier(p.end), year_earlier(p.as_of))


def compare(p: Period, kind: str) -> Period:
    """The period ``p`` is compared with: ``prev`` (环比) or ``yoy`` (同比)."""
    if kind == "prev":
        return previous(p)
    if kind == "yoy":
        return same_last_year(p)
    raise KeyError(kind)
