"""Run inside the real QGIS desktop (``qgis --code``) by test_desktop.py.

Loads the packaged plugin the way QGIS does, runs the bundled sample through the
plugin's task with true colour, waits, and writes a JSON report to
``$TSMASK_DESKTOP_REPORT``: layers and groups added, the banned modules found
in the QGIS process and the job children still warm. Then quits QGIS (the test
checks its exit code and that the children ended with it).
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
#: How long the run may take (the machine may be loaded); the test waits longer.
WAIT = float(os.environ.get("TSMASK_DESKTOP_WAIT", "240"))
state = {"deadline": time.monotonic() + WAIT, "task": None}


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
    report["layers"] = sorted(lyr.name() for lyr in QgsProject.instance().mapLayers().values())
    report["banned"] = sorted(
        m for m in sys.modules if m.split(".")[0] in BANNED_MODULES or m == "dask.distributed"
    )
    report["children"] = client.pids()  # alive and warm when QGIS quits
    REPORT.write_text(json.dumps(report, indent=1))
    QgsProject.instance().setDirty(False)  # no "save the project?" question on exit
    QTimer.singleShot(200, quit_qgis)


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
    """Wait for the run; past the deadline cancel it, and quit only once no task runs.

    Quitting QGIS with a task still running crashes QGIS 3.40 (signal 11), so a run
    that is too slow (a loaded machine) is cancelled and reported, never left running.
    """
    active = QgsApplication.taskManager().countActiveTasks()
    if active and time.monotonic() > state["deadline"] and state["task"] is not None:
        if not report.get("error"):
            report["error"] = f"the run did not finish within {WAIT:.0f} s: cancelled"
        state["task"].cancel()
    if active:
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
