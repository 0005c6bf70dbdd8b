"""The demo: inside Kaili's real outline, consistent assignment, plausible, deterministic."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import Point
from sqlalchemy.engine import Engine

from etl import demo as demo_mod
from etl import synthetic
from geo import assign, reference

from .conftest import AS_OF, DEMO_CASES, scalar


def test_divisions_are_the_real_twenty_and_partition_the_outline(demo: Engine) -> None:
    with demo.connect() as con:
        rows = con.execute(sa.text("SELECT code, name, kind FROM streets ORDER BY code")).all()
        assert {(r.code, r.name, r.kind) for r in rows} == {
            (d["code"], d["name"], d["kind"]) for d in reference.divisions()
        }
        # Union of all areas equals the WGS84 outline (to a square metre).
        outline = reference.kaili_outline().wkt
        diff = con.execute(
            sa.text(
                "SELECT ST_Area(ST_SymDifference(ST_Union(geom), "
                "ST_GeomFromText(:o, 4326))::geography)"
                " FROM streets"
            ),
            {"o": outline},
        ).scalar_one()
        overlap = con.execute(
            sa.text(
                "SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0) "
                "FROM streets a JOIN streets b ON a.code < b.code AND ST_Intersects(a.geom, b.geom)"
            )
        ).scalar_one()
    assert diff < 1.0
    assert overlap < 1.0


def test_every_compound_lies_inside_kaili_and_its_street_and_community(demo: Engine) -> None:
    outline = reference.kaili_outline().wkt
    bad = scalar(
        demo,
        """
        SELECT count(*) FROM compounds x
        LEFT JOIN streets s ON s.code = x.street_code
        LEFT JOIN communities m ON m.id = x.community_id
        WHERE s.code IS NULL OR m.id IS NULL
           OR NOT ST_CoveredBy(x.geom, s.geom) OR NOT ST_CoveredBy(x.geom, m.geom)
           OR NOT ST_CoveredBy(x.geom, ST_GeomFromText(:o, 4326))
           OR m.street_code <> x.street_code""",
        o=outline,
    )
    assert bad == 0
    # Communities lie within their street (to a square metre of floating-point noise).
    assert (
        scalar(
            demo,
            "SELECT count(*) FROM communities m JOIN streets s ON s.code = "
            "m.street_code WHERE ST_Area(ST_Difference(m.geom, s.geom)::geography) "
            "> 1",
        )
        == 0
    )


def test_case_assignment_agrees_with_containment(demo: Engine) -> None:
    """Each case's compound, community and street agree with PostGIS containment."""
    with demo.connect() as con:
        # A case inside a compound polygon is assigned to that compound.
        inside_wrong = con.execute(
            sa.text("""
            SELECT count(*) FROM cases c JOIN compounds x ON ST_Intersects(x.geom, c.geom)
            WHERE c.compound_id IS DISTINCT FROM x.id""")
        ).scalar_one()
        # A case assigned to a compound takes that compound's community and street.
        follow_wrong = con.execute(
            sa.text("""
            SELECT count(*) FROM cases c JOIN compounds x ON x.id = c.compound_id
            WHERE c.community_id IS DISTINCT FROM x.community_id
               OR c.street_code IS DISTINCT FROM x.street_code""")
        ).scalar_one()
        # Assigned outside its compound only within the documented distance.
        too_far = con.execute(
            sa.text("""
            SELECT count(*) FROM cases c JOIN compounds x ON x.id = c.compound_id
            WHERE NOT ST_DWithin(x.geom::geography, c.geom::geography, 50.001)""")
        ).scalar_one()
        # A located case with no compound has the community and street covering its point.
        loose_wrong = con.execute(
            sa.text("""
            SELECT count(*) FROM cases c
            LEFT JOIN communities m ON ST_Intersects(m.geom, c.geom)
            LEFT JOIN streets s ON ST_Intersects(s.geom, c.geom)
            WHERE c.compound_id IS NULL AND c.geom IS NOT NULL
              AND (c.community_id IS DISTINCT FROM m.id OR c.street_code IS DISTINCT FROM s.code)
        """)
        ).scalar_one()
        by_method: dict[str, int] = dict(
            con.execute(sa.text("SELECT located_by, count(*) FROM cases GROUP BY 1")).all()
        )
        fallback = con.execute(
            sa.text("""
            SELECT count(*) FROM cases c JOIN compounds x ON x.id = c.compound_id
            WHERE NOT ST_Intersects(x.geom, c.geom)""")
        ).scalar_one()
    assert (inside_wrong, follow_wrong, too_far, loose_wrong) == (0, 0, 0, 0)
    assert fallback > 0.03 * DEMO_CASES  # the nearest-compound fallback is exercised
    assert set(by_method) == {"coordinates", "compound_name", "none"}


def test_demo_is_plausible(demo: Engine) -> None:
    with demo.connect() as con:
        def q(sql: str) -> Any:
            return con.execute(sa.text(sql)).scalar_one()

        # Kaili's 271 communities and villages of 2016, and a few generated ones.
        assert 271 + 8 <= q("SELECT count(*) FROM communities") <= 271 + 16
        n = q("SELECT count(*) FROM compounds")
        assert 800 <= n <= 1200
        assert 0.05 <= q("SELECT avg(is_sanwu::int) FROM compounds") <= 0.10
        assert 15 <= q("SELECT count(*) FROM property_firms") <= 25
        assert q("SELECT count(*) FROM cases") == DEMO_CASES
        # Old compounds concentrate in the historic centre (大十字街道).
        centre, rest = con.execute(
            sa.text(
                "SELECT avg(is_old::int) FILTER (WHERE street_code = '522601002000'), "
                "avg(is_old::int) FILTER (WHERE street_code <> '522601002000') FROM compounds"
            )
        ).one()
        assert centre > 2 * rest
        # Elevator cases come from tall buildings (a few points geocoded outside a tall
        # compound land at a lower neighbour by the nearest-compound rule).
        assert (
            q(
                "SELECT avg((x.floors >= 10)::int) FROM cases c JOIN compounds x "
                "ON x.id = c.compound_id WHERE c.category_code = 'PM15'"
            )
            > 0.97
        )
        assert (
            q(
                "SELECT count(*) FROM hazards h JOIN compounds x ON x.id = h.compound_id "
                "WHERE h.theme = 'elevator' AND x.floors < 10"
            )
            == 0
        )
        # Overdue cases exist but are a minority; every status and level occurs.
        overdue = q(
            "SELECT avg((status IN ('received','in_progress','reopened') "
            f"AND due_at < TIMESTAMPTZ '{AS_OF} 23:59:59+08')::int) FROM cases"
        )
        assert 0.002 < overdue < 0.1
        assert q("SELECT count(DISTINCT status) FROM cases") == 5
        assert q("SELECT count(DISTINCT level) FROM cases") == 3
        assert (
            q("SELECT count(*) FROM cases WHERE channel = 'petition' AND level = 'community'") == 0
        )
        # The whole year, up to the as-of date; summer busier than winter for water.
        lo, hi = con.execute(sa.text("SELECT min(received_at), max(received_at) FROM cases")).one()
        assert (hi - lo).days >= 360
        assert hi.astimezone(dt.timezone(dt.timedelta(hours=8))).date() <= AS_OF
        assert (
            q("SELECT count(*) FROM dataset_meta WHERE key = 'synthetic' AND value = 'true'") == 1
        )
        for t in ("streets", "communities", "compounds", "cases", "hazards", "property_firms"):
            assert q(f"SELECT bool_and(synthetic) FROM {t}") is True


def test_personal_data_only_in_complainants(demo: Engine) -> None:
    with demo.connect() as con:
        n = con.execute(sa.text("SELECT count(*) FROM complainants")).scalar_one()
        cols = {c["name"] for c in sa.inspect(con).get_columns("cases")}
    assert n > 0
    assert not cols & {"name", "phone", "complainant", "caller"}


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = synthetic.make_demo(7, AS_OF)
    b = synthetic.make_demo(7, AS_OF)
    c = synthetic.make_demo(8, AS_OF)
    assert a.compounds.drop(columns="geom").equals(b.compounds.drop(columns="geom"))
    assert a.compounds.geometry.geom_equals(b.compounds.geometry).all()
    assert len(c.compounds) != len(a.compounds) or not a.compounds.name.equals(c.compounds.name)
    ca = synthetic.make_cases(a, 500, AS_OF, np.random.default_rng(1))
    cb = synthetic.make_cases(b, 500, AS_OF, np.random.default_rng(1))
    assert ca.equals(cb)


def test_cases_follow_their_compound_when_the_register_moves_it(demo: Engine) -> None:
    with demo.connect() as con, con.begin() as tx:
        cid, n = con.execute(sa.text(
            "SELECT compound_id, count(*) FROM cases WHERE compound_id IS NOT NULL "
            "AND located_by = 'coordinates' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")).one()
        moved = con.execute(sa.text(
            "SELECT array_agg(id) FROM cases WHERE compound_id = :c"), {"c": cid}).scalar_one()
        # The register corrects the compound's outline: 3 km to the east.
        con.execute(sa.text("UPDATE compounds SET geom = ST_Translate(geom, 0.03, 0) "
                            "WHERE id = :c"), {"c": cid})
        changed = assign.reassign_cases(con)
        still = con.execute(sa.text(
            "SELECT count(*) FROM cases WHERE id = ANY(:ids) AND compound_id = :c"),
            {"ids": moved, "c": cid}).scalar_one()
        wrong = con.execute(sa.text("""
            SELECT count(*) FROM cases c JOIN compounds x ON x.id = c.compound_id
            WHERE NOT ST_DWithin(x.geom::geography, c.geom::geography, 50.001)""")).scalar_one()
        tx.rollback()
    assert n > 0 and changed >= n
    assert still == 0
    assert wrong == 0


@pytest.fixture(scope="module")
def world() -> synthetic.Demo:
    return synthetic.make_demo(42, AS_OF)


def test_the_2016_list_is_read_under_the_2023_units() -> None:
    comms = reference.communities_2016()
    units = {d["code"]: d for d in reference.divisions()}
    assert len(comms) == 271
    assert len({c["code"] for c in comms}) == 271
    for c in comms:
        assert re.fullmatch(r"522601\d{6}", c["code"]) and c["code"][:9] == c["street_code"][:9]
        assert c["street_code"] in units
        # One rule for the committee suffix: the community or the village is named.
        assert c["name"].endswith(("社区", "村", "家委会")), c
        assert "委会" not in c["name"] or c["name"].endswith("家委会"), c
        assert (c["kind"] == "village") == c["name"].endswith("村")
    names = {c["code"]: c["name"] for c in comms}
    assert names["522601001001"] == "北京西路社区"  # 北京西路社区居委会
    assert names["522601004004"] == "东门社区"  # 东门居委会
    assert names["522601002200"] == "金井村"  # 金井村委会
    assert names["522601006001"] == "化肥厂家委会"
    # The 2016 list files street offices as towns; the 2023 list says what they are.
    seats = reference.division_seats_2016()
    assert len(seats) == 13 and units["522601003000"]["kind"] == "street"
    assert sum(c["seat"] is not None for c in comms) == 30


def test_units_lie_around_their_real_seats(world: synthetic.Demo) -> None:
    st = world.streets.set_index("code")
    for code, (lon, lat) in reference.division_seats_2016().items():
        assert st.geom[code].contains(Point(lon, lat)), st.name[code]
        assert st.seat_from[code] == "2016"
    # The street offices are small and close around 大十字, the towns around them.
    local = {c: synthetic._local(g) for c, g in st.geom.items()}
    centre = np.array([st.seat_x[synthetic.CENTRE_CODE], st.seat_y[synthetic.CENTRE_CODE]])
    area = {c: g.area / 1e6 for c, g in local.items()}
    streets = [c for c in st.index if st.kind[c] == "street"]
    towns = [c for c in st.index if st.kind[c] == "town"]
    for c in streets:
        seat = np.array([st.seat_x[c], st.seat_y[c]])
        assert np.hypot(*(seat - centre)) <= synthetic.URBAN_RADIUS_M + 1
        far = shapely.get_coordinates(local[c]) - centre
        assert np.hypot(far[:, 0], far[:, 1]).max() < 12_500, st.name[c]
    for c in towns:
        assert np.hypot(st.seat_x[c] - centre[0], st.seat_y[c] - centre[1]) > 8_000
        assert area[c] > max(40.0, float(np.median([area[s] for s in streets]))), st.name[c]
    assert sum(area[c] for c in streets) < 0.15 * sum(area.values())
    # The street offices created after 2016 have no known point: placed in the ring.
    assert set(st.index[st.seat_from == "gap"]) == {"522601008000", "522601009000"}
    # Each unit is one piece.
    assert all(len(g.geoms) == 1 for g in st.geom)


def test_communities_are_kailis_own_with_their_real_seats(world: synthetic.Demo) -> None:
    cm = world.communities.set_index("code")
    comms = reference.communities_2016()
    for c in comms:
        assert cm.name[c["code"]] == c["name"] and cm.street_code[c["code"]] == c["street_code"]
        assert bool(cm.real_name[c["code"]])
    # Towns have their villages, not one community at the seat.
    for d in reference.divisions():
        own = [c for c in comms if c["street_code"] == d["code"]]
        if d["kind"] == "town":
            assert len(own) >= 8 and (cm.street_code == d["code"]).sum() == len(own)
            assert sum(c["kind"] == "village" for c in own) >= len(own) - 3  # 龙场: 2 mines
    # A community whose 2016 seat is used lies around it; most are used.
    seats = {c["code"]: c["seat"] for c in comms if c["seat"] is not None}
    used = cm.index[cm.seat_from == "2016"]
    assert len(used) >= 20
    for code in used:
        assert cm.geom[code].contains(Point(*seats[code])), cm.name[code]
    # Only the street offices the 2016 list does not know get generated communities.
    made = cm[~cm.real_name]
    assert set(made.street_code) == {"522601008000", "522601009000"}
    assert made.name.str.endswith("社区").all()
    assert not set(made.name) & {c["name"] for c in comms} and made.name.is_unique
    assert cm.index.is_unique and made.index.str.fullmatch(r"52260100[89]\d{3}").all()
    # Communities partition their unit (to a square metre in the local metric).
    st = world.streets.set_index("code")
    for code, g in st.geom.items():
        parts = [synthetic._local(x) for x in cm.geom[cm.street_code == code]]
        whole = synthetic._local(g)
        assert abs(sum(p.area for p in parts) - whole.area) < 1.0
        assert shapely.union_all(parts).symmetric_difference(whole).area < 1.0


def _grammar(places: set[str]) -> re.Pattern[str]:
    alternatives = []
    for stems, suffixes in synthetic.NAME_PATTERNS.values():
        words = sorted(places if stems is None else stems, key=len, reverse=True)
        alternatives.append(
            f"(?:{'|'.join(map(re.escape, words))})(?:{'|'.join(map(re.escape, suffixes))})"
        )
    phases = "|".join(map(re.escape, synthetic.PHASES))
    return re.compile(f"(?:{'|'.join(alternatives)})(?:{phases})?")


def _check_names(names: list[str], aliases: list[list[str]], places: set[str]) -> None:
    grammar = _grammar(places)
    bad = [n for n in names if not grammar.fullmatch(n)]
    assert not bad, bad[:10]
    assert len(set(names)) == len(names)
    assert all(3 <= len(n) <= 14 for n in names)
    flat = [a for al in aliases for a in al]
    assert len(set(flat)) == len(flat) and not set(flat) & set(names)


def test_compound_names_follow_the_grammar(world: synthetic.Demo) -> None:
    places = {synthetic._place_stem(n) for n in world.communities.name}
    comp = world.compounds
    _check_names(list(comp.name), list(comp.aliases), places)
    # The grammar catches what the old generator made of a cut suffix.
    assert not _grammar(places).fullmatch("福源生东区活区")
    # No stem ends in a type word, so no name carries two.
    for stems, _suffixes in synthetic.NAME_PATTERNS.values():
        for stem in stems or ():
            assert stem in synthetic.WORK_UNITS or stem[-1] not in synthetic.TYPE_CHARS, stem
    # No name starts with a unit's or a community's name: the intake strips those.
    divisions = tuple(world.streets.name) + tuple(world.communities.name)
    assert not [n for n in comp.name if n.startswith(divisions)]
    # Every pattern is used, and names read like Kaili's: mostly developers' names.
    kinds = {
        p: comp.name.map(lambda n, p=p: bool(_grammar_of(p, places).fullmatch(n))).sum()
        for p in synthetic.NAME_PATTERNS
    }
    # (a 家委会's own housing, "factory", is rare: 4 communities of 283)
    assert all(v > 0 for p, v in kinds.items() if p != "factory"), kinds
    assert kinds["brand"] > 0.5 * len(comp)


def _grammar_of(pattern: str, places: set[str]) -> re.Pattern[str]:
    stems, suffixes = synthetic.NAME_PATTERNS[pattern]
    words = sorted(places if stems is None else stems, key=len, reverse=True)
    phases = "|".join(map(re.escape, synthetic.PHASES))
    return re.compile(
        f"(?:{'|'.join(map(re.escape, words))})(?:{'|'.join(map(re.escape, suffixes))})"
        f"(?:{phases})?"
    )


def test_compound_names_stay_whole_when_the_grammar_runs_short() -> None:
    """3,000 compounds of every pattern in 4 villages: phases and fallbacks, never a cut."""
    rng = np.random.default_rng(3)
    patterns = list(rng.choice(list(synthetic.NAME_PATTERNS), 3000))
    places = list(rng.choice(["鸭塘", "金井", "龙场煤矿", "新村"], 3000))
    old = rng.random(3000) < 0.3
    names, aliases = synthetic.compound_names(patterns, places, old, rng)
    _check_names(names, aliases, {"鸭塘", "金井", "龙场煤矿"})
    assert any(n.endswith(synthetic.PHASES) for n in names)
    assert not any(n.startswith("新村") for n in names)  # 新村村 is no place stem


def test_compounds_stand_in_the_city_and_the_townships(world: synthetic.Demo) -> None:
    comp, cm, st = world.compounds, world.communities, world.streets.set_index("code")
    street = comp.geom.map(lambda g: st.index[st.geom.contains(g)][0])
    town = st.kind[street].to_numpy() == "town"
    assert 0.05 < town.mean() < 0.3
    seat_d = np.hypot(comp.x - st.seat_x[street].to_numpy(), comp.y - st.seat_y[street].to_numpy())
    assert np.median(seat_d[town]) < 2_500  # a town's compounds stand in its township
    assert len(cm) > 270 and comp.sanwu.between(0, 1).all()


def test_dataset_meta_says_which_parts_are_real(world: synthetic.Demo) -> None:
    meta = demo_mod.dataset_meta(world, seed=42, n_cases=10, as_of=AS_OF)
    assert meta["synthetic"] == "true"
    assert "271个社区和村的名称与区划代码（2016年）" in meta["real_parts"]
    assert "9个街道和11个镇的名称与区划代码（2023年）" in meta["real_parts"]
    assert meta["synthetic_parts"].startswith("街道、镇、社区和村的边界")
    assert "白午街道、白果井街道" in meta["synthetic_parts"]
    assert "小区、物业企业、工单与隐患" in meta["synthetic_parts"]
    assert "CC BY 4.0" in meta["names_source"]
    made = set(world.communities.code[~world.communities.real_name])
    assert set(meta["synthetic_communities"].split(",")) == made


def test_dataset_meta_is_in_the_database(demo: Engine) -> None:
    with demo.connect() as con:
        meta: dict[str, str] = {
            k: v for k, v in con.execute(sa.text("SELECT key, value FROM dataset_meta"))
        }
        codes = {c for (c,) in con.execute(sa.text("SELECT code FROM communities"))}
    assert {"real_parts", "synthetic_parts", "names_source", "synthetic_communities"} <= set(meta)
    real = {c["code"] for c in reference.communities_2016()}
    assert codes - real == set(meta["synthetic_communities"].split(","))
