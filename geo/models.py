"""The spatial model: every table propmap keeps, in SRID 4326.

Constraints keep bad data out at the database, whatever wrote it: geometry
types and SRIDs are fixed, enumerations are CHECKed, a case number is unique
per channel, and derived flags can never disagree with the facts they derive
from: 三无 is a generated column, 老旧 is kept by triggers from the build year
and the threshold in ``config`` (migration 0005; a generated column cannot read
a setting).

Personal data (complainants' names and phone numbers) lives in
``complainants`` only; no layer and no default export reads that table.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

SRID = 4326

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Management modes of a compound, with their Chinese labels.
MANAGEMENT_MODES = {
    "property_firm": "物业服务企业",
    "owners_self": "业主自管",
    "work_unit": "单位自管",
    "street_custody": "街道托管",
    "none": "无人管理",
}
OWNERS_COMMITTEE = {"established": "已成立业委会", "preparing": "筹备中",
                    "mgmt_committee": "物业管理委员会", "none": "无业主组织"}
CHANNELS = {"12345": "12345热线", "mailbox": "市长信箱", "petition": "信访"}
LEVELS = {"community": "社区", "street": "街道", "city": "市级"}
STATUSES = {
    "received": "已受理",
    "in_progress": "办理中",
    "closed": "已办结",
    "visited": "已回访",
    "reopened": "重新办理",
}
OPEN_STATUSES = ("received", "in_progress", "reopened")
CLOSED_STATUSES = ("closed", "visited")
SATISFACTION = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
HAZARD_THEMES = {"fire": "消防安全", "elevator": "电梯安全", "security": "治安秩序"}
HAZARD_STATUSES = {"open": "待整改", "rectifying": "整改中", "closed": "已整改",
                   "overdue": "逾期未整改"}
LOCATED_BY = {
    "coordinates": "坐标",
    "compound_name": "小区名称",
    "address": "地址",
    "area_name": "辖区名称",  # migration 0006: only a street office or community was named
    "none": "未定位",
}


def _in(column: str, values: dict[str, str] | tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


streets = Table(
    "streets",
    metadata,
    Column("code", String(12), primary_key=True, comment="国家统计局区划代码（12位）"),
    Column("name", Text, nullable=False, unique=True),
    Column("kind", String(6), nullable=False, comment="street 街道 / town 镇"),
    Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False),
    Column("synthetic", Boolean, nullable=False, server_default="false"),
    CheckConstraint("kind IN ('street', 'town')", name="kind"),
    CheckConstraint("code ~ '^[0-9]{12}$'", name="code_digits"),
    CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
    comment="街道办事处与镇的辖区",
)

street_parts = Table(
    "street_parts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("street_code", String(12), ForeignKey("streets.code", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("geom", Geometry("POLYGON", srid=SRID, spatial_index=True), nullable=False),
    comment="街道辖区按 ST_Subdivide 切分的小块：点落区判断用它，比整块多边形快一个量级",
)

communities = Table(
    "communities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("street_code", String(12), ForeignKey("streets.code", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False),
    Column("synthetic", Boolean, nullable=False, server_default="false"),
    CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
    UniqueConstraint("street_code", "name", name="uq_communities_street_name"),
    comment="社区",
)

property_firms = Table(
    "property_firms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    # Migration 0013: both derive from the history (credit_ratings, credit_list_changes);
    # triggers keep them and refuse any other write.
    Column("credit_rating", String(3),
           comment="信用等级 AAA/AA/A/B/C/D：最新发布的评价（由 credit_ratings 得出）"),
    Column("list_status", String(5), nullable=False, server_default="none",
           comment="红黑榜 red / black / none：最新的红黑榜决定（由 credit_list_changes 得出）"),
    Column("synthetic", Boolean, nullable=False, server_default="false"),
    CheckConstraint("list_status IN ('red', 'black', 'none')", name="list_status"),
    CheckConstraint("credit_rating IN ('AAA', 'AA', 'A', 'B', 'C', 'D')", name="credit_rating"),
    comment="物业服务企业",
)

compounds = Table(
    "compounds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(24), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("aliases", ARRAY(Text), nullable=False, server_default="{}"),
    Column("address", Text),
    Column("build_year", SmallInteger),
    Column("households", Integer),
    Column("buildings", SmallInteger),
    Column("floors", SmallInteger, comment="最高楼层"),
    Column("management_mode", String(16), nullable=False, server_default="none"),
    Column("firm_id", Integer, ForeignKey("property_firms.id", ondelete="SET NULL"), index=True),
    Column("owners_committee", String(16), nullable=False, server_default="none"),
    Column("competent_dept", Text, comment="主管部门（单位自管小区的产权单位等）"),
    Column("street_code", String(12), ForeignKey("streets.code"), index=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="SET NULL"), index=True),
    Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False),
    Column("synthetic", Boolean, nullable=False, server_default="false"),
    Column(
        "is_sanwu",
        Boolean,
        # one definition, in SQL, shared with compound_states_on (migration 0014)
        Computed("propmap_sanwu(firm_id, competent_dept, owners_committee)", persisted=True),
        comment="三无小区：无物业服务企业、无主管部门、无业主组织",
    ),
    CheckConstraint(_in("management_mode", MANAGEMENT_MODES), name="management_mode"),
    CheckConstraint(_in("owners_committee", OWNERS_COMMITTEE), name="owners_committee"),
    CheckConstraint("(management_mode = 'property_firm') = (firm_id IS NOT NULL)",
                    name="firm_matches_mode"),
    CheckConstraint("build_year BETWEEN 1900 AND 2100", name="build_year"),
    CheckConstraint("households >= 0 AND buildings >= 0 AND floors >= 0", name="counts"),
    CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
    comment="住宅小区",
)

departments = Table(
    "departments",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("policy_item", Text),
    comment="职能部门（来自实施方案）",
)

categories = Table(
    "categories",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("theme", String(24), nullable=False),
    Column("lead_dept", String(32), ForeignKey("departments.code"), nullable=False),
    Column("co_depts", ARRAY(String(32)), nullable=False, server_default="{}"),
    Column("default_level", String(9), nullable=False),
    Column("time_limit_days", SmallInteger, nullable=False),
    Column("keywords", ARRAY(Text), nullable=False, server_default="{}"),
    Column("policy_item", Text),
    CheckConstraint(_in("default_level", LEVELS), name="default_level"),
    CheckConstraint("time_limit_days > 0", name="time_limit"),
    comment="物业矛盾纠纷问题分类处置清单",
)

cases = Table(
    "cases",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("channel", String(8), nullable=False),
    Column("case_no", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("category_code", String(8), ForeignKey("categories.code"), nullable=False),
    Column("content", Text),
    Column("address", Text),
    Column("geom", Geometry("POINT", srid=SRID, spatial_index=True)),
    Column("located_by", String(16), nullable=False, server_default="none"),
    Column("compound_id", Integer, ForeignKey("compounds.id", ondelete="SET NULL")),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="SET NULL")),
    Column("street_code", String(12), ForeignKey("streets.code")),
    Column("level", String(9), nullable=False),
    Column("lead_dept", String(32), ForeignKey("departments.code"), nullable=False),
    Column("status", String(12), nullable=False, server_default="received"),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("satisfaction", String(12)),
    Column("synthetic", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("channel", "case_no", name="uq_cases_channel_case_no"),
    CheckConstraint(_in("channel", CHANNELS), name="channel"),
    CheckConstraint(_in("level", LEVELS), name="level"),
    CheckConstraint(_in("status", STATUSES), name="status"),
    CheckConstraint(_in("located_by", LOCATED_BY), name="located_by"),
    CheckConstraint(f"satisfaction IS NULL OR {_in('satisfaction', SATISFACTION)}",
                    name="satisfaction"),
    CheckConstraint("due_at >= received_at", name="due_after_received"),
    CheckConstraint("closed_at IS NULL OR closed_at >= received_at", name="closed_after_received"),
    # Migration 0004: a closed case may lack its closing time (real exports), an open one has none.
    CheckConstraint("closed_at IS NULL OR status IN ('closed', 'visited')",
                    name="open_has_no_closing_time"),
    comment="矛盾纠纷诉求工单（12345热线、市长信箱、信访）",
)
Index("ix_cases_received_at", cases.c.received_at)
Index("ix_cases_community_id", cases.c.community_id)
Index("ix_cases_compound_id", cases.c.compound_id)
# Migration 0003: the dashboard's hot paths (see there for the measurements).
Index("ix_cases_street_received", cases.c.street_code, cases.c.received_at,
      postgresql_include=["community_id", "compound_id", "category_code", "channel", "level",
                          "status", "due_at", "closed_at", "satisfaction", "reopen_count"])
Index("ix_cases_open_street", cases.c.street_code, cases.c.due_at,
      postgresql_where=cases.c.status.in_(OPEN_STATUSES))
Index("ix_cases_loose_received", cases.c.received_at,
      postgresql_include=["geom", "category_code", "channel", "status"],
      postgresql_where=cases.c.compound_id.is_(None) & cases.c.geom.isnot(None))

complainants = Table(
    "complainants",
    metadata,
    Column("case_id", BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("name", Text),
    Column("phone", Text),
    comment="来电人个人信息：仅存于此表，任何图层与默认导出均不读取",
)

hazards = Table(
    "hazards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("theme", String(10), nullable=False),
    Column("compound_id", Integer, ForeignKey("compounds.id", ondelete="CASCADE"), index=True),
    Column("geom", Geometry("POINT", srid=SRID, spatial_index=True), nullable=False),
    Column("description", Text, nullable=False),
    Column("found_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", String(10), nullable=False, server_default="open"),
    Column("closed_on", Date),
    Column("synthetic", Boolean, nullable=False, server_default="false"),
    CheckConstraint(_in("theme", HAZARD_THEMES), name="theme"),
    CheckConstraint(_in("status", HAZARD_STATUSES), name="status"),
    CheckConstraint("due_on >= found_on", name="due_after_found"),
    CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name="closed_has_date"),
    comment="消防、电梯、治安隐患",
)

dataset_meta = Table(
    "dataset_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    comment="数据集说明（如演示数据的生成参数）",
)


# --- Case intake (migration 0002) -----------------------------------------

from sqlalchemy.dialects.postgresql import JSONB  # noqa: E402

IMPORT_KINDS = {"cases": "工单", "compounds": "小区名录", "boundaries": "辖区边界",
                "hazards": "隐患检查记录", "worklist": "工作清单回传"}
CATEGORY_BY = {"name": "按类别名", "keywords": "按内容关键词", "default": "其他"}

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(12), nullable=False),
    Column("file", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("channel", String(8)),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("rows_read", Integer, nullable=False, server_default="0"),
    Column("inserted", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("quarantined", Integer, nullable=False, server_default="0"),
    Column("summary", JSONB, nullable=False, server_default="{}"),
    Column("voided", Integer, nullable=False, server_default="0",
           comment="作废而跳过的行"),  # migration 0006
    CheckConstraint(_in("kind", IMPORT_KINDS), name="kind"),
    CheckConstraint("rows_read = inserted + updated + unchanged + voided + quarantined",
                    name="accounting"),
    comment="导入批次：文件、时间与逐行核算（读入 = 新增 + 更新 + 未变 + 作废 + 隔离）",
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("file", Text, nullable=False),
    Column("row_no", Integer, nullable=False),
    Column("raw", JSONB, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text),
    comment="隔离区：未能导入的行（原始值中的姓名与电话已脱敏）及原因",
)

for _extra in (
    Column("co_depts", ARRAY(String(32)), nullable=False, server_default="{}"),
    Column("base_level", String(9),
           comment="重复投诉升级前的层级（导入时由类别、渠道与超期规则得出）"),
    Column("escalations", ARRAY(Text), nullable=False, server_default="{}",
           comment="适用的升级规则：channel_floor / overdue / repeat"),
    Column("category_by", String(8),
           comment="类别来源：name 按类别名 / keywords 按内容关键词 / default 其他"),
    Column("handler", Text, comment="导出文件中的承办单位（原文）"),
    Column("coord_fix", String(12), comment="坐标修正：swapped 经纬度颠倒已纠正"),
    Column("source_import_id", Integer, ForeignKey("imports.id", ondelete="SET NULL")),
    Column("source_row", Integer),
    CheckConstraint(f"base_level IS NULL OR {_in('base_level', LEVELS)}", name="base_level"),
    CheckConstraint(f"category_by IS NULL OR {_in('category_by', CATEGORY_BY)}",
                    name="category_by"),
    CheckConstraint("coord_fix IS NULL OR coord_fix IN ('swapped')", name="coord_fix"),
):
    if isinstance(_extra, Column):
        cases.append_column(_extra)
    else:
        cases.append_constraint(_extra)


# --- Caching (migration 0003) -----------------------------------------------

data_version = Table(
    "data_version",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("id = 1", name="single_row"),
    comment="数据版本：地图所用各表每次变更加一，缓存以此为键",
)


# --- Case history (migration 0004) -------------------------------------------

cases.append_column(Column("reopen_count", SmallInteger, nullable=False, server_default="0",
                           comment="重新办理次数（曾被退回重办的次数，不只看当前状态）"))
cases.append_constraint(CheckConstraint("reopen_count >= 0", name="reopen_count"))

CASE_EVENT_KINDS = {
    "received": "受理", "status": "状态变化", "reopened": "重新办理", "escalated": "升级",
    "closed": "办结", "visited": "回访", "voided": "作废", "note": "备注",
}

case_events = Table(
    "case_events",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("case_id", BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(12)),
    Column("level", String(9)),
    Column("note", Text),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="SET NULL")),
    Column("recorded_by", Text, comment="记录人（账号名）；导入时为空"),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(_in("kind", CASE_EVENT_KINDS), name="kind"),
    comment="工单时间线：受理、状态变化、重新办理、升级与备注（只追加，不改写）",
)
Index("ix_case_events_case_id", case_events.c.case_id, case_events.c.at)


# --- Settings the database applies (migration 0005) -------------------------

config = Table(
    "config",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("old_compound_before", SmallInteger, nullable=False, server_default="2001",
           comment="建成年份早于该年的小区为老旧小区"),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("id = 1", name="single_row"),
    CheckConstraint("old_compound_before BETWEEN 1900 AND 2100", name="old_compound_before"),
    comment="数据库须知的设置（每条 propmap 命令按环境变量同步）；只有一行",
)

#: Kept by the triggers of migration 0005 from ``build_year`` and
#: ``config.old_compound_before`` (``PROPMAP_OLD_COMPOUND_BEFORE``).
compounds.append_column(Column(
    "is_old", Boolean, nullable=False, server_default="false",
    comment="老旧小区：建成年份早于 config.old_compound_before"
            "（设置 PROPMAP_OLD_COMPOUND_BEFORE）"))


# --- Accounts and audit (migration 0009) -------------------------------------------------

ACCOUNT_KINDS = {
    "leader": "联席会议", "housing": "住建局", "street": "街道/镇", "community": "社区",
    "dept": "职能部门", "viewer": "会议大屏", "admin": "系统管理员",
}

department_themes = Table(
    "department_themes",
    metadata,
    Column("dept", String(32), ForeignKey("departments.code"), primary_key=True),
    Column("theme", String(10), primary_key=True),
    CheckConstraint(_in("theme", HAZARD_THEMES), name="theme"),
    comment="部门监管的隐患主题（全市）：消防救援大队—消防，市场监管局—电梯，公安—治安",
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("display_name", Text),
    Column("role", String(12), nullable=False),
    Column("streets", ARRAY(String(12)), nullable=False, server_default="{}"),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="SET NULL")),
    Column("dept", String(32), ForeignKey("departments.code")),
    Column("pw_hash", Text, nullable=False),
    Column("must_change", Boolean, nullable=False, server_default="true"),
    Column("disabled", Boolean, nullable=False, server_default="false"),
    Column("failed_count", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Column("oidc_subject", Text, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_login_at", DateTime(timezone=True)),
    CheckConstraint(_in("role", ACCOUNT_KINDS), name="role"),
    CheckConstraint("(role = 'street') = (cardinality(streets) > 0)", name="street_scope"),
    CheckConstraint("(role = 'community') = (community_id IS NOT NULL)", name="community_scope"),
    CheckConstraint("(role = 'dept') = (dept IS NOT NULL)", name="dept_scope"),
    CheckConstraint("pw_hash LIKE '$argon2id$%'", name="argon2"),
    comment="看板账号：类型、辖区范围、Argon2 口令散列与锁定状态",
)

AUDIT_EVENTS = {
    "login": "登录", "login_failed": "登录失败", "lockout": "账号锁定", "logout": "退出",
    "session_expired": "会话超时", "password_changed": "修改密码", "password_reset": "重置密码",
    "account_created": "创建账号", "account_disabled": "停用账号",
    "account_enabled": "启用账号", "scope_changed": "变更范围", "download": "下载",
    "export": "导出", "write": "写入",
}

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False,
           server_default=text("clock_timestamp()")),
    Column("account", Text),
    Column("role", Text),
    Column("event", String(24), nullable=False),
    Column("detail", JSONB, nullable=False, server_default="{}"),
    comment="审计日志（只追加）：登录、失败、锁定、下载与导出、写入",
)
Index("ix_audit_log_at", audit_log.c.at)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("account", Text, ForeignKey("accounts.name", ondelete="CASCADE", onupdate="CASCADE"),
           nullable=False),
    Column("client", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("ended_at", DateTime(timezone=True)),
    comment="看板登录会话（只存令牌的 SHA-256）：空闲超时与退出在数据库中判定",
)
Index("ix_audit_log_account", audit_log.c.account, audit_log.c.at)


# --- Typical cases (migration 0015) ------------------------------------------------------

typical_cases = Table(
    "typical_cases",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("case_id", BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("quarter", String(6), nullable=False, comment="季度，如 2026Q3"),
    Column("note", Text, nullable=False, comment="简要说明（不超过 200 字）"),
    Column("marked_by", Text, nullable=False,
           server_default=text("coalesce(nullif(current_setting('propmap.account', true), ''), "
                               "current_user)"),
           comment="标记人（账号名）"),
    Column("marked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("case_id", "quarter", name="uq_typical_cases_case_id"),
    CheckConstraint("quarter ~ '^[0-9]{4}Q[1-4]$'", name="quarter"),
    CheckConstraint("char_length(btrim(note)) BETWEEN 1 AND 200", name="note"),
    comment="典型案例：联席会议按季度选定的工单及简要说明",
)
Index("ix_typical_cases_quarter", typical_cases.c.quarter)

#: Why a case's level was raised (``cases.escalations``, rules in data/intake/rules.toml).
ESCALATION_REASONS = {
    "channel_floor": "来源渠道起点：信访件至少由街道调处",
    "overdue": "超过办理时限，升级一级",
    "repeat": "同一小区同类诉求短期内重复发生，升级一级",
}
# --- Repeats and multi-channel complaints (migration 0010) -----------------------

cases.append_column(Column(
    "repeat_of", BigInteger, ForeignKey("cases.id", ondelete="SET NULL"),
    comment="办结后再诉：同小区同类别、在此前办结后规定天数内再次受理时，指向那件已办结工单"))
cases.append_column(Column(
    "complaint_group", BigInteger, ForeignKey("cases.id", ondelete="SET NULL"),
    comment="一事多诉：同一诉求经多个渠道反映时，组内各件指向组内最早一件（含其自身）"))
cases.append_constraint(CheckConstraint("repeat_of IS NULL OR repeat_of <> id",
                                        name="repeat_not_self"))
Index("ix_cases_repeat_of", cases.c.repeat_of, postgresql_where=cases.c.repeat_of.isnot(None))
Index("ix_cases_complaint_group", cases.c.complaint_group,
      postgresql_where=cases.c.complaint_group.isnot(None))
for _ix in cases.indexes:
    # The covering indexes of migration 0003 carry the new columns (see migration 0010).
    if _ix.name == "ix_cases_street_received":
        _ix.dialect_options["postgresql"]["include"] = [
            *_ix.dialect_options["postgresql"]["include"], "id", "repeat_of", "complaint_group"]
    elif _ix.name == "ix_cases_loose_received":
        _ix.dialect_options["postgresql"]["include"] = [
            *_ix.dialect_options["postgresql"]["include"], "id", "complaint_group"]


# --- Voided cases (migration 0006) --------------------------------------------

voided_cases = Table(
    "voided_cases",
    metadata,
    Column("channel", String(8), primary_key=True),
    Column("case_no", Text, primary_key=True),
    Column("voided_at", DateTime(timezone=True), nullable=False, server_default=func.now(),
           comment="作废记入的时间（导入时间）"),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="SET NULL")),
    Column("had_case", Boolean, nullable=False, server_default="false",
           comment="作废时库中已有该工单（已删除）"),
    CheckConstraint(_in("channel", CHANNELS), name="channel"),
    comment="已作废工单：不计入任何统计，再次导入时不再新增",
)


# --- Credit, red and black lists, party building (migration 0013) ------------------------------

CREDIT_SUBJECTS = {"firm": "物业服务企业", "committee": "业主委员会"}
LIST_STATUSES = {"red": "红榜", "black": "黑榜", "none": "未列入"}
CREDIT_BANDS = ("AAA", "AA", "A", "B", "C", "D")


def _subject(table: str) -> list[Column | CheckConstraint]:
    """The subject of a history row: a firm, or a committee named by its compound."""
    return [
        Column("id", BigInteger, primary_key=True),
        Column("subject", String(10), nullable=False,
               comment="firm 物业服务企业 / committee 业主委员会"),
        Column("firm_id", Integer, ForeignKey("property_firms.id"), index=True),
        Column("compound_id", Integer, ForeignKey("compounds.id"), index=True,
               comment="业主委员会所在小区（业委会以小区标识）"),
        CheckConstraint("(subject = 'firm' AND firm_id IS NOT NULL AND compound_id IS NULL) "
                        "OR (subject = 'committee' AND compound_id IS NOT NULL "
                        "AND firm_id IS NULL)", name="subject"),
    ]


def _recorded() -> list[Column]:
    return [Column("recorded_by", Text, nullable=False, comment="记录人（账号名）"),
            Column("recorded_at", DateTime(timezone=True), nullable=False,
                   server_default=text("clock_timestamp()"))]


credit_events = Table(
    "credit_events",
    metadata,
    *_subject("credit_events"),
    Column("kind", String(24), nullable=False,
           comment="事项（见 data/credit/*.toml 的 [events]）；withdrawal 为撤销"),
    Column("occurred_on", Date, nullable=False, comment="事项发生（决定）日期"),
    Column("reason", Text, nullable=False),
    Column("doc_no", Text, nullable=False, comment="文号"),
    Column("withdraws", BigInteger, ForeignKey("credit_events.id"), unique=True,
           comment="撤销的记录"),
    *_recorded(),
    CheckConstraint("length(btrim(reason)) >= 2", name="reason"),
    CheckConstraint("length(btrim(doc_no)) >= 1", name="doc_no"),
    CheckConstraint("(kind = 'withdrawal') = (withdraws IS NOT NULL)", name="withdrawal"),
    comment="信用记录事项（表彰、处罚、解除合同等；只追加，撤销以新记录表示）",
)

credit_list_changes = Table(
    "credit_list_changes",
    metadata,
    *_subject("credit_list_changes"),
    Column("status", String(5), nullable=False),
    Column("previous", String(5), nullable=False),
    Column("basis", String(10), nullable=False,
           comment="proposal 采纳建议 / override 改判 / manual 直接认定 / migration"),
    Column("period", String(6), comment="对应的评价季度，如 2026Q2"),
    Column("proposed", String(5), comment="当时的系统建议"),
    Column("reason", Text, nullable=False),
    Column("doc_no", Text),
    Column("decided_on", Date, nullable=False),
    *_recorded(),
    CheckConstraint("status IN ('red', 'black', 'none') AND previous IN ('red', 'black', 'none') "
                    "AND (proposed IS NULL OR proposed IN ('red', 'black', 'none'))",
                    name="status"),
    CheckConstraint("basis IN ('proposal', 'override', 'manual', 'migration')", name="basis"),
    CheckConstraint("period IS NULL OR period ~ '^[0-9]{4}Q[1-4]$'", name="period"),
    CheckConstraint("length(btrim(reason)) >= 2", name="reason"),
    comment="红黑榜决定（只追加）：当前状态为最新一条",
)

credit_ratings = Table(
    "credit_ratings",
    metadata,
    *_subject("credit_ratings"),
    Column("period", String(6), comment="评价季度；空为迁移前登记的等级"),
    Column("score", Numeric(5, 1)),
    Column("band", String(3), nullable=False),
    Column("parts", JSONB, nullable=False, server_default="{}"),
    Column("model_version", Text),
    Column("note", Text),
    *_recorded(),
    CheckConstraint("band IN ('AAA', 'AA', 'A', 'B', 'C', 'D')", name="band"),
    CheckConstraint("period IS NULL OR period ~ '^[0-9]{4}Q[1-4]$'", name="period"),
    comment="已发布的信用评价（只追加）：当前等级为最新季度的一条",
)

party_building = Table(
    "party_building",
    metadata,
    *_subject("party_building"),
    Column("has_party_org", Boolean, nullable=False, comment="已建立党组织"),
    Column("party_org_name", Text),
    Column("party_members", Integer),
    Column("mass_eligible", Boolean, comment="符合群团组织组建条件（空为不详）"),
    Column("has_mass_org", Boolean, comment="已建立群团组织（工会、共青团、妇联等）"),
    Column("note", Text),
    Column("source", String(12), nullable=False,
           comment="dashboard 看板 / import 导入 / demo 演示 / migration"),
    Column("source_file", Text),
    *_recorded(),
    CheckConstraint("party_members IS NULL OR party_members >= 0", name="members"),
    CheckConstraint("source IN ('dashboard', 'import', 'demo', 'migration')", name="source"),
    comment="党建情况（红色物业）：党组织与群团组织（只追加，当前为最新一条）",
)
# --- Management history and rectification (migration 0014) ---------------------------

#: What a street office (or the register) can record about a compound's management.
COMPOUND_EVENT_KINDS = {
    "registered": "名录登记",
    "takeover": "街道托管",
    "firm_in": "引入物业服务企业",
    "owners_self": "业主自管",
    "work_unit": "单位自管",
    "committee_formed": "成立业主大会/业主委员会",
    "committee_renewed": "业委会换届",
    "mgmt_committee": "成立物业管理委员会",
    "firm_out": "退出/撤场",
}
#: Where a record came from.
EVENT_SOURCES = {
    "dashboard": "看板", "cli": "命令行", "worklist": "清单回传", "register": "名录导入",
    "inspection": "检查记录导入", "demo": "演示数据",
}
#: The parts of a compound's state an event may set (see geo.history).
EVENT_GROUPS = {"management": "管理方式与物业企业", "dept": "主管部门", "committee": "业主组织"}
#: How the precedence decided a register statement that disagreed with a street's record.
EVENT_CONFLICTS = {"kept_record": "名录较旧，保留街道记录（名录未生效）",
                   "overrode_record": "名录较新，已覆盖街道记录"}
#: A hazard event is the status it leaves the hazard in.
HAZARD_EVENT_KINDS = {"open": "发现（待整改）", "rectifying": "开始整改", "closed": "整改完成",
                      "overdue": "逾期未整改"}

compounds.append_column(Column("mode_since", Date, comment="现管理方式自何日起（由管理记录推导）"))
compounds.append_column(Column("committee_since", Date,
                               comment="业主组织成立或最近换届日期（由管理记录推导）"))
compounds.append_column(Column("committee_term_end", Date,
                               comment="本届业委会（物管会）任期届满日期（由管理记录推导）"))
hazards.append_column(Column("source_no", Text, comment="检查记录中的隐患编号（同一类别内唯一）"))
hazards.append_column(Column("found_by", Text, comment="检查单位"))
hazards.append_column(Column("import_id", Integer, ForeignKey("imports.id", ondelete="SET NULL")))
Index("uq_hazards_theme_source_no", hazards.c.theme, hazards.c.source_no, unique=True,
      postgresql_where=hazards.c.source_no.isnot(None))

record_permissions = Table(
    "record_permissions",
    metadata,
    Column("account_kind", String(12), primary_key=True),
    Column("target", String(10), primary_key=True),
    Column("event_kind", String(20), primary_key=True),
    CheckConstraint("target IN ('compound', 'hazard')", name="target"),
    comment="哪类账号可以记录哪类事项（data/reference/record-permissions.csv）",
)

compound_events = Table(
    "compound_events",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("compound_id", Integer, ForeignKey("compounds.id", ondelete="CASCADE"),
           nullable=False),
    Column("kind", String(20), nullable=False),
    Column("on_date", Date, comment="事项日期；名录登记可为空（日期不详，早于一切）"),
    Column("sets", ARRAY(String(12)), nullable=False, server_default="{}",
           comment="本事项确定的状态：management / dept / committee"),
    Column("mode", String(16)),
    Column("firm_id", Integer, ForeignKey("property_firms.id")),
    Column("competent_dept", Text),
    Column("owners_committee", String(16)),
    Column("term_end", Date, comment="业委会（物管会）本届任期届满日期"),
    Column("doc_no", Text, comment="文号"),
    Column("note", Text),
    Column("source", String(12), nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="SET NULL")),
    Column("recorded_by", Text, comment="记录人（账号名）"),
    Column("recorded_at", DateTime(timezone=True), nullable=False,
           server_default=text("clock_timestamp()")),
    Column("applied", Boolean, nullable=False, server_default="true",
           comment="是否生效：名录与较新的街道记录不一致时不生效，留待核对"),
    Column("conflict", String(16),
           comment="kept_record 名录较旧，保留街道记录 / overrode_record 名录较新，覆盖街道记录"),
    Column("conflict_event_id", BigInteger, ForeignKey("compound_events.id")),
    Column("synthetic", Boolean, nullable=False, server_default="false"),
    CheckConstraint(_in("kind", COMPOUND_EVENT_KINDS), name="kind"),
    CheckConstraint(_in("source", EVENT_SOURCES), name="source"),
    CheckConstraint("applied OR conflict = 'kept_record'", name="unapplied_is_conflict"),
    comment="小区管理记录（只追加，不改写）：托管、引入物业、业委会成立与换届、撤场、名录登记",
)
Index("ix_compound_events_compound", compound_events.c.compound_id, compound_events.c.on_date,
      compound_events.c.id)

hazard_events = Table(
    "hazard_events",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("hazard_id", Integer, ForeignKey("hazards.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(12), nullable=False, comment="记录后的整改状态"),
    Column("on_date", Date, nullable=False),
    Column("note", Text),
    Column("source", String(12), nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="SET NULL")),
    Column("recorded_by", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False,
           server_default=text("clock_timestamp()")),
    Column("synthetic", Boolean, nullable=False, server_default="false"),
    CheckConstraint(_in("kind", HAZARD_EVENT_KINDS), name="kind"),
    CheckConstraint(_in("source", EVENT_SOURCES), name="source"),
    comment="隐患整改记录（只追加，不改写）：发现、整改中、已整改、逾期未整改",
)
Index("ix_hazard_events_hazard", hazard_events.c.hazard_id, hazard_events.c.on_date,
      hazard_events.c.id)
