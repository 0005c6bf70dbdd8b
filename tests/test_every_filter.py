"""Every page survives every filter: an empty result shows 无数据, never an error.

Each test opens one session with one filter from the URL (every status, every
channel, every theme, and a period without any case) and walks through every
page, the drill-down both at a street and at a compound card, as a user
following a shared link would.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from geo.models import CHANNELS, STATUSES
from layers.filters import CATEGORY_THEMES
from tests.conftest import app_test
from tests.test_pages import PAGES

FILTERS: list[dict[str, str]] = (
    [{"status": s} for s in STATUSES]
    + [{"channel": c} for c in CHANNELS]
    + [{"theme": t} for t in CATEGORY_THEMES]
    + [{"period": "custom", "from": "2001-01-01", "to": "2001-01-31"}]
    + [{"count": "cases"}]
)


def _visit(demo: Engine, monkeypatch: pytest.MonkeyPatch, page: str,
           params: dict[str, str]) -> AppTest:
    at: AppTest = app_test(demo, monkeypatch)  # type: ignore[assignment]
    at.query_params.update(params)
    if page != PAGES[0]:
        at.switch_page(page)
    at.run()
    return at


@pytest.mark.parametrize("params", FILTERS, ids=["&".join(f"{k}={v}" for k, v in p.items())
                                                for p in FILTERS])
def test_every_page_survives_the_filter(demo: Engine, monkeypatch: pytest.MonkeyPatch,
                                        params: dict[str, str]) -> None:
    from tests.conftest import scalar

    street = str(scalar(demo, "SELECT street_code FROM compounds WHERE is_sanwu "
                              "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"))
    compound = str(scalar(demo, "SELECT min(id) FROM compounds WHERE street_code = :s", s=street))
    visits: list[tuple[str, dict[str, str]]] = [(p, {}) for p in PAGES] + [
        (PAGES[1], {"street": street}),
        (PAGES[1], {"street": street, "compound": compound}),
        (PAGES[2], {"street": street})]
    for page, extra in visits:
        at = _visit(demo, monkeypatch, page, {**params, **extra})
        where = f"{page} {extra}"
        assert not at.exception, (where, [e.value for e in at.exception])
        assert not at.error, (where, [e.value for e in at.error])
        for k, v in params.items():  # the filter really applied (not dropped from the link)
            assert at.query_params.get(k) == v, (where, dict(at.query_params))


def test_an_empty_layer_says_no_data(demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A drill-down with only closed cases has no pending case to draw: the legend says so."""
    from tests.conftest import scalar

    street = str(scalar(demo, "SELECT min(code) FROM streets WHERE kind = 'street'"))
    at = _visit(demo, monkeypatch, PAGES[1], {"street": street, "status": "closed"})
    assert not at.exception and not at.error
    legends = "\n".join(m.value for m in at.markdown)
    assert "待办工单" in legends and "无数据" in legends
