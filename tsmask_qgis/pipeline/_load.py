"""The loading step: a local stack, a cache hit, a cached download, or a lazy stream."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from tsmask_qgis.errors import NoDataError, TsmaskError, UnreachableError
from tsmask_qgis.pipeline._job import Job
from tsmask_qgis.progress import Progress, emit

__all__ = [
    "Loaded",
    "load",
    "margin_request",
    "network_options",
    "no_data_for",
    "stream_chunks",
]


def no_data_for(request: Any) -> NoDataError:
    """The error for a search of ``request`` (a ``loaders.Request``) that found nothing."""
    return NoDataError(
        f"no Sentinel-2 acquisitions in {request.source} for bbox {request.bbox} from "
        f"{request.start} to {request.end}; widen the dates or the area, or try another source",
        field="source",
    )


def one_line(exc: BaseException) -> str:
    """An exception's message on one line of at most about 600 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 600 else text[:600] + "..."


@contextlib.contextmanager
def network() -> Iterator[None]:
    """A built-in network error from a library (not one of ours) as :class:`UnreachableError`."""
    try:
        yield
    except (ConnectionError, TimeoutError) as exc:
        if isinstance(exc, TsmaskError):
            raise
        raise UnreachableError(one_line(exc)) from exc


def stream_chunks(shape: tuple[int, int, int], budget: int) -> dict[str, int]:
    """Dask chunks for a lazy load that the engine streams under ``budget`` bytes.

    One chunk is no larger than the engine's super tile for that budget (full-width
    rows while a row fits, else squares), so no chunk is read twice.
    """
    from tsmask_qgis.engine._tiling import stream_tile_pixels

    t, ny, nx = shape
    max_px = stream_tile_pixels(t, budget, 4)  # the loaders give float32 reflectance
    if nx <= max_px:
        return {"time": 1, "y": max(1, min(ny, max_px // nx)), "x": nx}
    side = max(1, math.isqrt(max_px))
    return {"time": 1, "y": min(ny, side), "x": min(nx, side)}


@dataclass
class Loaded:
    """The reflectance of a job; ``streamed`` when it reads the network lazily (not
    cached), ``notes`` what the user should know about how it was loaded."""

    ds: xr.Dataset
    streamed: bool = False
    notes: list[str] = field(default_factory=list)
    #: Pixels loaded around the area (top, bottom, left, right), cropped after detection.
    margin: tuple[int, int, int, int] = (0, 0, 0, 0)


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def _extra_bands(job: Job) -> tuple[str, ...]:
    return (job.reference,) if job.reference else ()


def _read_local(path: Path, progress: Progress | None) -> Loaded:
    from tsmask_qgis import loaders

    emit(progress, "read", 0.0, f"opening {path}")
    ds = loaders.load_local(path)
    sizes = ds.sizes
    emit(progress, "read", 1.0, f"{sizes['time']} dates of {sizes['y']} x {sizes['x']} pixels")
    return Loaded(ds)


def _from_cache(job: Job, request: Any, progress: Progress | None) -> Loaded:
    """A cache hit needs no search either: nothing is read from the network."""
    from tsmask_qgis import loaders

    emit(progress, "search", 1.0, "in the local cache: no search needed")
    notes = ["reflectance read from the local cache (nothing downloaded)"]
    extra = _extra_bands(job)
    kw: dict[str, Any] = {"extra_bands": extra} if extra else {}
    with network():
        ds = loaders.load(request, progress=progress, cache=True, **kw)
    size = sum(ds[b].nbytes for b in loaders.BANDS)
    if job.max_memory is not None and size > job.max_memory:
        shape = (ds.sizes["time"], ds.sizes["y"], ds.sizes["x"])
        ds = ds.chunk(stream_chunks(shape, job.max_memory))
        notes.append(
            f"the job needs {_mb(size)}, more than the memory budget ({_mb(job.max_memory)}): "
            "streamed tile by tile from the cache"
        )
    return Loaded(ds, notes=notes)


def network_options(job: Job) -> Any:
    """The loaders' ``NetworkOptions`` for ``job`` (its ``concurrency`` if it gives one)."""
    from tsmask_qgis import loaders

    return loaders.NETWORK.with_concurrency(job.concurrency)


def _warm_kernels(job: Job) -> None:
    """Load the engine's kernels for ``job`` from numba's cache (a background thread,
    while the catalogue is read: the reads wait on the network, so loading the machine
    code then costs the job no time). A failure is left to the real call to report."""
    try:
        import numpy as np

        from tsmask_qgis.engine import _core
        from tsmask_qgis.engine.warm import SPATIAL_KERNELS

        _core._detect_kernel("detect", np.dtype(np.float32))  # the loaders give float32
        if job.spatial:
            for name in SPATIAL_KERNELS:
                _core._spatial_kernel(name)
    except Exception:  # nosec B110: only a head start; the detection step reports errors
        pass


def _from_catalogue(
    job: Job, request: Any, progress: Progress | None, items: list[Any] | None = None
) -> Loaded:
    """Search (unless ``items`` are given), then download into the cache, or stream
    lazily when the job is larger than the memory budget or the cache. The engine's
    kernels load meanwhile."""
    import threading

    from tsmask_qgis import loaders
    from tsmask_qgis.loaders import _cache

    threading.Thread(target=_warm_kernels, args=(job,), name="tsmask-warm", daemon=True).start()
    extra = _extra_bands(job)
    net = network_options(job)
    if items is None:
        with network():
            items = loaders.search(request, progress=progress, network=net)
    if not items:
        raise no_data_for(request)
    est = loaders.estimate(request, items=items, extra_bands=extra, network=net)
    size = int(est.memory_bytes)
    limit = _cache.max_bytes()
    over_budget = job.max_memory is not None and size > job.max_memory
    over_cache = size > limit
    cache = job.cache and not over_budget and not over_cache
    notes: list[str] = []
    chunks = None
    if job.max_memory is not None and over_budget:
        chunks = stream_chunks(est.shape, job.max_memory)
        notes.append(
            f"the job needs {_mb(size)}, more than the memory budget ({_mb(job.max_memory)}): "
            "streamed tile by tile from the catalogue (not cached)"
        )
    elif over_cache and job.cache:
        notes.append(
            f"the job needs {_mb(size)}, more than the cache limit ({_mb(limit)}, "
            "TSMASK_CACHE_MAX_BYTES): streamed, not cached"
        )
    kw: dict[str, Any] = {"extra_bands": extra} if extra else {}
    with network():
        ds = loaders.load(
            request, items=items, chunks=chunks, progress=progress, cache=cache, network=net, **kw
        )
    return Loaded(ds, streamed=not cache, notes=notes)


def margin_request(job: Job, items: list[Any]) -> tuple[Any, list[str]]:
    """``job.request`` with the margin its post steps need, and a note saying so.

    The shadow geometry needs the sunward sides up to the longest projection at the
    lowest sun of the series (from the items' sun angles, else computed at the area's
    centre); every side gets the larger buffer and 4 pixels more, for the spatial
    steps and buffers reaching in from outside.
    """
    import dataclasses

    from tsmask_qgis.engine._post import sunward_margins_m
    from tsmask_qgis.engine.sun import resolve_sun
    from tsmask_qgis.loaders._search import solar_days

    request = job.request
    sides = [0.0, 0.0, 0.0, 0.0]
    if job.shadow_geometry:
        days = solar_days(items)
        props = [next((i.properties for i in members if i.properties), None) for _, members in days]
        lon, lat = request.centre
        table = resolve_sun([t for t, _ in days], lon, lat, properties=props)
        sides = list(sunward_margins_m(table.azimuth, table.elevation))
    extra = max(job.cloud_buffer_m, job.shadow_buffer_m) + 4 * request.resolution
    margin = tuple(float(v + extra) for v in sides)
    wider = dataclasses.replace(request, margin_m=margin)
    n, s, e, w = (round(v / 1000.0, 1) for v in margin)
    note = (
        f"loaded a margin around the area (north {n} km, south {s} km, east {e} km, west "
        f"{w} km) for the shadow geometry and buffers, cropped off after detection; what "
        "the catalogue has no data for there is nodata"
    )
    return wider, [note]


def load(job: Job, progress: Progress | None) -> Loaded:
    """The reflectance for ``job``: a local stack, a cache hit, a cached download or a
    lazy stream from the catalogue. With post steps a catalogue job first searches,
    then loads the area with the margin they need (:func:`margin_request`)."""
    if job.input is not None:
        return _read_local(job.input, progress)
    from tsmask_qgis import loaders
    from tsmask_qgis.loaders import _cache

    request, items = job.request, None
    notes: list[str] = []
    if job.post_steps:
        with network():
            items = loaders.search(request, progress=progress, network=network_options(job))
        if not items:
            raise no_data_for(request)
        request, notes = margin_request(job, items)
    key = request.key((*loaders.BANDS, *_extra_bands(job)))
    if job.cache and _cache.lookup(key) is not None:
        loaded = _from_cache(job, request, progress)
    else:
        loaded = _from_catalogue(job, request, progress, items)
    loaded.notes[:0] = notes
    loaded.margin = request.margin_pixels()
    return loaded
