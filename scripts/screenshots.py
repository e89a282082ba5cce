"""Render the dialog and a map canvas with styled masks to docs/img/ (run with `make screenshots`,
which then takes the real QGIS window and the mask browser with tests/plugin/test_desktop.py).

Runs under Xvfb. Runs the plugin's own job (pipeline.run with the engine's
process pool) on the bundled real sample (Wright, ACT: Copernicus Sentinel data
via Digital Earth Australia, CC BY 4.0; see tsmask_qgis/data/README.md), loads
the result through the plugin's layer code and renders a cloudy date's mask
over its true-colour image.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"


def render(layers: list, extent: object, project: object, size: int = 480) -> object:
    """Render ``layers`` (top first) over ``extent`` to a ``size`` x ``size`` image."""
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(project.crs())  # type: ignore[attr-defined]
    settings.setExtent(extent)  # type: ignore[arg-type]
    settings.setOutputSize(QSize(size, size))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage()


def main() -> None:
    from qgis.core import (
        QgsApplication,
        QgsCoordinateReferenceSystem,
        QgsProject,
        QgsRectangle,
    )
    from qgis.PyQt.QtGui import QColor, QImage, QPainter

    app = QgsApplication([], True)
    app.initQgis()
    try:
        import tsmask_qgis
        from tsmask_qgis.plugin.convert import LOCAL, RunSettings
        from tsmask_qgis.plugin.dialog import TsmaskDialog
        from tsmask_qgis.plugin.jobs import job_work
        from tsmask_qgis.plugin.layers import DATE_PROPERTY, ROLE_PROPERTY, add_result_layers

        OUT.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="tsmask-shots-"))
        stack = Path(tsmask_qgis.__file__).parent / "data" / "wright_act.nc"
        settings = RunSettings(
            bbox=None,
            start=dt.date(2015, 11, 2),
            end=dt.date(2016, 8, 18),
            out_dir=work / "out",
            source=LOCAL,
            input_path=stack,
            truecolour=True,
        )
        result = job_work(settings)(lambda report: None)
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
        dlg.fit_height()  # the whole dialog on the 1000 px Xvfb screen
        dlg.show()
        app.processEvents()
        dlg.grab().save(str(OUT / "dialog.png"))

        layers = {
            (lyr.customProperty(ROLE_PROPERTY), lyr.customProperty(DATE_PROPERTY)): lyr
            for lyr in project.mapLayers().values()
        }

        # 2015-12-12: broken cloud over the suburb, clear ground in the gaps (docs/accuracy.md
        # lists every date of the sample; on the hazy summer dates the seed preset's thin-cloud
        # rule flags much of the bright new suburb, which would make a misleading picture).
        day = dt.date(2015, 12, 12)
        mask = layers[("mask", day.isoformat())]
        rgb = layers[("truecolour", day.isoformat())]
        panels = [
            render([rgb], mask.extent(), project),
            render([mask, rgb], mask.extent(), project),
        ]
        side = panels[0].width()
        image = QImage(2 * side + 16, side, QImage.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.drawImage(0, 0, panels[0])
        painter.drawImage(side + 16, 0, panels[1])
        painter.end()
        image.save(str(OUT / "canvas.png"))
        dlg.close()
        del dlg  # widgets must go before exitQgis, or the process crashes at exit
        project.clear()
        print(f"wrote {OUT / 'dialog.png'} and {OUT / 'canvas.png'} (mask of {day})")
    finally:
        app.exitQgis()


if __name__ == "__main__":  # worker processes must not run this again
    sys.exit(main())
