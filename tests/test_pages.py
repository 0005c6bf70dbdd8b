"""Every dashboard page through Streamlit's AppTest, on the demo test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAGES = ["views/overview.py", "views/drilldown.py", "views/worklist.py", "views/hotspots.py",
         "views/firms.py", "views/present.py", "views/cases.py", "views/typical.py",
         "views/credit.py", "views/coverage.py"]


@pytest.fixture
def app(demo: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    from tests.conftest import app_test

    yield app_test(demo, monkeypatch)  # type: ignore[misc]


def _texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def _run(at: AppTest, page: str, **params: str) -> AppTest:
    at.run()
    if page != PAGES[0]:
        at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = v
    if page != PAGES[0] or params:
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_and_says_data_are_synthetic(app: AppTest, page: str, demo: Engine) -> None:
    from tests.conftest import scalar

    at = _run(app, page)
    # A caption; on 会议展示, beside the one-line title with the details as its tooltip.
    notice = next(t for t in [c.value for c in at.caption] + [m.value for m in at.markdown]
                  if "演示数据（合成）" in t)
    # The notice says which parts are real and which invented, as the data say.
    real = scalar(demo, "SELECT value FROM dataset_meta WHERE key = 'real_parts'")
    invented = scalar(demo, "SELECT value FROM dataset_meta WHERE key = 'synthetic_parts'")
    assert f"真实：{real}" in notice and f"程序生成：{invented}" in notice
    assert "271个社区和村的名称与区划代码（2016年）" in notice
    assert "白午街道、白果井街道" in notice and "边界" in notice


def test_overview_shows_headline_figures_of_the_period(app: AppTest, demo: Engine) -> None:
    from tests.conftest import AS_OF, scalar

    at = _run(app, PAGES[0])
    received = scalar(demo, "SELECT count(*) FROM cases WHERE received_at >= :a "
                      "AND received_at < :b", a=AS_OF.replace(year=AS_OF.year - 1),
                      b=AS_OF.replace(day=AS_OF.day))
    assert isinstance(received, int)
    assert "受理（件）" in _texts(at)
    assert len(at.dataframe) >= 1  # the street ranking


def test_drilldown_from_url_shows_street_and_compound_card(app: AppTest, demo: Engine) -> None:
    from tests.conftest import scalar

    street = scalar(demo, "SELECT street_code FROM compounds WHERE is_sanwu "
                          "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    compound = scalar(demo, "SELECT min(id) FROM compounds WHERE street_code = :s AND is_sanwu",
                      s=street)
    name = scalar(demo, "SELECT name FROM compounds WHERE id = :i", i=compound)
    at = _run(app, PAGES[1], street=str(street), compound=str(compound))
    texts = _texts(at)
    assert "三无小区" in texts and str(name) in texts
    crumbs = [b.label for b in at.button if b.key and b.key.startswith("crumb-")]
    assert crumbs[0].startswith("凯里市") and crumbs[-1] == name
    # the breadcrumb leads back up to the city
    next(b for b in at.button if b.key == "crumb-0").click().run()
    assert "street" not in at.query_params


def test_worklist_offers_xlsx_for_the_chosen_street(app: AppTest, demo: Engine) -> None:
    from tests.conftest import scalar

    street = scalar(demo, "SELECT street_code FROM compounds WHERE is_sanwu "
                          "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    at = _run(app, PAGES[2], street=str(street))
    table = at.dataframe[0].value
    n = scalar(demo, "SELECT count(*) FROM compounds WHERE street_code = :s "
                     "AND (is_sanwu OR is_old)", s=street)
    assert len(table) == n
    assert list(table.columns[:2]) == ["排序", "小区名称"]
    assert table["优先分"].is_monotonic_decreasing


def test_filters_change_the_figures(app: AppTest) -> None:
    at = app
    at.run()
    before = _texts(at)
    at.selectbox(key="f_period").select("近30天").run()
    assert not at.exception
    assert _texts(at) != before


def test_a_shared_link_reproduces_the_filters(app: AppTest) -> None:
    default = _texts(_run(app, PAGES[0]))
    at = AppTest.from_file(APP, default_timeout=60)  # a new session opening the link
    at.session_state["account"] = app.session_state["account"]
    at.query_params.update({"period": "30", "channel": "12345,mailbox", "theme": "fire"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="f_period").value == "近30天"
    assert at.multiselect(key="f_channels").value == ["12345", "mailbox"]
    assert at.multiselect(key="f_themes").value == ["fire"]
    assert _texts(at) != default
    # and a change in the sidebar goes back into the link
    at.multiselect(key="f_statuses").select("closed").run()
    assert at.query_params["status"] == "closed"
    at.selectbox(key="f_period").select("近一年").run()
    assert "period" not in at.query_params


def test_unknown_filter_values_in_a_link_are_ignored(app: AppTest) -> None:
    app.query_params.update({"period": "7", "channel": "fax", "from": "garbage"})
    at = _run(app, PAGES[0])
    assert at.selectbox(key="f_period").value == "近一年"
    assert at.multiselect(key="f_channels").value == []


def test_presentation_puts_figures_beside_the_map(app: AppTest) -> None:
    at = _run(app, PAGES[5])
    html = "\n".join(m.value for m in at.markdown)
    assert "pm-present" in html and "pm-stack" in html and "pm-big-legend" in html


def test_breadcrumb_goes_from_a_compound_to_its_community(app: AppTest, demo: Engine) -> None:
    from tests.conftest import scalar

    compound = scalar(demo, "SELECT min(id) FROM compounds WHERE is_sanwu")
    street, community = (scalar(demo, f"SELECT {c} FROM compounds WHERE id = :i", i=compound)
                         for c in ("street_code", "community_id"))
    name = scalar(demo, "SELECT name FROM communities WHERE id = :i", i=community)
    at = _run(app, PAGES[1], street=str(street), compound=str(compound))
    crumbs = [b for b in at.button if b.key and b.key.startswith("crumb-")]
    assert len(crumbs) == 4 and crumbs[2].label == f"{name} ›"
    crumbs[2].click().run()
    assert at.query_params["community"] == str(community)
    assert "compound" not in at.query_params
