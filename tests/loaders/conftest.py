"""Session fixtures: the test catalogue served by a real STAC API on 127.0.0.1."""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import pytest

from tests.catalogue import Catalogue, build_catalogue
from tests.stac_server import StacServer, free_port


@pytest.fixture(scope="session")
def stac_catalogue(tmp_path_factory) -> tuple[StacServer, Catalogue]:
    """(server, catalogue): rustac's STAC API + COG file server, started once per session."""
    root = tmp_path_factory.mktemp("stac")
    port = free_port()
    catalogue = build_catalogue(root, f"http://127.0.0.1:{port}")
    with StacServer(root, catalogue.documents, port=port) as server:
        yield server, catalogue


@pytest.fixture(scope="session")
def stac_server(stac_catalogue) -> StacServer:
    return stac_catalogue[0]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty, private reflectance cache for one test."""
    d = tmp_path / "cache"
    monkeypatch.setenv("TSMASK_CACHE_DIR", str(d))
    return d


def _rasterio_gdal() -> ctypes.CDLL | None:
    """The GDAL library rasterio uses (its wheel's own copy, else the system's)."""
    import rasterio

    libs = sorted((Path(rasterio.__file__).parent.parent / "rasterio.libs").glob("libgdal*"))
    name = str(libs[0]) if libs else ctypes.util.find_library("gdal")
    return ctypes.CDLL(name) if name else None


@pytest.fixture(autouse=True)
def _fresh_gdal_http_cache():
    """Forget what GDAL fetched over HTTP in earlier tests.

    GDAL keeps the bytes it read from a URL for the whole process, so a test injecting
    a fault on a file an earlier test read would never reach the server.
    """
    lib = _rasterio_gdal()
    if lib is not None:
        lib.VSICurlClearCache()
    yield
