"""The test oracle of the geometric steps: literal, slow Python of docs/shadow_geometry.md.

Written from the text, step by step, with loops, sets and float32 scalars, and
no shortcut the fast kernels take: every candidate footprint is summed in full
(the kernels update the score incrementally along the search), every
reachable pixel is found by shifting every source by every offset (the
kernels shift boundaries), and every buffer distance is measured pair by pair
(the kernels use a per-row distance table). Far too slow for real work.

The candidate heights and offsets (:func:`tsmask_qgis.engine.shadow.candidate_offsets`)
are shared with the engine: they are plain numpy and tested on their own.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from tsmask_qgis.engine.reference import reference_indices, to_reflectance
from tsmask_qgis.engine.shadow import ShadowParams, candidate_offsets, grid_steps

__all__ = [
    "reference_buffer_m",
    "reference_shadow_date",
    "reference_shadow_geometry",
    "reference_votes",
]

F = np.float32
NO_OBS, CLEAR, CLOUD, SHADOW = 0, 1, 2, 3


def _sa_cube(bands: np.ndarray, nodata: Any, scale: float | None) -> np.ndarray:
    """``sa`` per pixel-date (float32), NaN where the pixel-date is not observed."""
    arr = np.asarray(bands)
    nodata_list = nodata if isinstance(nodata, (list, tuple)) else [nodata] * 6
    observed = np.ones(arr.shape[1:], dtype=bool)
    for b, nd in enumerate(nodata_list):
        if nd is not None and not (isinstance(nd, float) and math.isnan(nd)):
            observed &= arr[b] != nd
    refl, obs = to_reflectance(arr, scale=scale)
    observed &= obs
    sa = np.full(arr.shape[1:], np.nan, dtype=np.float32)
    for idx in zip(*np.nonzero(observed), strict=True):
        sa[idx] = reference_indices(*(refl[(b, *idx)] for b in range(6)))["sa"]
    return sa


def reference_votes(
    mask: np.ndarray,
    bands: np.ndarray,
    shadow_drop: float,
    *,
    nodata: Any = None,
    scale: float | None = None,
) -> np.ndarray:
    """The dark vote of every pixel-date: +1 dark, -1 not dark, 0 not a candidate.

    A candidate is an observed pixel-date labelled 1 or 3. Its neighbour mean
    is found by walking outwards in time, alternately one date earlier and one
    later (earlier first), each side stepping until it meets a date labelled 1
    that is observed, then switching sides; a side that runs off the series is
    finished. Two values are taken; with fewer there is no vote (0). The
    pixel-date is dark when its ``sa`` is below ``float32(1 - shadow_drop)``
    times each of the two (float32 products).
    """
    mask = np.asarray(mask)
    sa = _sa_cube(bands, nodata, scale)
    keep = F(1.0 - shadow_drop)
    T, Y, X = mask.shape
    out = np.zeros((T, Y, X), np.int8)
    for y in range(Y):
        for x in range(X):

            def usable(d: int, y: int = y, x: int = x) -> bool:
                return bool(mask[d, y, x] == CLEAR and np.isfinite(sa[d, y, x]))

            for t in range(T):
                s = sa[t, y, x]
                if mask[t, y, x] not in (CLEAR, SHADOW) or not np.isfinite(s):
                    continue
                taken: list[F] = []
                left, right = t - 1, t + 1
                left_done, right_done = False, False
                side = "left"
                while len(taken) < 2 and not (left_done and right_done):
                    if side == "left" and not left_done:
                        while left >= 0 and not usable(left):
                            left -= 1
                        if left < 0:
                            left_done = True
                        else:
                            taken.append(sa[left, y, x])
                            left -= 1
                    elif side == "right" and not right_done:
                        while right < T and not usable(right):
                            right += 1
                        if right >= T:
                            right_done = True
                        else:
                            taken.append(sa[right, y, x])
                            right += 1
                    side = "right" if side == "left" else "left"
                if len(taken) < 2:
                    continue
                darker_than_both = s < F(keep * taken[0]) and s < F(keep * taken[1])
                out[t, y, x] = 1 if darker_than_both else -1
    return out


def _objects(mask2d: np.ndarray) -> list[list[tuple[int, int]]]:
    """8-connected objects of class 2 (each a list of (row, col))."""
    Y, X = mask2d.shape
    seen = np.zeros((Y, X), bool)
    objs = []
    for r in range(Y):
        for c in range(X):
            if mask2d[r, c] != CLOUD or seen[r, c]:
                continue
            obj = []
            queue = deque([(r, c)])
            seen[r, c] = True
            while queue:
                a, b = queue.popleft()
                obj.append((a, b))
                for da in (-1, 0, 1):
                    for db in (-1, 0, 1):
                        u, v = a + da, b + db
                        if 0 <= u < Y and 0 <= v < X and mask2d[u, v] == CLOUD and not seen[u, v]:
                            seen[u, v] = True
                            queue.append((u, v))
            objs.append(obj)
    return objs


def reference_shadow_date(
    mask2d: np.ndarray,
    vote2d: np.ndarray,
    offsets: np.ndarray,
    min_pixels: int,
    recheck: bool = True,
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """One date of the step: the new classes and, per object, (size, best index or -1, score).

    Per object with at least ``min_pixels`` pixels: the score of offset k is
    the sum of the votes at the object's pixels shifted by ``offsets[k]``
    (0 outside the grid); the best is the highest score, ties to the lower k;
    when it is above 0, every shifted pixel with vote +1 becomes 3. With
    ``recheck``, every pixel labelled 3 on input whose vote is -1 becomes 1.
    Then every pixel labelled 3 on input that no source (a pixel of class 2
    or 0) shifted by any offset lands on, and whose every sunward position
    (itself minus any offset) is inside the grid, becomes 1.
    """
    Y, X = mask2d.shape
    out = mask2d.copy()
    info = []
    offs = [(int(a), int(b)) for a, b in offsets]

    def vote_at(r: int, c: int) -> int:
        return int(vote2d[r, c]) if 0 <= r < Y and 0 <= c < X else 0

    for obj in _objects(mask2d):
        if len(obj) < min_pixels:
            info.append((len(obj), -1, 0))
            continue
        scores = [sum(vote_at(r + dr, c + dc) for r, c in obj) for dr, dc in offs]
        best = max(scores)
        k = scores.index(best)  # the first (lowest) of the tied maxima
        if best <= 0:
            info.append((len(obj), -1, best))
            continue
        info.append((len(obj), k, best))
        dr, dc = offs[k]
        for r, c in obj:
            if vote_at(r + dr, c + dc) == 1:
                out[r + dr, c + dc] = SHADOW
    if recheck:
        out[(mask2d == SHADOW) & (vote2d == -1)] = CLEAR
    reach: set[tuple[int, int]] = set()
    sources = [(r, c) for r in range(Y) for c in range(X) if mask2d[r, c] in (CLOUD, NO_OBS)]
    for dr, dc in offs:
        for r, c in sources:
            reach.add((r + dr, c + dc))
    for r in range(Y):
        for c in range(X):
            if mask2d[r, c] != SHADOW or (r, c) in reach:
                continue
            outside = any(not (0 <= r - dr < Y and 0 <= c - dc < X) for dr, dc in offs)
            if not outside:
                out[r, c] = CLEAR
    return out, info


def reference_shadow_geometry(
    mask: np.ndarray,
    bands: np.ndarray,
    azimuth: Any,
    elevation: Any,
    pixel_size: Any,
    params: ShadowParams | None = None,
    *,
    nodata: Any = None,
    scale: float | None = None,
) -> tuple[np.ndarray, list[list[tuple[int, int, int]]]]:
    """The whole step: new classes and per-date object results (skipped dates: [])."""
    p = params or ShadowParams()
    mask = np.asarray(mask)
    T = mask.shape[0]
    az = np.broadcast_to(np.asarray(azimuth, dtype=float), (T,))
    el = np.broadcast_to(np.asarray(elevation, dtype=float), (T,))
    votes = reference_votes(mask, bands, p.shadow_drop, nodata=nodata, scale=scale)
    out = mask.copy()
    infos: list[list[tuple[int, int, int]]] = []
    for t in range(T):
        if not (np.isfinite(az[t]) and np.isfinite(el[t])) or el[t] < p.min_sun_elevation:
            infos.append([])
            continue
        cand = candidate_offsets(float(az[t]), float(el[t]), pixel_size, p)
        out[t], info = reference_shadow_date(
            mask[t], votes[t], cand.offsets, p.min_cloud_pixels, p.recheck_detected
        )
        infos.append(info)
    return out, infos


def reference_buffer_m(
    mask: np.ndarray, cloud_m: float, shadow_m: float, pixel_size: Any
) -> np.ndarray:
    """Buffers in metres, pair by pair: a clear pixel whose centre is within ``cloud_m``
    (Euclidean, ``(dy*i)^2 + (dx*j)^2 <= d^2``) of a cloud pixel becomes cloud, else
    within ``shadow_m`` of a shadow pixel becomes shadow; distances are measured on the
    input mask of each date."""
    ys, xs = grid_steps(pixel_size)
    mask = np.asarray(mask)
    out = mask.copy()
    for t in range(mask.shape[0]):
        m = mask[t]
        clouds = list(zip(*np.nonzero(m == CLOUD), strict=True))
        shadows = list(zip(*np.nonzero(m == SHADOW), strict=True))
        for r, c in zip(*np.nonzero(m == CLEAR), strict=True):

            def near(cells: list[Any], d: float, r: int = r, c: int = c) -> bool:
                return d > 0 and any(
                    ((a - r) * ys) ** 2 + ((b - c) * xs) ** 2 <= d * d for a, b in cells
                )

            if near(clouds, cloud_m):
                out[t, r, c] = CLOUD
            elif near(shadows, shadow_m):
                out[t, r, c] = SHADOW
    return out
