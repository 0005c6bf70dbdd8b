"""``propmap import cases``: hotline, mailbox and petition exports into ``cases``.

:func:`prepare` is pure (pandas on Arrow text, vectorized): it turns the file's
text into staged rows and a Chinese reason for every row it cannot take.
:func:`import_cases` does the I/O in one transaction: reference data in,
staged rows COPYed into a temporary table, given a point and spatially
assigned in bulk (:func:`geo.assign.assign_points`), repeat counts over those
rows and the stored cases (one window function), then one pass of hash joins
(``_diff``) that computes every case's final values and compares them with
the stored case. Only then is anything written: new cases by a plain
``INSERT ... SELECT``, changed ones by one ``UPDATE ... FROM``, complainants
apart; a file that changes nothing writes nothing. A load that is large next
to the table runs with the foreign keys and secondary indexes suspended
(:mod:`geo.bulk`) and restored before commit. Only the rows of the file are
(re)evaluated: a stored case is not re-escalated because an earlier case
arrived later.

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
from etl.intake.readers import RawTable, read_table
from etl.intake.routing import Classifier, level_sql, raise_sql, repeat_sql
from geo import assign, bulk, complaints, reference
from geo._errors import InputFileError
from geo.privacy import mask_series

#: The canonical headers of a case export, in order.
HEADERS = ("工单编号", "来源渠道", "受理时间", "问题类别", "诉求内容", "事发地址", "小区名称",
           "经度", "纬度", "坐标系", "办理状态", "承办单位", "办结时间", "满意度", "来电人",
           "联系电话")
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
    detail = np.full(n, None, dtype=object)
    located_why = reason == loc.reason
    detail[located_why] = loc.detail[located_why]
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
        "content": blank_none(mask_series(f["诉求内容"])),
        "address": blank_none(mask_series(f["事发地址"])),
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


#: Memory for the import's joins, sorts and index rebuilds (``SET LOCAL``, this transaction only).
_WORK_MEM = "256MB"
_MAINTENANCE_WORK_MEM = "512MB"
_TEMP_BUFFERS = "1GB"

_STAGE_DDL = """
CREATE TEMP TABLE _stage_cases (
    source_row integer, channel text, case_no text, received_at timestamptz,
    closed_at timestamptz, status text, satisfaction text, category_code text,
    category_by text, content text, address text, handler text, lon float8, lat float8,
    match_compound_id integer, located_by text, coord_fix text, name text, phone text
) ON COMMIT DROP
"""

#: Columns written from the file; all but the last two are compared to decide
#: whether an existing case changed.
_WRITTEN = ("channel", "case_no", "received_at", "category_code", "category_by", "content",
            "address", "handler", "geom", "located_by", "coord_fix", "compound_id",
            "community_id", "street_code", "level", "base_level", "escalations", "lead_dept",
            "co_depts", "status", "due_at", "closed_at", "satisfaction")
_COMPARED = _WRITTEN[2:]

#: Stage → ``_points``: one point per locatable row (its coordinates, else the
#: point on the surface of the compound it was matched to), for :func:`assign.assign_points`.
_POINTS_SQL = """
CREATE TEMP TABLE _points ON COMMIT DROP AS
SELECT s.source_row AS id, coalesce(ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), x.pos) AS geom
FROM _stage_cases s
LEFT JOIN (SELECT id, ST_PointOnSurface(geom) AS pos FROM compounds) x
       ON x.id = s.match_compound_id
WHERE s.lon IS NOT NULL OR s.match_compound_id IS NOT NULL
"""


#: Stage + ``_assigned`` + ``cases`` → ``_keys``, narrow: what the repeat window needs,
#: and each row's case id: the stored case's, or a new one from the sequence.
_KEYS_SQL = """
CREATE TEMP TABLE _keys ON COMMIT DROP AS
SELECT s.source_row, s.category_code, s.received_at,
       coalesce(s.match_compound_id, a.compound_id) AS compound_id,
       coalesce(c.id, nextval('cases_id_seq')) AS case_id, c.id IS NULL AS is_new
FROM _stage_cases s
LEFT JOIN _assigned a ON a.id = s.source_row
LEFT JOIN cases c ON c.channel = s.channel AND c.case_no = s.case_no
"""


def _values_sql(new: bool) -> str:
    """SELECT of every column a case will have, for the new rows or for the stored ones.

    One pass of hash joins: routing by ``categories``, level and escalations
    (``rules.toml`` through :mod:`.routing`), point and assignment, the case id
    from ``_keys``. Parameter ``:as_of``.
    """
    level, esc = level_sql("cat.default_level", "s.channel", "d.due_at", "s.closed_at", ":as_of")
    final, rule = raise_sql(level, "r.hit")
    return f"""
        SELECT k.case_id AS id, s.source_row, s.channel, s.case_no, s.received_at,
               s.category_code, s.category_by, s.content, s.address, s.handler, p.geom,
               CASE WHEN p.geom IS NULL THEN 'none' ELSE s.located_by END AS located_by,
               s.coord_fix, k.compound_id, a.community_id, a.street_code,
               {final} AS level, {level} AS base_level,
               array_remove({esc} || {rule}, NULL) AS escalations,
               cat.lead_dept, cat.co_depts, s.status, d.due_at, s.closed_at, s.satisfaction,
               s.name, s.phone
        FROM _stage_cases s
        JOIN _keys k ON k.source_row = s.source_row AND k.is_new = {str(new).lower()}
        JOIN categories cat ON cat.code = s.category_code
        CROSS JOIN LATERAL (SELECT s.received_at
                            + make_interval(days => cat.time_limit_days) AS due_at) d
        LEFT JOIN _points p ON p.id = s.source_row
        LEFT JOIN _assigned a ON a.id = s.source_row
        LEFT JOIN _repeat r ON r.source_row = s.source_row
    """


def _diff_sql() -> str:
    """Rows of stored cases + ``cases`` → ``_diff``: those with something to write.

    ``changed`` says the case's values differ from the stored ones,
    ``people`` that its complainant must be written (``had``: one is stored).
    Re-importing an unchanged file keeps no row, and nothing is written.
    """
    old = ", ".join(f"c.{col}" for col in _COMPARED)
    new = ", ".join(f"n.{col}" for col in _COMPARED)
    return f"""
    CREATE TEMP TABLE _diff ON COMMIT DROP AS
    SELECT * FROM (
        SELECT n.*, ({old}) IS DISTINCT FROM ({new}) AS changed,
               (n.name IS NOT NULL OR n.phone IS NOT NULL)
               AND (p.case_id IS NULL OR (p.name, p.phone) IS DISTINCT FROM (n.name, n.phone))
               AS people,
               p.case_id IS NOT NULL AS had
        FROM ({_values_sql(new=False)}) n
        JOIN cases c ON c.id = n.id
        LEFT JOIN complainants p ON p.case_id = c.id
    ) f WHERE changed OR people
    """


_COUNT_SQL = """
SELECT (SELECT count(*) FROM _keys WHERE is_new),
       count(*) FILTER (WHERE changed), count(*) FILTER (WHERE NOT changed AND people),
       count(*) FILTER (WHERE people)
FROM _diff
"""

_INSERT_SQL = f"""
INSERT INTO cases (id, {", ".join(_WRITTEN)}, source_import_id, source_row)
SELECT id, {", ".join(_WRITTEN)}, :imp, source_row FROM ({_values_sql(new=True)}) n
"""

_UPDATE_SQL = f"""
UPDATE cases c SET {", ".join(f"{col} = d.{col}" for col in _COMPARED)},
    source_import_id = :imp, source_row = d.source_row, updated_at = now()
FROM _diff d WHERE d.changed AND c.id = d.id
"""

#: Complainants of new cases.
_NEW_COMPLAINANTS_SQL = (
    "INSERT INTO complainants (case_id, name, phone) "
    "SELECT k.case_id, s.name, s.phone FROM _stage_cases s "
    "JOIN _keys k ON k.source_row = s.source_row AND k.is_new "
    "WHERE s.name IS NOT NULL OR s.phone IS NOT NULL")

#: Complainants of stored cases whose caller is new or changed.
_COMPLAINANTS_SQL = (
    "INSERT INTO complainants (case_id, name, phone) "
    "SELECT id, name, phone FROM _diff WHERE people AND NOT had",
    "UPDATE complainants p SET name = d.name, phone = d.phone "
    "FROM _diff d WHERE d.people AND d.had AND p.case_id = d.id",
)


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


def _stage(con: sa.Connection, stage: pd.DataFrame) -> None:
    """COPY the prepared rows into ``_stage_cases``, give them points and assign them."""
    # Hash joins over a million rows and the index rebuilds stay in memory (this transaction only).
    con.execute(sa.text(f"SET LOCAL work_mem = '{_WORK_MEM}'"))
    con.execute(sa.text(f"SET LOCAL maintenance_work_mem = '{_MAINTENANCE_WORK_MEM}'"))
    try:  # only possible before the session's first temp table; the spatial probes gain ~1 s
        with con.begin_nested():
            con.execute(sa.text(f"SET LOCAL temp_buffers = '{_TEMP_BUFFERS}'"))
    except sa.exc.DBAPIError:
        pass
    con.execute(sa.text(_STAGE_DDL))
    copy_frame(con, "_stage_cases", stage)
    con.execute(sa.text("ANALYZE _stage_cases"))
    con.execute(sa.text(_POINTS_SQL))
    assign.assign_points(con, "_points", "_assigned")
    # From here on, decide and write under one lock: no other import adds the same case.
    # An advisory lock, not a table lock: a table lock would also wait for autovacuum
    # (deadlock_timeout, 1 s) right after a bulk load. Another writer inserting the same
    # 工单编号 meanwhile makes the unique constraint fail the import; nothing is half-written.
    con.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('propmap: import cases'))"))
    con.execute(sa.text(_KEYS_SQL))
    con.execute(sa.text("ANALYZE _keys"))


def _merge(con: sa.Connection, import_id: int | None, as_of: pd.Timestamp) -> tuple[int, int]:
    """Staged, assigned rows and ``_repeat`` → ``cases``, ``complainants``; (inserted, updated).

    Nothing is written when nothing changed. A load that is large next to the
    table runs with the foreign keys and secondary indexes suspended
    (:func:`geo.bulk.suspended_constraints`), restored before commit.
    """
    at = {"as_of": as_of.to_pydatetime()}
    con.execute(sa.text("ANALYZE _repeat"))
    con.execute(sa.text(_diff_sql()), at)
    new, changed, people_only, people = (int(v) for v in con.execute(sa.text(_COUNT_SQL)).one())
    big_people = bulk.worth_it(con, "complainants", new + people)
    big_cases = bulk.worth_it(con, "cases", new + changed)
    with bulk.suspended_constraints(con, "complainants", big_people), \
            bulk.suspended_constraints(con, "cases", big_cases):
        if new:
            con.execute(sa.text(_INSERT_SQL), {"imp": import_id, **at})
        if changed:
            con.execute(sa.text(_UPDATE_SQL), {"imp": import_id})
        if new:
            con.execute(sa.text(_NEW_COMPLAINANTS_SQL))
        if people:
            for sql in _COMPLAINANTS_SQL:
                con.execute(sa.text(sql))
    # Fresh statistics for the dashboard's plans right away, not when autovacuum gets to it.
    for table, big in (("cases", big_cases), ("complainants", big_people)):
        if big:
            con.execute(sa.text(f"ANALYZE {table}"))
    return new, changed + people_only


def import_cases(engine: Engine, path: Path, *, channel: str | None = None,
                 as_of: pd.Timestamp | None = None,
                 step: Step | None = None) -> accounting.ImportResult:
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
    marks: list[tuple[str, float]] = []

    def say(label: str) -> None:
        marks.append((label, time.perf_counter()))
        if step is not None:
            step(label)

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
        _stage(con, prep.stage)
        say("升级规则")
        sql, params = repeat_sql("_keys", "_repeat")
        con.execute(sa.text(sql), params)
        inserted, updated = _merge(con, result.import_id, as_of_ts)
        complaints.refresh_for(con, "SELECT case_id FROM _keys")
        say("隔离与记账")
        result.quarantined = quarantine.write(con, result.import_id, path.name, raw.frame,
                                              raw.row_no, prep.reason, prep.detail, personal)
        result.inserted, result.updated = inserted, updated
        result.unchanged = len(prep.stage) - result.inserted - result.updated \
            + prep.duplicates_unchanged
        result.located_by = accounting.counts(prep.stage["located_by"])
        result.category_by = accounting.counts(prep.stage["category_by"])
        result.coord_fixes = accounting.counts(prep.stage["coord_fix"])
        result.quarantine_reasons = accounting.counts(prep.reason)
        result.seconds = time.perf_counter() - t0
        marks.append(("", time.perf_counter()))
        result.stages = {a: round(tb - ta, 3)
                         for (a, ta), (_b, tb) in zip(marks, marks[1:], strict=False)}
        accounting.finish(con, result)
    return result
