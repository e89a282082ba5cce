"""Buffers in metres, per class, after the spatial steps (docs/shadow_geometry.md).

A clear pixel whose centre is within ``cloud_m`` metres (Euclidean, between
pixel centres, distance equal to the buffer included) of a cloud pixel becomes
cloud; otherwise, within ``shadow_m`` of a shadow pixel, shadow. Cloud wins
where both reach: a pixel near both is more likely under the cloud's thin edge
than in its shadow, and cloud is the class users mask most strictly.
Distances are measured on the mask as it comes (a buffer never grows from
pixels it added itself); no-observation pixels never change and never spread.
``0`` means no buffer. The exact presets keep their own buffers (seed's one
pixel, dea none); these come after them.

numba is imported on the first call, not with this module.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from tsmask_qgis.engine._threads import run_spatial_tasks, workers_count
from tsmask_qgis.engine._validate import validate_mask
from tsmask_qgis.progress import Progress

__all__ = ["buffer_m", "buffer_table", "parse_distance"]

_DISTANCE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(m|km)?\s*$")


def parse_distance(text: str | float | int) -> float:
    """Metres from ``60``, ``"60"``, ``"60m"``, ``"60 m"`` or ``"0.06km"`` (not negative)."""
    if isinstance(text, bool):
        raise ValueError(f"a distance must be a number of metres, got {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = _DISTANCE.match(str(text))
        if not m:
            raise ValueError(
                f"cannot read the distance {text!r}: give metres like 60, '60m' or '0.06km'"
            )
        value = float(m.group(1)) * (1000.0 if m.group(2) == "km" else 1.0)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"a distance must be a non-negative number of metres, got {text!r}")
    return value


def buffer_table(distance_m: float, pixel_size: Any) -> np.ndarray:
    """Per row offset ``i`` (from ``-R`` to ``R``), the widest column offset ``j`` with
    ``(i * dy)^2 + (j * dx)^2 <= distance^2`` (-1 if none); empty for no buffer."""
    from tsmask_qgis.engine.shadow import grid_steps

    ys, xs = grid_steps(pixel_size)
    d = parse_distance(distance_m)
    if d == 0:
        return np.zeros(0, np.int64)
    d2 = d * d
    R = 0
    while ((R + 1) * ys) ** 2 <= d2:
        R += 1
    half = np.full(2 * R + 1, -1, np.int64)
    for i in range(-R, R + 1):
        j = -1
        while (i * ys) ** 2 + ((j + 1) * xs) ** 2 <= d2:
            j += 1
        half[i + R] = j
    return half


def buffer_m(
    mask: Any,
    *,
    cloud_m: float | str = 0,
    shadow_m: float | str = 0,
    pixel_size: Any = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Any:
    """Buffer cloud by ``cloud_m`` and shadow by ``shadow_m`` metres on every date.

    ``mask``: a DataArray (the pixel size comes from its ``x``/``y``
    coordinates unless ``pixel_size`` is given) or a numpy array, ``(time, y,
    x)`` or ``(y, x)``; the result has the same type and shape. Distances as
    numbers of metres or strings like ``"60m"``. Parallel over dates on
    ``workers`` threads (same result for any number).
    """
    import xarray as xr

    is_da = isinstance(mask, xr.DataArray)
    if pixel_size is None:
        if not is_da:
            raise ValueError("pixel_size (metres) is needed for a numpy mask")
        from tsmask_qgis.engine.shadow import _coord_steps

        pixel_size = _coord_steps(mask)
    half_c = buffer_table(parse_distance(cloud_m), pixel_size)
    half_s = buffer_table(parse_distance(shadow_m), pixel_size)
    arr = validate_mask(mask.values if is_da else mask)
    flat = np.require(arr[None] if arr.ndim == 2 else arr, requirements=["C", "W"])
    out = flat.copy()
    if half_c.size or half_s.size:
        from tsmask_qgis.engine import _buffer_kernels as k

        def task(t: int) -> Any:
            return lambda: k.buffer_date(flat[t], half_c, half_s, out[t])

        run_spatial_tasks(
            [task(t) for t in range(flat.shape[0])],
            workers_count(workers),
            progress,
            "buffers",
        )
    res = out[0] if arr.ndim == 2 else out
    if is_da:
        da = mask.copy(data=res)
        da.attrs["buffers_m"] = (
            f"cloud {parse_distance(cloud_m):g} m, shadow {parse_distance(shadow_m):g} m"
        )
        return da
    return res
