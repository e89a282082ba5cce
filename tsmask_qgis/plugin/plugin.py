"""The plugin object QGIS loads: action, menu, dialog, tasks, Processing provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from tsmask_qgis.plugin import deps
from tsmask_qgis.plugin.convert import RunSettings
from tsmask_qgis.plugin.task import LOG_TAG, TsmaskTask

__all__ = ["ICON", "MENU", "TsmaskPlugin", "show_temporal_controller", "stop_children"]

MENU = "&tsmask"
#: The plugin icon (inside the package when installed from the zip, else the checkout's).
_HERE = Path(__file__).resolve().parent
ICON = next(
    (
        str(p)
        for p in (
            _HERE.parent / "resources" / "icon.svg",
            _HERE.parents[1] / "resources" / "icon.svg",
        )
        if p.is_file()
    ),
    "",
)


def stop_children() -> None:
    """Stop the warm job children (:func:`tsmask_qgis.jobs.client.shutdown`)."""
    from tsmask_qgis.jobs import client

    client.shutdown()


def show_temporal_controller(window: Any) -> bool:
    """Open QGIS's Temporal Controller panel in ``window`` (the main window); ``False`` if
    it has none."""
    from qgis.PyQt.QtWidgets import QDockWidget

    for dock in window.findChildren(QDockWidget):
        if dock.metaObject().className() == "QgsTemporalControllerDockWidget":
            dock.show()
            dock.raise_()
            return True
    return False


class TsmaskPlugin:
    """Created by ``classFactory``; QGIS calls :meth:`initGui` and :meth:`unload`."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.action: QAction | None = None
        self.provider: Any = None
        self.dialog: Any = None
        #: The mask browser dock (made after the first run).
        self.browser: Any = None
        #: Tasks started and not yet finished (Python must hold a reference).
        self.tasks: list[TsmaskTask] = []
        self._quit_hooked = False
        #: Packages missing for detection (empty when everything is installed).
        self.missing = deps.missing("detect_local")
        self.missing_text = deps.missing_message(self.missing) if self.missing else None

    # -- QGIS hooks --------------------------------------------------------
    def initProcessing(self) -> None:
        """Register the ``tsmask`` Processing provider.

        The job children are stopped when QGIS quits (``aboutToQuit``, before Qt
        tears down), and when the plugin is unloaded.
        """
        from tsmask_qgis.plugin.processing.provider import TsmaskProvider

        app = QgsApplication.instance()
        if app is not None and not self._quit_hooked:
            app.aboutToQuit.connect(stop_children)
            self._quit_hooked = True
        if self.provider is None:
            provider = TsmaskProvider()
            # addProvider refuses (and deletes) a provider whose id is already registered.
            if QgsApplication.processingRegistry().addProvider(provider):
                self.provider = provider

    def initGui(self) -> None:
        """Add the toolbar button and menu entry; report missing packages once."""
        self.initProcessing()
        self.action = QAction(
            QIcon(ICON), "tsmask: cloud and shadow masks…", self.iface.mainWindow()
        )
        self.action.setObjectName("tsmaskAction")
        self.action.setToolTip("Detect cloud and cloud shadow in a Sentinel-2 time series")
        self.action.triggered.connect(self.show_dialog)
        self.iface.addRasterToolBarIcon(self.action)
        self.iface.addPluginToRasterMenu(MENU, self.action)
        if self.missing_text:
            QgsMessageLog.logMessage(self.missing_text, LOG_TAG, Qgis.MessageLevel.Warning)
            self.iface.messageBar().pushMessage(
                "tsmask", self.missing_text.replace("\n", " "), Qgis.MessageLevel.Warning, 0
            )

    def unload(self) -> None:
        """Remove everything :meth:`initGui` added, cancel running tasks, stop the children."""
        for task in list(self.tasks):
            task.cancel()
        app = QgsApplication.instance()
        if app is not None and self._quit_hooked:
            try:
                app.aboutToQuit.disconnect(stop_children)
            except TypeError:  # not connected
                pass
            self._quit_hooked = False
        if self.action is not None:
            self.iface.removePluginRasterMenu(MENU, self.action)
            self.iface.removeRasterToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
        if self.browser is not None:
            self.iface.removePluginRasterMenu(MENU, self.browser.toggleViewAction())
            self.iface.removeDockWidget(self.browser)
            self.browser.deleteLater()
            self.browser = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        stop_children()

    # -- actions -----------------------------------------------------------
    def show_dialog(self) -> None:
        """Open (or raise) the dialog."""
        if self.dialog is None:
            from tsmask_qgis.plugin.dialog import TsmaskDialog

            self.dialog = TsmaskDialog(
                self.iface, self.iface.mainWindow(), disabled_reason=self.missing_text
            )
            self.dialog.runRequested.connect(self.start)
            self.dialog.estimateRequested.connect(self.estimate)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def show_browser(self, result: Any, group: Any) -> Any:
        """Show the mask browser dock on the layers of ``group`` (a run's result); return it.

        The map's Temporal Controller is set up to step through the run's dates.
        """
        from qgis.core import QgsProject, QgsTemporalNavigationObject
        from qgis.PyQt.QtCore import Qt

        from tsmask_qgis.plugin.browser import MaskBrowserDock

        if self.browser is None:
            controller = self.iface.mapCanvas().temporalController()
            if not isinstance(controller, QgsTemporalNavigationObject):
                controller = None
            self.browser = MaskBrowserDock(
                self.iface.mainWindow(), project=QgsProject.instance(), controller=controller
            )
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.browser)
            action = self.browser.toggleViewAction()
            action.setText("tsmask: mask browser")
            self.iface.addPluginToRasterMenu(MENU, action)
        self.browser.set_result(group, list(result.rows().values()))
        self.browser.show()
        self.browser.raise_()
        if self.browser.controller is not None:
            show_temporal_controller(self.iface.mainWindow())
        return self.browser

    def _add_task(self, task: TsmaskTask) -> TsmaskTask:
        self.tasks.append(task)

        def _forget(*_: Any) -> None:
            if task in self.tasks:
                self.tasks.remove(task)

        task.taskCompleted.connect(_forget)
        task.taskTerminated.connect(_forget)
        QgsApplication.taskManager().addTask(task)
        return task

    def start(self, settings: RunSettings) -> TsmaskTask | None:
        """Start a background run for ``settings``; layers are added when it finishes.

        The run is :func:`tsmask_qgis.pipeline.run` in a warm child Python process
        (see :mod:`tsmask_qgis.plugin.jobs` and :mod:`tsmask_qgis.jobs.client`). Returns
        the task, or ``None`` when it cannot start (the reason is shown in the message bar).
        """
        if self.missing_text:
            self._error(self.missing_text)
            return None
        from tsmask_qgis.plugin.jobs import friendly_error, job_work
        from tsmask_qgis.plugin.layers import add_result_layers, group_name

        group = settings.area_name()
        try:
            work = job_work(settings)
        except ValueError as exc:
            self._error(f"{group}: {exc}")
            return None

        def on_success(result: Any) -> None:
            name = group_name(settings.area_label(), result)
            from tsmask_qgis.plugin.browser import saved_style

            layer_group = add_result_layers(result, group_name=name, style_name=saved_style())
            self.show_browser(result, layer_group)
            self._status("", f"{name}: done, {len(result.masks)} dates added to the map")
            self.iface.messageBar().pushSuccess("tsmask", f"{name}: masks added to the map")

        def on_error(exc: BaseException, details: str) -> None:
            self._status("", f"{group} failed")
            self._error(f"{group} failed: {friendly_error(exc)}")

        def on_cancel() -> None:
            self._status("", f"{group}: cancelled")
            self.iface.messageBar().pushInfo(
                "tsmask",
                f"{group}: cancelled; no half-written file was left (run it again to "
                "resume from the outputs it completed)",
            )

        task = TsmaskTask(
            group, work, on_success=on_success, on_error=on_error, on_cancel=on_cancel
        )
        task.status.connect(self._status)
        return self._add_task(task)

    def _status(self, step: str, message: str) -> None:
        if self.dialog is not None:
            self.dialog.show_status(step, message)

    def estimate(self, settings: RunSettings) -> TsmaskTask | None:
        """Estimate in a small background task and show the figures in the dialog.

        Catalogue sources use :func:`tsmask_qgis.loaders.estimate` (a search,
        no pixel is read); local stacks are opened lazily for their size; both
        in a child Python process.
        """
        from tsmask_qgis.plugin.jobs import estimate_work, friendly_error

        def show(info: Any) -> None:
            if self.dialog is not None:
                self.dialog.show_estimate(info, settings=settings)

        def failed(exc: BaseException, details: str) -> None:
            if self.dialog is not None:
                self.dialog.show_estimate(f"Estimate failed: {friendly_error(exc)}", error=True)

        try:
            work = estimate_work(settings)
        except ValueError as exc:
            failed(exc, "")
            return None
        task = TsmaskTask("tsmask estimate", work, on_success=show, on_error=failed)
        return self._add_task(task)

    def _error(self, text: str) -> None:
        self.iface.messageBar().pushMessage(
            "tsmask",
            f"{text} (details in the log panel, tab “{LOG_TAG}”)",
            Qgis.MessageLevel.Critical,
            0,
        )
