"""The straightforward exact detection kernels, for tests only.

The product runs the tuned passes of :mod:`tsmask_qgis.engine._kernels` (no
sorting, a heap of windows to re-test); these are the specification read
literally (sorted visits, literal walks) on the same per-date quantities, and
the tests check that both give the same classes on realistic scenes.
"""

from __future__ import annotations

import numpy as np

from tsmask_qgis.engine._kernels import (
    DARK,
    F0,
    TH_THIN_TEMPORAL,
    XB,
    _dea_visit,
    _init_labels,
    _post_rules,
    _prep_block,
    _seed_test,
    _seed_walk,
    _thin_temporal,
    ngjit,
)


@ngjit
def _seed_pass_simple(sa, fl, lab, T, N, th, C, csa, cok, cl, chg, m):
    n = 0
    for t in range(T):
        if lab[t] == 1:
            C[n] = t
            n += 1
    if n < 3 * N:
        return
    for i in range(n):
        csa[i] = sa[C[i]]
        cok[i] = (fl[C[i]] & DARK) != 0
        cl[i] = 1
        chg[i] = 0
    nw = n - N + 1
    fN = np.float32(N)
    for k in range(nw):
        s = F0  # running sums start from +0.0 (an sa of -0.0 counts as +0.0)
        for i in range(N):
            s += csa[k + i]
        m[k] = s / fN
    order = np.argsort(m[:nw], kind="mergesort")
    for idx in range(nw - 1, -1, -1):
        k = order[idx]
        if chg[k]:
            continue
        mid = _seed_walk(k - 1, k + N, N, n, csa, cok, cl)
        r = _seed_test(m[k], mid, th)
        if r != 0:
            for i in range(k, k + N):
                cl[i] = r
                chg[i] = 1
    for i in range(n):
        lab[C[i]] = cl[i]


@ngjit
def _dea_pass_simple(sa, fl, lab, T, N, th, C, csa, cok, cl, m):
    n = 0
    for t in range(T):
        if lab[t] == 1:
            C[n] = t
            n += 1
    if n < N:
        return
    for i in range(n):
        csa[i] = sa[C[i]]
        cok[i] = (fl[C[i]] & DARK) != 0
        cl[i] = 1
    nw = n - N + 1
    fN = np.float32(N)
    dN = np.float64(N)
    for k in range(nw):
        s = F0  # running sums start from +0.0 (an sa of -0.0 counts as +0.0)
        for i in range(N):
            s += csa[k + i]
        m[k] = np.float32(np.float64(s / fN) / dN)
    order = np.argsort(m[:nw], kind="mergesort")
    for idx in range(nw - 1, -1, -1):
        k = order[idx]
        r = _dea_visit(k, k + N - 1, N, n, C, csa, cok, cl, th)
        if r != 0:
            for i in range(k, k + N):
                cl[i] = r
    for i in range(n):
        lab[C[i]] = cl[i]


@ngjit
def detect_simple(
    src, s_b, s_t, s_y, T, Y, X, dea, is_int, has_nodata, nodata, scale, th, passes, out, o_t, o_y
):
    """Straightforward exact detection (sorted visits, literal walks); for tests.

    ``src`` is the flat (band, time, y, x) cube of any real dtype with element
    strides ``s_b, s_t, s_y`` and x contiguous; ``out`` the flat (T, Y, X)
    uint8 result with strides ``o_t, o_y`` and x contiguous.
    """
    sa_b = np.empty((XB, max(T, 1)), np.float32)
    fl_b = np.empty((XB, max(T, 1)), np.uint8)
    lab_b = np.empty((XB, max(T, 1)), np.uint8)
    rsa = np.empty(XB, np.float32)
    rfl = np.empty(XB, np.uint8)
    temporal = th[TH_THIN_TEMPORAL] > F0
    bl_b = np.empty((XB, max(T, 1)) if temporal else (1, 1), np.float32)
    C = np.empty(T + 1, np.int64)
    csa = np.empty(T + 1, np.float32)
    cok = np.empty(T + 1, np.bool_)
    cl = np.empty(T + 1, np.uint8)
    chg = np.empty(T + 1, np.uint8)
    m = np.empty(T + 1, np.float32)
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
                for p in range(passes.shape[0]):
                    N = passes[p]
                    if dea:
                        _dea_pass_simple(sa, fl, lab, T, N, th, C, csa, cok, cl, m)
                    else:
                        _seed_pass_simple(sa, fl, lab, T, N, th, C, csa, cok, cl, chg, m)
                if temporal:
                    _thin_temporal(fl, lab, bl_b[j], T, th)
                _post_rules(fl, lab, T)
            for t in range(T):
                o = t * o_t + y * o_y + x0
                for j in range(nb):
                    out[o + j] = lab_b[j, t]
