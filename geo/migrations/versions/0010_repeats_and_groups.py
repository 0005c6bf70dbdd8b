"""cases remember the closed case they repeat and the complaint they belong to

Revision ID: 0010
Revises: 0009

(Written as 0007 on top of 0004; chained after main's 0009 when main was merged in.)

- ``cases.repeat_of``: the earlier case of the same compound and category that
  was closed within ``[repeat] window_days`` (data/analysis.toml) before this one
  was received: closed on paper, not solved (办结后再诉). Computed set-based by
  :func:`geo.complaints.link_repeats`.
- ``cases.complaint_group``: cases that are one complaint reported through
  several channels (12345, 市长信箱, 信访) share the id of the group's first case;
  a case outside any group has NULL. "Distinct complaints" are the cases with
  ``complaint_group IS NULL OR complaint_group = id``. Computed by
  :func:`geo.complaints.group_channels`; a group never spans two compounds or
  street offices, so per-area sums stay additive.
- The covering indexes of the dashboard's hot paths carry the new columns (and
  ``id``), so the street drill-down and the loose-case heat stay index-only scans
  when they count repeats or distinct complaints.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

STREET_INCLUDE = ("community_id, compound_id, category_code, channel, level, status, due_at, "
                  "closed_at, satisfaction, reopen_count")


def upgrade() -> None:
    op.add_column("cases", sa.Column(
        "repeat_of", sa.BigInteger(),
        sa.ForeignKey("cases.id", ondelete="SET NULL", name="fk_cases_repeat_of"),
        comment="办结后再诉：同小区同类别、在此前办结后规定天数内再次受理时，指向那件已办结工单"))
    op.add_column("cases", sa.Column(
        "complaint_group", sa.BigInteger(),
        sa.ForeignKey("cases.id", ondelete="SET NULL", name="fk_cases_complaint_group"),
        comment="一事多诉：同一诉求经多个渠道反映时，组内各件指向组内最早一件（含其自身）"))
    op.create_check_constraint(op.f("ck_cases_repeat_not_self"), "cases",
                               "repeat_of IS NULL OR repeat_of <> id")
    op.execute("CREATE INDEX ix_cases_repeat_of ON cases (repeat_of) WHERE repeat_of IS NOT NULL")
    op.execute("CREATE INDEX ix_cases_complaint_group ON cases (complaint_group) "
               "WHERE complaint_group IS NOT NULL")
    op.execute("DROP INDEX IF EXISTS ix_cases_street_received")
    op.execute("CREATE INDEX ix_cases_street_received ON cases (street_code, received_at) "
               f"INCLUDE ({STREET_INCLUDE}, id, repeat_of, complaint_group)")
    op.execute("DROP INDEX IF EXISTS ix_cases_loose_received")
    op.execute("CREATE INDEX ix_cases_loose_received ON cases (received_at) "
               "INCLUDE (geom, category_code, channel, status, id, complaint_group) "
               "WHERE compound_id IS NULL AND geom IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_cases_loose_received")
    op.execute("CREATE INDEX ix_cases_loose_received ON cases (received_at) "
               "INCLUDE (geom, category_code, channel, status) "
               "WHERE compound_id IS NULL AND geom IS NOT NULL")
    op.execute("DROP INDEX IF EXISTS ix_cases_street_received")
    op.execute("CREATE INDEX ix_cases_street_received ON cases (street_code, received_at) "
               f"INCLUDE ({STREET_INCLUDE})")
    op.execute("DROP INDEX IF EXISTS ix_cases_complaint_group")
    op.execute("DROP INDEX IF EXISTS ix_cases_repeat_of")
    op.drop_constraint(op.f("ck_cases_repeat_not_self"), "cases", type_="check")
    op.drop_column("cases", "complaint_group")
    op.drop_column("cases", "repeat_of")
