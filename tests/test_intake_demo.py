"""Locating by name and address against the demo's compound register (names, aliases, addresses)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.intake.cases import import_cases
from tests import messy


def test_demo_compounds_are_found_by_name_alias_and_address(demo: Engine, tmp_path: Path) -> None:
    with demo.connect() as con:
        comp = pd.read_sql_query(sa.text(
            "SELECT id, name, aliases, address FROM compounds ORDER BY id"), con)
    unique = comp[~comp["name"].duplicated(keep=False)].head(30)
    # an alias shared by two compounds (融创 for 融创小区 and 融创花园) is ambiguous: not used
    spelled = pd.Series([n for a in comp["aliases"] for n in a] + list(comp["name"])).value_counts()
    base = {h: "" for h in messy.CANONICAL}
    rows, want = [], {}
    for i, c in enumerate(unique.itertuples()):
        no = f"KLDEMO{i:04d}"
        own = [a for a in c.aliases if spelled[a] == 1] or [f"{c.name}"]
        variant = [c.name, f"凯里市{c.name}3栋2单元", own[0]][i % 3]
        rows.append(messy.Row({**base, "工单编号": no, "受理时间": "2026-05-01 09:00:00",
                               "诉求内容": "楼道堆放杂物", "小区名称": variant}, "compound_name"))
        want[no] = (c.id, "compound_name")
    path = messy.write_csv(rows, tmp_path / "demo.csv", encoding="gb18030", title=None)
    try:
        r = import_cases(demo, path, channel="12345")
        with demo.connect() as con:
            got = {x.case_no: (x.compound_id, x.located_by) for x in con.execute(sa.text(
                "SELECT case_no, compound_id, located_by FROM cases WHERE case_no LIKE 'KLDEMO%'"))}
        assert r.inserted == len(rows)
        hits = sum(got[k] == v for k, v in want.items())
        assert hits == len(rows), {k: (got[k], v) for k, v in want.items() if got[k] != v}
    finally:
        with demo.begin() as con:
            con.execute(sa.text("DELETE FROM cases WHERE case_no LIKE 'KLDEMO%'"))
            con.execute(sa.text("DELETE FROM imports WHERE file = 'demo.csv'"))
