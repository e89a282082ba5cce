"""Micro-benchmark of the engine kernels on a Canberra-sized synthetic cube.

    PYTHONPATH=. python bench/kernels.py [--size 124x455x560] [--repeat 3]

Prints seconds per phase and microseconds per pixel for 1 and 2 threads.
Asserts nothing (timings on shared machines are noisy: compare within a run).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from tsmask_qgis.engine import _core


def synthetic_cube(T: int, Y: int, X: int, *, seed: int = 0) -> np.ndarray:
    """int16 DN (6, T, Y, X) like a Canberra year: seasonal land and water, clouds of
    every thickness with their shadows, nodata -999 (scattered and swath edges)."""
    rng = np.random.default_rng(seed)
    doy = np.linspace(0, 2 * np.pi, T, dtype=np.float32)
    land = np.array([0.05, 0.08, 0.09, 0.25, 0.22, 0.15], np.float32)
    water = np.array([0.04, 0.05, 0.03, 0.02, 0.01, 0.01], np.float32)
    is_water = np.zeros((Y, X), bool)
    is_water[Y // 3 : Y // 3 + Y // 10, X // 4 :] = True
    base = np.where(is_water[None], water[:, None, None], land[:, None, None])[:, None]
    field = rng.uniform(0.6, 1.4, size=(1, 1, Y, X)).astype(np.float32)
    season = (1 + 0.3 * np.sin(doy + rng.uniform(0, 1)))[None, :, None, None]
    r = base * field * season * rng.uniform(0.93, 1.07, size=(6, T, Y, X)).astype(np.float32)
    yy = np.arange(Y, dtype=np.float32)[:, None]
    xx = np.arange(X, dtype=np.float32)[None, :]
    for t in rng.choice(T, size=T // 3, replace=False):
        # A soft cloud blob of random thickness, its shadow offset to the south-east.
        cy, cx = rng.uniform(0, Y), rng.uniform(0, X)
        rad = rng.uniform(0.1, 0.6) * max(Y, X)
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / rad
        thick = rng.uniform(0.02, 0.6) * np.clip(1.2 - d, 0, 1)
        r[:, t] += thick[None].astype(np.float32)
        sh = np.roll(np.roll(thick, int(rad / 3), axis=0), int(rad / 4), axis=1)
        r[:, t] *= (1 - np.clip(sh * 2.5, 0, 0.8))[None].astype(np.float32)
    b = np.round(r * 10000).astype(np.int16)
    nd = rng.random((T, Y, X)) < 0.02
    b[rng.integers(0, 6, size=nd.sum()), nd] = -999
    b[:, rng.choice(T, size=3, replace=False), :, : X // 3] = -999  # swath edges
    return b


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Best wall and best process-CPU seconds of ``repeat`` calls."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="124x455x560", help="TxYxX")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    T, Y, X = (int(v) for v in args.size.split("x"))
    cube = synthetic_cube(T, Y, X)
    px = Y * X
    t0 = time.perf_counter()
    for preset in ("seed", "dea"):
        _core.classify_array(cube[:, :, :4, :4], preset=preset, nodata=-999, workers=1)
    print(f"first calls (kernel load or compile): {time.perf_counter() - t0:.2f} s")
    for preset in ("seed", "dea"):
        mask = _core.detect_block(cube, preset, nodata=-999)
        fractions = np.round(np.bincount(mask.ravel(), minlength=4) / mask.size, 4)
        print(f"{preset}: temporal class fractions {fractions.tolist()}")
        w, c = best_of(args.repeat, lambda p=preset: _core.detect_block(cube, p, nodata=-999))
        print(f"  detect_block, 1 thread: {w:.2f} s wall, {c / px * 1e6:.2f} us/px CPU")
        w, c = best_of(args.repeat, lambda p=preset, m=mask: _core.spatial_block(m, p))
        print(f"  spatial_block, 1 thread: {w:.2f} s wall, {c / px * 1e6:.2f} us/px CPU")
        for workers in (1, 2):
            w, c = best_of(
                args.repeat,
                lambda p=preset, n=workers: _core.classify_array(
                    cube, preset=p, nodata=-999, workers=n
                ),
            )
            print(
                f"  classify_array, {workers} thread(s): {w:.2f} s wall "
                f"({w / px * 1e6:.2f} us/px), CPU {c:.2f} s"
            )


if __name__ == "__main__":
    main()
