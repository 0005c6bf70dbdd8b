"""Schema management: alembic migrations run against a connection passed in.

:func:`prepare` is what every ``propmap`` command does before it works: migrate
to the latest revision, load the reference lists, and copy the settings the
database applies into its ``config`` row (:func:`sync_settings`).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from geo._errors import DatabaseSetupError

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(con: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = con
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent: at head, nothing happens).

    Raises
    ------
    DatabaseSetupError
        PostGIS is not enabled in the database and its user may not enable it.
    """
    with engine.begin() as con:
        if not con.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first():
            try:
                with con.begin_nested():
                    con.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
            except sa.exc.ProgrammingError as exc:  # not the owner, not a superuser
                name = con.execute(sa.text("SELECT current_database()")).scalar()
                raise DatabaseSetupError(
                    f"数据库 {name} 未启用 PostGIS 扩展，当前用户无权启用："
                    "请数据库管理员在该库中执行 CREATE EXTENSION postgis;") from exc
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


def sync_settings(con: sa.Connection) -> bool:
    """Copy the settings the database applies into ``config``; ``True`` when one changed.

    A new ``old_compound_before`` recomputes ``compounds.is_old`` in the same
    transaction (trigger of migration 0005), which bumps the data version.
    """
    from geo import settings

    changed = con.execute(sa.text(
        "UPDATE config SET old_compound_before = :y, changed_at = now() "
        "WHERE id = 1 AND old_compound_before IS DISTINCT FROM :y"),
        {"y": int(settings.get("old_compound_before"))}).rowcount
    return bool(changed)


def prepare(engine: Engine) -> None:
    """Migrate to the latest revision, load the reference data and sync the settings."""
    from geo import reference

    upgrade(engine)
    with engine.begin() as con:
        reference.load(con)
        sync_settings(con)


def fresh_database(url: str) -> Engine:
    """Drop and recreate the database at ``url`` with PostGIS, the schema and reference data.

    For tests and benchmarks: never point it at data you want to keep.
    """
    from geo import db

    db.drop_database(url)
    db.create_database(url, say=lambda _m: None)
    engine = db.make_engine(url)
    prepare(engine)
    return engine
