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

from dashboard import common, data  # noqa: E402
from geo import settings  # noqa: E402

st.set_page_config(page_title="凯里市物业管理一张图", page_icon="🗺️", layout="wide",
                   initial_sidebar_state="expanded")

PAGES = [
    st.Page("views/overview.py", title="全市总览", default=True),
    st.Page("views/drilldown.py", title="街道下钻", url_path="drilldown"),
    st.Page("views/worklist.py", title="三无小区清单", url_path="worklist"),
    st.Page("views/hotspots.py", title="隐患热点", url_path="hotspots"),
    st.Page("views/firms.py", title="物业企业", url_path="firms"),
    st.Page("views/present.py", title="会议展示", url_path="present"),
]

page = st.navigation(PAGES)


@common.guarded
def _filters() -> bool:
    settings.check()  # a bad setting is named here, not met as a crash inside a page
    data.begin_run()  # the data version, read once for everything this run shows
    st.session_state["filters"] = common.sidebar_filters()
    return True


if not _filters():
    st.session_state.pop("filters", None)
    st.stop()
page.run()
