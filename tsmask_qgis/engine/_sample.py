"""Cheap checks of an input's values on a small sample, numpy or dask (lazy) alike.

A few dates (first, middle, last) and a central window of each band are read, once
for all bands (one ``dask.compute``), and tell whether the values follow the data
convention: float reflectance 0..1, or integers scaled by 10000 with their nodata
declared. What cannot be meant is refused (:class:`~tsmask_qgis.errors.InputError`);
what may be meant is warned about once (:class:`~tsmask_qgis.errors.InputWarning`),
with how to silence it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsmask_qgis.errors import InputError, InputWarning

__all__ = ["check_values", "sample"]

#: Side of the central window read per sampled date.
WINDOW = 64
#: A float median above this is reflectance x 10000, not 0..1.
SCALED_MEDIAN = 5.0


def _window(n: int) -> slice:
    if n <= WINDOW:
        return slice(0, n)
    start = (n - WINDOW) // 2
    return slice(start, start + WINDOW)


def sample(arrays: Sequence[Any]) -> list[np.ndarray]:
    """The sample of each ``(time, y, x)`` array: up to three dates, a central window."""
    t, y, x = (int(n) for n in arrays[0].shape)
    dates = sorted({0, t // 2, t - 1}) if t else []
    parts = [a[dates, _window(y), _window(x)] for a in arrays]
    lazy = [i for i, p in enumerate(parts) if not isinstance(p, np.ndarray) and hasattr(p, "dask")]
    if lazy:
        import dask

        done = dask.compute(*(parts[i] for i in lazy))
        for i, value in zip(lazy, done, strict=True):
            parts[i] = value
    return [np.asarray(p) for p in parts]


def check_values(
    arrays: Sequence[Any],
    names: Sequence[str],
    *,
    integer: bool,
    nodata: Sequence[float | None],
    where: str = "",
) -> None:
    """Check a sample of ``arrays`` (the bands ``names``, in that order).

    Float: values around thousands are reflectance x 10000 (refused). Integers with no
    declared nodata: a band holding one value (not 0) only is a fill, not reflectance (refused);
    pixels where every band is 0 are probably no data (warned once).
    """
    if integer and any(v is not None for v in nodata):
        return  # declared: nothing to read
    parts = sample(arrays)
    at = f"{where}: " if where else ""
    if not integer:
        for name, part in zip(names, parts, strict=True):
            with np.errstate(invalid="ignore"):
                finite = part[np.isfinite(part)]
            if finite.size and float(np.median(finite)) > SCALED_MEDIAN:
                raise InputError(
                    f"{at}band {name!r} is float with values around "
                    f"{float(np.median(finite)):.0f}: it looks like reflectance scaled by "
                    "10000. Give reflectance 0..1 (divide by 10000, nodata as NaN) or the "
                    "original integers with their nodata value",
                    field="input",
                )
        return
    for name, part in zip(names, parts, strict=True):
        if part.size > 1 and part.flat[0] != 0 and bool(np.all(part == part.flat[0])):
            raise InputError(
                f"{at}band {name!r} holds the one value {part.flat[0]} everywhere sampled: that "
                "is a fill (no data), not reflectance. Declare it as the nodata value, or "
                "export the bands again",
                field="input",
            )
    zeros = np.logical_and.reduce([p == 0 for p in parts])
    if bool(zeros.any()):
        share = float(zeros.mean()) * 100
        warnings.warn(
            f"{at}{share:.1f}% of the sampled pixels are 0 in every band and no nodata value "
            "is declared: they are read as black ground, not as no data. If 0 is no data, "
            "declare it (a nodata attribute of 0); declaring any nodata value silences this",
            InputWarning,
            stacklevel=3,
        )
