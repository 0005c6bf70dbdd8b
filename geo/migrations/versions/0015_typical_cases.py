"""typical cases (典型案例) picked for a quarter by the joint meeting

Revision ID: 0015
Revises: 0014

- ``typical_cases``: a case marked as 典型案例 for a quarter (``2026Q3``), with a
  short note (at most 200 characters, masked of phone and ID numbers by the
  writer), who marked it and when; one mark per case and quarter.
- Row-level security as for ``case_events``: the city-wide scopes (leader,
  housing, admin, viewer) read every mark, street, community and department
  accounts only the marks of cases they may read.
- Only the joint meeting (``leader``) and the housing bureau that runs its
  office (``housing``) may mark or unmark (INSERT, DELETE: granted to those two
  scope roles only, and a ``WITH CHECK`` policy that the mark is in the
  account's own name and on a case it can read). Every mark and unmark is
  audited by the writer (:mod:`geo.typical`) in the same transaction.
- A mark changes what the dashboard shows, so it bumps the data version.
"""
import sqlalchemy as sa
from alembic import op

from geo import roles

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: Kinds of account that may mark a case as typical (geo.typical.MARKERS says the same).
MARKERS = ("leader", "housing")
CITY_WIDE = ("leader", "housing", "admin", "viewer")
SCOPED = ("street", "community", "dept")
NOTE_MAX = 200


def _q(name: str) -> str:
    return roles.quote_ident(name)


def _roles(kinds: tuple[str, ...]) -> str:
    return ", ".join(_q(roles.scope_role(k)) for k in kinds)


def upgrade() -> None:
    op.create_table(
        "typical_cases",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("case_id", sa.BigInteger(),
                  sa.ForeignKey("cases.id", ondelete="CASCADE", name="fk_typical_cases_case_id"),
                  nullable=False),
        sa.Column("quarter", sa.String(6), nullable=False, comment="季度，如 2026Q3"),
        sa.Column("note", sa.Text(), nullable=False, comment="简要说明（不超过 200 字）"),
        sa.Column("marked_by", sa.Text(), nullable=False,
                  server_default=sa.text("coalesce(nullif(current_setting('propmap.account', "
                                         "true), ''), current_user)"),
                  comment="标记人（账号名）"),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.UniqueConstraint("case_id", "quarter", name="uq_typical_cases_case_id"),
        sa.CheckConstraint("quarter ~ '^[0-9]{4}Q[1-4]$'", name=op.f("ck_typical_cases_quarter")),
        sa.CheckConstraint(f"char_length(btrim(note)) BETWEEN 1 AND {NOTE_MAX}",
                           name=op.f("ck_typical_cases_note")),
        comment="典型案例：联席会议按季度选定的工单及简要说明",
    )
    op.create_index("ix_typical_cases_quarter", "typical_cases", ["quarter"])
    op.execute("CREATE TRIGGER trg_typical_cases_data_version AFTER INSERT OR UPDATE OR DELETE "
               "OR TRUNCATE ON typical_cases FOR EACH STATEMENT "
               "EXECUTE FUNCTION bump_data_version()")
    op.execute("ALTER TABLE typical_cases ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY city_wide ON typical_cases FOR SELECT TO {_roles(CITY_WIDE)} "
               "USING (true)")
    op.execute(f"CREATE POLICY scoped_cases ON typical_cases FOR SELECT TO {_roles(SCOPED)} "
               "USING (case_id IN (SELECT id FROM cases))")
    op.execute(f"CREATE POLICY meeting_marks ON typical_cases FOR INSERT TO {_roles(MARKERS)} "
               "WITH CHECK (marked_by = current_setting('propmap.account', true) "
               "AND case_id IN (SELECT id FROM cases))")
    op.execute(f"CREATE POLICY meeting_unmarks ON typical_cases FOR DELETE TO {_roles(MARKERS)} "
               "USING (true)")
    everyone = ", ".join(_q(x) for x in [roles.app_role(),
                                          *(roles.scope_role(k) for k in roles.SCOPE_KINDS)])
    op.execute(f"REVOKE ALL ON typical_cases FROM PUBLIC, {everyone}")
    op.execute(f"GRANT SELECT ON typical_cases TO {everyone}")
    op.execute(f"GRANT INSERT, DELETE ON typical_cases TO {_roles(MARKERS)}")
    op.execute(f"GRANT USAGE ON SEQUENCE typical_cases_id_seq TO {_roles(MARKERS)}")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_typical_cases_data_version ON typical_cases")
    op.drop_index("ix_typical_cases_quarter", table_name="typical_cases")
    op.drop_table("typical_cases")
