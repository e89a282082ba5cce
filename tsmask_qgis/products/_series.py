"""Masked outputs: the reflectance with cloud, shadow and no observation set to nodata,
and spectral-index series masked the same way (lazy on dask input)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tsmask_qgis.classes import CLEAR
from tsmask_qgis.errors import ParameterError
from tsmask_qgis.products._inputs import check_mask, find_bands

__all__ = ["INDICES", "index_series", "masked"]

#: The indices: name -> (first band, second band, what it is); index = (a - b) / (a + b).
INDICES: dict[str, tuple[str, str, str]] = {
    "ndvi": ("nir", "red", "normalised difference vegetation index (NIR B8A, red)"),
    "ndwi": ("green", "nir", "normalised difference water index, McFeeters (green, NIR B8A)"),
    "nbr": ("nir", "swir2", "normalised burn ratio (NIR B8A, SWIR B12)"),
}

#: The nodata value of integer reflectance that declares none.
INT_NODATA = -999


def masked(ds: Any, mask: Any) -> Any:
    """``ds``'s reflectance bands where ``mask`` is clear, nodata elsewhere.

    Float bands get NaN, integer bands their declared nodata value (``-999``
    when they declare none, then set as their ``nodata`` attribute). The dtype,
    coords and attributes stay; dask input stays lazy.
    """
    import xarray as xr

    mask = check_mask(mask, ds)
    bands = find_bands(ds)
    clear = mask == CLEAR.value
    out = {}
    for name in ds.data_vars:
        da = ds[name]
        if set(da.dims) != {"time", "y", "x"}:
            continue
        attrs = dict(da.attrs)
        if np.dtype(da.dtype).kind == "f":
            fill: Any = np.nan
        else:
            nd = attrs.get("nodata", attrs.get("_FillValue", da.encoding.get("_FillValue")))
            fill = INT_NODATA if nd is None else nd
            attrs["nodata"] = fill
        kept = da.where(clear.transpose(*da.dims), fill).astype(da.dtype)
        kept.attrs = attrs
        out[name] = kept
    result = xr.Dataset(out, coords=ds.coords, attrs=dict(ds.attrs))
    result.attrs["masked"] = (
        f"cloud, shadow and no observation set to nodata ({', '.join(bands.names)})"
    )
    return result


def index_series(ds: Any, mask: Any, index: str = "ndvi") -> Any:
    """The ``index`` (``ndvi``, ``ndwi``, ``nbr``) per date as float32, NaN where the
    mask is not clear or a band has no data. :class:`InputError` when the stack
    lacks a band the index needs."""
    import xarray as xr

    key = str(index).strip().lower()
    if key not in INDICES:
        raise ParameterError(
            f"unknown index {index!r}: use one of {', '.join(INDICES)}", field="index"
        )
    first, second, about = INDICES[key]
    mask = check_mask(mask, ds)
    bands = find_bands(ds, (first, second), need=(first, second))
    a, b = (
        _reflectance(
            xr.DataArray(arr, dims=("time", "y", "x"), coords=mask.coords), nd, bands.integer
        )
        for arr, nd in zip(bands.arrays, bands.nodata, strict=True)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (a - b) / (a + b)
    value = value.where(mask == CLEAR.value).astype(np.float32)
    value.name = key
    value.attrs = {"long_name": about, "units": "1", "masked": "not clear = NaN"}
    if "spatial_ref" in ds.coords:
        value = value.assign_coords(spatial_ref=ds.coords["spatial_ref"])
        value.attrs["grid_mapping"] = "spatial_ref"
    return value


def _reflectance(da: Any, nodata: float | None, integer: bool) -> Any:
    out = da.astype(np.float32)
    if nodata is not None and not np.isnan(nodata):
        out = out.where(da != nodata)
    return out / np.float32(10000.0) if integer else out
