"""Forms that record what was done: a compound's management, a hazard's rectification,
and the worklist coming back.

Each write is one transaction under the logged-in account's scope (its database
role and area, :meth:`geo.scope.Scope.apply`), so row-level security refuses a
compound outside the area even if a page forgot to check; the rules
(:func:`geo.history.check`, :func:`geo.rectification.check`) refuse first, with a
reason in Chinese. :func:`geo.history.record` audits the write in the same
transaction. The data version moves with the write, so after ``st.rerun()``
every figure and layer shows the new state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from dashboard import auth, data
from etl import worklist as wl
from geo import auth as gauth
from geo import history, rectification
from geo._errors import PropmapError
from geo.measures import today
from geo.models import COMPOUND_EVENT_KINDS, HAZARD_STATUSES, HAZARD_THEMES
from layers.html import md

_FLASH = "_records_flash"


@contextlib.contextmanager
def writing() -> Iterator[sa.Connection]:
    """A transaction as the logged-in account itself (its name recorded with every write)."""
    acc = auth.current()
    if acc is None:
        raise RuntimeError("not logged in")
    with data.writing(data.ctx(), acc.scope) as con:
        yield con


def flash() -> None:
    """Say what the last write did (once, after the rerun that shows its effect)."""
    msg = st.session_state.pop(_FLASH, None)
    if msg:
        st.success(md(msg))  # names in it come from files: shown as text


def done(message: str) -> None:
    """Remember ``message`` for :func:`flash` and rerun, so the page shows the write's effect."""
    st.session_state[_FLASH] = message
    st.rerun()


def _kind() -> tuple[str, tuple[str, ...]]:
    acc = auth.current()
    assert acc is not None
    return acc.scope.kind, acc.scope.streets


def _record(proposal: history.Proposal) -> str | None:
    """Check and record one proposal; the refusal's reason, or ``None`` when recorded."""
    acc = auth.current()
    assert acc is not None
    kind, streets = _kind()
    try:
        with writing() as con:
            checked = history.check(con, history.frame([proposal]), account_kind=kind,
                                    streets=streets)
            row = checked.iloc[0]
            if row["outcome"] != history.RECORD:
                return str(row["reason"])
            history.record(con, checked, source="dashboard", recorded_by=acc.name, role=kind)
    except PropmapError as exc:
        return str(exc)
    return None


def compound_form(card: dict[str, Any]) -> None:
    """Record a management event of the compound whose card is open (when the account may)."""
    kind, streets = _kind()
    kinds = [k for k in history.allowed(kind)
             if k != "takeover" or kind != "street" or card["street_code"] in streets]
    if not kinds:
        return
    cid = int(card["id"])
    with st.expander("记录管理事项（托管、引入物业、业委会……）", expanded=False):
        ev = st.selectbox("事项", kinds, format_func=lambda k: COMPOUND_EVENT_KINDS[k],
                          key=f"ev-kind-{cid}")
        on = st.date_input("日期", value=today(), max_value=today(), key=f"ev-date-{cid}")
        firm = unit = term = None
        if ev == "firm_in":
            firms = list(data.firm_names(data.ctx()).values())
            firm = st.selectbox("物业服务企业（企业名录）", firms, index=None,
                                placeholder="请选择企业", key=f"ev-firm-{cid}")
        if ev == "work_unit":
            unit = st.text_input("管理单位（产权单位或主管部门）", key=f"ev-unit-{cid}")
        if ev in ("committee_formed", "committee_renewed", "mgmt_committee"):
            years = history.committee_settings()["term_years"]
            base = on if isinstance(on, dt.date) else today()
            term = st.date_input("本届任期届满", value=base.replace(year=base.year + years),
                                 key=f"ev-term-{cid}")
        doc_no = st.text_input("文号（可选）", key=f"ev-doc-{cid}")
        note = st.text_area("备注（可选）", key=f"ev-note-{cid}", height=68)
        if st.button("记录", type="primary", key=f"ev-save-{cid}"):
            why = _record(history.Proposal(
                cid, ev, on if isinstance(on, dt.date) else None, firm=firm, unit=unit,
                term_end=term if isinstance(term, dt.date) else None, doc_no=doc_no or None,
                note=note or None))
            if why:
                st.error(f"未记录：{md(why)}")
            else:
                done(f"已记录：{card['name']} {COMPOUND_EVENT_KINDS[ev]}"
                      f"（{on:%Y-%m-%d}）。地图与各项数字已更新。")


def compound_history(card: dict[str, Any]) -> None:
    """The compound's management history, newest first."""
    df = data.compound_history(data.ctx(), int(card["id"]))
    if not data.ctx().scope.sees_case_text:  # the meeting-room screen: no notes, no names
        df = df.drop(columns=[history.HISTORY_HEADERS[c] for c in history.PRIVATE])
    st.markdown("**管理记录**")
    if df.empty:
        st.caption("无管理记录")
    else:
        st.dataframe(df, hide_index=True, width="stretch", height=min(38 + 35 * len(df), 220))


def _hazard_label(r: Any) -> str:
    text = str(r.description)
    place = getattr(r, "compound", None)  # 隐患热点 lists several compounds' hazards
    if place and not text.startswith(str(place)):
        text = f"{place}：{text}"
    return (f"#{r.id} {HAZARD_THEMES.get(r.theme, r.theme)}·{HAZARD_STATUSES[r.status]}·"
            f"期限 {r.due_on:%Y-%m-%d}·{text[:24]}{'…' if len(text) > 24 else ''}")


def hazard_form(hazards: pd.DataFrame, *, key: str) -> None:
    """Record a rectification step of one of ``hazards`` (``id, theme, description, status,
    due_on``, optionally ``compound``; the open ones are offered), when the account may."""
    acc = auth.current()
    assert acc is not None
    kind = acc.scope.kind
    steps = history.allowed(kind, "hazard")
    # the hazards something can still happen to (not yet rectified)
    open_ = hazards[hazards["status"].map(lambda s: bool(rectification.NEXT.get(s)))] \
        if len(hazards) else hazards
    if not steps or open_.empty:
        return
    with st.expander("记录隐患整改进展", expanded=False):
        labels = {int(r.id): _hazard_label(r) for r in open_.itertuples()}
        hid = st.selectbox("隐患", list(labels), format_func=lambda i: labels[i],
                           key=f"hz-pick-{key}")
        status = str(open_.loc[open_["id"] == hid, "status"].iloc[0])
        st.dataframe(data.hazard_history(data.ctx(), int(hid)), hide_index=True,
                     width="stretch")
        choices = [s for s in rectification.NEXT[status] if s in steps]
        if not choices:
            st.caption("该隐患当前状态下没有可记录的进展。")
            return
        step = st.selectbox("进展", choices, format_func=lambda s: HAZARD_STATUSES[s],
                            key=f"hz-step-{key}")
        on = st.date_input("日期", value=today(), max_value=today(), key=f"hz-date-{key}")
        note = st.text_area("整改情况" + ("（必填）" if step == "closed" else "（可选）"),
                            key=f"hz-note-{key}", height=68)
        if st.button("记录整改进展", type="primary", key=f"hz-save-{key}"):
            proposal = pd.DataFrame({"hazard_id": [hid], "kind": [step],
                                     "on_date": [on if isinstance(on, dt.date) else None],
                                     "note": [note or None]})
            why = None
            try:
                with writing() as con:
                    checked = rectification.check(con, proposal, account_kind=kind)
                    row = checked.iloc[0]
                    if row["outcome"] != history.RECORD:
                        why = str(row["reason"])
                    else:
                        rectification.record(con, checked, source="dashboard",
                                             recorded_by=acc.name, role=kind)
            except PropmapError as exc:
                why = str(exc)
            if why:
                st.error(f"未记录：{md(why)}")
            else:
                done(f"已记录：隐患 #{hid} {HAZARD_STATUSES[step]}（{on:%Y-%m-%d}）。")


def worklist_upload(street: str) -> None:
    """Upload a filled-in worklist; show every row's outcome (recorded, unchanged, refused)."""
    acc = auth.current()
    assert acc is not None
    kind = acc.scope.kind
    if not history.allowed(kind):
        return
    st.markdown("#### 回传清单：记录已采取的措施")
    st.caption("下载清单，在“采取措施”“措施日期”等列填写已开展的工作后上传；"
               "每一行都会给出结果：已记录、未变或拒绝（附原因）。")
    up = st.file_uploader("上传填好的清单（xlsx）", type=["xlsx", "csv"], key=f"wl-up-{street}")
    if up is not None and st.button("记录清单中的措施", type="primary", key=f"wl-go-{street}"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(up.name).name
            path.write_bytes(up.getvalue())
            try:
                with writing() as con:
                    res = wl.apply(con, path, account_kind=kind, streets=acc.scope.streets,
                                   recorded_by=acc.name, role=kind)
                    gauth.audit(con, "write", {
                        "what": "worklist_upload", "file": up.name, "rows": len(res.rows),
                        "recorded": res.recorded, "unchanged": res.unchanged,
                        "refused": res.refused, "street": street},
                        account=acc.name, role=kind)
            except PropmapError as exc:
                st.error(f"未记录：{md(exc)}")
                return
        st.session_state[f"wl-result-{street}"] = res
        done(res.summary_zh().splitlines()[0])
    last = st.session_state.get(f"wl-result-{street}")
    if isinstance(last, wl.WorklistResult):
        st.markdown(f"**上次上传的逐行结果**（{md(last.file)}）")
        st.dataframe(last.rows, hide_index=True, width="stretch", height=260)
