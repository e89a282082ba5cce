"""The ``tsmask`` Processing provider."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

__all__ = ["TsmaskProvider"]


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
