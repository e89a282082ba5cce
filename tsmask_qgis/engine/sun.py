"""Where the sun is: computed from time and place, or read from STAC item metadata.

The cloud-shadow geometry step (:mod:`tsmask_qgis.engine.shadow`) needs, per
date, the sun's azimuth (degrees clockwise from north) and elevation (degrees
above the horizon). Catalogues usually give them per scene; otherwise they are
computed here.

The formula is the NOAA solar calculator's (NOAA Global Monitoring
Laboratory, after Jean Meeus, *Astronomical Algorithms*, chapter 25, the
low-accuracy solar coordinates), vectorised with numpy. Its stated accuracy
is about 0.01 degree in azimuth and elevation for years 1800 to 2100, far
finer than a shadow needs (0.01 degree of elevation at 30 degrees moves the
shadow of a 12 km cloud by 7 m). The time scale difference TT - UT (about
70 s) is ignored, as in NOAA's calculator.

Only numpy is imported; this module is safe in any process.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "SunSource",
    "SunTable",
    "has_time_of_day",
    "local_solar_time",
    "resolve_sun",
    "solar_coordinates",
    "sun_from_properties",
    "sun_position",
]

#: Local mean solar time (hours) of Sentinel-2's descending node: used for dates
#: without a time of day.
OVERPASS_HOUR = 10.5

_J2000 = 2451545.0
_UNIX_JD = 2440587.5  # Julian day of 1970-01-01T00:00 UTC

SunSource = Literal["metadata", "computed", "computed at 10:30 local solar time"]


def _julian_day(times: Any) -> np.ndarray:
    """Julian day (UT) of each time; naive times are UTC, aware ones are converted."""
    import pandas as pd

    idx = pd.DatetimeIndex(np.atleast_1d(np.asarray(times, dtype=object)).ravel())
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    ns = idx.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(np.float64)
    shape = np.shape(times)
    return (ns / 86_400e9 + _UNIX_JD).reshape(shape)


def solar_coordinates(jd: Any) -> dict[str, np.ndarray]:
    """The sun's coordinates at Julian day(s) ``jd`` (Meeus ch. 25, low accuracy).

    Returns degrees (except ``e``, ``eot_minutes``): ``L0`` geometric mean
    longitude, ``M`` mean anomaly, ``e`` eccentricity of Earth's orbit,
    ``C`` equation of centre, ``true_longitude``, ``apparent_longitude``,
    ``obliquity`` (corrected), ``right_ascension`` (0..360),
    ``declination`` and ``eot_minutes`` (equation of time, minutes).
    """
    jd = np.asarray(jd, dtype=np.float64)
    t = (jd - _J2000) / 36525.0
    l0 = np.mod(280.46646 + t * (36000.76983 + t * 0.0003032), 360.0)
    m = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    mr = np.radians(m)
    c = (
        np.sin(mr) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + np.sin(2 * mr) * (0.019993 - 0.000101 * t)
        + np.sin(3 * mr) * 0.000289
    )
    true_long = l0 + c
    omega = np.radians(125.04 - 1934.136 * t)
    app_long = true_long - 0.00569 - 0.00478 * np.sin(omega)
    eps0 = 23.0 + (26.0 + (21.448 - t * (46.8150 + t * (0.00059 - t * 0.001813))) / 60.0) / 60.0
    eps = eps0 + 0.00256 * np.cos(omega)
    epsr, lamr = np.radians(eps), np.radians(app_long)
    ra = np.mod(np.degrees(np.arctan2(np.cos(epsr) * np.sin(lamr), np.cos(lamr))), 360.0)
    decl = np.degrees(np.arcsin(np.sin(epsr) * np.sin(lamr)))
    y = np.tan(epsr / 2.0) ** 2
    l0r = np.radians(l0)
    eot = 4.0 * np.degrees(
        y * np.sin(2 * l0r)
        - 2 * e * np.sin(mr)
        + 4 * e * y * np.sin(mr) * np.cos(2 * l0r)
        - 0.5 * y * y * np.sin(4 * l0r)
        - 1.25 * e * e * np.sin(2 * mr)
    )
    return {
        "L0": l0,
        "M": np.mod(m, 360.0),
        "e": e,
        "C": c,
        "true_longitude": np.mod(true_long, 360.0),
        "apparent_longitude": np.mod(app_long, 360.0),
        "obliquity": eps,
        "right_ascension": ra,
        "declination": decl,
        "eot_minutes": eot,
    }


def _refraction(elevation: np.ndarray) -> np.ndarray:
    """NOAA's atmospheric refraction correction (degrees) for a geometric elevation."""
    el = np.asarray(elevation, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        te = np.tan(np.radians(el))
        high = 58.1 / te - 0.07 / te**3 + 0.000086 / te**5
        low = 1735.0 + el * (-518.2 + el * (103.4 + el * (-12.79 + el * 0.711)))
        below = -20.774 / te
    arcsec = np.where(el > 85.0, 0.0, np.where(el > 5.0, high, np.where(el > -0.575, low, below)))
    return arcsec / 3600.0


def sun_position(
    times: Any, lon: Any, lat: Any, *, refraction: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Sun azimuth and elevation (degrees) at ``times`` seen from ``lon``, ``lat``.

    ``times``: datetime64, datetimes, pandas timestamps or ISO strings (naive
    = UTC; time-zone aware ones are converted); ``lon``/``lat`` in degrees
    (east and north positive), scalars or arrays broadcast against ``times``.
    Azimuth is clockwise from north, 0..360; elevation is above the horizon,
    with NOAA's refraction correction unless ``refraction=False``. Vectorised;
    accuracy about 0.01 degree (1800-2100).
    """
    jd = _julian_day(times)
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if np.any(np.abs(lat_a) > 90.0) or np.any(~np.isfinite(lat_a)):
        raise ValueError(f"latitude must be within -90..90 degrees, got {lat!r}")
    if np.any(~np.isfinite(lon_a)):
        raise ValueError(f"longitude must be a finite number of degrees, got {lon!r}")
    sc = solar_coordinates(jd)
    minutes = (jd - 0.5 - np.floor(jd - 0.5)) * 1440.0  # UT minutes since midnight
    true_solar = np.mod(minutes + sc["eot_minutes"] + 4.0 * lon_a, 1440.0)
    hour_angle = np.radians(true_solar / 4.0 - 180.0)
    phi = np.radians(lat_a)
    dec = np.radians(sc["declination"])
    cos_zen = np.sin(phi) * np.sin(dec) + np.cos(phi) * np.cos(dec) * np.cos(hour_angle)
    elevation = np.degrees(np.arcsin(np.clip(cos_zen, -1.0, 1.0)))
    # Meeus 13.5: azimuth from the south, westwards; + 180 gives from the north, eastwards.
    az = np.degrees(
        np.arctan2(np.sin(hour_angle), np.cos(hour_angle) * np.sin(phi) - np.tan(dec) * np.cos(phi))
    )
    azimuth = np.mod(az + 180.0, 360.0)
    if refraction:
        elevation = elevation + _refraction(elevation)
    return azimuth, elevation


def has_time_of_day(times: Any) -> bool:
    """False when every time is exactly midnight (a stack of dates, not acquisition times)."""
    t = np.asarray(times, dtype="datetime64[ns]")
    if t.size == 0:
        return False
    day = t.astype("datetime64[D]").astype("datetime64[ns]")
    return bool(np.any(t != day))


def local_solar_time(dates: Any, lon: float, hour: float = OVERPASS_HOUR) -> np.ndarray:
    """UTC datetime64 of ``hour`` local mean solar time at ``lon`` on each date.

    Sentinel-2 crosses the equator at 10:30 local mean solar time; a stack
    whose times carry only the date is given this time of day. The local date
    is kept: at 149 degrees east 10:30 is 00:34 UTC of the same day.
    """
    days = np.asarray(dates, dtype="datetime64[ns]").astype("datetime64[D]")
    offset_s = (float(hour) - float(lon) / 15.0) * 3600.0
    return days.astype("datetime64[ns]") + np.timedelta64(round(offset_s * 1e9), "ns")


def _number(props: Mapping[str, Any], key: str) -> float | None:
    v = props.get(key)
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def sun_from_properties(props: Mapping[str, Any]) -> tuple[float, float] | None:
    """``(azimuth, elevation)`` in degrees from a STAC item's properties, or ``None``.

    Reads Earth Search's ``view:sun_azimuth`` / ``view:sun_elevation`` (the
    STAC view extension), else Planetary Computer's ``s2:mean_solar_azimuth``
    / ``s2:mean_solar_zenith`` (elevation = 90 - zenith). Values that are
    missing, not numbers or out of range give ``None``: the caller then
    computes the position.
    """
    az = _number(props, "view:sun_azimuth")
    el = _number(props, "view:sun_elevation")
    if az is None or el is None:
        az = _number(props, "s2:mean_solar_azimuth")
        zen = _number(props, "s2:mean_solar_zenith")
        el = None if zen is None else 90.0 - zen
    if az is None or el is None or not (-360.0 <= az <= 360.0) or not (-90.0 <= el <= 90.0):
        return None
    return float(np.mod(az, 360.0)), float(el)


@dataclass(frozen=True)
class SunTable:
    """The sun per date: ``azimuth`` and ``elevation`` (degrees) and where each came from.

    ``source[i]`` is ``"metadata"``, ``"computed"`` (from the acquisition
    time) or ``"computed at 10:30 local solar time"`` (the stack had dates
    only). :meth:`notes` gives the messages a caller shows once.
    """

    azimuth: np.ndarray
    elevation: np.ndarray
    source: tuple[SunSource, ...]

    def notes(self) -> list[str]:
        """One line per kind of fallback used (empty when all came from metadata)."""
        out = []
        computed = sum(s == "computed" for s in self.source)
        at_1030 = sum(s == "computed at 10:30 local solar time" for s in self.source)
        if computed:
            out.append(
                f"sun position computed from the acquisition time for {computed} of "
                f"{len(self.source)} date(s) (no sun angles in the item metadata)"
            )
        if at_1030:
            out.append(
                f"sun position computed at 10:30 local solar time for {at_1030} of "
                f"{len(self.source)} date(s) (the times carry no time of day)"
            )
        return out


def resolve_sun(
    times: Any,
    lon: float,
    lat: float,
    properties: Sequence[Mapping[str, Any] | None] | None = None,
) -> SunTable:
    """The sun for each date: item metadata where given, else the computed position.

    ``properties`` (optional) holds one STAC item's properties (or ``None``)
    per date. Without metadata the position is computed at the acquisition
    time at ``lon``/``lat`` (the area's centre); when no time carries a time
    of day, at 10:30 local mean solar time (Sentinel-2's overpass).
    """
    t = np.atleast_1d(np.asarray(times, dtype="datetime64[ns]"))
    n = t.size
    if properties is not None and len(properties) != n:
        raise ValueError(f"properties has {len(properties)} entries for {n} date(s)")
    dated_only = not has_time_of_day(t)
    when = local_solar_time(t, lon) if dated_only else t
    az_c, el_c = sun_position(when, lon, lat)
    az = np.array(az_c, dtype=np.float64, copy=True)
    el = np.array(el_c, dtype=np.float64, copy=True)
    fallback: SunSource = "computed at 10:30 local solar time" if dated_only else "computed"
    source: list[SunSource] = [fallback] * n
    for i in range(n):
        got = sun_from_properties(properties[i] or {}) if properties is not None else None
        if got is not None:
            az[i], el[i] = got
            source[i] = "metadata"
    return SunTable(azimuth=az, elevation=el, source=tuple(source))
