"""Pictures an analyst looks at: quicklooks of the mask over true colour, and a
chart of cloud and shadow fraction through time (matplotlib, Agg backend).

The quicklooks draw the classes as QGIS does (the default mask style of
:mod:`tsmask_qgis.classes`, with outlines QGIS cannot draw on a raster), and
say why each date was chosen (:func:`pick_reasons`)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.classes import CHART_COLOURS, CLASSES, CLOUD, SHADOW, style
from tsmask_qgis.writers._atomic import atomic_output
from tsmask_qgis.writers._common import as_mask, date_slice
from tsmask_qgis.writers._grid import date_labels
from tsmask_qgis.writers._raster import truecolour_rgba
from tsmask_qgis.writers._summary import DateSummary

__all__ = [
    "chart_figure",
    "chart_title",
    "pick_dates",
    "pick_reasons",
    "quicklook_figure",
    "quicklook_reasons",
    "write_chart",
    "write_quicklook",
]


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


def _overlay(classes: np.ndarray) -> np.ndarray:
    """The classes in the default mask style (as the plugin draws them), RGBA 0..1."""
    look = style()
    rgba = np.zeros((*classes.shape, 4), dtype="float32")
    for c in CLASSES:
        rgba[classes == c.value] = tuple(v / 255 for v in look.rgba(c.value))
    return rgba


def _legend_handles() -> list[Any]:
    """One legend entry per class, drawn as the mask style draws it."""
    from matplotlib.patches import Patch

    look = style()
    handles = []
    for c in CLASSES:
        r, g, b, a = look.rgba(c.value)
        label = c.label if a else f"{c.label} (transparent)"
        handles.append(
            Patch(facecolor=(r / 255, g / 255, b / 255, a / 255), edgecolor="black", label=label)
        )
    return handles


def _framed(ax: Any) -> None:
    """No ticks, a thin black frame: a white or black image still shows where it ends."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("black")
        spine.set_linewidth(0.8)


def write_quicklook(
    mask: xr.DataArray,
    ds: xr.Dataset,
    date: str | int,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    stretch: tuple[float, float] = (0.0, 0.3),
    dpi: int = 100,
    reason: str | None = None,
) -> Path:
    """Write :func:`quicklook_figure` of ``date`` as a PNG at ``path``."""
    fig = quicklook_figure(mask, ds, date, stretch=stretch, dpi=dpi, reason=reason)
    return _save(fig, path, overwrite=overwrite, dpi=dpi)


def _save(fig: Any, path: str | os.PathLike[str], *, overwrite: bool, dpi: int) -> Path:
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path


def quicklook_figure(
    mask: xr.DataArray,
    ds: xr.Dataset,
    date: str | int,
    *,
    stretch: tuple[float, float] = (0.0, 0.3),
    dpi: int = 100,
    reason: str | None = None,
) -> Any:
    """The quicklook of one date (a matplotlib figure): true colour on the left, the same with the mask drawn over it
    on the right, in the plugin's default style (clear and no observation
    transparent), cloud and shadow outlined. Each image is framed and titled with
    the date and its cloud %; ``reason`` (why this date was drawn, see
    :func:`pick_reasons`) goes in the title.

    ``date`` is an ISO date (a prefix such as ``2016-01`` picks the first match)
    or an index into the time axis.
    """
    mask = as_mask(mask)
    t = _date_index(mask, date)
    label = date_labels(mask.time)[t]
    classes = date_slice(mask, t)
    rgba = truecolour_rgba(ds, t, stretch=stretch)
    image = np.moveaxis(rgba, 0, -1)
    counts = np.bincount(classes.ravel(), minlength=4)
    observed = int(counts.sum() - counts[0])
    if observed:
        cloud = f"{100 * counts[CLOUD.value] / observed:.1f} % cloud"
        shadow = f"{100 * counts[SHADOW.value] / observed:.1f} % shadow of observed"
    else:
        cloud, shadow = "no observation", ""

    figure = _pyplot()
    height, width = classes.shape
    aspect = height / max(width, 1)
    fig = figure(figsize=(10, 5 * aspect + 1.2), dpi=dpi)
    axes = fig.subplots(1, 2)
    for ax in axes:
        ax.imshow(image, interpolation="nearest")
        _framed(ax)
    axes[1].imshow(_overlay(classes), interpolation="nearest")
    # Outlines show where the masks end even where cloud colour meets white cloud.
    for cls, edge in ((CLOUD, "black"), (SHADOW, "white")):
        region = (classes == cls.value).astype("float32")
        if 0 < region.sum() < region.size:
            axes[1].contour(region, levels=[0.5], colors=edge, linewidths=0.6)
    axes[0].set_title(f"{label} · true colour · {cloud}", fontsize=9)
    axes[1].set_title(f"{label} · mask · {cloud}, {shadow}".rstrip(", "), fontsize=9)
    title = f"tsmask {label}" + (f": {reason}" if reason else "")
    fig.suptitle(title, fontsize=11)
    fig.legend(handles=_legend_handles(), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.86, bottom=0.12, wspace=0.03)
    return fig


def write_chart(
    summary: Sequence[DateSummary],
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    title: str = "Cloud and shadow through time",
    dpi: int = 100,
) -> Path:
    """Write :func:`chart_figure` of ``summary`` as a PNG at ``path``."""
    return _save(chart_figure(summary, title=title, dpi=dpi), path, overwrite=overwrite, dpi=dpi)


def chart_figure(
    summary: Sequence[DateSummary], *, title: str = "Cloud and shadow through time", dpi: int = 100
) -> Any:
    """A chart of cloud and shadow (percent of observed pixels) per date, with the
    percentage of pixels not observed in grey; the legend sits above the plot."""
    if not summary:
        raise ValueError("the summary is empty: nothing to chart")
    dates = np.array([np.datetime64(s.date[:10]) for s in summary])
    figure = _pyplot()
    fig = figure(figsize=(10, 4), dpi=dpi)
    ax = fig.subplots()
    cloud = [s.cloud_pct_observed for s in summary]
    shadow = [s.shadow_pct_observed for s in summary]
    noobs = [s.no_observation_pct for s in summary]
    ax.plot(dates, cloud, "o-", color=CHART_COLOURS["cloud"], label="cloud (% of observed)", ms=4)
    ax.plot(
        dates, shadow, "s-", color=CHART_COLOURS["shadow"], label="shadow (% of observed)", ms=4
    )
    ax.bar(dates, noobs, color="0.8", width=2.0, label="no observation (% of all)", zorder=0)
    ax.set_ylim(-2, 104)
    ax.set_ylabel("percent")
    ax.grid(True, alpha=0.3)
    fig.suptitle(title, fontsize=11)
    # Above the plot area, so it never covers a point.
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def pick_reasons(summary: Sequence[DateSummary], *, count: int = 4) -> dict[str, str]:
    """Dates worth a quicklook, each with why it was chosen: the cloudiest, the most
    shadowed, the clearest and the median by clear fraction (distinct, in time
    order, at most ``count``; other observed dates fill up a short series)."""
    obs = [s for s in summary if s.observed]
    if not obs:
        return {}
    picks: dict[str, str] = {}

    def add(s: DateSummary, why: str) -> None:
        if s.date not in picks and len(picks) < count:
            picks[s.date] = why

    s = max(obs, key=lambda s: s.cloud_pct_observed)
    add(s, f"the cloudiest date ({s.cloud_pct_observed:.0f} % cloud)")
    s = max(obs, key=lambda s: s.shadow_pct_observed)
    add(s, f"the most shadowed date ({s.shadow_pct_observed:.0f} % shadow)")
    s = max(obs, key=lambda s: s.clear_pct_observed)
    add(s, f"the clearest date ({s.clear_pct_observed:.0f} % clear)")
    by_clear = sorted(obs, key=lambda s: s.clear_pct_observed)
    s = by_clear[len(by_clear) // 2]
    add(s, f"the median date by clear fraction ({s.clear_pct_observed:.0f} % clear)")
    for s in obs:
        add(s, "another observed date (the series is short)")
    order = {s.date: i for i, s in enumerate(summary)}
    return {d: picks[d] for d in sorted(picks, key=order.__getitem__)}


def quicklook_reasons(summary: Sequence[DateSummary], dates: Sequence[str]) -> dict[str, str]:
    """Why each of ``dates`` has a quicklook: :func:`pick_reasons` when they are the
    dates it picks, else (the user named them) "a date asked for"."""
    reasons = pick_reasons(summary)
    if set(dates) != set(reasons):
        return dict.fromkeys(dates, "a date asked for")
    return reasons


def chart_title(meta: Mapping[str, Any]) -> str:
    """The chart's title, with the job's area and preset (``meta["area"]``, ``["preset"]``)."""
    about = [str(meta["area"])] if meta.get("area") else []
    if meta.get("preset"):
        about.append(f"preset {meta['preset']}")
    return "Cloud and shadow through time" + (f": {', '.join(about)}" if about else "")


def pick_dates(summary: Sequence[DateSummary], *, count: int = 4) -> list[str]:
    """The dates of :func:`pick_reasons`, in time order."""
    return list(pick_reasons(summary, count=count))
