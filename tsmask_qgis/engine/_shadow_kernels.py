"""Numba kernels of the cloud-shadow geometry step (docs/shadow_geometry.md).

Nothing but :mod:`tsmask_qgis.engine.shadow` imports this module: it imports
numba, which the QGIS process must never load.

Two kernels:

- :func:`vote_rows` (per pixel, over time): the "dark" vote of every
  pixel-date of a block of rows: +1 dark, -1 observed and not dark, 0 not a
  candidate (no observation, cloud, or no clear neighbours).
- :func:`shadow_date` (per date, over space): cloud objects, the best height
  of each, new shadow in the best footprints, and detected shadow that no
  cloud can reach returned to clear.

Float arithmetic is float32 in the order the specification prescribes;
scores and reach are integer counts and sets, so the result is exact.
"""

from __future__ import annotations

import numba
import numpy as np

ngjit = numba.njit(nogil=True, cache=True, error_model="numpy")

F6 = np.float32(6.0)


@ngjit
def _sa_row(b0, b1, b2, b3, b4, b5, y, is_int, nd, hasnd, scale, sa):
    """``sa[t, x]`` of row ``y`` (NaN where a band is missing or not finite)."""
    T = b0.shape[0]
    X = b0.shape[2]
    nan = np.float32(np.nan)
    for t in range(T):
        for x in range(X):
            v0 = b0[t, y, x]
            v1 = b1[t, y, x]
            v2 = b2[t, y, x]
            v3 = b3[t, y, x]
            v4 = b4[t, y, x]
            v5 = b5[t, y, x]
            obs = True
            if hasnd[0] and np.float64(v0) == nd[0]:
                obs = False
            if hasnd[1] and np.float64(v1) == nd[1]:
                obs = False
            if hasnd[2] and np.float64(v2) == nd[2]:
                obs = False
            if hasnd[3] and np.float64(v3) == nd[3]:
                obs = False
            if hasnd[4] and np.float64(v4) == nd[4]:
                obs = False
            if hasnd[5] and np.float64(v5) == nd[5]:
                obs = False
            r0 = np.float32(v0) / scale
            r1 = np.float32(v1) / scale
            r2 = np.float32(v2) / scale
            r3 = np.float32(v3) / scale
            r4 = np.float32(v4) / scale
            r5 = np.float32(v5) / scale
            if not is_int:
                obs = (
                    obs
                    and np.isfinite(r0)
                    and np.isfinite(r1)
                    and np.isfinite(r2)
                    and np.isfinite(r3)
                    and np.isfinite(r4)
                    and np.isfinite(r5)
                )
            s = (r0 + r1 + r2 + r3 + r4 + r5) / F6
            sa[t, x] = s if obs else nan


@ngjit
def vote_rows(b0, b1, b2, b3, b4, b5, mask, is_int, nd, hasnd, scale, keep, out):
    """The dark vote of every pixel-date of a block of rows.

    ``b0..b5``: the six bands (T, Yb, X) of the block; ``mask`` (T, Yb, X)
    uint8 classes; ``keep`` = float32(1 - shadow_drop); ``out`` (T, Yb, X)
    int8 receives +1 (dark), -1 (candidate, not dark) or 0 (not a candidate).
    """
    T, Y, X = mask.shape
    sa = np.empty((T, X), np.float32)
    clear = np.empty(T, np.int64)
    for y in range(Y):
        _sa_row(b0, b1, b2, b3, b4, b5, y, is_int, nd, hasnd, scale, sa)
        for x in range(X):
            n = 0
            for t in range(T):
                if mask[t, y, x] == 1 and np.isfinite(sa[t, x]):
                    clear[n] = t
                    n += 1
            i = 0  # clear dates before t: clear[0:i]
            for t in range(T):
                while i < n and clear[i] < t:
                    i += 1
                lab = mask[t, y, x]
                s = sa[t, x]
                if (lab != 1 and lab != 3) or not np.isfinite(s):
                    out[t, y, x] = 0
                    continue
                j = i + 1 if (i < n and clear[i] == t) else i  # first clear date after t
                if i >= 1 and j < n:
                    a1 = sa[clear[i - 1], x]  # left 1, right 1
                    a2 = sa[clear[j], x]
                elif i >= 2:
                    a1 = sa[clear[i - 1], x]  # right finished: left 1, left 2
                    a2 = sa[clear[i - 2], x]
                elif j + 1 < n:
                    a1 = sa[clear[j], x]  # left finished: right 1, right 2
                    a2 = sa[clear[j + 1], x]
                else:
                    out[t, y, x] = 0
                    continue
                ref = a1 if a1 < a2 else a2
                out[t, y, x] = np.int8(1) if s < keep * ref else np.int8(-1)


@ngjit
def _label_objects(mask, labels, pix, starts):
    """8-connected objects of class 2, numbered in raster order of their first pixel.

    ``labels`` (Y*X,) int32 is filled with the object number (-1 elsewhere);
    ``pix`` receives the flat indices of each object's pixels in breadth-first
    order, object k at ``pix[starts[k]:starts[k + 1]]``. Returns the count.
    """
    Y, X = mask.shape
    for i in range(Y * X):
        labels[i] = -1
    n_obj = 0
    top = 0
    for r0 in range(Y):
        for c0 in range(X):
            i0 = r0 * X + c0
            if mask[r0, c0] != 2 or labels[i0] >= 0:
                continue
            starts[n_obj] = top
            labels[i0] = n_obj
            pix[top] = i0
            head = top
            top += 1
            while head < top:
                p = pix[head]
                head += 1
                r = p // X
                c = p - r * X
                for dr in range(-1, 2):
                    rr = r + dr
                    if rr < 0 or rr >= Y:
                        continue
                    for dc in range(-1, 2):
                        cc = c + dc
                        if cc < 0 or cc >= X:
                            continue
                        q = rr * X + cc
                        if mask[rr, cc] == 2 and labels[q] < 0:
                            labels[q] = n_obj
                            pix[top] = q
                            top += 1
            n_obj += 1
    starts[n_obj] = top
    return n_obj


@ngjit
def _is_src(mask, r, c, cloud_only):
    """True when (r, c) is inside the grid and a source: cloud (or, for reach, no observation)."""
    Y, X = mask.shape
    if r < 0 or r >= Y or c < 0 or c >= X:
        return False
    v = mask[r, c]
    return v == 2 or (not cloud_only and v == 0)


@ngjit
def _edge_list(mask, cells, lo, hi, dr, dc, sign, cloud_only, pr, pc, wp, dst):
    """Cells ``cells[lo:hi]`` (flat indices of the grid) whose neighbour at
    ``sign * (dr, dc)`` is not a source, written to ``dst`` as flat indices of the
    padded grid (``pr`` rows and ``pc`` columns of padding, width ``wp``); count
    returned."""
    X = mask.shape[1]
    n = 0
    for k in range(lo, hi):
        p = cells[k]
        r = p // X
        c = p - r * X
        if not _is_src(mask, r + sign * dr, c + sign * dc, cloud_only):
            dst[n] = (r + pr) * wp + c + pc
            n += 1
    return n


@ngjit
def _padded_sum(vp, cells, n, shift):
    """Sum of the padded votes ``vp`` (flat) at ``cells[:n] + shift``."""
    s = 0
    for k in range(n):
        s += vp[cells[k] + shift]
    return s


@ngjit
def _usable_offsets(offs, Y, X):
    """Leading offsets that can put a pixel of the grid back on the grid (at least one).

    Offsets grow monotonically in both axes, so these are a prefix; beyond it every
    footprint lies wholly outside (score 0, never a best above 0; marks nothing).
    """
    K = offs.shape[0]
    k = 1
    while k < K and abs(offs[k, 0]) < Y and abs(offs[k, 1]) < X:
        k += 1
    return k


@ngjit
def shadow_date(mask, vote, offs, step_of, steps, min_pixels, recheck, out, obj_info):
    """The geometry step on one date.

    ``mask`` (Y, X) uint8 classes after detection; ``vote`` (Y, X) int8 from
    :func:`vote_rows`; ``offs`` (K, 2) int64 candidate offsets (rows, cols)
    from a cloud pixel to its shadow, nearest first; ``step_of`` (K,) int64
    the index into ``steps`` (S, 2) of ``offs[k] - offs[k - 1]`` (each step
    is one of the 8 neighbour moves); ``out`` (Y, X) receives the new
    classes; ``obj_info`` (n, 3) int64 (n > number of objects) receives, per
    object, its size, the index of its best offset (-1 when not matched) and
    its best score. With ``recheck``, detected shadow whose vote is -1 (not
    dark) becomes clear. Returns ``(objects, new shadow pixels, shadow
    returned to clear as unreachable, shadow returned to clear as not dark)``.

    The score of each object is updated along the search from the object's
    boundary pixels only (pixels entering and leaving the footprint), on a
    zero-padded copy of the votes so no position needs a bounds check.
    """
    Y, X = mask.shape
    K = offs.shape[0]
    S = steps.shape[0]
    npx = Y * X
    for r in range(Y):
        for c in range(X):
            out[r, c] = mask[r, c]
    KU = _usable_offsets(offs, Y, X)
    pr = 0
    pc = 0
    for k in range(KU):
        pr = max(pr, abs(offs[k, 0]))
        pc = max(pc, abs(offs[k, 1]))
    wp = X + 2 * pc
    hp = Y + 2 * pr
    vp = np.zeros(hp * wp, np.int8)
    for r in range(Y):
        for c in range(X):
            vp[(r + pr) * wp + c + pc] = vote[r, c]
    shift = np.empty(KU, np.int64)
    for k in range(KU):
        shift[k] = offs[k, 0] * wp + offs[k, 1]
    labels = np.empty(npx, np.int32)
    pix = np.empty(npx, np.int64)
    starts = np.empty(npx + 1, np.int64)
    n_obj = _label_objects(mask, labels, pix, starts)
    cells = np.empty(npx, np.int64)
    bp = np.empty((S, npx), np.int64)
    bm = np.empty((S, npx), np.int64)
    nbp = np.zeros(S, np.int64)
    nbm = np.zeros(S, np.int64)
    added = 0
    # ---- match every object large enough ---------------------------------------------
    for o in range(n_obj):
        lo = starts[o]
        hi = starts[o + 1]
        size = hi - lo
        obj_info[o, 0] = size
        obj_info[o, 1] = -1
        obj_info[o, 2] = 0
        if size < min_pixels:
            continue
        for k in range(lo, hi):
            p = pix[k]
            r = p // X
            cells[k - lo] = (r + pr) * wp + p - r * X + pc
        for s in range(S):
            sr = steps[s, 0]
            sc = steps[s, 1]
            nbp[s] = _edge_list(mask, pix, lo, hi, sr, sc, 1, True, pr, pc, wp, bp[s])
            nbm[s] = _edge_list(mask, pix, lo, hi, sr, sc, -1, True, pr, pc, wp, bm[s])
        score = _padded_sum(vp, cells, size, shift[0])
        best = score
        best_k = 0
        for k in range(1, KU):
            s = step_of[k]
            score += _padded_sum(vp, bp[s], nbp[s], shift[k])
            score -= _padded_sum(vp, bm[s], nbm[s], shift[k - 1])
            if score > best:
                best = score
                best_k = k
        obj_info[o, 2] = best
        if best <= 0:
            continue
        obj_info[o, 1] = best_k
        orow = offs[best_k, 0]
        ocol = offs[best_k, 1]
        for k in range(lo, hi):
            p = pix[k]
            r = p // X + orow
            c = p - (p // X) * X + ocol
            if 0 <= r < Y and 0 <= c < X and vote[r, c] == 1:
                if out[r, c] != 3:
                    added += 1
                out[r, c] = 3
    # ---- detected shadow that is not dark ------------------------------------------------
    bright = 0
    has3 = False
    for r in range(Y):
        for c in range(X):
            if mask[r, c] == 3:
                if recheck and vote[r, c] == -1:
                    out[r, c] = 1
                    bright += 1
                else:
                    has3 = True
    # ---- reach: every pixel a cloud (or an unseen pixel) can shade -----------------------
    removed = 0
    if has3:
        reach = np.zeros(hp * wp, np.uint8)
        src = np.empty(npx, np.int64)
        nsrc = 0
        for r in range(Y):
            for c in range(X):
                if mask[r, c] == 2 or mask[r, c] == 0:
                    src[nsrc] = r * X + c
                    nsrc += 1
        for k in range(nsrc):
            p = src[k]
            r = p // X
            cells[k] = (r + pr) * wp + p - r * X + pc
        _mark(reach, cells, nsrc, shift[0])
        for s in range(S):
            sr = steps[s, 0]
            sc = steps[s, 1]
            nbp[s] = _edge_list(mask, src, 0, nsrc, sr, sc, 1, False, pr, pc, wp, bp[s])
        for k in range(1, KU):
            s = step_of[k]
            _mark(reach, bp[s], nbp[s], shift[k])
        r_first = offs[0, 0]
        c_first = offs[0, 1]
        r_last = offs[K - 1, 0]
        c_last = offs[K - 1, 1]
        for r in range(Y):
            for c in range(X):
                if out[r, c] != 3 or mask[r, c] != 3 or reach[(r + pr) * wp + c + pc]:
                    continue
                # the ray towards the sun leaves the grid: a cloud may be out there
                rf = r - r_first
                cf = c - c_first
                rl = r - r_last
                cl = c - c_last
                if not (0 <= rf < Y and 0 <= cf < X and 0 <= rl < Y and 0 <= cl < X):
                    continue
                out[r, c] = 1
                removed += 1
    return n_obj, added, removed, bright


@ngjit
def _mark(reach, cells, n, shift):
    for k in range(n):
        reach[cells[k] + shift] = 1
