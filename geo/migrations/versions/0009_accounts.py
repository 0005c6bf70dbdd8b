"""accounts, audit log, and row-level security by account scope

Revision ID: 0009
Revises: 0004

- ``accounts``: login name, kind (leader, housing, street, community, dept,
  viewer, admin), scope (street codes, community, department), Argon2 hash,
  lockout state. The dashboard's role never reads the hash: login goes through
  the SECURITY DEFINER functions ``propmap_auth_prefix`` (parameters and salt
  only) and ``propmap_auth_login`` (compares, counts failures, locks, audits).
- ``audit_log``: append-only (a trigger refuses UPDATE and DELETE, and the
  dashboard's roles may only INSERT): logins, failures, lockouts, downloads,
  exports and writes.
- ``department_themes``: which department supervises which hazard themes
  city-wide (data: data/reference/department-themes.csv).
- Row-level security on cases, case_events, compounds, communities and
  hazards, one policy per scope role (:mod:`geo.roles`); the scope's area is
  read from transaction-local settings (:mod:`geo.scope`). The application
  role itself has no policy: without a scope it sees no row.
- ``propmap_apply_grants()`` (re)grants what each role may read; every
  ``propmap db init`` runs it after the migrations, so a table or column a
  later migration adds is covered. ``complainants`` is granted to nobody.
- ``bump_data_version`` runs as its owner, so a scoped write bumps the version
  without the right to update the counter directly.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from geo import roles

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Tables every role reads whole (areas' outlines and names, reference lists).
PUBLIC_TABLES = ("streets", "street_parts", "categories", "departments", "department_themes",
                 "property_firms", "dataset_meta", "data_version")
#: Tables restricted row by row to the account's scope.
SCOPED_TABLES = ("cases", "case_events", "compounds", "communities", "hazards")
#: Case columns the meeting-room screen (viewer) may not read: case text and addresses.
VIEWER_HIDDEN = ("content", "address", "handler")
KINDS_CITY = ("leader", "housing", "admin", "viewer")


def _q(name: str) -> str:
    return roles.quote_ident(name)


def _policies() -> list[str]:
    r = roles.scope_role
    streets = "street_code = ANY (propmap_scope_streets())"
    community = "community_id = propmap_scope_community()"
    city = ", ".join(_q(r(k)) for k in KINDS_CITY)
    dept_cases = ("(lead_dept = propmap_scope_dept() OR propmap_scope_dept() = ANY (co_depts) "
                  "OR category_code IN (SELECT code FROM categories "
                  "WHERE theme = ANY (propmap_scope_themes())))")
    out = []

    def pol(table: str, name: str, role: str, using: str) -> None:
        out.append(f"CREATE POLICY {name} ON {table} FOR SELECT TO {role} USING ({using})")

    for t in SCOPED_TABLES:
        pol(t, "city_wide", city, "true")
    pol("cases", "street_area", _q(r("street")), streets)
    pol("cases", "community_area", _q(r("community")), community)
    pol("cases", "department_cases", _q(r("dept")), dept_cases)
    pol("case_events", "scoped_cases", ", ".join(_q(r(k)) for k in ("street", "community", "dept")),
        "case_id IN (SELECT id FROM cases)")
    pol("compounds", "street_area", _q(r("street")), streets)
    pol("compounds", "community_area", _q(r("community")), community)
    pol("compounds", "department_city", _q(r("dept")), "true")
    pol("communities", "street_area", ", ".join(_q(r(k)) for k in ("street", "community")),
        streets)
    pol("communities", "department_city", _q(r("dept")), "true")
    pol("hazards", "street_area", _q(r("street")),
        "compound_id IN (SELECT id FROM compounds WHERE street_code = ANY "
        "(propmap_scope_streets()))")
    pol("hazards", "community_area", _q(r("community")),
        "compound_id IN (SELECT id FROM compounds WHERE community_id = "
        "propmap_scope_community())")
    pol("hazards", "department_themes", _q(r("dept")), "theme = ANY (propmap_scope_themes())")
    return out


SCOPE_FUNCTIONS = """
CREATE FUNCTION propmap_scope_streets() RETURNS text[] LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT string_to_array(nullif(current_setting('propmap.streets', true), ''), ',') $$;
CREATE FUNCTION propmap_scope_community() RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('propmap.community', true), '')::integer $$;
CREATE FUNCTION propmap_scope_dept() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('propmap.dept', true), '') $$;
CREATE FUNCTION propmap_scope_themes() RETURNS text[] LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_to_array(nullif(current_setting('propmap.themes', true), ''), ','),
                    '{}'::text[]) $$;
"""

AUTH_FUNCTIONS = r"""
CREATE FUNCTION propmap_auth_prefix(p_name text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE h text;
BEGIN
    SELECT pw_hash INTO h FROM accounts WHERE name = p_name;
    IF h IS NULL THEN  -- an unknown name gets plausible parameters, not a refusal
        RETURN '$argon2id$v=19$m=65536,t=3,p=4$' || rtrim(encode(substr(sha256(
            convert_to('propmap unknown account ' || coalesce(p_name, ''), 'UTF8')), 1, 16),
            'base64'), '=');
    END IF;
    RETURN regexp_replace(h, '\$[^$]*$', '');
END $$;

CREATE FUNCTION propmap_auth_login(p_name text, p_digest text, p_max integer,
                                   p_minutes numeric, p_client text, p_session text)
RETURNS TABLE (status text, name text, display_name text, role text, streets text[],
               community_id integer, dept text, themes text[], must_change boolean,
               locked_until timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a accounts%ROWTYPE; ok boolean; scope_streets text[]; scope_themes text[];
BEGIN
    SELECT * INTO a FROM accounts x WHERE x.name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_log (account, event, detail) VALUES (left(p_name, 64), 'login_failed',
            jsonb_build_object('reason', 'unknown_account', 'client', p_client));
        RETURN QUERY SELECT 'bad'::text, NULL::text, NULL::text, NULL::text, NULL::text[],
            NULL::integer, NULL::text, NULL::text[], NULL::boolean, NULL::timestamptz;
        RETURN;
    END IF;
    IF a.disabled THEN
        INSERT INTO audit_log (account, role, event, detail) VALUES (a.name, a.role,
            'login_failed', jsonb_build_object('reason', 'disabled', 'client', p_client));
        RETURN QUERY SELECT 'disabled'::text, a.name, NULL::text, NULL::text, NULL::text[],
            NULL::integer, NULL::text, NULL::text[], NULL::boolean, NULL::timestamptz;
        RETURN;
    END IF;
    IF a.locked_until IS NOT NULL AND a.locked_until > now() THEN
        INSERT INTO audit_log (account, role, event, detail) VALUES (a.name, a.role,
            'login_failed', jsonb_build_object('reason', 'locked', 'client', p_client));
        RETURN QUERY SELECT 'locked'::text, a.name, NULL::text, NULL::text, NULL::text[],
            NULL::integer, NULL::text, NULL::text[], NULL::boolean, a.locked_until;
        RETURN;
    END IF;
    -- compare digests of the two hashes: the time taken does not depend on a common prefix
    ok := sha256(convert_to(regexp_replace(a.pw_hash, '^.*\$', ''), 'UTF8'))
          = sha256(convert_to(coalesce(p_digest, ''), 'UTF8'));
    IF NOT ok THEN
        a.failed_count := a.failed_count + 1;
        IF a.failed_count >= p_max THEN
            UPDATE accounts x SET failed_count = 0,
                locked_until = now() + make_interval(secs => p_minutes * 60) WHERE x.id = a.id
                RETURNING x.locked_until INTO a.locked_until;
            INSERT INTO audit_log (account, role, event, detail) VALUES (a.name, a.role,
                'login_failed', jsonb_build_object('reason', 'bad_password', 'client', p_client));
            INSERT INTO audit_log (account, role, event, detail) VALUES (a.name, a.role,
                'lockout', jsonb_build_object('until', a.locked_until, 'failures', p_max));
            RETURN QUERY SELECT 'locked'::text, a.name, NULL::text, NULL::text, NULL::text[],
                NULL::integer, NULL::text, NULL::text[], NULL::boolean, a.locked_until;
            RETURN;
        END IF;
        UPDATE accounts x SET failed_count = a.failed_count WHERE x.id = a.id;
        INSERT INTO audit_log (account, role, event, detail) VALUES (a.name, a.role,
            'login_failed', jsonb_build_object('reason', 'bad_password', 'client', p_client));
        RETURN QUERY SELECT 'bad'::text, NULL::text, NULL::text, NULL::text, NULL::text[],
            NULL::integer, NULL::text, NULL::text[], NULL::boolean, NULL::timestamptz;
        RETURN;
    END IF;
    UPDATE accounts x SET failed_count = 0, locked_until = NULL, last_login_at = now()
        WHERE x.id = a.id;
    INSERT INTO sessions (token_hash, account, client) VALUES (p_session, a.name, p_client);
    INSERT INTO audit_log (account, role, event, detail) VALUES (a.name, a.role, 'login',
        jsonb_build_object('client', p_client));
    scope_streets := a.streets;
    IF a.role = 'community' THEN
        SELECT ARRAY[m.street_code::text] INTO scope_streets FROM communities m
            WHERE m.id = a.community_id;
    END IF;
    SELECT coalesce(array_agg(t.theme::text ORDER BY t.theme), '{}') INTO scope_themes
        FROM department_themes t WHERE t.dept = a.dept;
    RETURN QUERY SELECT 'ok'::text, a.name, a.display_name, a.role::text, scope_streets::text[],
        a.community_id, a.dept::text, scope_themes::text[], a.must_change, NULL::timestamptz;
END $$;

CREATE FUNCTION propmap_auth_change_password(p_name text, p_old_digest text, p_new_hash text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a accounts%ROWTYPE;
BEGIN
    IF p_new_hash !~ '^\$argon2id\$v=19\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$'
    THEN
        RAISE EXCEPTION 'not an Argon2id hash';
    END IF;
    SELECT * INTO a FROM accounts x WHERE x.name = p_name FOR UPDATE;
    IF NOT FOUND OR a.disabled OR (a.locked_until IS NOT NULL AND a.locked_until > now())
       OR sha256(convert_to(regexp_replace(a.pw_hash, '^.*\$', ''), 'UTF8'))
          <> sha256(convert_to(coalesce(p_old_digest, ''), 'UTF8')) THEN
        RETURN false;
    END IF;
    UPDATE accounts x SET pw_hash = p_new_hash, must_change = false, failed_count = 0
        WHERE x.id = a.id;
    INSERT INTO audit_log (account, role, event, detail)
        VALUES (a.name, a.role, 'password_changed', '{}'::jsonb);
    RETURN true;
END $$;

CREATE FUNCTION propmap_auth_oidc(p_subject text, p_client text, p_session text)
RETURNS TABLE (status text, name text, display_name text, role text, streets text[],
               community_id integer, dept text, themes text[], must_change boolean,
               locked_until timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a accounts%ROWTYPE; scope_streets text[]; scope_themes text[];
BEGIN
    SELECT * INTO a FROM accounts x WHERE x.oidc_subject = p_subject AND p_subject <> '';
    IF NOT FOUND OR a.disabled THEN
        INSERT INTO audit_log (account, event, detail) VALUES (left(p_subject, 64),
            'login_failed', jsonb_build_object('reason', 'oidc_no_account', 'client', p_client));
        RETURN QUERY SELECT 'bad'::text, NULL::text, NULL::text, NULL::text, NULL::text[],
            NULL::integer, NULL::text, NULL::text[], NULL::boolean, NULL::timestamptz;
        RETURN;
    END IF;
    UPDATE accounts x SET last_login_at = now() WHERE x.id = a.id;
    INSERT INTO sessions (token_hash, account, client) VALUES (p_session, a.name, p_client);
    INSERT INTO audit_log (account, role, event, detail) VALUES (a.name, a.role, 'login',
        jsonb_build_object('client', p_client, 'via', 'oidc'));
    scope_streets := a.streets;
    IF a.role = 'community' THEN
        SELECT ARRAY[m.street_code::text] INTO scope_streets FROM communities m
            WHERE m.id = a.community_id;
    END IF;
    SELECT coalesce(array_agg(t.theme::text ORDER BY t.theme), '{}') INTO scope_themes
        FROM department_themes t WHERE t.dept = a.dept;
    RETURN QUERY SELECT 'ok'::text, a.name, a.display_name, a.role::text, scope_streets::text[],
        a.community_id, a.dept::text, scope_themes::text[], false, NULL::timestamptz;
END $$;

CREATE FUNCTION propmap_session_resume(p_session text, p_idle_minutes numeric)
RETURNS TABLE (status text, name text, display_name text, role text, streets text[],
               community_id integer, dept text, themes text[], must_change boolean,
               locked_until timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE s sessions%ROWTYPE; a accounts%ROWTYPE; scope_streets text[]; scope_themes text[];
BEGIN
    SELECT * INTO s FROM sessions x WHERE x.token_hash = p_session AND x.ended_at IS NULL
        FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'none'::text, NULL::text, NULL::text, NULL::text, NULL::text[],
            NULL::integer, NULL::text, NULL::text[], NULL::boolean, NULL::timestamptz;
        RETURN;
    END IF;
    SELECT * INTO a FROM accounts x WHERE x.name = s.account;
    IF s.last_seen < now() - make_interval(secs => p_idle_minutes * 60) OR a.disabled THEN
        UPDATE sessions x SET ended_at = now() WHERE x.token_hash = p_session;
        INSERT INTO audit_log (account, role, event, detail) VALUES (a.name, a.role,
            CASE WHEN a.disabled THEN 'logout' ELSE 'session_expired' END,
            jsonb_build_object('idle_since', s.last_seen, 'disabled', a.disabled));
        RETURN QUERY SELECT CASE WHEN a.disabled THEN 'disabled' ELSE 'expired' END,
            a.name, NULL::text, NULL::text, NULL::text[], NULL::integer, NULL::text,
            NULL::text[], NULL::boolean, NULL::timestamptz;
        RETURN;
    END IF;
    UPDATE sessions x SET last_seen = now() WHERE x.token_hash = p_session;
    scope_streets := a.streets;
    IF a.role = 'community' THEN
        SELECT ARRAY[m.street_code::text] INTO scope_streets FROM communities m
            WHERE m.id = a.community_id;
    END IF;
    SELECT coalesce(array_agg(t.theme::text ORDER BY t.theme), '{}') INTO scope_themes
        FROM department_themes t WHERE t.dept = a.dept;
    RETURN QUERY SELECT 'ok'::text, a.name, a.display_name, a.role::text, scope_streets::text[],
        a.community_id, a.dept::text, scope_themes::text[], a.must_change, NULL::timestamptz;
END $$;

CREATE FUNCTION propmap_session_end(p_session text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE s sessions%ROWTYPE;
BEGIN
    UPDATE sessions x SET ended_at = now() WHERE x.token_hash = p_session
        AND x.ended_at IS NULL RETURNING * INTO s;
    IF FOUND THEN
        INSERT INTO audit_log (account, role, event, detail)
            SELECT a.name, a.role, 'logout', '{}'::jsonb FROM accounts a WHERE a.name = s.account;
    END IF;
END $$;

CREATE FUNCTION propmap_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '审计日志只能追加，不能修改或删除';
END $$;
"""


AUTH_FUNCTIONS_SIGNED = (
    "propmap_auth_prefix(text)", "propmap_auth_login(text, text, integer, numeric, text, text)",
    "propmap_auth_oidc(text, text, text)", "propmap_auth_change_password(text, text, text)",
    "propmap_session_resume(text, numeric)", "propmap_session_end(text)")
AUTH_SIGNATURES = ", ".join(AUTH_FUNCTIONS_SIGNED)


def _grants_function() -> str:
    """``propmap_apply_grants()``: every grant of every propmap role, idempotent."""
    app = roles.app_role()
    kinds = [roles.scope_role(k) for k in roles.SCOPE_KINDS]
    everyone = ", ".join(_q(x) for x in [app, *kinds])
    scoped_readers = ", ".join(_q(x) for x in [app, *kinds] if x != roles.scope_role("viewer"))
    viewer = _q(roles.scope_role("viewer"))
    admin = _q(roles.scope_role("admin"))
    overseers = ", ".join(_q(roles.scope_role(k)) for k in ("leader", "housing", "admin"))
    hidden = ", ".join(f"'{c}'" for c in VIEWER_HIDDEN)
    return f"""
CREATE OR REPLACE FUNCTION propmap_apply_grants() RETURNS void LANGUAGE plpgsql AS $$
DECLARE cols text;
BEGIN
    REVOKE ALL ON complainants FROM PUBLIC, {everyone};
    REVOKE ALL ON accounts FROM PUBLIC, {everyone};
    REVOKE ALL ON sessions FROM PUBLIC, {everyone};
    GRANT SELECT ON {", ".join(PUBLIC_TABLES)} TO {everyone};
    GRANT SELECT ON {", ".join(t for t in SCOPED_TABLES if t != "cases")} TO {everyone};
    GRANT SELECT ON cases TO {scoped_readers};
    REVOKE SELECT ON cases FROM {viewer};
    SELECT string_agg(quote_ident(column_name), ', ') INTO cols
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'cases'
          AND column_name NOT IN ({hidden});
    EXECUTE format('GRANT SELECT (%s) ON cases TO {viewer}', cols);
    GRANT SELECT ON imports, quarantine TO {overseers};
    -- the data's cut-off day (geo.measures.cutoff_day) is the day of the last case import
    GRANT SELECT (kind, finished_at) ON imports TO {everyone};
    GRANT INSERT ON audit_log TO {everyone};
    GRANT USAGE ON SEQUENCE audit_log_id_seq TO {everyone};
    GRANT SELECT ON audit_log TO {admin};
    GRANT SELECT (id, name, display_name, role, streets, community_id, dept, must_change,
                  disabled, failed_count, locked_until, created_at, last_login_at)
        ON accounts TO {admin};
    REVOKE ALL ON FUNCTION {AUTH_SIGNATURES} FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION {AUTH_SIGNATURES} TO {everyone};
END $$;
"""


def _require_roles() -> None:
    names = [roles.app_role(), *(roles.scope_role(k) for k in roles.SCOPE_KINDS)]
    missing = op.get_bind().execute(
        sa.text("SELECT n FROM unnest(CAST(:n AS text[])) n "
                "WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = n)"),
        {"n": names}).scalars().all()
    if missing:
        raise RuntimeError(
            f"缺少数据库角色：{'、'.join(missing)}。本机默认数据库由 propmap db init 自动创建；"
            "其他服务器请让数据库管理员执行 `propmap db roles` 输出的 SQL 后再执行 propmap db init。")


def upgrade() -> None:
    _require_roles()
    op.create_table(
        "department_themes",
        sa.Column("dept", sa.String(32), sa.ForeignKey("departments.code",
                  name="fk_department_themes_dept"), primary_key=True),
        sa.Column("theme", sa.String(10), primary_key=True),
        sa.CheckConstraint("theme IN ('fire', 'elevator', 'security')",
                           name=op.f("ck_department_themes_theme")),
        comment="部门监管的隐患主题（全市）：消防救援大队—消防，市场监管局—电梯，公安—治安",
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("display_name", sa.Text()),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("streets", postgresql.ARRAY(sa.String(12)), nullable=False,
                  server_default="{}"),
        sa.Column("community_id", sa.Integer(), sa.ForeignKey(
            "communities.id", ondelete="SET NULL", name="fk_accounts_community_id")),
        sa.Column("dept", sa.String(32), sa.ForeignKey("departments.code",
                                                        name="fk_accounts_dept")),
        sa.Column("pw_hash", sa.Text(), nullable=False),
        sa.Column("must_change", sa.Boolean(), nullable=False, server_default="true"),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("failed_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("oidc_subject", sa.Text(), unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("role IN ('leader', 'housing', 'street', 'community', 'dept', "
                           "'viewer', 'admin')", name=op.f("ck_accounts_role")),
        sa.CheckConstraint("(role = 'street') = (cardinality(streets) > 0)",
                           name=op.f("ck_accounts_street_scope")),
        sa.CheckConstraint("(role = 'community') = (community_id IS NOT NULL)",
                           name=op.f("ck_accounts_community_scope")),
        sa.CheckConstraint("(role = 'dept') = (dept IS NOT NULL)",
                           name=op.f("ck_accounts_dept_scope")),
        sa.CheckConstraint("pw_hash LIKE '$argon2id$%'", name=op.f("ck_accounts_argon2")),
        comment="看板账号：类型、辖区范围、Argon2 口令散列与锁定状态",
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
        sa.Column("account", sa.Text()),
        sa.Column("role", sa.Text()),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("detail", postgresql.JSONB(), nullable=False, server_default="{}"),
        comment="审计日志（只追加）：登录、失败、锁定、下载与导出、写入",
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.Text(), primary_key=True),
        sa.Column("account", sa.Text(), sa.ForeignKey("accounts.name", ondelete="CASCADE",
                                                       onupdate="CASCADE",
                                                       name="fk_sessions_account"),
                  nullable=False),
        sa.Column("client", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        comment="看板登录会话（只存令牌的 SHA-256）：空闲超时与退出在数据库中判定",
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_account", "audit_log", ["account", "at"])
    op.execute(SCOPE_FUNCTIONS)
    op.execute(AUTH_FUNCTIONS)
    op.execute("CREATE TRIGGER trg_audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
               "ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION propmap_audit_append_only()")
    op.execute("ALTER FUNCTION bump_data_version() SECURITY DEFINER")
    op.execute("ALTER FUNCTION bump_data_version() SET search_path = public, pg_temp")
    for t in SCOPED_TABLES:
        op.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
    for sql in _policies():
        op.execute(sql)
    op.execute(_grants_function())
    op.execute("SELECT propmap_apply_grants()")


def downgrade() -> None:
    for t in SCOPED_TABLES:
        for name in ("city_wide", "street_area", "community_area", "department_cases",
                     "scoped_cases", "department_city", "department_themes"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {t}")
        op.execute(f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY")
    op.execute("ALTER FUNCTION bump_data_version() SECURITY INVOKER")
    op.execute("DROP FUNCTION IF EXISTS propmap_apply_grants()")
    op.execute("DROP TRIGGER IF EXISTS trg_audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS propmap_audit_append_only()")
    for fn in (*AUTH_FUNCTIONS_SIGNED, "propmap_scope_themes()", "propmap_scope_dept()",
               "propmap_scope_community()", "propmap_scope_streets()"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.drop_table("sessions")
    op.drop_table("audit_log")
    op.drop_table("accounts")
    op.drop_table("department_themes")
