"""Run inside the real QGIS desktop (``qgis --code``) by test_desktop_setup.py, as a new user.

A clean profile whose worker Python has none of the engine's packages: the plugin
offers *Set up tsmask* in the message bar; this clicks it (offline, from the wheel
folder in ``$TSMASK_WHEELS``), waits, opens the dialog, picks the bundled sample,
ticks true colour and clicks Run; screenshots the dialog while it runs and the main
window after; then quits QGIS with the job child warm. Writes a JSON report to ``$TSMASK_DESKTOP_REPORT`` at each stage.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

from qgis.core import QgsApplication, QgsProject, QgsTask
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QPushButton
from qgis.utils import iface, loadPlugin, plugins, startPlugin

REPORT = Path(os.environ["TSMASK_DESKTOP_REPORT"])
OUT = Path(os.environ["TSMASK_DESKTOP_OUT"])
SHOTS = Path(os.environ["TSMASK_DESKTOP_SHOTS"])
report = {"executable": sys.executable, "stage": "start"}
state = {"t0": time.monotonic(), "shot_dialog": False}


def save():
    REPORT.write_text(json.dumps(report, indent=1, default=str))


def fail(where):
    report["error"] = f"{where}: {traceback.format_exc()}"
    save()
    quit_qgis()


def later(ms, fn):
    def guarded():
        try:
            fn()
        except Exception:
            fail(fn.__name__)

    QTimer.singleShot(ms, guarded)


def bar_texts():
    from qgis.gui import QgsMessageBarItem

    bar = iface.messageBar()
    items = bar.findChildren(QgsMessageBarItem)
    current = bar.currentItem()
    return [i.text() for i in items], (current.text() if current is not None else "")


def start():
    report["loaded"] = bool(loadPlugin("tsmask_qgis") and startPlugin("tsmask_qgis"))
    QgsApplication.instance().aboutToQuit.connect(at_quit)
    import tsmask_qgis

    iface.mainWindow().setGeometry(0, 0, 1366, 768)  # a laptop screen (no window manager)
    plugin = plugins["tsmask_qgis"]
    report["plugin_file"] = tsmask_qgis.__file__
    report["missing_at_start"] = plugin.missing_text or ""
    button = iface.messageBar().findChild(QPushButton, "tsmaskSetupButton")
    report["setup_button"] = button is not None
    save()
    if button is None and not plugin.missing_text:  # set up already (a re-used profile)
        plugin.show_dialog()
        later(200, run)
        return
    if button is None:
        raise RuntimeError("no Set up tsmask button in the message bar")
    state["t0"] = time.monotonic()
    button.click()  # the user clicks Set up tsmask
    report["stage"] = "setup"
    plugin.show_dialog()  # the dialog shows the set-up's progress too
    later(500, wait_setup)


def wait_setup():
    plugin = plugins["tsmask_qgis"]
    if plugin.setup_task is not None and time.monotonic() - state["t0"] < 900:
        report["setup_progress_visible"] = plugin.dialog.progress_bar.isVisible()
        report["setup_button_enabled"] = plugin.dialog.setup_button.isEnabled()
        if not state["shot_dialog"] and plugin.dialog.progress_bar.value() >= 40:
            plugin.dialog.grab().save(str(SHOTS / "setup_dialog.png"))
            state["shot_dialog"] = True
        later(500, wait_setup)
        return
    report["setup_seconds"] = round(time.monotonic() - state["t0"], 1)
    report["missing_after_setup"] = plugin.missing_text or ""
    from tsmask_qgis.jobs import interpreter

    report["worker_python"] = interpreter.python_executable()
    from tsmask_qgis.plugin import engine_env

    report["venv"] = str(engine_env.venv_dir())
    save()
    later(1500, after_setup)


def after_setup():
    report["bar_after_setup"] = bar_texts()[1]
    save()
    later(200, run)


def fill_and_run(out):
    import tsmask_qgis
    from tsmask_qgis.plugin.convert import LOCAL

    dlg = plugins["tsmask_qgis"].dialog
    dlg.set_source(LOCAL)
    sample = Path(tsmask_qgis.__file__).parent / "data" / "wright_act.nc"
    dlg.local_widget.setFilePath(str(sample))
    dlg.out_widget.setFilePath(str(out))
    dlg.truecolour_check.setChecked(True)
    dlg.workers_spin.setValue(2)
    dlg.overwrite_check.setChecked(True)
    report["problems"] = dlg.validate()
    report["run_enabled"] = dlg.run_button.isEnabled()
    dlg.run_button.click()
    dlg.run_button.click()  # a double click starts one run
    return plugins["tsmask_qgis"].run_task


def run():
    plugin = plugins["tsmask_qgis"]
    report["dialog_height"] = plugin.dialog.height()
    report["dialog_size_hint"] = [
        plugin.dialog.sizeHint().width(),
        plugin.dialog.sizeHint().height(),
    ]
    state["task"] = fill_and_run(OUT / "first")
    state["t0"] = time.monotonic()
    state["shot_dialog"] = False
    state["formats"] = []
    report["stage"] = "run"
    save()
    later(100, wait_run)


def wait_run():
    plugin = plugins["tsmask_qgis"]
    task = state["task"]
    dlg = plugin.dialog
    fmt = dlg.progress_bar.format()
    if dlg.progress_bar.isVisible() and fmt not in state["formats"]:
        state["formats"].append(fmt)
    if plugin.run_task is not None and time.monotonic() - state["t0"] < 300:
        if not state["shot_dialog"] and task.step == "detect":
            report["run_enabled_while_running"] = dlg.run_button.isEnabled()
            report["tasks_while_running"] = QgsApplication.taskManager().countActiveTasks()
            dlg.grab().save(str(SHOTS / "dialog_running.png"))
            state["shot_dialog"] = True
        later(100, wait_run)
        return
    later(1000, after_run)


def after_run():
    from tsmask_qgis.jobs import client

    task = state["task"]
    plugin = plugins["tsmask_qgis"]
    report["run_seconds"] = round(time.monotonic() - state["t0"], 1)
    report["steps"] = list(task.steps)
    report["progress_formats"] = state["formats"]
    report["run_error"] = "" if task.error is None else str(task.error)
    root = QgsProject.instance().layerTreeRoot()
    report["groups"] = [g.name() for g in root.findGroups(True)]
    report["layers"] = sorted(lyr.name() for lyr in QgsProject.instance().mapLayers().values())
    report["bar_after_run"] = bar_texts()[1]
    report["children"] = client.pids()
    report["child_exe"] = [os.path.realpath(f"/proc/{p}/exe") for p in client.pids()]
    report["child_cmdline"] = [
        Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0].decode() for p in client.pids()
    ]
    plugin.dialog.hide()
    iface.mapCanvas().refreshAllLayers()
    report["stage"] = "ran"
    save()
    later(3000, shoot_main)


def shoot_main():
    iface.mainWindow().grab().save(str(SHOTS / "qgis_after_run.png"))
    report["stage"] = "quitting"
    save()
    quit_qgis()


def at_quit():
    """Connected after the plugin's own aboutToQuit slots, so it runs after them."""
    try:
        _at_quit()
    except Exception:
        report["error"] = f"at_quit: {traceback.format_exc()}"
        save()


def _at_quit():
    from tsmask_qgis.jobs import client

    report["children_at_quit"] = client.pids()
    report["tasks_at_quit"] = [
        [type(t).__name__, t.description(), int(QgsTask.status(t))]
        for t in QgsApplication.taskManager().tasks()
    ]
    report["stage"] = "quit"
    banned = client.BANNED_MODULES
    report["banned"] = sorted(
        m for m in sys.modules if m.split(".")[0] in banned or m == "dask.distributed"
    )
    save()


def quit_qgis():
    modal = QApplication.activeModalWidget()
    if modal is not None:  # a first-run question of a fresh profile, if any
        report["modal"] = f"{type(modal).__name__}: {modal.windowTitle()}"
        save()
        modal.close()
        QTimer.singleShot(200, quit_qgis)
        return
    # Close the project while the main window exists, as File > Exit does before it
    # quits: QgsApplication.exit() alone leaves the layers to ~QgisApp, and QGIS 3.40 then
    # crashes (signal 11) in QgisApp::updateNewLayerInsertionPoint on the layer tree
    # view it has already deleted.
    QgsProject.instance().setDirty(False)
    QgsProject.instance().clear()
    QgsApplication.exit(0)


later(500, start)
