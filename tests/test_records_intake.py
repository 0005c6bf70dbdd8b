"""Files that carry records (issue 9): the register after a takeover, the worklist coming back,
the fire brigade's messy GBK CSV and market regulation's elevator inspections.

Real files (xlsx written by openpyxl, CSV encoded in GBK), real PostGIS, the
``propmap`` command where staff would use it; on a scratch database with a demo
of its own, since every test here writes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from etl import demo as demo_mod
from etl.intake.compounds import import_compounds
from etl.intake.hazards import import_hazards
from geo import crs, history, roles
from geo.measures import today
from propmap.cli import main
from tests import conftest
from tests.conftest import AS_OF, app_test


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Engine, str]]:
    with conftest.scratch_database("_intake9") as (eng, url):
        demo_mod.build(eng, seed=42, n_cases=1_000, as_of=AS_OF, say=lambda _m: None)
        try:
            yield eng, url
        finally:
            from dashboard import data

            data.engine(roles.app_url(url)).dispose()


def _rows(eng: Engine, sql: str, **params: object) -> list[Any]:
    with eng.connect() as con:
        return list(con.execute(sa.text(sql), params))


def _cli(url: str, *args: str) -> dict[str, object]:
    res = CliRunner().invoke(main, [*args, "--json"], env={"DATABASE_URL": url})
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- the register after a recorded takeover --------------------------------------------------

def _register_row(eng: Engine, cid: int, **state: str) -> dict[str, str]:
    r = _rows(eng, "SELECT code, name, aliases, address, build_year, households, buildings, "
                   "floors, ST_AsText(geom) AS wkt FROM compounds WHERE id = :i", i=cid)[0]
    return {"小区编号": r.code, "小区名称": r.name, "别名": "；".join(r.aliases),
            "地址": r.address or "", "建成年份": str(r.build_year), "户数": str(r.households),
            "楼栋数": str(r.buildings), "最高楼层": str(r.floors), "边界": r.wkt,
            "管理模式": state.get("mode", "无人管理"), "物业服务企业": state.get("firm", ""),
            "业委会": state.get("committee", "无"), "主管部门": ""}


def test_a_register_import_after_a_takeover_follows_the_precedence(
        world: tuple[Engine, str], tmp_path: Path) -> None:
    eng, url = world
    cid, street = _rows(eng, "SELECT id, street_code FROM compounds WHERE is_sanwu AND "
                             "management_mode = 'none' ORDER BY id LIMIT 1")[0]
    takeover = today() - dt.timedelta(days=10)
    with eng.begin() as con:
        history.record(con, history.check(con, history.frame([history.Proposal(
            cid, "takeover", takeover)]), account_kind=None), source="dashboard",
            recorded_by="t-street", role="street")
    firm = _rows(eng, "SELECT name FROM property_firms ORDER BY id LIMIT 1")[0].name
    path = tmp_path / "小区名录.xlsx"

    # 1. a register describing an older day says 无人管理: the street's newer record stands
    pd.DataFrame([_register_row(eng, cid, mode="无人管理")]).to_excel(path, index=False)
    r = import_compounds(eng, path, registered_on=takeover - dt.timedelta(days=30))
    assert (r.rows_read, r.inserted, r.updated, r.unchanged, r.quarantined) == (1, 0, 0, 1, 0)
    assert _rows(eng, "SELECT management_mode FROM compounds WHERE id = :i", i=cid)[0][0] \
        == "street_custody"
    with eng.connect() as con:
        kept = history.conflicts(con, r.import_id)
    assert kept["处理"].tolist() == ["名录较旧，保留街道记录（名录未生效）"]
    assert kept["街道记录"].iloc[0].startswith("街道托管")
    # importing the same stale register again records nothing more
    r2 = import_compounds(eng, path, registered_on=takeover - dt.timedelta(days=30))
    assert (r2.updated, r2.unchanged) == (0, 1)
    assert _rows(eng, "SELECT count(*) FROM compound_events WHERE compound_id = :i "
                      "AND kind = 'registered'", i=cid)[0][0] == 2

    # 2. a register of the same day as the takeover: the street's record still stands
    r = import_compounds(eng, path, registered_on=takeover)
    assert r.updated == 0
    assert _rows(eng, "SELECT management_mode FROM compounds WHERE id = :i", i=cid)[0][0] \
        == "street_custody"

    # 3. a newer register (through the command line) says a firm came: the newer fact wins,
    #    and the overridden street record is listed for review
    pd.DataFrame([_register_row(eng, cid, mode="物业服务企业", firm=firm)]).to_excel(
        path, index=False)
    out = _cli(url, "import", "compounds", str(path), "--as-of",
               (takeover + dt.timedelta(days=5)).isoformat())
    assert (out["updated"], out["unchanged"]) == (1, 0)
    state = _rows(eng, "SELECT management_mode, is_sanwu, mode_since FROM compounds "
                       "WHERE id = :i", i=cid)[0]
    assert tuple(state) == ("property_firm", False, takeover + dt.timedelta(days=5))
    with eng.connect() as con:
        assert history.was_sanwu(con, cid, takeover + dt.timedelta(days=4)) is True
        assert history.was_sanwu(con, cid, takeover + dt.timedelta(days=5)) is False
        over = history.conflicts(con, int(str(out["import_id"])))
    assert over["处理"].tolist() == ["名录较新，已覆盖街道记录"]
    res = CliRunner().invoke(main, ["record", "conflicts"], env={"DATABASE_URL": url})
    assert res.exit_code == 0 and "名录较新" in res.output and "名录较旧" in res.output
    # every register statement is a dated event of source 'register'
    events = _rows(eng, "SELECT on_date, source, applied, conflict FROM compound_events "
                        "WHERE compound_id = :i AND import_id IS NOT NULL ORDER BY id", i=cid)
    assert [(e.source, e.applied, e.conflict) for e in events] == [
        ("register", False, "kept_record"), ("register", False, "kept_record"),
        ("register", True, "overrode_record")]
    assert all(e.on_date is not None for e in events)
    del street

    # 4. a new compound in a register gets its first (dated) registration from it
    row = _register_row(eng, cid)
    row.update({"小区编号": "REG-NEW-1", "小区名称": "登记新建小区", "地址": "凯里市测试路1号"})
    pd.DataFrame([row]).to_excel(path, index=False)
    r = import_compounds(eng, path, registered_on=takeover)
    assert r.inserted == 1
    first = _rows(eng, "SELECT e.kind, e.on_date, e.import_id FROM compound_events e "
                       "JOIN compounds x ON x.id = e.compound_id WHERE x.code = 'REG-NEW-1'")
    assert [tuple(f) for f in first] == [("registered", takeover, r.import_id)]


# --- the worklist round trip -------------------------------------------------------------------

def test_the_worklist_goes_out_and_comes_back(world: tuple[Engine, str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    eng, url = world
    street = _rows(eng, "SELECT street_code FROM compounds WHERE is_sanwu AND management_mode "
                        "= 'none' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0][0]
    out = tmp_path / "清单.xlsx"
    res = CliRunner().invoke(main, ["export", "worklist", "--street", street, "--output",
                                    str(out)], env={"DATABASE_URL": url})
    assert res.exit_code == 0, res.output
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    for h in ("小区编号", "类型", *history.WORKLIST_ACTIONS.values()):
        assert h in header
    col = {h: i + 1 for i, h in enumerate(header)}
    assert ws.data_validations.dataValidation[0].formula1.count("街道托管") == 1
    types = {ws.cell(r, col["类型"]).value.split("、")[0] for r in range(2, ws.max_row + 1)}
    assert {"三无，未托管", "三无，已托管"} <= types  # the work and the progress, apart
    # the dashboard's download is the same file
    from layers import stats, worklist
    from layers.filters import Filters

    with eng.connect() as con:
        f = Filters.year_to(AS_OF, street=street)
        same = worklist.workbook(worklist.query(con, f), street_name=stats.streets(con).set_index(
            "code").loc[street, "name"], f=f, synthetic=True)
    a = [list(r) for r in load_workbook(io.BytesIO(same)).worksheets[0].iter_rows(
        values_only=True)]
    assert a == [list(r) for r in ws.iter_rows(values_only=True)]

    untaken = [r for r in range(2, ws.max_row + 1)
               if ws.cell(r, col["类型"]).value.startswith("三无，未托管")]
    custody = [r for r in range(2, ws.max_row + 1)
               if ws.cell(r, col["类型"]).value.startswith("三无，已托管")]
    day = today() - dt.timedelta(days=1)
    fills = {
        untaken[0]: {"采取措施": "街道托管", "措施日期": day.isoformat(),
                     "文号": "凯测托〔2026〕9号"},
        untaken[1]: {"采取措施": "成立业委会", "措施日期": f"{day:%Y/%m/%d}",
                     "任期届满": f"{day.year + 5}年{day.month}月{day.day}日"},
        untaken[2]: {"采取措施": "拆除重建", "措施日期": day.isoformat()},
        custody[0]: {"采取措施": "街道托管", "措施日期": day.isoformat()},
        custody[1]: {"采取措施": "引入物业", "措施日期": day.isoformat(),
                     "物业服务企业": "不在名录的物业公司"},
        untaken[3]: {"采取措施": "业委会换届", "措施日期": "2026-02-30", "任期届满": "2031-01-01"},
    }
    for r, values in fills.items():
        for h, v in values.items():
            ws.cell(r, col[h]).value = v
    filled = tmp_path / "清单-回传.xlsx"
    wb.save(filled)
    n = ws.max_row - 1
    out1 = _cli(url, "import", "worklist", str(filled))
    assert (out1["rows_read"], out1["inserted"], out1["unchanged"], out1["quarantined"]) == (
        n, 2, n - 6, 4)
    assert out1["quarantine_reasons"] == {
        "无法识别的措施“拆除重建”": 1, history.R_IN_CUSTODY: 1,
        f"{history.R_UNKNOWN_FIRM}（不在名录的物业公司）": 1, history.R_BAD_DATE: 1}
    codes = {r: ws.cell(r, col["小区编号"]).value for r in fills}
    state = {c: tuple(x) for c, *x in _rows(
        eng, "SELECT code, management_mode, owners_committee, is_sanwu FROM compounds "
             "WHERE code = ANY (:c)", c=list(codes.values()))}
    assert state[codes[untaken[0]]] == ("street_custody", "none", True)
    assert state[codes[untaken[1]]][1:] == ("established", False)
    ev = _rows(eng, "SELECT e.source, e.recorded_by, e.doc_no, e.import_id FROM compound_events "
                    "e JOIN compounds x ON x.id = e.compound_id WHERE x.code = :c "
                    "ORDER BY e.id DESC LIMIT 1", c=codes[untaken[0]])[0]
    assert (ev.source, ev.doc_no, ev.import_id) == ("worklist", "凯测托〔2026〕9号",
                                                    out1["import_id"])
    assert ev.recorded_by.startswith("cli")
    # uploading the same file again changes nothing: the recorded rows are unchanged now
    out2 = _cli(url, "import", "worklist", str(filled))
    assert (out2["inserted"], out2["unchanged"], out2["quarantined"]) == (0, n - 4, 4)

    # the same round trip in the dashboard, as the street account: every row accounted for
    fills2 = {untaken[4]: {"采取措施": "托管", "措施日期": day.isoformat()},
              untaken[5]: {"采取措施": "成立物管会", "措施日期": day.isoformat()}}
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    for r, values in fills2.items():
        for h, v in values.items():
            ws.cell(r, col[h]).value = v
    buf = io.BytesIO()
    wb.save(buf)
    writes = _rows(eng, "SELECT count(*) FROM audit_log WHERE account = 'test-street' "
                        "AND event = 'write'")[0][0]
    at = app_test(eng, monkeypatch, "street", streets=(street,))
    assert isinstance(at, AppTest)
    at.run()
    at.switch_page("views/worklist.py")
    at.query_params["street"] = street
    at.run()
    at.file_uploader(key=f"wl-up-{street}").set_value(
        ("回传.xlsx", buf.getvalue(),
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).run()
    at.button(key=f"wl-go-{street}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success and at.success[0].value.endswith(f"已记录 2，未变 {n - 2}，拒绝 0")
    result = at.dataframe[0].value
    assert len(result) == n and set(result["结果"]) == {"已记录", "未变"}
    got = {c: tuple(x) for c, *x in _rows(
        eng, "SELECT x.code, e.source, e.recorded_by FROM compound_events e JOIN compounds x "
             "ON x.id = e.compound_id WHERE e.source = 'worklist' AND e.recorded_by = "
             "'test-street'")}
    assert set(got) == {ws.cell(r, col["小区编号"]).value for r in fills2}
    # the upload and the records it made are in the audit log
    assert _rows(eng, "SELECT count(*) FROM audit_log WHERE account = 'test-street' "
                      "AND event = 'write'")[0][0] == writes + 2


# --- hazards: a messy GBK export of the fire brigade, and elevator inspections ----------------

def _compounds(eng: Engine, n: int) -> list[Any]:
    """The ``n`` largest compounds of the street offices whose name and address each
    locate them alone (two demo compounds may share a road number in two streets)."""
    from etl.intake.cases import load_register

    rows = _rows(eng, "SELECT id, name, address, ST_X(ST_PointOnSurface(geom)) AS lon, "
                      "ST_Y(ST_PointOnSurface(geom)) AS lat FROM compounds "
                      "WHERE street_code LIKE '5226010%' ORDER BY households DESC LIMIT 50")
    with eng.connect() as con:
        reg = load_register(con)
    return [r for r in rows if reg.match_address(r.address) == r.id
            and reg.match_name(r.name) == r.id][:n]


def _nowhere(eng: Engine) -> tuple[float, float]:
    """A point inside Kaili but at least 300 m from every compound."""
    row = _rows(eng, """
        SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (
            SELECT ST_PointOnSurface(geom) AS p FROM streets WHERE kind = 'town') t
        WHERE NOT EXISTS (SELECT 1 FROM compounds x
                          WHERE ST_DWithin(x.geom::geography, t.p::geography, 300))
        LIMIT 1""")[0]
    return float(row.lon), float(row.lat)


def test_a_messy_gbk_csv_of_fire_inspections(world: tuple[Engine, str], tmp_path: Path) -> None:
    eng, url = world
    a, b, c = _compounds(eng, 3)
    gx, gy = crs.from_wgs84([float(a.lon)], [float(a.lat)], "gcj02")
    far_x, far_y = _nowhere(eng)
    day = today()
    found = day - dt.timedelta(days=40)
    header = ["检查编号", "隐患类型", "存在问题", "检查日期", "整改时限", "状态", "完成日期",
              "小区", "详细地址", "lng", "lat", "坐标类型", "执法单位"]
    rows = [
        # located by GCJ-02 coordinates; deadline as a number of days
        ["XF-001", "消防", "楼道堆放杂物堵塞疏散通道", f"{found:%Y-%m-%d}", "15天", "待整改", "",
         "", "", f"{gx[0]:.6f}", f"{gy[0]:.6f}", "GCJ02", "凯里市消防救援大队"],
        # by compound name; Chinese date; a real deadline
        ["XF-002", "消防安全", "消防栓无水", f"{found.year}年{found.month}月{found.day}日",
         f"{found + dt.timedelta(days=30):%Y/%m/%d}", "整改中", "", str(b.name), "", "", "", "",
         "凯里市消防救援大队"],
        # by address; already rectified; blank deadline → the theme's default (30 days)
        ["XF-003", "消防", "电动自行车楼道充电", f"{found:%Y-%m-%d}", "", "已整改",
         f"{found + dt.timedelta(days=5):%Y-%m-%d}", "", str(c.address), "", "", "", ""],
        # no number: one is derived from the row
        ["", "消防", "安全出口上锁", f"{found:%Y-%m-%d}", "", "", "", str(b.name), "", "", "",
         "", ""],
        # an identical repeat of the first row (unchanged) and a differing one (quarantined)
        ["XF-001", "消防", "楼道堆放杂物堵塞疏散通道", f"{found:%Y-%m-%d}", "15天", "待整改",
         "", "", "", f"{gx[0]:.6f}", f"{gy[0]:.6f}", "GCJ02", "凯里市消防救援大队"],
        ["XF-001", "消防", "另一条描述", f"{found:%Y-%m-%d}", "15天", "待整改", "", "", "",
         f"{gx[0]:.6f}", f"{gy[0]:.6f}", "GCJ02", "凯里市消防救援大队"],
        ["XF-101", "燃气", "燃气管道老化", f"{found:%Y-%m-%d}", "", "", "", str(b.name), "", "",
         "", "", ""],
        ["XF-102", "消防", "灭火器过期", "2026-13-45", "", "", "", str(b.name), "", "", "", "",
         ""],
        ["XF-103", "消防", "灭火器过期", f"{day + dt.timedelta(days=3):%Y-%m-%d}", "", "", "",
         str(b.name), "", "", "", "", ""],
        ["XF-104", "消防", "灭火器过期", f"{found:%Y-%m-%d}", "", "", "", "", "", "106.63",
         "26.64", "", ""],  # 贵阳, not Kaili
        ["XF-105", "消防", "消防车道被占用", f"{found:%Y-%m-%d}", "", "", "", "", "",
         f"{far_x:.6f}", f"{far_y:.6f}", "", ""],  # in Kaili, no compound near
        ["XF-106", "消防", "", f"{found:%Y-%m-%d}", "", "", "", str(b.name), "", "", "", "", ""],
        ["XF-107", "消防", "应急照明损坏", f"{found:%Y-%m-%d}", "", "已整改",
         f"{found - dt.timedelta(days=2):%Y-%m-%d}", str(b.name), "", "", "", "", ""],
        ["XF-108", "消防", "应急照明损坏", f"{found:%Y-%m-%d}", "明天", "", "", str(b.name),
         "", "", "", "", ""],
    ]
    path = tmp_path / "消防检查台账.csv"
    text = "消防监督检查隐患台账（导出）\n" + "\n".join(",".join(r) for r in [header, *rows])
    path.write_bytes(text.encode("gbk"))
    out = _cli(url, "import", "hazards", str(path))
    assert (out["rows_read"], out["inserted"], out["updated"], out["unchanged"],
            out["quarantined"]) == (14, 4, 0, 1, 9)
    assert out["quarantine_reasons"] == {
        "文件内隐患编号重复且内容不同": 1, "无法识别的隐患类别": 1, "发现日期无法识别": 1,
        "日期晚于今天": 1, "坐标不在凯里市范围内": 1,
        "无法定位到小区（坐标不在任何小区内，小区名称与地址也无法匹配）": 1, "缺少隐患描述": 1,
        "整改完成日期早于发现日期": 1, "整改期限无法识别（应为日期或天数）": 1}
    got = {r.source_no: r for r in _rows(
        eng, "SELECT source_no, compound_id, status, found_on, due_on, closed_on, found_by "
             "FROM hazards WHERE import_id = :i", i=out["import_id"])}
    assert got["XF-001"].compound_id == a.id and got["XF-001"].due_on == found + dt.timedelta(15)
    assert (got["XF-002"].compound_id, got["XF-002"].status) == (b.id, "rectifying")
    assert (got["XF-003"].compound_id, got["XF-003"].status, got["XF-003"].closed_on,
            got["XF-003"].due_on) == (c.id, "closed", found + dt.timedelta(5),
                                      found + dt.timedelta(30))
    assert len(got) == 4 and any(k.startswith("HZ") for k in got)
    steps = _rows(eng, "SELECT e.kind, e.on_date FROM hazard_events e JOIN hazards h "
                       "ON h.id = e.hazard_id WHERE h.source_no = 'XF-003' ORDER BY e.id")
    assert [tuple(s) for s in steps] == [("open", found), ("closed", found + dt.timedelta(5))]
    quarantined = _rows(eng, "SELECT row_no, reason FROM quarantine WHERE import_id = :i "
                             "ORDER BY row_no", i=out["import_id"])
    assert [q.row_no for q in quarantined][0] == 8  # the title row and the header row count
    # the same file again: nothing changes
    again = _cli(url, "import", "hazards", str(path))
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 5)
    # a later export of the same records: XF-001 rectified, XF-002 past its deadline
    update = [header,
              ["XF-001", "消防", "楼道堆放杂物堵塞疏散通道", f"{found:%Y-%m-%d}", "15天", "已整改",
               f"{day - dt.timedelta(days=1):%Y-%m-%d}", "", "", f"{gx[0]:.6f}", f"{gy[0]:.6f}",
               "GCJ02", "凯里市消防救援大队"]]
    path2 = tmp_path / "消防检查台账-复查.csv"
    path2.write_bytes("\n".join(",".join(r) for r in update).encode("gbk"))
    later = _cli(url, "import", "hazards", str(path2))
    assert (later["inserted"], later["updated"], later["unchanged"]) == (0, 1, 0)
    h = _rows(eng, "SELECT status, closed_on FROM hazards WHERE source_no = 'XF-001'")[0]
    assert tuple(h) == ("closed", day - dt.timedelta(days=1))
    last = _rows(eng, "SELECT e.kind, e.source, e.import_id FROM hazard_events e JOIN hazards h "
                      "ON h.id = e.hazard_id WHERE h.source_no = 'XF-001' ORDER BY e.id DESC "
                      "LIMIT 1")[0]
    assert tuple(last) == ("closed", "inspection", later["import_id"])


def test_elevator_inspections_open_and_close_hazards(world: tuple[Engine, str],
                                                     tmp_path: Path) -> None:
    eng, url = world
    a, b = _compounds(eng, 2)
    day = today() - dt.timedelta(days=20)
    first = pd.DataFrame({
        "设备代码": ["31105226012019001", "31105226012019002"],
        "检验日期": [day, day], "检验结论": ["不合格", "合格"],
        "不合格项": ["制动器动作异常", ""], "设备使用地点": [str(a.address), str(b.address)],
        "检验机构": ["黔东南州特种设备检验所", "黔东南州特种设备检验所"]})
    path = tmp_path / "电梯检验.xlsx"
    first.to_excel(path, index=False)
    r = import_hazards(eng, path, theme="elevator")
    assert (r.rows_read, r.inserted, r.unchanged, r.quarantined) == (2, 1, 1, 0), \
        r.quarantine_reasons
    hz = _rows(eng, "SELECT theme, compound_id, status, due_on, found_by FROM hazards "
                    "WHERE source_no = '31105226012019001'")[0]
    assert tuple(hz) == ("elevator", a.id, "open", day + dt.timedelta(days=15),
                         "黔东南州特种设备检验所")
    recheck = pd.DataFrame({"设备代码": ["31105226012019001"],
                            "检验日期": [day + dt.timedelta(days=10)], "检验结论": ["复检合格"],
                            "设备使用地点": [str(a.address)]})
    recheck.to_excel(path, index=False)
    r = import_hazards(eng, path, theme="elevator")
    assert (r.updated, r.inserted) == (1, 0)
    hz = _rows(eng, "SELECT status, closed_on FROM hazards "
                    "WHERE source_no = '31105226012019001'")[0]
    assert tuple(hz) == ("closed", day + dt.timedelta(days=10))
