"""login and password change: no typed name in the audit log, no session outlives a new password

Revision ID: 0016
Revises: 0015

- ``propmap_auth_login``: a login under an unknown name no longer writes the text
  typed as the audit row's account (people type their password into the name's
  field; "never stored or logged in clear"). The row has no account and the first
  12 hex digits of the name's SHA-256, enough to see repeated attempts.
- ``propmap_auth_change_password``: a changed password ends every open session of
  the account (audited with how many); the dashboard opens a new one with the new
  password, so a stolen session token does not survive the change.

Both functions keep their signatures, so their grants (and ``propmap_apply_grants``)
stay as they are. The bodies are restated whole: a migration is frozen history.
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

LOGIN = r"""
CREATE OR REPLACE FUNCTION propmap_auth_login(p_name text, p_digest text, p_max integer,
                                   p_minutes numeric, p_client text, p_session text)
RETURNS TABLE (status text, name text, display_name text, role text, streets text[],
               community_id integer, dept text, themes text[], must_change boolean,
               locked_until timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a accounts%ROWTYPE; ok boolean; scope_streets text[]; scope_themes text[];
BEGIN
    SELECT * INTO a FROM accounts x WHERE x.name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        -- not the text typed: it may be a password typed into the name's field
        INSERT INTO audit_log (account, event, detail) VALUES (NULL, 'login_failed',
            jsonb_build_object('reason', 'unknown_account', 'client', p_client,
                               'name_sha256', left(encode(sha256(convert_to(
                                   coalesce(p_name, ''), 'UTF8')), 'hex'), 12)));
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
"""

CHANGE_PASSWORD = r"""
CREATE OR REPLACE FUNCTION propmap_auth_change_password(p_name text, p_old_digest text, p_new_hash text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a accounts%ROWTYPE; n integer;
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
    -- every open session of the account ends: a stolen session does not outlive the change
    -- (the dashboard opens a new one with the new password)
    UPDATE sessions x SET ended_at = now() WHERE x.account = a.name AND x.ended_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO audit_log (account, role, event, detail)
        VALUES (a.name, a.role, 'password_changed', jsonb_build_object('sessions_ended', n));
    RETURN true;
END $$;
"""

#: What 0016 changed in each body, as (0009's text, 0016's text): the downgrade puts
#: 0009's text back (the rest of each body is the same).
CHANGES = (
    ("""        INSERT INTO audit_log (account, event, detail) VALUES (left(p_name, 64), 'login_failed',
            jsonb_build_object('reason', 'unknown_account', 'client', p_client));""",
     """        -- not the text typed: it may be a password typed into the name's field
        INSERT INTO audit_log (account, event, detail) VALUES (NULL, 'login_failed',
            jsonb_build_object('reason', 'unknown_account', 'client', p_client,
                               'name_sha256', left(encode(sha256(convert_to(
                                   coalesce(p_name, ''), 'UTF8')), 'hex'), 12)));"""),
    ("DECLARE a accounts%ROWTYPE;\nBEGIN", "DECLARE a accounts%ROWTYPE; n integer;\nBEGIN"),
    ("""    INSERT INTO audit_log (account, role, event, detail)
        VALUES (a.name, a.role, 'password_changed', '{}'::jsonb);""",
     """    -- every open session of the account ends: a stolen session does not outlive the change
    -- (the dashboard opens a new one with the new password)
    UPDATE sessions x SET ended_at = now() WHERE x.account = a.name AND x.ended_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO audit_log (account, role, event, detail)
        VALUES (a.name, a.role, 'password_changed', jsonb_build_object('sessions_ended', n));"""),
)


def _as_in_0009(sql: str) -> str:
    for old, new in CHANGES:
        assert new in sql, new
        sql = sql.replace(new, old)
    return sql


def upgrade() -> None:
    op.execute(LOGIN)
    op.execute(CHANGE_PASSWORD)


def downgrade() -> None:
    op.execute(_as_in_0009(LOGIN + CHANGE_PASSWORD))
