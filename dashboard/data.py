"""The dashboard's data: one named, cached function per query, keyed by what changes its answer.

``st.cache_data`` is shared by every session of the server. A cached result
must therefore be keyed by everything that changes it: the database, the
**data version** (bumped by a trigger in the same transaction as any change to
the mapped tables, so a result is never served after an import changed the
data under it, and never thrown away while the data did not change), the
account's **scope** (two accounts never share a result) and the filters.
:class:`Context` carries the first three; it is read once per page run
(:func:`begin_run`) and passed to every function here, so all the figures of
one page come from the same version of the data.

There is no time-to-live: a cache entry is right until the version moves,
and ``max_entries`` bounds the memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from geo import committees, coverage, credit, db, party, rectification, roles
from geo import history as ghistory
from geo.credit_model import Period
from geo.scope import Scope
from layers import (
    accountability,
    casework,
    facts,
    hotspot,
    hotspot_stats,
    owners,
    progress,
    registry,
    repeats,
    stats,
    worklist,
)
from layers.base import LayerData, set_timeout
from layers.filters import Filters

#: Bound on the entries each cached function keeps (per server, all sessions).
MAX_ENTRIES = 256


@dataclass(frozen=True)
class Context:
    """What a page run reads its data under: the database, its data version, the scope."""

    db_url: str
    version: int
    scope: Scope
    """The account's scope (its account name left out: accounts of one scope share results)."""


@st.cache_resource
def engine(url: str) -> sa.Engine:
    """One engine per database URL for the whole server."""
    return db.make_engine(url)


def url() -> str:
    """The dashboard's database URL: the application role, never the owner (:mod:`geo.roles`)."""
    return roles.app_url(db.database_url())


@contextlib.contextmanager
def connect(ctx: Context) -> Iterator[sa.Connection]:
    """A connection in a transaction under ``ctx``'s scope (row-level security applies)."""
    with engine(ctx.db_url).begin() as con:
        ctx.scope.apply(con)
        yield con


@contextlib.contextmanager
def writing(ctx: Context, scope: Scope) -> Iterator[sa.Connection]:
    """A transaction for a write by the logged-in account: its own ``scope`` (with the account
    name, which row-level security checks against ``recorded_by``). Not cached; the data
    version the write bumps refreshes every cached figure on the next run."""
    if scope.key() != ctx.scope.key():
        raise RuntimeError("the write's scope is not the page's")
    with engine(ctx.db_url).begin() as con:
        scope.apply(con)
        yield con


def begin_run(scope: Scope) -> Context:
    """Read the data version once for this page run, under ``scope``, and remember it."""
    u = url()
    bare = replace(scope, account="")
    with engine(u).begin() as con:
        bare.apply(con)
        version = facts.data_version(con)
    ctx = Context(db_url=u, version=version, scope=bare)
    st.session_state["_ctx"] = ctx
    return ctx


def ctx() -> Context:
    """The context of the current page run (read by :func:`begin_run` after login)."""
    c = st.session_state.get("_ctx")
    if not isinstance(c, Context):
        raise RuntimeError("no page context: the page ran before the login gate")
    return c


def _cached(fn: Any) -> Any:
    return st.cache_data(show_spinner=False, max_entries=MAX_ENTRIES)(fn)


# --- reference and meta ----------------------------------------------------------------

@_cached
def dataset_meta(c: Context) -> dict[str, str]:
    with connect(c) as con:
        return stats.dataset_meta(con)


@_cached
def synthetic(c: Context) -> bool:
    with connect(c) as con:
        return stats.is_synthetic(con)


@_cached
def as_of(c: Context) -> dt.date:
    """The data's cut-off day (:func:`geo.measures.cutoff_day`)."""
    with connect(c) as con:
        return stats.data_as_of(con)


@_cached
def first_day(c: Context) -> dt.date | None:
    """The day of the earliest case the scope sees (:func:`layers.stats.first_day`)."""
    with connect(c) as con:
        return stats.first_day(con)


@_cached
def streets(c: Context) -> pd.DataFrame:
    with connect(c) as con:
        return stats.streets(con)


def street_names(c: Context) -> dict[str, str]:
    df = streets(c)
    return dict(zip(df["code"], df["name"], strict=True))


@_cached
def communities(c: Context, street: str) -> pd.DataFrame:
    with connect(c) as con:
        return stats.communities(con, street)


@_cached
def categories(c: Context) -> pd.DataFrame:
    with connect(c) as con:
        rows = con.execute(sa.text("SELECT code, name, theme FROM categories ORDER BY code"))
        return pd.DataFrame(rows.fetchall(), columns=["code", "name", "theme"])


@_cached
def department_names(c: Context) -> dict[str, str]:
    with connect(c) as con:
        return {r.code: r.name for r in con.execute(sa.text("SELECT code, name FROM departments"))}


# --- figures -----------------------------------------------------------------------------

@_cached
def headline(c: Context, f: Filters) -> dict[str, Any]:
    with connect(c) as con:
        return stats.headline(con, f)


@_cached
def weekly_trend(c: Context, f: Filters) -> pd.DataFrame:
    with connect(c) as con:
        return stats.weekly_trend(con, f)


@_cached
def firm_table(c: Context, f: Filters) -> pd.DataFrame:
    with connect(c) as con:
        return stats.firm_table(con, f)


@_cached
def compound_card(c: Context, f: Filters, compound_id: int) -> dict[str, Any] | None:
    with connect(c) as con:
        return stats.compound_card(con, compound_id, f)


@_cached
def worklist_ranked(c: Context, f: Filters) -> pd.DataFrame:
    with connect(c) as con:
        return worklist.query(con, f)


@_cached
def hotspot_map(c: Context, f: Filters, theme: str, per_households: bool) -> LayerData:
    """Gi* class and emerging pattern per hexagon of ``theme`` (``f.distinct``: what is counted).

    Text unescaped: the map escapes it when it draws (:func:`dashboard.map.build`).
    """
    with connect(c) as con:
        out = hotspot_stats.layer(con, f, theme, distinct=f.distinct,
                                  per_households=per_households, escaped=False)
    _ = out.digest  # computed once, here, and cached with the data (the map cache's key)
    return out


@_cached
def hotspot_inspection(c: Context, f: Filters, theme: str,
                       per_households: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The inspection list of ``theme``: (cells, compounds), highest score first."""
    with connect(c) as con:
        return hotspot_stats.inspection(con, f, theme, distinct=f.distinct,
                                        per_households=per_households)


@_cached
def hotspot_classified(c: Context, f: Filters, theme: str, per_households: bool) -> pd.DataFrame:
    """Every hexagon of ``theme`` with a Gi* class or an emerging pattern, with its compounds
    (:func:`layers.hotspot_stats.classified`; the statistics come from their memo)."""
    with connect(c) as con:
        return hotspot_stats.classified(hotspot_stats.cells(
            con, f, theme, distinct=f.distinct, per_households=per_households))


@_cached
def repeat_compounds(c: Context, f: Filters, n: int, min_received: int) -> pd.DataFrame:
    """Compounds with the highest repeat rate (办结后再诉率) for ``f``."""
    with connect(c) as con:
        return repeats.top_compounds(con, f, n=n, min_received=min_received)


@_cached
def hotspot_open_hazards(c: Context, f: Filters, theme: str) -> pd.DataFrame:
    """The open hazards of hotspot ``theme`` (:func:`layers.hotspot.open_hazards`): the
    list of 隐患热点, its download and its rectification form."""
    with connect(c) as con:
        return hotspot.open_hazards(con, f, theme)


# --- map layers --------------------------------------------------------------------------

@_cached
def layer_data(c: Context, key: str, f: Filters) -> LayerData:
    """The data of registered layer ``key`` for ``f``."""
    with connect(c) as con:
        out = registry.get(key).query(con, f)
    _ = out.digest  # computed once, here, and cached with the data (the map cache's key)
    return out


# --- records and progress (issue 9) -----------------------------------------------------------

@_cached
def progress_by_street(c: Context, f: Filters) -> pd.DataFrame:
    """Progress figures per street office over ``f``'s period (:mod:`layers.progress`)."""
    with connect(c) as con:
        return progress.by_street(con, f)


@_cached
def progress_monthly(c: Context, f: Filters) -> pd.DataFrame:
    with connect(c) as con:
        return progress.monthly(con, f)


@_cached
def owners_list(c: Context, f: Filters) -> pd.DataFrame:
    with connect(c) as con:
        return owners.query(con, f)


@_cached
def compound_history(c: Context, compound_id: int) -> pd.DataFrame:
    """A compound's management history (without notes and names for the meeting-room screen)."""
    with connect(c) as con:
        return ghistory.history(con, compound_id, with_text=c.scope.sees_case_text)


@_cached
def hazard_history(c: Context, hazard_id: int) -> pd.DataFrame:
    """A hazard's rectification steps (shown to accounts that may record them)."""
    with connect(c) as con:
        return rectification.history(con, hazard_id)


@_cached
def compound_hazards(c: Context, compound_id: int) -> pd.DataFrame:
    """The compound's hazards the scope may see, for the rectification form."""
    with connect(c) as con:
        res = con.execute(sa.text(
            "SELECT id, theme, description, status, found_on, due_on, closed_on FROM hazards "
            "WHERE compound_id = :c ORDER BY (status = 'closed'), due_on, id"),
            {"c": compound_id})
        return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


@_cached
def register_conflicts(c: Context) -> pd.DataFrame:
    """Register statements that disagreed with a record, in the scope's compounds."""
    with connect(c) as con:
        return ghistory.conflicts(con)


# --- the joint meeting -------------------------------------------------------------------

@_cached
def departments(c: Context, f: Filters) -> pd.DataFrame:
    """Every department's figures for ``f`` (:func:`layers.accountability.departments`)."""
    with connect(c) as con:
        return accountability.departments(con, f)


@_cached
def street_figures(c: Context, f: Filters) -> pd.DataFrame:
    """Every street office's figures for ``f`` (:func:`layers.accountability.streets`)."""
    with connect(c) as con:
        return accountability.streets(con, f)


@_cached
def case_list(c: Context, f: Filters, q: casework.CaseQuery,
              with_text: bool) -> tuple[pd.DataFrame, int]:
    with connect(c) as con:
        return casework.case_list(con, f, q, with_text=with_text)


@_cached
def case_card(c: Context, f: Filters, case_id: int, with_text: bool) -> dict[str, Any] | None:
    with connect(c) as con:
        return casework.case_card(con, case_id, f, with_text=with_text)


@_cached
def typical_cases(c: Context, f: Filters, quarter: str) -> pd.DataFrame:
    with connect(c) as con:
        return casework.typical_cases(con, quarter, f)


@_cached
def typical_quarters(c: Context) -> list[str]:
    with connect(c) as con:
        return casework.quarters_with_typical(con)


@_cached
def city_cases(c: Context, f: Filters) -> tuple[pd.DataFrame, int]:
    with connect(c) as con:
        return casework.city_cases(con, f)


@_cached
def sanwu_progress(c: Context, f: Filters) -> pd.DataFrame:
    """三无 and owners' committees per street (:func:`layers.progress.sanwu_and_committees`)."""
    with connect(c) as con:
        return progress.sanwu_and_committees(con, f)


@_cached
def hazard_summary(c: Context, f: Filters) -> pd.DataFrame:
    with connect(c) as con:
        return stats.hazard_summary(con, f)


@_cached
def top_compounds(c: Context, f: Filters) -> pd.DataFrame:
    with connect(c) as con:
        return stats.top_compounds(con, f)


@_cached
def briefing(c: Context, f: Filters, fmt: str, filters_note: str) -> bytes:
    """The briefing of ``f`` (:mod:`briefing`) as ``.docx`` or ``.pdf`` bytes, under the scope."""
    from briefing import build

    with connect(c) as con:
        doc = build.build(con, f)
    return build.render(doc, fmt, filters_note=filters_note)


# --- firms, credit, coverage and party building ------------------------------------------

@_cached
def firm_categories(c: Context, f: Filters, firm_id: int) -> pd.DataFrame:
    with connect(c) as con:
        return stats.firm_categories(con, f, firm_id)


@_cached
def credit_evaluation(c: Context, subject: str, period: str | None) -> credit.Evaluation:
    """The credit evaluation of ``subject`` kind for ``period`` (``None``: the latest complete
    quarter). Firms' scores need the whole city's cases: pages call this for firms only under
    a city-wide scope."""
    with connect(c) as con:
        set_timeout(con)
        return credit.evaluate(con, subject, Period.parse(period) if period else None)


@_cached
def credit_periods(c: Context) -> list[str]:
    """The quarters the data cover whole, newest first."""
    with connect(c) as con:
        return [str(p) for p in credit.covered_periods(con)]


@_cached
def credit_lists(c: Context, subject: str) -> pd.DataFrame:
    with connect(c) as con:
        return credit.lists(con, subject)


@_cached
def credit_history(c: Context, subject: str, subject_id: int) -> dict[str, pd.DataFrame]:
    with connect(c) as con:
        return credit.history(con, subject, subject_id)


@_cached
def credit_published(c: Context, subject: str) -> dict[int, dict[str, Any]]:
    with connect(c) as con:
        return credit.published(con, subject)


@_cached
def credit_events_in_force(c: Context, subject: str, subject_id: int) -> pd.DataFrame:
    with connect(c) as con:
        return credit.event_ids(con, subject, subject_id)


@_cached
def firm_names(c: Context) -> dict[int, str]:
    with connect(c) as con:
        return {int(r.id): r.name for r in con.execute(sa.text(
            "SELECT id, name FROM property_firms ORDER BY name"))}


@_cached
def committee_names(c: Context) -> dict[int, str]:
    """The committees the account's scope sees: compound id → name."""
    with connect(c) as con:
        return {cm.id: cm.name for cm in committees.from_history(con)}


@_cached
def coverage_gaps(c: Context, level: str, street: str | None) -> pd.DataFrame:
    with connect(c) as con:
        set_timeout(con)
        return coverage.gaps(con, level, street)


@_cached
def party_coverage(c: Context, level: str) -> pd.DataFrame:
    with connect(c) as con:
        set_timeout(con)
        return party.coverage(con, level)


@_cached
def party_firms(c: Context) -> pd.DataFrame:
    with connect(c) as con:
        return party.firms(con)


@_cached
def party_committees(c: Context, street: str | None) -> pd.DataFrame:
    with connect(c) as con:
        return party.committees_table(con, street)
