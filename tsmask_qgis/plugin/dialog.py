"""The tsmask dialog: area, dates, source, preset, outputs; estimate; inline validation.

The dialog only collects values. :meth:`TsmaskDialog.run_settings` turns them
into a plain :class:`~tsmask_qgis.plugin.convert.RunSettings` (through
:mod:`tsmask_qgis.plugin.convert`) and :attr:`TsmaskDialog.runRequested`
carries it to the plugin, which starts the background task. Values are kept in
``QgsSettings`` under ``tsmask/dialog/`` between sessions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProject,
    QgsRectangle,
    QgsSettings,
)
from qgis.gui import QgsExtentGroupBox, QgsFileWidget
from qgis.PyQt.QtCore import QDate, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
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
    QWidget,
)

from tsmask_qgis.plugin.convert import LOCAL, STAC, RunSettings, rect_to_wgs84

__all__ = ["FORMATS", "SETTINGS_PREFIX", "TsmaskDialog", "rough_bytes", "source_choices"]

SETTINGS_PREFIX = "tsmask/dialog/"

#: Output formats offered: writer name -> label.
FORMATS: dict[str, str] = {
    "cog": "GeoTIFF per date (COG)",
    "multiband": "Multi-band GeoTIFF",
    "netcdf": "NetCDF (CF flags)",
    "envi": "ENVI (as the notebook)",
}

#: Sentinel-2 revisit in days with both satellites: used for a quick size guess.
_REVISIT_DAYS = 5
_ERROR_STYLE = "color: #b00020;"
_WARN_STYLE = "color: #8a5a00;"


def source_choices() -> list[tuple[str, str]]:
    """(name, label) of the catalogue presets, then custom STAC and local files."""
    out: list[tuple[str, str]] = []
    try:
        from tsmask_qgis.loaders import SOURCES
    except Exception:  # a dependency is missing: only local files can be offered
        SOURCES = {}
    for name, source in SOURCES.items():
        if name != STAC:
            out.append((name, f"{getattr(source, 'title', name)} ({name})"))
    out.append((STAC, "Custom STAC API…"))
    out.append((LOCAL, "Local files (NetCDF, GeoTIFF stack or folder)"))
    return out


def rough_bytes(settings: RunSettings) -> int:
    """A quick, offline guess of the reflectance held in memory for ``settings``.

    Assumes a five-day revisit and six float32 bands; the Estimate button asks
    the catalogue for the real figures.
    """
    if settings.bbox is None:
        return 0
    w, s, e, n = settings.bbox
    lat = math.radians((s + n) / 2)
    width_m = (e - w) * 111_320 * max(math.cos(lat), 0.01)
    height_m = (n - s) * 110_574
    pixels = max(width_m / settings.resolution, 1) * max(height_m / settings.resolution, 1)
    dates = (settings.end - settings.start).days // _REVISIT_DAYS + 1
    return int(pixels * dates * 6 * 4)


def _available_memory() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:
        return None


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


class TsmaskDialog(QDialog):
    """The main dialog. Emits :attr:`runRequested` with a :class:`RunSettings`."""

    #: Emitted with the plain RunSettings when the user presses Run.
    runRequested = pyqtSignal(object)
    #: Emitted with the plain RunSettings when the user presses Estimate.
    estimateRequested = pyqtSignal(object)

    def __init__(
        self,
        iface: Any = None,
        parent: QWidget | None = None,
        *,
        settings: QgsSettings | None = None,
        disabled_reason: str | None = None,
        available_memory: Callable[[], int | None] = _available_memory,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("tsmask — cloud and cloud-shadow masks")
        self.setObjectName("TsmaskDialog")
        self._iface = iface
        self._settings = settings or QgsSettings()
        self._disabled_reason = disabled_reason
        self._available_memory = available_memory
        self._build()
        self.restore_settings()
        self._connect()
        self.validate()

    # -- construction ------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        if self._disabled_reason:
            banner = QLabel(self._disabled_reason)
            banner.setWordWrap(True)
            banner.setTextInteractionFlags(Qt.TextSelectableByMouse)
            banner.setStyleSheet(_ERROR_STYLE)
            banner.setObjectName("missingDependencies")
            layout.addWidget(banner)

        self.extent_box = QgsExtentGroupBox(self)
        self.extent_box.setTitle("Area")
        self.extent_box.setCheckable(False)
        project_crs = QgsProject.instance().crs()
        if not project_crs.isValid():
            project_crs = QgsCoordinateReferenceSystem("EPSG:4326")
        canvas = self._iface.mapCanvas() if self._iface is not None else None
        if canvas is not None:
            crs = canvas.mapSettings().destinationCrs()
            self.extent_box.setOriginalExtent(canvas.extent(), crs)
            self.extent_box.setCurrentExtent(canvas.extent(), crs)
            self.extent_box.setOutputCrs(crs)
            self.extent_box.setMapCanvas(canvas)
        else:
            self.extent_box.setOutputCrs(project_crs)
        layout.addWidget(self.extent_box)
        self.area_error = self._error_label("areaError")
        layout.addWidget(self.area_error)

        form_box = QGroupBox("Dates and data", self)
        form = QFormLayout(form_box)
        dates = QHBoxLayout()
        self.start_edit = QDateEdit(self)
        self.end_edit = QDateEdit(self)
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setMinimumDate(QDate(2015, 6, 23))
        dates.addWidget(self.start_edit)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.end_edit)
        form.addRow("Dates", dates)
        self.dates_error = self._error_label("datesError")
        form.addRow("", self.dates_error)

        self.source_combo = QComboBox(self)
        for name, label in source_choices():
            self.source_combo.addItem(label, name)
        form.addRow("Source", self.source_combo)
        self.stac_url_edit = QLineEdit(self)
        self.stac_url_edit.setPlaceholderText("https://example.com/stac/v1")
        self.collection_edit = QLineEdit(self)
        self.collection_edit.setPlaceholderText("sentinel-2-l2a")
        form.addRow("STAC API", self.stac_url_edit)
        form.addRow("Collection", self.collection_edit)
        self.local_widget = QgsFileWidget(self)
        self.local_widget.setStorageMode(QgsFileWidget.GetFile)
        self.local_widget.setFilter("Stacks (*.nc *.nc4 *.tif *.tiff);;All files (*)")
        form.addRow("Local stack", self.local_widget)
        self.source_error = self._error_label("sourceError")
        form.addRow("", self.source_error)
        self.resolution_spin = QDoubleSpinBox(self)
        self.resolution_spin.setRange(10.0, 1000.0)
        self.resolution_spin.setSuffix(" m")
        self.resolution_spin.setDecimals(0)
        form.addRow("Resolution", self.resolution_spin)
        layout.addWidget(form_box)

        method_box = QGroupBox("Method and output", self)
        mform = QFormLayout(method_box)
        self.preset_combo = QComboBox(self)
        self.preset_combo.addItem("seed — the original method (notebook)", "seed")
        self.preset_combo.addItem("dea — DEA's production form", "dea")
        mform.addRow("Preset", self.preset_combo)
        self.spatial_check = QCheckBox("Spatial steps (filter and buffer / majority)", self)
        mform.addRow("", self.spatial_check)
        self.out_widget = QgsFileWidget(self)
        self.out_widget.setStorageMode(QgsFileWidget.GetDirectory)
        mform.addRow("Output folder", self.out_widget)
        self.out_error = self._error_label("outError")
        mform.addRow("", self.out_error)
        fmt_row = QHBoxLayout()
        self.format_checks: dict[str, QCheckBox] = {}
        for name, label in FORMATS.items():
            check = QCheckBox(label, self)
            self.format_checks[name] = check
            fmt_row.addWidget(check)
        mform.addRow("Formats", fmt_row)
        self.formats_error = self._error_label("formatsError")
        mform.addRow("", self.formats_error)
        self.truecolour_check = QCheckBox("Add true-colour images under the masks", self)
        mform.addRow("", self.truecolour_check)
        self.workers_spin = QSpinBox(self)
        self.workers_spin.setRange(1, max(os.cpu_count() or 1, 1) * 2)
        self.workers_spin.setToolTip("Worker processes for detection (plain Python interpreters).")
        mform.addRow("Worker processes", self.workers_spin)
        layout.addWidget(method_box)

        est_row = QHBoxLayout()
        self.estimate_button = QPushButton("Estimate", self)
        self.estimate_button.setToolTip(
            "Search the catalogue and show dates, pixels, data to read and memory — "
            "nothing is downloaded."
        )
        self.estimate_label = QLabel("", self)
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setObjectName("estimateLabel")
        est_row.addWidget(self.estimate_button)
        est_row.addWidget(self.estimate_label, 1)
        layout.addLayout(est_row)
        self.memory_warning = self._error_label("memoryWarning")
        self.memory_warning.setStyleSheet(_WARN_STYLE)
        layout.addWidget(self.memory_warning)

        self.buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        self.run_button = self.buttons.addButton("Run", QDialogButtonBox.AcceptRole)
        self.buttons.rejected.connect(self.reject)
        self.run_button.clicked.connect(self._on_run)
        self.estimate_button.clicked.connect(self._on_estimate)
        layout.addWidget(self.buttons)

    def _error_label(self, name: str) -> QLabel:
        label = QLabel("", self)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setStyleSheet(_ERROR_STYLE)
        label.setVisible(False)
        return label

    def _connect(self) -> None:
        self.extent_box.extentChanged.connect(self.validate)
        self.start_edit.dateChanged.connect(self.validate)
        self.end_edit.dateChanged.connect(self.validate)
        self.source_combo.currentIndexChanged.connect(self.validate)
        self.stac_url_edit.textChanged.connect(self.validate)
        self.collection_edit.textChanged.connect(self.validate)
        self.local_widget.fileChanged.connect(self.validate)
        self.out_widget.fileChanged.connect(self.validate)
        self.resolution_spin.valueChanged.connect(self.validate)
        for check in self.format_checks.values():
            check.toggled.connect(self.validate)

    # -- values ------------------------------------------------------------
    def source(self) -> str:
        """The selected source name."""
        return str(self.source_combo.currentData())

    def set_source(self, name: str) -> None:
        """Select a source by name (ignored when not offered)."""
        index = self.source_combo.findData(name)
        if index >= 0:
            self.source_combo.setCurrentIndex(index)

    def formats(self) -> tuple[str, ...]:
        """The checked output formats."""
        return tuple(name for name, check in self.format_checks.items() if check.isChecked())

    def set_extent(self, rect: QgsRectangle, crs: QgsCoordinateReferenceSystem) -> None:
        """Set the area (``rect`` in ``crs``) as if the user had chosen it."""
        self.extent_box.setOutputCrs(crs)
        self.extent_box.setOutputExtentFromUser(rect, crs)

    def _options(self) -> dict[str, Any]:
        source = self.source()
        collection = self.collection_edit.text().strip()
        return {
            "source": source,
            "stac_url": self.stac_url_edit.text().strip() or None,
            "collections": tuple(c.strip() for c in collection.split(",") if c.strip()),
            "input_path": self.local_widget.filePath().strip() or None,
            "preset": str(self.preset_combo.currentData()),
            "spatial": self.spatial_check.isChecked(),
            "resolution": float(self.resolution_spin.value()),
            "formats": self.formats(),
            "truecolour": self.truecolour_check.isChecked(),
            "workers": int(self.workers_spin.value()),
        }

    def _bbox(self) -> tuple[tuple[float, float, float, float] | None, str | None]:
        rect = self.extent_box.outputExtent()
        crs = self.extent_box.outputCrs()
        try:
            return rect_to_wgs84(rect, crs), None
        except ValueError as exc:
            return None, str(exc)

    def draft_settings(self) -> tuple[RunSettings, dict[str, str]]:
        """The values as :class:`RunSettings` even if invalid, and what is wrong."""
        from tsmask_qgis.plugin.convert import qdate_to_date

        options = self._options()
        bbox, area_problem = self._bbox()
        if options["input_path"]:
            options["input_path"] = Path(options["input_path"])
        settings = RunSettings(
            bbox=bbox,
            start=qdate_to_date(self.start_edit.date()),
            end=qdate_to_date(self.end_edit.date()),
            out_dir=Path(self.out_widget.filePath().strip()),
            **options,
        )
        problems = settings.problems()
        if area_problem and options["source"] != LOCAL:
            problems["bbox"] = area_problem
        return settings, problems

    def run_settings(self) -> RunSettings:
        """The dialog's values as plain :class:`RunSettings`; ``ValueError`` if invalid."""
        return RunSettings.from_qt(
            extent=self.extent_box.outputExtent(),
            extent_crs=self.extent_box.outputCrs(),
            start=self.start_edit.date(),
            end=self.end_edit.date(),
            out_dir=self.out_widget.filePath().strip(),
            **self._options(),
        )

    # -- validation --------------------------------------------------------
    def validate(self, *_: Any) -> dict[str, str]:
        """Show inline messages and enable Run only when the values can run."""
        source = self.source()
        for widget in (self.stac_url_edit, self.collection_edit):
            widget.setEnabled(source == STAC)
        self.local_widget.setEnabled(source == LOCAL)
        self.extent_box.setEnabled(source != LOCAL)
        self.resolution_spin.setEnabled(source != LOCAL)
        settings, problems = self.draft_settings()
        shown = {
            self.area_error: problems.get("bbox"),
            self.dates_error: problems.get("dates"),
            self.source_error: problems.get("source"),
            self.out_error: problems.get("out_dir"),
            self.formats_error: problems.get("formats"),
        }
        for label, text in shown.items():
            label.setText(text or "")
            label.setVisible(bool(text))
        warning = self.memory_problem(settings) if not problems else None
        self.memory_warning.setText(warning or "")
        self.memory_warning.setVisible(bool(warning))
        can_run = not problems and not self._disabled_reason
        self.run_button.setEnabled(can_run)
        self.estimate_button.setEnabled(not problems.get("bbox") and not problems.get("source"))
        return problems

    def memory_problem(self, settings: RunSettings) -> str | None:
        """A warning when the area likely exceeds memory (the run then streams)."""
        if settings.source == LOCAL:
            return None
        need = rough_bytes(settings)
        available = self._available_memory()
        if available is None or need <= available * 0.5:
            return None
        return (
            f"About {_gb(need)} of reflectance for this area and these dates, more than half of "
            f"the {_gb(available)} of memory available: the run will stream it tile by tile "
            "(slower). Choose a smaller area, fewer dates or a coarser resolution to keep it "
            "in memory; press Estimate for the catalogue's figures."
        )

    def show_estimate(self, text: str, *, error: bool = False) -> None:
        """Show an estimate (or why it failed) beside the Estimate button."""
        self.estimate_label.setStyleSheet(_ERROR_STYLE if error else "")
        self.estimate_label.setText(text)

    # -- buttons -----------------------------------------------------------
    def _on_run(self) -> None:
        try:
            settings = self.run_settings()
        except ValueError as exc:
            self.validate()
            self.show_estimate(str(exc), error=True)
            return
        self.save_settings()
        self.runRequested.emit(settings)

    def _on_estimate(self) -> None:
        settings, problems = self.draft_settings()
        if problems.get("bbox") or problems.get("source") or problems.get("dates"):
            self.validate()
            return
        self.show_estimate("Estimating…")
        self.estimateRequested.emit(settings)

    # -- settings ----------------------------------------------------------
    def save_settings(self) -> None:
        """Remember the values in QgsSettings (``tsmask/dialog/...``)."""
        s, p = self._settings, SETTINGS_PREFIX
        s.setValue(p + "start", self.start_edit.date().toString(Qt.ISODate))
        s.setValue(p + "end", self.end_edit.date().toString(Qt.ISODate))
        s.setValue(p + "source", self.source())
        s.setValue(p + "stac_url", self.stac_url_edit.text())
        s.setValue(p + "collection", self.collection_edit.text())
        s.setValue(p + "local_path", self.local_widget.filePath())
        s.setValue(p + "preset", self.preset_combo.currentData())
        s.setValue(p + "spatial", self.spatial_check.isChecked())
        s.setValue(p + "resolution", self.resolution_spin.value())
        s.setValue(p + "out_dir", self.out_widget.filePath())
        s.setValue(p + "formats", ",".join(self.formats()))
        s.setValue(p + "truecolour", self.truecolour_check.isChecked())
        s.setValue(p + "workers", self.workers_spin.value())

    def restore_settings(self) -> None:
        """Fill the widgets from QgsSettings, with sensible defaults the first time."""
        s, p = self._settings, SETTINGS_PREFIX
        today = QDate.currentDate()
        start = QDate.fromString(str(s.value(p + "start", "")), Qt.ISODate)
        end = QDate.fromString(str(s.value(p + "end", "")), Qt.ISODate)
        self.start_edit.setDate(start if start.isValid() else today.addMonths(-6))
        self.end_edit.setDate(end if end.isValid() else today)
        self.set_source(str(s.value(p + "source", "earth-search-c1")))
        self.stac_url_edit.setText(str(s.value(p + "stac_url", "")))
        self.collection_edit.setText(str(s.value(p + "collection", "")))
        self.local_widget.setFilePath(str(s.value(p + "local_path", "")))
        index = self.preset_combo.findData(str(s.value(p + "preset", "seed")))
        self.preset_combo.setCurrentIndex(max(index, 0))
        self.spatial_check.setChecked(s.value(p + "spatial", True, type=bool))
        self.resolution_spin.setValue(s.value(p + "resolution", 20.0, type=float))
        self.out_widget.setFilePath(str(s.value(p + "out_dir", "")))
        formats = str(s.value(p + "formats", "cog")).split(",")
        for name, check in self.format_checks.items():
            check.setChecked(name in formats)
        self.truecolour_check.setChecked(s.value(p + "truecolour", False, type=bool))
        default_workers = max((os.cpu_count() or 2), 1)
        self.workers_spin.setValue(s.value(p + "workers", default_workers, type=int))
