"""Run in its own interpreter by test_isolation.py: a QGIS session that uses every plugin feature.

``python isolated_session.py STACK MASK OUT`` starts a ``QgsApplication``, loads
the plugin as QGIS does, runs a dialog Run (true colour) and an Estimate
through the task manager and every Processing algorithm, then prints one JSON
line: the banned modules found in ``sys.modules``, the layers added, the
algorithms' results and the job children seen. Nothing here imports a data
library itself.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path


def main(stack: str, mask: str, out: str) -> int:
    from qgis.core import QgsApplication, QgsProject, QgsTask
    from qgis.PyQt.QtWidgets import QMainWindow

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    import processing

    import tsmask_qgis
    from tsmask_qgis.jobs import client
    from tsmask_qgis.jobs.client import BANNED_MODULES
    from tsmask_qgis.plugin.convert import LOCAL, RunSettings

    class Iface:  # the few iface calls the plugin makes
        def __init__(self) -> None:
            self.window = QMainWindow()
            self.messages: list[str] = []

        def mainWindow(self):
            return self.window

        def mapCanvas(self):
            return None

        def addRasterToolBarIcon(self, action):
            pass

        def addPluginToRasterMenu(self, menu, action):
            pass

        def removePluginRasterMenu(self, menu, action):
            pass

        def removeRasterToolBarIcon(self, action):
            pass

        def messageBar(self):
            return self

        def pushMessage(self, *args):
            self.messages.append(" ".join(map(str, args)))

        pushSuccess = pushInfo = pushMessage

    iface = Iface()
    plugin = tsmask_qgis.classFactory(iface)
    plugin.initGui()
    report: dict = {}

    def wait(task, timeout=180.0):
        done = []
        task.taskCompleted.connect(lambda: done.append(QgsTask.TaskStatus.Complete))
        task.taskTerminated.connect(lambda: done.append(QgsTask.TaskStatus.Terminated))
        end = time.monotonic() + timeout
        while not done and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)
        for _ in range(10):
            app.processEvents()
        return done[0] if done else None

    settings = RunSettings(
        bbox=None,
        start=dt.date(2017, 1, 1),
        end=dt.date(2017, 3, 1),
        out_dir=Path(out) / "run",
        source=LOCAL,
        input_path=Path(stack),
        truecolour=True,
        workers=1,
    )
    plugin.show_dialog()
    estimate = plugin.estimate(settings)
    report["estimate"] = wait(estimate) == QgsTask.TaskStatus.Complete
    used = set(client.pids())
    report["estimate_text"] = plugin.dialog.estimate_label.text()
    task = plugin.start(settings)
    report["run"] = wait(task) == QgsTask.TaskStatus.Complete
    used.update(client.pids())
    report["steps"] = task.steps
    from tsmask_qgis.plugin.layers import result_groups

    groups = result_groups(QgsProject.instance(), settings.out_dir)
    report["layers"] = [lyr.name() for g in groups for lyr in g.findLayers()]

    o = Path(out)
    runs = {
        "detect_local": {"INPUT": stack, "OUTPUT": str(o / "d.tif"), "WORKERS": 1},
        "seed_filter": {"INPUT": mask, "OUTPUT": str(o / "f.tif")},
        "buffer": {"INPUT": mask, "OUTPUT": str(o / "b.tif")},
        "majority_filter": {"INPUT": mask, "OUTPUT": str(o / "m.tif"), "PASSES": 2},
        "summary": {"INPUT": mask, "OUTPUT": "memory:"},
        "compare_masks": {"MASK": mask, "REFERENCE": mask, "OUTPUT_HTML": str(o / "c.html")},
    }
    report["processing"] = {}
    for name, params in runs.items():
        result = processing.run(f"tsmask:{name}", params)
        value = result.get("OVERALL_ACCURACY", result.get("OUTPUT"))
        if name == "summary":
            value = value.featureCount()
        report["processing"][name] = value
        used.update(client.pids())
    report["children_used"] = sorted(used)
    plugin.unload()
    report["children_after_unload"] = client.pids()
    report["banned"] = sorted(
        m for m in sys.modules if m.split(".")[0] in BANNED_MODULES or m == "dask.distributed"
    )
    print("REPORT " + json.dumps(report, default=str), flush=True)
    QgsProject.instance().clear()
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
