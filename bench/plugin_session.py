"""Run inside the real QGIS desktop (``qgis --code``) by ``bench/plugin_run.py``.

Loads the plugin the way QGIS does, then runs the bundled sample through the
plugin twice, as a user pressing Run twice would (``plugin.start(settings)``,
which is what the dialog's Run calls), each into its own output folder. Each
time is the wall time from Run to the result's layers being in the project.
Writes a JSON report to ``$TSMASK_BENCH_REPORT`` and quits QGIS.

Works with any version of the plugin that has ``plugin.start(RunSettings)``
(so the same script measures the code before and after a change).
"""

import dataclasses
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

REPORT = Path(os.environ["TSMASK_BENCH_REPORT"])
OUT = Path(os.environ["TSMASK_BENCH_OUT"])
RUNS = int(os.environ.get("TSMASK_BENCH_RUNS", "2"))
RUNNER = os.environ.get("TSMASK_BENCH_RUNNER", "")
report = {"executable": sys.executable, "runs": []}
state = {"run": 0, "t0": 0.0, "task": None, "settings": None, "polls": 0}


def write():
    REPORT.write_text(json.dumps(report, indent=1))


def settings_for(i):
    import tsmask_qgis
    from tsmask_qgis.plugin.convert import LOCAL, RunSettings

    sample = Path(tsmask_qgis.__file__).parent / "data" / "wright_act.nc"
    options = dict(
        bbox=None,
        start=dt.date(2015, 11, 1),
        end=dt.date(2016, 9, 1),
        out_dir=OUT / f"run{i}",
        source=LOCAL,
        input_path=sample,
        truecolour=True,
        workers=2,
        overwrite=True,
    )
    names = {f.name for f in dataclasses.fields(RunSettings)}
    if RUNNER and "runner" in names:
        options["runner"] = RUNNER
    return RunSettings(**options)


def groups_named(settings):
    """The run's groups: named ``tsmask wright_act ...`` by every checkout (by the dialog's
    dates in older ones, by the data's in newer ones)."""
    prefix = f"tsmask {Path(settings.input_path).stem} "
    root = QgsProject.instance().layerTreeRoot()
    return [g for g in root.children() if g.name().startswith(prefix) and g.findLayers()]


def start_run():
    state["run"] += 1
    settings = settings_for(state["run"])
    state["settings"] = settings
    state["polls"] = 0
    state["t0"] = time.perf_counter()
    state["task"] = plugins["tsmask_qgis"].start(settings)
    QTimer.singleShot(5, poll)


def poll():
    settings, task = state["settings"], state["task"]
    state["polls"] += 1
    done = len(groups_named(settings)) >= state["run"]
    failed = task is None or task.error is not None
    if not done and not failed and state["polls"] < 60_000:
        QTimer.singleShot(5, poll)
        return
    seconds = time.perf_counter() - state["t0"]
    group = groups_named(settings)
    report["runs"].append(
        {
            "seconds": seconds,
            "layers": len(group[-1].findLayers()) if group else 0,
            "steps": [] if task is None else list(task.steps),
            "error": "" if task is None or task.error is None else str(task.error),
        }
    )
    write()
    if failed or state["run"] >= RUNS:
        QTimer.singleShot(500, finish)
    else:
        QTimer.singleShot(1000, start_run)  # a user's pause between two Runs


def finish():
    try:
        from tsmask_qgis.jobs import client

        report["children"] = client.pids()
    except ImportError:
        report["children"] = None
    report["finished"] = time.time()
    write()
    QgsProject.instance().setDirty(False)
    QTimer.singleShot(200, quit_qgis)


def quit_qgis():
    from qgis.PyQt.QtWidgets import QApplication

    modal = QApplication.activeModalWidget()
    if modal is not None:
        modal.close()
        QTimer.singleShot(200, quit_qgis)
        return
    QgsApplication.exit(0)


def start():
    try:
        report["loaded"] = bool(loadPlugin("tsmask_qgis") and startPlugin("tsmask_qgis"))
        import tsmask_qgis

        report["plugin_file"] = tsmask_qgis.__file__
        write()
        start_run()
    except Exception:
        report["error"] = traceback.format_exc()
        write()
        QTimer.singleShot(200, quit_qgis)


QTimer.singleShot(1000, start)
