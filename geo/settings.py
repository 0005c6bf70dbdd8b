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
    Setting("intake_dir", "", "本地导入规则目录（header-aliases.csv、value-spellings.csv、"
            "rules.toml），覆盖随软件提供的同名规则"),
    Setting("max_file_mb", 1024, "导入文件大小上限（MB），超过则拒绝读取"),
    Setting("max_unzipped_mb", 1024, "xlsx（或 zip）解压后大小上限（MB），打开前检查"),
    Setting("max_zip_ratio", 200, "xlsx（或 zip）压缩比上限，超过视为压缩炸弹"),
    Setting("max_rows", 2_000_000, "导入文件数据行（要素）数上限"),
    Setting("max_columns", 200, "导入文件列数上限"),
    Setting("max_cell_chars", 32_767, "单元格字符数上限"),
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
