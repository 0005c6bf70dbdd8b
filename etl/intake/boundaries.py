"""``propmap import boundaries``: street/town or community polygons.

GeoJSON, Shapefile or GeoPackage.

The file is costed before it is read (size, zip members, features and fields
against the caps of :class:`etl.intake.readers.Caps`). The CRS is read from
the file and a file without one is refused (:class:`geo._errors.CRSError`);
so is a file whose numbers are not degrees although its CRS says they are
(a GeoJSON in Web Mercator metres without a ``crs`` member, which GDAL reads
as longitude/latitude). Geometry is reprojected to EPSG:4326, made 2D,
repaired with ``make_valid`` (its polygons kept) or quarantined with a
reason, as is a feature outside China (``[plausibility.boundaries]
china_bbox``). Streets need a 12-digit 代码, or a 名称 found in the division
list; a community's street is its 所属街道 (code or name, with or without
its suffix), else the street under its point on surface. A name that
another area already uses is quarantined, not a database error. After the
merge ``street_parts`` is rebuilt and compounds are re-assigned
(:mod:`geo.assign`).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.intake import accounting, parse, quarantine
from etl.intake._copy import copy_frame
from etl.intake._merge import file_duplicates
from etl.intake.compounds import _polygonal
from etl.intake.headers import map_headers, rename
from etl.intake.locate import bare
from etl.intake.readers import Caps, check_file
from etl.intake.spellings import rules
from geo import assign, reference
from geo._errors import CRSError, InputFileError

HEADERS = ("代码", "名称", "类型", "所属街道")
#: The longest community code the ``communities.code`` column holds.
COMMUNITY_CODE_CHARS = 16
R_NUL = "含有无法保存的空字符（NUL）"
R_NO_NAME = "缺少名称"
R_LONG_NAME = "名称过长"
R_BAD_GEOM = "几何无效且无法修复，或不是面要素"
R_NOT_IN_CHINA = "边界坐标不在中国境内"
R_BAD_CODE = "街道代码应为12位数字，且名称不在区划表中"
R_LONG_CODE = "社区代码过长"
R_NO_STREET = "找不到所属街道"
R_DUP_NAME = "文件内名称重复且代码不同"
R_NAME_TAKEN = "名称已被另一区划使用"
#: Sidecar files of a shapefile that count toward its size.
_SHAPEFILE_PARTS = (".shp", ".dbf", ".shx", ".prj", ".cpg")


def _check_cost(path: Path, caps: Caps) -> dict[str, Any]:
    """Size, features and fields against the caps, before reading; returns pyogrio's info."""
    check_file(path, caps)
    if path.suffix.lower() == ".shp":
        size = sum(p.stat().st_size for p in (path.with_suffix(s) for s in _SHAPEFILE_PARTS)
                   if p.is_file())
        if size > caps.file_bytes:
            raise InputFileError(f"{path.name}：文件大小 {size / 2**20:,.0f} MB，超过上限 "
                                 f"{caps.file_bytes >> 20:,} MB（设置 PROPMAP_MAX_FILE_MB）")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info: dict[str, Any] = pyogrio.read_info(path, force_feature_count=True)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputFileError(f"{path.name}：无法作为 GeoJSON/Shapefile/GeoPackage 读取"
                             f"（{type(exc).__name__}）") from exc
    if info.get("geometry_type") is None:
        raise InputFileError(f"{path.name}：文件中没有几何（边界）字段，"
                             "请提供 GeoJSON、Shapefile 或 GeoPackage 格式的面要素")
    if int(info.get("features") or 0) > caps.rows:
        raise InputFileError(f"{path.name}：要素数 {int(info['features']):,}，超过上限 "
                             f"{caps.rows:,}（设置 PROPMAP_MAX_ROWS）")
    if len(info.get("fields", ())) > caps.columns:
        raise InputFileError(f"{path.name}：属性字段 {len(info['fields']):,} 个，超过上限 "
                             f"{caps.columns:,}（设置 PROPMAP_MAX_COLUMNS）")
    return info


def _wild(geom: shapely.Geometry | None) -> bool:
    """Whether a geometry has finite coordinates beyond ±180° longitude or ±90° latitude."""
    if geom is None:
        return False
    xy = shapely.get_coordinates(geom)
    with np.errstate(invalid="ignore"):
        return bool((np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any())


def _not_degrees(path: Path, bounds: np.ndarray) -> CRSError:
    sample = max([abs(float(v)) for v in bounds if np.isfinite(v)] + [0.0])
    return CRSError(
        f"{path.name}：文件声明（或默认）为经纬度坐标，但坐标数值达 {sample:,.0f}，不是经纬度。"
        "文件很可能是投影坐标（如 Web 墨卡托 EPSG:3857，单位为米）却没有写明坐标系"
        "（GeoJSON 缺少 crs 成员，或 Shapefile 缺少 .prj）。请在 GIS 软件中为它指定正确的"
        "坐标系后另存（或导出为 EPSG:4326 / EPSG:4490）再导入")


def read(path: Path, caps: Caps | None = None) -> gpd.GeoDataFrame:
    """Read a boundary file and reproject to EPSG:4326; refuse a file without a usable CRS.

    Raises
    ------
    InputFileError
        Missing, beyond a cap, unreadable, or without geometry.
    CRSError
        No CRS, a CRS that cannot be converted, or numbers that are not the
        degrees the CRS claims.
    """
    path = Path(path)
    info = _check_cost(path, caps or Caps.from_settings())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputFileError(f"{path.name}：无法作为 GeoJSON/Shapefile/GeoPackage 读取"
                             f"（{type(exc).__name__}）") from exc
    if gdf.crs is None:
        raise CRSError(f"{path.name}：文件没有坐标参考系（CRS）。请在 GIS 软件中为它指定坐标系"
                       "（如 EPSG:4326 或 EPSG:4490）后再导入")
    if len(gdf) and gdf.crs.is_geographic:
        # Numbers that are not degrees in most features: a projected file read as lon/lat.
        # (A few such features are quarantined one by one, as outside China.)
        wild = np.array([_wild(g) for g in gdf.geometry], dtype=bool)
        if wild.sum() * 2 > len(gdf):
            raise _not_degrees(path, np.asarray(info.get("total_bounds") or (0.0,)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gdf.to_crs(4326)
    except Exception as exc:  # pyproj raises for a CRS it cannot convert
        raise CRSError(f"{path.name}：无法把坐标系 {gdf.crs.to_string()[:60]} 转换为 EPSG:4326"
                       f"（{type(exc).__name__}），请在 GIS 软件中另存为 EPSG:4326 或 EPSG:4490"
                       ) from exc


def _attributes(gdf: gpd.GeoDataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The attribute table as stripped text, NUL characters removed; and the rows that had them."""
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    attrs = attrs.where(attrs.notna(), "").astype(str)
    attrs.columns = [str(c).replace("\x00", "") for c in attrs.columns]
    nul = np.zeros(len(attrs), dtype=bool)
    for c in attrs.columns:
        hit = attrs[c].str.contains("\x00", regex=False).to_numpy(dtype=bool)
        if hit.any():
            nul |= hit
            attrs[c] = attrs[c].str.replace("\x00", "", regex=False)
        attrs[c] = attrs[c].str.strip()
    return attrs.reset_index(drop=True), nul


def _outside_china(geoms: list[shapely.Geometry | None]) -> np.ndarray:
    west, south, east, north = (float(v) for v in
                                rules()["plausibility"]["boundaries"]["china_bbox"])
    out = np.zeros(len(geoms), dtype=bool)
    for i, g in enumerate(geoms):
        if g is not None:
            x0, y0, x1, y1 = g.bounds
            out[i] = not (west <= x0 and x1 <= east and south <= y0 and y1 <= north)
    return out


_STREET_MERGE = """
    INSERT INTO streets (code, name, kind, geom)
    SELECT code, name, kind, ST_GeomFromWKB(decode(wkb, 'hex'), 4326) FROM _stage_b
    ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
        geom = EXCLUDED.geom
    WHERE (streets.name, streets.kind, streets.geom)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.geom)
    RETURNING (xmax = 0) AS ins"""
_STREET_TAKEN = """
    SELECT b.code FROM _stage_b b JOIN streets s ON s.name = b.name AND s.code <> b.code"""
#: Communities with their street resolved (given, else under their point on surface).
_COMMUNITY_RESOLVE = """
    CREATE TEMP TABLE _stage_c ON COMMIT DROP AS
    SELECT b.code, b.name, g.geom,
           coalesce(b.street_code, (
               SELECT p.street_code FROM street_parts p
               WHERE ST_Intersects(p.geom, ST_PointOnSurface(g.geom)) LIMIT 1)) AS street_code
    FROM _stage_b b CROSS JOIN LATERAL (
        SELECT ST_GeomFromWKB(decode(b.wkb, 'hex'), 4326) AS geom) g"""
_COMMUNITY_TAKEN = """
    SELECT c.code FROM _stage_c c
    WHERE c.street_code IS NOT NULL AND (
        EXISTS (SELECT 1 FROM communities m WHERE m.street_code = c.street_code
                AND m.name = c.name AND m.code <> c.code)
        OR EXISTS (SELECT 1 FROM _stage_c o WHERE o.street_code = c.street_code
                   AND o.name = c.name AND o.code < c.code))"""
_COMMUNITY_MERGE = """
    INSERT INTO communities (code, name, street_code, geom)
    SELECT code, name, street_code, geom FROM _stage_c
    ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,
        street_code = EXCLUDED.street_code, geom = EXCLUDED.geom
    WHERE (communities.name, communities.street_code, communities.geom)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.street_code, EXCLUDED.geom)
    RETURNING (xmax = 0) AS ins"""


def _drop(con: sa.Connection, table: str, codes: set[str], stage: pd.DataFrame,
          good: np.ndarray, reason: np.ndarray, why: str) -> None:
    """Quarantine the good rows whose code is in ``codes`` and delete them from ``table``."""
    if not codes:
        return
    lost = good & stage["code"].isin(codes).to_numpy()
    reason[lost] = why
    good &= ~lost
    con.execute(sa.text(f"DELETE FROM {table} WHERE code = ANY(:c)"), {"c": sorted(codes)})


def import_boundaries(engine: Engine, path: Path, *, level: str,
                      header_map: Mapping[str, str] | None = None) -> accounting.ImportResult:
    """Import ``level`` (``street`` or ``community``) boundaries in one transaction.

    ``header_map`` maps canonical attribute names to the file's (``--map``).
    """
    t0 = time.perf_counter()
    path = Path(path)
    gdf = read(path)
    attrs, nul = _attributes(gdf)
    f = rename(attrs, known=HEADERS, required=("名称",), file=path.name, kind="boundaries",
               given=header_map)
    hmap = map_headers(list(attrs.columns), known=HEADERS, kind="boundaries", given=header_map,
                       file=path.name)
    n = len(f)
    row_no = np.arange(1, n + 1)
    geoms = [_polygonal(g) for g in gdf.geometry]
    max_name = int(rules()["plausibility"]["max_name_chars"])
    reason = parse.first_reason([
        (nul, R_NUL),
        (f["名称"] == "", R_NO_NAME),
        (parse.too_long(f["名称"], max_name), R_LONG_NAME),
        (np.array([g is None for g in geoms], dtype=bool), R_BAD_GEOM),
        (_outside_china(geoms), R_NOT_IN_CHINA),
    ], n)
    detail = np.full(n, None, dtype=object)
    hit = reason == R_NOT_IN_CHINA
    detail[hit] = ["范围 {:.4f}, {:.4f} – {:.4f}, {:.4f}".format(*g.bounds)  # type: ignore[union-attr]
                   for g, h in zip(geoms, hit, strict=True) if h]
    result = accounting.ImportResult(file=path.name, kind="boundaries", rows_read=n,
                                     headers=hmap.as_dict())
    suffixes = rules()["areas"]["suffixes"]
    divisions = {d["name"]: d["code"] for d in reference.divisions()}
    bare_names = pd.Series({d["code"]: bare(d["name"], suffixes) for d in reference.divisions()})
    divisions.update({b: c for c, b in bare_names.items()
                      if (bare_names == b).sum() == 1 and b not in divisions})
    wkb = [None if g is None else shapely.to_wkb(g, hex=True) for g in geoms]
    with accounting.transaction(engine, path.name) as con:
        if level == "street":
            code = f["代码"].where(f["代码"].str.fullmatch(r"[0-9]{12}"),
                                 f["名称"].map(lambda nm: divisions.get(nm) or divisions.get(
                                     bare(nm, suffixes))))
            reason = parse.first_reason([(reason != None, reason),  # noqa: E711
                                         (code.isna().to_numpy(), R_BAD_CODE)], n)
            kind = np.where(f["类型"].isin(["town", "镇"]) | f["名称"].str.endswith("镇"), "town",
                            "street")
            stage = pd.DataFrame({"code": code, "name": f["名称"], "kind": kind, "wkb": wkb})
            ddl = "code text, name text, kind text, wkb text"
        else:
            known = con.execute(sa.text("SELECT name, code FROM streets")).all()
            by_name = {bare(name, suffixes): c for name, c in known}
            codes = {c for _name, c in known}
            given = f["所属街道"]
            street = given.where(given.isin(codes),
                                 given.map(lambda g: by_name.get(bare(g, suffixes)) if g else None))
            code = f["代码"].where(f["代码"] != "", pd.Series(
                ["C" + hashlib.sha1(f"{a}|{b}".encode()).hexdigest()[:12].upper()
                 for a, b in zip(f["名称"], given, strict=True)], index=f.index))
            reason = parse.first_reason([(reason != None, reason),  # noqa: E711
                                         (parse.too_long(code, COMMUNITY_CODE_CHARS),
                                          R_LONG_CODE)], n)
            stage = pd.DataFrame({"code": code, "name": f["名称"], "street_code": street,
                                  "wkb": wkb})
            ddl = "code text, name text, street_code text, wkb text"
        good = reason == None  # noqa: E711
        dup_same = file_duplicates(stage["code"].astype(str), f, good, reason, detail, row_no)
        if level == "street":  # one name, one street: a second code for it is quarantined
            dup_same += file_duplicates(stage["name"].astype(str), f, good, reason, detail,
                                        row_no, R_DUP_NAME)
        result.import_id = accounting.begin(con, "boundaries", path)
        con.execute(sa.text(f"CREATE TEMP TABLE _stage_b ({ddl}) ON COMMIT DROP"))
        copy_frame(con, "_stage_b", stage[good])
        if level == "street":
            taken = set(con.execute(sa.text(_STREET_TAKEN)).scalars())
            _drop(con, "_stage_b", taken, stage, good, reason, R_NAME_TAKEN)
            merge = _STREET_MERGE
        else:  # a community whose street cannot be found, or whose name is taken, is quarantined
            con.execute(sa.text(_COMMUNITY_RESOLVE))
            missing = set(con.execute(sa.text(
                "SELECT code FROM _stage_c WHERE street_code IS NULL")).scalars())
            _drop(con, "_stage_c", missing, stage, good, reason, R_NO_STREET)
            taken = set(con.execute(sa.text(_COMMUNITY_TAKEN)).scalars())
            _drop(con, "_stage_c", taken, stage, good, reason, R_NAME_TAKEN)
            merge = _COMMUNITY_MERGE
        rows = con.execute(sa.text(merge)).scalars().all()
        ins = sum(1 for r in rows if r)
        upd = len(rows) - ins
        if rows:
            assign.refresh_street_parts(con)
            assign.assign_compounds(con)
            assign.reassign_cases(con)
        result.quarantined = quarantine.write(con, result.import_id, path.name, attrs, row_no,
                                              reason, detail)
        result.inserted, result.updated = ins, upd
        result.unchanged = int(good.sum()) - ins - upd + dup_same
        result.quarantine_reasons = accounting.counts(reason)
        result.seconds = time.perf_counter() - t0
        accounting.finish(con, result)
    return result
