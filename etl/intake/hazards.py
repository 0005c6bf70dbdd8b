"""``propmap import hazards``: the fire brigade's inspection records, market regulation's
elevator inspections, and later exports of the same records with rectification updates.

A row is a hazard found at an inspection (隐患编号, 隐患类别, 隐患描述, 发现日期,
整改期限 …) or, for elevators, an inspection result (检验结论 合格 / 不合格 /
复检合格) of a device (its 设备代码 is the hazard's number). It is located like a
case (:mod:`.locate`): coordinates in any 坐标系, else the compound named in
小区名称 or found in 地址; a hazard is a compound's, so a row that reaches no
compound is quarantined. Every row is accounted for: a new hazard is inserted
with its history (发现, then its status); a known one (same category and
number) whose status moved gets a step in ``hazard_events`` (source 检查记录导入)
and counts as updated; a 合格 result of a device without an open hazard is
unchanged; the rest is quarantined with a reason in Chinese. Header spellings,
value spellings and default deadlines are data (``data/intake/``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.intake import accounting, parse, quarantine
from etl.intake._copy import copy_frame
from etl.intake._merge import file_duplicates
from etl.intake.cases import city_outline, load_register
from etl.intake.headers import header_test, rename
from etl.intake.locate import coordinates, match_compounds
from etl.intake.readers import read_table
from etl.intake.spellings import rules
from geo import assign
from geo._errors import InputFileError
from geo.measures import today
from geo.privacy import mask_series

HEADERS = ("隐患编号", "隐患类别", "隐患描述", "发现日期", "整改期限", "整改状态", "整改完成日期",
           "整改情况", "检验结论", "小区名称", "地址", "经度", "纬度", "坐标系", "检查单位")
REQUIRED = ("发现日期",)

R_NO_THEME = "缺少隐患类别"
R_BAD_THEME = "无法识别的隐患类别"
R_NO_FOUND = "缺少发现日期"
R_BAD_FOUND = "发现日期无法识别"
R_FUTURE = "日期晚于今天"
R_BAD_DUE = "整改期限无法识别（应为日期或天数）"
R_DUE_EARLY = "整改期限早于发现日期"
R_BAD_STATUS = "无法识别的整改状态"
R_BAD_RESULT = "无法识别的检验结论"
R_NO_TEXT = "缺少隐患描述"
R_BAD_CLOSED = "整改完成日期无法识别"
R_CLOSED_EARLY = "整改完成日期早于发现日期"
R_NOWHERE = "无法定位到小区（坐标不在任何小区内，小区名称与地址也无法匹配）"
R_DUPLICATE = "文件内隐患编号重复且内容不同"

_DAYS = re.compile(r"^\s*(\d{1,4})\s*(?:天|日|个工作日|d)?\s*$")


def deadlines(found: pd.Series, text: pd.Series, theme: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """整改期限 as a date (a date, or a number of days after 发现日期, or the theme's default).

    Returns the dates and a mask of cells that could not be read.
    """
    default = {k: int(v) for k, v in rules()["hazards"]["deadline_days"].items()}
    stamp, bad = parse.parse_datetime(text)
    due = pd.Series([None if pd.isna(s) else s.date() for s in stamp], index=text.index,
                    dtype=object)
    days = text.str.extract(_DAYS)[0]
    by_days = bad & days.notna()
    for i in np.flatnonzero(by_days.to_numpy()):
        f = found.iloc[i]
        if f is not None:
            due.iloc[i] = f + dt.timedelta(days=int(days.iloc[i]))
    blank = (text == "").to_numpy()
    for i in np.flatnonzero(blank):
        f, t = found.iloc[i], theme.iloc[i]
        if f is not None and t in default:
            due.iloc[i] = f + dt.timedelta(days=default[t])
    return due, (bad & ~by_days).to_numpy()


def _dates(stamps: pd.Series) -> pd.Series:
    return pd.Series([None if pd.isna(s) else s.date() for s in stamps], index=stamps.index,
                     dtype=object)


def _code(theme: str, place: str, text: str, found: object) -> str:
    return "HZ" + hashlib.sha1(f"{theme}|{place}|{text}|{found}".encode()).hexdigest()[:12].upper()


_STAGE_DDL = """
CREATE TEMP TABLE _stage_hazards (
    row_no integer, theme text, source_no text, description text, found_on date, due_on date,
    status text, closed_on date, note text, found_by text, passed boolean, lon float8,
    lat float8, match_compound_id integer
) ON COMMIT DROP
"""

#: Stage → where each row is: its compound (coordinates first, else the name match) and point.
_PLACE_SQL = """
CREATE TEMP TABLE _hz_points ON COMMIT DROP AS
SELECT row_no AS id, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom
FROM _stage_hazards WHERE lon IS NOT NULL;
"""
_PLACED_SQL = """
CREATE TEMP TABLE _hz_placed ON COMMIT DROP AS
SELECT s.*, coalesce(a.compound_id, s.match_compound_id) AS compound_id,
       coalesce(p.geom, ST_PointOnSurface(x.geom)) AS geom
FROM _stage_hazards s
LEFT JOIN _hz_points p ON p.id = s.row_no
LEFT JOIN _hz_assigned a ON a.id = s.row_no
LEFT JOIN compounds x ON x.id = coalesce(a.compound_id, s.match_compound_id)
"""
_DIFF_SQL = """
CREATE TEMP TABLE _hz_diff ON COMMIT DROP AS
SELECT p.row_no, h.id AS hazard_id, p.passed,
       (p.description, p.due_on, p.found_by, p.compound_id)
           IS DISTINCT FROM (h.description, h.due_on, h.found_by, h.compound_id)
           AND NOT p.passed AS changed,
       CASE WHEN p.passed THEN (CASE WHEN h.status <> 'closed' THEN 'closed' END)
            WHEN p.status IS DISTINCT FROM h.status THEN p.status END AS step,
       p.closed_on
FROM _hz_placed p JOIN hazards h ON h.theme = p.theme AND h.source_no = p.source_no
WHERE p.compound_id IS NOT NULL
"""
_INSERT_SQL = """
WITH new AS (
    INSERT INTO hazards (theme, compound_id, geom, description, found_on, due_on, status,
                         closed_on, source_no, found_by, import_id)
    SELECT p.theme, p.compound_id, p.geom, p.description, p.found_on, p.due_on, p.status,
           p.closed_on, p.source_no, p.found_by, :imp
    FROM _hz_placed p
    WHERE p.compound_id IS NOT NULL AND NOT p.passed
      AND NOT EXISTS (SELECT 1 FROM hazards h WHERE h.theme = p.theme
                      AND h.source_no = p.source_no)
    RETURNING id, status, found_on, closed_on, source_no, theme
), steps AS (
    INSERT INTO hazard_events (hazard_id, kind, on_date, note, source, import_id)
    SELECT n.id, k.kind, k.on_date, k.note, 'inspection', :imp
    FROM new n JOIN _hz_placed p ON p.theme = n.theme AND p.source_no = n.source_no
    CROSS JOIN LATERAL (VALUES (1, 'open', n.found_on, NULL),
        (2, CASE WHEN n.status = 'open' THEN NULL ELSE n.status END,
         coalesce(n.closed_on, greatest(n.found_on, CAST(:today AS date))), p.note))
        k(i, kind, on_date, note)
    WHERE k.kind IS NOT NULL
    ORDER BY n.id, k.i
    RETURNING hazard_id
)
SELECT count(*) FROM new
"""
_UPDATE_SQL = """
UPDATE hazards h SET description = p.description, due_on = p.due_on, found_by = p.found_by,
       compound_id = p.compound_id, geom = p.geom
FROM _hz_diff d JOIN _hz_placed p ON p.row_no = d.row_no
WHERE d.changed AND h.id = d.hazard_id
"""
_STEPS_SQL = """
INSERT INTO hazard_events (hazard_id, kind, on_date, note, source, import_id)
SELECT d.hazard_id, d.step,
       greatest(h.found_on, coalesce(d.closed_on, p.found_on, CAST(:today AS date))),
       p.note, 'inspection', :imp
FROM _hz_diff d JOIN hazards h ON h.id = d.hazard_id JOIN _hz_placed p ON p.row_no = d.row_no
WHERE d.step IS NOT NULL ORDER BY d.hazard_id
"""


def import_hazards(engine: Engine, path: Path, *,
                   theme: str | None = None) -> accounting.ImportResult:
    """Import an inspection export in one transaction; see the module docstring.

    Parameters
    ----------
    theme
        ``fire``, ``elevator`` or ``security`` for rows whose 隐患类别 is blank (a
        fire brigade's file is all 消防).

    Raises
    ------
    InputFileError
        The file is unusable as a whole; the database is unchanged.
    """
    t0 = time.perf_counter()
    path = Path(path)
    raw = read_table(path, header_test(HEADERS, "hazards"))
    f = rename(raw.frame, known=HEADERS, required=REQUIRED, file=path.name, kind="hazards")
    if theme is None and not f["隐患类别"].ne("").any():
        raise InputFileError(f"{path.name}：文件没有“隐患类别”列（或该列全空），"
                             "请用 --theme fire|elevator|security 指定类别")
    n = len(f)
    result = accounting.ImportResult(file=path.name, kind="hazards", rows_read=n)
    day = today()
    themes, theme_bad = parse.map_values(f["隐患类别"], "hazard_theme", default=theme)
    found_ts, found_bad = parse.parse_datetime(f["发现日期"])
    found = _dates(found_ts)
    due, due_bad = deadlines(found, f["整改期限"], themes)
    verdict, verdict_bad = parse.map_values(f["检验结论"], "inspection_result")
    status, status_bad = parse.map_values(f["整改状态"], "hazard_status")
    closed_ts, closed_bad = parse.parse_datetime(f["整改完成日期"])
    closed = _dates(closed_ts)
    fixed = (verdict == "fixed").to_numpy()
    blank_status = status.isna() & ~status_bad
    status[blank_status] = np.where(closed[blank_status].notna(), "closed", "open")
    status[fixed] = "closed"
    closed[fixed & closed.isna().to_numpy()] = found[fixed & closed.isna().to_numpy()]
    closed[(status != "closed").to_numpy()] = None
    passed = (verdict == "pass").to_numpy()
    lon, lon_bad = parse.parse_number(f["经度"])
    lat, lat_bad = parse.parse_number(f["纬度"])
    not_future = np.array([d is None or d <= day for d in found])
    closed_ok = np.array([c is None or c <= day for c in closed])
    with engine.begin() as con:
        outline = city_outline(con)
        loc = coordinates(lon, lat, lon_bad, lat_bad, f["坐标系"], outline)
        reason = parse.first_reason([
            (theme_bad, R_BAD_THEME),
            (themes.isna(), R_NO_THEME),
            (found_bad, R_BAD_FOUND),
            (found.isna() & ~found_bad, R_NO_FOUND),
            (~not_future | ~closed_ok, R_FUTURE),
            (verdict_bad, R_BAD_RESULT),
            (status_bad & ~passed, R_BAD_STATUS),
            (due_bad & ~passed, R_BAD_DUE),
            ((f["隐患描述"] == "") & ~passed & ~fixed, R_NO_TEXT),
            (closed_bad, R_BAD_CLOSED),
            (np.array([c is not None and fd is not None and c < fd
                       for c, fd in zip(closed, found, strict=True)]), R_CLOSED_EARLY),
            (np.array([d is not None and fd is not None and d < fd
                       for d, fd in zip(due, found, strict=True)]) & ~passed, R_DUE_EARLY),
            (loc.reason != None, loc.reason),  # noqa: E711
        ], n)
        detail = np.full(n, None, dtype=object)
        for why, col in ((R_BAD_FOUND, "发现日期"), (R_BAD_DUE, "整改期限"),
                         (R_BAD_STATUS, "整改状态"), (R_BAD_THEME, "隐患类别"),
                         (R_BAD_RESULT, "检验结论"), (R_BAD_CLOSED, "整改完成日期")):
            hit = reason == why
            detail[hit] = [f"{col}：{t}" for t in f[col].to_numpy()[hit]]
        located = reason == loc.reason
        detail[located] = loc.detail[located]
        place = f["小区名称"] + "|" + f["地址"]
        source_no = f["隐患编号"].where(f["隐患编号"] != "", pd.Series(
            [_code(str(t), p, d, fd) for t, p, d, fd in zip(
                themes, place, f["隐患描述"], found, strict=True)], index=f.index))
        good = reason == None  # noqa: E711
        dup_same = file_duplicates(themes.astype(str) + "\x1f" + source_no, f, good, reason,
                                   detail, raw.row_no, R_DUPLICATE)
        need = good & ~loc.has
        cid, _method = match_compounds(load_register(con), f["小区名称"], f["地址"], need)
        result.import_id = accounting.begin(con, "hazards", path)
        stage = pd.DataFrame({
            "row_no": raw.row_no, "theme": themes, "source_no": source_no,
            "description": mask_series(f["隐患描述"]).where(f["隐患描述"] != "", "检验合格"),
            "found_on": found, "due_on": [d if d is not None else fd
                                          for d, fd in zip(due, found, strict=True)],
            "status": status, "closed_on": closed,
            "note": mask_series(f["整改情况"]).where(f["整改情况"] != "", None),
            "found_by": f["检查单位"].where(f["检查单位"] != "", None), "passed": passed,
            "lon": np.where(loc.has, loc.lon, np.nan), "lat": np.where(loc.has, loc.lat, np.nan),
            "match_compound_id": cid,
        })[good]
        con.execute(sa.text(_STAGE_DDL))
        copy_frame(con, "_stage_hazards", stage)
        con.execute(sa.text(_PLACE_SQL))
        assign.assign_points(con, "_hz_points", "_hz_assigned")
        con.execute(sa.text(_PLACED_SQL))
        nowhere = set(con.execute(sa.text(
            "SELECT row_no FROM _hz_placed WHERE compound_id IS NULL AND NOT passed")).scalars())
        con.execute(sa.text(_DIFF_SQL))
        upd = con.execute(sa.text(
            "SELECT count(*) FROM _hz_diff WHERE changed OR step IS NOT NULL")).scalar() or 0
        con.execute(sa.text(_UPDATE_SQL))
        con.execute(sa.text(_STEPS_SQL), {"imp": result.import_id, "today": day})
        ins = con.execute(sa.text(_INSERT_SQL), {"imp": result.import_id, "today": day}).scalar()
        row_index = {int(r): i for i, r in enumerate(raw.row_no)}
        for r in nowhere:
            reason[row_index[r]] = R_NOWHERE
        result.quarantined = quarantine.write(con, result.import_id, path.name, raw.frame,
                                              raw.row_no, reason, detail)
        result.inserted, result.updated = int(ins or 0), int(upd)
        # a 合格 result of a device without an open hazard is no hazard: unchanged
        result.unchanged = (len(stage) - len(nowhere) - result.inserted - result.updated
                            + dup_same)
        result.located_by = accounting.counts(
            np.where(loc.has[good], "coordinates",
                     np.where(pd.Series(cid)[good].notna().to_numpy(), "compound_name", "none")))
        result.quarantine_reasons = accounting.counts(reason)
        result.coord_fixes = accounting.counts(loc.fix[good])
        result.seconds = time.perf_counter() - t0
        accounting.finish(con, result)
    return result
