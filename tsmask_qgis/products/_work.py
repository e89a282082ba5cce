"""One piece of composite work: a strip of full-width rows of one period of a tile.

The same function runs in a thread of this process (numpy arrays) and in a
worker process of the engine's pool (shared-memory references, through the
pool's ``call`` task). Imports numba only when it runs.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import numpy as np

__all__ = ["Strip", "composite_strip", "composite_strip_shared"]

#: ``(period, t0, t1, y0, y1)``: the period's position in the output, its date range
#: within the tile's dates and the rows of the strip.
Strip = tuple[int, int, int, int, int]


def composite_strip(
    data: np.ndarray,
    use: np.ndarray,
    out: np.ndarray,
    count: np.ndarray,
    strip: Strip,
    method: int,
    nodata: float,
    scale: float,
    eps: float,
    maxiter: int,
) -> int:
    """Composite the strip in place: ``data`` ``(B, T, Y, X)``, ``use`` ``(T, Y, X)``,
    ``out`` ``(P, B, Y, X)``, ``count`` ``(P, Y, X)``; returns its pixels."""
    from tsmask_qgis.products._kernels import composite_pixels

    p, t0, t1, y0, y1 = strip
    nb, _nt, _ny, nx = data.shape
    npx = (y1 - y0) * nx
    d = data[:, t0:t1, y0:y1].reshape(nb, t1 - t0, npx)
    u = use[t0:t1, y0:y1].reshape(t1 - t0, npx)
    o = out[p, :, y0:y1].reshape(nb, npx)
    c = count[p, y0:y1].reshape(npx)
    composite_pixels(d, u, method, nodata, scale, eps, maxiter, o, c)
    if not (np.shares_memory(o, out) and np.shares_memory(c, count)):  # pragma: no cover
        out[p, :, y0:y1] = o.reshape(nb, y1 - y0, nx)
        count[p, y0:y1] = c.reshape(y1 - y0, nx)
    return npx


def composite_strip_shared(refs: tuple[Any, ...], strip: Strip, *options: Any) -> int:
    """:func:`composite_strip` on the engine pool's shared arrays (a worker's task)."""
    from tsmask_qgis.engine._shared import open_array

    with ExitStack() as stack:
        data, use, out, count = (
            stack.enter_context(open_array(r, write=i >= 2)) for i, r in enumerate(refs)
        )
        n = composite_strip(data, use, out, count, strip, *options)
        del data, use, out, count
    return n
