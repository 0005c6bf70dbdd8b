"""What a user sees of issue 10: the 隐患热点 page, the count switch, repeat rates, groups.

Through Streamlit's AppTest, as a leader and as the fire brigade's account (kind
``dept``), against SQL and :mod:`layers.hotspot_stats` run as the table owner; and
the statistics under each scope through the dashboard's own database role, where
row-level security decides which cases they count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from geo import db, measures, roles
from geo.scope import Scope
from layers import facts, hotspot_stats, registry, stats
from layers.analysis import emerging, gistar
from layers.filters import Filters
from tests import conftest
from tests.conftest import AS_OF, app_test, scalar
from tests.test_pages import PAGES

#: The page's filters with the sidebar untouched: the last year, fire, distinct complaints.
F = Filters.year_to(AS_OF)
FIRE = F.with_(themes=("fire",), distinct=True)
FIRE_SCOPE: dict[str, object] = {"dept": "fire", "themes": ("fire",)}
LOCATED = "(c.compound_id IS NOT NULL OR c.geom IS NOT NULL)"
DISTINCT = measures.is_distinct("c")


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    hotspot_stats.clear()
    facts.clear()


@pytest.fixture(scope="module")
def app_engine(demo: Engine) -> Iterator[Engine]:
    """The dashboard's engine: the application role, under row-level security."""
    eng = db.make_engine(roles.app_url(conftest.test_url()))
    yield eng
    eng.dispose()


def _count(demo: Engine, where: str, f: Filters = F, **params: object) -> int:
    with demo.connect() as con:
        return int(con.execute(sa.text(
            f"SELECT count(*) FROM cases c WHERE {f.case_where('c')} AND {where}"),
            {**f.params(), **params}).scalar_one())


def _open(demo: Engine, monkeypatch: pytest.MonkeyPatch, kind: str = "leader",
          page: str = PAGES[3], scope: dict[str, object] | None = None,
          **params: str) -> AppTest:
    at: AppTest = app_test(demo, monkeypatch, kind, **(scope or {}))  # type: ignore[assignment]
    at.query_params.update(params)
    if page != PAGES[0]:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _html(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _tiles(at: AppTest) -> dict[str, str]:
    from tests.test_one_truth import _tiles as tiles

    return tiles(at)


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


# --- the statistics under a scope -----------------------------------------------------------

def test_the_fire_brigade_gets_the_same_fire_hot_spots_as_the_owner(
        demo: Engine, app_engine: Engine) -> None:
    """RLS lets the fire brigade read every fire case: its Gi* is the city's, number for number."""
    with demo.connect() as con:
        owner = hotspot_stats.cells(con, FIRE, "fire")
    hotspot_stats.clear()
    facts.clear()
    with app_engine.begin() as con:
        Scope("dept", **FIRE_SCOPE).apply(con)  # type: ignore[arg-type]
        dept = hotspot_stats.cells(con, FIRE, "fire")
    assert list(dept["cell"]) == list(owner["cell"])
    for col in ("cases", "distinct", "class", "pattern"):
        assert list(dept[col]) == list(owner[col]), col
    np.testing.assert_allclose(dept["z"], owner["z"])
    np.testing.assert_allclose(dept["q"], owner["q"])
    assert dept["cases"].sum() == _count(demo, LOCATED, FIRE.with_(distinct=False))
    assert dept["distinct"].sum() == _count(demo, f"{LOCATED} AND {DISTINCT}", FIRE)
    assert (dept["bin"] > 0).any()


def test_hot_spots_count_only_the_cases_a_scope_reads(demo: Engine, app_engine: Engine) -> None:
    """A department's "all disputes" would be its own cases only (hence not offered); a street
    office's hot spots are over its own area's cases."""
    street = str(scalar(demo, "SELECT street_code FROM cases GROUP BY 1 ORDER BY count(*) DESC "
                              "LIMIT 1"))
    with app_engine.begin() as con:
        Scope("dept", **FIRE_SCOPE).apply(con)  # type: ignore[arg-type]
        dept_all = hotspot_stats.gistar_cells(con, F, "all", distinct=False)
    visible = ("(c.lead_dept = 'fire' OR 'fire' = ANY (c.co_depts) OR c.category_code IN "
               "(SELECT code FROM categories WHERE theme = 'fire'))")
    assert dept_all["cases"].sum() == _count(demo, f"{LOCATED} AND {visible}")
    assert dept_all["cases"].sum() < _count(demo, LOCATED)
    with app_engine.begin() as con:
        Scope("street", streets=(street,)).apply(con)
        own = hotspot_stats.gistar_cells(con, F, "security", distinct=False)
    assert own["cases"].sum() == _count(
        demo, f"{LOCATED} AND c.street_code = :s", F.with_(themes=("security",)), s=street)
    assert own["cases"].sum() < _count(demo, LOCATED, F.with_(themes=("security",)))


def test_memoised_hot_spots_are_never_served_to_another_scope(
        demo: Engine, app_engine: Engine) -> None:
    with app_engine.begin() as con:
        Scope("dept", **FIRE_SCOPE).apply(con)  # type: ignore[arg-type]
        dept = hotspot_stats.gistar_cells(con, F, "all", distinct=False)
    with app_engine.begin() as con:
        Scope("leader").apply(con)
        leader = hotspot_stats.gistar_cells(con, F, "all", distinct=False)
    assert leader["cases"].sum() == _count(demo, LOCATED) > dept["cases"].sum()


# --- the page, as the fire brigade and as a leader ---------------------------------------------

def test_the_fire_account_sees_its_classes_legend_and_inspection_list(
        demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _open(demo, monkeypatch, "dept", scope=FIRE_SCOPE)
    assert at.segmented_control(key="hs_theme").options == ["消防安全"]  # no "all disputes"
    with demo.connect() as con:
        owner = hotspot_stats.gistar_cells(con, FIRE, "fire")
        cells, compounds = hotspot_stats.inspection(con, FIRE, "fire")
        h = facts.totals(con, FIRE.with_(distinct=False))
    html = _html(at)
    found = set(owner["class"])
    assert "hot_99" in found
    for c in gistar.CLASSES:  # every class found is in the legend, with what it means
        assert (c.label in html) == (c.key in found or c.key == "not_significant"), c.key
        if c.key in found:
            assert c.explanation in html
            assert f"{c.label}（{int((owner['class'] == c.key).sum())} 个）" in html
    assert "置信度：99% 表示这样的聚集纯属偶然的可能性不到 1%" in html
    tiles = _tiles(at)
    assert tiles["显著热点六边形"] == str(int(owner["class"].str.startswith("hot").sum()))
    assert tiles["期内消防安全诉求（去重）"] == f"{h['distinct']:,}"
    assert tiles["办结后再诉率"] == f"{measures.RATE_BY_KEY['repeat_rate'].of(h)}%"
    pd.testing.assert_frame_equal(_table(at, "所在六边形热点类别"), compounds)
    pd.testing.assert_frame_equal(_table(at, "H3编号"),
                                  cells.drop(columns=["中心经度", "中心纬度"]))
    assert "排查优先分 = 热点类别分" in html  # the score, explained on the page
    assert at.get("download_button")


def test_the_emerging_view_explains_each_pattern_found(
        demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _open(demo, monkeypatch, "dept", scope=FIRE_SCOPE)
    at.segmented_control(key="hs_view").set_value("emerging").run()
    assert not at.exception and not at.error
    with demo.connect() as con:
        em = hotspot_stats.emerging_cells(con, FIRE, "fire")
    html = _html(at)
    for p in emerging.PATTERNS:
        n = int((em["pattern"] == p.key).sum())
        if n:
            assert f"{p.label}（{n} 个）" in html and p.explanation in html, p.key
    assert "时空热点模式：消防安全" in html


def test_a_leader_may_analyse_all_disputes_per_households(
        demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _open(demo, monkeypatch)
    assert at.segmented_control(key="hs_theme").options == [
        "消防安全", "电梯安全", "治安与噪声", "全部诉求"]
    at.segmented_control(key="hs_theme").set_value("all").run()
    at.toggle(key="hs_per_hh").set_value(True).run()
    assert not at.exception and not at.error
    html = _html(at)
    assert "显著热点（Gi*）：全部诉求，按每千户去重诉求" in html
    with demo.connect() as con:
        _cells, compounds = hotspot_stats.inspection(con, F.with_(distinct=True), "all",
                                                     per_households=True)
    pd.testing.assert_frame_equal(_table(at, "所在六边形热点类别"), compounds)
    # open hazards of every theme
    assert len(_table(at, "隐患描述")) == scalar(
        demo, "SELECT count(*) FROM hazards WHERE status <> 'closed' AND found_on <= :d", d=AS_OF)


def test_the_repeat_list_ranks_compounds_of_the_theme_by_repeat_rate(
        demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _open(demo, monkeypatch, "dept", scope=FIRE_SCOPE)
    table = _table(at, "办结后再诉率")
    assert len(table) > 0
    assert list(table["办结后再诉率"]) == sorted(table["办结后再诉率"], reverse=True)
    top = table.iloc[0]
    cid = scalar(demo, "SELECT min(id) FROM compounds WHERE name = :n", n=top["小区"])
    fire = F.with_(themes=("fire",))
    assert top["受理"] == _count(demo, "c.compound_id = :i", fire, i=cid) >= 5
    assert top["办结后再诉"] == _count(demo, "c.compound_id = :i AND c.repeat_of IS NOT NULL",
                                     fire, i=cid)


# --- counting: distinct complaints for heat and hot spots, cases everywhere else ---------------

def test_heat_counts_distinct_complaints_unless_told_to_count_cases(demo: Engine) -> None:
    with demo.connect() as con:
        heat = registry.get("heat").query(con, F.with_(distinct=True))
        cases = registry.get("heat").query(con, F)
    total = sum(ft["properties"]["n"] for ft in heat.features)
    assert total == _count(demo, f"c.geom IS NOT NULL AND {DISTINCT}")
    assert sum(ft["properties"]["n"] for ft in cases.features) == _count(
        demo, "c.geom IS NOT NULL") > total
    assert registry.get("heat").follows_count and registry.get("gistar").follows_count
    assert not any(registry.get(k).follows_count for k in registry.DRILLDOWN)


def test_the_count_switch_lives_in_the_url_and_leaves_case_figures_alone(
        demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    default = _open(demo, monkeypatch, page=PAGES[0])
    assert default.radio(key="f_count").value == "distinct"
    assert "count" not in default.query_params
    default.pills(key="ov_layers").set_value(["heat"]).run()
    assert "诉求密度（去重诉求/六边形" in _html(default)
    cases = _open(demo, monkeypatch, page=PAGES[0], count="cases")
    assert cases.radio(key="f_count").value == "cases"
    cases.pills(key="ov_layers").set_value(["heat"]).run()
    assert "诉求密度（工单件数/六边形" in _html(cases)
    assert cases.query_params["count"] == "cases"
    # the headline figures count cases either way, and show distinct complaints beside them
    assert _tiles(default) == _tiles(cases)
    assert _tiles(default)["受理（件）"] == f"{_count(demo, 'TRUE'):,}"
    assert _tiles(default)["诉求（去重）"] == f"{_count(demo, DISTINCT):,}"
    # the drill-down, the worklist and its download count cases whatever the switch says
    street = str(scalar(demo, "SELECT street_code FROM compounds WHERE is_sanwu GROUP BY 1 "
                              "ORDER BY count(*) DESC, 1 LIMIT 1"))
    for page in (PAGES[1], PAGES[2]):
        a = _open(demo, monkeypatch, page=page, street=street)
        b = _open(demo, monkeypatch, page=page, street=street, count="cases")
        assert _tiles(a) == _tiles(b)
        assert all(x.value.equals(y.value) for x, y in zip(a.dataframe, b.dataframe, strict=True))


def test_the_overview_offers_hot_spots_to_those_who_read_every_case(
        demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    leader = _open(demo, monkeypatch, page=PAGES[0])
    assert "显著热点（Gi*）" in leader.pills(key="ov_layers").options
    leader.pills(key="ov_layers").set_value(["gistar"]).run()
    assert not leader.exception and not leader.error
    assert "显著热点（Gi*）：全部诉求，按去重诉求" in _html(leader)
    dept = _open(demo, monkeypatch, "dept", page=PAGES[0], scope=FIRE_SCOPE)
    assert "显著热点（Gi*）" not in dept.pills(key="ov_layers").options
    # the overlay follows the sidebar's theme filter
    themed = _open(demo, monkeypatch, page=PAGES[0], theme="elevator")
    themed.pills(key="ov_layers").set_value(["gistar"]).run()
    assert "显著热点（Gi*）：电梯安全" in _html(themed)


# --- the repeat rate beside the closure rate ---------------------------------------------------

def test_street_ranking_and_map_show_the_repeat_rate(demo: Engine,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    at = _open(demo, monkeypatch, page=PAGES[0])
    ranking = _table(at, "办结后再诉率%").set_index("街道/镇")
    cols = list(ranking.columns)
    assert cols.index("办结后再诉率%") == cols.index("办结率%") + 1
    with demo.connect() as con:
        rows = con.execute(sa.text(f"""
            SELECT s.name, count(c.id) AS n, count(c.id) FILTER (WHERE c.repeat_of IS NOT NULL)
            FROM streets s LEFT JOIN cases c ON c.street_code = s.code AND {F.case_where('c')}
            GROUP BY 1"""), F.params()).all()
        areas = registry.get("street_areas").query(con, F)
    by_name = {ft["properties"]["name"]: ft["properties"] for ft in areas.features}
    for name, n, r in rows:
        expected = round(100.0 * r / n, 1) if n else None
        got = ranking.loc[name, "办结后再诉率%"]
        assert (got == pytest.approx(expected)) if n else pd.isna(got), name
        assert by_name[name]["repeat_rate"] == (pytest.approx(expected) if n else None), name
    at.radio(key="ov_measure").set_value("repeat_rate").run()
    assert not at.exception and "街道/镇：办结后再诉率" in _html(at)


# --- a case's complaint group on the compound card ---------------------------------------------

def test_the_compound_card_shows_each_cases_complaint_group(
        demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    start = dt.datetime.combine(F.start, dt.time.min, tzinfo=measures.TZ)
    with demo.connect() as con:
        case_no, first, size, compound, street = con.execute(sa.text("""
            SELECT c.case_no, g.case_no, (SELECT count(*) FROM cases m
                                         WHERE m.complaint_group = c.complaint_group),
                   c.compound_id, c.street_code
            FROM cases c JOIN cases g ON g.id = c.complaint_group
            WHERE c.complaint_group <> c.id AND c.compound_id IS NOT NULL
              AND c.received_at >= :s
            ORDER BY c.received_at DESC LIMIT 1"""), {"s": start}).one()
    at = _open(demo, monkeypatch, page=PAGES[1], street=street, compound=str(compound))
    cases = _table(at, "同一诉求").set_index("工单号")
    assert size >= 2
    assert cases.loc[case_no, "同一诉求"] == f"{first}（共 {size} 件）"
    assert cases.loc[first, "同一诉求"] == f"{first}（共 {size} 件）"
    alone = scalar(demo, "SELECT count(*) FROM cases WHERE compound_id = :x AND received_at >= :s "
                         "AND complaint_group IS NULL", x=compound, s=start)
    assert (cases["同一诉求"] == "").sum() == alone
    assert stats.group_text(None, None) == "" and stats.group_text("A", 1) == ""


@pytest.mark.parametrize("params", [
    {"period": "custom", "from": "2001-01-01", "to": "2001-01-31"},
    {"period": "custom", "from": "2026-06-28", "to": "2026-06-30"},
    {"count": "cases", "status": "reopened"}, {"theme": "service", "channel": "petition"}])
def test_the_fire_account_page_survives_any_filter(
        demo: Engine, monkeypatch: pytest.MonkeyPatch, params: dict[str, str]) -> None:
    """No case in the period, a period shorter than a week, few cases: figures, never errors."""
    at = _open(demo, monkeypatch, "dept", scope=FIRE_SCOPE, **params)
    at.segmented_control(key="hs_view").set_value("emerging").run()
    at.toggle(key="hs_per_hh").set_value(True).run()
    assert not at.exception and not at.error
    assert "时空热点模式：消防安全" in _html(at)


def test_a_department_without_hazard_themes_is_told_so(
        demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _open(demo, monkeypatch, "dept", scope={"dept": "housing", "themes": ()})
    assert any("没有对应的隐患主题" in i.value for i in at.info)
    assert not at.dataframe and not at.get("download_button")


@pytest.mark.parametrize("kind", ["street", "community", "viewer"])
def test_other_accounts_see_hot_spots_of_what_they_read(
        demo: Engine, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    from tests.test_scopes_pages import _scope

    scope, where, params = _scope(demo, kind)
    at = _open(demo, monkeypatch, kind, scope=scope)
    assert at.segmented_control(key="hs_theme").options[-1] == "全部诉求"
    fire = F.with_(themes=("fire",))
    assert _tiles(at)["工单（件）"] == f"{_count(demo, where, fire, **params):,}"
    captions = "\n".join(c.value for c in at.caption)
    assert ("相对本辖区的热点" in captions) == (kind != "viewer")
    assert bool(at.get("download_button")) == (kind != "viewer")
