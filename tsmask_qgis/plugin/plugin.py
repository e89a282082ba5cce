"""The plugin object QGIS loads: action, menu, dialog, tasks, Processing provider."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QTimer
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from tsmask_qgis.plugin import deps, engine_env
from tsmask_qgis.plugin.convert import LOCAL, RunSettings
from tsmask_qgis.plugin.task import LOG_TAG, TsmaskTask, application_quits, quiet_flags

__all__ = [
    "ICON",
    "MENU",
    "TsmaskPlugin",
    "qgis_version",
    "show_temporal_controller",
    "stop_children",
]

MENU = "&tsmask"
#: How long after a task ends the plugin's message is shown (after QGIS's own notice).
NOTICE_DELAY_MS = 300
#: Seconds QGIS's quit waits for cancelled tasks to end (their files are then removed).
QUIT_WAIT = 10.0
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


def qgis_version() -> tuple[int, str]:
    """(Qgis.QGIS_VERSION_INT, Qgis.QGIS_VERSION) of the QGIS running the plugin."""
    return Qgis.QGIS_VERSION_INT, Qgis.QGIS_VERSION


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
        #: False once unloaded (or QGIS quits): callbacks then touch no interface.
        self.alive = True
        #: The running Run and Set up tasks (at most one of each).
        self.run_task: TsmaskTask | None = None
        self.setup_task: TsmaskTask | None = None
        self._setup_bar: Any = None
        self.missing_text: str | None = None
        self.refresh_engine()

    def refresh_engine(self) -> None:
        """Ask the worker interpreter (not QGIS's Python) which packages it lacks."""
        engine_env.apply_settings()
        deps._probe_cached.cache_clear()  # a set-up or another worker Python: ask again
        #: What this QGIS and the worker Python cannot run, and the one message saying why.
        self.check = deps.check(qgis_version())
        self.missing_text = self.check.message
        if self.dialog is not None:
            self.dialog.set_disabled_reason(self.missing_text, self.check.disabled)

    # -- QGIS hooks --------------------------------------------------------
    def initProcessing(self) -> None:
        """Register the ``tsmask`` Processing provider.

        The job children are stopped when QGIS quits (``aboutToQuit``, before Qt
        tears down), and when the plugin is unloaded.
        """
        app = QgsApplication.instance()
        if app is not None and not self._quit_hooked:
            app.aboutToQuit.connect(self._quitting)
            app.aboutToQuit.connect(stop_children)
            self._quit_hooked = True
        if self.provider is None and not self.check.qgis_too_old:
            from tsmask_qgis.plugin.processing.provider import TsmaskProvider

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
            self._offer_setup(self.missing_text)

    def _offer_setup(self, text: str) -> None:
        """A message bar item with the *Set up tsmask* button."""
        from qgis.PyQt.QtWidgets import QPushButton

        bar = self.iface.messageBar()
        item = bar.createMessage("tsmask", text.replace("\n", " "))
        button = QPushButton("Set up tsmask", item)
        button.setObjectName("tsmaskSetupButton")
        button.clicked.connect(self.setup)
        item.layout().addWidget(button)
        bar.pushWidget(item, Qgis.MessageLevel.Warning, 0)
        self._setup_bar = item

    def _quitting(self) -> None:
        """QGIS quits: end the tasks (:meth:`_end_tasks`); touch no interface from then on."""
        self.alive = False
        application_quits()
        self._end_tasks()

    def _end_tasks(self) -> None:
        """Cancel the tasks and wait for them to end (their child jobs are stopped, their
        temporary files removed), so no Python task outlives Python or the task manager.

        Waits for each ``run()`` to return (:attr:`TsmaskTask.ran`), then processes events
        until the task manager has handled its end, at most :data:`QUIT_WAIT` s in all.
        """
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        stop_children()  # a busy child is cancelled, killed if it does not stop
        deadline = time.monotonic() + QUIT_WAIT
        for task in tasks:
            while not task.ran.wait(0.02) and time.monotonic() < deadline:
                QCoreApplication.processEvents()
        while self.tasks and time.monotonic() < deadline:  # its end reaches the manager
            QCoreApplication.processEvents()
            time.sleep(0.02)
        # the task manager deletes a finished task later (deleteLater): do it now, while
        # Python runs, rather than in ~QgsTaskManager after Python has gone (an abort)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    def unload(self) -> None:
        """Remove everything :meth:`initGui` added, end running tasks, stop the children.

        QGIS 3.22 unloads the plugins when it quits before ``aboutToQuit`` reaches the
        plugin's hook (which unload disconnects), so the tasks are ended here too.
        """
        self.alive = False
        self._end_tasks()
        app = QgsApplication.instance()
        if app is not None and self._quit_hooked:
            for slot in (stop_children, self._quitting):
                try:
                    app.aboutToQuit.disconnect(slot)
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
                self.iface,
                self.iface.mainWindow(),
                disabled_reason=self.missing_text,
                disabled_features=self.check.disabled,
            )
            self.dialog.runRequested.connect(self.start)
            self.dialog.estimateRequested.connect(self.estimate)
            self.dialog.setupRequested.connect(self.setup)
            self.dialog.cancelRequested.connect(self.cancel_run)
            self.dialog.pythonChanged.connect(self.refresh_engine)
            if self.setup_task is not None or self.run_task is not None:
                self.dialog.set_running(True, setup=self.setup_task is not None)
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

    def _guarded(self, callback: Any) -> Any:
        """``callback`` that does nothing once the plugin is unloaded or QGIS quits."""

        def call(*args: Any) -> None:
            if self.alive:
                callback(*args)

        return call

    def cancel_run(self) -> None:
        """Cancel the running Run or Set up (the dialog's Cancel)."""
        for task in (self.run_task, self.setup_task):
            if task is not None:
                task.cancel()

    def setup(self) -> TsmaskTask | None:
        """*Set up tsmask*: the plugin's own environment, in a task (see :mod:`engine_env`)."""
        if self.setup_task is not None:
            return self.setup_task
        work = engine_env.setup_work()
        venv = engine_env.venv_dir()

        def done(python: Any) -> None:
            self._setup_ended()
            stop_children()  # warm children of the old interpreter
            self.refresh_engine()
            if self.missing_text:
                self._error(f"Set up finished but {self.missing_text}")
                return
            self._push(f"set up: the worker runs {python}; Run is ready", Qgis.MessageLevel.Success)

        def failed(exc: BaseException, details: str) -> None:
            self._setup_ended()
            self._error(f"Set up tsmask failed: {exc}")

        def cancelled() -> None:
            self._setup_ended()
            self._push("Set up tsmask cancelled; nothing was kept")

        task = TsmaskTask(
            f"Set up tsmask in {venv}",
            work,
            on_success=self._guarded(done),
            on_error=self._guarded(failed),
            on_cancel=self._guarded(cancelled),
            flags=quiet_flags(),
        )
        task.status.connect(self._status)
        task.progressChanged.connect(self._progress)
        if self._setup_bar is not None:
            with_bar = self._setup_bar
            self._setup_bar = None
            try:
                self.iface.messageBar().popWidget(with_bar)
            except RuntimeError:  # already closed by the user
                pass
        self.iface.messageBar().pushInfo(
            "tsmask",
            f"setting up tsmask in {venv} (progress in the task bar and the tsmask dialog)",
        )
        self.setup_task = task
        if self.dialog is not None:
            self.dialog.set_running(True, setup=True)
        return self._add_task(task)

    def _setup_ended(self) -> None:
        self.setup_task = None
        if self.dialog is not None:
            self.dialog.set_running(False)
            self.dialog.show_status("", "")

    def _progress(self, value: float) -> None:
        if self.dialog is not None and self.alive:
            self.dialog.show_progress(value)

    def start(self, settings: RunSettings) -> TsmaskTask | None:
        """Start a background run for ``settings``; layers are added when it finishes.

        The run is :func:`tsmask_qgis.pipeline.run` in a warm child Python process
        (see :mod:`tsmask_qgis.plugin.jobs` and :mod:`tsmask_qgis.jobs.client`). Returns
        the task, or ``None`` when it cannot start (the reason is shown in the message bar).
        """
        feature = "detect_local" if getattr(settings, "source", LOCAL) == LOCAL else "detect_stac"
        if not self.check.can_run(feature):
            self._error(self.missing_text or "")
            return None
        if self.run_task is not None:  # one run at a time (Run is disabled meanwhile)
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
            self._run_ended()
            name = group_name(settings.area_label(), result)
            from tsmask_qgis.plugin.browser import saved_style

            layer_group = add_result_layers(result, group_name=name, style_name=saved_style())
            self.show_browser(result, layer_group)
            self._status("", f"{name}: done, {len(result.masks)} dates added to the map")
            self._push(f"{name}: masks added to the map", Qgis.MessageLevel.Success)

        def on_error(exc: BaseException, details: str) -> None:
            self._run_ended()
            self._status("", f"{group} failed")
            self._error(f"{group} failed: {friendly_error(exc)}")

        def on_cancel() -> None:
            self._run_ended()
            self._status("", f"{group}: cancelled")
            self._push(
                f"{group}: cancelled; no half-written file was left (run it again to "
                "resume from the outputs it completed)"
            )

        task = TsmaskTask(
            group,
            work,
            on_success=self._guarded(on_success),
            on_error=self._guarded(on_error),
            on_cancel=self._guarded(on_cancel),
            flags=quiet_flags(),
        )
        task.status.connect(self._status)
        task.progressChanged.connect(self._progress)
        self.run_task = task
        if self.dialog is not None:
            self.dialog.set_running(True)
        return self._add_task(task)

    def _run_ended(self) -> None:
        self.run_task = None
        if self.dialog is not None:
            self.dialog.set_running(False)

    def _status(self, step: str, message: str) -> None:
        if self.dialog is not None and self.alive:
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
        """Show ``text`` as an error that stays, with where the details are."""
        self._push(
            f"{text} (details in the log panel, tab “{LOG_TAG}”)", Qgis.MessageLevel.Critical
        )

    def _push(self, text: str, level: Any = Qgis.MessageLevel.Info) -> None:
        """Show ``text`` in the message bar a moment later, so above QGIS's own "Task
        complete/failed" notice (QGIS < 3.26 has no Silent task flag): the plugin's
        message, which says what happened, is the one the user sees."""
        if not self.alive:
            return

        def push() -> None:
            if self.alive:
                duration = 0 if level == Qgis.MessageLevel.Critical else 10
                self.iface.messageBar().pushMessage("tsmask", text, level, duration)

        if QgsApplication.instance() is None or quiet_flags() != QgsTask.Flag.CanCancel:
            push()
        else:
            QTimer.singleShot(NOTICE_DELAY_MS, push)
