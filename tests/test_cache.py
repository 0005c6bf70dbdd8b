"""Caches that cannot go stale: a data change shows on the next page run, not minutes later."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from tests.conftest import app_test
from tests.test_one_truth import _tiles

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"


def test_a_change_shows_on_the_next_run(demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    at: AppTest = app_test(demo, monkeypatch)  # type: ignore[assignment]
    at.run()
    before = int(_tiles(at)["受理（件）"].replace(",", ""))
    with demo.begin() as con:  # as an import would: one transaction, the version bumps with it
        victim = con.execute(sa.text(
            "SELECT id FROM cases WHERE received_at >= '2026-01-01' ORDER BY id LIMIT 1")).scalar()
        con.execute(sa.text("UPDATE cases SET received_at = received_at - interval '3 years', "
                            "due_at = due_at - interval '3 years', closed_at = closed_at "
                            "- interval '3 years' WHERE id = :i"), {"i": victim})
    try:
        at.run()
        assert int(_tiles(at)["受理（件）"].replace(",", "")) == before - 1
    finally:
        with demo.begin() as con:
            con.execute(sa.text("UPDATE cases SET received_at = received_at + interval '3 years', "
                                "due_at = due_at + interval '3 years', closed_at = closed_at "
                                "+ interval '3 years' WHERE id = :i"), {"i": victim})
    at.run()
    assert int(_tiles(at)["受理（件）"].replace(",", "")) == before


def _cached_functions() -> list[tuple[str, ast.FunctionDef, ast.expr]]:
    out = []
    for path in DASHBOARD.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for dec in node.decorator_list:
                    out.append((path.name, node, dec))
    return out


def test_no_data_cache_lives_by_time_alone() -> None:
    """No ``ttl=`` anywhere: data caches key on the data version instead."""
    for path in DASHBOARD.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and any(k.arg == "ttl" for k in node.keywords):
                pytest.fail(f"{path.name}:{node.lineno} caches with a ttl")


def test_every_cached_query_takes_the_context_first() -> None:
    """Every ``_cached`` data function is keyed by the Context (database, version, scope)."""
    cached = [(f, n) for f, n, d in _cached_functions()
              if isinstance(d, ast.Name) and d.id == "_cached"]
    assert len(cached) >= 10
    for file, fn in cached:
        first = fn.args.args[0]
        assert isinstance(first.annotation, ast.Name) and first.annotation.id == "Context", \
            f"{file}:{fn.name} is cached without the Context as its first argument"
