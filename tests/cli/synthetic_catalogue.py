"""A STAC collection of a synthetic cloudy scene, for end-to-end runs of ``tsmask``.

``tests/catalogue.py`` serves scenes of uniform reflectance (every mask is clear), which
prove the loaders' numerics but not that a whole run keeps clouds, shadows and their
places. This collection (``tsmask-synthetic``) holds ``evaluate.make_scene``'s clouds and
shadows with their truth: one item per date, six band COGs (uint16 DNs, 0 = nodata,
processing baseline 03.01: no offset) and an SCL COG derived from the truth (clear 4,
cloud 9, shadow 3, no observation 0). The items carry the scene's sun as the catalogues
do: Earth Search's ``view:sun_*`` on even dates, Planetary Computer's
``s2:mean_solar_*`` on odd ones, and none on the last date (:data:`NO_SUN`).

The COG grid is the request's own 20 m grid (``Request.geobox()``) padded by
``PAD`` pixels, so a load of :data:`BBOX` reads exactly ``scene[:, PAD:-PAD, PAD:-PAD]``:
tests can compare what ``tsmask run`` wrote with the engine run on the scene directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from affine import Affine

from tests.catalogue import write_cog
from tsmask_qgis.evaluate import make_scene
from tsmask_qgis.loaders import Request

__all__ = ["BBOX", "COLLECTION", "END", "NO_SUN", "PAD", "START", "Synthetic", "build_synthetic"]

COLLECTION = "tsmask-synthetic"
#: The request area (W, S, E, N): south-east of Canberra, in UTM zone 55 south.
BBOX = (149.30, -35.40, 149.312, -35.392)
START, END = dt.date(2017, 1, 1), dt.date(2017, 2, 28)
PAD = 2
SHAPE_T = 12
#: The date (index) whose item has no sun angles.
NO_SUN = SHAPE_T - 1
ASSETS = ("blue", "green", "red", "nir08", "swir16", "swir22")
BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
#: truth class -> SCL code
SCL_OF_TRUTH = np.array([0, 4, 9, 3], dtype=np.uint8)
#: Small tiles for the small synthetic images; COG driver default overview resampling.
_COG: dict[str, Any] = {"blocksize": 32, "overview_resampling": None}


@dataclass
class Synthetic:
    """The served scene: the loaded window of its bands (DN) and truth."""

    documents: list[dict[str, Any]]
    dn: xr.Dataset  # uint16 DNs of the window a load of BBOX returns (0 = nodata)
    truth: np.ndarray  # uint8 (time, y, x) truth of that window
    times: np.ndarray  # datetime64[ns] of the items
    sun_azimuth: np.ndarray  # the scene's sun per date (degrees)
    sun_elevation: np.ndarray

    @property
    def reflectance(self) -> xr.Dataset:
        """The window as float32 reflectance with NaN nodata (what the loaders return)."""
        out = {}
        for b in BANDS:
            v = self.dn[b].values
            r = v.astype(np.float32) / np.float32(10000)
            out[b] = (("time", "y", "x"), np.where(v == 0, np.float32(np.nan), r))
        return xr.Dataset(out, coords=self.dn.coords)


def request() -> Request:
    """The plain request of the synthetic area (default source; the URL is set by tests)."""
    return Request(BBOX, START, END)


def build_synthetic(root: Path, base_url: str) -> Synthetic:
    """Write the COGs under ``root/synthetic`` and return the collection and items."""
    gbox = request().geobox()
    ny, nx = gbox.shape.y, gbox.shape.x
    t = gbox.transform
    origin = (t.c - PAD * t.a, t.f + PAD * abs(t.e))
    scene = make_scene(
        shape=(SHAPE_T, ny + 2 * PAD, nx + 2 * PAD),
        seed=11,
        cloud_amount=0.35,
        origin=origin,
        crs=str(gbox.crs),
        missing_dates=0.0,
    )
    epsg = int(str(gbox.crs).split(":")[1])
    transform = Affine(20.0, 0.0, origin[0], 0.0, -20.0, origin[1])
    height, width = ny + 2 * PAD, nx + 2 * PAD
    truth = scene.truth.values
    dn: dict[str, np.ndarray] = {}
    for b in BANDS:
        v = scene.ds[b].values.astype(np.int32)
        nodata = (v == scene.ds[b].attrs.get("nodata", -999)) | (truth == 0)
        dn[b] = np.where(nodata, 0, np.clip(v, 1, 65535)).astype(np.uint16)
    items = []
    times = scene.ds.time.values
    footprint = _footprint(gbox)
    for k, when in enumerate(times):
        day = np.datetime_as_string(when, unit="D")
        item_id = f"SYN_55HFA_{day.replace('-', '')}_0_L2A"
        assets: dict[str, Any] = {}
        for b, key in zip(BANDS, ASSETS, strict=True):
            rel = f"synthetic/{item_id}/{key}.tif"
            write_cog(root / rel, dn[b][k], epsg, transform, 0, **_COG)
            assets[key] = _asset(f"{base_url}/files/{rel}", height, width, transform, "uint16")
        rel = f"synthetic/{item_id}/scl.tif"
        write_cog(root / rel, SCL_OF_TRUTH[truth[k]], epsg, transform, 0, **_COG)
        assets["scl"] = _asset(f"{base_url}/files/{rel}", height, width, transform, "uint8")
        stamp = dt.datetime.fromisoformat(day).replace(hour=0, minute=5, tzinfo=dt.timezone.utc)
        az, el = float(scene.sun_azimuth[k]), float(scene.sun_elevation[k])
        sun: dict[str, float] = {}
        if k != NO_SUN:
            sun = (
                {"view:sun_azimuth": az, "view:sun_elevation": el}
                if k % 2 == 0
                else {"s2:mean_solar_azimuth": az, "s2:mean_solar_zenith": 90.0 - el}
            )
        items.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [
                    "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
                    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
                ],
                "id": item_id,
                "collection": COLLECTION,
                "geometry": footprint,
                "bbox": _bbox(footprint),
                "properties": {
                    "datetime": stamp.isoformat().replace("+00:00", "Z"),
                    "platform": "sentinel-2a",
                    "constellation": "sentinel-2",
                    "eo:cloud_cover": float(np.mean(truth[k] == 2) * 100),
                    "proj:epsg": epsg,
                    "s2:processing_baseline": "03.01",
                    **sun,
                },
                "links": [],
                "assets": assets,
            }
        )
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": COLLECTION,
        "description": "synthetic cloudy scene with known truth (tests/cli)",
        "license": "CC0-1.0",
        "extent": {
            "spatial": {"bbox": [[149.0, -35.6, 149.6, -35.2]]},
            "temporal": {"interval": [["2017-01-01T00:00:00Z", None]]},
        },
        "links": [],
    }
    window = (slice(None), slice(PAD, PAD + ny), slice(PAD, PAD + nx))
    coords = {"time": times.astype("datetime64[ns]"), "y": gbox.coords["y"].values}
    coords["x"] = gbox.coords["x"].values
    dn_ds = xr.Dataset({b: (("time", "y", "x"), dn[b][window]) for b in BANDS}, coords=coords)
    return Synthetic(
        [collection, *items],
        dn_ds,
        truth[window],
        coords["time"],
        np.asarray(scene.sun_azimuth, dtype=np.float64),
        np.asarray(scene.sun_elevation, dtype=np.float64),
    )


def _asset(href: str, height: int, width: int, transform: Affine, dtype: str) -> dict[str, Any]:
    rb: dict[str, Any] = {"nodata": 0, "data_type": dtype}
    if dtype == "uint16":
        rb.update(scale=0.0001, offset=0.0)
    return {
        "href": href,
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "roles": ["data"],
        "proj:shape": [height, width],
        "proj:transform": list(transform)[:6],
        "raster:bands": [rb],
    }


def _footprint(gbox: Any) -> dict[str, Any]:
    poly = gbox.extent.buffer(200).to_crs("EPSG:4326")
    return dict(poly.json)


def _bbox(geom: dict[str, Any]) -> list[float]:
    ring = geom["coordinates"][0]
    lons = [c[0] for c in ring]
    lats = [c[1] for c in ring]
    return [min(lons), min(lats), max(lons), max(lats)]
