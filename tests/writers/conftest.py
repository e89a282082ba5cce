"""Small georeferenced masks and reflectance stacks for the writer tests."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_zeros

from tsmask_qgis.bands import BANDS

DATES = np.array(["2021-01-03", "2021-01-13", "2021-01-23", "2021-02-02"], dtype="datetime64[ns]")


def make_mask(t: int = 4, h: int = 30, w: int = 40, *, seed: int = 0) -> xr.DataArray:
    """A (time, y, x) uint8 mask on a UTM 55S grid, 10 m pixels, random classes."""
    gb = GeoBox.from_bbox(
        (690000, 6080000, 690000 + w * 10, 6080000 + h * 10), crs="EPSG:32755", resolution=10
    )
    coords = dict(xr_zeros(gb, dtype="uint8").coords)
    data = np.random.default_rng(seed).integers(0, 4, size=(t, h, w), dtype="uint8")
    return xr.DataArray(
        data, dims=("time", "y", "x"), coords={"time": DATES[:t], **coords}, name="tsmask"
    )


def make_reflectance(mask: xr.DataArray, *, seed: int = 1) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    ds = xr.Dataset(
        {b: (("time", "y", "x"), rng.uniform(0, 0.4, mask.shape).astype("float32")) for b in BANDS},
        coords=mask.coords,
    )
    ds["red"][0, 0, 0] = np.nan
    return ds


@pytest.fixture
def mask() -> xr.DataArray:
    return make_mask()


@pytest.fixture
def refl(mask: xr.DataArray) -> xr.Dataset:
    return make_reflectance(mask)
