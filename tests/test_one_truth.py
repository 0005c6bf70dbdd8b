"""One truth: every headline figure of every page equals what a clerk recomputes from the export.

The cases export (and the compounds export for households and firms) is what
a clerk takes to Excel. This test exports them, recomputes in pandas what each
page shows (the overview's tiles and street ranking, a street's drill-down
tiles, the firm table, a street's worklist counts, the hotspot page's case
count), and requires equality with what the pages, run through Streamlit's
AppTest, actually display. 超期 in the export and on screen are judged at the
same cut-off day. The two figures the export does not carry (distinct complaints
and the repeat rate: links between cases) are recomputed in SQL over the cases.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from etl import export
from geo import measures, reference
from tests.conftest import AS_OF, app_test, scalar
from tests.test_pages import PAGES

OPEN = {"已受理", "办理中", "重新办理"}
CLOSED = {"已办结", "已回访"}
_TILE = re.compile(r'<div class="v">(.*?)</div><div class="l">(.*?)</div>')


@pytest.fixture(scope="module")
def exported(demo: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    d = tmp_path_factory.mktemp("truth")
    out = {}
    for layer in ("cases", "compounds"):
        path = Path(d) / f"{layer}.csv"
        export.export(demo, layer, "csv", path)
        out[layer] = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    cases = out["cases"]
    day = pd.to_datetime(cases["受理时间"]).dt.date
    start = AS_OF - dt.timedelta(days=364)
    out["period"] = cases[(day >= start) & (day <= AS_OF)]
    return out


def _visit(demo: Engine, monkeypatch: pytest.MonkeyPatch, page: str, **params: str) -> AppTest:
    at: AppTest = app_test(demo, monkeypatch)  # type: ignore[assignment]
    at.query_params.update(params)
    if page != PAGES[0]:
        at.switch_page(page)
    at.run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    return at


def _tiles(at: AppTest) -> dict[str, str]:
    html = "\n".join(m.value for m in at.markdown)
    return {label: value for value, label in _TILE.findall(html)}


def _case_tiles(at: AppTest) -> dict[str, str]:
    """The case figures' tiles; the progress tiles beside them (issue 9) are every other one,
    and tests/test_records.py holds them to the 工作进展 export."""
    from geo.measures import PROGRESS

    progress = {p.label for p in PROGRESS}
    return {k: v for k, v in _tiles(at).items() if k not in progress}


def _pct(num: int, den: int) -> str:
    return f"{round(100.0 * num / den, 1)}%" if den else "—"


def _linked_tiles(demo: Engine, street: str | None = None) -> dict[str, str]:
    """The distinct-complaints and repeat-rate tiles, counted in SQL over the period's cases."""
    start = AS_OF - dt.timedelta(days=364)
    with demo.connect() as con:
        row = con.execute(sa.text("""
            SELECT count(*) AS n,
                   count(*) FILTER (WHERE complaint_group IS NULL OR complaint_group = id) AS d,
                   count(*) FILTER (WHERE repeat_of IS NOT NULL) AS r
            FROM cases WHERE received_at >= :a AND received_at < :b
              AND (CAST(:s AS text) IS NULL OR street_code = :s)"""),
            {"a": dt.datetime.combine(start, dt.time.min, tzinfo=measures.TZ),
             "b": dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time.min,
                                      tzinfo=measures.TZ), "s": street}).one()
    assert 0 < row.d < row.n and 0 < row.r < row.n
    return {"诉求（去重）": f"{row.d:,}", "办结后再诉率": _pct(row.r, row.n)}


def _expected_tiles(c: pd.DataFrame) -> dict[str, str]:
    n = len(c)
    rated = c["满意度"] != ""
    levels = c["层级"].value_counts()
    share = [round(100.0 * levels.get(k, 0) / n) if n else 0 for k in ("社区", "街道", "市级")]
    return {
        "受理（件）": f"{n:,}",
        "待办（件）": f"{int(c['办理状态'].isin(OPEN).sum()):,}",
        "超期（件）": f"{int((c['是否超期'] == '是').sum()):,}",
        "逾期办结（件）": f"{int((c['是否逾期办结'] == '是').sum()):,}",
        "重新办理（件）": f"{int((c['是否重新办理'] == '是').sum()):,}",
        "不满意（件）": f"{int((c['满意度'] == '不满意').sum()):,}",
        "办结率": _pct(int(c["办理状态"].isin(CLOSED).sum()), n),
        "满意率": _pct(int(c["满意度"].isin(["满意", "基本满意"]).sum()), int(rated.sum())),
        "社区 / 街道 / 市级": f"{share[0]} / {share[1]} / {share[2]}%",
    }


def test_overview_tiles_and_ranking_equal_the_export(
        demo: Engine, monkeypatch: pytest.MonkeyPatch, exported: dict[str, pd.DataFrame]) -> None:
    c = exported["period"]
    at = _visit(demo, monkeypatch, PAGES[0])
    assert _case_tiles(at) == {**_expected_tiles(c), **_linked_tiles(demo)}
    ranking = at.dataframe[0].value.set_index("街道/镇")
    by_street = c.groupby("街道")
    for name, row in ranking.iterrows():
        g = by_street.get_group(name) if name in by_street.groups else c.iloc[:0]
        assert row["受理"] == len(g), name
        assert row["待办"] == int(g["办理状态"].isin(OPEN).sum()), name
        assert row["超期"] == int((g["是否超期"] == "是").sum()), name
    hh = exported["compounds"].assign(户数=lambda d: pd.to_numeric(d["户数"])).groupby("街道")[
        "户数"].sum()
    for name, row in ranking.iterrows():
        if name in hh and hh[name]:
            assert row["每千户诉求"] == pytest.approx(
                round(1000.0 * row["受理"] / hh[name], 1)), name
    # the meeting page shows the same figures as the overview (those it shows)
    meeting = _case_tiles(_visit(demo, monkeypatch, PAGES[5]))
    expected = {**_expected_tiles(c), **_linked_tiles(demo)}
    assert len(meeting) >= 6
    assert {k: expected[k] for k in meeting} == meeting


def test_drilldown_tiles_equal_the_export(
        demo: Engine, monkeypatch: pytest.MonkeyPatch, exported: dict[str, pd.DataFrame]) -> None:
    code = str(scalar(demo, "SELECT street_code FROM cases GROUP BY 1 ORDER BY count(*) DESC "
                            "LIMIT 1"))
    name = str(scalar(demo, "SELECT name FROM streets WHERE code = :c", c=code))
    at = _visit(demo, monkeypatch, PAGES[1], street=code)
    c = exported["period"]
    assert _case_tiles(at) == {**_expected_tiles(c[c["街道"] == name]), **_linked_tiles(demo, code)}


def test_firm_table_equals_the_export(
        demo: Engine, monkeypatch: pytest.MonkeyPatch, exported: dict[str, pd.DataFrame]) -> None:
    at = _visit(demo, monkeypatch, PAGES[4])
    table = at.dataframe[0].value.set_index("物业企业")
    firm_of = dict(zip(exported["compounds"]["小区名称"], exported["compounds"]["物业服务企业"],
                       strict=True))
    c = exported["period"].assign(firm=lambda d: d["小区"].map(firm_of))
    assert len(table) == scalar(demo, "SELECT count(*) FROM property_firms")  # none hidden
    for firm, row in table.iterrows():
        g = c[c["firm"] == firm]
        assert row["期内诉求"] == len(g), firm
        assert row["超期"] == int((g["是否超期"] == "是").sum()), firm
        closed = int(g["办理状态"].isin(CLOSED).sum())
        late = int((g["是否逾期办结"] == "是").sum())
        expected = round(100.0 * late / closed, 1) if closed else None
        assert (row["逾期办结率%"] == pytest.approx(expected)) if expected is not None \
            else pd.isna(row["逾期办结率%"]), firm
    # the repeat rate beside the others (links between cases: counted in SQL)
    start = AS_OF - dt.timedelta(days=364)
    with demo.connect() as con:
        linked = con.execute(sa.text("""
            SELECT p.name, count(c.id) AS n, count(c.repeat_of) AS r
            FROM property_firms p JOIN compounds x ON x.firm_id = p.id
            JOIN cases c ON c.compound_id = x.id
            WHERE c.received_at >= :a AND c.received_at < :b GROUP BY p.name"""),
            {"a": dt.datetime.combine(start, dt.time.min, tzinfo=measures.TZ),
             "b": dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time.min,
                                      tzinfo=measures.TZ)}).all()
    assert sum(r.r for r in linked) > 0
    rate = f"{measures.RATE_BY_KEY['repeat_rate'].label}%"
    for name, n, r in linked:
        assert table.loc[name, rate] == pytest.approx(round(100.0 * r / n, 1)), name


def test_worklist_counts_equal_the_export(
        demo: Engine, monkeypatch: pytest.MonkeyPatch, exported: dict[str, pd.DataFrame]) -> None:
    code = str(scalar(demo, "SELECT street_code FROM compounds WHERE is_sanwu GROUP BY 1 "
                            "ORDER BY count(*) DESC, 1 LIMIT 1"))
    at = _visit(demo, monkeypatch, PAGES[2], street=code)
    table = at.dataframe[0].value.set_index("小区名称")
    c = exported["period"]
    for compound, row in table.iterrows():
        g = c[c["小区"] == compound]
        assert row["期内诉求"] == len(g), compound
        assert row["超期待办"] == int((g["是否超期"] == "是").sum()), compound


def test_hotspot_case_count_equals_the_export(
        demo: Engine, monkeypatch: pytest.MonkeyPatch, exported: dict[str, pd.DataFrame]) -> None:
    at = _visit(demo, monkeypatch, PAGES[3])
    fire = {r["name"] for r in reference.categories() if r["theme"] == "fire"}
    expected = int(exported["period"]["问题类别"].isin(fire).sum())
    assert _tiles(at)["工单（件）"] == f"{expected:,}"
