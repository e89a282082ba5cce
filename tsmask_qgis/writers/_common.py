"""Shared helpers of the writers: mask checks, per-date access, progress."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from rasterio.io import DatasetWriter

from tsmask_qgis import __version__
from tsmask_qgis.classes import CLASSES, NODATA
from tsmask_qgis.progress import Progress, emit
from tsmask_qgis.writers._grid import Grid

__all__ = [
    "as_mask",
    "class_tags",
    "colormap",
    "date_slice",
    "mask_profile",
    "report_date",
    "software",
    "write_date_bands",
]


def software() -> str:
    """The software string written into file metadata."""
    return f"tsmask-qgis {__version__}"


def as_mask(mask: xr.DataArray) -> xr.DataArray:
    """Check that ``mask`` is a (time, y, x) class array; return it with dims in that order."""
    if not isinstance(mask, xr.DataArray):
        raise TypeError(f"a mask must be an xarray.DataArray, not {type(mask).__name__}")
    if set(mask.dims) != {"time", "y", "x"}:
        raise ValueError(f"a mask needs dims (time, y, x); this one has {tuple(mask.dims)}")
    if mask.dtype.kind not in "ui":
        raise ValueError(f"a mask holds integer classes; this one is {mask.dtype}")
    if mask.sizes["time"] == 0:
        raise ValueError("the mask has no dates")
    return mask.transpose("time", "y", "x")


def date_slice(mask: xr.DataArray | np.ndarray, t: int) -> np.ndarray:
    """Date ``t`` of ``mask`` (a (time, y, x) mask, or a (dates, y, x) array of classes)
    as a uint8 numpy array, checked to hold class values only."""
    a = np.asarray(mask[t] if isinstance(mask, np.ndarray) else mask.isel(time=t).values)
    if a.size and (a.min() < 0 or a.max() > max(c.value for c in CLASSES)):
        raise ValueError(
            f"date {t} of the mask holds values outside the classes 0..3 "
            f"(min {a.min()}, max {a.max()})"
        )
    return a.astype("uint8", copy=False)


def colormap() -> dict[int, tuple[int, int, int, int]]:
    """The GeoTIFF colour table of the classes (value -> RGBA)."""
    return {c.value: c.rgba for c in CLASSES}


def class_tags() -> dict[str, str]:
    """Raster metadata naming the classes (``CLASS_0=no_observation`` ...)."""
    tags = {f"CLASS_{c.value}": c.name for c in CLASSES}
    tags["CLASS_LABELS"] = ";".join(f"{c.value}={c.label}" for c in CLASSES)
    return tags


def report_date(progress: Progress | None, i: int, n: int, what: str) -> None:
    """Report writing item ``i`` of ``n`` as the ``write`` step (a cancel point)."""
    emit(
        progress,
        "write",
        i / max(n, 1),
        f"writing {what} {i + 1}/{n}" if i < n else f"wrote {what}",
    )


def mask_profile(grid: Grid, count: int) -> dict[str, Any]:
    """``rasterio.open`` keywords shared by every multi-band class raster (uint8, nodata 0)."""
    return {
        "width": grid.width,
        "height": grid.height,
        "count": count,
        "dtype": "uint8",
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": NODATA,
    }


def write_date_bands(
    ds: DatasetWriter,
    mask: xr.DataArray,
    labels: Sequence[str],
    progress: Progress | None,
    what: str,
    *,
    date_tags: bool = False,
) -> None:
    """Write date ``t`` of ``mask`` to band ``t + 1``, described by its date label.

    ``date_tags`` also sets a ``DATE`` tag on each band. Every band is a cancel point.
    """
    for t, label in enumerate(labels):
        report_date(progress, t, len(labels), what)
        ds.write(date_slice(mask, t), t + 1)
        ds.set_band_description(t + 1, label)
        if date_tags:
            ds.update_tags(t + 1, DATE=label)
