"""The cached load path: every asset read whole into a new cache entry, then opened lazily.

:func:`download` reads the assets of one solar day at a time, ``workers`` at once
(:class:`AssetReads`), each read checked and retried (:func:`read_asset`); each item's
DNs are harmonised (``_harmonise``) and merged into its day (first valid pixel in
(time, id) order). The entry is written under a temporary name and renamed when
complete (``_cache.writing``), so a failed or cancelled load leaves no partial entry.
:func:`from_cache` opens an entry as the loaders' Dataset, backed by its files.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.bands import BANDS
from tsmask_qgis.loaders import _cache
from tsmask_qgis.loaders._cube import dataset, default_chunks, odc_load
from tsmask_qgis.loaders._errors import LoadError
from tsmask_qgis.loaders._harmonise import decide, settle, to_reflectance
from tsmask_qgis.loaders._network import NetworkOptions
from tsmask_qgis.loaders._read import (
    AssetName,
    CheckedDriver,
    ReadFailed,
    attempts,
    base_url,
    load_error,
    uncached,
)
from tsmask_qgis.loaders._request import Request
from tsmask_qgis.loaders._search import day_sun, solar_days
from tsmask_qgis.loaders._signing import Signer
from tsmask_qgis.loaders._sources import Source
from tsmask_qgis.progress import Progress, emit

__all__ = ["AssetReads", "download", "from_cache", "read_asset"]

log = logging.getLogger(__name__)


def read_asset(
    item: Any,
    asset: str,
    geobox: Any,
    *,
    band: str,
    signer: Signer,
    net: NetworkOptions,
    cancel: Callable[[], None],
) -> np.ndarray:
    """Read one asset onto ``geobox`` as raw DNs, retrying with backoff; raise LoadError.

    Each attempt is checked (``_read.CheckedDriver`` with no retries of its own): an
    exception or a GDAL failure message on this thread fails the attempt. ``cancel``
    raises when the load stops (checked before each attempt).
    """
    last: ReadFailed | None = None
    signed = item
    href = item.assets[asset].href if asset in item.assets else "(no such asset)"
    name = AssetName(item.id, band, asset, base_url(href))
    driver = CheckedDriver(
        names={name.href: name}, retries=0, backoff=net.backoff, timeout=net.timeout, named=False
    )
    for attempt in range(net.retries + 1):
        cancel()
        try:
            if signer.kind is not None and (attempt == 0 or signer.needs_resign(signed)):
                signed = signer(item, force=attempt > 0)
            # a retry bypasses GDAL's memory of the URL (a failed first request included)
            with uncached(href) if attempt else contextlib.nullcontext():
                ds = odc_load([signed], [asset], geobox, None, driver)
                return np.asarray(ds[asset].values[0])
        except Exception as exc:
            last = exc if isinstance(exc, ReadFailed) else ReadFailed(exc, [])
            text = str(exc)
            everything = " ".join([text, *last.messages]).lower()
            if signer.kind is not None and ("403" in everything or "authenticat" in everything):
                signed = signer(item, force=True)  # token expired: re-sign, then retry
            log.warning("read of %s/%s failed (attempt %d): %s", item.id, asset, attempt + 1, text)
            if attempt < net.retries:
                time.sleep(net.backoff * 2**attempt)
    raise load_error(
        f"could not read {name.describe()} after {attempts(net.retries + 1)}",
        last.exc if last else None,
        last.messages if last else [],
        net.timeout,
    )


class AssetReads:
    """Whole-asset reads onto one grid, ``net.workers`` at once, with progress per asset.

    :meth:`submit` queues the reads of some items and :meth:`gather` waits for them;
    when one fails (or the progress callback cancels), the reads not yet started are
    dropped and those running stop at their next attempt. Use as a context manager:
    leaving it waits for the running reads.
    """

    def __init__(
        self,
        geobox: Any,
        bands: Sequence[str],
        src: Source,
        net: NetworkOptions,
        progress: Progress | None,
        total: int,
    ) -> None:
        self.geobox = geobox
        self.bands = tuple(bands)
        self.assets = [src.asset_for(b) for b in self.bands]
        self.signer = Signer(src)
        self.net = net
        self.progress = progress
        self.total = max(1, total)
        self.done = 0
        self._lock = threading.Lock()
        self._stop: list[BaseException] = []
        self._pool = ThreadPoolExecutor(net.workers)

    def __enter__(self) -> AssetReads:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _cancel(self) -> None:
        if self._stop:
            raise self._stop[0]

    def _read(self, item: Any, band: str, asset: str) -> np.ndarray:
        arr = read_asset(
            item,
            asset,
            self.geobox,
            band=band,
            signer=self.signer,
            net=self.net,
            cancel=self._cancel,
        )
        with self._lock:
            self.done += 1
            n = self.done
        try:
            emit(
                self.progress,
                "load",
                n / self.total,
                f"read {band} of {item.id} ({n}/{self.total} assets)",
            )
        except BaseException as exc:  # a cancel from the callback stops the other reads
            self._stop.append(exc)
            raise
        return arr

    def submit(self, items: Sequence[Any]) -> dict[tuple[str, str], Future[np.ndarray]]:
        """Queue every band of ``items``: ``(item id, band) -> future raw DNs``."""
        return {
            (item.id, b): self._pool.submit(self._read, item, b, a)
            for item in items
            for b, a in zip(self.bands, self.assets, strict=True)
        }

    def gather(
        self, futures: dict[tuple[str, str], Future[np.ndarray]]
    ) -> dict[tuple[str, str], np.ndarray]:
        """The raw DNs of ``futures``; the first failure stops every other read."""
        try:
            return {k: f.result() for k, f in futures.items()}
        except BaseException:
            self._stop.append(LoadError("stopped after another asset failed"))
            for f in futures.values():
                f.cancel()
            raise


def _merge_item(
    outs: dict[str, np.ndarray],
    t: int,
    item: Any,
    raws: dict[str, np.ndarray],
    src: Source,
    refl: Sequence[str],
) -> str:
    """Harmonise one item's raw DNs into reflectance and fill the gaps of day ``t`` with
    them (first valid pixel wins); returns how the offset was decided."""
    hs = settle(decide(item, src, refl), [raws[b] for b in BANDS], item)
    for b, h in zip(BANDS, hs, strict=True):
        r = to_reflectance(raws[b], h)
        day = outs[b][t]
        np.copyto(day, r, where=np.isnan(day) & ~np.isnan(r))
    for b, raw in raws.items():
        if b in BANDS:
            continue
        day = outs[b][t]
        np.copyto(day, raw.astype(np.uint8), where=(day == 0) & (raw != 0))
    return hs[0].reason


def download(
    request: Request,
    items: list[Any],
    bands: tuple[str, ...],
    src: Source,
    net: NetworkOptions,
    progress: Progress | None,
) -> Path:
    """Read ``items`` into a new cache entry for ``request`` and ``bands``; its folder."""
    gbox = request.geobox()
    days = solar_days(items)
    shape = (len(days), gbox.shape.y, gbox.shape.x)
    refl = [src.asset_for(b) for b in BANDS]
    total = sum(len(members) for _, members in days) * len(bands)
    harmonisation: dict[str, str] = {}
    with (
        _cache.writing(request.key(bands)) as w,
        AssetReads(gbox, bands, src, net, progress, total) as reads,
    ):
        outs = {
            b: (
                w.array(b, shape, np.float32, np.nan)
                if b in BANDS
                else w.array(b, shape, np.uint8, 0)
            )
            for b in bands
        }
        for t, (_, members) in enumerate(days):
            raws = reads.gather(reads.submit(members))
            for item in members:
                mine = {b: raws[(item.id, b)] for b in bands}
                harmonisation[item.id] = _merge_item(outs, t, item, mine, src, refl)
        meta = {
            "crs": str(gbox.crs),
            "transform": list(gbox.transform)[:6],
            "shape": list(shape),
            "times": [str(t) for t, _ in days],
            "items": [i.id for _, members in days for i in members],
            "harmonisation": harmonisation,
            "sun": [list(v) for v in day_sun(days)],
        }
        return w.commit(meta)


def from_cache(path: Path, request: Request, chunks: dict[str, int] | None) -> xr.Dataset:
    """The cache entry at ``path`` as the loaders' Dataset (dask over memory-mapped files)."""
    import dask.array as da
    from affine import Affine
    from odc.geo.geobox import GeoBox

    meta = _cache.read_meta(path)
    gbox = GeoBox(tuple(meta["shape"][1:]), Affine(*meta["transform"]), meta["crs"])
    times = np.array(meta["times"], dtype="datetime64[ns]")
    src = request.get_source()
    arrays = {}
    for band in meta["key"]["bands"]:
        mm = np.load(path / f"{band}.npy", mmap_mode="r")
        arrays[band] = da.from_array(
            mm,
            chunks=default_chunks(mm.shape, chunks),
            name=f"tsmask-cache-{path.name}-{band}",
        )
    sun = meta.get("sun")
    ds = dataset(gbox, times, arrays, src, request, (sun[0], sun[1]) if sun else None)
    ds.attrs["cache_entry"] = path.name
    ds.attrs["stac_items"] = " ".join(meta.get("items", []))
    return ds
