"""Reading and writing mask rasters for the plugin's tools (rasterio; no ``qgis``).

Functions here run in the QGIS process (reading, counting) and in worker
processes (:func:`filter_file`, which runs engine kernels). Every file is
written under a temporary name in its folder and renamed when complete.
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
    "detect_file",
    "filter_file",
    "read_raw",
    "read_stack",
    "temp_path",
    "write_count",
    "write_mask_dataarray",
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


def filter_file(
    src: str, tmp_out: str, step: str, *, preset: str = "seed", passes: int = 1
) -> dict[str, Any]:
    """Worker side of the raster tools: read, run one engine step per date, write.

    ``step`` is ``seed_filter``, ``buffer``, ``majority_filter`` or
    ``spatial`` (the preset's whole spatial part). Runs engine kernels, so it
    is meant for a worker process, never the QGIS process.
    """
    from tsmask_qgis.engine import get_preset

    try:
        from tsmask_qgis.engine import spatial_block  # type: ignore[attr-defined]
    except ImportError:  # the numpy layer before it is re-exported by the engine
        from tsmask_qgis.engine._core import spatial_block

    stack = read_stack(src)
    if step == "seed_filter":
        out = spatial_block(stack.data, "seed", step="filter")
    elif step == "buffer":
        out = spatial_block(stack.data, "seed", step="buffer")
    elif step == "majority_filter":
        out = spatial_block(stack.data, get_preset("dea", majority_passes=passes), step="majority")
    elif step == "spatial":
        out = spatial_block(stack.data, preset, step="all")
    else:
        raise ValueError(f"unknown step {step!r}")
    out = np.asarray(out, dtype=np.uint8)
    write_stack(tmp_out, out, stack.profile, stack.names, atomic=False)
    changed = int((out != stack.data).sum())
    return {"bands": int(out.shape[0]), "changed": changed}


def read_raw(path: str | os.PathLike[str]) -> np.ndarray:
    """Every band of a raster as stored (bands, y, x), e.g. a reference classification."""
    import rasterio

    with rasterio.open(path) as src:
        return src.read()


def _date_names(times: Any) -> list[str]:
    return [str(np.datetime64(t, "D")) for t in np.asarray(times)]


def write_mask_dataarray(mask: Any, path: str | os.PathLike[str], *, atomic: bool = True) -> Path:
    """Write a (time, y, x) class DataArray with an odc geobox as one band per date."""
    geobox = mask.odc.geobox
    profile = {"transform": geobox.affine, "crs": geobox.crs.to_wkt()}
    data = np.asarray(mask.values, dtype=np.uint8)
    return write_stack(path, data, profile, _date_names(mask["time"].values), atomic=atomic)


def detect_file(
    src: str,
    tmp_out: str,
    *,
    preset: str = "seed",
    spatial: bool = True,
    workers: int | None = None,
    overrides: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Worker side of local detection: load a local stack, classify, write one band per date.

    Runs engine kernels (threads inside this worker process), so it is meant
    for a worker process, never the QGIS process.
    """
    import xarray as xr

    from tsmask_qgis.engine._core import classify_array
    from tsmask_qgis.loaders import BANDS, load_local

    ds = load_local(src)
    bands = np.stack([np.asarray(ds[b].values, dtype=np.float32) for b in BANDS])
    classes = classify_array(
        bands,
        preset=preset,
        spatial=spatial,
        workers=workers,
        runner="threads",
        **(overrides or {}),
    )
    mask = xr.DataArray(classes, dims=("time", "y", "x"), coords={"time": ds["time"].values})
    geobox = ds.odc.geobox
    profile = {"transform": geobox.affine, "crs": geobox.crs.to_wkt()}
    write_stack(tmp_out, classes, profile, _date_names(mask["time"].values), atomic=False)
    return {"dates": int(classes.shape[0]), "shape": list(classes.shape[1:])}
