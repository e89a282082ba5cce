"""The QgsTask wrapper: synchronous run, task manager, cancel, errors."""

from __future__ import annotations

import time

from qgis.core import QgsApplication, QgsTask

from tsmask_qgis.plugin.task import TsmaskTask
from tsmask_qgis.progress import Report


def _start(task):
    """Add ``task`` to the manager; returns a list that gets the final status."""
    outcome = []
    task.taskCompleted.connect(lambda: outcome.append(QgsTask.TaskStatus.Complete))
    task.taskTerminated.connect(lambda: outcome.append(QgsTask.TaskStatus.Terminated))
    QgsApplication.taskManager().addTask(task)
    return outcome


def _wait(outcome, qgis_app, timeout=30.0):
    end = time.monotonic() + timeout
    while not outcome:
        qgis_app.processEvents()
        time.sleep(0.01)
        assert time.monotonic() < end, "task did not finish"
    for _ in range(10):
        qgis_app.processEvents()
    return outcome[0]


def test_run_synchronously(qgis_app):
    seen = []

    def work(progress):
        for i in range(5):
            progress(Report("detect", i / 4, f"step {i}"))
        return 42

    task = TsmaskTask("sync", work, on_success=seen.append)
    assert task.run() is True
    task.finished(True)
    assert task.result == 42 and seen == [42]
    assert task.messages == [f"step {i}" for i in range(5)]
    assert task.progress() == 100


def test_error_is_kept_and_reported(qgis_app):
    errors = []

    def work(progress):
        progress(Report("detect", 0.1, "reading"))
        raise ValueError("band 'swir1' is missing")

    task = TsmaskTask("failing", work, on_error=lambda e, d: errors.append((e, d)))
    assert task.run() is False
    task.finished(False)
    ((exc, details),) = errors
    assert isinstance(exc, ValueError) and "swir1" in str(exc)
    assert "Traceback" in details and "work" in details


def test_task_manager_run(qgis_app):
    done = []

    def work(progress):
        for i in range(3):
            progress(Report("detect", i / 2, "working"))
            time.sleep(0.01)
        return "ok"

    task = TsmaskTask("managed", work, on_success=done.append)
    assert _wait(_start(task), qgis_app) == QgsTask.TaskStatus.Complete
    assert done == ["ok"]


def test_task_manager_cancel_stops_quickly(qgis_app):
    cancelled = []
    started = []

    def work(progress):
        started.append(time.monotonic())
        for i in range(10_000):
            progress(Report("detect", i / 10_000, "long"))
            time.sleep(0.01)
        return "should not finish"

    task = TsmaskTask(
        "cancel me",
        work,
        on_success=lambda r: cancelled.append("success"),
        on_cancel=lambda: cancelled.append("cancelled"),
    )
    outcome = _start(task)
    end = time.monotonic() + 10
    while not started and time.monotonic() < end:
        qgis_app.processEvents()
        time.sleep(0.01)
    t0 = time.monotonic()
    task.cancel()
    assert _wait(outcome, qgis_app) == QgsTask.TaskStatus.Terminated
    assert time.monotonic() - t0 < 5
    assert cancelled == ["cancelled"] and task.result is None
