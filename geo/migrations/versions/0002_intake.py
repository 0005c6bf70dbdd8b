"""case intake: import log, quarantine, routing columns on cases

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('file', sa.Text(), nullable=False),
        sa.Column('file_sha256', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rows_read', sa.Integer(), server_default='0', nullable=False),
        sa.Column('inserted', sa.Integer(), server_default='0', nullable=False),
        sa.Column('updated', sa.Integer(), server_default='0', nullable=False),
        sa.Column('unchanged', sa.Integer(), server_default='0', nullable=False),
        sa.Column('quarantined', sa.Integer(), server_default='0', nullable=False),
        sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), server_default='{}',
                  nullable=False),
        sa.CheckConstraint("kind IN ('cases', 'compounds', 'boundaries')",
                           name=op.f('ck_imports_kind')),
        sa.CheckConstraint('rows_read = inserted + updated + unchanged + quarantined',
                           name=op.f('ck_imports_accounting')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_imports')),
        comment='导入批次：文件、时间与逐行核算（读入 = 新增 + 更新 + 未变 + 隔离）',
    )
    op.create_table(
        'quarantine',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('file', sa.Text(), nullable=False),
        sa.Column('row_no', sa.Integer(), nullable=False),
        sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['import_id'], ['imports.id'],
                                name=op.f('fk_quarantine_import_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine')),
        comment='隔离区：未能导入的行（原始值中的姓名与电话已脱敏）及原因',
    )
    op.create_index(op.f('ix_quarantine_import_id'), 'quarantine', ['import_id'], unique=False)
    op.add_column('cases', sa.Column('co_depts', postgresql.ARRAY(sa.String(length=32)),
                                     server_default='{}', nullable=False))
    op.add_column('cases', sa.Column('base_level', sa.String(length=9), nullable=True,
                                     comment='重复投诉升级前的层级（导入时由类别、渠道与超期规则得出）'))
    op.add_column('cases', sa.Column('escalations', postgresql.ARRAY(sa.Text()),
                                     server_default='{}', nullable=False,
                                     comment='适用的升级规则：channel_floor / overdue / repeat'))
    op.add_column('cases', sa.Column('category_by', sa.String(length=8), nullable=True,
                                     comment='类别来源：name 按类别名 / keywords 按内容关键词 / default 其他'))
    op.add_column('cases', sa.Column('handler', sa.Text(), nullable=True,
                                     comment='导出文件中的承办单位（原文）'))
    op.add_column('cases', sa.Column('coord_fix', sa.String(length=12), nullable=True,
                                     comment='坐标修正：swapped 经纬度颠倒已纠正'))
    op.add_column('cases', sa.Column('source_import_id', sa.Integer(), nullable=True))
    op.add_column('cases', sa.Column('source_row', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_cases_source_import_id'), 'cases', 'imports',
                          ['source_import_id'], ['id'], ondelete='SET NULL')
    op.create_check_constraint(op.f('ck_cases_base_level'), 'cases',
                               "base_level IS NULL OR base_level IN ('community', 'street', 'city')")
    op.create_check_constraint(op.f('ck_cases_category_by'), 'cases',
                               "category_by IS NULL OR category_by IN ('name', 'keywords', 'default')")
    op.create_check_constraint(op.f('ck_cases_coord_fix'), 'cases',
                               "coord_fix IS NULL OR coord_fix IN ('swapped')")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_cases_coord_fix'), 'cases', type_='check')
    op.drop_constraint(op.f('ck_cases_category_by'), 'cases', type_='check')
    op.drop_constraint(op.f('ck_cases_base_level'), 'cases', type_='check')
    op.drop_constraint(op.f('fk_cases_source_import_id'), 'cases', type_='foreignkey')
    for col in ('source_row', 'source_import_id', 'coord_fix', 'handler', 'category_by',
                'escalations', 'base_level', 'co_depts'):
        op.drop_column('cases', col)
    op.drop_index(op.f('ix_quarantine_import_id'), table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_table('imports')
