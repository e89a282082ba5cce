"""The shadow-geometry step (docs/shadow_geometry.md): known geometry, the oracle, the margin."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsmask_qgis.engine import classify
from tsmask_qgis.engine.reference_shadow import (
    reference_shadow_date,
    reference_shadow_geometry,
    reference_votes,
)
from tsmask_qgis.engine.shadow import (
    ShadowParams,
    apply_shadow_geometry,
    candidate_offsets,
    compute_votes,
    crop_margin,
    margin_pixels,
    series_margin_m,
    shadow_direction,
    shadow_geometry,
    shadow_margin_m,
)
from tsmask_qgis.engine.sun import SunTable

LAND = np.array([0.05, 0.08, 0.07, 0.30, 0.20, 0.12], np.float32)  # sa 0.137
CLOUD = np.float32(0.5)  # every band: sa 0.5, above the 0.45 brightness of both presets


# ---- candidate heights and offsets ---------------------------------------------------------


@pytest.mark.parametrize(
    ("azimuth", "sign_row", "sign_col"),
    [(0.0, 1, 0), (90.0, 0, -1), (180.0, -1, 0), (270.0, 0, 1), (45.0, 1, -1), (225.0, -1, 1)],
)
def test_shadow_lies_opposite_the_sun(azimuth, sign_row, sign_col):
    ur, uc = shadow_direction(azimuth, 45.0, 10.0)  # north-up: rows grow southwards
    assert np.sign(round(ur, 12)) == sign_row and np.sign(round(uc, 12)) == sign_col
    # 1 m of height at a 45 degree sun moves the shadow 1 m: 0.1 pixel at 10 m.
    assert math.hypot(ur, uc) == pytest.approx(0.1)
    # A south-up grid (y grows with the row) turns the rows round.
    ur2, uc2 = shadow_direction(azimuth, 45.0, (10.0, 10.0))
    assert ur2 == pytest.approx(-ur) and uc2 == pytest.approx(uc)


@pytest.mark.parametrize("azimuth", [0.0, 17.0, 45.0, 63.4, 90.0, 133.0, 200.0, 301.0])
@pytest.mark.parametrize("elevation", [12.0, 35.0, 80.0])
def test_candidates_move_one_pixel_per_step(azimuth, elevation):
    p = ShadowParams()
    cand = candidate_offsets(azimuth, elevation, 20.0, p)
    ur, uc = shadow_direction(azimuth, elevation, 20.0)
    m = max(abs(ur), abs(uc))
    assert cand.heights[0] >= p.min_height and cand.heights[-1] <= p.max_height
    assert len(cand.heights) == math.floor(p.max_height * m) - math.ceil(p.min_height * m) + 1
    steps = np.diff(cand.offsets, axis=0)
    major = 0 if abs(ur) >= abs(uc) else 1
    assert np.all(np.abs(steps[:, major]) == 1)
    assert np.all(np.abs(steps[:, 1 - major]) <= 1)
    # each offset is the rounded projection of its height (half up)
    proj = cand.heights[:, None] * np.array([ur, uc])[None, :]
    np.testing.assert_array_equal(cand.offsets, np.floor(proj + 0.5 + 1e-9).astype(int))
    np.testing.assert_array_equal(cand.steps[cand.step_of[1:]], steps)


def test_candidate_edge_cases():
    zenith = candidate_offsets(0.0, 90.0, 20.0)
    assert zenith.offsets.tolist() == [[0, 0]] and len(zenith.steps) == 0
    # a range that moves the shadow by less than a pixel: one candidate
    thin = candidate_offsets(30.0, 80.0, 20.0, ShadowParams(min_height=1000, max_height=1010))
    assert len(thin.heights) == 1 and thin.heights[0] == 1000


def test_params_are_checked():
    for bad in (
        dict(min_height=-1),
        dict(min_height=5000, max_height=4000),
        dict(shadow_drop=0.0),
        dict(shadow_drop=1.0),
        dict(min_sun_elevation=0.0),
        dict(min_cloud_pixels=0),
        dict(min_cloud_pixels=2.5),
        dict(max_height=float("inf")),
        dict(recheck_detected=1),
    ):
        with pytest.raises(ValueError):
            ShadowParams(**bad)


# ---- a single square cloud at a known height ----------------------------------------------


def flat_scene(T, Y, X, t, square, offset):
    """Flat land on T dates; on date t a bright square cloud and its shadow at ``offset``."""
    bands = np.broadcast_to(LAND[:, None, None, None], (6, T, Y, X)).copy()
    mask = np.ones((T, Y, X), np.uint8)
    r0, c0, s = square
    mask[t, r0 : r0 + s, c0 : c0 + s] = 2
    bands[:, t, r0 : r0 + s, c0 : c0 + s] = CLOUD
    shadow = np.zeros((Y, X), bool)
    rr, cc = np.mgrid[r0 : r0 + s, c0 : c0 + s]
    rr, cc = rr + offset[0], cc + offset[1]
    ok = (rr >= 0) & (rr < Y) & (cc >= 0) & (cc < X)
    shadow[rr[ok], cc[ok]] = True
    shadow &= mask[t] != 2
    bands[:, t, shadow] *= np.float32(0.15)  # a full shadow keeps the diffuse light
    return bands, mask, shadow


@pytest.mark.parametrize(
    ("azimuth", "elevation", "k", "size"),
    [
        (40.0, 35.0, 10, 10),  # shadow clear of the cloud
        (40.0, 35.0, 3, 10),  # shadow partly under its own cloud
        (130.0, 62.0, 25, 7),
        (215.0, 20.0, 6, 12),
        (300.0, 48.0, 15, 9),
        (0.0, 30.0, 12, 8),
    ],
)
def test_single_square_cloud_exact(azimuth, elevation, k, size):
    T, Y, X, t = 5, 90, 100, 2
    cand = candidate_offsets(azimuth, elevation, 20.0)
    height, offset = cand.heights[k], cand.offsets[k]
    square = (Y // 2 - size // 2, X // 2 - size // 2, size)
    bands, mask, shadow = flat_scene(T, Y, X, t, square, offset)
    assert shadow.sum() > 0
    res = apply_shadow_geometry(mask, bands, (azimuth, elevation), 20.0, workers=2)
    got = res.mask[t] == 3
    np.testing.assert_array_equal(got, shadow)  # exactly that shadow
    assert res.dates[t].heights == (height,)  # and that height
    assert res.dates[t].objects == res.dates[t].matched == 1
    assert res.dates[t].added == shadow.sum()
    other = [d for d in range(T) if d != t]
    np.testing.assert_array_equal(res.mask[other], mask[other])
    assert np.array_equal(res.mask[t][~shadow], mask[t][~shadow])


def test_single_square_cloud_through_the_engine():
    """End to end: dea detects the cloud, the step finds its shadow and height."""
    import pandas as pd
    import xarray as xr

    T, Y, X, t = 12, 60, 70, 6
    az, el = 60.0, 40.0
    cand = candidate_offsets(az, el, 20.0)
    k = 20
    bands, _, shadow = flat_scene(T, Y, X, t, (20, 30, 9), cand.offsets[k])
    # a little texture so the majority filter has a normal scene to work on
    rng = np.random.default_rng(0)
    bands = (bands * rng.uniform(0.98, 1.02, (1, T, Y, X)).astype(np.float32)).astype(np.float32)
    ds = xr.Dataset(
        {
            b: (("time", "y", "x"), bands[i])
            for i, b in enumerate(("blue", "green", "red", "nir", "swir1", "swir2"))
        },
        coords={
            "time": pd.date_range("2020-01-01", periods=T, freq="5D"),
            "y": 6.1e6 - 20.0 * np.arange(Y),
            "x": 7.0e5 + 20.0 * np.arange(X),
        },
    )
    mask = classify(ds, preset="dea", runner="threads")
    assert (mask.values[t, 20:29, 30:39] == 2).all()
    res = shadow_geometry(mask, ds, sun=(np.full(T, az), np.full(T, el)))
    np.testing.assert_array_equal(res.mask.values[t] == 3, shadow)
    assert res.dates[t].heights == (cand.heights[k],)
    assert "shadow_geometry" in res.mask.attrs and res.mask.dims == ("time", "y", "x")


# ---- the darkness vote ----------------------------------------------------------------------


def series(sa_values, labels):
    """A 1 x 1 pixel series with the given six-band means (flat spectra) and labels."""
    sa = np.asarray(sa_values, np.float32)
    bands = np.broadcast_to(sa[None, :, None, None], (6, len(sa), 1, 1)).copy()
    return bands, np.asarray(labels, np.uint8)[:, None, None]


def votes_of(sa_values, labels, drop=0.4):
    bands, mask = series(sa_values, labels)
    v = compute_votes(mask, bands, shadow_drop=drop)[:, 0, 0]
    ref = reference_votes(mask, bands, drop)[:, 0, 0]
    np.testing.assert_array_equal(v, ref)
    return v.tolist()


def test_vote_neighbours_and_ties():
    # t=2 (label 3) sits between clear dates 0 (left, skipping the cloud at 1) and 3.
    assert votes_of([0.2, 0.6, 0.05, 0.2, 0.2], [1, 2, 3, 1, 1])[2] == 1
    # cloud and no-observation dates have no vote; a clear date is judged against others
    v = votes_of([0.2, 0.6, 0.05, 0.2, 0.2], [1, 2, 3, 0, 1])
    assert v[1] == 0 and v[3] == 0 and v[2] == 1  # neighbours 0 and 4
    # darker than each neighbour, not their mean: one bright (hazy) neighbour is not enough
    assert votes_of([0.1, 0.07, 0.5], [1, 1, 1])[1] == -1  # 0.07 > 0.6 x 0.1
    assert votes_of([0.1, 0.055, 0.5], [1, 1, 1])[1] == 1
    # left side finished: the two nearest after; right side finished: the two before
    assert votes_of([0.05, 0.2, 0.09], [1, 1, 1])[0] == 1  # 0.05 < 0.6 * 0.09 = 0.054
    assert votes_of([0.05, 0.2, 0.08], [1, 1, 1])[0] == -1  # 0.05 > 0.6 * 0.08
    assert votes_of([0.08, 0.2, 0.05], [1, 1, 1])[2] == -1
    # fewer than two clear neighbours: no vote
    assert votes_of([0.2, 0.05], [1, 3]) == [0, 0]
    # a tie (sa exactly k x neighbour, in float32) is not dark
    k = np.float32(1 - 0.5)
    assert votes_of([0.25, float(k * np.float32(0.25)), 0.25], [1, 1, 1], drop=0.5)[1] == -1


def test_nodata_and_float_input():
    bands, mask = series([0.2, 0.05, 0.2, 0.2], [1, 3, 1, 1])
    ints = np.rint(bands * 10000).astype(np.int16)
    ints[2, 2] = -999  # the right neighbour has a nodata band: skipped
    v = compute_votes(mask, ints, shadow_drop=0.4, nodata=-999)[:, 0, 0]
    np.testing.assert_array_equal(v, reference_votes(mask, ints, 0.4, nodata=-999)[:, 0, 0])
    assert v[1] == 1 and v[2] == 0
    floats = bands.copy()
    floats[4, 2] = np.nan
    v = compute_votes(mask, floats, shadow_drop=0.4)[:, 0, 0]
    # date 2 is not observed: dates 0 and 3 have one clear neighbour each (date 1 is shadow)
    assert v.tolist() == [0, 1, 0, 0]


# ---- the other rules ------------------------------------------------------------------------


def test_unreachable_dark_spike_becomes_clear_unless_a_cloud_could_hide():
    T, Y, X = 4, 40, 40
    az, el = 90.0, 60.0  # shadows fall west; clouds lie east of their shadows
    p = ShadowParams(max_height=600.0)  # at most 600/tan(60)/20 = 17 px
    bands = np.broadcast_to(LAND[:, None, None, None], (6, T, Y, X)).copy()
    mask = np.ones((T, Y, X), np.uint8)
    t = 1
    for r, c in ((10, 5), (30, 30)):
        bands[:, t, r, c] *= np.float32(0.2)  # dark, and detected as shadow
        mask[t, r, c] = 3
    res = apply_shadow_geometry(mask, bands, (az, el), 20.0, params=p)
    # (10, 5): the sunward ray (east) stays on seen, cloud-free ground: not a shadow.
    assert res.mask[t, 10, 5] == 1 and res.dates[t].removed == 1
    # (30, 30): the ray leaves the grid within the height range: a cloud may be there.
    assert res.mask[t, 30, 30] == 3
    # A cloud east of (10, 5) within reach keeps it; so does a gap in the data there.
    for value in (2, 0):
        m2 = mask.copy()
        m2[t, 9:12, 12:15] = value
        assert apply_shadow_geometry(m2, bands, (az, el), 20.0, params=p).mask[t, 10, 5] == 3
    ref, _ = reference_shadow_geometry(mask, bands, az, el, 20.0, p)
    np.testing.assert_array_equal(res.mask, ref)


def test_recheck_detected_shadow():
    T, Y, X = 4, 10, 10
    bands = np.broadcast_to(LAND[:, None, None, None], (6, T, Y, X)).copy()
    mask = np.ones((T, Y, X), np.uint8)
    mask[1, 4, 4] = 3  # detected shadow on ground as bright as on its clear dates
    res = apply_shadow_geometry(mask, bands, (45.0, 50.0), 20.0)
    assert res.mask[1, 4, 4] == 1 and res.dates[1].not_dark == 1
    keep = ShadowParams(recheck_detected=False)
    assert apply_shadow_geometry(mask, bands, (45.0, 50.0), 20.0, params=keep).mask[1, 4, 4] == 3


def test_low_or_missing_sun_leaves_the_date_alone():
    T, Y, X, t = 4, 50, 50, 1
    cand = candidate_offsets(40.0, 35.0, 20.0)
    bands, mask, _ = flat_scene(T, Y, X, t, (10, 25, 8), cand.offsets[5])
    el = np.array([35.0, 9.9, 35.0, 35.0])
    res = apply_shadow_geometry(mask, bands, (np.full(T, 40.0), el), 20.0)
    np.testing.assert_array_equal(res.mask, mask)
    assert res.dates[t].skipped == "sun too low"
    el[t] = np.nan
    res = apply_shadow_geometry(mask, bands, (np.full(T, 40.0), el), 20.0)
    assert res.dates[t].skipped == "no sun position"
    (note,) = res.notes()
    assert "1 of 4" in note and "below 10 degrees" in note
    el[t] = 10.0  # at the limit: runs
    assert apply_shadow_geometry(mask, bands, (40.0, el), 20.0).dates[t].skipped is None


# ---- the oracle on random scenes --------------------------------------------------------------


def random_scene(seed):
    rng = np.random.default_rng(seed)
    T, Y, X = int(rng.integers(3, 7)), int(rng.integers(6, 20)), int(rng.integers(6, 20))
    mask = np.ones((T, Y, X), np.uint8)
    for t in range(T):
        for _ in range(rng.integers(0, 4)):
            r, c = rng.integers(0, Y), rng.integers(0, X)
            h, w = rng.integers(1, 6, 2)
            mask[t, r : r + h, c : c + w] = 2
        for _ in range(rng.integers(0, 6)):
            r, c = rng.integers(0, Y), rng.integers(0, X)
            h, w = rng.integers(1, 4, 2)
            blk = mask[t, r : r + h, c : c + w]
            blk[blk != 2] = 3
        if rng.random() < 0.2:
            mask[t, :, : rng.integers(1, 4)] = 0
    base = rng.integers(300, 2500, size=(6, 1, Y, X))
    gain = rng.uniform(0.15, 1.2, size=(1, T, Y, X))
    bands = np.rint(base * gain).astype(np.int16)
    bands[:, mask == 0] = -999
    az = rng.uniform(0, 360, T)
    el = rng.uniform(8, 85, T)
    p = ShadowParams(
        min_height=float(rng.choice([0.0, 50.0, 200.0])),
        max_height=float(rng.uniform(300, 3000)),
        shadow_drop=float(rng.uniform(0.1, 0.7)),
        min_cloud_pixels=int(rng.integers(1, 6)),
        recheck_detected=bool(rng.random() < 0.7),
    )
    pixel = float(rng.choice([10.0, 20.0, 30.0, 60.0]))
    return mask, bands, az, el, p, pixel


@given(st.integers(0, 2**32 - 1))
def test_engine_equals_oracle(seed):
    mask, bands, az, el, p, pixel = random_scene(seed)
    ref, infos = reference_shadow_geometry(mask, bands, az, el, pixel, p, nodata=-999)
    for workers in (1, 3):
        res = apply_shadow_geometry(
            mask, bands, (az, el), pixel, params=p, nodata=-999, workers=workers
        )
        np.testing.assert_array_equal(res.mask, ref)
        for t, info in enumerate(infos):
            if el[t] < p.min_sun_elevation:
                assert res.dates[t].skipped and not info
                continue
            cand = candidate_offsets(az[t], el[t], pixel, p)
            want = sorted(cand.heights[k] for _, k, _ in info if k >= 0)
            assert sorted(res.dates[t].heights) == want
            assert res.dates[t].objects == len(info)


def test_float_input_equals_oracle():
    mask, bands, az, el, p, pixel = random_scene(7)
    refl = bands.astype(np.float32) / np.float32(10000)
    refl[:, mask == 0] = np.nan
    res = apply_shadow_geometry(mask, refl, (az, el), pixel, params=p)
    ref, _ = reference_shadow_geometry(mask, refl, az, el, pixel, p)
    np.testing.assert_array_equal(res.mask, ref)
    # a sequence of six (T, Y, X) arrays works like the stacked cube
    res2 = apply_shadow_geometry(mask, list(refl), (az, el), pixel, params=p)
    np.testing.assert_array_equal(res2.mask, ref)


def test_reference_date_tie_goes_to_the_lowest_height():
    # A 1-pixel object with two candidate offsets landing on equally dark pixels.
    mask = np.ones((1, 6), np.uint8)
    mask[0, 0] = 2
    vote = np.array([[0, 1, -1, 1, -1, -1]], np.int8)
    offs = np.array([[0, 1], [0, 2], [0, 3]])
    out, info = reference_shadow_date(mask, vote, offs, 1)
    assert info == [(1, 0, 1)] and out.tolist() == [[2, 3, 1, 1, 1, 1]]


# ---- the margin -------------------------------------------------------------------------------


def test_margin_helpers():
    assert shadow_margin_m(12000, 10) == pytest.approx(12000 / math.tan(math.radians(10)))
    assert shadow_margin_m(12000, 10) == pytest.approx(68055.4, abs=0.1)
    assert shadow_margin_m(1000, 45) == pytest.approx(1000)
    assert shadow_margin_m(1000, 90) == 0.0
    # the lowest sun among the dates the step runs on (8 degrees is skipped)
    assert series_margin_m([8.0, 30.0, 60.0]) == pytest.approx(shadow_margin_m(12000, 30))
    assert series_margin_m([5.0]) == 0.0
    assert margin_pixels(1000.0, 20.0) == (50, 50)
    assert margin_pixels(1001.0, (-20.0, 10.0)) == (51, 101)
    a = np.arange(2 * 10 * 12).reshape(2, 10, 12)
    assert crop_margin(a, (2, 3)).shape == (2, 6, 6)
    assert crop_margin(a, 1)[0, 0, 0] == a[0, 1, 1]
    with pytest.raises(ValueError):
        crop_margin(a, 5)
    with pytest.raises(ValueError):
        shadow_margin_m(1000, 0)


def test_detect_on_a_margin_then_crop_equals_the_big_scene():
    """A cloud outside the area casts its shadow in: a margin finds it, the bare area cannot."""
    az, el = 45.0, 40.0  # sun north-east: shadows fall south-west
    p = ShadowParams(max_height=1500.0)
    res_m = 20.0
    margin = margin_pixels(shadow_margin_m(p.max_height, el), res_m)  # 90 px
    area = 30
    T, Y, X = 6, area + 2 * margin[0] + 40, area + 2 * margin[1] + 40
    big_area = (
        slice(None),
        slice(margin[0] + 20, margin[0] + 20 + area),
        slice(margin[1] + 20, margin[1] + 20 + area),
    )
    cand = candidate_offsets(az, el, res_m, p)
    t = 3
    bands = np.broadcast_to(LAND[:, None, None, None], (6, T, Y, X)).copy()
    mask = np.ones((T, Y, X), np.uint8)
    # cloud north-east of the area, inside the margin, whose shadow falls into the area
    k = 40
    off = cand.offsets[k]
    r0 = margin[0] + 20 + 5 - off[0]
    c0 = margin[1] + 20 + 10 - off[1]
    _, m1, sh = flat_scene(T, Y, X, t, (r0, c0, 8), off)
    mask[t] = m1[t]
    bands[:, t, r0 : r0 + 8, c0 : c0 + 8] = CLOUD
    bands[:, t, sh] *= np.float32(0.15)
    # a second cloud far outside the margin, and dark speckle everywhere on another date
    mask[2, 2:8, 2:8] = 2
    bands[:, 2, 2:8, 2:8] = CLOUD
    rng = np.random.default_rng(1)
    speck = rng.random((Y, X)) < 0.02
    bands[:, 4, speck] *= np.float32(0.2)
    mask[4, speck] = 3
    whole = apply_shadow_geometry(mask, bands, (az, el), res_m, params=p).mask[big_area]
    # the loaded grid: the area plus the margin
    ys = slice(20, 20 + area + 2 * margin[0])
    xs = slice(20, 20 + area + 2 * margin[1])
    loaded = apply_shadow_geometry(
        mask[:, ys, xs], bands[:, :, ys, xs], (az, el), res_m, params=p
    ).mask
    np.testing.assert_array_equal(crop_margin(loaded, margin), whole)
    assert (whole[t] == 3).sum() > 20  # the shadow from outside is in the area
    # and unreachable speckle inside the area was returned to clear on the margin grid
    assert (whole[4] == 3).sum() < (mask[big_area][4] == 3).sum()
    # without the margin the cloud is not seen and the shadow is missed
    bare = apply_shadow_geometry(
        mask[big_area], bands[(slice(None), *big_area)], (az, el), res_m, params=p
    ).mask
    assert (bare[t] == 3).sum() == 0


# ---- the xarray layer and bad input -----------------------------------------------------------


@pytest.fixture(scope="module")
def small_scene():
    from tsmask_qgis.evaluate import make_scene

    return make_scene(shape=(16, 40, 44), seed=4, cloud_amount=0.3, cloud_layers=2)


def test_xarray_layer(small_scene):
    sc = small_scene
    mask = classify(sc.ds, preset="dea", runner="threads")
    sun = SunTable(sc.sun_azimuth, sc.sun_elevation, ("metadata",) * len(sc.sun_azimuth))
    res = shadow_geometry(mask, sc.ds, sun=sun, workers=2)
    direct = apply_shadow_geometry(
        mask.values, sc.bands, (sc.sun_azimuth, sc.sun_elevation), sc.resolution, nodata=-999
    )
    np.testing.assert_array_equal(res.mask.values, direct.mask)
    assert res.notes() == []
    # computed from the area's centre: the caller is told where the sun came from
    res2 = shadow_geometry(mask, sc.ds, center_lonlat=(149.1, -35.3))
    # (the scene's times are dates only: 10:30 local solar time)
    assert any("10:30 local solar time" in n for n in res2.notes())
    assert "10:30" in res2.mask.attrs["shadow_geometry_notes"]
    with pytest.raises(ValueError, match="center_lonlat"):
        shadow_geometry(mask, sc.ds)
    geo = mask.assign_coords(spatial_ref=mask.spatial_ref.copy())
    geo.spatial_ref.attrs["crs_wkt"] = 'GEOGCRS["WGS 84"]'
    with pytest.raises(ValueError, match="geographic"):
        shadow_geometry(geo, sc.ds, sun=sun)
    deg = mask.assign_coords(
        x=149 + 0.0002 * np.arange(mask.sizes["x"]), y=-35 - 0.0002 * np.arange(mask.sizes["y"])
    )
    with pytest.raises(ValueError, match="degrees"):
        shadow_geometry(deg.drop_vars("spatial_ref"), sc.ds, sun=sun)


def test_bad_input():
    mask = np.ones((3, 5, 5), np.uint8)
    bands = np.zeros((6, 3, 5, 5), np.float32)
    with pytest.raises(ValueError, match="6, time"):
        apply_shadow_geometry(mask, bands[:5], (0.0, 45.0), 20.0)
    with pytest.raises(ValueError, match="shape"):
        apply_shadow_geometry(mask, bands[:, :2], (0.0, 45.0), 20.0)
    with pytest.raises(ValueError, match="pixel_size"):
        apply_shadow_geometry(mask, bands, (0.0, 45.0), -20.0)
    with pytest.raises(ValueError, match="class values"):
        apply_shadow_geometry(mask * 5, bands, (0.0, 45.0), 20.0)
    with pytest.raises(ValueError, match="sun"):
        apply_shadow_geometry(mask, bands, 45.0, 20.0)
    with pytest.raises(ValueError, match="one dtype"):
        apply_shadow_geometry(mask, [bands[0].astype(np.float64), *bands[1:]], (0.0, 45.0), 20.0)
