"""Zonal statistics of an index series over points or polygons of a vector file.

GeoJSON is read with ``json``, a GeoPackage with ``sqlite3`` (its geometry blobs
are WKB behind a small header) and shapely; features are reprojected from the
file's CRS to the stack's with pyproj and burnt onto the stack's grid.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsmask_qgis.classes import CLEAR
from tsmask_qgis.errors import InputError

__all__ = ["Zone", "ZoneRow", "read_zones", "zonal_means"]


@dataclass(frozen=True)
class Zone:
    """One feature: its name (a ``name``/``id`` property, else its number) and geometry."""

    name: str
    geometry: Any


@dataclass(frozen=True)
class ZoneRow:
    """One line of the zonal table: a zone on a date."""

    zone: str
    date: str
    mean: float
    clear_share: float
    clear_pixels: int
    pixels: int


def _name(props: dict[str, Any], i: int) -> str:
    for key in ("name", "Name", "NAME", "id", "ID", "fid"):
        if props.get(key) not in (None, ""):
            return str(props[key])
    return str(i + 1)


def _geojson(path: Path) -> tuple[list[Zone], Any]:
    import shapely.geometry

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} as GeoJSON: {exc}", field="zones") from None
    feats = doc.get("features", [doc] if doc.get("type") == "Feature" else [])
    zones = [
        Zone(_name(f.get("properties") or {}, i), shapely.geometry.shape(f["geometry"]))
        for i, f in enumerate(feats)
        if f.get("geometry")
    ]
    crs = (doc.get("crs") or {}).get("properties", {}).get("name", "EPSG:4326")
    return zones, crs


def _gpkg_geometry(blob: bytes) -> Any:
    import shapely.wkb

    if blob[:2] != b"GP":
        raise InputError("a GeoPackage geometry without its GP header", field="zones")
    flags = blob[3]
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get((flags >> 1) & 0x07, 0)
    return shapely.wkb.loads(bytes(blob[8 + envelope :]))


def _gpkg(path: Path) -> tuple[list[Zone], Any]:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(f"cannot open {path} as a GeoPackage: {exc}", field="zones") from None
    try:
        table, column, srs = con.execute(
            "SELECT table_name, column_name, srs_id FROM gpkg_geometry_columns LIMIT 1"
        ).fetchone()
        row = con.execute(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys "
            "WHERE srs_id = ?",
            (srs,),
        ).fetchone()
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
        rows = con.execute(f'SELECT * FROM "{table}"').fetchall()  # nosec B608: names from the file's own catalogue
    except (sqlite3.Error, TypeError) as exc:
        raise InputError(f"{path} is not a GeoPackage with a layer: {exc}", field="zones") from None
    finally:
        con.close()
    crs: Any = "EPSG:4326"
    if row is not None:
        org, code, definition = row
        crs = f"{org}:{code}" if org and int(code) > 0 else (definition or crs)
    g = cols.index(column)
    zones = []
    for i, r in enumerate(rows):
        if r[g] is not None:
            props = {c: v for c, v in zip(cols, r, strict=True) if c != column}
            zones.append(Zone(_name(props, i), _gpkg_geometry(r[g])))
    return zones, crs


def read_zones(path: str | Path, crs: Any) -> list[Zone]:
    """The features of ``path`` (GeoJSON or GeoPackage) in ``crs`` (the stack's)."""
    import pyproj
    import shapely

    path = Path(path)
    if not path.exists():
        raise InputError(f"the zones file {path} does not exist", field="zones")
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        zones, src = _geojson(path)
    elif suffix == ".gpkg":
        zones, src = _gpkg(path)
    else:
        raise InputError(
            f"{path.name}: zones must be a GeoJSON (.geojson) or GeoPackage (.gpkg) file",
            field="zones",
        )
    if not zones:
        raise InputError(f"{path} holds no feature with a geometry", field="zones")
    if crs is None:
        return zones
    tr = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(src), crs, always_xy=True)
    return [
        Zone(
            z.name,
            shapely.transform(
                z.geometry,
                lambda xy: np.column_stack(tr.transform(xy[:, 0].tolist(), xy[:, 1].tolist())),
            ),
        )
        for z in zones
    ]


def _burn(zone: Zone, grid: Any) -> np.ndarray:
    """The pixels of ``grid`` a zone covers: polygons by pixel centre (with touching
    pixels when none has its centre inside), points and lines by the pixels they touch."""
    from rasterio.features import rasterize

    shape = (grid.height, grid.width)
    kind = zone.geometry.geom_type
    all_touched = "Polygon" not in kind
    burnt = rasterize([(zone.geometry, 1)], out_shape=shape, transform=grid.transform,
                      all_touched=all_touched, dtype="uint8")  # fmt: skip
    if not burnt.any() and not all_touched:
        burnt = rasterize([(zone.geometry, 1)], out_shape=shape, transform=grid.transform,
                          all_touched=True, dtype="uint8")  # fmt: skip
    return burnt.astype(bool)


def zonal_means(series: Any, mask: Any, zones_path: str | Path) -> tuple[list[ZoneRow], list[str]]:
    """Per zone and date, the mean of ``series`` over the zone's clear pixels and the
    clear share of its pixels. Returns the rows and notes (zones outside the area);
    :class:`InputError` when every zone lies outside the stack's area."""
    from tsmask_qgis.writers import date_labels, grid_of

    grid = grid_of(series)
    zones = read_zones(zones_path, grid.crs)
    labels = date_labels(series["time"].values)
    rows: list[ZoneRow] = []
    notes: list[str] = []
    left, top = grid.transform.c, grid.transform.f
    right = left + grid.transform.a * grid.width
    bottom = top + grid.transform.e * grid.height
    for z in zones:
        inside = _burn(z, grid)
        if not inside.any():
            notes.append(f"zone {z.name} lies outside the stack's area")
            continue
        ys, xs = np.nonzero(inside)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        sel = inside[y0:y1, x0:x1]
        values = np.asarray(series[:, y0:y1, x0:x1])[:, sel]
        classes = np.asarray(mask[:, y0:y1, x0:x1])[:, sel]
        clear = (classes == CLEAR.value) & np.isfinite(values)
        n = int(sel.sum())
        for t, label in enumerate(labels):
            k = int(clear[t].sum())
            mean = float(values[t][clear[t]].mean()) if k else math.nan
            rows.append(ZoneRow(z.name, label, mean, k / n, k, n))
    if not rows:
        bounds = f"{min(left, right):g}, {min(top, bottom):g}, {max(left, right):g}, {max(top, bottom):g}"
        raise InputError(
            f"every feature of {Path(zones_path).name} lies outside the stack's area "
            f"({bounds} in the stack's CRS); choose features within it",
            field="zones",
        )
    return rows, notes
