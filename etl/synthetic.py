"""Deterministic synthetic Kaili: pure generation, no I/O.

No public source has street, community or compound boundaries for Kaili, so
the demo builds plausible ones inside the real city outline, around the real
seats, with the real names and statistical codes of its units (the reference
lists are read through :mod:`geo.reference`; nothing is written):

- the 9 street offices and 11 towns (2023) partition the outline as the
  Voronoi cells of their known points: the seats the 2016 list gives (13 of
  18) and the seats of their communities and villages (30). A unit with no
  seat of its own sits at its namesake village (大风洞镇), or at the centre of
  its communities' seats, a street office no farther than
  :data:`URBAN_RADIUS_M` from 大十字; a street office the 2016 list does not
  know (白午, 白果井, created since) takes the emptiest place in the ring
  :data:`GAP_RING_M` around the centre. A community seat that would cut its
  unit in two, or lies within :data:`SEAT_CLEARANCE_M` of another unit's
  seat, does not shape the units. The street offices hold no land farther than
  :data:`CORE_MARGIN_M` beyond the hull of their points; the towns share the
  rest. So the 9 street offices stay small and compact around 大十字 and the
  towns lie around them, each around its own seat;
- inside each unit its real communities (社区) and villages (村) of 2016, by
  name and code, are the Voronoi cells of their seats where known, else of
  generated points: communities near the unit's seat, villages spread over
  the rest. Street offices the 2016 list does not know get a few generated
  communities, flagged as such (``real_name`` false);
- compounds are rectangles on a 240 m grid, dense and old towards 大十字,
  around the seats of the towns, and few in the villages, each wholly inside
  one community, so no two overlap; their names follow a small grammar
  (:data:`NAME_PATTERNS`) and are never cut or spliced;
- cases and hazards follow the compounds: category mix, seasonality, weekday
  and hour patterns, repeat-complaint hotspots, statuses by age.

Every function takes a ``numpy.random.Generator`` and is deterministic for a
given seed (the partition into units does not depend on it). Geometry is built
in a local equirectangular projection (metres, :data:`LOCAL_CRS`) and returned
in WGS84. Every boundary,
compound, firm, case and hazard made here is synthetic.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo import crs, reference

#: Local metric projection centred on Kaili: equirectangular, so affine in lon/lat. A
#: straight edge stays straight in WGS84, and an area clipped in metres stays inside
#: its unit in degrees (with a transverse Mercator the edges bent by centimetres and
#: communities stuck out of their street by up to 80 m²). Its scale is within 0.5 %.
LOCAL_CRS = "+proj=eqc +lat_ts=26.6 +lat_0=26.5 +lon_0=108 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
#: 大十字街道, the historic centre: its seat is the city's centre.
CENTRE_CODE = "522601002000"
#: A street office placed by its communities' seats is at most this far from the centre (m).
URBAN_RADIUS_M = 5000.0
#: A community seat this close to another unit's seat does not shape the units (m):
#: in the old town the seats of neighbouring units' communities lie a few hundred
#: metres apart, and would leave a street office with a square kilometre.
SEAT_CLEARANCE_M = 1000.0
#: The street offices reach at most this far beyond the hull of their points (m).
CORE_MARGIN_M = 2500.0
#: A street office with no known point takes the emptiest place in this ring (m).
GAP_RING_M = (2500.0, 5000.0)
#: Generated communities of the street offices created after 2016 (real_name false).
NEW_COMMUNITY_STEMS = (
    "兴业",
    "博雅",
    "惠民",
    "和顺",
    "锦华",
    "康宁",
    "文华",
    "兴隆",
    "安和",
    "瑞丰",
    "富民",
    "华阳",
    "祥和",
    "恒丰",
    "明德",
    "润泽",
)

# The grammar of compound names. A name is one stem and one suffix of a pattern,
# joined whole, and at most one phase word after them when that name is taken
# (阳光花园二期). No stem ends in a type word, so no name carries two.
#: Developers' names of compounds built since 2001.
BRANDS = (
    "锦绣",
    "阳光",
    "金色",
    "翠湖",
    "御景",
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
    "怡和",
    "嘉和",
    "富康",
    "瑞丰",
    "清江",
    "苗岭",
    "鼓楼",
    "凤凰",
    "龙泉",
    "金泉",
    "泰和",
    "福源",
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
    "新天地",
    "万象",
    "时代",
    "未来",
    "天誉",
    "汇景",
    "锦江",
    "金鼎",
    "银河",
    "宏图",
    "映山",
    "清水湾",
    "碧水",
    "龙湖",
    "兴隆",
    "金桂",
    "丹桂",
    "紫荆",
    "玫瑰",
    "海棠",
    "兰亭",
    "观澜",
    "听涛",
    "揽月",
    "望江",
    "滨江",
    "临江",
    "江畔",
    "湖畔",
    "半山",
    "云顶",
    "青山",
    "翠屏",
    "碧溪",
    "溪畔",
    "锦华",
    "华美",
    "美景",
    "佳和",
    "春晖",
    "朝晖",
    "晨曦",
    "旭日",
    "东升",
    "鼎盛",
    "昌盛",
    "隆盛",
    "福星",
    "吉祥",
    "如意",
    "金湾",
    "银湾",
    "蓝湾",
    "绿洲",
    "绿茵",
    "翠竹",
    "青竹",
    "松林",
    "状元",
    "文峰",
    "文昌",
    "凯宏",
    "黔东",
    "金鹰",
    "大地",
    "锦程",
    "恒信",
    "润和",
    "康乐",
    "安康",
)
NEW_SUFFIXES = ("小区", "花园", "苑", "家园", "华庭", "雅苑", "公馆", "嘉园", "名城")
#: Names of the 1980s and 1990s.
OLD_STEMS = (
    "红旗",
    "团结",
    "建设",
    "向阳",
    "东风",
    "胜利",
    "友谊",
    "解放",
    "红星",
    "前进",
    "工农",
    "五一",
    "新华",
    "和平",
    "朝阳",
    "育才",
    "光明",
    "幸福",
    "长征",
    "新民",
    "民主",
    "文化",
    "建新",
    "跃进",
    "红光",
    "永红",
    "群英",
    "丰收",
    "新建",
    "繁荣",
    "青年",
    "劳动",
    "东红",
    "卫星",
    "曙光",
    "先锋",
    "立新",
    "春风",
    "振兴",
    "兴华",
)
OLD_SUFFIXES = ("小区", "新村")
#: Work units whose staff housing became a compound (单位宿舍).
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
WORK_UNIT_SUFFIXES = ("宿舍", "家属院", "生活区", "家属区")
#: Roads of the city centre (an old compound named after its road).
ROADS = (
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
)
ROAD_SUFFIXES = ("小区",)
RESETTLEMENT_SUFFIXES = ("安置区", "安置小区", "移民安置区")
VILLAGE_SUFFIXES = ("新村",)
PHASES = ("二期", "三期", "东区", "西区", "南区", "北区")
#: Weight of a candidate compound at a town's seat against one at 大十字 (1).
TOWN_WEIGHT = 0.1
#: Pattern → (stems, suffixes). ``None`` stems: the compound's own community or village
#: without its 社区/村/家委会 (鸭塘安置区, 龙场煤矿生活区).
NAME_PATTERNS: dict[str, tuple[tuple[str, ...] | None, tuple[str, ...]]] = {
    "brand": (BRANDS, NEW_SUFFIXES),
    "old": (OLD_STEMS, OLD_SUFFIXES),
    "road": (ROADS, ROAD_SUFFIXES),
    "work_unit": (WORK_UNITS, WORK_UNIT_SUFFIXES),
    "factory": (None, WORK_UNIT_SUFFIXES),
    "resettlement": (None, RESETTLEMENT_SUFFIXES),
    "village": (None, VILLAGE_SUFFIXES),
}
#: The last characters of the type words: no stem may end in one, or a name would
#: read as carrying two (新村新村).
TYPE_CHARS = "区园苑庭馆城村院舍期"

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


def _wgs_all(geoms: list[BaseGeometry]) -> np.ndarray:
    """:func:`_wgs` of many geometries in one call."""
    return shapely.transform(
        np.array(geoms, dtype=object),
        lambda c: np.column_stack(_to_wgs.transform(c[:, 0], c[:, 1])),
    )


def _multi(geom: BaseGeometry) -> MultiPolygon:
    return MultiPolygon(_parts(shapely.make_valid(geom)))


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


def _voronoi_labels(
    points: np.ndarray, labels: np.ndarray, n_labels: int, clip: BaseGeometry
) -> list[BaseGeometry]:
    """Per label, the union of the Voronoi cells of its ``points``, clipped to ``clip``.

    Cells come from one GEOS diagram, so neighbours share their edges exactly
    and the result partitions ``clip``.
    """
    minx, miny, maxx, maxy = clip.bounds
    envelope = shapely.box(minx - 5000, miny - 5000, maxx + 5000, maxy + 5000)
    cells = list(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=envelope).geoms)
    tree = shapely.STRtree(cells)
    # Duplicate points share one cell: the first of them takes it.
    hit_point, hit_cell = tree.query(shapely.points(points), predicate="intersects")
    parts: list[list[BaseGeometry]] = [[] for _ in range(n_labels)]
    taken: set[int] = set()
    for p, c in zip(hit_point, hit_cell, strict=True):
        if c not in taken:
            taken.add(int(c))
            parts[labels[p]].append(cells[c])
    return [shapely.union_all(ps).intersection(clip) if ps else Polygon() for ps in parts]


def _parts(geom: BaseGeometry) -> list[Polygon]:
    """The polygons of ``geom`` with an area (no lines or points from an overlay)."""
    return [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and g.area > 0]


def _main_part(geom: BaseGeometry, at: np.ndarray) -> Polygon | None:
    """The part of ``geom`` that holds the point ``at`` (None if none does)."""
    pt = Point(*at)
    return next((g for g in _parts(geom) if g.covers(pt)), None)


def _give_away_strays(areas: list[BaseGeometry], seats: np.ndarray) -> list[MultiPolygon]:
    """Hand each part of an area that does not hold its seat to the neighbour it borders most.

    A Voronoi cell clipped to a concave outline can fall apart; a piece cut
    off from its seat goes to the area it shares the longest border with.
    """
    areas = list(areas)
    for i in range(len(areas)):
        parts = _parts(areas[i])
        pt = Point(*seats[i])
        main = next((g for g in parts if g.covers(pt)), None)
        strays = [g for g in parts if g is not main]
        if main is None or not strays:
            continue
        areas[i] = main
        for piece in strays:
            border = [
                piece.boundary.intersection(a).length if j != i else -1.0
                for j, a in enumerate(areas)
            ]
            j = int(np.argmax(border))
            areas[j] = areas[j].union(piece)
    return [_multi(a) for a in areas]


def _partition(
    points: np.ndarray, labels: np.ndarray, seats: np.ndarray, clip: BaseGeometry
) -> tuple[list[MultiPolygon], np.ndarray]:
    """Areas around several known points each, one piece per area.

    ``points`` with their area ``labels``; ``seats[k]`` is area ``k``'s own
    point, which is always kept. A point whose cell lies apart from its seat's
    piece (a geocoding that contradicts its neighbours) is dropped and the
    diagram drawn again. Returns the areas and which points were kept.
    """
    keep = np.ones(len(points), bool)
    n = len(seats)
    is_seat = np.zeros(len(points), bool)
    for k in range(n):
        is_seat[np.flatnonzero((labels == k) & (points == seats[k]).all(axis=1))[:1]] = True
    for _ in range(10):
        areas = _voronoi_labels(points[keep], labels[keep], n, clip)
        mains = [_main_part(a, seats[k]) for k, a in enumerate(areas)]
        astray = [
            i
            for i in np.flatnonzero(keep & ~is_seat)
            if mains[labels[i]] is None or not mains[labels[i]].covers(Point(*points[i]))
        ]
        if not astray:
            break
        keep[astray] = False
    return _give_away_strays(areas, seats), keep


def _on_edge(points: np.ndarray, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the distance to the nearest of ``segments`` (m, 2, 2) and its index."""
    a, b = segments[:, 0], segments[:, 1]
    ab = b - a
    t = ((points[:, None, :] - a[None]) * ab[None]).sum(axis=2) / np.maximum(
        (ab**2).sum(axis=1), 1e-12
    )
    foot = a[None] + np.clip(t, 0.0, 1.0)[..., None] * ab[None]
    d = np.hypot(*(points[:, None, :] - foot).transpose(2, 0, 1))
    k = d.argmin(axis=1)
    return d[np.arange(len(points)), k], k


@dataclass(frozen=True)
class _Outline:
    """Kaili's outline in local metres, with what the boundary fixes need of it."""

    shape: MultiPolygon
    border: BaseGeometry  # its boundary, prepared
    segments: np.ndarray  # (m, 2, 2): every edge of every ring
    corners: frozenset[tuple[float, float]]


@functools.cache
def _outline() -> _Outline:
    shape = _local(reference.kaili_outline())
    rings = [r for p in _parts(shape) for r in (p.exterior, *p.interiors)]
    segments = np.concatenate(
        [np.stack([c[:-1], c[1:]], axis=1) for c in (shapely.get_coordinates(r) for r in rings)]
    )
    border = shape.boundary
    shapely.prepare(border)
    return _Outline(shape, border, segments, frozenset((x, y) for x, y in segments[:, 0]))


def _snap_to_outline(geoms: list[MultiPolygon]) -> list[MultiPolygon]:
    """Move every vertex that lies on an edge of the outline to that edge's nearer end.

    Where an inner border meets the outline, clipping puts a vertex in the middle of
    an outline edge. The outline itself has none there, and PostGIS reads the
    degenerate sliver between the two as tens of square metres on the spheroid (its
    edges are geodesics, ours straight in lon/lat). The same vertex moves alike in
    both areas it bounds, so they still partition the outline.
    """
    outline = _outline()
    segments, corners, border = outline.segments, outline.corners, outline.border

    def snap(xy: np.ndarray) -> np.ndarray:
        near = shapely.dwithin(border, shapely.points(xy), 1e-6)
        if not near.any():
            return xy
        near[near] = [(x, y) not in corners for x, y in xy[near]]
        if not near.any():
            return xy
        out = xy.copy()
        _d, k = _on_edge(xy[near], segments)
        ends = segments[k]
        first = np.hypot(*(ends[:, 0] - xy[near]).T) <= np.hypot(*(ends[:, 1] - xy[near]).T)
        out[near] = np.where(first[:, None], ends[:, 0], ends[:, 1])
        return out

    return [_multi(shapely.transform(g, snap)) for g in geoms]


def _densify_inner(geom: MultiPolygon, step: float = 100.0) -> MultiPolygon:
    """``geom`` with its edges off the outline cut into pieces of at most ``step`` metres.

    A border 15 km long carries the communities' corners on it; PostGIS (geodesic
    edges) reads a corner in the middle of a long straight edge as a sliver of up to
    200 m². Pieces are cut from the lesser end, so both areas sharing an edge get the
    very same points.
    """
    border = _outline().border

    def ring(c: np.ndarray) -> np.ndarray:
        a, b = c[:-1], c[1:]
        n = np.ceil(np.hypot(*(b - a).T) / step).astype(int)
        inner = ~shapely.dwithin(border, shapely.points((a + b) / 2), 1e-6)
        out = [c[:1]]
        for p, q, k, cut in zip(a, b, n, inner, strict=True):
            if cut and k > 1:
                flip = (q[0], q[1]) < (p[0], p[1])
                lo, hi = (q, p) if flip else (p, q)
                pts = lo + (hi - lo) * (np.arange(1, k) / k)[:, None]
                out.append(pts[::-1] if flip else pts)
            out.append(q[None])
        return np.concatenate(out)

    polys = [
        Polygon(ring(shapely.get_coordinates(p.exterior)),
                [ring(shapely.get_coordinates(h)) for h in p.interiors])
        for p in geom.geoms
    ]
    return MultiPolygon(polys)


def _lonlat_to_local(lonlat: tuple[float, float]) -> np.ndarray:
    return np.array(_to_local.transform(*lonlat))


def _emptiest(candidates: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """The candidate farthest from every taken point."""
    d = np.sqrt(((candidates[:, None, :] - taken[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    return candidates[int(np.argmax(d))]


def _place_seats(
    units: list[dict[str, str]],
    known: dict[str, np.ndarray],
    points_of: dict[str, list[np.ndarray]],
    namesake: set[str],
    outline: BaseGeometry,
) -> tuple[np.ndarray, list[str]]:
    """A seat per unit (local metres) and how it was found.

    ``known``: the seats the 2016 list gives; ``points_of``: the known seats of
    each unit's communities, by unit code, the namesake first for the units in
    ``namesake``. Ways, in order:
    ``2016`` (the list's seat), ``namesake`` (a town at its namesake village),
    ``communities`` (the centre of its communities' seats, a street office
    pulled to within :data:`URBAN_RADIUS_M` of the centre) and ``gap`` (the
    emptiest place of the ring :data:`GAP_RING_M` around the centre).
    """
    seats: dict[str, np.ndarray] = {}
    how: dict[str, str] = {}
    order = sorted(units, key=lambda u: u["code"] != CENTRE_CODE)  # the centre first
    for u in order:
        code, pts = u["code"], points_of.get(u["code"], [])
        if code in known:
            seats[code], how[code] = known[code], "2016"
        elif u["kind"] == "town" and code in namesake:
            seats[code], how[code] = pts[0], "namesake"
        elif pts:
            seat = np.mean(pts, axis=0)
            if u["kind"] == "street":
                centre = seats[CENTRE_CODE] if code != CENTRE_CODE else seat
                v = seat - centre
                r = float(np.hypot(*v))
                if r > URBAN_RADIUS_M:
                    seat = centre + v * (URBAN_RADIUS_M / r)
            seats[code], how[code] = seat, "communities"
    centre = seats[CENTRE_CODE]
    step = 250.0
    lo, hi = GAP_RING_M
    gx, gy = np.meshgrid(np.arange(-hi, hi + step, step), np.arange(-hi, hi + step, step))
    ring = np.column_stack([gx.ravel(), gy.ravel()])
    ring = ring[(np.hypot(ring[:, 0], ring[:, 1]) >= lo) & (np.hypot(ring[:, 0], ring[:, 1]) <= hi)]
    ring = ring + centre
    ring = ring[shapely.contains_xy(outline, ring[:, 0], ring[:, 1])]
    for u in units:
        if u["code"] not in seats:
            taken = np.array(
                list(seats.values()) + [p for ps in points_of.values() for p in ps]
            )
            seats[u["code"]], how[u["code"]] = _emptiest(ring, taken), "gap"
    return np.array([seats[u["code"]] for u in units]), [how[u["code"]] for u in units]


def make_divisions(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The 9 street offices and 11 towns of 2023, partitioning Kaili's real outline.

    Columns: ``code``, ``name``, ``kind`` (real, 2023), ``seat_x``/``seat_y``
    (local metres), ``seat_lon``/``seat_lat`` (WGS84), ``seat_from`` (how the
    seat was found, see :func:`_place_seats`) and ``geom`` (synthetic). The
    partition does not depend on ``rng``.
    """
    del rng  # the seats are real or placed by rule: no chance involved
    outline = _outline().shape
    units = reference.divisions()
    codes = [u["code"] for u in units]
    known = {c: _lonlat_to_local(p) for c, p in reference.division_seats_2016().items()}
    comms = reference.communities_2016()
    points_of: dict[str, list[np.ndarray]] = {}
    namesake: set[str] = set()
    for u in units:
        stem = _place_stem(u["name"])
        own = [c for c in comms if c["street_code"] == u["code"] and c["seat"] is not None]
        own.sort(key=lambda c: _place_stem(c["name"]) != stem)  # the namesake first
        if own and _place_stem(own[0]["name"]) == stem:
            namesake.add(u["code"])
        points_of[u["code"]] = [_lonlat_to_local(c["seat"]) for c in own]
    seats, how = _place_seats(units, known, points_of, namesake, outline)
    pts = [seats[k] for k in range(len(units))]
    labels = list(range(len(units)))
    for k, code in enumerate(codes):
        for p in points_of[code]:
            others = np.delete(seats, k, axis=0)
            if np.hypot(*(others - p).T).min() >= SEAT_CLEARANCE_M:
                pts.append(p)
                labels.append(k)
    pts_, labels_ = np.array(pts), np.array(labels)
    areas, keep = _partition(pts_, labels_, seats, outline)
    is_street = np.array([u["kind"] == "street" for u in units])
    # The street offices hold the city: no land farther than CORE_MARGIN_M from the hull of
    # their own points. What lies beyond goes to the towns, split among them as before.
    mine = keep & is_street[labels_]
    core = shapely.convex_hull(shapely.multipoints(pts_[mine])).buffer(
        CORE_MARGIN_M, join_style="mitre", mitre_limit=1.6
    )
    city = shapely.union_all([areas[k] for k in np.flatnonzero(is_street)]).intersection(core)
    rest = outline.difference(city)
    town_pts = keep & ~is_street[labels_]
    towns = _voronoi_labels(pts_[town_pts], labels_[town_pts], len(units), rest)
    areas = [
        _multi(areas[k].intersection(core)) if is_street[k] else towns[k]
        for k in range(len(units))
    ]
    areas = _give_away_strays(areas, seats)
    areas = [_densify_inner(a) for a in _snap_to_outline(areas)]
    lon, lat = _to_wgs.transform(seats[:, 0], seats[:, 1])
    return gpd.GeoDataFrame(
        {
            "code": codes,
            "name": [u["name"] for u in units],
            "kind": [u["kind"] for u in units],
            "seat_x": seats[:, 0],
            "seat_y": seats[:, 1],
            "seat_lon": lon,
            "seat_lat": lat,
            "seat_from": how,
            "geom": [_wgs(a) for a in areas],
        },
        geometry="geom",
        crs="EPSG:4326",
    )


def _place_stem(name: str) -> str:
    """A unit's or community's place name without its kind (鸭塘街道 → 鸭塘, 金井村 → 金井)."""
    for kind in ("街道", "家委会", "社区", "镇", "村"):
        if name.endswith(kind) and len(name) > len(kind):
            return name[: -len(kind)]
    return name


def _spread(
    area: Polygon,
    n: int,
    taken: np.ndarray,
    rng: np.random.Generator,
    *,
    near: np.ndarray | None = None,
    radius: float = 0.0,
) -> np.ndarray:
    """``n`` points in ``area``, each the farthest of a few random tries from those taken.

    With ``near``, the tries lie within ``radius`` of it (communities around a
    seat); otherwise anywhere in ``area`` (villages spread over the land).
    """
    out = np.empty((0, 2))
    if n == 0:
        return out
    region = area
    if near is not None:
        disc = Point(*near).buffer(radius, 16).intersection(area)
        if disc.area > 0.05 * np.pi * radius**2:
            region = disc
    pool = _sample_in(region, 24 * n, rng)
    inner = area.buffer(-60.0)
    shapely.prepare(inner)
    ok = shapely.contains_xy(inner, pool[:, 0], pool[:, 1])
    pool = pool[ok] if ok.sum() >= n else pool
    have = taken.reshape(-1, 2)
    if near is None:
        # Farthest-point sampling over the whole pool, keeping each try's distance to
        # the nearest point taken so far.
        gap = np.full(len(pool), np.inf)
        for h in have:
            gap = np.minimum(gap, np.hypot(*(pool - h).T))
        for _ in range(n):
            p = pool[int(np.argmax(gap))]
            gap = np.minimum(gap, np.hypot(*(pool - p).T))
            out = np.vstack([out, p])
        return out
    for k in range(n):
        tries = pool[k * 24 : (k + 1) * 24]
        if len(tries) == 0:
            tries = pool
        if len(have):
            d = np.sqrt(((tries[:, None, :] - have[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
            p = tries[int(np.argmax(d))]
        else:
            p = tries[0]
        have = np.vstack([have, p])
        out = np.vstack([out, p])
    return out


def make_communities(streets: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Every unit's communities and villages: the 271 real ones of 2016 and a few generated.

    Columns: ``code``, ``name`` (real: the 2016 list's, see
    :func:`geo.reference.community_name`), ``street_code``, ``kind``
    (``community`` or ``village``), ``real_name`` (false for the generated
    communities of the street offices created after 2016), ``seat_from``
    (``2016`` or ``generated``), ``seat_x``/``seat_y`` (local metres) and
    ``geom`` (synthetic, inside its unit).
    """
    comms = reference.communities_2016()
    spare = [str(x) for x in rng.permutation(NEW_COMMUNITY_STEMS)]  # no name twice
    rows = []
    for s in streets.itertuples():
        area = _local(s.geom)
        main = max(_parts(area), key=lambda g: g.area)
        seat = np.array([s.seat_x, s.seat_y])
        own = [c for c in comms if c["street_code"] == s.code]
        if not own:
            stems = [_place_stem(s.name)] + [spare.pop() for _ in range(int(rng.integers(4, 7)))]
            own = [
                {
                    "code": f"{s.code[:9]}{i + 1:03d}",
                    "name": f"{st}社区",
                    "kind": "community",
                    "seat": None,
                    "real_name": False,
                }
                for i, st in enumerate(stems)
            ]
        inner = main.buffer(-80.0)
        seeds: list[np.ndarray | None] = []
        for c in own:
            p = None if c["seat"] is None else _lonlat_to_local(c["seat"])
            seeds.append(p if p is not None and inner.covers(Point(*p)) else None)
        real_seat = [p is not None for p in seeds]
        known = np.array([p for p in seeds if p is not None]).reshape(-1, 2)
        # The community named after its unit (西门社区, 三棵树社区) sits at the unit's seat.
        stem = _place_stem(s.name)
        for i, c in enumerate(own):
            clear = len(known) == 0 or np.hypot(*(known - seat).T).min() > 300.0
            if seeds[i] is None and c["kind"] == "community" and _place_stem(c["name"]) == stem:
                if clear and inner.covers(Point(*seat)):
                    seeds[i] = seat
                    known = np.vstack([known, seat])
                break
        urban = [i for i, c in enumerate(own) if seeds[i] is None and c["kind"] == "community"]
        rural = [i for i, c in enumerate(own) if seeds[i] is None and c["kind"] == "village"]
        radius = 350.0 * np.sqrt(len(urban) + 1) + 300.0
        near = _spread(main, len(urban), known, rng, near=seat, radius=radius)
        far = _spread(main, len(rural), np.vstack([known, near]), rng)
        for i, p in zip(urban + rural, list(near) + list(far), strict=True):
            seeds[i] = p
        xy = np.array(seeds)
        cells, _keep = _partition(xy, np.arange(len(own)), xy, area)
        cells = _snap_to_outline(cells)
        for c, p, cell, real in zip(own, xy, cells, real_seat, strict=True):
            rows.append(
                {
                    "code": c["code"],
                    "name": c["name"],
                    "street_code": s.code,
                    "kind": c["kind"],
                    "real_name": c.get("real_name", True),
                    "seat_from": "2016" if real else "generated",
                    "seat_x": p[0],
                    "seat_y": p[1],
                    "geom": _multi(_wgs(cell)),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geom", crs="EPSG:4326")


def make_firms(rng: np.random.Generator, centre: np.ndarray, n: int = 20) -> pd.DataFrame:
    """``n`` property firms, each with a home around ``centre`` (local metres), serving the
    compounds near it, and a conduct (see :data:`FIRM_ROLES`).

    Their credit grades and red/black list status are not drawn here: they follow from the
    cases, hazards and events the demo generates, through the credit model
    (:func:`make_credit_history` and ``etl.demo``), as they would with real data.
    """
    stems = rng.permutation(FIRM_STEMS)[:n]
    cx, cy = centre
    firms = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "name": [f"凯里市{s}物业服务有限公司" for s in stems],
            "home_x": cx + rng.normal(0, 3000, n),
            "home_y": cy + rng.normal(0, 2500, n),
            "size": rng.lognormal(0, 0.8, n),
        }
    )
    return assign_firm_roles(firms)


#: How a demo firm behaves, before and after the middle of the demo year: (earlier, later).
#: Roles are handed out by size (largest first, so that the firms whose story matters have
#: cases enough), and 锦程 (the firm the issue names: red-listed, yet among the worst) gets
#: the declining role.
FIRM_ROLES: tuple[tuple[str, str, str], ...] = (
    ("average", "average", "average"),
    ("good", "good", "good"),
    ("declining", "exemplary", "poor"),
    ("bad", "bad", "bad"),
    ("exemplary", "exemplary", "exemplary"),
    ("improving", "bad", "good"),
    ("good", "good", "good"),
    ("average", "average", "average"),
    ("poor", "poor", "poor"),
    ("exemplary", "exemplary", "exemplary"),
    ("good", "good", "good"),
    ("average", "average", "average"),
    ("poor", "poor", "poor"),
    ("good", "good", "good"),
    ("average", "average", "average"),
    ("average", "average", "average"),
    ("poor", "poor", "poor"),
    ("average", "average", "average"),
    ("good", "good", "good"),
    ("average", "average", "average"),
)
#: What each conduct does to a firm's compounds: complaints (a factor on how often its
#: compounds are complained about); of its cases, the share rated unsatisfied at the return
#: visit, of the late or overdue ones the share it handles in time after all (on_time), and
#: of the others the share it closes late, sees reopened or leaves stalled past the limit.
CONDUCT = {
    "exemplary": {"complaints": 0.45, "unsatisfied": 0.02, "on_time": 1.0, "late": 0.0,
                  "reopened": 0.0, "stalled": 0.0},
    "good": {"complaints": 0.7, "unsatisfied": 0.05, "on_time": 0.6, "late": 0.0,
             "reopened": 0.01, "stalled": 0.0},
    "average": {"complaints": 1.0, "unsatisfied": 0.1, "on_time": 0.2, "late": 0.05,
                "reopened": 0.03, "stalled": 0.03},
    "poor": {"complaints": 1.6, "unsatisfied": 0.2, "on_time": 0.0, "late": 0.12,
             "reopened": 0.06, "stalled": 0.07},
    "bad": {"complaints": 2.3, "unsatisfied": 0.32, "on_time": 0.0, "late": 0.3,
            "reopened": 0.1, "stalled": 0.14},
}
#: The firm the issue names.
DECLINING_FIRM = "锦程"


def assign_firm_roles(firms: pd.DataFrame) -> pd.DataFrame:
    """Add ``role``, ``conduct_then`` and ``conduct_now`` to ``firms`` (deterministic)."""
    order = np.argsort(-firms["size"].to_numpy(), kind="stable")
    roles = [FIRM_ROLES[i % len(FIRM_ROLES)] for i in range(len(firms))]
    by_firm: list[tuple[str, str, str]] = [("", "", "")] * len(firms)
    for rank, idx in enumerate(order):
        by_firm[idx] = roles[rank]
    names = firms["name"].tolist()
    decl = next((i for i, r in enumerate(by_firm) if r[0] == "declining"), None)
    named = next((i for i, n in enumerate(names) if DECLINING_FIRM in n), None)
    if decl is not None and named is not None:
        # The firm the issue names takes the declining firm's place (its size, its
        # compounds), not only its role: a small firm has too few cases for its rates to
        # count, and could neither earn the red list nor be seen to fall from it.
        names[decl], names[named] = names[named], names[decl]
    out = firms.copy()
    out["name"] = names
    out["role"] = [r[0] for r in by_firm]
    out["conduct_then"] = [r[1] for r in by_firm]
    out["conduct_now"] = [r[2] for r in by_firm]
    return out


def firm_complaint_factor(compounds: gpd.GeoDataFrame, firms: pd.DataFrame) -> np.ndarray:
    """Per compound: how much more (or less) often it is complained about because of its
    firm; 1 for compounds without a firm.

    Cases are drawn per compound for the whole year, so this factor cannot change within
    it: a firm whose conduct changes takes the factor of its better conduct, and its story
    shows in how it handles its cases (:func:`apply_firm_conduct`)."""
    factor = {int(r.id): min(CONDUCT[r.conduct_then]["complaints"],
                             CONDUCT[r.conduct_now]["complaints"])
              for r in firms.itertuples()}
    return np.array([factor.get(int(f), 1.0) if f is not None and f == f else 1.0
                     for f in compounds["firm_id"]])


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
    """900–1,100 compounds: most in the city, old ones near 大十字, 6–9 % of them 三无.

    Candidates are rectangles on a 240 m grid wholly inside a community. They
    are drawn with a weight that falls with the distance to 大十字 in the
    street offices and to the town's seat in the towns (a town's compounds
    stand in its township), and is lower in villages.
    """
    spacing = 240.0
    cx0, cy0 = streets.loc[streets.code == CENTRE_CODE, ["seat_x", "seat_y"]].to_numpy()[0]
    units = streets.set_index("code")
    is_town = (units.kind == "town").to_dict()
    seat = dict(zip(units.index, zip(units.seat_x, units.seat_y, strict=True), strict=True))
    comm_local = [_local(g) for g in communities.geometry]
    xs, ys, cs, ws = [], [], [], []
    for i, (cell, street, kind) in enumerate(
        zip(comm_local, communities.street_code, communities.kind, strict=True)
    ):
        minx, miny, maxx, maxy = cell.bounds
        gx, gy = np.meshgrid(
            np.arange(minx - minx % spacing, maxx, spacing),
            np.arange(miny - miny % spacing, maxy, spacing),
        )
        gx, gy = gx.ravel() + spacing / 2, gy.ravel() + spacing / 2
        inside = shapely.contains_xy(cell, gx, gy)
        gx, gy = gx[inside], gy[inside]
        if is_town[street]:
            d_seat = np.hypot(gx - seat[street][0], gy - seat[street][1]) / 1000.0
            weight = TOWN_WEIGHT * np.exp(-d_seat / 0.8) + 0.0008
        else:
            d = np.hypot(gx - cx0, gy - cy0) / 1000.0
            weight = np.exp(-d / 2.6) + 0.05 * np.exp(-d / 8.0)
        if kind == "village":
            weight = weight * 0.5
        xs.append(gx)
        ys.append(gy)
        cs.append(np.full(len(gx), i))
        ws.append(weight)
    gx, gy, ci, weight = (np.concatenate(v) for v in (xs, ys, cs, ws))
    target = int(rng.integers(900, 1100))
    # Draw twice the target by weight, then keep the first whose rectangle fits wholly
    # inside its community: building the 27,000 candidate rectangles took 0.15 s.
    order = rng.choice(len(gx), size=min(len(gx), 2 * target), replace=False,
                       p=weight / weight.sum())
    m = len(order)
    w, h = rng.uniform(60, 160, m), rng.uniform(60, 160, m)
    ang = rng.uniform(-0.35, 0.35, m)
    rects = _rectangles(gx[order] + rng.uniform(-4, 4, m), gy[order] + rng.uniform(-4, 4, m),
                        w, h, ang)
    inner = {i: comm_local[i].buffer(-10) for i in np.unique(ci[order])}
    fits = shapely.contains(np.array([inner[i] for i in ci[order]], dtype=object), rects)
    keep = np.flatnonzero(fits)[:target]
    keep = keep[np.argsort(order[keep], kind="stable")]  # by community, then on the grid
    sel = order[keep]
    d_all = np.hypot(gx[sel] - cx0, gy[sel] - cy0) / 1000.0
    chosen = list(zip(ci[sel], rects[keep], gx[sel], gy[sel], d_all, weight[sel], w[keep],
                      h[keep], ang[keep], strict=True))
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
    # One draw per compound from its row of weights, by inverting the cumulative sums.
    cum = np.cumsum(fw / fw.sum(axis=1, keepdims=True), axis=1)
    firm_idx = np.minimum((cum < rng.random(n)[:, None]).sum(axis=1), len(firms) - 1)
    firm_id = np.where(mode == "property_firm", firms.id.to_numpy()[firm_idx], None)

    comm_idx = np.array([c[0] for c in chosen])
    comm = communities.iloc[comm_idx]
    in_town = (units.kind.reindex(comm.street_code) == "town").to_numpy()
    u = rng.random(n)
    patterns = [
        _pattern(old=bool(o), work_unit=m == "work_unit", village=k == "village",
                 factory=nm.endswith("家委会"), town=bool(t), u=float(x))
        for o, m, k, nm, t, x in zip(old, mode, comm.kind, comm.name, in_town, u, strict=True)
    ]
    names, aliases = compound_names(patterns, [_place_stem(c) for c in comm.name], old, rng)
    number = rng.integers(1, 300, n)
    road = rng.choice(ROADS, n)
    unit_name = units.name.to_dict()
    addresses = [
        f"凯里市{unit_name[s]}{c}{no}号" if t else f"凯里市{unit_name[s]}{r}{no}号"
        for s, c, t, r, no in zip(comm.street_code, comm.name, in_town, road, number, strict=True)
    ]

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
            "geom": shapely.multipolygons(_wgs_all([c[1] for c in chosen])[:, None]),
        },
        geometry="geom",
        crs="EPSG:4326",
    )
    gdf["hotness"] = rng.lognormal(0, 1.0, n) * np.where(sanwu, 2.5, 1.0) * np.where(old, 1.6, 1.0)
    return gdf


def compound_name(stem: str, suffix: str, phase: str = "") -> str:
    """A compound name from whole parts of :data:`NAME_PATTERNS` (and a phase word)."""
    return f"{stem}{suffix}{phase}"


def _usable_stem(stem: str) -> bool:
    """A place stem the grammar may use: two characters or more, no type word at its end."""
    return len(stem) >= 2 and stem[-1] not in TYPE_CHARS


def _pattern(
    *, old: bool, work_unit: bool, village: bool, factory: bool, town: bool, u: float
) -> str:
    """Which pattern of :data:`NAME_PATTERNS` names a compound (``u`` uniform in 0–1)."""
    if work_unit and u < 0.7:
        return "factory" if factory else "work_unit"
    if village:
        return "resettlement" if u < 0.45 else ("village" if old and u < 0.75 else "brand")
    if old:
        return "road" if 0.5 <= u < 0.75 and not town else "old"
    return "brand"


def compound_names(
    patterns: list[str], places: list[str], old: np.ndarray, rng: np.random.Generator
) -> tuple[list[str], list[list[str]]]:
    """Unique names, and aliases staff might use, for compounds of the given patterns.

    ``places``: each compound's community or village without its kind (for the
    place patterns). A name is drawn whole from its pattern; when 30 draws all
    meet taken names, it falls back to an old or a developer's name, then to a
    developer's name, and after 90 draws to one with a phase word (锦绣花园二期). Aliases,
    never another compound's name or alias: a developer's name with 小区
    (锦绣花园小区), the stem of a developer's or an old name when no other
    name has it (锦绣), 老 + that stem for some old ones, and the other word for
    a work unit's housing (宿舍 ↔ 家属院); never a road's or a village's name.
    """
    used: set[str] = set()
    parts: list[tuple[str, str, str, str]] = []  # pattern, stem, suffix, phase
    # Random integers drawn in bulk: a call of rng per draw cost 0.1 s for 1,000 names.
    pool = iter(rng.integers(0, 1 << 30, (4 * len(patterns) + 64, 3)))

    def draw() -> np.ndarray:
        nonlocal pool
        nxt = next(pool, None)
        if nxt is None:
            pool = iter(rng.integers(0, 1 << 30, (len(patterns) + 64, 3)))
            nxt = next(pool)
        return nxt

    for k, (first, place) in enumerate(zip(patterns, places, strict=True)):
        if NAME_PATTERNS[first][0] is None and not _usable_stem(place):
            first = "old" if old[k] else "brand"
        fallback = "old" if old[k] else "brand"
        for attempt in range(1000):
            pattern = first if attempt < 30 else fallback if attempt < 60 else "brand"
            stems, suffixes = NAME_PATTERNS[pattern]
            i, j, m = draw()
            stem = place if stems is None else stems[i % len(stems)]
            suffix = suffixes[j % len(suffixes)]
            phase = PHASES[m % len(PHASES)] if attempt >= 90 else ""
            if compound_name(stem, suffix, phase) not in used:
                break
        else:
            raise RuntimeError("no free compound name left in the grammar")
        used.add(compound_name(stem, suffix, phase))
        parts.append((pattern, stem, suffix, phase))
    stem_count = pd.Series([p[1] for p in parts]).value_counts()
    names: list[str] = []
    aliases: list[list[str]] = []
    for k, (pattern, stem, suffix, phase) in enumerate(parts):
        name = compound_name(stem, suffix, phase)
        candidates: list[str] = []
        if pattern in ("brand", "old") and not phase:
            if suffix in NEW_SUFFIXES and suffix != "小区":
                candidates.append(f"{name}小区")
            if stem_count[stem] == 1:
                candidates.append(stem)
                if old[k] and rng.random() < 0.3:
                    candidates.append(f"老{stem}")
        elif pattern in ("work_unit", "factory") and not phase:
            candidates.append(compound_name(stem, "家属院" if suffix == "宿舍" else "宿舍"))
        alias = [a for a in candidates if a not in used]
        used.update(alias)
        names.append(name)
        aliases.append(alias)
    return names, aliases


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
                f"{name}：{HAZARD_TEXT[t][int(u * len(HAZARD_TEXT[t]))]}"
                for t, name, u in zip(theme, compounds.name.to_numpy()[idx], rng.random(n),
                                      strict=True)
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
    firms = make_firms(rng, streets.loc[streets.code == CENTRE_CODE, ["seat_x", "seat_y"]]
                       .to_numpy()[0])
    compounds = make_compounds(streets, communities, firms, rng)
    compounds["hotness"] = compounds["hotness"] * firm_complaint_factor(compounds, firms)
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
    return add_channel_duplicates(df, rng)


#: How a second channel words a complaint already made (mailbox letters, petitions, calls).
DUPLICATE_TEMPLATES = (
    "市长您好！我是{place}的住户，{kw}的事一直没人管，恳请领导重视。",
    "{place}{kw}，已经打过12345反映，至今没有解决，请求督办。",
    "关于{place}{kw}一事，再次反映，请有关部门尽快处理。",
)
#: Share of cases that repeat an earlier complaint through another channel (ground truth).
DUPLICATE_SHARE = 0.03
DUPLICATE_WITHIN_DAYS = 5
_PREFIX = {"12345": "RX", "mailbox": "SZXX", "petition": "XF"}


def _template_pattern(template: str) -> str:
    out = ""
    for part in template.replace("{place}", "\x00P").replace("{kw}", "\x00K").split("\x00"):
        if part.startswith("P"):
            out += r"(?P<place>.+?栋)" + re.escape(part[1:])
        elif part.startswith("K"):
            out += r"(?P<kw>.+?)" + re.escape(part[1:])
        else:
            out += re.escape(part)
    return "^" + out + "$"


def add_channel_duplicates(cases: pd.DataFrame, rng: np.random.Generator,
                           share: float = DUPLICATE_SHARE) -> pd.DataFrame:
    """Turn ``share`` of the cases into the same complaint made earlier through another channel.

    A resident who called 12345 writes to the mayor's mailbox or petitions a few
    days later about the same thing: the later case (``d``) takes the earlier
    one's (``o``, same category, at most :data:`DUPLICATE_WITHIN_DAYS` days before)
    place, address, point and complainant, a different channel (and case number
    prefix; a petition starts at street level) and the complaint reworded in the
    other channel's style. ``duplicate_of`` holds ``o``'s id (ground truth for
    measuring :func:`geo.complaints.group_channels`); receipt times, categories,
    statuses and due times are unchanged, so every other figure keeps its shape.
    """
    df = cases.copy()
    df["duplicate_of"] = pd.array([pd.NA] * len(df), dtype="Int64")
    n = len(df)
    k = int(round(share * n))
    if k == 0:
        return df
    chosen = np.zeros(n, bool)
    chosen[rng.choice(n, k, replace=False)] = True
    t = pd.to_datetime(df["received_at"])
    left = pd.DataFrame({"pos": np.flatnonzero(chosen), "t": t[chosen].to_numpy(),
                         "cat": df["category_code"].to_numpy()[chosen]}).sort_values("t")
    right = pd.DataFrame({"opos": np.flatnonzero(~chosen), "t": t[~chosen].to_numpy(),
                          "cat": df["category_code"].to_numpy()[~chosen]}).sort_values("t")
    m = pd.merge_asof(left, right, on="t", by="cat", direction="backward",
                      allow_exact_matches=False,
                      tolerance=pd.Timedelta(days=DUPLICATE_WITHIN_DAYS)).dropna(subset=["opos"])
    d, o = m["pos"].to_numpy(int), m["opos"].to_numpy(int)
    cols = ["lon", "lat", "located_by", "compound_hint", "address", "complainant", "phone"]
    for c in cols:
        values = df[c].to_numpy(copy=True)
        values[d] = values[o]
        df[c] = values
    patterns = [re.compile(_template_pattern(tp)) for tp in CONTENT_TEMPLATES]
    ch = df["channel"].to_numpy(copy=True)
    content = df["content"].to_numpy(copy=True)
    case_no = df["case_no"].to_numpy(copy=True)
    level = df["level"].to_numpy(copy=True)
    pick = rng.integers(0, len(DUPLICATE_TEMPLATES), len(d))
    other = rng.random(len(d))
    for j, (di, oi) in enumerate(zip(d, o, strict=True)):
        choices = [c for c in ("12345", "mailbox", "petition") if c != ch[oi]]
        new = choices[0] if other[j] < 0.6 else choices[1]
        case_no[di] = _PREFIX[new] + str(case_no[di])[len(_PREFIX[ch[di]]):]
        ch[di] = new
        if new == "petition" and level[di] == "community":
            level[di] = "street"
        match = next((mt for p in patterns if (mt := p.match(str(content[oi])))), None)
        if match is not None:
            content[di] = DUPLICATE_TEMPLATES[pick[j]].format(place=match["place"],
                                                              kw=match["kw"])
        else:
            content[di] = "再次反映：" + str(content[oi])
    df["channel"], df["content"], df["case_no"], df["level"] = ch, content, case_no, level
    dup = df["duplicate_of"].to_numpy(copy=True)
    dup[d] = df["id"].to_numpy()[o]
    df["duplicate_of"] = pd.array(dup, dtype="Int64")
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


# --- management and rectification histories (issue 9) -------------------------------------

#: Notes a street office writes with a record, per kind.
HISTORY_NOTES = {
    "takeover": ("无物业、无主管部门、无业主组织，经街道党工委会议研究决定托管",
                 "由社区代管，街道物业办统筹保洁、秩序维护"),
    "firm_in": ("经业主大会表决选聘物业服务企业", "街道引导，公开选聘物业服务企业进驻"),
    "firm_out": ("物业服务合同期满，企业撤场，已完成交接", "物业服务企业退出，街道启动应急管理"),
    "owners_self": ("业主大会决定实行业主自管",),
    "committee_formed": ("首次业主大会会议选举产生业主委员会", "在社区指导下成立业主大会"),
    "committee_renewed": ("业主大会换届选举", "业委会任期届满，依法完成换届"),
    "mgmt_committee": ("暂不具备成立业主大会条件，由街道组建物业管理委员会",),
}


def _day_between(rng: np.random.Generator, first: dt.date, last: dt.date) -> dt.date:
    """A day from ``first`` to ``last`` (``first`` when the range is empty)."""
    span = (last - first).days
    return first + dt.timedelta(days=int(rng.integers(0, span + 1)) if span > 0 else 0)


def _years(d: dt.date, n: int) -> dt.date:
    return d.replace(year=d.year + n, day=min(d.day, 28) if d.month == 2 else d.day)


def make_compound_history(compounds: gpd.GeoDataFrame, streets: gpd.GeoDataFrame,
                          street_of: dict[int, str], as_of: dt.date,
                          rng: np.random.Generator) -> pd.DataFrame:
    """A plausible history of every compound's management, ending in the state it has.

    Each compound is first registered (名录登记, dated at the end of its build year,
    at most ten years back and before the demo year) in the state it had then;
    later records bring it to the state :func:`make_compounds` gave it
    (``street_of``: each compound's street office, as assigned in the database):
    takeovers by the street office (about
    two in five of them in the demo year, the year up to ``as_of``), firms brought
    into compounds that were 三无 or taken over, firms leaving (a compound becomes
    三无 again), committees formed, renewed or past their term without renewal, and
    a few 物业管理委员会 that select a firm. Every state of the pages shows.

    Returns one row per event: ``compound_id, kind, on_date, sets, mode, firm_id,
    competent_dept, owners_committee, term_end, doc_no, note, source, recorded_by``
    (registrations have ``source`` register, the rest demo).
    """
    year_start = as_of - dt.timedelta(days=364)
    oldest = as_of - dt.timedelta(days=3652)
    short = {r.code: r.name.removesuffix("街道").removesuffix("镇") for r in streets.itertuples()}
    names = dict(zip(streets.code, streets.name, strict=True))
    rows: list[dict[str, object]] = []
    seq = {"n": 0}

    def doc(street: str | None, kind: str, on: dt.date) -> str | None:
        if kind not in ("takeover", "mgmt_committee", "firm_in") or street is None:
            return None
        seq["n"] += 1
        return f"凯{short.get(street, '')}物〔{on.year}〕{seq['n']}号"

    def add(cid: int, kind: str, on: dt.date, street: str | None, **kw: object) -> None:
        note = HISTORY_NOTES.get(kind)
        rows.append({
            "compound_id": cid, "kind": kind, "on_date": on, "sets": None, "mode": None,
            "firm_id": None, "competent_dept": None, "owners_committee": None,
            "term_end": None, "doc_no": doc(street, kind, on),
            "note": None if note is None else str(rng.choice(note)), "source": "demo",
            "recorded_by": f"演示-{names.get(street or '', '住建局')}", **kw})

    firm_ids = compounds["firm_id"].dropna().astype(int).unique()
    for r in compounds.itertuples():
        cid = int(r.id)
        street = street_of.get(cid)
        registered = min(max(dt.date(int(r.build_year), 12, 31), oldest),
                         year_start - dt.timedelta(days=90))
        mode, firm = str(r.management_mode), None if r.firm_id is None else int(r.firm_id)
        committee = str(r.owners_committee)
        dept = r.competent_dept if isinstance(r.competent_dept, str) else None
        u = rng.random()
        late = registered + dt.timedelta(days=60)
        in_year = max(year_start, late)
        # management: the state at registration, then what brought it to today's
        start_mode, start_firm = mode, firm
        steps: list[tuple[str, dt.date, dict[str, object]]] = []
        if mode == "street_custody":
            start_mode = "none"
            when = (_day_between(rng, in_year, as_of) if u < 0.4
                    else _day_between(rng, late, year_start - dt.timedelta(days=1)))
            steps.append(("takeover", when, {}))
        elif mode == "none" and u < 0.2 and len(firm_ids):
            start_mode, start_firm = "property_firm", int(rng.choice(firm_ids))
            steps.append(("firm_out", _day_between(rng, in_year, as_of), {}))
        elif mode == "property_firm" and u < 0.04:
            when = _day_between(rng, in_year, as_of)
            start_mode, start_firm = "none", None
            if u < 0.015:  # taken over first, a firm found later
                start_mode = "none"
                steps.append(("takeover", _day_between(rng, late, year_start), {}))
            if u < 0.012 and committee != "established":  # a 物管会 selected the firm
                steps.append(("mgmt_committee", when - dt.timedelta(days=int(rng.integers(20, 90))),
                              {"term_end": _years(when, 3)}))
            steps.append(("firm_in", when, {"firm_id": firm}))
        # owners' organisation
        c_start = committee if committee != "established" else "none"
        if committee == "established":
            formed = _day_between(rng, registered, as_of - dt.timedelta(days=30))
            if mode == "owners_self" and u > 0.7:
                formed = _day_between(rng, in_year, as_of - dt.timedelta(days=30))
                start_mode = "none"  # owners formed a committee and manage themselves since
                steps.append(("owners_self", formed + dt.timedelta(days=15), {}))
            steps.append(("committee_formed", formed, {"term_end": _years(formed, 5)}))
            end = _years(formed, 5)
            while end < as_of and rng.random() < 0.6:
                renewed = _day_between(rng, end - dt.timedelta(days=60),
                                       min(end + dt.timedelta(days=120), as_of))
                end = _years(renewed, 5)
                steps.append(("committee_renewed", renewed, {"term_end": end}))
        rows.append({
            "compound_id": cid, "kind": "registered", "on_date": registered,
            "sets": "{management,dept,committee}", "mode": start_mode, "firm_id": start_firm,
            "competent_dept": dept, "owners_committee": c_start, "term_end": None,
            "doc_no": None, "note": None, "source": "register", "recorded_by": None})
        for kind, on, kw in sorted(steps, key=lambda s: s[1]):
            add(cid, kind, max(on, registered + dt.timedelta(days=1)), street, **kw)
    out = pd.DataFrame(rows)
    out["firm_id"] = out["firm_id"].astype("Int64")
    return out


def make_hazard_history(hazards: gpd.GeoDataFrame, as_of: dt.date,
                        rng: np.random.Generator) -> pd.DataFrame:
    """Each hazard's rectification steps, ending in the status :func:`make_hazards` gave it.

    Found (待整改); most closed ones were being rectified (整改中) a few days after they
    were found; some open ones past their deadline were marked 逾期未整改 at a later
    inspection. Returns ``hazard_id, kind, on_date, note, recorded_by``.
    """
    rows: list[dict[str, object]] = []
    by = {"fire": "演示-消防救援大队", "elevator": "演示-市场监管局", "security": "演示-公安"}
    for h in hazards.itertuples():
        hid, found, due = int(h.id), h.found_on, h.due_on
        rows.append({"hazard_id": hid, "kind": "open", "on_date": found, "note": None,
                     "recorded_by": by[h.theme]})
        end = h.closed_on if h.status == "closed" else as_of
        if h.status == "rectifying" or (h.status == "closed" and (end - found).days >= 2
                                        and rng.random() < 0.8):
            last = end if h.status == "rectifying" else end - dt.timedelta(days=1)
            rows.append({"hazard_id": hid, "kind": "rectifying",
                         "on_date": _day_between(rng, min(found + dt.timedelta(days=1), last),
                                                 min(last, found + dt.timedelta(days=7))),
                         "note": "已责令整改，正在整改", "recorded_by": by[h.theme]})
        if h.status == "closed":
            rows.append({"hazard_id": hid, "kind": "closed", "on_date": h.closed_on,
                         "note": "复查合格，隐患已消除", "recorded_by": by[h.theme]})
        elif due < as_of - dt.timedelta(days=3) and rng.random() < 0.5:
            rows.append({"hazard_id": hid, "kind": "overdue",
                         "on_date": _day_between(rng, due + dt.timedelta(days=1), as_of),
                         "note": "复查未整改，已逾期", "recorded_by": by[h.theme]})
    return pd.DataFrame(rows)


# --- the firms' conduct in their cases, and the credit records that follow ----------------

def apply_firm_conduct(demo: Demo, cases: pd.DataFrame, as_of: dt.date,
                       rng: np.random.Generator) -> pd.DataFrame:
    """``cases`` with the handling of each firm's cases made to match its conduct.

    Only the cases of the categories the firms' credit model counts
    (``data/credit/firms.toml``) at compounds a firm serves change: satisfaction at the
    return visit, late or on-time closing, reopened and stalled cases. Cases received in
    the last two complete quarters (and after) follow ``conduct_now``, older ones
    ``conduct_then``. Statuses stay consistent with closing times.
    """
    from geo.credit_model import Period, load

    cases = cases.copy()
    n = len(cases)
    if n == 0:
        return cases
    firm_of = dict(zip(demo.compounds["id"], demo.compounds["firm_id"], strict=True))
    firm = np.array([firm_of.get(int(c)) for c in cases["compound_hint"]], dtype=object)
    has = np.array([f is not None and f == f for f in firm])
    cats = set(load("firm").categories)
    has &= cases["category_code"].isin(cats).to_numpy()
    middle = np.datetime64(Period.last_complete(as_of).shift(-1).start, "s")
    received = cases["received_at"].to_numpy().astype("datetime64[s]")
    now = received >= middle
    conducts = {int(r.id): (r.conduct_then, r.conduct_now) for r in demo.firms.itertuples()}

    def share(key: str) -> np.ndarray:
        return np.array([CONDUCT[conducts[int(f)][int(k)]][key] if h else 0.0
                         for f, k, h in zip(firm, now, has, strict=True)])

    end = np.datetime64(pd.Timestamp(as_of) + pd.Timedelta(days=1), "s")
    due = cases["due_at"].to_numpy().astype("datetime64[s]")
    closed_at = cases["closed_at"].to_numpy().astype("datetime64[s]")
    status = cases["status"].to_numpy().astype(object)
    satisfaction = cases["satisfaction"].to_numpy().astype(object)
    limit = due - received
    u = rng.random((5, n))
    closed = np.isin(status, ["closed", "visited"])
    late = closed & ~np.isnat(closed_at) & (closed_at > due)
    overdue = ~closed & (due < end)
    # Handled in time after all: closed at 30-90 % of the time limit (never after the cut-off).
    fix = has & (late | overdue) & (u[0] < share("on_time"))
    quick = received + (limit.astype(float) * (0.3 + 0.6 * u[1])).astype("timedelta64[s]")
    fix &= quick < end
    closed_at = np.where(fix, quick, closed_at)
    status = np.where(fix & overdue, "closed", status)
    closed = np.isin(status, ["closed", "visited"])
    # Closed late: 0.3-8 days after the limit, or still open when that is after the cut-off.
    make_late = has & closed & ~fix & (u[2] < share("late"))
    later = due + (86400 * (0.3 + 7.7 * u[1])).astype("timedelta64[s]")
    stall = make_late & (later >= end)
    closed_at = np.where(make_late & ~stall, later, closed_at)
    # Reopened, or left stalled: open again (overdue once past the limit).
    reopen = has & closed & ~make_late & (u[3] < share("reopened"))
    stall |= has & closed & ~make_late & ~reopen & (u[3] > 1 - share("stalled")) & (due < end)
    status = np.where(reopen, "reopened", np.where(stall, "in_progress", status))
    opened = reopen | stall
    closed_at = np.where(opened, np.datetime64("NaT"), closed_at)
    satisfaction = np.where(opened, None, satisfaction)
    visited = has & (status == "visited")
    r = u[4]
    unsat = share("unsatisfied")
    redraw = np.where(r < unsat, "unsatisfied",
                      np.where(r < unsat + (1 - unsat) * 0.85, "satisfied", "basic"))
    satisfaction = np.where(visited, redraw, satisfaction)
    cases["status"] = status
    cases["closed_at"] = closed_at
    cases["satisfaction"] = satisfaction
    return cases


#: Events the housing bureau records in the demo, by firm role: (quarter offset from the
#: latest complete quarter, day of that quarter, kind, reason, document number pattern).
ROLE_EVENTS: dict[str, tuple[tuple[int, int, str, str, str], ...]] = {
    "bad": (
        (-3, 40, "criticism", "{compound}消防通道长期被杂物堵塞，经督促仍未清理",
         "凯住建通〔{year}〕{no}号"),
        (-2, 25, "penalty", "未按规定公示收费项目和标准，在{compound}违规收取停车费",
         "凯住建罚〔{year}〕{no}号"),
        (-1, 50, "termination", "{compound}业主大会表决解除物业服务合同（服务质量差、"
         "维修长期不到位）", "凯住建备〔{year}〕{no}号"),
    ),
    "improving": (
        (-3, 20, "abandonment", "未办理交接擅自撤离{compound}，造成小区停水停电三天",
         "凯住建罚〔{year}〕{no}号"),
    ),
    "exemplary": (
        (-1, 30, "award", "{compound}获评“红色物业”示范项目", "凯住建表〔{year}〕{no}号"),
    ),
    "declining": (
        (-3, 60, "award", "{compound}获评全市物业服务质量优秀项目", "凯住建表〔{year}〕{no}号"),
    ),
}


def make_credit_events(demo: Demo, as_of: dt.date) -> pd.DataFrame:
    """The credit events of the demo's firms (``firm_id, kind, on, reason, doc_no``): the
    penalties and the contract termination behind the black list, the abandonment behind
    the other black-listed firm, the awards of the best (deterministic, no draws)."""
    from geo.credit_model import Period

    latest = Period.last_complete(as_of)
    served = demo.compounds.dropna(subset=["firm_id"]).sort_values("households",
                                                                   ascending=False)
    rows = []
    no = 3
    for r in demo.firms.itertuples():
        mine = served[served["firm_id"] == r.id]["name"].tolist()
        for k, (offset, day, kind, reason, doc) in enumerate(ROLE_EVENTS.get(r.role, ())):
            p = latest.shift(offset)
            on = min(p.start + dt.timedelta(days=day), p.end, as_of)
            no += 7
            place = mine[k % len(mine)] if mine else "所服务小区"
            rows.append({"firm_id": int(r.id), "kind": kind, "on": on,
                         "reason": reason.format(compound=place),
                         "doc_no": doc.format(year=on.year, no=no)})
    return pd.DataFrame(rows, columns=["firm_id", "kind", "on", "reason", "doc_no"])


#: Committee events of the demo: (rank among committees by households, quarter offset,
#: day, kind, reason, document number pattern).
COMMITTEE_EVENTS: tuple[tuple[int, int, int, str, str, str], ...] = (
    (0, -2, 35, "order", "未经业主大会表决擅自使用公共收益，责令限期整改",
     "凯住建责〔{year}〕{no}号"),
    (0, -1, 20, "reelection", "拒不整改、严重损害业主权益，街道指导业主大会重新选举",
     "凯住建责〔{year}〕{no}号"),
    (3, -2, 50, "criticism", "未按规定公示维修资金使用情况", "凯住建通〔{year}〕{no}号"),
    (1, -1, 40, "award", "获评“红色业委会”示范单位", "凯住建表〔{year}〕{no}号"),
)


def make_committee_events(demo: Demo, as_of: dt.date) -> pd.DataFrame:
    """Credit events of the demo's owners' committees (``compound_id, kind, on, reason,
    doc_no``): one committee ordered to rectify and then to be re-elected (the black list),
    one criticised, one awarded (deterministic, no draws)."""
    from geo.credit_model import Period

    latest = Period.last_complete(as_of)
    comp = demo.compounds
    ranked = comp[comp["owners_committee"] == "established"].sort_values(
        ["households", "id"], ascending=[False, True])["id"].tolist()
    rows = []
    for no, (rank, offset, day, kind, reason, doc) in enumerate(COMMITTEE_EVENTS, start=61):
        if rank >= len(ranked):
            continue
        p = latest.shift(offset)
        on = min(p.start + dt.timedelta(days=day), p.end, as_of)
        rows.append({"compound_id": int(ranked[rank]), "kind": kind, "on": on,
                     "reason": reason, "doc_no": doc.format(year=on.year, no=no)})
    return pd.DataFrame(rows, columns=["compound_id", "kind", "on", "reason", "doc_no"])


def make_party_building(demo: Demo, rng: np.random.Generator) -> pd.DataFrame:
    """Party-building records (``subject, firm_id, compound_id, has_party_org,
    party_org_name, party_members, mass_eligible, has_mass_org``) of the demo's firms and
    owners' committees. Better firms more often have a party organisation; committees in
    the centre more often than in the towns, so coverage differs by street office."""
    rows = []
    p_firm = {"exemplary": 0.95, "declining": 0.9, "good": 0.8, "average": 0.55,
              "poor": 0.35, "bad": 0.15, "improving": 0.3}
    for r in demo.firms.itertuples():
        has = bool(rng.random() < p_firm.get(r.role, 0.5))
        eligible = bool(r.size > 0.8)
        rows.append({"subject": "firm", "firm_id": int(r.id), "compound_id": None,
                     "has_party_org": has,
                     "party_org_name": f"{r.name.removeprefix('凯里市')}党支部" if has else None,
                     "party_members": int(rng.integers(3, 25)) if has else None,
                     "mass_eligible": eligible,
                     "has_mass_org": bool(eligible and rng.random() < 0.6)})
    comp = demo.compounds
    committee = comp[comp["owners_committee"] == "established"]
    for r in committee.itertuples():
        p = 0.55 if not r.old else 0.3
        if rng.random() < 0.15:  # not yet in the register: no record at all
            continue
        has = bool(rng.random() < p)
        eligible = bool(r.households >= 300)
        rows.append({"subject": "committee", "firm_id": None, "compound_id": int(r.id),
                     "has_party_org": has,
                     "party_org_name": f"{r.name}业委会党支部" if has else None,
                     "party_members": int(rng.integers(3, 9)) if has else None,
                     "mass_eligible": eligible,
                     "has_mass_org": bool(eligible and rng.random() < 0.4)})
    return pd.DataFrame(rows)
