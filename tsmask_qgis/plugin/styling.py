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

from tsmask_qgis.classes import CLASSES, style
from tsmask_qgis.plugin import compat

__all__ = [
    "STYLE_PROPERTY",
    "apply_count_style",
    "apply_mask_style",
    "count_renderer",
    "mask_classes",
    "mask_renderer",
    "save_sidecar",
]

#: Colours of the clear-observation-count ramp (few -> many clear observations).
_COUNT_RAMP = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")


#: The layer's custom property holding the name of the mask style it is drawn with.
STYLE_PROPERTY = "tsmask/style"


def mask_classes(style_name: str | None = None) -> list[QgsPalettedRasterRenderer.Class]:
    """The four classes as paletted-renderer classes in the mask style ``style_name``
    (:data:`tsmask_qgis.classes.STYLES`; ``None``: the default ``check`` style)."""
    look = style(style_name)
    return [
        QgsPalettedRasterRenderer.Class(c.value, QColor(*look.rgba(c.value)), c.label)
        for c in CLASSES
    ]


def mask_renderer(
    layer: QgsRasterLayer, band: int = 1, style_name: str | None = None
) -> QgsPalettedRasterRenderer:
    """A paletted renderer for a tsmask class raster band."""
    return QgsPalettedRasterRenderer(layer.dataProvider(), band, mask_classes(style_name))


def apply_mask_style(
    layer: QgsRasterLayer,
    band: int = 1,
    *,
    style_name: str | None = None,
    over_image: bool = False,
) -> None:
    """Style ``layer`` as a tsmask class raster (paletted, four classes) in ``style_name``.

    ``over_image``: the layer is drawn over a true-colour image, so it gets the
    style's opacity for that (60 % for ``filled``; ``check`` is see-through by
    its colours). The style's name is kept in the layer's custom property
    :data:`STYLE_PROPERTY` (saved with the project).
    """
    look = style(style_name)
    layer.setRenderer(mask_renderer(layer, band, look.name))
    layer.setOpacity(look.opacity_over_image if over_image else 1.0)
    layer.setCustomProperty(STYLE_PROPERTY, look.name)
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
