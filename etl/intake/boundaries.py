"""``propmap import boundaries``: street/town or community polygons.

GeoJSON, Shapefile or GeoPackage.

The CRS is read from the file and a file without one is refused
(:class:`geo._errors.CRSError`); geometry is reprojected to EPSG:4326,
repaired with ``make_valid`` (its polygons kept) or quarantined with a reason.
Streets need a 12-digit 代码, or a 名称 found in the division list; a
community's street is its 所属街道 (code or name), else the street under its
point on surface. After the merge ``street_parts`` is rebuilt and compounds
are re-assigned (:mod:`geo.assign`).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.intake import accounting, parse, quarantine
from etl.intake._copy import copy_frame
from etl.intake._merge import file_duplicates
from etl.intake.compounds import _polygonal
from etl.intake.headers import rename
from geo import assign, reference
from geo._errors import CRSError, InputFileError

HEADERS = ("代码", "名称", "类型", "所属街道")
R_NO_NAME = "缺少名称"
R_BAD_GEOM = "几何无效且无法修复，或不是面要素"
R_BAD_CODE = "街道代码应为12位数字，且名称不在区划表中"
R_NO_STREET = "找不到所属街道"


def read(path: Path) -> gpd.GeoDataFrame:
    """Read a boundary file and reproject to EPSG:4326; refuse a file without a CRS."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"找不到文件 {path}")
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
    return gdf.to_crs(4326)


def import_boundaries(engine: Engine, path: Path, *, level: str) -> accounting.ImportResult:
    """Import ``level`` (``street`` or ``community``) boundaries in one transaction."""
    t0 = time.perf_counter()
    path = Path(path)
    gdf = read(path)
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object).fillna("")
    attrs = attrs.astype(str).apply(lambda s: s.str.strip())
    f = rename(attrs, known=HEADERS, required=("名称",), file=path.name, kind="boundaries")
    n = len(f)
    row_no = np.arange(1, n + 1)
    geoms = [_polygonal(g) for g in gdf.geometry]
    reason = parse.first_reason([
        (f["名称"] == "", R_NO_NAME),
        (np.array([g is None for g in geoms]), R_BAD_GEOM),
    ], n)
    detail = np.full(n, None, dtype=object)
    result = accounting.ImportResult(file=path.name, kind="boundaries", rows_read=n)
    divisions = {d["name"]: d["code"] for d in reference.divisions()}
    wkb = [None if g is None else shapely.to_wkb(g, hex=True) for g in geoms]
    with engine.begin() as con:
        if level == "street":
            code = f["代码"].where(f["代码"].str.fullmatch(r"\d{12}"), f["名称"].map(divisions))
            reason = parse.first_reason([(reason != None, reason),  # noqa: E711
                                         (code.isna().to_numpy(), R_BAD_CODE)], n)
            kind = np.where(f["类型"].isin(["town", "镇"]) | f["名称"].str.endswith("镇"), "town",
                            "street")
            stage = pd.DataFrame({"code": code, "name": f["名称"], "kind": kind, "wkb": wkb})
            ddl = "code text, name text, kind text, wkb text"
            merge = """
                INSERT INTO streets (code, name, kind, geom)
                SELECT code, name, kind, ST_GeomFromWKB(decode(wkb, 'hex'), 4326) FROM _stage_b
                ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
                    geom = EXCLUDED.geom
                WHERE (streets.name, streets.kind, streets.geom)
                      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.geom)
                RETURNING (xmax = 0) AS ins"""
        else:
            streets: dict[str, str] = {
                name: code for name, code in con.execute(sa.text("SELECT name, code FROM streets"))}
            codes = set(streets.values())
            given = f["所属街道"]
            street = given.where(given.isin(codes), given.map(streets))
            code = f["代码"].where(f["代码"] != "", pd.Series(
                ["C" + hashlib.sha1(f"{a}|{b}".encode()).hexdigest()[:12].upper()
                 for a, b in zip(f["名称"], given, strict=True)], index=f.index))
            stage = pd.DataFrame({"code": code, "name": f["名称"], "street_code": street,
                                  "wkb": wkb})
            ddl = "code text, name text, street_code text, wkb text"
            merge = """
                WITH s AS (
                    SELECT b.code, b.name, ST_GeomFromWKB(decode(b.wkb, 'hex'), 4326) AS geom,
                           coalesce(b.street_code, (
                               SELECT p.street_code FROM street_parts p WHERE ST_Intersects(
                                   p.geom, ST_PointOnSurface(ST_GeomFromWKB(decode(b.wkb, 'hex'),
                                   4326))) LIMIT 1)) AS street_code
                    FROM _stage_b b)
                INSERT INTO communities (code, name, street_code, geom)
                SELECT code, name, street_code, geom FROM s WHERE street_code IS NOT NULL
                ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,
                    street_code = EXCLUDED.street_code, geom = EXCLUDED.geom
                WHERE (communities.name, communities.street_code, communities.geom)
                      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.street_code, EXCLUDED.geom)
                RETURNING (xmax = 0) AS ins"""
        good = reason == None  # noqa: E711
        dup_same = file_duplicates(stage["code"].astype(str), f, good, reason, detail, row_no)
        result.import_id = accounting.begin(con, "boundaries", path)
        con.execute(sa.text(f"CREATE TEMP TABLE _stage_b ({ddl}) ON COMMIT DROP"))
        copy_frame(con, "_stage_b", stage[good])
        if level == "community":  # a community whose street cannot be found is quarantined
            missing = set(con.execute(sa.text(
                "SELECT b.code FROM _stage_b b WHERE b.street_code IS NULL AND NOT EXISTS ("
                "SELECT 1 FROM street_parts p WHERE ST_Intersects(p.geom, ST_PointOnSurface("
                "ST_GeomFromWKB(decode(b.wkb, 'hex'), 4326))))")).scalars())
            lost = good & stage["code"].isin(missing).to_numpy()
            reason[lost] = R_NO_STREET
            good &= ~lost
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
