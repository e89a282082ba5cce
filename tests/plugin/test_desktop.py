"""Smoke test in the real QGIS desktop binary (under Xvfb), not a Python host.

The ``qgis`` executable loads Debian's GDAL/netCDF/PROJ into the global symbol
scope, which pytest-qgis cannot reproduce: there ``import netCDF4`` crashed
QGIS. This installs the packaged plugin into a private plugin path and profile,
runs the bundled sample through the plugin's task with true colour, and checks
the layers, that QGIS exits 0 with the warm job child alive at exit (and that
the child ends with it), and that the QGIS process imported no banned module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.plugin.desktop import desktop_env, install_zip, needs_desktop, run_qgis


@needs_desktop
def test_desktop_qgis_runs_the_sample_without_crashing(tmp_path):
    plugins = install_zip(tmp_path)
    report = tmp_path / "report.json"
    env = desktop_env(
        plugins,
        tmp_path,
        TSMASK_DESKTOP_REPORT=str(report),
        TSMASK_DESKTOP_OUT=str(tmp_path / "out"),
        TSMASK_DESKTOP_SHOTS=os.environ.get("TSMASK_DESKTOP_SHOTS", ""),
        TSMASK_DESKTOP_SHOT_DATE=os.environ.get("TSMASK_DESKTOP_SHOT_DATE", ""),
        TSMASK_DESKTOP_WAIT="240",  # then the session cancels the run, and quits
    )
    screen = os.environ.get("TSMASK_DESKTOP_SCREEN", "1280x800")
    proc = run_qgis(tmp_path, "desktop_session.py", env, screen=screen, timeout=360)
    logs = proc.stdout[-1500:] + proc.stderr[-2500:]
    assert report.exists(), f"no report (exit code {proc.returncode}):\n{logs}"
    got = json.loads(report.read_text())
    assert proc.returncode == 0, f"QGIS exited with {proc.returncode}: {got}\n{logs}"
    assert got["loaded"] and not got.get("error"), got
    assert Path(got["plugin_file"]).is_relative_to(plugins)
    # a local stack is read; the zip carries no kernel cache, so this run compiles them
    # first and says so (test_desktop_setup.py: after Set up tsmask, no run compiles)
    assert got["steps"] in (
        ["read", "detect", "spatial", "write"],
        ["compile", "read", "detect", "spatial", "write"],
    )
    # one group named by the area and the data's dates (not the dialog's 2015-11-01..2016-09-01)
    [group] = got["result_groups"]
    assert group.startswith("tsmask wright_act 2015-11-") and group.endswith("2016-08-18")
    assert "true colour" in got["groups"]
    masks = [n for n in got["layers"] if " % cloud" in n]
    truecolour = [n for n in got["layers"] if n.startswith("true colour ")]
    assert masks and len(masks) == len(truecolour)
    # ready to look at: the first date only; the browser lists every date; the Temporal
    # Controller steps over the data's dates one acquisition a frame, and follows the browser
    assert len(got["visible"]) == 2 and got["visible"][0].startswith(group[18:28])
    browser = got["browser"]
    assert browser["visible"] and browser["has_controller"]
    assert browser["rows"] == len(masks) and browser["current"] == group[18:28]
    ctl = got["controller"]
    assert ctl["mode"] == 1 and ctl["frames"] == len(masks)  # Animated, a frame per date
    assert ctl["begin"] == group[18:28] and got["after_next"] != browser["current"]
    assert got["frame_after_select"] == 3
    assert got["temporal_dock_visible"] == [True]  # the plugin opened QGIS's panel
    assert "clear observations" in got["layers"]
    assert got["banned"] == []
    # the warm child was alive at exit; the plugin stopped it on aboutToQuit, QGIS exited 0
    assert len(got["children"]) == 1 and got["children_at_quit"] == []
    for pid in got["children"]:
        assert not Path(f"/proc/{pid}").exists(), f"the job child {pid} outlived QGIS"
