"""STAC search, load and estimate: the entry points, and the network options in effect.

``load`` has two paths, both returning a lazy, dask-backed Dataset:

- ``cache=True`` (default, ``_download``): the assets are read one by one into the
  local cache (``_cache``), with retries and backoff per asset, progress per asset,
  and a failed asset reported by item id, band and URL; the Dataset is then backed by
  the cache files, so a second run on the same request reads nothing from the network.
- ``cache=False`` (``_lazy``): an odc-stac dask graph over the catalogue, chunked with
  the time axis whole by default so the engine can stream spatial tiles with all their
  dates. Every chunk read goes through ``_read.CheckedDriver``: GDAL's messages on the
  reading thread are checked (a failed range read can otherwise become a silent nodata
  hole), failed reads are retried with backoff, and the last failure raises
  ``LoadError`` naming the scene, band and URL when the graph is computed. Progress is
  reported per block read as the graph computes (not on a dask cluster's workers).

Either way, each item's DNs are harmonised by ``_harmonise`` before items of the same
solar day are merged (first valid pixel in (time, id) order; nodata stays NaN).

The rest lives by job: ``_search`` (the catalogue, solar days), ``_signing`` (signed
asset URLs), ``_network`` (options, GDAL's HTTP settings), ``_cube`` (what both paths
share), ``_estimate`` (the cost before any read). Each entry point checks the request
in full first (:meth:`Request.check`), so a bad CRS is refused before any network call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import xarray as xr

from tsmask_qgis.errors import NoDataError
from tsmask_qgis.loaders import _cache
from tsmask_qgis.loaders._cube import band_list
from tsmask_qgis.loaders._download import download, from_cache
from tsmask_qgis.loaders._estimate import Estimate, estimate_cost
from tsmask_qgis.loaders._lazy import lazy
from tsmask_qgis.loaders._network import NetworkOptions, configure_gdal
from tsmask_qgis.loaders._request import Request
from tsmask_qgis.loaders._search import search_items, solar_days
from tsmask_qgis.progress import Progress, emit

__all__ = ["NETWORK", "Estimate", "NetworkOptions", "estimate", "load", "search", "solar_days"]

#: The network options used when a call gives none (replace it to change the default).
NETWORK = NetworkOptions()


def search(
    request: Request, *, progress: Progress | None = None, network: NetworkOptions | None = None
) -> list[Any]:
    """The catalogue's items for ``request``, sorted by (time, id), duplicates removed.

    Retries HTTP 429/5xx with backoff and times out per request (``NETWORK``); pages are
    followed to the end. ``cloud_cover`` (if set) filters on ``eo:cloud_cover``.
    Raises :class:`SearchError` with the reason when the catalogue cannot be searched.
    """
    return search_items(request.check(), network or NETWORK, progress)


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
    read (with ``cache=False``, when the data are computed), and :class:`NoDataError`
    when the search finds no scene. With ``cache=False`` each block read is reported to
    ``progress`` as the graph computes.
    """
    request = request.check()
    net = network or NETWORK
    bands = band_list(extra_bands)
    src = request.get_source()
    key = request.key(bands)
    if cache:
        hit = _cache.lookup(key)
        if hit is not None:
            emit(progress, "load", 1.0, "read from the local cache")
            return from_cache(hit, request, chunks)
    if items is None:
        items = search_items(request, net, None)
    items = list(items)
    if not items:
        raise NoDataError(
            f"no Sentinel-2 scenes found in {src.stac_url} ({', '.join(src.collections)}) for "
            f"bbox {request.bbox} from {request.start} to {request.end}; widen the dates or "
            "the area, or check the source"
        )
    configure_gdal(src, net)
    if cache:
        path = download(request, items, bands, src, net, progress)
        return from_cache(path, request, chunks)
    return lazy(request, items, bands, src, chunks, progress, net)


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
    ``detect_seconds_per_pixel_date`` (the engine's own figure unless given); the
    Estimate keeps and describes them.
    """
    request = request.check()
    net = network or NETWORK
    bands = band_list(extra_bands)
    cached = _cache.lookup(request.key(bands)) is not None
    if items is None:
        items = search_items(request, net, progress)
    return estimate_cost(request, items, bands, net, cached=cached)
