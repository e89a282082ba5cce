"""The test oracle: a plain, slow, literal Python implementation of algorithm.md.

Every function here follows the text of ``docs/algorithm.md`` (the shared
specification) step by step, with loops and numpy ``float32`` scalars, so that
it can be read side by side with the text. It is the truth the fast engine
(``_core.py``) is tested against and is far too slow for real work (roughly a
millisecond per pixel series).

Numerics follow the "Numerics" paragraphs of the specification: reflectance is
``float32(DN) / float32(scale)`` for integer input, every sum is a float32
left-to-right running sum, every threshold is a float32 constant and every
ratio and comparison is done in float32 with IEEE behaviour (NaN compares
false, ``x / 0`` is ``±inf``).

Choices where the text leaves room (each is repeated next to its rule):

* Running sums start from ``+0.0``. This only matters for an ``sa`` of
  ``-0.0`` (all six bands ``-0.0`` in float input): it then counts as ``+0.0``,
  so a seed window whose mean is zero gives ``+inf`` and becomes shadow, as the
  text says ("a window with m2 = 0 gives +inf").
* dea: "Otherwise" in step 3 of R(N) is the ``else`` of ``m2 > mid`` (as in
  the production code), not of the whole cloud test: a window with
  ``m2 > mid`` that fails the cloud test is never tested for shadow.
* Float input with a ``scale`` given is divided by it like integer input; a
  declared ``nodata`` is honoured for float input too. Finiteness is judged on
  the float32 reflectance (a float64 value too large for float32 is nodata).
* Visiting orders with NaN window means (only possible when a threshold
  override lets ``+inf`` and ``-inf`` brightness into one window) put NaN
  windows first in the visit, as a numpy stable sort puts NaN last. A window
  whose mean is NaN never changes a label in seed; in dea it can only matter
  with such overrides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsmask_qgis.engine._presets import DeaPreset, Preset, SeedPreset, get_preset
from tsmask_qgis.engine.reference_spatial import (
    reference_majority,
    reference_seed_buffer,
    reference_seed_filter,
    reference_spatial,
)

__all__ = [
    "reference_classify",
    "reference_dea_pass",
    "reference_detect",
    "reference_indices",
    "reference_majority",
    "reference_pixel",
    "reference_seed_buffer",
    "reference_seed_filter",
    "reference_seed_pass",
    "reference_spatial",
    "reference_thin_temporal",
    "to_reflectance",
]

F = np.float32
ZERO = F(0.0)

NO_OBS, CLEAR, CLOUD, SHADOW = 0, 1, 2, 3


# --------------------------------------------------------------------------- input


def to_reflectance(
    bands: np.ndarray,
    *,
    nodata: float | int | None = None,
    scale: float | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Float32 reflectance and the "observed" flag of a band stack ``(6, ...)``.

    Integer input: ``float32(DN) / float32(scale)`` with ``scale`` 10000 by
    default; a pixel-date whose band equals the declared ``nodata`` (in any of
    the six bands) is not observed. Float input: the values are reflectance
    (divided by ``scale`` only if one is given); NaN and ±inf are nodata, and
    so is a declared ``nodata`` value. Returns ``(reflectance, observed)``.
    """
    arr = np.asarray(bands)
    if arr.ndim < 1 or arr.shape[0] != 6:
        raise ValueError(
            f"bands must have 6 bands first (blue green red nir swir1 swir2), got shape {arr.shape}"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"bands must be integer or float, not {arr.dtype}")
    observed = np.ones(arr.shape[1:], dtype=bool)
    if nodata is not None:
        # A band equal to the declared nodata value makes the pixel-date nodata.
        for b in range(6):
            observed &= arr[b] != nodata
    integer = arr.dtype.kind in "biu"
    if integer and scale is None:
        scale = 10000
    with np.errstate(all="ignore"):
        refl = arr.astype(np.float32)
        if scale is not None:
            refl = refl / F(scale)
    # "A pixel-date is no observation when any of the six bands is nodata or not finite."
    for b in range(6):
        observed &= np.isfinite(refl[b])
    return refl, observed


# --------------------------------------------------------------------------- indices


def reference_indices(b: F, g: F, r: F, n: F, s1: F, s2: F) -> dict[str, F]:
    """The derived values of algorithm.md for one pixel-date, in float32."""
    two, one, six, eight = F(2), F(1), F(6), F(8)
    with np.errstate(all="ignore"):
        # sa: float32 sum blue+green+red+nir+swir1+swir2 left to right, divided by 6.
        sa = (((((b + g) + r) + n) + s1) + s2) / six
        mndwi = (g - s1) / (g + s1)
        t = two * n + one
        msavi = (t - np.sqrt(t * t - eight * (n - r))) / two
        wbi = (r - b) / b
        rgm = r + b
        half = (r + b) / two
        grbm = (g - half) / half
    return {"sa": sa, "mndwi": mndwi, "msavi": msavi, "wbi": wbi, "rgm": rgm, "grbm": grbm}


# --------------------------------------------------------------------------- seed


def _seed_visit_order(m: Sequence[F]) -> list[int]:
    """Window indices in descending order of mean; ties: larger k first.

    Equivalently: the reverse of a stable ascending sort. NaN means (see the
    module notes) are visited first.
    """
    return [int(k) for k in np.argsort(np.asarray(m, dtype=np.float32), kind="stable")[::-1]]


def reference_seed_pass(
    labels: list[int], sa: Sequence[F], mndwi: Sequence[F], n_win: int, p: SeedPreset
) -> None:
    """Spike test ``T(N)`` of the seed preset on one pixel series (labels changed in place)."""
    N = n_win
    # 1. C: the dates currently labelled 1, in time order.
    C = [t for t in range(len(labels)) if labels[t] == CLEAR]
    n = len(C)
    if n < 3 * N:
        return
    lab = [CLEAR] * n  # current labels of the positions of C
    s = [sa[t] for t in C]
    # 2. dark_ok, fixed for the pass.
    dark_ok = [bool(sa[t] > F(p.dark_sa) or mndwi[t] > F(p.dark_mndwi)) for t in C]
    # 3. window means, computed once: float32 left-to-right sum (from +0.0) / N.
    m: list[F] = []
    for k in range(n - N + 1):
        acc = ZERO
        for j in range(k, k + N):
            acc = acc + s[j]
        m.append(acc / F(N))
    # 4. visiting order and the changed flags.
    changed = [False] * n
    with np.errstate(all="ignore"):
        for k in _seed_visit_order(m):
            if changed[k]:
                continue
            # 5. neighbour mean: alternate left/right, starting left.
            taken = 0
            acc = ZERO
            left, right = k - 1, k + N
            left_done = right_done = False
            side = "left"
            while taken < 2 * N and not (left_done and right_done):
                if side == "left" and left_done:
                    side = "right"
                if side == "right" and right_done:
                    side = "left"
                if side == "left":
                    while left >= 0 and not (lab[left] == CLEAR and dark_ok[left]):
                        left -= 1
                    if left < 0:
                        left_done = True
                    else:
                        acc = acc + s[left]
                        taken += 1
                        left -= 1
                    side = "right"
                else:
                    while right < n and not (lab[right] == CLEAR and dark_ok[right]):
                        right += 1
                    if right >= n:
                        right_done = True
                    else:
                        acc = acc + s[right]
                        taken += 1
                        right += 1
                    side = "left"
            mid = acc / F(2 * N) if taken >= 2 * N else ZERO
            # 6. the tests, with m2 = m[k] (the pass-start mean).
            m2 = m[k]
            if (
                m2 > mid
                and mid > ZERO
                and (m2 - mid) / mid > F(p.cloud_spike)
                and m2 > F(p.cloud_floor)
            ):
                for j in range(k, k + N):
                    lab[j] = CLOUD
                    changed[j] = True
            elif (
                mid > m2
                and mid > ZERO
                and (mid - m2) / m2 > F(p.shadow_spike)  # m2 = +0.0 gives +inf: shadow
                and m2 < F(p.shadow_ceiling)
            ):
                for j in range(k, k + N):
                    lab[j] = SHADOW
                    changed[j] = True
    # 7. write back.
    for i, t in enumerate(C):
        labels[t] = lab[i]


def reference_thin_temporal(
    labels: Sequence[int], blue: Sequence[F], dark_ok: Sequence[bool], t: int, spike: F
) -> bool:
    """The temporal confirmation of seed's thin-cloud rule at date ``t`` (algorithm.md).

    ``labels`` are the labels after the spike tests (before any post rule). The two
    nearest clear dates: walk outwards, alternately one date earlier and one later,
    earlier first; on each side step on until a date labelled 1 whose ``dark_ok`` is
    true, take its blue, switch sides; a side that runs off the series is finished.
    With fewer than two, ``mid = 0``; else ``mid`` is their float32 running sum in
    discovery order divided by 2. True when ``blue[t] > mid > 0`` and
    ``(blue[t] - mid) / mid > spike``, all in float32.
    """
    T = len(labels)
    taken, acc = 0, ZERO
    left, right = t - 1, t + 1
    left_done = right_done = False
    side = "left"
    while taken < 2 and not (left_done and right_done):
        if side == "left" and left_done:
            side = "right"
        if side == "right" and right_done:
            side = "left"
        if side == "left":
            while left >= 0 and not (labels[left] == CLEAR and dark_ok[left]):
                left -= 1
            if left < 0:
                left_done = True
            else:
                acc = acc + blue[left]
                taken += 1
                left -= 1
            side = "right"
        else:
            while right < T and not (labels[right] == CLEAR and dark_ok[right]):
                right += 1
            if right >= T:
                right_done = True
            else:
                acc = acc + blue[right]
                taken += 1
                right += 1
            side = "left"
    mid = acc / F(2) if taken >= 2 else ZERO
    b = blue[t]
    return bool(b > mid and mid > ZERO and (b - mid) / mid > spike)


def _seed_series(
    labels: list[int], ix: list[dict[str, F]], p: SeedPreset, blue: Sequence[F] = ()
) -> None:
    sa = [d["sa"] for d in ix]
    mndwi = [d["mndwi"] for d in ix]
    # 2. bright cloud.
    for t in range(len(labels)):
        if labels[t] == CLEAR and sa[t] > F(p.brightness):
            labels[t] = CLOUD
    # 3. spike tests.
    for n_win in p.passes:
        reference_seed_pass(labels, sa, mndwi, n_win, p)
    # 4. post rules, every rule testing the label from before any post rule ran.
    before = list(labels)
    dark_ok = [bool(sa[t] > F(p.dark_sa) or mndwi[t] > F(p.dark_mndwi)) for t in range(len(ix))]
    for t, d in enumerate(ix):
        lab = before[t]
        if lab == SHADOW and d["mndwi"] > F(p.dwi) and d["sa"] < F(p.thd):
            labels[t] = CLEAR  # dark water, not shadow
        if lab == CLOUD and d["mndwi"] < F(p.land_cloud):
            labels[t] = CLEAR  # bright bare ground, not cloud
        if lab == SHADOW and d["msavi"] < F(p.avi) and d["mndwi"] > F(p.wtd):
            labels[t] = CLEAR  # water, not shadow
        if (
            lab == CLEAR
            and p.thin_cloud != "off"
            and d["wbi"] < F(p.thin_wbi)
            and F(p.thin_rgm_low) < d["rgm"] < F(p.thin_rgm_high)
            and d["mndwi"] < F(p.thin_mndwi)
            and d["grbm"] < F(p.thin_grbm)
            and (
                p.thin_cloud == "spectral"
                or reference_thin_temporal(before, blue, dark_ok, t, F(p.cloud_spike))
            )
        ):
            labels[t] = CLOUD  # thin cloud


# --------------------------------------------------------------------------- dea


def reference_dea_pass(
    labels: list[int], sa: Sequence[F], mndwi: Sequence[F], n_win: int, p: DeaPreset
) -> None:
    """Spike removal ``R(N)`` of the dea preset on one pixel series (labels changed in place)."""
    N = n_win
    T = len(labels)
    start = list(labels)  # labels as at the start of the pass

    def good(i: int) -> bool:
        return labels[i] == CLEAR and bool(sa[i] > F(p.dark_sa) or mndwi[i] > F(p.dark_mndwi))

    # 1. windows: for each start date, the first N dates at or after it labelled 1.
    windows: list[list[int]] = []
    keys: list[F] = []
    for t in range(T):
        w = [u for u in range(t, T) if start[u] == CLEAR][:N]
        if len(w) < N:
            break
        s = ZERO
        for u in w:
            s = s + sa[u]
        with np.errstate(all="ignore"):
            # float32(float64(float32(s / N)) / N): the production code divides twice.
            key = F(np.float64(s / F(N)) / np.float64(N))
        windows.append(w)
        keys.append(key)
    # 2. stable ascending sort, visited from the last.
    order = [int(i) for i in np.argsort(np.asarray(keys, dtype=np.float32), kind="stable")]

    def walk(dates: range) -> F | None:
        acc, cnt = ZERO, 0
        for i in dates:
            if good(i):
                acc = acc + sa[i]
                cnt += 1
                if cnt == N:
                    return acc / F(N)
        return None

    with np.errstate(all="ignore"):
        for wi in reversed(order):
            w = windows[wi]
            a, b = w[0], w[-1]
            # m2: mean sa of the window's dates that are currently 1.
            acc, cnt = ZERO, 0
            for u in w:
                if labels[u] == CLEAR:
                    acc = acc + sa[u]
                    cnt += 1
            if cnt == 0:
                continue
            m2 = acc / F(cnt)
            half = (3 * N) // 2
            m1 = walk(range(a - 1, -1, -1))
            if m1 is None:
                m1 = walk(range(b + 1 + half, T))
            if m1 is None:
                m1 = ZERO
            m3 = walk(range(b + 1, T))
            if m3 is None:
                m3 = walk(range(a - half - 1, -1, -1))
            if m3 is None:
                m3 = ZERO
            mid = F(m1 + m3) / F(2)
            # "Otherwise" is the else of `m2 > mid` (production code's structure).
            if m2 > mid:
                if (m2 - mid) / mid > F(p.cloud_spike) and m2 > F(p.cloud_floor):
                    for u in w:
                        labels[u] = CLOUD
            else:
                if (mid - m2) / m2 > F(p.shadow_spike) and m2 < F(p.shadow_ceiling):
                    for u in w:
                        labels[u] = SHADOW


def _dea_series(labels: list[int], ix: list[dict[str, F]], p: DeaPreset) -> None:
    sa = [d["sa"] for d in ix]
    mndwi = [d["mndwi"] for d in ix]
    # 1. observed dates: 2 if sa > brightness else 1.
    for t in range(len(labels)):
        if labels[t] == CLEAR and sa[t] > F(p.brightness):
            labels[t] = CLOUD
    # 2. spike removal.
    for n_win in p.passes:
        reference_dea_pass(labels, sa, mndwi, n_win, p)
    # 3. post rules, each reading the label left by the ones before.
    for t, d in enumerate(ix):
        if labels[t] == SHADOW and d["mndwi"] > F(p.dwi) and d["sa"] < F(p.thd):
            labels[t] = CLEAR
        if labels[t] == CLOUD and d["sa"] < F(p.cloud2):
            labels[t] = CLEAR
        if labels[t] == CLOUD and d["mndwi"] < F(p.land_cloud):
            labels[t] = CLEAR
        if labels[t] == SHADOW and d["msavi"] < F(p.avi) and d["mndwi"] > F(p.wtd):
            labels[t] = CLEAR


# --------------------------------------------------------------------------- per pixel


def _series_labels(refl: np.ndarray, observed: np.ndarray, p: Preset) -> np.ndarray:
    """Temporal labels of one pixel from float32 reflectance ``(6, T)`` and observed ``(T,)``."""
    T = refl.shape[1]
    labels = [CLEAR if bool(observed[t]) else NO_OBS for t in range(T)]
    ix = [reference_indices(*(F(refl[b, t]) for b in range(6))) for t in range(T)]
    with np.errstate(all="ignore"):  # IEEE results (inf, NaN) are wanted, not warnings
        if isinstance(p, SeedPreset):
            _seed_series(labels, ix, p, [F(refl[0, t]) for t in range(T)])
        else:
            _dea_series(labels, ix, p)
    return np.asarray(labels, dtype=np.uint8)


def reference_pixel(
    series: np.ndarray,
    preset: str | Preset = "seed",
    *,
    nodata: float | int | None = None,
    scale: float | int | None = None,
    **overrides: object,
) -> np.ndarray:
    """Temporal labels (uint8, ``(T,)``) of one pixel series ``(6, T)``.

    ``series`` holds blue green red nir swir1 swir2 over time, with the same
    ``nodata``/``scale`` conventions as :func:`reference_detect`.
    """
    p = get_preset(preset, **overrides)
    arr = np.asarray(series)
    if arr.ndim != 2 or arr.shape[0] != 6:
        raise ValueError(f"series must have shape (6, T), got {arr.shape}")
    refl, observed = to_reflectance(arr, nodata=nodata, scale=scale)
    return _series_labels(refl, observed, p)


def reference_detect(
    bands: np.ndarray,
    preset: str | Preset = "seed",
    *,
    nodata: float | int | None = None,
    scale: float | int | None = None,
    **overrides: object,
) -> np.ndarray:
    """The temporal part of algorithm.md for a cube ``(6, T, Y, X)`` -> uint8 ``(T, Y, X)``.

    ``bands`` is in the order blue green red nir swir1 swir2: float reflectance
    (NaN/inf nodata) or integers scaled by ``scale`` (10000 by default) with an
    optional declared ``nodata`` value.
    """
    p = get_preset(preset, **overrides)
    arr = np.asarray(bands)
    if arr.ndim != 4 or arr.shape[0] != 6:
        raise ValueError(f"bands must have shape (6, T, Y, X), got {arr.shape}")
    refl, observed = to_reflectance(arr, nodata=nodata, scale=scale)
    _, T, Y, X = arr.shape
    out = np.zeros((T, Y, X), dtype=np.uint8)
    for y in range(Y):
        for x in range(X):
            out[:, y, x] = _series_labels(refl[:, :, y, x], observed[:, y, x], p)
    return out


def reference_classify(
    bands: np.ndarray,
    preset: str | Preset = "seed",
    *,
    spatial: bool = True,
    nodata: float | int | None = None,
    scale: float | int | None = None,
    **overrides: object,
) -> np.ndarray:
    """Temporal detection and (if ``spatial``) the spatial steps: uint8 ``(T, Y, X)``."""
    p = get_preset(preset, **overrides)
    mask = reference_detect(bands, p, nodata=nodata, scale=scale)
    if spatial:
        mask = reference_spatial(mask, p)
    return mask
