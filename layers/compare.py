"""What changed: a figure against the previous period (环比) and the same period last year (同比).

Pure functions on numbers and frames (no SQL, no Streamlit): the change of a
figure, its arrow and words, the fixed classes of the change map, and the
merge of a period's table with its comparison periods' tables. The periods
themselves are :mod:`geo.periods`; the rules (what counts as level, the
change classes) are data, ``data/meeting/rules.toml``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from geo import measures, periods

#: Diverging palette for changes (ColorBrewer RdYlGn reversed, 7 classes): green is fewer.
CHANGE_PALETTE = ("#1a9850", "#91cf60", "#d9ef8b", "#f7f7f7", "#fee08b", "#fc8d59", "#d73027")


def flat_pct() -> float:
    """A change within this many percent (either way) is shown as level (→)."""
    return float(measures.meeting_rules()["change"]["flat_pct"])


def change_breaks() -> list[float]:
    """The fixed class bounds of the change map, in percent (the same on every map)."""
    return [float(b) for b in measures.meeting_rules()["change"]["breaks"]]


def _num(v: object) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


@dataclass(frozen=True)
class Change:
    """A figure now and in the period it is compared with."""

    current: float | None
    base: float | None

    @property
    def delta(self) -> float | None:
        if self.current is None or self.base is None:
            return None
        return self.current - self.base

    @property
    def pct(self) -> float | None:
        """Relative change in percent; ``None`` when the base is 0 or unknown."""
        if self.delta is None or not self.base:
            return None
        return 100.0 * self.delta / self.base

    @property
    def direction(self) -> str | None:
        """``up``, ``down``, ``flat``, or ``None`` when either figure is unknown."""
        d = self.delta
        if d is None:
            return None
        if d == 0:
            return "flat"
        p = self.pct
        if p is not None and abs(p) < flat_pct():
            return "flat"
        return "up" if d > 0 else "down"


ARROWS = {"up": "▲", "down": "▼", "flat": "→"}


def change_of(current: object, base: object) -> Change:
    return Change(_num(current), _num(base))


def describe(current: object, base: object, *, rate: bool = False) -> str:
    """The change as short text: ``▲ +12（+15%）``, ``▼ −2.1个百分点``, ``→ 持平``, ``—``.

    Counts show the difference and the relative change; rates (in percent) the
    difference in percentage points.
    """
    c = change_of(current, base)
    if c.direction is None or c.delta is None:
        return "—"
    arrow = ARROWS[c.direction]
    if c.direction == "flat" and c.delta == 0:
        return f"{arrow} 持平"
    sign = "+" if c.delta > 0 else "−"
    if rate:
        return f"{arrow} {sign}{abs(c.delta):.1f}个百分点"
    amount = f"{abs(c.delta):,.0f}" if float(c.delta).is_integer() else f"{abs(c.delta):,.1f}"
    if c.pct is None:
        return f"{arrow} {sign}{amount}（原为 0）"
    return f"{arrow} {sign}{amount}（{sign}{abs(c.pct):.0f}%）"


def change_class(pct: float | None, delta: float | None = None) -> int | None:
    """Index of the class of :func:`change_breaks` a relative change falls in.

    A figure that rose from 0 falls in the top class; one unknown in no class.
    """
    if pct is None:
        if delta is None:
            return None
        return len(change_breaks()) if delta > 0 else (len(change_breaks()) // 2)
    for i, b in enumerate(change_breaks()):
        if pct < b:
            return i
    return len(change_breaks())


def change_colour(pct: float | None, delta: float | None = None) -> str | None:
    """The colour of a change (``None`` when unknown), green for fewer, red for more."""
    i = change_class(pct, delta)
    return None if i is None else CHANGE_PALETTE[i]


def change_legend_items() -> list[tuple[str, str]]:
    """(colour, label) rows of the change map's fixed classes."""
    b = change_breaks()
    labels = [f"减少 {abs(b[0]):.0f}% 以上"]
    for lo, hi in zip(b[:-1], b[1:], strict=True):
        if lo < 0 <= hi:
            labels.append(f"{lo:+.0f}% 至 {hi:+.0f}%（基本持平）")
        else:
            labels.append(f"{lo:+.0f}% 至 {hi:+.0f}%")
    labels.append(f"增加 {b[-1]:.0f}% 以上（含从 0 增加）")
    return list(zip(CHANGE_PALETTE, labels, strict=True))


def with_changes(current: pd.DataFrame, bases: dict[str, pd.DataFrame], key: Sequence[str],
                 columns: Sequence[str]) -> pd.DataFrame:
    """``current`` with, for each comparison ``kind`` of ``bases``, the columns
    ``<column>_<kind>`` of the base table (matched on ``key``; missing rows are NaN)."""
    out = current.copy()
    for kind, base in bases.items():
        cols = [c for c in columns if c in base.columns]
        renamed = base[[*key, *cols]].rename(columns={c: f"{c}_{kind}" for c in cols})
        out = out.merge(renamed, on=list(key), how="left")
    return out


def covered(period: periods.Period, kind: str, first_day: dt.date | None) -> bool:
    """Whether the data reach back to the start of ``period``'s comparison ``kind``.

    Data loaded from some day on know nothing of the days before: a period
    compared with days before the first case would show a rise that is only
    the start of the records, so such a change is not shown.
    """
    return first_day is not None and periods.compare(period, kind).start >= first_day


def comparison_text(kind: str, period: periods.Period,
                    first_day: dt.date | None = None) -> str:
    """``环比：2026-01-01 至 2026-03-31`` for comparison ``kind`` of ``period`` (and, when
    ``first_day`` is given and later, that the comparison is not made)."""
    other = periods.compare(period, kind)
    text = f"{periods.COMPARISONS[kind][0]}：{other.text()}"
    if first_day is not None and other.start < first_day:
        text += f"（早于最早的数据 {first_day:%Y-%m-%d}，不作比较）"
    return text
