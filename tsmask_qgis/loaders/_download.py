"""The cached load path: every asset read whole into a new cache entry, then opened lazily.

:func:`download` queues every asset of every date at once on one bounded pool
(:class:`AssetReads`, ``NetworkOptions.concurrency`` reads in flight, no wait between
dates), each read checked and retried by the one retry policy (:func:`read_asset`).
As soon as all bands of an item have arrived its DNs are harmonised (``_harmonise``)
and merged into its solar day (:class:`DayMerger`: first valid pixel in (time, id)
order, whatever order the reads finish in), so the result equals a day-by-day load.
The entry is written under a temporary name and renamed when complete
(``_cache.writing``), so a failed or cancelled load leaves no partial entry.
:func:`from_cache` opens an entry as the loaders' Dataset, backed by its files.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
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
    RetryPolicy,
    attempts,
    base_url,
    load_error,
    uncached,
)
from tsmask_qgis.loaders._request import Request
from tsmask_qgis.loaders._search import solar_days
from tsmask_qgis.loaders._signing import Signer
from tsmask_qgis.loaders._sources import Source
from tsmask_qgis.progress import Progress, emit

__all__ = ["AssetReads", "DayMerger", "download", "from_cache", "read_asset"]

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
    """Read one asset onto ``geobox`` as raw DNs, retrying by ``net``'s policy; raise
    LoadError naming the scene, band and URL, with the reason (the HTTP status).

    Each attempt is checked (``_read.CheckedDriver`` with no retries of its own, and
    GDAL's HTTP retries are off): an exception or a GDAL failure message on this thread
    fails the attempt. ``cancel`` raises when the load stops (checked before each
    attempt). The waits run on this read's thread, so retries never add reads beyond
    the pool's bound.
    """
    last: ReadFailed | None = None
    signed = item
    href = item.assets[asset].href if asset in item.assets else "(no such asset)"
    name = AssetName(item.id, band, asset, base_url(href))
    policy = RetryPolicy.of(net)
    driver = CheckedDriver(
        names={name.href: name}, policy=RetryPolicy(0, 0.0, 1.0), timeout=net.timeout, named=False
    )
    started = time.monotonic()
    attempt = 0
    while True:
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
        pause = policy.wait(attempt, started)
        if pause is None:
            break
        time.sleep(pause)
        attempt += 1
    raise load_error(
        f"could not read {name.describe()} after {attempts(attempt + 1)} "
        f"in {time.monotonic() - started:.1f} s",
        last.exc if last else None,
        last.messages if last else [],
        net.timeout,
    )


class AssetReads:
    """Whole-asset reads onto one grid on one pool of ``net.concurrency`` threads, with
    progress per asset.

    :meth:`items` queues every band of every item at once and yields each item as soon
    as all its bands have arrived; when one read fails (or the progress callback
    cancels), the reads not yet started are dropped and those running stop at their
    next attempt. Use as a context manager: leaving it waits for the running reads.
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
        self._pool = ThreadPoolExecutor(net.concurrency, thread_name_prefix="tsmask-read")

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
            try:  # under the lock: the reports come in order
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

    def items(self, items: Sequence[Any]) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """``(index in items, band -> raw DNs)`` for each item once all its bands are in."""
        futures: dict[Future[np.ndarray], tuple[int, str]] = {
            self._pool.submit(self._read, item, b, a): (i, b)
            for i, item in enumerate(items)
            for b, a in zip(self.bands, self.assets, strict=True)
        }
        arrived: dict[int, dict[str, np.ndarray]] = {}
        try:
            for fut in as_completed(futures):
                i, band = futures[fut]
                got = arrived.setdefault(i, {})
                got[band] = fut.result()
                if len(got) == len(self.bands):
                    yield i, arrived.pop(i)
        except BaseException:  # a failed read, or the caller stopped (GeneratorExit)
            self._stop.append(LoadError("stopped after another asset failed"))
            for f in futures:
                f.cancel()
            raise


class DayMerger:
    """Harmonises each item as it arrives and merges it into its solar day in (time, id)
    order: an item that arrives before an earlier one of its day waits (as reflectance)."""

    def __init__(
        self,
        outs: dict[str, np.ndarray],
        days: Sequence[tuple[Any, Sequence[Any]]],
        src: Source,
    ) -> None:
        self.outs = outs
        self.src = src
        self.refl = [src.asset_for(b) for b in BANDS]
        self.items = [item for _, members in days for item in members]
        self.slot = [(t, k) for t, (_, members) in enumerate(days) for k in range(len(members))]
        self.next = [0] * len(days)
        self.waiting: list[dict[int, dict[str, np.ndarray]]] = [{} for _ in days]
        self.harmonisation: dict[str, str] = {}

    def add(self, index: int, raws: dict[str, np.ndarray]) -> None:
        """Item ``index`` (in (time, id) order) has arrived with its raw DNs."""
        item = self.items[index]
        hs = settle(decide(item, self.src, self.refl), [raws[b] for b in BANDS], item)
        self.harmonisation[item.id] = hs[0].reason
        ready = {b: to_reflectance(raws[b], h) for b, h in zip(BANDS, hs, strict=True)}
        ready.update({b: raw.astype(np.uint8) for b, raw in raws.items() if b not in BANDS})
        t, k = self.slot[index]
        waiting = self.waiting[t]
        waiting[k] = ready
        while self.next[t] in waiting:
            self._fill(t, waiting.pop(self.next[t]))
            self.next[t] += 1

    def _fill(self, t: int, arrays: dict[str, np.ndarray]) -> None:
        """Fill the gaps of day ``t`` with one item's arrays (first valid pixel wins)."""
        for b, r in arrays.items():
            day = self.outs[b][t]
            if b in BANDS:
                np.copyto(day, r, where=np.isnan(day) & ~np.isnan(r))
            else:
                np.copyto(day, r, where=(day == 0) & (r != 0))


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
    ordered = [item for _, members in days for item in members]
    total = len(ordered) * len(bands)
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
        merger = DayMerger(outs, days, src)
        for index, raws in reads.items(ordered):
            merger.add(index, raws)
        meta = {
            "crs": str(gbox.crs),
            "transform": list(gbox.transform)[:6],
            "shape": list(shape),
            "times": [str(t) for t, _ in days],
            "items": [i.id for i in ordered],
            "harmonisation": {i.id: merger.harmonisation[i.id] for i in ordered},
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
    ds = dataset(gbox, times, arrays, src, request)
    ds.attrs["cache_entry"] = path.name
    ds.attrs["stac_items"] = " ".join(meta.get("items", []))
    return ds
