"""Random reflectance cubes and masks for the product tests."""

from __future__ import annotations

import numpy as np
import xarray as xr

from tsmask_qgis.bands import BANDS


def cube(seed: int = 0, t: int = 24, y: int = 9, x: int = 11, *, integer: bool = False,
         clear: float = 0.5, days: int = 700) -> tuple[xr.Dataset, xr.DataArray]:  # fmt: skip
    """A random stack over two years (dates sorted) and a random mask (with no-observation
    pixels as nodata in the bands), on a 20 m UTM grid."""
    rng = np.random.default_rng(seed)
    times = np.datetime64("2017-01-03") + np.sort(rng.choice(days, t, replace=False))
    classes = rng.choice(4, size=(t, y, x), p=[0.1, clear, (0.9 - clear) / 2, (0.9 - clear) / 2])
    classes = classes.astype(np.uint8)
    coords = {
        "time": times.astype("datetime64[ns]"),
        "y": 6_090_000.0 - 20.0 * np.arange(y) - 10,
        "x": 684_000.0 + 20.0 * np.arange(x) + 10,
    }
    data = {}
    for b in BANDS:
        v = rng.random((t, y, x)).astype(np.float32) * 0.5
        if integer:
            iv = np.round(v * 10000).astype(np.int16)
            iv[classes == 0] = -999
            data[b] = (("time", "y", "x"), iv, {"nodata": -999})
        else:
            v[classes == 0] = np.nan
            data[b] = (("time", "y", "x"), v)
    ds = xr.Dataset(data, coords=coords)
    ds = ds.assign_coords(spatial_ref=xr.DataArray(0, attrs={"crs_wkt": _utm55s()}))
    mask = xr.DataArray(classes, dims=("time", "y", "x"), coords=ds.coords, name="tsmask")
    return ds, mask


def _utm55s() -> str:
    from pyproj import CRS

    return CRS.from_epsg(32755).to_wkt()


def reflectance(ds: xr.Dataset, band: str) -> np.ndarray:
    """A band as float reflectance with NaN for nodata."""
    v = ds[band].values.astype(np.float64)
    nd = ds[band].attrs.get("nodata")
    if nd is not None:
        v[ds[band].values == nd] = np.nan
        v /= 10000
    return v
