"""Georeference and date labels of a mask or reflectance dataset."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from affine import Affine
from rasterio.crs import CRS

__all__ = ["Grid", "date_labels", "grid_of"]


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS (``None`` when unknown), affine transform and shape."""

    crs: CRS | None
    transform: Affine
    height: int
    width: int


def _crs_from_attrs(obj: xr.DataArray | xr.Dataset) -> CRS | None:
    candidates = []
    for name in ("spatial_ref", "crs"):
        if name in obj.coords:
            attrs = obj.coords[name].attrs
            candidates += [attrs.get("crs_wkt"), attrs.get("spatial_ref")]
    candidates += [obj.attrs.get("crs"), obj.attrs.get("crs_wkt")]
    for text in candidates:
        if text:
            return CRS.from_user_input(text)
    return None


def grid_of(obj: xr.DataArray | xr.Dataset) -> Grid:
    """The grid of ``obj`` from its ``x``/``y`` coordinates and CRS (odc-geo convention).

    Works with what odc-stac/odc-geo write (a ``spatial_ref`` coordinate) and
    with plain ``x``/``y`` coordinates of pixel centres. Without coordinates the
    transform is the identity (pixel units) and the CRS ``None``.
    """
    height, width = int(obj.sizes["y"]), int(obj.sizes["x"])
    crs = _crs_from_attrs(obj)
    if "x" in obj.coords and "y" in obj.coords and width > 0 and height > 0:
        x = np.asarray(obj.coords["x"].values, dtype="float64")
        y = np.asarray(obj.coords["y"].values, dtype="float64")
        gt = None
        if "spatial_ref" in obj.coords:
            gt = obj.coords["spatial_ref"].attrs.get("GeoTransform")
        if width > 1 and height > 1:
            dx = (x[-1] - x[0]) / (width - 1)
            dy = (y[-1] - y[0]) / (height - 1)
        elif gt:
            parts = [float(v) for v in str(gt).split()]
            dx, dy = parts[1], parts[5]
        else:
            raise ValueError("cannot tell the pixel size of a raster one pixel wide or high")
        transform = Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)
    else:
        transform = Affine.identity()
    return Grid(crs=crs, transform=transform, height=height, width=width)


def date_labels(times: Sequence[np.datetime64] | np.ndarray | xr.DataArray) -> list[str]:
    """ISO labels for a time axis: ``YYYY-MM-DD``, or with the time of day where dates repeat."""
    values = np.asarray(getattr(times, "values", times)).astype("datetime64[s]")
    days = [str(v.astype("datetime64[D]")) for v in values]
    if len(set(days)) == len(days):
        return days
    return [str(v).replace(":", "") for v in values]
