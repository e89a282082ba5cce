"""Speed and memory figures for the tsmask engine (``make bench``; prints, asserts nothing).

A synthetic job of the notebook's Canberra size (124 dates x 455 x 560
pixels, int16 scaled by 10000 with nodata -999, like DEA's ARD) made by the
project's own generator (:func:`tsmask_qgis.evaluate.make_scene`), through
both local runners (threads, and worker processes as the QGIS plugin uses)
for both presets; the plain oracle on a sample of pixels; and a full
Sentinel-2 tile-year (5490 x 5490 at 20 m, 150 dates) extrapolated from a
measured fraction streamed with ``max_memory`` from a lazy dataset whose
256 x 256 chunks are one generated scene (so producing the input costs only a
copy, and is timed apart anyway).

Each measurement runs in a fresh Python process (so "first call" means the
first call after installation with the kernel cache warm, and peak RSS is the
measurement's own). Timings on a shared 2-core machine drift by tens of per
cent and stretch with other processes' load: the table shows the CPU seconds
used and the average number of busy cores next to the wall times, and the
load average; compare figures within one run.

    python bench/run.py            # the default set (about 2-4 minutes)
    python bench/run.py --quick    # smaller full-tile fraction, one repeat

Then the loading bench, ``bench/loading.py`` (the loaders against odc-stac over the
project's test STAC API with per-request delays, and the end-to-end job); its
``--quick`` follows this one's, ``--skip-loading`` leaves it out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T, NY, NX = 124, 455, 560
NODATA = -999
FULL_TILE = (150, 5490, 5490)
TARGETS = {
    "seed": 1.5,
    "dea": 2.0,
    "first_extra": 3.0,
    "speedup": 1.8,
    "tile_minutes": 10.0,
    "tile_peak_gb": 8.0,
}


# --------------------------------------------------------------------------- synthetic data


def make_cube(t: int = T, ny: int = NY, nx: int = NX, seed: int = 0) -> np.ndarray:
    """(6, t, ny, nx) int16 reflectance x 10000 (nodata -999) from the project's generator.

    :func:`tsmask_qgis.evaluate.make_scene`: a Sentinel-2-like series with
    clouds, their shadows, thin clouds, water, swath edges and missing dates.
    """
    from tsmask_qgis.engine import BANDS
    from tsmask_qgis.evaluate import make_scene

    ds = make_scene(shape=(t, ny, nx), seed=seed, dtype="int16").ds
    assert all(ds[b].attrs.get("nodata") == NODATA for b in BANDS)
    return np.stack([ds[b].values for b in BANDS])


def as_dataset(bands: np.ndarray):  # type: ignore[no-untyped-def]
    import pandas as pd
    import xarray as xr

    from tsmask_qgis.engine import BANDS

    t, ny, nx = bands.shape[1:]
    return xr.Dataset(
        {b: (("time", "y", "x"), bands[i], {"nodata": NODATA}) for i, b in enumerate(BANDS)},
        coords={
            "time": pd.date_range("2017-01-01", periods=t, freq="3D").values,
            "y": -35.0 - 0.0002 * np.arange(ny),
            "x": 149.0 + 0.0002 * np.arange(nx),
        },
    )


def lazy_tile(block: np.ndarray, shape: tuple[int, int, int]):  # type: ignore[no-untyped-def]
    """A dask-backed Dataset of ``shape`` whose every chunk is ``block`` (6, t, cy, cx).

    The chunks are the size of ``block`` (like the blocks of a COG) and cost
    only a copy to produce, so the stream measures the engine, not a generator;
    the engine still does the full work on every chunk.
    """
    import dask.array as da
    import pandas as pd
    import xarray as xr

    from tsmask_qgis.engine import BANDS

    t, ny, nx = shape
    _, bt, cy, cx = block.shape
    assert bt == t

    def band(i: int):  # type: ignore[no-untyped-def]
        src = block[i]

        def gen(block_info=None):  # type: ignore[no-untyped-def]
            (_, _), (y0, y1), (x0, x1) = block_info[None]["array-location"]
            return src[:, : y1 - y0, : x1 - x0]  # a view: dask copies it into the tile

        return da.map_blocks(gen, dtype=np.int16, chunks=((t,), _split(ny, cy), _split(nx, cx)))

    return xr.Dataset(
        {b: (("time", "y", "x"), band(i), {"nodata": NODATA}) for i, b in enumerate(BANDS)},
        coords={"time": pd.date_range("2021-01-01", periods=t, freq="2D").values},
    )


def _split(n: int, c: int) -> tuple[int, ...]:
    return tuple(min(c, n - i) for i in range(0, n, c))


# --------------------------------------------------------------------------- child measurements


def _peak_rss_gb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (self_kb + child_kb) / 2**20


def _cpu_seconds() -> float:
    """CPU seconds of this process and of the kept worker processes so far."""
    total = time.process_time()
    from tsmask_qgis.engine import _procpool

    pool = _procpool._kept
    tick = os.sysconf("SC_CLK_TCK")
    for p in pool._procs if pool is not None else []:
        try:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def _workers_peak_gb() -> float:
    """Sum of the kept workers' peak resident memory (shared pages counted in each)."""
    from tsmask_qgis.engine import _procpool

    pool = _procpool._kept
    total = 0
    for p in pool._procs if pool is not None else []:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 2**20


def child_canberra(path: str, preset: str, repeats: int, runner: str) -> dict:
    """The Canberra-size figures of one preset and runner, in this fresh process.

    The first call here is the first call after installation (kernel cache
    warm; for processes also the worker start). Warm figures are the best of
    ``repeats`` calls; ``cpu_*`` are the CPU seconds of this process and its
    workers for that best call (steadier than wall time on a shared machine).
    """
    from tsmask_qgis.engine import classify, get_preset
    from tsmask_qgis.engine._runner import ArrayCube, Monitor, ThreadExecutor
    from tsmask_qgis.engine._tiling import date_chunks

    bands = np.load(path)
    ds = as_dataset(bands)
    res: dict = {"preset": preset, "runner": runner}

    def timed(**kw) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        cpu = _cpu_seconds()
        start = time.perf_counter()
        classify(ds, preset=preset, runner=runner, **kw)
        return time.perf_counter() - start, _cpu_seconds() - cpu

    small = ds.isel(y=slice(0, 8), x=slice(0, 8))

    def best(n: int, **kw) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        if runner == "processes":  # start the kept pool of this size untimed
            classify(small, preset=preset, runner=runner, **kw)
        return min(timed(**kw) for _ in range(max(1, n)))

    res["first"] = timed(workers=2)[0]
    res["total2"], res["cpu2"] = best(repeats, workers=2)
    res["total1"], res["cpu1"] = best(max(1, repeats - 1), workers=1)
    if runner == "threads":
        res["detect2"] = best(max(1, repeats - 1), workers=2, spatial=False)[0]
        mask = classify(ds, preset=preset, runner="threads", workers=2, spatial=False).values
        p = get_preset(preset)
        spatial_times = []
        for _ in range(repeats):
            ex = ThreadExecutor(2)
            cube = ArrayCube(mask.copy())
            start = time.perf_counter()
            chunks = date_chunks(T, NY * NX, workers=2)
            ex.spatial(cube, chunks, p, Monitor(None, None, steps=("spatial",)))
            spatial_times.append(time.perf_counter() - start)
            ex.close()
        res["spatial2"] = min(spatial_times)
    res["peak_rss_gb"] = _peak_rss_gb() + _workers_peak_gb()
    res["input_gb"] = bands.nbytes / 1e9
    return res


def child_oracle(path: str, npix: int) -> dict:
    """The plain reference on a sample of pixels (temporal) and of dates (spatial)."""
    from tsmask_qgis.engine.reference import reference_detect, reference_spatial

    bands = np.load(path, mmap_mode="r")
    rng = np.random.default_rng(1)
    ys = rng.integers(0, NY, npix)
    xs = rng.integers(0, NX, npix)
    sample = np.ascontiguousarray(bands[:, :, ys, xs])[:, :, None, :]  # (6, T, 1, npix)
    res: dict = {"pixels": npix}
    for preset in ("seed", "dea"):
        start = time.perf_counter()
        det = reference_detect(sample, preset, nodata=NODATA)
        per_px = (time.perf_counter() - start) / npix
        del det
        # Spatial steps: a realistic date image, two dates.
        mask = np.random.default_rng(2).choice(
            np.array([1, 1, 1, 1, 2, 3], np.uint8), size=(2, NY, NX)
        )
        start = time.perf_counter()
        reference_spatial(mask, preset)
        per_date = (time.perf_counter() - start) / 2
        res[preset] = {"per_pixel_s": per_px, "per_date_s": per_date}
    return res


def child_tile(fraction_side: int, max_memory: str, workers: int, runner: str) -> dict:
    """Stream a (150, side, side) lazy cube with max_memory; time and peak RSS.

    The chunks are one generated 256 x 256 scene (150 dates); the time to
    produce the whole input alone is measured too and reported separately.
    """
    import dask

    from tsmask_qgis.engine import BANDS, classify

    chunk = 256
    start = time.perf_counter()
    block = make_cube(t=FULL_TILE[0], ny=chunk, nx=chunk, seed=7)
    made = time.perf_counter() - start
    shape = (FULL_TILE[0], fraction_side, fraction_side)
    ds = lazy_tile(block, shape)
    start = time.perf_counter()
    with dask.config.set(scheduler="threads"):
        for b in BANDS:
            ds[b].data.map_blocks(lambda a: a[:1, :1, :1], dtype=np.int16).compute()
    input_alone = time.perf_counter() - start
    # One-off costs (numba import, kernel cache load, worker start) are measured
    # apart: they do not grow with the area, so they must not be extrapolated.
    start = time.perf_counter()
    classify(
        lazy_tile(block[:, :, :16, :16], (FULL_TILE[0], 16, 16)), runner=runner, workers=workers
    )
    warmup = time.perf_counter() - start
    before = _peak_rss_gb()
    cpu = _cpu_seconds()
    start = time.perf_counter()
    out = classify(ds, preset="seed", runner=runner, workers=workers, max_memory=max_memory)
    seconds = time.perf_counter() - start
    # Worker CPU is only readable while they live: the kept pool is still up here.
    cpu = _cpu_seconds() - cpu
    return {
        "shape": list(shape),
        "runner": runner,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "workers_peak_gb": _workers_peak_gb(),
        "input_seconds": input_alone,
        "warmup_seconds": warmup,
        "scene_seconds": made,
        "peak_rss_gb": _peak_rss_gb(),
        "rss_before_gb": before,
        "streamed_to": type(out.data).__name__,
        "max_memory": max_memory,
        "input_gb": 6 * np.prod(shape) * 2 / 1e9,
    }


# --------------------------------------------------------------------------- orchestration


def _child(args: list[str], timeout: float = 1800) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {args} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ok(value: float, target: float, *, higher: bool = False) -> str:
    good = value >= target if higher else value <= target
    return "ok" if good else "MISSED"


def _load() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller tile fraction")
    ap.add_argument(
        "--tile-side", type=int, default=None, help="side of the measured tile fraction"
    )
    ap.add_argument(
        "--max-memory", default=None, help="budget for the streamed tile fraction (default 1GB)"
    )
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats per figure (best kept)")
    ap.add_argument("--skip-tile", action="store_true", help="skip the full-tile estimate")
    ap.add_argument(
        "--skip-products", action="store_true", help="skip the composite figures (products.py)"
    )
    ap.add_argument(
        "--skip-loading", action="store_true", help="skip the loading bench (bench/loading.py)"
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "canberra":
            res = child_canberra(rest[0], rest[1], int(rest[2]), rest[3])
        elif kind == "oracle":
            res = child_oracle(rest[0], int(rest[1]))
        else:
            res = child_tile(int(rest[0]), rest[1], int(rest[2]), rest[3])
        print(json.dumps(res))
        return 0

    repeats = 1 if args.quick else max(1, args.repeats)
    side = args.tile_side or (549 if args.quick else 1098)
    max_memory = args.max_memory or ("256MB" if args.quick else "1GB")
    runners = ("threads", "processes")
    started = time.perf_counter()
    print(
        f"tsmask bench: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, "
        f"load average {_load()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="tsmask-bench-") as tmp:
        path = os.path.join(tmp, "canberra.npy")
        t0 = time.perf_counter()
        np.save(path, make_cube())
        print(
            f"synthetic Canberra scene {T} x {NY} x {NX} int16 (evaluate.make_scene) made in "
            f"{time.perf_counter() - t0:.1f} s (not counted below)",
            flush=True,
        )
        res: dict = {}
        for preset in ("seed", "dea"):
            for runner in runners:
                res[preset, runner] = _child(["canberra", path, preset, str(repeats), runner])
                print(f"  {preset}, {runner}: measured", flush=True)
        oracle = _child(["oracle", path, "60" if args.quick else "150"])
        print("  oracle: measured", flush=True)
    tiles = {}
    if not args.skip_tile:
        for runner in runners:
            tiles[runner] = _child(["tile", str(side), max_memory, "2", runner])
            print(f"  full-tile fraction, {runner}: measured", flush=True)

    pxd = T * NY * NX
    cols = [(p, r) for p in ("seed", "dea") for r in runners]
    for key in cols:
        r = res[key]
        r["speedup"] = r["total1"] / r["total2"]
        r["first_extra"] = r["first"] - r["total2"]
        r["mpxd"] = pxd / r["total2"] / 1e6
        r["us_px"] = r["total2"] / (NY * NX) * 1e6
        r["cores"] = r["cpu2"] / r["total2"]
    print()
    print(
        f"Canberra job: {T} dates x {NY} x {NX} px = {pxd / 1e6:.1f} M pixel-dates "
        f"({res[cols[0]]['input_gb']:.2f} GB int16 input); best of {repeats} warm calls"
    )
    hdr = f"{'':38}" + "".join(f"{p + ' ' + r[:7]:>16}" for p, r in cols)
    print(hdr)
    print("-" * len(hdr))

    def row(label: str, key: str, fmt: str = "{:.2f} s") -> None:
        cells = [fmt.format(res[c][key]) if key in res[c] else "-" for c in cols]
        print(f"{label:38}" + "".join(f"{c:>16}" for c in cells))

    row("total, 2 workers (wall)", "total2")
    row("  CPU seconds used", "cpu2")
    row("  cores busy on average", "cores", "{:.2f}")
    row("detect only, 2 workers", "detect2")
    row("spatial steps only, 2 workers", "spatial2")
    row("total, 1 worker (wall)", "total1")
    row("  CPU seconds used", "cpu1")
    row("speed-up 1 -> 2 workers", "speedup", "{:.2f}x")
    row("first call in a fresh process", "first")
    row("first-call extra", "first_extra")
    row("M pixel-dates / s (2 workers)", "mpxd", "{:.1f}")
    row("us per pixel series (2 workers)", "us_px", "{:.1f}")
    row("peak RSS (with workers)", "peak_rss_gb", "{:.2f} GB")
    for p in ("seed", "dea"):
        o = oracle[p]
        secs = o["per_pixel_s"] * NY * NX + o["per_date_s"] * T
        print(
            f"oracle ({p}): {secs:.0f} s extrapolated from {oracle['pixels']} pixel series "
            f"and 2 dates; {secs / res[p, 'threads']['total2']:.0f}x slower than threads"
        )

    checks: list[tuple[str, float, float, bool, str]] = []
    for runner in runners:
        for p in ("seed", "dea"):
            r = res[p, runner]
            checks.append((f"{p}, {runner}, 2 workers", r["total2"], TARGETS[p], False, "s"))
        for p in ("seed", "dea"):
            r = res[p, runner]
            checks.append((f"{p}, {runner}, first-call extra", r["first_extra"], 3.0, False, "s"))
            checks.append((f"{p}, {runner}, 1 -> 2 workers", r["speedup"], 1.8, True, "x"))
    gap = res["seed", "processes"]["total2"] / res["seed", "threads"]["total2"] - 1
    print(f"\nprocesses vs threads (seed, 2 workers): {gap:+.0%} wall")
    _, fy, fx = FULL_TILE
    for runner, tile in tiles.items():
        frac = (tile["shape"][1] * tile["shape"][2]) / (fy * fx)
        compute = tile["seconds"] - tile["input_seconds"]
        minutes = compute / frac / 60
        idle = tile["cpu_seconds"] / frac / 60 / 2
        peak = tile["peak_rss_gb"] + tile["workers_peak_gb"]
        print(
            f"full tile, {runner}: measured {tile['shape'][0]} x {tile['shape'][1]} x "
            f"{tile['shape'][2]} ({tile['input_gb']:.2f} GB int16, {frac:.1%} of the tile) "
            f"streamed with max_memory={tile['max_memory']} in {tile['seconds']:.1f} s, of "
            f"which producing the synthetic input alone takes {tile['input_seconds']:.1f} s; "
            f"{tile['cpu_seconds']:.0f} CPU-s; one-off start {tile['warmup_seconds']:.1f} s "
            f"(not extrapolated); peak RSS {peak:.2f} GB -> {tile['streamed_to']}.\n"
            f"  extrapolated: {minutes:.1f} min compute as measured; {idle:.1f} min if both "
            "cores were ours (CPU-s / 2)"
        )
        checks.append(
            (f"full tile compute, {runner}", minutes, TARGETS["tile_minutes"], False, "min")
        )
        checks.append((f"full tile peak, {runner}", peak, TARGETS["tile_peak_gb"], False, "GB"))
    print("\nTargets (wall time as measured on this machine; see the load average)")
    for label, value, target, higher, unit in checks:
        sign = ">=" if higher else "<="
        print(
            f"  {label:38} {value:8.2f} {unit:4} target {sign} {target:<5g} "
            f"{_ok(value, target, higher=higher)}"
        )
    if not args.skip_products:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "products.py"), "--repeats", str(repeats)],
            check=False,
            env=env,
            timeout=1800,
        )
    print(f"\nbench took {time.perf_counter() - started:.0f} s; load average now {_load()}")
    if not args.skip_loading:
        print("\n--- loading (bench/loading.py) ---", flush=True)
        loading = [sys.executable, str(Path(__file__).with_name("loading.py"))]
        subprocess.run([*loading, *(["--quick"] if args.quick else [])], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
