"""Cloud-free composites from a reflectance stack and its tsmask classes.

Streams by spatial tile like the engine: one tile's bands (only the dates of the
periods) and classes are read at a time within ``max_memory``, and its periods
are composited in strips of rows on the engine's workers (threads of this
process, or the engine's process pool where numba must not run here). Dask-backed
inputs are read tile by tile.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from tsmask_qgis.classes import CLEAR
from tsmask_qgis.engine import numba_allowed
from tsmask_qgis.engine._tiling import Tile, cpu_count, default_budget, parse_memory, super_tiles
from tsmask_qgis.errors import ParameterError
from tsmask_qgis.products._inputs import Bands, check_mask, find_bands
from tsmask_qgis.products._periods import Period, periods
from tsmask_qgis.progress import CancelToken, Progress, emit

__all__ = ["EPS", "METHODS", "composite", "date_use", "run_strips"]

#: The composite methods.
METHODS = ("median", "geomedian", "mean", "medoid")
_CODES = {"median": 0, "mean": 1, "geomedian": 2, "medoid": 3}
#: The geometric median's stopping tolerance (reflectance units) and iteration limit.
EPS, MAXITER = 1e-6, 1000
#: The progress step of the products.
STEP = "products"


def date_use(mask: Any, max_cloud: float | None) -> np.ndarray:
    """Per date, whether it may be used: its cloud and shadow share of the observed
    pixels is at most ``max_cloud`` percent (all dates when ``None``)."""
    nt = int(mask.shape[0])
    if max_cloud is None:
        return np.ones(nt, bool)
    if not 0 <= float(max_cloud) <= 100:
        raise ParameterError(
            f"the cloud limit must be a percentage 0..100, got {max_cloud}", field="max_cloud"
        )
    ok = np.ones(nt, bool)
    for t0 in range(0, nt, 8):
        block = np.asarray(mask[t0 : t0 + 8])
        flat = block.reshape(block.shape[0], -1)
        observed = (flat != 0).sum(axis=1)
        cloudy = (flat >= 2).sum(axis=1)
        share = np.where(observed > 0, 100.0 * cloudy / np.maximum(observed, 1), 100.0)
        ok[t0 : t0 + 8] = share <= float(max_cloud)
    return ok


def _check(method: str, runner: str) -> None:
    if method not in METHODS:
        raise ParameterError(
            f"unknown composite method {method!r}: use one of {', '.join(METHODS)}",
            field="method",
        )
    if runner not in ("auto", "threads", "processes"):
        raise ParameterError(
            f"unknown runner {runner!r} for composites: use auto, threads or processes",
            field="runner",
        )


def _strips(ny: int, nx: int, workers: int, span: Sequence[tuple[int, int]]) -> list[Any]:
    """Full-width row strips (about four per worker and period, at most 64k pixels)."""
    rows = max(1, min(ny, max(1, 65536 // max(1, nx)), math.ceil(ny / (4 * workers))))
    return [
        (p, t0, t1, y0, min(y0 + rows, ny))
        for p, (t0, t1) in enumerate(span)
        for y0 in range(0, ny, rows)
    ]


def _threads(workers: int) -> Callable[..., None]:
    def run(arrays: tuple[np.ndarray, ...], strips: list[Any], options: tuple, done: Any) -> None:
        from tsmask_qgis.products._work import composite_strip

        work: Callable[..., int] = composite_strip
        with ThreadPoolExecutor(workers, thread_name_prefix="tsmask-products") as pool:
            futures = {pool.submit(work, *arrays, s, *options) for s in strips}
            try:
                while futures:
                    finished, futures = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
                    for f in finished:
                        done(f.result())
                    if not finished:
                        done(0)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    return run


def run_strips(
    runner: str, workers: int, shapes: Sequence[tuple[tuple[int, ...], Any]]
) -> tuple[Any, Callable[[], tuple[np.ndarray, ...]], Callable[..., None], Callable[[], None]]:
    """The executor of one composite: its arrays for ``shapes`` (data, use, out, count),
    a function giving them, the strip runner and the closer."""
    if runner == "threads":
        arrays = tuple(np.empty(s, d) for s, d in shapes)
        return None, lambda: arrays, _threads(workers), lambda: None
    from tsmask_qgis.engine._runner import ProcessExecutor

    ex = ProcessExecutor(workers)
    try:
        arrays = tuple(ex.buffer(s, np.dtype(d), spare=False) for s, d in shapes)
    except BaseException:
        ex.terminate()
        raise

    def run(arrs: tuple[np.ndarray, ...], strips: list[Any], options: tuple, done: Any) -> None:
        refs = tuple(ex.ref(a) for a in arrs)
        tasks = (
            ("tsmask_qgis.products._work:composite_strip_shared", (refs, s, *options))
            for s in strips
        )
        ex.run_tasks(tasks, done, lambda: done(0))

    return ex, lambda: arrays, run, ex.close


def composite(
    ds: Any,
    mask: Any,
    *,
    period: Any = "year",
    method: str = "median",
    max_cloud: float | None = None,
    workers: int | None = None,
    runner: str = "auto",
    max_memory: int | str | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> Any:
    """A cloud-free composite of ``ds`` per period, from clear pixels only.

    ``ds``: the reflectance stack (an ``xarray.Dataset`` with bands named as in
    :mod:`tsmask_qgis.bands`, float 0..1 or integers scaled by 10000 with a
    nodata attribute; numpy or dask). ``mask``: its tsmask classes on the same
    grid and dates (``DataArray`` ``(time, y, x)``); clear is class 1.
    ``period``: ``"year"``, ``"month"``, ``"season"`` (DJF, MAM, JJA, SON),
    ``"all"`` or custom ranges (``"2017-01-01/2017-06-30,..."`` or pairs).
    ``method``: ``"median"`` or ``"mean"`` per band over the clear dates with a value
    in that band, ``"geomedian"`` (the geometric median of the clear observations
    with all bands, Roberts et al. 2017) or ``"medoid"`` (the clear observation
    nearest all others). ``max_cloud``: also leave out whole dates whose cloud and
    shadow share of observed pixels is above this percentage.

    Returns an ``xarray.Dataset`` on ``(period, y, x)``: one float32 variable per
    band (reflectance 0..1, NaN where no clear observation) and ``count`` (int16,
    clear dates used, 0 there), with coords ``period`` (labels), ``start``, ``end``.
    """
    import xarray as xr

    _check(method, runner)
    mask = check_mask(mask, ds)
    bands = find_bands(ds)
    pers = periods(ds["time"].values, period)
    ok = date_use(mask.data, max_cloud)
    workers = cpu_count() if workers is None else max(1, int(workers))
    runner = runner if runner != "auto" else ("threads" if numba_allowed() else "processes")
    data = _run(bands, mask.data, pers, ok, method, workers, runner, max_memory, progress, cancel)
    out, count = data
    coords: dict[str, Any] = {
        "period": [p.label for p in pers],
        "start": ("period", np.array([p.start for p in pers], "datetime64[ns]")),
        "end": ("period", np.array([p.end for p in pers], "datetime64[ns]")),
    }
    for name, c in ds.coords.items():
        if set(c.dims) <= {"y", "x"}:
            coords[str(name)] = c
    variables = {
        b: xr.DataArray(
            out[:, i],
            dims=("period", "y", "x"),
            attrs={"long_name": f"{b} {method} composite", "units": "1"},
        )
        for i, b in enumerate(bands.names)
    }
    variables["count"] = xr.DataArray(
        count, dims=("period", "y", "x"), attrs={"long_name": "clear observations used"}
    )
    attrs = {
        "method": method,
        "periods": ",".join(p.label for p in pers),
        "max_cloud": "none" if max_cloud is None else float(max_cloud),
        "clear_class": CLEAR.value,
    }
    if "spatial_ref" in coords:
        for v in variables.values():
            v.attrs["grid_mapping"] = "spatial_ref"
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def _tile_plan(bands: Bands, nsel: int, budget: int) -> list[Tile]:
    _t, ny, nx = bands.shape
    per_px = len(bands.names) * nsel * 4 + nsel + 8 * len(bands.names)
    chunks = None
    first = bands.arrays[0]
    if not isinstance(first, np.ndarray) and getattr(first, "chunks", None) is not None:
        chunks = (first.chunks[1], first.chunks[2])
    return super_tiles((ny, nx), max_pixels=max(1, int(budget * 0.6) // per_px), chunks_yx=chunks)


def _run(
    bands: Bands,
    mask: Any,
    pers: list[Period],
    ok: np.ndarray,
    method: str,
    workers: int,
    runner: str,
    max_memory: Any,
    progress: Progress | None,
    cancel: CancelToken | None,
) -> tuple[np.ndarray, np.ndarray]:
    _t, ny, nx = bands.shape
    # The dates of the periods, first to last (periods are runs of sorted dates).
    first, last = min(p.index[0] for p in pers), max(p.index[-1] for p in pers) + 1
    sel = slice(first, last)
    nsel = last - first
    span = [(p.index[0] - first, p.index[-1] + 1 - first) for p in pers]
    budget = parse_memory(max_memory) or default_budget()
    tiles = _tile_plan(bands, nsel, budget)
    nb, npr = len(bands.names), len(pers)
    # The composite itself stays within the budget too: past half of it, it is held
    # in temporary files (mapped, freed with the arrays) instead of memory.
    on_disk = npr * nb * ny * nx * 4 + npr * ny * nx * 2 > budget // 2
    out = _result_array((npr, nb, ny, nx), np.float32, on_disk)
    out[...] = np.nan
    count = _result_array((npr, ny, nx), np.int16, on_disk)
    count[...] = 0
    big = max(tiles, key=lambda tl: tl.size)
    hy, hx = big.y1 - big.y0, big.x1 - big.x0
    shapes = [
        ((nb, nsel, hy, hx), bands.kernel_dtype),
        ((nsel, hy, hx), np.uint8),
        ((npr, nb, hy, hx), np.float32),
        ((npr, hy, hx), np.int16),
    ]
    total = ny * nx * npr
    state = {"done": 0, "last": 0.0}

    def done(n: int) -> None:
        if cancel is not None:
            cancel.check()
        state["done"] += n
        now = _time.monotonic()
        if now - state["last"] > 0.2 or state["done"] >= total:
            state["last"] = now
            emit(progress, STEP, state["done"] / max(1, total), f"{method} composite")

    options = (_CODES[method], bands.kernel_nodata, bands.kernel_scale, EPS, MAXITER)
    ex, arrays, run, close = run_strips(runner, workers, shapes)
    ok_sel = ok[sel]
    try:
        emit(progress, STEP, 0.0, f"{method} composite of {npr} period(s), {len(tiles)} tile(s)")
        for tile in tiles:
            done(0)
            h, w = tile.y1 - tile.y0, tile.x1 - tile.x0
            full = arrays()
            shapes_now = _shapes(nb, nsel, npr, h, w)
            data, use, o, c = (_prefix(a, s) for a, s in zip(full, shapes_now, strict=True))
            bands.read_into(data, sel, tile.ys, tile.xs)
            np.equal(
                np.asarray(mask[sel, tile.ys, tile.xs]), CLEAR.value, out=use, casting="unsafe"
            )
            use &= ok_sel[:, None, None]
            run((data, use, o, c), _strips(h, w, workers, span), options, done)
            out[:, :, tile.ys, tile.xs] = o
            count[:, tile.ys, tile.xs] = c
    except BaseException:
        if ex is not None:
            ex.terminate()
        raise
    else:
        close()
    emit(progress, STEP, 1.0, f"{method} composite done")
    return out, count


def _result_array(shape: tuple[int, ...], dtype: Any, on_disk: bool) -> np.ndarray:
    """An array for the result: in memory, or a memory-mapped temporary file that is
    deleted once nothing maps it (the engine's streamed class cubes' folder)."""
    if not on_disk:
        return np.empty(shape, dtype)
    import os
    import tempfile

    from tsmask_qgis.engine._stream import temp_dir

    fd, path = tempfile.mkstemp(prefix="tsmask-composite-", suffix=".raw", dir=temp_dir())
    try:
        os.ftruncate(fd, max(1, math.prod(shape) * np.dtype(dtype).itemsize))
        arr = np.memmap(path, dtype, "r+", 0, shape)
    finally:
        os.close(fd)
    try:
        os.unlink(path)  # POSIX: the mapping stays valid; the space goes with it
    except OSError:  # pragma: no cover - Windows: delete when the array goes
        import weakref

        weakref.finalize(arr, _remove, path)
    return arr


def _remove(path: str) -> None:  # pragma: no cover - Windows
    import os

    try:
        os.unlink(path)
    except OSError:
        pass


def _shapes(nb: int, nt: int, npr: int, h: int, w: int) -> list[tuple[int, ...]]:
    return [(nb, nt, h, w), (nt, h, w), (npr, nb, h, w), (npr, h, w)]


def _prefix(buf: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A C-contiguous array of ``shape`` at the start of ``buf`` (tiles may be smaller)."""
    n = math.prod(shape)
    return buf.reshape(-1)[:n].reshape(shape)
