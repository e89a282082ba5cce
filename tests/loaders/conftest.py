"""Session fixtures: the test catalogue served by a real STAC API on 127.0.0.1."""

from __future__ import annotations

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
