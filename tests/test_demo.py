"""The demo: inside Kaili's real outline, consistent assignment, plausible, deterministic."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

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

        assert 60 <= q("SELECT count(*) FROM communities") <= 80
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
