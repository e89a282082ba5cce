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

from tsmask_qgis.engine._shadow_geometry import (
    Candidates,
    ShadowParams,
    candidate_offsets,
    crop_margin,
    grid_steps,
    margin_pixels,
    series_margin_m,
    shadow_direction,
    shadow_margin_m,
)
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
