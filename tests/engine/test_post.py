"""classify's optional steps after the preset: shadow geometry and buffers in metres."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tsmask_qgis.engine import classify
from tsmask_qgis.engine._post import check_options, sun_properties, sunward_margins_m
from tsmask_qgis.engine.buffers import buffer_m
from tsmask_qgis.engine.shadow import ShadowParams, shadow_geometry
from tsmask_qgis.engine.sun import resolve_sun
from tsmask_qgis.evaluate import make_scene


@pytest.fixture(scope="module")
def scene():
    return make_scene(shape=(16, 48, 48), seed=3, cloud_amount=0.35, missing_dates=0.0)


def test_classify_runs_geometry_then_buffers_like_the_steps_alone(scene):
    ds = scene.ds
    sun = (scene.sun_azimuth, scene.sun_elevation)
    got = classify(
        ds,
        runner="threads",
        workers=2,
        shadow_geometry=True,
        cloud_buffer_m="40m",
        shadow_buffer_m=20,
        sun=sun,
    )
    plain = classify(ds, runner="threads", workers=1)
    step = shadow_geometry(plain, ds, sun=sun, workers=1).mask
    want = buffer_m(step, cloud_m=40, shadow_m=20, workers=1)
    np.testing.assert_array_equal(got.values, want.values)
    assert (got.values != plain.values).any()
    assert "shadow_geometry" in got.attrs and got.attrs["buffers_m"] == "cloud 40 m, shadow 20 m"
    assert "notes" not in got.attrs  # the sun was given: nothing to say


def test_sun_from_coords_and_computed_where_missing(scene):
    ds = scene.ds.assign_coords(
        time=scene.ds.time.values + np.timedelta64(5, "m"),  # acquisition times (00:05 UTC)
        sun_azimuth=("time", scene.sun_azimuth.copy()),
        sun_elevation=("time", scene.sun_elevation.copy()),
    )
    ds["sun_azimuth"].values[3] = np.nan
    props = sun_properties(ds)
    assert props is not None and props[3] is None and props[0] is not None
    got = classify(ds, runner="threads", shadow_geometry=True)
    # one date computed from its time at the grid's centre, said once
    assert "computed from the acquisition time for 1 of 16" in got.attrs["notes"]
    assert "sun_azimuth" not in got.coords  # the mask does not carry the inputs' sun


def test_dates_only_use_1030_and_low_sun_is_skipped(scene):
    ds = scene.ds.assign_coords(time=scene.ds.time.values.astype("datetime64[D]"))
    got = classify(ds, runner="threads", shadow_geometry=True)
    assert "10:30 local solar time for 16 of 16" in got.attrs["notes"]
    low = (np.full(16, 120.0), np.r_[np.full(8, 5.0), np.full(8, 45.0)])
    got = classify(ds, runner="threads", shadow_geometry=True, sun=low)
    plain = classify(ds, runner="threads")
    assert "skipped on 8 of 16 date(s) with the sun below 10 degrees" in got.attrs["notes"]
    np.testing.assert_array_equal(got.values[:8], plain.values[:8])


def test_bad_options_are_refused(scene):
    with pytest.raises(ValueError, match="cloud_buffer_m: cannot read the distance"):
        check_options(True, "5ft", 0)
    with pytest.raises(ValueError, match="shadow_geometry must be True or False"):
        check_options("yes", 0, 0)
    with pytest.raises(ValueError, match="leave the spatial steps on"):
        classify(scene.ds, runner="threads", spatial=False, cloud_buffer_m=20)
    with pytest.raises(ValueError, match="lazy=True returns the preset's mask only"):
        classify(scene.ds.chunk({"y": 24}), runner="dask", lazy=True, shadow_geometry=True)


def test_sunward_margins():
    p = ShadowParams()
    # sun due north at 45 degrees: 12 km on the north side only
    n, s, e, w = sunward_margins_m([0.0], [45.0], p)
    assert n == pytest.approx(12000.0) and s == e == w == 0.0
    # north-east and south-west suns, and one below 10 degrees that does not count
    n, s, e, w = sunward_margins_m([45.0, 225.0, 90.0], [30.0, 60.0, 5.0], p)
    run30, run60 = 12000 / math.tan(math.radians(30)), 12000 / math.tan(math.radians(60))
    assert n == pytest.approx(run30 * math.sqrt(0.5)) and e == pytest.approx(n)
    assert s == pytest.approx(run60 * math.sqrt(0.5)) and w == pytest.approx(s)
    assert sunward_margins_m([10.0], [float("nan")], p) == (0.0, 0.0, 0.0, 0.0)
    # the computed sun at Canberra in winter, 10:30: north-east, margins N and E
    table = resolve_sun(np.array(["2017-06-21"], "datetime64[ns]"), 149.1, -35.3)
    n, s, e, w = sunward_margins_m(table.azimuth, table.elevation, p)
    assert n > 0 and e > 0 and s == w == 0.0
