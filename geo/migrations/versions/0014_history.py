"""a compound's management and a hazard's rectification as appended histories, with RLS writes

Revision ID: 0014
Revises: 0013

- ``compound_events``: every fact about a compound's management, appended and
  never rewritten: 名录登记 (a register's statement, ``registered``), 街道托管,
  引入物业服务企业 (with the firm), 业主自管, 单位自管 (with the unit), 成立业主大会/
  业主委员会 and 业委会换届 (with the term's end), 成立物业管理委员会, 退出/撤场.
  Each has a date, who recorded it, a note, a document number, its source
  (看板, 命令行, 清单回传, 名录导入, 演示数据) and, for register statements that
  disagree with a street office's record, how the precedence decided
  (``applied``, ``conflict``; see :mod:`geo.history` and docs/history.md).
  A BEFORE INSERT trigger fills in what each kind of event sets (its
  ``sets`` groups: management = mode and firm, dept = competent department,
  committee = owners' organisation and term) so that no writer can record a
  "takeover" that introduces a firm.
- The columns ``management_mode``, ``firm_id``, ``competent_dept``,
  ``owners_committee`` of ``compounds`` (and the new ``mode_since``,
  ``committee_since``, ``committee_term_end``) are the *derived* current
  state: a statement-level trigger folds the events of the compounds an
  INSERT touched (``compound_state_refresh``, one set-based UPDATE), so
  ``is_sanwu``, every layer and every figure change in the same transaction
  as the record. A direct UPDATE of those columns is refused.
  ``compound_states_on(days, ids)`` folds the history up to any days: "was this
  compound 三无 on D" (``compound_was_sanwu``).
- ``is_sanwu`` is regenerated from one SQL function, ``propmap_sanwu``, which
  ``compound_states_on`` uses too: one definition of 三无. A 物业管理委员会 is an
  owners' organisation (new value ``mgmt_committee``).
- Every compound and hazard has a history from its first day: a deferred
  trigger gives a compound (hazard) inserted without any event a baseline
  event at commit (名录登记 / 发现); writers that write their own history (the
  demo, the imports) are left alone.
- ``hazard_events``: a hazard's rectification (待整改, 整改中, 已整改, 逾期未整改);
  ``hazards.status`` and ``closed_on`` derive from it the same way.
  ``hazards`` gains ``source_no`` (the inspection record's number, unique per
  theme), ``found_by`` and ``import_id`` for ``propmap import hazards``.
- ``record_permissions`` (data: data/reference/record-permissions.csv): which
  kind of account may record which kind of event. Row-level security with
  ``FOR INSERT ... WITH CHECK`` policies: a street account may only write events
  of compounds (hazards) in its own street offices, of the kinds it may
  record, as itself, even by SQL. Histories are append-only (no UPDATE, no
  direct DELETE) and bump the data version.
- ``imports.kind`` accepts ``hazards`` and ``worklist``.

Follows 0013 (credit): the credit model's owners' committees and the firms'
attribution read the columns this revision derives (geo/committees.py,
geo/credit.py), so they follow the history from here on. The append-only
trigger function is ``propmap_events_append_only`` (0013 has its own
``propmap_history_append_only`` for the credit tables).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from geo import roles

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KINDS = ("registered", "takeover", "firm_in", "owners_self", "work_unit", "committee_formed",
         "committee_renewed", "mgmt_committee", "firm_out")
SOURCES = ("dashboard", "cli", "worklist", "register", "inspection", "demo")
HAZARD_KINDS = ("open", "rectifying", "closed", "overdue")
#: Kinds of account that may be given rights to record (record_permissions decides which).
RECORDERS = ("street", "community", "housing", "dept")
CITY = ("leader", "housing", "admin", "viewer")
STATE = ("management_mode", "firm_id", "competent_dept", "owners_committee", "mode_since",
         "committee_since", "committee_term_end")
#: What a scope role may write in an event; the rest is filled by the triggers or defaults
#: (``recorded_by`` is overwritten with the scope's account, ``import_id`` must be NULL).
WRITABLE = ("compound_id", "kind", "on_date", "firm_id", "competent_dept", "term_end", "doc_no",
            "note", "source", "import_id", "recorded_by")
HAZARD_WRITABLE = ("hazard_id", "kind", "on_date", "note", "source", "import_id",
                   "recorded_by")
PRIVATE = ("note", "doc_no", "recorded_by")


def _q(name: str) -> str:
    return roles.quote_ident(name)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


FUNCTIONS = r"""
CREATE FUNCTION propmap_sanwu(p_firm integer, p_dept text, p_committee text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_firm IS NULL AND p_dept IS NULL AND p_committee = 'none' $$;

CREATE FUNCTION propmap_today() RETURNS date LANGUAGE sql STABLE AS $$
    SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date $$;

CREATE FUNCTION propmap_may_record(p_account text, p_target text, p_event text)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM record_permissions r WHERE r.account_kind = p_account
                   AND r.target = p_target AND r.event_kind = p_event) $$;

-- The state of compounds (all, or p_ids) on each of p_days, folded from their applied events:
-- per group (management, dept, committee) the latest event that sets it (undated register
-- statements first, then by date, then by the order of recording). One grouped pass: the
-- first version joined a CTE per group on (day, compound), and a plan that guessed those
-- CTEs small nested-looped them (17,000 × 17,000 rows: 15 s instead of 0.1 s).
CREATE FUNCTION compound_states_on(p_days date[], p_ids integer[] DEFAULT NULL)
RETURNS TABLE (day date, compound_id integer, management_mode text, firm_id integer,
               competent_dept text, owners_committee text, mode_since date,
               committee_since date, committee_term_end date, is_sanwu boolean)
LANGUAGE sql STABLE AS $$
    SELECT s.day, s.compound_id, coalesce(s.mode, 'none')::text, s.firm_id,
           s.competent_dept, coalesce(s.committee, 'none')::text, s.mode_since,
           s.committee_since, s.committee_term_end,
           propmap_sanwu(s.firm_id, s.competent_dept, coalesce(s.committee, 'none'))
    FROM (
        SELECT d.day, v.compound_id,
               (array_agg(v.mode ORDER BY v.on_date DESC NULLS LAST, v.id DESC)
                    FILTER (WHERE 'management' = ANY (v.sets)))[1] AS mode,
               (array_agg(v.firm_id ORDER BY v.on_date DESC NULLS LAST, v.id DESC)
                    FILTER (WHERE 'management' = ANY (v.sets)))[1] AS firm_id,
               (array_agg(v.on_date ORDER BY v.on_date DESC NULLS LAST, v.id DESC)
                    FILTER (WHERE 'management' = ANY (v.sets)))[1] AS mode_since,
               (array_agg(v.competent_dept ORDER BY v.on_date DESC NULLS LAST, v.id DESC)
                    FILTER (WHERE 'dept' = ANY (v.sets)))[1] AS competent_dept,
               (array_agg(v.owners_committee ORDER BY v.on_date DESC NULLS LAST, v.id DESC)
                    FILTER (WHERE 'committee' = ANY (v.sets)))[1] AS committee,
               (array_agg(v.on_date ORDER BY v.on_date DESC NULLS LAST, v.id DESC)
                    FILTER (WHERE 'committee' = ANY (v.sets)))[1] AS committee_since,
               (array_agg(v.term_end ORDER BY v.on_date DESC NULLS LAST, v.id DESC)
                    FILTER (WHERE 'committee' = ANY (v.sets)))[1] AS committee_term_end
        FROM (SELECT DISTINCT x AS day FROM unnest(p_days) x) d
        JOIN compound_events v ON v.applied AND (v.on_date IS NULL OR v.on_date <= d.day)
             AND (p_ids IS NULL OR v.compound_id = ANY (p_ids))
        GROUP BY d.day, v.compound_id
    ) s
$$;

CREATE FUNCTION compound_was_sanwu(p_compound integer, p_day date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT s.is_sanwu FROM compound_states_on(ARRAY[p_day], ARRAY[p_compound]) s $$;

CREATE FUNCTION compound_state_refresh(p_ids integer[]) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n integer;
BEGIN
    UPDATE compounds x SET management_mode = s.management_mode, firm_id = s.firm_id,
        competent_dept = s.competent_dept, owners_committee = s.owners_committee,
        mode_since = s.mode_since, committee_since = s.committee_since,
        committee_term_end = s.committee_term_end
    FROM compound_states_on(ARRAY['infinity'::date], p_ids) s
    WHERE x.id = s.compound_id
      AND (x.management_mode, x.firm_id, x.competent_dept, x.owners_committee, x.mode_since,
           x.committee_since, x.committee_term_end)
          IS DISTINCT FROM (s.management_mode, s.firm_id, s.competent_dept,
                            s.owners_committee, s.mode_since, s.committee_since,
                            s.committee_term_end);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

CREATE FUNCTION compound_events_refresh() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM compound_state_refresh(ARRAY(SELECT DISTINCT compound_id FROM new_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION compound_event_effects() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE account text := nullif(current_setting('propmap.account', true), '');
        current_mode text;
BEGIN
    IF account IS NOT NULL THEN
        NEW.recorded_by := account;  -- a dashboard account records as itself, whatever it says
    END IF;
    IF NEW.on_date > propmap_today() AND NOT NEW.synthetic THEN
        RAISE EXCEPTION '日期 % 晚于今天：只能记录已经发生的事项', NEW.on_date;
    END IF;
    IF NEW.kind = 'registered' THEN
        RETURN NEW;
    END IF;
    IF NEW.on_date IS NULL THEN
        RAISE EXCEPTION '请填写事项的日期';
    END IF;
    NEW.mode := NULL;
    NEW.owners_committee := NULL;
    CASE NEW.kind
    WHEN 'takeover' THEN
        NEW.sets := '{management}'; NEW.mode := 'street_custody'; NEW.firm_id := NULL;
    WHEN 'firm_in' THEN
        IF NEW.firm_id IS NULL THEN
            RAISE EXCEPTION '引入物业服务企业须指明企业';
        END IF;
        NEW.sets := '{management}'; NEW.mode := 'property_firm';
    WHEN 'owners_self' THEN
        NEW.sets := '{management}'; NEW.mode := 'owners_self'; NEW.firm_id := NULL;
    WHEN 'work_unit' THEN
        IF nullif(btrim(NEW.competent_dept), '') IS NULL THEN
            RAISE EXCEPTION '单位自管须填写管理单位（产权单位或主管部门）';
        END IF;
        NEW.sets := '{management,dept}'; NEW.mode := 'work_unit'; NEW.firm_id := NULL;
    WHEN 'firm_out' THEN
        SELECT x.management_mode INTO current_mode FROM compounds x WHERE x.id = NEW.compound_id;
        NEW.sets := CASE WHEN current_mode = 'work_unit' THEN '{management,dept}'::varchar[]
                         ELSE '{management}'::varchar[] END;
        NEW.mode := 'none'; NEW.firm_id := NULL;
    WHEN 'committee_formed', 'committee_renewed' THEN
        IF NEW.term_end IS NULL THEN
            RAISE EXCEPTION '成立业委会或换届须填写本届任期届满日期';
        END IF;
        NEW.sets := '{committee}'; NEW.owners_committee := 'established'; NEW.firm_id := NULL;
    WHEN 'mgmt_committee' THEN
        NEW.sets := '{committee}'; NEW.owners_committee := 'mgmt_committee';
        NEW.firm_id := NULL;
    ELSE
        RAISE EXCEPTION '未知的管理事项 %', NEW.kind;
    END CASE;
    IF NOT ('dept' = ANY (NEW.sets)) THEN
        NEW.competent_dept := NULL;
    END IF;
    IF NOT ('committee' = ANY (NEW.sets)) THEN
        NEW.term_end := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION compound_history_baseline() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM compound_events v WHERE v.compound_id = NEW.id) THEN
        -- a register import states its date and batch in this transaction's settings
        INSERT INTO compound_events (compound_id, kind, on_date, sets, mode, firm_id,
                                     competent_dept, owners_committee, source, import_id,
                                     synthetic)
        SELECT x.id, 'registered',
               nullif(current_setting('propmap.registered_on', true), '')::date,
               '{management,dept,committee}', x.management_mode, x.firm_id, x.competent_dept,
               x.owners_committee, 'register',
               nullif(current_setting('propmap.import_id', true), '')::integer, x.synthetic
        -- every compound still without a history, at once: the rows after this one find theirs
        FROM compounds x
        WHERE NOT EXISTS (SELECT 1 FROM compound_events v WHERE v.compound_id = x.id)
        ORDER BY x.id;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION propmap_derived_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'check_violation';
END $$;

CREATE FUNCTION propmap_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        -- a referential action: the compound or hazard was deleted (ON DELETE CASCADE), or
        -- the import batch it came with (ON DELETE SET NULL)
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '管理与整改记录只能追加，不能修改或删除：更正请追加一条新记录';
END $$;

CREATE FUNCTION hazard_state_refresh(p_ids integer[]) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n integer;
BEGIN
    UPDATE hazards h SET status = e.kind,
        closed_on = CASE WHEN e.kind = 'closed' THEN e.on_date END
    FROM (SELECT DISTINCT ON (hazard_id) hazard_id, kind, on_date FROM hazard_events
          WHERE hazard_id = ANY (p_ids) ORDER BY hazard_id, on_date DESC, id DESC) e
    WHERE h.id = e.hazard_id
      AND (h.status, h.closed_on) IS DISTINCT FROM
          (e.kind, CASE WHEN e.kind = 'closed' THEN e.on_date END);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

CREATE FUNCTION hazard_events_refresh() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM hazard_state_refresh(ARRAY(SELECT DISTINCT hazard_id FROM new_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION hazard_event_effects() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE account text := nullif(current_setting('propmap.account', true), '');
        found date;
BEGIN
    IF account IS NOT NULL THEN
        NEW.recorded_by := account;
    END IF;
    IF NEW.on_date > propmap_today() AND NOT NEW.synthetic THEN
        RAISE EXCEPTION '日期 % 晚于今天：只能记录已经发生的整改进展', NEW.on_date;
    END IF;
    SELECT h.found_on INTO found FROM hazards h WHERE h.id = NEW.hazard_id;
    IF NEW.on_date < found THEN
        RAISE EXCEPTION '日期 % 早于隐患发现日期 %', NEW.on_date, found;
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION hazard_history_baseline() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hazard_events v WHERE v.hazard_id = NEW.id) THEN
        INSERT INTO hazard_events (hazard_id, kind, on_date, source, synthetic)
        SELECT h.id, k.kind, k.on_date, 'inspection', h.synthetic
        FROM hazards h CROSS JOIN LATERAL (VALUES (1, 'open', h.found_on),
            (2, CASE WHEN h.status = 'open' THEN NULL ELSE h.status END,
             coalesce(h.closed_on, h.found_on))) k(n, kind, on_date)
        WHERE k.kind IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM hazard_events v WHERE v.hazard_id = h.id)
        ORDER BY h.id, k.n;
    END IF;
    RETURN NULL;
END $$;
"""

DROP_FUNCTIONS = (
    "hazard_history_baseline()", "hazard_event_effects()", "hazard_events_refresh()",
    "hazard_state_refresh(integer[])", "propmap_events_append_only()",
    "propmap_derived_guard()", "compound_history_baseline()", "compound_event_effects()",
    "compound_events_refresh()", "compound_state_refresh(integer[])",
    "compound_was_sanwu(integer, date)", "compound_states_on(date[], integer[])",
    "propmap_may_record(text, text, text)", "propmap_today()")

COMPOUND_AREA = {
    "street": "compound_id IN (SELECT x.id FROM compounds x "
              "WHERE x.street_code = ANY (propmap_scope_streets()))",
    "community": "compound_id IN (SELECT x.id FROM compounds x "
                 "WHERE x.community_id = propmap_scope_community())",
    "housing": "true",
    "dept": "false",
}
HAZARD_AREA = {
    "street": "hazard_id IN (SELECT h.id FROM hazards h JOIN compounds x ON x.id = h.compound_id "
              "WHERE x.street_code = ANY (propmap_scope_streets()))",
    "community": "hazard_id IN (SELECT h.id FROM hazards h JOIN compounds x "
                 "ON x.id = h.compound_id WHERE x.community_id = propmap_scope_community())",
    "housing": "true",
    "dept": "hazard_id IN (SELECT h.id FROM hazards h "
            "WHERE h.theme = ANY (propmap_scope_themes()))",
}


def _policies() -> list[str]:
    r = roles.scope_role
    out = []
    city = ", ".join(_q(r(k)) for k in CITY)
    for t in ("compound_events", "hazard_events"):
        out.append(f"CREATE POLICY city_wide ON {t} FOR SELECT TO {city} USING (true)")
    out.append(f"CREATE POLICY street_area ON compound_events FOR SELECT TO {_q(r('street'))} "
               f"USING ({COMPOUND_AREA['street']})")
    out.append(f"CREATE POLICY community_area ON compound_events FOR SELECT TO "
               f"{_q(r('community'))} USING ({COMPOUND_AREA['community']})")
    out.append(f"CREATE POLICY department_city ON compound_events FOR SELECT TO {_q(r('dept'))} "
               "USING (true)")
    scoped = ", ".join(_q(r(k)) for k in ("street", "community", "dept"))
    out.append(f"CREATE POLICY scoped_hazards ON hazard_events FOR SELECT TO {scoped} "
               "USING (hazard_id IN (SELECT id FROM hazards))")
    for kind in RECORDERS:
        out.append(
            f"CREATE POLICY records_{kind} ON compound_events FOR INSERT TO {_q(r(kind))} "
            f"WITH CHECK ({COMPOUND_AREA[kind]} "
            f"AND propmap_may_record('{kind}', 'compound', kind) "
            "AND source IN ('dashboard', 'worklist') AND applied AND conflict IS NULL "
            "AND NOT synthetic AND import_id IS NULL)")
        out.append(
            f"CREATE POLICY records_{kind} ON hazard_events FOR INSERT TO {_q(r(kind))} "
            f"WITH CHECK ({HAZARD_AREA[kind]} AND propmap_may_record('{kind}', 'hazard', kind) "
            "AND source = 'dashboard' AND NOT synthetic AND import_id IS NULL)")
    return out


def _grants() -> list[str]:
    kinds = [roles.scope_role(k) for k in roles.SCOPE_KINDS]
    everyone = ", ".join(_q(x) for x in [roles.app_role(), *kinds])
    readers = ", ".join(_q(x) for x in [roles.app_role(), *kinds]
                        if x != roles.scope_role("viewer"))
    viewer = _q(roles.scope_role("viewer"))
    writers = ", ".join(_q(roles.scope_role(k)) for k in RECORDERS)
    out = [f"GRANT SELECT ON record_permissions TO {everyone}",
           f"GRANT SELECT ON compound_events, hazard_events TO {readers}"]
    for t in ("compound_events", "hazard_events"):
        out.append(
            f"DO $$ DECLARE c text; BEGIN SELECT string_agg(quote_ident(column_name), ', ') "
            f"INTO c FROM information_schema.columns WHERE table_schema = 'public' "
            f"AND table_name = '{t}' AND column_name NOT IN ({_in(PRIVATE)}); "
            f"EXECUTE format('GRANT SELECT (%s) ON {t} TO {viewer}', c); END $$")
    out.append(f"GRANT INSERT ({', '.join(WRITABLE)}) ON compound_events TO {writers}")
    out.append(f"GRANT INSERT ({', '.join(HAZARD_WRITABLE)}) ON hazard_events TO {writers}")
    out.append(f"GRANT USAGE ON SEQUENCE compound_events_id_seq, hazard_events_id_seq "
               f"TO {writers}")
    return out


def upgrade() -> None:
    # --- vocabulary changes on existing tables ---
    op.drop_constraint(op.f("ck_hazards_status"), "hazards", type_="check")
    op.create_check_constraint(op.f("ck_hazards_status"), "hazards",
                               "status IN ('open', 'rectifying', 'closed', 'overdue')")
    op.drop_constraint(op.f("ck_imports_kind"), "imports", type_="check")
    op.create_check_constraint(
        op.f("ck_imports_kind"), "imports",
        "kind IN ('cases', 'compounds', 'boundaries', 'hazards', 'worklist')")
    op.add_column("compounds", sa.Column("mode_since", sa.Date(),
                                         comment="现管理方式自何日起（由管理记录推导）"))
    op.add_column("compounds", sa.Column("committee_since", sa.Date(),
                                         comment="业主组织成立或最近换届日期（由管理记录推导）"))
    op.add_column("compounds", sa.Column("committee_term_end", sa.Date(),
                                         comment="本届业委会（物管会）任期届满日期（由管理记录推导）"))
    op.add_column("hazards", sa.Column("source_no", sa.Text(),
                                       comment="检查记录中的隐患编号（同一类别内唯一）"))
    op.add_column("hazards", sa.Column("found_by", sa.Text(), comment="检查单位"))
    op.add_column("hazards", sa.Column("import_id", sa.Integer(), sa.ForeignKey(
        "imports.id", ondelete="SET NULL", name="fk_hazards_import_id")))
    op.create_index("uq_hazards_theme_source_no", "hazards", ["theme", "source_no"], unique=True,
                    postgresql_where=sa.text("source_no IS NOT NULL"))

    op.create_table(
        "record_permissions",
        sa.Column("account_kind", sa.String(12), primary_key=True),
        sa.Column("target", sa.String(10), primary_key=True),
        sa.Column("event_kind", sa.String(20), primary_key=True),
        sa.CheckConstraint("target IN ('compound', 'hazard')",
                           name=op.f("ck_record_permissions_target")),
        comment="哪类账号可以记录哪类事项（data/reference/record-permissions.csv）",
    )
    op.create_table(
        "compound_events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("compound_id", sa.Integer(), sa.ForeignKey(
            "compounds.id", ondelete="CASCADE", name="fk_compound_events_compound_id"),
            nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("on_date", sa.Date(), comment="事项日期；名录登记可为空（日期不详，早于一切）"),
        sa.Column("sets", postgresql.ARRAY(sa.String(12)), nullable=False,
                  server_default="{}", comment="本事项确定的状态：management / dept / committee"),
        sa.Column("mode", sa.String(16)),
        sa.Column("firm_id", sa.Integer(), sa.ForeignKey(
            "property_firms.id", name="fk_compound_events_firm_id")),
        sa.Column("competent_dept", sa.Text()),
        sa.Column("owners_committee", sa.String(16)),
        sa.Column("term_end", sa.Date(), comment="业委会（物管会）本届任期届满日期"),
        sa.Column("doc_no", sa.Text(), comment="文号"),
        sa.Column("note", sa.Text()),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey(
            "imports.id", ondelete="SET NULL", name="fk_compound_events_import_id")),
        sa.Column("recorded_by", sa.Text(), comment="记录人（账号名）"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
        sa.Column("applied", sa.Boolean(), nullable=False, server_default="true",
                  comment="是否生效：名录与较新的街道记录不一致时不生效，留待核对"),
        sa.Column("conflict", sa.String(16),
                  comment="kept_record 名录较旧，保留街道记录 / overrode_record 名录较新，覆盖街道记录"),
        sa.Column("conflict_event_id", sa.BigInteger(), sa.ForeignKey(
            "compound_events.id", name="fk_compound_events_conflict_event_id")),
        sa.Column("synthetic", sa.Boolean(), nullable=False, server_default="false"),
        sa.CheckConstraint(f"kind IN ({_in(KINDS)})", name=op.f("ck_compound_events_kind")),
        sa.CheckConstraint(f"source IN ({_in(SOURCES)})",
                           name=op.f("ck_compound_events_source")),
        sa.CheckConstraint("sets <@ '{management,dept,committee}'::varchar[] "
                           "AND cardinality(sets) > 0", name=op.f("ck_compound_events_sets")),
        sa.CheckConstraint("('management' = ANY (sets)) = (mode IS NOT NULL)",
                           name=op.f("ck_compound_events_mode_set")),
        sa.CheckConstraint("('committee' = ANY (sets)) = (owners_committee IS NOT NULL)",
                           name=op.f("ck_compound_events_committee_set")),
        sa.CheckConstraint("CASE WHEN mode IS NULL THEN firm_id IS NULL "
                           "ELSE (mode = 'property_firm') = (firm_id IS NOT NULL) END",
                           name=op.f("ck_compound_events_firm_matches_mode")),
        sa.CheckConstraint("mode IS NULL OR mode IN ('property_firm', 'owners_self', "
                           "'work_unit', 'street_custody', 'none')",
                           name=op.f("ck_compound_events_mode")),
        sa.CheckConstraint("owners_committee IS NULL OR owners_committee IN ('established', "
                           "'preparing', 'mgmt_committee', 'none')",
                           name=op.f("ck_compound_events_owners_committee")),
        sa.CheckConstraint("on_date IS NOT NULL OR kind = 'registered'",
                           name=op.f("ck_compound_events_dated")),
        sa.CheckConstraint("term_end IS NULL OR on_date IS NULL OR term_end > on_date",
                           name=op.f("ck_compound_events_term_after_date")),
        sa.CheckConstraint("conflict IS NULL OR conflict IN ('kept_record', 'overrode_record')",
                           name=op.f("ck_compound_events_conflict")),
        sa.CheckConstraint("applied OR conflict = 'kept_record'",
                           name=op.f("ck_compound_events_unapplied_is_conflict")),
        comment="小区管理记录（只追加，不改写）：托管、引入物业、业委会成立与换届、撤场、名录登记",
    )
    op.create_index("ix_compound_events_compound", "compound_events",
                    ["compound_id", "on_date", "id"])
    op.create_table(
        "hazard_events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("hazard_id", sa.Integer(), sa.ForeignKey(
            "hazards.id", ondelete="CASCADE", name="fk_hazard_events_hazard_id"),
            nullable=False),
        sa.Column("kind", sa.String(12), nullable=False, comment="记录后的整改状态"),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey(
            "imports.id", ondelete="SET NULL", name="fk_hazard_events_import_id")),
        sa.Column("recorded_by", sa.Text()),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
        sa.Column("synthetic", sa.Boolean(), nullable=False, server_default="false"),
        sa.CheckConstraint(f"kind IN ({_in(HAZARD_KINDS)})", name=op.f("ck_hazard_events_kind")),
        sa.CheckConstraint(f"source IN ({_in(SOURCES)})", name=op.f("ck_hazard_events_source")),
        comment="隐患整改记录（只追加，不改写）：发现、整改中、已整改、逾期未整改",
    )
    op.create_index("ix_hazard_events_hazard", "hazard_events", ["hazard_id", "on_date", "id"])

    # --- one definition of 三无 ---
    op.execute(FUNCTIONS)
    op.drop_column("compounds", "is_sanwu")
    op.alter_column("compounds", "owners_committee", type_=sa.String(16))
    op.drop_constraint(op.f("ck_compounds_owners_committee"), "compounds", type_="check")
    op.create_check_constraint(
        op.f("ck_compounds_owners_committee"), "compounds",
        "owners_committee IN ('established', 'preparing', 'mgmt_committee', 'none')")
    op.add_column("compounds", sa.Column(
        "is_sanwu", sa.Boolean(),
        sa.Computed("propmap_sanwu(firm_id, competent_dept, owners_committee)", persisted=True),
        comment="三无小区：无物业服务企业、无主管部门、无业主组织"))

    # --- triggers ---
    op.execute("""
        CREATE TRIGGER trg_compound_events_effects BEFORE INSERT ON compound_events
        FOR EACH ROW EXECUTE FUNCTION compound_event_effects();
        CREATE TRIGGER trg_compound_events_refresh AFTER INSERT ON compound_events
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION compound_events_refresh();
        CREATE TRIGGER trg_compound_events_append_only BEFORE UPDATE OR DELETE
        ON compound_events FOR EACH STATEMENT EXECUTE FUNCTION propmap_events_append_only();
        CREATE TRIGGER trg_compound_events_data_version
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON compound_events
        FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
        CREATE CONSTRAINT TRIGGER trg_compounds_history_baseline AFTER INSERT ON compounds
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        EXECUTE FUNCTION compound_history_baseline();
        CREATE TRIGGER trg_hazard_events_effects BEFORE INSERT ON hazard_events
        FOR EACH ROW EXECUTE FUNCTION hazard_event_effects();
        CREATE TRIGGER trg_hazard_events_refresh AFTER INSERT ON hazard_events
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION hazard_events_refresh();
        CREATE TRIGGER trg_hazard_events_append_only BEFORE UPDATE OR DELETE
        ON hazard_events FOR EACH STATEMENT EXECUTE FUNCTION propmap_events_append_only();
        CREATE TRIGGER trg_hazard_events_data_version
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON hazard_events
        FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
        CREATE CONSTRAINT TRIGGER trg_hazards_history_baseline AFTER INSERT ON hazards
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hazard_history_baseline();
    """)
    state = ", ".join(STATE)
    op.execute(f"""
        CREATE TRIGGER trg_compounds_state_guard BEFORE UPDATE OF {state} ON compounds
        FOR EACH ROW WHEN (pg_trigger_depth() = 0
            AND ({", ".join(f"OLD.{c}" for c in STATE)})
                IS DISTINCT FROM ({", ".join(f"NEW.{c}" for c in STATE)}))
        EXECUTE FUNCTION propmap_derived_guard(
            '小区的管理方式、物业企业、主管部门与业主组织由管理记录推导，不能直接修改：'
            '请记录一条管理事项（看板小区档案、propmap record compound 或名录导入）')""")
    op.execute("""
        CREATE TRIGGER trg_hazards_state_guard BEFORE UPDATE OF status, closed_on ON hazards
        FOR EACH ROW WHEN (pg_trigger_depth() = 0
            AND (OLD.status, OLD.closed_on) IS DISTINCT FROM (NEW.status, NEW.closed_on))
        EXECUTE FUNCTION propmap_derived_guard(
            '隐患的整改状态由整改记录推导，不能直接修改：请记录一条整改进展')""")

    # --- what was there gets its history ---
    op.execute("""
        INSERT INTO compound_events (compound_id, kind, on_date, sets, mode, firm_id,
                                     competent_dept, owners_committee, source, synthetic)
        SELECT id, 'registered', NULL, '{management,dept,committee}', management_mode, firm_id,
               competent_dept, owners_committee, 'register', synthetic
        FROM compounds ORDER BY id""")
    op.execute("""
        INSERT INTO hazard_events (hazard_id, kind, on_date, source, synthetic)
        SELECT h.id, k.kind, k.on_date, 'inspection', h.synthetic
        FROM hazards h CROSS JOIN LATERAL (VALUES (1, 'open', h.found_on),
            (2, CASE WHEN h.status = 'open' THEN NULL ELSE h.status END,
             coalesce(h.closed_on, h.found_on))) k(n, kind, on_date)
        WHERE k.kind IS NOT NULL ORDER BY h.id, k.n""")

    # --- who may read and write ---
    for t in ("compound_events", "hazard_events"):
        op.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
    for sql in _policies():
        op.execute(sql)
    for sql in _grants():
        op.execute(sql)


def downgrade() -> None:
    for t in ("compound_events", "hazard_events"):
        op.execute(f"DROP TABLE IF EXISTS {t} CASCADE")
    op.drop_table("record_permissions")
    op.execute("DROP TRIGGER IF EXISTS trg_compounds_history_baseline ON compounds")
    op.execute("DROP TRIGGER IF EXISTS trg_hazards_history_baseline ON hazards")
    op.execute("DROP TRIGGER IF EXISTS trg_compounds_state_guard ON compounds")
    op.execute("DROP TRIGGER IF EXISTS trg_hazards_state_guard ON hazards")
    op.drop_column("compounds", "is_sanwu")
    op.execute("UPDATE compounds SET owners_committee = 'established' "
               "WHERE owners_committee = 'mgmt_committee'")
    op.drop_constraint(op.f("ck_compounds_owners_committee"), "compounds", type_="check")
    op.create_check_constraint(op.f("ck_compounds_owners_committee"), "compounds",
                               "owners_committee IN ('established', 'preparing', 'none')")
    op.alter_column("compounds", "owners_committee", type_=sa.String(12))
    op.add_column("compounds", sa.Column(
        "is_sanwu", sa.Boolean(),
        sa.Computed("firm_id IS NULL AND competent_dept IS NULL AND owners_committee = 'none'",
                    persisted=True),
        comment="三无小区：无物业服务企业、无主管部门、无业主组织"))
    op.execute("DROP FUNCTION IF EXISTS propmap_sanwu(integer, text, text)")
    for fn in DROP_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.execute("DROP INDEX IF EXISTS uq_hazards_theme_source_no")
    op.drop_column("hazards", "import_id")
    op.drop_column("hazards", "found_by")
    op.drop_column("hazards", "source_no")
    for c in ("committee_term_end", "committee_since", "mode_since"):
        op.drop_column("compounds", c)
    op.drop_constraint(op.f("ck_imports_kind"), "imports", type_="check")
    op.execute("DELETE FROM imports WHERE kind IN ('hazards', 'worklist')")
    op.create_check_constraint(op.f("ck_imports_kind"), "imports",
                               "kind IN ('cases', 'compounds', 'boundaries')")
    op.drop_constraint(op.f("ck_hazards_status"), "hazards", type_="check")
    op.execute("UPDATE hazards SET status = 'open' WHERE status = 'overdue'")
    op.create_check_constraint(op.f("ck_hazards_status"), "hazards",
                               "status IN ('open', 'rectifying', 'closed')")
