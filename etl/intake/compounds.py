"""``propmap import compounds``: the housing bureau's compound register (xlsx/csv).

A row has a boundary (WKT polygon, in its 坐标系) or a point (经度/纬度); a
point becomes a circle of ``[compounds] point_radius_m`` (``rules.toml``).
Compounds are matched on 小区编号 (a code derived from name and address
when blank) and merged with one ``INSERT ... ON CONFLICT (code) DO UPDATE ...
WHERE (changed)``; firms named in 物业服务企业 are added to
``property_firms``. Afterwards each compound's community and street are
assigned from the boundaries (:func:`geo.assign.assign_compounds`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.intake import accounting, parse, quarantine
from etl.intake._copy import copy_frame
from etl.intake._merge import file_duplicates
from etl.intake.cases import city_outline
from etl.intake.headers import header_test, rename
from etl.intake.readers import read_table
from etl.intake.spellings import rules
from geo import assign, crs, history
from geo._errors import CRSError
from geo.measures import today

HEADERS = ("小区编号", "小区名称", "别名", "地址", "建成年份", "户数", "楼栋数", "最高楼层",
           "管理模式", "物业服务企业", "业委会", "主管部门", "经度", "纬度", "坐标系", "边界")
REQUIRED = ("小区名称",)

R_NO_NAME = "缺少小区名称"
R_NO_GEOM = "缺少坐标或边界"
R_BAD_WKT = "边界无法解析（应为 WKT 面要素）"
R_BAD_GEOM = "边界无效且无法修复"
R_OUTSIDE = "小区不在凯里市范围内"
R_BAD_CRS = "无法识别的坐标系"
R_BAD_NUMBER = "数字字段无法识别"
R_BAD_MODE = "无法识别的管理模式"
R_BAD_COMMITTEE = "无法识别的业委会状态"
R_MODE_FIRM = "管理模式与物业服务企业不一致"


def _polygonal(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """Repair ``geom`` and keep its polygons as a MultiPolygon (``None`` when nothing is left)."""
    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [p for g in parts for p in shapely.get_parts(g)]
    if not polys:
        return None
    out = shapely.MultiPolygon(polys)
    return out if out.is_valid and not out.is_empty else None


def _circle(lon: float, lat: float, radius_m: float) -> shapely.Geometry:
    dx = radius_m / (111_320.0 * np.cos(np.radians(lat)))
    dy = radius_m / 110_540.0
    unit = shapely.Point(0, 0).buffer(1.0, quad_segs=8)
    return shapely.MultiPolygon([shapely.affinity.affine_transform(unit, [dx, 0, 0, dy, lon, lat])])


def geometries(f: pd.DataFrame) -> tuple[list[shapely.Geometry | None], np.ndarray]:
    """WGS84 MultiPolygons from 边界 (WKT) or 经度/纬度, and a reason per row (pure)."""
    import shapely.affinity  # noqa: F401  (used by _circle)

    n = len(f)
    reason = np.full(n, None, dtype=object)
    geoms: list[shapely.Geometry | None] = [None] * n
    lon, lon_bad = parse.parse_number(f["经度"])
    lat, lat_bad = parse.parse_number(f["纬度"])
    radius = float(rules()["compounds"]["point_radius_m"])
    for i, (wkt, x, y, xb, yb, system) in enumerate(zip(
            f["边界"], lon, lat, lon_bad, lat_bad, f["坐标系"], strict=True)):
        try:
            sysname = crs.normalize(system)
        except CRSError:
            reason[i] = R_BAD_CRS
            continue
        if wkt:
            try:
                g = shapely.from_wkt(wkt)
            except shapely.errors.GEOSException:
                reason[i] = R_BAD_WKT
                continue
            g = _polygonal(crs.transform_geometry(g, sysname, "wgs84"))
            if g is None:
                reason[i] = R_BAD_GEOM
            geoms[i] = g
        elif xb or yb or np.isnan(x) or np.isnan(y):
            reason[i] = R_NO_GEOM
        else:
            wx, wy = crs.to_wgs84(x, y, sysname)
            geoms[i] = _circle(float(wx), float(wy), radius)
    return geoms, reason


def _code(name: str, address: str) -> str:
    return "KL" + hashlib.sha1(f"{name}|{address}".encode()).hexdigest()[:12].upper()


_DDL = """
CREATE TEMP TABLE _stage_compounds (
    code text, name text, aliases text[], address text, build_year int, households int,
    buildings int, floors int, management_mode text, firm text, owners_committee text,
    competent_dept text, wkb text
) ON COMMIT DROP;
"""
_COMPARED = ("name", "aliases", "address", "build_year", "households", "buildings", "floors",
             "management_mode", "firm_id", "owners_committee", "competent_dept", "geom")
_FIRMS = """
INSERT INTO property_firms (name)
SELECT DISTINCT firm FROM _stage_compounds WHERE firm IS NOT NULL ON CONFLICT (name) DO NOTHING
"""
_MERGE = f"""
WITH up AS (
    INSERT INTO compounds (code, {', '.join(_COMPARED)})
    SELECT s.code, s.name, s.aliases, s.address, s.build_year, s.households, s.buildings,
           s.floors, s.management_mode, f.id, s.owners_committee, s.competent_dept,
           ST_GeomFromWKB(decode(s.wkb, 'hex'), 4326)
    FROM _stage_compounds s LEFT JOIN property_firms f ON f.name = s.firm
    ON CONFLICT (code) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in _COMPARED)}
    WHERE ({', '.join(f'compounds.{c}' for c in _COMPARED)})
          IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in _COMPARED)})
    RETURNING code, (xmax = 0) AS ins
)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins)
       + (SELECT count(*) FROM unnest(CAST(:state_changed AS text[])) c
          WHERE c NOT IN (SELECT code FROM up))
FROM up
"""


def import_compounds(engine: Engine, path: Path, *,
                     registered_on: dt.date | None = None) -> accounting.ImportResult:
    """Import a compound register in one transaction (see the module docstring).

    ``registered_on`` is the day the register describes (default: today); a
    compound's management, firm, department and owners' organisation change
    only where the register is the newer fact (:func:`geo.history.register_statements`).
    """
    t0 = time.perf_counter()
    path = Path(path)
    raw = read_table(path, header_test(HEADERS, "compounds"))
    f = rename(raw.frame, known=HEADERS, required=REQUIRED, file=path.name, kind="compounds")
    n = len(f)
    result = accounting.ImportResult(file=path.name, kind="compounds", rows_read=n)
    geoms, geom_reason = geometries(f)
    nums = {c: parse.parse_number(f[c]) for c in ("建成年份", "户数", "楼栋数", "最高楼层")}
    num_bad = np.logical_or.reduce([b.to_numpy() for _, b in nums.values()])
    mode, mode_bad = parse.map_values(f["管理模式"], "management_mode")
    committee, committee_bad = parse.map_values(f["业委会"], "owners_committee", default="none")
    firm = f["物业服务企业"].where(f["物业服务企业"] != "", None)
    mode = mode.where(mode.notna() | mode_bad, np.where(firm.notna(), "property_firm", "none"))
    mode_firm = (mode == "property_firm") != firm.notna()
    with engine.begin() as con:
        outline = city_outline(con)
        shapely.prepare(outline)
        inside = np.array([g is None or outline.intersects(g) for g in geoms])
        reason = parse.first_reason([
            (f["小区名称"] == "", R_NO_NAME),
            (geom_reason != None, geom_reason),  # noqa: E711
            (~inside, R_OUTSIDE),
            (num_bad, R_BAD_NUMBER),
            (mode_bad.to_numpy(), R_BAD_MODE),
            (committee_bad.to_numpy(), R_BAD_COMMITTEE),
            (mode_firm.to_numpy() & ~mode_bad.to_numpy(), R_MODE_FIRM),
        ], n)
        detail = np.full(n, None, dtype=object)
        code = f["小区编号"].where(f["小区编号"] != "", pd.Series(
            [_code(a, b) for a, b in zip(f["小区名称"], f["地址"], strict=True)], index=f.index))
        good = reason == None  # noqa: E711
        dup_same = file_duplicates(code, f, good, reason, detail, raw.row_no)
        result.import_id = accounting.begin(con, "compounds", path)
        stage = pd.DataFrame({
            "code": code, "name": f["小区名称"],
            "aliases": [[a for a in re.split(r"[;；,，、|/]", s) if a.strip()] for s in f["别名"]],
            "address": f["地址"].where(f["地址"] != "", None),
            **{col: nums[h][0].round().astype("Int64") for col, h in (
                ("build_year", "建成年份"), ("households", "户数"), ("buildings", "楼栋数"),
                ("floors", "最高楼层"))},
            "management_mode": mode, "firm": firm, "owners_committee": committee,
            "competent_dept": f["主管部门"].where(f["主管部门"] != "", None),
            "wkb": [None if g is None else shapely.to_wkb(g, hex=True) for g in geoms],
        })[good]
        con.execute(sa.text(_DDL))
        copy_frame(con, "_stage_compounds", stage)
        con.execute(sa.text(_FIRMS))
        state_changed = history.register_statements(  # precedence: docs/history.md
            con, "_stage_compounds", on=registered_on or today(), import_id=result.import_id)
        ins, upd = con.execute(sa.text(_MERGE), {"state_changed": state_changed}).one()
        if ins or upd:
            assign.assign_compounds(con)
            assign.reassign_cases(con)
        result.quarantined = quarantine.write(con, result.import_id, path.name, raw.frame,
                                              raw.row_no, reason, detail)
        result.inserted, result.updated = int(ins), int(upd)
        result.unchanged = len(stage) - result.inserted - result.updated + dup_same
        result.quarantine_reasons = accounting.counts(reason)
        result.seconds = time.perf_counter() - t0
        accounting.finish(con, result)
    return result
