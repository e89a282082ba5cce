"""Compile the composite kernels into numba's on-disk cache (``make env`` runs it).

    python -m tsmask_qgis.products.warm

A tiny composite of every method for every input dtype the engine reads
directly, so no run waits for compilation; a second run loads the cache.
"""

from __future__ import annotations

import time

import numpy as np

from tsmask_qgis.bands import BANDS

__all__ = ["main", "warm"]

_DTYPES = (np.int16, np.uint16, np.float32, np.float64)


def _tiny(dtype: type) -> tuple[object, object]:
    import pandas as pd
    import xarray as xr

    times = pd.date_range("2020-01-01", periods=4, freq="30D")
    dims = ("time", "y", "x")
    coords = {"time": times, "y": np.arange(3.0), "x": np.arange(3.0)}
    integer = np.dtype(dtype).kind in "iu"
    value = 1200 if integer else 0.12
    data = {}
    for i, band in enumerate(BANDS):
        var = xr.DataArray(np.full((4, 3, 3), value + i, dtype=dtype), dims=dims, coords=coords)
        if integer:
            var.attrs["nodata"] = 0
        data[band] = var
    mask = xr.DataArray(np.ones((4, 3, 3), np.uint8), dims=dims, coords=coords)
    return xr.Dataset(data), mask


def warm(*, verbose: bool = False) -> float:
    """Run every composite method once per dtype; returns the seconds it took."""
    from tsmask_qgis.products import METHODS, composite

    start = time.perf_counter()
    for dtype in _DTYPES:
        ds, mask = _tiny(dtype)
        for method in METHODS:
            t0 = time.perf_counter()
            composite(ds, mask, period="all", method=method, workers=1, runner="threads")
            if verbose:
                print(f"{method}[{np.dtype(dtype)}]: {time.perf_counter() - t0:.1f} s", flush=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tsmask_qgis.products.warm``."""
    from tsmask_qgis.engine.warm import command

    return command(warm, "tsmask composite kernels", argv)


if __name__ == "__main__":
    raise SystemExit(main())
