"""Regenerate docs/accuracy.md and its figures (``make accuracy``).

Runs both presets of the engine on synthetic scenes with known truth (by cloud
amount and by series length, several random seeds each) and on the bundled
real sample of Wright, ACT (no per-pixel truth: per-date fractions beside
quicklooks), and writes the Markdown page and PNG figures. Deterministic for
given options; takes a few minutes on two cores.

    python scripts/accuracy.py [--doc docs/accuracy.md] [--img docs/img] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from tsmask_qgis.classes import CLASSES  # noqa: E402
from tsmask_qgis.evaluate import BANDS, COVER_NAMES, Evaluation, compare, make_scene  # noqa: E402
from tsmask_qgis.evaluate.report import confusion_png  # noqa: E402

PRESETS = ("seed", "dea")
SHARED_SAMPLE = Path("/work/shared/data/wright_act/cube.npz")


# ---- the engine ------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """How masks are computed: a name for the page and ``run(ds, preset) -> (T, Y, X) uint8``."""

    name: str
    run: Callable[[xr.Dataset, str], np.ndarray]


def _stack(ds: xr.Dataset) -> tuple[np.ndarray, float | None]:
    bands = np.stack([ds[b].values for b in BANDS])
    nodata = ds[BANDS[0]].attrs.get("nodata") if bands.dtype.kind in "iu" else None
    return bands, nodata


def find_engine() -> Engine:
    """The engine's xarray layer (threads), else its numpy layer, else the pure-Python oracle."""
    try:
        from tsmask_qgis.engine import classify
    except ImportError:
        classify = None
    if classify is not None:

        def run(ds: xr.Dataset, preset: str) -> np.ndarray:
            return np.asarray(classify(ds, preset=preset, runner="threads").values)

        return Engine("`tsmask_qgis.engine.classify` (numba kernels, threads)", run)
    try:
        from tsmask_qgis.engine._core import classify_array
    except ImportError:
        classify_array = None
    if classify_array is not None:

        def run_array(ds: xr.Dataset, preset: str) -> np.ndarray:
            bands, nodata = _stack(ds)
            return classify_array(bands, preset=preset, nodata=nodata)

        return Engine("`tsmask_qgis.engine._core.classify_array` (numba kernels)", run_array)
    try:
        from tsmask_qgis.engine.reference import reference_classify
    except ImportError as exc:
        raise SystemExit(
            "accuracy: no engine found (tsmask_qgis.engine.classify, classify_array or "
            "the oracle tsmask_qgis.engine.reference.reference_classify)"
        ) from exc

    def run_oracle(ds: xr.Dataset, preset: str) -> np.ndarray:
        bands, nodata = _stack(ds)
        refl = bands.astype(np.float32) / np.float32(10000.0)
        if nodata is not None:
            refl[(bands == nodata).any(axis=0)[None].repeat(6, axis=0)] = np.nan
        return reference_classify(refl, preset, spatial=True)

    return Engine("the pure-Python oracle `reference_classify` (slow)", run_oracle)


# ---- small helpers ---------------------------------------------------------------------


def pct(v: float | None, digits: int = 1) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{100 * v:.{digits}f}"


def mean_sd(values: list[float | None], digits: int = 1) -> str:
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "–"
    if v.size == 1:
        return f"{100 * v[0]:.{digits}f}"
    return f"{100 * v.mean():.{digits}f} ± {100 * v.std(ddof=1):.{digits}f}"


def md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def class_rgba() -> np.ndarray:
    lut = np.zeros((4, 4), dtype=np.float32)
    for c in CLASSES:
        r, g, b, _ = c.rgba
        lut[c.value] = (r / 255, g / 255, b / 255, 1.0)
    lut[0] = (0.0, 0.0, 0.0, 1.0)  # no observation shown black in the figures
    return lut


def truecolour(bands_t: np.ndarray, scale: float, nodata: float | None) -> np.ndarray:
    """RGB 0..1 from (6, y, x) integers x ``scale``; reflectance 0..0.3 stretched, gamma 0.8."""
    rgb = np.stack([bands_t[2], bands_t[1], bands_t[0]], axis=-1).astype(np.float32) / scale
    if nodata is not None:
        rgb[(bands_t[:3] == nodata).any(axis=0)] = 0.0
    return np.clip(rgb / 0.3, 0, 1) ** 0.8


def new_figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    return fig


def near(a: np.ndarray) -> np.ndarray:
    """Per date: within one pixel (8-neighbourhood, itself included) of a True pixel."""
    out = a.copy()
    p = np.pad(a, ((0, 0), (1, 1), (1, 1)))
    ny, nx = a.shape[1:]
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            out |= p[:, dy : dy + ny, dx : dx + nx]
    return out


# ---- synthetic experiments ---------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    preset: str
    cloud_amount: float
    dates: int
    seed: int
    ev: Evaluation
    seconds: float


def synthetic_runs(
    engine: Engine, configs: list[tuple[float, int]], seeds: list[int], size: int, log
) -> list[Run]:
    runs = []
    for amount, nt in configs:
        for seed in seeds:
            scene = make_scene(shape=(nt, size, size), seed=seed, cloud_amount=amount)
            for preset in PRESETS:
                t0 = time.perf_counter()
                mask = engine.run(scene.ds, preset)
                sec = time.perf_counter() - t0
                ev = compare(mask, scene.truth, mask_name=preset, reference_name="synthetic truth")
                runs.append(Run(preset, amount, nt, seed, ev, sec))
            log(f"synthetic cloud_amount={amount} dates={nt} seed={seed}: done")
    return runs


def summary_rows(runs: list[Run], key: Callable[[Run], object], label: Callable[[object], str]):
    rows = []
    keys = sorted({key(r) for r in runs}, key=lambda k: (str(type(k)), k))
    for k in keys:
        for preset in PRESETS:
            sel = [r for r in runs if key(r) == k and r.preset == preset]
            if not sel:
                continue
            rows.append(
                [
                    label(k),
                    preset,
                    mean_sd([r.ev.overall_accuracy for r in sel]),
                    mean_sd([r.ev.f1 for r in sel]),
                    mean_sd([r.ev.producers_accuracy["cloud"] for r in sel]),
                    mean_sd([r.ev.users_accuracy["cloud"] for r in sel]),
                    mean_sd([r.ev.producers_accuracy["cloud_shadow"] for r in sel]),
                    mean_sd([r.ev.users_accuracy["cloud_shadow"] for r in sel]),
                    mean_sd([r.ev.producers_accuracy["clear"] for r in sel]),
                ]
            )
    return rows


SUMMARY_HEAD = [
    "",
    "preset",
    "overall accuracy %",
    "F1 cloud/shadow %",
    "cloud PA %",
    "cloud UA %",
    "shadow PA %",
    "shadow UA %",
    "clear PA %",
]


def line_figure(runs: list[Run], attr: str, xlabel: str, path: Path, log_x: bool = False) -> None:
    fig = new_figure(9.5, 3.4)
    metrics = [
        ("overall accuracy", lambda e: e.overall_accuracy),
        ("F1 cloud or shadow", lambda e: e.f1),
        ("shadow producer's accuracy", lambda e: e.producers_accuracy["cloud_shadow"]),
    ]
    xs = sorted({getattr(r, attr) for r in runs})
    for i, (title, fn) in enumerate(metrics):
        ax = fig.add_subplot(1, 3, i + 1)
        for preset, colour in zip(PRESETS, ("#1f77b4", "#d62728"), strict=True):
            m, s = [], []
            for x in xs:
                v = [fn(r.ev) for r in runs if r.preset == preset and getattr(r, attr) == x]
                v = np.array([np.nan if a is None else a for a in v], dtype=float)
                m.append(np.nanmean(v) * 100)
                s.append((np.nanstd(v, ddof=1) if np.isfinite(v).sum() > 1 else 0.0) * 100)
            ax.errorbar(xs, m, yerr=s, marker="o", capsize=3, label=preset, color=colour)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        if log_x:
            ax.set_xscale("log")
            ax.set_xticks(xs, [str(x) for x in xs])
            ax.minorticks_off()
        ax.grid(alpha=0.3)
        if i == 0:
            ax.set_ylabel("%")
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def synthetic_quicklook(engine: Engine, path: Path, size: int) -> dict[str, object]:
    """One scene: true colour, truth and both masks on a few dates. Returns facts for the text."""
    scene = make_scene(shape=(73, size, size), seed=7, cloud_amount=0.3)
    masks = {p: engine.run(scene.ds, p) for p in PRESETS}
    truth = scene.truth.values
    frac_cloud = ((truth == 2) | (truth == 3)).mean(axis=(1, 2))
    observed = (truth > 0).mean(axis=(1, 2)) > 0.99
    # Dates spanning clear to overcast, with shadow on some.
    candidates = np.nonzero(observed)[0]
    order = candidates[np.argsort(frac_cloud[candidates])]
    picks = sorted(set(order[np.linspace(0, len(order) - 1, 6).round().astype(int)].tolist()))
    lut = class_rgba()
    fig = new_figure(1.9 * len(picks), 1.95 * 4 + 0.3)
    rows = [("true colour", None), ("truth", truth), ("seed", masks["seed"]), ("dea", masks["dea"])]
    for j, t in enumerate(picks):
        for i, (name, arr) in enumerate(rows):
            ax = fig.add_subplot(4, len(picks), i * len(picks) + j + 1)
            img = truecolour(scene.bands[:, t], 10000.0, -999) if arr is None else lut[arr[t]]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(str(scene.ds.time.values[t])[:10], fontsize=8)
            if j == 0:
                ax.set_ylabel(name, fontsize=9)
    fig.text(
        0.5,
        0.005,
        "masks: clear green, cloud light grey, shadow purple, no observation black",
        ha="center",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=72)
    return {"scene": scene, "masks": masks}


def breakdown(scene, masks: dict[str, np.ndarray]) -> tuple[list[list[str]], dict[str, dict]]:
    """Errors by land cover, and how much commission lies next to true cloud/shadow."""
    truth = scene.truth.values
    cover = np.broadcast_to(scene.landcover.values, truth.shape)
    rows = []
    for code, name in COVER_NAMES.items():
        sel = cover == code
        share = sel[truth > 0].mean()
        cells = [name.replace("_", " "), pct(share)]
        for preset in PRESETS:
            ev = compare(np.where(sel, masks[preset], 0), np.where(sel, truth, 0))
            cells += [
                pct(ev.overall_accuracy),
                pct(ev.producers_accuracy["cloud_shadow"]),
                pct(ev.users_accuracy["cloud"]),
            ]
        rows.append(cells)
    facts: dict[str, dict] = {}
    opaque = near((truth == 2) | (truth == 3))
    op = scene.cloud_opacity.astype(np.float32)
    for preset in PRESETS:
        m = masks[preset]
        commission = (truth == 1) & ((m == 2) | (m == 3))
        omission_shadow = (truth == 3) & (m == 1)
        facts[preset] = {
            "commission": int(commission.sum()),
            "commission_adjacent": float(opaque[commission].mean()) if commission.any() else 0.0,
            "commission_thin": float((op[commission] > 0.02).mean()) if commission.any() else 0.0,
            "shadow_missed_on_water": float((cover[omission_shadow] == 0).mean())
            if omission_shadow.any()
            else 0.0,
            "water_share": float((cover[truth == 3] == 0).mean()),
        }
    return rows, facts


def truth_sensitivity(scene, masks: dict[str, np.ndarray]) -> list[list[str]]:
    """The same masks against truths cut at other cloud opacities."""
    base = scene.truth.values
    op = scene.cloud_opacity.astype(np.float32)
    sh = scene.shadow_strength.astype(np.float32)
    rows = []
    for cut in (0.05, 0.15, 0.3):
        truth = np.where(base == 0, 0, 1).astype(np.uint8)
        truth[(base > 0) & (sh >= 0.5)] = 3
        truth[(base > 0) & (op >= cut)] = 2
        cells = [f"{cut:.2f}", pct((truth == 2).sum() / (truth > 0).sum())]
        for preset in PRESETS:
            ev = compare(masks[preset], truth)
            cells += [pct(ev.overall_accuracy), pct(ev.f1)]
        rows.append(cells)
    return rows


# ---- the real sample --------------------------------------------------------------------


def load_sample(path: Path | None) -> tuple[xr.Dataset, list[str], str]:
    """The real sample as a Dataset (int16 x 10000), its date labels, where it came from."""
    bundled = ROOT / "tsmask_qgis" / "data" / "wright_act.nc"
    if path is None:
        path = bundled if bundled.exists() else SHARED_SAMPLE
    if path.suffix == ".nc":
        with xr.open_dataset(path) as f:
            ds = f[list(BANDS)].load()
    else:
        with np.load(path) as z:
            times = np.array([str(t) for t in z["time"]], dtype="datetime64[ns]")
            ds = xr.Dataset({b: (("time", "y", "x"), z[b]) for b in BANDS}, coords={"time": times})
    dates = [str(t)[:10] for t in ds.time.values]
    try:
        shown = str(path.relative_to(ROOT))
    except ValueError:
        shown = str(path)
    return ds, dates, shown


def real_sample(engine: Engine, sample: Path | None, img: Path) -> dict[str, object]:
    ds, dates, source = load_sample(sample)
    bands = np.stack([ds[b].values for b in BANDS])
    masks = {p: engine.run(ds, p) for p in PRESETS}
    refl = bands.astype(np.float32) / 10000.0
    sa = refl.mean(axis=0)
    sa_med = np.median(sa, axis=(1, 2))
    clear_level = float(np.median(sa_med))
    nt = len(dates)
    # Fractions per date.
    frac = {p: {k: (masks[p] == k).mean(axis=(1, 2)) for k in (1, 2, 3)} for p in PRESETS}
    agree = (masks["seed"] == masks["dea"]).mean()
    # Where seed's thin-cloud post rule (algorithm.md) holds: red below blue and so on.
    blue, green, red, _, swir1, _ = refl
    with np.errstate(divide="ignore", invalid="ignore"):
        wbi = (red - blue) / blue
        rgm = red + blue
        mndwi = (green - swir1) / (green + swir1)
        grbm = (green - rgm / 2) / (rgm / 2)
    thin_rule = (wbi < -0.02) & (rgm > 0.06) & (rgm < 0.29) & (mndwi < -0.1) & (grbm < 0.2)
    # Quicklook grid: for each date true colour | seed | dea.
    lut = class_rgba()
    cols = 5
    nrows = int(np.ceil(nt / cols))
    fig = new_figure(cols * 3 * 1.05, nrows * 1.25 + 0.3)
    for t in range(nt):
        r, c = divmod(t, cols)
        for k, img_arr in enumerate(
            (truecolour(bands[:, t], 10000.0, None), lut[masks["seed"][t]], lut[masks["dea"][t]])
        ):
            ax = fig.add_subplot(nrows, cols * 3, r * cols * 3 + c * 3 + k + 1)
            ax.imshow(img_arr, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_title(f"{t}: {dates[t]}", fontsize=7, loc="left")
            elif r == 0:
                ax.set_title(("seed", "dea")[k - 1], fontsize=7)
    fig.text(
        0.5,
        0.003,
        "each date: true colour | seed | dea — clear green, cloud light grey, shadow purple",
        ha="center",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.015, 1, 1), pad=0.3, h_pad=0.2, w_pad=0.1)
    fig.savefig(img / "accuracy_wright_quicklooks.png", dpi=72)
    # Fractions chart.
    fig = new_figure(10, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(nt)
    w = 0.38
    for i, p in enumerate(PRESETS):
        off = (i - 0.5) * w
        ax.bar(
            x + off,
            frac[p][2] * 100,
            w,
            color="#bdbdbd",
            edgecolor="k",
            lw=0.3,
            label=f"{p}: cloud",
            hatch=None if i == 0 else "///",
        )
        ax.bar(
            x + off,
            frac[p][3] * 100,
            w,
            bottom=frac[p][2] * 100,
            color="#6a3d9a",
            edgecolor="k",
            lw=0.3,
            label=f"{p}: shadow",
            hatch=None if i == 0 else "///",
        )
    ax2 = ax.twinx()
    ax2.plot(x, sa_med, "k.-", lw=1, label="median brightness (sa)")
    ax2.axhline(0.45, color="k", ls=":", lw=0.8)
    ax2.set_ylabel("median sa (six-band mean)")
    ax.set_xticks(x, [f"{t}" for t in x], fontsize=7)
    ax.set_xlabel("date index (left bar seed, right bar dea)")
    ax.set_ylabel("% of the image")
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left", fontsize=7, ncol=2)
    ax2.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(img / "accuracy_wright_fractions.png", dpi=80)
    return {
        "dates": dates,
        "source": source,
        "frac": frac,
        "sa_med": sa_med,
        "clear_level": clear_level,
        "agree": float(agree),
        "thin_rule": thin_rule.mean(axis=(1, 2)),
        "thin_cloud": ((masks["seed"] == 2) & thin_rule).mean(axis=(1, 2)),
        "masks": masks,
        "shape": bands.shape,
    }


def oracle_check(engine: Engine, sample: Path | None) -> str:
    """Compare the engine with the pure-Python oracle on small inputs; a sentence for the page."""
    try:
        from tsmask_qgis.engine.reference import reference_classify
    except ImportError:
        return "The pure-Python oracle was not available to cross-check the engine."
    ds, _, _ = load_sample(sample)
    cases = [("Wright 40 × 40 crop", ds.isel(y=slice(0, 40), x=slice(0, 40)))]
    cases.append(("a 40-date synthetic scene", make_scene(shape=(40, 32, 32), seed=5).ds))
    total = differ = 0
    for _, case in cases:
        bands = np.stack([case[b].values for b in BANDS])
        refl = bands.astype(np.float32) / np.float32(10000.0)
        nodata = case[BANDS[0]].attrs.get("nodata")
        if nodata is not None:
            refl[:, (bands == nodata).any(axis=0)] = np.nan
        for preset in PRESETS:
            a = engine.run(case, preset)
            b = reference_classify(refl, preset, spatial=True)
            total += a.size
            differ += int((a != b).sum())
    names = " and ".join(n for n, _ in cases)
    if differ == 0:
        return (
            f"Cross-check: on {names} the engine and the pure-Python oracle of "
            f"`docs/algorithm.md` (`tsmask_qgis.engine.reference`) give the same class on all "
            f"{total:,} pixel-dates, both presets."
        )
    return (
        f"Cross-check: on {names} the engine and the pure-Python oracle differ on {differ:,} "
        f"of {total:,} pixel-dates: the figures below are suspect until that is resolved."
    )


# ---- the page ---------------------------------------------------------------------------


def write_page(doc: Path, parts: dict[str, object]) -> None:
    e: Engine = parts["engine"]  # type: ignore[assignment]
    base_runs: list[Run] = parts["base_runs"]  # type: ignore[assignment]
    size = parts["size"]
    seeds = parts["seeds"]
    amount_runs: list[Run] = parts["amount_runs"]  # type: ignore[assignment]
    length_runs: list[Run] = parts["length_runs"]  # type: ignore[assignment]
    facts = parts["facts"]
    wr = parts["wright"]
    L: list[str] = []
    a = L.append
    a("# Accuracy of the tsmask method: first figures")
    a("")
    a(
        "<!-- Generated by scripts/accuracy.py (`make accuracy`); edit the script, not this page. -->"
    )
    a("")
    a(
        f"Generated {dt.date.today().isoformat()} with {e.name}, Python "
        f"{platform.python_version()}, numpy {np.__version__}; "
        f"{parts['seconds']:.0f} s on {os.cpu_count()} cores. "
        "Both presets run exactly as `docs/algorithm.md` specifies, spatial steps included. "
        + str(parts["oracle"])
    )
    a("")
    a("## What each reference can and cannot show")
    a("")
    a(
        "- **Synthetic truth** (`tsmask_qgis.evaluate.make_scene`) gives the true class of every "
        "pixel and date, so omission and commission can be counted exactly. But it is only as "
        "good as the generator: its surfaces change smoothly between dates, its clouds are "
        "blended over the surface by an opacity, its shadows keep a nearly flat 9–13 % of the "
        "signal (measured on the Wright sample's fully shadowed date), and it has no haze "
        "gradients, adjacency effects, view-angle parallax, snow or terrain shadows. "
        "The truth itself is a choice: a pixel is *cloud* when the cloud's opacity is at least "
        "0.15 and *shadow* when the cloud casting it has opacity 0.5 or more (the table of "
        "truth cuts below shows how much the figures move with that choice). Figures against "
        "it say how the method behaves on such scenes — they rank settings and reveal "
        "failure modes — not what it scores on real imagery."
    )
    a(
        "- **Sentinel-2 SCL** and **DEA Fmask** (`tsmask evaluate --reference-kind scl|fmask`) "
        "are real, per-date, per-pixel labels of the same images, but they are themselves "
        "models with errors of their own (published comparisons of Sentinel-2 cloud masks "
        "find both missing part of the thin cloud and shadow and calling some bright "
        "ground cloud). "
        "Agreement with them measures agreement, not accuracy: a disagreement can be "
        "either side's error. No SCL or Fmask layer ships with this project (they must be "
        "downloaded), so this page has no figures against them; run "
        "`tsmask evaluate --mask MASK --reference SCL --reference-kind scl` on your own area."
    )
    a(
        "- **The bundled real sample** (Wright, ACT) has no per-pixel labels at all. What it "
        "can show is whether the per-date cloud and shadow fractions match what is visible "
        "in the images; the quicklooks below let a reader judge that date by date."
    )
    a(
        "- **Independent, expert-labelled reference data** (e.g. the CloudSEN12 or the "
        "Baetens–Hagolle Sentinel-2 reference masks) would give real accuracy figures; "
        "they are not bundled and are not used here."
    )
    a("")
    a(
        "Conventions: confusion matrices have the mask in rows and the reference in columns; "
        "producer's accuracy (PA) = 1 − omission error, user's accuracy (UA) = 1 − commission "
        'error; F1 is for "cloud or shadow" against clear. Pixel-dates where either side has '
        "no observation are left out. ± is the standard deviation over the random seeds."
    )
    a("")
    a("## Synthetic scenes")
    a("")
    a(
        f"Scenes of {size} × {size} pixels (20 m), a 5-day revisit from 2017-01-01, land "
        "cover of forest, pasture, crops, bare soil, urban, bright bare ground and water "
        "with southern-hemisphere seasons, per-date cloud cover drawn from a U-shaped "
        "distribution (many clear dates, some overcast), 15 % of dates with thin cloud "
        "only, sun position of a 10:30 overpass at 35° S, cloud heights 0.8–2.5 km, "
        f"swath edges and missing dates. Seeds {', '.join(map(str, seeds))} for every setting."
    )
    a("")
    a("### Headline: one year, cloud amount 0.3")
    a("")
    a(md_table(SUMMARY_HEAD, summary_rows(base_runs, lambda r: r.dates, lambda k: f"{k} dates")))
    a("")
    a(
        "![seed confusion matrix](img/accuracy_confusion_seed.png) "
        "![dea confusion matrix](img/accuracy_confusion_dea.png)"
    )
    a("")
    a(
        "*Confusion matrices pooled over the seeds (cells: pixel-dates and share of the "
        "reference class).*"
    )
    a("")
    a("![synthetic quicklooks](img/accuracy_synthetic_quicklook.png)")
    a("")
    a(
        "*One synthetic scene (seed 7) on dates from clear to overcast: true colour, truth, "
        "seed and dea masks.*"
    )
    a("")
    a("### By cloud amount (73 dates)")
    a("")
    a(
        md_table(
            ["cloud amount", *SUMMARY_HEAD[1:]],
            summary_rows(amount_runs, lambda r: r.cloud_amount, lambda k: f"{k:.1f}"),
        )
    )
    a("")
    a("![by cloud amount](img/accuracy_by_cloud_amount.png)")
    a("")
    a("### By series length (cloud amount 0.3)")
    a("")
    a(
        md_table(
            ["dates", *SUMMARY_HEAD[1:]],
            summary_rows(length_runs, lambda r: r.dates, lambda k: f"{k}"),
        )
    )
    a("")
    a("![by series length](img/accuracy_by_length.png)")
    a("")
    a(
        "Every series starts on 2017-01-01, so length and season go together: longer series "
        "add winter dates with a low sun and long shadow offsets. Read a difference between "
        "lengths against the ± spread across seeds before reading it as a trend. A series "
        "too short for a spike window (fewer than 3N clear dates for window size N) skips "
        "that pass, which is where very short series lose cloud and shadow."
    )
    shortest = min(r.dates for r in length_runs)
    ua = {
        n: float(
            np.mean(
                [
                    r.ev.users_accuracy["cloud"] or 0.0
                    for r in length_runs
                    if r.preset == "dea" and r.dates == n
                ]
            )
        )
        for n in (shortest, max(r.dates for r in base_runs))
    }
    if ua[shortest] < min(ua.values()) + 1e-9 and ua[shortest] < max(ua.values()) - 0.03:
        a("")
        a(
            f"dea's cloud user's accuracy drops to {pct(ua[shortest])} % at {shortest} dates "
            f"(from {pct(max(ua.values()))} %). The false cloud is spread over all dates and "
            "mostly on rough urban pixels, which is what R(N) step 3 of `docs/algorithm.md` "
            "predicts: in so short a series the walk for one side, and its fallback, often "
            "find fewer than N clear dates, that side's mean counts as 0, the neighbour mean "
            "halves, and any window brighter than the 0.14 cloud floor becomes cloud. Use "
            "dea on series of a few dozen dates or more."
        )
    a("")
    a("### Where the errors are (seed 7 scene, 73 dates, cloud amount 0.3)")
    a("")
    a(
        md_table(
            [
                "land cover",
                "share %",
                "seed OA %",
                "seed cloud/shadow PA %",
                "seed cloud UA %",
                "dea OA %",
                "dea cloud/shadow PA %",
                "dea cloud UA %",
            ],
            parts["cover_rows"],
        )
    )
    a("")
    fs, fd = facts["seed"], facts["dea"]
    a(
        f"- Clear pixels called cloud or shadow: seed {fs['commission']:,}, dea "
        f"{fd['commission']:,} pixel-dates. Of seed's, {pct(fs['commission_adjacent'])} % lie "
        "within one pixel of true cloud or shadow (the seed spatial buffer dilates every "
        f"cloud and shadow by one pixel on purpose) and {pct(fs['commission_thin'])} % are "
        "under a cloud edge thinner than the truth's 0.15 opacity cut; dea's shares are "
        f"{pct(fd['commission_adjacent'])} % and {pct(fd['commission_thin'])} %."
    )
    a(
        f"- Water holds {pct(fs['water_share'])} % of the true shadow but "
        f"{pct(fs['shadow_missed_on_water'])} % (seed) and {pct(fd['shadow_missed_on_water'])} % "
        "(dea) of the shadow each preset calls clear: the post rules return dark, "
        "water-like shadows to clear by design (shadow on water cannot be told from water "
        "by these indices)."
    )
    a(
        "- Shadows on bright surfaces stay above the shadow ceiling (sa 0.055) unless the "
        "cloud is thick; thin-cloud dates cast no true shadow but can darken a pixel enough "
        "to be flagged."
    )
    a("")
    a("### How much the truth's definition matters (same scene and masks)")
    a("")
    a(
        md_table(
            ["cloud opacity cut", "true cloud %", "seed OA %", "seed F1 %", "dea OA %", "dea F1 %"],
            parts["sensitivity_rows"],
        )
    )
    a("")
    a("## The real sample: Wright, ACT")
    a("")
    shape = wr["shape"]
    a(
        f"{shape[1]} Sentinel-2A dates of {shape[2]} × {shape[3]} pixels over the suburb of "
        f"Wright, ACT (read from `{wr['source']}`). Dates are approximate except "
        "2016-01-01; the georeference is approximate. Imagery: Copernicus Sentinel data via "
        "Digital Earth Australia (CC BY 4.0); stack from the test data of "
        "daleroberts/s2cloudmask (Apache-2.0). There are no reference labels: judge the "
        "per-date fractions against the quicklooks."
    )
    a("")
    a("![Wright quicklooks](img/accuracy_wright_quicklooks.png)")
    a("")
    a("![Wright fractions](img/accuracy_wright_fractions.png)")
    a("")
    rows = []
    fr = wr["frac"]
    for t, d in enumerate(wr["dates"]):
        rows.append(
            [
                str(t),
                d,
                f"{wr['sa_med'][t]:.3f}",
                pct(fr["seed"][2][t]),
                pct(fr["seed"][3][t]),
                pct(fr["dea"][2][t]),
                pct(fr["dea"][3][t]),
                pct(wr["thin_rule"][t]),
            ]
        )
    a(
        md_table(
            [
                "#",
                "date",
                "median sa",
                "seed cloud %",
                "seed shadow %",
                "dea cloud %",
                "dea shadow %",
                "thin-cloud rule holds %",
            ],
            rows,
        )
    )
    a("")
    a(
        "*Thin-cloud rule holds: share of the image where seed's thin-cloud post rule "
        "(wbi < −0.02, 0.06 < rgm < 0.29, mndwi < −0.1, grbm < 0.2) is true.*"
    )
    a("")
    sa_med = wr["sa_med"]
    shadow_dates = [t for t in range(len(sa_med)) if sa_med[t] < 0.3 * wr["clear_level"]]
    bright_dates = [t for t in range(len(sa_med)) if sa_med[t] > 0.45]
    a("What the numbers say about what is visible:")
    a("")
    if shadow_dates:
        items = ", ".join(
            f"#{t} ({wr['dates'][t]}: median sa {sa_med[t]:.3f} against {wr['clear_level']:.3f} "
            f"for the median date; seed {pct(fr['seed'][3][t])} % shadow, dea "
            f"{pct(fr['dea'][3][t])} %)"
            for t in shadow_dates
        )
        a(
            f"- Fully shadowed dates (the whole image several times darker, texture intact): {items}."
        )
    if bright_dates:
        s_c = np.mean([fr["seed"][2][t] for t in bright_dates])
        d_c = np.mean([fr["dea"][2][t] for t in bright_dates])
        a(
            f"- {len(bright_dates)} dates whose median pixel is brighter than the 0.45 cloud "
            f"brightness (visibly overcast): seed calls {pct(s_c)} % of them cloud on "
            f"average, dea {pct(d_c)} %."
        )
    mid = [t for t in range(len(sa_med)) if t not in shadow_dates and sa_med[t] < 0.25]
    if mid:
        s_c = np.mean([fr["seed"][2][t] for t in mid])
        d_c = np.mean([fr["dea"][2][t] for t in mid])
        by_rule = np.mean([wr["thin_cloud"][t] for t in mid])
        a(
            f"- {len(mid)} dates are neither overcast nor fully shadowed (median sa below "
            f"0.25; most look clear in the quicklooks, a few hazy): dea calls {pct(d_c)} % of them cloud, seed {pct(s_c)} %. "
            f"Seed's thin-cloud post rule accounts for {pct(by_rule)} points of that: on this "
            "suburb red reflectance is below blue on most clear dates from March on (a bluish "
            "surface, or residual haze after atmospheric correction), which is exactly what "
            "the rule reads as thin cloud. This is a real weakness of the seed preset on such "
            "surfaces, not an engine error (the rule is in `docs/algorithm.md`); the dea "
            "preset has no thin-cloud rule. The synthetic scenes never have red below blue "
            "on land, so their figures do not exercise this rule."
        )
    a(f"- The two presets give the same class on {pct(wr['agree'])} % of the pixel-dates.")
    a(
        "- A 30-date series at a 10-day revisit, half of it cloudy, is short for a time-series "
        "method: the spike tests need enough clear neighbours, so partly cloudy dates next to "
        "overcast runs are where to look for misses in the quicklooks."
    )
    a("")
    a("## Reproduce")
    a("")
    a("```")
    a("make accuracy                     # this page and docs/img/accuracy_*.png")
    a("tsmask evaluate --mask M --reference R --reference-kind scl --out report/")
    a("```")
    a("")
    a("```python")
    a("from tsmask_qgis.evaluate import make_scene, compare")
    a("scene = make_scene(shape=(73, 128, 128), seed=0, cloud_amount=0.3)")
    a("mask = ...  # the engine's classify on scene.ds")
    a("print(compare(mask, scene.truth).to_markdown())")
    a("```")
    a("")
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text("\n".join(L), encoding="utf-8")
    os.replace(tmp, doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "accuracy.md")
    ap.add_argument("--img", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--sample", type=Path, default=None, help="the real sample (.nc or .npz)")
    ap.add_argument("--quick", action="store_true", help="tiny scenes and one seed (for tests)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", flush=True)

    t0 = time.perf_counter()
    args.img.mkdir(parents=True, exist_ok=True)
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    engine = find_engine()
    log(f"engine: {engine.name}")
    if args.quick:
        size, seeds, amounts, lengths, base_len = 24, [0], [0.1, 0.5], [12, 24], 24
    else:
        size, seeds, amounts, lengths, base_len = (
            128,
            [0, 1, 2, 3, 4],
            [0.1, 0.3, 0.5, 0.7],
            [12, 24, 36, 73, 146],
            73,
        )
    base_runs = synthetic_runs(engine, [(0.3, base_len)], seeds, size, log)
    amount_runs = list(base_runs) + synthetic_runs(
        engine, [(a, base_len) for a in amounts if a != 0.3], seeds, size, log
    )
    length_runs = list(base_runs) + synthetic_runs(
        engine, [(0.3, n) for n in lengths if n != base_len], seeds, size, log
    )
    for preset in PRESETS:
        pooled = [r.ev for r in base_runs if r.preset == preset]
        ev = Evaluation(
            counts=np.concatenate([e.counts for e in pooled]),
            dates=tuple(d for e in pooled for d in e.dates),
            mask_name=f"{preset} preset",
            reference_name="synthetic truth",
        )
        confusion_png(ev, args.img / f"accuracy_confusion_{preset}.png", dpi=72)
    line_figure(
        amount_runs, "cloud_amount", "cloud amount", args.img / "accuracy_by_cloud_amount.png"
    )
    line_figure(
        length_runs,
        "dates",
        "dates in the series (5-day revisit)",
        args.img / "accuracy_by_length.png",
        log_x=True,
    )
    q = synthetic_quicklook(engine, args.img / "accuracy_synthetic_quicklook.png", size)
    cover_rows, facts = breakdown(q["scene"], q["masks"])
    sens = truth_sensitivity(q["scene"], q["masks"])
    log("synthetic figures written")
    wright = real_sample(engine, args.sample, args.img)
    log("real sample done")
    oracle = oracle_check(engine, args.sample) if not args.quick else "(quick run: no cross-check)"
    log("oracle cross-check done")
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))
    from accuracy_options import options_section

    options = options_section(args.quick, args.sample, log)
    write_page(
        args.doc,
        {
            "engine": engine,
            "base_runs": base_runs,
            "amount_runs": amount_runs,
            "length_runs": length_runs,
            "size": size,
            "seeds": seeds,
            "facts": facts,
            "cover_rows": cover_rows,
            "sensitivity_rows": sens,
            "wright": wright,
            "oracle": oracle,
            "seconds": time.perf_counter() - t0,
        },
    )
    text = args.doc.read_text()
    args.doc.write_text(text.rstrip("\n") + "\n\n" + options + "\n")
    log(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
