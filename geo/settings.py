"""Settings for propmap, each with its default and what it does.

Every setting can be overridden by an environment variable of the same name in
upper case with a ``PROPMAP_`` prefix (``DATABASE_URL`` is read as is). The
``SETTINGS`` table below is the single source: ``tests/test_settings.py`` checks
that each one is documented in the README.

Settings
--------
database_url
    SQLAlchemy URL of the database. When unset, propmap prepares a local
    PostgreSQL + PostGIS of its own (see :mod:`geo.db`) and uses ``LOCAL_URL``.
nearest_compound_m
    A point outside every compound but within this many metres of one is
    assigned to the nearest; beyond it, the point keeps only its community and
    street. 50 m is about half a city block: a complaint geocoded to the road in
    front of the gate still lands at the compound.
old_compound_before
    Compounds built before this year are 老旧小区 (national definition: built
    before the end of 2000).
statement_timeout_ms
    Every dashboard query is cancelled after this many milliseconds, so one slow
    query cannot hang the meeting-room screen.
tile_url
    A tile URL template for a base map (Tianditu with its key, or an intranet
    tile server). Empty means no base map: layers on a plain background.
tile_crs
    ``wgs84`` or ``gcj02``: the datum of the tiles at ``tile_url``. With
    ``gcj02`` the layers are shifted to match the tiles.
tile_attribution
    Attribution text shown for the tiles.
app_database_url
    SQLAlchemy URL the dashboard connects with: a role that is neither
    superuser nor table owner (see :mod:`geo.roles`). Unset on the local
    default cluster, where propmap creates that role itself.
role_prefix
    Prefix of the PostgreSQL roles propmap uses (``<prefix>_app`` for the
    dashboard, ``<prefix>_leader`` … for the kinds of account).
state_dir
    Directory for local state only root reads (the local application role's
    password).
login_max_failures
    Failed logins in a row after which an account is locked.
login_lockout_minutes
    How long a locked account stays locked.
session_idle_minutes
    A dashboard session without activity for this long is logged out.
auth_mode
    ``password`` (default: accounts with Argon2 passwords in the database) or
    ``oidc`` (the city's identity provider through Streamlit's ``st.login``;
    accounts are matched by their OIDC subject or e-mail).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

LOCAL_URL = "postgresql+psycopg://propmap:propmap@127.0.0.1:5432/propmap"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "", "数据库地址 (SQLAlchemy URL)；留空则使用本机自建的 PostGIS 库"),
    Setting("nearest_compound_m", 50.0, "点位在小区外但距最近小区不超过该米数时，归入该小区"),
    Setting("old_compound_before", 2001, "建成年份早于该年的小区为老旧小区"),
    Setting("statement_timeout_ms", 15000, "看板每条查询的超时（毫秒）"),
    Setting("tile_url", "", "底图瓦片地址模板（天地图或内网瓦片服务）；留空则无底图"),
    Setting("tile_crs", "wgs84", "底图坐标系：wgs84 或 gcj02"),
    Setting("tile_attribution", "", "底图署名"),
    Setting("app_database_url", "", "看板连接数据库所用的地址（非超级用户、非表属主的专用角色）"),
    Setting("role_prefix", "propmap", "propmap 使用的数据库角色名前缀"),
    Setting("state_dir", "~/.local/state/propmap", "本机状态目录（保存看板数据库角色的密码）"),
    Setting("login_max_failures", 5, "连续登录失败多少次后锁定账号"),
    Setting("login_lockout_minutes", 15.0, "账号锁定时长（分钟）"),
    Setting("session_idle_minutes", 30.0, "看板会话空闲多久后自动退出（分钟）"),
    Setting("auth_mode", "password", "登录方式：password（账号密码）或 oidc（统一身份认证）"),
)


def get(name: str) -> Any:
    """Return the value of setting ``name``, from the environment or its default.

    Values from the environment are converted to the default's type.
    """
    setting = next((s for s in SETTINGS if s.name == name), None)
    if setting is None:
        raise KeyError(f"unknown setting {name!r}")
    env = "DATABASE_URL" if name == "database_url" else f"PROPMAP_{name.upper()}"
    raw = os.environ.get(env)
    if raw is None or raw == "":
        return setting.default
    if isinstance(setting.default, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(setting.default, int):
        return int(raw)
    if isinstance(setting.default, float):
        return float(raw)
    return raw
