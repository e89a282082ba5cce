"""Reading masks and reference masks from files for :func:`~tsmask_qgis.evaluate.compare`.

Understood layouts (what ``tsmask_qgis.writers`` writes, and what catalogues ship):

* a NetCDF file (``.nc``): the variable ``tsmask`` or the one ``(time, y, x)``
  / ``(y, x)`` variable (or ``variable=``), with its CF time and grid mapping;
* a multi-band raster (GeoTIFF, ENVI, anything GDAL reads): one band per date,
  dates from the band ``DATE`` tags, the band descriptions or a ``DATES``
  dataset tag; a single-band raster is one date (date from its ``DATE`` tag or
  its file name);
* a folder of single-date rasters (``*.tif``, ``*.tiff``), e.g. per-date COGs
  ``tsmask_2020-01-05.tif`` or catalogue SCL files
  ``S2B_55HFA_20200105_0_L2A/SCL.tif``: dates from the tags, the file names
  or their parent folder names, sorted by date.

Every result is a ``(time, y, x)`` ``xarray.DataArray`` with ``x``/``y``
coordinates of pixel centres and the CRS (odc-geo), and a ``time``
coordinate when dates were found. A raster nodata value outside the classes of
the kind is turned into 0 (no observation).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.errors import InputError

__all__ = ["load_mask", "match_grid"]

_DATE_RE = re.compile(r"(?<!\d)((?:19|20)\d\d)-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")
_RASTER_SUFFIXES = (".tif", ".tiff", ".TIF", ".TIFF")


def _parse_date(text: str | None) -> np.datetime64 | None:
    if not text:
        return None
    m = _DATE_RE.search(text)
    if not m:
        return None
    try:
        return np.datetime64(f"{m.group(1)}-{m.group(2)}-{m.group(3)}", "ns")
    except ValueError:
        return None


def _georef(da: xr.DataArray, transform: Any, crs: Any) -> xr.DataArray:
    """Attach pixel-centre coordinates and the CRS (odc-geo) to a (time, y, x) array."""
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    ny, nx = da.shape[-2:]
    if crs is None:
        x = transform.c + transform.a * (np.arange(nx) + 0.5)
        y = transform.f + transform.e * (np.arange(ny) + 0.5)
        return da.assign_coords(y=y, x=x)
    gbox = GeoBox((ny, nx), transform, crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    return da.assign_coords(xr_coords(gbox, crs_coord_name="spatial_ref"))


def _read_raster(path: Path) -> tuple[np.ndarray, list[np.datetime64 | None], Any, Any, Any]:
    import rasterio

    with rasterio.open(path) as src:
        data = src.read()
        dates: list[np.datetime64 | None] = []
        all_tag = src.tags().get("DATES", "")
        listed = [_parse_date(s) for s in all_tag.split(",")] if all_tag else []
        for i in range(1, src.count + 1):
            d = _parse_date(src.tags(i).get("DATE")) or _parse_date(src.descriptions[i - 1])
            if d is None and len(listed) == src.count:
                d = listed[i - 1]
            if d is None and src.count == 1:
                d = _parse_date(src.tags().get("DATE"))
            dates.append(d)
        return data, dates, src.transform, src.crs, src.nodata


def _from_name(path: Path) -> np.datetime64 | None:
    for part in (path.name, *(p.name for p in path.parents)):
        d = _parse_date(part)
        if d is not None:
            return d
    return None


def _clean_nodata(data: np.ndarray, nodata: Any, valid: Sequence[int]) -> np.ndarray:
    """Turn a raster nodata value that is not a class of the kind into 0."""
    if nodata is None:
        return data
    if isinstance(nodata, float) and np.isnan(nodata):
        return np.where(np.isnan(data), 0, data) if data.dtype.kind == "f" else data
    if int(nodata) in valid:
        return data
    return np.where(data == nodata, 0, data)


def _valid_codes(kind: str) -> tuple[int, ...]:
    from tsmask_qgis.evaluate.metrics import _INVALID, _LUTS

    return tuple(int(v) for v in np.nonzero(_LUTS[kind] != _INVALID)[0])


def load_mask(
    path: str | os.PathLike[str],
    *,
    kind: str = "tsmask",
    variable: str | None = None,
) -> xr.DataArray:
    """Read a mask or reference mask (file or folder of per-date files), see the module text.

    Args:
        path: a NetCDF file, a raster file or a folder of single-date GeoTIFFs.
        kind: ``tsmask``, ``scl`` or ``fmask``: which codes are classes (a raster
            nodata value that is not one of them becomes 0, no observation).
        variable: the NetCDF variable to read (default ``tsmask``, or the only
            variable on ``(time, y, x)``/``(y, x)``).

    Raises:
        FileNotFoundError: the path does not exist.
        InputError: nothing readable, or a folder mixing grids; the message says why.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder")
    valid = _valid_codes(kind)
    if p.is_dir():
        return _load_folder(p, valid)
    if p.suffix.lower() in (".nc", ".nc4", ".netcdf"):
        return _load_netcdf(p, variable, valid)
    try:
        data, dates, transform, crs, nodata = _read_raster(p)
    except Exception as exc:  # rasterio's errors name the driver problem
        raise InputError(f"{p}: cannot read it as a raster ({exc})") from exc
    if data.shape[0] == 1 and dates[0] is None:
        dates = [_from_name(p)]
    data = _clean_nodata(data, nodata, valid)
    da = xr.DataArray(data, dims=("time", "y", "x"), name=p.stem)
    if all(d is not None for d in dates) and len(set(dates)) == len(dates):
        da = da.assign_coords(time=np.array(dates, dtype="datetime64[ns]"))
    return _georef(da, transform, crs)


def _load_netcdf(p: Path, variable: str | None, valid: Sequence[int]) -> xr.DataArray:
    with xr.open_dataset(p, mask_and_scale=False, decode_coords="all") as ds:
        if variable is None:
            if "tsmask" in ds.data_vars:
                variable = "tsmask"
            else:
                names = [
                    v for v in ds.data_vars if set(ds[v].dims) in ({"time", "y", "x"}, {"y", "x"})
                ]
                if len(names) != 1:
                    raise InputError(
                        f"{p}: cannot tell which variable is the mask among "
                        f"{list(ds.data_vars)}: name the mask variable",
                        field="variable",
                    )
                variable = str(names[0])
        if variable not in ds.data_vars:
            raise InputError(f"{p}: no variable {variable!r} (it has {list(ds.data_vars)})")
        da = ds[variable].load()
    fill = da.attrs.get("_FillValue", da.encoding.get("_FillValue"))
    da = da.copy(data=_clean_nodata(da.values, fill, valid))
    da.attrs.pop("grid_mapping", None)
    if da.ndim == 2:
        da = da.expand_dims("time", axis=0)
    return da.transpose("time", "y", "x")


def _load_folder(p: Path, valid: Sequence[int]) -> xr.DataArray:
    files = sorted(f for f in p.rglob("*") if f.suffix in _RASTER_SUFFIXES and f.is_file())
    if not files:
        raise InputError(f"{p}: no GeoTIFF (*.tif) in this folder")
    layers = []
    grid = None
    for f in files:
        data, dates, transform, crs, nodata = _read_raster(f)
        if data.shape[0] != 1:
            raise InputError(
                f"{f}: has {data.shape[0]} bands; a folder must hold one single-band file per date"
            )
        date = dates[0] or _from_name(f.relative_to(p.parent))
        if date is None:
            raise InputError(
                f"{f}: cannot tell its date (no DATE tag, no YYYY-MM-DD or YYYYMMDD in its name)"
            )
        this = (data.shape, transform, crs)
        if grid is None:
            grid = this
        elif this != grid:
            raise InputError(f"{f}: is not on the same grid as {files[0].name}")
        layers.append((date, _clean_nodata(data[0], nodata, valid)))
    layers.sort(key=lambda x: x[0])
    times = np.array([d for d, _ in layers], dtype="datetime64[ns]")
    if np.unique(times).size != times.size:
        raise InputError(f"{p}: two files have the same date")
    assert grid is not None  # nosec B101: internal invariant (type narrowing), not a check of input
    da = xr.DataArray(
        np.stack([a for _, a in layers]),
        dims=("time", "y", "x"),
        coords={"time": times},
        name=p.name,
    )
    return _georef(da, grid[1], grid[2])


def match_grid(reference: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    """Resample ``reference`` onto the grid of ``like`` (GDAL ``mode``: classes are not averaged).

    For a reference at another resolution or in another CRS than the mask
    (e.g. 20 m SCL beside a 10 m mask). Pixels outside the reference become 0.
    """
    import odc.geo.xr  # noqa: F401  (registers .odc)

    if like.odc.crs is None or reference.odc.crs is None:
        raise InputError("both rasters need a CRS to be resampled onto one another")
    src = reference.astype(np.uint8) if reference.dtype.kind != "f" else reference.fillna(0)
    src = src.astype(np.uint8)
    out = src.odc.reproject(like.odc.geobox, resampling="mode", dst_nodata=0)
    out = out.rename({d: n for d, n in zip(out.dims[-2:], ("y", "x"), strict=True)})
    return out.astype(np.uint8)
