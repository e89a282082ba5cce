"""Numba kernels of the tsmask engine (algorithm.md, both presets, exact).

Nothing outside :mod:`tsmask_qgis.engine._core` imports this module: it imports
numba, which the QGIS process must never load.

Layout: the detection kernels read the (band, time, y, x) cube as it comes (as
a flat 1-D view plus element strides, so any y/x slice runs without a copy and
the x loop is contiguous and vectorised) and transpose it in blocks of ``XB``
pixels along x, computing every per-date
quantity the temporal part needs (``sa``, observation and dark flags, the
post-rule conditions) once, into small pixel-major scratch arrays. The
per-pixel passes then only touch those.

All arithmetic is float32 with float32 thresholds, in the order algorithm.md
prescribes; ``error_model="numpy"`` gives IEEE results (inf/NaN) for divisions
by zero instead of exceptions.
"""

from __future__ import annotations

import numba
import numpy as np

ngjit = numba.njit(nogil=True, cache=True, error_model="numpy")

#: Pixels per transpose block along x.
XB = 64

F0 = np.float32(0.0)
F1 = np.float32(1.0)
F2 = np.float32(2.0)
F6 = np.float32(6.0)
F8 = np.float32(8.0)

# Per pixel-date flag bits (bits 0-1 hold the initial label; all zero when not observed).
LAB0 = np.uint8(3)
DARK = np.uint8(4)  # sa > dark_sa or mndwi > dark_mndwi (a usable neighbour)
P3 = np.uint8(8)  # post rule: shadow -> clear
P2 = np.uint8(16)  # post rule: cloud -> clear
P1 = np.uint8(32)  # post rule: clear -> cloud (seed's thin cloud)

# Indices into the float32 threshold vector built by _core.thresholds().
TH_BRIGHT = 0
TH_CSPIKE = 1
TH_SSPIKE = 2
TH_CFLOOR = 3
TH_SCEIL = 4
TH_DARK_SA = 5
TH_DARK_MNDWI = 6
TH_DWI = 7
TH_THD = 8
TH_LAND = 9
TH_AVI = 10
TH_WTD = 11
TH_WBI = 12
TH_RGM_LO = 13
TH_RGM_HI = 14
TH_TMNDWI = 15
TH_GRBM = 16
TH_CLOUD2 = 17
TH_THIN_ON = 18
TH_THIN_TEMPORAL = 19  # > 0: the thin-cloud rule needs the temporal confirmation
N_TH = 20


# --------------------------------------------------------------------------------------
# Per-date quantities, transposed block by block
# --------------------------------------------------------------------------------------


@ngjit
def _prep_block(
    src, base, s_b, s_t, T, nb, is_int, has_nodata, nodata, scale, th, sa_b, fl_b, rsa, rfl, bl_b
):
    """Fill ``sa_b[j, t]`` and ``fl_b[j, t]`` for the nb pixels at ``src[base + j]``.

    ``src`` is the flat cube, band b of date t at offset ``b*s_b + t*s_t`` (x
    contiguous). ``rsa``/``rfl`` are length-XB row buffers so the arithmetic
    runs contiguously along x (vectorised) before the scatter to pixel-major.
    ``bl_b[j, t]`` gets the blue reflectance when the thin-cloud rule is temporal
    (else ``bl_b`` is not touched and may be empty).
    """
    bright = th[TH_BRIGHT]
    dark_sa = th[TH_DARK_SA]
    dark_mndwi = th[TH_DARK_MNDWI]
    dwi = th[TH_DWI]
    thd = th[TH_THD]
    land = th[TH_LAND]
    avi = th[TH_AVI]
    wtd = th[TH_WTD]
    wbi_t = th[TH_WBI]
    rgm_lo = th[TH_RGM_LO]
    rgm_hi = th[TH_RGM_HI]
    tmndwi = th[TH_TMNDWI]
    grbm_t = th[TH_GRBM]
    cloud2 = th[TH_CLOUD2]
    thin_on = th[TH_THIN_ON] > F0
    keep_blue = th[TH_THIN_TEMPORAL] > F0
    for t in range(T):
        if keep_blue:
            o = base + t * s_t
            for j in range(nb):
                bl_b[j, t] = np.float32(src[o + j]) / scale
        o = base + t * s_t
        for j in range(nb):
            x = o + j
            v0 = src[x]
            v1 = src[x + s_b]
            v2 = src[x + 2 * s_b]
            v3 = src[x + 3 * s_b]
            v4 = src[x + 4 * s_b]
            v5 = src[x + 5 * s_b]
            blue = np.float32(v0) / scale
            green = np.float32(v1) / scale
            red = np.float32(v2) / scale
            nir = np.float32(v3) / scale
            swir1 = np.float32(v4) / scale
            swir2 = np.float32(v5) / scale
            # Branch-free: comparisons combined with & (no short-circuit jumps).
            obs = True
            if has_nodata:
                obs = (
                    (np.float64(v0) != nodata)
                    & (np.float64(v1) != nodata)
                    & (np.float64(v2) != nodata)
                    & (np.float64(v3) != nodata)
                    & (np.float64(v4) != nodata)
                    & (np.float64(v5) != nodata)
                )
            if not is_int:
                obs = (
                    obs
                    & np.isfinite(blue)
                    & np.isfinite(green)
                    & np.isfinite(red)
                    & np.isfinite(nir)
                    & np.isfinite(swir1)
                    & np.isfinite(swir2)
                )
            sa = (blue + green + red + nir + swir1 + swir2) / F6
            mndwi = (green - swir1) / (green + swir1)
            a = F2 * nir + F1
            msavi = (a - np.sqrt(a * a - F8 * (nir - red))) / F2
            wbi = (red - blue) / blue
            rgm = red + blue
            h = (red + blue) / F2
            grbm = (green - h) / h
            dark = (sa > dark_sa) | (mndwi > dark_mndwi)
            p3 = ((mndwi > dwi) & (sa < thd)) | ((msavi < avi) & (mndwi > wtd))
            p2 = (sa < cloud2) | (mndwi < land)
            p1 = (
                thin_on
                & (wbi < wbi_t)
                & (rgm_lo < rgm)
                & (rgm < rgm_hi)
                & (mndwi < tmndwi)
                & (grbm < grbm_t)
            )
            # bits 0-1: the initial label (0 no observation, 1 clear, 2 bright cloud)
            f = (np.uint8(1) + np.uint8(sa > bright)) | (
                (np.uint8(dark) << 2)
                | (np.uint8(p3) << 3)
                | (np.uint8(p2) << 4)
                | (np.uint8(p1) << 5)
            )
            f = f * np.uint8(obs)
            rsa[j] = sa
            rfl[j] = f
        for j in range(nb):
            sa_b[j, t] = rsa[j]
            fl_b[j, t] = rfl[j]


@ngjit
def _init_labels(fl, lab, T):
    for t in range(T):
        lab[t] = fl[t] & LAB0


@ngjit
def _thin_temporal(fl, lab, bl, T, th):
    """Seed's temporal thin cloud (algorithm.md): drop the thin-cloud bit of every date
    whose blue is not more than ``1 + cloud_spike`` times the mean blue of its two
    nearest clear dates. Reads the labels before the post rules; changes only bits."""
    spike = th[TH_CSPIKE]
    for t in range(T):
        if lab[t] != 1 or (fl[t] & P1) == 0:
            continue
        taken = 0
        acc = F0
        left = t - 1
        right = t + 1
        left_done = False
        right_done = False
        go_left = True
        while taken < 2 and not (left_done and right_done):
            if go_left and left_done:
                go_left = False
            if (not go_left) and right_done:
                go_left = True
            if go_left:
                while left >= 0 and not (lab[left] == 1 and (fl[left] & DARK) != 0):
                    left -= 1
                if left < 0:
                    left_done = True
                else:
                    acc = acc + bl[left]
                    taken += 1
                    left -= 1
                go_left = False
            else:
                while right < T and not (lab[right] == 1 and (fl[right] & DARK) != 0):
                    right += 1
                if right >= T:
                    right_done = True
                else:
                    acc = acc + bl[right]
                    taken += 1
                    right += 1
                go_left = True
        mid = acc / F2 if taken >= 2 else F0
        b = bl[t]
        if not (b > mid and mid > F0 and (b - mid) / mid > spike):
            fl[t] = fl[t] & ~P1


@ngjit
def _post_rules(fl, lab, T):
    """Post rules; each tests the label from before any post rule ran (branch-free)."""
    for t in range(T):
        v = lab[t]
        f = fl[t]
        c3 = np.uint8((v == 3) & ((f & P3) != 0))
        c2 = np.uint8((v == 2) & ((f & P2) != 0))
        c1 = np.uint8((v == 1) & ((f & P1) != 0))
        lab[t] = v - np.uint8(2) * c3 - c2 + c1


# --------------------------------------------------------------------------------------
# Window walks and tests shared by the passes (tests/engine/simple_kernels.py holds
# the straightforward passes that use them literally, for the tests)
# --------------------------------------------------------------------------------------


@ngjit
def _seed_walk(li, ri, N, n, csa, cok, cl):
    """Seed neighbour mean of the window between positions li and ri (both excluded).

    The alternating walk on the current labels, starting at li (leftwards)
    and ri (rightwards).
    """
    return _seed_walk_ext(li, ri, N, n, csa, cok, cl)[0]


@ngjit
def _seed_walk_ext(li, ri, N, n, csa, cok, cl):
    """:func:`_seed_walk` plus the range of positions it examined (lo, hi)."""
    need = 2 * N
    taken = 0
    s = F0
    lfin = False
    rfin = False
    left = True
    lo = li + 1
    hi = ri - 1
    while taken < need and not (lfin and rfin):
        if left:
            if not lfin:
                while li >= 0 and not (cl[li] == 1 and cok[li]):
                    li -= 1
                if li < 0:
                    lfin = True
                    lo = 0
                else:
                    s += csa[li]
                    taken += 1
                    lo = li
                    li -= 1
            left = False
        else:
            if not rfin:
                while ri < n and not (cl[ri] == 1 and cok[ri]):
                    ri += 1
                if ri >= n:
                    rfin = True
                    hi = n - 1
                else:
                    s += csa[ri]
                    taken += 1
                    hi = ri
                    ri += 1
            left = True
    if taken < need:
        return F0, 0, n - 1
    return s / np.float32(need), lo, hi


@ngjit
def _seed_test(m2, mid, th):
    """0: no change, 2: cloud, 3: shadow (seed step 6)."""
    if m2 > mid and mid > F0 and (m2 - mid) / mid > th[TH_CSPIKE] and m2 > th[TH_CFLOOR]:
        return 2
    if mid > m2 and mid > F0 and (mid - m2) / m2 > th[TH_SSPIKE] and m2 < th[TH_SCEIL]:
        return 3
    return 0


@ngjit
def _dea_side(start, stop, step, N, csa, cok, cl):
    """Mean of the first N good positions walking start, start+step, ... (stop excluded).

    Returns (mean, found) with found False when fewer than N exist.
    """
    s = F0
    c = 0
    i = start
    while i != stop and c < N:
        if cl[i] == 1 and cok[i]:
            s += csa[i]
            c += 1
        i += step
    if c < N:
        return F0, False
    return s / np.float32(N), True


@ngjit
def _first_at_or_after(C, n, date):
    """First position whose date is >= date (n if none)."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if C[mid] < date:
            lo = mid + 1
        else:
            hi = mid
    return lo


@ngjit
def _dea_test(m2, mid, th):
    """0: no change, 2: cloud, 3: shadow (dea step 3; "otherwise" is the else of m2 > mid)."""
    if m2 > mid:
        if (m2 - mid) / mid > th[TH_CSPIKE] and m2 > th[TH_CFLOOR]:
            return 2
    elif (mid - m2) / m2 > th[TH_SSPIKE] and m2 < th[TH_SCEIL]:
        return 3
    return 0


@ngjit
def _dea_visit(k, e, N, n, C, csa, cok, cl, th):
    """Test the dea window of positions k..e on the current labels: 0 no change,
    2 cloud, 3 shadow. (e = k + N - 1, or further when positions in between are
    no longer clear.)"""
    s = F0
    c = 0
    for i in range(k, e + 1):
        if cl[i] == 1:
            s += csa[i]
            c += 1
    if c == 0:
        return 0
    m2 = s / np.float32(c)
    a = C[k]
    b = C[e]
    h = (3 * N) // 2
    m1, ok = _dea_side(k - 1, -1, -1, N, csa, cok, cl)
    if not ok:
        p = _first_at_or_after(C, n, b + 1 + h)
        m1, ok = _dea_side(p, n, 1, N, csa, cok, cl)
    m3, ok = _dea_side(e + 1, n, 1, N, csa, cok, cl)
    if not ok:
        # positions with date <= a - h - 1, downwards
        p = _first_at_or_after(C, n, a - h) - 1
        m3, ok = _dea_side(p, -1, -1, N, csa, cok, cl)
    return _dea_test(m2, (m1 + m3) / F2, th)


# --------------------------------------------------------------------------------------
# Spatial steps, per date, on whole images
# --------------------------------------------------------------------------------------


@ngjit
def seed_filter(mask, out, min_count):
    """Seed spatial filter of every date of ``mask`` (t, Y, X) into ``out``."""
    nt, Y, X = mask.shape
    for t in range(nt):
        for r in range(Y):
            for c in range(X):
                out[t, r, c] = mask[t, r, c]
        for r in range(1, Y - 1):
            for c in range(1, X - 1):
                v = out[t, r, c]
                if v == 2 or v == 3:
                    cnt = 0
                    for dr in range(-1, 2):
                        for dc in range(-1, 2):
                            w = out[t, r + dr, c + dc]
                            if w == 2 or w == 3:
                                cnt += 1
                    if cnt < min_count:
                        out[t, r, c] = 1


@ngjit
def seed_buffer(mask, out):
    """Seed spatial buffer of every date of ``mask`` (t, Y, X) into ``out``."""
    nt, Y, X = mask.shape
    cp = np.empty((Y, X), np.uint8)
    for t in range(nt):
        for r in range(Y):
            for c in range(X):
                cp[r, c] = mask[t, r, c]
        for r in range(1, Y - 1):
            for c in range(1, X - 1):
                v = mask[t, r, c]
                if v == 2 or v == 3:
                    for dr in range(-1, 2):
                        for dc in range(-1, 2):
                            cp[r + dr, c + dc] = v
        for r in range(Y):
            for c in range(X):
                v = mask[t, r, c]
                out[t, r, c] = cp[r, c] if v == 1 else v


@ngjit
def majority(mask, out, min_count):
    """One dea majority filter of every date of ``mask`` (t, Y, X) into ``out``.

    Branch-free per pixel: counts of clear and of cloud/shadow neighbours (0
    never counts) and the sum of the cloud/shadow labels.
    """
    nt, Y, X = mask.shape
    for t in range(nt):
        for r in range(Y):
            for c in range(X):
                out[t, r, c] = mask[t, r, c]
        for r in range(1, Y - 1):
            for c in range(1, X - 1):
                v = np.int64(mask[t, r, c])
                n1 = 0
                n23 = 0
                s23 = 0
                for dr in range(-1, 2):
                    for dc in range(-1, 2):
                        w = np.int64(mask[t, r + dr, c + dc])
                        is1 = np.int64(w == 1)
                        is23 = np.int64(w >= 2)
                        n1 += is1
                        n23 += is23
                        s23 += is23 * w
                # the centre itself was counted above: take it out again
                c1 = np.int64(v == 1)
                c23 = np.int64(v >= 2)
                n1 -= c1
                n23 -= c23
                s23 -= c23 * v
                if c1 == 1:
                    if n23 > min_count:
                        out[t, r, c] = (2 * s23 + n23) // (2 * n23)
                elif c23 == 1:
                    if n1 > min_count:
                        out[t, r, c] = 1


# --------------------------------------------------------------------------------------
# Tuned passes: no sorting
#
# Visiting a window whose test changes nothing has no effect. So every window
# is first tested against the pass-start labels (all positions of C are 1
# then, so the neighbour walk reduces to indexing the list of dark_ok
# positions); only the windows that pass go into a heap keyed by the exact
# visit order. When a popped window changes labels, the not-yet-visited
# windows whose walk (or, in dea, own window) covers the changed positions are
# pushed too. Every popped window is re-tested exactly on the current labels,
# so the result is that of the full sorted visit. The first tests run as
# simple loops over the windows (vectorised); when none passes, the pass ends
# there, before any per-pass set-up of labels, extents or heap.
#
# Passes that cannot change anything are skipped: a pass depends only on N and
# the labels, so after a pass with N that changed nothing, the next one with
# the same N on the same labels is a no-op; and after a pass that did change
# labels, a repeat with the same N is proven a no-op (or not) by testing only
# the windows whose walk met a change (_seed_repeat_noop/_dea_repeat_noop).
# On a realistic scene the seed passes 1, 1, 1, 2, 2, 3, 1 then run as about
# 1, check, 0, 1, 0.2, 1, 0.2 full passes.
# --------------------------------------------------------------------------------------


@ngjit
def _before(a, b, key):
    """True when window a is visited before window b.

    Visit order: key descending, ties larger index first; NaN keys first (the
    reverse of a stable ascending sort, which puts NaN last).
    """
    ka = key[a]
    kb = key[b]
    if ka > kb:
        return True
    if ka < kb:
        return False
    if ka == kb:
        return a > b
    na = np.isnan(ka)
    if na == np.isnan(kb):
        return a > b
    return na


@ngjit
def _heap_push(heap, hn, k, key):
    i = hn
    heap[i] = k
    while i > 0:
        p = (i - 1) >> 1
        if _before(heap[i], heap[p], key):
            tmp = heap[p]
            heap[p] = heap[i]
            heap[i] = tmp
            i = p
        else:
            break
    return hn + 1


@ngjit
def _heap_pop(heap, hn, key):
    top = heap[0]
    hn -= 1
    if hn > 0:
        heap[0] = heap[hn]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= hn:
                break
            if c + 1 < hn and _before(heap[c + 1], heap[c], key):
                c += 1
            if _before(heap[c], heap[i], key):
                tmp = heap[c]
                heap[c] = heap[i]
                heap[i] = tmp
                i = c
            else:
                break
    return top, hn


@ngjit
def _gather(sa, fl, lab, T, C, csa, cok, okv, okp, cntL):
    """Positions of the clear dates, their sa and dark_ok, and the dark_ok index.

    One branch-free loop. Returns (n, nok); ``cntL[i]`` is the number of
    dark_ok positions before position i, ``okv``/``okp`` the sa and position
    of the dark_ok positions in order. (The pass's labels and change flags
    are set only when some window passes its first test.)
    """
    n = 0
    nok = 0
    for t in range(T):
        v = sa[t]
        is1 = lab[t] == 1
        ok = is1 & ((fl[t] & DARK) != 0)
        C[n] = t
        csa[n] = v
        cok[n] = ok
        cntL[n] = nok
        okv[nok] = v
        okp[nok] = n
        nok += ok
        n += is1
    cntL[n] = nok
    return n, nok


@ngjit
def _window_means(nw, N, csa, m):
    """``m[k]``: the float32 left-to-right sum of csa[k..k+N-1] from +0.0, over N.

    In loops over the windows (vectorised); 1/N is exact for N a power of two,
    so the product equals the quotient there.
    """
    for k in range(nw):
        m[k] = F0  # running sums start from +0.0 (an sa of -0.0 counts as +0.0)
    for i in range(N):
        for k in range(nw):
            m[k] += csa[k + i]
    fN = np.float32(N)
    if (N & (N - 1)) == 0:
        invN = F1 / fN
        for k in range(nw):
            m[k] *= invN
    else:
        for k in range(nw):
            m[k] /= fN


@ngjit
def _seed_mid_edge(k, N, n, nok, okv, okp, cntL):
    """Pass-start neighbour mean and walk extent of a window near a series end."""
    need = 2 * N
    L = cntL[k]
    Rs = cntL[k + N]
    R = nok - Rs
    if L + R < need:
        return F0, 0, n - 1
    tl = min(L, max(N, need - R))
    tr = need - tl
    npair = min(tl, tr)
    s = F0
    for i in range(npair):
        s += okv[L - 1 - i]
        s += okv[Rs + i]
    for i in range(npair, tl):
        s += okv[L - 1 - i]
    for i in range(npair, tr):
        s += okv[Rs + i]
    lo_k = 0 if tl < tr else okp[L - tl]
    hi_k = n - 1 if tr < tl else okp[Rs + tr - 1]
    return s / np.float32(need), lo_k, hi_k


@ngjit
def _repeat_windows(N, n, csa, cok, cl, lo, hi, r0, P, pc, retest, okv, okp, cntL):
    """Windows of a repeat pass with the same N on the labels a pass left.

    Fills ``P`` with the positions still clear (the repeat pass's clear dates)
    and returns their number and that of the usable neighbours among them,
    whose sa and position go to ``okv``/``okp`` (``cntL[i]``: how many come
    before position i), overwriting the pass's own lists. A window of the
    repeat pass is P[k..k+N-1]; it needs a test only when it is not a window
    of this pass (it spans a date that changed), or its test here passed, or
    its walk here examined a changed position (``pc`` counts them): otherwise
    its neighbours, and so its test result, are those it had at the start of
    this pass (no change). ``retest[:nr]`` lists the windows k that need a test.
    """
    n2 = 0
    nok = 0
    c = 0
    for i in range(n):
        still = cl[i] == 1
        ok = still & cok[i]
        pc[i] = c
        c += not still
        P[n2] = i
        n2 += still
        cntL[i] = nok
        okv[nok] = csa[i]
        okp[nok] = i
        nok += ok
    pc[n] = c
    cntL[n] = nok
    nr = 0
    for k in range(n2 - N + 1):
        a = P[k]
        same = (P[k + N - 1] - a == N - 1) & (r0[a] == 0) & (pc[hi[a] + 1] == pc[lo[a]])
        retest[nr] = k
        nr += not same
    return n2, nok, nr


@ngjit
def _seed_repeat_noop(N, n, th, csa, cok, cl, lo, hi, r0, P, pc, retest, okv, okp, cntL):
    """True when a seed pass with the same N on the labels this pass left changes nothing.

    The test of each repeat-pass window that needs one (see
    :func:`_repeat_windows`) on the current labels, which are that pass's
    start labels: with N usable neighbours on both sides straight from the
    lists, else by the walk (which skips the positions no longer clear).
    """
    n2, nok, nr = _repeat_windows(N, n, csa, cok, cl, lo, hi, r0, P, pc, retest, okv, okp, cntL)
    if n2 < 3 * N:
        return True
    fN = np.float32(N)
    fneed = np.float32(2 * N)
    for q in range(nr):
        k = retest[q]
        a = P[k]
        b = P[k + N - 1]
        s = F0
        for i in range(k, k + N):
            s += csa[P[i]]
        L = cntL[a]
        R = cntL[b + 1]
        if L >= N and nok - R >= N:
            t = F0
            for i in range(N):
                t = (t + okv[L - 1 - i]) + okv[R + i]
            mid = t / fneed
        else:
            mid = _seed_walk(a - 1, b + 1, N, n, csa, cok, cl)
        if _seed_test(s / fN, mid, th) != 0:
            return False
    return True


@ngjit
def _dea_repeat_noop(N, n, C, th, csa, cok, cl, lo, hi, r0, P, pc, retest, okv, okp, cntL):
    """True when a dea pass with the same N on the labels this pass left changes nothing
    (as :func:`_seed_repeat_noop`)."""
    n2, nok, nr = _repeat_windows(N, n, csa, cok, cl, lo, hi, r0, P, pc, retest, okv, okp, cntL)
    if n2 < N:
        return True
    fN = np.float32(N)
    for q in range(nr):
        k = retest[q]
        a = P[k]
        b = P[k + N - 1]
        L = cntL[a]
        R = cntL[b + 1]
        if L >= N and nok - R >= N:
            s = F0
            s1 = F0
            s3 = F0
            for i in range(k, k + N):
                s += csa[P[i]]
            for i in range(N):
                s1 += okv[L - 1 - i]
                s3 += okv[R + i]
            r = _dea_test(s / fN, (s1 / fN + s3 / fN) / F2, th)
        else:
            r = _dea_visit(a, b, N, n, C, csa, cok, cl, th)
        if r != 0:
            return False
    return True


@ngjit
def _edge_tests(dea, N, n, nok, nw, ka, kb, C, okv, okp, cntL, m, th, lo, hi, r0):
    """First tests and walk extents of the windows outside ka..kb (near a series end).

    Returns the widest extent and whether any test passed.
    """
    span = 0
    anyr = np.uint8(0)
    for part in range(2):
        k0 = 0 if part == 0 else max(ka, kb + 1)
        k1 = ka if part == 0 else nw
        for k in range(k0, k1):
            if dea:
                mid, lo_k, hi_k = _dea_mid_edge(k, N, n, nok, C, okv, okp, cntL)
                r = _dea_test(m[k], mid, th)
            else:
                mid, lo_k, hi_k = _seed_mid_edge(k, N, n, nok, okv, okp, cntL)
                r = _seed_test(m[k], mid, th)
            lo[k] = lo_k
            hi[k] = hi_k
            span = max(span, hi_k - lo_k)
            r0[k] = r
            anyr |= r
    return span, anyr


@ngjit
def _queue(n, nw, ka, kb, N, okp, cntL, lo, hi, span, r0, key, heap, inheap, cl, chg):
    """Set up the visits of a pass in which some first test passed.

    All labels clear and unchanged, the walk extents of the interior windows
    ka..kb (N dark_ok positions on each side), and the windows that passed in
    a heap by visit order. Returns the widest extent and the heap size.
    """
    for i in range(n):
        cl[i] = 1
        chg[i] = 0
    for k in range(ka, kb + 1):
        lo[k] = okp[cntL[k] - N]
        hi[k] = okp[cntL[k + N] + N - 1]
        span = max(span, hi[k] - lo[k])
    hn = 0
    for k in range(nw):
        inheap[k] = r0[k] != 0
        if r0[k] != 0:
            hn = _heap_push(heap, hn, k, key)
    return span, hn


@ngjit
def _seed_pass(sa, fl, lab, T, N, th, w_i, w_f, w_u, again, gathered, nn):
    """One seed pass T(N) on ``lab``: 0 no change, 1 changed, 2 changed and (checked
    when ``again``) a repeat with the same N would change nothing.

    ``gathered``: the clear-date lists (and ``nn``: their sizes) are those of
    ``lab`` already, from an earlier pass that changed nothing.
    """
    C = w_i[0]
    okp = w_i[1]
    cntL = w_i[2]
    lo = w_i[3]
    hi = w_i[4]
    heap = w_i[5]
    P = w_i[6]
    pc = w_i[7]
    csa = w_f[0]
    okv = w_f[1]
    m = w_f[2]
    acc = w_f[4]
    cl = w_u[0]
    cok = w_u[1]
    chg = w_u[2]
    r0 = w_u[3]
    inheap = w_u[4]
    retest = w_i[8]
    if not gathered:
        nn[0], nn[1] = _gather(sa, fl, lab, T, C, csa, cok, okv, okp, cntL)
    n = nn[0]
    nok = nn[1]
    if n < 3 * N:
        return 0
    ss = th[TH_SSPIKE]
    cf = th[TH_CFLOOR]
    sc = th[TH_SCEIL]
    nw = n - N + 1
    _window_means(nw, N, csa, m)
    need = 2 * N
    # Windows with >= N dark_ok positions on both sides: k in [ka, kb].
    ka = okp[N - 1] + 1 if nok >= N else nw
    kb = okp[nok - N] - N if nok >= N else -1
    ka = min(ka, nw)
    kb = min(kb, nw - 1)
    # First tests of the interior windows on the pass-start labels, in simple
    # loops the compiler vectorises: the neighbour sum (left 1, right 1, left
    # 2, ...), then the branch-free test (1/(2N) is a power of two for N = 1,
    # 2, so the product equals the quotient there).
    for k in range(ka, kb + 1):
        acc[k] = (F0 + okv[cntL[k] - 1]) + okv[cntL[k + N]]
    for i in range(1, N):
        for k in range(ka, kb + 1):
            acc[k] = (acc[k] + okv[cntL[k] - 1 - i]) + okv[cntL[k + N] + i]
    pow2 = (need & (need - 1)) == 0
    inv = F1 / np.float32(need)
    fneed = np.float32(need)
    cs = th[TH_CSPIKE]
    anyr = np.uint8(0)
    for k in range(ka, kb + 1):
        m2 = m[k]
        mid = acc[k] * inv if pow2 else acc[k] / fneed
        c2 = (m2 > mid) & (mid > F0) & ((m2 - mid) / mid > cs) & (m2 > cf)
        c3 = (mid > m2) & (mid > F0) & ((mid - m2) / m2 > ss) & (m2 < sc)
        r = np.uint8(c2) * np.uint8(2) + np.uint8(c3) * np.uint8(3)
        r0[k] = r
        anyr |= r
    span, anyr_edge = _edge_tests(
        False, N, n, nok, nw, ka, kb, C, okv, okp, cntL, m, th, lo, hi, r0
    )
    if (anyr | anyr_edge) == 0:
        return 0
    span, hn = _queue(n, nw, ka, kb, N, okp, cntL, lo, hi, span, r0, m, heap, inheap, cl, chg)
    napplied = 0
    while hn > 0:
        j, hn = _heap_pop(heap, hn, m)
        if chg[j]:
            continue
        if napplied == 0:
            r = r0[j]
        else:
            r = _seed_test(m[j], _seed_walk(j - 1, j + N, N, n, csa, cok, cl), th)
        if r == 0:
            continue
        napplied += 1
        affects = False
        for i in range(j, j + N):
            affects |= (cl[i] == 1) & cok[i]
            cl[i] = r
            chg[i] = 1
        if affects:
            # Re-test now the later windows that can see the change; queue those
            # that pass and keep the new walk extent of those that do not.
            last = j + N - 1
            for i in range(max(0, j - span), min(nw, last + span + 1)):
                if (
                    inheap[i] == 0
                    and chg[i] == 0
                    and lo[i] <= last
                    and hi[i] >= j
                    and _before(j, i, m)
                ):
                    mid, lo_i, hi_i = _seed_walk_ext(i - 1, i + N, N, n, csa, cok, cl)
                    lo[i] = lo_i
                    hi[i] = hi_i
                    span = max(span, hi_i - lo_i)
                    if _seed_test(m[i], mid, th) != 0:
                        hn = _heap_push(heap, hn, i, m)
                        inheap[i] = 1
    if napplied == 0:
        return 0
    for i in range(n):
        lab[C[i]] = cl[i]
    if again and _seed_repeat_noop(
        N, n, th, csa, cok, cl, lo, hi, r0, P, pc, retest, okv, okp, cntL
    ):
        return 2
    return 1


@ngjit
def _dea_mid_edge(k, N, n, nok, C, okv, okp, cntL):
    """Pass-start (m1 + m3) / 2 and walk extent of a dea window near a series end."""
    fN = np.float32(N)
    h = (3 * N) // 2
    lo_k = k
    hi_k = k + N - 1
    L = cntL[k]
    if L >= N:
        s = F0
        for i in range(N):
            s += okv[L - 1 - i]
        m1 = s / fN
        lo_k = okp[L - N]
    else:
        lo_k = 0
        q0 = cntL[_first_at_or_after(C, n, C[k + N - 1] + 1 + h)]
        if nok - q0 >= N:
            s = F0
            for i in range(N):
                s += okv[q0 + i]
            m1 = s / fN
            hi_k = max(hi_k, okp[q0 + N - 1])
        else:
            m1 = F0
            hi_k = n - 1
    Rs = cntL[k + N]
    if nok - Rs >= N:
        s = F0
        for i in range(N):
            s += okv[Rs + i]
        m3 = s / fN
        hi_k = max(hi_k, okp[Rs + N - 1])
    else:
        hi_k = n - 1
        q1 = cntL[_first_at_or_after(C, n, C[k] - h)] - 1
        if q1 + 1 >= N:
            s = F0
            for i in range(N):
                s += okv[q1 - i]
            m3 = s / fN
            lo_k = min(lo_k, okp[q1 - N + 1])
        else:
            m3 = F0
            lo_k = 0
    return (m1 + m3) / F2, lo_k, hi_k


@ngjit
def _dea_pass(sa, fl, lab, T, N, th, w_i, w_f, w_u, again, gathered, nn):
    """One dea pass R(N) on ``lab``, with arguments and result as :func:`_seed_pass`."""
    C = w_i[0]
    okp = w_i[1]
    cntL = w_i[2]
    lo = w_i[3]
    hi = w_i[4]
    heap = w_i[5]
    P = w_i[6]
    pc = w_i[7]
    csa = w_f[0]
    okv = w_f[1]
    m = w_f[2]
    key = w_f[3]
    acc = w_f[4]
    acc3 = w_f[5]
    cl = w_u[0]
    cok = w_u[1]
    chg = w_u[2]
    r0 = w_u[3]
    inheap = w_u[4]
    retest = w_i[8]
    if not gathered:
        nn[0], nn[1] = _gather(sa, fl, lab, T, C, csa, cok, okv, okp, cntL)
    n = nn[0]
    nok = nn[1]
    if n < N:
        return 0
    cs = th[TH_CSPIKE]
    ss = th[TH_SSPIKE]
    cf = th[TH_CFLOOR]
    sc = th[TH_SCEIL]
    nw = n - N + 1
    fN = np.float32(N)
    _window_means(nw, N, csa, m)
    ka = okp[N - 1] + 1 if nok >= N else nw
    kb = okp[nok - N] - N if nok >= N else -1
    ka = min(ka, nw)
    kb = min(kb, nw - 1)
    # First tests of the interior windows, vectorised as in _seed_pass.
    for k in range(ka, kb + 1):
        acc[k] = F0 + okv[cntL[k] - 1]
        acc3[k] = F0 + okv[cntL[k + N]]
    for i in range(1, N):
        for k in range(ka, kb + 1):
            acc[k] += okv[cntL[k] - 1 - i]
            acc3[k] += okv[cntL[k + N] + i]
    half = np.float32(0.5)
    pow2 = (N & (N - 1)) == 0
    invN = F1 / fN
    anyr = np.uint8(0)
    for k in range(ka, kb + 1):
        m2 = m[k]
        if pow2:
            mid = (acc[k] * invN + acc3[k] * invN) * half
        else:
            mid = (acc[k] / fN + acc3[k] / fN) * half
        up = m2 > mid
        c2 = up & ((m2 - mid) / mid > cs) & (m2 > cf)
        c3 = (not up) & ((mid - m2) / m2 > ss) & (m2 < sc)
        r = np.uint8(c2) * np.uint8(2) + np.uint8(c3) * np.uint8(3)
        r0[k] = r
        anyr |= r
    span, anyr_edge = _edge_tests(True, N, n, nok, nw, ka, kb, C, okv, okp, cntL, m, th, lo, hi, r0)
    if (anyr | anyr_edge) == 0:
        return 0
    # The sort key of the production code divides by N twice.
    dN = np.float64(N)
    for k in range(nw):
        key[k] = np.float32(np.float64(m[k]) / dN)
    span, hn = _queue(n, nw, ka, kb, N, okp, cntL, lo, hi, span, r0, key, heap, inheap, cl, chg)
    napplied = 0
    while hn > 0:
        j, hn = _heap_pop(heap, hn, key)
        if napplied == 0:
            r = r0[j]
        else:
            r = _dea_visit(j, j + N - 1, N, n, C, csa, cok, cl, th)
        if r == 0:
            continue
        napplied += 1
        for i in range(j, j + N):
            cl[i] = r
        # A window test passes only with a clear date in the window, so a clear
        # date became cloud/shadow: re-queue the later windows that can see it.
        last = j + N - 1
        for i in range(max(0, j - span), min(nw, last + span + 1)):
            if inheap[i] == 0 and lo[i] <= last and hi[i] >= j and _before(j, i, key):
                hn = _heap_push(heap, hn, i, key)
                inheap[i] = 1
    if napplied == 0:
        return 0
    for i in range(n):
        lab[C[i]] = cl[i]
    if again and _dea_repeat_noop(
        N, n, C, th, csa, cok, cl, lo, hi, r0, P, pc, retest, okv, okp, cntL
    ):
        return 2
    return 1


@ngjit
def detect_cube(
    src,
    s_b,
    s_t,
    s_y,
    T,
    Y,
    X,
    dea,
    is_int,
    has_nodata,
    nodata,
    scale,
    th,
    passes,
    out,
    o_t,
    o_y,
):
    """Exact detection of every pixel of a cube (the tuned kernel).

    ``src`` is the flat (band, time, y, x) cube of any real dtype with element
    strides ``s_b, s_t, s_y`` and x contiguous; ``out`` the flat (T, Y, X)
    uint8 result with strides ``o_t, o_y`` and x contiguous.
    """
    Tm = max(T, 1)
    sa_b = np.empty((XB, Tm), np.float32)
    fl_b = np.empty((XB, Tm), np.uint8)
    lab_b = np.empty((XB, Tm), np.uint8)
    rsa = np.empty(XB, np.float32)
    rfl = np.empty(XB, np.uint8)
    temporal = th[TH_THIN_TEMPORAL] > F0
    bl_b = np.empty((XB, max(T, 1)) if temporal else (1, 1), np.float32)
    w_i = np.empty((9, T + 2), np.int64)
    w_f = np.empty((6, T + 2), np.float32)
    w_u = np.zeros((5, T + 2), np.uint8)
    nn = np.zeros(2, np.int64)
    noop = np.empty(passes.max() + 1 if passes.shape[0] else 1, np.int64)
    # again[p]: a later pass has the same N (worth checking whether it would be a no-op)
    again = np.zeros(passes.shape[0], np.bool_)
    for p in range(passes.shape[0]):
        for q in range(p + 1, passes.shape[0]):
            again[p] |= passes[q] == passes[p]
    for y in range(Y):
        for x0 in range(0, X, XB):
            nb = min(XB, X - x0)
            _prep_block(
                src,
                y * s_y + x0,
                s_b,
                s_t,
                T,
                nb,
                is_int,
                has_nodata,
                nodata,
                scale,
                th,
                sa_b,
                fl_b,
                rsa,
                rfl,
                bl_b,
            )
            for j in range(nb):
                sa = sa_b[j]
                fl = fl_b[j]
                lab = lab_b[j]
                _init_labels(fl, lab, T)
                # A pass's result depends only on N and the labels: a pass that
                # changed nothing makes the next one with the same N, on the same
                # labels, a no-op too. noop[N] is the label version at which a
                # pass with N is known to change nothing.
                version = 0
                noop[:] = -1
                # A pass that changed nothing leaves its clear-date lists valid.
                gathered = False
                for p in range(passes.shape[0]):
                    N = passes[p]
                    if noop[N] == version:
                        continue
                    if dea:
                        res = _dea_pass(
                            sa, fl, lab, T, N, th, w_i, w_f, w_u, again[p], gathered, nn
                        )
                    else:
                        res = _seed_pass(
                            sa, fl, lab, T, N, th, w_i, w_f, w_u, again[p], gathered, nn
                        )
                    version += res != 0
                    gathered = res == 0
                    if res != 1:
                        noop[N] = version
                if temporal:
                    _thin_temporal(fl, lab, bl_b[j], T, th)
                _post_rules(fl, lab, T)
            for t in range(T):
                o = t * o_t + y * o_y + x0
                for j in range(nb):
                    out[o + j] = lab_b[j, t]
