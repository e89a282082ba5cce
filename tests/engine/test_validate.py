"""Input validation: each mistake gets an error naming the problem and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.cubes import make_ds, stack_bands
from tsmask_qgis.engine import InputError, _core, classify, parse_memory
from tsmask_qgis.engine._api import choose_runner


@pytest.fixture(scope="module")
def ds():
    return make_ds((6, 5, 4), seed=0, kind="int16")


def test_missing_band_suggests_the_rename(ds) -> None:
    renamed = ds.rename({"nir": "nir08", "swir1": "swir16", "blue": "B02"})
    with pytest.raises(InputError, match="missing band") as err:
        classify(renamed, runner="threads")
    msg = str(err.value)
    assert "nir08" in msg and "'nir08': 'nir'" in msg and "'swir16': 'swir1'" in msg
    assert "'B02': 'blue'" in msg


def test_broad_nir_is_not_the_band(ds) -> None:
    with pytest.raises(InputError, match="B8A"):
        classify(ds.rename({"nir": "B08"}), runner="threads")


def test_unknown_names_list_the_conventions(ds) -> None:
    with pytest.raises(InputError, match="nbart_blue"):
        classify(ds.rename({"blue": "band1"}), runner="threads")


def test_dims(ds) -> None:
    with pytest.raises(InputError, match=r"ds.rename\(\{'lat': 'y', 'lon': 'x'\}\)"):
        classify(ds.rename({"y": "lat", "x": "lon"}), runner="threads")
    with pytest.raises(InputError, match="to_dataset"):
        classify(ds.to_array("band"), runner="threads")
    # (y, x, time) order is accepted and transposed
    want = classify(ds, runner="threads").values
    got = classify(ds.transpose("y", "x", "time"), runner="threads")
    np.testing.assert_array_equal(got.values, want)


def test_dtypes(ds) -> None:
    bad = ds.copy()
    bad["red"] = bad["red"].astype(bool)
    with pytest.raises(InputError, match="dtype bool"):
        classify(bad, runner="threads")
    mixed = ds.copy()
    mixed["red"] = mixed["red"].astype(np.float32) / 10000
    with pytest.raises(InputError, match="some bands are float"):
        classify(mixed, runner="threads")
    scaled = ds.astype(np.float32)
    with pytest.raises(InputError, match="scaled by 10000"):
        classify(scaled, runner="threads")


def test_int32_input_is_normalised_not_compiled(ds) -> None:
    want = classify(ds, runner="threads").values
    np.testing.assert_array_equal(classify(ds.astype(np.int32), runner="threads").values, want)


def test_time_axis(ds) -> None:
    with pytest.raises(InputError, match=r"not sorted.*sortby"):
        classify(ds.isel(time=[1, 0, 2, 3]), runner="threads")
    with pytest.raises(InputError, match="duplicate"):
        classify(ds.isel(time=[0, 1, 1, 2]), runner="threads")
    with pytest.raises(InputError, match="time axis is empty"):
        classify(ds.isel(time=slice(0, 0)), runner="threads")
    with pytest.raises(InputError, match="no pixels"):
        classify(ds.isel(x=slice(0, 0)), runner="threads")


def test_short_series_is_valid(ds) -> None:
    short = ds.isel(time=slice(0, 2))
    got = classify(short, runner="threads")
    np.testing.assert_array_equal(got.values, _core.classify_array(stack_bands(short), nodata=-999))


def test_all_nodata(ds) -> None:
    empty = ds.copy()
    empty["green"] = empty["green"] * 0 - 999
    for runner in ("threads", "processes", "dask"):
        with pytest.raises(InputError, match="no observation at all"):
            classify(empty, runner=runner, workers=1)


def test_not_a_dataset() -> None:
    with pytest.raises(InputError, match="classify_array"):
        classify(np.zeros((6, 2, 2, 2)), runner="threads")


def test_options(ds) -> None:
    with pytest.raises(ValueError, match="unknown runner"):
        classify(ds, runner="gpu")
    with pytest.raises(ValueError, match="workers"):
        classify(ds, runner="threads", workers=0)
    with pytest.raises(ValueError, match="unknown threshold"):
        classify(ds, runner="threads", cloud_spyke=0.3)
    with pytest.raises(ValueError, match="4GB"):
        classify(ds, runner="threads", max_memory="lots")
    with pytest.raises(ValueError, match="client"):
        classify(ds, runner="threads", client=object())
    assert parse_memory("4GB") == 4 * 10**9
    assert parse_memory("1.5 GiB") == int(1.5 * 2**30)
    assert parse_memory(1000) == 1000


def test_auto_runner_choice() -> None:
    kw = {"input_bytes": 10**9, "output_bytes": 10**8, "budget": 2 * 10**9}
    assert choose_runner("auto", lazy=False, **kw) == "threads"
    assert choose_runner("auto", lazy=True, **kw) == "threads"
    assert choose_runner("auto", lazy=True, **{**kw, "budget": 5 * 10**8}) == "dask"
    # class cube too big for the budget: stream through the memory-mapped cube instead
    assert choose_runner("auto", lazy=True, **{**kw, "budget": 10**8}) == "threads"
    assert choose_runner("auto", lazy=False, client=object(), **kw) == "dask"
    assert choose_runner("processes", lazy=False, **kw) == "processes"
