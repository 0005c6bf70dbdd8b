"""Deterministic generator of realistic, messy case exports (and a small compound world).

Files look like what the 12345 hotline, the mayor's mailbox and the petitions
office actually send: GBK CSV or xlsx, a title row above the header, header
spellings from the alias table, dates in several hand-typed formats, GCJ-02
or BD-09 coordinates, rows with only a compound name or an address, swapped
latitude/longitude, coordinates far outside Kaili, duplicates, unknown
categories and plainly broken rows. Every row carries what the importer is
expected to do with it (:class:`Row.expect`), so tests can assert each outcome.

Everything is seeded (``random.Random(seed)``): same seed, same bytes.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo import crs

#: Canonical headers of a case export, and one alias spelling for each (as another system
#: writes them).
CANONICAL = ("工单编号", "来源渠道", "受理时间", "问题类别", "诉求内容", "事发地址", "小区名称",
             "经度", "纬度", "坐标系", "办理状态", "承办单位", "办结时间", "满意度", "来电人",
             "联系电话")
ALIASED = ("工单号", "渠道", "登记时间", "诉求类别", "问题描述", "详细地址", "所在小区",
           "lng", "lat", "坐标类型", "工单状态", "承办部门", "办结日期", "回访满意度", "诉求人",
           "手机号")
#: Headers only some systems have: the 大类 of a two-level category, the area named.
AREA_HEADERS = ("问题大类", "所属街道", "所属社区")
#: Other systems' exports, canonical → their header: a 数字城管 (grid management) system
#: and an online petition platform (the columns each writes, in its order).
GRID_HEADERS = {"工单编号": "任务号", "受理时间": "上报时间", "问题大类": "大类名称",
                "问题类别": "小类名称", "诉求内容": "问题描述", "事发地址": "地址描述",
                "所属街道": "街道", "所属社区": "社区", "经度": "x坐标", "纬度": "y坐标",
                "办理状态": "当前阶段", "办结时间": "结案时间"}
PETITION_HEADERS = {"工单编号": "留言编号", "受理时间": "留言时间", "诉求内容": "留言详情",
                    "小区名称": "小区", "办理状态": "留言状态", "办结时间": "答复时间",
                    "来电人": "留言人", "联系电话": "联系电话"}

#: A small compound world for tests that do not need the full demo: WGS84 centres in Kaili's
#: old town, a square of about 120 m each. Names are unusual enough not to collide with the
#: demo.
MINI_COMPOUNDS: list[dict[str, Any]] = [
    {"code": "TEST-C01", "name": "苗岭金泉苑", "aliases": ["苗岭金泉小区"],
     "address": "清江路188号", "lon": 107.9700, "lat": 26.5700},
    {"code": "TEST-C02", "name": "巴拉河阳光花园", "aliases": [], "address": "宁波路66号",
     "lon": 107.9760, "lat": 26.5700},
    {"code": "TEST-C03", "name": "舟溪鸿福家园", "aliases": ["鸿福家园"],
     "address": "文化北路9号", "lon": 107.9820, "lat": 26.5700},
    {"code": "TEST-C04", "name": "香炉山锦绣小区", "aliases": [], "address": "韶山南路21号",
     "lon": 107.9700, "lat": 26.5760},
    {"code": "TEST-C05", "name": "清水江畔翠苑", "aliases": ["江畔翠苑"],
     "address": "迎宾大道308号", "lon": 107.9760, "lat": 26.5760},
]
HALF_SIDE_DEG = 0.0005

#: Content snippets with the category the keyword classifier should find.
CONTENTS = [
    ("楼道里有人飞线充电，电动车停在楼梯口，存在火灾隐患", "PM14"),
    ("电梯经常停运，昨天又困人了，物业不管", "PM15"),
    ("楼上装修拆墙，担心破坏承重墙", "PM08"),
    ("小区广场舞音响太大，晚上十点还在扰民", "PM12"),
    ("物业费涨价没有公示，收费标准不清楚", "PM02"),
    ("消防通道被私家车堵塞，消防栓也坏了", "PM13"),
    ("一楼住户违章搭建棚子，占用公共空间", "PM07"),
    ("二次供水水箱很久没清洗，水发黄", "PM17"),
]
CATEGORY_NAMES = {"PM14": "电动自行车违规停放充电", "PM15": "电梯故障与特种设备安全",
                  "PM08": "违规装修（含擅改承重结构）", "PM12": "社会生活噪声扰民",
                  "PM02": "物业服务收费与停车收费争议", "PM13": "消防通道占用与消防设施损坏",
                  "PM07": "违章搭建与违法建筑", "PM17": "二次供水与游泳池水质"}
STATUS_SPELLINGS = [("待受理", "received"), ("已受理", "received"), ("待处理", "received"),
                    ("办理中", "in_progress"), ("处理中", "in_progress"),
                    ("已办结", "closed"), ("办结", "closed"), ("已完成", "closed"),
                    ("已回访", "visited"), ("退单", "reopened")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "文华明丽军英芳国平红兰秀玉梅建德志勇静"


def date_text(t: dt.datetime, style: int) -> str | dt.datetime:
    """``t`` as staff type it: four text styles, or a real date cell (xlsx) in style 4."""
    styles: list[str | dt.datetime] = [
        t.strftime("%Y-%m-%d %H:%M:%S"),
        f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}",
        f"{t.year}年{t.month}月{t.day}日 {t.hour}:{t.minute:02d}",
        t.strftime("%Y-%m-%d %H:%M:%S"),
        t,
    ]
    return styles[style % 5]


@dataclass
class Row:
    """One generated export row and what should become of it."""

    values: dict[str, Any]
    expect: str
    """coordinates | gcj02 | bd09 | swapped | compound_name | address | none | outside |
    bad_date | no_case_no | bad_status | closed_no_time | dup_same | dup_diff, and in
    :func:`real_export` voided | area_street | area_community | fallback_category | future |
    early | long_no"""
    compound: str | None = None
    wgs: tuple[float, float] | None = None
    received: dt.datetime | None = None
    status: str | None = None
    category: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


def generate_cases(compounds: list[dict[str, Any]], n: int = 120, *, seed: int = 42,
                   prefix: str = "KLT", start: dt.datetime = dt.datetime(2026, 3, 1, 8, 0),
                   date_styles: int = 4) -> list[Row]:
    """``n`` ordinary rows plus one of each messy kind, deterministic for ``seed``.

    ``compounds`` need ``name``, ``aliases``, ``address``, ``lon``, ``lat`` (WGS84).
    Ordinary rows cycle through WGS84/GCJ-02/BD-09 coordinates, name-only,
    address-only and unlocatable rows; ``date_styles`` is 5 for xlsx (date cells).
    """
    rng = random.Random(seed)
    rows: list[Row] = []
    kinds = ["coordinates", "gcj02", "bd09", "compound_name", "address", "coordinates", "gcj02",
             "none"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        comp = compounds[rng.randrange(len(compounds))]
        t = start + dt.timedelta(days=rng.randrange(90), minutes=rng.randrange(24 * 60))
        spelled, status = STATUS_SPELLINGS[rng.randrange(len(STATUS_SPELLINGS))]
        content, cat = CONTENTS[rng.randrange(len(CONTENTS))]
        closed = t + dt.timedelta(days=rng.randrange(1, 20)) if status in ("closed", "visited") \
            else None
        v: dict[str, Any] = {
            "工单编号": f"{prefix}{i:06d}", "来源渠道": "",
            "受理时间": date_text(t, i % date_styles),
            "问题类别": CATEGORY_NAMES[cat] if i % 3 else "", "诉求内容": content,
            "事发地址": "", "小区名称": "", "经度": "", "纬度": "", "坐标系": "",
            "办理状态": spelled, "承办单位": "", "满意度": "",
            "办结时间": date_text(closed, (i + 1) % date_styles) if closed else "",
            "来电人": rng.choice(SURNAMES) + rng.choice(GIVEN)
            + (rng.choice(GIVEN) if i % 2 else ""),
            "联系电话": _phone(rng),
        }
        if status == "visited":
            v["满意度"] = rng.choice(["满意", "基本满意", "不满意"])
        # a point inside the compound square
        lon = comp["lon"] + rng.uniform(-0.6, 0.6) * HALF_SIDE_DEG
        lat = comp["lat"] + rng.uniform(-0.6, 0.6) * HALF_SIDE_DEG
        wgs: tuple[float, float] | None = (lon, lat)
        if kind in ("coordinates", "gcj02", "bd09"):
            x, y = crs.from_wgs84(lon, lat, "wgs84" if kind == "coordinates" else kind)
            v["经度"], v["纬度"] = f"{float(x):.7f}", f"{float(y):.7f}"
            v["坐标系"] = {"coordinates": rng.choice(["", "WGS84", "CGCS2000"]),
                        "gcj02": rng.choice(["GCJ02", "高德", "gcj-02"]),
                        "bd09": rng.choice(["BD09", "百度"])}[kind]
            expect = kind
        elif kind == "compound_name":
            variants = [comp["name"], f"凯里市{comp['name']}", f"{comp['name']}3栋2单元",
                        *comp["aliases"]]
            v["小区名称"] = variants[rng.randrange(len(variants))]
            wgs, expect = None, kind
        elif kind == "address":
            v["事发地址"] = rng.choice([f"凯里市{comp['address']}{rng.randrange(1, 9)}栋",
                                   f"贵州省凯里市{comp['name']}{rng.randrange(1, 9)}单元"])
            wgs, expect = None, kind
        else:
            v["事发地址"] = f"凯里市某某路{rng.randrange(1000, 9999)}号"
            wgs, expect = None, "none"
        rows.append(Row(v, expect, comp["name"] if expect != "none" else None, wgs, t, status,
                        cat if i % 3 else None))

    def add(expect: str, **changes: Any) -> Row:
        base = dict(rows[0].values)
        base.update({"工单编号": f"{prefix}9{len(rows):05d}", **changes})
        row = Row(base, expect)
        rows.append(row)
        return row

    c0 = compounds[0]
    x, y = crs.from_wgs84(c0["lon"], c0["lat"], "gcj02")
    add("swapped", 经度=f"{float(y):.7f}", 纬度=f"{float(x):.7f}", 坐标系="GCJ02", 小区名称="",
        事发地址="").wgs = (c0["lon"], c0["lat"])
    add("outside", 经度="106.6302", 纬度="26.6477", 坐标系="WGS84")  # Guiyang
    add("outside", 经度="116.404", 纬度="39.915", 坐标系="GCJ02")  # Beijing
    add("bad_date", 受理时间="2026-02-30 08:00")
    add("bad_date", 受理时间="昨天下午")
    add("no_case_no", 工单编号="")
    add("bad_status", 办理状态="已挂起")
    add("closed_no_time", 办理状态="已办结", 办结时间="")
    add("keywords", 问题类别="其它问题", 诉求内容="电梯困人一个小时没人来")
    add("default", 问题类别="", 诉求内容="想咨询一下政策")
    first = rows[1]
    rows.append(Row(dict(first.values), "dup_same"))
    diff = dict(first.values)
    diff["诉求内容"] = "同一工单，但内容被改过"
    rows.append(Row(diff, "dup_diff"))
    return rows


def to_frame(rows: list[Row], *, aliased: bool = False,
             headers: dict[str, str] | None = None) -> pd.DataFrame:
    """The rows as an export table: canonical or aliased headers, or another system's.

    With ``headers`` (canonical → theirs, e.g. :data:`GRID_HEADERS`) only those
    columns are written, in that order, under those names.
    """
    if headers is not None:
        return pd.DataFrame([[r.values.get(c, "") for c in headers] for r in rows],
                            columns=list(headers.values()))
    df = pd.DataFrame([r.values for r in rows], columns=list(CANONICAL))
    if aliased:
        df.columns = list(ALIASED)
    return df


def write_csv(rows: list[Row], path: Path, *, encoding: str = "gbk", aliased: bool = False,
              title: str | None = "凯里市12345政务服务便民热线工单导出",
              headers: dict[str, str] | None = None) -> Path:
    """Write a CSV the way exporting systems do: optional title line, then the table."""
    df = to_frame(rows, aliased=aliased, headers=headers).map(
        lambda v: v if isinstance(v, str) else str(v))
    text = (f"{title}\n" if title else "") + df.to_csv(index=False, lineterminator="\r\n")
    Path(path).write_bytes(text.encode(encoding))
    return Path(path)


def write_xlsx(rows: list[Row], path: Path, *, aliased: bool = False,
               headers: dict[str, str] | None = None) -> Path:
    """Write an xlsx with real date cells where the generator produced datetimes."""
    df = to_frame(rows, aliased=aliased, headers=headers)
    df.to_excel(path, index=False, engine="openpyxl")
    return Path(path)


#: Category 大类 names as a grid-management system writes them; none names one of ours.
GRID_CLASSES = ("市容环境", "街面秩序", "物业管理", "施工管理")
#: Spellings of a void, as different systems write them.
VOID_SPELLINGS = ("[作废]", "已作废", "作废", "撤销", "已撤销", "无效")


def real_export(compounds: list[dict[str, Any]], n: int = 24, *, seed: int = 5,
                prefix: str = "GRD", start: dt.datetime = dt.datetime(2026, 4, 1, 9, 0)
                ) -> list[Row]:
    """Rows as real exports carry them, with what the importer should do with each.

    ``n`` ordinary rows (WGS84 coordinates, 小类 given), then: voided rows in
    each spelling (:data:`VOID_SPELLINGS`), closed or visited cases without a
    closing time, rows naming only their street office (without its suffix)
    or community, a row with only a 大类, and rows the plausibility rules
    refuse (dated 2199, dated 1999, a case number of 5,000 characters).
    Values are keyed by canonical header (:data:`CANONICAL` and
    :data:`AREA_HEADERS`); write them with :data:`GRID_HEADERS` or
    :data:`PETITION_HEADERS`.
    """
    rng = random.Random(seed)
    rows: list[Row] = []
    blank = dict.fromkeys(CANONICAL + AREA_HEADERS, "")
    for i in range(n):
        comp = compounds[rng.randrange(len(compounds))]
        t = start + dt.timedelta(days=rng.randrange(30), minutes=rng.randrange(600))
        content, cat = CONTENTS[rng.randrange(len(CONTENTS))]
        lon = comp["lon"] + rng.uniform(-0.4, 0.4) * HALF_SIDE_DEG
        lat = comp["lat"] + rng.uniform(-0.4, 0.4) * HALF_SIDE_DEG
        closed = i % 2 == 0
        done = f"{t + dt.timedelta(days=3):%Y-%m-%d %H:%M:%S}" if closed else ""
        rows.append(Row({**blank, "工单编号": f"{prefix}{i:05d}",
                         "受理时间": f"{t:%Y-%m-%d %H:%M:%S}",
                         "问题大类": rng.choice(GRID_CLASSES), "问题类别": CATEGORY_NAMES[cat],
                         "诉求内容": content, "小区名称": comp["name"],
                         "经度": f"{lon:.7f}", "纬度": f"{lat:.7f}",
                         "办理状态": "结案" if closed else "处置", "办结时间": done},
                        "coordinates", comp["name"], (lon, lat), t,
                        "closed" if closed else "in_progress", cat))

    def add(expect: str, **changes: str) -> Row:
        base = dict(rows[0].values)
        base.update({"工单编号": f"{prefix}9{len(rows):04d}", **changes})
        row = Row(base, expect, received=rows[0].received)
        rows.append(row)
        return row

    for spelled in VOID_SPELLINGS:
        add("voided", 办理状态=spelled)
    add("voided", 办理状态="[作废]", 受理时间="坏日期")  # voided whatever else is wrong
    for spelled in ("已办结", "已回访", "结案"):
        add("closed_no_time", 办理状态=spelled, 办结时间="").status = \
            "visited" if spelled == "已回访" else "closed"
    where = {"经度": "", "纬度": "", "小区名称": "", "事发地址": "凯里市某某路1号"}
    add("area_street", **where, 所属街道="大十字").extra["street"] = "522601002000"
    add("area_street", **where, 所属街道="城西街道办事处").extra["street"] = "522601001000"
    add("area_community", **where, 所属社区="营盘").extra["street"] = "522601002000"
    add("area_street", **{**where, "事发地址": "凯里市城西街道某某路2号"}).extra["street"] = \
        "522601001000"
    add("fallback_category", 问题类别="", 问题大类="电梯故障", 诉求内容="想咨询一下")
    add("future", 受理时间="2199-01-01 08:00:00", 办理状态="处置", 办结时间="")
    add("early", 受理时间="1999-06-01 08:00:00")
    add("long_no", 工单编号="9" * 5000)
    return rows


def compound_polygons(compounds: list[dict[str, Any]]) -> list[str]:
    """WKT squares (WGS84) around each compound centre."""
    h = HALF_SIDE_DEG
    return [f"MULTIPOLYGON((({c['lon'] - h} {c['lat'] - h},{c['lon'] + h} {c['lat'] - h},"
            f"{c['lon'] + h} {c['lat'] + h},{c['lon'] - h} {c['lat'] + h},"
            f"{c['lon'] - h} {c['lat'] - h})))" for c in compounds]


def big_csv(path: Path, n: int, compounds: list[dict[str, Any]], *, seed: int = 42,
            encoding: str = "gb18030") -> Path:
    """A large 12345-style export (vectorized, for timing): mixed formats and systems."""
    rng = np.random.default_rng(seed)
    comp = pd.DataFrame(compounds)
    pick = rng.integers(0, len(comp), n)
    lon = comp["lon"].to_numpy()[pick] + rng.uniform(-1, 1, n) * 0.0004
    lat = comp["lat"].to_numpy()[pick] + rng.uniform(-1, 1, n) * 0.0004
    gcj = rng.random(n) < 0.4
    glon, glat = crs.from_wgs84(lon[gcj], lat[gcj], "gcj02")
    lon[gcj], lat[gcj] = glon, glat
    t0 = np.datetime64("2025-01-01T00:00")
    t = t0 + rng.integers(0, 500 * 24 * 60, n).astype("timedelta64[m]")
    ts = pd.Series(t)
    style = rng.integers(0, 3, n)
    received = ts.dt.strftime("%Y-%m-%d %H:%M:%S")
    slash = ts.dt.strftime("%Y/%-m/%-d %-H:%M")
    received = received.where(style != 1, slash)
    cn = ts.dt.strftime("%Y年%-m月%-d日 %-H:%M")
    received = received.where(style != 2, cn)
    content_i = rng.integers(0, len(CONTENTS), n)
    contents = np.array([c for c, _ in CONTENTS], dtype=object)[content_i]
    cats = np.array([CATEGORY_NAMES[c] for _, c in CONTENTS], dtype=object)[content_i]
    cats[rng.random(n) < 0.1] = ""
    st = rng.integers(0, len(STATUS_SPELLINGS), n)
    spelled = np.array([s for s, _ in STATUS_SPELLINGS], dtype=object)[st]
    is_closed = np.isin(np.array([c for _, c in STATUS_SPELLINGS])[st], ["closed", "visited"])
    closed = (ts + pd.to_timedelta(rng.integers(1, 20, n), unit="D")).dt.strftime(
        "%Y-%m-%d %H:%M:%S").where(is_closed, "")
    no_coord = rng.random(n) < 0.05
    names = comp["name"].to_numpy()[pick].astype(object)
    df = pd.DataFrame({
        "工单编号": [f"BIG{i:08d}" for i in range(n)],
        "来源渠道": "12345热线",
        "受理时间": received,
        "问题类别": cats,
        "诉求内容": contents,
        "事发地址": "",
        "小区名称": np.where(no_coord, names, ""),
        "经度": np.where(no_coord, "", np.char.mod("%.7f", lon)),
        "纬度": np.where(no_coord, "", np.char.mod("%.7f", lat)),
        "坐标系": np.where(gcj, "GCJ02", "WGS84"),
        "办理状态": spelled,
        "承办单位": "",
        "办结时间": closed,
        "满意度": "",
        "来电人": "",
        "联系电话": [f"13{d:09d}" for d in rng.integers(0, 10**9, n)],
    })
    df.to_csv(path, index=False, encoding=encoding)
    return Path(path)


#: Two street offices (WGS84 boxes in the old town) for the mini world.
MINI_STREETS = [("522601002000", "大十字街道", (107.960, 26.560, 107.9730, 26.590)),
                ("522601001000", "城西街道", (107.9730, 26.560, 107.990, 26.590))]
#: One community in the north of 大十字街道 (holding 香炉山锦绣小区).
MINI_COMMUNITIES = [("TEST-M01", "营盘社区", "522601002000", (107.960, 26.575, 107.9730, 26.590))]


def build_world(engine: Any) -> None:
    """Put the mini world's streets, community and compounds into an empty database."""
    import sqlalchemy as sa

    from geo import assign

    with engine.begin() as con:
        for code, name, (x0, y0, x1, y1) in MINI_STREETS:
            con.execute(sa.text(
                "INSERT INTO streets (code, name, kind, geom, synthetic) VALUES (:c, :n, 'street', "
                "ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)), true)"),
                {"c": code, "n": name, "x0": x0, "y0": y0, "x1": x1, "y1": y1})
        for code, name, street, (x0, y0, x1, y1) in MINI_COMMUNITIES:
            con.execute(sa.text(
                "INSERT INTO communities (code, name, street_code, geom, synthetic) VALUES "
                "(:c, :n, :s, ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)), true)"),
                {"c": code, "n": name, "s": street, "x0": x0, "y0": y0, "x1": x1, "y1": y1})
        for c, wkt in zip(MINI_COMPOUNDS, compound_polygons(MINI_COMPOUNDS), strict=True):
            con.execute(sa.text(
                "INSERT INTO compounds (code, name, aliases, address, geom, synthetic) "
                "VALUES (:code, :name, :aliases, :address, ST_GeomFromText(:wkt, 4326), true)"),
                {**c, "wkt": wkt})
        assign.refresh_street_parts(con)
        assign.assign_compounds(con)


#: Tables an import may write, for :func:`snapshot`.
TABLES = ("cases", "complainants", "case_events", "voided_cases", "imports", "quarantine",
          "compounds", "property_firms", "streets", "street_parts", "communities")


def snapshot(engine: Any) -> dict[str, int]:
    """Row counts of every table an import writes, and the data version (nothing changed?)."""
    import sqlalchemy as sa

    with engine.connect() as con:
        out = {t: int(con.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() or 0)
               for t in TABLES}
        out["data_version"] = int(con.execute(sa.text("SELECT version FROM data_version"))
                                  .scalar() or 0)
        out["updated_at"] = hash(con.execute(sa.text("SELECT max(updated_at) FROM cases"))
                                 .scalar())
    return out
