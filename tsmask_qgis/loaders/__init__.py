"""Loading Sentinel-2 surface reflectance: STAC catalogues and local stacks.

Everything here returns the loaders' Dataset convention (``docs/api.md``): float32
reflectance 0..1 with NaN nodata, variables ``blue green red nir swir1 swir2`` on
``(time, y, x)``, georeferenced as odc-stac writes it, lazy (dask-backed).

Importing this package imports neither numba nor qgis, and the request, the catalogue
presets, the band names and the network options import only the standard library (the
QGIS process uses them): the names that need numpy, xarray or odc (``load``,
``load_local``, ``search``, ``estimate``, the cache functions, ...) are imported on
first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tsmask_qgis.bands import BAND_ALIASES, BANDS, band_name
from tsmask_qgis.loaders._errors import InputError, LoadError, SearchError
from tsmask_qgis.loaders._network import NetworkOptions
from tsmask_qgis.loaders._request import REQUEST_HELP, SENTINEL2_START, Request, utm_crs
from tsmask_qgis.loaders._sources import (
    DEFAULT_SOURCE,
    SOURCES,
    Source,
    get_source,
    source_names,
)

if TYPE_CHECKING:
    from tsmask_qgis.loaders._cache import CacheEntry, cache_dir, clear_cache, list_cache
    from tsmask_qgis.loaders._estimate import Estimate
    from tsmask_qgis.loaders._local import load_local
    from tsmask_qgis.loaders._search import solar_days
    from tsmask_qgis.loaders._stac import NETWORK, estimate, load, search

#: The names imported on first use, and the module of each.
_HEAVY: dict[str, str] = {
    "CacheEntry": "_cache",
    "cache_dir": "_cache",
    "clear_cache": "_cache",
    "list_cache": "_cache",
    "Estimate": "_estimate",
    "load_local": "_local",
    "solar_days": "_search",
    "NETWORK": "_stac",
    "estimate": "_stac",
    "load": "_stac",
    "search": "_stac",
}


def __getattr__(name: str) -> Any:
    module = _HEAVY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    if name != "NETWORK":  # the default in effect is _stac.NETWORK, wherever it was set
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HEAVY})


__all__ = [
    "BANDS",
    "BAND_ALIASES",
    "DEFAULT_SOURCE",
    "NETWORK",
    "REQUEST_HELP",
    "SENTINEL2_START",
    "SOURCES",
    "CacheEntry",
    "Estimate",
    "InputError",
    "LoadError",
    "NetworkOptions",
    "Request",
    "SearchError",
    "Source",
    "band_name",
    "cache_dir",
    "clear_cache",
    "estimate",
    "get_source",
    "list_cache",
    "load",
    "load_local",
    "search",
    "solar_days",
    "source_names",
    "utm_crs",
]
