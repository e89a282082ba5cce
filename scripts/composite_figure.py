"""docs/img/composite.png: a composite beside the masks it came from (bundled sample).

    .venv/bin/python scripts/composite_figure.py

The bundled Wright (ACT) sample: three cloudy dates in true colour with their tsmask
masks (dea preset), and the median and geometric-median composites of all dates
made from the clear pixels only.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "img" / "composite.png"


def _rgb(red, green, blue, lo=0.0, hi=0.3):  # type: ignore[no-untyped-def]
    img = np.dstack([np.asarray(b, np.float64) for b in (red, green, blue)])
    return np.clip(np.nan_to_num((img - lo) / (hi - lo)), 0, 1)


def main() -> int:
    from tsmask_qgis.classes import CLASSES
    from tsmask_qgis.engine import classify
    from tsmask_qgis.loaders import load_local
    from tsmask_qgis.products import composite

    ds = load_local(ROOT / "tsmask_qgis" / "data" / "wright_act.nc").load()
    mask = classify(ds, preset="dea", workers=2)
    classes = mask.values
    observed = (classes != 0).mean(axis=(1, 2))
    cloudy = (classes >= 2).sum(axis=(1, 2)) / np.maximum((classes != 0).sum(axis=(1, 2)), 1)
    # Partly cloudy, well observed dates show best what the mask takes out.
    score = np.abs(cloudy - 0.5) + (observed < 0.9) + (cloudy > 0.95)
    picks = [int(t) for t in np.argsort(score)[:3]]
    picks.sort()
    med = composite(ds, mask, period="all", method="median", workers=2)
    gm = composite(ds, mask, period="all", method="geomedian", workers=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to import Axes3D")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        fig = Figure(figsize=(12, 6.4), dpi=100)
        FigureCanvasAgg(fig)
        axes = fig.subplots(2, 4)
    palette = np.zeros((4, 4))
    for c in CLASSES:
        palette[c.value] = [v / 255 for v in c.rgba]
    palette[0] = (0.5, 0.5, 0.5, 1)
    labels = [str(v)[:10] for v in ds["time"].values]
    for col, t in enumerate(picks):
        top, bottom = axes[0, col], axes[1, col]
        top.imshow(_rgb(ds["red"][t], ds["green"][t], ds["blue"][t]), interpolation="nearest")
        top.set_title(f"{labels[t]} true colour", fontsize=9)
        bottom.imshow(palette[classes[t]], interpolation="nearest")
        share = 100 * cloudy[t]
        bottom.set_title(f"{labels[t]} tsmask dea ({share:.0f} % cloud/shadow)", fontsize=9)
    for row, (comp, name) in enumerate(((med, "median"), (gm, "geometric median"))):
        ax = axes[row, 3]
        img = _rgb(comp["red"][0], comp["green"][0], comp["blue"][0])
        img[np.asarray(comp["count"][0]) == 0] = palette[0][:3]  # no clear date: nodata
        ax.imshow(img, interpolation="nearest")
        n = int(np.median(comp["count"][0]))
        ax.set_title(
            f"{name} composite, all dates\n(clear pixels only; median {n} per pixel)", fontsize=9
        )
    for ax in axes.ravel():
        ax.set_axis_off()
    handles = [Patch(facecolor=palette[c.value], edgecolor="black", label=c.label) for c in CLASSES]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=9, frameon=False)
    fig.suptitle(
        f"Wright (ACT) sample, {len(labels)} dates: masks and the composites made from them",
        fontsize=11,
    )
    fig.subplots_adjust(left=0.01, right=0.99, top=0.88, bottom=0.07, wspace=0.04, hspace=0.2)
    fig.savefig(OUT, format="png")
    print(OUT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
