"""The dialog: values -> RunSettings, inline validation, remembered settings."""

from __future__ import annotations

import datetime as dt

from qgis.core import QgsCoordinateReferenceSystem, QgsRectangle, QgsSettings
from qgis.PyQt.QtCore import QDate

from tsmask_qgis.plugin.convert import LOCAL, STAC
from tsmask_qgis.plugin.dialog import TsmaskDialog


def _fill(dlg, tmp_path):
    utm = QgsCoordinateReferenceSystem("EPSG:32755")
    dlg.set_extent(QgsRectangle(686_000, 6_086_000, 695_000, 6_097_000), utm)
    dlg.start_edit.setDate(QDate(2017, 1, 1))
    dlg.end_edit.setDate(QDate(2017, 3, 31))
    dlg.out_widget.setFilePath(str(tmp_path))


def test_dialog_to_settings(qgis_app, qgis_iface, clean_settings, tmp_path):
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings, available_memory=lambda: 64 * 10**9)
    _fill(dlg, tmp_path)
    dlg.preset_combo.setCurrentIndex(dlg.preset_combo.findData("seed"))
    dlg.spatial_check.setChecked(False)
    dlg.format_checks["netcdf"].setChecked(True)
    dlg.workers_spin.setValue(2)
    assert dlg.validate() == {}
    assert dlg.run_button.isEnabled()
    got = []
    dlg.runRequested.connect(got.append)
    dlg.run_button.click()
    (s,) = got
    w, south, e, n = s.bbox
    assert 149.0 < w < e < 149.2 and -35.4 < south < n < -35.2
    assert (s.start, s.end) == (dt.date(2017, 1, 1), dt.date(2017, 3, 31))
    assert s.preset == "seed" and s.spatial is False and s.workers == 2
    assert set(s.formats) == {"cog", "netcdf"} and s.out_dir == tmp_path


def test_default_preset_is_dea_and_each_says_what_it_is_for(
    qgis_app, qgis_iface, clean_settings, tmp_path
):
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings)
    assert dlg.preset_combo.currentData() == "dea"
    assert "false alarms" in dlg.preset_combo.currentText()  # said in the choice itself
    dlg.preset_combo.setCurrentIndex(dlg.preset_combo.findData("seed"))
    assert "notebook" in dlg.preset_combo.currentText()
    assert all(len(dlg.preset_combo.itemText(i)) < 90 for i in range(2))  # one line each


def test_inline_validation(qgis_app, qgis_iface, clean_settings, tmp_path):
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings, available_memory=lambda: 64 * 10**9)
    _fill(dlg, tmp_path)
    dlg.end_edit.setDate(QDate(2016, 12, 1))
    assert "dates" in dlg.validate()
    assert not dlg.dates_error.isHidden() and "before" in dlg.dates_error.text()
    assert not dlg.run_button.isEnabled()
    dlg.end_edit.setDate(QDate(2017, 2, 1))
    assert dlg.dates_error.isHidden() and dlg.run_button.isEnabled()
    for check in dlg.format_checks.values():
        check.setChecked(False)
    assert "formats" in dlg.validate() and not dlg.run_button.isEnabled()
    dlg.format_checks["cog"].setChecked(True)
    dlg.set_source(STAC)
    assert "source" in dlg.validate()
    dlg.stac_url_edit.setText("https://example.test/stac")
    dlg.collection_edit.setText("sentinel-2-l2a")
    assert dlg.validate() == {}
    dlg.set_source(LOCAL)
    assert "local stack" in dlg.validate()["source"].lower()
    assert not dlg.extent_box.isEnabled()


def test_empty_area_message(qgis_app, qgis_iface, clean_settings, tmp_path):
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings)
    _fill(dlg, tmp_path)
    dlg.set_extent(QgsRectangle(), QgsCoordinateReferenceSystem("EPSG:4326"))
    problems = dlg.validate()
    assert "area is empty" in problems["bbox"]
    assert not dlg.area_error.isHidden()


def test_memory_warning(qgis_app, qgis_iface, clean_settings, tmp_path):
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings, available_memory=lambda: 2 * 10**9)
    _fill(dlg, tmp_path)
    dlg.end_edit.setDate(QDate(2018, 12, 31))
    dlg.validate()
    assert dlg.memory_warning.isHidden()  # ~ 450 x 550 px x 146 dates fits in 1 GB
    dlg.set_extent(
        QgsRectangle(148.0, -36.0, 150.0, -34.0), QgsCoordinateReferenceSystem("EPSG:4326")
    )
    dlg.validate()
    assert not dlg.memory_warning.isHidden()
    assert "stream" in dlg.memory_warning.text()
    assert dlg.run_button.isEnabled()  # a warning, not an error: the engine streams


def test_settings_are_remembered(qgis_app, qgis_iface, clean_settings, tmp_path):
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings)
    _fill(dlg, tmp_path)
    dlg.preset_combo.setCurrentIndex(dlg.preset_combo.findData("seed"))
    dlg.format_checks["envi"].setChecked(True)
    dlg.truecolour_check.setChecked(True)
    dlg.workers_spin.setValue(3)
    dlg.save_settings()
    again = TsmaskDialog(qgis_iface, settings=QgsSettings())
    assert again.start_edit.date() == QDate(2017, 1, 1)
    assert again.end_edit.date() == QDate(2017, 3, 31)
    assert again.preset_combo.currentData() == "seed"
    assert "envi" in again.formats() and again.truecolour_check.isChecked()
    assert again.workers_spin.value() == 3
    assert again.out_widget.filePath() == str(tmp_path)


def test_memory_advice_suggests_a_max_memory():
    from tsmask_qgis.plugin.dialog import memory_advice

    gb = 10**9
    assert memory_advice(1 * gb, max_memory=None, available=8 * gb) == (None, None)
    error, warning = memory_advice(18 * gb // 10, max_memory=None, available=3 * gb)
    assert error is None and "stream" in warning and "Max memory to 2.2 GB" in warning
    error, warning = memory_advice(3 * gb, max_memory=2 * gb, available=16 * gb)
    assert error is None and "budget of 2.0 GB" in warning and "3.6 GB" in warning
    error, warning = memory_advice(40 * gb, max_memory=None, available=16 * gb)
    assert "cannot fit" in warning and "smaller area" in warning
    error, warning = memory_advice(1 * gb, max_memory=32 * gb, available=8 * gb)
    assert warning is None and "at most 6.4 GB" in error


def test_max_memory_above_available_blocks_run(qgis_app, qgis_iface, clean_settings, tmp_path):
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings, available_memory=lambda: 8 * 10**9)
    _fill(dlg, tmp_path)
    assert dlg.validate() == {} and dlg.run_button.isEnabled()
    dlg.memory_spin.setValue(32.0)
    problems = dlg.validate()
    assert "at most 6.4 GB" in problems["max_memory"]
    assert not dlg.memory_error.isHidden() and not dlg.run_button.isEnabled()
    dlg.memory_spin.setValue(4.0)
    assert dlg.validate() == {} and dlg.run_settings().max_memory == 4 * 10**9


def test_estimate_figures_replace_the_guess(qgis_app, qgis_iface, clean_settings, tmp_path):
    from tsmask_qgis.plugin.jobs import EstimateInfo

    dlg = TsmaskDialog(qgis_iface, settings=clean_settings, available_memory=lambda: 4 * 10**9)
    _fill(dlg, tmp_path)
    dlg.validate()
    assert dlg.memory_warning.isHidden()  # the offline guess fits
    draft, _ = dlg.draft_settings()
    dlg.show_estimate(EstimateInfo("30 scenes on 30 dates", 25 * 10**8), settings=draft)
    assert dlg.estimate_label.text() == "30 scenes on 30 dates"
    assert not dlg.memory_warning.isHidden()
    assert "Max memory to 3.0 GB" in dlg.memory_warning.text()
    dlg.end_edit.setDate(QDate(2017, 3, 30))  # other dates: the estimate no longer applies
    assert dlg.memory_warning.isHidden()


def test_runner_is_an_advanced_setting(qgis_app, qgis_iface, clean_settings, tmp_path):
    from tsmask_qgis.engine import RUNNERS as ENGINE_RUNNERS
    from tsmask_qgis.plugin.convert import RUNNERS

    assert tuple(RUNNERS) == ENGINE_RUNNERS  # the dialog offers exactly the engine's runners
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings, available_memory=lambda: 64 * 10**9)
    _fill(dlg, tmp_path)
    assert dlg.advanced_box.isCollapsed()
    assert dlg.run_settings().runner == "auto"  # automatic by default
    dlg.runner_combo.setCurrentIndex(dlg.runner_combo.findData("processes"))
    assert dlg.run_settings().runner == "processes"
    dlg.save_settings()
    again = TsmaskDialog(qgis_iface, settings=QgsSettings())
    assert again.runner_combo.currentData() == "processes"


def test_cog_is_always_written(qgis_app, qgis_iface, clean_settings, tmp_path):
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings)
    assert dlg.format_checks["cog"].isChecked() and not dlg.format_checks["cog"].isEnabled()


def test_options_reach_the_job_and_are_remembered(qgis_app, qgis_iface, clean_settings, tmp_path):
    from tests.plugin.test_run import to_job

    dlg = TsmaskDialog(qgis_iface, settings=clean_settings, available_memory=lambda: 64 * 10**9)
    _fill(dlg, tmp_path)
    box = dlg.options_box
    assert box.isCollapsed() and not box.shadow_check.isChecked()  # compact, off by default
    assert not box.thin_combo.isEnabled()  # dea has no thin-cloud rule
    box.shadow_check.setChecked(True)
    box.cloud_spin.setValue(60)
    box.shadow_spin.setValue(40)
    dlg.preset_combo.setCurrentIndex(dlg.preset_combo.findData("seed"))
    assert box.thin_combo.isEnabled()
    box.thin_combo.setCurrentIndex(box.thin_combo.findData("temporal"))
    assert dlg.validate() == {}
    s = dlg.run_settings()
    assert (s.shadow_geometry, s.cloud_buffer_m, s.shadow_buffer_m) == (True, 60.0, 40.0)
    job = to_job(s)
    assert job.shadow_geometry and (job.cloud_buffer_m, job.shadow_buffer_m) == (60.0, 40.0)
    assert dict(job.overrides) == {"thin_cloud": "temporal"}
    # options need the spatial steps: said under Options, Run disabled
    dlg.spatial_check.setChecked(False)
    assert "spatial steps" in dlg.validate()["options"]
    assert "spatial steps" in box.error.text()
    assert not dlg.run_button.isEnabled()
    dlg.spatial_check.setChecked(True)
    dlg.save_settings()
    again = TsmaskDialog(qgis_iface, settings=QgsSettings())
    b2 = again.options_box
    assert b2.shadow_check.isChecked() and b2.cloud_spin.value() == 60
    assert b2.thin_combo.currentData() == "temporal"


def test_dialog_fits_a_768_pixel_screen(qgis_app, qgis_iface, clean_settings):
    """On a 768 px screen (728 px available under a task bar) the groups scroll and the
    dialog, buttons included, fits; on a tall screen they show whole."""
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings)
    dlg.fit_height(728)
    dlg.show()
    qgis_app.processEvents()
    assert dlg.minimumSizeHint().height() <= 728 - 40
    assert dlg.height() <= 728 - 40
    assert dlg.run_button.isVisible()
    dlg.fit_height(2000)
    assert dlg._scroll.minimumHeight() == dlg._body.sizeHint().height()


def test_options_cost_no_height_when_collapsed(qgis_app, qgis_iface, clean_settings):
    """The Options share the Advanced row: collapsed, they add a few pixels at most."""
    dlg = TsmaskDialog(qgis_iface, settings=clean_settings)
    dlg.show()
    qgis_app.processEvents()
    with_options = dlg._body.sizeHint().height()
    dlg.options_box.setVisible(False)
    qgis_app.processEvents()
    assert with_options <= dlg._body.sizeHint().height() + 8
