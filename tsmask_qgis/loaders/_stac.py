"""STAC search and load (pystac-client + odc-stac), estimates.

``load`` has two paths, both returning a lazy, dask-backed Dataset:

- ``cache=True`` (default): the assets are read one by one into the local cache
  (``_cache``), with retries and backoff per asset, progress per asset, and a failed
  asset reported by item id, band and URL; the Dataset is then backed by the cache
  files, so a second run on the same request reads nothing from the network.
- ``cache=False``: an odc-stac dask graph over the catalogue, chunked with the time
  axis whole by default so the engine can stream spatial tiles with all their dates.
  Every chunk read goes through ``_read.CheckedDriver``: GDAL's messages on the reading
  thread are checked (a failed range read can otherwise become a silent nodata hole),
  failed reads are retried with backoff, and the last failure raises ``LoadError``
  naming the scene, band and URL when the graph is computed. Progress is reported per
  block read as the graph computes (not on a dask cluster's workers).

Either way, each item's DNs are harmonised by ``_harmonise`` before items of the same
solar day are merged (first valid pixel in (time, id) order; nodata stays NaN).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.bands import BANDS
from tsmask_qgis.errors import NoDataError
from tsmask_qgis.loaders import _cache
from tsmask_qgis.loaders._errors import InputError, LoadError, ParameterError, SearchError
from tsmask_qgis.loaders._harmonise import (
    Harmonisation,
    offset_for,
    offset_from_pixels,
    to_reflectance,
)
from tsmask_qgis.loaders._read import (
    AssetName,
    CheckedDriver,
    ReadCounter,
    ReadFailed,
    attempts,
    base_url,
    expires_soon,
    load_error,
    uncached,
)
from tsmask_qgis.loaders._request import Request
from tsmask_qgis.loaders._sources import Source
from tsmask_qgis.progress import Progress, emit

__all__ = ["NETWORK", "Estimate", "NetworkOptions", "estimate", "load", "search", "solar_days"]

log = logging.getLogger(__name__)


#: Assumptions behind ``estimate``'s time (defaults of the ``NetworkOptions`` fields).
READ_BYTES_PER_S = 20e6
ASSET_LATENCY_S = 0.5
DETECT_S_PER_PIXEL_DATE = 10e-6


@dataclass(frozen=True)
class NetworkOptions:
    """Timeouts, retries and concurrency for catalogue and asset requests.

    ``timeout`` (seconds) applies to each HTTP request (search pages and pixel reads);
    failed requests are retried ``retries`` times, waiting ``backoff * 2**attempt``
    seconds. ``workers`` assets are read at once on the cached path.

    The last three fields are *assumptions* used only by :func:`estimate`'s time:
    the effective read rate from the catalogue's storage (bytes/s), the latency per
    asset (s, spread over ``workers``), and the detection cost per pixel and date (s).
    Set them to what you measure on your network and machine.

    Replace ``_stac.NETWORK`` (or pass ``network=``) to change them.
    """

    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0
    workers: int = 4
    page_size: int = 100
    read_bytes_per_s: float = READ_BYTES_PER_S
    asset_latency: float = ASSET_LATENCY_S
    detect_seconds_per_pixel_date: float = DETECT_S_PER_PIXEL_DATE

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ParameterError(
                f"timeout must be a positive number of seconds, got {self.timeout}"
            )
        if self.retries < 0:
            raise ParameterError(f"retries must be 0 or more, got {self.retries}")
        if self.backoff < 0:
            raise ParameterError(f"backoff must be 0 or more seconds, got {self.backoff}")
        if self.workers < 1 or self.page_size < 1:
            raise ParameterError("workers and page_size must be at least 1")
        if not self.read_bytes_per_s > 0:
            raise ParameterError(
                f"read_bytes_per_s must be a positive rate, got {self.read_bytes_per_s}"
            )
        if self.asset_latency < 0 or self.detect_seconds_per_pixel_date < 0:
            raise ParameterError(
                "asset_latency and detect_seconds_per_pixel_date must be 0 or more"
            )


NETWORK = NetworkOptions()


# -- search -------------------------------------------------------------------------------


def _client(src: Source, net: NetworkOptions) -> Any:
    from pystac_client import Client
    from pystac_client.stac_api_io import StacApiIO
    from urllib3 import Retry

    retry = Retry(
        total=net.retries,
        connect=net.retries,
        read=net.retries,
        status=net.retries,
        backoff_factor=net.backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # retry POST searches too
        raise_on_status=True,
    )
    io = StacApiIO(timeout=net.timeout, max_retries=retry)
    # Client.open resets the io's timeout unless it is given here too
    return Client.open(src.stac_url, stac_io=io, timeout=net.timeout)


def _search_error(url: str, exc: BaseException, net: NetworkOptions) -> SearchError:
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    if "timeout" in low or "timed out" in low:
        why = f"the server did not answer within {net.timeout:g} s ({net.retries} retries)"
    elif m := re.search(r"too many (\d+) error responses|status(?: code)?[ =:]+(\d{3})", low):
        code = m.group(1) or m.group(2)
        why = f"the server kept answering HTTP {code} ({net.retries} retries)"
    elif "connection" in low and ("refused" in low or "failed to establish" in low):
        why = "no server answers at that address"
    else:
        why = text[:300]
    return SearchError(
        f"searching the STAC catalogue {url} failed: {why}. Check your network connection "
        "and the catalogue URL, or try again later (the catalogue may be down)."
    )


def search(
    request: Request, *, progress: Progress | None = None, network: NetworkOptions | None = None
) -> list[Any]:
    """The catalogue's items for ``request``, sorted by (time, id), duplicates removed.

    Retries HTTP 429/5xx with backoff and times out per request (``NETWORK``); pages are
    followed to the end. ``cloud_cover`` (if set) filters on ``eo:cloud_cover``.
    Raises :class:`SearchError` with the reason when the catalogue cannot be searched.
    """
    net = network or NETWORK
    src = request.get_source()
    emit(progress, "search", 0.0, f"searching {src.stac_url}")
    try:
        client = _client(src, net)
        found = client.search(
            collections=list(src.collections),
            bbox=list(request.bbox),
            datetime=request.datetime_range(),
            limit=net.page_size,
        )
        items: dict[str, Any] = {}
        for page in found.pages():
            for item in page.items:
                items.setdefault(item.id, item)
            emit(progress, "search", None, f"found {len(items)} scenes")
    except (SearchError, InputError):
        raise
    except Exception as exc:  # requests/urllib3/pystac-client raise many types
        raise _search_error(src.stac_url, exc, net) from None
    out = list(items.values())
    if request.cloud_cover is not None:
        out = [
            i
            for i in out
            if float(i.properties.get(src.cloud_cover_property, 0.0) or 0.0) <= request.cloud_cover
        ]
    out.sort(key=lambda i: (_item_time(i), i.id))
    emit(progress, "search", 1.0, f"found {len(out)} scenes")
    return out


def _item_time(item: Any) -> dt.datetime:
    when = item.datetime or item.common_metadata.start_datetime
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when


def _item_lon(item: Any) -> float:
    if item.bbox:
        return (item.bbox[0] + item.bbox[2]) / 2.0
    return 0.0


def _solar_day(item: Any) -> dt.date:
    return (_item_time(item) + dt.timedelta(hours=_item_lon(item) / 15.0)).date()


def solar_days(items: Sequence[Any]) -> list[tuple[np.datetime64, list[Any]]]:
    """Group items by solar day (UTC time + longitude/15 hours), in time order.

    Each group's time is the earliest acquisition time of its items (UTC, naive).
    """
    groups: dict[dt.date, list[Any]] = {}
    for item in sorted(items, key=lambda i: (_item_time(i), i.id)):
        groups.setdefault(_solar_day(item), []).append(item)
    out = []
    for _, members in sorted(groups.items()):
        first = min(_item_time(i) for i in members)
        out.append((np.datetime64(first.replace(tzinfo=None), "ns"), members))
    return out


# -- signing and GDAL settings -----------------------------------------------------------------


class _Signer:
    """Signs items for catalogues that need it; re-signs when a token is (nearly) expired."""

    def __init__(self, src: Source) -> None:
        self.kind = src.sign
        self._lock = threading.Lock()

    def __call__(self, item: Any, *, force: bool = False) -> Any:
        if self.kind is None:
            return item
        if self.kind == "planetary-computer":
            import planetary_computer
            import planetary_computer.sas as sas

            with self._lock:
                if force:
                    sas.TOKEN_CACHE.clear()
                return planetary_computer.sign(item)
        raise InputError(f"unknown signing method {self.kind!r}")

    def needs_resign(self, item: Any) -> bool:
        if self.kind is None:
            return False
        return any(expires_soon(asset.href) for asset in item.assets.values())


def _configure_gdal(src: Source, net: NetworkOptions) -> None:
    from odc.stac import configure_rio

    aws: dict[str, Any] | None = {"aws_unsigned": True} if src.aws_unsigned else None
    if aws is not None and src.aws_region:
        aws["region_name"] = src.aws_region
    configure_rio(
        cloud_defaults=True,
        aws=aws,
        GDAL_HTTP_TIMEOUT=max(1, math.ceil(net.timeout)),
        GDAL_HTTP_CONNECTTIMEOUT=max(1, math.ceil(min(net.timeout, 10))),
        GDAL_HTTP_MAX_RETRY=net.retries,
        GDAL_HTTP_RETRY_DELAY=net.backoff,
        GDAL_HTTP_RETRY_CODES="429,500,502,503,504",
    )


# -- reading one asset -----------------------------------------------------------------------


def _names(items: Iterable[Any], bands: Sequence[str], src: Source) -> dict[str, AssetName]:
    """Each asset URL (without query) -> its scene, band, asset key and URL."""
    out: dict[str, AssetName] = {}
    for item in items:
        for band in bands:
            asset = src.asset_for(band)
            if asset in item.assets:
                href = item.assets[asset].href
                out[base_url(href)] = AssetName(item.id, band, asset, base_url(href))
    return out


def _resign_planetary_computer(url: str) -> str:
    """A freshly signed Planetary Computer URL (the token cache is dropped first)."""
    import planetary_computer
    import planetary_computer.sas as sas

    sas.TOKEN_CACHE.clear()
    return str(planetary_computer.sign(url))


def _resigner(signer: _Signer) -> Callable[[str], str] | None:
    """A picklable function giving a fresh signed URL for an unsigned one (or ``None``)."""
    if signer.kind == "planetary-computer":
        return _resign_planetary_computer
    return None


def _odc_load(
    items: list[Any], assets: list[str], geobox: Any, chunks: Any, driver: CheckedDriver
) -> xr.Dataset:
    import odc.stac

    return odc.stac.load(
        items,
        bands=assets,
        geobox=geobox,
        chunks=chunks,
        groupby="id",
        fail_on_error=True,
        resampling="nearest",
        stac_cfg={"*": {"warnings": "ignore"}},
        driver=driver,  # type: ignore[arg-type]  # odc-stac accepts any ReaderDriver-like object
    )


def _read_asset(
    item: Any,
    asset: str,
    geobox: Any,
    *,
    band: str,
    signer: _Signer,
    net: NetworkOptions,
    cancel: Callable[[], None],
) -> np.ndarray:
    """Read one asset onto ``geobox`` as raw DNs, retrying with backoff; raise LoadError.

    Each attempt is checked (``_read.CheckedDriver`` with no retries of its own): an
    exception or a GDAL failure message on this thread fails the attempt.
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
                ds = _odc_load([signed], [asset], geobox, None, driver)
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


# -- harmonisation decisions --------------------------------------------------------------------


def _decide(item: Any, src: Source, assets: Sequence[str]) -> list[Harmonisation]:
    return [offset_for(item, a, policy=src.offset_policy, nodata=src.nodata) for a in assets]


def _flag(item: Any) -> bool | None:
    v = item.properties.get("earthsearch:boa_offset_applied")
    return bool(v) if v is not None else None


def _settle(hs: list[Harmonisation], raws: Sequence[np.ndarray], item: Any) -> list[Harmonisation]:
    if all(h.decided for h in hs):
        return hs
    nodata = next((h.nodata for h in hs if h.nodata is not None), 0)
    stack = np.stack([np.asarray(r, dtype=np.float64) for r in raws])
    off, why = offset_from_pixels(stack, nodata, flag_applied=_flag(item))
    log.info("offset of %s decided from pixels: %s", item.id, why)
    return [h if h.decided else Harmonisation(h.scale, off, h.nodata, f"pixels: {why}") for h in hs]


# -- load -----------------------------------------------------------------------------------


def _band_list(extra_bands: Iterable[str]) -> tuple[str, ...]:
    extra = tuple(dict.fromkeys(extra_bands))
    bad = [b for b in extra if b in BANDS]
    if bad:
        raise InputError(f"extra_bands {bad} are loaded anyway; list only extra bands (scl)")
    return (*BANDS, *extra)


def load(
    request: Request,
    *,
    items: Sequence[Any] | None = None,
    chunks: dict[str, int] | None = None,
    progress: Progress | None = None,
    cache: bool = True,
    extra_bands: Iterable[str] = (),
    network: NetworkOptions | None = None,
) -> xr.Dataset:
    """Load ``request`` as float32 reflectance (NaN nodata), lazily (dask-backed).

    ``items`` skips the search (give the result of :func:`search`). ``chunks`` sets the
    dask chunking, e.g. ``{"x": 512, "y": 512}``; the time axis is one chunk unless
    ``chunks`` gives ``"time"`` (so each spatial tile carries all its dates, as the
    engine's streaming needs), and the default spatial size keeps a block of one band
    under about 256 MB (2048 pixels square for short series). ``cache=True`` reads
    through the local cache (see the module docstring); ``extra_bands=("scl",)`` adds
    the source's scene classification as variable ``scl`` (uint8, 0 = nodata; its
    ``reference_kind`` attribute is ``"scl"`` or ``"fmask"``).

    Raises :class:`LoadError` naming the scene, band and URL when an asset cannot be
    read (with ``cache=False``, when the data are computed), and :class:`LoadError` when
    the search finds no scene. With ``cache=False`` each block read is reported to
    ``progress`` as the graph computes.
    """
    net = network or NETWORK
    bands = _band_list(extra_bands)
    src = request.get_source()
    key = request.key(bands)
    if cache:
        hit = _cache.lookup(key)
        if hit is not None:
            emit(progress, "load", 1.0, "read from the local cache")
            return _from_cache(hit, request, chunks)
    if items is None:
        items = search(request, progress=None, network=net)
    items = list(items)
    if not items:
        raise NoDataError(
            f"no Sentinel-2 scenes found in {src.stac_url} ({', '.join(src.collections)}) for "
            f"bbox {request.bbox} from {request.start} to {request.end}; widen the dates or "
            "the area, or check the source"
        )
    _configure_gdal(src, net)
    if cache:
        path = _download(request, items, bands, src, net, progress)
        return _from_cache(path, request, chunks)
    return _lazy(request, items, bands, src, chunks, progress, net)


def _attrs(src: Source, band: str) -> dict[str, Any]:
    if band in BANDS:
        return {
            "units": "1",
            "long_name": f"{band} surface reflectance",
            "asset": src.asset_for(band),
        }
    return {
        "long_name": "scene classification",
        "reference_kind": src.reference_kind or "scl",
        "asset": src.asset_for(band),
        "nodata": 0,
    }


def _dataset(
    gbox: Any, times: np.ndarray, arrays: dict[str, Any], src: Source, request: Request
) -> xr.Dataset:
    from odc.geo.xr import xr_coords

    coords: dict[str, Any] = {
        str(k): v for k, v in xr_coords(gbox, crs_coord_name="spatial_ref").items()
    }
    coords["time"] = times.astype("datetime64[ns]")
    ds = xr.Dataset(coords=coords)
    for band, arr in arrays.items():
        ds[band] = xr.DataArray(arr, dims=("time", "y", "x"), attrs=_attrs(src, band))
    ds.attrs.update(
        source=request.source,
        stac_url=src.stac_url,
        collections=" ".join(src.collections),
    )
    return ds


#: Largest default block of one band (float32 bytes) when the time axis is whole.
BLOCK_BYTES = 256 * 1024**2


def _default_chunks(
    shape: tuple[int, int, int], chunks: dict[str, int] | None
) -> tuple[int, int, int]:
    """(time, y, x) chunk sizes: ``chunks`` where given; time whole by default."""
    t, ny, nx = shape
    c = dict(chunks or {})
    ct = int(c.get("time", -1))
    ct = t if ct in (-1, 0) or ct >= t else ct
    side = int(math.sqrt(BLOCK_BYTES / (4 * max(1, ct))) // 256 * 256)
    side = min(2048, max(256, side))
    cy = int(c.get("y", side))
    cx = int(c.get("x", side))
    cy = ny if cy in (-1, 0) else cy
    cx = nx if cx in (-1, 0) else cx
    return (max(1, ct), max(1, min(ny, cy)), max(1, min(nx, cx)))


def _from_cache(path: Any, request: Request, chunks: dict[str, int] | None) -> xr.Dataset:
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
            chunks=_default_chunks(mm.shape, chunks),
            name=f"tsmask-cache-{path.name}-{band}",
        )
    ds = _dataset(gbox, times, arrays, src, request)
    ds.attrs["cache_entry"] = path.name
    ds.attrs["stac_items"] = " ".join(meta.get("items", []))
    return ds


def _download(
    request: Request,
    items: list[Any],
    bands: tuple[str, ...],
    src: Source,
    net: NetworkOptions,
    progress: Progress | None,
) -> Any:
    gbox = request.geobox()
    days = solar_days(items)
    shape = (len(days), gbox.shape.y, gbox.shape.x)
    assets = [src.asset_for(b) for b in bands]
    refl = [a for b, a in zip(bands, assets, strict=True) if b in BANDS]
    signer = _Signer(src)
    total = sum(len(members) for _, members in days) * len(bands)
    done = 0
    lock = threading.Lock()
    cancel_flag: list[BaseException] = []

    def cancel() -> None:
        if cancel_flag:
            raise cancel_flag[0]

    def read(item: Any, band: str, asset: str) -> np.ndarray:
        nonlocal done
        arr = _read_asset(item, asset, gbox, band=band, signer=signer, net=net, cancel=cancel)
        with lock:
            done += 1
            n = done
        try:
            emit(progress, "load", n / total, f"read {band} of {item.id} ({n}/{total} assets)")
        except BaseException as exc:  # a cancel from the callback stops the other reads
            cancel_flag.append(exc)
            raise
        return arr

    harmonisation: dict[str, str] = {}
    with _cache.writing(request.key(bands)) as w, ThreadPoolExecutor(net.workers) as pool:
        outs = {
            b: (
                w.array(b, shape, np.float32, np.nan)
                if b in BANDS
                else w.array(b, shape, np.uint8, 0)
            )
            for b in bands
        }
        for t, (_, members) in enumerate(days):
            futures = {
                (item.id, b): pool.submit(read, item, b, a)
                for item in members
                for b, a in zip(bands, assets, strict=True)
            }
            try:
                raws = {k: f.result() for k, f in futures.items()}
            except BaseException:
                cancel_flag.append(LoadError("stopped after another asset failed"))
                for f in futures.values():
                    f.cancel()
                raise
            for item in members:
                hs = _settle(_decide(item, src, refl), [raws[(item.id, b)] for b in BANDS], item)
                harmonisation[item.id] = hs[0].reason
                for b, h in zip(BANDS, hs, strict=True):
                    r = to_reflectance(raws[(item.id, b)], h)
                    day = outs[b][t]
                    np.copyto(day, r, where=np.isnan(day) & ~np.isnan(r))
                for b in bands:
                    if b in BANDS:
                        continue
                    raw = raws[(item.id, b)]
                    day = outs[b][t]
                    np.copyto(day, raw.astype(np.uint8), where=(day == 0) & (raw != 0))
        meta = {
            "crs": str(gbox.crs),
            "transform": list(gbox.transform)[:6],
            "shape": list(shape),
            "times": [str(t) for t, _ in days],
            "items": [i.id for _, members in days for i in members],
            "harmonisation": harmonisation,
        }
        return w.commit(meta)


def _expected_reads(items: Sequence[Any], assets: Sequence[str], gbox: Any, yx: Any) -> Any:
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


def _lazy(
    request: Request,
    items: list[Any],
    bands: tuple[str, ...],
    src: Source,
    chunks: dict[str, int] | None,
    progress: Progress | None,
    net: NetworkOptions,
) -> xr.Dataset:
    import dask.array as da

    gbox = request.geobox()
    days = solar_days(items)
    assets = [src.asset_for(b) for b in bands]
    refl = [a for b, a in zip(bands, assets, strict=True) if b in BANDS]
    signer = _Signer(src)
    ct, cy, cx = _default_chunks((len(days), gbox.shape.y, gbox.shape.x), chunks)
    odc_chunks = {"time": 1, "y": cy, "x": cx}
    names = _names(items, bands, src)
    counter = ReadCounter(progress, _expected_reads(items, assets, gbox, (cy, cx)), names)
    driver = CheckedDriver(
        names=names,
        retries=net.retries,
        backoff=net.backoff,
        timeout=net.timeout,
        resign=_resigner(signer),
        counter=counter,
    )
    # the coarse reads below settle offsets now; they are not part of the graph's count
    settle_driver = CheckedDriver(
        names=names,
        retries=net.retries,
        backoff=net.backoff,
        timeout=net.timeout,
        resign=_resigner(signer),
    )
    per_band: dict[str, list[Any]] = {b: [] for b in bands}
    n_items = sum(len(m) for _, m in days)
    k = 0
    for _, members in days:
        fused: dict[str, Any] = {}
        for item in members:
            signed = signer(item)
            raw = _odc_load([signed], assets, gbox, odc_chunks, driver)
            hs = _decide(item, src, refl)
            if not all(h.decided for h in hs):
                # settle from a coarse read of the item (overviews), not the whole grid
                small = gbox.zoom_to(max(1, min(256, gbox.shape.x)))
                low = _odc_load([signed], refl, small, None, settle_driver)
                hs = _settle(hs, [low[a].values[0] for a in refl], item)
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
    return _dataset(gbox, times, arrays, src, request)


# -- estimate -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """What a request will cost, known before any pixel is read.

    ``bytes_to_read`` counts the 16-bit pixels of every scene inside the area (the
    network transfer is usually smaller: COGs are compressed). ``memory_bytes`` is the
    float32 reflectance cube plus the uint8 mask. ``seconds`` is a rough guess resting
    on assumptions, not measurements: the read rate, the latency per asset read
    (``reads_at_once`` in parallel) and the detection cost per pixel-date, taken from
    :class:`NetworkOptions` and kept here so :meth:`describe` can state them.
    """

    items: int
    dates: tuple[dt.date, ...]
    shape: tuple[int, int, int]
    pixels: int
    bytes_to_read: int
    memory_bytes: int
    seconds: float
    cached: bool
    crs: str
    resolution: float
    read_bytes_per_s: float = READ_BYTES_PER_S
    asset_latency: float = ASSET_LATENCY_S
    reads_at_once: int = 4
    detect_seconds_per_pixel_date: float = DETECT_S_PER_PIXEL_DATE

    def assumptions(self) -> str:
        """The assumptions behind :attr:`seconds`, in words."""
        return (
            f"assumes reads at {self.read_bytes_per_s / 1e6:g} MB/s, "
            f"{self.asset_latency:g} s latency per asset ({self.reads_at_once} at once), "
            f"detection at {self.detect_seconds_per_pixel_date * 1e6:g} µs per pixel-date; "
            "set NetworkOptions(read_bytes_per_s=, asset_latency=, "
            "detect_seconds_per_pixel_date=) to your own figures"
        )

    def describe(self) -> str:
        """A few lines for the command line and the dialog."""
        _t, y, x = self.shape
        lines = [
            f"{self.items} scenes on {len(self.dates)} dates"
            + (f" ({self.dates[0]} .. {self.dates[-1]})" if self.dates else ""),
            f"grid {x} x {y} pixels at {self.resolution:g} m in {self.crs} "
            f"({self.pixels:,} pixels)",
            f"to read: {self.bytes_to_read / 1e6:,.1f} MB"
            + (" (already in the local cache: nothing to download)" if self.cached else ""),
            f"memory: about {self.memory_bytes / 1e6:,.1f} MB; time: about {self.seconds:,.0f} s",
            f"  (time {self.assumptions()})",
        ]
        return "\n".join(lines)


def estimate(
    request: Request,
    *,
    items: Sequence[Any] | None = None,
    progress: Progress | None = None,
    extra_bands: Iterable[str] = (),
    network: NetworkOptions | None = None,
) -> Estimate:
    """Search (unless ``items`` are given) and estimate the cost of loading ``request``.

    The time estimate uses the assumptions in ``network`` (default ``NETWORK``):
    ``read_bytes_per_s``, ``asset_latency`` with ``workers`` reads at once, and
    ``detect_seconds_per_pixel_date``; the Estimate keeps and describes them.
    """
    net = network or NETWORK
    from shapely.geometry import box, shape

    bands = _band_list(extra_bands)
    cached = _cache.lookup(request.key(bands)) is not None
    if items is None:
        items = search(request, progress=progress, network=net)
    gbox = request.geobox()
    days = solar_days(list(items))
    area = box(*request.bbox)
    pixels = int(gbox.shape.x * gbox.shape.y)
    px_read = 0.0
    for item in items:
        frac = 1.0
        if item.geometry:
            try:
                frac = shape(item.geometry).intersection(area).area / area.area
            except Exception:
                frac = 1.0
        px_read += frac * pixels
    nbytes = int(px_read * 2 * len(bands))
    t = len(days)
    memory = t * pixels * (4 * len(BANDS) + 1 + (len(bands) - len(BANDS)))
    assets = len(items) * len(bands)
    seconds = (
        0.0
        if cached
        else nbytes / net.read_bytes_per_s + assets * net.asset_latency / max(1, net.workers)
    )
    seconds += t * pixels * net.detect_seconds_per_pixel_date
    return Estimate(
        items=len(items),
        dates=tuple(_solar_day(members[0]) for _, members in days),
        shape=(t, int(gbox.shape.y), int(gbox.shape.x)),
        pixels=pixels,
        bytes_to_read=0 if cached else nbytes,
        memory_bytes=int(memory),
        seconds=float(seconds),
        cached=cached,
        crs=str(gbox.crs),
        resolution=request.resolution,
        read_bytes_per_s=net.read_bytes_per_s,
        asset_latency=net.asset_latency,
        reads_at_once=max(1, net.workers),
        detect_seconds_per_pixel_date=net.detect_seconds_per_pixel_date,
    )
