"""Build the shipped Graphical Modeler model detect -> composite with QGIS's own API.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_models.py

writes ``tsmask_qgis/plugin/models/detect_composite.model3`` (the provider lists every
model of that folder in the toolbox). Rerun after changing the algorithms' parameters.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "tsmask_qgis" / "plugin" / "models" / "detect_composite.model3"


def main() -> int:
    from qgis.core import (
        QgsApplication,
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterEnum,
        QgsProcessingParameterFile,
        QgsProcessingParameterString,
    )
    from qgis.PyQt.QtCore import QPointF

    app = QgsApplication([], False)
    app.initQgis()
    from tsmask_qgis.plugin.processing.provider import TsmaskProvider

    QgsApplication.processingRegistry().addProvider(TsmaskProvider())
    model = QgsProcessingModelAlgorithm("Detect then composite", "tsmask models")
    model.setHelpContent(
        {
            "ALG_DESC": "Detect cloud and shadow in a local stack, then make "
            "cloud-free composites per period from its clear pixels."
        }
    )
    inputs = [
        (QgsProcessingParameterFile("INPUT", "Local stack (file or folder)"), 0),
        (QgsProcessingParameterString("PERIOD", "Period", defaultValue="year"), 1),
        (
            QgsProcessingParameterEnum(
                "METHOD",
                "Method",
                options=["median", "geomedian", "mean", "medoid"],
                defaultValue=0,
            ),
            2,
        ),
    ]
    for param, i in inputs:
        mp = QgsProcessingModelParameter(param.name())
        mp.setPosition(QPointF(120, 60 + 80 * i))
        model.addModelParameter(param, mp)
    detect = QgsProcessingModelChildAlgorithm("tsmask:detect_local")
    detect.setChildId("detect")
    detect.setDescription("Detect cloud and shadow (local stack)")
    detect.setPosition(QPointF(400, 100))
    detect.addParameterSources(
        "INPUT", [QgsProcessingModelChildParameterSource.fromModelParameter("INPUT")]
    )
    # The preset and the other options stay at Detect's defaults.
    detect.addParameterSources(
        "SPATIAL", [QgsProcessingModelChildParameterSource.fromStaticValue(True)]
    )
    model.addChildAlgorithm(detect)
    comp = QgsProcessingModelChildAlgorithm("tsmask:composite")
    comp.setChildId("composite")
    comp.setDescription("Cloud-free composite")
    comp.setPosition(QPointF(700, 200))
    comp.addParameterSources(
        "INPUT", [QgsProcessingModelChildParameterSource.fromModelParameter("INPUT")]
    )
    comp.addParameterSources(
        "MASK", [QgsProcessingModelChildParameterSource.fromChildOutput("detect", "OUTPUT")]
    )
    comp.addParameterSources(
        "PERIOD", [QgsProcessingModelChildParameterSource.fromModelParameter("PERIOD")]
    )
    comp.addParameterSources(
        "METHOD", [QgsProcessingModelChildParameterSource.fromModelParameter("METHOD")]
    )
    out = QgsProcessingModelOutput("Composites", "Composites")
    out.setChildId("composite")
    out.setChildOutputName("OUTPUT")
    out.setPosition(QPointF(900, 260))
    comp.setModelOutputs({"Composites": out})
    model.addChildAlgorithm(comp)
    model.updateDestinationParameters()
    if not model.toFile(str(OUT)):
        print(f"could not write {OUT}", file=sys.stderr)
        return 1
    print(OUT)
    app.exitQgis()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
