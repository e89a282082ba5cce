"""The numba engine (_core/_kernels) against the plain-Python oracle and known cases."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tsmask_qgis.engine import _core, get_preset
from tsmask_qgis.engine.reference import (
    reference_detect,
    reference_majority,
    reference_seed_buffer,
    reference_seed_filter,
    reference_spatial,
)
from tsmask_qgis.progress import Cancelled

ND = -999


def stress_cube(rng: np.random.Generator, T: int, Y: int, X: int, kind: str) -> np.ndarray:
    """int16 DN cube (6, T, Y, X) with ties, nodata (-999) and all-zero dates."""
    if kind == "ties":
        # Few distinct values: many equal window means, equal neighbours, equal sa.
        vals = np.array([0, 1, 300, 549, 550, 551, 1000, 1500, 3000, 4500, 4501, 6000], np.int16)
        b = rng.choice(vals, size=(6, T, Y, X)).astype(np.int16)
        same = rng.random((T, Y, X)) < 0.5
        b[:, same] = b[0, same]
    elif kind == "coarse":
        b = (rng.integers(0, 8, size=(6, T, Y, X)) * 700).astype(np.int16)
    else:  # realistic: stable land, bright cloud dates, dark shadow dates
        base = rng.uniform(0.02, 0.3, size=(6, 1, Y, X))
        r = np.repeat(base, T, axis=1) * rng.uniform(0.9, 1.1, size=(6, T, Y, X))
        cloud = rng.random((T, Y, X)) < 0.2
        r[:, cloud] += rng.uniform(0.1, 0.5, size=cloud.sum())
        shadow = rng.random((T, Y, X)) < 0.1
        r[:, shadow] *= rng.uniform(0.1, 0.6, size=shadow.sum())
        b = (r * 10000).astype(np.int16)
    nodata = rng.random((T, Y, X)) < 0.1
    b[rng.integers(0, 6), nodata] = ND
    zero = rng.random((T, Y, X)) < 0.03
    b[:, zero] = 0
    return b


def to_float(b: np.ndarray) -> np.ndarray:
    f = b.astype(np.float32) / np.float32(10000)
    f[np.broadcast_to((b == ND).any(axis=0), f.shape)] = np.nan
    return f


CASES = [
    (seed, T, kind)
    for seed, (T, kind) in enumerate(
        [
            (1, "ties"),
            (2, "coarse"),
            (3, "ties"),
            (4, "real"),
            (5, "ties"),
            (8, "coarse"),
            (9, "ties"),
            (12, "real"),
            (20, "ties"),
            (30, "coarse"),
            (40, "ties"),
            (60, "real"),
            (90, "ties"),
            (124, "real"),
        ]
    )
]


@pytest.mark.parametrize("preset", ["seed", "dea"])
@pytest.mark.parametrize(("seed", "T", "kind"), CASES)
def test_detect_matches_oracle(preset: str, seed: int, T: int, kind: str) -> None:
    rng = np.random.default_rng(1000 + seed)
    b = stress_cube(rng, T, 4, 9, kind)
    expected = reference_detect(b, preset, nodata=ND)
    np.testing.assert_array_equal(_core.detect_block(b, preset, nodata=ND), expected)
    # The same reflectances as float32, nodata as NaN.
    np.testing.assert_array_equal(_core.detect_block(to_float(b), preset), expected)


@pytest.mark.parametrize("preset", ["seed", "dea"])
def test_detect_matches_oracle_with_overrides(preset: str) -> None:
    rng = np.random.default_rng(7)
    b = stress_cube(rng, 40, 4, 8, "real")
    p = get_preset(preset, cloud_spike=0.2, shadow_spike=0.3, passes=(2, 1, 4), brightness=0.3)
    np.testing.assert_array_equal(
        _core.detect_block(b, p, nodata=ND), reference_detect(b, p, nodata=ND)
    )


def test_dtypes_agree() -> None:
    rng = np.random.default_rng(3)
    b = stress_cube(rng, 50, 3, 70, "real")
    b[b < 0] = 0  # uint16 cannot hold -999: use 0 as nodata for all
    f32 = b.astype(np.float32) / np.float32(10000)
    want = _core.detect_block(b, "seed", nodata=0)
    np.testing.assert_array_equal(_core.detect_block(b.astype(np.uint16), "seed", nodata=0), want)
    np.testing.assert_array_equal(_core.detect_block(f32, "seed", nodata=0), want)
    np.testing.assert_array_equal(
        _core.detect_block(f32.astype(np.float64), "seed", nodata=0), want
    )
    np.testing.assert_array_equal(_core.detect_block(b.astype(np.int32), "seed", nodata=0), want)


def test_float_nonfinite_is_nodata() -> None:
    rng = np.random.default_rng(5)
    f = to_float(stress_cube(rng, 30, 2, 5, "real"))
    f[2, 4, 0, 0] = np.inf
    f[0, 5, 1, 3] = -np.inf
    f[5, 6, 1, 4] = np.nan
    got = _core.detect_block(f, "dea")
    assert got[4, 0, 0] == 0 and got[5, 1, 3] == 0 and got[6, 1, 4] == 0
    np.testing.assert_array_equal(got, reference_detect(f, "dea"))


def test_only_declared_nodata_for_integers() -> None:
    b = np.full((6, 9, 1, 1), 1000, np.int16)
    b[:, 3] = 0
    assert _core.detect_block(b, "seed")[3, 0, 0] != 0  # 0 is data unless declared
    assert _core.detect_block(b, "seed", nodata=0)[3, 0, 0] == 0


def series(sa_values: list[float]) -> np.ndarray:
    """A one-pixel cube whose six bands all equal the given values (mndwi 0)."""
    v = np.asarray(sa_values, np.float32)
    return np.broadcast_to(v[None, :, None, None], (6, len(v), 1, 1)).copy()


def test_known_spikes() -> None:
    # Stable land (sa 0.1) with one bright date (cloud) and one dark vegetated date
    # (shadow: msavi 0.15 and mndwi -0.33 keep the post rules from clearing it).
    b = series([0.1] * 12)
    b[:, 3, 0, 0] = 0.3
    b[:, 8, 0, 0] = [0.03, 0.03, 0.02, 0.1, 0.06, 0.05]
    want = [1] * 12
    want[3] = 2
    want[8] = 3
    for preset in ("seed", "dea"):
        b_dea = b.copy()
        if preset == "dea":  # dea needs a larger jump (0.63) and a brighter cloud (> 0.14)
            b_dea[:, 3, 0, 0] = 0.4
        got = _core.detect_block(b_dea, preset)[:, 0, 0]
        assert got.tolist() == want, preset


def test_seed_zero_window_is_shadow() -> None:
    # m2 = 0 gives (mid - 0) / 0 = +inf: shadow (seed); dea's post rule differs.
    sa = [0.1] * 9
    sa[4] = 0.0
    got = _core.detect_block(series(sa), "seed")[:, 0, 0]
    assert got[4] == 3
    assert got.tolist() == reference_detect(series(sa), "seed")[:, 0, 0].tolist()


@pytest.mark.parametrize("preset", ["seed", "dea"])
def test_repeat_pass_finds_what_the_first_missed(preset: str) -> None:
    # Date 4 (0.25) is visited first and fails (its neighbour date 5 is bright
    # too); date 5, visited next, becomes cloud. Only a second N=1 pass sees
    # date 4 against the dark date 6 and marks it: the kernels must not skip
    # that pass (they skip repeats proven to change nothing).
    sa = [0.2, 0.2, 0.2, 0.2, 0.25, 0.225, 0.06, 0.06, 0.06, 0.06]
    one = get_preset(preset, passes=(1,), cloud_spike=0.42)
    assert reference_detect(series(sa), one)[4:6, 0, 0].tolist() == [1, 2]
    for passes in ((1, 1), (1, 1, 1), (1, 2, 1)):
        p = get_preset(preset, passes=passes, cloud_spike=0.42)
        want = reference_detect(series(sa), p)[:, 0, 0]
        assert want[4] == 2
        assert _core.detect_block(series(sa), p)[:, 0, 0].tolist() == want.tolist(), passes
    np.testing.assert_array_equal(
        _core.detect_block(series(sa), preset), reference_detect(series(sa), preset)
    )


def test_short_series_untouched_by_spike_test() -> None:
    # n < 3N: the seed pass does nothing, whatever the values.
    got = _core.detect_block(series([0.1, 0.4]), "seed")[:, 0, 0]
    assert got.tolist() == [1, 1]
    assert _core.detect_block(series([]), "seed").shape == (0, 1, 1)


def test_views_and_out() -> None:
    rng = np.random.default_rng(11)
    b = stress_cube(rng, 33, 12, 150, "real")
    full = _core.detect_block(b, "seed", nodata=ND)
    part = _core.detect_block(b[:, :, 3:9, 5:140:2], "seed", nodata=ND)
    np.testing.assert_array_equal(part, full[:, 3:9, 5:140:2])
    out = np.zeros((33, 12, 150), np.uint8)
    _core.detect_block(b[:, :, 2:5], "dea", nodata=ND, out=out[:, 2:5])
    np.testing.assert_array_equal(out[:, 2:5], _core.detect_block(b, "dea", nodata=ND)[:, 2:5])
    assert not out[:, :2].any()


def random_mask(rng: np.random.Generator, T: int, Y: int, X: int) -> np.ndarray:
    return rng.choice(np.arange(4, dtype=np.uint8), size=(T, Y, X), p=[0.1, 0.5, 0.25, 0.15])


@pytest.mark.parametrize("shape", [(3, 1, 1), (2, 2, 9), (4, 3, 3), (5, 17, 23), (2, 40, 3)])
def test_spatial_matches_oracle(shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    m = random_mask(rng, *shape)
    for preset in ("seed", "dea"):
        np.testing.assert_array_equal(_core.spatial_block(m, preset), reference_spatial(m, preset))
    for t in range(shape[0]):
        img = m[t]
        filt = _core.spatial_block(m[t : t + 1], "seed", step="filter")[0]
        np.testing.assert_array_equal(filt, reference_seed_filter(img))
        buf = _core.spatial_block(m[t : t + 1], "seed", step="buffer")[0]
        np.testing.assert_array_equal(buf, reference_seed_buffer(img))
        maj = _core.spatial_block(img, get_preset("dea", majority_passes=1), step="majority")
        np.testing.assert_array_equal(maj, reference_majority(img))


def test_seed_filter_cascades_along_a_line() -> None:
    # algorithm.md: a one-pixel line of 20 cloud pixels is erased by a whole-image scan.
    m = np.ones((1, 5, 24), np.uint8)
    m[0, 2, 2:22] = 2
    assert (_core.spatial_block(m, "seed", step="filter") == 1).all()


def test_spatial_dates_subset_and_input_untouched() -> None:
    rng = np.random.default_rng(2)
    m = random_mask(rng, 6, 20, 30)
    keep = m.copy()
    for preset in ("seed", "dea"):
        full = _core.spatial_block(m, preset)
        np.testing.assert_array_equal(_core.spatial_block(m[2:5], preset), full[2:5])
        np.testing.assert_array_equal(_core.spatial_block(m[::2], preset), full[::2])
    np.testing.assert_array_equal(m, keep)


def test_spatial_rejects_wrong_step() -> None:
    m = np.ones((1, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="majority"):
        _core.spatial_block(m, "seed", step="majority")
    with pytest.raises(ValueError, match="seed"):
        _core.spatial_block(m, "dea", step="buffer")
    with pytest.raises(ValueError, match="unknown spatial step"):
        _core.spatial_block(m, "seed", step="blur")


@pytest.mark.parametrize("preset", ["seed", "dea"])
def test_classify_array_any_workers(preset: str) -> None:
    rng = np.random.default_rng(21)
    b = stress_cube(rng, 30, 37, 75, "real")
    one = _core.classify_array(b, preset=preset, workers=1, nodata=ND)
    for workers in (2, 3, 5):
        np.testing.assert_array_equal(
            _core.classify_array(b, preset=preset, workers=workers, nodata=ND), one
        )
    small = b[:, :, :9, :11]
    np.testing.assert_array_equal(
        _core.classify_array(small, preset=preset, workers=2, nodata=ND),
        reference_spatial(reference_detect(small, preset, nodata=ND), preset),
    )
    temporal = _core.classify_array(b, preset=preset, spatial=False, workers=2, nodata=ND)
    np.testing.assert_array_equal(temporal, _core.detect_block(b, preset, nodata=ND))


def test_classify_array_overrides() -> None:
    rng = np.random.default_rng(4)
    b = stress_cube(rng, 25, 6, 7, "real")
    got = _core.classify_array(b, preset="dea", spatial=False, nodata=ND, cloud_spike=0.3)
    want = reference_detect(b, get_preset("dea", cloud_spike=0.3), nodata=ND)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="unknown threshold"):
        _core.classify_array(b, preset="dea", nodata=ND, cloud_spik=0.3)


def test_progress_and_cancel() -> None:
    rng = np.random.default_rng(9)
    b = stress_cube(rng, 20, 64, 40, "real")
    seen: list[float | None] = []
    _core.classify_array(b, workers=2, nodata=ND, progress=lambda r: seen.append(r.overall))
    fractions = [f for f in seen if f is not None]
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)

    calls = 0

    def cancel_soon(report: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        _core.classify_array(b, workers=2, nodata=ND, progress=cancel_soon)
    assert calls == 3


def test_bad_input_messages() -> None:
    with pytest.raises(ValueError, match=r"\(6, time, y, x\)"):
        _core.detect_block(np.zeros((5, 2, 2, 2), np.int16), "seed")
    with pytest.raises(TypeError, match="integer"):
        _core.detect_block(np.zeros((6, 2, 2, 2), np.complex64), "seed")
    with pytest.raises(ValueError, match="runner"):
        _core.classify_array(np.zeros((6, 2, 2, 2), np.int16), runner="dask")
    with pytest.raises(ValueError, match="scale"):
        _core.detect_block(np.zeros((6, 2, 2, 2), np.int16), "seed", scale=0)


def test_engine_import_does_not_import_numba() -> None:
    code = (
        "import sys, tsmask_qgis.engine, tsmask_qgis.engine._core; "
        "assert 'numba' not in sys.modules, 'numba imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("preset", ["seed", "dea"])
def test_tuned_kernel_equals_straightforward_kernel(preset: str) -> None:
    # The tuned passes (no sorting, heap, re-tests) against the literal sorted
    # visit on a realistic scene with clouds of every thickness.
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[2] / "bench"))
    from kernels import synthetic_cube

    from tests.engine.simple_kernels import detect_simple

    cube = synthetic_cube(124, 6, 300, seed=3)
    T, Y, X = cube.shape[1:]
    p = get_preset(preset)
    th = _core.thresholds(p)
    src, (s_b, s_t, s_y, _) = _core._flat(cube)
    want = np.empty(T * Y * X, np.uint8)
    detect_simple(
        src, s_b, s_t, s_y, T, Y, X, preset == "dea", True, True, -999.0,
        np.float32(10000), th, np.asarray(p.passes, np.int64), want, Y * X, X,
    )  # fmt: skip
    got = _core.detect_block(cube, p, nodata=-999)
    np.testing.assert_array_equal(got, want.reshape(T, Y, X))
