"""NetCDF output with CF attributes (flags, grid mapping, time, compression)."""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import netCDF4
import numpy as np
import xarray as xr

from tsmask_qgis.classes import CLASSES, flag_attrs
from tsmask_qgis.progress import Progress
from tsmask_qgis.writers._atomic import atomic_output
from tsmask_qgis.writers._common import as_mask, date_slice, report_date, software
from tsmask_qgis.writers._grid import grid_of

__all__ = ["read_netcdf_mask", "write_netcdf"]

_TIME_UNITS = "seconds since 1970-01-01 00:00:00"
#: zlib compression levels netCDF4 accepts.
CompressionLevel = Literal[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


def _grid_mapping_attrs(crs: Any, transform: Any) -> dict[str, Any]:
    from pyproj import CRS as ProjCRS

    pcrs = ProjCRS.from_wkt(crs.to_wkt())
    attrs: dict[str, Any] = {}
    try:
        attrs.update({k: v for k, v in pcrs.to_cf().items() if v is not None})
    except Exception:  # pyproj cannot describe every CRS in CF terms; crs_wkt suffices  # nosec B110: deliberate fallback
        pass
    wkt = pcrs.to_wkt()
    attrs["crs_wkt"] = wkt
    attrs["spatial_ref"] = wkt  # what GDAL reads
    attrs["GeoTransform"] = " ".join(
        str(v)
        for v in (transform.c, transform.a, transform.b, transform.f, transform.d, transform.e)
    )
    return {k: (v if not isinstance(v, (list, tuple)) else np.asarray(v)) for k, v in attrs.items()}


def write_netcdf(
    mask: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    attrs: Mapping[str, Any] | None = None,
    complevel: CompressionLevel = 4,
    progress: Progress | None = None,
) -> Path:
    """The mask as a CF-1.8 NetCDF-4 file: variable ``tsmask`` (time, y, x) uint8.

    The variable carries ``flag_values``/``flag_meanings`` (and colours) from
    ``tsmask_qgis.classes`` and ``grid_mapping = "spatial_ref"``; ``x``/``y``
    are projection coordinates of pixel centres, ``time`` is CF-encoded, and
    the data are zlib-compressed (``complevel`` 0..9) in chunks of one date. ``attrs`` are added as
    global attributes (values that are not text or numbers are stored as JSON).
    Dates are written one at a time, so memory stays at one date.
    """
    mask = as_mask(mask)
    grid = grid_of(mask)
    path = Path(path)
    ntime, ny, nx = (mask.sizes[d] for d in ("time", "y", "x"))
    times = np.asarray(mask.time.values).astype("datetime64[s]").astype("int64")
    with atomic_output(path, overwrite=overwrite, needed=ntime * ny * nx) as tmp:
        nc = netCDF4.Dataset(tmp, "w", format="NETCDF4")
        try:
            nc.setncatts(
                {
                    "Conventions": "CF-1.8",
                    "title": "tsmask cloud and cloud shadow mask",
                    "source": software(),
                    "history": f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ} "
                    f"created by {software()}",
                    "references": "https://github.com/daleroberts/s2cloudmask; "
                    "Digital Earth Australia s2_tsmask",
                }
            )
            for k, v in (attrs or {}).items():
                nc.setncattr(
                    k, v if isinstance(v, (str, int, float)) else json.dumps(v, default=str)
                )
            nc.createDimension("time", ntime)
            nc.createDimension("y", ny)
            nc.createDimension("x", nx)
            tv = nc.createVariable("time", "f8", ("time",))
            tv.setncatts(
                {
                    "standard_name": "time",
                    "long_name": "time",
                    "units": _TIME_UNITS,
                    "calendar": "standard",
                    "axis": "T",
                }
            )
            tv[:] = times.astype("float64")
            tr = grid.transform
            xs = tr.c + tr.a * (np.arange(nx) + 0.5)
            ys = tr.f + tr.e * (np.arange(ny) + 0.5)
            projected = grid.crs is not None and grid.crs.is_projected
            for name, vals, axis in (("x", xs, "X"), ("y", ys, "Y")):
                v = nc.createVariable(name, "f8", (name,))
                if grid.crs is None:
                    v.setncatts({"long_name": f"{name} pixel coordinate", "axis": axis})
                elif projected:
                    v.setncatts(
                        {
                            "standard_name": f"projection_{name}_coordinate",
                            "long_name": f"{name} coordinate of projection",
                            "units": "m",
                            "axis": axis,
                        }
                    )
                else:
                    v.setncatts(
                        {
                            "standard_name": "longitude" if name == "x" else "latitude",
                            "units": "degrees_east" if name == "x" else "degrees_north",
                            "axis": axis,
                        }
                    )
                v[:] = vals
            var = nc.createVariable(
                "tsmask",
                "u1",
                ("time", "y", "x"),
                zlib=True,
                complevel=complevel,
                shuffle=True,
                chunksizes=(1, min(ny, 1024), min(nx, 1024)),
                fill_value=False,
            )
            fa = flag_attrs()
            var.setncatts(
                {
                    "long_name": fa["long_name"],
                    "flag_values": np.array([c.value for c in CLASSES], dtype="u1"),
                    "flag_meanings": fa["flag_meanings"],
                    "flag_colors": fa["flag_colors"],
                    "flag_labels": "; ".join(c.label for c in CLASSES),
                    "valid_range": np.array([0, max(c.value for c in CLASSES)], dtype="u1"),
                    "coverage_content_type": "thematicClassification",
                }
            )
            if grid.crs is not None:
                gm = nc.createVariable("spatial_ref", "i4")
                gm.setncatts(_grid_mapping_attrs(grid.crs, grid.transform))
                epsg = grid.crs.to_epsg()
                gm.assignValue(epsg or 0)
                var.setncattr("grid_mapping", "spatial_ref")
            for t in range(ntime):
                report_date(progress, t, ntime, "NetCDF date")
                var[t, :, :] = date_slice(mask, t)
            report_date(progress, ntime, ntime, "NetCDF")
        finally:
            nc.close()
    return path


def read_netcdf_mask(path: str | os.PathLike[str]) -> xr.DataArray:
    """Read a mask written by :func:`write_netcdf` back into memory (with its CRS)."""
    with xr.open_dataset(path, mask_and_scale=False, decode_coords="all") as ds:
        mask = ds["tsmask"].load()
    mask.attrs.pop("grid_mapping", None)
    return mask
