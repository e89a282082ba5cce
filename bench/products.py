"""Composite figures (``make bench`` runs this after the engine's; prints, asserts nothing).

The Canberra-size synthetic job (124 dates x 455 x 560, int16, from
``tsmask_qgis.evaluate.make_scene`` as in bench/run.py): detection (the default
preset with its spatial steps, threads, 2 workers) and then the yearly median and geomedian composites of the
same stack with that mask, each the best of ``--repeats`` warm calls in this one
fresh process, so the ratios compare like with like under the same load.
Targets: a yearly median composite costs no more than the detection (ratio <= 1),
a geomedian no more than three times it.

    python bench/products.py [--repeats 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGETS = {"median": 1.0, "geomedian": 3.0}


def _best(repeats: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    from bench.run import as_dataset, make_cube
    from tsmask_qgis.engine import classify
    from tsmask_qgis.products import composite

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    ds = as_dataset(make_cube())
    t, ny, nx = ds.sizes["time"], ds.sizes["y"], ds.sizes["x"]
    w = args.workers
    small = ds.isel(y=slice(0, 8), x=slice(0, 8))
    warm = classify(small, workers=w)
    for method in TARGETS:  # compile or load the kernels untimed
        composite(small, warm, period="year", method=method, workers=w)
    mask = classify(ds, workers=w)
    detect = _best(args.repeats, lambda: classify(ds, workers=w))
    load = os.getloadavg()[0]
    print(
        f"\nComposites of the Canberra-size job ({t} dates x {ny} x {nx}, int16; periods "
        f"{', '.join(composite(small, warm, period='year')['period'].values)}), {w} workers, "
        f"threads, best of {args.repeats}; load average {load:.1f}"
    )
    preset = str(mask.attrs.get("preset", "default"))
    print(f"  {'detection (' + preset + ', with spatial steps)':44} {detect:7.2f} s")
    for method, target in TARGETS.items():
        secs = _best(
            args.repeats, lambda m=method: composite(ds, mask, period="year", method=m, workers=w)
        )
        ratio = secs / detect
        ok = "ok" if ratio <= target else "MISSED"
        print(
            f"  {'yearly ' + method + ' composite':44} {secs:7.2f} s   {ratio:5.2f}x detection "
            f"(target <= {target:g}x) {ok}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
