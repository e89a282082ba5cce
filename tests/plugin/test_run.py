"""A whole Run from the plugin: the pipeline in a task, a warm worker process, layers on the map."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import pytest
from qgis.core import QgsPalettedRasterRenderer, QgsProject, QgsTask
from qgis.PyQt.QtWidgets import QScrollArea

import tsmask_qgis
from tests.plugin.test_task import _wait
from tsmask_qgis.jobs import client
from tsmask_qgis.pipeline import Job
from tsmask_qgis.plugin.convert import LOCAL, RunSettings
from tsmask_qgis.plugin.jobs import ALWAYS_FORMATS, job_options
from tsmask_qgis.plugin.layers import group_name, result_groups


def _settings(path, out, **kw):
    return RunSettings(
        bbox=None,
        start=dt.date(2017, 1, 1),
        end=dt.date(2017, 3, 1),
        out_dir=out,
        source=LOCAL,
        input_path=path,
        workers=1,
        **kw,
    )


def _outcome(task):
    outcome = []
    task.taskCompleted.connect(lambda: outcome.append(QgsTask.TaskStatus.Complete))
    task.taskTerminated.connect(lambda: outcome.append(QgsTask.TaskStatus.Terminated))
    return outcome


def to_job(settings):
    """The pipeline Job the child builds from the plugin's plain job options."""
    return Job(**job_options(settings))


def test_settings_become_a_pipeline_job(qgis_app, scene_nc, tmp_path):
    path, _ = scene_nc
    job = to_job(
        _settings(
            path,
            tmp_path,
            formats=("cog", "netcdf"),
            truecolour=True,
            max_memory=2 * 10**9,
            overwrite=True,
            preset="dea",
            spatial=False,
            overrides={"majority_passes": 1},
        )
    )
    assert job.input == path and job.request is None
    assert job.runner == "auto" and job.workers == 1  # the engine chooses, in the child
    assert to_job(_settings(path, tmp_path, runner="processes")).runner == "processes"
    assert set(job.formats) == {*ALWAYS_FORMATS, "netcdf"}
    assert job.truecolour and job.overwrite and job.max_memory == 2 * 10**9
    assert (job.preset, job.spatial, job.overrides) == ("dea", False, (("majority_passes", 1),))


def result_layers_of(task):
    """The task's result (the plugin's ResultLayers)."""
    return task.result


def test_run_adds_styled_temporal_layers(
    qgis_app, qgis_iface, qgis_new_project, scene_nc, tmp_path
):
    path, scene = scene_nc
    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    try:
        settings = _settings(path, tmp_path / "out", truecolour=True)
        task = plugin.start(settings)
        assert _wait(_outcome(task), qgis_app, timeout=120) == QgsTask.TaskStatus.Complete
        # the mask browser opened on the run's dates, the first one selected
        assert plugin.browser is not None and plugin.browser.model.rowCount() == 12
        assert plugin.browser.current == min(task.result.masks, key=task.result.times.get)
    finally:
        plugin.unload()
    assert plugin.browser is None
    assert task.steps == ["read", "detect", "spatial", "write"]  # a local stack: read
    [group] = result_groups(QgsProject.instance(), settings.out_dir)
    assert group.name() == group_name(settings.area_label(), result_layers_of(task))
    names = [n.name() for n in group.children()]
    assert names[-2:] == ["true colour", "clear observations"]
    masks = [n.layer() for n in group.children()[:-2]]
    assert len(masks) == 12
    for layer, t in zip(masks, scene.ds.time.values, strict=True):
        assert isinstance(layer.renderer(), QgsPalettedRasterRenderer)
        begin = layer.temporalProperties().fixedTemporalRange().begin().date().toPyDate()
        assert begin.isoformat() == str(t)[:10]
        assert Path(layer.source()).with_suffix(".qml").exists()
    assert len(group.children()[-2].findLayers()) == 12
    assert "numba" not in sys.modules


@pytest.fixture(scope="module")
def big_nc(tmp_path_factory):
    """A stack whose detection takes seconds on one worker (60 dates of 256 x 256)."""
    from tsmask_qgis.evaluate import make_scene

    scene = make_scene(shape=(60, 256, 256), seed=2)
    path = tmp_path_factory.mktemp("big") / "big.nc"
    scene.ds.to_netcdf(path, encoding={v: {"zlib": True, "complevel": 1} for v in scene.ds})
    return path


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _shm_leftovers() -> set[str]:
    shm = Path("/dev/shm")
    return {p.name for p in shm.glob("tsmask_*")} if shm.is_dir() else set()


def _orphaned(names: set[str]) -> set[str]:
    """The segments (named tsmask_<creator pid>_...) whose creating process is gone or is
    this one. /dev/shm is shared by the whole machine: a live process's segment belongs
    to another run (another test session on the machine), not to the cancelled worker."""
    out = set()
    for name in names:
        pid = name.removeprefix("tsmask_").split("_")[0]
        try:
            if int(pid) != os.getpid():
                os.kill(int(pid), 0)
                continue  # alive, and not ours
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, another user's
        except ValueError:
            pass  # not our naming: count it
        out.add(name)
    return out


def _group_cpu_seconds(pgid: int) -> float:
    """CPU seconds used so far by the processes of process group ``pgid``."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("runner", ["auto", "processes"])
def test_cancel_mid_detection_stops_workers_and_keeps_no_files(
    qgis_app, qgis_iface, big_nc, tmp_path, runner
):
    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    out = tmp_path / "out"
    shm_before = _shm_leftovers()
    try:
        task = plugin.start(_settings(big_nc, out, runner=runner))
        outcome = _outcome(task)
        end = time.monotonic() + 120
        while task.step != "detect":
            qgis_app.processEvents()
            time.sleep(0.02)
            assert not outcome, f"the run ended before detection: {task.messages[-3:]}"
            assert time.monotonic() < end, "detection did not start"
        (child,) = client.busy()
        t0 = time.monotonic()
        task.cancel()
        assert _wait(outcome, qgis_app, timeout=60) == QgsTask.TaskStatus.Terminated
        assert time.monotonic() - t0 < 5
        # the child stopped the job itself and stays warm for the next one; nothing of the
        # job runs on in it (no thread, no worker process of its pool)
        assert client.busy() == [] and client.pids() == [child]
        time.sleep(0.5)
        before = _group_cpu_seconds(child)
        time.sleep(1.0)
        assert _group_cpu_seconds(child) - before < 0.2, "the job went on after the cancel"
    finally:
        plugin.unload()
    assert task.step == "detect" and task.result is None and task.error is None
    end = time.monotonic() + 5
    while _group_alive(child) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _group_alive(child), "the worker process or its pool outlived the plugin"
    assert client.pids() == []
    assert _orphaned(_shm_leftovers() - shm_before) == set()
    assert not out.exists() or [p for p in out.rglob("*") if p.is_file()] == []


def test_existing_outputs_of_another_run_are_refused_clearly(
    qgis_app, qgis_iface, scene_nc, tmp_path
):
    path, _ = scene_nc
    out = tmp_path / "out"
    out.mkdir()
    (out / "clear_count.tif").write_bytes(b"not ours")
    errors = []
    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    plugin._error = errors.append
    try:
        task = plugin.start(_settings(path, out))
        assert _wait(_outcome(task), qgis_app, timeout=120) == QgsTask.TaskStatus.Terminated
    finally:
        plugin.unload()
    (text,) = errors
    assert "clear_count.tif" in text and "Overwrite existing outputs" in text
    assert "--overwrite" not in text
    assert (out / "clear_count.tif").read_bytes() == b"not ours"


def test_dialog_run_shows_progress_refuses_a_second_start_and_cancels(
    qgis_app, qgis_iface, clean_settings, big_nc, tmp_path
):
    plugin = tsmask_qgis.classFactory(qgis_iface)
    plugin.initGui()
    started = []
    try:
        plugin.show_dialog()
        dlg = plugin.dialog
        # fits a 768 px laptop screen: the sections scroll, the run panel stays
        assert dlg.sizeHint().height() <= 700, dlg.sizeHint()
        assert dlg.findChild(QScrollArea, "formScroll") is not None
        dlg.set_source(LOCAL)
        dlg.local_widget.setFilePath(str(big_nc))
        dlg.out_widget.setFilePath(str(tmp_path / "out"))
        assert dlg.validate() == {} and dlg.run_button.isEnabled()
        assert dlg.progress_bar.isHidden() and dlg.cancel_button.isHidden()
        real_start = plugin.start
        plugin.dialog.runRequested.disconnect()
        plugin.dialog.runRequested.connect(lambda s: started.append(real_start(s)))
        dlg.run_button.click()
        dlg.run_button.click()  # a double click: one run
        (task,) = [t for t in started if t is not None]
        assert len(started) == 1 and not dlg.run_button.isEnabled()
        assert plugin.start(dlg.run_settings()) is None  # nor from anywhere else
        assert not dlg.progress_bar.isHidden() and dlg.cancel_button.isEnabled()
        outcome = _outcome(task)
        end = time.monotonic() + 120
        while task.step != "detect":
            qgis_app.processEvents()
            time.sleep(0.02)
            assert not outcome and time.monotonic() < end, task.messages[-3:]
        end = time.monotonic() + 10
        while "Detecting" not in dlg.progress_bar.format() and time.monotonic() < end:
            qgis_app.processEvents()
            time.sleep(0.02)
        # the step names a local stack honestly (no catalogue, no download)
        assert task.steps[0] == "read" and "Reading the stack" not in dlg.progress_bar.format()
        assert "Detecting cloud and shadow" in dlg.progress_bar.format()
        assert dlg.progress_bar.value() > 0
        dlg.cancel_button.click()
        assert _wait(outcome, qgis_app, timeout=60) == QgsTask.TaskStatus.Terminated
        qgis_app.processEvents()
        assert dlg.run_button.isEnabled() and dlg.progress_bar.isHidden()
        assert "cancelled" in dlg.status_label.text()
    finally:
        plugin.unload()
