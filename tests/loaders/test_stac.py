"""Search and load against a real STAC API (rustac) serving COGs written by the tests."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

from tests.catalogue import AREA, CANBERRA, scl_truth, truth
from tsmask_qgis.errors import NoDataError, ParameterError
from tsmask_qgis.loaders import (
    BANDS,
    LoadError,
    NetworkOptions,
    Request,
    SearchError,
    _stac,
    clear_cache,
    estimate,
    list_cache,
    load,
    search,
)
from tsmask_qgis.tempfiles import TMP_PREFIX

FAST = NetworkOptions(timeout=2.0, retries=2, backoff=0.05, concurrency=4, page_size=2)
D = dt.date
START, END = D(2021, 12, 1), D(2022, 3, 31)


@pytest.fixture(autouse=True)
def _fast_network(monkeypatch):
    monkeypatch.setattr(_stac, "NETWORK", FAST)


def req(
    server,
    start=START,
    end=END,
    collection="sentinel-2-c1-l2a",
    source="earth-search-c1",
    bbox=AREA,
    **kw,
):
    return Request(
        bbox, start, end, source=source, stac_url=server.url, collections=(collection,), **kw
    )


def test_search_paginates_sorts_and_filters(stac_server):
    stac_server.clear_log()
    items = search(req(stac_server))
    ids = [i.id for i in items]
    assert ids == [
        "S2A_55HGA_20211204_0_L2A",
        "S2A_56HKV_20211205_0_L2A",
        "S2B_55HGA_20220130_0_L2A",
        "S2B_56HKV_20220130_0_L2A",
        "S2B_56HKV_20220130_1_L2A",
        "S2A_56HKV_20220301_0_L2A",
    ]
    assert len(stac_server.requests("/search")) >= 3  # 6 items in pages of 2
    # cloud-cover pre-filter (scene k has 10*k %)
    few = search(req(stac_server, cloud_cover=15))
    assert {i.id[:24] for i in few} == {
        i.id[:24] for i in items if i.properties["eo:cloud_cover"] <= 15
    }


def test_canberra_notebook_request(stac_server):
    r = Request(CANBERRA, D(2017, 1, 1), D(2018, 12, 31), stac_url=stac_server.url)
    assert r.resolution == 20 and r.output_crs == "EPSG:32755"
    stac_server.clear_log()
    ids = [i.id for i in search(r)]
    assert ids == ["S2A_55HFA_20170301_0_L2A", "S2B_55HFA_20180615_0_L2A"]


def test_empty_search(stac_server, cache_dir):
    r = req(stac_server, start=D(2016, 1, 1), end=D(2016, 2, 1))
    assert search(r) == []
    with pytest.raises(NoDataError, match="no Sentinel-2 scenes found"):
        load(r)


def _check_area(ds):
    """Two zones merged on one grid, solar days, baselines harmonised, nodata kept."""
    assert ds.odc.crs.epsg == 32756  # the UTM zone of the centre (150.0 E)
    assert [str(t)[:10] for t in ds.time.values] == ["2021-12-04", "2022-01-30", "2022-03-01"]
    x = ds.x.values
    from pyproj import Transformer

    lon = Transformer.from_crs(32756, 4326, always_xy=True).transform(
        x, np.full_like(x, ds.y.values.mean())
    )[0]
    west, east = lon < 149.99, lon > 150.01
    for b in BANDS:
        v = ds[b].values
        assert v.dtype == np.float32
        # date 0: baseline 03.01 in both zones (55 stamped on the previous UTC day)
        assert (v[0][:, west] == truth(b, 0, "55HGA")).all()
        assert (v[0][:, east] == truth(b, 0, "56HKV")).all()
        # date 1: baseline 04.00, DN - 1000; the duplicate fills the block but its corner
        assert (v[1][:, west] == truth(b, 1, "55HGA")).all()
        e1 = v[1][:, east]
        corner = np.isnan(e1)
        assert corner.any() and corner.sum() < 0.5 * e1.size
        assert corner[0].any() and not corner[-1].any()
        assert (e1[~corner] == truth(b, 1, "56HKV")).all()
        # date 2: baseline 05.09, east tile only: west stays nodata
        assert np.isnan(v[2][:, west]).all()
        assert (v[2][:, east] == truth(b, 2, "56HKV")).all()


def test_load_through_cache_then_offline(stac_server, cache_dir):
    r = req(stac_server)
    seen = []
    ds = load(r, progress=lambda r: seen.append((r.fraction, r.message)), extra_bands=("scl",))
    assert ds.blue.chunks is not None
    _check_area(ds)
    reads = [m for _, m in seen if m.startswith("read ")]
    assert len(reads) == 6 * 7  # six scenes x (6 bands + scl), one report per asset
    assert seen[-1][0] == pytest.approx(1.0)
    assert "read scl of S2B_56HKV_20220130_1_L2A" in " ".join(reads)
    scl = ds.scl.values
    assert ds.scl.attrs["reference_kind"] == "scl"
    assert (scl[0][:, :5] == scl_truth(0, "55HGA")).all()
    assert (scl[2][:, :5] == 0).all()
    entries = list_cache()
    assert len(entries) == 1 and entries[0].dates == 3 and entries[0].source == "earth-search-c1"
    # a second run reads nothing from the network, not even the search
    stac_server.clear_log()
    again = load(r, extra_bands=("scl",))
    assert stac_server.requests() == []
    np.testing.assert_array_equal(again.red.values, ds.red.values)
    assert clear_cache() > 0 and list_cache() == []


def test_lazy_load_matches_cached(stac_server, cache_dir):
    r = req(stac_server)
    lazy = load(r, cache=False, chunks={"x": 64, "y": 64})
    assert lazy.blue.data.chunksize[1:] == (64, 64)
    _check_area(lazy)
    assert list_cache() == []


def test_earth_search_wrong_flags_decided_from_pixels(stac_server, cache_dir):
    r = req(
        stac_server,
        start=D(2021, 11, 1),
        end=D(2022, 2, 28),
        source="earth-search",
        collection="sentinel-2-l2a",
        bbox=(150.008, -35.31, 150.015, -35.29),
    )
    for ds in (load(r), load(r, cache=False)):
        assert [str(t)[:10] for t in ds.time.values] == ["2021-11-10", "2022-02-10", "2022-02-20"]
        for b in BANDS:
            v = ds[b].values
            for t, k in enumerate((6, 4, 5)):
                assert (v[t] == truth(b, k, "56HKV")).all(), (b, t)


def test_estimate_before_download(stac_server, cache_dir):
    r = req(stac_server)
    stac_server.clear_log()
    est = estimate(r)
    assert est.items == 6
    assert est.dates == (D(2021, 12, 5), D(2022, 1, 30), D(2022, 3, 1))
    g = r.geobox()
    assert est.shape == (3, g.shape.y, g.shape.x) and est.pixels == g.shape.y * g.shape.x
    assert 0 < est.bytes_to_read <= 6 * 6 * 2 * est.pixels
    assert est.memory_bytes >= 3 * est.pixels * 24 and est.seconds > 0 and not est.cached
    assert "6 scenes on 3 dates" in est.describe()
    assert not any(p.startswith("/files/") for _, p in stac_server.requests())


# -- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502])
def test_search_server_error_is_clear(stac_server, status):
    with stac_server.fault("/search", status=status) as hits:
        with pytest.raises(SearchError, match=f"(?i)HTTP {status}.*try again later"):
            search(req(stac_server))
        assert hits() == FAST.retries + 1


def test_search_retries_transient_502(stac_server):
    with stac_server.fault("/search", status=502, times=2) as hits:
        assert len(search(req(stac_server))) == 6
        assert hits() == 2


def test_search_timeout_is_clear(stac_server):
    with (
        stac_server.fault("/search", delay=3.0),
        pytest.raises(SearchError, match="did not answer within 1 s"),
    ):
        search(req(stac_server), network=NetworkOptions(timeout=1.0, retries=0, backoff=0.01))


def test_asset_error_names_scene_and_band(stac_server, cache_dir):
    with stac_server.fault("/files/S2A_56HKV_20220301_0_L2A/swir16.tif", status=500):
        with pytest.raises(
            LoadError, match=r"band swir1 \(asset 'swir16'\) of scene S2A_56HKV_20220301_0_L2A"
        ):
            load(req(stac_server))
    assert list_cache() == []  # nothing half-written
    assert not list(cache_dir.glob(f"{TMP_PREFIX}*"))


def test_asset_transient_502_is_retried(stac_server, cache_dir):
    with stac_server.fault("/files/S2A_56HKV_20220301_0_L2A/red.tif", status=502, times=2) as hits:
        ds = load(req(stac_server))
        assert hits() == 2
    _check_area(ds)


def test_truncated_cog_is_named(stac_server, cache_dir):
    r = req(
        stac_server,
        start=D(2022, 4, 1),
        end=D(2022, 4, 2),
        collection="broken",
        bbox=(150.008, -35.31, 150.015, -35.29),
    )
    with pytest.raises(
        LoadError, match=r"band red .*S2A_56HKV_20220401_0_L2A.*red.tif.*damaged or incomplete"
    ):
        load(r)


def test_asset_failing_for_good_ends_in_bounded_time_with_its_status(stac_server, cache_dir):
    """One retry policy (GDAL's own retries are off): a COG answering 500 forever costs
    at most the policy's attempts and its time limit, and the error names the status."""
    path = "/files/S2A_56HKV_20220301_0_L2A/red.tif"
    net = NetworkOptions(timeout=2.0, retries=10, backoff=0.2, asset_time_limit=2.0, concurrency=4)
    stac_server.clear_log()
    with stac_server.fault(path, status=500):
        t0 = time.monotonic()
        with pytest.raises(LoadError) as err:
            load(req(stac_server), network=net)
        took = time.monotonic() - t0
    msg = str(err.value)
    assert "band red (asset 'red') of scene S2A_56HKV_20220301_0_L2A" in msg, msg
    assert f"{stac_server.url}{path}" in msg and "HTTP response code 500" in msg, msg
    # waits of 0.2, 0.4, 0.8 s fit in the 2 s limit, the next (1.6 s) does not: 4 attempts
    assert "after 4 attempts" in msg, msg
    assert took < net.asset_time_limit + 2.0, took
    # at most two requests per attempt (no nested GDAL retries; 40 in all before)
    assert len(stac_server.requests(path)) <= 2 * 4, stac_server.requests(path)
    assert list_cache() == []


def test_default_policy_gives_up_within_30_s():
    from tsmask_qgis.loaders._network import RetryPolicy

    policy = RetryPolicy.of(NetworkOptions())
    assert policy.limit < 30
    waits, attempt = 0.0, 0
    while (pause := policy.wait(attempt, time.monotonic() - waits)) is not None:
        waits += pause
        attempt += 1
    assert waits < policy.limit and attempt == NetworkOptions().retries


@pytest.mark.parametrize("bad", [0, -1, 1000, 2.5, "8"])
def test_concurrency_is_checked(bad):
    with pytest.raises(ParameterError, match="reads at once"):
        NetworkOptions(concurrency=bad)
