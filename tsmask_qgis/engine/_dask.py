"""The dask runner: the same kernels through ``map_blocks``.

Detection runs on blocks with the whole time axis and a spatial chunk
(``(6, T, cy, cx)`` -> ``(T, cy, cx)``); the class cube is then rechunked to
whole dates and the spatial steps run per block of dates. With a
``dask.distributed`` Client the graph runs on the cluster; progress counts
finished blocks and cancelling cancels the futures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tsmask_qgis.engine._validate import BandStack

__all__ = ["build", "compute"]

#: Target bytes of one detection input block (6 bands x all dates x a spatial chunk).
BLOCK_BYTES = 128 * 2**20
#: Target bytes of one block of whole dates for the spatial steps.
DATE_BLOCK_BYTES = 64 * 2**20


def _detect_chunk(
    block: np.ndarray, preset: Any, nodata: float | None, scale: float | None
) -> np.ndarray:
    from tsmask_qgis.engine import _core

    return _core.detect_block(block, preset, nodata=nodata, scale=scale)


def _spatial_chunk(block: np.ndarray, preset: Any, step: str) -> np.ndarray:
    from tsmask_qgis.engine import _core

    return _core.spatial_block(np.asarray(block), preset, step=step)


def _normalise_chunk(block: np.ndarray, stack: BandStack, band: int) -> np.ndarray:
    return stack.normalise(block, band)


def build(stack: BandStack, preset: Any, *, spatial: bool, step: str = "all") -> Any:
    """The lazy class cube (dask array, uint8, (T, Y, X))."""
    import dask.array as da

    t, ny, nx = stack.shape
    bands = []
    for i, a in enumerate(stack.arrays):
        arr = a if not isinstance(a, np.ndarray) else da.from_array(a, chunks=(-1, "auto", "auto"))
        if not stack.direct:
            arr = arr.map_blocks(_normalise_chunk, stack, i, dtype=np.float32)
        else:
            arr = arr.astype(stack.kernel_dtype)
        bands.append(arr)
    cube = da.stack(bands)
    itemsize = stack.kernel_dtype.itemsize
    side = max(16, int((BLOCK_BYTES / (6 * t * itemsize)) ** 0.5))
    cy = min(ny, side)
    cx = min(nx, max(16, BLOCK_BYTES // (6 * t * itemsize * cy)))
    cube = cube.rechunk((6, t, cy, cx))
    det = da.map_blocks(
        _detect_chunk,
        cube,
        preset,
        stack.kernel_nodata,
        stack.kernel_scale,
        drop_axis=0,
        dtype=np.uint8,
        chunks=(cube.chunks[1], cube.chunks[2], cube.chunks[3]),
        name="tsmask-detect",
    )
    if not spatial:
        return det
    per = max(1, min(t, DATE_BLOCK_BYTES // max(1, ny * nx)))
    dates = det.rechunk((per, ny, nx))
    return dates.map_blocks(_spatial_chunk, preset, step, dtype=np.uint8, name="tsmask-spatial")


def compute(
    result: Any,
    *,
    client: Any = None,
    out: Any = None,
    monitor: Any = None,
) -> np.ndarray:
    """Compute the lazy cube into ``out`` (or a new array) with progress and cancel."""
    target = out if out is not None else np.empty(result.shape, np.uint8)
    if client is not None:
        return _compute_distributed(result, client, target, monitor)
    return _compute_local(result, target, monitor)


def _compute_local(result: Any, target: Any, monitor: Any) -> Any:
    import dask.array as da
    from dask.callbacks import Callback

    class _Progress(Callback):  # type: ignore[misc]
        def _start_state(self, dsk: Any, state: Any) -> None:
            self.total = sum(len(state[k]) for k in ("ready", "waiting", "running"))
            self.done = 0

        def _posttask(self, key: Any, res: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            self.done += 1
            if monitor is not None:
                monitor.detect_done = self.done
                monitor.detect_total = max(1, self.total)
                monitor.report(f"dask: {self.done} of {self.total} tasks")

    with _Progress():
        da.store(result, target, lock=False)
    return target


def _compute_distributed(result: Any, client: Any, target: Any, monitor: Any) -> Any:
    """Blocks computed on the cluster, gathered into ``target`` as they finish."""
    from distributed import wait

    blocks = result.to_delayed()
    offsets = [np.cumsum((0, *c))[:-1] for c in result.chunks]
    index = list(np.ndindex(blocks.shape))
    futures = client.compute([blocks[idx] for idx in index])
    where = {
        f.key: tuple(int(offsets[d][i]) for d, i in enumerate(idx))
        for f, idx in zip(futures, index, strict=True)
    }
    total = len(futures)
    if monitor is not None:
        monitor.detect_total = total
        monitor.detect_done = 0
    remaining = set(futures)
    try:
        while remaining:
            try:
                finished = wait(list(remaining), timeout=0.5, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                if monitor is not None:
                    monitor.tick()
                continue
            for fut in finished:
                block = fut.result()
                start = where[fut.key]
                region = tuple(slice(s, s + n) for s, n in zip(start, block.shape, strict=True))
                target[region] = block
                remaining.discard(fut)
                fut.release()
                if monitor is not None:
                    monitor.detect_done = total - len(remaining)
                    monitor.report(f"dask: {total - len(remaining)} of {total} blocks")
    except BaseException:
        client.cancel(list(remaining))
        raise
    return target
