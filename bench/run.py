"""Speed and memory figures for the tsmask engine (``make bench``; prints, asserts nothing).

A synthetic job of the notebook's Canberra size (124 dates x 455 x 560 pixels,
int16 scaled by 10000 with nodata -999, like DEA's ARD) through the product's
own runners, for both presets; the plain oracle on a sample of pixels; and a
full Sentinel-2 tile-year (5490 x 5490 at 20 m, 150 dates) extrapolated from a
measured fraction streamed with ``max_memory``.

Each measurement runs in a fresh Python process (so "first call" means the
first call after installation with the kernel cache warm, and peak RSS is the
measurement's own). Timings on a shared 2-core machine drift by tens of per
cent: compare figures within one run.

    python bench/run.py            # the default set (a few minutes)
    python bench/run.py --quick    # smaller full-tile fraction, fewer repeats
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


def _smooth(rng: np.random.Generator, ny: int, nx: int, cell: int) -> np.ndarray:
    """Smooth random field in 0..1 (coarse noise, bilinear-ish by repeat + box blur)."""
    coarse = rng.random((ny // cell + 2, nx // cell + 2)).astype(np.float32)
    f = np.repeat(np.repeat(coarse, cell, 0), cell, 1)[:ny, :nx]
    k = max(1, cell // 2)
    c = np.cumsum(np.cumsum(np.pad(f, ((k, k), (k, k)), mode="edge"), 0), 1)
    s = c[2 * k :, 2 * k :] - c[: -2 * k, 2 * k :] - c[2 * k :, : -2 * k] + c[: -2 * k, : -2 * k]
    s = s[:ny, :nx] / (2 * k) ** 2
    return (s - s.min()) / max(1e-6, float(s.max() - s.min()))


def make_cube(t: int = T, ny: int = NY, nx: int = NX, seed: int = 0) -> np.ndarray:
    """(6, t, ny, nx) int16 surface reflectance x 10000 with clouds, shadows, water, nodata."""
    rng = np.random.default_rng(seed)
    # Land cover: vegetation, soil, urban, water (spectra blue..swir2).
    spectra = np.array(
        [
            [0.03, 0.06, 0.04, 0.35, 0.18, 0.09],  # vegetation
            [0.07, 0.10, 0.13, 0.22, 0.30, 0.24],  # bare soil
            [0.09, 0.10, 0.11, 0.16, 0.18, 0.16],  # urban
            [0.05, 0.06, 0.04, 0.02, 0.01, 0.01],  # water
        ],
        np.float32,
    )
    cover = np.digitize(_smooth(rng, ny, nx, 24), [0.45, 0.7, 0.85]).astype(np.int8)
    cover[_smooth(rng, ny, nx, 40) > 0.88] = 3
    base = spectra[cover].transpose(2, 0, 1)  # (6, ny, nx)
    texture = 0.85 + 0.3 * _smooth(rng, ny, nx, 3)
    out = np.empty((6, t, ny, nx), np.int16)
    season = 1 + 0.15 * np.sin(np.linspace(0, 2 * np.pi * t / 73, t))
    for d in range(t):
        refl = base * texture * np.float32(season[d])
        refl *= rng.normal(1, 0.03, refl.shape).astype(np.float32)
        kind = rng.random()
        if kind < 0.45:  # clouds on about half the dates, with their shadows
            cover_frac = rng.uniform(0.05, 0.9)
            field = _smooth(rng, ny, nx, int(rng.integers(8, 40)))
            cloud = field > 1 - cover_frac
            thick = np.clip((field - (1 - cover_frac)) * 6, 0, 1)[None]
            refl = np.where(cloud[None], refl * (1 - thick) + thick * rng.uniform(0.35, 0.7), refl)
            dy, dx = rng.integers(5, 30), rng.integers(5, 30)
            shadow = np.zeros_like(cloud)
            shadow[dy:, dx:] = cloud[:-dy, :-dx]
            shadow &= ~cloud
            refl = np.where(shadow[None], refl * 0.3, refl)
        elif kind < 0.5:  # haze
            refl = refl + np.float32(rng.uniform(0.02, 0.08))
        dn = np.clip(np.round(refl * 10000), 1, 20000).astype(np.int16)
        if rng.random() < 0.08:  # a swath edge: nodata in one corner
            edge = (np.arange(ny)[:, None] + np.arange(nx)[None, :]) < rng.integers(50, ny)
            dn[:, edge] = NODATA
        out[:, d] = dn
    return out


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


def lazy_tile(small: np.ndarray, shape: tuple[int, int, int], chunk: int = 256):  # type: ignore[no-untyped-def]
    """A dask-backed Dataset of ``shape`` tiled from ``small`` chunk by chunk (never whole)."""
    import dask.array as da
    import pandas as pd
    import xarray as xr

    from tsmask_qgis.engine import BANDS

    t, ny, nx = shape
    st = small.shape[1]

    def band(i: int):  # type: ignore[no-untyped-def]
        src = small[i]

        def gen(block_info=None):  # type: ignore[no-untyped-def]
            (t0, t1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
            ts = np.arange(t0, t1) % st
            ys = np.arange(y0, y1) % src.shape[1]
            xs = np.arange(x0, x1) % src.shape[2]
            return src[np.ix_(ts, ys, xs)]

        return da.map_blocks(
            gen, dtype=np.int16, chunks=((t,), _split(ny, chunk), _split(nx, chunk))
        )

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


def child_canberra(path: str, preset: str, repeats: int) -> dict:
    """All Canberra-size figures for one preset, in this fresh process."""
    from tsmask_qgis.engine import classify, get_preset
    from tsmask_qgis.engine._runner import ArrayCube, Monitor, ThreadExecutor
    from tsmask_qgis.engine._tiling import date_chunks

    bands = np.load(path)
    ds = as_dataset(bands)
    res: dict = {"preset": preset}

    def timed(**kw) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        classify(ds, preset=preset, **kw)
        return time.perf_counter() - start

    res["first"] = timed(runner="threads", workers=2)
    warm = [timed(runner="threads", workers=2) for _ in range(repeats)]
    res["threads2"] = min(warm)
    res["threads1"] = min(timed(runner="threads", workers=1) for _ in range(max(1, repeats - 1)))
    res["detect2"] = min(
        timed(runner="threads", workers=2, spatial=False) for _ in range(max(1, repeats - 1))
    )
    mask = classify(ds, preset=preset, runner="threads", workers=2, spatial=False).values
    p = get_preset(preset)
    spatial_times = []
    for _ in range(repeats):
        ex = ThreadExecutor(2)
        cube = ArrayCube(mask.copy())
        start = time.perf_counter()
        ex.spatial(cube, date_chunks(T, NY * NX, workers=2), p, Monitor(None, None, detect_share=0))
        spatial_times.append(time.perf_counter() - start)
        ex.close()
    res["spatial2"] = min(spatial_times)
    res["processes2_first"] = timed(runner="processes", workers=2)
    res["processes2"] = min(timed(runner="processes", workers=2) for _ in range(repeats))
    res["peak_rss_gb"] = _peak_rss_gb()
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


def child_tile(fraction_side: int, max_memory: str, workers: int) -> dict:
    """Stream a (150, side, side) lazy cube with max_memory; time and peak RSS."""
    from tsmask_qgis.engine import classify

    small = make_cube(t=40, ny=300, nx=300, seed=7)
    shape = (FULL_TILE[0], fraction_side, fraction_side)
    ds = lazy_tile(small, shape)
    before = _peak_rss_gb()
    start = time.perf_counter()
    out = classify(ds, preset="seed", runner="threads", workers=workers, max_memory=max_memory)
    seconds = time.perf_counter() - start
    return {
        "shape": list(shape),
        "seconds": seconds,
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller tile fraction")
    ap.add_argument(
        "--tile-side", type=int, default=None, help="side of the measured tile fraction"
    )
    ap.add_argument(
        "--max-memory", default=None, help="budget for the streamed tile fraction (default 1GB)"
    )
    ap.add_argument("--repeats", type=int, default=1, help="timed repeats per figure (best kept)")
    ap.add_argument("--skip-tile", action="store_true", help="skip the full-tile estimate")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "canberra":
            res = child_canberra(rest[0], rest[1], int(rest[2]))
        elif kind == "oracle":
            res = child_oracle(rest[0], int(rest[1]))
        else:
            res = child_tile(int(rest[0]), rest[1], int(rest[2]))
        print(json.dumps(res))
        return 0

    repeats = max(1, args.repeats)
    side = args.tile_side or (549 if args.quick else 1098)
    max_memory = args.max_memory or ("256MB" if args.quick else "1GB")
    started = time.perf_counter()
    print(f"tsmask bench: {os.cpu_count()} CPUs, python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tsmask-bench-") as tmp:
        path = os.path.join(tmp, "canberra.npy")
        t0 = time.perf_counter()
        np.save(path, make_cube())
        print(
            f"synthetic Canberra cube {T} x {NY} x {NX} int16 made in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        results = {}
        for preset in ("seed", "dea"):
            results[preset] = _child(["canberra", path, preset, str(repeats)])
            print(f"  {preset}: measured", flush=True)
        oracle = _child(["oracle", path, "60" if args.quick else "150"])
        print("  oracle: measured", flush=True)
    tile = None
    if not args.skip_tile:
        tile = _child(["tile", str(side), max_memory, "2"])
        print("  full-tile fraction: measured", flush=True)

    pxd = T * NY * NX
    print()
    print(
        f"Canberra job: {T} dates x {NY} x {NX} px = {pxd / 1e6:.1f} M pixel-dates "
        f"({results['seed']['input_gb']:.2f} GB int16 input)"
    )
    hdr = f"{'':34}{'seed':>10}{'dea':>10}"
    print(hdr)
    print("-" * len(hdr))

    def row(label: str, key: str, fmt: str = "{:.2f} s") -> None:
        print(
            f"{label:34}" + "".join(f"{fmt.format(results[p][key]):>10}" for p in ("seed", "dea"))
        )

    row("detect, threads, 2 workers", "detect2")
    row("spatial steps, threads, 2 workers", "spatial2")
    row("total, threads, 1 worker", "threads1")
    row("total, threads, 2 workers", "threads2")
    row("total, processes, 2 workers", "processes2")
    row("processes, first call (pool start)", "processes2_first")
    row("first call in a fresh process", "first")
    for p in ("seed", "dea"):
        r = results[p]
        r["speedup"] = r["threads1"] / r["threads2"]
        r["first_extra"] = r["first"] - r["threads2"]
        r["mpxd"] = pxd / r["threads2"] / 1e6
        r["us_px"] = r["threads2"] / (NY * NX) * 1e6
        o = oracle[p]
        r["oracle_s"] = o["per_pixel_s"] * NY * NX + o["per_date_s"] * T
        r["oracle_ratio"] = r["oracle_s"] / r["threads2"]
    row("first-call extra", "first_extra")
    row("speed-up 1 -> 2 workers", "speedup", "{:.2f}x")
    row("M pixel-dates / s (2 workers)", "mpxd", "{:.1f}")
    row("us per pixel series (2 workers)", "us_px", "{:.1f}")
    row("peak RSS of the measuring process", "peak_rss_gb", "{:.2f} GB")
    row("oracle, extrapolated", "oracle_s", "{:.0f} s")
    row("speed-up over the oracle", "oracle_ratio", "{:.0f}x")
    print(f"(oracle measured on {oracle['pixels']} pixel series and 2 whole dates per preset)")

    print()
    print("Targets")
    checks = [
        ("seed, 2 workers <= 1.5 s", results["seed"]["threads2"], TARGETS["seed"], False, "s"),
        ("dea, 2 workers <= 2 s", results["dea"]["threads2"], TARGETS["dea"], False, "s"),
        (
            "seed, processes, 2 workers <= 1.5 s",
            results["seed"]["processes2"],
            TARGETS["seed"],
            False,
            "s",
        ),
        (
            "dea, processes, 2 workers <= 2 s",
            results["dea"]["processes2"],
            TARGETS["dea"],
            False,
            "s",
        ),
        (
            "first call <= 3 s extra (seed)",
            results["seed"]["first_extra"],
            TARGETS["first_extra"],
            False,
            "s",
        ),
        ("2 workers >= 1.8x (seed)", results["seed"]["speedup"], TARGETS["speedup"], True, "x"),
        ("2 workers >= 1.8x (dea)", results["dea"]["speedup"], TARGETS["speedup"], True, "x"),
    ]
    if tile is not None:
        _, fy, fx = FULL_TILE
        frac = (tile["shape"][1] * tile["shape"][2]) / (fy * fx)
        minutes = tile["seconds"] / frac / 60
        print(
            f"full tile estimate: measured {tile['shape'][0]} x {tile['shape'][1]} x "
            f"{tile['shape'][2]} ({tile['input_gb']:.2f} GB int16, {frac:.1%} of the tile) "
            f"streamed with max_memory={tile['max_memory']} in {tile['seconds']:.1f} s "
            f"(class cube -> {tile['streamed_to']}); peak RSS {tile['peak_rss_gb']:.2f} GB"
        )
        checks.append(
            ("full tile compute <= 10 min", minutes, TARGETS["tile_minutes"], False, "min")
        )
        checks.append(
            ("full tile peak < 8 GB", tile["peak_rss_gb"], TARGETS["tile_peak_gb"], False, "GB")
        )
    for label, value, target, higher, unit in checks:
        print(f"  {label:40} {value:8.2f} {unit:4} {_ok(value, target, higher=higher)}")
    print(f"\nbench took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
