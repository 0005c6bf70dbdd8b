"""The meeting's periods and what they are compared with (pure: no database)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from geo import measures, periods
from layers import accountability, compare
from layers.filters import Filters

D = dt.date


@pytest.mark.parametrize(("key", "as_of", "start", "end"), [
    ("q", D(2026, 11, 27), D(2026, 10, 1), D(2026, 11, 27)),
    ("prev_q", D(2026, 11, 27), D(2026, 7, 1), D(2026, 9, 30)),
    ("prev_q", D(2026, 2, 3), D(2025, 10, 1), D(2025, 12, 31)),
    ("m", D(2026, 11, 27), D(2026, 11, 1), D(2026, 11, 27)),
    ("yoy", D(2026, 11, 27), D(2025, 10, 1), D(2025, 11, 27)),
    ("yoy", D(2028, 2, 29), D(2027, 1, 1), D(2027, 2, 28)),
])
def test_presets_cover_the_days_staff_mean(key: str, as_of: dt.date, start: dt.date,
                                           end: dt.date) -> None:
    p = periods.preset(key, as_of)
    assert (p.start, p.end, p.as_of) == (start, end, as_of)


def test_quarter_to_date_is_compared_with_the_same_days_of_the_quarter_before() -> None:
    p = periods.preset("q", D(2026, 11, 27))  # 58 days of Q4
    prev = periods.previous(p)
    assert (prev.start, prev.end) == (D(2026, 7, 1), D(2026, 8, 27))
    assert prev.days == p.days
    assert prev.as_of == prev.end  # judged at its own end, as the quarter is at the cut-off
    yoy = periods.same_last_year(p)
    assert (yoy.start, yoy.end, yoy.as_of) == (D(2025, 10, 1), D(2025, 11, 27), D(2025, 11, 27))


def test_a_whole_quarter_judged_later_keeps_its_lag() -> None:
    p = periods.preset("prev_q", D(2026, 11, 27))  # Q3, judged on 27 November
    prev = periods.previous(p)
    assert (prev.start, prev.end) == (D(2026, 4, 1), D(2026, 6, 30))
    assert prev.as_of - prev.end == p.as_of - p.end  # the same time to close its cases
    # a longer quarter is compared over the earlier one's days only, never past its end
    q4 = periods.Period(D(2026, 10, 1), D(2026, 12, 31), D(2026, 12, 31))
    assert periods.previous(q4).end == D(2026, 9, 30)
    q1 = periods.Period(D(2027, 1, 1), D(2027, 3, 31), D(2027, 3, 31))
    assert periods.previous(q1).end == D(2026, 12, 29)  # 90 days from 1 October


def test_rolling_and_month_periods() -> None:
    rolling = periods.Period(D(2026, 5, 2), D(2026, 5, 31), D(2026, 5, 31))
    prev = periods.previous(rolling)
    assert (prev.start, prev.end) == (D(2026, 4, 2), D(2026, 5, 1))
    month = periods.preset("m", D(2026, 3, 31))
    assert (periods.previous(month).start, periods.previous(month).end) == (
        D(2026, 2, 1), D(2026, 2, 28))


def test_quarters_by_name() -> None:
    p = periods.parse_quarter("2026q3", D(2026, 8, 15))
    assert (p.start, p.end, p.as_of) == (D(2026, 7, 1), D(2026, 8, 15), D(2026, 8, 15))
    assert periods.parse_quarter(" 2025Q4 ", D(2026, 8, 15)).end == D(2025, 12, 31)
    for bad in ("2026Q5", "Q3", "2026-07", ""):
        with pytest.raises(ValueError, match="季度"):
            periods.parse_quarter(bad, D(2026, 8, 15))
    with pytest.raises(ValueError, match="尚未开始"):
        periods.parse_quarter("2026Q4", D(2026, 8, 15))
    assert periods.quarter_name(D(2026, 12, 31)) == "2026Q4"
    assert periods.quarter_label_of("2026Q4") == "2026年第4季度"


def test_filters_compared_keep_everything_but_the_days() -> None:
    f = Filters(start=D(2026, 4, 1), end=D(2026, 6, 30), as_of=D(2026, 6, 30),
                statuses=("reopened",), street="522601003000")
    g = f.compared("yoy")
    assert (g.start, g.end, g.as_of) == (D(2025, 4, 1), D(2025, 6, 30), D(2025, 6, 30))
    assert (g.statuses, g.street) == (f.statuses, f.street)


@pytest.mark.parametrize(("cur", "base", "rate", "text"), [
    (120, 100, False, "▲ +20（+20%）"),
    (80, 100, False, "▼ −20（−20%）"),
    (103, 100, False, "→ +3（+3%）"),
    (100, 100, False, "→ 持平"),
    (5, 0, False, "▲ +5（原为 0）"),
    (12.5, 10.0, True, "▲ +2.5个百分点"),
    (None, 3, False, "—"),
])
def test_change_words(cur: object, base: object, rate: bool, text: str) -> None:
    assert compare.describe(cur, base, rate=rate) == text


def test_change_classes_are_fixed_and_cover_every_change() -> None:
    breaks = compare.change_breaks()
    items = compare.change_legend_items()
    assert len(items) == len(breaks) + 1 == len(compare.CHANGE_PALETTE)
    assert compare.change_class(-90.0) == 0
    assert compare.change_class(0.0) == len(breaks) // 2  # level: the middle class
    assert compare.change_class(500.0) == len(breaks)
    assert compare.change_class(None, 4) == len(breaks)  # from 0 up: the top class
    assert compare.change_class(None, None) is None


def test_ranking_needs_a_fair_sample_for_a_rate() -> None:
    """A rate from few cases is shown but not ranked; counts rank as they are."""
    minimum = measures.min_cases("overdue_rate")
    assert minimum == measures.meeting_rules()["ranking"]["min_cases"]["received"] > 0
    df = pd.DataFrame({
        "name": ["大", "小", "中", "无"],
        "received": [400, minimum - 1, minimum, 0],
        "overdue": [20, 3, 3, 0],
    })
    df["overdue_rate"] = [round(100 * o / r, 1) if r else None
                          for o, r in zip(df["overdue"], df["received"], strict=True)]
    by_rate = accountability.rank(df, "overdue_rate")
    assert list(by_rate["name"]) == ["中", "大", "小", "无"]
    assert list(by_rate["rank"].astype(object)) == [1, 2, pd.NA, pd.NA]
    assert list(by_rate["sample"]) == [True, True, False, False]
    by_count = accountability.rank(df, "overdue")
    assert list(by_count["name"][:3]) == ["大", "中", "小"]  # a tie: more cases first
    assert list(by_count["rank"][:3]) == [1, 2, 2]
    table = accountability.ranking_table(by_rate, "overdue_rate", ("received",),
                                         {"name": "部门"})
    assert list(table["排名"]) == ["1", "2", "样本不足", "样本不足"]


def test_one_definition_of_late() -> None:
    """超期 and 逾期办结 are defined once and never share a label."""
    assert measures.BY_KEY["overdue"].label != measures.BY_KEY["closed_late"].label
    for key in ("overdue", "closed_late", "overdue_rate", "closed_late_rate"):
        assert measures.help_text(key) == measures.LATE_HELP
    assert measures.BY_KEY["overdue"].definition in measures.LATE_HELP
    assert measures.BY_KEY["closed_late"].definition in measures.LATE_HELP
