"""credit of firms and owners' committees: events, list decisions, published ratings,
party-building records; list status and rating derive from them

Revision ID: 0013
Revises: 0011

Four history tables, appended and never overwritten (a trigger refuses UPDATE and
DELETE), each row saying who recorded it and when:

- ``credit_events``: awards, penalties, contract terminations … of a firm or an
  owners' committee, with date, reason and document number; a mistaken record is
  withdrawn by a new row of kind ``withdrawal`` naming it (``withdraws``);
- ``credit_list_changes``: every decision on the red and black lists: the
  status before and after, whether the model's proposal for a quarter was
  confirmed or overridden (or a decision of the bureau's own), the reason;
- ``credit_ratings``: the ratings published for a quarter (score, grade, the
  parts of the score, the model's version);
- ``party_building``: whether a firm or a committee has a party organisation
  and, where eligible, mass organisations (群团组织), as registered or edited.

A committee is named by its compound (``compound_id``): on this revision the
compound register is the only source of committees (geo/committees.py).

``property_firms.list_status`` and ``credit_rating`` now derive from the history:
triggers set them from the latest decision and the latest published rating, and
refuse any other write to them. ``credit_rating`` takes the grades AAA … D.
Existing values are carried into the history as ``migration`` rows first.

Row-level security: every role reads the firms' records, and the committees'
records of its area (as it reads compounds). Only the housing bureau's role may
insert credit records, only as itself (``recorded_by`` = the account of the
transaction); party-building records may also be inserted by street and community
accounts, for committees of their own area. Every table bumps the data version.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from geo import roles

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("credit_events", "credit_list_changes", "credit_ratings", "party_building")
CREDIT_TABLES = TABLES[:3]
STATUSES = "('red', 'black', 'none')"
BANDS = "('AAA', 'AA', 'A', 'B', 'C', 'D')"


def _q(name: str) -> str:
    return roles.quote_ident(name)


def _subject_columns(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("subject", sa.String(10), nullable=False,
                  comment="firm 物业服务企业 / committee 业主委员会"),
        sa.Column("firm_id", sa.Integer(), sa.ForeignKey("property_firms.id",
                                                         name=f"fk_{table}_firm_id")),
        sa.Column("compound_id", sa.Integer(), sa.ForeignKey("compounds.id",
                                                             name=f"fk_{table}_compound_id"),
                  comment="业主委员会所在小区（业委会以小区标识）"),
        sa.CheckConstraint("(subject = 'firm' AND firm_id IS NOT NULL AND compound_id IS NULL) "
                           "OR (subject = 'committee' AND compound_id IS NOT NULL "
                           "AND firm_id IS NULL)", name=op.f(f"ck_{table}_subject")),
    ]


def _recorded() -> list[sa.Column]:
    return [
        sa.Column("recorded_by", sa.Text(), nullable=False, comment="记录人（账号名）"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
    ]


FUNCTIONS = r"""
CREATE FUNCTION propmap_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '信用与党建记录只能追加，不能修改或删除：更正请追加一条新记录（如撤销原记录）';
END $$;

CREATE FUNCTION propmap_firm_credit_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.firm_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'credit_list_changes' THEN
        UPDATE property_firms p SET list_status = coalesce((
            SELECT c.status FROM credit_list_changes c WHERE c.firm_id = p.id
            ORDER BY c.decided_on DESC, c.id DESC LIMIT 1), 'none')
        WHERE p.id = NEW.firm_id;
    ELSE
        UPDATE property_firms p SET credit_rating = (
            SELECT r.band FROM credit_ratings r WHERE r.firm_id = p.id
            ORDER BY r.period DESC NULLS LAST, r.id DESC LIMIT 1)
        WHERE p.id = NEW.firm_id;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION propmap_firm_credit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- depth 1: a statement on property_firms itself; the sync trigger's update runs deeper
    IF pg_trigger_depth() <= 1 AND (
        (TG_OP = 'INSERT' AND (NEW.credit_rating IS NOT NULL OR NEW.list_status <> 'none'))
        OR (TG_OP = 'UPDATE' AND (NEW.credit_rating IS DISTINCT FROM OLD.credit_rating
                                  OR NEW.list_status IS DISTINCT FROM OLD.list_status))) THEN
        RAISE EXCEPTION '物业企业的信用等级与红黑榜状态由评价发布与红黑榜决定记录得出，不能直接修改：'
            '请在“信用评价”页或用 propmap credit 命令记录';
    END IF;
    RETURN NEW;
END $$;
"""


def _policies() -> list[str]:
    r = roles.scope_role
    city = ", ".join(_q(r(k)) for k in ("leader", "housing", "admin", "viewer"))
    scoped = ", ".join(_q(r(k)) for k in ("street", "community", "dept"))
    me = "recorded_by = current_setting('propmap.account', true) AND recorded_by <> ''"
    out = []
    for t in TABLES:
        out.append(f"CREATE POLICY city_wide ON {t} FOR SELECT TO {city} USING (true)")
        out.append(f"CREATE POLICY scoped ON {t} FOR SELECT TO {scoped} USING "
                   "(subject = 'firm' OR compound_id IN (SELECT id FROM compounds))")
        out.append(f"CREATE POLICY housing_records ON {t} FOR INSERT TO {_q(r('housing'))} "
                   f"WITH CHECK ({me})")
    out.append(f"CREATE POLICY street_committees ON party_building FOR INSERT TO "
               f"{_q(r('street'))} WITH CHECK (subject = 'committee' AND compound_id IN "
               "(SELECT id FROM compounds WHERE street_code = ANY (propmap_scope_streets())) "
               f"AND {me})")
    out.append(f"CREATE POLICY community_committees ON party_building FOR INSERT TO "
               f"{_q(r('community'))} WITH CHECK (subject = 'committee' AND compound_id IN "
               "(SELECT id FROM compounds WHERE community_id = propmap_scope_community()) "
               f"AND {me})")
    return out


def _grants() -> list[str]:
    everyone = ", ".join(_q(x) for x in [roles.app_role(),
                                          *(roles.scope_role(k) for k in roles.SCOPE_KINDS)])
    housing = _q(roles.scope_role("housing"))
    party = ", ".join(_q(roles.scope_role(k)) for k in ("housing", "street", "community"))
    out = [f"GRANT SELECT ON {', '.join(TABLES)} TO {everyone}"]
    for t in CREDIT_TABLES:
        out.append(f"GRANT INSERT ON {t} TO {housing}")
        out.append(f"GRANT USAGE ON SEQUENCE {t}_id_seq TO {housing}")
    out.append(f"GRANT INSERT ON party_building TO {party}")
    out.append(f"GRANT USAGE ON SEQUENCE party_building_id_seq TO {party}")
    return out


def upgrade() -> None:
    op.create_table(
        "credit_events", *_subject_columns("credit_events"),
        sa.Column("kind", sa.String(24), nullable=False,
                  comment="事项（见 data/credit/*.toml 的 [events]）；withdrawal 为撤销"),
        sa.Column("occurred_on", sa.Date(), nullable=False, comment="事项发生（决定）日期"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("doc_no", sa.Text(), nullable=False, comment="文号"),
        sa.Column("withdraws", sa.BigInteger(), sa.ForeignKey(
            "credit_events.id", name="fk_credit_events_withdraws"), comment="撤销的记录"),
        *_recorded(),
        sa.UniqueConstraint("withdraws", name=op.f("uq_credit_events_withdraws")),
        sa.CheckConstraint("length(btrim(reason)) >= 2", name=op.f("ck_credit_events_reason")),
        sa.CheckConstraint("length(btrim(doc_no)) >= 1", name=op.f("ck_credit_events_doc_no")),
        sa.CheckConstraint("(kind = 'withdrawal') = (withdraws IS NOT NULL)",
                           name=op.f("ck_credit_events_withdrawal")),
        comment="信用记录事项（表彰、处罚、解除合同等；只追加，撤销以新记录表示）",
    )
    op.create_table(
        "credit_list_changes", *_subject_columns("credit_list_changes"),
        sa.Column("status", sa.String(5), nullable=False),
        sa.Column("previous", sa.String(5), nullable=False),
        sa.Column("basis", sa.String(10), nullable=False,
                  comment="proposal 采纳建议 / override 改判 / manual 直接认定 / migration"),
        sa.Column("period", sa.String(6), comment="对应的评价季度，如 2026Q2"),
        sa.Column("proposed", sa.String(5), comment="当时的系统建议"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("doc_no", sa.Text()),
        sa.Column("decided_on", sa.Date(), nullable=False),
        *_recorded(),
        sa.CheckConstraint(f"status IN {STATUSES} AND previous IN {STATUSES} "
                           f"AND (proposed IS NULL OR proposed IN {STATUSES})",
                           name=op.f("ck_credit_list_changes_status")),
        sa.CheckConstraint("basis IN ('proposal', 'override', 'manual', 'migration')",
                           name=op.f("ck_credit_list_changes_basis")),
        sa.CheckConstraint("period IS NULL OR period ~ '^[0-9]{4}Q[1-4]$'",
                           name=op.f("ck_credit_list_changes_period")),
        sa.CheckConstraint("length(btrim(reason)) >= 2",
                           name=op.f("ck_credit_list_changes_reason")),
        comment="红黑榜决定（只追加）：当前状态为最新一条",
    )
    op.create_table(
        "credit_ratings", *_subject_columns("credit_ratings"),
        sa.Column("period", sa.String(6), comment="评价季度；空为迁移前登记的等级"),
        sa.Column("score", sa.Numeric(5, 1)),
        sa.Column("band", sa.String(3), nullable=False),
        sa.Column("parts", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("model_version", sa.Text()),
        sa.Column("note", sa.Text()),
        *_recorded(),
        sa.CheckConstraint(f"band IN {BANDS}", name=op.f("ck_credit_ratings_band")),
        sa.CheckConstraint("period IS NULL OR period ~ '^[0-9]{4}Q[1-4]$'",
                           name=op.f("ck_credit_ratings_period")),
        comment="已发布的信用评价（只追加）：当前等级为最新季度的一条",
    )
    op.create_table(
        "party_building", *_subject_columns("party_building"),
        sa.Column("has_party_org", sa.Boolean(), nullable=False, comment="已建立党组织"),
        sa.Column("party_org_name", sa.Text()),
        sa.Column("party_members", sa.Integer()),
        sa.Column("mass_eligible", sa.Boolean(), comment="符合群团组织组建条件（空为不详）"),
        sa.Column("has_mass_org", sa.Boolean(), comment="已建立群团组织（工会、共青团、妇联等）"),
        sa.Column("note", sa.Text()),
        sa.Column("source", sa.String(12), nullable=False,
                  comment="dashboard 看板 / import 导入 / demo 演示 / migration"),
        sa.Column("source_file", sa.Text()),
        *_recorded(),
        sa.CheckConstraint("party_members IS NULL OR party_members >= 0",
                           name=op.f("ck_party_building_members")),
        sa.CheckConstraint("source IN ('dashboard', 'import', 'demo', 'migration')",
                           name=op.f("ck_party_building_source")),
        comment="党建情况（红色物业）：党组织与群团组织（只追加，当前为最新一条）",
    )
    for t in TABLES:
        op.create_index(f"ix_{t}_firm_id", t, ["firm_id"])
        op.create_index(f"ix_{t}_compound_id", t, ["compound_id"])

    op.execute("ALTER TABLE property_firms DROP CONSTRAINT ck_property_firms_credit_rating")
    op.alter_column("property_firms", "credit_rating", type_=sa.String(3),
                    comment="信用等级 AAA/AA/A/B/C/D：最新发布的评价（由 credit_ratings 得出）")
    op.alter_column("property_firms", "list_status",
                    comment="红黑榜 red / black / none：最新的红黑榜决定（由 credit_list_changes 得出）")
    op.create_check_constraint(op.f("ck_property_firms_credit_rating"), "property_firms",
                               f"credit_rating IN {BANDS}")
    # What was there before becomes the first entry of the history.
    op.execute("""
        INSERT INTO credit_list_changes (subject, firm_id, status, previous, basis, reason,
                                         decided_on, recorded_by)
        SELECT 'firm', id, list_status, 'none', 'migration', '迁移前登记的红黑榜状态（来源不详）',
               current_date, 'migration 0013'
        FROM property_firms WHERE list_status <> 'none'""")
    op.execute("""
        INSERT INTO credit_ratings (subject, firm_id, band, note, recorded_by)
        SELECT 'firm', id, credit_rating, '迁移前登记的信用等级（来源不详）', 'migration 0013'
        FROM property_firms WHERE credit_rating IS NOT NULL""")

    op.execute(FUNCTIONS)
    for t in TABLES:
        op.execute(f"CREATE TRIGGER trg_{t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION propmap_history_append_only()")
        op.execute(f"CREATE TRIGGER trg_{t}_data_version AFTER INSERT OR UPDATE OR DELETE "
                   f"OR TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()")
    for t in ("credit_list_changes", "credit_ratings"):
        op.execute(f"CREATE TRIGGER trg_{t}_firm_sync AFTER INSERT ON {t} "
                   "FOR EACH ROW EXECUTE FUNCTION propmap_firm_credit_sync()")
    op.execute("CREATE TRIGGER trg_property_firms_credit_guard BEFORE INSERT OR UPDATE OF "
               "credit_rating, list_status ON property_firms FOR EACH ROW "
               "EXECUTE FUNCTION propmap_firm_credit_guard()")
    for t in TABLES:
        op.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
    for sql in _policies():
        op.execute(sql)
    for sql in _grants():
        op.execute(sql)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_property_firms_credit_guard ON property_firms")
    for t in TABLES:
        op.drop_table(t)
    op.execute("DROP FUNCTION IF EXISTS propmap_firm_credit_guard()")
    op.execute("DROP FUNCTION IF EXISTS propmap_firm_credit_sync()")
    op.execute("DROP FUNCTION IF EXISTS propmap_history_append_only()")
    op.execute("ALTER TABLE property_firms DROP CONSTRAINT ck_property_firms_credit_rating")
    op.execute("UPDATE property_firms SET credit_rating = 'A' "
               "WHERE credit_rating IN ('AAA', 'AA')")
    op.alter_column("property_firms", "credit_rating", type_=sa.String(2),
                    comment="信用等级 A/B/C/D")
    op.alter_column("property_firms", "list_status", comment="红黑榜：red / black / none")
    op.create_check_constraint(op.f("ck_property_firms_credit_rating"), "property_firms",
                               "credit_rating IN ('A', 'B', 'C', 'D')")
