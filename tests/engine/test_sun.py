"""Solar position against published values, and the sun's sources (STAC metadata, 10:30)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tsmask_qgis.engine.sun import (
    has_time_of_day,
    local_solar_time,
    resolve_sun,
    solar_coordinates,
    sun_from_properties,
    sun_position,
)


def test_meeus_example_25a():
    # Meeus, Astronomical Algorithms (2nd ed.), example 25.a: 1992 October 13.0 TD,
    # JDE 2448908.5, low-accuracy solar coordinates.
    sc = solar_coordinates(2448908.5)
    assert sc["L0"] == pytest.approx(201.80720, abs=1e-5)
    assert sc["M"] == pytest.approx(278.99397, abs=1e-5)
    assert sc["e"] == pytest.approx(0.016711668, abs=1e-9)
    assert sc["C"] == pytest.approx(-1.89732, abs=1e-5)
    assert sc["true_longitude"] == pytest.approx(199.90988, abs=2e-5)
    assert sc["apparent_longitude"] == pytest.approx(199.90895, abs=2e-5)
    assert sc["right_ascension"] == pytest.approx(198.38083, abs=2e-5)
    assert sc["declination"] == pytest.approx(-7.78507, abs=2e-5)
    # Meeus example 28.b, same instant: equation of time 13 m 42.7 s (his high-accuracy
    # value; the low-accuracy series agrees within 0.1 s).
    assert sc["eot_minutes"] == pytest.approx(13 + 42.7 / 60, abs=0.1 / 60)


def test_spa_test_case_golden_colorado():
    # NREL SPA (Reda & Andreas 2004), the published test case: 2003-10-17 12:30:30 local
    # time, UTC-7, 39.742476 N 105.1786 W: topocentric zenith 50.11162, azimuth 194.34024.
    # NOAA's formula is stated to about 0.01 degree (its standard refraction differs from
    # SPA's 820 mbar / 11 C by 0.004 degree here).
    az, el = sun_position(np.datetime64("2003-10-17T19:30:30"), -105.1786, 39.742476)
    assert 90.0 - el == pytest.approx(50.11162, abs=0.01)
    assert az == pytest.approx(194.34024, abs=0.01)


def test_solstice_and_equinox_instants():
    # Published instants: June solstice 2020-06-20 21:43 UTC (declination = obliquity,
    # 23.4367 degrees in 2020) and March equinox 2021-03-20 09:37 UTC (declination 0).
    from tsmask_qgis.engine.sun import _julian_day

    jd = _julian_day(np.array(["2020-06-20T21:43", "2021-03-20T09:37"], dtype="datetime64[ns]"))
    dec = solar_coordinates(jd)["declination"]
    assert dec[0] == pytest.approx(23.4367, abs=0.001)
    assert dec[1] == pytest.approx(0.0, abs=0.005)


def test_vectorised_and_time_conventions():
    times = pd.date_range("2017-01-01T00:30", periods=5, freq="37D")
    az, el = sun_position(times, 149.1, -35.3)
    assert az.shape == el.shape == (5,)
    for i, t in enumerate(times):
        a, e = sun_position(t.to_datetime64(), 149.1, -35.3)
        assert a == pytest.approx(az[i], abs=1e-9) and e == pytest.approx(el[i], abs=1e-9)
    # A time-zone aware time is converted to UTC.
    aware = dt.datetime(2017, 1, 1, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=11)))
    a, e = sun_position([aware], 149.1, -35.3)
    assert a[0] == pytest.approx(az[0], abs=1e-9) and e[0] == pytest.approx(el[0], abs=1e-9)
    # Arrays of places broadcast against the times.
    az2, _ = sun_position(times[:1], np.array([0.0, 90.0, 180.0]), 0.0)
    assert az2.shape == (3,)


def _true_noon(day: str, lon: float) -> np.ndarray:
    """UTC of local apparent noon: 12:00 mean solar time less the equation of time."""
    from tsmask_qgis.engine.sun import _julian_day

    mean_noon = local_solar_time(np.array([day], dtype="datetime64[D]"), lon, 12.0)
    eot = float(solar_coordinates(_julian_day(mean_noon))["eot_minutes"][0])
    return mean_noon - np.timedelta64(round(eot * 60e9), "ns")


def test_geometry_sanity():
    # At apparent noon the sun is due north from the southern mid-latitudes and due south
    # from the northern ones, at 90 - |lat - declination|; morning suns are in the east.
    a, e = sun_position(_true_noon("2017-06-21", 149.1), 149.1, -35.3)
    assert min(a[0], 360 - a[0]) < 0.05
    assert e[0] == pytest.approx(90 - 35.3 - 23.44, abs=0.05)
    a, e = sun_position(_true_noon("2017-06-21", 10.0), 10.0, 45.0)
    assert a[0] == pytest.approx(180.0, abs=0.05)
    assert e[0] == pytest.approx(90 - 45.0 + 23.44, abs=0.05)
    morning = local_solar_time(np.array(["2017-01-15", "2017-07-15"], "datetime64[D]"), 149.1)
    a, e = sun_position(morning, 149.1, -35.3)
    assert np.all((a > 0) & (a < 180)) and np.all(e > 20)


def test_bad_places():
    with pytest.raises(ValueError, match="latitude"):
        sun_position(np.datetime64("2020-01-01"), 0.0, 95.0)
    with pytest.raises(ValueError, match="longitude"):
        sun_position(np.datetime64("2020-01-01"), float("nan"), 0.0)


def test_local_solar_time():
    t = local_solar_time(np.array(["2016-01-01"], dtype="datetime64[D]"), 149.1)
    assert str(t[0]) == "2016-01-01T00:33:36.000000000"
    # West of Greenwich 10:30 local is later in UTC, and east of 157.5 E the UTC day
    # before.
    assert str(local_solar_time(np.array(["2016-01-01"], "datetime64[D]"), -105.0)[0])[:16] == (
        "2016-01-01T17:30"
    )
    assert str(local_solar_time(np.array(["2016-01-01"], "datetime64[D]"), 170.0)[0])[:10] == (
        "2015-12-31"
    )
    assert not has_time_of_day(np.array(["2016-01-01", "2016-01-11"], dtype="datetime64[ns]"))
    assert has_time_of_day(np.array(["2016-01-01T00:12"], dtype="datetime64[ns]"))


def test_sun_from_properties():
    assert sun_from_properties({"view:sun_azimuth": 45.5, "view:sun_elevation": 30.25}) == (
        45.5,
        30.25,
    )
    assert sun_from_properties({"s2:mean_solar_azimuth": 60.0, "s2:mean_solar_zenith": 35.0}) == (
        60.0,
        55.0,
    )
    # Earth Search first; a broken Earth Search pair falls back to Planetary Computer's.
    both = {
        "view:sun_azimuth": 10.0,
        "view:sun_elevation": 20.0,
        "s2:mean_solar_azimuth": 60.0,
        "s2:mean_solar_zenith": 35.0,
    }
    assert sun_from_properties(both) == (10.0, 20.0)
    both["view:sun_elevation"] = "n/a"
    assert sun_from_properties(both) == (60.0, 55.0)
    for bad in (
        {},
        {"view:sun_azimuth": 10.0},
        {"view:sun_azimuth": 10.0, "view:sun_elevation": float("nan")},
        {"view:sun_azimuth": 10.0, "view:sun_elevation": 120.0},
        {"view:sun_azimuth": True, "view:sun_elevation": 20.0},
        {"s2:mean_solar_azimuth": 10.0, "s2:mean_solar_zenith": None},
    ):
        assert sun_from_properties(bad) is None
    assert sun_from_properties({"view:sun_azimuth": -30.0, "view:sun_elevation": 5.0}) == (
        330.0,
        5.0,
    )


def test_resolve_sun_mixes_sources_and_says_so():
    times = np.array(["2017-01-01T00:10", "2017-01-06T00:10", "2017-01-11T00:10"], "datetime64[ns]")
    props = [{"view:sun_azimuth": 70.0, "view:sun_elevation": 60.0}, None, {"other": 1}]
    sun = resolve_sun(times, 149.1, -35.3, properties=props)
    assert sun.source == ("metadata", "computed", "computed")
    assert sun.azimuth[0] == 70.0 and sun.elevation[0] == 60.0
    az, el = sun_position(times[1:], 149.1, -35.3)
    np.testing.assert_allclose(sun.azimuth[1:], az)
    np.testing.assert_allclose(sun.elevation[1:], el)
    (note,) = sun.notes()
    assert "2 of 3" in note and "acquisition time" in note
    # Dates only: 10:30 local solar time, and the note says so.
    days = np.array(["2017-01-01", "2017-07-01"], dtype="datetime64[ns]")
    sun = resolve_sun(days, 149.1, -35.3)
    assert set(sun.source) == {"computed at 10:30 local solar time"}
    az, el = sun_position(local_solar_time(days, 149.1), 149.1, -35.3)
    np.testing.assert_allclose(sun.elevation, el)
    assert "10:30 local solar time" in sun.notes()[0]
    # All from metadata: nothing to say.
    assert resolve_sun(times[:1], 149.1, -35.3, properties=props[:1]).notes() == []
    with pytest.raises(ValueError, match="entries"):
        resolve_sun(times, 149.1, -35.3, properties=props[:2])
