"""会议展示: the joint meeting run from one screen, item by item (:mod:`dashboard.agenda`).

No sidebar: the agenda bar steps through the items (buttons, or ← and →), sets
the period (本季度, 上季度, 本月, 去年同期 …) and the comparison (环比, 同比);
every filter in force is printed under it, whether chosen here or taken from
the link. The briefing of the period (:mod:`briefing`) downloads from here.
The page prints on A4 landscape (the print stylesheet in ``propmap.css``).
"""

from __future__ import annotations

from dashboard import agenda, common


@common.guarded
def main() -> None:
    common.page_css(presentation=True)
    f = common.filters()
    step, kind = agenda.header("凯里市物业管理联席会议")
    common.active_filters(f, extra=[f"数据截至 {f.as_of:%Y-%m-%d}"])
    agenda.scripts()
    step.draw(f, kind)
    agenda.marker(step.key)


if __name__ == "__main__":
    main()
