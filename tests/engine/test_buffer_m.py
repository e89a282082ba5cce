"""Buffers in metres (docs/shadow_geometry.md): hand-worked disks, the brute-force oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsmask_qgis.engine.buffers import buffer_m, buffer_table, parse_distance
from tsmask_qgis.engine.reference_shadow import reference_buffer_m


def one_pixel(value=2, shape=(15, 15)):
    m = np.ones(shape, np.uint8)
    m[shape[0] // 2, shape[1] // 2] = value
    return m


def test_disk_of_sixty_metres_at_twenty():
    out = buffer_m(one_pixel(), cloud_m=60, pixel_size=20.0)
    c = 7
    # (3, 0) is 60 m away: included; (2, 2) is 56.6 m: included; (3, 1) is 63.2 m: not.
    assert out[c + 3, c] == 2 and out[c, c - 3] == 2
    assert out[c + 2, c + 2] == 2
    assert out[c + 3, c + 1] == 1 and out[c + 4, c] == 1
    assert (out == 2).sum() == 29  # integer points with i^2 + j^2 <= 9
    # anisotropic pixels: 20 m rows, 10 m columns -> 3 rows, 6 columns each way
    out = buffer_m(one_pixel(), cloud_m=60, pixel_size=(-20.0, 10.0))
    assert out[c, c + 6] == 2 and out[c, c + 7] == 1 and out[c + 3, c] == 2 and out[c + 4, c] == 1
    # per row offset: 60 m, sqrt(60^2 - 40^2) = 44.7 m -> 4 columns, 56.6 m -> 5, 60 m -> 6
    assert buffer_table(60, (-20.0, 10.0)).tolist() == [0, 4, 5, 6, 5, 4, 0]


def test_cloud_wins_and_only_clear_changes():
    m = np.ones((1, 9, 9), np.uint8)
    m[0, 4, 2] = 2
    m[0, 4, 6] = 3
    m[0, 0, :] = 0
    m[0, 4, 4] = 3
    out = buffer_m(m, cloud_m=45, shadow_m=45, pixel_size=20.0)
    assert out[0, 4, 3] == 2  # next to both the cloud and a shadow: cloud
    assert out[0, 4, 5] == 3
    assert (out[0, 0] == 0).all()  # no observation never changes
    assert out[0, 4, 4] == 3 and out[0, 4, 2] == 2
    # measured on the input: no growth from added pixels
    assert out[0, 4, 8] == 3 and out[0, 4, 0] == 2 and out[0, 7, 2] == 1
    np.testing.assert_array_equal(out, reference_buffer_m(m, 45, 45, 20.0))


def test_zero_is_no_buffer_and_shapes():
    m = np.stack([one_pixel(2), one_pixel(3)])
    np.testing.assert_array_equal(buffer_m(m, pixel_size=20.0), m)
    np.testing.assert_array_equal(buffer_m(m, cloud_m=10, pixel_size=20.0), m)  # < a pixel
    two_d = buffer_m(m[0], cloud_m="40m", pixel_size=20.0)
    assert two_d.shape == (15, 15) and (two_d == 2).sum() == 13
    with pytest.raises(ValueError, match="pixel_size"):
        buffer_m(m, cloud_m=60)


def test_parse_distance():
    assert parse_distance(60) == 60.0
    assert parse_distance("60m") == parse_distance("60 m") == parse_distance(" 60 ") == 60.0
    assert parse_distance("0.06km") == pytest.approx(60.0)
    assert parse_distance("1e2m") == 100.0
    for bad in ("-5m", "60 ft", "m", "", True, -1, float("nan")):
        with pytest.raises(ValueError):
            parse_distance(bad)


def test_dataarray_uses_its_coordinates():
    from tsmask_qgis.evaluate import make_scene

    truth = make_scene(shape=(4, 30, 30), seed=2, resolution=30.0).truth
    out = buffer_m(truth, cloud_m=90, shadow_m=30)
    ref = reference_buffer_m(truth.values, 90, 30, 30.0)
    np.testing.assert_array_equal(out.values, ref)
    assert out.dims == truth.dims and "buffers_m" in out.attrs
    assert out.coords["x"].equals(truth.coords["x"])


@given(
    seed=st.integers(0, 2**32 - 1),
    cloud_m=st.sampled_from([0.0, 10.0, 20.0, 28.28, 40.0, 60.0, 85.0]),
    shadow_m=st.sampled_from([0.0, 15.0, 20.0, 50.0, 100.0]),
    steps=st.sampled_from([(-20.0, 20.0), (-10.0, 10.0), (20.0, 10.0), (-30.0, 60.0)]),
    workers=st.integers(1, 3),
)
def test_equals_brute_force(seed, cloud_m, shadow_m, steps, workers):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 16)), int(rng.integers(1, 16)))
    m = rng.choice(np.array([0, 1, 1, 1, 1, 1, 2, 3], np.uint8), size=shape)
    out = buffer_m(m, cloud_m=cloud_m, shadow_m=shadow_m, pixel_size=steps, workers=workers)
    np.testing.assert_array_equal(out, reference_buffer_m(m, cloud_m, shadow_m, steps))
