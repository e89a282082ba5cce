"""The ``tsmask`` Processing provider."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingModelAlgorithm, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

__all__ = ["TOOLBOX_MODELS", "TsmaskProvider", "toolbox_models"]


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
        for model in toolbox_models():
            self.addAlgorithm(model)


#: The shipped models listed in the toolbox (the others are examples to open in the modeler).
TOOLBOX_MODELS = ("detect_composite.model3",)


def toolbox_models() -> list[QgsProcessingModelAlgorithm]:
    """The shipped models of :data:`TOOLBOX_MODELS`, read from the plugin's models folder."""
    folder = Path(__file__).resolve().parents[1] / "models"
    found = []
    for name in TOOLBOX_MODELS:
        model = QgsProcessingModelAlgorithm()
        if model.fromFile(str(folder / name)):
            found.append(model)
    return found
