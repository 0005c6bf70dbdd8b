"""The joint meeting's figures against SQL, on the demo: departments, comparisons, cases.

Each figure the meeting reads is recomputed here from the rows themselves
(pandas over the cases, or plain SQL), not through :mod:`geo.measures`, so a
wrong definition there shows as a difference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo import db, measures, periods, roles
from geo.scope import Scope
from layers import accountability, casework, facts, stats
from layers.filters import Filters
from tests import conftest
from tests.conftest import AS_OF, scalar

QUARTER = Filters(start=dt.date(2026, 4, 1), end=AS_OF, as_of=AS_OF)
OPEN = ("received", "in_progress", "reopened")
CLOSED = ("closed", "visited")


@pytest.fixture(scope="module")
def rows(demo: Engine) -> pd.DataFrame:
    """Every case, as plain columns (times in UTC)."""
    with demo.connect() as con:
        df = pd.read_sql(sa.text(
            "SELECT id, received_at, due_at, closed_at, status, lead_dept, co_depts, "
            "reopen_count, satisfaction, street_code, level FROM cases"), con)
    for col in ("received_at", "due_at", "closed_at"):
        df[col] = pd.to_datetime(df[col], utc=True)
    return df


def _in(df: pd.DataFrame, f: Filters) -> pd.DataFrame:
    p = f.params()
    return df[(df["received_at"] >= p["f_start"]) & (df["received_at"] < p["f_end"])]


def _by_hand(g: pd.DataFrame, f: Filters) -> dict[str, Any]:
    """The measures of cases ``g`` judged at the end of ``f.as_of``, from their columns."""
    end = pd.Timestamp(measures.cutoff_params(f.as_of)[measures.CUTOFF])
    closed_now = g["status"].isin(CLOSED)
    open_at = g["status"].isin(OPEN) | (closed_now & (g["closed_at"] >= end))
    closed_by = closed_now & (g["closed_at"].isna() | (g["closed_at"] < end))
    known = closed_by & g["closed_at"].notna()
    days = (g["closed_at"] - g["received_at"]).dt.total_seconds() / 86400
    limit = (g["due_at"] - g["received_at"]).dt.total_seconds() / 86400
    return {
        "received": len(g), "pending": int(open_at.sum()),
        "overdue": int((open_at & (g["due_at"] < end)).sum()),
        "closed": int(closed_by.sum()),
        "closed_late": int((known & (g["closed_at"] > g["due_at"])).sum()),
        "reopened": int(((g["reopen_count"] > 0) | (g["status"] == "reopened")).sum()),
        "unsatisfied": int((g["satisfaction"] == "unsatisfied").sum()),
        "median_days": round(float(np.median(days[known])), 1) if known.any() else None,
        "median_limit": round(float(np.median(limit[known])), 1) if known.any() else None,
    }


@pytest.mark.parametrize("f", [QUARTER, QUARTER.compared("prev"), Filters.year_to(AS_OF)],
                         ids=["quarter", "previous quarter", "year"])
def test_departments_equal_their_cases(demo: Engine, rows: pd.DataFrame, f: Filters) -> None:
    with demo.connect() as con:
        table = accountability.departments(con, f)
    cases = _in(rows, f)
    lead = table[table["role"] == "lead"].set_index("dept")
    for dept, g in cases.groupby("lead_dept"):
        got = lead.loc[dept]
        for key, want in _by_hand(g, f).items():
            if want is None:
                assert pd.isna(got[key]), (dept, key)
            else:
                assert got[key] == pytest.approx(want, abs=0.051), (dept, key)
    co = table[table["role"] == "co"].set_index("dept")
    pairs = cases.explode("co_depts")
    pairs = pairs[pairs["co_depts"].notna() & (pairs["co_depts"] != pairs["lead_dept"])]
    assert len(pairs) > 0, "the demo's cases name co-handling departments"
    for dept, g in pairs.groupby("co_depts"):
        assert co.loc[dept, "received"] == len(g), dept
        assert co.loc[dept, "overdue"] == _by_hand(g, f)["overdue"], dept
    # a department the list names with no case in the period shows 0, not nothing
    assert set(lead.index) >= set(scalar(demo, "SELECT array_agg(DISTINCT lead_dept) "
                                               "FROM categories"))


def test_an_earlier_cut_off_sees_cases_open_then(demo: Engine, rows: pd.DataFrame) -> None:
    """The previous quarter judged at its own end: cases closed later were open then."""
    f = QUARTER.compared("prev")
    assert f.as_of == dt.date(2026, 3, 31)
    cases = _in(rows, f)
    with demo.connect() as con:
        got = facts.totals(con, f)
    want = _by_hand(cases, f)
    for key in ("received", "pending", "overdue", "closed", "closed_late", "reopened"):
        assert got[key] == want[key], key
    # and it is not the same as judging those cases today
    with demo.connect() as con:
        today = facts.totals(con, f.with_(as_of=AS_OF))
    assert got["pending"] > today["pending"]


def test_street_figures_add_up_to_the_city(demo: Engine) -> None:
    with demo.connect() as con:
        streets = accountability.streets(con, QUARTER)
        city = stats.headline(con, QUARTER)
        unplaced = scalar(demo, "SELECT count(*) FROM cases WHERE street_code IS NULL "
                                "AND received_at >= :a AND received_at < :b",
                          a=QUARTER.params()["f_start"], b=QUARTER.params()["f_end"])
    assert int(streets["received"].sum()) + int(unplaced) == city["received"]
    ranked = accountability.street_table(streets, {}, "overdue")
    assert list(ranked["超期"]) == sorted(ranked["超期"], reverse=True)
    assert set(ranked["超期环比"]) == {"—"}  # no comparison given: none shown


def test_comparisons_reach_only_as_far_back_as_the_data(demo: Engine) -> None:
    from layers import compare

    with demo.connect() as con:
        first = stats.first_day(con)
    assert first is not None
    assert compare.covered(QUARTER.period, "yoy", first)  # the demo holds 15 months
    assert not compare.covered(Filters.year_to(AS_OF).period, "prev", first)
    assert "不作比较" in compare.comparison_text("prev", Filters.year_to(AS_OF).period, first)


# --- cases to discuss ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(demo: Engine) -> Iterator[Engine]:
    eng = db.make_engine(roles.app_url(conftest.test_url()))
    yield eng
    eng.dispose()


def _as(app: Engine, scope: Scope) -> Any:
    con = app.connect()
    con.begin()
    scope.apply(con)
    return con


@pytest.mark.parametrize(("query", "where"), [
    (casework.CaseQuery(levels=("city",)), "c.level = 'city'"),
    (casework.CaseQuery(dept="police", dept_role="co"), "'police' = ANY (c.co_depts)"),
    (casework.CaseQuery(dept="community"), "c.lead_dept = 'community'"),
    (casework.CaseQuery(satisfaction=("unsatisfied", "none")),
     "(c.satisfaction = 'unsatisfied' OR c.satisfaction IS NULL)"),
    (casework.CaseQuery(reopened=True), "(c.reopen_count > 0 OR c.status = 'reopened')"),
    (casework.CaseQuery(lateness="closed_late"),
     "c.status IN ('closed', 'visited') AND c.closed_at > c.due_at"),
    (casework.CaseQuery(text="电梯"), "(k.name LIKE '%电梯%' OR c.content LIKE '%电梯%' "
                                     "OR c.address LIKE '%电梯%' OR x.name LIKE '%电梯%')"),
])
def test_the_case_list_finds_what_each_filter_says(demo: Engine, query: casework.CaseQuery,
                                                   where: str) -> None:
    with demo.connect() as con:
        page, total = casework.case_list(con, QUARTER, query, with_text=True)
    want = scalar(demo, f"""SELECT count(*) FROM cases c JOIN categories k
        ON k.code = c.category_code LEFT JOIN compounds x ON x.id = c.compound_id
        WHERE c.received_at >= :a AND c.received_at < :b AND {where}""",
                  a=QUARTER.params()["f_start"], b=QUARTER.params()["f_end"])
    assert total == want and total > 0
    assert len(page) == min(total, casework.PAGE_SIZE)


def test_the_meeting_screen_lists_cases_without_their_text(app: Engine, demo: Engine) -> None:
    """The database refuses case text to the viewer; the list and card never ask for it."""
    con = _as(app, Scope("viewer"))
    try:
        page, total = casework.case_list(con, QUARTER, casework.CaseQuery(text="物业"),
                                         with_text=False)
        assert total > 0 and "content" not in page.columns
        card = casework.case_card(con, int(page["id"].iloc[0]), QUARTER, with_text=False)
        assert card is not None and "content" not in card and "address" not in card
    finally:
        con.close()
    con = _as(app, Scope("viewer"))
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        casework.case_list(con, QUARTER, casework.CaseQuery(), with_text=True)
    con.close()


def test_a_case_card_tells_its_history(demo: Engine) -> None:
    case_id = int(scalar(demo, """SELECT c.id FROM cases c WHERE c.reopen_count > 0
        AND 'overdue' = ANY (c.escalations) ORDER BY c.id LIMIT 1"""))
    with demo.connect() as con:
        card = casework.case_card(con, case_id, Filters.year_to(AS_OF), with_text=True)
    assert card is not None
    steps = [(s.what, s.detail) for s in card["timeline"]]
    whats = [w for w, _d in steps]
    assert whats[0] == "受理" and "办理时限" in whats and "重新办理" in whats
    assert any(w == "升级" and "超过办理时限" in d for w, d in steps)
    timed = [s.at for s in card["timeline"] if s.at is not None]
    assert timed == sorted(timed)
    assert card["escalation_reasons"]
    assert not {"name", "phone", "complainant"} & set(card)


def test_the_quarters_typical_cases(demo: Engine) -> None:
    quarter = periods.quarter_name(AS_OF)
    with demo.connect() as con:
        df = casework.typical_cases(con, quarter, QUARTER)
    assert len(df) == scalar(demo, "SELECT count(*) FROM typical_cases WHERE quarter = :q",
                             q=quarter) == 3
    assert df["note"].str.len().between(1, 200).all()


def test_the_compound_cards_tiles_are_the_compounds(demo: Engine,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a compound's breadcrumb the tiles count that compound's cases, not the street's."""
    import re

    from streamlit.testing.v1 import AppTest

    from tests.conftest import app_test

    compound, street = (scalar(demo, f"""SELECT {c} FROM cases WHERE compound_id IS NOT NULL
        GROUP BY compound_id, street_code ORDER BY count(*) DESC LIMIT 1""")
                        for c in ("compound_id", "street_code"))
    at: AppTest = app_test(demo, monkeypatch)  # type: ignore[assignment]
    at.switch_page("views/drilldown.py")
    at.query_params.update({"street": str(street), "compound": str(compound)})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    html = "\n".join(m.value for m in at.markdown)
    tiles = {label: value for value, label in re.findall(
        r'<div class="v">(.*?)</div><div class="l">(.*?)</div>', html)}
    f = Filters.year_to(AS_OF)
    where = "compound_id = :x AND received_at >= :a AND received_at < :b"
    p = {"x": compound, "a": f.params()["f_start"], "b": f.params()["f_end"],
         "t": f.params()["f_as_of"]}
    want = {
        "受理（件）": scalar(demo, f"SELECT count(*) FROM cases WHERE {where}", **p),
        "待办（件）": scalar(demo, f"SELECT count(*) FROM cases WHERE {where} "
                                 "AND status IN ('received', 'in_progress', 'reopened')", **p),
        "超期（件）": scalar(demo, f"SELECT count(*) FROM cases WHERE {where} AND status IN "
                                 "('received', 'in_progress', 'reopened') AND due_at < :t", **p),
        "逾期办结（件）": scalar(demo, f"SELECT count(*) FROM cases WHERE {where} AND status IN "
                                   "('closed', 'visited') AND closed_at > due_at", **p),
    }
    for label, n in want.items():
        assert tiles[label] == f"{n:,}", label
    street_total = scalar(demo, "SELECT count(*) FROM cases WHERE street_code = :s "
                                "AND received_at >= :a AND received_at < :b", s=street,
                          a=p["a"], b=p["b"])
    assert want["受理（件）"] < street_total  # the street's figure would differ
