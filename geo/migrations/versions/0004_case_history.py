"""cases remember reopening and may be closed without a known time; a case history table

Revision ID: 0004
Revises: 0003

- ``cases.reopen_count``: how many times the case was seen going back to
  重新办理. "Reopened" is a property of the case's history, not only of its
  current status: a case reopened and closed again is still a case that was
  closed on paper and came back (see :mod:`geo.measures`).
- Real hotline exports mark many cases 已办结/已回访 without a 办结时间. Such
  a case is closed, with an unknown closing time: the old CHECK required a
  time for every closed case; the new one only forbids a time on an open case.
- ``case_events``: what happened to a case and when (received, a status
  change seen by an import, an escalation, a note), appended and never
  rewritten, so a case card can show its timeline.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column(
        "reopen_count", sa.SmallInteger(), server_default="0", nullable=False,
        comment="重新办理次数（曾被退回重办的次数，不只看当前状态）"))
    op.create_check_constraint(op.f("ck_cases_reopen_count"), "cases", "reopen_count >= 0")
    op.drop_constraint(op.f("ck_cases_closed_has_time"), "cases", type_="check")
    op.create_check_constraint(op.f("ck_cases_open_has_no_closing_time"), "cases",
                               "closed_at IS NULL OR status IN ('closed', 'visited')")
    op.execute("UPDATE cases SET reopen_count = 1 WHERE status = 'reopened'")
    # The covering index of a street's cases carries every column geo.measures counts,
    # reopen_count now included, so a cold drill-down stays an index-only scan.
    op.execute("DROP INDEX IF EXISTS ix_cases_street_received")
    op.execute("CREATE INDEX ix_cases_street_received ON cases (street_code, received_at) "
               "INCLUDE (community_id, compound_id, category_code, channel, level, status, "
               "due_at, closed_at, satisfaction, reopen_count)")
    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("case_id", sa.BigInteger(),
                  sa.ForeignKey("cases.id", ondelete="CASCADE", name="fk_case_events_case_id"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12)),
        sa.Column("level", sa.String(9)),
        sa.Column("note", sa.Text()),
        sa.Column("import_id", sa.Integer(),
                  sa.ForeignKey("imports.id", ondelete="SET NULL",
                                name="fk_case_events_import_id")),
        sa.Column("recorded_by", sa.Text(), comment="记录人（账号名）；导入时为空"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint(
            "kind IN ('received', 'status', 'reopened', 'escalated', 'closed', 'visited', "
            "'voided', 'note')", name=op.f("ck_case_events_kind")),
        comment="工单时间线：受理、状态变化、重新办理、升级与备注（只追加，不改写）",
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id", "at"])


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_cases_street_received")
    op.execute("CREATE INDEX ix_cases_street_received ON cases (street_code, received_at) "
               "INCLUDE (community_id, compound_id, category_code, channel, level, status, "
               "due_at, closed_at, satisfaction)")
    op.drop_index("ix_case_events_case_id", table_name="case_events")
    op.drop_table("case_events")
    op.drop_constraint(op.f("ck_cases_open_has_no_closing_time"), "cases", type_="check")
    op.execute("DELETE FROM cases WHERE status IN ('closed', 'visited') AND closed_at IS NULL")
    op.create_check_constraint(op.f("ck_cases_closed_has_time"), "cases",
                               "(status IN ('closed', 'visited')) = (closed_at IS NOT NULL)")
    op.drop_constraint(op.f("ck_cases_reopen_count"), "cases", type_="check")
    op.drop_column("cases", "reopen_count")
