"""Loading and unloading the plugin the way QGIS does."""

from __future__ import annotations

import subprocess
import sys

import pytest
from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QPushButton

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


@pytest.fixture
def worker_with(tmp_path, monkeypatch):
    """A worker Python that has exactly the given packages, at the given versions.

    A fresh venv sees no installed package; each given package is a real importable
    module with its distribution metadata on the worker's PYTHONPATH.
    """

    def make(versions: dict[str, str]):
        bare = tmp_path / "bare"
        subprocess.run(
            [getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", bare],
            check=True,
            timeout=120,
        )
        site = tmp_path / "site"
        for module, version in versions.items():
            dist = deps.PACKAGES[module].dist
            pkg = site.joinpath(*module.split("."))
            pkg.mkdir(parents=True, exist_ok=True)
            (pkg / "__init__.py").write_text("")
            info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
            info.mkdir()
            (info / "METADATA").write_text(
                f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
            )
        monkeypatch.setenv("TSMASK_PYTHON", str(bare / "bin" / "python"))
        monkeypatch.setenv("PYTHONPATH", str(site))
        return bare / "bin" / "python"

    return make


GOOD = {
    "numpy": "1.26.4",
    "numba": "0.68.1",
    "xarray": "2026.9.0",
    "dask": "2026.8.0",
    "rasterio": "1.4.4",
    "netCDF4": "1.7.5.1.post1",
    "pystac_client": "0.9.1",
    "odc.stac": "0.5.3",
    "psutil": "5.9.8",
}


def _start_plugin(qgis_iface):
    """The started plugin and every message it pushed to the message bar on start."""
    plugin = tsmask_qgis.classFactory(qgis_iface)
    bar = qgis_iface.messageBar()  # pytest-qgis keeps the messages per level
    bar.clear_messages()
    plugin.initGui()
    shown = [m for messages in bar.messages.values() for m in messages]
    # the message that offers Set up tsmask is an item with its button (pushWidget)
    if plugin._setup_bar is not None:
        shown.append(plugin._setup_bar.text())
        assert plugin._setup_bar.findChild(QPushButton, "tsmaskSetupButton") is not None
    return plugin, shown


def test_missing_and_too_old_packages_in_the_worker_give_one_message(
    qgis_app, qgis_iface, worker_with
):
    # numba too old, the catalogue packages missing: only what needs neither still runs
    python = worker_with(
        {
            **{m: v for m, v in GOOD.items() if m not in ("pystac_client", "odc.stac")},
            "numba": "0.50.1",
        }
    )
    plugin, shown = _start_plugin(qgis_iface)
    try:
        text = plugin.missing_text
        assert text is not None and len(shown) == 1  # one message, in the message bar
        assert f"the worker Python {python} lacks" in text
        assert "numba 0.50.1 (needs 0.58 or newer)" in text
        assert "pystac-client (missing)" in text and "odc-stac (missing)" in text
        assert "rasterio" not in text.split("Disabled")[0]  # present and new enough
        command = (
            f"{python} -m pip install --user 'numba>=0.58' 'pystac-client>=0.7' 'odc-stac>=0.3.9'"
        )
        assert command in text
        assert "Still available: per-date summaries, mask comparison." in text
        assert plugin.check.disabled == {"detect_stac", "detect_local", "spatial"}
        plugin.show_dialog()
        assert not plugin.dialog.run_button.isEnabled()
        assert plugin.start(None) is None  # nothing can start
        registry = QgsApplication.processingRegistry()
        ok, why = registry.algorithmById("tsmask:seed_filter").canExecute()
        assert not ok and why == text
        assert registry.algorithmById("tsmask:summary").canExecute() == (True, "")
        assert registry.algorithmById("tsmask:compare_masks").canExecute()[0]
    finally:
        plugin.unload()


def test_only_the_catalogue_packages_missing_disables_only_catalogue_runs(
    qgis_app, qgis_iface, worker_with
):
    from tsmask_qgis.plugin.convert import LOCAL, STAC

    worker_with({m: v for m, v in GOOD.items() if m != "odc.stac"})
    plugin, shown = _start_plugin(qgis_iface)
    try:
        assert plugin.check.disabled == {"detect_stac"} and len(shown) == 1
        assert "odc-stac (missing)" in plugin.missing_text
        plugin.show_dialog()
        plugin.dialog.set_source(STAC)
        assert "cannot run here" in plugin.dialog.validate().get("source", "")
        plugin.dialog.set_source(LOCAL)
        assert "cannot run here" not in plugin.dialog.validate().get("source", "")
        registry = QgsApplication.processingRegistry()
        assert not registry.algorithmById("tsmask:detect_stac").canExecute()[0]
        assert registry.algorithmById("tsmask:detect_local").canExecute() == (True, "")
    finally:
        plugin.unload()


def test_everything_present_gives_no_message(qgis_app, qgis_iface, worker_with):
    worker_with(GOOD)
    plugin, shown = _start_plugin(qgis_iface)
    try:
        assert plugin.missing_text is None and shown == [] and not plugin.check.disabled
    finally:
        plugin.unload()


def test_a_qgis_older_than_3_22_loads_says_so_and_runs_nothing(qgis_app, qgis_iface, monkeypatch):
    from tsmask_qgis.plugin import plugin as plugin_module

    monkeypatch.setattr(plugin_module, "qgis_version", lambda: (31600, "3.16.0-Hannover"))
    plugin, shown = _start_plugin(qgis_iface)
    try:
        assert plugin.action is not None and len(shown) == 1
        text = plugin.missing_text
        assert "QGIS 3.16.0-Hannover is older than 3.22" in text and "update QGIS" in text
        assert "Still available" not in text  # everything is disabled
        assert QgsApplication.processingRegistry().providerById("tsmask") is None
        plugin.show_dialog()
        assert not plugin.dialog.run_button.isEnabled()
        assert plugin.start(None) is None
    finally:
        plugin.unload()
    assert plugin.action is None


def test_no_worker_python_is_one_message_too(qgis_app, qgis_iface, monkeypatch, tmp_path):
    monkeypatch.setenv("TSMASK_PYTHON", str(tmp_path / "no-such-python"))
    monkeypatch.setattr(
        "tsmask_qgis.jobs.interpreter._candidates", lambda: [str(tmp_path / "no-such-python")]
    )
    plugin, shown = _start_plugin(qgis_iface)
    try:
        assert len(shown) == 1 and plugin.check.disabled == set(deps.FEATURES)
        assert "TSMASK_PYTHON" in plugin.missing_text
    finally:
        plugin.unload()


def test_python_for_pip_is_a_python_not_qgis():
    exe = deps.python_for_pip()
    assert "python" in exe.rsplit("/", 1)[-1]
