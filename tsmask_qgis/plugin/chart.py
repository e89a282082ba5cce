"""The browser's small chart: cloud and shadow percentage of each date through time.

Drawn with ``QPainter`` (no matplotlib in the QGIS process). Dates the
browser's filter hides are drawn as hollow grey points; the current date has
a vertical marker; the filter's threshold is a dashed line. Clicking near a
point emits :attr:`CloudChart.dateClicked` with its date label.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qgis.PyQt.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QFont, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from qgis.PyQt.QtWidgets import QSizePolicy, QWidget

from tsmask_qgis.classes import CHART_COLOURS

__all__ = ["ChartPoint", "CloudChart"]

#: Room (pixels) between the plot's sides and the first and last points.
_INSET = 7.0

#: How near (pixels) a click must be to a point to pick its date.
_PICK_RADIUS = 14.0


@dataclass(frozen=True)
class ChartPoint:
    """One date on the chart: its label, time (ms since the epoch), cloud and shadow %."""

    label: str
    msecs: float
    cloud: float
    shadow: float


class CloudChart(QWidget):
    """Cloud (circles) and shadow (squares) % of observed pixels, one point per date."""

    #: Emitted with the date label of the point clicked.
    dateClicked = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[ChartPoint] = []
        self.hidden: set[str] = set()
        self.current: str | None = None
        self.threshold: float | None = None
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(False)
        self.setToolTip("Cloud and shadow (% of observed pixels) per date: click a point")

    def sizeHint(self) -> QSize:
        return QSize(320, 130)

    # -- state ---------------------------------------------------------------
    def set_points(self, points: Iterable[ChartPoint]) -> None:
        self.points = sorted(points, key=lambda p: (p.msecs, p.label))
        self.update()

    def set_hidden(self, labels: Iterable[str]) -> None:
        self.hidden = set(labels)
        self.update()

    def set_current(self, label: str | None) -> None:
        self.current = label
        self.update()

    def set_threshold(self, value: float | None) -> None:
        self.threshold = value
        self.update()

    # -- geometry ------------------------------------------------------------
    def plot_rect(self) -> QRectF:
        """The area the points are drawn in (room for the legend above, axis labels left)."""
        return QRectF(34.0, 20.0, max(self.width() - 44.0, 10.0), max(self.height() - 36.0, 10.0))

    def _x(self, msecs: float, rect: QRectF) -> float:
        first, last = self.points[0].msecs, self.points[-1].msecs
        if last <= first:
            return rect.center().x()
        inner = rect.adjusted(_INSET, 0, -_INSET, 0)  # the end points clear of the axis labels
        return inner.left() + (msecs - first) / (last - first) * inner.width()

    @staticmethod
    def _y(percent: float, rect: QRectF) -> float:
        return rect.bottom() - max(0.0, min(percent, 100.0)) / 100.0 * rect.height()

    def point_of(self, label: str, kind: str = "cloud") -> QPointF:
        """Where the ``kind`` (cloud or shadow) point of ``label`` is drawn (widget pixels)."""
        rect = self.plot_rect()
        for p in self.points:
            if p.label == label:
                value = p.cloud if kind == "cloud" else p.shadow
                return QPointF(
                    self._x(p.msecs, rect), self._y(0.0 if math.isnan(value) else value, rect)
                )
        raise KeyError(label)

    def label_at(self, pos: QPointF) -> str | None:
        """The date whose cloud or shadow point is nearest ``pos`` (within a few pixels)."""
        best: tuple[float, str] | None = None
        for p in self.points:
            for kind in ("cloud", "shadow"):
                q = self.point_of(p.label, kind)
                d = math.hypot(q.x() - pos.x(), q.y() - pos.y())
                if d <= _PICK_RADIUS and (best is None or d < best[0]):
                    best = (d, p.label)
        return None if best is None else best[1]

    # -- Qt events -------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        label = self.label_at(QPointF(event.pos()))
        if label is not None:
            self.dateClicked.emit(label)
            event.accept()
            return
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), QColor("white"))
        rect = self.plot_rect()
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.8, 6.0))
        painter.setFont(font)
        grid = QPen(QColor("#d8d8d8"))
        for pct in (0, 50, 100):
            y = self._y(pct, rect)
            painter.setPen(grid)
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            painter.setPen(QColor("#555555"))
            painter.drawText(
                QRectF(0, y - 8, rect.left() - 4, 16),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                f"{pct} %",
            )
        self._legend(painter, rect)
        if not self.points:
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), "no dates")
            return
        if self.threshold is not None:
            pen = QPen(QColor("#c0392b"))
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            y = self._y(self.threshold, rect)
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
        if self.current is not None and any(p.label == self.current for p in self.points):
            x = self.point_of(self.current).x()
            painter.setPen(QPen(QColor("#f39c12"), 2.0))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        for kind in ("shadow", "cloud"):
            self._series(painter, kind)
        painter.setPen(QColor("#555555"))
        first, last = self.points[0].label[:10], self.points[-1].label[:10]
        bottom = QRectF(rect.left(), rect.bottom() + 2, rect.width(), 14)
        painter.drawText(bottom, int(Qt.AlignmentFlag.AlignLeft), first)
        painter.drawText(bottom, int(Qt.AlignmentFlag.AlignRight), last)

    def _legend(self, painter: QPainter, rect: QRectF) -> None:
        """The legend above the plot area, so it never covers a point."""
        x = rect.left()
        for kind, text in (("cloud", "cloud % of observed"), ("shadow", "shadow %")):
            self._marker(painter, kind, QPointF(x + 5, 9), filled=True)
            painter.setPen(QColor("#333333"))
            painter.drawText(QRectF(x + 13, 1, 140, 16), int(Qt.AlignmentFlag.AlignVCenter), text)
            x += 22 + painter.fontMetrics().horizontalAdvance(text)

    def _marker(self, painter: QPainter, kind: str, at: QPointF, *, filled: bool) -> None:
        colour = QColor(CHART_COLOURS[kind] if filled else CHART_COLOURS["hidden"])
        painter.setPen(QPen(colour, 1.5))
        painter.setBrush(colour if filled else QColor("white"))
        if kind == "cloud":
            painter.drawEllipse(at, 3.5, 3.5)
        else:
            painter.drawRect(QRectF(at.x() - 3, at.y() - 3, 6, 6))

    def _series(self, painter: QPainter, kind: str) -> None:
        observed: Sequence[ChartPoint] = [
            p for p in self.points if not math.isnan(p.cloud if kind == "cloud" else p.shadow)
        ]
        path = QPainterPath()
        for i, p in enumerate(observed):
            q = self.point_of(p.label, kind)
            if i == 0:
                path.moveTo(q)
            else:
                path.lineTo(q)
        line = QColor(CHART_COLOURS[kind])
        line.setAlpha(110)
        painter.setPen(QPen(line, 1.2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        for p in observed:
            self._marker(
                painter, kind, self.point_of(p.label, kind), filled=p.label not in self.hidden
            )
