"""May the synthetic demo fill this database? The check before :func:`etl.demo.build`.

The demo empties every data table before it writes, so loading it into the wrong
database destroys what was there, and loading it into a database nobody meant for
it (a typo in ``DATABASE_URL``) puts synthetic figures where real ones are
expected. The rules:

- never over data that is not the demo's: a row of a mapped table not flagged
  ``synthetic``, an import batch, or a table propmap does not know;
- only into a database propmap created itself (:data:`geo.db.CREATED_MARK`), or
  where the user asked for the demo (``propmap demo``, ``propmap serve --demo``,
  ``PROPMAP_ALLOW_DEMO``, or the built-in local quick-start database).
"""

from __future__ import annotations

import sqlalchemy as sa

from geo import db
from geo.models import metadata

#: Tables PostGIS and alembic keep in ``public``.
_THEIRS = {"spatial_ref_sys", "alembic_version"}
#: Schemas that are never user data (PostgreSQL's own, PostGIS topology and tiger).
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "topology", "tiger", "tiger_data")


def foreign_content(con: sa.Connection) -> list[str]:
    """What the database holds besides the demo, in Chinese (empty: nothing).

    Counts rows of mapped tables not flagged ``synthetic``, import batches and
    tables propmap does not know. Each check stops at the first row it finds.
    """
    found: list[str] = []
    known = set(metadata.tables) | _THEIRS
    tables = con.execute(sa.text(
        "SELECT n.nspname, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition "
        "AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> ALL(:system) "
        "ORDER BY 1, 2"), {"system": list(_SYSTEM_SCHEMAS)}).all()
    others = [f"{s}.{t}" for s, t in tables if s != "public" or t not in known]
    if others:
        shown = "、".join(others[:5]) + ("等" if len(others) > 5 else "")
        found.append(f"{len(others)} 张不属于 propmap 的表（{shown}）")
    present = {t for s, t in tables if s == "public"}
    for name, table in metadata.tables.items():
        if name not in present:
            continue
        label = table.comment or name
        if "synthetic" in table.c:
            sql = f"SELECT EXISTS (SELECT 1 FROM {name} WHERE NOT synthetic)"
        elif name == "imports":
            sql = "SELECT EXISTS (SELECT 1 FROM imports)"
        else:
            continue
        if con.execute(sa.text(sql)).scalar():
            found.append(f"表 {name}（{label}）中有非演示数据")
    return found


def refusal(con: sa.Connection, *, asked: bool) -> str | None:
    """Why the demo must not be loaded into ``con``'s database, or ``None`` when it may.

    Parameters
    ----------
    con
        A connection to the target database (schema migrated or not).
    asked
        The user asked for the demo in this database (a command or a setting),
        which lifts the "propmap did not create it" rule, never the data rule.
    """
    name = con.execute(sa.text("SELECT current_database()")).scalar()
    foreign = foreign_content(con)
    if foreign:
        return (f"数据库 {name} 中已有非演示数据（{'；'.join(foreign)}）。演示数据会清空全部数据，"
                "已拒绝载入。请在 DATABASE_URL 中换一个库；若确要清空此库并载入演示数据，"
                "请运行 propmap demo --overwrite。")
    if not asked and not db.created_by_propmap(con):
        return (f"数据库 {name} 不是 propmap 创建的，为免把合成的演示数据写进别人的库"
                "（例如 DATABASE_URL 中的库名拼错），已拒绝载入。请检查 DATABASE_URL；"
                "确要在此库中载入演示数据，请用 propmap serve --demo"
                "（或设置 PROPMAP_ALLOW_DEMO=1）。")
    return None
