"""Run inside the real QGIS desktop (``qgis --code``) by test_desktop_quit.py.

Loads the packaged plugin, starts the bundled sample through the plugin, and once
the run reports its first step (or ``$TSMASK_QUIT_STEP``; its child is at work) quits QGIS from the
script (``QgsApplication.quit()``), with the task still running. QGIS 3.22
unloads the plugins before ``aboutToQuit`` reaches them. Writes a JSON report to
``$TSMASK_DESKTOP_REPORT``: the job children when the run was going and what was
left when QGIS's ``aboutToQuit`` had run (the test checks the exit code, the
output folder and that the children are gone).
"""

import datetime as dt
import json
import os
import sys
import traceback
from pathlib import Path

from qgis.core import QgsApplication, QgsProject, QgsTask
from qgis.PyQt.QtCore import QTimer
from qgis.utils import loadPlugin, plugins, startPlugin

REPORT = Path(os.environ["TSMASK_DESKTOP_REPORT"])
OUT = Path(os.environ["TSMASK_DESKTOP_OUT"])
report = {"events": []}
#: The step to quit in ("" for the first one reported).
QUIT_STEP = os.environ.get("TSMASK_QUIT_STEP", "")
state = {"task": None, "quitting": False}


def save():
    REPORT.write_text(json.dumps(report, indent=1))


def at_quit():
    """Connected after the plugin's own aboutToQuit slot, so it runs after it."""
    from tsmask_qgis.jobs import client

    task = state["task"]
    report["children_at_quit"] = client.pids()
    report["events"].append("aboutToQuit")
    try:
        report["task_status_at_quit"] = int(QgsTask.status(task))
    except RuntimeError:  # the plugin has had the ended task deleted
        report["task_status_at_quit"] = "deleted"
    save()


def on_status(label, message):
    """The run reports a step: quit QGIS now, with the task running (its child at work)."""
    if state["quitting"] or (QUIT_STEP and state["task"].step != QUIT_STEP):
        return
    state["quitting"] = True
    QTimer.singleShot(0, quit_qgis)


def quit_qgis():
    from tsmask_qgis.jobs import client

    try:
        task = state["task"]
        report["step_at_quit"] = task.step
        report["status_before_quit"] = int(QgsTask.status(task))  # TsmaskTask.status is a signal
        report["children"] = client.pids()
        report["busy"] = client.busy()
        report["events"].append("exit")
        save()
        QgsProject.instance().setDirty(False)  # no "save the project?" question
        # a script's quit: File > Exit would first ask whether to cancel the running
        # task (and not quit); QgsApplication.quit() goes straight to aboutToQuit
        QgsApplication.quit()
    except Exception:
        report["error"] = traceback.format_exc()
        save()
        QgsApplication.exit(3)


def hook(*exc):
    """Record an exception raised in QGIS (its own hook would open a modal dialog)."""
    report.setdefault("exceptions", []).append("".join(traceback.format_exception(*exc)))
    save()


def start():
    sys.excepthook = hook
    try:
        report["loaded"] = bool(loadPlugin("tsmask_qgis") and startPlugin("tsmask_qgis"))
        QgsApplication.instance().aboutToQuit.connect(at_quit)
        import tsmask_qgis
        from tsmask_qgis.plugin.convert import LOCAL, RunSettings

        sample = Path(tsmask_qgis.__file__).parent / "data" / "wright_act.nc"
        settings = RunSettings(
            bbox=None,
            start=dt.date(2015, 11, 1),
            end=dt.date(2016, 9, 1),
            out_dir=OUT,
            source=LOCAL,
            input_path=sample,
            truecolour=True,
            workers=1,
            overwrite=True,
        )
        state["task"] = plugins["tsmask_qgis"].start(settings)
        report["started"] = state["task"] is not None
        state["task"].status.connect(on_status)
    except Exception:
        report["error"] = traceback.format_exc()
        save()
        QgsApplication.exit(3)


QTimer.singleShot(500, start)
