"""Fixtures for the command-line tests: a private cache, and the test STAC API.

The server is the loaders' (``tests/stac_server.py``: rustac behind a fault-injecting
front on 127.0.0.1) serving ``tests/catalogue.py``'s scenes plus the synthetic cloudy
collection of ``tests/cli/synthetic_catalogue.py``; started once per session.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.catalogue import Catalogue, build_catalogue
from tests.cli.synthetic_catalogue import Synthetic, build_synthetic
from tests.stac_server import StacServer, free_port
from tsmask_qgis.loaders import NetworkOptions, _stac

#: Short timeouts and few retries, so fault tests take seconds.
FAST = NetworkOptions(timeout=2.0, retries=1, backoff=0.05, concurrency=4, page_size=100)


@dataclass
class Served:
    """The running server and what it serves."""

    server: StacServer
    catalogue: Catalogue
    synthetic: Synthetic

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    """Every CLI test gets an empty, private reflectance cache (never the user's)."""
    d = tmp_path / "tsmask-cache"
    monkeypatch.setenv("TSMASK_CACHE_DIR", str(d))
    return d


@pytest.fixture
def fast_network(monkeypatch):
    monkeypatch.setattr(_stac, "NETWORK", FAST)
    return FAST


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Served:
    root = tmp_path_factory.mktemp("cli-stac")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    catalogue = build_catalogue(root, url)
    synthetic = build_synthetic(root, url)
    with StacServer(root, [*catalogue.documents, *synthetic.documents], port=port) as server:
        yield Served(server, catalogue, synthetic)
