"""Bounded memory: plan super tiles from ``max_memory`` and hold the class cube.

An input larger than the budget streams: one spatial tile with all dates is
read at a time (the next one is read while the current one is detected), the
class cube is written tile by tile into a memory-mapped file (or the caller's
``out``), and the spatial steps then run on whole dates from that file. The
whole input cube is never in memory; the results equal the in-memory path's.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsmask_qgis.engine._runner import (
    ArrayCube,
    Monitor,
    ProcessExecutor,
    ThreadExecutor,
    run_cube,
)
from tsmask_qgis.engine._shared import ArrayRef, open_file_array
from tsmask_qgis.engine._tiling import BUFFER_SHARE, Tile, stream_tile_pixels, super_tiles
from tsmask_qgis.engine._validate import BandStack
from tsmask_qgis.tempfiles import TMP_PREFIX

__all__ = ["FileCube", "Plan", "local_executor", "memory_cube", "plan", "run_local", "temp_dir"]


@dataclass(frozen=True)
class Plan:
    """How a job runs: its super tiles and whether the input streams."""

    tiles: tuple[Tile, ...]
    streaming: bool
    budget: int

    @property
    def prefetch(self) -> bool:
        return len(self.tiles) > 1


def _chunks_yx(stack: BandStack) -> tuple[Any, Any] | None:
    for a in stack.arrays:
        chunks = getattr(a, "chunks", None)
        if chunks is not None and not isinstance(a, np.ndarray):
            return chunks[1], chunks[2]
    return None


def plan(stack: BandStack, *, budget: int, buffered: bool, workers: int = 1) -> Plan:
    """Super tiles for ``stack`` under ``budget`` bytes.

    ``buffered`` is false when the input is already in memory and the runner
    reads it directly (threads): then one tile covers the area. Otherwise each
    super tile's bands are held in a buffer (two when streaming, for
    prefetching) that must fit the budget.
    """
    t, ny, nx = stack.shape
    whole = Tile(0, ny, 0, nx)
    if not buffered:
        return Plan((whole,), False, budget)
    per_px = 6 * t * stack.kernel_dtype.itemsize
    if ny * nx * per_px <= budget * BUFFER_SHARE and (not stack.lazy or ny * nx <= 4 * 65536):
        # In memory, it is copied into the workers' buffer tile by tile, overlapping
        # detection; a small lazy input is read at once.
        return Plan((whole,), False, budget)
    max_px = stream_tile_pixels(t, budget, stack.kernel_dtype.itemsize)
    streaming = ny * nx * per_px > budget * BUFFER_SHARE
    if not streaming:
        # Fits, but large: a few tiles so reading (or copying into shared memory)
        # overlaps detection.
        max_px = min(max_px, math.ceil(ny * nx / 4))
    # At least a few rows per worker in each tile, or workers starve.
    max_px = max(max_px, min(ny * nx, 64 * workers))
    chunks = _chunks_yx(stack)
    tiles = super_tiles((ny, nx), max_pixels=max_px, chunks_yx=chunks)
    if chunks is not None and streaming:
        cy, cx = max(chunks[0]), max(chunks[1])
        biggest = max(tiles, key=lambda tl: tl.size)
        if cy > biggest.y1 - biggest.y0 or cx > biggest.x1 - biggest.x0:
            warnings.warn(
                f"the input's dask chunks ({cy} x {cx} pixels) are larger than the tiles "
                f"max_memory allows ({biggest.y1 - biggest.y0} x {biggest.x1 - biggest.x0}), "
                "so each chunk is read more than once: load with smaller spatial chunks "
                "(e.g. chunks={'x': 512, 'y': 512}) or raise max_memory",
                RuntimeWarning,
                stacklevel=4,
            )
    return Plan(tuple(tiles), streaming, budget)


def temp_dir() -> Path:
    """Where streamed class cubes go: ``$TSMASK_TMPDIR``, else /var/tmp (disk, not RAM),
    else the system temporary directory."""
    env = os.environ.get("TSMASK_TMPDIR")
    if env:
        return Path(env)
    var = Path("/var/tmp")  # nosec B108: a base folder for mkstemp-made files, not a fixed file name
    if var.is_dir() and os.access(var, os.W_OK):
        return var
    return Path(tempfile.gettempdir())


class FileCube:
    """A uint8 class cube in a raw file, mapped only while a tile or dates are accessed.

    Mapping per access keeps this process's resident memory bounded however
    big the cube; worker processes open the same file by path.
    """

    def __init__(self, path: str | os.PathLike[str], shape: tuple[int, int, int], offset: int = 0):
        self.path = str(path)
        self.shape = tuple(int(n) for n in shape)
        self.ref = ArrayRef("file", self.path, self.shape, "|u1", offset)

    @classmethod
    def create(cls, shape: tuple[int, int, int], directory: Path | None = None) -> FileCube:
        directory = directory or temp_dir()
        # the owner's pid in the name: the next run removes the cubes of dead processes
        fd, path = tempfile.mkstemp(
            prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=".u8", dir=directory
        )
        try:
            os.ftruncate(fd, max(1, math.prod(shape)))
        finally:
            os.close(fd)
        return cls(path, shape)

    def write_tile(self, tile: Tile, data: np.ndarray) -> None:
        with open_file_array(self.ref) as arr:
            arr[:, tile.ys, tile.xs] = data

    def read_dates(self, t0: int, t1: int) -> np.ndarray:
        with open_file_array(self.ref, write=False) as arr:
            return np.array(arr[t0:t1])

    def write_dates(self, t0: int, t1: int, data: np.ndarray) -> None:
        with open_file_array(self.ref) as arr:
            arr[t0:t1] = data

    def result(self, *, delete: bool) -> np.memmap:
        """The whole cube as a memmap; with ``delete`` the file goes once it is unmapped."""
        mm = np.memmap(self.path, np.uint8, "r+", self.ref.offset, self.shape)
        if delete:
            try:
                os.unlink(self.path)  # POSIX: the mapping stays valid, the space is freed with it
            except OSError:  # pragma: no cover - Windows: delete when the array goes
                weakref.finalize(mm, _remove, self.path)
        return mm

    def remove(self) -> None:
        _remove(self.path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class SharedCube(ArrayCube):
    """A class cube in the process executor's shared memory."""

    def __init__(self, executor: ProcessExecutor, shape: tuple[int, int, int]) -> None:
        super().__init__(executor.buffer(shape, np.dtype(np.uint8), spare=False))
        self.ref = executor.ref(self.array)


def _file_target(out: Any) -> FileCube | None:
    """``out`` as a file cube when it is a writable, C-ordered uint8 np.memmap."""
    if (
        isinstance(out, np.memmap)
        and getattr(out, "filename", None)
        and out.dtype == np.uint8
        and out.flags.c_contiguous
        and out.flags.writeable
        and out.base is not None
    ):
        t, ny, nx = out.shape
        return FileCube(str(out.filename), (t, ny, nx), int(out.offset))
    return None


@contextmanager
def local_executor(runner: str, workers: int) -> Iterator[Any]:
    """The executor of a local runner (``threads`` or ``processes``) for one job:
    terminated when the job fails or is cancelled, closed in any case."""
    if runner == "processes":
        executor: Any = ProcessExecutor(workers)
    elif runner == "threads":
        executor = ThreadExecutor(workers)
    else:  # pragma: no cover - checked by the callers
        raise ValueError(f"unknown local runner {runner!r}")
    try:
        yield executor
    except BaseException:
        executor.terminate()
        raise
    finally:
        executor.close()


def memory_cube(executor: Any, shape: tuple[int, int, int]) -> ArrayCube:
    """A class cube in memory that ``executor``'s workers write to: shared memory
    for worker processes, a plain array for threads."""
    if isinstance(executor, ProcessExecutor):
        return SharedCube(executor, shape)
    return ArrayCube(np.empty(shape, np.uint8))


def run_local(
    stack: BandStack,
    preset: Any,
    *,
    runner: str,
    workers: int,
    budget: int,
    spatial: bool,
    monitor: Monitor,
    out: Any = None,
) -> Any:
    """Classify with threads or processes; returns the class cube (``out`` when given).

    The cube is a numpy array in memory, or a ``np.memmap`` on a temporary file
    (deleted when the array is) when the input streams.
    """
    t, ny, nx = stack.shape
    shape = (t, ny, nx)
    if out is not None and tuple(out.shape) != shape:
        raise ValueError(f"out has shape {tuple(out.shape)}; it must be {shape} (time, y, x)")
    p = plan(stack, budget=budget, buffered=stack.lazy or runner == "processes", workers=workers)
    file_cube: FileCube | None = None
    temp = False
    try:
        with local_executor(runner, workers) as executor:
            copy_to: Any = None
            if out is not None:
                file_cube = _file_target(out) if runner == "processes" else None
                if file_cube is not None:
                    cube: Any = file_cube
                elif runner == "threads":
                    cube = ArrayCube(out)
                else:
                    cube, copy_to = (SharedCube(executor, shape), out)
            elif p.streaming:
                file_cube = cube = FileCube.create(shape)
                temp = True
            else:
                cube = memory_cube(executor, shape)
            run_cube(
                stack,
                preset,
                executor=executor,
                cube=cube,
                tiles=list(p.tiles),
                spatial=spatial,
                monitor=monitor,
                date_budget=budget // 2,
                prefetch=p.prefetch,
            )
            if copy_to is not None:
                for t0 in range(0, t, 16):
                    copy_to[t0 : t0 + 16] = cube.array[t0 : t0 + 16]
                return copy_to
            if out is not None:
                return out
            if temp:
                assert file_cube is not None  # nosec B101: internal invariant (type narrowing), not a check of input
                return file_cube.result(delete=True)
            return executor.take(cube.array)
    except BaseException:
        if temp and file_cube is not None:
            file_cube.remove()
        raise
