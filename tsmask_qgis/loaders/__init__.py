"""Loading Sentinel-2 surface reflectance: STAC catalogues and local stacks.

Everything here returns the loaders' Dataset convention (``docs/api.md``): float32
reflectance 0..1 with NaN nodata, variables ``blue green red nir swir1 swir2`` on
``(time, y, x)``, georeferenced as odc-stac writes it, lazy (dask-backed).
Importing this package imports neither numba nor qgis.
"""

from tsmask_qgis.bands import BAND_ALIASES, BANDS, band_name
from tsmask_qgis.loaders._cache import CacheEntry, cache_dir, clear_cache, list_cache
from tsmask_qgis.loaders._errors import InputError, LoadError, SearchError
from tsmask_qgis.loaders._local import load_local
from tsmask_qgis.loaders._request import REQUEST_HELP, SENTINEL2_START, Request, utm_crs
from tsmask_qgis.loaders._sources import (
    DEFAULT_SOURCE,
    SOURCES,
    Source,
    get_source,
    source_names,
)
from tsmask_qgis.loaders._stac import (
    NETWORK,
    Estimate,
    NetworkOptions,
    estimate,
    load,
    search,
    solar_days,
)

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
