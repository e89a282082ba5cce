"""spatial_filter, buffer and majority_filter on numpy and DataArray masks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tsmask_qgis.engine import buffer, majority_filter, spatial_filter
from tsmask_qgis.engine.reference import (
    reference_majority,
    reference_seed_buffer,
    reference_seed_filter,
)


@pytest.fixture(scope="module")
def mask() -> np.ndarray:
    rng = np.random.default_rng(4)
    m = rng.choice(np.array([0, 1, 1, 1, 2, 3], np.uint8), size=(5, 19, 23))
    m[:, 5:12, 6:15] = 2
    return m


def _per_date(fn, m):
    return np.stack([fn(img) for img in m])


@pytest.mark.parametrize("runner", ["threads", "processes"])
def test_numpy_masks_match_the_oracle(mask, runner) -> None:
    np.testing.assert_array_equal(
        spatial_filter(mask, "seed", runner=runner), _per_date(reference_seed_filter, mask)
    )
    np.testing.assert_array_equal(
        buffer(mask, runner=runner), _per_date(reference_seed_buffer, mask)
    )
    once = _per_date(reference_majority, mask)
    np.testing.assert_array_equal(majority_filter(mask, runner=runner), once)
    twice = _per_date(reference_majority, once)
    np.testing.assert_array_equal(majority_filter(mask, passes=2, runner=runner), twice)
    np.testing.assert_array_equal(spatial_filter(mask, "dea", runner=runner), twice)


def test_same_type_and_shape_back(mask) -> None:
    da = xr.DataArray(
        mask, dims=("time", "y", "x"), coords={"x": np.arange(23.0)}, name="tsmask", attrs={"a": 1}
    )
    got = buffer(da, workers=2)
    assert isinstance(got, xr.DataArray) and got.attrs == {"a": 1} and got.name == "tsmask"
    np.testing.assert_array_equal(got.x, da.x)
    np.testing.assert_array_equal(got.values, buffer(mask))
    img = spatial_filter(mask[2], "seed")
    assert img.shape == mask[2].shape and isinstance(img, np.ndarray)
    np.testing.assert_array_equal(img, reference_seed_filter(mask[2]))
    assert mask.sum() == np.asarray(mask).sum()  # the input is not modified


def test_bad_masks() -> None:
    with pytest.raises(ValueError, match="0, 1, 2, 3"):
        buffer(np.full((2, 3, 3), 7, np.uint8))
    with pytest.raises(ValueError, match="integer"):
        buffer(np.zeros((2, 3, 3), np.float32))
    with pytest.raises(ValueError, match="passes"):
        majority_filter(np.zeros((2, 3, 3), np.uint8), passes=-1)
