"""The ``tsmask`` Processing provider."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsMessageLog, QgsProcessingModelAlgorithm, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

__all__ = ["MODELS", "TsmaskProvider"]

#: The models shipped with the plugin (shown in the toolbox under the provider).
MODELS = Path(__file__).resolve().parents[1] / "models"


class TsmaskProvider(QgsProcessingProvider):
    """Provider ``tsmask``: detection from STAC or local stacks, mask tools, summary, comparison."""

    def id(self) -> str:
        return "tsmask"

    def name(self) -> str:
        return "tsmask"

    def longName(self) -> str:
        return "tsmask — cloud and cloud-shadow masks for Sentinel-2 time series"

    def icon(self) -> QIcon:
        from tsmask_qgis.plugin.plugin import ICON

        return QIcon(ICON)

    def supportedOutputRasterLayerExtensions(self) -> list[str]:
        return ["tif"]

    def loadAlgorithms(self) -> None:
        from tsmask_qgis.plugin.processing.algorithms import ALGORITHMS

        for cls in ALGORITHMS:
            self.addAlgorithm(cls())
        for path in sorted(MODELS.glob("*.model3")):
            model = QgsProcessingModelAlgorithm()
            if model.fromFile(str(path)):
                self.addAlgorithm(model)
            else:
                QgsMessageLog.logMessage(f"cannot read the model {path}", "tsmask")
