"""``propmap import cases``: hotline, mailbox and petition exports into ``cases``.

:func:`prepare` is pure (pandas, vectorized): it turns the file's text into
staged rows and a Chinese reason for every row it cannot take.
:func:`import_cases` does the I/O in one transaction: reference data in,
staged rows COPYed into a temporary table, routed and spatially assigned
(:mod:`geo.assign`) into a second one, repeat counts over those rows and the
stored cases, then one ``INSERT ... SELECT ... ON CONFLICT (channel,
case_no) DO UPDATE ... WHERE (changed)``, complainants apart, quarantine and
the batch record. Only the rows of the file are (re)evaluated: a stored case
is not re-escalated because an earlier case arrived later.

Duplicates within a file (same channel and 工单编号): the first good row is
imported; a later row identical to it in every column counts as unchanged; a
later row that differs is quarantined (文件内工单编号重复且内容不同).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.intake import accounting, parse, quarantine
from etl.intake._copy import copy_frame
from etl.intake._merge import file_duplicates
from etl.intake.headers import canonical, header_test, rename
from etl.intake.locate import Register, coordinates, match_compounds
from etl.intake.privacy import mask_text
from etl.intake.readers import RawTable, read_table
from etl.intake.routing import Classifier, level_sql, raise_sql, repeat_sql
from geo import assign, reference
from geo._errors import InputFileError

#: The canonical headers of a case export, in order.
HEADERS = ("工单编号", "来源渠道", "受理时间", "问题类别", "诉求内容", "事发地址", "小区名称",
           "经度", "纬度", "坐标系", "办理状态", "承办单位", "办结时间", "满意度", "来电人", "联系电话")
REQUIRED = ("工单编号", "受理时间")
PERSONAL = ("来电人", "联系电话")

R_NO_CASE_NO = "缺少工单编号"
R_NO_CHANNEL = "缺少来源渠道"
R_BAD_CHANNEL = "无法识别的来源渠道"
R_NO_RECEIVED = "缺少受理时间"
R_BAD_RECEIVED = "受理时间无法识别"
R_BAD_CLOSED = "办结时间无法识别"
R_BAD_STATUS = "无法识别的办理状态"
R_CLOSED_NO_TIME = "已办结但缺少办结时间"
R_CLOSED_EARLY = "办结时间早于受理时间"
R_BAD_SATISFACTION = "无法识别的满意度"
R_DUPLICATE = "文件内工单编号重复且内容不同"

Step = Callable[[str], None]


@dataclass
class Prepared:
    """The outcome of :func:`prepare` for one file."""

    stage: pd.DataFrame
    """Good rows, one per (channel, case_no), in staging-table columns."""
    reason: np.ndarray
    """Quarantine reason per input row (``None`` for rows staged or duplicate-unchanged)."""
    detail: np.ndarray
    duplicates_unchanged: int
    """Repeat rows identical to an earlier row of the same file (counted as unchanged)."""


def prepare(raw: RawTable, canon: pd.DataFrame, *, channel: str | None, classifier: Classifier,
            register: Register, outline: shapely.Geometry) -> Prepared:
    """Parse, check, locate and classify the rows of a case export (no I/O)."""
    n = len(canon)
    f = canon
    case_no = f["工单编号"].astype(str)
    chan, chan_bad = parse.map_values(f["来源渠道"], "channel", default=channel)
    received, received_bad = parse.parse_datetime(f["受理时间"])
    closed, closed_bad = parse.parse_datetime(f["办结时间"])
    status, status_bad = parse.map_values(f["办理状态"], "status")
    blank_status = status.isna() & ~status_bad
    status[blank_status & closed.notna()] = "closed"
    status[blank_status & closed.isna()] = "received"
    is_closed = status.isin(["closed", "visited"])
    closed = closed.where(is_closed)  # an open or reopened case has no closing time
    satisfaction, satisfaction_bad = parse.map_values(f["满意度"], "satisfaction")
    lon, lon_bad = parse.parse_number(f["经度"])
    lat, lat_bad = parse.parse_number(f["纬度"])
    loc = coordinates(lon, lat, lon_bad, lat_bad, f["坐标系"], outline)

    reason = parse.first_reason([
        (case_no == "", R_NO_CASE_NO),
        (chan_bad, R_BAD_CHANNEL),
        (chan.isna(), R_NO_CHANNEL),
        (received.isna() & ~received_bad, R_NO_RECEIVED),
        (received_bad, R_BAD_RECEIVED),
        (loc.reason != None, loc.reason),  # noqa: E711
        (status_bad, R_BAD_STATUS),
        (closed_bad & is_closed, R_BAD_CLOSED),
        (is_closed & closed.isna() & ~closed_bad, R_CLOSED_NO_TIME),
        (closed.notna() & received.notna() & (closed < received), R_CLOSED_EARLY),
        (satisfaction_bad, R_BAD_SATISFACTION),
    ], n)
    detail = np.where(reason == loc.reason, loc.detail, None)
    for why, col in ((R_BAD_RECEIVED, "受理时间"), (R_BAD_CLOSED, "办结时间"),
                     (R_BAD_STATUS, "办理状态"), (R_BAD_SATISFACTION, "满意度"),
                     (R_BAD_CHANNEL, "来源渠道")):
        hit = reason == why
        detail[hit] = [f"{col}：{t}" for t in f[col].to_numpy()[hit]]

    # Duplicates among the good rows: first wins; identical repeats are unchanged.
    good = reason == None  # noqa: E711
    dup_same = file_duplicates(chan.astype(str) + "\x1f" + case_no, f[list(HEADERS)], good,
                               reason, detail, raw.row_no, R_DUPLICATE)

    code, by = classifier.classify(f["问题类别"], f["诉求内容"])
    need = good & ~loc.has
    cid, method = match_compounds(register, f["小区名称"], f["事发地址"], need)
    method[loc.has] = "coordinates"

    def blank_none(s: pd.Series) -> pd.Series:
        return s.where(s != "", None)

    stage = pd.DataFrame({
        "source_row": raw.row_no,
        "channel": chan,
        "case_no": case_no,
        "received_at": received,
        "closed_at": closed,
        "status": status,
        "satisfaction": satisfaction,
        "category_code": code,
        "category_by": by,
        "content": blank_none(f["诉求内容"].str.replace(
            r"(?<!\d)1[3-9]\d{9}(?!\d)", lambda m: mask_text(m.group(0)), regex=True)),
        "address": blank_none(f["事发地址"]),
        "handler": blank_none(f["承办单位"]),
        "lon": np.where(loc.has, loc.lon, np.nan),
        "lat": np.where(loc.has, loc.lat, np.nan),
        "match_compound_id": cid,
        "located_by": method,
        "coord_fix": loc.fix,
        "name": blank_none(f["来电人"]),
        "phone": blank_none(f["联系电话"]),
    })[good].reset_index(drop=True)
    return Prepared(stage, reason, detail, dup_same)


_STAGE_DDL = """
CREATE TEMP TABLE _stage_cases (
    source_row integer, channel text, case_no text, received_at timestamptz,
    closed_at timestamptz, status text, satisfaction text, category_code text,
    category_by text, content text, address text, handler text, lon float8, lat float8,
    match_compound_id integer, located_by text, coord_fix text, name text, phone text
) ON COMMIT DROP;
CREATE TEMP TABLE _result (id bigint, ins boolean) ON COMMIT DROP;
CREATE TEMP TABLE _cresult (case_id bigint) ON COMMIT DROP;
"""

#: Columns compared to decide whether an existing case changed.
_COMPARED = ("received_at", "category_code", "category_by", "content", "address", "handler",
             "geom", "located_by", "coord_fix", "compound_id", "community_id", "street_code",
             "level", "base_level", "escalations", "lead_dept", "co_depts", "status", "due_at",
             "closed_at", "satisfaction")


def _locate_sql() -> str:
    """Stage → ``_located``: category routing, base level, point and spatial assignment."""
    level, esc = level_sql("src.default_level", "src.channel", "src.due_at", "src.closed_at",
                           ":as_of")
    return f"""
    CREATE TEMP TABLE _located ON COMMIT DROP AS
    WITH src AS (
        SELECT s.*, cat.lead_dept, cat.co_depts, cat.default_level,
               s.received_at + make_interval(days => cat.time_limit_days) AS due_at,
               CASE WHEN s.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)
                    ELSE ST_PointOnSurface(x.geom) END AS pt
        FROM _stage_cases s
        JOIN categories cat ON cat.code = s.category_code
        LEFT JOIN compounds x ON x.id = s.match_compound_id
    )
    SELECT z.*, coalesce(z.match_compound_id, z.a_compound_id) AS compound_id
    FROM (SELECT src.*, {level} AS base_level, {esc} AS base_escalations, {assign.ASSIGNED}
          FROM src {assign.lateral_sql('src.pt')}) z
    """


def _merge_sql() -> str:
    """``_located`` + ``_repeat`` → ``cases``: one upsert that writes only changed rows."""
    level, rule = raise_sql("l.base_level", "r.hit")
    cols = ("channel, case_no, received_at, category_code, category_by, content, address, "
            "handler, geom, located_by, coord_fix, compound_id, community_id, street_code, level, "
            "base_level, escalations, lead_dept, co_depts, status, due_at, closed_at, "
            "satisfaction, source_import_id, source_row")
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COMPARED)
    old = ", ".join(f"cases.{c}" for c in _COMPARED)
    new = ", ".join(f"EXCLUDED.{c}" for c in _COMPARED)
    return f"""
    WITH up AS (
        INSERT INTO cases ({cols})
        SELECT l.channel, l.case_no, l.received_at, l.category_code, l.category_by,
               l.content, l.address, l.handler, l.pt,
               CASE WHEN l.pt IS NULL THEN 'none' ELSE l.located_by END, l.coord_fix,
               l.compound_id, l.a_community_id, l.a_street_code,
               {level}, l.base_level, array_remove(l.base_escalations || {rule}, NULL),
               l.lead_dept, l.co_depts, l.status, l.due_at,
               l.closed_at, l.satisfaction, :imp, l.source_row
        FROM _located l
        LEFT JOIN _repeat r ON r.channel = l.channel AND r.case_no = l.case_no
        ON CONFLICT (channel, case_no) DO UPDATE SET {sets},
            source_import_id = EXCLUDED.source_import_id, source_row = EXCLUDED.source_row,
            updated_at = now()
        WHERE ({old}) IS DISTINCT FROM ({new})
        RETURNING id, (xmax = 0) AS ins
    )
    INSERT INTO _result SELECT id, ins FROM up
    """


_COMPLAINANTS_SQL = """
WITH cu AS (
    INSERT INTO complainants (case_id, name, phone)
    SELECT c.id, s.name, s.phone FROM _stage_cases s
    JOIN cases c ON c.channel = s.channel AND c.case_no = s.case_no
    WHERE s.name IS NOT NULL OR s.phone IS NOT NULL
    ON CONFLICT (case_id) DO UPDATE SET name = EXCLUDED.name, phone = EXCLUDED.phone
    WHERE (complainants.name, complainants.phone) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.phone)
    RETURNING case_id
)
INSERT INTO _cresult SELECT case_id FROM cu
"""

_COUNT_SQL = """
SELECT (SELECT count(*) FROM _result WHERE ins),
       (SELECT count(*) FROM (SELECT id FROM _result WHERE NOT ins
                              UNION SELECT case_id FROM _cresult
                              EXCEPT SELECT id FROM _result WHERE ins) u)
"""


@functools.cache
def _kaili() -> shapely.Geometry:
    return reference.kaili_outline()


def city_outline(con: sa.Connection) -> shapely.Geometry:
    """The city in WGS84: the union of ``streets`` when loaded, else the reference outline."""
    wkb = con.execute(sa.text("SELECT ST_AsBinary(ST_Union(geom)) FROM streets")).scalar()
    return shapely.from_wkb(bytes(wkb)) if wkb is not None else _kaili()


def load_register(con: sa.Connection) -> Register:
    """The compound register (names, aliases, addresses) and division names from the database."""
    comp = pd.read_sql_query(sa.text("SELECT id, name, aliases, address FROM compounds"), con)
    divs = con.execute(sa.text("SELECT name FROM streets UNION SELECT name FROM communities")
                       ).scalars().all()
    names = list(divs) + [d["name"] for d in reference.divisions()]
    return Register.build(comp, names)


def load_classifier(con: sa.Connection) -> Classifier:
    """A :class:`Classifier` over the ``categories`` table, in code order."""
    cats = pd.read_sql_query(sa.text("SELECT code, name, keywords FROM categories ORDER BY code"),
                             con)
    return Classifier(cats)


def read_cases(path: Path, channel: str | None) -> tuple[RawTable, pd.DataFrame, dict[str, str]]:
    """Read and check the file's shape; raises :class:`InputFileError` before any DB change."""
    raw = read_table(path, header_test(HEADERS))
    canon = rename(raw.frame, known=HEADERS, required=REQUIRED, file=Path(path).name)
    if channel is None and not canon["来源渠道"].ne("").any():
        raise InputFileError(f"{Path(path).name}：文件没有“来源渠道”列（或该列全空），"
                             "请用 --channel 12345|mailbox|petition 指定渠道")
    personal = {c: name for c in raw.frame.columns
                if (name := canonical(c, "cases")) is not None and name in PERSONAL}
    return raw, canon, personal


def import_cases(engine: Engine, path: Path, *, channel: str | None = None,
                 as_of: pd.Timestamp | None = None, step: Step | None = None) -> accounting.ImportResult:
    """Import one case export in one transaction; see the module docstring.

    Parameters
    ----------
    engine
        Target database.
    path
        ``.xlsx`` or ``.csv`` file.
    channel
        ``12345``, ``mailbox`` or ``petition`` for rows whose 来源渠道 is blank.
    as_of
        The time against which open cases are overdue (default: now).
    step
        Called with a Chinese label as each stage starts (for a progress bar).

    Raises
    ------
    InputFileError
        The file is unusable as a whole; the database is unchanged.
    """
    t0 = time.perf_counter()
    say = step or (lambda _s: None)
    path = Path(path)
    say("读取文件")
    raw, canon, personal = read_cases(path, channel)
    result = accounting.ImportResult(file=path.name, kind="cases", rows_read=len(canon))
    as_of_ts = (as_of or pd.Timestamp.now(tz=parse.TZ))
    with engine.begin() as con:
        result.import_id = accounting.begin(con, "cases", path, channel)
        say("解析与定位")
        prep = prepare(raw, canon, channel=channel, classifier=load_classifier(con),
                       register=load_register(con), outline=city_outline(con))
        say("空间归属")
        con.execute(sa.text(_STAGE_DDL))
        copy_frame(con, "_stage_cases", prep.stage)
        con.execute(sa.text("ANALYZE _stage_cases"))
        con.execute(sa.text(_locate_sql()),
                    {"as_of": as_of_ts.to_pydatetime(), **assign.params()})
        say("升级规则")
        sql, params = repeat_sql("_located", "_repeat")
        con.execute(sa.text(sql), params)
        con.execute(sa.text(_merge_sql()), {"imp": result.import_id})
        con.execute(sa.text(_COMPLAINANTS_SQL))
        inserted, updated = con.execute(sa.text(_COUNT_SQL)).one()
        say("隔离与记账")
        result.quarantined = quarantine.write(con, result.import_id, path.name, raw.frame,
                                              raw.row_no, prep.reason, prep.detail, personal)
        result.inserted, result.updated = int(inserted), int(updated)
        result.unchanged = len(prep.stage) - result.inserted - result.updated \
            + prep.duplicates_unchanged
        result.located_by = accounting.counts(prep.stage["located_by"])
        result.category_by = accounting.counts(prep.stage["category_by"])
        result.coord_fixes = accounting.counts(prep.stage["coord_fix"])
        result.quarantine_reasons = accounting.counts(prep.reason)
        result.seconds = time.perf_counter() - t0
        accounting.finish(con, result)
    return result
