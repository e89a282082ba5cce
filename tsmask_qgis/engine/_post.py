"""The optional steps after a preset: shadow from sun geometry, then buffers in metres.

``classify(..., shadow_geometry=True, cloud_buffer_m=60, shadow_buffer_m=40)`` runs
them here on the preset's mask (docs/shadow_geometry.md). The sun per date comes from
the dataset's ``sun_azimuth``/``sun_elevation`` time coordinates (the loaders fill
them from the STAC items' metadata, NaN where an item has none); otherwise it is
computed at the area's centre (dates without a time of day at 10:30 local solar
time). What the user should know (computed positions, skipped dates) is kept in the
mask's ``notes`` attribute, one line each.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tsmask_qgis.engine._validate import InputError
from tsmask_qgis.errors import ParameterError
from tsmask_qgis.progress import Progress

__all__ = [
    "SUN_COORDS",
    "centre_lonlat",
    "check_options",
    "post_steps",
    "sun_properties",
    "sunward_margins_m",
]

#: The per-date coordinates the loaders fill from item metadata (degrees, NaN unknown).
SUN_COORDS = ("sun_azimuth", "sun_elevation")


def check_options(
    shadow_geometry: Any, cloud_buffer_m: Any, shadow_buffer_m: Any
) -> tuple[bool, float, float]:
    """``(shadow_geometry, cloud metres, shadow metres)`` checked; ParameterError naming
    the option otherwise."""
    from tsmask_qgis.engine.buffers import parse_distance

    if not isinstance(shadow_geometry, (bool, np.bool_)):
        raise ParameterError(
            f"shadow_geometry must be True or False, got {shadow_geometry!r}",
            field="shadow_geometry",
        )
    metres: list[float] = []
    for name, value in (("cloud_buffer_m", cloud_buffer_m), ("shadow_buffer_m", shadow_buffer_m)):
        try:
            metres.append(parse_distance(value))
        except ValueError as exc:
            raise ParameterError(f"{name}: {exc}", field=name) from None
    return bool(shadow_geometry), metres[0], metres[1]


def centre_lonlat(ds: Any) -> tuple[float, float] | None:
    """(lon, lat) of the centre of ``ds``'s grid from its ``spatial_ref`` (``None``
    when the grid has no CRS)."""
    ref = ds.coords.get("spatial_ref")
    wkt = "" if ref is None else str(ref.attrs.get("crs_wkt") or ref.attrs.get("spatial_ref") or "")
    if not wkt or "x" not in ds.coords or "y" not in ds.coords:
        return None
    from pyproj import CRS, Transformer

    x = np.asarray(ds["x"].values, dtype=np.float64)
    y = np.asarray(ds["y"].values, dtype=np.float64)
    cx, cy = (x.min() + x.max()) / 2.0, (y.min() + y.max()) / 2.0
    to_ll = Transformer.from_crs(CRS.from_wkt(wkt), "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    return float(lon), float(lat)


def sun_properties(ds: Any) -> list[dict[str, float] | None] | None:
    """Per date, the sun angles the loaders found in the item metadata (as STAC
    properties), or ``None`` for a date without them; ``None`` without the coords."""
    if not all(name in ds.coords for name in SUN_COORDS):
        return None
    az = np.asarray(ds.coords["sun_azimuth"].values, dtype=np.float64)
    el = np.asarray(ds.coords["sun_elevation"].values, dtype=np.float64)
    return [
        {"view:sun_azimuth": float(a), "view:sun_elevation": float(e)}
        if math.isfinite(a) and math.isfinite(e)
        else None
        for a, e in zip(az, el, strict=True)
    ]


def _sun_table(ds: Any, mask: Any) -> Any:
    from tsmask_qgis.engine.sun import SunTable, resolve_sun

    props = sun_properties(ds)
    if props is not None and all(p is not None for p in props):
        az = np.array([p["view:sun_azimuth"] for p in props])  # type: ignore[index]
        el = np.array([p["view:sun_elevation"] for p in props])  # type: ignore[index]
        return SunTable(azimuth=az, elevation=el, source=tuple("metadata" for _ in props))
    centre = centre_lonlat(ds)
    if centre is None:
        raise InputError(
            "the shadow geometry needs the sun per date: the dataset has no sun angles "
            "(sun_azimuth/sun_elevation coordinates) and no CRS (spatial_ref) to compute "
            "them from; load it with tsmask's loaders or pass sun=(azimuths, elevations)"
        )
    return resolve_sun(mask["time"].values, *centre, properties=props)


def post_steps(
    mask: Any,
    ds: Any,
    *,
    shadow_geometry: bool,
    cloud_buffer_m: float,
    shadow_buffer_m: float,
    shadow_params: Any = None,
    sun: Any = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Any:
    """The mask DataArray after the shadow-geometry step (if asked) and the buffers."""
    notes: list[str] = []
    if shadow_geometry:
        from tsmask_qgis.engine.shadow import shadow_geometry as run_geometry

        table = sun if sun is not None else _sun_table(ds, mask)
        res = run_geometry(
            mask, ds, sun=table, params=shadow_params, workers=workers, progress=progress
        )
        notes += list(getattr(table, "notes", list)()) + res.notes()
        mask = res.mask
    if cloud_buffer_m or shadow_buffer_m:
        from tsmask_qgis.engine.buffers import buffer_m

        mask = buffer_m(
            mask,
            cloud_m=cloud_buffer_m,
            shadow_m=shadow_buffer_m,
            workers=workers,
            progress=progress,
        )
    if notes:
        mask.attrs["notes"] = "\n".join(notes)
    return mask


def sunward_margins_m(
    azimuth: Any, elevation: Any, params: Any = None
) -> tuple[float, float, float, float]:
    """Metres to load north, south, east and west of the area for the shadow step.

    A shadow inside the area comes from a cloud up to ``max_height / tan(elevation)``
    away towards the sun, so only the sunward sides need a margin: per date, the
    horizontal distance at the highest cloud, split along north and east by the sun's
    azimuth; the largest over the dates the step runs on (sun at or above
    ``min_sun_elevation``).
    """
    from tsmask_qgis.engine.shadow import ShadowParams

    p = params or ShadowParams()
    az = np.radians(np.asarray(azimuth, dtype=np.float64))
    el = np.asarray(elevation, dtype=np.float64)
    used = np.isfinite(az) & np.isfinite(el) & (el >= p.min_sun_elevation)
    if not used.any():
        return (0.0, 0.0, 0.0, 0.0)
    run = p.max_height / np.tan(np.radians(np.minimum(el[used], 90.0)))
    north = run * np.cos(az[used])
    east = run * np.sin(az[used])
    return (
        float(max(0.0, north.max())),
        float(max(0.0, -north.min())),
        float(max(0.0, east.max())),
        float(max(0.0, -east.min())),
    )
