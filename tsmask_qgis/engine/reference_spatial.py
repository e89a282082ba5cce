"""The test oracle of the spatial steps: a literal Python reading of algorithm.md.

seed's 3x3 filter and buffer and dea's majority filter, one label image at a
time, with plain loops. :mod:`tsmask_qgis.engine.reference` (the temporal
oracle) re-exports these names.
"""

from __future__ import annotations

import numpy as np

from tsmask_qgis.engine._presets import Preset, SeedPreset, get_preset

__all__ = [
    "reference_majority",
    "reference_seed_buffer",
    "reference_seed_filter",
    "reference_spatial",
]

NO_OBS, CLEAR, CLOUD, SHADOW = 0, 1, 2, 3


def _check_image(img: np.ndarray) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D label image, got shape {arr.shape}")
    return arr.astype(np.uint8)


def reference_seed_filter(img2d: np.ndarray, *, min_count: int = 3) -> np.ndarray:
    """Seed spatial filter: in-place row-by-row scan of the interior pixels.

    A ``2``/``3`` pixel whose 3x3 block (itself included) holds fewer than
    ``min_count`` pixels that are ``2`` or ``3`` becomes ``1``; later pixels see
    earlier changes. Returns a new image.
    """
    a = _check_image(img2d).copy()
    Y, X = a.shape
    for y in range(1, Y - 1):
        for x in range(1, X - 1):
            if a[y, x] in (CLOUD, SHADOW):
                count = 0
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        if a[y + dy, x + dx] in (CLOUD, SHADOW):
                            count += 1
                if count < min_count:
                    a[y, x] = CLEAR
    return a


def reference_seed_buffer(img2d: np.ndarray) -> np.ndarray:
    """Seed spatial buffer: grow every interior ``2``/``3`` pixel into its 3x3 block.

    Reads the original image; a later pixel in the row-by-row scan overwrites
    an earlier one; only pixels that were ``1`` take the grown value.
    """
    orig = _check_image(img2d)
    copy = orig.copy()
    Y, X = orig.shape
    for y in range(1, Y - 1):
        for x in range(1, X - 1):
            lab = orig[y, x]
            if lab in (CLOUD, SHADOW):
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        copy[y + dy, x + dx] = lab
    out = orig.copy()
    for y in range(Y):
        for x in range(X):
            if orig[y, x] == CLEAR:
                out[y, x] = copy[y, x]
    return out


def reference_majority(img2d: np.ndarray, min_count: int = 6) -> np.ndarray:
    """One pass of the dea majority filter (reads the original, writes a copy)."""
    orig = _check_image(img2d)
    out = orig.copy()
    Y, X = orig.shape
    for y in range(1, Y - 1):
        for x in range(1, X - 1):
            c = int(orig[y, x])
            if c == NO_OBS:
                continue
            count = 0
            total = 0
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    if dy == 0 and dx == 0:
                        continue
                    nb = int(orig[y + dy, x + dx])
                    if nb == NO_OBS:
                        continue
                    if c == CLEAR:
                        if nb in (CLOUD, SHADOW):
                            count += 1
                            total += nb
                    elif nb == CLEAR:
                        count += 1
            if count > min_count and count > 0:  # count 0 only with a negative min_count
                if c in (CLOUD, SHADOW):
                    out[y, x] = CLEAR
                else:
                    # round(total / count), halves away from zero; exact in integers
                    # (total and count are positive): floor(total / count + 1/2).
                    out[y, x] = (2 * total + count) // (2 * count)
    return out


def reference_spatial(
    mask: np.ndarray, preset: str | Preset = "seed", **overrides: object
) -> np.ndarray:
    """The spatial steps for every date of ``mask`` ``(T, Y, X)``.

    seed: filter then buffer; dea: the majority filter ``majority_passes`` times.
    """
    p = get_preset(preset, **overrides)
    arr = np.asarray(mask)
    if arr.ndim != 3:
        raise ValueError(f"mask must have shape (T, Y, X), got {arr.shape}")
    out = np.empty(arr.shape, dtype=np.uint8)
    for t in range(arr.shape[0]):
        img = arr[t].astype(np.uint8)
        if isinstance(p, SeedPreset):
            img = reference_seed_buffer(reference_seed_filter(img, min_count=p.filter_min_count))
        else:
            for _ in range(p.majority_passes):
                img = reference_majority(img, min_count=p.majority_min_count)
        out[t] = img
    return out
