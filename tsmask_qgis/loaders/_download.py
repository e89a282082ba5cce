"""The cached load path: every asset read whole into a new cache entry, then opened lazily.

:func:`download` queues every asset of every date at once on one bounded pool
(:class:`AssetReads`: odc-stac calls of a few items each, their reads bounded so that at
most ``NetworkOptions.concurrency`` are in flight in all, no wait between dates), each
asset read checked and retried by the one retry policy (``_read.CheckedDriver``).
As soon as all bands of an item have arrived its DNs are harmonised (``_harmonise``)
and merged into its solar day (:class:`DayMerger`: first valid pixel in (time, id)
order, whatever order the reads finish in), so the result equals a day-by-day load.
The entry is written under a temporary name and renamed when complete
(``_cache.writing``), so a failed or cancelled load leaves no partial entry.
:func:`from_cache` opens an entry as the loaders' Dataset, backed by its files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.bands import BANDS
from tsmask_qgis.loaders import _cache
from tsmask_qgis.loaders._cube import asset_names, dataset, default_chunks, odc_load
from tsmask_qgis.loaders._errors import LoadError
from tsmask_qgis.loaders._harmonise import decide, settle, to_reflectance
from tsmask_qgis.loaders._network import NetworkOptions, RetryPolicy
from tsmask_qgis.loaders._read import CheckedDriver, ReadCounter
from tsmask_qgis.loaders._request import Request
from tsmask_qgis.loaders._search import day_sun, solar_days
from tsmask_qgis.loaders._signing import Signer, resigner
from tsmask_qgis.loaders._sources import Source
from tsmask_qgis.progress import Progress, emit

__all__ = ["AssetReads", "DayMerger", "download", "from_cache"]

log = logging.getLogger(__name__)


def _slice_order(item: Any) -> tuple[Any, str]:
    """Where odc-stac puts an item's slice (``groupby="id"``): by time, then id."""
    when = item.datetime or item.common_metadata.start_datetime
    return (when, item.id)


#: Items per odc-stac call (its fixed cost is shared by their assets), and the reads of
#: one call at once.
BATCH_ITEMS = 4
BATCH_READS = 8


class AssetReads:
    """Reads of whole items onto one grid: batches of :data:`BATCH_ITEMS` items per
    odc-stac call, :data:`BATCH_READS` reads at once in each, as many calls at once as
    keep the reads in flight within ``net.concurrency``; each asset read checked and
    retried by the one retry policy (its waits hold its slot) and reported when it
    arrives.

    :meth:`items` queues every batch at once and yields each item as soon as its batch
    has arrived; when one read fails for good (or the progress callback cancels), the
    reads not yet started are dropped and those running stop at their next attempt.
    A failure names the scene, band and URL with the reason (the HTTP status). Use as
    a context manager: leaving it waits for the running reads.
    """

    def __init__(
        self,
        geobox: Any,
        items: Sequence[Any],
        bands: Sequence[str],
        src: Source,
        net: NetworkOptions,
        progress: Progress | None,
    ) -> None:
        self.geobox = geobox
        self.bands = tuple(bands)
        self.assets = [src.asset_for(b) for b in self.bands]
        self.signer = Signer(src)
        names = asset_names(items, self.bands, src)
        self.counter = ReadCounter(progress, dict.fromkeys(names, 1), names)
        self.driver = CheckedDriver(
            names=names,
            policy=RetryPolicy.of(net),
            timeout=net.timeout,
            resign=resigner(self.signer),
            counter=self.counter,
            cancel=self._cancel,
        )
        self._stop: list[BaseException] = []
        # batches of BATCH_ITEMS items, each read `inner` assets at once: at most
        # `concurrency` reads in flight in all
        self.inner = max(1, min(net.concurrency, BATCH_READS))
        outer = max(1, net.concurrency // self.inner)
        self._pool = ThreadPoolExecutor(outer, thread_name_prefix="tsmask-read")

    def __enter__(self) -> AssetReads:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _cancel(self) -> None:
        if self._stop:
            raise self._stop[0]

    def _read(self, batch: Sequence[Any]) -> list[dict[str, np.ndarray]]:
        """Band -> raw DNs of each item of ``batch``, in its order."""
        self._cancel()
        signed = [self.signer(i) if self.signer.kind is not None else i for i in batch]
        try:
            ds = odc_load(signed, self.assets, self.geobox, None, self.driver, pool=self.inner)
        except BaseException as exc:  # a cancel from the callback stops the other reads
            self._stop.append(exc)
            raise
        at = {item.id: k for k, item in enumerate(sorted(batch, key=_slice_order))}
        return [
            {
                b: np.asarray(ds[a].values[at[item.id]])
                for b, a in zip(self.bands, self.assets, strict=True)
            }
            for item in batch
        ]

    def items(self, items: Sequence[Any]) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """``(index in items, band -> raw DNs)`` for each item once all its bands are in."""
        n = BATCH_ITEMS
        futures = {
            self._pool.submit(self._read, items[i : i + n]): i for i in range(0, len(items), n)
        }
        try:
            for fut in as_completed(futures):
                first = futures[fut]
                for k, raws in enumerate(fut.result()):
                    yield first + k, raws
        except BaseException:  # a failed read, or the caller stopped (GeneratorExit)
            self._stop.append(LoadError("stopped after another asset failed"))
            for f in futures:
                f.cancel()
            raise
        if self.counter.assets_done < self.counter.assets:  # assets off the grid: not read
            emit(self.counter.progress, "load", 1.0, f"read {len(items)} scenes")


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
            self._fill(t, waiting.pop(self.next[t]), first=self.next[t] == 0)
            self.next[t] += 1

    def _fill(self, t: int, arrays: dict[str, np.ndarray], *, first: bool) -> None:
        """Fill the gaps of day ``t`` with one item's arrays (first valid pixel wins);
        the day's first item is written whole (NaN, 0 where it has no data)."""
        for b, r in arrays.items():
            day = self.outs[b][t]
            if first:
                day[...] = r
            elif b in BANDS:
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
    with (
        _cache.writing(request.key(bands)) as w,
        AssetReads(gbox, ordered, bands, src, net, progress) as reads,
    ):
        # unfilled: every day's first item is written whole (DayMerger)
        outs = {b: w.array(b, shape, np.float32 if b in BANDS else np.uint8) for b in bands}
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
