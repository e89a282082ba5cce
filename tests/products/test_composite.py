"""Composites: every method against numpy or the plain references, on every pixel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.products.cubes import cube, reflectance
from tsmask_qgis.bands import BANDS
from tsmask_qgis.errors import InputError, NoDataError, ParameterError
from tsmask_qgis.products import composite
from tsmask_qgis.products.reference import geomedian_pixel, medoid_pixel, summed_distance


def _clear_values(ds, mask, sel):
    obs = np.stack([reflectance(ds, b)[sel] for b in BANDS])  # (B, T, y, x)
    clear = mask.values[sel] == 1
    return np.where(clear[None], obs, np.nan), clear


@pytest.mark.parametrize("integer", [False, True])
@pytest.mark.parametrize("method", ["median", "mean"])
def test_per_band_methods_equal_numpy_over_the_clear_dates(method, integer):
    ds, mask = cube(1, integer=integer)
    out = composite(ds, mask, period="year", method=method, workers=2)
    years = ds["time"].dt.year.values
    assert list(out["period"].values) == ["2017", "2018"]
    for i, year in enumerate((2017, 2018)):
        values, clear = _clear_values(ds, mask, years == year)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = (np.nanmedian if method == "median" else np.nanmean)(values, axis=1)
        for b, band in enumerate(BANDS):
            np.testing.assert_allclose(out[band].values[i], want[b], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out["count"].values[i], clear.sum(axis=0))


def test_geomedian_and_medoid_match_the_plain_references():
    ds, mask = cube(2, t=30, y=6, x=7)
    gm = composite(ds, mask, period="all", method="geomedian", workers=2)
    md = composite(ds, mask, period="all", method="medoid", workers=1)
    values, _ = _clear_values(ds, mask, slice(None))
    for yy in range(6):
        for xx in range(7):
            obs = values[:, :, yy, xx].T
            obs = obs[np.isfinite(obs).all(axis=1)]
            got = np.array([gm[b].values[0, yy, xx] for b in BANDS], np.float64)
            if len(obs) == 0:
                assert np.isnan(got).all()
                continue
            want = geomedian_pixel(obs)
            np.testing.assert_allclose(got, want, atol=2e-5)
            # and it is the minimum: no worse than the reference's objective (within float32)
            assert summed_distance(obs, got) <= summed_distance(obs, want) + 1e-5
            got_md = np.array([md[b].values[0, yy, xx] for b in BANDS], np.float64)
            np.testing.assert_allclose(got_md, medoid_pixel(obs), atol=1e-7)


def test_no_clear_observation_is_nodata_with_count_zero():
    ds, mask = cube(3)
    classes = mask.values.copy()
    classes[:, 2:4, 3:6] = 2  # cloud on every date
    mask = mask.copy(data=classes)
    for method in ("median", "geomedian", "mean", "medoid"):
        out = composite(ds, mask, period="year", method=method, workers=2)
        assert (out["count"].values[:, 2:4, 3:6] == 0).all()
        for b in BANDS:
            assert np.isnan(out[b].values[:, 2:4, 3:6]).all()
        assert np.isfinite(out["red"].values[:, 0, 0]).any()


def test_streamed_tiles_processes_and_dask_give_the_same_composite():
    ds, mask = cube(4, t=20, y=40, x=30, integer=True)
    whole = composite(ds, mask, period="month", method="geomedian", workers=2)
    tiled = composite(ds, mask, period="month", method="geomedian", workers=2, max_memory=20_000)
    lazy = composite(ds.chunk({"time": 5, "y": 16, "x": 16}), mask.chunk({"y": 16}),
                     period="month", method="geomedian", max_memory=40_000)  # fmt: skip
    procs = composite(ds, mask, period="month", method="geomedian", workers=2,
                      runner="processes", max_memory=30_000)  # fmt: skip
    assert isinstance(tiled["red"].data, np.memmap)  # past the budget: on disk
    assert not isinstance(whole["red"].data, np.memmap)
    for other in (tiled, lazy, procs):
        for v in whole.data_vars:
            np.testing.assert_array_equal(whole[v].values, other[v].values)


def test_periods_seasons_custom_ranges_and_the_cloud_limit():
    ds, mask = cube(5, t=40)
    seasons = composite(ds, mask, period="season", method="mean", workers=1)
    assert all(p[5:] in ("DJF", "MAM", "JJA", "SON") for p in seasons["period"].values)
    months = ds["time"].dt.month.values
    years = ds["time"].dt.year.values
    first = seasons["period"].values[0]
    dec_jan_feb = (months <= 2) & (years == int(first[:4]))
    if first.endswith("DJF"):
        np.testing.assert_array_equal(
            seasons["count"].values[0], (mask.values[dec_jan_feb] == 1).sum(axis=0)
        )
    ranged = composite(ds, mask, period="2017-03-01/2017-08-31,2018-01-01/2018-12-31", workers=1)
    assert list(ranged["period"].values) == ["2017-03-01_2017-08-31", "2018-01-01_2018-12-31"]
    limited = composite(ds, mask, period="all", max_cloud=0, workers=1)
    assert (limited["count"].values == 0).all()  # every random date is cloudy
    allowed = composite(ds, mask, period="all", max_cloud=100, workers=1)
    np.testing.assert_array_equal(allowed["count"].values[0], (mask.values == 1).sum(axis=0))


def test_a_period_without_dates_and_bad_names_say_so():
    ds, mask = cube(6)
    with pytest.raises(NoDataError, match="2020-01-01/2020-06-30 holds none"):
        composite(ds, mask, period="2020-01-01/2020-06-30")
    with pytest.raises(ParameterError, match="unknown composite method"):
        composite(ds, mask, method="best")
    with pytest.raises(ParameterError, match="not a date"):
        composite(ds, mask, period="spring")


def test_a_mask_off_the_grid_or_dates_says_which_and_by_how_much():
    ds, mask = cube(7)
    with pytest.raises(InputError, match=r"11 columns along x, the stack 9 \(2 more\)"):
        composite(ds.isel(x=slice(0, 9)), mask)
    shifted = mask.assign_coords(x=mask["x"] + 30.0)
    with pytest.raises(InputError, match=r"off the stack's by up to 30 \(1.5 pixels\)"):
        composite(ds, shifted)
    with pytest.raises(InputError, match=r"the mask has 22 dates, the stack 24; 2 of the stack's"):
        composite(ds, mask.isel(time=slice(0, 22)))
