"""The two-phase local runner: detection over spatial tiles, then spatial steps over dates.

One driver (:func:`run_cube`) serves the thread and the process executors,
in memory or streamed (bounded memory, see ``_stream.py``):

1. for each *super tile* (the whole area when it fits the memory budget),
   read its six bands for all dates into a buffer (prefetching the next one
   in the background), then detect on *sub-tiles* of it in parallel, writing
   the class cube (``out``) tile by tile;
2. run the spatial steps on whole dates of ``out``, in parallel over dates.

Results do not depend on the tiling or the number of workers.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tsmask_qgis.engine._threads import run_tasks
from tsmask_qgis.engine._tiling import Tile, date_chunks, row_tiles
from tsmask_qgis.engine._validate import BandStack
from tsmask_qgis.progress import CancelToken, JobProgress, Progress, Report

__all__ = ["Cube", "Monitor", "ProcessExecutor", "ThreadExecutor", "read_block", "run_cube"]


# --------------------------------------------------------------------------- progress


class Monitor:
    """Progress across the phases as ``detect`` and ``spatial`` reports; every report is
    a cancel point. ``progress`` receives :class:`~tsmask_qgis.progress.Report` values
    with the engine's own overall fraction (a job's :class:`~tsmask_qgis.progress.JobProgress`
    recomputes it for its plan)."""

    def __init__(
        self,
        progress: Progress | None,
        cancel: CancelToken | None,
        *,
        steps: tuple[str, ...] = ("detect", "spatial"),
    ) -> None:
        self._progress = JobProgress(progress, steps) if progress is not None else None
        self._cancel = cancel
        self._lock = threading.Lock()
        #: The step being reported (``detect``, then ``spatial``).
        self.step = steps[0]
        self.detect_total = 1
        self.detect_done = 0
        self.spatial_total = 1
        self.spatial_done = 0
        #: Whether any pixel-date so far was observed (class other than 0).
        self.observed = False

    def check(self) -> None:
        """Raise ``Cancelled`` if the token is set."""
        if self._cancel is not None:
            self._cancel.check()

    def report(self, message: str, step: str | None = None) -> None:
        """Report ``message`` for ``step`` (default: the current step) with its fraction."""
        self.check()
        if step is not None:
            self.step = step
        if self._progress is not None:
            if self.step == "detect":
                f = self.detect_done / max(1, self.detect_total)
            else:
                f = self.spatial_done / max(1, self.spatial_total)
            self._progress(Report(self.step, min(1.0, f), message))

    def detected(self, done: tuple[int, bool]) -> None:
        npix, observed = done
        with self._lock:
            self.detect_done += npix
            self.observed = self.observed or observed
        self.report(f"{self.detect_done:,} of {self.detect_total:,} pixels", "detect")

    def filtered(self, ndates: int) -> None:
        with self._lock:
            self.spatial_done += ndates
        self.report(f"{self.spatial_done} of {self.spatial_total} dates", "spatial")

    def tick(self) -> None:
        self.report("working")


# --------------------------------------------------------------------------- reading


def _store(sources: list[Any], targets: list[np.ndarray]) -> None:
    """``dask.array.store`` into this process's buffers, returning only when no read
    still runs: on a failed read dask raises at once while its other threads go on
    writing, and the caller then frees the buffers (a crash). The reads run on a
    pool of our own, shut down (running reads finished) before this returns."""
    import dask
    import dask.array as da

    if type(getattr(dask.base.get_scheduler(), "__self__", None)).__name__ == "Client":
        da.store(sources, targets, lock=False)  # a distributed client: its futures write
        return
    workers = int(dask.config.get("num_workers", None) or os.cpu_count() or 1)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="tsmask-dask")
    try:
        da.store(sources, targets, lock=False, scheduler="threads", pool=pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def read_block(stack: BandStack, tile: Tile, out: np.ndarray | None = None) -> np.ndarray:
    """The six bands of ``tile`` for all dates as ``(6, T, y, x)`` in the kernels' dtype.

    Reads dask-backed bands chunk by chunk straight into ``out`` (no second
    copy of the tile); normalises to float32 reflectance when the bands'
    nodata values differ.
    """
    t = stack.shape[0]
    shape = (6, t, tile.y1 - tile.y0, tile.x1 - tile.x0)
    if out is None:
        out = np.empty(shape, stack.kernel_dtype)
    views = [a[:, tile.ys, tile.xs] for a in stack.arrays]
    if stack.lazy:
        import dask.array as da

        lazy = [i for i, v in enumerate(views) if not isinstance(v, np.ndarray)]
        if stack.direct:
            _store([views[i] for i in lazy], [out[i] for i in lazy])
        else:
            computed = da.compute(*[views[i] for i in lazy])
            for i, v in zip(lazy, computed, strict=True):
                views[i] = v
            lazy = []
        eager = [i for i in range(6) if i not in lazy]
    else:
        eager = list(range(6))
    for i in eager:
        raw = np.asarray(views[i])
        if stack.direct:
            np.copyto(out[i], raw, casting="unsafe")
        else:
            out[i] = stack.normalise(raw, i)
    return out


# --------------------------------------------------------------------------- the class cube


class Cube(Protocol):
    """Where the class cube is written: an array in memory or a file."""

    shape: tuple[int, int, int]

    def write_tile(self, tile: Tile, data: np.ndarray) -> None: ...
    def read_dates(self, t0: int, t1: int) -> np.ndarray: ...
    def write_dates(self, t0: int, t1: int, data: np.ndarray) -> None: ...


@dataclass
class ArrayCube:
    """A class cube held by any array supporting numpy slicing (ndarray, memmap, zarr)."""

    array: Any

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.array.shape)  # type: ignore[return-value]

    def write_tile(self, tile: Tile, data: np.ndarray) -> None:
        self.array[:, tile.ys, tile.xs] = data

    def read_dates(self, t0: int, t1: int) -> np.ndarray:
        return np.asarray(self.array[t0:t1])

    def write_dates(self, t0: int, t1: int, data: np.ndarray) -> None:
        self.array[t0:t1] = data


# --------------------------------------------------------------------------- executors


class Executor(Protocol):
    workers: int
    #: True when detection can read sub-tiles of an in-memory source itself (no buffer).
    reads_source: bool

    def buffer(
        self, shape: tuple[int, ...], dtype: np.dtype, *, spare: bool = True
    ) -> np.ndarray: ...
    def detect(
        self,
        stack: BandStack,
        area: Tile,
        buf: np.ndarray | None,
        cube: Any,
        preset: Any,
        monitor: Monitor,
    ) -> None: ...
    def spatial(
        self,
        cube: Any,
        chunks: list[tuple[int, int]],
        preset: Any,
        monitor: Monitor,
        *,
        step: str = ...,
    ) -> None: ...
    def close(self) -> None: ...


def _core() -> Any:
    from tsmask_qgis.engine import _core

    return _core


class ThreadExecutor:
    """Kernels in threads of this process (they release the GIL)."""

    reads_source = True

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tsmask")

    def buffer(self, shape: tuple[int, ...], dtype: np.dtype, *, spare: bool = True) -> np.ndarray:
        return np.empty(shape, dtype)

    def take(self, data: np.ndarray) -> np.ndarray:
        """``data`` as an array that outlives this executor (it already does)."""
        return data

    def terminate(self) -> None:
        """Stop at once: tasks not started are dropped (running kernels finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(
        self, jobs: list[Callable[[], Any]], done: Callable[[Any], None], monitor: Monitor
    ) -> None:
        run_tasks(jobs, self.workers, done=done, tick=monitor.tick, pool=self._pool)

    def detect(
        self,
        stack: BandStack,
        area: Tile,
        buf: np.ndarray | None,
        cube: Any,
        preset: Any,
        monitor: Monitor,
    ) -> None:
        core = _core()
        nodata, scale = stack.kernel_nodata, stack.kernel_scale

        def job(tile: Tile) -> tuple[int, bool]:
            if buf is None:
                block = read_block(stack, tile)
            else:
                w = tile.within(area)
                block = buf[:, :, w.ys, w.xs]
            if isinstance(cube, ArrayCube) and isinstance(cube.array, np.ndarray):
                # Straight into the class cube (no temporary, no second copy).
                res = cube.array[:, tile.ys, tile.xs]
                core.detect_block(block, preset, nodata=nodata, scale=scale, out=res)
            else:
                res = core.detect_block(block, preset, nodata=nodata, scale=scale)
                cube.write_tile(tile, res)
            return tile.size, bool(res.any())

        tiles = row_tiles(area, workers=self.workers)
        self._run([functools.partial(job, t) for t in tiles], monitor.detected, monitor)

    def spatial(
        self,
        cube: Any,
        chunks: list[tuple[int, int]],
        preset: Any,
        monitor: Monitor,
        *,
        step: str = "all",
    ) -> None:
        core = _core()

        def job(t0: int, t1: int) -> int:
            cube.write_dates(t0, t1, core.spatial_block(cube.read_dates(t0, t1), preset, step=step))
            return t1 - t0

        self._run([functools.partial(job, a, b) for a, b in chunks], monitor.filtered, monitor)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class ProcessExecutor:
    """Kernels in worker processes (plain Python interpreters); arrays in shared memory.

    The workers come from the kept pool (:func:`~._procpool.acquire_pool`), so
    consecutive jobs in one process start warm.
    """

    reads_source = False

    def __init__(self, workers: int) -> None:
        from tsmask_qgis.engine._procpool import acquire_pool

        self.workers = max(1, int(workers))
        self._pool: Any = acquire_pool(self.workers)
        self._shared: list[Any] = []

    def buffer(self, shape: tuple[int, ...], dtype: np.dtype, *, spare: bool = True) -> np.ndarray:
        """A shared array; input buffers (``spare``) may reuse an earlier job's segment."""
        from tsmask_qgis.engine._procpool import shared_array
        from tsmask_qgis.engine._shared import SharedArray

        sa = shared_array(shape, dtype) if spare else SharedArray(shape, dtype)
        self._shared.append(sa)
        return sa.array

    def _owner(self, data: np.ndarray) -> Any:
        for sa in self._shared:
            base = sa.array
            if (
                data.flags.c_contiguous
                and data.dtype == base.dtype
                and data.__array_interface__["data"][0] == base.__array_interface__["data"][0]
            ):
                return sa
        raise ValueError("the process executor needs arrays from its buffer()")

    def ref(self, data: np.ndarray) -> Any:
        """The shared-memory reference of ``data``: a C-contiguous prefix of a buffer."""
        from tsmask_qgis.engine._shared import ArrayRef

        sa = self._owner(data)
        return ArrayRef("shm", sa.ref.name, tuple(data.shape), data.dtype.str)

    def take(self, data: np.ndarray) -> np.ndarray:
        """``data`` (a whole buffer) as an array that outlives this executor, without a copy."""
        sa = self._owner(data)
        self._shared.remove(sa)
        return sa.take()

    def run_tasks(
        self,
        tasks: Any,
        on_done: Callable[[Any], None] | None = None,
        tick: Callable[[], None] | None = None,
    ) -> list[Any]:
        """Run ``(name, args)`` tasks on the workers (a name is one of the pool's tasks or
        ``"package.module:function"``, see :func:`~._procpool._task`); results in order."""
        return list(self._pool.run(tasks, on_done, tick))

    def detect(
        self,
        stack: BandStack,
        area: Tile,
        buf: np.ndarray | None,
        cube: Any,
        preset: Any,
        monitor: Monitor,
        *,
        fill: bool = False,
    ) -> None:
        """Detect ``area`` from ``buf`` into ``cube``.

        With ``fill`` the bands are copied into ``buf`` tile by tile just before
        each tile's task is queued, so the copy overlaps detection.
        """
        assert buf is not None  # nosec B101: internal invariant (type narrowing), not a check of input
        src = self.ref(buf)
        dst = cube.ref

        def tasks() -> Iterator[tuple[str, tuple[Any, ...]]]:
            for tile in row_tiles(area, workers=self.workers):
                w = tile.within(area)
                if fill:
                    monitor.check()
                    read_block(stack, tile, buf[:, :, w.ys, w.xs])
                yield (
                    "detect",
                    (
                        src,
                        dst,
                        (w.y0, w.y1, w.x0, w.x1),
                        (tile.y0, tile.y1, tile.x0, tile.x1),
                        preset,
                        stack.kernel_nodata,
                        stack.kernel_scale,
                    ),
                )

        self._pool.run(tasks(), monitor.detected, monitor.tick)

    def spatial(
        self,
        cube: Any,
        chunks: list[tuple[int, int]],
        preset: Any,
        monitor: Monitor,
        *,
        step: str = "all",
    ) -> None:
        dst = cube.ref
        tasks = [("spatial", (dst, t0, t1, preset, step)) for t0, t1 in chunks]
        self._pool.run(tasks, monitor.filtered, monitor.tick)

    def close(self) -> None:
        """Give the workers back (kept for the next job) and free the shared memory."""
        from tsmask_qgis.engine._procpool import release_pool

        pool, self._pool = self._pool, None
        try:
            if pool is not None:
                release_pool(pool, ok=True)
        finally:
            self._free(recycle=True)

    def terminate(self) -> None:
        """Stop the workers now (error or cancel) and free the shared memory."""
        from tsmask_qgis.engine._procpool import release_pool

        pool, self._pool = self._pool, None
        try:
            if pool is not None:
                release_pool(pool, ok=False)
        finally:
            self._free()

    def _free(self, *, recycle: bool = False) -> None:
        from tsmask_qgis.engine import _procpool

        shared, self._shared = self._shared, []
        for sa in shared:
            if recycle:
                _procpool.recycle(sa)
            else:
                sa.close()


# --------------------------------------------------------------------------- driver


def _prefetching(
    stack: BandStack, tiles: list[Tile], buffers: list[np.ndarray], monitor: Monitor
) -> Iterator[tuple[Tile, np.ndarray]]:
    """Yield (tile, its bands), reading the next tile in the background.

    A tile's bands are stored in a C-contiguous prefix of a buffer (so a worker
    process can map it from the buffer's start); buffers alternate.
    """

    def read(i: int) -> np.ndarray:
        tile = tiles[i]
        shape = (6, stack.shape[0], tile.y1 - tile.y0, tile.x1 - tile.x0)
        flat = buffers[i % len(buffers)].reshape(-1)
        return read_block(stack, tile, flat[: int(np.prod(shape))].reshape(shape))

    if len(buffers) < 2:
        for i, tile in enumerate(tiles):
            monitor.report(f"reading tile {i + 1} of {len(tiles)}")
            yield tile, read(i)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="tsmask-read") as reader:
        pending = reader.submit(read, 0)
        try:
            for i, tile in enumerate(tiles):
                monitor.report(f"reading tile {i + 1} of {len(tiles)}")
                while True:
                    try:
                        data = pending.result(timeout=0.5)
                        break
                    except FutureTimeout:
                        monitor.tick()
                if i + 1 < len(tiles):
                    pending = reader.submit(read, i + 1)
                yield tile, data
        finally:
            pending.cancel()
            # Never leave a read running into a buffer that is about to be freed.
            try:
                pending.result()
            except BaseException:
                pass


def run_cube(
    stack: BandStack,
    preset: Any,
    *,
    executor: Any,
    cube: Any,
    tiles: list[Tile],
    spatial: bool,
    monitor: Monitor,
    date_budget: int | None = None,
    prefetch: bool = True,
) -> None:
    """Detect into ``cube`` over ``tiles`` (super tiles), then the spatial steps."""
    t, ny, nx = stack.shape
    monitor.detect_total = ny * nx
    monitor.spatial_total = t if spatial else 0
    monitor.report("starting")
    if executor.reads_source and not stack.lazy and len(tiles) == 1:
        # In-memory input, threads: each thread reads its own sub-tile (no buffer).
        executor.detect(stack, tiles[0], None, cube, preset, monitor)
    elif len(tiles) == 1 and hasattr(executor, "take") and not stack.lazy:
        # One area in memory, processes: copy the bands into shared memory tile
        # by tile, each tile's detection starting as soon as its bands are there.
        # (A lazy input is read in one go: reading it in pieces would compute
        # chunks that share a source, e.g. a rechunked file, once per piece.)
        area = tiles[0]
        shape = (6, t, area.y1 - area.y0, area.x1 - area.x0)
        buf = executor.buffer(shape, stack.kernel_dtype)
        executor.detect(stack, area, buf, cube, preset, monitor, fill=True)
    else:
        nbuf = 2 if prefetch and len(tiles) > 1 else 1
        shape = (6, t, max(tl.y1 - tl.y0 for tl in tiles), max(tl.x1 - tl.x0 for tl in tiles))
        buffers = [executor.buffer(shape, stack.kernel_dtype) for _ in range(nbuf)]
        for tile, data in _prefetching(stack, tiles, buffers, monitor):
            executor.detect(stack, tile, data, cube, preset, monitor)
    if spatial:
        chunks = date_chunks(t, ny * nx, workers=executor.workers, budget=date_budget)
        executor.spatial(cube, chunks, preset, monitor)
    monitor.report("done")
