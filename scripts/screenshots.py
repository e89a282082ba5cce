"""Render the dialog and a map canvas with styled masks to docs/img/ (run with `make screenshots`).

Runs under Xvfb. Detects on a generated synthetic scene (evaluate.make_scene)
in a worker process, loads the masks through the plugin's own layer code and
renders one date over the clear-observation count.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"


def main() -> None:
    from qgis.core import (
        QgsApplication,
        QgsCoordinateReferenceSystem,
        QgsMapRendererParallelJob,
        QgsMapSettings,
        QgsProject,
        QgsRectangle,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    app = QgsApplication([], True)
    app.initQgis()
    try:
        from tsmask_qgis.evaluate import make_scene
        from tsmask_qgis.plugin.convert import LOCAL, RunSettings
        from tsmask_qgis.plugin.dialog import TsmaskDialog
        from tsmask_qgis.plugin.jobs import job_work
        from tsmask_qgis.plugin.layers import add_result_layers

        OUT.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="tsmask-shots-"))
        scene = make_scene(shape=(24, 160, 160), seed=4)
        stack = work / "scene.nc"
        scene.ds.to_netcdf(stack)
        settings = RunSettings(
            bbox=None,
            start=dt.date(2017, 1, 1),
            end=dt.date(2017, 5, 1),
            out_dir=work / "out",
            source=LOCAL,
            input_path=stack,
        )
        result = job_work(settings)(lambda f, m: None)
        project = QgsProject.instance()
        project.setCrs(QgsCoordinateReferenceSystem("EPSG:32755"))
        add_result_layers(result, group_name=settings.area_name(), project=project)

        dlg = TsmaskDialog(None)
        dlg.set_extent(
            QgsRectangle(149.055, -35.344, 149.155, -35.244),
            QgsCoordinateReferenceSystem("EPSG:4326"),
        )
        from qgis.PyQt.QtCore import QDate

        dlg.start_edit.setDate(QDate(2017, 1, 1))
        dlg.end_edit.setDate(QDate(2018, 12, 31))
        dlg.out_widget.setFilePath(str(Path.home() / "tsmask-canberra"))
        dlg.validate()
        dlg.resize(760, dlg.sizeHint().height())
        dlg.show()
        app.processEvents()
        dlg.grab().save(str(OUT / "dialog.png"))

        layers = {lyr.name(): lyr for lyr in project.mapLayers().values()}
        day = sorted(d for d in result.masks)[5]
        shown = [layers[f"mask {day.isoformat()}"], layers["clear observations"]]
        settings_map = QgsMapSettings()
        settings_map.setLayers(shown)
        settings_map.setDestinationCrs(project.crs())
        settings_map.setExtent(shown[0].extent())
        settings_map.setOutputSize(QSize(640, 640))
        settings_map.setBackgroundColor(QColor("white"))
        job = QgsMapRendererParallelJob(settings_map)
        job.start()
        job.waitForFinished()
        job.renderedImage().save(str(OUT / "canvas.png"))
        dlg.close()
        del dlg  # widgets must go before exitQgis, or the process crashes at exit
        project.clear()
        print(f"wrote {OUT / 'dialog.png'} and {OUT / 'canvas.png'} (mask of {day})")
    finally:
        app.exitQgis()


if __name__ == "__main__":  # worker processes must not run this again
    sys.exit(main())
