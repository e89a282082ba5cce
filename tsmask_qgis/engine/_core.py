"""The numpy layer of the engine: detection and spatial steps on arrays.

``detect_block`` and ``spatial_block`` run one block in the calling thread
(the numba kernels release the GIL, so Python threads run blocks in
parallel); ``classify_array`` is the whole job with an in-process thread pool.
Other runners (process pool, dask) call the two block functions.

numba is imported lazily, on the first call that runs a kernel.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from tsmask_qgis.engine._presets import DeaPreset, Preset, SeedPreset, get_preset
from tsmask_qgis.engine._threads import run_counted
from tsmask_qgis.progress import JobProgress, Progress, StepProgress

__all__ = [
    "SPATIAL_STEPS",
    "classify_array",
    "detect_block",
    "spatial_block",
    "thresholds",
]

#: Values accepted by ``spatial_block(step=...)``.
SPATIAL_STEPS = ("all", "filter", "buffer", "majority")

#: Input dtypes whose kernels ``python -m tsmask_qgis.engine.warm`` compiles.
WARM_DTYPES = (np.int16, np.uint16, np.float32, np.float64)

_compile_lock = threading.Lock()
_ready: set[tuple[str, str]] = set()


def _kernels() -> Any:
    from tsmask_qgis.engine import _kernels

    return _kernels


def _resolve(preset: str | Preset) -> Preset:
    return preset if isinstance(preset, (SeedPreset, DeaPreset)) else get_preset(preset)


def thresholds(preset: Preset) -> np.ndarray:
    """The preset's thresholds as the float32 vector the kernels read."""
    k = _kernels()
    th = np.zeros(k.N_TH, np.float32)
    th[k.TH_BRIGHT] = preset.brightness
    th[k.TH_CSPIKE] = preset.cloud_spike
    th[k.TH_SSPIKE] = preset.shadow_spike
    th[k.TH_CFLOOR] = preset.cloud_floor
    th[k.TH_SCEIL] = preset.shadow_ceiling
    th[k.TH_DARK_SA] = preset.dark_sa
    th[k.TH_DARK_MNDWI] = preset.dark_mndwi
    th[k.TH_DWI] = preset.dwi
    th[k.TH_THD] = preset.thd
    th[k.TH_LAND] = preset.land_cloud
    th[k.TH_AVI] = preset.avi
    th[k.TH_WTD] = preset.wtd
    if isinstance(preset, SeedPreset):
        th[k.TH_WBI] = preset.thin_wbi
        th[k.TH_RGM_LO] = preset.thin_rgm_low
        th[k.TH_RGM_HI] = preset.thin_rgm_high
        th[k.TH_TMNDWI] = preset.thin_mndwi
        th[k.TH_GRBM] = preset.thin_grbm
        th[k.TH_CLOUD2] = -np.inf  # seed has no "dark cloud" rule
        th[k.TH_THIN_ON] = 0.0 if preset.thin_cloud == "off" else 1.0
        th[k.TH_THIN_TEMPORAL] = 1.0 if preset.thin_cloud == "temporal" else 0.0
    else:
        th[k.TH_CLOUD2] = preset.cloud2
        th[k.TH_THIN_ON] = 0.0
    return th


def _readonly(a: np.ndarray) -> np.ndarray:
    """``a`` flagged read-only: the exact type of the compiled signature, so a
    call never triggers a (slow) new specialisation, even while another thread
    has compilation switched on in :func:`_ensure`."""
    a.setflags(write=False)
    return a


def _ensure(name: str, sig_key: str, sig: tuple[Any, ...]) -> Any:
    """The kernel ``name`` with the ``sig`` specialisation compiled (or loaded from cache).

    Every kernel is compiled for arrays of layout ``A`` only and further
    compilation is then disabled, so a C-contiguous array and a strided view
    use the same machine code (one cache entry, one warm-up per dtype).
    """
    k = _kernels()
    disp = getattr(k, name)
    key = (name, sig_key)
    if key in _ready:
        return disp
    with _compile_lock:
        if key not in _ready:
            disp.disable_compile(False)
            try:
                disp.compile(sig)
            finally:
                disp.disable_compile(True)
            _ready.add(key)
    return disp


def _detect_kernel(name: str, dtype: np.dtype) -> Any:
    import numba
    from numba import types

    i8 = types.int64
    b1 = types.boolean
    sig = (
        types.Array(numba.from_dtype(dtype), 1, "C", readonly=True),
        i8,
        i8,
        i8,
        i8,
        i8,
        i8,
        b1,
        b1,
        b1,
        types.float64,
        types.float32,
        types.Array(types.float32, 1, "C", readonly=True),
        types.Array(types.int64, 1, "C", readonly=True),
        types.Array(types.uint8, 1, "C"),
        i8,
        i8,
    )
    return _ensure(name, str(dtype), sig)


def _flat(a: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """A 1-D view of the memory spanned by ``a`` and ``a``'s strides in elements.

    The kernels index ``flat[sum(i_k * stride_k)]`` with the last axis
    contiguous, so any y/x slice of a cube runs without a copy at full speed.
    Arrays that do not fit (negative or odd strides, strided last axis,
    unaligned) are copied first.
    """
    isz = a.itemsize
    if not a.flags.aligned or a.strides[-1] != isz or any(s < 0 or s % isz for s in a.strides):
        a = np.ascontiguousarray(a)
    strides = [s // isz for s in a.strides]
    span = sum((n - 1) * s for n, s in zip(a.shape, strides, strict=True)) + 1
    flat = np.lib.stride_tricks.as_strided(a, shape=(span,), strides=(isz,), writeable=False)
    return flat, strides


def _flat_out(out: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Like :func:`_flat` for an output array, which must be writeable in place."""
    isz = out.itemsize
    if out.strides[-1] != isz or any(s < 0 for s in out.strides) or not out.flags.writeable:
        raise ValueError("out must be writeable with a contiguous last axis")
    strides = [s // isz for s in out.strides]
    span = sum((n - 1) * s for n, s in zip(out.shape, strides, strict=True)) + 1
    return np.lib.stride_tricks.as_strided(out, shape=(span,), strides=(isz,)), strides


def _spatial_kernel(name: str) -> Any:
    from numba import types

    u3 = types.Array(types.uint8, 3, "A")
    if name == "seed_buffer":
        sig: tuple[Any, ...] = (u3, u3)
    else:
        sig = (u3, u3, types.int64)
    return _ensure(name, "u1", sig)


def _check_bands(bands: np.ndarray) -> np.ndarray:
    bands = np.asarray(bands)
    if bands.ndim != 4 or bands.shape[0] != 6:
        raise ValueError(
            "bands must have shape (6, time, y, x) in the order blue, green, red, nir, "
            f"swir1, swir2; got shape {bands.shape}"
        )
    if bands.dtype.kind not in "iuf":
        raise TypeError(
            f"bands must be integer (scaled reflectance) or float (reflectance 0..1), "
            f"not {bands.dtype}"
        )
    if bands.dtype.kind == "f" and bands.dtype.itemsize < 4:
        bands = bands.astype(np.float32)  # float16: exact in float32
    return bands


def _detect_args(
    bands: np.ndarray, nodata: float | None, scale: float | None
) -> tuple[bool, bool, float, np.float32]:
    is_int = bands.dtype.kind in "iu"
    if scale is None:
        scale = 10000.0 if is_int else 1.0
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, not {scale!r}")
    has_nodata = nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata))
    nd = float(nodata) if has_nodata else 0.0  # type: ignore[arg-type]
    return is_int, has_nodata, nd, np.float32(scale)


def detect_block(
    bands: np.ndarray,
    preset: str | Preset,
    *,
    nodata: float | None = None,
    scale: float | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The temporal part of tsmask (labels, spike passes, post rules) on one block.

    ``bands``: (6, T, Y, X) in the order blue, green, red, nir, swir1, swir2, any
    real dtype; any y/x slice of a cube works (each pixel needs its whole time
    series). Integer input is reflectance scaled by ``scale`` (default 10000)
    and only the declared ``nodata`` value is missing; float input is
    reflectance (``scale`` default 1) and NaN/inf (and ``nodata`` if given) are
    missing. Returns (or fills ``out``, shape (T, Y, X)) uint8 classes 0..3.
    Runs in the calling thread without the GIL.
    """
    p = _resolve(preset)
    bands = _check_bands(bands)
    _, T, Y, X = bands.shape
    if out is None:
        out = np.empty((T, Y, X), np.uint8)
    elif out.shape != (T, Y, X) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 of shape {(T, Y, X)}, not {out.dtype} {out.shape}")
    if out.size == 0:
        return out
    is_int, has_nodata, nd, sc = _detect_args(bands, nodata, scale)
    kernel = _detect_kernel("detect_cube", bands.dtype)
    th = _readonly(thresholds(p))
    src, (s_b, s_t, s_y, _) = _flat(bands)
    if out.strides[-1] != 1 or any(s < 0 for s in out.strides) or not out.flags.writeable:
        target = np.empty((T, Y, X), np.uint8)
    else:
        target = out
    dst, (o_t, o_y, _) = _flat_out(target)
    kernel(
        src,
        s_b,
        s_t,
        s_y,
        T,
        Y,
        X,
        isinstance(p, DeaPreset),
        is_int,
        has_nodata,
        nd,
        sc,
        th,
        _readonly(np.array(p.passes, np.int64)),
        dst,
        o_t,
        o_y,
    )
    if target is not out:
        out[...] = target
    return out


def spatial_block(
    mask: np.ndarray, preset: str | Preset, *, step: str = "all", out: np.ndarray | None = None
) -> np.ndarray:
    """The spatial steps on whole dates: ``mask`` (t, Y, X) uint8 -> new uint8 array.

    seed: ``"all"`` is the filter then the buffer; ``"filter"`` or ``"buffer"``
    alone. dea: ``"all"``/``"majority"`` is the majority filter
    ``preset.majority_passes`` times. Any subset of whole dates may be given;
    a date is never tiled (the seed filter's in-place scan cannot be).
    """
    p = _resolve(preset)
    if step not in SPATIAL_STEPS:
        raise ValueError(f"unknown spatial step {step!r}: use one of {', '.join(SPATIAL_STEPS)}")
    mask = np.asarray(mask)
    if mask.ndim == 2:
        return spatial_block(mask[None], p, step=step)[0]
    if mask.ndim != 3 or mask.dtype != np.uint8:
        raise ValueError(f"mask must be uint8 (t, y, x), not {mask.dtype} {mask.shape}")
    if out is None:
        out = np.empty(mask.shape, np.uint8)
    if mask.size == 0:
        return out
    if isinstance(p, SeedPreset):
        if step == "majority":
            raise ValueError(
                "the majority filter belongs to the dea preset; seed uses filter/buffer"
            )
        if step == "filter":
            _spatial_kernel("seed_filter")(mask, out, p.filter_min_count)
        elif step == "buffer":
            _spatial_kernel("seed_buffer")(mask, out)
        else:
            tmp = np.empty(mask.shape, np.uint8)
            _spatial_kernel("seed_filter")(mask, tmp, p.filter_min_count)
            _spatial_kernel("seed_buffer")(tmp, out)
        return out
    if step in ("filter", "buffer"):
        raise ValueError(f"step {step!r} belongs to the seed preset; dea uses majority")
    passes = int(p.majority_passes)
    if passes <= 0:
        out[...] = mask
        return out
    kern = _spatial_kernel("majority")
    src = mask
    tmp = np.empty(mask.shape, np.uint8) if passes > 1 else out
    for i in range(passes):
        dst = out if (passes - i) % 2 == 1 else tmp
        kern(src, dst, int(p.majority_min_count))
        src = dst
    return out


def _row_blocks(Y: int, X: int, T: int, workers: int) -> list[tuple[int, int]]:
    """Row ranges for detection: enough blocks to balance threads, each ~1-4 MB of input."""
    if Y == 0:
        return []
    per_row = max(1, X * T * 12)
    rows = max(1, min(Y, (2 << 20) // per_row))
    nblocks = max(math.ceil(Y / rows), min(Y, 8 * workers))
    rows = math.ceil(Y / nblocks)
    return [(y, min(Y, y + rows)) for y in range(0, Y, rows)]


def _date_blocks(T: int, workers: int) -> list[tuple[int, int]]:
    if T == 0:
        return []
    n = min(T, 4 * workers)
    size = math.ceil(T / n)
    return [(t, min(T, t + size)) for t in range(0, T, size)]


def _run_pool(
    tasks: list[Callable[[], object]],
    workers: int,
    progress: StepProgress | None,
    message: str,
) -> None:
    """Run ``tasks`` on ``workers`` threads, reporting progress from this thread.

    A progress callback that raises (``Cancelled``) stops the queue: tasks not
    started are dropped, the running ones finish, then the error propagates.
    """
    report = None if progress is None else (lambda share: progress(share, message))
    run_counted(tasks, workers, report)


def classify_array(
    bands: np.ndarray,
    *,
    preset: str | Preset = "dea",
    spatial: bool = True,
    workers: int | None = None,
    runner: str = "threads",
    nodata: float | None = None,
    scale: float | None = None,
    progress: Progress | None = None,
    **overrides: Any,
) -> np.ndarray:
    """tsmask classes of a whole (6, T, Y, X) cube: uint8 (T, Y, X), 0..3.

    Detection runs over row blocks (each with its whole time series), then the
    spatial steps over dates, each phase on ``workers`` threads (default: all
    cores). The result does not depend on ``workers``. ``progress(fraction,
    message)`` is called from this thread; raising ``Cancelled`` from it stops
    the job promptly and propagates.
    """
    if runner != "threads":
        raise ValueError(
            f"classify_array runs in-process threads only (runner='threads'), not {runner!r}; "
            "use tsmask_qgis.engine.classify for the process-pool and dask runners"
        )
    p = get_preset(preset, **overrides)
    bands = _check_bands(bands)
    n_workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if n_workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    _, T, Y, X = bands.shape
    out = np.empty((T, Y, X), np.uint8)
    job = JobProgress(progress, ("detect", "spatial") if spatial else ("detect",))
    detect_progress = job.step("detect") if progress is not None else None
    spatial_progress = job.step("spatial") if progress is not None else None
    if detect_progress is not None:
        detect_progress(0.0, "detecting")
    if out.size == 0:
        if detect_progress is not None:
            detect_progress(1.0, "done")
        return out
    # Compile/load kernels here, once, not in the worker threads.
    _detect_kernel("detect_cube", bands.dtype)

    def det_task(y0: int, y1: int) -> Callable[[], object]:
        return lambda: detect_block(
            bands[:, :, y0:y1], p, nodata=nodata, scale=scale, out=out[:, y0:y1]
        )

    blocks = _row_blocks(Y, X, T, n_workers)
    _run_pool([det_task(y0, y1) for y0, y1 in blocks], n_workers, detect_progress, "detecting")
    if spatial:
        result = np.empty_like(out)

        def sp_task(t0: int, t1: int) -> Callable[[], object]:
            return lambda: spatial_block(out[t0:t1], p, out=result[t0:t1])

        for name in ("seed_filter", "seed_buffer") if isinstance(p, SeedPreset) else ("majority",):
            _spatial_kernel(name)
        _run_pool(
            [sp_task(t0, t1) for t0, t1 in _date_blocks(T, n_workers)],
            n_workers,
            spatial_progress,
            "spatial filter",
        )
        out = result
    return out
