"""Bulk load a DataFrame into a table with PostgreSQL ``COPY`` (psycopg 3), through Arrow CSV."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from pandas.api.types import infer_dtype

_BATCH_ROWS = 65_536
#: What ``infer_dtype`` says of object columns that hold no lists.
_PLAIN_OBJECTS = {"string", "empty", "integer", "floating", "boolean"}


def _array_literal(items: list[str] | None) -> str | None:
    if items is None:
        return None
    quoted = ('"' + str(x).replace("\\", "\\\\").replace('"', '\\"') + '"' for x in items)
    return "{" + ",".join(quoted) + "}"


def _arrow_column(col: pd.Series) -> pa.Array:
    """One column for Arrow's CSV writer: lists as array literals, timestamps in UTC."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    elif col.dtype == object and infer_dtype(col, skipna=True) not in _PLAIN_OBJECTS \
            and col.map(lambda v: isinstance(v, list)).any():
        col = col.map(_array_literal)
    return pa.Array.from_pandas(col)


def copy_frame(con: sa.Connection, table: str, frame: pd.DataFrame) -> int:
    """COPY ``frame`` (columns named as in ``table``) into ``table``; returns the row count.

    Text is quoted and nulls are not, so PostgreSQL tells ``""`` from NULL.
    Timestamps go as UTC microseconds. The CSV is written by Arrow in batches
    while psycopg's writer thread sends the previous ones, so PostgreSQL parses
    batch *k* while Python writes batch *k + 1*.
    """
    if frame.empty:
        return 0
    arrow = pa.Table.from_arrays([_arrow_column(frame[c]) for c in frame.columns],
                                 names=[str(c) for c in frame.columns])
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    raw = con.connection.driver_connection
    assert raw is not None, "COPY needs a live psycopg connection"
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as cp:
        for batch in arrow.to_batches(max_chunksize=_BATCH_ROWS):
            buf = io.BytesIO()
            pacsv.write_csv(batch, buf, options)
            cp.write(buf.getbuffer())
    return len(frame)
