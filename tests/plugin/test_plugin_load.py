"""Loading and unloading the plugin the way QGIS does."""

from __future__ import annotations

import sys

from qgis.core import QgsApplication

import tsmask_qgis
from tsmask_qgis.plugin import deps


def test_class_factory_init_gui_and_unload(qgis_app, qgis_iface):
    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    try:
        assert plugin.action is not None
        assert plugin.action.objectName() == "tsmaskAction"
        assert not plugin.action.icon().isNull()
        provider = QgsApplication.processingRegistry().providerById("tsmask")
        assert provider is not None
        ids = {a.id() for a in provider.algorithms()}
        assert ids == {
            "tsmask:detect_stac",
            "tsmask:detect_local",
            "tsmask:seed_filter",
            "tsmask:buffer",
            "tsmask:majority_filter",
            "tsmask:summary",
            "tsmask:compare_masks",
            "tsmask:composite",
            "tsmask:index_series",
            "tsmask:Detect then composite",
        }
        plugin.show_dialog()
        assert plugin.dialog is not None and plugin.dialog.isVisible()
    finally:
        plugin.unload()
    assert plugin.action is None and plugin.dialog is None
    assert QgsApplication.processingRegistry().providerById("tsmask") is None
    assert "numba" not in sys.modules


def test_missing_dependency_gives_one_clear_message(qgis_app, qgis_iface, monkeypatch):
    real = deps._present
    monkeypatch.setattr(deps, "_present", lambda m: m != "numba" and real(m))
    missing = deps.missing("detect_local")
    assert [d.module for d in missing] == ["numba"]
    text = deps.missing_message(missing)
    assert "numba" in text and "-m pip install --user 'numba>=0.58'" in text
    assert deps.python_for_pip() in text

    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    try:
        assert plugin.missing_text == text
        plugin.show_dialog()
        assert not plugin.dialog.run_button.isEnabled()
        assert plugin.start(None) is None  # nothing can start
        # Processing algorithms that need the missing package say why they cannot run.
        alg = QgsApplication.processingRegistry().algorithmById("tsmask:seed_filter")
        ok, why = alg.canExecute()
        assert not ok and "numba" in why
        ok, _ = QgsApplication.processingRegistry().algorithmById("tsmask:summary").canExecute()
        assert ok
    finally:
        plugin.unload()


def test_python_for_pip_is_a_python_not_qgis():
    exe = deps.python_for_pip()
    assert "python" in exe.rsplit("/", 1)[-1]
