"""账号与审计: the accounts and the audit log, for the administrator only.

Read live (not cached: logins and downloads do not change the data version).
Accounts are managed with ``propmap user …`` on the server; the page shows
who has access to what, and the audit log of logins, lockouts, downloads,
exports and writes, filtered by account and date.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from dashboard import common, data
from geo.models import AUDIT_EVENTS
from geo.scope import KIND_LABELS
from layers.base import frame


@common.guarded
def main() -> None:
    common.setup("账号与审计")
    c = data.ctx()
    if c.scope.kind != "admin":
        common.refuse("只有系统管理员可以查看账号与审计日志。")
    st.caption("账号由服务器上的 propmap user 命令管理（新增、停用、重置密码、变更范围）；"
               "审计日志只能追加，不能修改或删除。")
    with data.connect(c) as con:
        accounts = frame(con, """
            SELECT name, display_name, role, array_to_string(streets, '、') AS streets,
                   community_id, dept, must_change, disabled, locked_until, last_login_at
            FROM accounts ORDER BY role, name""")
    accounts["role"] = accounts["role"].map(KIND_LABELS)
    st.subheader(f"账号（{len(accounts)} 个）")
    st.dataframe(accounts.rename(columns={
        "name": "账号", "display_name": "名称", "role": "类型", "streets": "街道/镇",
        "community_id": "社区编号", "dept": "部门", "must_change": "待改密码",
        "disabled": "已停用", "locked_until": "锁定至", "last_login_at": "最近登录"}),
        hide_index=True, width="stretch")

    st.subheader("审计日志")
    left, mid, right = st.columns([2, 2, 3])
    who = left.text_input("账号（留空为全部）", key="audit_who").strip()
    since = mid.date_input("起始日期", value=dt.date.today() - dt.timedelta(days=30),
                           key="audit_since")
    events = right.multiselect("事件", list(AUDIT_EVENTS), format_func=AUDIT_EVENTS.get,
                               key="audit_events", placeholder="全部事件")
    with data.connect(c) as con:
        log = frame(con, """
            SELECT at, account, role, event, detail::text AS detail FROM audit_log
            WHERE at >= CAST(:since AS date)
              AND (CAST(:who AS text) IS NULL OR account = :who)
              AND (cardinality(CAST(:events AS text[])) = 0 OR event = ANY (:events))
            ORDER BY at DESC LIMIT 2000""",
                    {"since": since, "who": who or None, "events": events})
        total = con.execute(sa.text("SELECT count(*) FROM audit_log")).scalar()
    log["event"] = log["event"].map(lambda e: AUDIT_EVENTS.get(e, e))
    if not log.empty:
        log["at"] = pd.to_datetime(log["at"]).dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    st.caption(f"共 {total:,} 条，显示符合条件的最近 {len(log):,} 条")
    st.dataframe(log.rename(columns={"at": "时间", "account": "账号", "role": "角色",
                                     "event": "事件", "detail": "详情"}),
                 hide_index=True, width="stretch", height=520)


if __name__ == "__main__":
    main()
