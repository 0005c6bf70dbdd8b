"""凯里市物业管理一张图: the dashboard's entry script (``streamlit run dashboard/app.py``).

It draws the filter sidebar (here, so the choice survives switching pages)
and runs the page chosen in the navigation. Pages live in ``views/``,
not ``pages/``: Streamlit would also serve a ``pages/`` directory as legacy
pages, bypassing this script.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import auth, common, data  # noqa: E402
from geo import settings  # noqa: E402
from geo.auth import Account  # noqa: E402

st.set_page_config(page_title="凯里市物业管理一张图", page_icon="🗺️", layout="wide",
                   initial_sidebar_state="expanded")

#: Every page, with the kinds of account that may open it (leader, housing and admin: all).
PAGES: list[tuple[st.Page, tuple[str, ...] | None]] = [
    (st.Page("views/overview.py", title="全市总览", default=True), ()),
    (st.Page("views/drilldown.py", title="街道下钻", url_path="drilldown"), ()),
    (st.Page("views/worklist.py", title="三无小区清单", url_path="worklist"),
     ("street", "community")),
    (st.Page("views/owners.py", title="业主委员会", url_path="owners"), ("street", "community")),
    (st.Page("views/progress.py", title="工作进展", url_path="progress"), ()),
    (st.Page("views/hotspots.py", title="隐患热点", url_path="hotspots"), ()),
    (st.Page("views/firms.py", title="物业企业", url_path="firms"), ("street", "viewer")),
    (st.Page("views/credit.py", title="信用评价", url_path="credit"),
     ("street", "community", "viewer")),
    (st.Page("views/coverage.py", title="覆盖缺口与党建", url_path="coverage"),
     ("street", "community", "viewer")),
    (st.Page("views/present.py", title="会议展示", url_path="present"), ("viewer",)),
    (st.Page("views/cases.py", title="案件研判", url_path="cases"), ()),
    (st.Page("views/typical.py", title="典型案例", url_path="typical"), ()),
    (st.Page("views/admin.py", title="账号与审计", url_path="admin"), None),
]
OVERSEERS = ("leader", "housing", "admin")


def _allowed(kinds: tuple[str, ...] | None, kind: str) -> bool:
    if kinds is None:  # the admin page
        return kind == "admin"
    return kind in OVERSEERS or kind in kinds or not kinds


@common.guarded
def _settings_ok() -> bool:
    settings.check()  # a bad setting is named here, not met as a crash inside a page
    return True


@common.guarded
def _filters(account: Account) -> bool:
    data.begin_run(account.scope)  # the data version, read once for everything this run shows
    auth.sidebar(account)
    st.session_state["filters"] = common.sidebar_filters()
    return True


@common.guarded
def _gate() -> Account | None:
    return auth.gate()


def main() -> None:
    """Settings, login, then the page the navigation chose, under the account's scope."""
    if not _settings_ok():
        st.stop()
    account = _gate()
    if account is None:
        # Nobody logged in: the login form is drawn; no page, figure or download is.
        st.navigation([p for p, _k in PAGES], position="hidden")
        st.stop()
        return
    page = st.navigation([p for p, kinds in PAGES if _allowed(kinds, account.scope.kind)])
    if not _filters(account):
        st.session_state.pop("filters", None)
        st.stop()
    page.run()


main()
