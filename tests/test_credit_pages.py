"""The firm, credit and coverage pages through Streamlit's AppTest, on the second demo.

What a housing-bureau account does (decide on a proposal, record a penalty, register party
building) reaches the history, the current status and the audit log; every other account
gets no form (and tests/test_credit.py shows the database refusing them anyway); figures on
the pages equal SQL written out here; the firm table hides no firm; the CLI writes the same
evaluation to xlsx and explains a score line by line.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from geo import coverage
from tests.conftest import app_test, scalar
from tests.test_one_truth import _tiles

FIRMS, CREDIT, COVERAGE = "views/firms.py", "views/credit.py", "views/coverage.py"


def _visit(engine: Engine, monkeypatch: pytest.MonkeyPatch, page: str, kind: str = "leader",
           **params: str) -> AppTest:
    scope: dict[str, Any] = {}
    if kind in ("street", "community"):
        street = _street(engine)
        scope = {"streets": (street,)}
        if kind == "community":
            scope["community_id"] = int(scalar(
                engine, "SELECT min(community_id) FROM compounds WHERE street_code = :s "
                        "AND owners_committee = 'established'", s=street))
    at: AppTest = app_test(engine, monkeypatch, kind, **scope)  # type: ignore[assignment]
    at.query_params.update(params)
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _street(engine: Engine) -> str:
    return str(scalar(engine, "SELECT street_code FROM compounds WHERE owners_committee = "
                              "'established' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"))


def _texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                     + [h.value for h in at.subheader] + [w.value for w in at.warning]
                     + [i.value for i in at.info]
                     + [s.value for s in at.success] + [t.value for t in at.text])


# --- 物业企业 -----------------------------------------------------------------------------------

def test_the_firm_table_shows_every_firm_with_one_rounding(big_demo: Engine,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    at = _visit(big_demo, monkeypatch, FIRMS)
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert len(table) == scalar(big_demo, "SELECT count(*) FROM property_firms")
    assert "id" not in table.columns
    for col in ("每千户诉求", "超期率%", "逾期办结率%", "满意率%"):
        vals = table[col].dropna().astype(float)
        assert (vals.round(1) == vals).all(), col
    assert "超期：截至数据截止日仍未办结、且已超过办理时限的工单" in _texts(at)
    assert "超期办结" not in _texts(at)  # the old caption mixed 超期 and 逾期办结


def test_the_street_filter_keeps_every_firm_and_counts_the_streets_compounds(
        big_demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    street = _street(big_demo)
    at = _visit(big_demo, monkeypatch, FIRMS, street=street)
    table = at.dataframe[0].value.set_index("物业企业")
    assert len(table) == scalar(big_demo, "SELECT count(*) FROM property_firms")
    with big_demo.connect() as con:
        expected: dict[str, int] = dict(con.execute(sa.text(
            "SELECT p.name, count(x.id) FROM property_firms p LEFT JOIN compounds x "
            "ON x.firm_id = p.id AND x.street_code = :s GROUP BY p.name"), {"s": street}).all())
    assert {k: int(v) for k, v in table["服务小区"].items()} == expected
    assert 0 in expected.values()  # a firm serving no compound here is shown, with zeros


def test_a_firm_profile_flags_a_red_listed_firm_among_the_worst(
        big_demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo import credit

    with big_demo.connect() as con:
        ev = credit.evaluate(con, "firm")
    flagged = [sid for sid, fl in ev.flags.items() if ev.status.get(sid) == "red"]
    assert flagged, "the demo has a red-listed firm among the worst (the issue's 锦程)"
    sid = flagged[0]
    at = _visit(big_demo, monkeypatch, FIRMS, firm=str(sid))
    texts = _texts(at)
    assert f"企业档案：{ev.subjects[sid].name}" in texts
    assert any("红榜" in w.value and "最差的" in w.value for w in at.warning)
    tiles = _tiles(at)
    assert tiles["服务户数"] == f"{ev.subjects[sid].households:,}"
    assert tiles["红黑榜"] == "红榜"
    assert "全市中位数" in texts or at.get("arrow_vega_lite_chart")
    assert any(e.label.startswith(f"{ev.period.label}评分明细") for e in at.expander)


def test_a_street_account_sees_published_grades_but_no_city_scores(
        big_demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    firm = int(scalar(big_demo, "SELECT min(firm_id) FROM compounds WHERE street_code = :s",
                      s=_street(big_demo)))
    at = _visit(big_demo, monkeypatch, FIRMS, "street", firm=str(firm))
    assert "仅向全市范围的账号显示" in _texts(at)
    at = _visit(big_demo, monkeypatch, CREDIT, "street")
    assert "只向全市范围的账号显示" in _texts(at)
    assert not any(b.label == "保存决定" for b in at.button)


# --- 信用评价 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["leader", "viewer", "admin", "street", "community"])
def test_only_the_housing_bureau_gets_the_forms(big_demo: Engine,
                                                monkeypatch: pytest.MonkeyPatch,
                                                kind: str) -> None:
    at = _visit(big_demo, monkeypatch, CREDIT, kind)
    assert not at.error, [e.value for e in at.error]
    labels = {b.label for b in at.button}
    assert not labels & {"保存决定", "保存记录", "发布", "撤销", "保存认定"}
    housing = _visit(big_demo, monkeypatch, CREDIT, "housing")
    assert {"保存决定", "保存记录"} <= {b.label for b in housing.button}


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def test_the_housing_bureau_decides_a_proposal_and_it_is_kept(
        big_demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo import credit

    with big_demo.connect() as con:
        ev = credit.evaluate(con, "firm")
    pending = ev.pending()
    assert pending
    sid = pending[0]
    prop = ev.proposals[sid]
    before = scalar(big_demo, "SELECT count(*) FROM credit_list_changes WHERE firm_id = :i",
                    i=sid)
    at = _visit(big_demo, monkeypatch, CREDIT, "housing")
    at.selectbox(key="decide_subject").set_value(sid)
    at.radio(key="decide_basis").set_value("proposal")
    _button(at, "保存决定").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert any("已记录" in s.value for s in at.success)
    row = big_demo.connect().execute(sa.text(
        "SELECT status, previous, basis, period, recorded_by, reason FROM credit_list_changes "
        "WHERE firm_id = :i ORDER BY id DESC LIMIT 1"), {"i": sid}).one()
    assert (row.status, row.previous, row.basis, row.period, row.recorded_by) == (
        prop.status, prop.current, "proposal", str(ev.period), "test-housing")
    assert row.reason == prop.reason  # the proposal's reason, kept with the decision
    assert scalar(big_demo, "SELECT count(*) FROM credit_list_changes WHERE firm_id = :i",
                  i=sid) == before + 1
    assert scalar(big_demo, "SELECT list_status FROM property_firms WHERE id = :i",
                  i=sid) == prop.status
    assert scalar(big_demo, "SELECT count(*) FROM audit_log WHERE account = 'test-housing' "
                            "AND detail ->> 'what' = 'credit_list_change' "
                            "AND (detail ->> 'subject_id')::int = :i", i=sid) == 1
    # the page shows the decided proposal no more
    assert sid not in {r for r in at.dataframe[0].value["编号"]} or len(pending) == 1


def test_the_housing_bureau_records_a_penalty_and_an_incomplete_one_is_refused(
        big_demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    firm = int(scalar(big_demo, "SELECT min(id) FROM property_firms"))
    at = _visit(big_demo, monkeypatch, CREDIT, "housing")
    at.selectbox(key="event_subject").set_value(firm)
    at.selectbox(key="event_kind").set_value("penalty")
    at.text_area(key="event_reason").input("未按规定公示收费标准")
    _button(at, "保存记录").click().run()
    assert any("请填写文号" in e.value for e in at.error)  # refused, said why, nothing written
    assert scalar(big_demo, "SELECT count(*) FROM credit_events WHERE firm_id = :f AND "
                            "recorded_by = 'test-housing'", f=firm) == 0
    at.text_input(key="event_doc").input("凯住建罚〔2026〕41号")
    _button(at, "保存记录").click().run()
    assert any("已记录" in s.value for s in at.success)
    assert scalar(big_demo, "SELECT doc_no FROM credit_events WHERE firm_id = :f AND "
                            "recorded_by = 'test-housing'", f=firm) == "凯住建罚〔2026〕41号"


# --- 覆盖缺口与党建 -------------------------------------------------------------------------

def test_coverage_figures_equal_sql(big_demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _visit(big_demo, monkeypatch, COVERAGE)
    assert not at.error, [e.value for e in at.error]
    with big_demo.connect() as con:
        rows = con.execute(sa.text("""
            SELECT s.name,
                   count(*) AS n, sum(coalesce(x.households, 0)) AS hh,
                   count(*) FILTER (WHERE x.management_mode <> 'property_firm') AS gap,
                   coalesce(sum(x.households) FILTER (
                       WHERE x.management_mode <> 'property_firm'), 0) AS gap_hh,
                   count(*) FILTER (WHERE x.management_mode = 'none' AND x.is_sanwu) AS sanwu,
                   count(*) FILTER (WHERE x.management_mode = 'street_custody') AS custody,
                   count(*) FILTER (WHERE x.management_mode = 'street_custody'
                                    AND x.is_sanwu) AS sanwu_custody,
                   count(*) FILTER (WHERE x.management_mode = 'owners_self') AS owners,
                   count(*) FILTER (WHERE x.management_mode = 'work_unit') AS unit
            FROM compounds x JOIN streets s ON s.code = x.street_code GROUP BY s.name
        """)).mappings().all()
    table = at.dataframe[0].value.set_index("街道/镇")
    for r in rows:
        t = table.loc[r["name"]]
        assert (t["小区数"], t["户数"], t["无专业物业小区"], t["无专业物业户数"]) == (
            r["n"], r["hh"], r["gap"], r["gap_hh"]), r["name"]
        assert (t["三无（未托管）（小区）"], t["街道托管（小区）"], t["其中三无已托管（小区）"],
                t["业主自管（小区）"], t["单位自管（小区）"]) == (
            r["sanwu"], r["custody"], r["sanwu_custody"], r["owners"], r["unit"]), r["name"]
        assert t["无专业物业户数占比%"] == pytest.approx(round(100.0 * r["gap_hh"] / r["hh"], 1))
    tiles = _tiles(at)
    assert tiles["无专业物业户数"] == f"{sum(r['gap_hh'] for r in rows):,}"
    assert tiles["三无（未托管）小区"] == f"{sum(r['sanwu'] for r in rows):,}"
    assert len(table) == len(rows)
    assert [c.key for c in coverage.classes()][0] == "professional"


def test_party_coverage_equals_sql(big_demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _visit(big_demo, monkeypatch, COVERAGE)
    party_table = at.dataframe[1].value.set_index("街道/镇")
    with big_demo.connect() as con:
        rows = con.execute(sa.text("""
            WITH cur AS (SELECT DISTINCT ON (compound_id) compound_id, has_party_org
                         FROM party_building WHERE subject = 'committee'
                         ORDER BY compound_id, recorded_at DESC, id DESC)
            SELECT s.name, count(*) AS n,
                   count(*) FILTER (WHERE cur.has_party_org) AS party
            FROM compounds x JOIN streets s ON s.code = x.street_code
            LEFT JOIN cur ON cur.compound_id = x.id
            WHERE x.owners_committee = 'established' GROUP BY s.name""")).all()
    for name, n, with_party in rows:
        t = party_table.loc[name]
        assert (t["业委会数"], t["已建党组织的业委会"]) == (n, with_party), name
        assert t["业委会党组织覆盖率%"] == pytest.approx(round(100.0 * with_party / n, 1))


def test_a_street_office_registers_its_committees_party_building(
        big_demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    street = _street(big_demo)
    at = _visit(big_demo, monkeypatch, COVERAGE, "street")
    assert at.radio(key="party_kind").options == ["业主委员会"]  # no firms for a street office
    committees = at.selectbox(key="party_subject").options
    own = scalar(big_demo, "SELECT count(*) FROM compounds WHERE street_code = :s "
                           "AND owners_committee = 'established'", s=street)
    assert len(committees) == own
    cid = int(scalar(big_demo, "SELECT min(id) FROM compounds WHERE street_code = :s "
                               "AND owners_committee = 'established'", s=street))
    at.selectbox(key="party_subject").set_value(cid)
    at.checkbox(key="party_has").check()
    at.text_input(key="party_name").input("测试小区业委会党支部")
    at.number_input(key="party_members").set_value(7)
    _button(at, "保存").click().run()
    assert not at.error, [e.value for e in at.error]
    row = big_demo.connect().execute(sa.text(
        "SELECT has_party_org, party_org_name, party_members, recorded_by, source "
        "FROM party_building WHERE compound_id = :c ORDER BY id DESC LIMIT 1"), {"c": cid}).one()
    assert tuple(row) == (True, "测试小区业委会党支部", 7, "test-street", "dashboard")


# --- the command line ------------------------------------------------------------------------

def test_export_firms_and_explain(big_demo: Engine, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from geo import credit
    from propmap.cli import main

    monkeypatch.setenv("DATABASE_URL", big_demo.url.render_as_string(hide_password=False))
    out = tmp_path / "firms.xlsx"
    res = CliRunner().invoke(main, ["export", "firms", "--output", str(out), "--period",
                                    "2026Q1"])
    assert res.exit_code == 0, res.output
    ws = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))["物业企业信用评价"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    for col in ("名称", "得分", "等级", "红黑榜", "工单扣分", "隐患扣分", "记录事项", "超期率%"):
        assert col in header, col
    with big_demo.connect() as con:
        ev = credit.evaluate(con, "firm", credit.Period(2026, 1))
    assert len(rows) - 1 == len(ev.subjects)
    got = {r[header.index("名称")]: (r[header.index("得分")], r[header.index("等级")])
           for r in rows[1:]}
    assert got == {s.name: ((sc.total, sc.band) if (sc := ev.score(i)) and sc.band
                            else (None, "不评级"))
                   for i, s in ev.subjects.items()}
    black = scalar(big_demo, "SELECT name FROM property_firms WHERE list_status = 'black' "
                             "ORDER BY id LIMIT 1")
    res = CliRunner().invoke(main, ["credit", "explain", str(black)])
    assert res.exit_code == 0, res.output
    for part in ("基础分 100 分", "一、工单", "二、隐患", "三、记录事项", "得分",
                 "红黑榜：当前 黑榜"):
        assert part in res.output, part
    res = CliRunner().invoke(main, ["credit", "explain", "物业"])
    assert res.exit_code == 2 and "请写得更完整" in res.output
    res = CliRunner().invoke(main, ["export", "firms", "--output", str(tmp_path / "f.csv")])
    assert res.exit_code != 0 and "xlsx" in res.output


def test_import_a_party_register_in_gbk_with_other_headers(
        big_demo: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from propmap.cli import main

    firm = str(scalar(big_demo, "SELECT name FROM property_firms ORDER BY id LIMIT 1"))
    code = str(scalar(big_demo, "SELECT code FROM compounds WHERE owners_committee = "
                                "'established' ORDER BY id DESC LIMIT 1"))
    path = tmp_path / "党建登记.csv"
    path.write_bytes((
        "凯里市红色物业党建情况登记表\n"
        "对象类型,单位名称,小区编码,党组织建立情况,党支部名称,党员数,具备群团组建条件,群团组织\n"
        f"物业企业,{firm.removeprefix('凯里市')},,已建立,{firm}党支部,12,是,是\n"
        f"业委会,,{code},是,,,否,否\n"
        "业委会,,NOPE,否,,,,\n"
        f"物业企业,{firm},,也许,,,,\n"
    ).encode("gb18030"))
    monkeypatch.setenv("DATABASE_URL", big_demo.url.render_as_string(hide_password=False))
    res = CliRunner().invoke(main, ["import", "party", str(path), "--json"])
    assert res.exit_code == 0, res.output
    import json

    out = json.loads(res.output.strip().splitlines()[-1])
    assert (out["rows_read"], out["recorded"] + out["unchanged"], len(out["refused"])) == (4, 2, 2)
    reasons = {r["row"]: r["reason"] for r in out["refused"]}
    assert "没有找到该小区的业主委员会" in reasons[5] and "是否栏" in reasons[6]
    assert scalar(big_demo, "SELECT party_members FROM party_building p JOIN property_firms f "
                            "ON f.id = p.firm_id WHERE f.name = :n ORDER BY p.id DESC LIMIT 1",
                  n=firm) == 12
    again = CliRunner().invoke(main, ["import", "party", str(path), "--json"])
    assert json.loads(again.output.strip().splitlines()[-1])["unchanged"] == 2
