"""Shared helpers of the writers: mask checks, per-date access, progress."""

from __future__ import annotations

import numpy as np
import xarray as xr

from tsmask_qgis import __version__
from tsmask_qgis.classes import CLASSES
from tsmask_qgis.progress import Progress, report

__all__ = ["as_mask", "class_tags", "colormap", "date_slice", "report_date", "software"]


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


def date_slice(mask: xr.DataArray, t: int) -> np.ndarray:
    """Date ``t`` of ``mask`` as a uint8 numpy array, checked to hold class values only."""
    a = np.asarray(mask.isel(time=t).values)
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
    """Report writing item ``i`` of ``n`` (a cancel point)."""
    report(progress, i / max(n, 1), f"writing {what} {i + 1}/{n}" if i < n else f"wrote {what}")
