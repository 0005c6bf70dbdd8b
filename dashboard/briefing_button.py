"""The briefing's download on 会议展示: made on request, then downloaded (audited)."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, common, data
from layers.filters import Filters

MIME = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".pdf": "application/pdf"}


def draw(f: Filters) -> None:
    """A 简报 menu: choose Word or PDF, make the briefing of the period in view, download it.

    Nothing for accounts that may not download (the meeting-room screen). Making
    it takes seconds (a PDF more), so it is made on request, not on every run,
    and kept for the same data, scope and filters.
    """
    acc = auth.current()
    if acc is None or not acc.scope.may_download:
        return
    from briefing import build

    with st.popover("会议简报", width="stretch"):
        fmt = st.radio("格式", list(MIME), format_func=lambda k: {"docx": "Word（.docx）",
                                                                 "pdf": "PDF"}[k[1:]],
                       horizontal=True, key="bf_format")
        st.caption(f"{common.period_text(f)} 的全市简报：主要指标及变化、地图、街道与部门排名、"
                   "三无与业委会、隐患、市级与典型案例、红黑榜。")
        note = "；".join(p for p in common.filter_text(f).split("；")[1:])
        key = (f, fmt, note)
        if st.button("生成简报", key="bf_make", type="primary"):
            with st.spinner("正在生成简报…"):
                data.briefing(data.ctx(), f, str(fmt), note)
            st.session_state["_briefing"] = key
        if st.session_state.get("_briefing") == key:
            payload = data.briefing(data.ctx(), f, str(fmt), note)
            name = build.file_name(f, str(fmt))
            auth.download_button(f"下载 {name}", payload, name, what="briefing", rows=0,
                                 filters={"period": common.period_text(f), "format": fmt},
                                 mime=MIME[str(fmt)], key="bf_download", primary=True)
