"""Fixtures for the QGIS tests (pytest-qgis provides qgis_app, qgis_iface, ...)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

PLUGINS = "/usr/share/qgis/python/plugins"


@pytest.fixture(scope="session", autouse=True)
def _no_numba_at_start():
    """The QGIS test process must never import numba; check it at the end too."""
    yield
    assert "numba" not in sys.modules, "numba was imported into the QGIS process"


def write_mask(
    path: Path,
    data: np.ndarray,
    names: list[str] | None = None,
    *,
    transform=None,
    nodata=None,
) -> Path:
    """A small georeferenced class raster (bands, y, x) written with rasterio."""
    import rasterio
    from rasterio.transform import from_origin

    if data.ndim == 2:
        data = data[None]
    profile = {
        "driver": "GTiff",
        "count": data.shape[0],
        "height": data.shape[1],
        "width": data.shape[2],
        "dtype": data.dtype.name,
        "crs": "EPSG:32755",
        "transform": transform or from_origin(690_000, 6_090_000, 20, 20),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, name in enumerate(names or []):
            dst.set_band_description(i + 1, name)
    return path


@pytest.fixture
def mask_stack(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """Three dates of 12x10 classes with known content."""
    rng = np.random.default_rng(3)
    data = rng.choice(np.array([0, 1, 1, 1, 2, 3], dtype=np.uint8), size=(3, 12, 10))
    data[1, 2:7, 2:7] = 2  # a solid cloud
    data[2, 0, 0] = 3  # an isolated shadow pixel the seed filter removes
    data[2, 0:3, 1:3] = 1
    data[2, 1, 0] = 1
    path = write_mask(tmp_path / "mask.tif", data, ["2020-01-01", "2020-01-06", "2020-01-11"])
    return path, data


@pytest.fixture
def clean_settings(qgis_app):
    """QGIS settings with the dialog's remembered values removed before and after."""
    from qgis.core import QgsSettings

    from tsmask_qgis.plugin.dialog import SETTINGS_PREFIX

    s = QgsSettings()
    s.remove(SETTINGS_PREFIX.rstrip("/"))
    yield s
    s.remove(SETTINGS_PREFIX.rstrip("/"))


@pytest.fixture
def processing_ready(qgis_app, qgis_processing):
    """Processing initialised and the tsmask provider registered for one test."""
    from qgis.core import QgsApplication

    from tsmask_qgis.plugin.processing.provider import TsmaskProvider

    registry = QgsApplication.processingRegistry()
    provider = TsmaskProvider()
    assert registry.addProvider(provider)
    yield provider
    registry.removeProvider(provider)


@pytest.fixture(scope="session")
def scene_nc(tmp_path_factory):
    from tsmask_qgis.evaluate import make_scene

    scene = make_scene(shape=(12, 16, 16), seed=1)
    path = tmp_path_factory.mktemp("scene") / "scene.nc"
    scene.ds.to_netcdf(path)
    return path, scene


# -- a real STAC API on 127.0.0.1 (the loaders' test catalogue) --------------------------


@pytest.fixture(scope="session")
def stac_catalogue(tmp_path_factory):
    """(server, catalogue): rustac's STAC API + COG file server, started once per session."""
    from tests.catalogue import build_catalogue
    from tests.stac_server import StacServer, free_port

    root = tmp_path_factory.mktemp("stac")
    port = free_port()
    catalogue = build_catalogue(root, f"http://127.0.0.1:{port}")
    with StacServer(root, catalogue.documents, port=port) as server:
        yield server, catalogue


@pytest.fixture
def stac_server(stac_catalogue, monkeypatch, tmp_path_factory):
    """The test STAC server, with short network timeouts and a private reflectance cache."""
    from tsmask_qgis.loaders import NetworkOptions, _stac

    monkeypatch.setattr(
        _stac, "NETWORK", NetworkOptions(timeout=5.0, retries=2, backoff=0.05, concurrency=4)
    )
    monkeypatch.setenv("TSMASK_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    return stac_catalogue[0]
