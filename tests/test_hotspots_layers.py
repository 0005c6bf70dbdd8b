"""Hot-spot statistics, inspection lists, repeat tables and the CLI on the demo, in PostGIS."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import h3
import numpy as np
import openpyxl
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from click.testing import CliRunner
from esda.getisord import G_Local
from sqlalchemy.engine import Engine

from geo import analysis_rules, measures
from layers import facts, hotspot_stats, repeats
from layers.analysis import gistar
from layers.filters import Filters
from tests import conftest
from tests.conftest import AS_OF

F = hotspot_stats.period_of(AS_OF, None, None)


def _count(demo: Engine, where: str, f: Filters) -> int:
    with demo.connect() as con:
        return int(con.execute(sa.text(
            f"SELECT count(*) FROM cases c WHERE {f.case_where('c')} AND {where}"),
            f.params()).scalar_one())


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    hotspot_stats.clear()
    facts.clear()


def test_cell_counts_hold_every_located_case_of_the_theme(demo: Engine) -> None:
    with demo.connect() as con:
        df = hotspot_stats.gistar_cells(con, F, "fire")
    f = hotspot_stats.themed(F, "fire")
    located = "(c.compound_id IS NOT NULL OR c.geom IS NOT NULL)"
    assert df["cases"].sum() == _count(demo, located, f)
    assert df["distinct"].sum() == _count(demo, f"{located} AND {measures.is_distinct('c')}", f)
    assert (df["distinct"] <= df["cases"]).all()
    assert len(set(df["cell"])) == len(df)
    # zero cells are part of the analysed area
    assert (df["cases"] == 0).sum() > 0.2 * len(df)


def test_gistar_cells_equal_a_direct_esda_call_on_the_same_cells(demo: Engine) -> None:
    rules = analysis_rules.section("gistar")
    with demo.connect() as con:
        df = hotspot_stats.gistar_cells(con, F, "all")
        g = hotspot_stats.grid(con)
    assert list(df["cell"]) == g.cells
    w = gistar.h3_weights(list(df["cell"]), int(rules["k"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = G_Local(df["distinct"].to_numpy(float), w, transform="B", star=True,
                      permutations=int(rules["permutations"]), seed=int(rules["seed"]))
    np.testing.assert_allclose(df["z"], ref.Zs, rtol=1e-10)
    np.testing.assert_allclose(df["p_sim"], ref.p_sim, rtol=1e-10)
    np.testing.assert_allclose(df["p"], np.minimum(1, 2 * ref.p_z_sim), rtol=1e-10)
    assert (df["bin"] > 0).any()
    hot = df[df["bin"] == 3]
    assert (hot["q"] <= 0.01).all() and (hot["z_sim"] > 0).all()


def test_street_selects_cells_without_changing_the_statistic(demo: Engine) -> None:
    with demo.connect() as con:
        city = hotspot_stats.gistar_cells(con, F, "security")
        street = con.execute(sa.text(
            "SELECT street_code FROM compounds GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar()
        part = hotspot_stats.gistar_cells(con, F.with_(street=street), "security")
    assert 0 < len(part) < len(city)
    merged = part.merge(city, on="cell", suffixes=("", "_city"))
    np.testing.assert_allclose(merged["z"], merged["z_city"])
    assert all(street in s.split(",") for s in part["streets"])


def test_per_households_leaves_out_cells_without_housing(demo: Engine) -> None:
    with demo.connect() as con:
        df = hotspot_stats.gistar_cells(con, F, "elevator", per_households=True)
    empty = df[df["households"] == 0]
    assert len(empty) and empty["z"].isna().all() and (empty["bin"] == 0).all()
    full = df[df["households"] > 0]
    np.testing.assert_allclose(full["value"], 1000 * full["distinct"] / full["households"])


def test_emerging_cube_has_52_weeks_and_every_case_of_them(demo: Engine) -> None:
    with demo.connect() as con:
        y = hotspot_stats.cube_counts(con, F, "fire")
        em = hotspot_stats.emerging_cells(con, F, "fire")
    assert y.shape[1] == 52 and (em["steps"] == 52).all()
    f = hotspot_stats.themed(F, "fire").with_(distinct=True)
    located = "(c.compound_id IS NOT NULL OR c.geom IS NOT NULL)"
    assert y.sum() == _count(demo, located, f)
    assert set(em["pattern"]) <= set(hotspot_stats.emerging.BY_KEY)
    with demo.connect() as con:
        monthly = hotspot_stats.emerging_cells(con, F, "fire", step="month")
    assert monthly["steps"].iloc[0] == hotspot_stats.steps(F, "month")


def test_results_are_memoised_until_the_data_change(demo: Engine) -> None:
    with demo.connect() as con:
        a = hotspot_stats.gistar_cells(con, F, "fire")
        b = hotspot_stats.gistar_cells(con, F, "fire")
        pd_equal = a.equals(b)
        n = len(hotspot_stats._MEMO)
        hotspot_stats.gistar_cells(con, F, "fire")
        assert len(hotspot_stats._MEMO) == n
    assert pd_equal
    with demo.begin() as con:
        con.execute(sa.text("UPDATE data_version SET version = version + 1 WHERE id = 1"))
    with demo.connect() as con:
        hotspot_stats.gistar_cells(con, F, "fire")
        assert len(hotspot_stats._MEMO) > n


def test_inspection_list_is_ranked_by_the_documented_score(demo: Engine) -> None:
    wt = analysis_rules.section("inspection")
    with demo.connect() as con:
        cells, compounds = hotspot_stats.inspection(con, F, "fire")
        data = hotspot_stats.inspection_xlsx(con, F, "fire")
    assert len(cells) and len(compounds)
    assert list(cells["排查优先分"]) == sorted(cells["排查优先分"], reverse=True)
    assert list(compounds["排查优先分"]) == sorted(compounds["排查优先分"], reverse=True)
    labels = {c.label: c.key for c in gistar.CLASSES}
    patterns = {p.label: p.key for p in hotspot_stats.emerging.PATTERNS}
    for r in compounds.itertuples(index=False):
        klass = labels[r[7]]
        pattern = patterns[r[8]]
        expected = (wt.get(klass, 0) + (wt.get(pattern.removesuffix("_hot"), 0)
                                        if pattern.endswith("_hot") else 0)
                    + wt["overdue_hazard"] * np.log2(1 + r[6])
                    + wt["open_hazard"] * np.log2(1 + r[5]) + wt["repeat"] * np.log2(1 + r[4]))
        assert r[0] == pytest.approx(expected, abs=0.01)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["重点六边形", "重点小区", "说明"]
    assert wb["重点小区"]["A1"].value == "排查优先分"


def test_repeat_tables_add_up_and_sit_beside_the_closure_rate(demo: Engine) -> None:
    f = Filters.year_to(AS_OF)
    with demo.connect() as con:
        total = facts.totals(con, f)
        streets = repeats.by(con, f, "street")
        depts = repeats.by(con, f, "lead_dept")
        firms = repeats.by(con, f, "firm")
        top = repeats.top_compounds(con, f, n=5, min_received=5)
    assert total["repeat"] > 0
    assert depts["repeat"].sum() == total["repeat"] == _count(demo, measures.is_repeat("c"), f)
    assert streets["repeat"].sum() <= total["repeat"]
    assert firms["repeat"].sum() <= total["repeat"]
    assert {"closure_rate", "repeat_rate"} <= set(streets.columns)
    r = streets.iloc[0]
    assert r["repeat_rate"] == round(100 * r["repeat"] / r["received"], 1)
    assert list(top["办结后再诉率"]) == sorted(top["办结后再诉率"], reverse=True)


def test_distinct_filter_counts_each_complaint_once(demo: Engine) -> None:
    f = Filters.year_to(AS_OF)
    with demo.connect() as con:
        all_cases = facts.totals(con, f)
        distinct = facts.totals(con, f.with_(distinct=True))
    assert distinct["received"] == all_cases["distinct"] < all_cases["received"]


@pytest.mark.parametrize("suffix", [".gpkg", ".xlsx"])
def test_cli_writes_one_row_per_cell(demo: Engine, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    from propmap.cli import main

    monkeypatch.setenv("DATABASE_URL", conftest.test_url())
    out = tmp_path / f"fire{suffix}"
    listing = tmp_path / "list.xlsx"
    res = CliRunner().invoke(main, ["hotspots", "--theme", "fire", "--from", "2025-07-01",
                                    "--to", "2026-06-28", "--output", str(out),
                                    "--inspection", str(listing)])
    assert res.exit_code == 0, res.output
    with demo.connect() as con:
        expected = hotspot_stats.cells(con, hotspot_stats.period_of(
            AS_OF, hotspot_stats.dt.date(2025, 7, 1), hotspot_stats.dt.date(2026, 6, 28)),
            "fire")
    if suffix == ".gpkg":
        info = pyogrio.read_info(out, layer="hotspots")
        assert info["crs"] == "EPSG:4326"
        gdf = pyogrio.read_dataframe(out, layer="hotspots")
        assert len(gdf) == len(expected)
        assert list(gdf["H3编号"]) == list(expected["cell"])
        first = gdf.iloc[0]
        lat, lon = h3.cell_to_latlng(first["H3编号"])
        assert first.geometry.contains(shapely.Point(lon, lat))
        np.testing.assert_allclose(gdf["Gi*得分(z)"], expected["z"].round(6))
        assert {"热点类别", "时空模式", "去重诉求数", "诉求件数", "FDR校正p值", "所含小区"} <= set(
            gdf.columns)
    else:
        wb = openpyxl.load_workbook(out)
        ws = wb["热点分析"]
        assert ws.max_row == len(expected) + 1
        assert [c.value for c in ws[1]][:3] == ["H3编号", "诉求件数", "去重诉求数"]
        assert "图例" in wb.sheetnames
    assert openpyxl.load_workbook(listing).sheetnames == ["重点六边形", "重点小区", "说明"]


def test_cli_refuses_an_unknown_extension(tmp_path: Path) -> None:
    from propmap.cli import main

    res = CliRunner().invoke(main, ["hotspots", "--theme", "fire", "--output",
                                    str(tmp_path / "x.shp")])
    assert res.exit_code != 0 and ".gpkg" in res.output


def test_legend_explains_every_class_in_chinese() -> None:
    legend = hotspot_stats.legend_rows()
    assert len(legend) == len(gistar.CLASSES) + len(hotspot_stats.emerging.PATTERNS)
    assert legend["含义"].str.len().min() > 10
    assert h3.is_valid_cell(h3.latlng_to_cell(26.5, 108.0, 8))


def test_map_layer_escapes_compound_names(demo: Engine) -> None:
    with demo.connect() as con, con.begin() as tx:
        con.execute(sa.text("UPDATE compounds SET name = '<img src=x onerror=alert(1)>苑' "
                            "WHERE id = (SELECT min(compound_id) FROM cases)"))
        data = hotspot_stats.layer(con, F, "all")
        tx.rollback()
    names = " ".join(ft["properties"]["compounds"] for ft in data.features)
    assert "&lt;img src=x" in names and "<img" not in names
    classes = {ft["properties"]["class"] for ft in data.features}
    assert classes <= set(gistar.BY_KEY) and len(data.features) > 100
