"""Bulk load a DataFrame into a table with PostgreSQL ``COPY`` (psycopg 3), through Arrow CSV."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

_CHUNK = 8 << 20


def _array_literal(items: list[str] | None) -> str | None:
    if items is None:
        return None
    quoted = ('"' + str(x).replace("\\", "\\\\").replace('"', '\\"') + '"' for x in items)
    return "{" + ",".join(quoted) + "}"


def copy_frame(con: sa.Connection, table: str, frame: pd.DataFrame) -> int:
    """COPY ``frame`` (columns named as in ``table``) into ``table``; returns the row count.

    Text is quoted and nulls are not, so PostgreSQL tells ``""`` from NULL.
    Timestamps go as UTC microseconds.
    """
    if frame.empty:
        return 0
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].map(lambda v: isinstance(v, list)).any():
            out[c] = out[c].map(_array_literal)
        elif isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    arrow = pa.Table.from_pandas(out, preserve_index=False)
    buf = io.BytesIO()
    pacsv.write_csv(arrow, buf, pacsv.WriteOptions(include_header=False,
                                                   quoting_style="all_valid"))
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    raw = con.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as cp:
        view = buf.getbuffer()
        for i in range(0, len(view), _CHUNK):
            cp.write(view[i:i + _CHUNK])
    return len(frame)
