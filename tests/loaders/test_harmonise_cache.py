"""Offset decision rule, Planetary Computer re-signing, cache size limit."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pystac
import pytest

from tests.catalogue import truth
from tsmask_qgis.loaders import BANDS, NetworkOptions, Request, _stac, list_cache, load
from tsmask_qgis.loaders._harmonise import (
    Harmonisation,
    offset_for,
    offset_from_pixels,
    to_reflectance,
)

D = dt.date
EAST = (150.008, -35.31, 150.015, -35.29)


def _item(when: str, baseline: str | None, offset: float | None, flag=None) -> pystac.Item:
    props = {} if baseline is None else {"s2:processing_baseline": baseline}
    if flag is not None:
        props["earthsearch:boa_offset_applied"] = flag
    item = pystac.Item("x", None, None, dt.datetime.fromisoformat(when), props)
    rb = {"nodata": 0, "scale": 0.0001}
    if offset is not None:
        rb["offset"] = offset
    item.add_asset("red", pystac.Asset("http://h/red.tif", extra_fields={"raster:bands": [rb]}))
    return item


@pytest.mark.parametrize(
    ("when", "baseline", "offset", "flag", "policy", "expect"),
    [
        ("2021-06-01T00:00:00", "03.01", None, None, "baseline", 0.0),
        ("2021-06-01T00:00:00", None, -0.1, True, "metadata", 0.0),  # date says pre-04.00
        ("2022-06-01T00:00:00", None, None, None, "baseline", -1000.0),  # date says 04.00+
        ("2022-06-01T00:00:00", "04.00", -0.1, None, "metadata", -1000.0),
        ("2022-06-01T00:00:00", "05.09", 0.0, None, "metadata", 0.0),
        ("2022-06-01T00:00:00", "05.09", None, None, "metadata", None),  # undeclared
        ("2022-06-01T00:00:00", "04.00", -0.1, True, "verify", None),  # flags not trusted
        ("2022-06-01T00:00:00", "04.00", -0.1, False, "verify", None),
        ("2022-06-01T00:00:00", "04.00", None, None, "none", 0.0),  # DEA ARD
    ],
)
def test_offset_rule(when, baseline, offset, flag, policy, expect):
    h = offset_for(_item(when, baseline, offset, flag), "red", policy=policy, nodata=0)
    assert h.offset_dn == expect, h.reason


def test_offset_from_pixels():
    harmonised = np.array([[0, 350, 420, 2500]] * 50)
    with_offset = harmonised + 1000 * (harmonised > 0)
    assert offset_from_pixels(harmonised, 0)[0] == 0.0
    assert offset_from_pixels(with_offset, 0)[0] == -1000.0
    empty = np.zeros((3, 3))
    assert offset_from_pixels(empty, 0, flag_applied=True)[0] == 0.0
    assert offset_from_pixels(empty, 0)[0] == -1000.0


def test_to_reflectance_exact_numerics():
    dn = np.array([0, 1, 1001, 4567, 65535], dtype=np.uint16)
    r = to_reflectance(dn, Harmonisation(1e-4, -1000.0, 0, "t"))
    exp = (dn.astype(np.float32) - np.float32(1000)) / np.float32(10000)
    assert np.isnan(r[0]) and (r[1:] == exp[1:]).all() and r.dtype == np.float32
    dea = to_reflectance(np.array([-999, 250], np.int16), Harmonisation(1e-4, 0.0, -999, "t"))
    assert np.isnan(dea[0]) and dea[1] == np.float32(250) / np.float32(10000)


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setattr(_stac, "NETWORK", NetworkOptions(timeout=2, retries=2, backoff=0.05))


def test_planetary_computer_resigns_expired_tokens(stac_server, cache_dir, fast, monkeypatch):
    import planetary_computer

    calls = []

    def fake_sign(item):  # an item or a URL, as planetary_computer.sign takes
        calls.append(item if isinstance(item, str) else item.id)
        # first signature already expired; later ones valid for an hour
        exp = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=-1 if len(calls) == 1 else 1)
        if isinstance(item, str):
            return item.split("?")[0] + f"?se={exp:%Y-%m-%dT%H:%M:%SZ}&sig=t{len(calls)}"
        out = item.clone()
        for a in out.assets.values():
            a.href = a.href.split("?")[0] + f"?se={exp:%Y-%m-%dT%H:%M:%SZ}&sig=t{len(calls)}"
        return out

    monkeypatch.setattr(planetary_computer, "sign", fake_sign)
    es = dict(zip(BANDS, ("blue", "green", "red", "nir08", "swir16", "swir22"), strict=True))
    r = Request(
        EAST,
        D(2022, 2, 28),
        D(2022, 3, 2),
        source="planetary-computer",
        stac_url=stac_server.url,
        collections=("sentinel-2-c1-l2a",),
        band_map=es,
    )
    # an expired token answered with 403 once: the asset is re-signed and read again
    with stac_server.fault("/files/S2A_56HKV_20220301_0_L2A/red.tif", status=403, times=1):
        ds = load(r)
    assert len(calls) > len(BANDS)  # re-signed beyond one signature per asset read
    for b in BANDS:
        assert (ds[b].values == truth(b, 2, "56HKV")).all()


def test_cache_size_limit_evicts_least_recently_used(stac_server, cache_dir, fast, monkeypatch):
    def r(day):
        return Request(EAST, D(2022, 3, 1), day, stac_url=stac_server.url)

    first = load(r(D(2022, 3, 1)))
    size = list_cache()[0].size_bytes
    monkeypatch.setenv("TSMASK_CACHE_MAX_BYTES", str(int(size * 1.5)))
    load(r(D(2022, 3, 2)))  # a second entry: over the limit, the older one goes
    keys = [e.key for e in list_cache()]
    assert len(keys) == 1 and keys[0] != first.attrs["cache_entry"]
    stac_server.clear_log()
    load(r(D(2022, 3, 2)))
    assert stac_server.requests() == []


def test_cache_entries_are_written_under_temporary_names(cache_dir):
    """A failed write leaves nothing; a commit leaves only the entry; temporaries of killed
    runs (a day old) go at the next commit while a running download's folder stays."""
    import json
    import os
    import time

    from tsmask_qgis.loaders import _cache
    from tsmask_qgis.tempfiles import TMP_PREFIX

    key = {
        "source": "test",
        "bbox": [150.0, -35.3, 150.01, -35.29],
        "start": "2022-01-01",
        "end": "2022-01-01",
        "crs": "EPSG:32756",
        "resolution": 20.0,
        "bands": ["red"],
    }
    meta = {"times": ["2022-01-01"], "shape": [1, 2, 2]}
    whole = {**meta, "key": key, "size_bytes": 1, "created": "2022-01-01T00:00:00"}
    with pytest.raises(RuntimeError), _cache.writing(key) as w:
        assert w.tmp.parent == cache_dir and w.tmp.name.startswith(TMP_PREFIX)
        w.array("red", (1, 2, 2), np.float32, np.nan)
        raise RuntimeError("cancelled")
    assert list(cache_dir.iterdir()) == []

    stale = [cache_dir / f"{TMP_PREFIX}dead-entry", cache_dir / ".tmp-olderversion"]
    running = cache_dir / f"{TMP_PREFIX}running-entry"
    for d in (*stale, running):
        d.mkdir()
        (d / "meta.json").write_text(json.dumps(whole))  # not an entry, whatever it holds
    day_ago = time.time() - _cache.STALE_AFTER_S - 60
    for d in stale:
        os.utime(d, (day_ago, day_ago))
    assert list_cache() == []

    with _cache.writing(key) as w:
        w.array("red", (1, 2, 2), np.float32, np.nan)[0, 0, 0] = 0.5
        path = w.commit(meta)
    assert _cache.lookup(key) == path and path.name == _cache.cache_key(key)
    assert [e.path for e in list_cache()] == [path]
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "red.npy"]
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted([path.name, running.name])
    assert np.load(path / "red.npy")[0, 0, 0] == np.float32(0.5)
