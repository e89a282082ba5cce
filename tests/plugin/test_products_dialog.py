"""The dialog's Composite option: a run whose composites load above the masks, styled."""

from __future__ import annotations

import datetime as dt

from qgis.core import QgsMultiBandColorRenderer, QgsProject, QgsTask

import tsmask_qgis
from tests.plugin.test_task import _wait
from tsmask_qgis.plugin.convert import LOCAL, RunSettings
from tsmask_qgis.plugin.dialog import TsmaskDialog
from tsmask_qgis.plugin.jobs import job_options
from tsmask_qgis.plugin.layers import ROLE_PROPERTY, result_groups


def test_the_composite_choice_reaches_the_job(qgis_app, qgis_iface, clean_settings, tmp_path):
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings)
    assert dlg.composite_combo.currentData() == ""  # none by default
    dlg.composite_combo.setCurrentIndex(dlg.composite_combo.findData("year:geomedian"))
    dlg.save_settings()
    again = TsmaskDialog(qgis_iface, settings=clean_settings)
    assert again.composite_combo.currentData() == "year:geomedian"
    assert again._options()["composite"] == "year:geomedian"
    settings = RunSettings(
        bbox=None,
        start=dt.date(2017, 1, 1),
        end=dt.date(2017, 2, 1),
        out_dir=tmp_path,
        source=LOCAL,
        input_path=tmp_path / "s.nc",
        composite="year:geomedian",
    )
    assert job_options(settings)["products"] == {"composite": "year:geomedian"}
    assert "products" not in job_options(settings.replace(composite=None))


def test_run_with_a_composite_loads_it_above_the_masks(
    qgis_app, qgis_iface, qgis_new_project, scene_nc, tmp_path
):
    path, _ = scene_nc
    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    settings = RunSettings(
        bbox=None,
        start=dt.date(2017, 1, 1),
        end=dt.date(2017, 3, 1),
        out_dir=tmp_path / "out",
        source=LOCAL,
        input_path=path,
        workers=1,
        composite="all:median",
    )
    try:
        task = plugin.start(settings)
        outcome: list = []
        task.taskCompleted.connect(lambda: outcome.append(QgsTask.TaskStatus.Complete))
        task.taskTerminated.connect(lambda: outcome.append(QgsTask.TaskStatus.Terminated))
        assert _wait(outcome, qgis_app, timeout=120) == QgsTask.TaskStatus.Complete
    finally:
        plugin.unload()
    assert "products" in task.steps
    [group] = result_groups(QgsProject.instance(), settings.out_dir)
    first = group.children()[0]
    assert first.name() == "composites"
    (node,) = first.findLayers()
    layer = node.layer()
    assert layer.name() == "composite all" and node.isVisible()
    assert isinstance(layer.renderer(), QgsMultiBandColorRenderer)
    assert (layer.renderer().redBand(), layer.renderer().blueBand()) == (3, 1)
    assert group.children()[1].layer().customProperty(ROLE_PROPERTY) == "mask"
    assert layer.customProperty(ROLE_PROPERTY) == "composite"
