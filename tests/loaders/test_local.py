"""Local stacks: notebook-style NetCDF, per-date GeoTIFF folder, per-band GeoTIFFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine

from tsmask_qgis.loaders import BANDS, InputError, load_local

T, Y, X = 4, 7, 9
DATES = np.array(["2018-01-03", "2018-01-13", "2018-01-23", "2018-02-02"], dtype="datetime64[ns]")
TRANSFORM = Affine(20.0, 0, 690000.0, 0, -20.0, 6100000.0)
DEA_NAMES = (
    "nbart_blue",
    "nbart_green",
    "nbart_red",
    "nbart_nir_2",
    "nbart_swir_2",
    "nbart_swir_3",
)


def _dn(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dn = rng.integers(1, 6000, size=(6, T, Y, X)).astype(np.int16)
    dn[:, 1, 0, 0] = -999  # nodata in every band
    dn[2, 2, 3, 4] = -999  # nodata in red only
    return dn


def _expected(dn: np.ndarray, nodata: int) -> np.ndarray:
    out = dn.astype(np.float32) / np.float32(10000)
    out[dn == nodata] = np.nan
    return out


def _check(ds: xr.Dataset, dn: np.ndarray, nodata: int) -> None:
    assert list(ds.data_vars)[:6] == list(BANDS)
    assert ds.time.values.tolist() == DATES.tolist()
    exp = _expected(dn, nodata)
    for i, b in enumerate(BANDS):
        assert ds[b].dims == ("time", "y", "x")
        assert ds[b].dtype == np.float32
        assert ds[b].chunks is not None  # lazy
        np.testing.assert_array_equal(ds[b].values, exp[i])
    assert ds.odc.crs.epsg == 32755
    assert ds.odc.geobox.transform == TRANSFORM


def write_notebook_netcdf(path: Path, dn: np.ndarray, names=DEA_NAMES) -> None:
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    gbox = GeoBox((Y, X), TRANSFORM, "EPSG:32755")
    coords = dict(xr_coords(gbox, crs_coord_name="spatial_ref"))
    coords["time"] = DATES[::-1]  # stored newest first: must come back sorted
    ds = xr.Dataset(coords=coords)
    for i, name in enumerate(names):
        ds[name] = (("time", "y", "x"), dn[i][::-1])
        ds[name].attrs = {"nodata": -999, "units": "1", "grid_mapping": "spatial_ref"}
    ds.to_netcdf(path)


def test_notebook_netcdf(tmp_path):
    dn = _dn()
    write_notebook_netcdf(tmp_path / "stack.nc", dn)
    _check(load_local(tmp_path / "stack.nc"), dn, -999)


def test_netcdf_aliases_sentinel_names(tmp_path):
    dn = _dn(1)
    write_notebook_netcdf(tmp_path / "s2.nc", dn, names=("B02", "B03", "B04", "B8A", "B11", "B12"))
    _check(load_local(tmp_path / "s2.nc"), dn, -999)


def test_netcdf_missing_band(tmp_path):
    dn = _dn()
    write_notebook_netcdf(
        tmp_path / "x.nc", dn, names=(*DEA_NAMES[:3], "nbart_nir_1", *DEA_NAMES[4:])
    )
    with pytest.raises(InputError, match=r"lacks band\(s\) nir") as err:
        load_local(tmp_path / "x.nc")
    assert err.value.field == "input"


def test_corrupt_netcdf(tmp_path):
    dn = _dn()
    good = tmp_path / "good.nc"
    write_notebook_netcdf(good, dn)
    bad = tmp_path / "bad.nc"
    bad.write_bytes(good.read_bytes()[:300])
    with pytest.raises(InputError, match="damaged") as err:
        load_local(bad)
    assert err.value.field == "input"


def test_netcdf_without_time(tmp_path):
    ds = xr.Dataset({b: (("y", "x"), np.ones((Y, X), np.int16)) for b in BANDS})
    ds.to_netcdf(tmp_path / "notime.nc")
    with pytest.raises(InputError, match="no time dimension") as err:
        load_local(tmp_path / "notime.nc")
    assert err.value.field == "input"


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match="does not exist") as err:
        load_local(tmp_path / "nothing.nc")
    assert err.value.field == "input"


def _write_tif(path: Path, data: np.ndarray, descriptions, tags=None, nodata=-999) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=X,
        height=Y,
        count=data.shape[0],
        dtype=data.dtype,
        crs="EPSG:32755",
        transform=TRANSFORM,
        nodata=nodata,
    ) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions, start=1):
            dst.set_band_description(i, d)
        if tags:
            dst.update_tags(**tags)


def test_geotiff_folder_per_date(tmp_path):
    dn = _dn(2)
    for t in range(T):
        day = str(DATES[t])[:10]
        if t % 2:  # date from the tag, file name without date
            _write_tif(
                tmp_path / f"scene_{t}.tif",
                dn[:, t],
                ["B02", "B03", "B04", "B8A", "B11", "B12"],
                tags={"TIFFTAG_DATETIME": day.replace("-", ":") + " 00:00:00"},
            )
        else:  # date from the file name, DEA names, shuffled order
            order = [5, 0, 4, 1, 3, 2]
            _write_tif(
                tmp_path / f"S2_{day.replace('-', '')}.tif",
                dn[order, t],
                [DEA_NAMES[i] for i in order],
            )
    _check(load_local(tmp_path), dn, -999)


def test_geotiff_folder_per_date_errors(tmp_path):
    dn = _dn(3)
    _write_tif(tmp_path / "nodate.tif", dn[:, 0], list(BANDS))
    with pytest.raises(InputError, match="no date found") as err:
        load_local(tmp_path)
    assert err.value.field == "input"
    (tmp_path / "nodate.tif").unlink()
    _write_tif(tmp_path / "2018-01-03.tif", dn[:5, 0], list(BANDS[:5]))
    with pytest.raises(InputError, match=r"lacks band\(s\) swir2") as err:
        load_local(tmp_path)
    assert err.value.field == "input"
    (tmp_path / "2018-01-03.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(InputError, match="damaged") as err:
        load_local(tmp_path)
    assert err.value.field == "input"


def test_geotiff_per_band(tmp_path):
    dn = _dn(4)
    for i, name in enumerate(("blue", "B03", "nbart_red", "B8A", "swir16", "stack_B12")):
        _write_tif(tmp_path / f"{name}.tif", dn[i], [str(d)[:10] for d in DATES])
    _check(load_local(tmp_path), dn, -999)


def test_geotiff_per_band_missing_date(tmp_path):
    dn = _dn(5)
    for i, name in enumerate(BANDS):
        descs = [str(d)[:10] for d in DATES]
        if name == "swir1":
            descs[2] = "2018-01-24"
        _write_tif(tmp_path / f"{name}.tif", dn[i], descs)
    with pytest.raises(InputError, match=r"same dates.*2018-01-2") as err:
        load_local(tmp_path)
    assert err.value.field == "input"


def test_geotiff_per_band_missing_band(tmp_path):
    dn = _dn(6)
    for i, name in enumerate(BANDS[:-1]):
        _write_tif(tmp_path / f"{name}.tif", dn[i], [str(d)[:10] for d in DATES])
    with pytest.raises(InputError, match=r"lacks band\(s\) swir2") as err:
        load_local(tmp_path)
    assert err.value.field == "input"
