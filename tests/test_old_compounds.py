"""``PROPMAP_OLD_COMPOUND_BEFORE`` decides which compounds are 老旧小区 (migration 0005)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from geo import schema
from layers import facts
from propmap.cli import main
from tests.conftest import scalar, scratch_database

POLY = "ST_Multi(ST_GeomFromText('POLYGON((0 0,0.001 0,0.001 0.001,0 0))', 4326))"


def _flags(engine: Engine) -> tuple[int, int]:
    """(compounds flagged old, compounds whose flag disagrees with the database's threshold)."""
    with engine.connect() as con:
        old, wrong = con.execute(sa.text(
            "SELECT count(*) FILTER (WHERE is_old), count(*) FILTER (WHERE is_old IS DISTINCT "
            "FROM coalesce(build_year < (SELECT old_compound_before FROM config), false)) "
            "FROM compounds")).one()
    return int(old), int(wrong)


def _db_init(engine: Engine, year: str | None) -> None:
    env = {"DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "PROPMAP_OLD_COMPOUND_BEFORE": year}
    res = CliRunner().invoke(main, ["db", "init"], env=env)
    assert res.exit_code == 0, res.output


def test_the_setting_changes_the_old_compound_flags(demo: Engine,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROPMAP_OLD_COMPOUND_BEFORE", raising=False)
    by_default = scalar(demo, "SELECT count(*) FROM compounds WHERE build_year < 2001")
    assert _flags(demo) == (by_default, 0) and by_default
    try:
        with demo.connect() as con:
            version = facts.data_version(con)
        _db_init(demo, "1990")
        assert scalar(demo, "SELECT old_compound_before FROM config") == 1990
        earlier = scalar(demo, "SELECT count(*) FROM compounds WHERE build_year < 1990")
        assert _flags(demo) == (earlier, 0)
        assert 0 < earlier < by_default  # the demo has compounds built in 1990-2000
        with demo.connect() as con:
            assert facts.data_version(con) > version  # no cache keeps the old flags
        # A compound written after the change follows the new threshold.
        with demo.connect() as con, con.begin() as tx:
            old = con.execute(sa.text(
                "INSERT INTO compounds (code, name, build_year, geom) VALUES "
                f"('T-1995', '九五小区', 1995, {POLY}) RETURNING is_old")).scalar()
            older = con.execute(sa.text(
                "UPDATE compounds SET build_year = 1985, is_old = false WHERE code = 'T-1995' "
                "RETURNING is_old")).scalar()
            tx.rollback()
        assert (old, older) == (False, True)
        _db_init(demo, "2001")  # the same as the default: nothing to recompute
        assert _flags(demo) == (by_default, 0)
    finally:
        with demo.begin() as con:
            schema.sync_settings(con)
    assert _flags(demo) == (by_default, 0)


def test_a_bad_threshold_is_refused_before_the_database_is_touched(demo: Engine) -> None:
    before = scalar(demo, "SELECT old_compound_before FROM config")
    env = {"DATABASE_URL": demo.url.render_as_string(hide_password=False),
           "PROPMAP_OLD_COMPOUND_BEFORE": "两千年"}
    res = CliRunner().invoke(main, ["db", "init"], env=env)
    assert res.exit_code == 2 and "PROPMAP_OLD_COMPOUND_BEFORE" in res.stderr
    assert scalar(demo, "SELECT old_compound_before FROM config") == before


def test_the_migration_goes_down_and_up_again() -> None:
    """0005 reverses to the generated column of 0004 and comes back (fresh database).

    A scratch database: going down to 0004 drops the later revisions' columns (the
    repeat and complaint-group links of 0010), which the demo database of the other
    tests must keep.
    """
    with scratch_database("_migrate") as (engine, _url):
        schema.downgrade(engine, "0004")
        with engine.connect() as con:
            generated = con.execute(sa.text(
                "SELECT is_generated FROM information_schema.columns "
                "WHERE table_name = 'compounds' AND column_name = 'is_old'")).scalar()
            assert generated == "ALWAYS"
            assert not sa.inspect(con).has_table("config")
        schema.upgrade(engine)
        assert scalar(engine, "SELECT old_compound_before FROM config") == 2001
