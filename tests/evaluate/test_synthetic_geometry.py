"""make_scene's sun and cloud-height options: shadows fall where the geometry says."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tsmask_qgis.evaluate import make_scene


def test_records_sun_heights_and_pixel_size():
    sc = make_scene(shape=(6, 20, 24), seed=1, resolution=30.0)
    assert sc.resolution == 30.0
    assert sc.cloud_heights.shape == (6, 1)
    np.testing.assert_array_equal(sc.cloud_heights[:, 0], sc.cloud_height)
    np.testing.assert_array_equal(sc.shadow_offsets[:, 0], sc.shadow_offset)
    same = make_scene(shape=(6, 20, 24), seed=1, resolution=30.0, cloud_layers=1)
    assert same.ds.identical(sc.ds) and same.truth.identical(sc.truth)
    with pytest.raises(ValueError, match="cloud_layers"):
        make_scene(shape=(2, 8, 8), cloud_layers=0)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_shadow_is_the_cloud_moved_away_from_the_sun(layers):
    az, el = 50.0, 40.0
    sc = make_scene(
        shape=(10, 80, 80),
        seed=5,
        cloud_amount=0.4,
        sun_azimuth=az,
        sun_elevation=el,
        cloud_height=(200.0, 450.0),
        cloud_layers=layers,
    )
    assert sc.cloud_heights.shape == (10, layers)
    assert np.all((sc.cloud_heights >= 200) & (sc.cloud_heights <= 450))
    np.testing.assert_allclose(sc.sun_azimuth, az)
    np.testing.assert_allclose(sc.sun_elevation, el)
    # offsets: height / tan(elevation) metres, opposite the sun (south-west here)
    run = sc.cloud_heights / math.tan(math.radians(el)) / sc.resolution
    np.testing.assert_array_equal(
        sc.shadow_offsets[..., 0], np.rint(run * math.cos(math.radians(az)))
    )
    np.testing.assert_array_equal(
        sc.shadow_offsets[..., 1], np.rint(-run * math.sin(math.radians(az)))
    )
    assert np.all(sc.shadow_offsets[..., 0] > 0) and np.all(sc.shadow_offsets[..., 1] < 0)
    op = sc.cloud_opacity.astype(np.float32)
    sh = sc.shadow_strength.astype(np.float32)
    ny, nx = op.shape[1:]
    checked = 0
    for t in range(10):
        srcs = []
        for dr, dc in sc.shadow_offsets[t]:
            rows, cols = np.mgrid[:ny, :nx]
            rr, cc = rows - dr, cols - dc
            inside = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
            srcs.append(
                (inside, np.where(inside, op[t, np.clip(rr, 0, ny - 1), np.clip(cc, 0, nx - 1)], 0))
            )
        seen = np.logical_and.reduce([s[0] for s in srcs])
        # every shadow is the opacity of the cloud at one layer's source, or none
        hit = np.zeros((ny, nx), bool)
        for _, v in srcs:
            hit |= v == sh[t]
        assert np.all(hit[seen] | (sh[t][seen] == 0))
        checked += int((seen & (sh[t] > 0)).sum())
        if layers == 1:
            np.testing.assert_array_equal(sh[t][seen], srcs[0][1][seen])
    assert checked > 500
    truth = sc.truth.values
    assert np.all(sh[truth == 3] >= 0.5)
