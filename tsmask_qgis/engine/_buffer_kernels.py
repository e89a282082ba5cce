"""Numba kernel of the buffers in metres (``tsmask_qgis.engine.buffers``).

Imports numba: only :mod:`tsmask_qgis.engine.buffers` imports this module,
on the first call.
"""

from __future__ import annotations

import numba
import numpy as np

ngjit = numba.njit(nogil=True, cache=True, error_model="numpy")

_FAR = np.int64(1) << 40


@ngjit
def _row_distance(mask, value, dist):
    """``dist[r, c]``: columns from (r, c) to the nearest pixel of ``value`` in row r."""
    Y, X = mask.shape
    for r in range(Y):
        last = -_FAR
        for c in range(X):
            if mask[r, c] == value:
                last = c
            dist[r, c] = c - last
        last = _FAR
        for c in range(X - 1, -1, -1):
            if mask[r, c] == value:
                last = c
            d = last - c
            if d < dist[r, c]:
                dist[r, c] = d


@ngjit
def _near(dist, r, c, half, R):
    """True when some row r + i (|i| <= R) has a source within ``half[i + R]`` columns."""
    Y = dist.shape[0]
    for i in range(-R, R + 1):
        rr = r + i
        if rr < 0 or rr >= Y:
            continue
        w = half[i + R]
        if w >= 0 and dist[rr, c] <= w:
            return True
    return False


@ngjit
def buffer_date(mask, half_c, half_s, out):
    """Buffers of one date: ``mask`` (Y, X) uint8 into ``out``.

    ``half_c[i + Rc]`` (length 2 Rc + 1) is the widest column offset j with
    ``(i dy)^2 + (j dx)^2 <= cloud_m^2`` (-1 for none); likewise ``half_s``
    for shadow. Empty tables mean no buffer. Cloud is tested first.
    """
    Y, X = mask.shape
    Rc = (half_c.shape[0] - 1) // 2
    Rs = (half_s.shape[0] - 1) // 2
    dc = np.empty((Y, X), np.int64)
    ds = np.empty((Y, X), np.int64)
    if half_c.shape[0] > 0:
        _row_distance(mask, 2, dc)
    if half_s.shape[0] > 0:
        _row_distance(mask, 3, ds)
    changed = 0
    for r in range(Y):
        for c in range(X):
            v = mask[r, c]
            out[r, c] = v
            if v != 1:
                continue
            if half_c.shape[0] > 0 and _near(dc, r, c, half_c, Rc):
                out[r, c] = 2
                changed += 1
            elif half_s.shape[0] > 0 and _near(ds, r, c, half_s, Rs):
                out[r, c] = 3
                changed += 1
    return changed
