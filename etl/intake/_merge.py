"""Shared pieces of the set-based merges: duplicate handling within a file, upsert counting."""

from __future__ import annotations

import numpy as np
import pandas as pd

R_DUPLICATE = "文件内编号重复且内容不同"


def file_duplicates(key: pd.Series, frame: pd.DataFrame, good: np.ndarray, reason: np.ndarray,
                    detail: np.ndarray, row_no: np.ndarray, why: str = R_DUPLICATE) -> int:
    """Mark repeats of ``key`` among the ``good`` rows, in place; returns identical repeats.

    The first good row of a key wins. A later row identical to it in every
    column of ``frame`` is dropped from ``good`` and counted (it will be
    reported as unchanged); a later row that differs is quarantined with
    ``why``.
    """
    idx = np.flatnonzero(good)
    k = key.to_numpy()[idx]
    ks = pd.Series(k)
    dup = ks.duplicated(keep="first").to_numpy()
    if not dup.any():
        return 0
    row_hash = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    first = pd.Series(idx).groupby(ks.to_numpy()).transform("first").to_numpy()
    same = row_hash[idx] == row_hash[first]
    rep, diff = idx[dup & same], idx[dup & ~same]
    reason[diff] = why
    detail[diff] = [f"与第 {row_no[i]} 行编号相同" for i in first[dup & ~same]]
    good[rep] = False
    good[diff] = False
    return len(rep)
