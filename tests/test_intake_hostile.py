"""Hostile and odd input: nothing crashes, nothing skews the map, nothing costs the machine.

Every importer, through the command line, against real PostGIS on a scratch database of
its own (the test database's name plus ``_hostile``): a value-level problem is a
quarantined row with a reason naming the value; a file-level problem is exit code 2, a
Chinese message (naming the setting when a cap was hit) and an unchanged database.
"""

from __future__ import annotations

import io
import json
import re
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from etl.intake.readers import Caps, read_table
from geo._errors import InputFileError
from propmap.cli import main
from tests import conftest, messy


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Engine, str]]:
    with conftest.scratch_database("_hostile") as (eng, url):
        messy.build_world(eng)
        yield eng, url


def _run(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["import", *args], env={"DATABASE_URL": url, **(env or {})},
                              catch_exceptions=False)


def _ok(res: Result) -> dict[str, Any]:
    assert res.exit_code == 0, res.output
    out: dict[str, Any] = json.loads(res.stdout)
    assert out["rows_read"] == (out["inserted"] + out["updated"] + out["unchanged"]
                                + out["voided"] + out["quarantined"])
    return out


def _refused(eng: Engine, url: str, *args: str, says: str,
             env: dict[str, str] | None = None) -> None:
    before = messy.snapshot(eng)
    res = _run(url, *args, env=env)
    assert res.exit_code == 2, res.output
    assert "错误：" in res.output and says in res.output, res.output
    assert "Traceback" not in res.output
    assert messy.snapshot(eng) == before


def _cases_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    base = dict.fromkeys(messy.CANONICAL, "")
    pd.DataFrame([{**base, "受理时间": "2026-05-01 09:00:00", "诉求内容": "楼道堆放杂物",
                   **r} for r in rows], columns=list(messy.CANONICAL)).to_csv(
        path, index=False, encoding="utf-8")
    return path


def _reasons(eng: Engine, import_id: int) -> dict[int, tuple[str, str | None]]:
    with eng.connect() as con:
        return {r.row_no: (r.reason, r.detail) for r in con.execute(sa.text(
            "SELECT row_no, reason, detail FROM quarantine WHERE import_id = :i"),
            {"i": import_id})}


# --- caps before reading ------------------------------------------------------------------

def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _patched(xlsx: bytes, fn: Any) -> bytes:
    """The workbook with its first sheet's XML passed through ``fn``."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = fn(data)
            dst.writestr(info.filename, data)
    return out.getvalue()


def _header_rows(n: int) -> list[list[object]]:
    rows: list[list[object]] = [["工单编号", "受理时间", "诉求内容"]]
    return rows + [[f"XL{i}", "2026-05-01 09:00:00", "漏水"] for i in range(n)]


def test_a_claimed_dimension_allocates_nothing(world, tmp_path: Path) -> None:
    eng, url = world
    path = tmp_path / "claims.xlsx"
    xlsx = _xlsx_bytes(_header_rows(3))
    path.write_bytes(_patched(xlsx, lambda d: re.sub(rb'<dimension ref="[^"]+"',
                                                     b'<dimension ref="A1:XFD1048576"', d)))
    tracemalloc.start()
    t0 = time.perf_counter()
    table = read_table(path)
    seconds = time.perf_counter() - t0
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert table.frame.shape == (3, 3)
    assert peak < 20 << 20 and seconds < 5  # pandas' reader padded to 16,384 × 1,048,576 cells
    out = _ok(_run(url, "cases", str(path), "--channel", "12345", "--json"))
    assert out["inserted"] == 3


def test_rows_far_down_and_cells_far_right(world, tmp_path: Path) -> None:
    eng, url = world
    xlsx = _xlsx_bytes(_header_rows(2))
    far_down = tmp_path / "far_down.xlsx"  # a stray cell on Excel's last row: read, quickly
    far_down.write_bytes(_patched(xlsx, lambda d: d.replace(
        b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>XL9</t></is>'
                         b"</c></row></sheetData>")))
    t0 = time.perf_counter()
    table = read_table(far_down)
    assert time.perf_counter() - t0 < 10
    assert table.frame["工单编号"].tolist() == ["XL0", "XL1", "XL9"]
    assert table.row_no.tolist() == [2, 3, 1048576]
    far_right = tmp_path / "far_right.xlsx"
    far_right.write_bytes(_patched(xlsx, lambda d: d.replace(
        b"</row>", b'<c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>', 1)))
    _refused(eng, url, "cases", str(far_right), "--channel", "12345",
             says="PROPMAP_MAX_COLUMNS")


def test_zip_bombs_are_refused_before_opening(world, tmp_path: Path) -> None:
    eng, url = world
    bomb = tmp_path / "bomb.xlsx"
    xlsx = _xlsx_bytes(_header_rows(2))
    zeros = b"0" * (64 << 20)  # 64 MB of one byte: deflates about a thousand times
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zipfile.ZipFile(io.BytesIO(xlsx)).infolist():
            z.writestr(info.filename, zipfile.ZipFile(io.BytesIO(xlsx)).read(info.filename))
        z.writestr("xl/sharedStrings.xml", zeros)
    assert bomb.stat().st_size < 1 << 20
    _refused(eng, url, "cases", str(bomb), "--channel", "12345", says="PROPMAP_MAX_ZIP_RATIO")
    _refused(eng, url, "cases", str(bomb), "--channel", "12345", says="PROPMAP_MAX_UNZIPPED_MB",
             env={"PROPMAP_MAX_UNZIPPED_MB": "16"})


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_caps_name_their_setting(world, tmp_path: Path, suffix: str) -> None:
    eng, url = world
    rows = messy.generate_cases(messy.MINI_COMPOUNDS, 12, prefix="CAP")[:12]
    path = tmp_path / f"caps.{suffix}"
    if suffix == "csv":
        messy.write_csv(rows, path, encoding="gbk")
    else:
        messy.write_xlsx(rows, path)
    args = ("cases", str(path), "--channel", "12345")
    _refused(eng, url, *args, says="PROPMAP_MAX_FILE_MB", env={"PROPMAP_MAX_FILE_MB": "0"})
    _refused(eng, url, *args, says="PROPMAP_MAX_ROWS", env={"PROPMAP_MAX_ROWS": "5"})
    _refused(eng, url, *args, says="PROPMAP_MAX_COLUMNS", env={"PROPMAP_MAX_COLUMNS": "10"})
    _refused(eng, url, *args, says="PROPMAP_MAX_CELL_CHARS", env={"PROPMAP_MAX_CELL_CHARS": "12"})
    out = _ok(_run(url, *args, "--json"))  # within the default caps, the same file imports
    assert out["rows_read"] == 12


def test_caps_default_to_documented_settings() -> None:
    caps = Caps.from_settings()
    assert caps.file_bytes == 1024 << 20 and caps.rows == 2_000_000
    assert caps.columns == 200 and caps.cell_chars == 32_767
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for env, default in (("PROPMAP_MAX_FILE_MB", "1024"), ("PROPMAP_MAX_UNZIPPED_MB", "1024"),
                         ("PROPMAP_MAX_ZIP_RATIO", "200"), ("PROPMAP_MAX_ROWS", "2000000"),
                         ("PROPMAP_MAX_COLUMNS", "200"), ("PROPMAP_MAX_CELL_CHARS", "32767"),
                         ("PROPMAP_INTAKE_DIR", "(none)")):
        assert re.search(rf"`{env}` \| `?{re.escape(default)}`? \|", readme), env


# --- files that are not what they claim ----------------------------------------------------

def test_files_that_are_not_tables(world, tmp_path: Path) -> None:
    eng, url = world
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _refused(eng, url, "cases", str(empty), "--channel", "12345", says="文件是空的")
    png = tmp_path / "picture.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    _refused(eng, url, "cases", str(png), "--channel", "12345", says="picture.csv")
    text = tmp_path / "letter.xlsx"
    text.write_text("尊敬的领导：这不是表格。", encoding="utf-8")
    _refused(eng, url, "cases", str(text), "--channel", "12345", says="无法作为 xlsx 打开")
    html = tmp_path / "export.xlsx"
    html.write_text("<html><table><tr><td>工单编号</td></tr></table></html>", encoding="utf-8")
    _refused(eng, url, "compounds", str(html), says="无法作为 xlsx 打开")
    empty_zip = tmp_path / "empty.xlsx"
    with zipfile.ZipFile(empty_zip, "w") as z:
        z.writestr("readme.txt", "nothing")
    _refused(eng, url, "compounds", str(empty_zip), says="无法作为 xlsx 打开")
    blank = tmp_path / "blank.xlsx"
    blank.write_bytes(_xlsx_bytes([]))
    _refused(eng, url, "cases", str(blank), "--channel", "12345", says="工作表是空的")
    for name, body in (("junk.geojson", b"{not json"), ("empty.geojson", b""),
                       ("table.geojson", b'{"type": "FeatureCollection", "features": []}')):
        path = tmp_path / name
        path.write_bytes(body)
        res = _run(url, "boundaries", str(path), "--level", "street", "--json")
        if res.exit_code == 0:  # an empty collection is a file with no rows: nothing to do
            assert json.loads(res.stdout)["rows_read"] == 0
        else:
            assert res.exit_code == 2 and "错误：" in res.output, res.output
    table = tmp_path / "attributes.csv"
    table.write_text("名称,代码\n西门街道,522601003000\n", encoding="utf-8")
    _refused(eng, url, "boundaries", str(table), "--level", "street", says="没有几何")


def test_a_register_with_a_header_and_no_rows(world, tmp_path: Path) -> None:
    eng, url = world
    for suffix in ("csv", "xlsx"):
        path = tmp_path / f"header_only.{suffix}"
        df = pd.DataFrame(columns=["小区编号", "小区名称", "户数", "经度", "纬度"])
        if suffix == "csv":
            df.to_csv(path, index=False, encoding="gbk")
        else:
            df.to_excel(path, index=False)
        before = messy.snapshot(eng)
        out = _ok(_run(url, "compounds", str(path), "--json"))
        assert out["rows_read"] == 0
        after = messy.snapshot(eng)
        assert after["compounds"] == before["compounds"] and after["imports"] == before[
            "imports"] + 1
    path = tmp_path / "header_only_cases.csv"
    _cases_csv(path, []).write_text("工单编号,受理时间\n", encoding="utf-8")
    assert _ok(_run(url, "cases", str(path), "--channel", "12345", "--json"))["rows_read"] == 0


# --- value-level crashers become quarantined rows --------------------------------------------

def test_case_values_that_used_to_crash(world, tmp_path: Path) -> None:
    eng, url = world
    path = tmp_path / "crashers.csv"
    _cases_csv(path, [
        {"工单编号": "NUL1", "诉求内容": "楼道\x00堆放杂物"},
        {"工单编号": "X" * 5000},
        {"工单编号": "FUT1", "受理时间": "2199-01-01 08:00:00"},
        {"工单编号": "OLD1", "受理时间": "1970-01-01 08:00:00"},
        {"工单编号": "INF1", "经度": "inf", "纬度": "26.57"},
        {"工单编号": "BIG1", "经度": "1e308", "纬度": "1e308"},
        {"工单编号": "MERC", "经度": "12019000", "纬度": "3052000", "坐标系": "WGS84"},
        {"工单编号": "OK1"},
    ])
    assert b"\x00" in path.read_bytes()
    out = _ok(_run(url, "cases", str(path), "--channel", "12345", "--json"))
    assert (out["inserted"], out["quarantined"]) == (1, 7)
    got = _reasons(eng, out["import_id"])
    assert got[2][0] == "含有无法保存的空字符（NUL）"
    assert got[3][0] == "工单编号过长" and "5,000 个字符" in str(got[3][1])
    assert got[4][0] == "受理时间晚于导入日期" and "2199-01-01" in str(got[4][1])
    assert got[5][0] == "受理时间早于最早年份" and "1970-01-01" in str(got[5][1])
    assert {got[6][0], got[7][0], got[8][0]} == {"经纬度不是有效的度数"}
    assert "12019000" in str(got[8][1])
    res = CliRunner().invoke(main, ["quarantine", "list", "--import-id", str(out["import_id"])],
                             env={"DATABASE_URL": url}, catch_exceptions=False)
    assert res.exit_code == 0 and "楼道堆放杂物" in res.output


def test_register_values_that_used_to_crash(world, tmp_path: Path) -> None:
    eng, url = world
    square = ("POLYGON Z ((107.984 26.584 5, 107.985 26.584 5, 107.985 26.585 5, "
              "107.984 26.585 5, 107.984 26.584 5))")
    province = "POLYGON((104 24, 110 24, 110 30, 104 30, 104 24))"  # Guizhou and more
    half_out = "POLYGON((107.989 26.580, 107.995 26.580, 107.995 26.581, 107.989 26.581, " \
               "107.989 26.580))"  # five sixths outside the mini world's streets
    rows = [
        {"小区编号": "H01", "小区名称": "三维小区", "边界": square},
        {"小区编号": "H02", "小区名称": "户数巨大", "户数": "1e308", "经度": "107.978",
         "纬度": "26.57"},
        {"小区编号": "H03", "小区名称": "未来小区", "建成年份": "9999", "经度": "107.979",
         "纬度": "26.57"},
        {"小区编号": "H04", "小区名称": "一个省", "边界": province},
        {"小区编号": "H05", "小区名称": "半在外", "边界": half_out},
        {"小区编号": "H06", "小区名称": "楼层为负", "最高楼层": "-3", "经度": "107.977",
         "纬度": "26.57"},
        {"小区编号": "H07", "小区名称": "墨卡托", "经度": "12019000", "纬度": "3052000"},
        {"小区编号": "H08", "小区名称": "点不是面", "边界": "POINT (107.98 26.58)"},
        {"小区编号": "H09" * 20, "小区名称": "编号太长", "经度": "107.976", "纬度": "26.571"},
        {"小区编号": "H10", "小区名称": "非法几何", "边界": "POLYGON((1 2, 3"},
        {"小区编号": "H11", "小区名称": "空的", "边界": "POLYGON EMPTY"},
        {"小区编号": "H12", "小区名称": "物" * 300, "经度": "107.976", "纬度": "26.572"},
    ]
    path = tmp_path / "register.xlsx"
    pd.DataFrame(rows).to_excel(path, index=False)
    out = _ok(_run(url, "compounds", str(path), "--json"))
    assert (out["inserted"], out["quarantined"]) == (1, 11), out
    got = {no - 2: reason for no, (reason, _d) in _reasons(eng, out["import_id"]).items()}
    assert got == {1: "户数超出合理范围", 2: "建成年份超出合理范围", 3: "小区面积过大",
                   4: "小区不在凯里市范围内", 5: "最高楼层超出合理范围", 6: "坐标不是经纬度",
                   7: "边界无效且无法修复", 8: "小区编号过长", 9: "边界无法解析（应为 WKT 面要素）",
                   10: "边界无效且无法修复", 11: "名称过长"}
    details = {r: d for r, (_x, d) in _reasons(eng, out["import_id"]).items()}
    assert "1e308" in str(details[3]) and "9999" in str(details[4])
    assert "km²" in str(details[5]) and "%" in str(details[6])
    with eng.connect() as con:
        dims = con.execute(sa.text("SELECT ST_NDims(geom) FROM compounds WHERE code = 'H01'")
                           ).scalar()
    assert dims == 2  # POLYGON Z stored flat


def test_boundaries_in_metres_without_a_crs_are_refused(world, tmp_path: Path) -> None:
    eng, url = world
    box = shapely.box(12019000, 3052000, 12021000, 3054000)  # Kaili in Web Mercator metres
    path = tmp_path / "mercator.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"名称": "西门街道"},
        "geometry": shapely.geometry.mapping(box)}]}), encoding="utf-8")
    _refused(eng, url, "boundaries", str(path), "--level", "street", says="不是经纬度")
    with_crs = tmp_path / "mercator_declared.geojson"
    gpd.GeoDataFrame({"名称": ["西门街道"], "代码": ["522601003000"]}, geometry=[box],
                     crs=3857).to_file(with_crs, driver="GeoJSON")
    out = _ok(_run(url, "boundaries", str(with_crs), "--level", "street", "--json"))
    assert out["inserted"] == 1  # the same numbers with their CRS declared are converted


def test_boundaries_outside_china_and_in_3d(world, tmp_path: Path) -> None:
    eng, url = world
    paris = shapely.box(2.30, 48.85, 2.31, 48.86)
    kaili = shapely.Polygon([(107.95, 26.60, 800), (107.96, 26.60, 800), (107.96, 26.61, 800),
                             (107.95, 26.60, 800)])
    gdf = gpd.GeoDataFrame({"名称": ["巴黎街道", "鸭塘街道", "开怀街道"],
                            "代码": ["", "", "522601006000"]},
                           geometry=[paris, kaili, None], crs=4326)
    path = tmp_path / "odd.geojson"
    gdf.to_file(path, driver="GeoJSON")
    out = _ok(_run(url, "boundaries", str(path), "--level", "street", "--json"))
    assert out["inserted"] == 1 and out["quarantine_reasons"] == {
        "边界坐标不在中国境内": 1, "几何无效且无法修复，或不是面要素": 1}
    with eng.connect() as con:
        assert con.execute(sa.text("SELECT ST_NDims(geom) FROM streets WHERE name = '鸭塘街道'")
                           ).scalar() == 2


def test_a_name_already_taken_is_quarantined(world, tmp_path: Path) -> None:
    eng, url = world
    gdf = gpd.GeoDataFrame({"名称": ["大十字街道", "城西", "城西"],
                            "代码": ["522601099000", "", "522601098000"]},
                           geometry=[shapely.box(107.90, 26.50, 107.91, 26.51)] * 3, crs=4326)
    path = tmp_path / "taken.geojson"
    gdf.to_file(path, driver="GeoJSON")
    out = _ok(_run(url, "boundaries", str(path), "--level", "street", "--json"))
    assert out["quarantine_reasons"] == {"名称已被另一区划使用": 1, "文件内名称重复且代码不同": 1}
    assert out["updated"] == 1  # 城西 (no suffix) is 城西街道's code: its area is updated
    comm = gpd.GeoDataFrame({"名称": ["营盘社区", "营盘社区"], "代码": ["X1", "X2"],
                             "所属街道": ["大十字", "大十字"]},
                            geometry=[shapely.box(107.961, 26.576, 107.962, 26.577)] * 2,
                            crs=4326)
    cpath = tmp_path / "comm.gpkg"
    comm.to_file(cpath, driver="GPKG")
    out = _ok(_run(url, "boundaries", str(cpath), "--level", "community", "--json"))
    assert out["quarantined"] == 2 and out["quarantine_reasons"] == {"名称已被另一区划使用": 2}


def test_a_cap_refuses_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("工单编号,受理时间\n" + "A,2026-01-01\n" * 20, encoding="utf-8")
    caps = Caps(file_bytes=1 << 30, unzipped_bytes=1 << 30, zip_ratio=200, rows=10, columns=5,
                cell_chars=100)
    with pytest.raises(InputFileError, match="PROPMAP_MAX_ROWS"):
        read_table(path, caps=caps)


def test_a_value_the_database_refuses_cancels_the_import(world) -> None:
    """The last line of defence: a refusal the checks missed is a message, not a traceback."""
    from etl.intake import accounting

    eng, _ = world
    before = messy.snapshot(eng)
    with pytest.raises(InputFileError, match="数据库拒绝了文件中的值.*数据库未作任何改动"), \
            accounting.transaction(eng, "x.csv") as con:
        con.execute(sa.text("INSERT INTO imports (kind, file, file_sha256) "
                            "VALUES ('cases', 'x.csv', 'h')"))
        con.execute(sa.text("SELECT 1 / 0"))  # a DataError, as a refused value would be
    assert messy.snapshot(eng) == before
