"""Deterministic synthetic Kaili: pure generation, no I/O.

No public source has street, community or compound boundaries for Kaili, so
the demo builds plausible ones inside the real city outline, with the real
names and statistical codes of its 9 street offices and 11 towns:

- the urban core (an ellipse around 大十字, the historic centre) is split into
  the 9 street offices by Voronoi cells of seeds placed around the centre;
- the rest of the outline is split into the 11 towns by Voronoi cells of
  k-means centres (balanced areas), seeded near each town's direction;
- each street office holds 6–7 communities (Voronoi again); each town one
  community at its seat;
- compounds are rectangles on a 240 m grid, denser and older towards the
  centre, each wholly inside one community, so no two overlap;
- cases and hazards follow the compounds: category mix, seasonality, weekday
  and hour patterns, repeat-complaint hotspots, statuses by age.

Every function takes a ``numpy.random.Generator`` and is deterministic for a
given seed. Geometry is built in a local transverse Mercator (metres) and
returned in WGS84. Everything made here is marked ``synthetic``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo import crs, reference

#: Local metric projection centred on Kaili.
LOCAL_CRS = "+proj=tmerc +lat_0=26.5 +lon_0=108 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
#: 大十字, Kaili's historic centre (WGS84).
CENTRE = (107.978, 26.568)
#: Street offices: offset of their seed from the centre in km (east, north).
STREET_SEEDS_KM = {
    "大十字街道": (0.0, 0.0),
    "西门街道": (-1.6, 0.4),
    "洗马河街道": (0.4, -1.7),
    "城西街道": (-4.2, 0.8),
    "湾溪街道": (1.8, 2.6),
    "鸭塘街道": (5.8, 1.2),
    "开怀街道": (-0.8, -5.0),
    "白午街道": (3.6, -2.6),
    "白果井街道": (-4.0, -3.4),
}
#: Towns: rough direction of their seat from the centre in km, refined by k-means.
TOWN_SEEDS_KM = {
    "三棵树镇": (12, -2),
    "舟溪镇": (-2, -14),
    "旁海镇": (-6, 20),
    "湾水镇": (14, 14),
    "炉山镇": (-14, 12),
    "万潮镇": (0, 12),
    "龙场镇": (-24, 10),
    "碧波镇": (-14, 0),
    "下司镇": (-34, -4),
    "凯棠镇": (14, -14),
    "大风洞镇": (-26, 2),
}
CORE_RADII_M = (7500.0, 5800.0)

COMMUNITY_STEMS = [
    "金井",
    "文化",
    "营盘",
    "韶山",
    "清江",
    "龙井",
    "永丰",
    "金泉",
    "北京路",
    "宁波路",
    "环城",
    "大学",
    "民主",
    "新华",
    "映山",
    "团结",
    "龙头河",
    "凤凰",
    "枫香",
    "苗岭",
    "鼓楼",
    "万博",
    "碧水",
    "金山",
    "华联",
    "学府",
    "桥头",
    "青年",
    "阳光",
    "春晓",
    "彩虹",
    "博南",
    "西出口",
    "东门",
    "兴华",
    "和平",
    "建设",
    "五里桥",
    "开元",
    "文昌",
    "友谊",
    "平安",
    "光明",
    "长青",
    "丰收",
    "新城",
    "红星",
    "向阳",
    "白云",
    "育才",
    "幸福",
    "振兴",
    "锦江",
    "金鼎",
    "经开",
    "凯运",
    "银河",
    "金岸",
    "宏图",
    "龙泉",
    "桂花",
    "香樟",
    "新街",
    "老街",
    "北门",
    "南门",
    "东山",
    "西山",
    "迎宾",
    "体育",
    "花园",
    "朝阳",
]
COMPOUND_STEMS = [
    "锦绣",
    "阳光",
    "金色",
    "翠湖",
    "御景",
    "华府",
    "龙腾",
    "凯旋",
    "鸿福",
    "丽景",
    "江南",
    "书香",
    "东方",
    "金域",
    "盛世",
    "世纪",
    "景园",
    "怡和",
    "嘉和",
    "富康",
    "瑞丰",
    "恒大",
    "碧桂",
    "清江",
    "苗岭",
    "鼓楼",
    "凤凰",
    "龙泉",
    "金泉",
    "泰和",
    "安居",
    "福源",
    "康城",
    "欣悦",
    "明珠",
    "学府",
    "香榭",
    "水岸",
    "山水",
    "星河",
    "玉龙",
    "枫林",
    "紫薇",
    "桂花",
    "芙蓉",
    "杏林",
    "梧桐",
    "翡翠",
    "银杏",
    "春天",
    "新天地",
    "万象",
    "时代",
    "未来",
    "天誉",
    "融创",
    "中天",
    "汇景",
    "锦江",
    "金鼎",
    "银河",
    "宏图",
    "龙井",
    "映山",
]
SUFFIXES_NEW = ("小区", "花园", "苑", "家园", "公馆", "华庭", "府", "城")
SUFFIXES_OLD = ("小区", "新村", "宿舍", "生活区", "住宅区")
WORK_UNITS = (
    "州供电局",
    "凯里发电厂",
    "州粮食局",
    "市自来水公司",
    "州人民医院",
    "凯里钢铁厂",
    "州运输公司",
    "市建筑公司",
    "州农机厂",
    "凯里卷烟厂",
    "州邮电局",
    "市食品公司",
)
ROADS = [
    "北京东路",
    "北京西路",
    "韶山南路",
    "韶山北路",
    "营盘东路",
    "营盘西路",
    "环城西路",
    "环城东路",
    "文化北路",
    "文化南路",
    "宁波路",
    "清江路",
    "永丰路",
    "大学路",
    "开怀大道",
    "凯运大道",
    "金井路",
    "民主路",
    "建设路",
    "鸭塘大道",
]
FIRM_STEMS = [
    "金泉",
    "清江",
    "苗岭",
    "龙头河",
    "碧水",
    "鼎盛",
    "华联",
    "凯宏",
    "恒泰",
    "万家",
    "安居",
    "嘉禾",
    "凯运",
    "黔东",
    "诚信",
    "和美",
    "康居",
    "新世纪",
    "锦程",
    "宏达",
]
SURNAMES = [
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "吴",
    "龙",
    "潘",
    "杨",
    "石",
    "邰",
    "顾",
    "罗",
    "黄",
    "欧",
    "文",
    "蒋",
    "田",
    "姚",
]
GIVEN = [
    "明",
    "华",
    "芳",
    "军",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "霞",
    "平",
    "刚",
    "桂英",
    "秀兰",
    "光荣",
    "德华",
    "国强",
]

#: Share of cases per category in a year (sums to 1 after normalising).
CATEGORY_MIX = {
    "PM01": 18,
    "PM02": 11,
    "PM03": 2,
    "PM04": 2,
    "PM05": 2,
    "PM06": 1.5,
    "PM07": 5,
    "PM08": 3,
    "PM09": 2,
    "PM10": 7,
    "PM11": 4,
    "PM12": 8,
    "PM13": 5,
    "PM14": 6,
    "PM15": 6,
    "PM16": 4,
    "PM17": 1.5,
    "PM18": 6,
    "PM19": 2,
    "PM20": 1,
    "PM21": 0.5,
    "PM22": 1,
    "PM23": 0.5,
    "PM24": 0.5,
    "PM25": 2,
    "PM26": 0.5,
    "PM27": 1,
    "PM99": 3,
}
#: Month in which each theme peaks (water and noise in summer, fire in winter).
THEME_PEAK_MONTH = {"utilities": 7, "security": 7, "environment": 6, "fire": 1, "elevator": 8}
CONTENT_TEMPLATES = (
    "反映{place}{kw}问题，希望尽快处理。",
    "{place}长期存在{kw}情况，多次向物业反映未解决，请求相关部门督促。",
    "来电人称{place}{kw}，影响居民正常生活，要求处理并回复。",
    "{place}业主反映{kw}，请核实处理。",
)
HAZARD_TEXT = {
    "fire": (
        "楼道堆放杂物占用疏散通道",
        "消防栓无水",
        "灭火器过期",
        "电动车楼道充电",
        "消防通道被车辆占用",
        "安全出口上锁",
    ),
    "elevator": ("电梯超期未检验", "电梯频繁故障停运", "电梯困人", "电梯维保记录缺失"),
    "security": ("门禁损坏", "监控设施缺失", "围墙破损", "夜间无人值守"),
}


@dataclass(frozen=True)
class Demo:
    """One synthetic Kaili: each table as a (Geo)DataFrame in WGS84."""

    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    firms: pd.DataFrame
    compounds: gpd.GeoDataFrame
    hazards: gpd.GeoDataFrame


_to_local = Transformer.from_crs("EPSG:4326", LOCAL_CRS, always_xy=True)
_to_wgs = Transformer.from_crs(LOCAL_CRS, "EPSG:4326", always_xy=True)


def _local(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda c: np.column_stack(_to_local.transform(c[:, 0], c[:, 1])))


def _wgs(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda c: np.column_stack(_to_wgs.transform(c[:, 0], c[:, 1])))


def _multi(geom: BaseGeometry) -> MultiPolygon:
    geom = shapely.make_valid(geom)
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and g.area > 0]
    return MultiPolygon(polys)


def _where_else_none(mask: np.ndarray, values: object) -> np.ndarray:
    """``values`` where ``mask`` holds, ``None`` elsewhere, as an object array."""
    out = np.array(values, dtype=object)
    out[~np.asarray(mask, dtype=bool)] = None
    return out


def _sample_in(poly: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``poly`` (rejection sampling), as an (n, 2) array."""
    minx, miny, maxx, maxy = poly.bounds
    out: list[np.ndarray] = []
    got = 0
    shapely.prepare(poly)
    while got < n:
        xy = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
        inside = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
        out.append(xy[inside])
        got += int(inside.sum())
    return np.concatenate(out)[:n]


def _kmeans(points: np.ndarray, init: np.ndarray, iterations: int = 12) -> np.ndarray:
    """Lloyd's algorithm from ``init``: centres whose Voronoi cells have balanced area."""
    centres = init.copy()
    for _ in range(iterations):
        d = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        label = d.argmin(axis=1)
        for k in range(len(centres)):
            members = points[label == k]
            if len(members):
                centres[k] = members.mean(axis=0)
    return centres


def _voronoi(seeds: np.ndarray, clip: BaseGeometry) -> list[MultiPolygon]:
    """Voronoi cells of ``seeds`` clipped to ``clip``, in the seeds' order."""
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=clip.buffer(1000))
    by_seed: list[MultiPolygon] = []
    pts = shapely.points(seeds)
    cell_list = list(cells.geoms)
    for p in pts:
        cell = next(c for c in cell_list if c.covers(p))
        by_seed.append(_multi(cell.intersection(clip)))
    return by_seed


def make_divisions(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The 9 street offices and 11 towns, partitioning Kaili's real outline."""
    outline = _local(reference.kaili_outline())
    cx, cy = _to_local.transform(*CENTRE)
    core = shapely.affinity.scale(Point(cx, cy).buffer(1.0, 64), *CORE_RADII_M).intersection(
        outline
    )
    divisions = {r["name"]: r for r in reference.divisions()}
    street_names = list(STREET_SEEDS_KM)
    seeds = np.array([(cx + e * 1000, cy + n * 1000) for e, n in STREET_SEEDS_KM.values()])
    seeds += rng.normal(0, 150, seeds.shape)
    street_cells = _voronoi(seeds, core)

    rest = outline.difference(core)
    town_names = list(TOWN_SEEDS_KM)
    init = np.array([(cx + e * 1000, cy + n * 1000) for e, n in TOWN_SEEDS_KM.values()])
    sample = _sample_in(rest, 6000, rng)
    # Start each centre at the sample point nearest its rough direction.
    init = sample[((sample[:, None, :] - init[None, :, :]) ** 2).sum(axis=2).argmin(axis=0)]
    town_cells = _voronoi(_kmeans(sample, init), rest)

    rows = []
    for name, geom in zip(street_names + town_names, street_cells + town_cells, strict=True):
        div = divisions[name]
        rows.append({"code": div["code"], "name": name, "kind": div["kind"], "geom": _wgs(geom)})
    return gpd.GeoDataFrame(rows, geometry="geom", crs="EPSG:4326")


def make_communities(streets: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """6–7 communities per street office, one at each town's seat (65–74 in all)."""
    stems = list(rng.permutation(COMMUNITY_STEMS))
    rows = []
    for s in streets.itertuples():
        area = _local(s.geom)
        if s.kind == "street":
            k = int(rng.integers(6, 8))
            sample = _sample_in(area, 3000, rng)
            centres = _kmeans(sample, sample[rng.choice(len(sample), k, replace=False)], 8)
            cells = _voronoi(centres, area)
            names = [f"{stems.pop()}社区" for _ in range(k)]
        else:
            seat = area.representative_point()
            cells = [_multi(seat.buffer(1400.0, 32).intersection(area))]
            names = [f"{s.name[:-1]}社区"]
        for i, (name, cell) in enumerate(zip(names, cells, strict=True)):
            # Clip again in WGS84: straight edges in metres bend slightly in degrees.
            rows.append(
                {
                    "code": f"{s.code[:9]}{i + 1:03d}",
                    "name": name,
                    "street_code": s.code,
                    "geom": _multi(_wgs(cell).intersection(s.geom)),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geom", crs="EPSG:4326")


def make_firms(rng: np.random.Generator, n: int = 20) -> pd.DataFrame:
    """``n`` property firms with credit ratings and a few on the red/black list."""
    stems = rng.permutation(FIRM_STEMS)[:n]
    rating = rng.choice(["A", "B", "C", "D"], n, p=[0.3, 0.4, 0.2, 0.1])
    status = np.where(
        rating == "A",
        np.where(rng.random(n) < 0.3, "red", "none"),
        np.where((rating == "D") & (rng.random(n) < 0.7), "black", "none"),
    )
    cx, cy = _to_local.transform(*CENTRE)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "name": [f"凯里市{s}物业服务有限公司" for s in stems],
            "credit_rating": rating,
            "list_status": status,
            "home_x": cx + rng.normal(0, 3000, n),
            "home_y": cy + rng.normal(0, 2500, n),
            "size": rng.lognormal(0, 0.8, n),
        }
    )


def _rectangles(
    cx: np.ndarray, cy: np.ndarray, w: np.ndarray, h: np.ndarray, angle: np.ndarray
) -> np.ndarray:
    corners = np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5)])
    dx = corners[None, :, 0] * w[:, None]
    dy = corners[None, :, 1] * h[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x = cx[:, None] + dx * cos - dy * sin
    y = cy[:, None] + dx * sin + dy * cos
    return shapely.polygons(np.stack([x, y], axis=2))


def make_compounds(
    streets: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    firms: pd.DataFrame,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """800–1,200 compounds: old ones near the centre, 6–9 % of them 三无."""
    spacing = 240.0
    cx0, cy0 = _to_local.transform(*CENTRE)
    comm_local = [_local(g) for g in communities.geometry]
    street_kind = dict(zip(streets.code, streets.kind, strict=True))
    street_name = dict(zip(streets.code, streets.name, strict=True))
    cand = []
    for i, (cell, street) in enumerate(zip(comm_local, communities.street_code, strict=True)):
        minx, miny, maxx, maxy = cell.bounds
        gx, gy = np.meshgrid(
            np.arange(minx - minx % spacing, maxx, spacing),
            np.arange(miny - miny % spacing, maxy, spacing),
        )
        gx, gy = gx.ravel() + spacing / 2, gy.ravel() + spacing / 2
        n = len(gx)
        w, h = rng.uniform(60, 160, n), rng.uniform(60, 160, n)
        ang = rng.uniform(-0.35, 0.35, n)
        rects = _rectangles(gx + rng.uniform(-4, 4, n), gy + rng.uniform(-4, 4, n), w, h, ang)
        shapely.prepare(cell)
        inside = shapely.contains(cell.buffer(-10), rects)
        d = np.hypot(gx - cx0, gy - cy0) / 1000.0
        town = street_kind[street] == "town"
        weight = (0.35 if town else 1.0) * (np.exp(-d / 2.6) + 0.08)
        for j in np.flatnonzero(inside):
            cand.append((i, rects[j], gx[j], gy[j], d[j], weight[j], w[j], h[j], ang[j]))
    target = int(rng.integers(900, 1100))
    weights = np.array([c[5] for c in cand])
    pick = np.sort(
        rng.choice(len(cand), size=min(target, len(cand)), replace=False, p=weights / weights.sum())
    )
    chosen = [cand[k] for k in pick]
    n = len(chosen)
    d = np.array([c[4] for c in chosen])
    area = np.array([c[1].area for c in chosen])

    old = rng.random(n) < 0.85 * np.exp(-d / 2.2) + 0.06
    build_year = np.where(
        old,
        rng.integers(1978, 2001, n),
        np.clip(2001 + (rng.random(n) ** 0.7 * 24).astype(int), 2001, 2024),
    )
    high = ~old & (rng.random(n) < 0.6)
    floors = np.where(
        old,
        rng.choice([5, 6, 6, 7, 7, 8], n),
        np.where(high, rng.integers(11, 34, n), rng.integers(6, 10, n)),
    )
    buildings = np.clip((area / np.where(high, 3500, 1800)).astype(int), 1, 40)
    households = buildings * floors * rng.integers(2, 7, n)

    # 三无: an exact 6–9 % share, drawn mostly from the old compounds.
    n_sanwu = int(round(n * rng.uniform(0.06, 0.09)))
    sw_weight = np.where(old, 6.0, 1.0)
    sanwu = np.zeros(n, bool)
    sanwu[rng.choice(n, n_sanwu, replace=False, p=sw_weight / sw_weight.sum())] = True
    mode = np.where(
        old,
        rng.choice(["property_firm", "work_unit", "owners_self"], n, p=[0.6, 0.25, 0.15]),
        rng.choice(["property_firm", "owners_self"], n, p=[0.95, 0.05]),
    ).astype(object)
    mode[sanwu] = rng.choice(["none", "street_custody"], n_sanwu, p=[0.55, 0.45])
    committee = np.where(
        mode == "owners_self",
        "established",
        rng.choice(["established", "preparing", "none"], n, p=[0.4, 0.1, 0.5]),
    )
    committee = np.where(sanwu, "none", committee).astype(object)
    unit = rng.choice(WORK_UNITS, n)
    competent = _where_else_none(mode == "work_unit", unit)

    cx = np.array([c[2] for c in chosen])
    cy = np.array([c[3] for c in chosen])
    fd = (
        np.hypot(
            cx[:, None] - firms.home_x.to_numpy()[None, :],
            cy[:, None] - firms.home_y.to_numpy()[None, :],
        )
        / 1000.0
    )
    fw = firms["size"].to_numpy()[None, :] * np.exp(-fd / 3.0)
    firm_idx = np.array([rng.choice(len(firms), p=row / row.sum()) for row in fw])
    firm_id = np.where(mode == "property_firm", firms.id.to_numpy()[firm_idx], None)

    comm_idx = np.array([c[0] for c in chosen])
    names, aliases, addresses = [], [], []
    used: set[str] = set()
    for k in range(n):
        street = communities.street_code.iloc[comm_idx[k]]
        for _ in range(50):
            if mode[k] == "work_unit" and rng.random() < 0.7:
                name = f"{unit[k]}{rng.choice(['宿舍', '生活区', '家属院'])}"
            else:
                stem = rng.choice(COMPOUND_STEMS)
                suffix = rng.choice(SUFFIXES_OLD if old[k] else SUFFIXES_NEW)
                name = f"{stem}{suffix}"
            if name not in used:
                break
            name = f"{name[:-2]}{rng.choice(['一期', '二期', '东区', '西区', '北区'])}{name[-2:]}"
            if name not in used:
                break
        used.add(name)
        base = name
        for suf in ("小区", "花园", "家园", "生活区", "宿舍", "新村", "苑"):
            if name.endswith(suf) and len(name) > len(suf) + 1:
                base = name[: -len(suf)]
                break
        alias = [base] if base != name else []
        if old[k] and rng.random() < 0.3:
            alias.append(f"老{base}")
        aliases.append(alias)
        names.append(name)
        addresses.append(
            f"凯里市{street_name[street]}{rng.choice(ROADS)}{int(rng.integers(1, 300))}号"
        )

    comm = communities.iloc[comm_idx]
    gdf = gpd.GeoDataFrame(
        {
            "id": np.arange(1, n + 1),
            "code": [f"KL{c[:9][-3:]}{k + 1:05d}" for k, c in enumerate(comm.street_code)],
            "name": names,
            "aliases": aliases,
            "address": addresses,
            "build_year": build_year.astype(int),
            "households": households.astype(int),
            "buildings": buildings.astype(int),
            "floors": floors.astype(int),
            "management_mode": mode,
            "firm_id": firm_id,
            "owners_committee": committee,
            "competent_dept": competent,
            "sanwu": sanwu,
            "old": old,
            "x": cx,
            "y": cy,
            "w": [c[6] for c in chosen],
            "h": [c[7] for c in chosen],
            "angle": [c[8] for c in chosen],
            "geom": [_wgs(MultiPolygon([c[1]])) for c in chosen],
        },
        geometry="geom",
        crs="EPSG:4326",
    )
    gdf["hotness"] = rng.lognormal(0, 1.0, n) * np.where(sanwu, 2.5, 1.0) * np.where(old, 1.6, 1.0)
    return gdf


def make_hazards(
    compounds: gpd.GeoDataFrame, as_of: dt.date, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Fire hazards skewed to old compounds, elevators in tall ones, security in 三无."""
    rows = []
    for theme_name, rate in (
        ("fire", np.where(compounds.old, 0.9, 0.15) * np.where(compounds.sanwu, 1.8, 1.0)),
        ("elevator", np.where(compounds.floors >= 10, 0.35, 0.0)),
        ("security", np.where(compounds.sanwu, 0.8, 0.08)),
    ):
        counts = rng.poisson(rate)
        for i in np.flatnonzero(counts):
            rows.extend([(theme_name, int(i))] * int(counts[i]))
    n = len(rows)
    theme = np.array([r[0] for r in rows])
    idx = np.array([r[1] for r in rows], dtype=int)
    found = np.array([as_of - dt.timedelta(days=int(x)) for x in rng.integers(0, 365, n)])
    limit = np.where(theme == "elevator", 15, 30)
    due = found + np.array([dt.timedelta(days=int(x)) for x in limit])
    age = np.array([(as_of - f).days for f in found])
    u = rng.random(n)
    status = np.where(
        u < np.clip(age / 120, 0, 0.75),
        "closed",
        np.where(u < np.clip(age / 120, 0, 0.75) + 0.15, "rectifying", "open"),
    )
    closed_on = [
        f + dt.timedelta(days=int(min(a, rng.integers(3, 60)))) if s == "closed" else None
        for f, a, s in zip(found, age, status, strict=True)
    ]
    lon, lat = _in_compound(compounds, idx, rng.uniform(-0.4, 0.4, n), rng.uniform(-0.4, 0.4, n))
    geoms = shapely.points(lon, lat)
    return gpd.GeoDataFrame(
        {
            "id": np.arange(1, n + 1),
            "theme": theme,
            "compound_id": compounds.id.to_numpy()[idx],
            "description": [
                f"{compounds.name.iloc[i]}：{rng.choice(HAZARD_TEXT[t])}"
                for t, i in zip(theme, idx, strict=True)
            ],
            "found_on": found,
            "due_on": due,
            "status": status,
            "closed_on": closed_on,
            "geom": geoms,
        },
        geometry="geom",
        crs="EPSG:4326",
    )


def make_demo(seed: int, as_of: dt.date) -> Demo:
    """Everything but the cases (see :func:`make_cases`), deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    streets = make_divisions(rng)
    communities = make_communities(streets, rng)
    firms = make_firms(rng)
    compounds = make_compounds(streets, communities, firms, rng)
    hazards = make_hazards(compounds, as_of, rng)
    return Demo(streets, communities, firms, compounds, hazards)


def _in_compound(
    comp: gpd.GeoDataFrame, idx: np.ndarray, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat at fractions ``u``, ``v`` (−0.5…0.5 is inside) of compound ``idx``."""
    w, h, ang = comp.w.to_numpy()[idx], comp.h.to_numpy()[idx], comp.angle.to_numpy()[idx]
    lx = comp.x.to_numpy()[idx] + u * w * np.cos(ang) - v * h * np.sin(ang)
    ly = comp.y.to_numpy()[idx] + u * w * np.sin(ang) + v * h * np.cos(ang)
    lon, lat = _to_wgs.transform(lx, ly)
    return np.round(np.asarray(lon), 6), np.round(np.asarray(lat), 6)


def make_cases(demo: Demo, n: int, as_of: dt.date, rng: np.random.Generator,
               span_days: int = 365) -> pd.DataFrame:
    """``n`` cases received in the ``span_days`` days up to ``as_of``, as plain columns.

    Locations: 80 % by coordinates inside the compound, 7 % by coordinates just
    outside it (the nearest-compound fallback), 4 % by coordinates away from any
    compound, 6 % located by compound name, 3 % not located. Statuses follow
    each case's age against its category's time limit, so recent cases are open
    and a few old ones are overdue.
    """
    if n == 0:
        return make_cases(demo, 1, as_of, rng, span_days).iloc[:0]
    cats = pd.DataFrame(reference.categories()).set_index("code")
    codes = np.array(list(CATEGORY_MIX))
    mix = np.array([CATEGORY_MIX[c] for c in codes], float)
    category = rng.choice(codes, n, p=mix / mix.sum())
    comp = demo.compounds
    start = pd.Timestamp(as_of) - pd.Timedelta(days=span_days - 1)
    days = pd.date_range(start, periods=span_days, freq="D")
    month = days.month.to_numpy()
    weekday_factor = np.where(days.day_of_week.to_numpy() >= 5, 0.72, 1.0)
    trend = np.linspace(0.9, 1.1, span_days)
    base_w = np.sqrt(comp.households.to_numpy()) * comp.hotness.to_numpy()

    day = np.empty(n, int)
    cidx = np.empty(n, int)
    for code in np.unique(category):
        sel = np.flatnonzero(category == code)
        theme = cats.loc[code, "theme"]
        peak = THEME_PEAK_MONTH.get(theme, 7)
        amp = 0.45 if theme in THEME_PEAK_MONTH else 0.15
        dw = (1 + amp * np.cos(2 * np.pi * (month - peak) / 12)) * weekday_factor * trend
        day[sel] = rng.choice(span_days, len(sel), p=dw / dw.sum())
        w = base_w.copy()
        if theme == "elevator":
            w = w * (comp.floors.to_numpy() >= 10)
        elif theme == "fire":
            w = w * np.where(comp.old, 2.5, 1.0)
        cidx[sel] = rng.choice(len(comp), len(sel), p=w / w.sum())
    hour_w = np.array(
        [1, 1, 1, 1, 1, 2, 4, 10, 18, 22, 22, 18, 12, 14, 18, 20, 18, 14, 12, 14, 14, 10, 5, 2],
        float,
    )
    seconds = rng.choice(24, n, p=hour_w / hour_w.sum()) * 3600 + rng.integers(0, 3600, n)
    received = (days.to_numpy()[day] + seconds.astype("timedelta64[s]")).astype("datetime64[s]")

    # Location.
    how = rng.choice(
        ["inside", "outside", "away", "name", "none"], n, p=[0.80, 0.07, 0.04, 0.06, 0.03]
    )
    u, v = rng.uniform(-0.45, 0.45, n), rng.uniform(-0.45, 0.45, n)
    out = how == "outside"
    side = rng.integers(0, 4, n)
    w_m, h_m = comp.w.to_numpy()[cidx], comp.h.to_numpy()[cidx]
    push_u = 0.5 + rng.uniform(8, 35, n) / w_m
    push_v = 0.5 + rng.uniform(8, 35, n) / h_m
    u = np.where(out & (side == 0), push_u, np.where(out & (side == 1), -push_u, u))
    v = np.where(out & (side == 2), push_v, np.where(out & (side == 3), -push_v, v))
    u = np.where(how == "name", 0.0, u)
    v = np.where(how == "name", 0.0, v)
    lon, lat = _in_compound(comp, cidx, u, v)
    away = np.flatnonzero(how == "away")
    if len(away):
        core_streets = demo.streets[demo.streets.kind == "street"].geometry.union_all()
        pts = _sample_in(_local(core_streets), len(away), rng)
        a_lon, a_lat = _to_wgs.transform(pts[:, 0], pts[:, 1])
        lon[away], lat[away] = np.round(a_lon, 6), np.round(a_lat, 6)
    lon = np.where(how == "none", np.nan, lon)
    lat = np.where(how == "none", np.nan, lat)
    located_by = np.select([how == "name", how == "none"], ["compound_name", "none"], "coordinates")

    # Channel, level, routing.
    channel = rng.choice(["12345", "mailbox", "petition"], n, p=[0.80, 0.12, 0.08])
    level_rank = {"community": 0, "street": 1, "city": 2}
    level = cats.default_level.reindex(category).map(level_rank).to_numpy()
    level = np.where(channel == "petition", np.maximum(level, 1), level)
    limit = cats.time_limit_days.reindex(category).to_numpy().astype(int)
    due = received + (limit * 86400).astype("timedelta64[s]")
    end = np.datetime64(pd.Timestamp(as_of) + pd.Timedelta(days=1), "s")
    age_d = (end - received).astype("timedelta64[s]").astype(float) / 86400

    p_closed = np.where(
        age_d > 3 * limit, 0.975, np.clip(1 - np.exp(-age_d / (0.45 * limit)), 0, 0.95)
    )
    closed = rng.random(n) < p_closed
    dur_d = rng.gamma(2.0, 0.3 * limit) * np.where(rng.random(n) < 0.1, 2.5, 1.0)
    dur_d = np.minimum(dur_d, np.maximum(age_d - 0.01, 0.01))
    closed_at = np.where(
        closed, received + (dur_d * 86400).astype("timedelta64[s]"), np.datetime64("NaT")
    )
    visited = closed & (age_d > 7) & (rng.random(n) < 0.65)
    reopened = ~closed & (rng.random(n) < 0.02)
    status = np.select(
        [visited, closed, reopened, age_d < 1],
        ["visited", "closed", "reopened", "received"],
        "in_progress",
    )
    overdue = ~closed & (due < end)
    level = np.where(overdue & (rng.random(n) < 0.5), np.minimum(level + 1, 2), level)
    level = np.where((rng.random(n) < 0.04), np.minimum(level + 1, 2), level)
    sanwu = comp.sanwu.to_numpy()[cidx]
    sat_p = np.where(sanwu, 0.62, 0.80)
    r = rng.random(n)
    satisfaction = _where_else_none(
        visited,
        np.where(r < sat_p, "satisfied", np.where(r < sat_p + 0.13, "basic", "unsatisfied")),
    )

    names = comp.name.to_numpy()[cidx]
    kw = np.array([rng.choice(cats.loc[c, "keywords"] or ["物业纠纷"]) for c in codes])
    kw_of = dict(zip(codes, range(len(codes)), strict=True))
    kw_pick = kw[[kw_of[c] for c in category]]
    tmpl = rng.integers(0, len(CONTENT_TEMPLATES), n)
    building = rng.integers(1, 12, n)
    unit = rng.integers(1, 5, n)
    content = [
        CONTENT_TEMPLATES[t].format(place=f"{p}{b}栋", kw=k)
        for t, p, b, k in zip(tmpl, names, building, kw_pick, strict=True)
    ]
    address = _where_else_none(how != "away", [
        f"{a}{p}{b}栋{un}单元"
        for a, p, b, un in zip(comp.address.to_numpy()[cidx], names, building, unit, strict=True)
    ])

    prefix = {"12345": "RX", "mailbox": "SZXX", "petition": "XF"}
    datestr = pd.to_datetime(received).strftime("%Y%m%d").to_numpy()
    case_no = [
        f"{prefix[c]}{d}{i:07d}" for c, d, i in zip(channel, datestr, range(1, n + 1), strict=True)
    ]
    has_person = rng.random(n) < 0.8
    surname = rng.choice(SURNAMES, n)
    given = rng.choice(GIVEN, n)
    phone = rng.integers(13_000_000_000, 19_999_999_999, n)
    order = np.argsort(received, kind="stable")
    df = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "channel": channel[order],
            "case_no": np.array(case_no)[order],
            "received_at": received[order],
            "category_code": category[order],
            "content": np.array(content)[order],
            "address": address[order],
            "lon": lon[order],
            "lat": lat[order],
            "located_by": located_by[order],
            "compound_hint": comp.id.to_numpy()[cidx][order],
            "level": np.array(["community", "street", "city"])[level][order],
            "lead_dept": cats.lead_dept.reindex(category).to_numpy()[order],
            "status": status[order],
            "due_at": due[order],
            "closed_at": closed_at[order],
            "satisfaction": satisfaction[order],
            "complainant": _where_else_none(has_person, np.char.add(surname, given))[order],
            "phone": _where_else_none(has_person, phone.astype(str))[order],
        }
    )
    return df


#: How staff exports spell statuses (several per status, as the systems differ).
STATUS_SPELLINGS = {
    "received": ("已受理", "待处理"),
    "in_progress": ("办理中", "处理中"),
    "closed": ("已办结", "办结"),
    "visited": ("已回访",),
    "reopened": ("重新办理",),
}
CHANNEL_LABELS = {"12345": "12345热线", "mailbox": "市长信箱", "petition": "信访"}
SATISFACTION_LABELS = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}


def to_export(cases: pd.DataFrame, compounds: gpd.GeoDataFrame,
              rng: np.random.Generator) -> pd.DataFrame:
    """``cases`` from :func:`make_cases` as a 12345 system export would carry them.

    Chinese headers and labels; dates in the three forms staff exports use;
    four in ten coordinates in GCJ-02 (marked in 坐标系); cases located by
    compound name carry the name and no coordinates; one in ten categories
    left blank (classified from the content on import); complainants' names
    and phone numbers present, as in the real exports.
    """
    n = len(cases)
    received = pd.to_datetime(cases["received_at"])
    style_ = rng.integers(0, 3, n)
    when = received.dt.strftime("%Y-%m-%d %H:%M:%S")
    when = when.where(style_ != 1, received.dt.strftime("%Y/%-m/%-d %-H:%M"))
    when = when.where(style_ != 2, received.dt.strftime("%Y年%-m月%-d日 %-H:%M"))
    closed = pd.to_datetime(cases["closed_at"]).dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    lon, lat = cases["lon"].to_numpy(), cases["lat"].to_numpy()
    gcj = (rng.random(n) < 0.4) & ~np.isnan(lon)
    glon, glat = crs.from_wgs84(lon[gcj], lat[gcj], "gcj02")
    lon, lat = lon.copy(), lat.copy()
    lon[gcj], lat[gcj] = glon, glat
    by_name = cases["located_by"].to_numpy() == "compound_name"
    names = dict(zip(compounds["id"], compounds["name"], strict=True))
    cats = pd.DataFrame(reference.categories()).set_index("code")["name"]
    category = cats.reindex(cases["category_code"]).to_numpy().astype(object)
    category[rng.random(n) < 0.1] = ""
    pick = rng.random(n)
    status = np.empty(n, dtype=object)
    for code, spellings in STATUS_SPELLINGS.items():
        sel = cases["status"].to_numpy() == code
        status[sel] = np.array(spellings, dtype=object)[
            (pick[sel] * len(spellings)).astype(int)]
    no_xy = np.isnan(lon) | by_name
    fmt = np.char.mod
    return pd.DataFrame({
        "工单编号": cases["case_no"],
        "来源渠道": cases["channel"].map(CHANNEL_LABELS),
        "受理时间": when,
        "问题类别": category,
        "诉求内容": cases["content"],
        "事发地址": cases["address"].fillna(""),
        "小区名称": np.where(by_name, [names[c] for c in cases["compound_hint"]], ""),
        "经度": np.where(no_xy, "", fmt("%.6f", np.nan_to_num(lon))),
        "纬度": np.where(no_xy, "", fmt("%.6f", np.nan_to_num(lat))),
        "坐标系": np.where(no_xy, "", np.where(gcj, "GCJ02", "WGS84")),
        "办理状态": status,
        "承办单位": "",
        "办结时间": closed,
        "满意度": cases["satisfaction"].map(SATISFACTION_LABELS).fillna(""),
        "来电人": cases["complainant"].fillna(""),
        "联系电话": cases["phone"].fillna(""),
    })
