"""Hypothesis strategies for the engine's exactness tests.

Cubes are built so the awkward cases of algorithm.md come up often: each
pixel's dates are drawn from a small palette of spectra (so window means tie
exactly), with zero-reflectance dates, NaN/±inf bands, declared integer
nodata, all-clear (flat) and all-nodata pixels, very short series, negative
reflectance and ``-0.0``. Hypothesis draws the shape and the knobs (which
shrink well); numpy builds the values from a drawn seed (fast).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from tsmask_qgis.engine import Preset, get_preset
from tsmask_qgis.engine._presets import THIN_CLOUD_MODES

__all__ = [
    "SPECTRA",
    "Cube",
    "cubes",
    "label_images",
    "presets",
    "seed_thin_cloud_presets",
]

#: Spectral shapes (blue green red nir swir1 swir2), scaled by a level.
SPECTRA: tuple[tuple[float, ...], ...] = (
    (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),  # flat: mndwi 0, msavi 0
    (0.33, 0.5, 0.42, 2.08, 1.67, 1.0),  # vegetation (mndwi -0.54)
    (1.05, 1.05, 1.05, 1.1, 0.95, 0.8),  # cloud-like
    (0.55, 0.65, 0.8, 0.95, 1.6, 1.35),  # bare ground (mndwi < -0.38)
    (0.55, 1.65, 0.55, 4.4, 1.65, 1.1),  # dark water (mndwi 0, msavi high)
    (1.07, 1.07, 1.6, 1.07, 1.33, 1.07),  # water (msavi < 0)
    (1.46, 1.02, 0.88, 0.59, 1.46, 0.59),  # thin-cloud-like (wbi < 0, grbm < 0)
    (1.2, 1.05, 0.9, 1.35, 1.35, 0.9),  # thin cloud
    (-1.5, 1.0, -1.5, -1.5, -0.5, -2.0),  # negative bands, mndwi > 0
)

#: Brightness levels (the six-band mean is about level x shape mean); dyadic
#: values make exact ties, the others sit near the thresholds' scale.
LEVELS: tuple[float, ...] = (
    0.0,
    0.01,
    0.02,
    0.03,
    0.04,
    0.05,
    0.055,
    0.06,
    0.1,
    0.12,
    0.125,
    0.14,
    0.15,
    0.2,
    0.25,
    0.3,
    0.375,
    0.45,
    0.5,
    0.75,
)


@dataclass(frozen=True)
class Cube:
    """A band cube for the engine and the oracle, with its input conventions."""

    bands: np.ndarray = field(repr=False)  # (6, T, Y, X)
    nodata: float | int | None
    scale: float | int | None
    note: str

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return (
            f"Cube({self.note}, shape={self.bands.shape}, dtype={self.bands.dtype}, "
            f"nodata={self.nodata!r}, scale={self.scale!r}, "
            f"bands=np.array({self.bands.tolist()!r}, dtype=np.{self.bands.dtype}))"
        )


def _palette(rng: np.random.Generator, k: int, levels: np.ndarray) -> np.ndarray:
    """``k`` date spectra (k, 6) float32."""
    shapes = np.asarray(SPECTRA, dtype=np.float64)
    out = np.empty((k, 6), dtype=np.float64)
    for i in range(k):
        shape = shapes[rng.integers(len(shapes))]
        out[i] = shape * levels[rng.integers(len(levels))]
    return out.astype(np.float32)


@st.composite
def cubes(
    draw: st.DrawFn,
    *,
    max_t: int = 10,
    max_side: int = 4,
    min_side: int = 1,
    dtypes: tuple[str, ...] = ("float32", "int16", "float64", "uint16"),
) -> Cube:
    """Random cubes with ties, nodata, zero dates, flat and all-nodata pixels."""
    T = draw(st.integers(0, max_t))
    Y = draw(st.integers(min_side, max_side))
    X = draw(st.integers(min_side, max_side))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    seed = draw(st.integers(0, 2**32 - 1))
    palette_max = draw(st.integers(1, 5))
    n_levels = draw(st.integers(1, len(LEVELS)))
    p_nodata = draw(st.sampled_from((0.0, 0.0, 0.1, 0.3)))
    p_zero = draw(st.sampled_from((0.0, 0.0, 0.1, 0.3)))
    p_noise = draw(st.sampled_from((0.0, 0.0, 0.2)))
    rng = np.random.default_rng(seed)
    levels = rng.choice(np.asarray(LEVELS), size=n_levels, replace=False)

    refl = np.empty((6, T, Y, X), dtype=np.float32)
    nodata_mask = np.zeros((6, T, Y, X), dtype=bool)
    zero_mask = np.zeros((T, Y, X), dtype=bool)
    for y in range(Y):
        for x in range(X):
            mode = rng.choice(["normal"] * 6 + ["flat", "all_nodata", "all_zero"])
            k = 1 if mode == "flat" else int(rng.integers(1, palette_max + 1))
            pal = _palette(rng, k, levels)
            idx = rng.integers(0, k, size=T)
            refl[:, :, y, x] = pal[idx].T
            if p_noise:
                noisy = rng.random(T) < p_noise
                refl[:, noisy, y, x] *= rng.uniform(0.8, 1.25, size=(6, int(noisy.sum())))
            if mode == "all_nodata":
                nodata_mask[rng.integers(0, 6), :, y, x] = True
            elif mode == "all_zero":
                zero_mask[:, y, x] = True
            else:
                dates = rng.random(T) < p_nodata
                bands_hit = rng.integers(0, 6, size=T)
                nodata_mask[bands_hit[dates], np.nonzero(dates)[0], y, x] = True
                zero_mask[:, y, x] = rng.random(T) < p_zero
    refl[:, zero_mask] = 0.0

    if dtype.kind == "f" and draw(st.integers(0, 5)) == 0:
        # float DN (as xarray gives integer bands with NaN): scaled by 10000
        arr = np.rint(refl.astype(np.float64) * 10000).astype(dtype)
        arr[nodata_mask] = np.nan
        return Cube(arr, None, 10000, f"{dtype} DN scale 10000")
    if dtype.kind == "f":
        bad_kind = draw(st.sampled_from(("nan", "inf", "-inf", "mixed", "declared")))
        if draw(st.booleans()) and dtype == np.float32:
            # -0.0 zero dates (every sum starts from +0.0: they count as zero)
            refl[:, zero_mask] = -0.0
        arr = refl.astype(dtype)
        nodata: float | int | None = None
        if bad_kind == "declared":
            nodata = -999.0
            arr[nodata_mask] = -999.0
        else:
            fills = {"nan": [np.nan], "inf": [np.inf], "-inf": [-np.inf]}
            choices = fills.get(bad_kind, [np.nan, np.inf, -np.inf])
            arr[nodata_mask] = rng.choice(choices, size=int(nodata_mask.sum()))
        return Cube(arr, nodata, None, f"{dtype} {bad_kind}")

    # integers scaled by 10000
    info = np.iinfo(dtype)
    dn = np.clip(np.rint(refl.astype(np.float64) * 10000), info.min, info.max).astype(dtype)
    choices = ["declared0", "undeclared"] + (["declared-999"] if info.min < 0 else [])
    mode = draw(st.sampled_from(choices))
    if mode == "declared-999":
        dn[nodata_mask] = -999
        return Cube(dn, -999, None, f"{dtype} nodata -999")
    if mode == "declared0":
        dn[nodata_mask] = 0  # L2A: 0 is nodata, so zero dates are nodata too
        return Cube(dn, 0, None, f"{dtype} nodata 0")
    # nothing declared: the "nodata" values are ordinary (dark or negative) data
    dn[nodata_mask] = -999 if info.min < 0 else 0
    scale = draw(st.sampled_from((None, 10000)))
    return Cube(dn, None, scale, f"{dtype} undeclared")


#: Threshold values to try (defaults and clearly different ones).
_OVERRIDES: dict[str, tuple[object, ...]] = {
    "brightness": (0.3, 0.45, 0.6),
    "cloud_spike": (0.2, 0.42, 0.63, 1.5),
    "shadow_spike": (0.2, 0.42, 0.63, 1.5),
    "cloud_floor": (0.0, 0.1, 0.14, 0.3),
    "shadow_ceiling": (0.02, 0.055, 0.1),
    "dark_sa": (0.0, 0.055, 0.1),
    "dark_mndwi": (-0.5, 0.0, 0.5),
    "passes": ((1,), (2,), (3,), (1, 2, 3), (3, 1), (4, 2)),
    "dwi": (-0.5, -0.05),
    "thd": (0.01, 0.05, 0.1),
    "land_cloud": (-0.6, -0.38, 0.0),
    "avi": (-0.1, 0.06, 0.2),
    "wtd": (-0.5, -0.2),
}
_SEED_ONLY: dict[str, tuple[object, ...]] = {
    "thin_wbi": (-0.2, -0.02, 0.1),
    "thin_rgm_low": (0.0, 0.06),
    "thin_rgm_high": (0.29, 0.6),
    "thin_mndwi": (-0.3, -0.1),
    "thin_grbm": (0.0, 0.2),
    "filter_min_count": (1, 2, 3, 4, 5),
    "thin_cloud": THIN_CLOUD_MODES,
}
_DEA_ONLY: dict[str, tuple[object, ...]] = {
    "cloud2": (0.0, 0.05, 0.2),
    "majority_passes": (0, 1, 2, 3),
    "majority_min_count": (2, 3, 5, 6, 7),
}


@st.composite
def presets(draw: st.DrawFn, *, names: tuple[str, ...] = ("seed", "dea")) -> Preset:
    """A preset, with some thresholds overridden about half of the time."""
    name = draw(st.sampled_from(names))
    if not draw(st.booleans()):
        return get_preset(name)
    table = dict(_OVERRIDES)
    table.update(_SEED_ONLY if name == "seed" else _DEA_ONLY)
    keys = draw(st.lists(st.sampled_from(sorted(table)), max_size=4, unique=True))
    overrides = {k: draw(st.sampled_from(table[k])) for k in keys}
    return get_preset(name, **overrides)


@st.composite
def seed_thin_cloud_presets(draw: st.DrawFn) -> Preset:
    """seed with each ``thin_cloud`` mode, sometimes with another spike threshold."""
    mode = draw(st.sampled_from(THIN_CLOUD_MODES))
    spike = draw(st.sampled_from((0.42, 0.0, 0.25, 1.0)))
    return get_preset("seed", thin_cloud=mode, cloud_spike=spike)


@st.composite
def label_images(draw: st.DrawFn, *, max_t: int = 3, max_side: int = 12) -> np.ndarray:
    """uint8 class cubes (t, Y, X) with blobs, lines and scattered pixels."""
    T = draw(st.integers(1, max_t))
    Y = draw(st.integers(0, max_side))
    X = draw(st.integers(0, max_side))
    seed = draw(st.integers(0, 2**32 - 1))
    weights = draw(
        st.sampled_from(
            (
                (0.05, 0.6, 0.2, 0.15),
                (0.0, 0.9, 0.1, 0.0),
                (0.1, 0.3, 0.3, 0.3),
                (0.0, 0.15, 0.45, 0.4),
                (0.3, 0.5, 0.1, 0.1),
            )
        )
    )
    rng = np.random.default_rng(seed)
    img = rng.choice(4, size=(T, Y, X), p=weights).astype(np.uint8)
    if Y and X and draw(st.booleans()):
        # a one-pixel line or a small block of one label
        lab = np.uint8(rng.integers(2, 4))
        t = int(rng.integers(T))
        if rng.random() < 0.5:
            row = int(rng.integers(Y))
            img[t, row, int(rng.integers(X)) :] = lab
        else:
            y0, x0 = int(rng.integers(Y)), int(rng.integers(X))
            img[t, y0 : y0 + 3, x0 : x0 + 3] = lab
    return img
