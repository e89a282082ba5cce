"""compare(): class mappings, alignment and figures checked against hand-computed matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tsmask_qgis.evaluate import compare, to_classes

# One date, 3 x 4 pixels. Mask rows, reference columns (clear, cloud, shadow):
MASK = np.array(
    [
        [1, 1, 2, 2],
        [3, 3, 1, 0],
        [2, 1, 1, 2],
    ],
    dtype=np.uint8,
)
REF = np.array(
    [
        [1, 2, 2, 2],
        [3, 1, 1, 1],
        [0, 3, 1, 1],
    ],
    dtype=np.uint8,
)
# Pairs (mask, ref) observed by both: (1,1) (1,2) (2,2) (2,2) (3,3) (3,1) (1,1) (1,3) (1,1) (2,1)
# left out: (0,1) mask only; (2,0) reference only.
EXPECTED = np.array(
    [
        [3, 1, 1],  # mask clear: ref clear 3, cloud 1, shadow 1
        [1, 2, 0],  # mask cloud: ref clear 1, cloud 2
        [1, 0, 1],  # mask shadow: ref clear 1, shadow 1
    ]
)


def test_hand_computed_confusion_matrix():
    ev = compare(MASK, REF)
    np.testing.assert_array_equal(ev.confusion, EXPECTED)
    assert ev.pixels == 10
    assert ev.excluded == {"mask_only": 1, "reference_only": 1, "both": 0}
    assert ev.overall_accuracy == pytest.approx(6 / 10)
    assert ev.producers_accuracy == pytest.approx(
        {"clear": 3 / 5, "cloud": 2 / 3, "cloud_shadow": 1 / 2}
    )
    assert ev.users_accuracy == pytest.approx(
        {"clear": 3 / 5, "cloud": 2 / 3, "cloud_shadow": 1 / 2}
    )
    # Cloud-or-shadow as positive: TP = 2+0+0+1 = 3, FP = 1+1 = 2, FN = 1+1 = 2, TN = 3.
    cs = ev.cloud_or_shadow
    assert cs["precision"] == pytest.approx(3 / 5)
    assert cs["recall"] == pytest.approx(3 / 5)
    assert cs["f1"] == pytest.approx(2 * 3 / (2 * 3 + 2 + 2))
    assert cs["accuracy"] == pytest.approx(6 / 10)
    # Kappa: po = 0.6, pe = (5*5 + 3*3 + 2*2) / 100 = 0.38.
    assert ev.kappa == pytest.approx((0.6 - 0.38) / (1 - 0.38))


def test_asymmetric_matrix_orientation():
    # Mask says cloud where the reference says clear: a commission error of cloud.
    mask = np.array([[2, 2, 2, 1]], dtype=np.uint8)
    ref = np.array([[1, 1, 2, 1]], dtype=np.uint8)
    ev = compare(mask, ref)
    assert ev.confusion[1, 0] == 2 and ev.confusion[0, 1] == 0  # rows mask, columns reference
    assert ev.users_accuracy["cloud"] == pytest.approx(1 / 3)
    assert ev.producers_accuracy["cloud"] == 1.0
    assert ev.producers_accuracy["cloud_shadow"] is None  # no reference shadow at all
    assert ev.cloud_or_shadow["recall"] == 1.0
    assert ev.cloud_or_shadow["precision"] == pytest.approx(1 / 3)


def test_per_date_figures_and_totals():
    mask = np.stack([MASK, np.ones_like(MASK), np.zeros_like(MASK)])
    ref = np.stack([REF, np.ones_like(REF), REF])
    ev = compare(mask, ref)
    d0, d1, d2 = ev.per_date
    np.testing.assert_array_equal(d0.confusion, EXPECTED)
    assert d1.overall_accuracy == 1.0 and d1.f1 is None  # all clear: F1 undefined
    assert d1.fraction(2, "mask") == 0.0
    assert d2.pixels == 0 and d2.overall_accuracy is None
    assert d0.fraction(2, "reference") == pytest.approx(3 / 10)
    assert d0.fraction(3, "mask") == pytest.approx(2 / 10)
    np.testing.assert_array_equal(ev.counts.sum(0), ev.table)
    assert ev.pixels == 10 + 12
    assert ev.excluded == {"mask_only": 1 + 11, "reference_only": 1, "both": 1}
    assert ev.dates == ("#0", "#1", "#2")


def test_scl_mapping():
    scl = np.arange(12)
    np.testing.assert_array_equal(to_classes(scl, "scl"), [0, 0, 1, 3, 1, 1, 1, 1, 2, 2, 2, 1])


def test_fmask_mapping():
    np.testing.assert_array_equal(to_classes(np.arange(6), "fmask"), [0, 1, 2, 3, 1, 1])


def test_compare_with_scl_reference():
    scl = np.array([[4, 9, 3, 0], [6, 10, 8, 11], [1, 5, 2, 7]])
    mask = np.array([[1, 2, 3, 1], [1, 2, 1, 1], [1, 1, 1, 1]], dtype=np.uint8)
    ev = compare(mask, scl, reference_kind="scl")
    assert ev.excluded == {"mask_only": 0, "reference_only": 2, "both": 0}
    np.testing.assert_array_equal(ev.confusion, [[6, 1, 0], [0, 2, 0], [0, 0, 1]])


def test_float_reference_with_nan_is_no_observation():
    ref = np.array([[1.0, np.nan], [2.0, 3.0]])
    ev = compare(np.array([[1, 1], [2, 3]], dtype=np.uint8), ref)
    assert ev.excluded["reference_only"] == 1 and ev.overall_accuracy == 1.0


@pytest.mark.parametrize(
    ("values", "kind", "match"),
    [
        (np.array([[1, 4]]), "tsmask", "4 are not tsmask classes"),
        (np.array([[12, 255]]), "scl", "12, 255 are not scl classes"),
        (np.array([[6]]), "fmask", "6 are not fmask classes"),
        (np.array([[-1]]), "tsmask", "-1 are not"),
        (np.array([[1.5]]), "tsmask", "fractions"),
    ],
)
def test_values_outside_the_kind_are_explained(values, kind, match):
    with pytest.raises(ValueError, match=match):
        compare(np.ones(values.shape, np.uint8), values, reference_kind=kind)


def test_unknown_kind():
    with pytest.raises(ValueError, match=r"unknown reference_kind 'sen2cor'.*tsmask, scl, fmask"):
        compare(MASK, REF, reference_kind="sen2cor")


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="3 x 4 pixels and the reference 3 x 5"):
        compare(MASK, np.ones((3, 5), np.uint8))
    with pytest.raises(ValueError, match="2 dates and the reference 3"):
        compare(np.ones((2, 3, 4), np.uint8), np.ones((3, 3, 4), np.uint8))


def _da(arr, dates, x0=0.0):
    return xr.DataArray(
        arr,
        dims=("time", "y", "x"),
        coords={
            "time": pd.to_datetime(dates),
            "y": 100.0 - 10 * np.arange(arr.shape[1]),
            "x": x0 + 10 * np.arange(arr.shape[2]),
        },
    )


def test_dates_are_matched_and_leftovers_listed():
    m = _da(np.stack([MASK, MASK, np.ones_like(MASK)]), ["2020-01-01", "2020-01-06", "2020-01-11"])
    r = _da(np.stack([np.ones_like(REF), REF]), ["2020-01-11", "2020-01-01"])
    ev = compare(m, r)
    assert ev.dates == ("2020-01-01", "2020-01-11")
    np.testing.assert_array_equal(ev.per_date[0].confusion, EXPECTED)
    assert ev.per_date[1].overall_accuracy == 1.0
    assert ev.unmatched_mask_dates == ("2020-01-06",)
    assert ev.unmatched_reference_dates == ()


def test_dates_match_by_day_when_times_differ():
    m = _da(MASK[None], ["2020-01-01T00:00"])
    r = _da(REF[None], ["2020-01-01T23:59:59"])
    np.testing.assert_array_equal(compare(m, r).confusion, EXPECTED)


def test_no_common_date_is_explained():
    m = _da(MASK[None], ["2020-01-01"])
    r = _da(REF[None], ["2021-01-01"])
    with pytest.raises(ValueError, match="no date in common"):
        compare(m, r)


def test_different_grids_are_explained():
    m = _da(MASK[None], ["2020-01-01"])
    r = _da(REF[None], ["2020-01-01"], x0=20.0)
    with pytest.raises(ValueError, match="different x coordinates"):
        compare(m, r)


def test_single_date_dataarray_with_scalar_time():
    m = _da(MASK[None], ["2020-01-01"]).isel(time=0)
    r = _da(REF[None], ["2020-01-01"])
    ev = compare(m, r)
    assert ev.dates == ("2020-01-01",)
    np.testing.assert_array_equal(ev.confusion, EXPECTED)


def test_against_synthetic_truth():
    from tsmask_qgis.evaluate import make_scene

    s = make_scene(shape=(6, 40, 40), seed=9, missing_dates=0.0)
    assert compare(s.truth, s.truth).overall_accuracy == 1.0
    # Calling every shadow clear loses exactly the shadow pixels.
    m = s.truth.where(s.truth != 3, 1)
    ev = compare(m, s.truth)
    assert ev.producers_accuracy["cloud_shadow"] == 0.0
    n_shadow = int((s.truth.values == 3).sum())
    assert ev.confusion[0, 2] == n_shadow
    assert ev.overall_accuracy == pytest.approx(1 - n_shadow / ev.pixels)


def test_importing_evaluate_does_not_import_numba_or_qgis():
    import subprocess
    import sys

    code = (
        "import sys, tsmask_qgis.evaluate, tsmask_qgis.evaluate.io, tsmask_qgis.cli.evaluate; "
        "print('numba' in sys.modules, any(m == 'qgis' or m.startswith('qgis.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
