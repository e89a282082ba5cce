"""Masked stacks, index series and zonal means; the products from the command line."""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.products.cubes import cube, reflectance
from tsmask_qgis.cli import main
from tsmask_qgis.errors import InputError, ParameterError
from tsmask_qgis.products import index_series, masked, zonal_means


def test_masked_series_equal_the_input_where_clear_and_nodata_elsewhere():
    for integer in (False, True):
        ds, mask = cube(11, integer=integer)
        out = masked(ds, mask)
        clear = mask.values == 1
        for b in ("red", "swir2"):
            np.testing.assert_array_equal(out[b].values[clear], ds[b].values[clear])
            if integer:
                assert out[b].dtype == np.int16
                assert (out[b].values[~clear] == -999).all()
            else:
                assert np.isnan(out[b].values[~clear]).all()


@pytest.mark.parametrize(
    ("index", "a", "b"), [("ndvi", "nir", "red"), ("ndwi", "green", "nir"), ("nbr", "nir", "swir2")]
)
def test_index_series_is_the_index_where_clear_and_nan_elsewhere(index, a, b):
    ds, mask = cube(12, integer=True)
    got = index_series(ds.chunk({"time": 6}), mask, index)
    assert got.chunks is not None  # stays lazy on dask input
    va, vb = reflectance(ds, a), reflectance(ds, b)
    want = np.where(mask.values == 1, (va - vb) / (va + vb), np.nan)
    np.testing.assert_allclose(got.values, want, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_an_index_needing_a_missing_band_names_it():
    ds, mask = cube(13)
    with pytest.raises(InputError, match="no swir2 band"):
        index_series(ds.drop_vars("swir2"), mask, "nbr")
    with pytest.raises(ParameterError, match="unknown index"):
        index_series(ds, mask, "evi")


def _lonlat(x, y):
    from pyproj import Transformer

    return Transformer.from_crs(32755, 4326, always_xy=True).transform(float(x), float(y))


def _square(ds, x0, x1, y0, y1):
    """A lon/lat polygon around the pixel centres x0..x1, y0..y1 (indices, inclusive)."""
    xs, ys = ds["x"].values, ds["y"].values
    corners = [
        (xs[x0] - 5, ys[y0] + 5),
        (xs[x1] + 5, ys[y0] + 5),
        (xs[x1] + 5, ys[y1] - 5),
        (xs[x0] - 5, ys[y1] - 5),
    ]
    ring = [list(_lonlat(*c)) for c in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _geojson(path: Path, features):
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"name": n}, "geometry": g}
                    for n, g in features
                ],
            }
        )
    )
    return path


def test_zonal_means_over_clear_pixels_with_the_clear_share(tmp_path):
    ds, mask = cube(14)
    series = index_series(ds, mask, "ndvi")
    point = {"type": "Point", "coordinates": list(_lonlat(ds["x"].values[5], ds["y"].values[4]))}
    outside = {"type": "Point", "coordinates": [150.5, -35.0]}
    zones = _geojson(
        tmp_path / "z.geojson",
        [("field", _square(ds, 1, 3, 2, 5)), ("tree", point), ("far", outside)],
    )
    rows, notes = zonal_means(series, mask, zones)
    assert notes == ["zone far lies outside the stack's area"]
    field = [r for r in rows if r.zone == "field"]
    assert len(field) == ds.sizes["time"] and all(r.pixels == 12 for r in field)
    v = series.values[:, 2:6, 1:4]
    clear = mask.values[:, 2:6, 1:4] == 1
    for t, r in enumerate(field):
        assert r.clear_pixels == clear[t].sum()
        assert r.clear_share == pytest.approx(clear[t].mean())
        if clear[t].any():
            assert r.mean == pytest.approx(float(np.nanmean(v[t][clear[t]])), rel=1e-5)
        else:
            assert np.isnan(r.mean)
    tree = [r for r in rows if r.zone == "tree"]
    assert [r.pixels for r in tree] == [1] * ds.sizes["time"]
    with pytest.raises(InputError, match=r"every feature of out\.geojson lies outside"):
        zonal_means(series, mask, _geojson(tmp_path / "out.geojson", [("far", outside)]))


def _gpkg(path: Path, wkb: bytes, srs: int):
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT, srs_id INTEGER PRIMARY KEY, "
        "organization TEXT, organization_coordsys_id INTEGER, definition TEXT);"
        "CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT, "
        "geometry_type_name TEXT, srs_id INTEGER, z INTEGER, m INTEGER);"
        "CREATE TABLE fields (fid INTEGER PRIMARY KEY, name TEXT, geom BLOB);"
    )
    con.execute("INSERT INTO gpkg_spatial_ref_sys VALUES ('utm', ?, 'EPSG', ?, '')", (srs, srs))
    con.execute(
        "INSERT INTO gpkg_geometry_columns VALUES ('fields', 'geom', 'POLYGON', ?, 0, 0)", (srs,)
    )
    blob = b"GP" + bytes([0, 1]) + struct.pack("<i", srs) + wkb  # no envelope, little endian
    con.execute("INSERT INTO fields VALUES (1, 'block', ?)", (blob,))
    con.commit()
    con.close()
    return path


def test_a_geopackage_in_another_crs_is_reprojected(tmp_path):
    import shapely.geometry

    ds, mask = cube(15)
    series = index_series(ds, mask, "ndvi")
    xs, ys = ds["x"].values, ds["y"].values
    box = shapely.geometry.box(xs[2] - 5, ys[6] - 5, xs[4] + 5, ys[3] + 5)  # UTM 55S, 3 x 4 px
    rows, _ = zonal_means(series, mask, _gpkg(tmp_path / "f.gpkg", box.wkb, 32755))
    assert {r.zone for r in rows} == {"block"} and rows[0].pixels == 12


def test_cli_composite_and_series_write_atomically_and_refuse_to_overwrite(tmp_path, capsys):
    ds, mask = cube(16, t=12, y=20, x=20, integer=True)
    stack, classes = tmp_path / "stack.nc", tmp_path / "tsmask.nc"
    ds.to_netcdf(stack)
    xr.Dataset({"tsmask": mask}).to_netcdf(classes)
    out = tmp_path / "out"
    args = [
        "composite",
        "--input",
        str(stack),
        "--mask",
        str(classes),
        "--out",
        str(out),
        "--period",
        "year",
        "--method",
        "median",
        "--workers",
        "1",
        "-q",
    ]
    assert main(args) == 0
    names = sorted(p.name for p in (out / "composite").iterdir())
    assert names == [f"composite_{y}.{s}" for y in (2017, 2018) for s in ("png", "qml", "tif")]
    import rasterio

    with rasterio.open(out / "composite" / "composite_2017.tif") as src:
        assert src.descriptions[:3] == ("blue 2017", "green 2017", "red 2017")
        assert src.descriptions[-1] == "count 2017" and src.count == 7
    assert main(args) == 6  # exists: refused before any work
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    series = [
        "series",
        "--input",
        str(stack),
        "--mask",
        str(classes),
        "--out",
        str(out),
        "--index",
        "ndwi",
        "--masked",
        "-q",
    ]
    assert main(series) == 0
    got = xr.open_dataset(out / "series" / "series.nc")
    assert "ndwi" in got and got.sizes["time"] == 12
    bad = tmp_path / "bad.nc"
    xr.Dataset({"tsmask": mask.isel(time=slice(1, None))}).to_netcdf(bad)
    assert main([*series[:4], str(bad), "--out", str(tmp_path / "o2"), "--index", "ndvi"]) == 3
    assert "the mask has 11 dates, the stack 12" in capsys.readouterr().err
    assert not (tmp_path / "o2" / "series").exists()


def test_tsmask_run_makes_the_products_with_the_masks(tmp_path):
    ds, _ = cube(17, t=14, y=24, x=24, integer=True)
    stack = tmp_path / "stack.nc"
    ds.to_netcdf(stack)
    out = tmp_path / "run"
    args = [
        "run",
        "--input",
        str(stack),
        "--out",
        str(out),
        "--workers",
        "1",
        "-q",
        "--composite",
        "all:geomedian",
        "--series",
        "nbr",
        "--masked",
    ]
    assert main(args) == 0
    mask = xr.open_dataset(out / "tsmask.nc")["tsmask"]
    with rasterio_open(out / "composite" / "composite_all.tif") as src:
        count = src.read(src.count)
    np.testing.assert_array_equal(count, (mask.values == 1).sum(axis=0))
    nbr = xr.open_dataset(out / "series" / "series.nc")["nbr"]
    assert np.isnan(nbr.values[mask.values != 1]).all()
    assert (out / "masked" / "masked.nc").exists()
    assert main([*args[:-1], "--composite", "all:best"]) == 2  # an unknown method: usage


def rasterio_open(path):
    import rasterio

    return rasterio.open(path)
