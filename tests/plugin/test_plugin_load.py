"""Loading and unloading the plugin the way QGIS does."""

from __future__ import annotations

import sys

from qgis.core import QgsApplication

import tsmask_qgis
from tsmask_qgis.jobs import interpreter
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


def _worker_lacking(tmp_path, monkeypatch, *modules):
    """A worker 'interpreter' of QGIS's Python version that lacks ``modules``."""
    fake = tmp_path / "python3"
    ver = f"{sys.version_info[0]} {sys.version_info[1]}"
    fake.write_text(f"#!/bin/sh\necho {ver} {' '.join(modules)}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(interpreter, "_candidates", lambda: [str(fake)])
    interpreter.reset()
    return fake


def test_missing_dependency_is_asked_of_the_worker_and_offers_set_up(
    qgis_app, qgis_iface, monkeypatch, tmp_path
):
    fake = _worker_lacking(tmp_path, monkeypatch, "numba")
    try:
        missing = deps.missing("detect_local")
        assert [d.module for d in missing] == ["numba"]
        text = deps.missing_message(missing)
        assert str(fake) in text and "numba" in text and "Set up tsmask" in text
        assert "pip install" not in text  # never into QGIS's Python

        plugin = tsmask_qgis.classFactory(qgis_iface)
        plugin.initGui()
        try:
            assert plugin.missing_text == text
            plugin.show_dialog()
            dialog = plugin.dialog
            assert not dialog.run_button.isEnabled()
            assert not dialog.missing_box.isHidden() and dialog.setup_button.isEnabled()
            assert plugin.start(None) is None  # nothing can start
            # Processing algorithms that need the missing package say why they cannot run.
            alg = QgsApplication.processingRegistry().algorithmById("tsmask:seed_filter")
            ok, why = alg.canExecute()
            assert not ok and "numba" in why
            ok, _ = QgsApplication.processingRegistry().algorithmById("tsmask:summary").canExecute()
            assert ok
            # the packages appear in the worker: Run is offered again
            monkeypatch.undo()
            interpreter.reset()
            plugin.refresh_engine()
            assert plugin.missing_text is None and dialog.missing_box.isHidden()
        finally:
            plugin.unload()
    finally:
        interpreter.reset()


def test_base_python_is_a_python_not_qgis():
    exe = interpreter.base_python()
    assert exe is not None and "python" in exe.rsplit("/", 1)[-1]
