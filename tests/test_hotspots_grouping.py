"""Repeats after closing and multi-channel duplicates, computed in PostGIS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl import demo as demo_module
from etl import synthetic
from geo import complaints, measures
from tests import duplicates
from tests.conftest import AS_OF

KAILI = dt.timezone(dt.timedelta(hours=8))

_INSERT = """
INSERT INTO cases (id, channel, case_no, received_at, category_code, content, geom, located_by,
                   compound_id, community_id, street_code, level, lead_dept, status, due_at,
                   closed_at)
SELECT r.id, r.channel, r.case_no, r.received_at, r.category_code, r.content,
       ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326), 'coordinates', x.id, x.community_id,
       x.street_code, k.default_level, k.lead_dept, r.status,
       r.received_at + make_interval(days => k.time_limit_days), r.closed_at
FROM unnest(CAST(:id AS bigint[]), CAST(:channel AS text[]), CAST(:case_no AS text[]),
            CAST(:received_at AS timestamptz[]), CAST(:category_code AS text[]),
            CAST(:content AS text[]), CAST(:lon AS float8[]), CAST(:lat AS float8[]),
            CAST(:compound_id AS int[]), CAST(:status AS text[]),
            CAST(:closed_at AS timestamptz[]))
     AS r(id, channel, case_no, received_at, category_code, content, lon, lat, compound_id,
          status, closed_at)
JOIN compounds x ON x.id = r.compound_id JOIN categories k ON k.code = r.category_code
"""


def insert(con: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    cols = ("id", "channel", "case_no", "received_at", "category_code", "content", "lon", "lat",
            "compound_id", "status", "closed_at")
    con.execute(sa.text(_INSERT), {
        c: [r.get(c, "received" if c == "status" else None) for r in rows] for c in cols})


@pytest.fixture()
def con(demo: Engine) -> Iterator[sa.Connection]:
    """A connection whose changes are rolled back."""
    with demo.connect() as c, c.begin() as tx:
        yield c
        tx.rollback()


def _compounds(con: sa.Connection, n: int = 80) -> list[duplicates.Compound]:
    return [duplicates.Compound(*r) for r in con.execute(sa.text(
        "SELECT id, name, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        "FROM compounds ORDER BY id LIMIT :n"), {"n": n})]


def test_grouping_finds_the_labelled_duplicates_and_keeps_near_misses_apart(
        con: sa.Connection) -> None:
    rows = duplicates.labelled_cases(_compounds(con), dt.datetime(2025, 7, 1, tzinfo=KAILI))
    insert(con, rows)
    con.execute(sa.text("CREATE TEMP TABLE _gscope ON COMMIT DROP AS "
                        "SELECT unnest(CAST(:ids AS bigint[])) AS id"),
                {"ids": [r["id"] for r in rows]})
    res = complaints.group_channels(con, scoped=True)
    got: dict[int, int | None] = dict(con.execute(sa.text(  # type: ignore[arg-type]
        "SELECT id, complaint_group FROM cases WHERE id = ANY(:ids)"),
        {"ids": [r["id"] for r in rows]}).all())
    scores = duplicates.pair_scores(rows, got)
    print(f"labelled set: {len(rows)} cases, {res.candidates} candidate pairs, {scores}")
    assert scores["precision"] >= 0.95
    assert scores["recall"] >= 0.95
    # every group is led by its earliest case, and never spans two compounds
    bad = con.execute(sa.text("""
        SELECT count(*) FROM cases c JOIN cases f ON f.id = c.complaint_group
        WHERE c.id = ANY(:ids) AND (f.received_at > c.received_at
              OR f.compound_id IS DISTINCT FROM c.compound_id
              OR f.complaint_group <> f.id)"""), {"ids": [r["id"] for r in rows]}).scalar()
    assert bad == 0
    # the kinds of near-miss stay apart from their complaint
    by_kind: dict[str, int] = {}
    first = {r["truth"]: r["id"] for r in rows if r["kind"] == "first"}
    for r in rows:
        if r["kind"] not in ("first", "duplicate"):
            joined = got.get(r["id"]) is not None and got.get(r["id"]) == got.get(
                first.get(r["truth"], -1))
            by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + int(joined)
    assert by_kind.get("other_compound", 0) == 0 and by_kind.get("weeks_later", 0) == 0


def test_distinct_complaints_count_each_group_once(con: sa.Connection) -> None:
    x = _compounds(con, 1)[0]
    t = dt.datetime(2026, 3, 2, 9, tzinfo=KAILI)
    rows = [
        {"id": 20_000_001, "channel": "12345", "received_at": t,
         "content": f"反映{x.name}3栋电梯困人问题，希望尽快处理。"},
        {"id": 20_000_002, "channel": "mailbox", "received_at": t + dt.timedelta(days=1),
         "content": f"市长您好！我是{x.name}3栋的住户，电梯困人的事一直没人管。"},
        {"id": 20_000_003, "channel": "petition", "received_at": t + dt.timedelta(days=2),
         "content": f"信访人称{x.name}3栋存在电梯困人情况，多次反映未果。"},
        {"id": 20_000_004, "channel": "mailbox", "received_at": t + dt.timedelta(days=1),
         "content": f"{x.name}8栋电梯困人，请核实处理。"},  # another building
    ]
    for r in rows:
        r.update(case_no=f"T{r['id']}", category_code="PM15", lon=x.lon, lat=x.lat,
                 compound_id=x.id)
    insert(con, rows)
    before = int(con.execute(sa.text(
        f"SELECT count(*) FILTER (WHERE {measures.is_distinct('c')}) FROM cases c")).scalar_one())
    complaints.refresh_for(con, "SELECT unnest(ARRAY[20000001, 20000002, 20000003, 20000004])")
    groups: dict[int, int | None] = dict(con.execute(sa.text(  # type: ignore[arg-type]
        "SELECT id, complaint_group FROM cases WHERE id BETWEEN 20000001 AND 20000004")).all())
    assert groups == {20_000_001: 20_000_001, 20_000_002: 20_000_001, 20_000_003: 20_000_001,
                      20_000_004: None}
    after = int(con.execute(sa.text(
        f"SELECT count(*) FILTER (WHERE {measures.is_distinct('c')}) FROM cases c")).scalar_one())
    assert before - after == 2


def test_a_case_after_a_closing_in_the_same_compound_and_category_is_a_repeat(
        con: sa.Connection) -> None:
    x = _compounds(con, 2)
    t = dt.datetime(2026, 1, 5, 10, tzinfo=KAILI)
    base = {"category_code": "PM13", "content": "消防通道被占", "channel": "12345"}
    rows: list[dict[str, Any]] = [
        # closed on the 8th; back on the 20th (12 days): a repeat
        {"id": 30_000_001, "received_at": t, "status": "closed",
         "closed_at": t + dt.timedelta(days=3)},
        {"id": 30_000_002, "received_at": t + dt.timedelta(days=15)},
        # another category, same compound: not a repeat of the fire case
        {"id": 30_000_003, "received_at": t + dt.timedelta(days=16), "category_code": "PM01"},
        # back after 40 days: not a repeat
        {"id": 30_000_004, "received_at": t + dt.timedelta(days=60), "status": "closed",
         "closed_at": t + dt.timedelta(days=61)},
        {"id": 30_000_005, "received_at": t + dt.timedelta(days=101)},
        # the same category in another compound: not a repeat
        {"id": 30_000_006, "received_at": t + dt.timedelta(days=16), "compound": 1},
        # received while the earlier one was still open: not a repeat of it
        {"id": 30_000_007, "received_at": t + dt.timedelta(days=1)},
    ]
    for r in rows:
        c = x[int(r.pop("compound", 0))]
        for k, v in base.items():
            r.setdefault(k, v)
        r.update(case_no=f"T{r['id']}", lon=c.lon, lat=c.lat, compound_id=c.id)
    # keep the demo's own cases of these compounds and category out of the way
    con.execute(sa.text("UPDATE cases SET category_code = 'PM99' WHERE compound_id = ANY(:c) "
                        "AND category_code IN ('PM13')"), {"c": [c.id for c in x]})
    insert(con, rows)
    complaints.link_repeats(con, compound_ids=[c.id for c in x])
    got: dict[int, int | None] = dict(con.execute(sa.text(  # type: ignore[arg-type]
        "SELECT id, repeat_of FROM cases WHERE id BETWEEN 30000001 AND 30000007")).all())
    assert got == {30_000_001: None, 30_000_002: 30_000_001, 30_000_003: None,
                   30_000_004: None, 30_000_005: None, 30_000_006: None, 30_000_007: None}
    window = complaints.analysis_rules.section("repeat")["window_days"]
    assert f"{window}天" in measures.BY_KEY["repeat"].definition


def test_demo_repeats_and_groups_are_consistent(demo: Engine) -> None:
    with demo.connect() as con:
        bad_repeat = con.execute(sa.text(f"""
            SELECT count(*) FROM cases c JOIN cases e ON e.id = c.repeat_of
            WHERE e.compound_id IS DISTINCT FROM c.compound_id
               OR e.category_code <> c.category_code OR e.closed_at IS NULL
               OR e.closed_at > c.received_at
               OR c.received_at - e.closed_at > make_interval(days => {
                   complaints.analysis_rules.section('repeat')['window_days']})""")).scalar()
        assert bad_repeat == 0
        repeats, grouped = con.execute(sa.text(
            "SELECT count(repeat_of), count(complaint_group) FROM cases")).one()
        assert repeats > 0 and grouped > 0
        # the demo's planted duplicates (ground truth) are mostly found
        truth = synthetic.make_cases(synthetic.make_demo(42, AS_OF), 5_000, AS_OF,
                                     np.random.default_rng(43), demo_module.SPAN_DAYS)
        truth = truth[truth.duplicate_of.notna()]
        found = con.execute(sa.text("""
            SELECT count(*) FROM unnest(CAST(:d AS bigint[]), CAST(:o AS bigint[])) t(d, o)
            JOIN cases a ON a.id = t.d JOIN cases b ON b.id = t.o
            WHERE a.complaint_group = b.complaint_group"""),
            {"d": truth.id.tolist(), "o": truth.duplicate_of.astype(int).tolist()}).scalar_one()
        print(f"demo: {found} of {len(truth)} planted duplicates grouped")
        assert found >= 0.8 * len(truth)


def test_a_case_import_groups_the_channels_of_one_complaint(demo: Engine,
                                                            tmp_path: Path) -> None:
    from etl.intake.cases import import_cases

    with demo.connect() as con:
        name = str(con.execute(sa.text(
            "SELECT name FROM compounds x WHERE NOT EXISTS (SELECT 1 FROM compounds y "
            "WHERE y.name = x.name AND y.id <> x.id) ORDER BY id LIMIT 1")).scalar_one())
    rows = [
        ("IMPT-1", "12345热线", "2026-06-20 09:00:00", f"反映{name}5栋电梯困人问题。"),
        ("IMPT-2", "市长信箱", "2026-06-21 10:00:00", f"市长您好！{name}5栋电梯困人，请领导重视。"),
        ("IMPT-3", "信访", "2026-06-22 11:00:00", f"{name}9栋停水，请核实处理。"),
    ]
    path = tmp_path / "cases.csv"
    pd.DataFrame({"工单编号": [r[0] for r in rows], "来源渠道": [r[1] for r in rows],
                  "受理时间": [r[2] for r in rows], "问题类别": ["", "", ""],
                  "诉求内容": [r[3] for r in rows], "小区名称": [name] * 3}).to_csv(
        path, index=False, encoding="utf-8-sig")
    try:
        res = import_cases(demo, path, as_of=pd.Timestamp("2026-06-30", tz="Asia/Shanghai"))
        assert res.inserted == 3
        with demo.connect() as con:
            got: dict[str, str | None] = dict(con.execute(sa.text(  # type: ignore[arg-type]
                "SELECT c.case_no, f.case_no FROM cases c LEFT JOIN cases f "
                "ON f.id = c.complaint_group WHERE c.case_no LIKE 'IMPT-%'")).all())
        assert got == {"IMPT-1": "IMPT-1", "IMPT-2": "IMPT-1", "IMPT-3": None}
    finally:
        with demo.begin() as con:
            con.execute(sa.text("DELETE FROM cases WHERE case_no LIKE 'IMPT-%'"))
            con.execute(sa.text("DELETE FROM imports WHERE file = 'cases.csv'"))


def test_an_import_s_scoped_refresh_agrees_with_the_whole_city(con: sa.Connection) -> None:
    """A closing time withdrawn by a later export moves the links after it, as a full pass would."""
    version = con.execute(sa.text("SELECT version FROM data_version")).scalar_one()
    recent = "SELECT id FROM cases ORDER BY received_at DESC LIMIT 200"
    res = complaints.refresh_for(con, recent)  # the stored links are already right
    assert con.execute(sa.text("SELECT version FROM data_version")).scalar_one() == version
    assert res.repeats > 0
    # a later export gives no closing time for a case that others repeat
    case_id, closed = con.execute(sa.text("""
        SELECT c.id, c.closed_at FROM cases c
        WHERE c.closed_at IS NOT NULL AND c.compound_id IS NOT NULL
          AND c.closed_at - c.received_at > interval '2 days'
          AND EXISTS (SELECT 1 FROM cases r WHERE r.repeat_of = c.id)
        ORDER BY c.id LIMIT 1""")).one()
    before: dict[int, int | None] = dict(con.execute(  # type: ignore[arg-type]
        sa.text("SELECT id, repeat_of FROM cases")).all())
    con.execute(sa.text("UPDATE cases SET closed_at = NULL WHERE id = :i"), {"i": case_id})
    complaints.refresh_for(con, f"SELECT {int(case_id)}")
    scoped: dict[int, int | None] = dict(con.execute(  # type: ignore[arg-type]
        sa.text("SELECT id, repeat_of FROM cases")).all())
    complaints.link_repeats(con)
    full: dict[int, int | None] = dict(con.execute(  # type: ignore[arg-type]
        sa.text("SELECT id, repeat_of FROM cases")).all())
    assert scoped == full
    assert scoped != before and closed is not None
    assert case_id not in scoped.values()
