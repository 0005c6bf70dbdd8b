"""Settings for propmap, each with its default, what it does and what it allows.

Every setting can be overridden by an environment variable of the same name in
upper case with a ``PROPMAP_`` prefix (``DATABASE_URL`` is read as is). The
``SETTINGS`` table below is the single source: ``tests/test_settings.py`` checks
that each one is documented in the README.

A value that propmap cannot use (a word where a number belongs, a negative
timeout, an unknown tile datum) is refused with :class:`geo._errors.SettingError`,
whose message names the variable, the value and what is allowed. The command
line checks every setting before any command runs (:func:`check`), the dashboard
before it draws a page; :func:`get` checks the one it reads.

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
    before the end of 2000). The database keeps a copy (table ``config``) that
    every ``propmap`` command brings up to date, recomputing ``compounds.is_old``
    when it changed (see :mod:`geo.schema`).
statement_timeout_ms
    Every dashboard query is cancelled after this many milliseconds, so one slow
    query cannot hang the meeting-room screen.
tile_url
    A tile URL template for a base map (Tianditu with its key, or an intranet
    tile server). Empty means no base map: layers on a plain background.
tile_crs
    ``wgs84`` (or its equal at map scale, ``cgcs2000``) or ``gcj02``: the datum
    of the tiles at ``tile_url``. With ``gcj02`` the layers are shifted to match
    the tiles.
tile_attribution
    Attribution text shown for the tiles.
allow_demo
    Let ``propmap serve`` load the synthetic demo into an empty database that
    propmap did not create itself (the same as ``propmap serve --demo``).
    Without it, only the local database propmap set up for the quick start gets
    the demo unasked, so a mistyped ``DATABASE_URL`` is never filled with
    synthetic data.
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
intake_dir
    A directory of site-specific intake tables (``header-aliases.csv``,
    ``value-spellings.csv``, ``rules.toml``, any of them) merged over the
    shipped ones in ``data/intake/``: a city adds its systems' spellings
    without editing the installed package (see ``docs/intake.md``).
max_file_mb
    An input file larger than this many megabytes is refused before it is
    read. A year of a city's cases (1,000,000 rows) is about 240 MB of CSV.
max_unzipped_mb
    An xlsx (or zipped boundary file) whose members add up to more than this
    many megabytes uncompressed is refused before it is opened, so that a
    small file cannot unpack into all the machine's memory.
max_zip_ratio
    An xlsx or zip with a member (of a megabyte or more) that unpacks to more
    than this many times its packed size is refused as a zip bomb (real
    workbooks compress 5 to 30 times).
max_rows
    A file with more data rows (or features) than this is refused; reading
    stops at the cap.
max_columns
    A file with more columns than this is refused (a sheet claiming 16,384
    columns never allocates them).
max_cell_chars
    A file with a cell longer than this many characters is refused
    (Excel's own limit is 32,767).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from geo._errors import SettingError

LOCAL_URL = "postgresql+psycopg://propmap:propmap@127.0.0.1:5432/propmap"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Setting:
    """One setting: name, default and help, and the values it allows.

    ``minimum``/``maximum`` bound a number, ``choices`` lists the allowed words
    (compared in lower case), ``allowed`` says in Chinese what is allowed, for
    the message that refuses a bad value.
    """

    name: str
    default: Any
    help: str
    allowed: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return "DATABASE_URL" if self.name == "database_url" else f"PROPMAP_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "", "数据库地址 (SQLAlchemy URL)；留空则使用本机自建的 PostGIS 库",
            allowed="PostgreSQL 的 SQLAlchemy 地址，如 "
                    "postgresql+psycopg://用户:密码@主机:5432/库名"),
    Setting("nearest_compound_m", 50.0, "点位在小区外但距最近小区不超过该米数时，归入该小区",
            allowed="0 到 1000 之间的数（米）", minimum=0, maximum=1000),
    Setting("old_compound_before", 2001, "建成年份早于该年的小区为老旧小区",
            allowed="1900 到 2100 之间的整数年份，如 2001", minimum=1900, maximum=2100),
    Setting("statement_timeout_ms", 15000, "看板每条查询的超时（毫秒）",
            allowed="1 到 3600000 之间的整数（毫秒），如 15000", minimum=1, maximum=3_600_000),
    Setting("tile_url", "", "底图瓦片地址模板（天地图或内网瓦片服务）；留空则无底图",
            allowed="以 http:// 或 https:// 开头、含 {x}、{y}、{z} 的瓦片地址模板，"
                    "不含 {{、{% 或 {#"),
    Setting("tile_crs", "wgs84", "底图坐标系：wgs84 或 gcj02",
            allowed="wgs84、cgcs2000 或 gcj02", choices=("wgs84", "cgcs2000", "gcj02")),
    Setting("tile_attribution", "", "底图署名", allowed="任意文字，不含 {{、{% 或 {#"),
    Setting("app_database_url", "", "看板连接数据库所用的地址（非超级用户、非表属主的专用角色）",
            allowed="PostgreSQL 的 SQLAlchemy 地址，用户为看板专用角色（如 propmap_app）"),
    Setting("role_prefix", "propmap", "propmap 使用的数据库角色名前缀",
            allowed="以小写字母开头的小写字母、数字与下划线，至多 40 个字符"),
    Setting("state_dir", "~/.local/state/propmap", "本机状态目录（保存看板数据库角色的密码）"),
    Setting("login_max_failures", 5, "连续登录失败多少次后锁定账号",
            allowed="1 到 100 之间的整数", minimum=1, maximum=100),
    Setting("login_lockout_minutes", 15.0, "账号锁定时长（分钟）",
            allowed="0.01 到 1440 之间的数（分钟）", minimum=0.01, maximum=1440),
    Setting("session_idle_minutes", 30.0, "看板会话空闲多久后自动退出（分钟）",
            allowed="0.01 到 1440 之间的数（分钟）", minimum=0.01, maximum=1440),
    Setting("auth_mode", "password", "登录方式：password（账号密码）或 oidc（统一身份认证）",
            allowed="password 或 oidc", choices=("password", "oidc")),
    Setting("allow_demo", False, "允许 propmap serve 向非 propmap 自建的空库载入演示数据",
            allowed="1/true/yes/on 或 0/false/no/off"),
    Setting("intake_dir", "", "本地导入规则目录（header-aliases.csv、value-spellings.csv、"
            "rules.toml），覆盖随软件提供的同名规则"),
    Setting("max_file_mb", 1024, "导入文件大小上限（MB），超过则拒绝读取",
            allowed="1 到 100000 之间的整数（MB）", minimum=1, maximum=100_000),
    Setting("max_unzipped_mb", 1024, "xlsx（或 zip）解压后大小上限（MB），打开前检查",
            allowed="1 到 100000 之间的整数（MB）", minimum=1, maximum=100_000),
    Setting("max_zip_ratio", 200, "xlsx（或 zip）压缩比上限，超过视为压缩炸弹",
            allowed="2 到 100000 之间的整数", minimum=2, maximum=100_000),
    Setting("max_rows", 2_000_000, "导入文件数据行（要素）数上限",
            allowed="1 到 100000000 之间的整数", minimum=1, maximum=100_000_000),
    Setting("max_columns", 200, "导入文件列数上限",
            allowed="1 到 16384 之间的整数", minimum=1, maximum=16_384),
    Setting("max_cell_chars", 32_767, "单元格字符数上限",
            allowed="1 到 1000000 之间的整数", minimum=1, maximum=1_000_000),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _problem(s: Setting, raw: str) -> str:
    default = ("0" if s.default is False else "1" if s.default is True
               else str(s.default) if s.default != "" else "空")
    return (f"设置 {s.env} 的值“{raw}”无效：应为{s.allowed}。"
            f"请改正或删除该环境变量（默认：{default}）。")


def _parse(s: Setting, raw: str) -> Any:
    """``raw`` converted to the default's type and checked; ``ValueError`` when not allowed."""
    text = raw.strip()
    if isinstance(s.default, bool):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(raw)
    if isinstance(s.default, int | float):
        value: int | float = int(text) if isinstance(s.default, int) else float(text)
        if value != value or (s.minimum is not None and value < s.minimum) or (
                s.maximum is not None and value > s.maximum):  # NaN fails the first test
            raise ValueError(raw)
        return value
    if s.choices:
        if text.lower() not in s.choices:
            raise ValueError(raw)
        return text.lower()
    if s.name == "role_prefix" and not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", text):
        raise ValueError(raw)
    if s.name in ("database_url", "app_database_url"):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(text)
        except ArgumentError as exc:
            raise ValueError(raw) from exc
        if not url.drivername.startswith("postgresql") or not url.database:
            raise ValueError(raw)
    # both reach folium, whose output is compiled again as a Jinja template (layers/html.py)
    if s.name in ("tile_url", "tile_attribution") and re.search(r"\{[{%#]", text):
        raise ValueError(raw)
    if s.name == "tile_url" and not (
            text.startswith(("http://", "https://"))
            and all(k in text for k in ("{x}", "{y}", "{z}"))):
        raise ValueError(raw)
    return text


def _shown(s: Setting, raw: str) -> str:
    """``raw`` as it may appear in a message: a database URL without its password."""
    if s.name not in ("database_url", "app_database_url"):
        return raw
    from sqlalchemy.engine import make_url

    try:
        return make_url(raw.strip()).render_as_string(hide_password=True)
    except Exception:  # unparseable: show nothing of it, it may hold a password
        return "（无法解析，未显示）"


def get(name: str) -> Any:
    """Return the value of setting ``name``, from the environment or its default.

    Values from the environment are converted to the default's type and checked
    against what the setting allows.

    Raises
    ------
    SettingError
        The environment holds a value the setting does not allow.
    """
    setting = _BY_NAME.get(name)
    if setting is None:
        raise KeyError(f"unknown setting {name!r}")
    raw = os.environ.get(setting.env)
    if raw is None or raw.strip() == "":
        return setting.default
    try:
        return _parse(setting, raw)
    except ValueError:
        raise SettingError(_problem(setting, _shown(setting, raw))) from None


def check() -> None:
    """Check every setting in the environment; one error listing every bad value.

    Raises
    ------
    SettingError
        At least one setting holds a value it does not allow.
    """
    problems = []
    for s in SETTINGS:
        try:
            get(s.name)
        except SettingError as exc:
            problems.append(str(exc))
    if problems:
        raise SettingError("\n".join(problems))
