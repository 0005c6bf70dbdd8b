"""``propmap hotspots``: significant and emerging hot spots per H3 cell, for GIS staff and jobs."""

from __future__ import annotations

from pathlib import Path

import click

from geo._errors import PropmapError
from propmap._command import date_option
from propmap._command import engine as _engine
from propmap._command import say as _say
from propmap._command import user_errors as _user_errors


@click.command("hotspots")
@_user_errors
@click.option("--theme", type=click.Choice(["fire", "elevator", "security", "all"]),
              required=True, help="主题：消防、电梯、治安与噪声、全部诉求")
@click.option("--street", default=None,
              help="只输出该街道（区划代码）的六边形；统计仍以全市为研究区")
@click.option("--from", "start", default=None, help="起始日期 YYYY-MM-DD（默认截止日前52周）")
@click.option("--to", "end", default=None, help="结束日期 YYYY-MM-DD（默认数据截止日）")
@click.option("--distinct/--cases", default=True, show_default=True,
              help="按去重诉求（一事多诉只计一次）或按工单件数分析")
@click.option("--per-households", is_flag=True, help="按每千户诉求数分析（只含有住户的六边形）")
@click.option("--step", type=click.Choice(["week", "month"]), default=None,
              help="时空立方体的时间步长（默认见 data/analysis.toml）")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="输出文件：.gpkg（QGIS/ArcGIS，EPSG:4326）或 .xlsx")
@click.option("--inspection", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="另存排查清单（.xlsx）")
def hotspots(theme: str, street: str | None, start: str | None, end: str | None,
             distinct: bool, per_households: bool, step: str | None, output: Path,
             inspection: Path | None) -> None:
    """Gi* hot/cold spots and emerging patterns per H3 cell, one row per cell."""
    if output.suffix.lower() not in (".gpkg", ".xlsx"):
        raise click.UsageError("输出文件须为 .gpkg 或 .xlsx，请改用其中一种扩展名。")
    from geo import measures
    from layers import hotspot_stats as hs

    day_from, day_to = date_option(start, "--from"), date_option(end, "--to")
    try:
        with _engine().connect() as con:
            f = hs.period_of(measures.cutoff_day(con), day_from, day_to).with_(street=street)
            if f.start > f.end:
                raise click.UsageError("起始日期晚于结束日期，请检查 --from 与 --to。")
            df = hs.cells(con, f, theme, distinct=distinct, per_households=per_households,
                          step=step)
            notes = [f"{hs.THEME_LABELS[theme]}热点分析：{f.start} 至 {f.end}，"
                     f"{'去重诉求' if distinct else '工单件数'}"
                     f"{'（每千户）' if per_households else ''}。", hs.gistar.LEGEND_NOTE]
            n = hs.write(df, output, notes=notes)
            if inspection is not None:
                inspection.write_bytes(hs.inspection_xlsx(con, f, theme))
    except ValueError as exc:
        raise PropmapError(str(exc)) from exc
    hot = int((df["bin"] > 0).sum())
    _say(f"已写出 {n:,} 个六边形到 {output}（显著热点 {hot} 个）")
