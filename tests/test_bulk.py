"""geo.bulk: a bulk load's suspended constraints in a transaction that already wrote compounds."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo import bulk

POLY = ("ST_GeomFromText('MULTIPOLYGON(((107.97 26.57, 107.971 26.57, 107.971 26.571, "
        "107.97 26.571, 107.97 26.57)))', 4326)")


def _fks(con: sa.Connection) -> list[str]:
    return list(con.execute(sa.text(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'cases'::regclass "
        "AND contype = 'f' ORDER BY conname")).scalars())


def _events(con: sa.Connection, code: str) -> int:
    return int(con.execute(sa.text(
        "SELECT count(*) FROM compound_events v JOIN compounds x ON x.id = v.compound_id "
        "WHERE x.code = :c"), {"c": code}).scalar() or 0)


def test_constraints_can_be_suspended_after_compounds_were_written(demo: Engine) -> None:
    """The demo writes compounds and then bulk-loads cases in one transaction; a new
    compound's history baseline is a deferred trigger event, and PostgreSQL refuses to
    alter ``cases`` (whose key points at ``compounds``) while such an event is pending."""
    with demo.connect() as con, con.begin() as tx:
        before = _fks(con)
        con.execute(sa.text(f"INSERT INTO compounds (code, name, geom) "
                            f"VALUES ('T-BULK-1', '批量小区', {POLY})"))
        assert _events(con, "T-BULK-1") == 0  # deferred: pending until commit
        with bulk.suspended_constraints(con, "cases"):
            assert _fks(con) == []
        assert _fks(con) == before and before
        assert _events(con, "T-BULK-1") == 1  # fired before the foreign keys were dropped
        # deferral is back for what the transaction writes next
        con.execute(sa.text(f"INSERT INTO compounds (code, name, geom) "
                            f"VALUES ('T-BULK-2', '批量二小区', {POLY})"))
        assert _events(con, "T-BULK-2") == 0
        con.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
        assert _events(con, "T-BULK-2") == 1
        tx.rollback()
