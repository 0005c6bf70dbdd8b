"""The schema: migrations are idempotent and constraints keep bad data out."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo import schema


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    before = schema.current(engine)
    schema.upgrade(engine)
    assert schema.current(engine) == before
    assert before is not None


def test_every_geometry_has_srid_4326_and_a_gist_index(engine: Engine) -> None:
    with engine.connect() as con:
        cols = con.execute(
            sa.text(
                "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = 'public'"
            )
        ).all()
        gist = {
            r[0]
            for r in con.execute(
                sa.text("SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'")
            )
        }
    assert cols and all(srid == 4326 for _t, srid in cols)
    assert {t for t, _s in cols} <= gist


@pytest.mark.parametrize(
    "sql",
    [
        # a point where a polygon belongs
        "INSERT INTO streets (code, name, kind, geom) VALUES ('522601999000', 'x', 'street', "
        "ST_GeomFromText('POINT(108 26)', 4326))",
        # wrong SRID
        "INSERT INTO streets (code, name, kind, geom) VALUES ('522601999000', 'x', 'street', "
        "ST_Multi(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 3857)))",
        # self-intersecting polygon
        "INSERT INTO streets (code, name, kind, geom) VALUES ('522601999000', 'x', 'street', "
        "ST_Multi(ST_GeomFromText('POLYGON((0 0,1 1,1 0,0 1,0 0))', 4326)))",
        # unknown kind, bad code
        "INSERT INTO streets (code, name, kind, geom) VALUES ('52', 'x', 'village', "
        "ST_Multi(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326)))",
    ],
)
def test_bad_geometry_is_refused(engine: Engine, sql: str) -> None:
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as con:
        con.execute(sa.text(sql))


def test_sanwu_and_old_flags_are_derived(engine: Engine) -> None:
    poly = "ST_Multi(ST_GeomFromText('POLYGON((0 0,0.001 0,0.001 0.001,0 0))', 4326))"
    with engine.connect() as con, con.begin() as tx:
        row = con.execute(
            sa.text(
                "INSERT INTO compounds (code, name, build_year, management_mode, "
                f"owners_committee, "
                f"geom) VALUES ('T1', '测试小区', 1995, 'none', 'none', {poly}) "
                "RETURNING is_sanwu, is_old"
            )
        ).one()
        assert tuple(row) == (True, True)
        row = con.execute(
            sa.text(
                "INSERT INTO compounds (code, name, build_year, management_mode, "
                f"owners_committee, "
                f"competent_dept, geom) VALUES ('T2', '厂宿舍', 2005, 'work_unit', 'none', '某厂', "
                f"{poly}) RETURNING is_sanwu, is_old"
            )
        ).one()
        assert tuple(row) == (False, False)
        # A firm-managed compound must name its firm.
        with pytest.raises(sa.exc.IntegrityError), con.begin_nested():
            con.execute(
                sa.text(
                    f"INSERT INTO compounds (code, name, management_mode, geom) "
                    f"VALUES ('T3', 'x', 'property_firm', {poly})"
                )
            )
        tx.rollback()


def test_case_number_unique_per_channel(engine: Engine) -> None:
    base = (
        "INSERT INTO cases (channel, case_no, received_at, category_code, level, lead_dept, "
        "due_at) VALUES ('{ch}', 'A1', now(), 'PM01', 'community', 'community', now())"
    )
    with engine.connect() as con, con.begin() as tx:
        con.execute(sa.text(base.format(ch="12345")))
        con.execute(sa.text(base.format(ch="mailbox")))  # same number, other channel: fine
        with pytest.raises(sa.exc.IntegrityError), con.begin_nested():
            con.execute(sa.text(base.format(ch="12345")))
        tx.rollback()
