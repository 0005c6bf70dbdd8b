"""Register and boundary imports against real PostGIS, on their own scratch database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from etl.intake.boundaries import import_boundaries
from etl.intake.compounds import import_compounds
from geo._errors import CRSError
from propmap.cli import main
from tests import conftest, messy


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Engine, str]]:
    with conftest.scratch_database("_register") as (eng, url):
        messy.build_world(eng)
        yield eng, url


def test_compound_register(world: tuple[Engine, str], tmp_path: Path) -> None:
    eng, url = world
    square = "POLYGON((107.984 26.584,107.985 26.584,107.985 26.585,107.984 26.585,107.984 26.584))"
    bowtie = "POLYGON((107.986 26.584,107.987 26.585,107.987 26.584,107.986 26.585,107.986 26.584))"
    df = pd.DataFrame({
        "小区编号": ["R01", "R02", "R03", "R04", "R05", "R06", "R01"],
        "小区名称": ["龙头河新苑", "万博广场小区", "无坐标小区", "贵阳某小区", "自交叉小区", "",
                 "龙头河新苑"],
        "别名": ["龙头河小区；新苑", "", "", "", "", "", "龙头河小区；新苑"],
        "小区地址": ["北京西路1号", "", "", "", "", "", "北京西路1号"],
        "建成年份": ["1998", "2012", "", "", "", "", "1998"],
        "物业公司": ["", "黔东南好家物业", "", "", "", "", ""],
        "经度": ["107.9785", "", "", "106.63", "", "107.98", "107.9785"],
        "纬度": ["26.5715", "", "", "26.64", "", "26.58", "26.5715"],
        "坐标系": ["GCJ02", "", "", "", "", "", "GCJ02"],
        "边界WKT": ["", square, "", "", bowtie, "", ""],
    })
    path = tmp_path / "小区名录.xlsx"
    df.to_excel(path, index=False)
    r = import_compounds(eng, path)
    assert (r.rows_read, r.inserted, r.updated, r.unchanged, r.quarantined) == (7, 3, 0, 1, 3)
    assert r.quarantine_reasons == {"缺少坐标或边界": 1, "小区不在凯里市范围内": 1,
                                    "缺少小区名称": 1}
    with eng.connect() as con:
        got = {x.code: x for x in con.execute(sa.text(
            "SELECT code, aliases, build_year, management_mode, is_old, street_code, "
            "ST_IsValid(geom) AS valid, ST_Area(geom::geography) AS area FROM compounds "
            "WHERE code LIKE 'R0%'"))}
    assert got["R01"].aliases == ["龙头河小区", "新苑"] and got["R01"].is_old
    assert got["R01"].street_code == "522601001000"  # 城西 box of the mini world
    assert 4000 < got["R01"].area < 6000  # a 40 m circle around the point
    assert got["R02"].management_mode == "property_firm"
    assert got["R05"].valid  # the bow tie was repaired
    res = CliRunner().invoke(main, ["import", "compounds", str(path), "--json"],
                             env={"DATABASE_URL": url})
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (out["inserted"], out["updated"], out["unchanged"]) == (0, 0, 4)


def test_boundaries(world: tuple[Engine, str], tmp_path: Path) -> None:
    eng, url = world
    streets = gpd.GeoDataFrame(
        {"name": ["西门街道", "不知名街道", "湾溪街道"], "code": ["", "", "522601005000"]},
        geometry=[shapely.box(107.95, 26.54, 107.96, 26.56),
                  shapely.box(107.90, 26.50, 107.91, 26.51),
                  shapely.Polygon([(107.99, 26.56), (108.0, 26.57), (108.0, 26.56),
                                   (107.99, 26.57)])],  # a bow tie: repaired
        crs="EPSG:4490")
    path = tmp_path / "streets.geojson"
    streets.to_file(path, driver="GeoJSON")
    r = import_boundaries(eng, path, level="street")
    assert (r.inserted, r.quarantined) == (2, 1)
    assert r.quarantine_reasons == {"街道代码应为12位数字，且名称不在区划表中": 1}
    r = import_boundaries(eng, path, level="street")
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 2)
    comm = gpd.GeoDataFrame({"社区名称": ["西门社区"], "所属街道": [""]},
                            geometry=[shapely.box(107.952, 26.545, 107.955, 26.55)], crs=4326)
    cpath = tmp_path / "communities.gpkg"
    comm.to_file(cpath, driver="GPKG")
    res = CliRunner().invoke(main, ["import", "boundaries", str(cpath), "--level", "community",
                                    "--json"], env={"DATABASE_URL": url})
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["inserted"] == 1
    with eng.connect() as con:
        assert con.execute(sa.text("SELECT street_code FROM communities WHERE name = '西门社区'")
                           ).scalar() == "522601003000"  # found under its point on surface
        assert con.execute(sa.text("SELECT count(DISTINCT street_code) FROM street_parts")
                           ).scalar() == 4
    # a shapefile without .prj has no CRS: refused
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.box(0, 0, 1, 1)]).to_file(shp)
    with pytest.raises(CRSError, match="坐标参考系"):
        import_boundaries(eng, shp, level="street")
