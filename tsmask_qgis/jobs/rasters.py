"""Reading and writing class rasters for the mask tools (rasterio; runs only in the child).

The mask tools and the summary read a whole class raster (one band per date)
into memory and write the result beside it under a temporary name, renamed
when complete (:func:`tsmask_qgis.writers.atomic_output`). (The writers'
own class-raster API replaces these two functions when it lands.)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsmask_qgis.classes import NODATA
from tsmask_qgis.errors import InputError

__all__ = ["MaskStack", "read_stack", "write_stack"]


class MaskStack:
    """A mask raster read into memory: ``data`` (bands, y, x) uint8, profile, band names."""

    def __init__(self, data: np.ndarray, profile: dict[str, Any], names: list[str]) -> None:
        self.data = data
        self.profile = profile
        self.names = names


def read_stack(path: str | os.PathLike[str]) -> MaskStack:
    """Read every band of a class raster (one band per date) as uint8."""
    import rasterio

    with rasterio.open(path) as src:
        data = src.read()
        profile = src.profile.copy()
        names = [d or f"band {i + 1}" for i, d in enumerate(src.descriptions)]
    if data.dtype != np.uint8:
        if np.issubdtype(data.dtype, np.floating):
            data = np.nan_to_num(data, nan=NODATA)
        if data.min(initial=0) < 0 or data.max(initial=0) > 3:
            raise InputError(
                f"{path} is not a tsmask class raster: values must be 0..3 "
                f"(found {data.min()}..{data.max()})",
                field="input",
            )
        data = data.astype(np.uint8)
    return MaskStack(data, profile, names)


def write_stack(
    path: str | os.PathLike[str],
    data: np.ndarray,
    profile: dict[str, Any],
    names: Sequence[str] = (),
    *,
    nodata: float | None = NODATA,
) -> Path:
    """Write ``data`` (bands, y, x) as a tiled, compressed GeoTIFF, atomically
    (replacing ``path`` if it exists)."""
    import rasterio

    from tsmask_qgis.writers import atomic_output

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
    with atomic_output(path, overwrite=True) as tmp:
        with rasterio.open(tmp, "w", **prof) as dst:
            dst.write(data)
            for i, name in enumerate(names[: data.shape[0]]):
                dst.set_band_description(i + 1, str(name))
    return path
