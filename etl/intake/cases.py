"""``propmap import cases``: hotline, mailbox and petition exports into ``cases``.

:func:`prepare` is pure (pandas on Arrow text, vectorized): it turns the file's
text into staged rows and a Chinese reason for every row it cannot take.
:func:`import_cases` does the I/O in one transaction: reference data in,
staged rows COPYed into a temporary table, given a point and spatially
assigned in bulk (:func:`geo.assign.assign_points`), repeat counts over those
rows and the stored cases (one window function), then one pass of hash joins
(``_diff``) that computes every case's final values and compares them with
the stored case. Only then is anything written: new cases by a plain
``INSERT ... SELECT`` (with their 'received' events), changed ones by one
``UPDATE ... FROM`` (with their status and escalation events), complainants
apart; a file that changes nothing writes nothing. A load that is large next
to the table runs with the foreign keys and secondary indexes suspended
(:mod:`geo.bulk`) and restored before commit. Only the rows of the file are
(re)evaluated: a stored case is not re-escalated because an earlier case
arrived later. A dry run (``dry_run=True``) does all of it but the writes,
and rolls back.

Duplicates within a file (same channel and 工单编号): the first good row is
imported; a later row identical to it in every column counts as unchanged; a
later row that differs is quarantined (文件内工单编号重复且内容不同).

Voided cases (a status spelled as ``voided``: [作废], 已作废, 撤销 ...) are
skipped and counted: a stored case voided by the file is deleted (its
complainant and events cascade) and every void is recorded in
``voided_cases``, so the same file re-imported reports those rows unchanged
and an older export never brings the case back (its rows are counted as
voided). Every row of the file is accounted for: ``rows_read = inserted +
updated + unchanged + voided + quarantined``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.intake import accounting, parse, quarantine
from etl.intake._copy import copy_frame
from etl.intake._merge import file_duplicates
from etl.intake.headers import HeaderMap, canonical, header_test, map_headers, rename
from etl.intake.locate import Areas, Register, coordinates, match_compounds
from etl.intake.readers import RawTable, read_table
from etl.intake.routing import Classifier, level_sql, raise_sql, rank_sql, repeat_sql
from etl.intake.spellings import VOIDED, rules
from geo import assign, bulk, complaints, models, reference
from geo._errors import InputFileError
from geo.privacy import mask_series

#: The canonical headers of a case export, in order.
HEADERS = ("工单编号", "来源渠道", "受理时间", "问题类别", "问题大类", "诉求内容", "事发地址",
           "小区名称", "所属街道", "所属社区", "经度", "纬度", "坐标系", "办理状态", "承办单位",
           "办结时间", "满意度", "来电人", "联系电话")
REQUIRED = ("工单编号", "受理时间")
PERSONAL = ("来电人", "联系电话")

R_NUL = "含有无法保存的空字符（NUL）"
R_NO_CASE_NO = "缺少工单编号"
R_LONG_CASE_NO = "工单编号过长"
R_NO_CHANNEL = "缺少来源渠道"
R_BAD_CHANNEL = "无法识别的来源渠道"
R_NO_RECEIVED = "缺少受理时间"
R_BAD_RECEIVED = "受理时间无法识别"
R_FUTURE_RECEIVED = "受理时间晚于导入日期"
R_EARLY_RECEIVED = "受理时间早于最早年份"
R_BAD_CLOSED = "办结时间无法识别"
R_FUTURE_CLOSED = "办结时间晚于导入日期"
R_BAD_STATUS = "无法识别的办理状态"
R_CLOSED_EARLY = "办结时间早于受理时间"
R_BAD_SATISFACTION = "无法识别的满意度"
R_DUPLICATE = "文件内工单编号重复且内容不同"
#: Why rows were counted as voided.
V_MARKED = "文件中标记为作废"
V_EARLIER = "该工单此前已作废"
#: Data-quality notes: imported, but worth a look.
N_CLOSED_NO_TIME = "已办结但缺少办结时间"
#: How many rows a note lists (the count is always complete).
NOTE_ROWS = 100

Step = Callable[[str], None]


@dataclass
class Prepared:
    """The outcome of :func:`prepare` for one file."""

    stage: pd.DataFrame
    """Good rows, one per (channel, case_no), in staging-table columns."""
    reason: np.ndarray
    """Quarantine reason per input row (``None`` for rows staged, voided or duplicate-unchanged)."""
    detail: np.ndarray
    duplicates_unchanged: int
    """Repeat rows identical to an earlier row of the same file (counted as unchanged)."""
    voids: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"channel": [], "case_no": [], "n": []}))
    """Voided cases of the file, one row per (channel, case_no), ``n`` = its rows in the file."""
    voided_without_key: int = 0
    """Voided rows without a usable channel and case number (counted, nothing recorded)."""


def _detail(label: str, values: np.ndarray, limit: int = 60) -> list[str]:
    return [f"{label}：{str(v)[:limit]}" for v in values]


def prepare(raw: RawTable, canon: pd.DataFrame, *, channel: str | None, classifier: Classifier,
            register: Register, outline: shapely.Geometry, areas: Areas | None = None,
            as_of: pd.Timestamp | None = None) -> Prepared:
    """Parse, check, locate and classify the rows of a case export (no I/O).

    ``as_of`` is the import's time (default now): dates later than its day
    plus ``[plausibility] future_days`` are refused.
    """
    n = len(canon)
    f = canon
    plausible: dict[str, Any] = rules()["plausibility"]
    case_no = f["工单编号"].astype(str)
    chan, chan_bad = parse.map_values(f["来源渠道"], "channel", default=channel)
    received, received_bad = parse.parse_datetime(f["受理时间"])
    closed, closed_bad = parse.parse_datetime(f["办结时间"])
    status, status_bad = parse.map_values(f["办理状态"], "status")
    voided = (status == VOIDED).to_numpy(copy=True)
    status[voided] = None
    blank_status = status.isna() & ~status_bad
    status[blank_status & closed.notna()] = "closed"
    status[blank_status & closed.isna()] = "received"
    is_closed = status.isin(models.CLOSED_STATUSES)
    closed = closed.where(is_closed)  # an open or reopened case has no closing time
    satisfaction, satisfaction_bad = parse.map_values(f["满意度"], "satisfaction")
    lon, lon_bad = parse.parse_number(f["经度"])
    lat, lat_bad = parse.parse_number(f["纬度"])
    loc = coordinates(lon, lat, lon_bad, lat_bad, f["坐标系"], outline)
    earliest, latest = parse.date_window(as_of or pd.Timestamp.now(tz=parse.TZ), plausible)
    long_no = parse.too_long(case_no, int(plausible["max_case_no_chars"]))
    nul = raw.nul_rows()

    reason = parse.first_reason([
        (nul, R_NUL),
        (case_no == "", R_NO_CASE_NO),
        (long_no, R_LONG_CASE_NO),
        (chan_bad, R_BAD_CHANNEL),
        (chan.isna(), R_NO_CHANNEL),
        (received.isna() & ~received_bad, R_NO_RECEIVED),
        (received_bad, R_BAD_RECEIVED),
        (received >= latest, R_FUTURE_RECEIVED),
        (received < earliest, R_EARLY_RECEIVED),
        (loc.reason != None, loc.reason),  # noqa: E711
        (status_bad, R_BAD_STATUS),
        (closed_bad & is_closed, R_BAD_CLOSED),
        (closed >= latest, R_FUTURE_CLOSED),
        (closed.notna() & received.notna() & (closed < received), R_CLOSED_EARLY),
        (satisfaction_bad, R_BAD_SATISFACTION),
    ], n)
    detail = np.full(n, None, dtype=object)
    located_why = reason == loc.reason
    detail[located_why] = loc.detail[located_why]
    for why, col in ((R_BAD_RECEIVED, "受理时间"), (R_BAD_CLOSED, "办结时间"),
                     (R_BAD_STATUS, "办理状态"), (R_BAD_SATISFACTION, "满意度"),
                     (R_BAD_CHANNEL, "来源渠道"), (R_FUTURE_RECEIVED, "受理时间"),
                     (R_EARLY_RECEIVED, "受理时间"), (R_FUTURE_CLOSED, "办结时间")):
        hit = reason == why
        detail[hit] = _detail(col, f[col].to_numpy()[hit])
    for why, bound in ((R_FUTURE_RECEIVED, f"晚于 {latest:%Y-%m-%d}（导入日加 "
                                           f"{plausible['future_days']} 天）"),
                       (R_FUTURE_CLOSED, f"晚于 {latest:%Y-%m-%d}（导入日加 "
                                         f"{plausible['future_days']} 天）"),
                       (R_EARLY_RECEIVED, f"早于 {earliest.year} 年")):
        hit = reason == why
        detail[hit] = [f"{d}，{bound}" for d in detail[hit]]
    hit = reason == R_LONG_CASE_NO
    detail[hit] = [f"{len(v):,} 个字符：{v[:20]}…" for v in case_no.to_numpy()[hit]]

    # Voided rows are skipped whatever else is wrong with them; a case voided anywhere in
    # the file is voided (its other rows too). Its key is recorded when it is usable.
    key = chan.astype(str) + "\x1f" + case_no
    keyed = voided & (case_no != "").to_numpy() & chan.notna().to_numpy() & ~long_no & ~nul
    reason[voided] = None
    detail[voided] = None
    good = (reason == None) & ~voided  # noqa: E711
    void_keys = key[keyed]
    also = good & key.isin(set(void_keys)).to_numpy()
    voided |= also
    keyed |= also
    good &= ~also
    voids = pd.DataFrame({"channel": chan[keyed].to_numpy(), "case_no": case_no[keyed].to_numpy()})
    voids = voids.groupby(["channel", "case_no"], sort=False).size().rename("n").reset_index()

    # Duplicates among the good rows: first wins; identical repeats are unchanged.
    dup_same = file_duplicates(key, f[list(HEADERS)], good, reason, detail, raw.row_no,
                               R_DUPLICATE)

    category = f["问题类别"].where(f["问题类别"] != "", f["问题大类"])  # 小类, else 大类
    code, by = classifier.classify(category, f["诉求内容"])
    need = good & ~loc.has
    cid, method = match_compounds(register, f["小区名称"], f["事发地址"], need)
    method[loc.has] = "coordinates"
    area_street = pd.Series(None, index=f.index, dtype=object)
    area_comm = pd.Series(pd.NA, index=f.index, dtype="Int64")
    if areas is not None:
        area_street, area_comm = areas.match(f["所属街道"], f["所属社区"], f["事发地址"],
                                             need & cid.isna().to_numpy())
        method[area_street.notna()] = "area_name"

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
        "area_street_code": area_street,
        "area_community_id": area_comm,
        "name": blank_none(f["来电人"]),
        "phone": blank_none(f["联系电话"]),
    })[good].reset_index(drop=True)
    return Prepared(stage, reason, detail, dup_same, voids, int((voided & ~keyed).sum()))


#: Memory for the import's joins, sorts and index rebuilds (``SET LOCAL``, this transaction only).
_WORK_MEM = "256MB"
_MAINTENANCE_WORK_MEM = "512MB"
_TEMP_BUFFERS = "1GB"

_STAGE_DDL = """
CREATE TEMP TABLE _stage_cases (
    source_row integer, channel text, case_no text, received_at timestamptz,
    closed_at timestamptz, status text, satisfaction text, category_code text,
    category_by text, content text, address text, handler text, lon float8, lat float8,
    match_compound_id integer, located_by text, coord_fix text, area_street_code text,
    area_community_id integer, name text, phone text
) ON COMMIT DROP
"""

#: Staged rows of cases voided earlier (``voided_cases``) leave the stage: never re-inserted.
_STALE_SQL = """
DELETE FROM _stage_cases s USING voided_cases v
WHERE v.channel = s.channel AND v.case_no = s.case_no
RETURNING s.source_row
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


def _keys_sql(dry_run: bool) -> str:
    """Stage + ``_assigned`` + ``cases`` → ``_keys``, narrow: what the repeat window needs,
    and each row's case id: the stored case's, or a new one from the sequence (a dry run
    draws none: its new rows get the negated row number).
    """
    new_id = "-s.source_row" if dry_run else "nextval('cases_id_seq')"
    return f"""
    CREATE TEMP TABLE _keys ON COMMIT DROP AS
    SELECT s.source_row, s.category_code, s.received_at,
           coalesce(s.match_compound_id, a.compound_id) AS compound_id,
           coalesce(c.id, {new_id}) AS case_id, c.id IS NULL AS is_new
    FROM _stage_cases s
    LEFT JOIN _assigned a ON a.id = s.source_row
    LEFT JOIN cases c ON c.channel = s.channel AND c.case_no = s.case_no
    """


#: A stored case's closing time is kept when a later export says the case is still closed
#: but gives no 办结时间 (many systems drop it from later exports): what is known stays known.
_KEEP_CLOSED_AT = ("CASE WHEN s.closed_at IS NULL AND s.status IN ('closed', 'visited') "
                   "AND stored.status IN ('closed', 'visited') THEN stored.closed_at "
                   "ELSE s.closed_at END")


def _values_sql(new: bool) -> str:
    """SELECT of every column a case will have, for the new rows or for the stored ones.

    One pass of hash joins: routing by ``categories``, level and escalations
    (``rules.toml`` through :mod:`.routing`), point and assignment (a row with
    no point keeps the area it named, if any), the case id from ``_keys``.
    Parameter ``:as_of``.
    """
    level, esc = level_sql("cat.default_level", "s.channel", "d.due_at", "s.closed_at", ":as_of")
    final, rule = raise_sql(level, "r.hit")
    return f"""
        SELECT k.case_id AS id, s.source_row, s.channel, s.case_no, s.received_at,
               s.category_code, s.category_by, s.content, s.address, s.handler, p.geom,
               CASE WHEN p.geom IS NULL AND s.located_by <> 'area_name' THEN 'none'
                    ELSE s.located_by END AS located_by,
               s.coord_fix, k.compound_id,
               coalesce(a.community_id, s.area_community_id) AS community_id,
               coalesce(a.street_code, s.area_street_code) AS street_code,
               {final} AS level, {level} AS base_level,
               array_remove({esc} || {rule}, NULL) AS escalations,
               cat.lead_dept, cat.co_depts, s.status, d.due_at,
               {"s.closed_at" if new else _KEEP_CLOSED_AT} AS closed_at, s.satisfaction,
               s.name, s.phone
        FROM _stage_cases s
        JOIN _keys k ON k.source_row = s.source_row AND k.is_new = {str(new).lower()}
        {"" if new else "LEFT JOIN cases stored ON stored.id = k.case_id"}
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
    ``people`` that its complainant must be written (``had``: one is stored);
    ``old_status`` and ``old_level`` are the stored ones, for the events.
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
               p.case_id IS NOT NULL AS had, c.status AS old_status, c.level AS old_level
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

#: New cases (reopened on arrival: counted once).
_INSERT_SQL = f"""
INSERT INTO cases (id, {", ".join(_WRITTEN)}, reopen_count, source_import_id, source_row)
SELECT id, {", ".join(_WRITTEN)}, CASE WHEN status = 'reopened' THEN 1 ELSE 0 END,
       :imp, source_row
FROM ({_values_sql(new=True)}) n
"""

#: The 'received' event of each new case, straight from the narrow ``_keys`` (no join):
#: 1,000,000 events cost about a second.
_RECEIVED_SQL = """
INSERT INTO case_events (case_id, at, kind, status, import_id)
SELECT case_id, received_at, 'received', 'received', :imp FROM _keys WHERE is_new
"""

#: Changed cases; moving to 重新办理 from another status counts one more reopening.
_UPDATE_SQL = f"""
UPDATE cases c SET {", ".join(f"{col} = d.{col}" for col in _COMPARED)},
    reopen_count = c.reopen_count + CASE WHEN d.status = 'reopened'
                                         AND c.status <> 'reopened' THEN 1 ELSE 0 END,
    source_import_id = :imp, source_row = d.source_row, updated_at = now()
FROM _diff d WHERE d.changed AND c.id = d.id
"""


def _label_sql(expr: str, labels: Mapping[str, str]) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in labels.items())
    return f"coalesce(CASE {expr} {whens} END, {expr}, '')"


def _events_sql() -> str:
    """``_diff`` → ``case_events``: a status change and a rise in level of a stored case.

    A status event is 'reopened', 'closed', 'visited' or 'status', at the
    closing time when known, else at the import's time (``:as_of``); its
    note reads 办理中 → 已办结. Parameters ``:as_of``, ``:imp``.
    """
    levels: list[str] = rules()["levels"]
    kind = ("CASE d.status WHEN 'reopened' THEN 'reopened' WHEN 'closed' THEN 'closed' "
            "WHEN 'visited' THEN 'visited' ELSE 'status' END")
    closed = ", ".join(f"'{s}'" for s in models.CLOSED_STATUSES)
    status_note = (f"{_label_sql('d.old_status', models.STATUSES)} || ' → ' || "
                   f"{_label_sql('d.status', models.STATUSES)}")
    level_note = (f"{_label_sql('d.old_level', models.LEVELS)} || ' → ' || "
                  f"{_label_sql('d.level', models.LEVELS)}")
    return f"""
    INSERT INTO case_events (case_id, at, kind, status, level, note, import_id)
    SELECT d.id, CASE WHEN d.status IN ({closed}) AND d.closed_at IS NOT NULL
                      THEN d.closed_at ELSE :as_of END,
           {kind}, d.status, d.level, {status_note}, :imp
    FROM _diff d WHERE d.changed AND d.status IS DISTINCT FROM d.old_status
    UNION ALL
    SELECT d.id, :as_of, 'escalated', d.status, d.level, {level_note}, :imp
    FROM _diff d
    WHERE d.changed AND {rank_sql("d.level", levels)} > {rank_sql("d.old_level", levels)}
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

#: The file's voided cases against the stored ones and the recorded voids.
_VOIDS_DDL = "CREATE TEMP TABLE _voids (channel text, case_no text, n integer) ON COMMIT DROP"
_VOIDS_SQL = """
SELECT coalesce(sum(w.n) FILTER (WHERE v.case_no IS NULL OR c.id IS NOT NULL), 0),
       coalesce(sum(w.n) FILTER (WHERE v.case_no IS NOT NULL AND c.id IS NULL), 0),
       count(*) FILTER (WHERE v.case_no IS NULL), count(c.id)
FROM _voids w
LEFT JOIN voided_cases v ON v.channel = w.channel AND v.case_no = w.case_no
LEFT JOIN cases c ON c.channel = w.channel AND c.case_no = w.case_no
"""
_RECORD_VOIDS_SQL = """
INSERT INTO voided_cases (channel, case_no, import_id, had_case)
SELECT w.channel, w.case_no, :imp, c.id IS NOT NULL
FROM _voids w LEFT JOIN cases c ON c.channel = w.channel AND c.case_no = w.case_no
ON CONFLICT (channel, case_no) DO NOTHING
"""
_DELETE_VOIDED_SQL = """
DELETE FROM cases c USING _voids w WHERE c.channel = w.channel AND c.case_no = w.case_no
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


def load_areas(con: sa.Connection) -> Areas:
    """Street offices, towns and communities by name (suffixes from ``rules.toml`` [areas])."""
    streets = con.execute(sa.text("SELECT code, name FROM streets")).all()
    comms = con.execute(sa.text("SELECT id, name, street_code FROM communities")).all()
    return Areas.build([(r[0], r[1]) for r in streets], [(r[0], r[1], r[2]) for r in comms],
                       rules()["areas"]["suffixes"])


def load_classifier(con: sa.Connection) -> Classifier:
    """A :class:`Classifier` over the ``categories`` table, in code order."""
    cats = pd.read_sql_query(sa.text("SELECT code, name, keywords FROM categories ORDER BY code"),
                             con)
    return Classifier(cats)


def read_cases(path: Path, channel: str | None, given: Mapping[str, str] | None = None,
               ) -> tuple[RawTable, pd.DataFrame, dict[str, str], HeaderMap]:
    """Read and check the file's shape; raises :class:`InputFileError` before any DB change.

    ``given`` maps canonical headers to the file's (``--map``). Returns the raw
    table, its columns under canonical names, the personal columns, and how
    the headers were mapped.
    """
    raw = read_table(path, header_test(HEADERS, given=given))
    name = Path(path).name
    canon = rename(raw.frame, known=HEADERS, required=REQUIRED, file=name, given=given)
    hmap = map_headers(list(raw.frame.columns), known=HEADERS, given=given, file=name)
    if channel is None and not canon["来源渠道"].ne("").any():
        raise InputFileError(f"{name}：文件没有“来源渠道”列（或该列全空），"
                             "请用 --channel 12345|mailbox|petition 指定渠道")
    personal = {hmap.used[c]: c for c in PERSONAL if c in hmap.used}
    personal.update({c: nm for c in raw.frame.columns
                     if c not in personal and (nm := canonical(c, "cases")) in PERSONAL})
    return raw, canon, personal, hmap


def _stage(con: sa.Connection, stage: pd.DataFrame, dry_run: bool) -> list[int]:
    """COPY the prepared rows into ``_stage_cases``, give them points and assign them.

    Rows of cases voided earlier leave the stage first; returns their row numbers.
    """
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
    stale: list[int] = []
    if con.execute(sa.text("SELECT EXISTS (SELECT 1 FROM voided_cases)")).scalar():
        stale = [int(r) for r in con.execute(sa.text(_STALE_SQL)).scalars()]
    con.execute(sa.text(_POINTS_SQL))
    assign.assign_points(con, "_points", "_assigned")
    # From here on, decide and write under one lock: no other import adds the same case.
    # An advisory lock, not a table lock: a table lock would also wait for autovacuum
    # (deadlock_timeout, 1 s) right after a bulk load. Another writer inserting the same
    # 工单编号 meanwhile makes the unique constraint fail the import; nothing is half-written.
    con.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('propmap: import cases'))"))
    con.execute(sa.text(_keys_sql(dry_run)))
    con.execute(sa.text("ANALYZE _keys"))
    return stale


def _void(con: sa.Connection, voids: pd.DataFrame, import_id: int | None,
          dry_run: bool) -> tuple[int, int]:
    """Record the file's voided cases and delete the stored ones; (voided rows, unchanged rows).

    A voided row counts as voided when its void is news (not recorded before,
    or a stored case was deleted), else as unchanged.
    """
    if voids.empty:
        return 0, 0
    con.execute(sa.text(_VOIDS_DDL))
    copy_frame(con, "_voids", voids)
    news, known, unrecorded, stored = (int(v) for v in con.execute(sa.text(_VOIDS_SQL)).one())
    if not dry_run:
        if unrecorded:
            con.execute(sa.text(_RECORD_VOIDS_SQL), {"imp": import_id})
        if stored:  # complainants and events cascade
            con.execute(sa.text(_DELETE_VOIDED_SQL))
    return news, known


def _merge(con: sa.Connection, import_id: int | None, as_of: pd.Timestamp,
           dry_run: bool) -> tuple[int, int]:
    """Staged, assigned rows and ``_repeat`` → ``cases``, ``complainants``, ``case_events``.

    Returns (inserted, updated). Nothing is written when nothing changed, or in
    a dry run. A load that is large next to the table runs with the foreign
    keys and secondary indexes suspended (:func:`geo.bulk.suspended_constraints`),
    restored before commit.
    """
    at = {"as_of": as_of.to_pydatetime()}
    con.execute(sa.text("ANALYZE _repeat"))
    con.execute(sa.text(_diff_sql()), at)
    new, changed, people_only, people = (int(v) for v in con.execute(sa.text(_COUNT_SQL)).one())
    if dry_run:
        return new, changed + people_only
    big_people = bulk.worth_it(con, "complainants", new + people)
    big_cases = bulk.worth_it(con, "cases", new + changed)
    big_events = bulk.worth_it(con, "case_events", new + changed)
    with bulk.suspended_constraints(con, "complainants", big_people), \
            bulk.suspended_constraints(con, "case_events", big_events), \
            bulk.suspended_constraints(con, "cases", big_cases):
        if new:
            con.execute(sa.text(_INSERT_SQL), {"imp": import_id, **at})
            con.execute(sa.text(_RECEIVED_SQL), {"imp": import_id})
        if changed:
            con.execute(sa.text(_UPDATE_SQL), {"imp": import_id})
            con.execute(sa.text(_events_sql()), {"imp": import_id, **at})
        if new:
            con.execute(sa.text(_NEW_COMPLAINANTS_SQL))
        if people:
            for sql in _COMPLAINANTS_SQL:
                con.execute(sa.text(sql))
    # Fresh statistics for the dashboard's plans right away, not when autovacuum gets to it.
    for table, big in (("cases", big_cases), ("complainants", big_people),
                       ("case_events", big_events)):
        if big:
            con.execute(sa.text(f"ANALYZE {table}"))
    return new, changed + people_only


def _closed_without_time(stage: pd.DataFrame) -> dict[str, Any] | None:
    """The data-quality note on closed cases without a closing time, or ``None``."""
    sel = stage["status"].isin(models.CLOSED_STATUSES) & stage["closed_at"].isna()
    n = int(sel.sum())
    if not n:
        return None
    rows = stage.loc[sel, ["source_row", "case_no"]].head(NOTE_ROWS)
    return {"label": N_CLOSED_NO_TIME, "count": n,
            "meaning": "按已办结计入，不计入办理时长与逾期办结",
            "rows": [{"row": int(r), "case_no": str(c)} for r, c in rows.itertuples(index=False)]}


def import_cases(engine: Engine, path: Path, *, channel: str | None = None,
                 as_of: pd.Timestamp | None = None, step: Step | None = None,
                 header_map: Mapping[str, str] | None = None,
                 dry_run: bool = False) -> accounting.ImportResult:
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
        The import's time (default: now): open cases are overdue against it,
        case dates after its day (plus ``[plausibility] future_days``) are
        refused, and status events without a closing time are dated by it.
    step
        Called with a Chinese label as each stage starts (for a progress bar).
    header_map
        Canonical header → the file's header, winning over the alias tables
        (``--map 工单编号=任务号``).
    dry_run
        Do everything but write: the result says what the import would do;
        the database is left exactly as it was (no ``imports`` row either).

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
    raw, canon, personal, hmap = read_cases(path, channel, header_map)
    result = accounting.ImportResult(file=path.name, kind="cases", rows_read=len(canon),
                                     dry_run=dry_run, headers=hmap.as_dict())
    as_of_ts = (as_of or pd.Timestamp.now(tz=parse.TZ))
    with accounting.transaction(engine, path.name, dry_run) as con:
        if not dry_run:
            result.import_id = accounting.begin(con, "cases", path, channel)
        say("解析与定位")
        prep = prepare(raw, canon, channel=channel, classifier=load_classifier(con),
                       register=load_register(con), outline=city_outline(con),
                       areas=load_areas(con), as_of=as_of_ts)
        say("空间归属")
        stale = _stage(con, prep.stage, dry_run)
        void_news, void_known = _void(con, prep.voids, result.import_id, dry_run)
        say("升级规则")
        sql, params = repeat_sql("_keys", "_repeat")
        con.execute(sa.text(sql), params)
        say("比对与写入")
        inserted, updated = _merge(con, result.import_id, as_of_ts, dry_run)
        if not dry_run:
            complaints.refresh_for(con, "SELECT case_id FROM _keys")
        say("隔离与记账")
        if result.import_id is None:  # a dry run
            result.quarantined = int((prep.reason != None).sum())  # noqa: E711
        else:
            result.quarantined = quarantine.write(con, result.import_id, path.name, raw.frame,
                                                  raw.row_no, prep.reason, prep.detail, personal)
        kept = prep.stage[~prep.stage["source_row"].isin(stale)]
        result.inserted, result.updated = inserted, updated
        result.voided = prep.voided_without_key + void_news + len(stale)
        result.unchanged = len(kept) - inserted - updated + prep.duplicates_unchanged \
            + void_known
        result.void_reasons = {k: v for k, v in (
            (V_MARKED, prep.voided_without_key + void_news), (V_EARLIER, len(stale))) if v}
        result.located_by = accounting.counts(kept["located_by"])
        result.category_by = accounting.counts(kept["category_by"])
        result.coord_fixes = accounting.counts(kept["coord_fix"])
        result.quarantine_reasons = accounting.counts(prep.reason)
        note = _closed_without_time(kept)
        if note is not None:
            result.notes["closed_without_time"] = note
        result.seconds = time.perf_counter() - t0
        marks.append(("", time.perf_counter()))
        result.stages = {a: round(tb - ta, 3)
                         for (a, ta), (_b, tb) in zip(marks, marks[1:], strict=False)}
        if not dry_run:
            accounting.finish(con, result)
        else:
            result.check()
    return result
