"""Cloud shadow from sun geometry: an optional step after detection (docs/shadow_geometry.md).

For each date, every cloud object (8-connected pixels of class 2) is projected
away from the sun over a range of cloud heights; the height whose projected
footprint best matches pixels darker than their clear neighbours in time is
taken, and the dark pixels of that footprint become shadow (3). Detected
shadow that no cloud of the date can reach over the whole height range (and
that no unseen pixel could hide the cloud of) becomes clear: dark water, dark
fields and terrain are not cloud shadow.

Public entry points:

- :func:`apply_shadow_geometry` on numpy arrays (the engine's layer);
- :func:`shadow_geometry` on the engine's xarray mask and the input Dataset;
- :class:`ShadowParams`, the constants with their physical reasons;
- :func:`shadow_margin_m`, :func:`margin_pixels`, :func:`crop_margin`: load a
  margin around the area so clouds outside it cast their shadows in, detect,
  then crop.

numba is imported on the first call that runs a kernel, not with this module.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsmask_qgis.engine._threads import run_spatial_tasks, workers_count
from tsmask_qgis.engine._validate import InputError, validate_mask
from tsmask_qgis.engine.sun import SunTable, resolve_sun
from tsmask_qgis.progress import Progress, emit

__all__ = [
    "Candidates",
    "DateShadow",
    "ShadowParams",
    "ShadowResult",
    "apply_shadow_geometry",
    "candidate_offsets",
    "crop_margin",
    "grid_steps",
    "margin_pixels",
    "series_margin_m",
    "shadow_direction",
    "shadow_geometry",
    "shadow_margin_m",
    "warm_kernels",
]

_KERNEL_DTYPES = tuple(np.dtype(d) for d in (np.int16, np.uint16, np.float32, np.float64))


@dataclass(frozen=True)
class ShadowParams:
    """Constants of the shadow-geometry step, each with its physical reason.

    The defaults are not fitted to any scene; ``docs/accuracy.md`` reports how
    the results move when each is halved or doubled.
    """

    #: Lowest cloud (base) height searched, metres. Fog lifts into low stratus a
    #: few hundred metres up; below this a cloud and its shadow touch.
    min_height: float = 200.0
    #: Highest cloud height searched, metres: the tropopause at mid-latitudes,
    #: where the anvils of the tallest storms flatten out.
    max_height: float = 12000.0
    #: A pixel-date is *dark* when its six-band mean ``sa`` is below
    #: ``(1 - shadow_drop)`` times each of its two nearest clear dates. 0.4: a
    #: pixel is shadow when at least half of the direct sunlight is blocked;
    #: under a clear sky 10-20 % of the light on the ground is diffuse
    #: skylight, so that halving darkens the pixel by 0.5 x (0.8 .. 0.9) =
    #: 0.40 .. 0.45. Clear land changes far less between neighbouring dates.
    shadow_drop: float = 0.4
    #: Dates with the sun lower than this (degrees) are left as detected: shadows
    #: are longer than 5.7 times the cloud height and merge with terrain shading.
    min_sun_elevation: float = 10.0
    #: Cloud objects smaller than this (pixels) are not matched (their footprint
    #: is too small to tell a shadow from chance darkness along a long search);
    #: they still count when deciding which pixels a cloud can reach. 9: a 3x3
    #: block, the smallest object both presets' spatial steps keep reliably.
    min_cloud_pixels: int = 9
    #: Detected shadow (class 3 from the preset) that the darkness test says is
    #: not dark (its ``sa`` is not below ``1 - shadow_drop`` times one of its two
    #: nearest clear dates) becomes clear: ground as bright as on its clear
    #: dates is not in a shadow. This also undoes seed's one-pixel shadow
    #: buffer (use ``buffer_m(shadow_m=...)`` for a buffer). ``False`` keeps the
    #: preset's shadow wherever a cloud can reach it.
    recheck_detected: bool = True

    def __post_init__(self) -> None:
        for name in ("min_height", "max_height", "shadow_drop", "min_sun_elevation"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if not 0 <= self.min_height <= self.max_height:
            raise ValueError(
                f"cloud heights must satisfy 0 <= min_height <= max_height, got "
                f"{self.min_height!r} and {self.max_height!r} (metres)"
            )
        if not 0.0 < self.shadow_drop < 1.0:
            raise ValueError(f"shadow_drop must be between 0 and 1, got {self.shadow_drop!r}")
        if not 0.0 < self.min_sun_elevation < 90.0:
            raise ValueError(
                f"min_sun_elevation must be between 0 and 90 degrees, got {self.min_sun_elevation!r}"
            )
        if not isinstance(self.recheck_detected, bool):
            raise ValueError(
                f"recheck_detected must be True or False, got {self.recheck_detected!r}"
            )
        m = self.min_cloud_pixels
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise ValueError(f"min_cloud_pixels must be a positive integer, got {m!r}")


# --------------------------------------------------------------------------- geometry


def grid_steps(pixel_size: Any) -> tuple[float, float]:
    """``(y_step, x_step)`` in metres, signed as the coordinates run.

    A single number ``p`` is a north-up grid of square pixels: ``(-p, p)``.
    """
    if isinstance(pixel_size, (int, float, np.integer, np.floating)) and not isinstance(
        pixel_size, bool
    ):
        p = float(pixel_size)
        steps = (-p, p)
        if not (math.isfinite(p) and p > 0):
            raise ValueError(f"pixel_size must be a positive number of metres, got {pixel_size!r}")
        return steps
    try:
        ys, xs = (float(v) for v in pixel_size)
    except (TypeError, ValueError):
        raise ValueError(
            "pixel_size must be a number (metres, north-up) or (y_step, x_step) in metres, "
            f"got {pixel_size!r}"
        ) from None
    if not (math.isfinite(ys) and math.isfinite(xs) and ys != 0 and xs != 0):
        raise ValueError(f"pixel steps must be finite and non-zero, got {pixel_size!r}")
    return ys, xs


def shadow_direction(azimuth: float, elevation: float, pixel_size: Any) -> tuple[float, float]:
    """Rows and columns the shadow moves per metre of cloud height.

    The shadow lies opposite the sun's azimuth (clockwise from north), at a
    ground distance of ``height / tan(elevation)``.
    """
    ys, xs = grid_steps(pixel_size)
    run = 1.0 / math.tan(math.radians(elevation))
    az = math.radians(azimuth)
    east = -math.sin(az) * run
    north = -math.cos(az) * run
    return north / ys, east / xs


@dataclass(frozen=True)
class Candidates:
    """The heights searched on one date and the offsets (rows, cols) they give.

    ``offsets[k]`` is the shift from a cloud pixel to its shadow for
    ``heights[k]``; consecutive offsets differ by one pixel along the major
    axis. ``steps`` are the distinct moves ``offsets[k] - offsets[k-1]`` and
    ``step_of[k]`` indexes them (``step_of[0]`` is unused).
    """

    heights: np.ndarray
    offsets: np.ndarray
    steps: np.ndarray
    step_of: np.ndarray


def _round_half_up(v: np.ndarray) -> np.ndarray:
    return np.floor(v + 0.5)


def candidate_offsets(
    azimuth: float, elevation: float, pixel_size: Any, params: ShadowParams | None = None
) -> Candidates:
    """The candidate heights and shadow offsets of a date (docs/shadow_geometry.md).

    With ``u`` the (rows, cols) per metre from :func:`shadow_direction` and
    ``m = max(|u_rows|, |u_cols|)``, the heights are ``j / m`` for every
    integer ``j`` from ``ceil(min_height * m)`` to ``floor(max_height * m)``:
    the shadow moves exactly one pixel along the major axis per step. The
    major offset is ``j`` (signed), the minor ``floor(j * u_minor / m + 0.5)``.
    """
    p = params or ShadowParams()
    ur, uc = shadow_direction(azimuth, elevation, pixel_size)
    m = max(abs(ur), abs(uc))
    if not math.isfinite(m) or m == 0.0:
        return Candidates(
            heights=np.array([p.min_height]),
            offsets=np.zeros((1, 2), np.int64),
            steps=np.zeros((0, 2), np.int64),
            step_of=np.zeros(1, np.int64),
        )
    j0 = math.ceil(p.min_height * m)
    j1 = math.floor(p.max_height * m)
    if j1 < j0:  # the whole range moves the shadow by less than one pixel
        js = np.array([math.floor(p.min_height * m + 0.5)], dtype=np.float64)
        heights = np.array([p.min_height])
    else:
        js = np.arange(j0, j1 + 1, dtype=np.float64)
        heights = js / m
    rows_major = abs(ur) >= abs(uc)
    major_sign = math.copysign(1.0, ur if rows_major else uc)
    ratio = (uc if rows_major else ur) / m
    major = (js * major_sign).astype(np.int64)
    minor = _round_half_up(js * ratio).astype(np.int64)
    offsets = np.stack([major, minor] if rows_major else [minor, major], axis=1)
    moves = np.diff(offsets, axis=0)
    if moves.size and np.abs(moves).max() > 1:
        raise AssertionError("candidate offsets must move by one pixel per step")  # by construction
    steps, inverse = (
        np.unique(moves, axis=0, return_inverse=True)
        if moves.size
        else (np.zeros((0, 2), np.int64), np.zeros(0, np.int64))
    )
    step_of = np.concatenate([[0], np.asarray(inverse).ravel()]).astype(np.int64)
    return Candidates(
        heights=heights,
        offsets=np.ascontiguousarray(offsets, dtype=np.int64),
        steps=np.ascontiguousarray(steps, dtype=np.int64),
        step_of=step_of,
    )


def shadow_margin_m(max_height: float = 12000.0, min_sun_elevation: float = 10.0) -> float:
    """The longest cloud-to-shadow distance (metres): ``max_height / tan(min_sun_elevation)``.

    Load this much around the area (clouds outside it can cast shadows in, and
    a pixel whose sunward ray stays inside the loaded data can be judged), run
    detection and the shadow step on the larger grid, then crop.
    """
    if not (math.isfinite(max_height) and max_height >= 0):
        raise ValueError(f"max_height must be a non-negative number of metres, got {max_height!r}")
    if not 0.0 < min_sun_elevation <= 90.0:
        raise ValueError(f"min_sun_elevation must be in (0, 90] degrees, got {min_sun_elevation!r}")
    if min_sun_elevation == 90.0:
        return 0.0
    return float(max_height / math.tan(math.radians(min_sun_elevation)))


def series_margin_m(elevations: Any, params: ShadowParams | None = None) -> float:
    """:func:`shadow_margin_m` for a series: its lowest sun among the dates the step runs on."""
    p = params or ShadowParams()
    el = np.asarray(elevations, dtype=np.float64)
    used = el[np.isfinite(el) & (el >= p.min_sun_elevation)]
    if used.size == 0:
        return 0.0
    return shadow_margin_m(p.max_height, float(min(90.0, used.min())))


def margin_pixels(margin_m: float, pixel_size: Any) -> tuple[int, int]:
    """Pixels (rows, cols) that cover ``margin_m`` metres on each side."""
    ys, xs = grid_steps(pixel_size)
    if not (math.isfinite(margin_m) and margin_m >= 0):
        raise ValueError(f"margin must be a non-negative number of metres, got {margin_m!r}")
    return math.ceil(margin_m / abs(ys) - 1e-9), math.ceil(margin_m / abs(xs) - 1e-9)


def crop_margin(data: Any, margin: int | tuple[int, int]) -> Any:
    """``data`` without ``margin`` pixels (rows, cols) on each side of its last two axes.

    Works on numpy arrays and on DataArrays with ``y``/``x`` dims (coordinates
    follow).
    """
    my, mx = (margin, margin) if isinstance(margin, (int, np.integer)) else margin
    my, mx = int(my), int(mx)
    if my < 0 or mx < 0:
        raise ValueError(f"margin must be non-negative, got {margin!r}")
    ny, nx = data.shape[-2], data.shape[-1]
    if 2 * my >= ny or 2 * mx >= nx:
        raise ValueError(f"a margin of {(my, mx)} pixels leaves nothing of a {ny} x {nx} grid")
    if hasattr(data, "isel") and "y" in getattr(data, "dims", ()):
        return data.isel(y=slice(my, ny - my), x=slice(mx, nx - mx))
    return data[..., my : ny - my, mx : nx - mx]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DateShadow:
    """What the step did on one date.

    ``skipped``: why the geometry did not run (``None`` when it ran);
    ``objects``: cloud objects; ``matched``: objects whose best footprint was
    mostly dark; ``added``: pixels that became shadow; ``removed``: detected
    shadow pixels no cloud can reach, now clear; ``not_dark``: detected
    shadow pixels that are not dark, now clear; ``heights``: the matched
    objects' heights (metres), in the order of the objects, and ``sizes``
    their sizes (pixels).
    """

    azimuth: float
    elevation: float
    skipped: str | None = None
    objects: int = 0
    matched: int = 0
    added: int = 0
    removed: int = 0
    not_dark: int = 0
    heights: tuple[float, ...] = ()
    sizes: tuple[int, ...] = ()


@dataclass(frozen=True)
class ShadowResult:
    """The new mask (same type as given) and what happened per date."""

    mask: Any
    dates: tuple[DateShadow, ...]
    params: ShadowParams
    sun_notes: tuple[str, ...] = ()

    def notes(self) -> list[str]:
        """Messages for the user, each once: where the sun came from, skipped dates."""
        out = list(self.sun_notes)
        low = [i for i, d in enumerate(self.dates) if d.skipped]
        if not low:
            return out
        return [
            *out,
            f"shadow geometry skipped on {len(low)} of {len(self.dates)} date(s) with the sun "
            f"below {self.params.min_sun_elevation:g} degrees or no sun position (dates "
            + ", ".join(str(i) for i in low[:10])
            + (", ..." if len(low) > 10 else "")
            + "): those dates keep the detected shadow",
        ]


# --------------------------------------------------------------------------- numpy layer


def _kernels() -> Any:
    from tsmask_qgis.engine import _shadow_kernels

    return _shadow_kernels


def _kernel_array(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` as a C-contiguous, writeable array of ``dtype`` (a copy only when needed):
    the one array type the kernels are compiled for, so no call compiles anew."""
    return np.require(a, dtype=dtype, requirements=["C", "W"])


def warm_kernels() -> None:
    """Compile (or load from numba's cache) the kernels of this step and of the buffers
    for every input dtype the engine reads directly; a cold first call takes seconds."""
    from tsmask_qgis.engine.buffers import buffer_m

    mask = np.ones((3, 12, 12), np.uint8)
    mask[1, 3:7, 3:7] = 2
    mask[1, 8:10, 8:10] = 3
    for dtype in _KERNEL_DTYPES:
        bands = np.full((6, 3, 12, 12), 1000 if dtype.kind in "iu" else 0.1, dtype=dtype)
        apply_shadow_geometry(mask, bands, (45.0, 45.0), 20.0, nodata=-999, workers=1)
    buffer_m(mask, cloud_m=60, shadow_m=60, pixel_size=20.0, workers=1)


def _band_list(bands: Any) -> list[Any]:
    if isinstance(bands, np.ndarray):
        if bands.ndim != 4 or bands.shape[0] != 6:
            raise ValueError(
                "bands must be (6, time, y, x) in the order blue, green, red, nir, swir1, "
                f"swir2, or a sequence of six (time, y, x) arrays; got shape {bands.shape}"
            )
        return [bands[i] for i in range(6)]
    seq = list(bands)
    if len(seq) != 6:
        raise ValueError(f"bands must hold six arrays (blue .. swir2), got {len(seq)}")
    return seq


def _nodata_vectors(nodata: Any) -> tuple[np.ndarray, np.ndarray]:
    vals = list(nodata) if isinstance(nodata, (list, tuple)) else [nodata] * 6
    if len(vals) != 6:
        raise ValueError(f"nodata must be one value or six (one per band), got {len(vals)}")
    nd = np.zeros(6, np.float64)
    has = np.zeros(6, np.bool_)
    for i, v in enumerate(vals):
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            nd[i] = float(v)
            has[i] = True
    return nd, has


def _row_blocks(ny: int, per_row: int, workers: int) -> list[tuple[int, int]]:
    rows = max(1, min(ny, (4 << 20) // max(1, per_row)))
    nblocks = max(math.ceil(ny / rows), min(ny, 4 * workers))
    rows = math.ceil(ny / nblocks)
    return [(y, min(ny, y + rows)) for y in range(0, ny, rows)]


def _sun_arrays(sun: Any, nt: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(sun, SunTable):
        az, el = sun.azimuth, sun.elevation
    else:
        try:
            az, el = sun
        except (TypeError, ValueError):
            raise ValueError(
                "sun must be a SunTable or a pair (azimuth, elevation) of per-date arrays"
            ) from None
    az = np.broadcast_to(np.asarray(az, dtype=np.float64), (nt,))
    el = np.broadcast_to(np.asarray(el, dtype=np.float64), (nt,))
    return az, el


def compute_votes(
    mask: np.ndarray,
    bands: Any,
    *,
    shadow_drop: float,
    nodata: Any = None,
    scale: float | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    span: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """The dark vote (int8: +1 dark, -1 not dark, 0 not a candidate) of every pixel-date."""
    k = _kernels()
    blist = _band_list(bands)
    nt, ny, nx = mask.shape
    for b in blist:
        if tuple(b.shape) != (nt, ny, nx):
            raise ValueError(f"each band must have the mask's shape {mask.shape}, got {b.shape}")
    dtypes = {np.dtype(b.dtype) for b in blist}
    if len(dtypes) != 1:
        raise ValueError(f"the six bands must share one dtype, got {sorted(map(str, dtypes))}")
    dtype = dtypes.pop()
    if dtype.kind not in "iuf":
        raise TypeError(f"bands must be integer or float, not {dtype}")
    is_int = dtype.kind in "iu"
    sc = (10000.0 if is_int else 1.0) if scale is None else float(scale)
    if not (math.isfinite(sc) and sc > 0):
        raise ValueError(f"scale must be a positive number, not {scale!r}")
    nd, has = _nodata_vectors(nodata)
    work = dtype if dtype in _KERNEL_DTYPES else np.dtype(np.float32)
    keep = np.float32(1.0 - shadow_drop)
    votes = np.empty((nt, ny, nx), np.int8)

    def task(y0: int, y1: int) -> Any:
        def run() -> None:
            blk = [_kernel_array(np.asarray(b[:, y0:y1]), work) for b in blist]
            m = _kernel_array(mask[:, y0:y1], np.dtype(np.uint8))
            o = np.empty(m.shape, np.int8)
            k.vote_rows(*blk, m, is_int, nd, has, np.float32(sc), keep, o)
            votes[:, y0:y1] = o

        return run

    blocks = _row_blocks(ny, 6 * nt * nx * work.itemsize, workers)
    run_spatial_tasks(
        [task(*b) for b in blocks], workers, progress, "shadow geometry: dark dates", *span
    )
    return votes


def apply_shadow_geometry(
    mask: Any,
    bands: Any,
    sun: Any,
    pixel_size: Any,
    *,
    params: ShadowParams | None = None,
    nodata: Any = None,
    scale: float | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ShadowResult:
    """The shadow-geometry step on a class cube (docs/shadow_geometry.md).

    ``mask``: (T, Y, X) classes after detection (and the preset's spatial
    steps). ``bands``: (6, T, Y, X) or six (T, Y, X) arrays, blue green red
    nir swir1 swir2, integers scaled by ``scale`` (default 10000) with
    ``nodata`` (one value or one per band) or float reflectance with NaN (any
    array that slices to numpy, e.g. dask, works: it is read in row blocks).
    ``sun``: a :class:`~tsmask_qgis.engine.sun.SunTable` or ``(azimuth,
    elevation)`` per date, degrees. ``pixel_size``: metres (north-up square
    pixels) or ``(y_step, x_step)``. Parallel over row blocks, then over
    dates, on ``workers`` threads; the result does not depend on their number.
    Returns a :class:`ShadowResult` with the new uint8 mask.
    """
    p = params or ShadowParams()
    arr = _kernel_array(validate_mask(mask), np.dtype(np.uint8))
    if arr.ndim != 3:
        raise InputError(f"the mask must be (time, y, x), got shape {arr.shape}")
    grid_steps(pixel_size)
    nworkers = workers_count(workers)
    nt = arr.shape[0]
    az, el = _sun_arrays(sun, nt)
    out = np.empty_like(arr)
    emit(progress, "spatial", 0.0, "shadow geometry")
    votes = compute_votes(
        arr,
        bands,
        shadow_drop=p.shadow_drop,
        nodata=nodata,
        scale=scale,
        workers=nworkers,
        progress=progress,
        span=(0.0, 0.5),
    )
    k = _kernels()
    results: list[DateShadow | None] = [None] * nt

    def task(t: int) -> Any:
        def run() -> None:
            a, e = float(az[t]), float(el[t])
            if not (math.isfinite(a) and math.isfinite(e)) or e < p.min_sun_elevation:
                out[t] = arr[t]
                why = "no sun position" if not math.isfinite(e) else "sun too low"
                results[t] = DateShadow(azimuth=a, elevation=e, skipped=why)
                return
            cand = candidate_offsets(a, e, pixel_size, p)
            ncloud = int(np.count_nonzero(arr[t] == 2))
            info = np.zeros((ncloud + 1, 3), np.int64)
            n_obj, added, removed, bright = k.shadow_date(
                arr[t],
                votes[t],
                cand.offsets,
                cand.step_of,
                cand.steps,
                p.min_cloud_pixels,
                p.recheck_detected,
                out[t],
                info,
            )
            best = info[:n_obj, 1]
            hit = best >= 0
            results[t] = DateShadow(
                azimuth=a,
                elevation=e,
                objects=int(n_obj),
                matched=int(hit.sum()),
                added=int(added),
                removed=int(removed),
                not_dark=int(bright),
                heights=tuple(float(h) for h in cand.heights[best[hit]]),
                sizes=tuple(int(n) for n in info[:n_obj, 0][hit]),
            )

        return run

    run_spatial_tasks([task(t) for t in range(nt)], nworkers, progress, "shadow geometry", 0.5, 1.0)
    return ShadowResult(mask=out, dates=tuple(r for r in results if r is not None), params=p)


# --------------------------------------------------------------------------- xarray layer


def _coord_steps(da: Any) -> tuple[float, float]:
    steps = []
    for dim in ("y", "x"):
        if dim not in da.coords or da.sizes[dim] < 2:
            raise InputError(
                f"the mask needs a {dim} coordinate with at least two pixels to know the "
                "pixel size; pass pixel_size= to apply_shadow_geometry instead"
            )
        c = np.asarray(da[dim].values, dtype=np.float64)
        d = np.diff(c)
        if not np.allclose(d, d[0], rtol=1e-6, atol=1e-6 * abs(d[0])):
            raise InputError(f"the {dim} coordinate is not regularly spaced")
        steps.append(float(d[0]))
    ys, xs = steps
    if max(abs(ys), abs(xs)) < 0.01:
        raise InputError(
            f"pixel steps of {abs(xs):g} x {abs(ys):g} look like degrees: the shadow step "
            "needs a projected CRS in metres (e.g. the UTM zone of the area)"
        )
    return ys, xs


def _check_projected(da: Any) -> None:
    ref = da.coords.get("spatial_ref")
    if ref is None:
        return
    wkt = str(ref.attrs.get("crs_wkt") or ref.attrs.get("spatial_ref") or "").lstrip().upper()
    if wkt.startswith(("GEOGCRS", "GEOGCS", "GEODCRS", "GEODETICCRS")):
        raise InputError(
            "the mask is in a geographic CRS (degrees): the shadow step needs a projected "
            "CRS in metres; load the data in the area's UTM zone"
        )


def shadow_geometry(
    mask: Any,
    ds: Any,
    *,
    sun: Any = None,
    center_lonlat: tuple[float, float] | None = None,
    properties: Sequence[Any] | None = None,
    params: ShadowParams | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ShadowResult:
    """:func:`apply_shadow_geometry` on the engine's mask DataArray and the input Dataset.

    The pixel size comes from the mask's ``x``/``y`` coordinates (metres in a
    projected CRS). The sun is ``sun`` (a SunTable or per-date azimuth and
    elevation), or resolved per date from STAC item ``properties`` and, where
    they have none, computed at ``center_lonlat`` (the area's centre; dates
    without a time of day at 10:30 local solar time). The result's ``mask`` is
    a DataArray like ``mask`` with the step recorded in its attributes.
    """
    from tsmask_qgis.engine._validate import validate_dataset

    _check_projected(mask)
    steps = _coord_steps(mask)
    ds, stack = validate_dataset(ds)
    if tuple(stack.shape) != tuple(mask.shape):
        raise InputError(
            f"the mask {tuple(mask.shape)} and the dataset {stack.shape} differ in shape"
        )
    notes: list[str] = []
    if sun is None:
        if center_lonlat is None:
            raise ValueError(
                "give the sun per date (sun=) or the area's centre (center_lonlat=(lon, lat)) "
                "to compute it"
            )
        table = resolve_sun(mask["time"].values, *center_lonlat, properties=properties)
        notes = table.notes()
        sun = table
    res = apply_shadow_geometry(
        mask.values,
        list(stack.arrays),
        sun,
        steps,
        params=params,
        nodata=list(stack.nodata),
        scale=stack.scale,
        workers=workers,
        progress=progress,
    )
    p = res.params
    attrs = dict(mask.attrs)
    attrs["shadow_geometry"] = json.dumps(dataclasses.asdict(p), sort_keys=True)
    if notes:
        attrs["shadow_geometry_notes"] = "; ".join(notes)
    da = mask.copy(data=res.mask)
    da.attrs = attrs
    return ShadowResult(mask=da, dates=res.dates, params=p, sun_notes=tuple(notes))
