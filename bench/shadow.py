"""Speed of the shadow-geometry step and the buffers in metres (prints, asserts nothing).

On a synthetic job of the notebook's Canberra size (124 dates x 455 x 560
pixels at 20 m, int16 with nodata -999, the sun of a 10:30 overpass at 35 S
per date: the project's generator), both presets: ``classify`` (threads),
then ``apply_shadow_geometry`` on its mask, then ``buffer_m(cloud_m=60,
shadow_m=60)``, interleaved, ``--repeat`` times. Prints each step's best
wall time and its ratio to ``classify`` measured in the same run (the
machine is shared: compare ratios, not seconds).

    python bench/shadow.py [--repeat 3] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T, NY, NX = 124, 455, 560


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)

    from tsmask_qgis.engine import classify
    from tsmask_qgis.engine.buffers import buffer_m
    from tsmask_qgis.engine.shadow import apply_shadow_geometry
    from tsmask_qgis.evaluate import make_scene

    t0 = time.perf_counter()
    scene = make_scene(shape=(T, NY, NX), seed=0, dtype="int16")
    bands = scene.bands
    sun = (scene.sun_azimuth, scene.sun_elevation)
    print(
        f"scene {T} x {NY} x {NX} made in {time.perf_counter() - t0:.1f} s; "
        f"sun elevation {scene.sun_elevation.min():.0f}-{scene.sun_elevation.max():.0f} deg; "
        f"{args.workers or os.cpu_count()} worker(s); load {os.getloadavg()[0]:.2f}"
    )
    # warm every kernel once (compiled or loaded from numba's cache)
    small = make_scene(shape=(8, 24, 24), seed=1)
    for preset in ("seed", "dea"):
        m = classify(small.ds, preset=preset, runner="threads").values
        apply_shadow_geometry(
            m, small.bands, (small.sun_azimuth, small.sun_elevation), 20.0, nodata=-999
        )
        buffer_m(m, cloud_m=60, shadow_m=60, pixel_size=20.0)
    print(
        f"{'preset':6} {'classify s':>10} {'shadow s':>9} {'ratio':>6} {'buffers s':>9} {'ratio':>6}"
    )
    for preset in ("seed", "dea"):
        best = {"classify": np.inf, "shadow": np.inf, "buffers": np.inf}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            mask = classify(scene.ds, preset=preset, runner="threads", workers=args.workers).values
            t1 = time.perf_counter()
            res = apply_shadow_geometry(mask, bands, sun, 20.0, nodata=-999, workers=args.workers)
            t2 = time.perf_counter()
            buffer_m(res.mask, cloud_m=60, shadow_m=60, pixel_size=20.0, workers=args.workers)
            t3 = time.perf_counter()
            best["classify"] = min(best["classify"], t1 - t0)
            best["shadow"] = min(best["shadow"], t2 - t1)
            best["buffers"] = min(best["buffers"], t3 - t2)
        c = best["classify"]
        print(
            f"{preset:6} {c:10.2f} {best['shadow']:9.2f} {best['shadow'] / c:6.2f} "
            f"{best['buffers']:9.2f} {best['buffers'] / c:6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
