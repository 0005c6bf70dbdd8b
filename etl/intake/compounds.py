"""``propmap import compounds``: the housing bureau's compound register (xlsx/csv).

A row has a boundary (WKT polygon, in its 坐标系) or a point (经度/纬度); a
point becomes a circle of ``[compounds] point_radius_m`` (``rules.toml``).
Compounds are matched on 小区编号 (a code derived from name and address
when blank) and merged with one ``INSERT ... ON CONFLICT (code) DO UPDATE ...
WHERE (changed)``; firms named in 物业服务企业 are added to
``property_firms``. Afterwards each compound's community and street are
assigned from the boundaries (:func:`geo.assign.assign_compounds`).

Every value is checked before it is staged (``[plausibility]`` in
``rules.toml``): numbers within their ranges (户数, 楼栋数, 最高楼层, 建成年份),
polygons of at most ``max_area_km2`` with at least ``min_inside_share`` of
their area inside the city, coordinates that are degrees, names and codes
the database can index. A row that fails is quarantined with the reason and
the value; nothing in a register row can abort the import.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.affinity
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.intake import accounting, parse, quarantine
from etl.intake._copy import copy_frame
from etl.intake._merge import file_duplicates
from etl.intake.cases import city_outline
from etl.intake.headers import header_test, map_headers, rename
from etl.intake.readers import read_table
from etl.intake.spellings import rules
from geo import assign, crs
from geo._errors import CRSError

HEADERS = ("小区编号", "小区名称", "别名", "地址", "建成年份", "户数", "楼栋数", "最高楼层",
           "管理模式", "物业服务企业", "业委会", "主管部门", "经度", "纬度", "坐标系", "边界")
REQUIRED = ("小区名称",)
#: The longest 小区编号 the ``compounds.code`` column holds.
CODE_CHARS = 24

R_NUL = "含有无法保存的空字符（NUL）"
R_NO_NAME = "缺少小区名称"
R_LONG_NAME = "名称过长"
R_LONG_CODE = "小区编号过长"
R_NO_GEOM = "缺少坐标或边界"
R_BAD_WKT = "边界无法解析（应为 WKT 面要素）"
R_BAD_GEOM = "边界无效且无法修复"
R_NOT_DEGREES = "坐标不是经纬度"
R_OUTSIDE = "小区不在凯里市范围内"
R_TOO_LARGE = "小区面积过大"
R_BAD_CRS = "无法识别的坐标系"
R_BAD_NUMBER = "数字字段无法识别"
R_BAD_MODE = "无法识别的管理模式"
R_BAD_COMMITTEE = "无法识别的业委会状态"
R_MODE_FIRM = "管理模式与物业服务企业不一致"
#: Register numbers: column, ``[plausibility.compounds]`` key, staged column.
NUMBERS = (("建成年份", "build_year", "build_year"), ("户数", "households", "households"),
           ("楼栋数", "buildings", "buildings"), ("最高楼层", "floors", "floors"))
#: Metres per degree of latitude, and of longitude at the equator (for areas in km²).
_M_LAT, _M_LON = 110_540.0, 111_320.0


def _polygonal(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """Repair ``geom`` (2D) and keep its polygons as a MultiPolygon (``None`` when nothing is left).

    Never raises: a geometry GEOS cannot repair, or with coordinates that are
    not finite numbers, gives ``None``.
    """
    if geom is None:
        return None
    try:
        if geom.is_empty or not np.isfinite(shapely.get_coordinates(geom)).all():
            return None
        geom = shapely.force_2d(geom)
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        polys = [p for g in parts for p in shapely.get_parts(g)]
        if not polys:
            return None
        out = shapely.MultiPolygon(polys)
    except (shapely.errors.GEOSException, ValueError, TypeError):
        return None
    return out if out.is_valid and not out.is_empty else None


def _is_degrees(geom: shapely.Geometry) -> bool:
    xy = shapely.get_coordinates(geom)
    with np.errstate(invalid="ignore"):
        return bool(np.isfinite(xy).all() and (np.abs(xy[:, 0]) <= 180).all()
                    and (np.abs(xy[:, 1]) <= 90).all())


def area_km2(geoms: np.ndarray) -> np.ndarray:
    """Approximate areas in km² of WGS84 geometries (degrees scaled at each one's latitude)."""
    lat = shapely.get_y(shapely.centroid(geoms))
    with np.errstate(invalid="ignore"):
        return shapely.area(geoms) * _M_LAT * _M_LON * np.cos(np.radians(lat)) / 1e6


def inside_share(geoms: np.ndarray, outline: shapely.Geometry) -> np.ndarray:
    """Share of each geometry's area inside ``outline`` (1 for those it contains: no overlay)."""
    shapely.prepare(outline)
    share = np.ones(len(geoms))
    partly = ~shapely.contains(outline, geoms)
    if partly.any():
        inter = shapely.area(shapely.intersection(geoms[partly], outline))
        whole = shapely.area(geoms[partly])
        share[partly] = np.divide(inter, whole, out=np.zeros_like(inter), where=whole > 0)
    return share


def _circle(lon: float, lat: float, radius_m: float) -> shapely.Geometry:
    dx = radius_m / (_M_LON * np.cos(np.radians(lat)))
    dy = radius_m / _M_LAT
    unit = shapely.Point(0, 0).buffer(1.0, quad_segs=8)
    return shapely.MultiPolygon([shapely.affinity.affine_transform(unit, [dx, 0, 0, dy, lon, lat])])


def geometries(f: pd.DataFrame) -> tuple[list[shapely.Geometry | None], np.ndarray]:
    """WGS84 MultiPolygons from 边界 (WKT) or 经度/纬度, and a reason per row (pure)."""
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
            except (shapely.errors.GEOSException, ValueError, TypeError):
                reason[i] = R_BAD_WKT
                continue
            if g is None or g.is_empty:
                reason[i] = R_BAD_GEOM
                continue
            if not _is_degrees(g):
                reason[i] = R_NOT_DEGREES
                continue
            g = _polygonal(crs.transform_geometry(shapely.force_2d(g), sysname, "wgs84"))
            if g is None:
                reason[i] = R_BAD_GEOM
            geoms[i] = g
        elif xb or yb or np.isnan(x) or np.isnan(y):
            reason[i] = R_NO_GEOM
        elif not (abs(x) <= 180 and abs(y) <= 90):
            reason[i] = R_NOT_DEGREES
        else:
            wx, wy = crs.to_wgs84(x, y, sysname)
            geoms[i] = _circle(float(wx), float(wy), radius)
    return geoms, reason


def check_numbers(f: pd.DataFrame, year: int) -> tuple[dict[str, pd.Series], list[
        tuple[np.ndarray, str]], np.ndarray, np.ndarray]:
    """Register numbers parsed and checked against ``[plausibility.compounds]``.

    Returns the values (``Int64``, blank where bad), the checks for
    :func:`parse.first_reason` (unreadable first, then one per column out of
    range), and per row the reason and detail texts of the first failing one.
    """
    bounds: dict[str, Any] = rules()["plausibility"]["compounds"]
    ranges = {"build_year": (int(bounds["build_year_min"]), year + int(bounds["build_year_ahead"])),
              **{k: (float(bounds[k][0]), float(bounds[k][1]))
                 for k in ("households", "buildings", "floors")}}
    n = len(f)
    checks: list[tuple[np.ndarray, str]] = []
    detail = np.full(n, None, dtype=object)
    values: dict[str, pd.Series] = {}
    parsed = {h: parse.parse_number(f[h]) for h, _k, _c in NUMBERS}
    unreadable = np.logical_or.reduce([b.to_numpy(dtype=bool) for _v, b in parsed.values()]
                                      + [np.zeros(n, dtype=bool)])
    checks.append((unreadable, R_BAD_NUMBER))
    for h, _k, _c in NUMBERS:
        hit = parsed[h][1].to_numpy(dtype=bool) & (detail == None)  # noqa: E711
        detail[hit] = [f"{h}：{v[:40]}" for v in f[h].to_numpy()[hit]]
    for h, key, col in NUMBERS:
        lo, hi = ranges[key]
        num = parsed[h][0]
        bad = parse.out_of_range(num, lo, hi)
        checks.append((bad, f"{h}超出合理范围"))
        fresh = bad & (detail == None)  # noqa: E711
        detail[fresh] = [f"{h}：{v[:40]}（应在 {lo:g}–{hi:g} 之间）"
                         for v in f[h].to_numpy()[fresh]]
        values[col] = num.where(~bad).round().astype("Int64")
    return values, checks, detail, unreadable


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
    RETURNING (xmax = 0) AS ins
)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up
"""


def import_compounds(engine: Engine, path: Path, *,
                     header_map: Mapping[str, str] | None = None) -> accounting.ImportResult:
    """Import a compound register in one transaction (see the module docstring).

    ``header_map`` maps canonical headers to the file's (``--map``).
    """
    t0 = time.perf_counter()
    path = Path(path)
    raw = read_table(path, header_test(HEADERS, "compounds", given=header_map))
    f = rename(raw.frame, known=HEADERS, required=REQUIRED, file=path.name, kind="compounds",
               given=header_map)
    n = len(f)
    hmap = map_headers(list(raw.frame.columns), known=HEADERS, kind="compounds",
                       given=header_map, file=path.name)
    result = accounting.ImportResult(file=path.name, kind="compounds", rows_read=n,
                                     headers=hmap.as_dict())
    plausible: dict[str, Any] = rules()["plausibility"]
    max_name = int(plausible["max_name_chars"])
    year = pd.Timestamp.now(tz=parse.TZ).year
    geoms, geom_reason = geometries(f)
    nums, num_checks, num_detail, _ = check_numbers(f, year)
    mode, mode_bad = parse.map_values(f["管理模式"], "management_mode")
    committee, committee_bad = parse.map_values(f["业委会"], "owners_committee", default="none")
    firm = f["物业服务企业"].where(f["物业服务企业"] != "", None)
    mode = mode.where(mode.notna() | mode_bad, np.where(firm.notna(), "property_firm", "none"))
    mode_firm = (mode == "property_firm") != firm.notna()
    polys = np.array(geoms, dtype=object)
    has = np.array([g is not None for g in geoms], dtype=bool)
    area = np.zeros(n)
    share = np.ones(n)
    limits = plausible["compounds"]
    with accounting.transaction(engine, path.name) as con:
        outline = city_outline(con)
        if has.any():
            area[has] = area_km2(polys[has])
            share[has] = inside_share(polys[has], outline)
        too_large = has & (area > float(limits["max_area_km2"]))
        outside = has & ~too_large & (share < float(limits["min_inside_share"]))
        long_name = parse.too_long(f["小区名称"], max_name) | parse.too_long(f["物业服务企业"],
                                                                         max_name)
        reason = parse.first_reason([
            (raw.nul_rows(), R_NUL),
            (f["小区名称"] == "", R_NO_NAME),
            (long_name, R_LONG_NAME),
            (parse.too_long(f["小区编号"], CODE_CHARS), R_LONG_CODE),
            (geom_reason != None, geom_reason),  # noqa: E711
            (too_large, R_TOO_LARGE),
            (outside, R_OUTSIDE),
            *num_checks,
            (mode_bad.to_numpy(), R_BAD_MODE),
            (committee_bad.to_numpy(), R_BAD_COMMITTEE),
            (mode_firm.to_numpy() & ~mode_bad.to_numpy(), R_MODE_FIRM),
        ], n)
        detail = np.full(n, None, dtype=object)
        num_why = np.isin(reason.astype(str), [why for _b, why in num_checks])
        detail[num_why] = num_detail[num_why]
        for why, text in (
                (R_TOO_LARGE, [f"面积约 {a:,.2f} km²，上限 {limits['max_area_km2']} km²"
                               for a in area]),
                (R_OUTSIDE, [f"城区内面积占 {s:.0%}，应不少于 {limits['min_inside_share']:.0%}"
                             for s in share]),
                (R_LONG_NAME, [f"{max(len(a), len(b)):,} 个字符，最多 {max_name}"
                               for a, b in zip(f["小区名称"], f["物业服务企业"], strict=True)]),
                (R_LONG_CODE, [f"{len(c):,} 个字符，最多 {CODE_CHARS}" for c in f["小区编号"]]),
                (R_BAD_MODE, [f"管理模式：{v[:40]}" for v in f["管理模式"]]),
                (R_BAD_COMMITTEE, [f"业委会：{v[:40]}" for v in f["业委会"]])):
            hit = reason == why
            detail[hit] = np.asarray(text, dtype=object)[hit]
        code = f["小区编号"].where(f["小区编号"] != "", pd.Series(
            [_code(a, b) for a, b in zip(f["小区名称"], f["地址"], strict=True)], index=f.index))
        good = reason == None  # noqa: E711
        dup_same = file_duplicates(code, f, good, reason, detail, raw.row_no)
        result.import_id = accounting.begin(con, "compounds", path)
        stage = pd.DataFrame({
            "code": code, "name": f["小区名称"],
            "aliases": [[a.strip() for a in re.split(r"[;；,，、|/]", s) if a.strip()]
                        for s in f["别名"]],
            "address": f["地址"].where(f["地址"] != "", None),
            **nums,
            "management_mode": mode, "firm": firm, "owners_committee": committee,
            "competent_dept": f["主管部门"].where(f["主管部门"] != "", None),
            "wkb": [None if g is None else shapely.to_wkb(g, hex=True) for g in geoms],
        })[good]
        con.execute(sa.text(_DDL))
        copy_frame(con, "_stage_compounds", stage)
        con.execute(sa.text(_FIRMS))
        ins, upd = con.execute(sa.text(_MERGE)).one()
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
