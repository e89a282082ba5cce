"""Tiling and memory budgets shared by the runners.

Detection works on spatial tiles (each carries its whole time series), the
spatial steps on whole dates. Results never depend on the tiling.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from tsmask_qgis.errors import ParameterError

__all__ = [
    "BUFFER_SHARE",
    "Tile",
    "cpu_count",
    "date_chunks",
    "default_budget",
    "parse_memory",
    "row_tiles",
    "stream_tile_pixels",
    "super_tiles",
]

#: Share of the memory budget the input tile buffers may take (the rest: dask's
#: transient chunks, kernel scratch, the spatial step's dates, Python).
BUFFER_SHARE = 0.6


def stream_tile_pixels(t: int, budget: int, itemsize: int) -> int:
    """Pixels in one streamed super tile: two buffers (one being filled while the
    other is detected) of six bands x ``t`` dates x ``itemsize`` bytes fit the
    budget's buffer share. Loaders chunk lazy inputs to this so no chunk is read twice."""
    return max(1, int(budget * BUFFER_SHARE / (2 * 6 * max(1, t) * itemsize)))


_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


@dataclass(frozen=True)
class Tile:
    """A spatial window ``[y0:y1, x0:x1]``."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def ys(self) -> slice:
        return slice(self.y0, self.y1)

    @property
    def xs(self) -> slice:
        return slice(self.x0, self.x1)

    @property
    def size(self) -> int:
        return (self.y1 - self.y0) * (self.x1 - self.x0)

    def within(self, outer: Tile) -> Tile:
        """This tile in the coordinates of ``outer`` (which contains it)."""
        return Tile(self.y0 - outer.y0, self.y1 - outer.y0, self.x0 - outer.x0, self.x1 - outer.x0)


def parse_memory(value: int | float | str | None) -> int | None:
    """Bytes from ``4_000_000_000``, ``"4GB"``, ``"512 MiB"`` (``None`` passes through)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ParameterError(f"max_memory must be positive, got {value!r}", field="max_memory")
        return int(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", value)
        if m and m.group(2).lower() in _UNITS:
            n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
            if n > 0:
                return n
    raise ParameterError(
        f"the memory budget {value!r} is not a size: write e.g. 4GB, 512MB or 2GiB",
        field="max_memory",
    )


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def default_budget() -> int:
    """Half the memory currently available (the default ``max_memory``)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available * 0.5)
    except Exception:  # pragma: no cover - psutil missing or unsupported
        return 4 * 10**9


def row_tiles(area: Tile, *, workers: int, max_pixels: int | None = None) -> list[Tile]:
    """Full-width strips of ``area`` for the detection workers.

    About eight strips per worker (for balance and progress), each at least a
    few thousand pixels and at most ``max_pixels``.
    """
    height, width = area.y1 - area.y0, area.x1 - area.x0
    total = height * width
    target = min(max(total // (8 * max(1, workers)), 4096), 65536)
    if max_pixels is not None:
        target = max(1, min(target, max_pixels))
    if width > target:
        # Very wide area: split the columns too.
        cols = max(1, math.ceil(width / target))
        step_x = math.ceil(width / cols)
        return [
            Tile(y, y + 1, x, min(x + step_x, area.x1))
            for y in range(area.y0, area.y1)
            for x in range(area.x0, area.x1, step_x)
        ]
    rows = max(1, target // max(1, width))
    return [
        Tile(y, min(y + rows, area.y1), area.x0, area.x1) for y in range(area.y0, area.y1, rows)
    ]


def date_chunks(
    ntime: int, npix: int, *, workers: int, budget: int | None = None
) -> list[tuple[int, int]]:
    """Consecutive date ranges for the spatial steps (whole dates each).

    About four ranges per worker, each small enough that ``workers`` of them
    (input and output, uint8) fit in ``budget``.
    """
    per = max(1, math.ceil(ntime / (4 * max(1, workers))))
    if budget is not None:
        per = max(1, min(per, budget // max(1, 4 * npix * max(1, workers))))
    return [(t, min(t + per, ntime)) for t in range(0, ntime, per)]


def _edges(n: int, chunks: Sequence[int] | None, step: int) -> list[int]:
    """Split 0..n into pieces of at most ``step``, on chunk boundaries when there are chunks.

    Whole chunks are grouped greedily; a chunk larger than ``step`` is split in
    even pieces.
    """
    step = max(1, int(step))
    if not chunks:
        return [*range(0, n, step), n]
    edges = [0]
    pos = 0
    for c in (int(c) for c in chunks):
        if pos + c - edges[-1] > step:
            if pos > edges[-1]:
                edges.append(pos)
            if c > step:
                size = math.ceil(c / math.ceil(c / step))  # even pieces
                edges.extend(range(pos + size, pos + c, size))
                edges.append(pos + c)
        pos += c
    if edges[-1] != n:
        edges.append(n)
    return edges


def _group(chunks: Sequence[int], per: int) -> list[int]:
    """Edges grouping ``per`` consecutive chunks at a time."""
    edges = [0]
    pos = 0
    for i, c in enumerate(chunks):
        pos += int(c)
        if (i + 1) % per == 0 or i + 1 == len(chunks):
            edges.append(pos)
    return edges


def super_tiles(
    shape_yx: tuple[int, int],
    *,
    max_pixels: int,
    chunks_yx: tuple[Sequence[int], Sequence[int]] | None = None,
) -> list[Tile]:
    """Spatial tiles of at most about ``max_pixels`` pixels covering the whole area.

    With ``chunks_yx`` (the dask chunk sizes along y and x) a tile is a block of
    whole chunks whenever one chunk fits, so no source chunk (e.g. a COG block)
    is read twice: whole rows of chunks when a row of chunks fits, otherwise
    square-ish blocks of chunks; when one chunk alone exceeds the budget, tiles
    are square pieces of single chunks. Without chunks (in memory) tiles span
    whole rows where possible.
    """
    ny, nx = shape_yx
    max_pixels = max(1, int(max_pixels))
    if ny * nx <= max_pixels:
        return [Tile(0, ny, 0, nx)]
    if chunks_yx is not None:
        cys, cxs = [int(c) for c in chunks_yx[0]], [int(c) for c in chunks_yx[1]]
        per = max_pixels // max(1, max(cys) * max(cxs))
        if per >= 1:
            if per >= len(cxs):
                cols, rows = len(cxs), per // len(cxs)
            else:
                cols = max(1, math.isqrt(per))
                rows = max(1, per // cols)
            ys, xs = _group(cys, rows), _group(cxs, cols)
        else:
            # One chunk alone exceeds the budget, so chunks are read more than once:
            # square pieces of single chunks keep that to about chunk size / budget
            # (full-width strips would read every chunk chunk-height / strip-height times).
            side = max(1, math.isqrt(max_pixels))
            ys, xs = _edges(ny, cys, side), _edges(nx, cxs, side)
        return [Tile(y0, y1, x0, x1) for y0, y1 in pairwise(ys) for x0, x1 in pairwise(xs)]
    # In memory: whole rows where a row fits (contiguous reads).
    width = nx if nx <= max_pixels else max(1, math.isqrt(max_pixels))
    height = max(1, max_pixels // width)
    ys = _edges(ny, None, height)
    xs = _edges(nx, None, width) if width < nx else [0, nx]
    return [Tile(y0, y1, x0, x1) for y0, y1 in pairwise(ys) for x0, x1 in pairwise(xs)]
