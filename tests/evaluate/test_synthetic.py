"""The synthetic scene generator: layout, determinism and a physically consistent truth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tsmask_qgis.evaluate import BANDS, make_scene


@pytest.fixture(scope="module")
def scene():
    return make_scene(shape=(40, 64, 72), seed=3, cloud_amount=0.35, swath_edges=0.2)


def _neighbour_clear(values: np.ndarray, truth: np.ndarray, reach: int = 4) -> np.ndarray:
    """Per pixel-date, the median of ``values`` on the same pixel's clear dates within ``reach``."""
    nt = values.shape[0]
    out = np.full(values.shape, np.nan, dtype=np.float64)
    for t in range(nt):
        lo, hi = max(0, t - reach), min(nt, t + reach + 1)
        win = np.where(truth[lo:hi] == 1, values[lo:hi], np.nan)
        win[t - lo] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
            out[t] = np.nanmedian(win, axis=0)
    return out


def test_layout(scene):
    ds = scene.ds
    assert list(ds.data_vars) == list(BANDS)
    for b in BANDS:
        assert ds[b].dims == ("time", "y", "x")
        assert ds[b].dtype == np.int16
        assert ds[b].attrs["nodata"] == -999
    assert ds.sizes == {"time": 40, "y": 64, "x": 72}
    assert np.issubdtype(ds.time.dtype, np.datetime64)
    assert (np.diff(ds.time.values) == np.timedelta64(5, "D")).all()
    assert str(ds.time.values[0])[:10] == "2017-01-01"
    gbox = ds.odc.geobox
    assert gbox.crs.epsg == 32755
    assert gbox.resolution.x == 20 and gbox.resolution.y == -20
    assert scene.truth.dtype == np.uint8 and scene.truth.shape == (40, 64, 72)
    assert set(np.unique(scene.truth.values)) <= {0, 1, 2, 3}
    assert scene.truth.attrs["flag_values"] == [0, 1, 2, 3]
    assert scene.landcover.shape == (64, 72)
    assert scene.bands.shape == (6, 40, 64, 72)


def test_deterministic_for_a_seed():
    a = make_scene(shape=(8, 32, 40), seed=11)
    b = make_scene(shape=(8, 32, 40), seed=11)
    c = make_scene(shape=(8, 32, 40), seed=12)
    assert a.ds.identical(b.ds) and a.truth.identical(b.truth)
    assert not np.array_equal(a.bands, c.bands)


def test_float32_matches_int16():
    i = make_scene(shape=(6, 24, 24), seed=5, missing_dates=0.3)
    f = make_scene(shape=(6, 24, 24), seed=5, missing_dates=0.3, dtype="float32")
    assert f.ds.blue.dtype == np.float32
    assert f.truth.identical(i.truth)
    np.testing.assert_allclose(f.reflectance, i.reflectance, atol=0.6e-4, equal_nan=True)


def test_nodata_exactly_where_truth_is_zero(scene):
    nodata = (scene.bands == -999).any(axis=0)
    assert nodata.any(), "the fixture should have swath edges or missing dates"
    np.testing.assert_array_equal(nodata, scene.truth.values == 0)
    # All six bands are missing together.
    assert ((scene.bands == -999).all(axis=0) == nodata).all()


def test_all_classes_and_cover_types_present(scene):
    truth = scene.truth.values
    for k in (1, 2, 3):
        assert (truth == k).mean() > 0.02, k
    assert set(np.unique(scene.landcover.values)) == set(range(7))


def test_clouds_are_brighter_than_the_pixels_clear_neighbours(scene):
    blue = scene.reflectance[0]
    truth = scene.truth.values
    ref = _neighbour_clear(blue, truth)
    sel = (truth == 2) & np.isfinite(ref)
    assert sel.sum() > 1000
    assert (blue[sel] > ref[sel]).mean() > 0.99


def test_shadows_are_darker_than_the_pixels_clear_neighbours(scene):
    sa = scene.reflectance.mean(axis=0)  # NaN where there is no observation
    truth = scene.truth.values
    ref = _neighbour_clear(sa, truth)
    sel = (truth == 3) & np.isfinite(ref)
    assert sel.sum() > 500
    assert (sa[sel] < ref[sel]).mean() > 0.97
    # A shadow takes away at least a third of the signal, on the median pixel.
    assert np.median(sa[sel] / ref[sel]) < 0.67


def test_shadow_is_the_cloud_moved_by_the_sun():
    s = make_scene(
        shape=(10, 96, 96),
        seed=2,
        cloud_amount=0.3,
        sun_azimuth=0.0,
        sun_elevation=45.0,
        cloud_height=(600.0, 600.0),
        thin_cloud_dates=0.0,
        missing_dates=0.0,
        swath_edges=0.0,
    )
    # Sun in the north at 45 degrees, clouds at 600 m: shadows 30 pixels south.
    assert (s.shadow_offset == [30, 0]).all()
    op, sh = s.cloud_opacity.astype(np.float32), s.shadow_strength.astype(np.float32)
    np.testing.assert_array_equal(sh[:, 30:, :], op[:, :-30, :])


def test_cloud_amount_controls_cloud_cover():
    fr = []
    for amount in (0.0, 0.2, 0.6):
        s = make_scene(shape=(60, 32, 32), seed=4, cloud_amount=amount, missing_dates=0.0)
        fr.append((s.truth.values == 2).mean())
    assert fr[0] == 0.0
    assert 0.08 < fr[1] < 0.35 < fr[2]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"shape": (0, 10, 10)}, "shape"),
        ({"cloud_amount": 1.5}, "cloud_amount"),
        ({"dtype": "uint8"}, "dtype"),
    ],
)
def test_bad_options_are_explained(kw, match):
    with pytest.raises(ValueError, match=match):
        make_scene(**kw)
