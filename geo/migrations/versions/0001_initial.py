"""initial spatial model

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 22:15:26.318921
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dataset_meta',
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_dataset_meta')),
    comment='数据集说明（如演示数据的生成参数）'
    )
    op.create_table('departments',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('policy_item', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_departments')),
    comment='职能部门（来自实施方案）'
    )
    op.create_table('property_firms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('credit_rating', sa.String(length=2), nullable=True, comment='信用等级 A/B/C/D'),
    sa.Column('list_status', sa.String(length=5), server_default='none', nullable=False, comment='红黑榜：red / black / none'),
    sa.Column('synthetic', sa.Boolean(), server_default='false', nullable=False),
    sa.CheckConstraint("credit_rating IN ('A', 'B', 'C', 'D')", name=op.f('ck_property_firms_credit_rating')),
    sa.CheckConstraint("list_status IN ('red', 'black', 'none')", name=op.f('ck_property_firms_list_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_firms')),
    sa.UniqueConstraint('name', name=op.f('uq_property_firms_name')),
    comment='物业服务企业'
    )
    op.create_geospatial_table('streets',
    sa.Column('code', sa.String(length=12), nullable=False, comment='国家统计局区划代码（12位）'),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False, comment='street 街道 / town 镇'),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default='false', nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{12}$'", name=op.f('ck_streets_code_digits')),
    sa.CheckConstraint("kind IN ('street', 'town')", name=op.f('ck_streets_kind')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_streets_geom_valid')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_streets')),
    sa.UniqueConstraint('name', name=op.f('uq_streets_name'))
    )
    op.create_geospatial_index('idx_streets_geom', 'streets', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('street_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('street_code', sa.String(length=12), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['street_code'], ['streets.code'], name=op.f('fk_street_parts_street_code'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_street_parts')),
    comment='街道辖区按 ST_Subdivide 切分的小块：点落区判断用它，比整块多边形快一个量级'
    )
    op.create_geospatial_index('idx_street_parts_geom', 'street_parts', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_street_parts_street_code'), 'street_parts', ['street_code'], unique=False)
    op.create_table('categories',
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('theme', sa.String(length=24), nullable=False),
    sa.Column('lead_dept', sa.String(length=32), nullable=False),
    sa.Column('co_depts', postgresql.ARRAY(sa.String(length=32)), server_default='{}', nullable=False),
    sa.Column('default_level', sa.String(length=9), nullable=False),
    sa.Column('time_limit_days', sa.SmallInteger(), nullable=False),
    sa.Column('keywords', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('policy_item', sa.Text(), nullable=True),
    sa.CheckConstraint("default_level IN ('community', 'street', 'city')", name=op.f('ck_categories_default_level')),
    sa.CheckConstraint('time_limit_days > 0', name=op.f('ck_categories_time_limit')),
    sa.ForeignKeyConstraint(['lead_dept'], ['departments.code'], name=op.f('fk_categories_lead_dept')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_categories')),
    sa.UniqueConstraint('name', name=op.f('uq_categories_name')),
    comment='物业矛盾纠纷问题分类处置清单'
    )
    op.create_geospatial_table('communities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('street_code', sa.String(length=12), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default='false', nullable=False),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_communities_geom_valid')),
    sa.ForeignKeyConstraint(['street_code'], ['streets.code'], name=op.f('fk_communities_street_code'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_communities')),
    sa.UniqueConstraint('code', name=op.f('uq_communities_code')),
    sa.UniqueConstraint('street_code', 'name', name='uq_communities_street_name')
    )
    op.create_geospatial_index('idx_communities_geom', 'communities', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_communities_street_code'), 'communities', ['street_code'], unique=False)
    op.create_geospatial_table('compounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('aliases', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('build_year', sa.SmallInteger(), nullable=True),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('buildings', sa.SmallInteger(), nullable=True),
    sa.Column('floors', sa.SmallInteger(), nullable=True, comment='最高楼层'),
    sa.Column('management_mode', sa.String(length=16), server_default='none', nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=True),
    sa.Column('owners_committee', sa.String(length=12), server_default='none', nullable=False),
    sa.Column('competent_dept', sa.Text(), nullable=True, comment='主管部门（单位自管小区的产权单位等）'),
    sa.Column('street_code', sa.String(length=12), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('is_sanwu', sa.Boolean(), sa.Computed("firm_id IS NULL AND competent_dept IS NULL AND owners_committee = 'none'", persisted=True), nullable=True, comment='三无小区：无物业服务企业、无主管部门、无业主组织'),
    sa.Column('is_old', sa.Boolean(), sa.Computed('coalesce(build_year < 2001, false)', persisted=True), nullable=True, comment='老旧小区：2000年底前建成'),
    sa.CheckConstraint("(management_mode = 'property_firm') = (firm_id IS NOT NULL)", name=op.f('ck_compounds_firm_matches_mode')),
    sa.CheckConstraint("management_mode IN ('property_firm', 'owners_self', 'work_unit', 'street_custody', 'none')", name=op.f('ck_compounds_management_mode')),
    sa.CheckConstraint("owners_committee IN ('established', 'preparing', 'none')", name=op.f('ck_compounds_owners_committee')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_compounds_geom_valid')),
    sa.CheckConstraint('build_year BETWEEN 1900 AND 2100', name=op.f('ck_compounds_build_year')),
    sa.CheckConstraint('households >= 0 AND buildings >= 0 AND floors >= 0', name=op.f('ck_compounds_counts')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_compounds_community_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['firm_id'], ['property_firms.id'], name=op.f('fk_compounds_firm_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['street_code'], ['streets.code'], name=op.f('fk_compounds_street_code')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compounds')),
    sa.UniqueConstraint('code', name=op.f('uq_compounds_code'))
    )
    op.create_geospatial_index('idx_compounds_geom', 'compounds', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_compounds_community_id'), 'compounds', ['community_id'], unique=False)
    op.create_index(op.f('ix_compounds_firm_id'), 'compounds', ['firm_id'], unique=False)
    op.create_index(op.f('ix_compounds_street_code'), 'compounds', ['street_code'], unique=False)
    op.create_geospatial_table('cases',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('case_no', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('category_code', sa.String(length=8), nullable=False),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('located_by', sa.String(length=16), server_default='none', nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('street_code', sa.String(length=12), nullable=True),
    sa.Column('level', sa.String(length=9), nullable=False),
    sa.Column('lead_dept', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='received', nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('satisfaction', sa.String(length=12), nullable=True),
    sa.Column('synthetic', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status IN ('closed', 'visited')) = (closed_at IS NOT NULL)", name=op.f('ck_cases_closed_has_time')),
    sa.CheckConstraint("channel IN ('12345', 'mailbox', 'petition')", name=op.f('ck_cases_channel')),
    sa.CheckConstraint("level IN ('community', 'street', 'city')", name=op.f('ck_cases_level')),
    sa.CheckConstraint("located_by IN ('coordinates', 'compound_name', 'address', 'none')", name=op.f('ck_cases_located_by')),
    sa.CheckConstraint("satisfaction IS NULL OR satisfaction IN ('satisfied', 'basic', 'unsatisfied')", name=op.f('ck_cases_satisfaction')),
    sa.CheckConstraint("status IN ('received', 'in_progress', 'closed', 'visited', 'reopened')", name=op.f('ck_cases_status')),
    sa.CheckConstraint('closed_at IS NULL OR closed_at >= received_at', name=op.f('ck_cases_closed_after_received')),
    sa.CheckConstraint('due_at >= received_at', name=op.f('ck_cases_due_after_received')),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_cases_category_code')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_cases_community_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_cases_compound_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_dept'], ['departments.code'], name=op.f('fk_cases_lead_dept')),
    sa.ForeignKeyConstraint(['street_code'], ['streets.code'], name=op.f('fk_cases_street_code')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('channel', 'case_no', name='uq_cases_channel_case_no')
    )
    op.create_geospatial_index('idx_cases_geom', 'cases', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_cases_community_id', 'cases', ['community_id'], unique=False)
    op.create_index('ix_cases_compound_id', 'cases', ['compound_id'], unique=False)
    op.create_index('ix_cases_received_at', 'cases', ['received_at'], unique=False)
    op.create_index('ix_cases_street_code', 'cases', ['street_code'], unique=False)
    op.create_geospatial_table('hazards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=10), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('found_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('synthetic', sa.Boolean(), server_default='false', nullable=False),
    sa.CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name=op.f('ck_hazards_closed_has_date')),
    sa.CheckConstraint("status IN ('open', 'rectifying', 'closed')", name=op.f('ck_hazards_status')),
    sa.CheckConstraint("theme IN ('fire', 'elevator', 'security')", name=op.f('ck_hazards_theme')),
    sa.CheckConstraint('due_on >= found_on', name=op.f('ck_hazards_due_after_found')),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_hazards_compound_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazards'))
    )
    op.create_geospatial_index('idx_hazards_geom', 'hazards', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_hazards_compound_id'), 'hazards', ['compound_id'], unique=False)
    op.create_table('complainants',
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_complainants_case_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_complainants')),
    comment='来电人个人信息：仅存于此表，任何图层与默认导出均不读取'
    )


def downgrade() -> None:
    op.drop_table('complainants')
    op.drop_index(op.f('ix_hazards_compound_id'), table_name='hazards')
    op.drop_geospatial_index('idx_hazards_geom', table_name='hazards', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('hazards')
    op.drop_index('ix_cases_street_code', table_name='cases')
    op.drop_index('ix_cases_received_at', table_name='cases')
    op.drop_index('ix_cases_compound_id', table_name='cases')
    op.drop_index('ix_cases_community_id', table_name='cases')
    op.drop_geospatial_index('idx_cases_geom', table_name='cases', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('cases')
    op.drop_index(op.f('ix_compounds_street_code'), table_name='compounds')
    op.drop_index(op.f('ix_compounds_firm_id'), table_name='compounds')
    op.drop_index(op.f('ix_compounds_community_id'), table_name='compounds')
    op.drop_geospatial_index('idx_compounds_geom', table_name='compounds', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('compounds')
    op.drop_index(op.f('ix_communities_street_code'), table_name='communities')
    op.drop_geospatial_index('idx_communities_geom', table_name='communities', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('communities')
    op.drop_table('categories')
    op.drop_index(op.f('ix_street_parts_street_code'), table_name='street_parts')
    op.drop_geospatial_index('idx_street_parts_geom', table_name='street_parts', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('street_parts')
    op.drop_geospatial_index('idx_streets_geom', table_name='streets', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('streets')
    op.drop_table('property_firms')
    op.drop_table('departments')
    op.drop_table('dataset_meta')
