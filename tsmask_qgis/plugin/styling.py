"""Renderers for tsmask rasters, built from :mod:`tsmask_qgis.classes`.

A GeoTIFF colour table always has 256 entries, so the paletted classes are
set explicitly here (value, colour, label): the legend shows the four classes.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsColorRampShader,
    QgsPalettedRasterRenderer,
    QgsRasterLayer,
    QgsRasterShader,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtGui import QColor

from tsmask_qgis.classes import CLASSES
from tsmask_qgis.plugin import compat

__all__ = [
    "apply_count_style",
    "apply_mask_style",
    "count_renderer",
    "mask_classes",
    "mask_renderer",
    "save_sidecar",
]

#: Colours of the clear-observation-count ramp (few -> many clear observations).
_COUNT_RAMP = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")


def mask_classes() -> list[QgsPalettedRasterRenderer.Class]:
    """The four classes as paletted-renderer classes (0 is fully transparent)."""
    return [QgsPalettedRasterRenderer.Class(c.value, QColor(*c.rgba), c.label) for c in CLASSES]


def mask_renderer(layer: QgsRasterLayer, band: int = 1) -> QgsPalettedRasterRenderer:
    """A paletted renderer for a tsmask class raster band."""
    return QgsPalettedRasterRenderer(layer.dataProvider(), band, mask_classes())


def apply_mask_style(layer: QgsRasterLayer, band: int = 1) -> None:
    """Style ``layer`` as a tsmask class raster (paletted, four classes)."""
    layer.setRenderer(mask_renderer(layer, band))
    layer.triggerRepaint()


def count_renderer(
    layer: QgsRasterLayer, maximum: float, band: int = 1
) -> QgsSingleBandPseudoColorRenderer:
    """A colour ramp from 0 to ``maximum`` clear observations per pixel."""
    maximum = max(float(maximum), 1.0)
    shader_fn = QgsColorRampShader(0.0, maximum)
    shader_fn.setColorRampType(compat.SHADER_LINEAR)
    n = len(_COUNT_RAMP)
    items = []
    for i, colour in enumerate(_COUNT_RAMP):
        value = maximum * i / (n - 1)
        items.append(QgsColorRampShader.ColorRampItem(value, QColor(colour), f"{value:.0f}"))
    shader_fn.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(shader_fn)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), band, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(maximum)
    return renderer


def apply_count_style(layer: QgsRasterLayer, maximum: float | None = None, band: int = 1) -> None:
    """Style a clear-observation-count raster with a ramp up to ``maximum`` (or its max)."""
    if maximum is None:
        stats = layer.dataProvider().bandStatistics(band, compat.STAT_MAX)
        maximum = stats.maximumValue
    layer.setRenderer(count_renderer(layer, maximum, band))
    layer.triggerRepaint()


def save_sidecar(layer: QgsRasterLayer, *, overwrite: bool = False) -> Path | None:
    """Save the layer's style as the ``.qml`` beside its file, which QGIS loads with it.

    Returns the path written, or ``None`` when a sidecar exists and ``overwrite``
    is false or the layer is not a file.
    """
    source = Path(layer.source().split("|")[0])
    if not source.is_file():
        return None
    qml = source.with_suffix(".qml")
    if qml.exists() and not overwrite:
        return None
    message, ok = layer.saveNamedStyle(str(qml))
    if not ok:
        raise OSError(f"could not write the style file {qml}: {message}")
    return qml
