"""Pictures an analyst looks at: quicklooks of the mask over true colour, and a
chart of cloud and shadow fraction through time (matplotlib, Agg backend)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.classes import CLASSES, CLOUD, NO_OBSERVATION, SHADOW
from tsmask_qgis.writers._atomic import atomic_output
from tsmask_qgis.writers._common import as_mask, date_slice
from tsmask_qgis.writers._grid import date_labels
from tsmask_qgis.writers._raster import truecolour_rgba
from tsmask_qgis.writers._summary import DateSummary

__all__ = ["pick_dates", "write_chart", "write_quicklook"]


def _pyplot() -> Any:
    """A figure factory on matplotlib's Agg canvas (object API: no pyplot state,
    no GUI backend, nothing changed for other code in the process, e.g. QGIS)."""
    with warnings.catch_warnings():
        # Debian's mpl_toolkits beside pip's matplotlib warns about Axes3D; we draw 2-D only.
        warnings.filterwarnings("ignore", message="Unable to import Axes3D")
        import matplotlib.projections  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

    def make(**kw: Any) -> Any:
        fig = Figure(**kw)
        FigureCanvasAgg(fig)
        return fig

    return make


def _date_index(mask: xr.DataArray, date: str | int) -> int:
    labels = date_labels(mask.time)
    if isinstance(date, (int, np.integer)):
        if not -len(labels) <= int(date) < len(labels):
            raise IndexError(f"date index {date} out of range 0..{len(labels) - 1}")
        return int(date) % len(labels)
    text = str(date)
    for i, label in enumerate(labels):
        if label == text or label.startswith(text):
            return i
    raise ValueError(f"no date {text} in the mask; dates are {labels[0]} .. {labels[-1]}")


def _overlay(classes: np.ndarray, alpha: float) -> np.ndarray:
    rgba = np.zeros((*classes.shape, 4), dtype="float32")
    for c in CLASSES:
        if c.value in (CLOUD.value, SHADOW.value):
            r, g, b, _ = c.rgba
            rgba[classes == c.value] = (r / 255, g / 255, b / 255, alpha)
    # No observation: hatched grey, so it is not mistaken for dark ground.
    rgba[classes == NO_OBSERVATION.value] = (0.5, 0.5, 0.5, 0.8)
    return rgba


def write_quicklook(
    mask: xr.DataArray,
    ds: xr.Dataset,
    date: str | int,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    stretch: tuple[float, float] = (0.0, 0.3),
    dpi: int = 100,
) -> Path:
    """A PNG for one date: true colour on the left, the same with cloud and shadow
    (class colours, outlined) drawn over it on the right; no observation is grey.

    ``date`` is an ISO date (a prefix such as ``2016-01`` picks the first match)
    or an index into the time axis.
    """
    mask = as_mask(mask)
    t = _date_index(mask, date)
    label = date_labels(mask.time)[t]
    classes = date_slice(mask, t)
    rgba = truecolour_rgba(ds, t, stretch=stretch)
    image = np.moveaxis(rgba[:3], 0, -1)
    counts = np.bincount(classes.ravel(), minlength=4)
    observed = max(int(counts.sum() - counts[0]), 1)

    figure = _pyplot()
    height, width = classes.shape
    aspect = height / max(width, 1)
    fig = figure(figsize=(10, 5 * aspect + 0.9), dpi=dpi)
    axes = fig.subplots(1, 2)
    for ax in axes:
        ax.imshow(image, interpolation="nearest")
        ax.set_axis_off()
    axes[1].imshow(_overlay(classes, 0.6), interpolation="nearest")
    # Outlines show where the masks end even where cloud colour meets white cloud.
    for cls, edge in ((CLOUD, "black"), (SHADOW, "white")):
        region = (classes == cls.value).astype("float32")
        if 0 < region.sum() < region.size:
            axes[1].contour(region, levels=[0.5], colors=edge, linewidths=0.6)
    axes[0].set_title("true colour", fontsize=9)
    axes[1].set_title(
        f"cloud {100 * counts[CLOUD.value] / observed:.1f} %, "
        f"shadow {100 * counts[SHADOW.value] / observed:.1f} % of observed",
        fontsize=9,
    )
    fig.suptitle(f"tsmask {label}", fontsize=11)
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=c.color, edgecolor="black", label=c.label) for c in (CLOUD, SHADOW)
    ] + [Patch(facecolor=(0.5, 0.5, 0.5), edgecolor="black", label=NO_OBSERVATION.label)]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.88, bottom=0.1, wspace=0.03)
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path


def write_chart(
    summary: Sequence[DateSummary],
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    title: str = "Cloud and shadow through time",
    dpi: int = 100,
) -> Path:
    """A PNG chart of cloud and shadow (percent of observed pixels) per date, with
    the percentage of pixels not observed in grey."""
    if not summary:
        raise ValueError("the summary is empty: nothing to chart")
    dates = np.array([np.datetime64(s.date[:10]) for s in summary])
    figure = _pyplot()
    fig = figure(figsize=(10, 4), dpi=dpi)
    ax = fig.subplots()
    cloud = [s.cloud_pct_observed for s in summary]
    shadow = [s.shadow_pct_observed for s in summary]
    noobs = [s.no_observation_pct for s in summary]
    ax.plot(dates, cloud, "o-", color="#4a90d9", label="cloud (% of observed)", ms=4)
    ax.plot(dates, shadow, "s-", color=SHADOW.color, label="shadow (% of observed)", ms=4)
    ax.bar(dates, noobs, color="0.8", width=2.0, label="no observation (% of all)", zorder=0)
    ax.set_ylim(0, 100)
    ax.set_ylabel("percent")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path


def pick_dates(summary: Sequence[DateSummary], *, count: int = 4) -> list[str]:
    """Dates worth a quicklook: the cloudiest, the most shadowed, the clearest and
    one in between (distinct, in time order, at most ``count``)."""
    obs = [s for s in summary if s.observed]
    if not obs:
        return []
    picks: list[str] = []

    def add(s: DateSummary) -> None:
        if s.date not in picks and len(picks) < count:
            picks.append(s.date)

    add(max(obs, key=lambda s: s.cloud_pct_observed))
    add(max(obs, key=lambda s: s.shadow_pct_observed))
    add(max(obs, key=lambda s: s.clear_pct_observed))
    by_clear = sorted(obs, key=lambda s: s.clear_pct_observed)
    add(by_clear[len(by_clear) // 2])
    for s in obs:
        add(s)
    order = {s.date: i for i, s in enumerate(summary)}
    return sorted(picks, key=order.__getitem__)
