"""The quicklooks and the chart say what they show: classes as QGIS draws them, frames,
the date and cloud % on each image, why the date was chosen, area and preset."""

from __future__ import annotations

import numpy as np
import pytest

from tsmask_qgis import writers
from tsmask_qgis.classes import CLASSES, STYLES
from tsmask_qgis.writers._pictures import (
    chart_figure,
    chart_title,
    quicklook_figure,
    quicklook_reasons,
)


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]


def test_quicklook_legend_frames_titles_and_reason(mask, refl):
    summary = writers.summarise(mask)
    reasons = writers.pick_reasons(summary)
    date = next(iter(reasons))
    fig = quicklook_figure(mask, refl, date, reason=reasons[date])
    [legend] = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    check = STYLES["check"]
    assert labels == [
        c.label if check.rgba(c.value)[3] else f"{c.label} (transparent)" for c in CLASSES
    ]
    # each patch has the style's colour and alpha (as QGIS draws the class)
    for patch, c in zip(legend.get_patches(), CLASSES, strict=True):
        rgba = tuple(round(v * 255) for v in patch.get_facecolor())
        assert rgba == check.rgba(c.value)
    s = next(s for s in summary if s.date == date)
    cloud = f"{s.cloud_pct_observed:.1f} % cloud"
    axes = fig.axes[:2]
    for ax in axes:
        assert date in ax.get_title() and cloud in ax.get_title()
        assert all(
            sp.get_visible() and sp.get_edgecolor()[:3] == (0, 0, 0) for sp in ax.spines.values()
        )
    assert fig._suptitle.get_text() == f"tsmask {date}: {reasons[date]}"


def test_quicklook_png_has_a_frame_around_a_white_image(tmp_path, mask, refl):
    import rasterio

    white = refl.copy()
    for band in white.data_vars:
        white[band][:] = 1.0  # an overexposed (all white) date
    path = writers.write_quicklook(mask, white, 0, tmp_path / "q.png")
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning), rasterio.open(path) as ds:
        rgb = ds.read()[:3]
    middle = rgb[:, rgb.shape[1] // 2, : rgb.shape[2] // 2]  # the left (true colour) half
    dark = np.flatnonzero(middle.max(axis=0) < 60)
    # the all-white image's frame: a dark left and right side on the middle row
    assert len(dark) >= 2 and dark[0] < 0.05 * rgb.shape[2] and dark[-1] > 0.4 * rgb.shape[2]


def test_why_the_dates_were_chosen(mask):
    summary = writers.summarise(mask)
    reasons = writers.pick_reasons(summary)
    assert list(reasons) == writers.pick_dates(summary)
    text = " | ".join(reasons.values())
    assert "the cloudiest date" in text and "the clearest date" in text
    cloudiest = max((s for s in summary if s.observed), key=lambda s: s.cloud_pct_observed)
    assert reasons[cloudiest.date].startswith("the cloudiest date (")
    asked = [summary[0].date]
    if set(asked) != set(reasons):
        assert quicklook_reasons(summary, asked) == {asked[0]: "a date asked for"}
    assert quicklook_reasons(summary, list(reasons)) == reasons


def test_chart_title_and_legend_off_the_points(mask):
    summary = writers.summarise(mask)
    title = chart_title({"area": "wright_act", "preset": "seed"})
    assert title == "Cloud and shadow through time: wright_act, preset seed"
    assert chart_title({}) == "Cloud and shadow through time"
    fig = chart_figure(summary, title=title)
    fig.canvas.draw()
    assert fig._suptitle.get_text() == title
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent()
    for line in ax.get_lines():
        xy = ax.transData.transform(np.column_stack(line.get_data(orig=False)).astype(float))
        inside = (
            (xy[:, 0] >= box.x0)
            & (xy[:, 0] <= box.x1)
            & (xy[:, 1] >= box.y0)
            & (xy[:, 1] <= box.y1)
        )
        assert not inside.any(), "the legend covers a point"
    assert box.y0 >= ax.get_window_extent().y1 - 1  # above the plot area


def test_area_of_a_job_for_the_chart(tmp_path):
    from tsmask_qgis.loaders import Request
    from tsmask_qgis.pipeline import Job
    from tsmask_qgis.pipeline._write import area_name

    stack = tmp_path / "wright_act.nc"
    stack.write_bytes(b"")
    assert area_name(Job(out=tmp_path, input=stack)) == "wright_act"
    request = Request((149.0, -35.4, 149.2, -35.2), "2021-01-01", "2021-02-01")
    assert area_name(Job(out=tmp_path, request=request)) == f"{request.source} -35.300, 149.100"
