"""A class raster to and from memory (what the mask tools read and write)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from tests.writers.conftest import make_mask
from tsmask_qgis import writers
from tsmask_qgis.errors import InputError


def test_round_trip_keeps_grid_names_and_classes(tmp_path, mask):
    src = writers.write_multiband(mask, tmp_path / "in.tif")
    stack = writers.read_mask_raster(src)
    assert stack.data.dtype == np.uint8 and stack.data.shape == mask.shape
    np.testing.assert_array_equal(stack.data, mask.values)
    assert stack.names == [str(d)[:10] for d in mask.time.values]
    changed = stack.data.copy()
    changed[:, :2, :] = 2
    out = writers.write_mask_raster(tmp_path / "out.tif", changed, stack.profile, stack.names)
    back = writers.read_mask_raster(out)
    np.testing.assert_array_equal(back.data, changed)
    assert back.names == stack.names
    with rasterio.open(src) as a, rasterio.open(out) as b:
        assert a.crs == b.crs and a.transform == b.transform and b.nodata == 0
        assert b.profile["compress"] == "deflate"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.tif"]


def test_write_is_atomic_and_keeps_the_overwrite_rule(tmp_path, mask):
    stack = writers.read_mask_raster(writers.write_multiband(mask, tmp_path / "in.tif"))
    out = tmp_path / "out.tif"
    writers.write_mask_raster(out, stack.data, stack.profile, stack.names)
    with pytest.raises(writers.OutputExistsError):
        writers.write_mask_raster(out, stack.data, stack.profile)
    before = out.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 (rasterio's own error for a 4-D array)
        writers.write_mask_raster(out, stack.data[None], stack.profile, overwrite=True)
    assert out.read_bytes() == before  # the failed write left the old file whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.tif"]
    writers.write_mask_raster(out, stack.data[:1], stack.profile, overwrite=True)
    assert writers.read_mask_raster(out).data.shape[0] == 1


def test_reads_other_types_of_classes_and_refuses_other_values(tmp_path):
    mask = make_mask(2, 8, 9)
    profile = {"crs": "EPSG:32755", "transform": rasterio.transform.from_origin(0, 90, 10, 10)}
    floats = mask.values.astype("float32")
    floats[0, 0, 0] = np.nan
    path = writers.write_mask_raster(tmp_path / "f.tif", floats, profile, nodata=None)
    stack = writers.read_mask_raster(path)
    assert stack.data.dtype == np.uint8 and stack.data[0, 0, 0] == 0
    assert stack.names == ["band 1", "band 2"]
    bad = writers.write_mask_raster(tmp_path / "b.tif", floats * 10, profile, nodata=None)
    with pytest.raises(InputError, match="not a tsmask class raster"):
        writers.read_mask_raster(bad)


def test_clear_count_of_an_array_is_that_of_the_mask(tmp_path, mask):
    stack = writers.read_mask_raster(writers.write_multiband(mask, tmp_path / "in.tif"))
    for a, b in zip(writers.clear_count(stack.data), writers.clear_count(mask), strict=True):
        np.testing.assert_array_equal(a, b)
    clear, _observed = writers.clear_count(stack.data)
    path = writers.write_mask_raster(
        tmp_path / "count.tif", clear, stack.profile, ["clear observations"], nodata=None
    )
    with rasterio.open(path) as ds:
        assert ds.count == 1 and ds.dtypes[0] == "uint16" and ds.nodata is None
        assert ds.descriptions == ("clear observations",)
        np.testing.assert_array_equal(ds.read(1), (mask.values == 1).sum(axis=0))
    with pytest.raises(ValueError, match="dates, y, x"):
        writers.clear_count(stack.data[0])
