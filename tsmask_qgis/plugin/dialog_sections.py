"""The dialog's parts for the worker environment and a running task.

The banner naming what the worker Python lacks, with *Set up tsmask*; the
*Worker Python* choice under Advanced; the progress bar and Cancel of a run.
Each function adds its widgets to a layout and sets them as attributes of the
dialog ``dlg`` (:class:`tsmask_qgis.plugin.dialog.TsmaskDialog`).
"""

from __future__ import annotations

from typing import Any

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ERROR_STYLE", "add_worker_python", "build_banner", "build_progress_row"]

ERROR_STYLE = "color: #b00020;"


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


def add_worker_python(dlg: Any, form: QFormLayout) -> None:
    """The *Worker Python* row of the Advanced group (empty: automatic)."""
    dlg.python_widget = QgsFileWidget(dlg)
    dlg.python_widget.setObjectName("pythonWidget")
    dlg.python_widget.setStorageMode(QgsFileWidget.StorageMode.GetFile)
    dlg.python_widget.setToolTip(
        "The Python the jobs run in (one with the engine's packages). Empty: automatic — "
        "the environment Set up tsmask made, $TSMASK_PYTHON, or the Python QGIS runs."
    )
    form.addRow("Worker Python", dlg.python_widget)


def build_progress_row(dlg: Any, layout: QVBoxLayout) -> None:
    """The progress bar (named by the step) and Cancel, shown while a task runs."""
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
