"""The lazy (dask) load path against the fault-injecting test server: failures named,
transient errors retried, progress per read, time-whole chunks, reads limited to what a
chunk needs, read timeouts; and the estimate's stated assumptions."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from tests.catalogue import truth
from tests.loaders.test_stac import _check_area, req
from tsmask_qgis.loaders import (
    BANDS,
    LoadError,
    NetworkOptions,
    _stac,
    estimate,
    list_cache,
    load,
    search,
)
from tsmask_qgis.tempfiles import TMP_PREFIX

FAST = NetworkOptions(timeout=2.0, retries=2, backoff=0.05, concurrency=4, page_size=100)
# header and first bytes come in GDAL's first 16 kB request; pixel blocks come later
BLOCKS = 16384
WEST_FILE = "/files/S2B_55HGA_20220130_0_L2A/red.tif"  # reprojected onto the zone-56 grid


@pytest.fixture(autouse=True)
def _fast_network(monkeypatch):
    monkeypatch.setattr(_stac, "NETWORK", FAST)


@pytest.fixture(params=["NO", "YES"], ids=["gdal-raises", "gdal-ignores-read-errors"])
def gdal_read_errors(request, monkeypatch):
    """Both GDAL behaviours: a failed block read raises, or is only reported and filled
    with nodata (``GTIFF_IGNORE_READ_ERRORS``, set in some environments): the silent hole."""
    monkeypatch.setenv("GTIFF_IGNORE_READ_ERRORS", request.param)
    return request.param


def test_lazy_asset_500_raises_load_error_naming_it(stac_server, gdal_read_errors, caplog):
    ds = load(req(stac_server), cache=False)  # lazy: nothing read yet
    with stac_server.fault(WEST_FILE, status=500, range_start=BLOCKS) as hits:
        with pytest.raises(LoadError) as err:
            ds.red.compute()
        assert hits() >= FAST.retries + 1  # retried before giving up
    msg = str(err.value)
    assert re.search(
        r"band red \(asset 'red'\) of scene S2B_55HGA_20220130_0_L2A from "
        r"http://127\.0\.0\.1:\d+/files/S2B_55HGA_20220130_0_L2A/red\.tif after 3 attempts",
        msg,
    ), msg
    assert "HTTP response code 500" in msg
    # GDAL's INFO-level messages were captured for the check, not shown to the user
    assert not [r for r in caplog.records if r.name.startswith("rasterio") and r.levelno < 20]


def test_lazy_transient_502_is_retried_with_correct_pixels(stac_server, gdal_read_errors):
    ds = load(req(stac_server), cache=False)
    # GDAL's own retries are off: each failure costs one of the loader's attempts
    # (FAST.retries + 1 of them), and the last one gets through
    with stac_server.fault(WEST_FILE, status=502, range_start=BLOCKS, times=FAST.retries) as hits:
        ds = ds.compute()
        assert hits() == FAST.retries
    _check_area(ds)


def test_lazy_progress_per_read(stac_server):
    seen: list[tuple[float | None, str]] = []
    ds = load(
        req(stac_server), cache=False, progress=lambda r: seen.append((r.fraction, r.message))
    )
    planned = [m for _, m in seen if m.startswith("planned ")]
    assert len(planned) == 6 and all(f is None for f, m in seen)  # nothing read yet
    seen.clear()
    ds.compute()
    reads = [(f, m) for f, m in seen if m.startswith("read ")]
    assert len(reads) == 6 * len(BANDS)  # one block per asset with the default chunks
    fractions = [f for f, _ in reads]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert reads[-1][1].endswith(f"({6 * len(BANDS)}/{6 * len(BANDS)} assets, 36/36 blocks)")
    text = " ".join(m for _, m in reads)
    for b in BANDS:
        assert f"read {b} of S2B_56HKV_20220130_1_L2A" in text


def test_lazy_chunks_keep_time_whole(stac_server):
    ds = load(req(stac_server), cache=False, chunks={"x": 32, "y": 32})
    t = ds.red.shape[0]
    for b in BANDS:
        chunks = ds[b].data.chunks
        assert chunks[0] == (t,)  # one chunk along time: a tile carries all its dates
        assert set(chunks[1][:-1]) == {32} and set(chunks[2][:-1]) == {32}
    assert len(ds.red.data.chunks[2]) >= 3
    # default chunking keeps time whole too
    assert load(req(stac_server), cache=False).red.data.chunks[0] == (t,)


def test_lazy_chunk_reads_only_what_it_needs(stac_server, stac_catalogue):
    _, catalogue = stac_catalogue
    ds = load(req(stac_server), cache=False, chunks={"x": 32, "y": 32})
    stac_server.clear_log()
    block = ds.red.data.blocks[:, 0, 0].compute()  # the north-west tile, all dates
    log = stac_server.request_log("/files/*")
    files = sorted({p for _, p, _ in log})
    # only the red files of the scenes whose footprint meets that tile (zone 55, west)
    assert files == [
        "/files/S2A_55HGA_20211204_0_L2A/red.tif",
        "/files/S2B_55HGA_20220130_0_L2A/red.tif",
    ]
    # and only some of their blocks: fewer bytes than half of each file
    for path in files:
        size = (catalogue.root / path[len("/files/") :]).stat().st_size
        got = 0
        for _, p, rng in log:
            if p == path and rng:
                first, last = (int(v) for v in rng[len("bytes=") :].split("-"))
                got += min(last, size - 1) - first + 1
        assert 0 < got < size / 2, (path, got, size)
    assert block.shape == (3, 32, 32)
    assert (block[0] == truth("red", 0, "55HGA")).all()
    assert (block[1] == truth("red", 1, "55HGA")).all()
    assert np.isnan(block[2]).all()  # 2022-03-01: east tile only


@pytest.mark.parametrize("cache", [True, False], ids=["cached", "lazy"])
def test_a_failed_file_is_read_again_once_the_server_recovers(stac_server, cache_dir, cache):
    """GDAL remembers a failed first request to a URL; retries and later loads must not."""
    r = req(stac_server, start=dt.date(2022, 2, 28), end=dt.date(2022, 3, 2))
    with stac_server.fault("/files/S2A_56HKV_20220301_0_L2A/nir08.tif", status=500):
        with pytest.raises(LoadError, match="HTTP response code 500"):
            load(r, cache=cache).compute()
    ds = load(r, cache=cache).compute()  # same process, server fine again
    assert (ds.nir.values[0][~np.isnan(ds.nir.values[0])] == truth("nir", 2, "56HKV")).all()
    assert (~np.isnan(ds.nir.values[0])).sum() > ds.nir.values[0].size // 3


@pytest.mark.parametrize("cache", [True, False], ids=["cached", "lazy"])
def test_asset_read_timeout_is_clear(stac_server, cache_dir, cache):
    net = NetworkOptions(timeout=1.0, retries=0, backoff=0.01, concurrency=4)
    r = req(stac_server, start=dt.date(2022, 2, 28), end=dt.date(2022, 3, 2))
    with stac_server.fault("/files/S2A_56HKV_20220301_0_L2A/swir22.tif", delay=2.5):
        with pytest.raises(LoadError) as err:
            ds = load(r, cache=cache, network=net)
            ds.compute()
    msg = str(err.value)
    assert "band swir2 (asset 'swir22') of scene S2A_56HKV_20220301_0_L2A" in msg, msg
    assert "swir22.tif" in msg and "did not answer within 1 s" in msg, msg
    assert list_cache() == [] and not list(cache_dir.glob(f"{TMP_PREFIX}*"))


def test_estimate_states_and_takes_its_assumptions(stac_server, cache_dir):
    r = req(stac_server)
    items = search(r)
    est = estimate(r, items=items)
    text = est.describe()
    assert "assumes reads at 20 MB/s" in text and "0.5 s latency per asset" in text
    assert "10 µs per pixel-date" in text and "network options' read rate" in text
    assert "NetworkOptions(" not in text  # neutral words: the dialog shows this too
    mine = NetworkOptions(read_bytes_per_s=1e6, asset_latency=0.0, detect_seconds_per_pixel_date=0)
    own = estimate(r, items=items, network=mine)
    assert own.seconds == pytest.approx(own.bytes_to_read / 1e6)
    assert "assumes reads at 1 MB/s" in own.describe()
    slow = estimate(r, items=items, network=NetworkOptions(asset_latency=2.0, concurrency=1))
    assert slow.seconds > est.seconds


def test_checked_driver_pickles_without_progress():
    """A dask cluster gets the driver by pickle: names and retries go, the callback stays."""
    import pickle

    from tsmask_qgis.loaders._network import RetryPolicy
    from tsmask_qgis.loaders._read import AssetName, CheckedDriver, ReadCounter

    name = AssetName("S2A_X", "red", "red", "http://h/f.tif")
    counter = ReadCounter(lambda f, m: None, {name.href: 1}, {name.href: name})
    policy = RetryPolicy(3, 0.1, 20.0)
    drv = CheckedDriver(names={name.href: name}, policy=policy, timeout=5, counter=counter)
    back = pickle.loads(pickle.dumps(drv))
    assert back.counter is None and back.policy == policy and back.names == drv.names
    assert back.name_of("http://h/f.tif?sig=x") == name
