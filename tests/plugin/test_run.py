"""A whole Run from the plugin: task manager, worker processes, layers on the map."""

from __future__ import annotations

import datetime as dt
import sys
import time

from qgis.core import QgsPalettedRasterRenderer, QgsProject, QgsTask

import tsmask_qgis
from tests.plugin.test_task import _wait
from tsmask_qgis.plugin.convert import LOCAL, RunSettings


def _settings(path, out):
    return RunSettings(
        bbox=None,
        start=dt.date(2017, 1, 1),
        end=dt.date(2017, 3, 1),
        out_dir=out,
        source=LOCAL,
        input_path=path,
        workers=1,
    )


def _outcome(task):
    outcome = []
    task.taskCompleted.connect(lambda: outcome.append(QgsTask.Complete))
    task.taskTerminated.connect(lambda: outcome.append(QgsTask.Terminated))
    return outcome


def test_run_adds_styled_temporal_layers(
    qgis_app, qgis_iface, qgis_new_project, scene_nc, tmp_path
):
    path, scene = scene_nc
    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    try:
        settings = _settings(path, tmp_path / "out")
        task = plugin.start(settings)
        assert _wait(_outcome(task), qgis_app, timeout=120) == QgsTask.Complete
    finally:
        plugin.unload()
    root = QgsProject.instance().layerTreeRoot()
    group = root.findGroup(settings.area_name())
    assert group is not None
    layers = [n.layer() for n in group.findLayers()]
    masks = [lyr for lyr in layers if lyr.name().startswith("mask ")]
    assert len(masks) == 12
    for layer, t in zip(masks, scene.ds.time.values, strict=True):
        assert isinstance(layer.renderer(), QgsPalettedRasterRenderer)
        begin = layer.temporalProperties().fixedTemporalRange().begin().date().toPyDate()
        assert begin.isoformat() == str(t)[:10]
    assert layers[-1].name() == "clear observations"
    assert "numba" not in sys.modules


def test_run_cancel_keeps_no_files(qgis_app, qgis_iface, scene_nc, tmp_path):
    path, _ = scene_nc
    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    out = tmp_path / "out"
    try:
        task = plugin.start(_settings(path, out))
        outcome = _outcome(task)
        time.sleep(0.5)
        qgis_app.processEvents()
        t0 = time.monotonic()
        task.cancel()
        assert _wait(outcome, qgis_app, timeout=60) == QgsTask.Terminated
        assert time.monotonic() - t0 < 5
    finally:
        plugin.unload()
    assert not out.exists() or list(out.iterdir()) == []
