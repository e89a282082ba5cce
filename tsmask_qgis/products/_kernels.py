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
def _median_sorted(v: np.ndarray, n: int) -> float:
    s = np.sort(v[:n])
    h = n // 2
    if n % 2:
        return float(s[h])
    return 0.5 * (float(s[h - 1]) + float(s[h]))


@njit(cache=True, nogil=True)
def _per_band(data, use, p, method, nodata, scale, out, buf):
    """Median or mean per band over the clear dates with a value in that band."""
    nb, nt = data.shape[0], data.shape[1]
    for b in range(nb):
        n = 0
        for t in range(nt):
            if use[t, p]:
                v = data[b, t, p]
                if v == v and v != nodata:
                    buf[n] = v / scale
                    n += 1
        if n == 0:
            out[b, p] = _NAN
        elif method == 0:
            out[b, p] = _median_sorted(buf, n)
        else:
            acc = 0.0
            for i in range(n):
                acc += buf[i]
            out[b, p] = acc / n


@njit(cache=True, nogil=True)
def _gather(data, use, p, nodata, scale, obs):
    """The clear dates of pixel ``p`` with a value in every band, as rows of ``obs``."""
    nb, nt = data.shape[0], data.shape[1]
    n = 0
    for t in range(nt):
        if not use[t, p]:
            continue
        ok = True
        for b in range(nb):
            v = data[b, t, p]
            if v != v or v == nodata:
                ok = False
                break
        if ok:
            for b in range(nb):
                obs[n, b] = data[b, t, p] / scale
            n += 1
    return n


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


@njit(cache=True, nogil=True)
def composite_pixels(data, use, method, nodata, scale, eps, maxiter, out, count):
    """The composite of every pixel of ``data`` (see the module docstring)."""
    nb, nt, npx = data.shape
    buf = np.empty(nt, np.float32)
    obs = np.empty((nt, nb), np.float64)
    y = np.empty(nb)
    for p in range(npx):
        c = 0
        for t in range(nt):
            if use[t, p]:
                c += 1
        count[p] = c
        if method <= 1:
            _per_band(data, use, p, method, nodata, scale, out, buf)
            continue
        n = _gather(data, use, p, nodata, scale, obs)
        if n == 0:
            for b in range(nb):
                out[b, p] = _NAN
        elif method == 2:
            weiszfeld(obs, n, y, eps, maxiter)
            for b in range(nb):
                out[b, p] = y[b]
        else:
            k = _medoid(obs, n)
            for b in range(nb):
                out[b, p] = obs[k, b]
