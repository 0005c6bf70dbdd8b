"""settings the database must know: a one-row config table; compounds.is_old follows it

Revision ID: 0005
Revises: 0004

``compounds.is_old`` was a generated column with the year 2001 written into
it, so ``PROPMAP_OLD_COMPOUND_BEFORE`` did nothing. A generated column cannot
read another table, and the threshold is a setting, so:

- ``config`` holds one row with the settings the database itself applies
  (today ``old_compound_before``). Every ``propmap`` command copies the setting
  into it (:func:`geo.schema.sync_settings`); the row starts at the default, 2001.
- ``is_old`` becomes a plain column kept by triggers: a compound written or
  given a new build year gets its flag from ``config`` (BEFORE INSERT OR UPDATE
  OF build_year), and a new threshold recomputes the flag of every compound
  whose answer changes (AFTER UPDATE on ``config``), in the same transaction.
  That UPDATE of ``compounds`` bumps ``data_version``, so no cache keeps the
  old 老旧小区 after the threshold changed.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

IS_OLD_COMMENT = ("老旧小区：建成年份早于 config.old_compound_before"
                  "（设置 PROPMAP_OLD_COMPOUND_BEFORE）")


def upgrade() -> None:
    op.create_table(
        "config",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("old_compound_before", sa.SmallInteger(), nullable=False,
                  server_default="2001", comment="建成年份早于该年的小区为老旧小区"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name=op.f("ck_config_single_row")),
        sa.CheckConstraint("old_compound_before BETWEEN 1900 AND 2100",
                           name=op.f("ck_config_old_compound_before")),
        comment="数据库须知的设置（每条 propmap 命令按环境变量同步）；只有一行",
    )
    op.execute("INSERT INTO config (id) VALUES (1)")
    op.drop_column("compounds", "is_old")
    op.add_column("compounds", sa.Column("is_old", sa.Boolean(), nullable=False,
                                         server_default="false", comment=IS_OLD_COMMENT))
    op.execute("""
        CREATE FUNCTION compounds_is_old() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.is_old := coalesce(
                NEW.build_year < (SELECT old_compound_before FROM config WHERE id = 1), false);
            RETURN NEW;
        END $$""")
    op.execute("""
        CREATE TRIGGER trg_compounds_is_old
        BEFORE INSERT OR UPDATE OF build_year, is_old ON compounds
        FOR EACH ROW EXECUTE FUNCTION compounds_is_old()""")
    op.execute("""
        CREATE FUNCTION config_recompute_is_old() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE compounds SET is_old = coalesce(build_year < NEW.old_compound_before, false)
            WHERE is_old IS DISTINCT FROM coalesce(build_year < NEW.old_compound_before, false);
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER trg_config_old_compound_before
        AFTER UPDATE OF old_compound_before ON config
        FOR EACH ROW WHEN (OLD.old_compound_before IS DISTINCT FROM NEW.old_compound_before)
        EXECUTE FUNCTION config_recompute_is_old()""")
    op.execute("UPDATE compounds SET is_old = true WHERE build_year < 2001")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_config_old_compound_before ON config")
    op.execute("DROP FUNCTION IF EXISTS config_recompute_is_old()")
    op.execute("DROP TRIGGER IF EXISTS trg_compounds_is_old ON compounds")
    op.execute("DROP FUNCTION IF EXISTS compounds_is_old()")
    op.drop_column("compounds", "is_old")
    op.add_column("compounds", sa.Column(
        "is_old", sa.Boolean(), sa.Computed("coalesce(build_year < 2001, false)", persisted=True),
        nullable=True, comment="老旧小区：2000年底前建成"))
    op.drop_table("config")
