"""The mask browser dock, the result group ready to look at, and the checking style."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from qgis.core import (
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsTemporalNavigationObject,
)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtTest import QTest

from tests.plugin.conftest import write_mask
from tsmask_qgis.classes import CLASSES, CLOUD, STYLES
from tsmask_qgis.plugin import compat
from tsmask_qgis.plugin.browser import STYLE_SETTING, MaskBrowserDock
from tsmask_qgis.plugin.layers import (
    ResultLayers,
    add_result_layers,
    group_name,
    result_groups,
)
from tsmask_qgis.plugin.summary import date_rows, layer_name, read_summary_csv

LABELS = ["2016-01-01", "2016-01-11", "2016-02-10", "2016-03-01"]
#: cloud pixels of 100 per date (no observation 0 except the last date: 50)
CLOUD_PIXELS = [24, 80, 5, 10]


def _summary() -> list[dict]:
    rows = []
    for label, cloud in zip(LABELS, CLOUD_PIXELS, strict=True):
        noobs = 50 if label == LABELS[-1] else 0
        shadow = 3
        rows.append(
            {
                "date": label,
                "pixels": 100,
                "no_observation": noobs,
                "clear": 100 - noobs - cloud - shadow,
                "cloud": cloud,
                "shadow": shadow,
            }
        )
    return rows


def _result(folder: Path, *, labels=LABELS, summary=None) -> ResultLayers:
    folder.mkdir(parents=True, exist_ok=True)
    masks, rgb, times = {}, {}, {}
    for i, label in enumerate(labels):
        masks[label] = write_mask(folder / f"a{i}.tif", np.full((1, 4, 4), 1 + i % 3, np.uint8))
        rgb[label] = write_mask(folder / f"b{i}.tif", np.zeros((3, 4, 4), np.uint8))
        times[label] = dt.datetime.fromisoformat(label) + dt.timedelta(hours=0, minutes=5)
    return ResultLayers(
        masks=masks,
        truecolour=rgb,
        times=times,
        summary=tuple(summary if summary is not None else _summary()),
        out=folder,
    )


@pytest.fixture
def browser(qgis_app, qgis_new_project, tmp_path):
    """A run's group on the map and the dock browsing it, with a temporal controller."""
    result = _result(tmp_path / "out")
    group = add_result_layers(result, group_name=group_name("test", result))
    nav = QgsTemporalNavigationObject()
    dock = MaskBrowserDock(project=QgsProject.instance(), controller=nav)
    dock.set_result(group, list(result.rows().values()))
    dock.resize(420, 520)
    dock.show()
    yield dock, group, nav
    dock.close()
    dock.deleteLater()


def _visible(group) -> dict[str, bool]:
    return {n.layer().name(): n.isVisible() for n in group.findLayers()}


def _shown(group) -> set[str]:
    return {name for name, on in _visible(group).items() if on}


def test_rows_and_percentages(browser):
    dock, _, _ = browser
    assert dock.model.rowCount() == 4
    assert dock.visible_labels() == LABELS
    cells = [dock.proxy.index(0, c).data() for c in range(5)]
    assert cells == ["2016-01-01", "73.0", "24.0", "3.0", "0.0"]
    # the last date: half not observed, so its % are of the 50 observed pixels
    cells = [dock.proxy.index(3, c).data() for c in range(5)]
    assert cells == ["2016-03-01", "74.0", "20.0", "6.0", "50.0"]


def test_sorting_by_cloud_is_numeric(browser):
    dock, _, _ = browser
    dock.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert dock.visible_labels() == ["2016-01-11", "2016-01-01", "2016-03-01", "2016-02-10"]
    dock.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    assert dock.visible_labels()[-1] == "2016-03-01"


def test_filter_hides_cloudy_dates_in_list_and_chart(browser):
    dock, _, _ = browser
    dock.filter_spin.setValue(22)
    assert dock.visible_labels() == LABELS  # not on yet
    dock.filter_check.setChecked(True)
    assert dock.visible_labels() == ["2016-02-10", "2016-03-01"]
    assert dock.chart.hidden == {"2016-01-01", "2016-01-11"}
    assert dock.chart.threshold == 22
    # the date shown was filtered out: the first date left is shown instead
    assert dock.current == "2016-02-10"
    dock.filter_check.setChecked(False)
    assert dock.visible_labels() == LABELS and not dock.chart.hidden


def test_selection_shows_one_date_and_hides_the_others(browser):
    dock, group, _ = browser
    assert _shown(group) == {"2016-01-01 · 24 % cloud · 3 % shadow", "true colour 2016-01-01"}
    dock.table.selectRow(2)
    assert dock.current == "2016-02-10"
    assert _shown(group) == {"2016-02-10 · 5 % cloud · 3 % shadow", "true colour 2016-02-10"}
    dock.step(1)
    assert dock.current == "2016-03-01"
    dock.step(1)  # stays on the last date
    assert dock.current == "2016-03-01"
    dock.previous_button.click()
    assert dock.current == "2016-02-10"
    QTest.keyClick(dock.table, Qt.Key.Key_Up)
    assert dock.current == "2016-01-11"
    assert _shown(group) == {"2016-01-11 · 80 % cloud · 3 % shadow", "true colour 2016-01-11"}


def test_a_cleared_project_empties_the_browser(browser):
    dock, _, _ = browser
    QgsProject.instance().clear()
    assert dock.model.rowCount() == 0 and dock.current is None and not dock.chart.points
    dock.step(1)  # nothing to step to: no error
    assert dock.current is None


def test_chart_click_selects_the_date(browser):
    dock, _, _ = browser
    dock.chart.resize(400, 130)
    point = dock.chart.point_of("2016-01-11").toPoint()
    QTest.mouseClick(dock.chart, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    assert dock.current == "2016-01-11"
    assert dock.table.currentIndex().row() == 1
    assert dock.chart.current == "2016-01-11"
    # a shadow point picks its date too; far from every point nothing happens
    point = dock.chart.point_of("2016-02-10", "shadow").toPoint()
    QTest.mouseClick(dock.chart, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    assert dock.current == "2016-02-10"
    assert dock.chart.label_at(dock.chart.plot_rect().topLeft()) is None


def test_temporal_controller_follows_and_leads(browser):
    dock, group, nav = browser
    assert nav.navigationMode() == compat.NAVIGATION_ANIMATED
    assert nav.frameDuration().originalUnit() == compat.TEMPORAL_SOURCE_STEP
    assert nav.totalFrameCount() == 4
    extent = nav.temporalExtents()
    assert extent.begin().date().toPyDate() == dt.date(2016, 1, 1)
    assert extent.end().date().toPyDate() == dt.date(2016, 3, 2)
    project = QgsProject.instance().timeSettings()
    assert project.timeStepUnit() == compat.TEMPORAL_SOURCE_STEP
    # each frame is one acquisition day
    assert nav.dateTimeRangeForFrameNumber(1).begin().date().toPyDate() == dt.date(2016, 1, 11)
    # the browser moves the controller ...
    dock.select_date("2016-02-10")
    assert nav.currentFrameNumber() == 2
    # ... and the controller moves the browser (row, visibility)
    nav.next()
    assert dock.current == "2016-03-01"
    assert dock.table.currentIndex().row() == 3
    assert _shown(group) == {"2016-03-01 · 20 % cloud · 6 % shadow", "true colour 2016-03-01"}
    nav.setCurrentFrameNumber(0)
    assert dock.current == "2016-01-01"


def test_layer_names_group_and_legends(qgis_app, qgis_new_project, tmp_path):
    result = _result(tmp_path / "out")
    name = group_name("wright_act", result)
    assert name == "tsmask wright_act 2016-01-01..2016-03-01"  # the data's dates
    group = add_result_layers(result, group_name=name)
    assert group.customProperty("tsmask/out") == str((tmp_path / "out").resolve())
    masks = [n.name() for n in group.children()[:4]]
    assert masks == [
        "2016-01-01 · 24 % cloud · 3 % shadow",
        "2016-01-11 · 80 % cloud · 3 % shadow",
        "2016-02-10 · 5 % cloud · 3 % shadow",
        "2016-03-01 · 20 % cloud · 6 % shadow",
    ]
    assert _shown(group) == {"2016-01-01 · 24 % cloud · 3 % shadow", "true colour 2016-01-01"}
    assert group.isExpanded()
    assert not any(n.isExpanded() for n in group.findLayers())
    assert not group.children()[4].isExpanded()  # the true-colour sub-group
    nothing = date_rows([{"date": "2016-05-01", "pixels": 9, "no_observation": 9} | _zero()])
    assert layer_name(nothing[0]) == "2016-05-01 · no observation"
    clear = date_rows([{"date": "2016-05-02", "pixels": 9, "no_observation": 0} | _zero()])
    assert layer_name(clear[0]) == "2016-05-02 · 0 % cloud"  # no shadow: not named
    assert math.isnan(nothing[0].cloud)


def _zero() -> dict:
    return {"clear": 0, "cloud": 0, "shadow": 0}


def test_rerun_into_the_same_folder_replaces_its_group(qgis_app, qgis_new_project, tmp_path):
    project = QgsProject.instance()
    other = add_result_layers(_result(tmp_path / "other"), group_name="other run")
    first = add_result_layers(_result(tmp_path / "out"), group_name="first")
    assert [g.name() for g in project.layerTreeRoot().children()] == ["first", "other run"]
    n_layers = len(project.mapLayers())
    again = _result(tmp_path / "out", labels=LABELS[:2], summary=_summary()[:2])
    add_result_layers(again, group_name="second")
    root = project.layerTreeRoot()
    assert [g.name() for g in root.children()] == ["second", "other run"]
    assert len(project.mapLayers()) == n_layers - 2 * 2  # two dates fewer, mask and image
    assert [g.name() for g in result_groups(project, tmp_path / "out")] == ["second"]
    assert other.findLayers() and first not in root.children()


def test_checking_style_and_the_filled_choice(browser):
    dock, group, _ = browser
    check = STYLES["check"]
    layer = group.findLayers()[0].layer()
    renderer = layer.renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    got = {c.value: (c.color.name(), c.color.alpha()) for c in renderer.classes()}
    assert got[0][1] == 0 and got[1][1] == 0  # no observation and clear: transparent
    assert got[2] == (check.hex(2), check.rgba(2)[3]) and got[2][1] > 150
    r, g, b = (int(got[2][0][i : i + 2], 16) for i in (1, 3, 5))
    assert max(r, g, b) - min(r, g, b) > 200  # saturated: it reads over white cloud
    assert got[3][0] == check.hex(3) and got[3][1] > 150  # shadow purple, visible
    assert layer.opacity() == 1.0
    # the filled palette stays available (the COG's colour table), 60 % over the image
    dock.style_combo.setCurrentIndex(dock.style_combo.findData("filled"))
    layer = group.findLayers()[1].layer()
    got = [(c.value, c.color.name(), c.color.alpha()) for c in layer.renderer().classes()]
    assert got == [(c.value, c.color, c.alpha) for c in CLASSES]
    assert got[2][1] == CLOUD.color and layer.opacity() == pytest.approx(0.6)
    from qgis.core import QgsSettings

    assert QgsSettings().value(STYLE_SETTING) == "filled"
    QgsSettings().remove(STYLE_SETTING)


def test_summary_csv_read_with_the_csv_module(tmp_path):
    from tsmask_qgis.writers import DateSummary, write_summary

    rows = [DateSummary(**r) for r in _summary()]
    write_summary(rows, tmp_path / "summary.csv", None)
    got = read_summary_csv(tmp_path / "summary.csv")
    assert [r.label for r in got] == LABELS
    assert [round(r.cloud, 2) for r in got] == [s.cloud_pct_observed for s in rows]
    with pytest.raises(ValueError, match="run tsmask into that folder again"):
        read_summary_csv(tmp_path / "missing.csv")
    # a result without rows takes them from its summary.csv
    layers = ResultLayers(masks={}, times={}, summary_csv=tmp_path / "summary.csv")
    assert list(layers.rows()) == LABELS
    assert layers.rows()["2016-01-11"].cloud == pytest.approx(80.0)
