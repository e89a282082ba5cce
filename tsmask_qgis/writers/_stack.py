"""A class raster file in memory: read every band with its profile, write one back.

What the mask tools (spatial filter, buffer, majority, summary, clear count) work
on: a GeoTIFF (or any raster GDAL reads) with one band per date, read whole into a
``(bands, y, x)`` uint8 array, changed, and written back atomically with the same
georeference and band names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from tsmask_qgis.classes import CLASSES, NODATA
from tsmask_qgis.errors import InputError
from tsmask_qgis.writers._atomic import atomic_output

__all__ = ["MaskRaster", "read_mask_raster", "write_mask_raster"]

_TOP = max(c.value for c in CLASSES)


@dataclass
class MaskRaster:
    """A class raster read into memory: ``data`` (bands, y, x) uint8, the rasterio
    ``profile`` it was read with, and ``names`` (each band's description, or
    ``"band N"``)."""

    data: np.ndarray
    profile: dict[str, Any]
    names: list[str]


def read_mask_raster(path: str | os.PathLike[str]) -> MaskRaster:
    """Every band of the class raster ``path`` (one band per date) as uint8.

    A raster of another integer or float type is accepted when its values are
    classes (NaN counts as no observation); other values raise :class:`InputError`.
    """
    with rasterio.open(path) as src:
        data = src.read()
        profile = dict(src.profile)
        names = [d or f"band {i + 1}" for i, d in enumerate(src.descriptions)]
    if data.dtype != np.uint8:
        if np.issubdtype(data.dtype, np.floating):
            data = np.nan_to_num(data, nan=NODATA)
        if data.min(initial=0) < 0 or data.max(initial=0) > _TOP:
            raise InputError(
                f"{path} is not a tsmask class raster: values must be 0..{_TOP} "
                f"(found {data.min()}..{data.max()})",
                field="input",
            )
        data = data.astype(np.uint8)
    return MaskRaster(data, profile, names)


def write_mask_raster(
    path: str | os.PathLike[str],
    data: np.ndarray,
    profile: dict[str, Any],
    names: Sequence[str] = (),
    *,
    nodata: float | None = NODATA,
    overwrite: bool = False,
) -> Path:
    """Write ``data`` ((bands, y, x) or (y, x)) as a DEFLATE-compressed GeoTIFF, atomically.

    The georeference comes from ``profile`` (as :func:`read_mask_raster` gives it),
    the type from ``data``; band ``i`` is described by ``names[i]``. Rasters of at
    least 256 x 256 pixels are tiled in 256-pixel blocks. ``nodata`` is 0 (no
    observation) unless given (``None`` for a count, where 0 is a value).
    """
    path = Path(path)
    if data.ndim == 2:
        data = data[np.newaxis]
    prof = dict(profile)
    for key in ("blockxsize", "blockysize", "tiled", "interleave", "photometric"):
        prof.pop(key, None)
    prof.update(
        driver="GTiff",
        count=data.shape[0],
        height=data.shape[1],
        width=data.shape[2],
        dtype=data.dtype.name,
        nodata=nodata,
        compress="deflate",
    )
    if data.shape[1] >= 256 and data.shape[2] >= 256:
        prof.update(tiled=True, blockxsize=256, blockysize=256)
    with atomic_output(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **prof) as dst:
            dst.write(data)
            for i, name in enumerate(names[: data.shape[0]]):
                dst.set_band_description(i + 1, str(name))
    return path
