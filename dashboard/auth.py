"""Login in front of every page: who is looking, for how long, and what they may see.

:func:`gate` runs first on every page run. Without a logged-in account it draws
the login form (or, after a first login with a one-time password, the
password change) and the page stops there: no page, figure or download is
drawn for nobody. A session without activity for ``session_idle_minutes`` is
logged out. Logins, failures, lockouts (:mod:`geo.auth`), logouts, expired
sessions and every download (:func:`download_button`) are written to the
audit log.

With ``auth_mode = oidc`` the city's identity provider logs the user in
(Streamlit's ``st.login``, configured in ``.streamlit/secrets.toml``) and the
account is the one whose OIDC subject matches; the password form is not shown.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import streamlit as st
import streamlit.components.v1 as components

from dashboard import data
from geo import auth, settings
from geo.auth import Account, AuthError
from geo.scope import KIND_LABELS
from layers.html import md

_ACCOUNT = "account"
_TOKEN = "_session_token"
_LAST_SEEN = "_last_seen"
#: The cookie that carries the session token, so a reload or a bookmark stays logged in.
COOKIE = "propmap_session"


def _client() -> str:
    ip = getattr(st.context, "ip_address", None)
    return str(ip or "")


def _app_engine() -> sa.Engine:
    return data.engine(data.url())


def audit(event: str, detail: dict[str, Any] | None = None,
          account: Account | None = None) -> None:
    """Write one audit row as the logged-in account (in its scope role)."""
    acc = account or current()
    with _app_engine().begin() as con:
        if acc is not None:
            acc.scope.apply(con)
        auth.audit(con, event, detail, account=acc.name if acc else None,
                   role=acc.scope.kind if acc else None)


def current() -> Account | None:
    acc = st.session_state.get(_ACCOUNT)
    return acc if isinstance(acc, Account) else None


def _set_cookie(token: str | None) -> None:
    """Give the browser the session cookie (``None`` deletes it); it lives until the browser
    closes, is sent to this site only, and proves nothing without the database's session."""
    value = (f"{COOKIE}={token}; path=/; SameSite=Strict" if token else
             f"{COOKIE}=; path=/; Max-Age=0; SameSite=Strict")
    components.html(f"<script>document.cookie = {json.dumps(value)};</script>", height=0)


def _forget() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def logout() -> None:
    """End the session in the database (audited), forget it here and in the browser."""
    token = st.session_state.get(_TOKEN)
    acc = current()
    if token:
        with _app_engine().begin() as con:
            auth.end_session(con, token)
    elif acc is not None:
        audit("logout", {}, acc)
    _forget()
    st.session_state["_clear_cookie"] = True
    if settings.get("auth_mode") == "oidc" and st.user.is_logged_in:
        # the identity provider's login too: without it the next run logs straight back in
        # (a shared meeting-room PC would stay in the last person's account)
        st.logout()


def _start(acc: Account, token: str) -> None:
    st.session_state[_ACCOUNT] = acc
    st.session_state[_TOKEN] = token
    st.session_state["_new_cookie"] = token


def _login_form() -> None:
    st.markdown('<h1 class="pm-title">凯里市物业管理一张图</h1>', unsafe_allow_html=True)
    note = st.session_state.pop("_login_note", None)
    if note:
        st.info(note)
    left, _right = st.columns([1, 1.4])
    with left, st.form("login", border=True):
        st.markdown("#### 登录")
        name = st.text_input("账号", key="login_name")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录", type="primary", width="stretch")
    if not submitted:
        return
    if not name or not password:
        left.error("请输入账号和密码。")
        return
    token = auth.new_session_token()
    with _app_engine().begin() as con:
        result = auth.login(con, name.strip(), password, _client(), token)
    if result.account is None:
        left.error(result.message())
        return
    _start(result.account, token)
    st.rerun()


def _change_password_form(acc: Account) -> None:
    st.markdown('<h1 class="pm-title">首次登录：请修改密码</h1>', unsafe_allow_html=True)
    st.caption(f"账号 {md(acc.name)}：一次性密码只能用于首次登录，请设置您自己的密码后继续。"
               f"新密码至少 {auth.MIN_PASSWORD} 个字符，"
               "含大写字母、小写字母、数字、符号中的至少三类。")
    left, _right = st.columns([1, 1.4])
    with left, st.form("change_password", border=True):
        old = st.text_input("当前（一次性）密码", type="password")
        new = st.text_input("新密码", type="password")
        again = st.text_input("再次输入新密码", type="password")
        submitted = st.form_submit_button("修改密码并继续", type="primary", width="stretch")
    if not submitted:
        return
    if new != again:
        left.error("两次输入的新密码不一致。")
        return
    try:
        with _app_engine().begin() as con:
            auth.change_password(con, acc.name, old, new)
    except AuthError as exc:
        left.error(str(exc))
        return
    # the change ended every session of the account (a stolen one too): open a new one
    token = auth.new_session_token()
    with _app_engine().begin() as con:
        result = auth.login(con, acc.name, new, _client(), token)
    if result.account is None:  # (changed, but refused at once: disabled meanwhile)
        _forget()
        st.rerun()
    _start(result.account, token)
    st.rerun()


def _oidc_login() -> None:
    st.markdown('<h1 class="pm-title">凯里市物业管理一张图</h1>', unsafe_allow_html=True)
    user = st.user
    if not user.is_logged_in:
        st.button("使用统一身份认证登录", type="primary", on_click=st.login)
        return
    subject = str(user.get("sub") or user.get("email") or "")
    token = auth.new_session_token()
    with _app_engine().begin() as con:
        result = auth.login_oidc(con, subject, _client(), token)
    if result.account is None:
        st.error("统一身份认证已通过，但本系统没有与您对应的账号，请联系管理员开通。")
        st.button("退出统一身份认证", on_click=st.logout)
        return
    _start(result.account, token)
    st.rerun()


_ENDED = {
    "expired": "您已超过 {idle:g} 分钟未操作，为保护数据已自动退出，请重新登录。",
    "disabled": "该账号已停用，请联系管理员。",
    "none": "登录已失效（已在别处退出），请重新登录。",
}


def _check_session() -> Account | None:
    """The session's account, validated (and its idle clock reset) by the database."""
    acc = current()
    token = st.session_state.get(_TOKEN)
    if acc is not None and not token:
        # A session without a database session (tests put the account in directly):
        # the idle time is checked here.
        now, last = time.time(), st.session_state.get(_LAST_SEEN)
        st.session_state[_LAST_SEEN] = now
        if last is None or now - float(last) <= 60.0 * float(settings.get("session_idle_minutes")):
            return acc
        audit("session_expired", {}, acc)
        _forget()
        st.session_state["_login_note"] = _ENDED["expired"].format(
            idle=settings.get("session_idle_minutes"))
        return None
    if token is None:
        token = st.context.cookies.get(COOKIE) if acc is None else None
        if not isinstance(token, str) or not token:  # (Streamlit's AppTest has no cookies)
            return None
    with _app_engine().begin() as con:
        result = auth.resume(con, token)
    if result.account is None:
        had = acc is not None or result.status != "none"
        _forget()
        st.session_state["_clear_cookie"] = True
        if had:
            st.session_state["_login_note"] = _ENDED[result.status].format(
                idle=settings.get("session_idle_minutes"))
        return None
    if acc is None:
        st.session_state[_TOKEN] = token
    st.session_state[_ACCOUNT] = result.account
    return result.account


def gate() -> Account | None:
    """The logged-in account with its password changed, or ``None`` (a form was drawn)."""
    acc = _check_session()
    if st.session_state.pop("_clear_cookie", False):
        _set_cookie(None)
    token = st.session_state.pop("_new_cookie", None)
    if token:
        _set_cookie(token)
    if acc is None:
        # A database that cannot be reached is said at once, as the command line says it,
        # not after someone has typed their password.
        with _app_engine().connect() as con:
            con.execute(sa.text("SELECT 1"))
        if settings.get("auth_mode") == "oidc":
            _oidc_login()
        else:
            _login_form()
        return None
    # The one-time password is the password login's; under OIDC nobody types a password
    # here, and the form would ask an identity-provider user for one they never had.
    if acc.must_change and settings.get("auth_mode") != "oidc":
        _change_password_form(acc)
        return None
    return acc


def describe(acc: Account) -> str:
    """Who is logged in and what area the account covers, in Chinese."""
    c = data.ctx()
    names = data.street_names(c)
    community = dept = None
    if acc.scope.community_id is not None:
        comms = data.communities(c, acc.scope.streets[0]) if acc.scope.streets else None
        if comms is not None:
            hit = comms[comms["id"] == acc.scope.community_id]
            community = str(hit["name"].iloc[0]) if len(hit) else None
    if acc.scope.dept:
        dept = data.department_names(c).get(acc.scope.dept)
    return (f"{acc.display_name}（{KIND_LABELS[acc.scope.kind]}）· 范围："
            f"{acc.scope.describe(names, community, dept)}")


def sidebar(acc: Account) -> None:
    """The account, its area and the logout button, at the top of the sidebar."""
    sb = st.sidebar
    sb.markdown(f"**当前用户**：{md(describe(acc))}")
    if sb.button("退出登录", key="logout"):
        logout()
        st.rerun()




def download_button(label: str, payload: bytes | Callable[[], bytes], file_name: str, *,
                    what: str, rows: int, filters: dict[str, Any] | None = None,
                    mime: str | None = None, key: str | None = None,
                    primary: bool = False) -> None:
    """A download for accounts allowed to download, each download written to the audit log.

    ``payload`` may be a function making the file: it then runs only when someone
    clicks (building every page's workbook on every run cost an eighth of the
    server's time under 10 concurrent sessions), and the audit row is written as
    the file is made. The meeting-room screen (viewer) gets no downloads at all.
    """
    acc = current()
    if acc is None or not acc.scope.may_download:
        return
    engine = _app_engine()  # captured here: the file is made outside the page's run
    token = st.session_state.get(_TOKEN)
    detail = {"what": what, "file": file_name, "rows": rows, "filters": filters or {}}

    def produce() -> bytes:
        # The click can come long after the page was drawn (Streamlit keeps the maker until
        # the next run): the session must still be open, not ended, expired or disabled.
        if token is not None:
            with engine.begin() as con:
                if auth.resume(con, token).status != "ok":
                    raise AuthError("登录已失效，文件未生成：请重新登录后再下载。")
        body = payload() if callable(payload) else payload
        with engine.begin() as con:
            acc.scope.apply(con)
            auth.audit(con, "download", detail, account=acc.name, role=acc.scope.kind)
        return body

    st.download_button(label, data=produce, file_name=file_name,
                       mime=mime or "application/vnd.openxmlformats-officedocument."
                                    "spreadsheetml.sheet",
                       type="primary" if primary else "secondary", key=key, on_click="ignore")
