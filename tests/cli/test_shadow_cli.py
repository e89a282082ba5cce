"""Shadow geometry and buffers end to end, against the real STAC API on 127.0.0.1.

The synthetic collection's items carry the scene's sun (Earth Search names on even
dates, Planetary Computer's on odd ones, none on the last): the loaders carry it to the
Dataset, a catalogue job loads a margin around the area (nodata where the catalogue
has nothing) and crops it off, and the command line reads distances in m, km and px.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import xarray as xr

from tests.cli import synthetic_catalogue as syn
from tests.cli.test_stac_cli import _mask, _synthetic
from tsmask_qgis import engine, loaders
from tsmask_qgis.cli import main
from tsmask_qgis.pipeline import Job
from tsmask_qgis.pipeline._detect import crop
from tsmask_qgis.pipeline._load import margin_request


def _request(url: str, **kw):
    return dataclasses.replace(
        syn.request(), source="custom", stac_url=url, collections=(syn.COLLECTION,), **kw
    )


@pytest.mark.parametrize("cache", [True, False])
def test_loaders_carry_the_sun_and_read_a_margin_as_nodata(served, cache):
    s = served.synthetic
    ds = loaders.load(_request(served.url), cache=cache)
    az, el = ds["sun_azimuth"].values, ds["sun_elevation"].values
    have = np.arange(len(s.times)) != syn.NO_SUN
    np.testing.assert_allclose(az[have], s.sun_azimuth[have], rtol=0, atol=1e-9)
    np.testing.assert_allclose(el[have], s.sun_elevation[have], rtol=0, atol=1e-9)
    assert math.isnan(az[syn.NO_SUN]) and math.isnan(el[syn.NO_SUN])
    # 200 m north and 100 m east at 20 m: 10 rows on top, 5 columns on the right; the
    # served COGs reach PAD = 2 pixels beyond the area, the rest is nodata
    wide = loaders.load(_request(served.url, margin_m=(200.0, 0.0, 100.0, 0.0)), cache=cache)
    assert wide.sizes["y"] == ds.sizes["y"] + 10 and wide.sizes["x"] == ds.sizes["x"] + 5
    blue = wide["blue"].values
    assert np.isnan(blue[:, : 10 - syn.PAD]).all() and np.isnan(blue[:, :, -(5 - syn.PAD) :]).all()
    inner = wide.isel(y=slice(10, None), x=slice(0, -5))
    np.testing.assert_array_equal(inner["y"].values, ds["y"].values)
    np.testing.assert_array_equal(inner["blue"].values, ds["blue"].values)


def test_margin_is_part_of_the_request_key_and_checked():
    r = syn.request()
    assert "margin_px" not in r.key()
    assert dataclasses.replace(r, margin_m=(30, 0, 0, 0)).key()["margin_px"] == [2, 0, 0, 0]
    with pytest.raises(ValueError, match="margin_m must be four non-negative"):
        dataclasses.replace(r, margin_m=(-1, 0, 0, 0))


def test_run_with_shadow_geometry_and_buffers(served, tmp_path, capsys):
    s = served.synthetic
    base = [*_synthetic(served.url), "--format", "netcdf", "--quiet"]
    assert main(["run", *base, "--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    opts = ["--shadow-geometry", "--cloud-buffer", "40m", "--shadow-buffer", "1px"]
    assert main(["run", *base, *opts, "--out", str(tmp_path / "geo")]) == 0
    printed = capsys.readouterr().out
    assert "loaded a margin around the area" in printed
    assert "computed from the acquisition time for 1 of 12 date(s)" in printed
    plain, geo = _mask(tmp_path / "plain"), _mask(tmp_path / "geo")
    with (
        xr.open_dataset(tmp_path / "plain" / "tsmask.nc") as a,
        xr.open_dataset(tmp_path / "geo" / "tsmask.nc") as b,
    ):
        np.testing.assert_array_equal(a["x"].values, b["x"].values)  # cropped to the area
        np.testing.assert_array_equal(a["y"].values, b["y"].values)
    # the geometry never changes cloud or no observation; buffers only add. (At the
    # edges the spatial steps differ: with the margin they see the PAD pixels the
    # catalogue has beyond the area, where a run without it sees the grid's end.)
    inner = (slice(None), slice(3, -3), slice(3, -3))
    assert ((geo == 0) == (plain == 0)).all()
    assert (geo[inner][plain[inner] == 2] == 2).all()
    assert (geo != plain).any()
    # the engine on the area and its margin (sunward: the morning sun is in the east and
    # north), with the sun of the items, cropped: the same
    job = Job(
        out=tmp_path / "x",
        request=_request(served.url),
        shadow_geometry=True,
        cloud_buffer_m=40,
        shadow_buffer_m=20,
    )
    wider, _ = margin_request(job, loaders.search(job.request))
    north, south, east, west = wider.margin_m
    assert east > west and north > south and west == south == 40 + 4 * 20
    full = engine.classify(
        loaders.load(wider),
        runner="threads",
        shadow_geometry=True,
        cloud_buffer_m=40,
        shadow_buffer_m=20,
    )
    np.testing.assert_array_equal(geo, crop(full, wider.margin_pixels()).values)
    # better shadow than detection alone against the scene's truth
    truth = s.truth

    def producers(m):
        return ((m == 3) & (truth == 3)).sum() / max(1, (truth == 3).sum())

    assert producers(geo) >= producers(plain)


@pytest.mark.parametrize(
    ("opt", "value", "message"),
    [
        ("--cloud-buffer", "5ft", "--cloud-buffer '5ft': write a distance like 60m"),
        ("--shadow-buffer", "-3m", "--shadow-buffer '-3m': write a distance like 60m"),
    ],
)
def test_bad_distances_exit_2(served, tmp_path, capsys, opt, value, message):
    args = [*_synthetic(served.url), f"{opt}={value}", "--out", str(tmp_path / "o")]
    assert main(["run", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and f"see {opt}" in err


def test_thin_cloud_needs_seed(tmp_path, capsys):
    from tsmask_qgis.cli.demo import sample_path

    args = ["run", "--input", str(sample_path()), "--thin-cloud", "temporal"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    assert "add --preset seed" in capsys.readouterr().err
