"""Figures for the shadow-geometry step (issue 11): synthetic truth and the real sample.

Runs both presets, without and with :func:`tsmask_qgis.engine.shadow.apply_shadow_geometry`,
on synthetic scenes with a known sun and known cloud heights (several sun
elevations, cloud heights and cloud amounts), reports cloud and shadow
producer's/user's accuracy against the targets, how the results move when
each constant of :class:`~tsmask_qgis.engine.shadow.ShadowParams` is halved
or doubled, and the per-date cloud/shadow fractions of the bundled Wright
sample with and without the step. Writes a Markdown page (to merge into
docs/accuracy.md). Deterministic; about a quarter of an hour on two cores.

    python scripts/shadow_accuracy.py [--doc docs/accuracy_shadow.md] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "scripts"):
    if str(p) not in sys.path:  # run as a script from a checkout
        sys.path.insert(0, str(p))

from accuracy import load_sample, md_table, mean_sd, pct  # noqa: E402

from tsmask_qgis.engine import classify  # noqa: E402
from tsmask_qgis.engine.shadow import ShadowParams, apply_shadow_geometry  # noqa: E402
from tsmask_qgis.engine.sun import resolve_sun  # noqa: E402
from tsmask_qgis.evaluate import BANDS, Evaluation, compare, make_scene  # noqa: E402

PRESETS = ("seed", "dea")
#: Sun azimuth of every synthetic scene: north-east, a mid-season 10:30 overpass at 35 S.
AZIMUTH = 50.0
RESOLUTION = 20.0
LAYERS = 2
HEIGHTS: dict[str, tuple[float, float]] = {
    "low": (500.0, 1500.0),
    "mid": (1500.0, 3000.0),
    "high": (3000.0, 6000.0),
}
TARGET_PA, TARGET_UA = 0.90, 0.95
CONFIGS = ("detection only", "+ geometry, margin", "+ geometry, no margin")


# ---- synthetic cases -----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    elevation: float
    heights: str
    amount: float
    seed: int


@dataclass(frozen=True)
class Run:
    case: Case
    preset: str
    config: str
    ev: Evaluation
    seconds: float
    classify_seconds: float
    heights: tuple[float, ...] = ()
    sizes: tuple[int, ...] = ()


def scene_with_margin(
    case: Case, area: int, dates: int, reach_m: float | None = None
) -> tuple[Any, slice, slice]:
    """A scene extended towards the sun so every cloud shading the evaluated area is in it.

    The area is ``area`` x ``area`` pixels at the far end from the sun; the
    extension covers the scene's highest cloud at its sun elevation (the
    margin a loader would read on the sunward sides), or ``reach_m`` of
    cloud height.
    """
    lo, hi = HEIGHTS[case.heights]
    run = (reach_m or hi) / math.tan(math.radians(case.elevation)) / RESOLUTION
    down = run * math.cos(math.radians(AZIMUTH))  # cloud -> shadow, rows (south +)
    right = -run * math.sin(math.radians(AZIMUTH))  # cloud -> shadow, columns (east +)
    er, ec = math.ceil(abs(down)) + 1, math.ceil(abs(right)) + 1
    scene = make_scene(
        shape=(dates, area + er, area + ec),
        seed=case.seed,
        cloud_amount=case.amount,
        sun_azimuth=AZIMUTH,
        sun_elevation=case.elevation,
        cloud_height=(lo, hi),
        cloud_layers=LAYERS,
    )
    rows = slice(er, er + area) if down > 0 else slice(0, area)
    cols = slice(ec, ec + area) if right > 0 else slice(0, area)
    return scene, rows, cols


def _bands(ds: Any) -> np.ndarray:
    return np.stack([ds[b].values for b in BANDS])


def _geometry(mask: np.ndarray, bands: np.ndarray, scene: Any, params: ShadowParams) -> Any:
    return apply_shadow_geometry(
        mask,
        bands,
        (scene.sun_azimuth, scene.sun_elevation),
        scene.resolution,
        params=params,
        nodata=-999,
        workers=None,
    )


@dataclass
class CaseResult:
    runs: list[Run]
    masks: dict[str, np.ndarray]  # detection on the scene with margin, per preset
    scene: Any
    area: tuple[slice, slice]


def run_case(case: Case, area: int, dates: int) -> CaseResult:
    scene, rows, cols = scene_with_margin(case, area, dates)
    truth = scene.truth.values[:, rows, cols]
    bands = scene.bands
    sub = scene.ds.isel(y=rows, x=cols)
    sub_bands = _bands(sub)
    runs, masks = [], {}
    p = ShadowParams()
    for preset in PRESETS:
        t0 = time.perf_counter()
        big = np.asarray(classify(scene.ds, preset=preset, runner="threads").values)
        t_cls = time.perf_counter() - t0
        masks[preset] = big
        t0 = time.perf_counter()
        geo = _geometry(big, bands, scene, p)
        t_geo = time.perf_counter() - t0
        small = np.asarray(classify(sub, preset=preset, runner="threads").values)
        geo_small = _geometry(small, sub_bands, scene, p)
        hs = tuple(h for d in geo.dates for h in d.heights)
        sizes = tuple(n for d in geo.dates for n in d.sizes)
        for config, mask, sec in (
            (CONFIGS[0], big[:, rows, cols], t_cls),
            (CONFIGS[1], geo.mask[:, rows, cols], t_geo),
            (CONFIGS[2], geo_small.mask, 0.0),
        ):
            ev = compare(mask, truth, mask_name=preset, reference_name="synthetic truth")
            found = (hs, sizes) if config == CONFIGS[1] else ((), ())
            runs.append(Run(case, preset, config, ev, sec, t_cls, *found))
    return CaseResult(runs=runs, masks=masks, scene=scene, area=(rows, cols))


def cases_for(quick: bool) -> tuple[list[Case], int, int]:
    if quick:
        return (
            [Case(55.0, "low", 0.3, 0), Case(40.0, "mid", 0.3, 0)],
            32,
            24,
        )
    cases = []
    for seed in (0, 1, 2):
        for el in (25.0, 40.0, 55.0, 70.0):
            for h in ("low", "mid"):
                for amount in (0.1, 0.3, 0.5):
                    cases.append(Case(el, h, amount, seed))
        for el in (40.0, 55.0, 70.0):
            cases.append(Case(el, "high", 0.3, seed))
    return cases, 96, 36


# ---- dark events that are not shadow --------------------------------------------------


def dark_events(seeds: Sequence[int], area: int, dates: int, log: Callable[[str], None]) -> str:
    """Dark spikes that are not cloud shadow (a flood, a burn, a fresh ploughing: one date
    at 30 % of the usual brightness) on cloud-free dates: how many the presets call
    shadow, and how many are left after the step. The scene extends sunward by the
    longest shadow of ``max_height`` (12 km), so the step can rule them out."""
    p = ShadowParams()
    rows = []
    for seed in seeds:
        case = Case(55.0, "mid", 0.1, seed)
        scene, rs, cs = scene_with_margin(case, area, dates, reach_m=p.max_height)
        rng = np.random.default_rng([seed, 2024])
        truth = scene.truth.values
        ds = scene.ds.copy(deep=True)
        events = np.zeros(truth.shape, bool)
        yy, xx = np.mgrid[:area, :area]
        for t in range(truth.shape[0]):
            if ((truth[t] == 2) | (truth[t] == 3)).mean() > 0.005 or (truth[t] == 0).any():
                continue  # cloud-free dates only
            cy, cx, r = (
                rng.integers(10, area - 10),
                rng.integers(10, area - 10),
                rng.integers(6, 14),
            )
            disc = np.zeros(truth.shape[1:], bool)
            disc[rs, cs] = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            events[t] = disc
            for b in BANDS:
                v = ds[b].values
                v[t][disc] = np.rint(v[t][disc] * 0.3).astype(v.dtype)
        bands = _bands(ds)
        for preset in PRESETS:
            m = np.asarray(classify(ds, preset=preset, runner="threads").values)
            g = _geometry(m, bands, scene, p).mask
            ev_area = events[:, rs, cs]
            for config, mm in (("detection only", m), ("+ geometry", g)):
                a = mm[:, rs, cs]
                e = compare(a, truth[:, rs, cs])
                rows.append(
                    [
                        str(seed),
                        preset,
                        config,
                        f"{int(ev_area.sum()):,}",
                        pct(float((a[ev_area] == 3).mean()) if ev_area.any() else None),
                        pct(e.producers_accuracy["cloud_shadow"]),
                        pct(e.users_accuracy["cloud_shadow"]),
                    ]
                )
        log(f"dark events seed {seed}: done")
    return md_table(
        [
            "seed",
            "preset",
            "configuration",
            "dark-event pixel-dates",
            "called shadow %",
            "shadow PA %",
            "shadow UA %",
        ],
        rows,
    )


# ---- tables ----------------------------------------------------------------------------


def pooled(evs: Sequence[Evaluation]) -> Evaluation:
    return Evaluation(
        counts=np.concatenate([e.counts for e in evs]),
        dates=tuple(d for e in evs for d in e.dates),
        mask_name="pooled",
        reference_name="synthetic truth",
    )


def figures(evs: Sequence[Evaluation]) -> list[str]:
    """Pooled cloud PA/UA, shadow PA/UA, clear PA, and ± over scenes for shadow."""
    pool = pooled(evs)
    pa, ua = pool.producers_accuracy, pool.users_accuracy
    return [
        pct(pa["cloud"]),
        pct(ua["cloud"]),
        f"{pct(pa['cloud_shadow'])} ({mean_sd([e.producers_accuracy['cloud_shadow'] for e in evs])})",
        f"{pct(ua['cloud_shadow'])} ({mean_sd([e.users_accuracy['cloud_shadow'] for e in evs])})",
        pct(pa["clear"]),
    ]


FIG_HEAD = [
    "cloud PA %",
    "cloud UA %",
    "shadow PA % (per scene)",
    "shadow UA % (per scene)",
    "clear PA %",
]


def grouped_table(
    runs: list[Run], key: Callable[[Case], Any], label: str, keep: Callable[[Case], bool]
) -> str:
    rows = []
    keys = sorted({key(r.case) for r in runs if keep(r.case)})
    for k in keys:
        for preset in PRESETS:
            for config in CONFIGS[:2]:
                sel = [
                    r.ev
                    for r in runs
                    if keep(r.case)
                    and key(r.case) == k
                    and r.preset == preset
                    and r.config == config
                ]
                if sel:
                    rows.append([str(k), preset, config, *figures(sel)])
    return md_table([label, "preset", "configuration", *FIG_HEAD], rows)


def headline(runs: list[Run]) -> tuple[str, dict[tuple[str, str], Evaluation]]:
    rows, pools = [], {}
    for preset in PRESETS:
        for config in CONFIGS:
            sel = [r.ev for r in runs if r.preset == preset and r.config == config]
            pools[(preset, config)] = pooled(sel)
            rows.append([preset, config, *figures(sel)])
    return md_table(["preset", "configuration", *FIG_HEAD], rows), pools


def height_errors(runs: list[Run]) -> str:
    """Matched heights against the scene's range of cloud heights, by object and by pixel."""
    rows = []
    for preset in PRESETS:
        inside, near, weight = [], [], []
        for r in runs:
            if r.preset != preset or r.config != CONFIGS[1] or not r.heights:
                continue
            lo, hi = HEIGHTS[r.case.heights]
            h = np.asarray(r.heights)
            inside.append((h >= lo) & (h <= hi))
            near.append((h >= lo / 1.25) & (h <= hi * 1.25))
            weight.append(np.asarray(r.sizes, dtype=float))
        if not inside:
            continue
        a, b, w = np.concatenate(inside), np.concatenate(near), np.concatenate(weight)
        rows.append(
            [
                preset,
                f"{a.size:,}",
                pct(float(a.mean())),
                pct(float(b.mean())),
                pct(float((a * w).sum() / w.sum())),
                pct(float((b * w).sum() / w.sum())),
            ]
        )
    return md_table(
        [
            "preset",
            "matched objects",
            "height in the scene's range, % of objects",
            "within 25 % of it, % of objects",
            "in range, % of cloud pixels",
            "within 25 %, % of cloud pixels",
        ],
        rows,
    )


# ---- sensitivity -----------------------------------------------------------------------


def variants() -> list[tuple[str, str, ShadowParams]]:
    base = ShadowParams()
    out = [("(defaults)", "", base)]
    for f in dataclasses.fields(ShadowParams):
        v = getattr(base, f.name)
        for word, factor in (("halved", 0.5), ("doubled", 2.0)):
            new = v * factor
            if f.name == "min_cloud_pixels":
                new = max(1, round(new))
            if f.name == "shadow_drop" and new >= 1.0:
                new = 0.8 if v < 0.8 else 0.95
            if f.name == "min_height" and new > base.max_height:
                continue
            try:
                out.append((f.name, f"{word}: {new:g}", dataclasses.replace(base, **{f.name: new})))
            except ValueError:
                continue
    return out


def sensitivity(results: list[CaseResult], log: Callable[[str], None]) -> str:
    rows = []
    for name, change, params in variants():
        for preset in PRESETS:
            evs = []
            for res in results:
                rows_s, cols_s = res.area
                geo = _geometry(res.masks[preset], res.scene.bands, res.scene, params)
                truth = res.scene.truth.values[:, rows_s, cols_s]
                evs.append(compare(geo.mask[:, rows_s, cols_s], truth))
            pool = pooled(evs)
            rows.append(
                [
                    name,
                    change or "–",
                    preset,
                    pct(pool.producers_accuracy["cloud_shadow"]),
                    pct(pool.users_accuracy["cloud_shadow"]),
                    pct(pool.producers_accuracy["clear"]),
                ]
            )
        log(f"sensitivity {name} {change}: done")
    return md_table(
        ["constant", "change", "preset", "shadow PA %", "shadow UA %", "clear PA %"], rows
    )


# ---- the real sample ---------------------------------------------------------------------


def wright(sample: Path | None) -> tuple[str, list[str], dict[str, Any]]:
    ds, dates, source = load_sample(sample)
    x, y = float(ds.x.values.mean()), float(ds.y.values.mean())
    from pyproj import Transformer

    crs = ds["spatial_ref"].attrs.get("crs_wkt") if "spatial_ref" in ds.coords else None
    lon, lat = Transformer.from_crs(crs or "EPSG:32755", "EPSG:4326", always_xy=True).transform(
        x, y
    )
    day_only = ds.time.values.astype("datetime64[D]").astype("datetime64[ns]")
    sun = resolve_sun(day_only, lon, lat)
    bands = _bands(ds)
    step = abs(float(ds.x.values[1] - ds.x.values[0]))
    out: dict[str, Any] = {"notes": sun.notes(), "lon": lon, "lat": lat, "source": source}
    cols: dict[str, np.ndarray] = {}
    matched: dict[str, list[int]] = {}
    for preset in PRESETS:
        m = np.asarray(classify(ds, preset=preset, runner="threads").values)
        g = apply_shadow_geometry(
            m, bands, sun, step, nodata=ds[BANDS[0]].attrs.get("nodata", -999)
        )
        obs = np.maximum((m > 0).sum(axis=(1, 2)), 1)
        for name, mm in (("", m), (" + geom", g.mask)):
            cols[f"{preset}{name} cloud"] = (mm == 2).sum(axis=(1, 2)) / obs
            cols[f"{preset}{name} shadow"] = (mm == 3).sum(axis=(1, 2)) / obs
        matched[preset] = [d.matched for d in g.dates]
        out[f"{preset}_removed"] = sum(d.removed for d in g.dates)
    rows = []
    for i, d in enumerate(dates):
        rows.append(
            [
                d,
                f"{sun.elevation[i]:.0f} / {sun.azimuth[i]:.0f}",
                pct(cols["seed cloud"][i]),
                f"{pct(cols['seed shadow'][i])} → {pct(cols['seed + geom shadow'][i])}",
                str(matched["seed"][i]),
                pct(cols["dea cloud"][i]),
                f"{pct(cols['dea shadow'][i])} → {pct(cols['dea + geom shadow'][i])}",
                str(matched["dea"][i]),
            ]
        )
    table = md_table(
        [
            "date",
            "sun el / az °",
            "seed cloud %",
            "seed shadow % (→ + geometry)",
            "seed objects matched",
            "dea cloud %",
            "dea shadow % (→ + geometry)",
            "dea objects matched",
        ],
        rows,
    )
    return table, dates, out


# ---- the page ------------------------------------------------------------------------------


def verdict(pools: dict[tuple[str, str], Evaluation]) -> list[str]:
    lines = []
    for preset in PRESETS:
        base, geo = pools[(preset, CONFIGS[0])], pools[(preset, CONFIGS[1])]
        pa = geo.producers_accuracy["cloud_shadow"] or 0.0
        ua = geo.users_accuracy["cloud_shadow"] or 0.0
        ok = pa >= TARGET_PA and ua >= TARGET_UA
        same_cloud = np.array_equal(base.confusion[1], geo.confusion[1])
        lines.append(
            f"- **{preset} + shadow geometry**: shadow PA {pct(pa)} % (target ≥ 90), UA "
            f"{pct(ua)} % (target ≥ 95): {'meets' if ok else 'misses'} the target"
            + (
                "; cloud figures identical to the preset's (the step never changes a cloud pixel)."
                if same_cloud
                else "."
            )
        )
    return lines


def write_page(doc: Path, parts: dict[str, Any]) -> None:
    cases: list[Case] = parts["cases"]
    runs: list[Run] = parts["runs"]
    head_table, pools = headline(runs)
    ratio = [r.seconds / r.classify_seconds for r in runs if r.config == CONFIGS[1]]
    area, dates = parts["area"], parts["dates"]
    w_table, _, w = parts["wright"]
    lines = [
        "# Shadow from sun geometry: figures",
        "",
        "<!-- Generated by scripts/shadow_accuracy.py; edit the script, not this page. -->",
        "",
        f"Generated {dt.date.today().isoformat()} with `tsmask_qgis.engine.classify` (numba "
        f"kernels, threads) and `tsmask_qgis.engine.shadow.apply_shadow_geometry` with its "
        f"default constants, Python {platform.python_version()}, numpy {np.__version__}; "
        f"{parts['seconds']:.0f} s. The step is specified in `docs/shadow_geometry.md`.",
        "",
        "## Synthetic scenes with a known sun and known cloud heights",
        "",
        f"{len({(c.elevation, c.heights, c.amount) for c in cases})} settings x "
        f"{len({c.seed for c in cases})} seeds: {area} x {area} evaluated pixels (20 m), "
        f"{dates} dates at a 5-day revisit from 2017-01-01, the sun fixed at azimuth "
        f"{AZIMUTH:g}° and elevation 25°, 40°, 55° or 70°, clouds in {LAYERS} layers per date "
        "(`make_scene(cloud_layers=2)`: each half of the sky at its own height, drawn from "
        + ", ".join(f"{k} {lo / 1000:g}–{hi / 1000:g} km" for k, (lo, hi) in HEIGHTS.items())
        + "; high clouds at 40° and above only), cloud amount 0.1, 0.3 or 0.5. Each scene "
        "extends towards the sun by the longest shadow of its highest cloud: detection and "
        "the step run on the whole scene and the figures count the far "
        f"{area} x {area} pixels only, as a loader that reads a margin would "
        "(`shadow_margin_m`). *No margin*: detection and the step on the evaluated area "
        "alone, so clouds outside it cannot be seen.",
        "",
        "Shadow PA and UA are pooled over all scenes (confusion matrices summed); in "
        "brackets the mean ± standard deviation over scenes.",
        "",
        "### All scenes",
        "",
        head_table,
        "",
        *verdict(pools),
        "",
        f"The step took {np.median(ratio):.2f} times the detection's time (median over "
        "scenes, same run; both on all cores).",
        "",
        "### By sun elevation (low and mid clouds, all amounts)",
        "",
        grouped_table(
            runs, lambda c: c.elevation, "sun elevation °", lambda c: c.heights != "high"
        ),
        "",
        "### By cloud height (cloud amount 0.3, sun at 40° and above)",
        "",
        grouped_table(
            runs,
            lambda c: c.heights,
            "cloud heights",
            lambda c: c.amount == 0.3 and c.elevation >= 40,
        ),
        "",
        "### By cloud amount (low and mid clouds, all elevations)",
        "",
        grouped_table(runs, lambda c: c.amount, "cloud amount", lambda c: c.heights != "high"),
        "",
        "### Heights found",
        "",
        height_errors(runs),
        "",
        "A matched height outside the scene's range is an object matched to darkness that is "
        "not its own shadow (often another cloud's): only dark pixels become shadow, so such a "
        "match costs little user's accuracy. Objects that merge clouds of both layers get one "
        "height; their other layer's shadow is then left as detected.",
        "",
        "### Dark events that are not shadow",
        "",
        "On every cloud-free date of scenes with the sun at 55°, mid-height clouds and cloud "
        "amount 0.1, one disc of the evaluated area (6–13 pixels in radius) is darkened to "
        "30 % for that date only, as a flood, a burn or fresh ploughing would (truth: clear). "
        "Each scene extends sunward by the longest shadow of a 12 km cloud (`max_height`), "
        "so every sunward ray of the area stays in the data and the step can judge it.",
        "",
        parts["events"],
        "",
        "### Sensitivity: each constant halved and doubled",
        "",
        "Mid-height clouds, cloud amount 0.3, the four elevations, seeds as above "
        "(detection fixed, the step re-run).",
        "",
        parts["sensitivity"],
        "",
        "`min_sun_elevation` cannot move these figures: every synthetic sun is at 25° or "
        "more. `max_height` changes which pixels count as reachable; on these small scenes "
        "almost every sunward ray leaves the scene first, so detected shadow is seldom "
        "returned to clear.",
        "",
        "## The real sample: Wright, ACT",
        "",
        f"{w['source']}; the sun computed at 10:30 local solar time at the sample's centre "
        f"({w['lon']:.3f}° E, {w['lat']:.3f}°) because the sample's dates are approximate and "
        "carry no time of day (" + "; ".join(w["notes"]) + "); 10 m pixels, georeference "
        "approximate. No reference labels: the fractions are for reading beside the quicklooks "
        "of docs/accuracy.md.",
        "",
        w_table,
        "",
        f"Detected shadow returned to clear as unreachable: seed {w['seed_removed']}, dea "
        f"{w['dea_removed']} pixel-dates (the sample is 1 km across: every sunward ray over "
        "the height range leaves it, so nothing can be ruled out).",
        "",
        "## Reproduce",
        "",
        "```",
        "python scripts/shadow_accuracy.py --doc docs/accuracy_shadow.md",
        "```",
        "",
    ]
    doc.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "accuracy_shadow.md")
    ap.add_argument("--sample", type=Path, default=None, help="the real sample (.nc)")
    ap.add_argument("--quick", action="store_true", help="tiny scenes (for tests)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", flush=True)

    cases, area, dates = cases_for(args.quick)
    results = []
    for case in cases:
        results.append(run_case(case, area, dates))
        log(f"{case}: done")
    runs = [r for res in results for r in res.runs]
    sens_cases = [
        res
        for res in results
        if res.runs[0].case.heights == "mid" and res.runs[0].case.amount == 0.3
    ] or results[:1]
    sens = sensitivity(sens_cases, log)
    events = dark_events([0] if args.quick else [0, 1], area, dates, log)
    w = wright(args.sample)
    log("real sample done")
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    write_page(
        args.doc,
        {
            "cases": cases,
            "runs": runs,
            "area": area,
            "dates": dates,
            "sensitivity": sens,
            "events": events,
            "wright": w,
            "seconds": time.perf_counter() - t0,
        },
    )
    log(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
