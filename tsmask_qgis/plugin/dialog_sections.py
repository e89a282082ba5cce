"""The dialog's sections (area, dates and data, method and output, advanced, run panel).

Each ``build_*`` function adds its widgets to ``layout`` and sets them as
attributes of the dialog ``dlg`` (:class:`tsmask_qgis.plugin.dialog.TsmaskDialog`),
which reads and validates them.
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
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tsmask_qgis.plugin.convert import LOCAL, RUNNERS, STAC

__all__ = [
    "ERROR_STYLE",
    "FIXED_FORMATS",
    "FORMATS",
    "WARN_STYLE",
    "build_advanced",
    "build_area",
    "build_banner",
    "build_data",
    "build_method",
    "build_run_panel",
    "source_choices",
]

#: Output formats offered: pipeline format name -> label. ``cog`` is always
#: written (the map layers are the per-date COGs), so its box is ticked and fixed.
FORMATS: dict[str, str] = {
    "cog": "GeoTIFF per date (COG)",
    "multiband": "Multi-band GeoTIFF",
    "netcdf": "NetCDF (CF flags)",
    "envi": "ENVI (as the notebook)",
    "chart": "Cloud chart (PNG)",
}
FIXED_FORMATS = ("cog",)

ERROR_STYLE = "color: #b00020;"
WARN_STYLE = "color: #8a5a00;"


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


def build_banner(dlg: Any, layout: QVBoxLayout) -> None:
    """What the worker lacks, with the *Set up tsmask* button (hidden when nothing does)."""
    dlg.missing_box = QWidget(dlg)
    dlg.missing_box.setObjectName("missingBox")
    row = QHBoxLayout(dlg.missing_box)
    row.setContentsMargins(0, 0, 0, 0)
    dlg.missing_label = QLabel("", dlg.missing_box)
    dlg.missing_label.setWordWrap(True)
    dlg.missing_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    dlg.missing_label.setStyleSheet(ERROR_STYLE)
    dlg.missing_label.setObjectName("missingDependencies")
    dlg.setup_button = QPushButton("Set up tsmask", dlg.missing_box)
    dlg.setup_button.setObjectName("setupButton")
    dlg.setup_button.setToolTip(
        "Make the plugin's own Python environment in the QGIS profile and install the "
        "engine's packages there (QGIS's own Python is never changed)."
    )
    row.addWidget(dlg.missing_label, 1)
    row.addWidget(dlg.setup_button)
    layout.addWidget(dlg.missing_box)


def build_area(dlg: Any, layout: QVBoxLayout) -> None:
    """The area: an extent box (unused for a local stack)."""
    dlg.extent_box = QgsExtentGroupBox(dlg)
    dlg.extent_box.setTitle("Area")
    dlg.extent_box.setCheckable(False)
    project_crs = QgsProject.instance().crs()
    if not project_crs.isValid():
        project_crs = QgsCoordinateReferenceSystem("EPSG:4326")
    canvas = dlg._iface.mapCanvas() if dlg._iface is not None else None
    if canvas is not None:
        crs = canvas.mapSettings().destinationCrs()
        dlg.extent_box.setOriginalExtent(canvas.extent(), crs)
        dlg.extent_box.setCurrentExtent(canvas.extent(), crs)
        dlg.extent_box.setOutputCrs(crs)
        dlg.extent_box.setMapCanvas(canvas)
    else:
        dlg.extent_box.setOutputCrs(project_crs)
    layout.addWidget(dlg.extent_box)
    dlg.area_error = dlg._error_label("areaError")
    layout.addWidget(dlg.area_error)


def build_data(dlg: Any, layout: QVBoxLayout) -> None:
    """Dates, source, STAC address and collection, local stack, resolution."""
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
    dlg.dates_error = dlg._error_label("datesError")
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
    dlg.source_error = dlg._error_label("sourceError")
    form.addRow("", dlg.source_error)
    dlg.resolution_spin = QDoubleSpinBox(dlg)
    dlg.resolution_spin.setRange(10.0, 1000.0)
    dlg.resolution_spin.setSuffix(" m")
    dlg.resolution_spin.setDecimals(0)
    form.addRow("Resolution", dlg.resolution_spin)
    layout.addWidget(form_box)


def build_method(dlg: Any, layout: QVBoxLayout) -> None:
    """Preset, spatial steps, output folder and formats, workers, memory."""
    method_box = QGroupBox("Method and output", dlg)
    mform = QFormLayout(method_box)
    dlg.preset_combo = QComboBox(dlg)
    dlg.preset_combo.addItem("seed — the original method (notebook)", "seed")
    dlg.preset_combo.addItem("dea — DEA's production form", "dea")
    mform.addRow("Preset", dlg.preset_combo)
    dlg.spatial_check = QCheckBox("Spatial steps (filter and buffer / majority)", dlg)
    mform.addRow("", dlg.spatial_check)
    dlg.out_widget = QgsFileWidget(dlg)
    dlg.out_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
    mform.addRow("Output folder", dlg.out_widget)
    dlg.out_error = dlg._error_label("outError")
    mform.addRow("", dlg.out_error)
    fmt_grid = QGridLayout()
    dlg.format_checks = {}
    for i, (name, label) in enumerate(FORMATS.items()):
        check = QCheckBox(label, dlg)
        if name in FIXED_FORMATS:
            check.setChecked(True)
            check.setEnabled(False)
            check.setToolTip("Always written: the map layers are these files.")
        dlg.format_checks[name] = check
        fmt_grid.addWidget(check, i // 3, i % 3)
    mform.addRow("Formats", fmt_grid)
    dlg.formats_error = dlg._error_label("formatsError")
    mform.addRow("", dlg.formats_error)
    dlg.truecolour_check = QCheckBox("Add true-colour images under the masks", dlg)
    mform.addRow("", dlg.truecolour_check)
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
    """The collapsed Advanced group: the runner and the worker Python."""
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
    dlg.python_widget = QgsFileWidget(dlg)
    dlg.python_widget.setObjectName("pythonWidget")
    dlg.python_widget.setStorageMode(QgsFileWidget.StorageMode.GetFile)
    dlg.python_widget.setToolTip(
        "The Python the jobs run in (one with the engine's packages). Empty: automatic — "
        "the environment Set up tsmask made, $TSMASK_PYTHON, or the Python QGIS runs."
    )
    aform.addRow("Worker Python", dlg.python_widget)
    dlg.advanced_box.setCollapsed(True)
    layout.addWidget(dlg.advanced_box)


def build_run_panel(dlg: Any, layout: QVBoxLayout) -> None:
    """Estimate, memory messages, the progress of a run, the buttons."""
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
    dlg.memory_error = dlg._error_label("memoryError")
    layout.addWidget(dlg.memory_error)
    dlg.memory_warning = dlg._error_label("memoryWarning")
    dlg.memory_warning.setStyleSheet(WARN_STYLE)
    layout.addWidget(dlg.memory_warning)
    dlg.status_label = QLabel("", dlg)
    dlg.status_label.setObjectName("statusLabel")
    dlg.status_label.setWordWrap(True)
    layout.addWidget(dlg.status_label)
    progress_row = QHBoxLayout()
    dlg.progress_bar = QProgressBar(dlg)
    dlg.progress_bar.setObjectName("progressBar")
    dlg.progress_bar.setRange(0, 100)
    dlg.progress_bar.setTextVisible(True)
    dlg.cancel_button = QPushButton("Cancel", dlg)
    dlg.cancel_button.setObjectName("cancelButton")
    dlg.cancel_button.setToolTip("Stop the run; no half-written file is left")
    progress_row.addWidget(dlg.progress_bar, 1)
    progress_row.addWidget(dlg.cancel_button)
    layout.addLayout(progress_row)
    dlg.progress_bar.setVisible(False)
    dlg.cancel_button.setVisible(False)

    dlg.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
    dlg.run_button = dlg.buttons.addButton("Run", QDialogButtonBox.ButtonRole.AcceptRole)
    dlg.buttons.rejected.connect(dlg.reject)
    dlg.run_button.clicked.connect(dlg._on_run)
    dlg.estimate_button.clicked.connect(dlg._on_estimate)
    layout.addWidget(dlg.buttons)
