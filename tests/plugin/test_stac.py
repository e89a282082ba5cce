"""Against a real STAC API on 127.0.0.1: tsmask:detect_stac, and the dialog's Estimate and Run."""

from __future__ import annotations

import datetime as dt
import re
import sys

import numpy as np
import pytest
import rasterio
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsPalettedRasterRenderer,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsTask,
)
from qgis.PyQt.QtCore import QDate

import tsmask_qgis
from tests.catalogue import AREA
from tests.plugin.test_run import _outcome
from tests.plugin.test_task import _wait
from tsmask_qgis.plugin.convert import STAC
from tsmask_qgis.plugin.layers import result_groups
from tsmask_qgis.plugin.processing.detect import PRESETS
from tsmask_qgis.progress import plan, step

DATES = ["2021-12-04", "2022-01-30", "2022-03-01"]
COLLECTION = "sentinel-2-c1-l2a"


def _request(server, **kw):
    from tsmask_qgis.loaders import Request

    return Request(
        AREA,
        dt.date(2021, 12, 1),
        dt.date(2022, 3, 31),
        source="custom",
        stac_url=server.url,
        collections=(COLLECTION,),
        **kw,
    )


def _oracle(server) -> np.ndarray:
    """algorithm.md in plain Python on the loaded reflectance (no numba in this process).

    Every scene is uniform per tile, so the temporal part runs once per distinct
    pixel series; the spatial steps run on the whole image.
    """
    from tsmask_qgis.engine.reference import reference_detect, reference_spatial
    from tsmask_qgis.loaders import BANDS, load

    ds = load(_request(server), cache=False)
    cube = np.stack([ds[b].values for b in BANDS])  # (6, T, Y, X)
    _, t, ny, nx = cube.shape
    series = cube.reshape(6 * t, ny * nx).T
    _, first, inverse = np.unique(
        np.nan_to_num(series, nan=-9.0), axis=0, return_index=True, return_inverse=True
    )
    distinct = cube.reshape(6, t, ny * nx)[:, :, first][:, :, None, :]
    labels = reference_detect(distinct, "seed")[:, 0, :]  # (T, distinct)
    temporal = labels[:, inverse.ravel()].reshape(t, ny, nx)
    return reference_spatial(temporal, "seed")


class _Recorder(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.infos: list[str] = []

    def pushInfo(self, info):
        self.infos.append(info)
        super().pushInfo(info)


def _params(server, out, **kw):
    from tsmask_qgis.plugin.processing.algorithms import DetectStacAlgorithm

    w, s, e, n = AREA
    return {
        "EXTENT": f"{w},{e},{s},{n} [EPSG:4326]",
        "START": "2021-12-01",
        "END": "2022-03-31",
        "SOURCE": DetectStacAlgorithm.sources().index("custom"),
        "STAC_URL": server.url,
        "COLLECTION": COLLECTION,
        "WORKERS": 1,
        "PRESET": PRESETS.index("seed"),  # the oracle below is seed's
        "OUTPUT": str(out),
        **kw,
    }


def test_detect_stac_equals_the_spec(processing_ready, stac_server, tmp_path):
    import processing

    out, count = tmp_path / "stac.tif", tmp_path / "count.tif"
    feedback = _Recorder()
    result = processing.run(
        "tsmask:detect_stac",
        _params(stac_server, out, CLEAR_COUNT=str(count)),
        feedback=feedback,
    )
    assert result["OUTPUT"] == str(out) and result["CLEAR_COUNT"] == str(count)
    with rasterio.open(out) as src:
        got = src.read()
        assert list(src.descriptions) == DATES
        assert src.crs.to_epsg() == 32756  # the UTM zone of the area's centre
    np.testing.assert_array_equal(got, _oracle(stac_server))
    assert (got == 0).any() and (got != 0).any()  # the east-only date leaves the west unseen
    with rasterio.open(count) as src:
        np.testing.assert_array_equal(src.read(1), (got == 1).sum(axis=0))
        np.testing.assert_array_equal(src.read(2), (got != 0).sum(axis=0))
    # one multi-step child per pipeline step, announced in order
    announced = [i for i in feedback.infos if i.endswith("…")]
    assert announced == [f"{step(name).label}…" for name in plan(catalogue=True)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["count.tif", "stac.tif"]
    assert "numba" not in sys.modules


def test_detect_stac_with_no_scenes_says_so(processing_ready, stac_server, tmp_path):
    import processing

    params = _params(stac_server, tmp_path / "none.tif", START="2016-01-01", END="2016-02-01")
    with pytest.raises(QgsProcessingException, match="no Sentinel-2 acquisitions"):
        processing.run("tsmask:detect_stac", params)
    assert list(tmp_path.iterdir()) == []


def test_dialog_estimate_and_run_through_the_task_manager(
    qgis_app, qgis_iface, qgis_new_project, stac_server, clean_settings, tmp_path
):
    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    try:
        plugin.show_dialog()
        dlg = plugin.dialog
        dlg.set_extent(QgsRectangle(*AREA), QgsCoordinateReferenceSystem("EPSG:4326"))
        dlg.start_edit.setDate(QDate(2021, 12, 1))
        dlg.end_edit.setDate(QDate(2022, 3, 31))
        dlg.set_source(STAC)
        dlg.stac_url_edit.setText(stac_server.url)
        dlg.collection_edit.setText(COLLECTION)
        dlg.out_widget.setFilePath(str(tmp_path / "out"))
        dlg.truecolour_check.setChecked(True)
        dlg.workers_spin.setValue(1)
        assert dlg.validate() == {}

        # Estimate: a small task; the answer shows inline.
        dlg.estimate_button.click()
        estimate = plugin.tasks[-1]
        assert _wait(_outcome(estimate), qgis_app, timeout=60) == QgsTask.TaskStatus.Complete
        text = dlg.estimate_label.text()
        assert "6 scenes on 3 dates" in text and "memory" in text

        # Run: search, load, detect, spatial, write in the background; layers added.
        settings = dlg.run_settings()
        dlg.run_button.click()
        task = plugin.tasks[-1]
        assert _wait(_outcome(task), qgis_app, timeout=120) == QgsTask.TaskStatus.Complete
        assert task.steps == list(plan(catalogue=True))
        assert "done" in dlg.status_label.text()
    finally:
        plugin.unload()

    [group] = result_groups(QgsProject.instance(), settings.out_dir)
    assert group.name() == f"tsmask {settings.area_label()} {DATES[0]}..{DATES[-1]}"
    children = group.children()
    assert [c.name() for c in children][3:] == ["true colour", "clear observations"]
    for node, day in zip(children[:3], DATES, strict=True):
        assert re.fullmatch(rf"{day} · \d+ % cloud( · \d+ % shadow)?", node.name()), node.name()
    expected = _oracle(stac_server)
    for i, (node, day) in enumerate(zip(children[:3], DATES, strict=True)):
        layer: QgsRasterLayer = node.layer()
        assert isinstance(layer.renderer(), QgsPalettedRasterRenderer)
        assert [c.value for c in layer.renderer().classes()] == [0, 1, 2, 3]
        rng = layer.temporalProperties().fixedTemporalRange()
        assert layer.temporalProperties().isActive()
        assert rng.begin().date().toString("yyyy-MM-dd") == day
        assert rng.begin().daysTo(rng.end()) == 1
        with rasterio.open(layer.source()) as src:
            np.testing.assert_array_equal(src.read(1), expected[i])
    rgb = [n.layer() for n in children[3].findLayers()]
    assert [
        lyr.temporalProperties().fixedTemporalRange().begin().date().toString("yyyy-MM-dd")
        for lyr in rgb
    ] == DATES
    assert all(lyr.bandCount() >= 3 for lyr in rgb)
    count = children[4].layer()
    assert count.renderer().type() == "singlebandpseudocolor"
    assert not children[4].itemVisibilityChecked()
    assert "numba" not in sys.modules
