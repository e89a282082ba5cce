"""A small Sentinel-2 L2A catalogue written by the tests: COGs + STAC items with known truth.

The area straddles the UTM zone 55/56 boundary at 150° E near -35.3°. Every scene is a
tile of uniform reflectance per band (so reprojection cannot blur the truth), with:

- two UTM zones: tiles in EPSG:32755 (west) and EPSG:32756 (east) on the same day,
  one of them stamped just before midnight UTC: same solar day, different UTC dates;
- mixed processing baselines: 03.01 (no offset), 04.00 and 05.09 (DN carries +1000),
  declared through ``raster:bands`` offset -0.1 as Earth Search does;
- nodata (DN 0): a block in one scene, filled by a same-day duplicate except a corner;
- same-day duplicates (a reprocessed scene with another id);
- items of the ``sentinel-2-l2a`` collection whose offset flag is wrong both ways;
- Canberra items (the original notebook's area), and items outside the dates/area.

``truth(band, date_index, tile)`` gives the exact float32 reflectance of a scene.

The COGs are uncompressed with 128-pixel tiles, so each file (~70 kB, 2 x 2 tiles) is larger than
GDAL's first read of a remote file (16 kB): pixel blocks come in later HTTP range
requests, where tests can inject faults (``Fault.range_start``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.io import MemoryFile

__all__ = ["AREA", "CANBERRA", "Catalogue", "Scene", "build_catalogue", "truth"]

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
ES_ASSETS = ("blue", "green", "red", "nir08", "swir16", "swir22")
#: The request area (W, S, E, N): straddles 150° E, the zone 55/56 boundary.
AREA = (149.985, -35.31, 150.015, -35.29)
#: The original notebook's Canberra request.
CANBERRA = (149.055, -35.344, 149.155, -35.244)
RES = 20.0

TILES = {  # tile name -> (epsg, lon range)
    "55HGA": (32755, (149.975, 150.006)),
    "56HKV": (32756, (149.994, 150.025)),
    "55HFA": (32755, (149.04, 149.17)),  # Canberra
}
LATS = (-35.32, -35.28)


def truth(band: str, k: int, tile: str) -> np.float32:
    """Reflectance of ``band`` on scene date index ``k`` in ``tile`` (exact float32)."""
    i = BANDS.index(band)
    dn = 300 + 100 * i + 20 * k + (5 if tile.startswith("56") else 0)
    return np.float32(dn) / np.float32(10000)


def scl_truth(k: int, tile: str) -> int:
    return 4 if tile.startswith("55") else 8 + (k % 2)


@dataclass
class Scene:
    """One STAC item to write."""

    id: str
    tile: str
    when: dt.datetime
    k: int  # truth index
    baseline: str
    dn_offset: int  # what the file's DNs carry (+1000 from baseline 04.00 unless harmonised)
    declared_offset: float | None  # raster:bands offset written into the item
    collection: str = "sentinel-2-c1-l2a"
    flag: bool | None = None  # earthsearch:boa_offset_applied
    nodata_block: tuple[slice, slice] | None = None
    truncated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _utc(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=dt.timezone.utc)


SCENES = [
    # 2021-12-05 local: baseline 03.01, both zones; 55 stamped before UTC midnight
    Scene("S2A_55HGA_20211204_0_L2A", "55HGA", _utc("2021-12-04T23:59:58"), 0, "03.01", 0, 0.0),
    Scene("S2A_56HKV_20211205_0_L2A", "56HKV", _utc("2021-12-05T00:00:03"), 0, "03.01", 0, 0.0),
    # 2022-01-30: baseline 04.00, offset in DNs and declared; 56 has a nodata block that a
    # reprocessed duplicate fills, except its corner
    Scene("S2B_55HGA_20220130_0_L2A", "55HGA", _utc("2022-01-30T00:10:00"), 1, "04.00", 1000, -0.1),
    Scene(
        "S2B_56HKV_20220130_0_L2A",
        "56HKV",
        _utc("2022-01-30T00:10:05"),
        1,
        "04.00",
        1000,
        -0.1,
        nodata_block=(slice(0, 150), slice(60, None)),
    ),
    Scene(
        "S2B_56HKV_20220130_1_L2A",
        "56HKV",
        _utc("2022-01-30T00:10:05"),
        1,
        "04.00",
        1000,
        -0.1,
        nodata_block=(slice(0, 90), slice(80, None)),
    ),
    # 2022-03-01: baseline 05.09, east tile only: the west half stays nodata
    Scene("S2A_56HKV_20220301_0_L2A", "56HKV", _utc("2022-03-01T00:10:05"), 2, "05.09", 1000, -0.1),
    # outside the request's dates
    Scene("S2A_56HKV_20220601_0_L2A", "56HKV", _utc("2022-06-01T00:10:05"), 3, "05.09", 1000, -0.1),
    # Earth Search sentinel-2-l2a: offset flags wrong both ways, and a pre-04.00 scene
    Scene(
        "S2B_56HKV_20220210_0_L2A",
        "56HKV",
        _utc("2022-02-10T00:10:05"),
        4,
        "04.00",
        0,
        -0.1,
        collection="sentinel-2-l2a",
        flag=False,  # data harmonised, flag says not
    ),
    Scene(
        "S2A_56HKV_20220220_0_L2A",
        "56HKV",
        _utc("2022-02-20T00:10:05"),
        5,
        "04.00",
        1000,
        -0.1,
        collection="sentinel-2-l2a",
        flag=True,  # offset still in the data, flag says applied
    ),
    Scene(
        "S2A_56HKV_20211110_0_L2A",
        "56HKV",
        _utc("2021-11-10T00:10:05"),
        6,
        "03.01",
        0,
        -0.1,
        collection="sentinel-2-l2a",
        flag=False,
    ),
    # a scene whose red COG is truncated on disk
    Scene(
        "S2A_56HKV_20220401_0_L2A",
        "56HKV",
        _utc("2022-04-01T00:10:05"),
        7,
        "05.09",
        1000,
        -0.1,
        collection="broken",
        truncated=True,
    ),
    # Canberra (the notebook's request): two in its dates, one after
    Scene("S2A_55HFA_20170301_0_L2A", "55HFA", _utc("2017-03-01T00:02:00"), 8, "02.04", 0, None),
    Scene("S2B_55HFA_20180615_0_L2A", "55HFA", _utc("2018-06-15T00:02:00"), 9, "02.06", 0, None),
    Scene("S2A_55HFA_20190105_0_L2A", "55HFA", _utc("2019-01-05T00:02:00"), 10, "02.07", 0, None),
]


@dataclass
class Catalogue:
    """What ``build_catalogue`` wrote: the STAC documents and the scenes behind them."""

    root: Path
    documents: list[dict[str, Any]]
    scenes: list[Scene]

    def scene(self, id_: str) -> Scene:
        return next(s for s in self.scenes if s.id == id_)


def _grid(tile: str) -> tuple[int, Affine, int, int]:
    from pyproj import Transformer

    epsg, (lon0, lon1) = TILES[tile]
    tr = Transformer.from_crs(4326, epsg, always_xy=True)
    xs, ys = tr.transform([lon0, lon1, lon0, lon1], [LATS[0], LATS[0], LATS[1], LATS[1]])
    x0, x1 = np.floor(min(xs) / RES) * RES, np.ceil(max(xs) / RES) * RES
    y0, y1 = np.floor(min(ys) / RES) * RES, np.ceil(max(ys) / RES) * RES
    width, height = int((x1 - x0) / RES), int((y1 - y0) / RES)
    return epsg, Affine(RES, 0, x0, 0, -RES, y1), width, height


def _footprint(epsg: int, transform: Affine, width: int, height: int) -> dict[str, Any]:
    from pyproj import Transformer

    tr = Transformer.from_crs(epsg, 4326, always_xy=True)
    corners = [
        transform @ (0, 0),
        transform @ (width, 0),
        transform @ (width, height),
        transform @ (0, height),
    ]
    lons, lats = tr.transform([c[0] for c in corners], [c[1] for c in corners])
    ring = [[float(a), float(b)] for a, b in zip(lons, lats, strict=True)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def write_cog(
    path: Path,
    data: np.ndarray,
    epsg: int,
    transform: Affine,
    nodata: int,
    *,
    blocksize: int = 128,
    compress: str = "NONE",
    overview_resampling: str | None = "nearest",
) -> None:
    """Write a 2-D array as a single-band COG (its folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": data.dtype,
        "crs": f"EPSG:{epsg}",
        "transform": transform,
        "nodata": nodata,
    }
    options: dict[str, Any] = {"blocksize": blocksize, "compress": compress}
    if overview_resampling is not None:
        options["overview_resampling"] = overview_resampling
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(data, 1)
        with mem.open() as src:
            rasterio.shutil.copy(src, path, driver="COG", **options)


def build_catalogue(root: Path, base_url: str) -> Catalogue:
    """Write the COGs under ``root`` and return the STAC documents pointing at ``base_url``."""
    items: list[dict[str, Any]] = []
    for sc in SCENES:
        epsg, transform, width, height = _grid(sc.tile)
        assets: dict[str, Any] = {}
        for band, key in zip(BANDS, ES_ASSETS, strict=True):
            dn = round(float(truth(band, sc.k, sc.tile)) * 10000) + sc.dn_offset
            arr = np.full((height, width), dn, dtype=np.uint16)
            if sc.nodata_block is not None:
                arr[sc.nodata_block] = 0
            rel = f"{sc.id}/{key}.tif"
            write_cog(root / rel, arr, epsg, transform, 0)
            if sc.truncated and band == "red":
                blob = (root / rel).read_bytes()
                (root / rel).write_bytes(blob[: len(blob) // 3])
            rb: dict[str, Any] = {"nodata": 0, "data_type": "uint16", "scale": 0.0001}
            if sc.declared_offset is not None:
                rb["offset"] = sc.declared_offset
            assets[key] = {
                "href": f"{base_url}/files/{rel}",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data", "reflectance"],
                "proj:shape": [height, width],
                "proj:transform": list(transform)[:6],
                "raster:bands": [rb],
            }
        scl = np.full((height, width), scl_truth(sc.k, sc.tile), dtype=np.uint8)
        if sc.nodata_block is not None:
            scl[sc.nodata_block] = 0
        write_cog(root / f"{sc.id}/scl.tif", scl, epsg, transform, 0)
        assets["scl"] = {
            "href": f"{base_url}/files/{sc.id}/scl.tif",
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            "proj:shape": [height, width],
            "proj:transform": list(transform)[:6],
            "raster:bands": [{"nodata": 0, "data_type": "uint8"}],
        }
        geom = _footprint(epsg, transform, width, height)
        lons = [c[0] for c in geom["coordinates"][0]]
        lats = [c[1] for c in geom["coordinates"][0]]
        props: dict[str, Any] = {
            "datetime": sc.when.isoformat().replace("+00:00", "Z"),
            "platform": "sentinel-2a" if sc.id.startswith("S2A") else "sentinel-2b",
            "constellation": "sentinel-2",
            "eo:cloud_cover": 10.0 * sc.k,
            "proj:epsg": epsg,
            "s2:processing_baseline": sc.baseline,
            "s2:product_uri": f"S2A_MSIL2A_X_N{sc.baseline.replace('.', '')}_R_T{sc.tile}_Y.SAFE",
        }
        if sc.flag is not None:
            props["earthsearch:boa_offset_applied"] = sc.flag
        items.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [
                    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                    "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
                    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
                ],
                "id": sc.id,
                "collection": sc.collection,
                "geometry": geom,
                "bbox": [min(lons), min(lats), max(lons), max(lats)],
                "properties": props,
                "links": [],
                "assets": assets,
            }
        )
    collections = []
    for cid in sorted({sc.collection for sc in SCENES}):
        collections.append(
            {
                "type": "Collection",
                "stac_version": "1.0.0",
                "id": cid,
                "description": f"test collection {cid}",
                "license": "CC-BY-4.0",
                "extent": {
                    "spatial": {"bbox": [[140.0, -40.0, 155.0, -30.0]]},
                    "temporal": {"interval": [["2015-06-23T00:00:00Z", None]]},
                },
                "links": [],
            }
        )
    return Catalogue(root, [*collections, *items], list(SCENES))
