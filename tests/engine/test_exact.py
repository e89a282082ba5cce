"""The fast engine equals the oracle on every pixel and date (algorithm.md: "exactly").

Property tests on random cubes (tests/engine/strategies.py) compare
``_core.detect_block`` / ``spatial_block`` / ``classify_array`` with
``reference.py``, both presets, with and without the spatial steps, with
threshold overrides. Explicit cases below pin the corners found while
building the engine (each documented with the sentence of the spec it
tests), and the real Wright (ACT) sample is checked on a crop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsmask_qgis.engine import get_preset
from tsmask_qgis.engine.reference import (
    reference_classify,
    reference_detect,
    reference_majority,
    reference_seed_buffer,
    reference_seed_filter,
)

from .strategies import Cube, cubes, label_images, presets, seed_thin_cloud_presets

core = pytest.importorskip("tsmask_qgis.engine._core")

F = np.float32
BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
WRIGHT = Path("/work/shared/data/wright_act/cube.npz")
_REPO_WRIGHT = Path(__file__).resolve().parents[2] / "tsmask_qgis" / "data" / "wright_act.npz"

# Budgets: the whole file takes ~15 s warm on a quiet machine (plus numba's
# first compilation when its cache is cold). Settings come on top of the "ci"
# profile of tests/conftest.py (derandomized, no database); HYPOTHESIS_PROFILE=dev
# gives random examples on every run.
FAST = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _diff(fast: np.ndarray, ref: np.ndarray) -> str:
    where = np.argwhere(fast != ref)
    head = ", ".join(
        f"(t={t}, y={y}, x={x}) fast={fast[t, y, x]} ref={ref[t, y, x]}" for t, y, x in where[:8]
    )
    return f"{len(where)} pixel-dates differ: {head}"


def assert_same(fast: np.ndarray, ref: np.ndarray) -> None:
    assert fast.dtype == np.uint8 and ref.dtype == np.uint8
    assert fast.shape == ref.shape
    assert np.array_equal(fast, ref), _diff(fast, ref)


# --------------------------------------------------------------------------- temporal


@FAST
@given(cube=cubes(), preset=presets())
def test_detect_block_equals_oracle(cube: Cube, preset: object) -> None:
    fast = core.detect_block(cube.bands, preset, nodata=cube.nodata, scale=cube.scale)
    ref = reference_detect(cube.bands, preset, nodata=cube.nodata, scale=cube.scale)  # type: ignore[arg-type]
    assert_same(fast, ref)


@FAST
@given(cube=cubes(max_t=30, max_side=2, dtypes=("float32", "int16")), preset=presets())
def test_detect_block_equals_oracle_longer_series(cube: Cube, preset: object) -> None:
    fast = core.detect_block(cube.bands, preset, nodata=cube.nodata, scale=cube.scale)
    ref = reference_detect(cube.bands, preset, nodata=cube.nodata, scale=cube.scale)  # type: ignore[arg-type]
    assert_same(fast, ref)


@FAST
@given(
    cube=cubes(max_t=30, max_side=2, dtypes=("float32", "int16")), preset=seed_thin_cloud_presets()
)
def test_thin_cloud_modes_equal_oracle(cube: Cube, preset: object) -> None:
    """seed's thin_cloud = spectral | temporal | off, long series (algorithm.md, Thin cloud)."""
    fast = core.detect_block(cube.bands, preset, nodata=cube.nodata, scale=cube.scale)
    ref = reference_detect(cube.bands, preset, nodata=cube.nodata, scale=cube.scale)  # type: ignore[arg-type]
    assert_same(fast, ref)


# --------------------------------------------------------------------------- spatial


@FAST
@given(img=label_images(), preset=presets())
def test_spatial_steps_equal_oracle(img: np.ndarray, preset: object) -> None:
    p = preset
    if p.name == "seed":  # type: ignore[attr-defined]
        filt = np.stack([reference_seed_filter(d, min_count=p.filter_min_count) for d in img])  # type: ignore[attr-defined]
        assert_same(core.spatial_block(img, p, step="filter"), filt)
        buf = np.stack([reference_seed_buffer(d) for d in img])
        assert_same(core.spatial_block(img, p, step="buffer"), buf)
        both = np.stack([reference_seed_buffer(d) for d in filt])
        assert_same(core.spatial_block(img, p, step="all"), both)
    else:
        want = img.copy()
        for _ in range(p.majority_passes):  # type: ignore[attr-defined]
            want = np.stack([reference_majority(d, min_count=p.majority_min_count) for d in want])  # type: ignore[attr-defined]
        assert_same(core.spatial_block(img, p, step="majority"), want)
        assert_same(core.spatial_block(img, p, step="all"), want)


# --------------------------------------------------------------------------- whole job


@SLOW
@given(
    cube=cubes(max_t=9, max_side=6, min_side=3),
    preset=presets(),
    spatial=st.booleans(),
    workers=st.sampled_from((1, 2)),
)
def test_classify_array_equals_oracle(
    cube: Cube, preset: object, spatial: bool, workers: int
) -> None:
    fast = core.classify_array(
        cube.bands,
        preset=preset,
        spatial=spatial,
        workers=workers,
        nodata=cube.nodata,
        scale=cube.scale,
    )
    ref = reference_classify(
        cube.bands,
        preset,  # type: ignore[arg-type]
        spatial=spatial,
        nodata=cube.nodata,
        scale=cube.scale,
    )
    assert_same(fast, ref)


def test_classify_array_overrides_reach_the_engine() -> None:
    # a spike series: cloud by default, clear with cloud_spike raised by keyword
    # (13 dates: in a short series dea's 3-date windows lack neighbours, mid = 0
    # and the ratio is +inf, whatever the threshold)
    s = np.tile(np.array([0.12] * 6 + [0.3] + [0.12] * 6, np.float32), (6, 1))
    cube = np.broadcast_to(s[:, :, None, None], (6, 13, 3, 3)).copy()
    for name in ("seed", "dea"):
        ref_default = reference_classify(cube, name, spatial=False)
        ref_over = reference_classify(cube, name, spatial=False, cloud_spike=5.0)
        assert (ref_default[6] == 2).all() and (ref_over == 1).all()
        fast_default = core.classify_array(cube, preset=name, spatial=False, workers=1)
        fast_over = core.classify_array(
            cube, preset=name, spatial=False, workers=1, cloud_spike=5.0
        )
        assert_same(fast_default, ref_default)
        assert_same(fast_over, ref_over)


# --------------------------------------------------------------------------- explicit corners


def _flat_series(values: list[float]) -> np.ndarray:
    return np.tile(np.asarray(values, np.float32), (6, 1))


def _dea_tie_series() -> np.ndarray:
    """L L L P Q R S L L L: windows (P,Q,R) and (Q,R,S) differ in s/3, tie in the dea key."""
    from tsmask_qgis.engine.reference import reference_indices

    def sa(v: np.float32) -> np.float32:
        return reference_indices(v, v, v, v, v, v)["sa"]

    def key(vals: list[np.float32]) -> tuple[np.float32, np.float32]:
        s = F(0)
        for v in vals:
            s = F(s + v)
        m = F(s / F(3))
        return m, F(np.float64(m) / np.float64(3))

    q, s_val = F(0.3), F(0.12)
    for _ in range(100):
        s_val = np.nextafter(s_val, F(1))
        kb = key([sa(q), sa(q), sa(s_val)])
        p = s_val
        for _ in range(8):
            p = np.nextafter(p, F(1))
            ka = key([sa(p), sa(q), sa(q)])
            if ka[0] > kb[0] and ka[1] == kb[1]:
                return _flat_series([0.12, 0.12, 0.12, p, q, q, s_val, 0.12, 0.12, 0.12])
    raise AssertionError("no dea key tie found")


def _corner_cases() -> list[tuple[str, np.ndarray, dict[str, object]]]:
    veg = np.array([0.04, 0.06, 0.05, 0.25, 0.20, 0.12], np.float32)
    cases: list[tuple[str, np.ndarray, dict[str, object]]] = []
    # seed: ties broken larger k first; "skip if changed[k]" checks position k only
    cases.append(
        (
            "seed tie",
            _flat_series([0.125, 0.125, 0.125, 0.125, 0.375, 0.375, 0.125, 0.125, 0.125, 0.125]),
            {"passes": (3,)},
        )
    )
    cases.append(("dea key tie", _dea_tie_series(), {"passes": (3,)}))
    # zero dates (m2 = 0 -> +inf -> shadow), as +0.0 and as -0.0
    for zero in (0.0, -0.0):
        s = np.tile(veg[:, None], (1, 7))
        s[:, 3] = zero
        cases.append((f"zero date {zero!r}", s, {}))
    # a whole series of zeros and a series with one observed date
    cases.append(("all zero", np.zeros((6, 9), np.float32), {}))
    one = np.full((6, 5), np.nan, np.float32)
    one[:, 2] = 0.3
    cases.append(("one observed", one, {}))
    # dea: no date on one side; fallback walk floor(3N/2) past the window
    cases.append(("dea fallback", _flat_series([0.287, 0.18, 0.12, 0.12, 0.12, 0.12]), {}))
    # negative reflectance around a window: the "Otherwise" of R(N)
    n = [-0.03, 0.02, -0.03, -0.03, -0.01, -0.04]
    w = [-0.03, 0.01, -0.03, -0.02, 0.04, -0.03]
    cases.append(("negative", np.array([n, n, w, n, n], np.float32).T.copy(), {}))
    # exactly 3N clear dates around nodata dates
    s = _flat_series([0.12, np.nan, 0.3, 0.12, np.inf, 0.12, 0.12, 0.3, 0.3, 0.12])
    cases.append(("3N boundary", s, {}))
    return cases


@pytest.mark.parametrize("preset", ["seed", "dea"])
@pytest.mark.parametrize(
    ("name", "series", "overrides"), _corner_cases(), ids=[c[0] for c in _corner_cases()]
)
def test_corner_cases(
    name: str, series: np.ndarray, overrides: dict[str, object], preset: str
) -> None:
    p = get_preset(preset, **overrides)
    cube = series[:, :, None, None]
    assert_same(core.detect_block(cube, p), reference_detect(cube, p))


def test_seed_filter_line_cascade_matches() -> None:
    img = np.ones((1, 5, 24), np.uint8)
    img[0, 2, 2:22] = 2
    out = core.spatial_block(img, "seed", step="filter")
    assert (out == 1).all()


# --------------------------------------------------------------------------- real data


def _wright() -> np.ndarray:
    for path in (WRIGHT, _REPO_WRIGHT):
        if path.exists():
            with np.load(path) as d:
                return np.stack([d[b] for b in BANDS])
    pytest.skip("the Wright (ACT) sample is not available")


@pytest.mark.parametrize("preset", ["seed", "dea", "seed-temporal"])
def test_real_sample_crop_equals_oracle(preset: str) -> None:
    bands = _wright()[:, :, 40:60, 30:50]  # 30 dates x 20 x 20, int16
    assert bands.dtype == np.int16 and bands.shape == (6, 30, 20, 20)
    p = get_preset("seed", thin_cloud="temporal") if preset == "seed-temporal" else preset
    ref = reference_classify(bands, p)
    fast = core.classify_array(bands, preset=p, workers=2)
    assert_same(fast, ref)
    # not a trivial agreement: the crop has every class
    assert set(np.unique(ref)) >= {1, 2, 3} or preset == "dea"
    assert set(np.unique(ref)) >= {1, 2}
    if preset == "seed-temporal":  # the temporal rule calls less of this crop cloud
        spectral = reference_classify(bands, "seed")
        assert (ref == 2).sum() < (spectral == 2).sum()
