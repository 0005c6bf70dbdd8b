"""voided cases, void accounting in imports, cases located by area name

Revision ID: 0011
Revises: 0010

- ``voided_cases``: real exports carry voided cases (当前阶段 "[作废]",
  已作废, 撤销 ...). A voided case is in no figure: an import that sees a
  stored case voided deletes it (its complainant and events cascade) and
  records the void here, keyed like ``cases`` (channel, case number), so
  that neither the same file nor an older export brings it back.
- ``imports.voided``: the rows an import skipped as voided; the accounting
  identity becomes ``rows_read = inserted + updated + unchanged + voided +
  quarantined``.
- ``cases.located_by`` may be ``area_name``: a case without a usable point,
  compound name or address but naming its street office or community is
  assigned to that area (no point, no compound), so it counts for it.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_LOCATED_OLD = "located_by IN ('coordinates', 'compound_name', 'address', 'none')"
_LOCATED_NEW = "located_by IN ('coordinates', 'compound_name', 'address', 'area_name', 'none')"
_ACCOUNTING_OLD = "rows_read = inserted + updated + unchanged + quarantined"
_ACCOUNTING_NEW = "rows_read = inserted + updated + unchanged + voided + quarantined"


def upgrade() -> None:
    op.create_table(
        "voided_cases",
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("case_no", sa.Text(), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now(), comment="作废记入的时间（导入时间）"),
        sa.Column("import_id", sa.Integer(),
                  sa.ForeignKey("imports.id", ondelete="SET NULL",
                                name="fk_voided_cases_import_id")),
        sa.Column("had_case", sa.Boolean(), nullable=False, server_default="false",
                  comment="作废时库中已有该工单（已删除）"),
        sa.PrimaryKeyConstraint("channel", "case_no", name="pk_voided_cases"),
        sa.CheckConstraint("channel IN ('12345', 'mailbox', 'petition')",
                           name=op.f("ck_voided_cases_channel")),
        comment="已作废工单：不计入任何统计，再次导入时不再新增",
    )
    op.add_column("imports", sa.Column("voided", sa.Integer(), server_default="0",
                                       nullable=False, comment="作废而跳过的行"))
    op.drop_constraint(op.f("ck_imports_accounting"), "imports", type_="check")
    op.create_check_constraint(op.f("ck_imports_accounting"), "imports", _ACCOUNTING_NEW)
    op.execute("COMMENT ON TABLE imports IS "
               "'导入批次：文件、时间与逐行核算（读入 = 新增 + 更新 + 未变 + 作废 + 隔离）'")
    op.drop_constraint(op.f("ck_cases_located_by"), "cases", type_="check")
    op.create_check_constraint(op.f("ck_cases_located_by"), "cases", _LOCATED_NEW)


def downgrade() -> None:
    op.execute("UPDATE cases SET located_by = 'none' WHERE located_by = 'area_name'")
    op.drop_constraint(op.f("ck_cases_located_by"), "cases", type_="check")
    op.create_check_constraint(op.f("ck_cases_located_by"), "cases", _LOCATED_OLD)
    op.drop_constraint(op.f("ck_imports_accounting"), "imports", type_="check")
    # Voided rows become unchanged ones: nothing was written for them.
    op.execute("UPDATE imports SET unchanged = unchanged + voided")
    op.create_check_constraint(op.f("ck_imports_accounting"), "imports", _ACCOUNTING_OLD)
    op.execute("COMMENT ON TABLE imports IS "
               "'导入批次：文件、时间与逐行核算（读入 = 新增 + 更新 + 未变 + 隔离）'")
    op.drop_column("imports", "voided")
    op.drop_table("voided_cases")
