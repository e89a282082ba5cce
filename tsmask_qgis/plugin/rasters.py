"""Reading and writing mask rasters for the plugin's tools (rasterio; no ``qgis``).

Used by the mask tools and the summary in the QGIS process (no kernels run
here). Every file is written under a temporary name in its folder and renamed
when complete.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsmask_qgis.classes import CLEAR, NODATA

__all__ = [
    "MaskStack",
    "clear_count",
    "read_stack",
    "temp_path",
    "write_count",
    "write_stack",
]


class MaskStack:
    """A mask raster read into memory: ``data`` (bands, y, x) uint8, profile, band names."""

    def __init__(self, data: np.ndarray, profile: dict[str, Any], names: list[str]) -> None:
        self.data = data
        self.profile = profile
        self.names = names


def temp_path(path: str | os.PathLike[str]) -> Path:
    """A unique temporary name in the same folder as ``path`` (same suffix)."""
    p = Path(path)
    return p.with_name(f".{p.stem}.{uuid.uuid4().hex[:8]}.part{p.suffix}")


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
            raise ValueError(
                f"{path} is not a tsmask class raster: values must be 0..3 "
                f"(found {data.min()}..{data.max()})"
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
    atomic: bool = True,
) -> Path:
    """Write ``data`` (bands, y, x) as a tiled, compressed GeoTIFF.

    With ``atomic`` (the default) it is written under a temporary name and
    renamed; without, straight to ``path`` (for callers that own a temporary name).
    """
    import rasterio

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
    tmp = temp_path(path) if atomic else path
    try:
        with rasterio.open(tmp, "w", **prof) as dst:
            dst.write(data)
            for i, name in enumerate(names[: data.shape[0]]):
                dst.set_band_description(i + 1, str(name))
        if tmp != path:
            os.replace(tmp, path)
    finally:
        if tmp != path and tmp.exists():
            tmp.unlink()
    return path


def clear_count(data: np.ndarray) -> np.ndarray:
    """How many dates were clear at each pixel, from (dates, y, x) classes."""
    return (np.asarray(data) == CLEAR.value).sum(axis=0, dtype=np.uint16)


def write_count(mask_paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]) -> Path:
    """The clear-observation count of one or more mask rasters, as a uint16 GeoTIFF."""
    import rasterio

    total: np.ndarray | None = None
    profile: dict[str, Any] = {}
    for path in mask_paths:
        with rasterio.open(path) as src:
            profile = src.profile.copy()
            for band in range(1, src.count + 1):
                clear = src.read(band) == CLEAR.value
                total = clear.astype(np.uint16) if total is None else total + clear
    if total is None:
        raise ValueError("no mask raster to count clear observations in")
    return write_stack(out, total, profile, ["clear observations"], nodata=None)
