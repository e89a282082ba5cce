"""The mask browser: a dock to check a run's masks date by date.

One row per date (date, clear / cloud / shadow / no-observation %), sortable;
selecting a row (arrow keys, or Previous / Next) shows that date's mask over
its true colour and hides the other dates; "Hide dates over N % cloud"
filters the list; the chart above it plots cloud and shadow through time and
a click on a point selects its date. The map's Temporal Controller is set up
to step from one acquisition to the next (QGIS's "source timestamps" step)
over the data's own range, and the browser and the controller follow each
other. The percentages come from the run's summary (:mod:`.summary`); the
layers are found by the custom properties :mod:`.layers` gives them.
"""

from __future__ import annotations

import math
from typing import Any

from qgis.core import (
    QgsDateTimeRange,
    QgsInterval,
    QgsLayerTreeGroup,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
    QgsTemporalNavigationObject,
)
from qgis.PyQt.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    pyqtSignal,
)
from qgis.PyQt.QtGui import QKeySequence
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from tsmask_qgis.classes import DEFAULT_STYLE, STYLES
from tsmask_qgis.plugin import compat
from tsmask_qgis.plugin.chart import ChartPoint, CloudChart
from tsmask_qgis.plugin.layers import DATE_PROPERTY, ROLE_PROPERTY
from tsmask_qgis.plugin.styling import STYLE_PROPERTY, apply_mask_style
from tsmask_qgis.plugin.summary import DateRow

__all__ = [
    "COLUMNS",
    "STYLE_SETTING",
    "DateFilterModel",
    "DatesModel",
    "MaskBrowserDock",
    "saved_style",
]

#: The table's columns: header and the :class:`DateRow` attribute shown.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Date", "label"),
    ("Clear %", "clear"),
    ("Cloud %", "cloud"),
    ("Shadow %", "shadow"),
    ("No obs. %", "no_observation"),
)

#: The QGIS setting that remembers the mask style chosen in the browser.
STYLE_SETTING = "tsmask/mask_style"

_SORT_ROLE = Qt.ItemDataRole.UserRole


def saved_style() -> str:
    """The mask style chosen last in the browser (the default style if none or unknown)."""
    name = str(QgsSettings().value(STYLE_SETTING, DEFAULT_STYLE))
    return name if name in STYLES else DEFAULT_STYLE


class DatesModel(QAbstractTableModel):
    """The dates of a run as a table (sorted numerically through :data:`_SORT_ROLE`)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[DateRow] = []

    def set_rows(self, rows: list[DateRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        value = getattr(row, COLUMNS[index.column()][1])
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, str):
                return value
            return "–" if math.isnan(value) else f"{value:.1f}"
        if role == _SORT_ROLE:
            if isinstance(value, str):
                return value
            return -1.0 if math.isnan(value) else float(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{row.label}: {row.observed} of {row.pixels} pixels observed; "
                "clear, cloud and shadow are % of the observed pixels"
            )
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][0]
        return None


class DateFilterModel(QSortFilterProxyModel):
    """Sorts by value and hides the dates over :attr:`max_cloud` % cloud (``None``: none)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.max_cloud: float | None = None
        self.setSortRole(_SORT_ROLE)

    def set_max_cloud(self, value: float | None) -> None:
        self.max_cloud = value
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        if self.max_cloud is None:
            return True
        model = self.sourceModel()
        assert isinstance(model, DatesModel)  # nosec B101: the only source model
        cloud = model.rows[source_row].cloud
        return math.isnan(cloud) or cloud <= self.max_cloud


def _range_of(layer: QgsRasterLayer) -> QgsDateTimeRange:
    return layer.temporalProperties().fixedTemporalRange()


class MaskBrowserDock(QDockWidget):
    """The browser of one run's group (:meth:`set_result`); see the module docstring."""

    #: Emitted with the date label whenever the date shown changes.
    dateChanged = pyqtSignal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        project: QgsProject | None = None,
        controller: QgsTemporalNavigationObject | None = None,
    ) -> None:
        super().__init__("tsmask mask browser", parent)
        self.setObjectName("tsmaskMaskBrowser")
        self.project = project or QgsProject.instance()
        self.controller = controller
        #: Date label -> {"mask": layer id, "truecolour": layer id}.
        self.layers: dict[str, dict[str, str]] = {}
        #: Date label -> its temporal range (the mask layer's), in time order.
        self.ranges: dict[str, QgsDateTimeRange] = {}
        self.current: str | None = None
        self._syncing = False

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel("No run yet: run tsmask to browse its masks.", body)
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.chart = CloudChart(body)
        layout.addWidget(self.chart)

        row = QHBoxLayout()
        self.filter_check = QCheckBox("Hide dates over", body)
        self.filter_spin = QSpinBox(body)
        self.filter_spin.setRange(0, 100)
        self.filter_spin.setValue(50)
        self.filter_spin.setSuffix(" % cloud")
        row.addWidget(self.filter_check)
        row.addWidget(self.filter_spin)
        row.addStretch(1)
        layout.addLayout(row)

        row = QHBoxLayout()
        self.previous_button = QPushButton("◀ Previous", body)
        self.previous_button.setShortcut(QKeySequence("Ctrl+Left"))
        self.previous_button.setToolTip("The previous date in the list (Ctrl+Left, or ↑)")
        self.next_button = QPushButton("Next ▶", body)
        self.next_button.setShortcut(QKeySequence("Ctrl+Right"))
        self.next_button.setToolTip("The next date in the list (Ctrl+Right, or ↓)")
        self.style_combo = QComboBox(body)
        for style in STYLES.values():
            self.style_combo.addItem(style.title, style.name)
        self.style_combo.setToolTip("How the masks are drawn")
        row.addWidget(self.previous_button)
        row.addWidget(self.next_button)
        row.addStretch(1)
        row.addWidget(QLabel("Style:", body))
        row.addWidget(self.style_combo)
        layout.addLayout(row)

        self.model = DatesModel(self)
        self.proxy = DateFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(body)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self.setWidget(body)

        self.style_combo.setCurrentIndex(max(self.style_combo.findData(saved_style()), 0))
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.chart.dateClicked.connect(self.select_date)
        self.filter_check.toggled.connect(self._filter_changed)
        self.filter_spin.valueChanged.connect(self._filter_changed)
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.style_combo.currentIndexChanged.connect(self._style_changed)
        if controller is not None:
            controller.updateTemporalRange.connect(self._controller_moved)
        self.project.cleared.connect(self.clear)

    def clear(self) -> None:
        """Forget the run (its project was cleared)."""
        self.layers, self.ranges, self.current = {}, {}, None
        self.model.set_rows([])
        self.chart.set_points([])
        self.chart.set_current(None)
        self.title.setText("No run yet: run tsmask to browse its masks.")

    # -- the run -----------------------------------------------------------------
    def set_result(self, group: QgsLayerTreeGroup, rows: list[DateRow]) -> None:
        """Browse the layers of ``group`` with the summary ``rows`` (one per date)."""
        self.layers = {}
        masks: dict[str, QgsRasterLayer] = {}
        for node in group.findLayers():
            layer = node.layer()
            label = layer.customProperty(DATE_PROPERTY) if layer is not None else None
            role = layer.customProperty(ROLE_PROPERTY) if layer is not None else None
            if label is None or role not in ("mask", "truecolour"):
                continue
            self.layers.setdefault(str(label), {})[str(role)] = layer.id()
            if role == "mask":
                masks[str(label)] = layer
        known = [r for r in rows if r.label in masks]
        known.sort(key=lambda r: (_range_of(masks[r.label]).begin(), r.label))
        self.ranges = {r.label: _range_of(masks[r.label]) for r in known}
        self.title.setText(f"{group.name()}: {len(known)} dates")
        self.model.set_rows(known)
        self.chart.set_points(
            ChartPoint(
                r.label, float(self.ranges[r.label].begin().toMSecsSinceEpoch()), r.cloud, r.shadow
            )
            for r in known
        )
        self._filter_changed()
        self.current = None
        self._setup_controller()
        if known:
            self.select_date(known[0].label)

    def _setup_controller(self) -> None:
        """Animated over the data's dates, one frame per acquisition (source timestamps)."""
        nav = self.controller
        if nav is None or not self.ranges:
            return
        ranges = self._frames()
        extent = QgsDateTimeRange(ranges[0].begin(), ranges[-1].end())
        settings = self.project.timeSettings()
        settings.setTemporalRange(extent)
        settings.setTimeStepUnit(compat.TEMPORAL_SOURCE_STEP)
        settings.setTimeStep(1.0)
        self._syncing = True
        try:
            nav.setNavigationMode(compat.NAVIGATION_ANIMATED)
            nav.setAvailableTemporalRanges(ranges)
            nav.setFrameDuration(QgsInterval(1, compat.TEMPORAL_SOURCE_STEP))
            nav.setTemporalExtents(extent)
            nav.setAvailableTemporalRanges(ranges)  # the controller's widget resets them on changes
        finally:
            self._syncing = False

    def _frames(self) -> list[QgsDateTimeRange]:
        """The distinct temporal ranges of the dates, in time order (one frame each)."""
        frames: list[QgsDateTimeRange] = []
        for rng in self.ranges.values():
            if not frames or frames[-1] != rng:
                frames.append(rng)
        return frames

    # -- choosing a date -----------------------------------------------------------
    def visible_labels(self) -> list[str]:
        """The dates the list shows, in its current sort order."""
        return [
            str(self.proxy.data(self.proxy.index(i, 0), _SORT_ROLE))
            for i in range(self.proxy.rowCount())
        ]

    def select_date(self, label: str) -> None:
        """Show ``label``'s mask and image only, select its row and move the controller."""
        if label not in self.ranges:
            return
        for i, shown in enumerate(self.visible_labels()):
            if shown == label:
                index = self.proxy.index(i, 0)
                if self.table.currentIndex().row() != i:
                    self.table.selectionModel().setCurrentIndex(
                        index,
                        QItemSelectionModel.SelectionFlag.ClearAndSelect
                        | QItemSelectionModel.SelectionFlag.Rows,
                    )
                    return  # _row_changed shows it
                break
        self._show(label)

    def step(self, delta: int) -> None:
        """Select the date ``delta`` rows after the current one in the list."""
        labels = self.visible_labels()
        if not labels:
            return
        i = labels.index(self.current) + delta if self.current in labels else 0
        self.select_date(labels[max(0, min(i, len(labels) - 1))])

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._show(str(self.proxy.data(self.proxy.index(current.row(), 0), _SORT_ROLE)))

    def _show(self, label: str) -> None:
        root = self.project.layerTreeRoot()
        for other, ids in self.layers.items():
            for layer_id in ids.values():
                node = root.findLayer(layer_id)
                if node is not None:
                    node.setItemVisibilityChecked(other == label)
        changed = label != self.current
        self.current = label
        self.chart.set_current(label)
        self._move_controller(label)
        if changed:
            self.dateChanged.emit(label)

    # -- the Temporal Controller --------------------------------------------------
    def _move_controller(self, label: str) -> None:
        nav = self.controller
        if nav is None or self._syncing:
            return
        frames = self._frames()
        frame = frames.index(self.ranges[label])
        if nav.navigationMode() != compat.NAVIGATION_ANIMATED:
            return
        if nav.currentFrameNumber() != frame:
            self._syncing = True
            try:
                nav.setCurrentFrameNumber(frame)
            finally:
                self._syncing = False

    def _controller_moved(self, frame: QgsDateTimeRange) -> None:
        if self._syncing or not self.ranges or not frame.begin().isValid():
            return
        nav = self.controller
        if nav is None or nav.navigationMode() != compat.NAVIGATION_ANIMATED:
            return
        start = frame.begin()
        hit = [lb for lb, r in self.ranges.items() if r.begin() <= start < r.end()]
        if hit and self.current not in hit:
            self._syncing = True
            try:
                self.select_date(hit[0])
            finally:
                self._syncing = False

    # -- filter and style -----------------------------------------------------------
    def _filter_changed(self, *_: Any) -> None:
        limit = float(self.filter_spin.value()) if self.filter_check.isChecked() else None
        self.proxy.set_max_cloud(limit)
        shown = set(self.visible_labels())
        self.chart.set_hidden(r.label for r in self.model.rows if r.label not in shown)
        self.chart.set_threshold(limit)
        if self.current is not None and self.current not in shown and shown:
            self.select_date(self.visible_labels()[0])

    def style_name(self) -> str:
        return str(self.style_combo.currentData())

    def _style_changed(self, *_: Any) -> None:
        name = self.style_name()
        QgsSettings().setValue(STYLE_SETTING, name)
        for ids in self.layers.values():
            layer = self.project.mapLayer(ids.get("mask", ""))
            if isinstance(layer, QgsRasterLayer) and layer.customProperty(STYLE_PROPERTY) != name:
                apply_mask_style(layer, style_name=name, over_image="truecolour" in ids)
