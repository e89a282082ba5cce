"""numba kernels of the composites: one pixel at a time over its clear dates.

Every kernel takes ``data`` ``(B, T, N)``, raw values (``nodata`` and NaN are
no data; a value divided by ``scale`` is reflectance), int16, uint16 or float,
``use`` ``(T, N)`` uint8 (1 = a clear date of this period) and writes ``out``
``(B, N)`` float32 (NaN where no date is usable) and ``count`` ``(N,)`` int16,
the number of clear dates used. Imported only where kernels run (threads of
this process, worker processes), never in the QGIS process.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["METHOD_CODES", "composite_pixels"]

#: Kernel codes of the methods (the public names are in ``_composite.METHODS``).
METHOD_CODES = {"median": 0, "mean": 1, "geomedian": 2, "medoid": 3}

_NAN = np.float32(np.nan)


@njit(cache=True, nogil=True)
def _select(v: np.ndarray, n: int, k: int) -> float:
    """The ``k``-th smallest of ``v[:n]`` (Hoare's selection in place, median-of-three
    pivots): afterwards ``v[:k]`` holds values no larger than it."""
    lo, hi = 0, n - 1
    while hi > lo:
        mid = (lo + hi) // 2
        if v[mid] < v[lo]:
            v[mid], v[lo] = v[lo], v[mid]
        if v[hi] < v[lo]:
            v[hi], v[lo] = v[lo], v[hi]
        if v[hi] < v[mid]:
            v[hi], v[mid] = v[mid], v[hi]
        pivot = v[mid]
        i, j = lo, hi
        while i <= j:
            while v[i] < pivot:
                i += 1
            while v[j] > pivot:
                j -= 1
            if i <= j:
                v[i], v[j] = v[j], v[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return float(v[k])


@njit(cache=True, nogil=True)
def _median_sorted(v: np.ndarray, n: int) -> float:
    """The median of ``v[:n]`` (reordering it): the middle value, or the mean of the two."""
    h = n // 2
    upper = _select(v, n, h)
    if n % 2:
        return upper
    lower = v[0]
    for i in range(1, h):
        if v[i] > lower:
            lower = v[i]
    return 0.5 * (float(lower) + upper)


@njit(cache=True, nogil=True)
def weiszfeld(obs, n, y, eps, maxiter):
    """Geometric median of the first ``n`` rows of ``obs`` into ``y`` (float64).

    Weiszfeld's iteration as modified by Vardi & Zhang (a point at the estimate is
    left out of the weights), started from the band means, until the estimate
    moves less than ``eps`` (Euclidean, reflectance units). Returns the iterations.
    """
    nb = obs.shape[1]
    for b in range(nb):
        acc = 0.0
        for i in range(n):
            acc += obs[i, b]
        y[b] = acc / n
    if n <= 2:
        return 0
    num = np.empty(nb)
    for it in range(maxiter):
        for b in range(nb):
            num[b] = 0.0
        den = 0.0
        for i in range(n):
            d2 = 0.0
            for b in range(nb):
                e = obs[i, b] - y[b]
                d2 += e * e
            d = np.sqrt(d2)
            if d > 1e-12:
                w = 1.0 / d
                den += w
                for b in range(nb):
                    num[b] += w * obs[i, b]
        if den == 0.0:
            return it
        move2 = 0.0
        for b in range(nb):
            nxt = num[b] / den
            e = nxt - y[b]
            move2 += e * e
            y[b] = nxt
        if np.sqrt(move2) < eps:
            return it + 1
    return maxiter


@njit(cache=True, nogil=True)
def _medoid(obs, n):
    """Index of the row of ``obs[:n]`` with the least summed distance to the others."""
    nb = obs.shape[1]
    best, best_sum = 0, np.inf
    for i in range(n):
        s = 0.0
        for j in range(n):
            if i != j:
                d2 = 0.0
                for b in range(nb):
                    e = obs[i, b] - obs[j, b]
                    d2 += e * e
                s += np.sqrt(d2)
        if s < best_sum:
            best, best_sum = i, s
    return best


#: Pixels gathered together: the dates of a block of neighbouring pixels are read
#: along rows of ``data`` (contiguous), not one pixel's dates far apart.
BLOCK = 64


@njit(cache=True, nogil=True)
def composite_pixels(data, use, method, nodata, scale, eps, maxiter, out, count):
    """The composite of every pixel of ``data`` (see the module docstring)."""
    nb, nt, npx = data.shape
    vals = np.empty((BLOCK, max(nt, 1)), np.float32)
    obs = np.empty((BLOCK, max(nt, 1), nb), np.float64)
    n = np.zeros(BLOCK, np.int64)
    ok = np.zeros(BLOCK, np.bool_)
    y = np.empty(nb)
    for p0 in range(0, npx, BLOCK):
        p1 = min(p0 + BLOCK, npx)
        for p in range(p0, p1):
            c = 0
            for t in range(nt):
                if use[t, p]:
                    c += 1
            count[p] = c
        if method <= 1:
            for b in range(nb):
                n[:] = 0
                for t in range(nt):
                    for p in range(p0, p1):
                        if use[t, p]:
                            v = data[b, t, p]
                            if v == v and v != nodata:
                                q = p - p0
                                vals[q, n[q]] = v / scale
                                n[q] += 1
                for p in range(p0, p1):
                    q = p - p0
                    k = n[q]
                    if k == 0:
                        out[b, p] = _NAN
                    elif method == 0:
                        out[b, p] = _median_sorted(vals[q], k)
                    else:
                        acc = 0.0
                        for i in range(k):
                            acc += vals[q, i]
                        out[b, p] = acc / k
            continue
        n[:] = 0
        for t in range(nt):
            for p in range(p0, p1):
                q = p - p0
                ok[q] = use[t, p] != 0
            for b in range(nb):
                for p in range(p0, p1):
                    q = p - p0
                    if ok[q]:
                        v = data[b, t, p]
                        if v != v or v == nodata:
                            ok[q] = False
                        else:
                            obs[q, n[q], b] = v / scale
            for p in range(p0, p1):
                q = p - p0
                if ok[q]:
                    n[q] += 1
        for p in range(p0, p1):
            q = p - p0
            k = n[q]
            if k == 0:
                for b in range(nb):
                    out[b, p] = _NAN
            elif method == 2:
                weiszfeld(obs[q], k, y, eps, maxiter)
                for b in range(nb):
                    out[b, p] = y[b]
            else:
                i = _medoid(obs[q], k)
                for b in range(nb):
                    out[b, p] = obs[q, i, b]
