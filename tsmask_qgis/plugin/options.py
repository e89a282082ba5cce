"""The dialog's "Options" area: shadow from sun geometry, buffers in metres, thin cloud.

A compact collapsible group (three rows) the dialog places under "Method and
output"; it only collects values (:meth:`OptionsBox.values`) and keeps them in
``QgsSettings`` under the dialog's prefix.
"""

from __future__ import annotations

from typing import Any

from qgis.core import QgsSettings
from qgis.gui import QgsCollapsibleGroupBox
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QWidget,
)

__all__ = ["THIN_CLOUD_CHOICES", "OptionsBox"]

#: seed's thin-cloud rule: name -> label.
THIN_CLOUD_CHOICES: dict[str, str] = {
    "spectral": "spectral (the notebook's)",
    "temporal": "temporal (brighter blue than the clear dates around it)",
    "off": "off",
}


def _metres(parent: QWidget, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(parent)
    spin.setRange(0.0, 5000.0)
    spin.setDecimals(0)
    spin.setSingleStep(10.0)
    spin.setSuffix(" m")
    spin.setSpecialValueText("none")
    spin.setToolTip(tip)
    return spin


class OptionsBox(QgsCollapsibleGroupBox):
    """Steps after the preset (docs/shadow_geometry.md) and seed's thin-cloud rule."""

    def __init__(self, parent: QWidget | None = None, *, error_style: str = "") -> None:
        super().__init__("Options", parent)
        self.setObjectName("optionsBox")
        form = QFormLayout(self)
        self.shadow_check = QCheckBox("Cloud shadow from sun geometry", self)
        self.shadow_check.setToolTip(
            "Project each cloud away from the sun (item metadata, else computed) over "
            "cloud heights of 200 m to 12 km; dark pixels it falls on become shadow, dark "
            "ground no cloud can reach is clear. A catalogue area is loaded with a margin."
        )
        form.addRow("", self.shadow_check)
        row = QHBoxLayout()
        self.cloud_spin = _metres(self, "Clear pixels this close to cloud become cloud.")
        self.shadow_spin = _metres(self, "Clear pixels this close to shadow become shadow.")
        row.addWidget(QLabel("cloud", self))
        row.addWidget(self.cloud_spin)
        row.addWidget(QLabel("shadow", self))
        row.addWidget(self.shadow_spin)
        form.addRow("Buffers", row)
        self.thin_combo = QComboBox(self)
        for name, label in THIN_CLOUD_CHOICES.items():
            self.thin_combo.addItem(label, name)
        self.thin_combo.setToolTip("seed's thin-cloud rule (dea has none).")
        form.addRow("Thin cloud (seed)", self.thin_combo)
        #: What is wrong with the options (shown by the dialog's validation).
        self.error = QLabel("", self)
        self.error.setObjectName("optionsError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(error_style)
        self.error.setVisible(False)
        form.addRow("", self.error)

    def set_preset(self, preset: str) -> None:
        """The thin-cloud rule is seed's: offered only when seed is chosen."""
        self.thin_combo.setEnabled(preset == "seed")

    def values(self, preset: str) -> dict[str, Any]:
        """RunSettings keywords: the steps, and seed's rule as a threshold override."""
        thin = str(self.thin_combo.currentData())
        overrides = {"thin_cloud": thin} if preset == "seed" and thin != "spectral" else {}
        return {
            "shadow_geometry": self.shadow_check.isChecked(),
            "cloud_buffer_m": float(self.cloud_spin.value()),
            "shadow_buffer_m": float(self.shadow_spin.value()),
            "overrides": overrides,
        }

    def save(self, s: QgsSettings, prefix: str) -> None:
        s.setValue(prefix + "shadow_geometry", self.shadow_check.isChecked())
        s.setValue(prefix + "cloud_buffer_m", self.cloud_spin.value())
        s.setValue(prefix + "shadow_buffer_m", self.shadow_spin.value())
        s.setValue(prefix + "thin_cloud", self.thin_combo.currentData())
        s.setValue(prefix + "options_collapsed", self.isCollapsed())

    def restore(self, s: QgsSettings, prefix: str) -> None:
        self.shadow_check.setChecked(s.value(prefix + "shadow_geometry", False, type=bool))
        self.cloud_spin.setValue(s.value(prefix + "cloud_buffer_m", 0.0, type=float))
        self.shadow_spin.setValue(s.value(prefix + "shadow_buffer_m", 0.0, type=float))
        index = self.thin_combo.findData(str(s.value(prefix + "thin_cloud", "spectral")))
        self.thin_combo.setCurrentIndex(max(index, 0))
        self.setCollapsed(s.value(prefix + "options_collapsed", True, type=bool))
