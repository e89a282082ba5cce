"""Compile every kernel signature the product uses into numba's on-disk cache.

Run once at install time (``scripts/setup-env.sh`` does)::

    python -m tsmask_qgis.engine.warm

so that no user ever waits for compilation. A second run only loads the
cached machine code and takes well under a few seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

__all__ = ["main", "needs_compile", "warm"]

SPATIAL_KERNELS = ("seed_filter", "seed_buffer", "majority")

_HERE = Path(__file__).resolve().parent
#: The modules whose kernels numba caches (its cache is keyed by their source stamps).
_KERNEL_SOURCES = ("_kernels.py", "_core.py", "_buffer_kernels.py", "_shadow_kernels.py")


def _stamp() -> Path:
    """A file that says :func:`warm` completed for these sources, this numba and Python."""
    parts = [sys.version, metadata.version("numba"), os.environ.get("NUMBA_CACHE_DIR", "")]
    for name in _KERNEL_SOURCES:
        with contextlib.suppress(OSError):
            st = (_HERE / name).stat()
            parts.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
    key = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    base = Path(os.environ.get("NUMBA_CACHE_DIR") or _HERE / "__pycache__")
    return base / f"tsmask-warm-{key}.stamp"


def needs_compile() -> bool:
    """True when the kernels have not been compiled into the cache for this interpreter
    (the first run after an install, or after the kernels' sources changed)."""
    return not _stamp().is_file()


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
    stamp = _stamp()
    with contextlib.suppress(OSError):  # a read-only install: numba caches elsewhere
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text("compiled\n")
    return time.perf_counter() - start


def command(warm_fn: Callable[..., float], what: str, argv: list[str] | None) -> int:
    """A warm-up command: run ``warm_fn`` (quiet with ``-q``), then say ``what`` is ready."""
    args = sys.argv[1:] if argv is None else argv
    quiet = "-q" in args or "--quiet" in args
    seconds = warm_fn(verbose=not quiet)
    if not quiet:
        print(f"{what} ready ({seconds:.1f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tsmask_qgis.engine.warm``."""
    return command(warm, "tsmask kernels", argv)


if __name__ == "__main__":
    raise SystemExit(main())
