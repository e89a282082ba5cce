"""Run inside the real QGIS desktop (``qgis --code``) by test_desktop.py.

Loads the packaged plugin the way QGIS does, runs the bundled sample through the
plugin's task with true colour, waits, and writes a JSON report to
``$TSMASK_DESKTOP_REPORT``: layers and groups added, the mask browser and the
Temporal Controller's state (and that stepping one moves the other), the banned
modules found in the QGIS process and the job children still warm. With
``$TSMASK_DESKTOP_SHOTS`` set, saves screenshots of the main window and the
browser dock there. Then quits QGIS (the test checks its exit code and that the
children ended with it).
"""

import datetime as dt
import json
import os
import sys
import time
import traceback
from pathlib import Path

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.utils import loadPlugin, plugins, startPlugin

REPORT = Path(os.environ["TSMASK_DESKTOP_REPORT"])
report = {"executable": sys.executable}
state = {"polls": 0, "task": None}


def finish():
    from tsmask_qgis.jobs import client
    from tsmask_qgis.jobs.client import BANNED_MODULES

    task = state["task"]
    report["steps"] = [] if task is None else list(task.steps)
    report["error"] = report.get("error") or (
        "" if task is None or task.error is None else str(task.error)
    )
    root = QgsProject.instance().layerTreeRoot()
    report["groups"] = [g.name() for g in root.findGroups(True)]
    try:
        browse()
    except Exception:
        report["error"] = traceback.format_exc()
    report["layers"] = sorted(lyr.name() for lyr in QgsProject.instance().mapLayers().values())
    report["banned"] = sorted(
        m for m in sys.modules if m.split(".")[0] in BANNED_MODULES or m == "dask.distributed"
    )
    report["children"] = client.pids()  # alive and warm when QGIS quits
    REPORT.write_text(json.dumps(report, indent=1))
    QgsProject.instance().setDirty(False)  # no "save the project?" question on exit
    QTimer.singleShot(200, quit_qgis)


def browse():
    """What the analyst sees: the browser, the controller, the visible layers; screenshots."""
    from qgis.utils import iface

    from tsmask_qgis.plugin.layers import result_groups

    plugin = plugins["tsmask_qgis"]
    groups = result_groups(QgsProject.instance(), Path(os.environ["TSMASK_DESKTOP_OUT"]))
    report["result_groups"] = [g.name() for g in groups]
    report["visible"] = sorted(n.name() for g in groups for n in g.findLayers() if n.isVisible())
    dock = plugin.browser
    nav = iface.mapCanvas().temporalController()
    report["browser"] = (
        None
        if dock is None
        else {
            "visible": dock.isVisible(),
            "rows": dock.model.rowCount(),
            "current": dock.current,
            "has_controller": dock.controller is nav,
        }
    )
    from qgis.PyQt.QtWidgets import QDockWidget

    report["temporal_dock_visible"] = [
        w.isVisible()
        for w in iface.mainWindow().findChildren(QDockWidget)
        if w.metaObject().className() == "QgsTemporalControllerDockWidget"
    ]
    report["controller"] = {
        "mode": int(nav.navigationMode()),
        "frames": nav.totalFrameCount(),
        "frame": nav.currentFrameNumber(),
        "begin": nav.temporalExtents().begin().toString("yyyy-MM-dd"),
        "end": nav.temporalExtents().end().toString("yyyy-MM-dd"),
    }
    if dock is not None and dock.model.rowCount() > 3:
        labels = dock.visible_labels()
        nav.next()
        report["after_next"] = dock.current
        dock.select_date(labels[3])
        report["frame_after_select"] = nav.currentFrameNumber()
        shots = os.environ.get("TSMASK_DESKTOP_SHOTS")
        if shots:
            screenshots(Path(shots), dock, iface)


def screenshots(folder, dock, iface):
    """The main window with a cloudy date's mask, and the dock (wait for the map first)."""
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtWidgets import QApplication, QDockWidget

    folder.mkdir(parents=True, exist_ok=True)
    window = iface.mainWindow()
    window.setGeometry(QApplication.primaryScreen().availableGeometry())  # no window manager
    for _ in range(10):
        QApplication.processEvents()
    iface.messageBar().clearWidgets()  # QGIS's own "task complete" notice
    layers_panel = None
    for w in window.findChildren(QDockWidget):
        if w.objectName() == "Browser":
            w.hide()  # the Layers panel gets the height
        if w.objectName() == "Layers":
            layers_panel = w
    if layers_panel is not None:
        window.resizeDocks([layers_panel], [390], Qt.Orientation.Horizontal)
    window.resizeDocks([dock], [500], Qt.Orientation.Horizontal)
    labels = dock.visible_labels()
    pick = os.environ.get("TSMASK_DESKTOP_SHOT_DATE")
    dock.select_date(pick if pick in labels else labels[0])
    for w in window.findChildren(QDockWidget):
        if w.metaObject().className() == "QgsTemporalControllerDockWidget":
            window.resizeDocks([w], [125], Qt.Orientation.Vertical)
    canvas = iface.mapCanvas()
    group = QgsProject.instance().layerTreeRoot().findGroups()[0]
    for _ in range(20):  # let the docks settle before fitting the map
        QApplication.processEvents()
        time.sleep(0.02)
    extent = group.findLayers()[0].layer().extent()
    extent.scale(1.04)
    canvas.setExtent(extent)
    canvas.refresh()
    for _ in range(60):  # let the map render
        QApplication.processEvents()
        time.sleep(0.05)
    canvas.waitWhileRendering()
    QApplication.processEvents()
    window.grab().save(str(folder / "qgis_window.png"))
    dock.filter_check.setChecked(True)  # the dock with its filter on: hollow points, threshold
    for _ in range(5):
        QApplication.processEvents()
    dock.grab().save(str(folder / "browser.png"))
    report["shots"] = sorted(p.name for p in folder.iterdir())


def at_quit():
    """Connected after the plugin's own aboutToQuit slot, so it runs after it."""
    from tsmask_qgis.jobs import client

    report["children_at_quit"] = client.pids()
    REPORT.write_text(json.dumps(report, indent=1))


def quit_qgis():
    from qgis.PyQt.QtWidgets import QApplication

    modal = QApplication.activeModalWidget()
    if modal is not None:  # a first-run question of a fresh profile, if any
        report["modal"] = f"{type(modal).__name__}: {modal.windowTitle()}"
        REPORT.write_text(json.dumps(report, indent=1))
        modal.close()
        QTimer.singleShot(200, quit_qgis)
        return
    # Close the project while the main window exists, as File > Exit does before it
    # quits: QgsApplication.exit() alone leaves the layers to ~QgisApp, and QGIS 3.40 then
    # crashes (signal 11) in QgisApp::updateNewLayerInsertionPoint on the layer tree
    # view it has already deleted.
    QgsProject.instance().clear()
    QgsApplication.exit(0)


def poll():
    state["polls"] += 1
    if QgsApplication.taskManager().countActiveTasks() and state["polls"] < 600:
        QTimer.singleShot(250, poll)
        return
    QTimer.singleShot(500, finish)  # let finished() add the layers


def start():
    try:
        report["loaded"] = bool(loadPlugin("tsmask_qgis") and startPlugin("tsmask_qgis"))
        QgsApplication.instance().aboutToQuit.connect(at_quit)
        import tsmask_qgis
        from tsmask_qgis.plugin.convert import LOCAL, RunSettings

        report["plugin_file"] = tsmask_qgis.__file__
        sample = Path(tsmask_qgis.__file__).parent / "data" / "wright_act.nc"
        settings = RunSettings(
            bbox=None,
            start=dt.date(2015, 11, 1),
            end=dt.date(2016, 9, 1),
            out_dir=Path(os.environ["TSMASK_DESKTOP_OUT"]),
            source=LOCAL,
            input_path=sample,
            truecolour=True,
            workers=2,
            overwrite=True,
        )
        report["group"] = settings.area_name()
        state["task"] = plugins["tsmask_qgis"].start(settings)
        QTimer.singleShot(500, poll)
    except Exception:
        report["error"] = traceback.format_exc()
        finish()


QTimer.singleShot(500, start)
