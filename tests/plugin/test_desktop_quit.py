"""Quitting the real QGIS desktop (under Xvfb) while a tsmask run is going.

Quitting QGIS (from a script: QgsApplication.quit()) with the run's task still running must not crash QGIS: the plugin
cancels the task, the job child is stopped (killed if it does not stop), the
run's temporary files are removed, and QGIS exits with status 0 (issue #10).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugin.desktop import desktop_env, install_zip, needs_desktop, run_qgis


@needs_desktop
@pytest.mark.parametrize("step", ["", "write"], ids=["first-step", "writing"])
def test_quitting_qgis_during_a_run_cancels_it_and_exits_0(tmp_path, step):
    plugins = install_zip(tmp_path)
    report = tmp_path / "report.json"
    out = tmp_path / "out"
    env = desktop_env(
        plugins,
        tmp_path,
        TSMASK_DESKTOP_REPORT=str(report),
        TSMASK_DESKTOP_OUT=str(out),
        TSMASK_QUIT_STEP=step,  # "": the first step (compiling: the zip has no kernel cache)
    )
    proc = run_qgis(tmp_path, "desktop_quit_session.py", env, screen="1280x800", timeout=90)
    logs = proc.stdout[-1500:] + proc.stderr[-2500:]
    assert report.exists(), f"no report (exit code {proc.returncode}):\n{logs}"
    got = json.loads(report.read_text())
    assert got["loaded"] and got["started"] and not got.get("error"), got
    assert not got.get("exceptions"), got["exceptions"]  # none raised in QGIS meanwhile
    # QGIS was quit with the run going: the task running, its child busy on a step
    assert got["step_at_quit"] == (step or got["step_at_quit"]) and got["busy"], got
    assert got["events"] == ["exit", "aboutToQuit"], got
    assert proc.returncode == 0, f"QGIS exited with {proc.returncode}: {got}\n{logs}"
    # the plugin (unloaded before aboutToQuit) ended the task and stopped the children
    assert got["children_at_quit"] == [], got
    # the task had ended (QgsTask.Complete / Terminated, or already deleted)
    assert got["task_status_at_quit"] in (3, 4, "deleted"), got
    for pid in got["children"]:
        assert not Path(f"/proc/{pid}").exists(), f"the job child {pid} outlived QGIS"
    # nothing half-written: no temporary file, no manifest claiming a complete run
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) if out.exists() else []
    assert not [p for p in left if ".tsmask-tmp" in p], left
    for manifest in out.rglob("*manifest*.json"):
        assert json.loads(manifest.read_text()).get("complete") is not True, manifest
