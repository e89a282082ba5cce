"""The tsmask dialog: area, dates, source, preset, outputs; estimate; inline validation.

The dialog only collects values. :meth:`TsmaskDialog.run_settings` turns them
into a plain :class:`~tsmask_qgis.plugin.convert.RunSettings` (through
:mod:`tsmask_qgis.plugin.convert`) and :attr:`TsmaskDialog.runRequested`
carries it to the plugin, which starts the background task. Values are kept in
``QgsSettings`` under ``tsmask/dialog/`` between sessions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsRectangle,
    QgsSettings,
)
from qgis.PyQt.QtCore import QDate, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QDialog,
    QFrame,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from tsmask_qgis.plugin import dialog_form as form
from tsmask_qgis.plugin import dialog_sections as sections
from tsmask_qgis.plugin.convert import (
    LOCAL,
    STAC,
    RunSettings,
    rect_to_wgs84,
)
from tsmask_qgis.plugin.dialog_form import (
    _ERROR_STYLE,
    _FIXED_FORMATS,
    FORMATS,
    PRESET_CHOICES,
    source_choices,
)
from tsmask_qgis.plugin.memory import available_memory, memory_advice, rough_bytes

__all__ = [
    "FORMATS",
    "PRESET_CHOICES",
    "SETTINGS_PREFIX",
    "TsmaskDialog",
    "memory_advice",
    "rough_bytes",
    "source_choices",
]

SETTINGS_PREFIX = "tsmask/dialog/"


def _estimate_key(settings: RunSettings) -> tuple[Any, ...]:
    """What an estimate depends on (area, dates, source, resolution, input)."""
    return (
        settings.bbox,
        settings.start,
        settings.end,
        settings.source,
        settings.stac_url,
        settings.collections,
        settings.resolution,
        settings.input_path,
    )


class TsmaskDialog(QDialog):
    """The main dialog. Emits :attr:`runRequested` with a :class:`RunSettings`."""

    #: Emitted with the plain RunSettings when the user presses Run.
    runRequested = pyqtSignal(object)
    #: Emitted with the plain RunSettings when the user presses Estimate.
    estimateRequested = pyqtSignal(object)
    #: Emitted when the user presses Set up tsmask.
    setupRequested = pyqtSignal()
    #: Emitted when the user presses Cancel during a run or a set-up.
    cancelRequested = pyqtSignal()
    #: Emitted when the worker Python chosen under Advanced changes (saved already).
    pythonChanged = pyqtSignal()

    def __init__(
        self,
        iface: Any = None,
        parent: QWidget | None = None,
        *,
        settings: QgsSettings | None = None,
        disabled_reason: str | None = None,
        disabled_features: frozenset[str] | None = None,
        available_memory: Callable[[], int | None] = available_memory,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("tsmask — cloud and cloud-shadow masks")
        self.setObjectName("TsmaskDialog")
        #: The QGIS interface (None in tests without one); the form reads its canvas.
        self.iface_ref = iface
        self._settings = settings or QgsSettings()
        self._disabled_reason = disabled_reason
        self._running = False
        #: features of :data:`tsmask_qgis.plugin.deps.FEATURES` that cannot run here (with
        #: a reason but no list: all of them)
        self._disabled = (
            disabled_features
            if disabled_features is not None
            else frozenset({"detect_local", "detect_stac"} if disabled_reason else ())
        )
        self._available_memory = available_memory
        #: (settings key, memory bytes) of the last Estimate.
        self._estimate: tuple[tuple[Any, ...], int] | None = None
        self._build()
        self.restore_settings()
        self._connect()
        self.validate()
        self.fit_height()

    def fit_height(self, available: int | None = None) -> None:
        """Show the groups whole when ``available`` pixels (default: the screen's
        available height) allow, else as much as fits, scrolling the rest."""
        if available is None:
            from qgis.PyQt.QtGui import QGuiApplication

            screen = QGuiApplication.primaryScreen()
            available = screen.availableGeometry().height() if screen is not None else 768
        body = self._body.sizeHint().height()
        rest = max(0, self.sizeHint().height() - self._scroll.sizeHint().height())
        room = available - rest - 40  # the window's title bar and frame
        self._scroll.setMinimumHeight(max(160, min(body, room)))
        bar = self._scroll.verticalScrollBar().sizeHint().width()
        self._scroll.setMinimumWidth(self._body.sizeHint().width() + bar + 4)
        self.resize(self.sizeHint().width(), min(available - 40, rest + body))

    # -- construction ------------------------------------------------------
    def _build(self) -> None:
        # The groups scroll when the screen is too short for them (fit_height); the
        # estimate, status and buttons below them always show.
        outer = QVBoxLayout(self)
        sections.build_banner(self, outer)
        self._scroll = QScrollArea(self)
        self._scroll.setObjectName("formScroll")
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._body = QWidget(self._scroll)
        layout = QVBoxLayout(self._body)
        layout.setContentsMargins(0, 0, 0, 0)
        self._scroll.setWidget(self._body)
        outer.addWidget(self._scroll, 1)
        form.build_area(self, layout)
        form.build_data(self, layout)
        form.build_method(self, layout)
        form.build_advanced(self, layout)
        form.build_footer(self, outer)

    def error_label(self, name: str) -> QLabel:
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
        self.preset_combo.currentIndexChanged.connect(self._show_purpose)
        self.preset_combo.currentIndexChanged.connect(self.validate)
        box = self.options_box
        box.shadow_check.toggled.connect(self.validate)
        self.spatial_check.toggled.connect(self.validate)
        for spin in (box.cloud_spin, box.shadow_spin):
            spin.valueChanged.connect(self.validate)
        self.stac_url_edit.textChanged.connect(self.validate)
        self.collection_edit.textChanged.connect(self.validate)
        self.local_widget.fileChanged.connect(self.validate)
        self.out_widget.fileChanged.connect(self.validate)
        self.resolution_spin.valueChanged.connect(self.validate)
        self.memory_spin.valueChanged.connect(self.validate)
        for check in self.format_checks.values():
            check.toggled.connect(self.validate)
        self.python_widget.fileChanged.connect(self._python_changed)

    def _show_purpose(self, *_: Any) -> None:
        name = str(self.preset_combo.currentData())
        self.preset_combo.setToolTip(PRESET_CHOICES.get(name, ("", ""))[1])
        self.options_box.set_preset(name)

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
            "composite": str(self.composite_combo.currentData()) or None,
            "workers": int(self.workers_spin.value()),
            "max_memory": self.max_memory(),
            "runner": str(self.runner_combo.currentData()),
            "overwrite": self.overwrite_check.isChecked(),
            **self.options_box.values(str(self.preset_combo.currentData())),
        }

    def max_memory(self) -> int | None:
        """The memory budget in bytes (``None``: automatic)."""
        gb = float(self.memory_spin.value())
        return int(gb * 1e9) if gb > 0 else None

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
        feature = "detect_local" if source == LOCAL else "detect_stac"
        if feature in self._disabled:  # before what the form lacks: it cannot run at all
            problems["source"] = "This source cannot run here: see the message at the top."
        shown = {
            self.area_error: problems.get("bbox"),
            self.dates_error: problems.get("dates"),
            self.source_error: problems.get("source"),
            self.out_error: problems.get("out_dir"),
            self.formats_error: problems.get("formats"),
            self.options_box.error: problems.get("options"),
        }
        for label, text in shown.items():
            label.setText(text or "")
            label.setVisible(bool(text))
        error, warning = (None, None) if problems else self.memory_check(settings)
        if error:
            problems["max_memory"] = error
        for label, text in ((self.memory_error, error), (self.memory_warning, warning)):
            label.setText(text or "")
            label.setVisible(bool(text))
        can_run = not problems and not self._running
        self.run_button.setEnabled(can_run)
        self.estimate_button.setEnabled(not problems.get("bbox") and not problems.get("source"))
        return problems

    def memory_check(self, settings: RunSettings) -> tuple[str | None, str | None]:
        """(error, warning) about memory for ``settings`` (see :func:`memory_advice`).

        Uses the last Estimate's figure when it was made for these same
        settings, else the offline guess :func:`rough_bytes`.
        """
        key = _estimate_key(settings)
        if self._estimate is not None and self._estimate[0] == key:
            need = self._estimate[1]
        elif settings.source == LOCAL:
            need = 0
        else:
            need = rough_bytes(settings)
        return memory_advice(
            need, max_memory=settings.max_memory, available=self._available_memory()
        )

    def show_estimate(self, info: Any, *, error: bool = False, settings: Any = None) -> None:
        """Show an estimate (text, or an :class:`~tsmask_qgis.plugin.jobs.EstimateInfo`).

        With ``settings`` (those the estimate was made for) its memory figure
        replaces the offline guess in the memory check.
        """
        text = getattr(info, "text", info)
        memory = getattr(info, "memory_bytes", None)
        self.estimate_label.setStyleSheet(_ERROR_STYLE if error else "")
        self.estimate_label.setText(str(text))
        if settings is not None and memory is not None and not error:
            self._estimate = (_estimate_key(settings), int(memory))
            self.validate()

    def show_status(self, step: str, message: str) -> None:
        """Show what a running task is doing (connected to ``TsmaskTask.status``): the step
        on the progress bar, the message under it."""
        self.status_label.setText(f"{step}: {message}" if step and message else step or message)
        if step:
            self.progress_bar.setFormat(f"{step} — %p%")

    def show_progress(self, percent: float) -> None:
        """The running task's progress (connected to ``QgsTask.progressChanged``)."""
        self.progress_bar.setValue(round(percent))

    def set_running(self, running: bool, *, setup: bool = False) -> None:
        """A run (or *Set up tsmask*) is going: Run disabled, progress and Cancel shown."""
        self._running = running
        self.progress_bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.setup_button.setEnabled(not running)
        if running:
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat(("Setting up tsmask" if setup else "Starting") + " — %p%")
        self.validate()

    def set_disabled_reason(
        self, text: str | None, disabled_features: frozenset[str] | None = None
    ) -> None:
        """Why features cannot run (the worker lacks packages), shown with Set up; ``None``:
        everything can."""
        self._disabled_reason = text
        if disabled_features is not None or not text:
            self._disabled = disabled_features or frozenset()
        self.missing_label.setText(text or "")
        self.missing_box.setVisible(bool(text))
        if hasattr(self, "run_button"):
            self.validate()

    def _python_changed(self, path: str) -> None:
        from tsmask_qgis.plugin.engine_env import PYTHON_KEY

        self._settings.setValue(PYTHON_KEY, path.strip())
        self.pythonChanged.emit()

    def _on_run(self) -> None:
        if self._running:  # a second click while a run starts: one run only
            return
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
        s.setValue(p + "start", self.start_edit.date().toString(Qt.DateFormat.ISODate))
        s.setValue(p + "end", self.end_edit.date().toString(Qt.DateFormat.ISODate))
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
        s.setValue(p + "composite", self.composite_combo.currentData())
        s.setValue(p + "workers", self.workers_spin.value())
        s.setValue(p + "max_memory_gb", self.memory_spin.value())
        s.setValue(p + "runner", self.runner_combo.currentData())
        s.setValue(p + "overwrite", self.overwrite_check.isChecked())
        self.options_box.save(s, p)

    def restore_settings(self) -> None:
        """Fill the widgets from QgsSettings, with sensible defaults the first time."""
        s, p = self._settings, SETTINGS_PREFIX
        today = QDate.currentDate()
        start = QDate.fromString(str(s.value(p + "start", "")), Qt.DateFormat.ISODate)
        end = QDate.fromString(str(s.value(p + "end", "")), Qt.DateFormat.ISODate)
        self.start_edit.setDate(start if start.isValid() else today.addMonths(-6))
        self.end_edit.setDate(end if end.isValid() else today)
        self.set_source(str(s.value(p + "source", "earth-search-c1")))
        self.stac_url_edit.setText(str(s.value(p + "stac_url", "")))
        self.collection_edit.setText(str(s.value(p + "collection", "")))
        self.local_widget.setFilePath(str(s.value(p + "local_path", "")))
        index = self.preset_combo.findData(str(s.value(p + "preset", "dea")))
        self.preset_combo.setCurrentIndex(max(index, 0))
        self._show_purpose()
        self.spatial_check.setChecked(s.value(p + "spatial", True, type=bool))
        self.resolution_spin.setValue(s.value(p + "resolution", 20.0, type=float))
        self.out_widget.setFilePath(str(s.value(p + "out_dir", "")))
        formats = str(s.value(p + "formats", "cog")).split(",")
        for name, check in self.format_checks.items():
            check.setChecked(name in formats or name in _FIXED_FORMATS)
        self.truecolour_check.setChecked(s.value(p + "truecolour", False, type=bool))
        index = self.composite_combo.findData(str(s.value(p + "composite", "")))
        self.composite_combo.setCurrentIndex(max(index, 0))
        default_workers = max((os.cpu_count() or 2), 1)
        self.workers_spin.setValue(s.value(p + "workers", default_workers, type=int))
        self.memory_spin.setValue(s.value(p + "max_memory_gb", 0.0, type=float))
        index = self.runner_combo.findData(str(s.value(p + "runner", "auto")))
        self.runner_combo.setCurrentIndex(max(index, 0))
        self.overwrite_check.setChecked(s.value(p + "overwrite", False, type=bool))
        self.options_box.restore(s, p)
        from tsmask_qgis.plugin.engine_env import PYTHON_KEY

        self.python_widget.setFilePath(str(s.value(PYTHON_KEY, "") or ""))
