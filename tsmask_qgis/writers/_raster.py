"""GeoTIFF outputs: a Cloud-Optimized GeoTIFF per date, one multi-band GeoTIFF,
true-colour COGs and the clear-observation count."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from rasterio.enums import ColorInterp, Resampling
from rasterio.io import MemoryFile

from tsmask_qgis.classes import CLEAR, NO_OBSERVATION, NODATA
from tsmask_qgis.progress import Progress
from tsmask_qgis.writers._atomic import atomic_output
from tsmask_qgis.writers._common import (
    as_mask,
    class_tags,
    colormap,
    date_slice,
    mask_profile,
    report_date,
    software,
    write_date_bands,
)
from tsmask_qgis.writers._grid import Grid, date_labels, grid_of

__all__ = [
    "reflectance",
    "truecolour_rgba",
    "write_clear_count",
    "write_cogs",
    "write_multiband",
    "write_truecolour",
]

_ENV = {"GDAL_PAM_ENABLED": "NO", "GDAL_NUM_THREADS": "1"}
_BANDS_RGB = ("red", "green", "blue")


def _write_cog(
    path: Path,
    bands: np.ndarray,
    grid: Grid,
    *,
    nodata: float | None,
    resampling: str,
    blocksize: int,
    cmap: dict[int, tuple[int, int, int, int]] | None = None,
    descriptions: Sequence[str] | None = None,
    tags: dict[str, str] | None = None,
    colorinterp: Sequence[ColorInterp] | None = None,
) -> None:
    """Write ``bands`` (count, y, x) as a COG at ``path`` (not atomic by itself)."""
    count, height, width = bands.shape
    with rasterio.Env(**_ENV), MemoryFile() as mem:
        with mem.open(
            driver="GTiff",
            width=width,
            height=height,
            count=count,
            dtype=bands.dtype,
            crs=grid.crs,
            transform=grid.transform,
            nodata=nodata,
        ) as ds:
            ds.write(bands)
            if cmap is not None:
                ds.write_colormap(1, cmap)
            if colorinterp is not None:
                ds.colorinterp = colorinterp
            for i, d in enumerate(descriptions or (), start=1):
                ds.set_band_description(i, d)
            ds.update_tags(TIFFTAG_SOFTWARE=software(), **(tags or {}))
        with mem.open() as src:
            rasterio.shutil.copy(
                src,
                path,
                driver="COG",
                COMPRESS="DEFLATE",
                PREDICTOR="YES" if bands.dtype != np.uint8 or cmap is None else "NO",
                BLOCKSIZE=str(blocksize),
                OVERVIEWS="AUTO",
                OVERVIEW_RESAMPLING=resampling,
                BIGTIFF="IF_SAFER",
                NUM_THREADS="1",
            )


def _date_paths(
    folder: str | os.PathLike[str],
    prefix: str,
    labels: Sequence[str],
    paths: Sequence[str | os.PathLike[str]] | None,
) -> list[Path]:
    """``paths`` (one per date label), or ``{folder}/{prefix}_{label}.tif``."""
    if paths is None:
        return [Path(folder) / f"{prefix}_{label}.tif" for label in labels]
    if len(paths) != len(labels):
        raise ValueError(f"{len(paths)} file names for {len(labels)} dates")
    return [Path(p) for p in paths]


def _dates_to_write(
    paths: Sequence[Path],
    *,
    skip: Collection[Path],
    progress: Progress | None,
    on_written: Callable[[Path], None] | None,
    what: str,
) -> Iterator[tuple[int, Path]]:
    """Yield ``(t, path)`` of each per-date file still to write, reporting progress.

    Paths in ``skip`` are passed over. ``on_written(path)`` runs once the
    caller's loop body for that path has finished without an exception.
    """
    skip_set = {Path(p) for p in skip}
    for t, path in enumerate(paths):
        report_date(progress, t, len(paths), what)
        if path in skip_set:
            continue
        yield t, path
        if on_written is not None:
            on_written(path)
    report_date(progress, len(paths), len(paths), f"{what}s")


def write_cogs(
    mask: xr.DataArray,
    folder: str | os.PathLike[str],
    *,
    prefix: str = "tsmask",
    overwrite: bool = False,
    blocksize: int = 512,
    resampling: str = "MODE",
    paths: Sequence[str | os.PathLike[str]] | None = None,
    skip: Collection[Path] = (),
    progress: Progress | None = None,
    on_written: Callable[[Path], None] | None = None,
) -> list[Path]:
    """One Cloud-Optimized GeoTIFF per date: ``{folder}/{prefix}_{date}.tif``, or
    ``paths`` (one per date, in time order) when given.

    uint8, nodata 0 (no observation), a colour table from ``tsmask_qgis.classes``,
    DEFLATE compression and internal overviews resampled with ``resampling``
    (``MODE`` or ``NEAREST``: classes must not be averaged). Paths listed in
    ``skip`` are complete outputs of an interrupted run and are not rewritten;
    ``on_written(path)`` is called as each file is completed. Returns every
    date's path, in time order.
    """
    if resampling.upper() not in ("MODE", "NEAREST"):
        raise ValueError("class overviews must use MODE or NEAREST resampling")
    mask = as_mask(mask)
    grid = grid_of(mask)
    labels = date_labels(mask.time)
    files = _date_paths(folder, prefix, labels, paths)
    for t, path in _dates_to_write(
        files, skip=skip, progress=progress, on_written=on_written, what="mask COG"
    ):
        label = labels[t]
        data = date_slice(mask, t)[np.newaxis]
        with atomic_output(path, overwrite=overwrite) as tmp:
            _write_cog(
                tmp,
                data,
                grid,
                nodata=NODATA,
                resampling=resampling.upper(),
                blocksize=blocksize,
                cmap=colormap(),
                descriptions=[label],
                tags={**class_tags(), "DATE": label},
            )
    return files


def write_multiband(
    mask: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Path:
    """All dates in one tiled GeoTIFF, one band per date, band descriptions = dates.

    uint8, nodata 0, DEFLATE, overviews resampled by mode. TIFF colour tables
    need a single band, so style it with the ``.qml`` sidecar (:func:`write_qml`).
    """
    mask = as_mask(mask)
    grid = grid_of(mask)
    labels = date_labels(mask.time)
    path = Path(path)
    n = len(labels)
    with (
        rasterio.Env(**_ENV),
        atomic_output(path, overwrite=overwrite, needed=n * grid.height * grid.width) as tmp,
    ):
        with rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            tiled=True,
            blockxsize=256,
            blockysize=256,
            compress="DEFLATE",
            interleave="band",
            bigtiff="IF_SAFER",
            **mask_profile(grid, n),
        ) as ds:
            write_date_bands(ds, mask, labels, progress, "multi-band GeoTIFF band", date_tags=True)
            # A TIFF colour table needs a single-band file: the .qml sidecar styles this one.
            ds.update_tags(TIFFTAG_SOFTWARE=software(), DATES=",".join(labels), **class_tags())
            factors = [f for f in (2, 4, 8, 16, 32) if min(grid.width, grid.height) // f >= 256]
            if factors:
                ds.build_overviews(factors, Resampling.mode)
    report_date(progress, n, n, "multi-band GeoTIFF")
    return path


def reflectance(ds: xr.Dataset, band: str, t: int) -> np.ndarray:
    """Date ``t`` of ``band`` as float32 reflectance 0..1 with NaN for nodata.

    Accepts float reflectance, or integers scaled by 10000 with an optional
    ``nodata`` attribute (the loaders' data convention).
    """
    var = ds[band].transpose("time", "y", "x")
    a = np.asarray(var.isel(time=t).values)
    if a.dtype.kind in "ui":
        out = a.astype("float32")
        nodata = var.attrs.get("nodata")
        if nodata is not None:
            out[a == nodata] = np.nan
        scale = float(var.attrs.get("scale", 10000.0))
        offset = float(var.attrs.get("offset", 0.0))
        return (out + offset) / scale
    return a.astype("float32", copy=False)


def truecolour_rgba(
    ds: xr.Dataset, t: int, *, stretch: tuple[float, float] = (0.0, 0.3)
) -> np.ndarray:
    """Date ``t`` as an RGBA uint8 image (4, y, x): a fixed linear stretch of
    reflectance ``stretch[0]..stretch[1]`` to 1..255 (the same on every date, so
    dates compare), alpha 0 where any of red, green, blue is nodata."""
    lo, hi = stretch
    if not hi > lo:
        raise ValueError("the stretch needs low < high reflectance")
    rgb = np.stack([reflectance(ds, b, t) for b in _BANDS_RGB])
    valid = np.isfinite(rgb).all(axis=0)
    scaled = np.clip((np.nan_to_num(rgb, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
    out = np.empty((4, *valid.shape), dtype="uint8")
    out[:3] = (1 + np.round(scaled * 254)).astype("uint8")
    out[:3, ~valid] = 0
    out[3] = np.where(valid, 255, 0)
    return out


def write_truecolour(
    ds: xr.Dataset,
    folder: str | os.PathLike[str],
    *,
    prefix: str = "truecolour",
    stretch: tuple[float, float] = (0.0, 0.3),
    overwrite: bool = False,
    blocksize: int = 512,
    paths: Sequence[str | os.PathLike[str]] | None = None,
    skip: Collection[Path] = (),
    progress: Progress | None = None,
    on_written: Callable[[Path], None] | None = None,
) -> list[Path]:
    """A true-colour COG per date (RGB uint8 + alpha) from the reflectance dataset:
    ``{folder}/{prefix}_{date}.tif``, or ``paths`` (one per date) when given.

    Red, green and blue reflectance ``stretch[0]..stretch[1]`` map linearly to
    1..255 on every date; nodata is transparent (alpha 0). Overviews are averaged.
    """
    missing = [b for b in _BANDS_RGB if b not in ds.data_vars]
    if missing:
        raise ValueError(f"true colour needs the bands red, green, blue; missing {missing}")
    grid = grid_of(ds)
    labels = date_labels(ds.time)
    files = _date_paths(folder, prefix, labels, paths)
    interp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    for t, path in _dates_to_write(
        files, skip=skip, progress=progress, on_written=on_written, what="true-colour COG"
    ):
        rgba = truecolour_rgba(ds, t, stretch=stretch)
        with atomic_output(path, overwrite=overwrite) as tmp:
            _write_cog(
                tmp,
                rgba,
                grid,
                nodata=None,
                resampling="AVERAGE",
                blocksize=blocksize,
                descriptions=["red", "green", "blue", "alpha"],
                tags={"DATE": labels[t], "STRETCH": f"{stretch[0]}..{stretch[1]} reflectance"},
                colorinterp=interp,
            )
    return files


def clear_count(mask: xr.DataArray | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: the number of clear dates and of observed dates (uint16 each).

    ``mask`` is a (time, y, x) mask or a (dates, y, x) array of classes, such as
    the ``data`` of :func:`read_mask_raster`.
    """
    if isinstance(mask, np.ndarray):
        if mask.ndim != 3:
            raise ValueError(f"a mask array is (dates, y, x); this one has shape {mask.shape}")
        n, shape = mask.shape[0], mask.shape[1:]
    else:
        mask = as_mask(mask)
        n, shape = mask.sizes["time"], (mask.sizes["y"], mask.sizes["x"])
    clear = np.zeros(shape, dtype="uint16")
    observed = np.zeros_like(clear)
    for t in range(n):
        a = date_slice(mask, t)
        clear += a == CLEAR.value
        observed += a != NO_OBSERVATION.value
    return clear, observed


def write_clear_count(
    mask: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    blocksize: int = 512,
) -> Path:
    """A COG of the per-pixel number of clear dates (band 1) and observed dates (band 2).

    uint16, no nodata (0 is a count); ``clear / observed`` is the clear fraction.
    """
    clear, observed = clear_count(mask)
    path = Path(path)
    grid = grid_of(mask)
    labels = date_labels(mask.time)
    with atomic_output(path, overwrite=overwrite) as tmp:
        _write_cog(
            tmp,
            np.stack([clear, observed]),
            grid,
            nodata=None,
            resampling="AVERAGE",
            blocksize=blocksize,
            descriptions=["clear observations", "observations"],
            tags={"DATES": f"{labels[0]}..{labels[-1]}", "DATE_COUNT": str(len(labels))},
        )
    return path
