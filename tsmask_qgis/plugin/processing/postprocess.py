"""Styling Processing outputs when they are loaded (layer post-processors).

The post-processors hold no per-run state, so one module-level instance of
each serves every run (QGIS does not take ownership of them).
"""

from __future__ import annotations

from qgis.core import QgsProcessingLayerPostProcessorInterface, QgsRasterLayer

from tsmask_qgis.plugin.styling import apply_count_style, apply_mask_style, save_sidecar

__all__ = ["COUNT_STYLER", "MASK_STYLER", "CountStyler", "MaskStyler"]


class MaskStyler(QgsProcessingLayerPostProcessorInterface):
    """Paletted four-class style for a mask output, saved as a ``.qml`` sidecar."""

    def postProcessLayer(self, layer, context, feedback):
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            apply_mask_style(layer)
            try:
                save_sidecar(layer, overwrite=True)
            except OSError as exc:
                feedback.reportError(str(exc))


class CountStyler(QgsProcessingLayerPostProcessorInterface):
    """Colour-ramp style for a clear-observation-count output."""

    def postProcessLayer(self, layer, context, feedback):
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            apply_count_style(layer)


MASK_STYLER = MaskStyler()
COUNT_STYLER = CountStyler()
