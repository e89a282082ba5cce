"""Small local stacks for the bad-input table, all cut from the bundled sample.

``nc_stack`` writes a NetCDF crop (optionally changed by a function of the Dataset);
``tif_folder`` writes one GeoTIFF per date whose dtype and nodata can differ by date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from tsmask_qgis.bands import BANDS
from tsmask_qgis.cli.demo import sample_path

#: dates and pixels of every stack of the table
T, NY, NX = 10, 32, 32


def crop(t: int = T) -> xr.Dataset:
    """The sample's first ``t`` dates, ``NY x NX`` pixels, raw int16 (x 10000)."""
    with xr.open_dataset(sample_path(), mask_and_scale=False) as ds:
        return ds.isel(time=slice(0, t), y=slice(0, NY), x=slice(0, NX)).load()


def nc_stack(
    path: Path,
    change: Callable[[xr.Dataset], xr.Dataset] | None = None,
    *,
    t: int = T,
    fmt: str = "NETCDF4",
) -> Path:
    ds = crop(t)
    if change is not None:
        ds = change(ds)
    ds.to_netcdf(path, format=fmt)
    return path


def tif_folder(
    folder: Path,
    *,
    t: int = T,
    dtypes: Sequence[str] | None = None,
    nodata: Sequence[float | None] | None = None,
    holes: Sequence[tuple[int, int]] = (),
    names: Sequence[str] | None = None,
    scale_float: float = 10000.0,
) -> Path:
    """One GeoTIFF per date: int16 x 10000, or ``float32`` reflectance (raw / ``scale_float``)
    for the dates whose ``dtypes`` entry says so; each date's ``nodata`` written at the
    pixels ``holes`` of that date (all bands)."""
    ds = crop(t)
    folder.mkdir(parents=True, exist_ok=True)
    dtypes = dtypes or ["int16"] * t
    nodata = nodata or [None] * t
    for i in range(t):
        raw = np.stack([ds[b].values[i] for b in BANDS]).astype(np.float64)
        data = raw / scale_float if dtypes[i] == "float32" else raw
        data = data.astype(dtypes[i])
        if nodata[i] is not None:
            for y, x in holes:
                data[:, y, x] = nodata[i]
        date = str(ds.time.values[i])[:10]
        name = names[i] if names else f"s2_{date}.tif"
        with rasterio.open(
            folder / name,
            "w",
            driver="GTiff",
            width=NX,
            height=NY,
            count=6,
            dtype=dtypes[i],
            crs="EPSG:32755",
            transform=from_origin(684000.0, 6090000.0, 10.0, 10.0),
            nodata=nodata[i],
        ) as dst:
            dst.write(data)
            dst.descriptions = tuple(BANDS)
            dst.update_tags(date=date)
    return folder


def masks(out: Path) -> np.ndarray:
    """The class cube of a run's NetCDF."""
    from tsmask_qgis.writers import read_netcdf_mask

    return np.asarray(read_netcdf_mask(out / "tsmask.nc").values)


def snapshot(out: Path) -> dict[str, str]:
    """Every file under ``out`` with a hash of its content."""
    if not out.exists():
        return {}
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }
