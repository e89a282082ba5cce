"""Small generated Sentinel-2-like cubes for the runner tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")


def make_bands(shape: tuple[int, int, int], *, seed: int = 0) -> np.ndarray:
    """(6, T, Y, X) float32 reflectance: land, water, clouds, shadows, some nodata."""
    t, ny, nx = shape
    rng = np.random.default_rng(seed)
    base = np.array([0.04, 0.07, 0.08, 0.25, 0.2, 0.12], np.float32)[:, None, None, None]
    field = rng.uniform(0.6, 1.4, (1, 1, ny, nx)).astype(np.float32)
    cube = np.broadcast_to(base * field, (6, t, ny, nx)).copy()
    cube *= rng.uniform(0.92, 1.08, cube.shape).astype(np.float32)
    water = np.zeros((ny, nx), bool)
    water[: ny // 5, : nx // 4] = True
    cube[3:, :, water] *= 0.1
    # Clouds and shadows: blobs on random dates.
    yy, xx = np.mgrid[:ny, :nx]
    for _ in range(max(1, t // 2)):
        d = rng.integers(t)
        cy, cx, r = rng.integers(ny), rng.integers(nx), rng.integers(2, max(3, ny // 3))
        blob = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        if rng.random() < 0.6:
            cube[:, d, blob] = cube[:, d, blob] * 0.3 + rng.uniform(0.3, 0.6)
        else:
            cube[:, d, blob] *= 0.25
    # Isolated speckle for the spatial steps.
    spk = rng.random((t, ny, nx)) < 0.01
    cube[:, spk] += 0.5
    nodata = rng.random((t, ny, nx)) < 0.01
    band = rng.integers(0, 6, nodata.sum())
    cube[band, nodata.nonzero()[0], nodata.nonzero()[1], nodata.nonzero()[2]] = np.nan
    return cube


def make_ds(
    shape: tuple[int, int, int] = (12, 24, 20),
    *,
    seed: int = 0,
    kind: str = "float32",
    chunks: dict | None = None,
    nodata: int = -999,
) -> xr.Dataset:
    """A Dataset as the loaders produce it (float reflectance or int16 x 10000 with nodata)."""
    cube = make_bands(shape, seed=seed)
    t, ny, nx = shape
    coords = {
        "time": pd.date_range("2021-01-01", periods=t, freq="5D").values,
        "y": 6_100_000.0 - 20.0 * np.arange(ny) - 10,
        "x": 690_000.0 + 20.0 * np.arange(nx) + 10,
        "spatial_ref": xr.DataArray(
            0, attrs={"crs_wkt": 'PROJCS["WGS 84 / UTM zone 55S"]', "spatial_ref": "EPSG:32755"}
        ),
    }
    data = {}
    for i, b in enumerate(BANDS):
        if kind == "float32":
            arr = cube[i]
            attrs = {"nodata": np.nan}
        else:
            arr = np.where(np.isnan(cube[i]), nodata, np.round(cube[i] * 10000)).astype(kind)
            attrs = {"nodata": nodata}
        data[b] = xr.DataArray(arr, dims=("time", "y", "x"), attrs=attrs)
    ds = xr.Dataset(data, coords=coords)
    if chunks:
        ds = ds.chunk(chunks)
    return ds


def stack_bands(ds: xr.Dataset) -> np.ndarray:
    """(6, T, Y, X) in the kernels' band order."""
    return np.stack([ds[b].values for b in BANDS])
