"""The dialog's form, section by section: area, dates and data, method and output,
options and advanced, and the estimate, status and buttons below them.

Each function adds its widgets to a layout and sets them as attributes of the
dialog ``dlg`` (:class:`tsmask_qgis.plugin.dialog.TsmaskDialog`), which reads
and checks their values.
"""

from __future__ import annotations

import os
from typing import Any

from qgis.core import QgsCoordinateReferenceSystem, QgsProject
from qgis.gui import QgsCollapsibleGroupBox, QgsExtentGroupBox, QgsFileWidget
from qgis.PyQt.QtCore import QDate, Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from tsmask_qgis.plugin import dialog_sections as sections
from tsmask_qgis.plugin.convert import COMPOSITES, LOCAL, RUNNERS, STAC
from tsmask_qgis.plugin.options import OptionsBox

__all__ = [
    "FORMATS",
    "PRESET_CHOICES",
    "build_advanced",
    "build_area",
    "build_data",
    "build_footer",
    "build_method",
    "source_choices",
]

#: The presets offered, default first: name -> (label, what it is for, in one line).
PRESET_CHOICES: dict[str, tuple[str, str]] = {
    "dea": (
        "dea (default)",
        "everyday masks, few false alarms (DEA's production form)",
    ),
    "seed": (
        "seed",
        "the research notebook's method, exactly (flags more)",
    ),
}

#: Output formats offered: pipeline format name -> label. ``cog`` is always
#: written (the map layers are the per-date COGs), so its box is ticked and fixed.
FORMATS: dict[str, str] = {
    "cog": "GeoTIFF per date (COG)",
    "multiband": "Multi-band GeoTIFF",
    "netcdf": "NetCDF (CF flags)",
    "envi": "ENVI (as the notebook)",
    "chart": "Cloud chart (PNG)",
}
_FIXED_FORMATS = ("cog",)

_ERROR_STYLE = "color: #b00020;"
_WARN_STYLE = "color: #8a5a00;"


def source_choices() -> list[tuple[str, str]]:
    """(name, label) of the catalogue presets, then custom STAC and local files."""
    out: list[tuple[str, str]] = []
    try:
        from tsmask_qgis.loaders._sources import SOURCES
    except Exception:  # a dependency is missing: only local files can be offered
        SOURCES = {}
    for name, source in SOURCES.items():
        if name != STAC:
            out.append((name, f"{getattr(source, 'title', name)} ({name})"))
    out.append((STAC, "Custom STAC API…"))
    out.append((LOCAL, "Local files (NetCDF, GeoTIFF stack or folder)"))
    return out


def build_area(dlg: Any, layout: QVBoxLayout) -> None:
    """The area: an extent box tied to the canvas, in the canvas CRS."""
    dlg.extent_box = QgsExtentGroupBox(dlg)
    dlg.extent_box.setTitle("Area")
    dlg.extent_box.setCheckable(False)
    project_crs = QgsProject.instance().crs()
    if not project_crs.isValid():
        project_crs = QgsCoordinateReferenceSystem("EPSG:4326")
    canvas = dlg.iface_ref.mapCanvas() if dlg.iface_ref is not None else None
    if canvas is not None:
        crs = canvas.mapSettings().destinationCrs()
        dlg.extent_box.setOriginalExtent(canvas.extent(), crs)
        dlg.extent_box.setCurrentExtent(canvas.extent(), crs)
        dlg.extent_box.setOutputCrs(crs)
        dlg.extent_box.setMapCanvas(canvas)
    else:
        dlg.extent_box.setOutputCrs(project_crs)
    layout.addWidget(dlg.extent_box)
    dlg.area_error = dlg.error_label("areaError")
    layout.addWidget(dlg.area_error)


def build_data(dlg: Any, layout: QVBoxLayout) -> None:
    """Dates, source (catalogue, STAC API or local stack) and resolution."""
    form_box = QGroupBox("Dates and data", dlg)
    form = QFormLayout(form_box)
    dates = QHBoxLayout()
    dlg.start_edit = QDateEdit(dlg)
    dlg.end_edit = QDateEdit(dlg)
    for edit in (dlg.start_edit, dlg.end_edit):
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(QDate(2015, 6, 23))
    dates.addWidget(dlg.start_edit)
    dates.addWidget(QLabel("to"))
    dates.addWidget(dlg.end_edit)
    form.addRow("Dates", dates)
    dlg.dates_error = dlg.error_label("datesError")
    form.addRow("", dlg.dates_error)

    dlg.source_combo = QComboBox(dlg)
    for name, label in source_choices():
        dlg.source_combo.addItem(label, name)
    form.addRow("Source", dlg.source_combo)
    dlg.stac_url_edit = QLineEdit(dlg)
    dlg.stac_url_edit.setPlaceholderText("https://example.com/stac/v1")
    dlg.collection_edit = QLineEdit(dlg)
    dlg.collection_edit.setPlaceholderText("sentinel-2-l2a")
    form.addRow("STAC API", dlg.stac_url_edit)
    form.addRow("Collection", dlg.collection_edit)
    dlg.local_widget = QgsFileWidget(dlg)
    dlg.local_widget.setStorageMode(QgsFileWidget.StorageMode.GetFile)
    dlg.local_widget.setFilter("Stacks (*.nc *.nc4 *.tif *.tiff);;All files (*)")
    form.addRow("Local stack", dlg.local_widget)
    dlg.source_error = dlg.error_label("sourceError")
    form.addRow("", dlg.source_error)
    dlg.resolution_spin = QDoubleSpinBox(dlg)
    dlg.resolution_spin.setRange(10.0, 1000.0)
    dlg.resolution_spin.setSuffix(" m")
    dlg.resolution_spin.setDecimals(0)
    form.addRow("Resolution", dlg.resolution_spin)
    layout.addWidget(form_box)


def build_method(dlg: Any, layout: QVBoxLayout) -> None:
    """Preset, spatial steps, output folder and formats, composite, workers, memory."""
    method_box = QGroupBox("Method and output", dlg)
    mform = QFormLayout(method_box)
    dlg.preset_combo = QComboBox(dlg)
    for name, (label, purpose) in PRESET_CHOICES.items():
        dlg.preset_combo.addItem(f"{label} — {purpose}", name)
        dlg.preset_combo.setItemData(
            dlg.preset_combo.count() - 1, purpose, Qt.ItemDataRole.ToolTipRole
        )
    mform.addRow("Preset", dlg.preset_combo)
    dlg.spatial_check = QCheckBox("Spatial steps (filter and buffer / majority)", dlg)
    mform.addRow("", dlg.spatial_check)
    dlg.out_widget = QgsFileWidget(dlg)
    dlg.out_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
    mform.addRow("Output folder", dlg.out_widget)
    dlg.out_error = dlg.error_label("outError")
    mform.addRow("", dlg.out_error)
    fmt_row = QHBoxLayout()
    checks: dict[str, QCheckBox] = {}
    dlg.format_checks = checks
    for name, label in FORMATS.items():
        check = QCheckBox(label, dlg)
        if name in _FIXED_FORMATS:
            check.setChecked(True)
            check.setEnabled(False)
            check.setToolTip("Always written: the map layers are these files.")
        dlg.format_checks[name] = check
        fmt_row.addWidget(check)
    mform.addRow("Formats", fmt_row)
    dlg.formats_error = dlg.error_label("formatsError")
    mform.addRow("", dlg.formats_error)
    dlg.truecolour_check = QCheckBox("Add true-colour images under the masks", dlg)
    mform.addRow("", dlg.truecolour_check)
    dlg.composite_combo = QComboBox(dlg)
    dlg.composite_combo.setObjectName("compositeCombo")
    for value, label in COMPOSITES.items():
        dlg.composite_combo.addItem(label, value)
    dlg.composite_combo.setToolTip(
        "Cloud-free composites from the clear pixels, loaded above the masks."
    )
    mform.addRow("Composite", dlg.composite_combo)
    dlg.workers_spin = QSpinBox(dlg)
    dlg.workers_spin.setRange(1, max(os.cpu_count() or 1, 1) * 2)
    dlg.workers_spin.setToolTip(
        "Workers for detection: threads or processes of the worker Python process "
        "(see Advanced: Runner)."
    )
    mform.addRow("Workers", dlg.workers_spin)
    dlg.memory_spin = QDoubleSpinBox(dlg)
    dlg.memory_spin.setRange(0.0, 4096.0)
    dlg.memory_spin.setDecimals(1)
    dlg.memory_spin.setSingleStep(0.5)
    dlg.memory_spin.setSuffix(" GB")
    dlg.memory_spin.setSpecialValueText("automatic (half the available memory)")
    dlg.memory_spin.setToolTip(
        "The engine's memory budget: a run larger than this streams tile by tile."
    )
    mform.addRow("Max memory", dlg.memory_spin)
    dlg.overwrite_check = QCheckBox("Overwrite existing outputs (of another run)", dlg)
    dlg.overwrite_check.setToolTip(
        "Without it, a run into a folder holding another run's outputs stops with a "
        "message; the same run resumes, reusing the files it completed."
    )
    mform.addRow("", dlg.overwrite_check)
    layout.addWidget(method_box)


def build_advanced(dlg: Any, layout: QVBoxLayout) -> None:
    """Options (shadow geometry, buffers, thin cloud) and Advanced side by side."""
    # Options and Advanced share one row: collapsed, they cost one line of height
    dlg.options_box = OptionsBox(dlg, error_style=_ERROR_STYLE)

    dlg.advanced_box = QgsCollapsibleGroupBox("Advanced", dlg)
    dlg.advanced_box.setObjectName("advancedBox")
    aform = QFormLayout(dlg.advanced_box)
    dlg.runner_combo = QComboBox(dlg)
    for name, label in RUNNERS.items():
        dlg.runner_combo.addItem(label, name)
    dlg.runner_combo.setToolTip(
        "How the engine runs the kernels in the worker process. Automatic chooses "
        "threads (or dask for a lazy stack larger than the memory budget)."
    )
    aform.addRow("Runner", dlg.runner_combo)
    sections.add_worker_python(dlg, aform)
    dlg.advanced_box.setCollapsed(True)
    boxes = QHBoxLayout()
    boxes.addWidget(dlg.options_box, 1)
    boxes.addWidget(dlg.advanced_box, 1)
    layout.addLayout(boxes)


def build_footer(dlg: Any, layout: QVBoxLayout) -> None:
    """Estimate, messages, status, progress and the buttons (never scrolled away)."""
    est_row = QHBoxLayout()
    dlg.estimate_button = QPushButton("Estimate", dlg)
    dlg.estimate_button.setToolTip(
        "Search the catalogue and show dates, pixels, data to read and memory — "
        "nothing is downloaded."
    )
    dlg.estimate_label = QLabel("", dlg)
    dlg.estimate_label.setWordWrap(True)
    dlg.estimate_label.setObjectName("estimateLabel")
    est_row.addWidget(dlg.estimate_button)
    est_row.addWidget(dlg.estimate_label, 1)
    layout.addLayout(est_row)
    dlg.memory_error = dlg.error_label("memoryError")
    layout.addWidget(dlg.memory_error)
    dlg.memory_warning = dlg.error_label("memoryWarning")
    dlg.memory_warning.setStyleSheet(_WARN_STYLE)
    layout.addWidget(dlg.memory_warning)
    dlg.status_label = QLabel("", dlg)
    dlg.status_label.setObjectName("statusLabel")
    dlg.status_label.setWordWrap(True)
    layout.addWidget(dlg.status_label)
    sections.build_progress_row(dlg, layout)

    dlg.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
    dlg.run_button = dlg.buttons.addButton("Run", QDialogButtonBox.ButtonRole.AcceptRole)
    dlg.buttons.rejected.connect(dlg.reject)
    dlg.run_button.clicked.connect(dlg._on_run)
    dlg.estimate_button.clicked.connect(dlg._on_estimate)
    layout.addWidget(dlg.buttons)
    dlg.setup_button.clicked.connect(dlg.setupRequested.emit)
    dlg.cancel_button.clicked.connect(dlg.cancelRequested.emit)
    dlg.set_disabled_reason(dlg._disabled_reason)
