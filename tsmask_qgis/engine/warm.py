"""Compile every kernel signature the product uses into numba's on-disk cache.

Run once at install time (``scripts/setup-env.sh`` does)::

    python -m tsmask_qgis.engine.warm

so that no user ever waits for compilation. A second run only loads the
cached machine code and takes well under a few seconds.
"""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["main", "warm"]

SPATIAL_KERNELS = ("seed_filter", "seed_buffer", "majority")


def warm(*, verbose: bool = False) -> float:
    """Compile (or load from the cache) all kernels; returns the seconds it took."""
    from tsmask_qgis.engine import _core

    start = time.perf_counter()
    for dtype in _core.WARM_DTYPES:
        t0 = time.perf_counter()
        _core._detect_kernel("detect_cube", np.dtype(dtype))
        if verbose:
            print(f"detect[{np.dtype(dtype)}]: {time.perf_counter() - t0:.1f} s", flush=True)
    for name in SPATIAL_KERNELS:
        t0 = time.perf_counter()
        _core._spatial_kernel(name)
        if verbose:
            print(f"{name}: {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    from tsmask_qgis.engine.shadow import warm_kernels

    warm_kernels()  # shadow geometry and buffers in metres
    if verbose:
        print(f"shadow geometry, buffers: {time.perf_counter() - t0:.1f} s", flush=True)
    # A tiny end-to-end run of both presets proves the cached code loads and runs.
    rng = np.random.default_rng(0)
    cube = rng.integers(0, 5000, size=(6, 12, 4, 4)).astype(np.int16)
    for preset in ("seed", "dea"):
        _core.classify_array(cube, preset=preset, workers=1)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tsmask_qgis.engine.warm``."""
    args = sys.argv[1:] if argv is None else argv
    quiet = "-q" in args or "--quiet" in args
    seconds = warm(verbose=not quiet)
    if not quiet:
        print(f"tsmask kernels ready ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
