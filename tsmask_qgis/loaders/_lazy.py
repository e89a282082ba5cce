"""The streamed load path: an odc-stac dask graph over the catalogue, nothing read yet.

Each item becomes its own lazy read (chunked one date deep, ``y``/``x`` as asked), its
DNs turned into reflectance block by block (``_harmonise``); items of the same solar
day are merged (first valid pixel in (time, id) order) and the days stacked and
rechunked, time whole by default, so the engine can stream spatial tiles carrying all
their dates. Every chunk read goes through ``_read.CheckedDriver`` (checked, retried,
named failures raised when the graph is computed) and is counted for progress.
An item whose offset its metadata cannot decide is settled now, from a coarse read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.bands import BANDS
from tsmask_qgis.loaders._cube import asset_names, dataset, default_chunks, odc_load
from tsmask_qgis.loaders._harmonise import decide, settle, to_reflectance
from tsmask_qgis.loaders._network import NetworkOptions, RetryPolicy
from tsmask_qgis.loaders._read import (
    AssetName,
    CheckedDriver,
    ReadCounter,
    base_url,
)
from tsmask_qgis.loaders._request import Request
from tsmask_qgis.loaders._search import day_sun, solar_days
from tsmask_qgis.loaders._signing import Signer, resigner
from tsmask_qgis.loaders._sources import Source
from tsmask_qgis.progress import Progress, emit

__all__ = ["expected_reads", "lazy"]

#: Side of the coarse grid read to settle an undecided offset (pixels, at most).
SETTLE_SIDE = 256


def expected_reads(items: Sequence[Any], assets: Sequence[str], gbox: Any, yx: Any) -> Any:
    """Chunk reads odc-stac will make per asset URL: the chunks each item's footprint meets."""
    from odc.geo.geobox import GeoboxTiles
    from odc.stac import parse_item

    tiles = GeoboxTiles(gbox, tuple(yx))
    out: dict[str, int] = {}
    for item in items:
        try:
            geom = parse_item(item).safe_geometry(gbox.crs)
            n = sum(1 for _ in tiles.tiles(geom)) if geom is not None else 0
        except Exception:  # a footprint odc cannot use: count every chunk
            n = tiles.shape.y * tiles.shape.x
        for a in assets:
            if a in item.assets:
                out[base_url(item.assets[a].href)] = n
    return out


def _driver(
    names: Mapping[str, AssetName],
    net: NetworkOptions,
    resign: Callable[[str], str] | None,
    counter: ReadCounter | None = None,
) -> CheckedDriver:
    return CheckedDriver(
        names=names,
        policy=RetryPolicy.of(net),
        timeout=net.timeout,
        resign=resign,
        counter=counter,
    )


def lazy(
    request: Request,
    items: list[Any],
    bands: tuple[str, ...],
    src: Source,
    chunks: dict[str, int] | None,
    progress: Progress | None,
    net: NetworkOptions,
) -> xr.Dataset:
    """The lazy Dataset of ``items`` for ``request`` and ``bands``."""
    import dask.array as da

    gbox = request.geobox()
    days = solar_days(items)
    assets = [src.asset_for(b) for b in bands]
    refl = [src.asset_for(b) for b in BANDS]
    signer = Signer(src)
    ct, cy, cx = default_chunks((len(days), gbox.shape.y, gbox.shape.x), chunks)
    odc_chunks = {"time": 1, "y": cy, "x": cx}
    names = asset_names(items, bands, src)
    counter = ReadCounter(progress, expected_reads(items, assets, gbox, (cy, cx)), names)
    driver = _driver(names, net, resigner(signer), counter)
    # the coarse reads below settle offsets now; they are not part of the graph's count
    settle_driver = _driver(names, net, resigner(signer))
    per_band: dict[str, list[Any]] = {b: [] for b in bands}
    n_items = sum(len(m) for _, m in days)
    k = 0
    for _, members in days:
        fused: dict[str, Any] = {}
        for item in members:
            signed = signer(item)
            raw = odc_load([signed], assets, gbox, odc_chunks, driver)
            hs = decide(item, src, refl)
            if not all(h.decided for h in hs):
                # settle from a coarse read of the item (overviews), not the whole grid
                small = gbox.zoom_to(max(1, min(SETTLE_SIDE, gbox.shape.x)))
                low = odc_load([signed], refl, small, None, settle_driver)
                hs = settle(hs, [low[a].values[0] for a in refl], item)
            for b, a in zip(bands, assets, strict=True):
                arr = raw[a].data[0]
                if b in BANDS:
                    h = hs[BANDS.index(b)]
                    arr = arr.map_blocks(to_reflectance, h, dtype=np.float32)
                    fused[b] = (
                        arr if b not in fused else da.where(da.isnan(fused[b]), arr, fused[b])
                    )
                else:
                    arr = arr.astype(np.uint8)
                    fused[b] = arr if b not in fused else da.where(fused[b] == 0, arr, fused[b])
            k += 1
            emit(progress, "load", None, f"planned {item.id} ({k}/{n_items} scenes)")
        for b in bands:
            per_band[b].append(fused[b])
    arrays = {b: da.stack(per_band[b]).rechunk((ct, cy, cx)) for b in bands}
    times = np.array([t for t, _ in days], dtype="datetime64[ns]")
    return dataset(gbox, times, arrays, src, request, day_sun(days))
