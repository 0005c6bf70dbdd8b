"""Schema management: alembic migrations run against a connection passed in."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(con: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = con
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent: at head, nothing happens)."""
    with engine.begin() as con:
        con.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        command.upgrade(_config(con), revision)
        apply_grants(con)


def apply_grants(con: sa.Connection) -> None:
    """(Re)grant what each propmap role may read (``propmap_apply_grants``, when migrated)."""
    if con.execute(sa.text("SELECT to_regprocedure('propmap_apply_grants()')")).scalar():
        con.execute(sa.text("SELECT propmap_apply_grants()"))


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the schema back to ``revision``; ``base`` drops every propmap table."""
    with engine.begin() as con:
        command.downgrade(_config(con), revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` before the first migration."""
    with engine.connect() as con:
        if not sa.inspect(con).has_table("alembic_version"):
            return None
        return con.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the models (developers only)."""
    with engine.begin() as con:
        command.revision(_config(con), message=message, autogenerate=True)


def fresh_database(url: str) -> Engine:
    """Drop and recreate the database at ``url`` with PostGIS, the schema and reference data.

    For tests and benchmarks: never point it at data you want to keep.
    """
    from geo import db, reference

    db.drop_database(url)
    db.create_database(url, say=lambda _m: None)
    engine = db.make_engine(url)
    upgrade(engine)
    with engine.begin() as con:
        reference.load(con)
    return engine
