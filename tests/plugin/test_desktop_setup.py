"""A new user in the real QGIS desktop binary (under Xvfb), not a Python host.

The ``qgis`` executable loads Debian's GDAL/netCDF/PROJ into the global symbol
scope, which pytest-qgis cannot reproduce (there ``import netCDF4`` crashed
QGIS). This installs the packaged plugin into a private plugin path and a clean
profile, with a worker Python that has none of the engine's packages and QGIS's
own Python without them either; then, as a user would (desktop_setup_session.py):
*Set up tsmask* from the message bar (offline, from ``make env``'s wheel
folder), Run on the bundled sample from the dialog, screenshots, quit. It checks the environment is the plugin's own, the
layers, the messages, that QGIS exits 0, that the children end with it, and that the QGIS process imported no banned module.
Screenshots go to ``$TSMASK_SCREENSHOTS`` when set (for docs/img/).

The set-up (pip from local wheels, the kernels compiled once) takes 1-3 minutes:
this is the only test that runs it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.plugin.desktop import desktop_env, install_zip, needs_desktop, run_qgis

ROOT = Path(__file__).resolve().parents[2]
WHEELS = Path(os.environ.get("TSMASK_WHEELS") or ROOT / "build" / "wheels")


@pytest.mark.slow
@needs_desktop
@pytest.mark.skipif(
    not any(WHEELS.glob("*.whl")), reason=f"no wheel folder {WHEELS} (make env downloads it)"
)
def test_new_user_sets_up_tsmask_then_runs_the_sample(tmp_path):
    plugins = install_zip(tmp_path)
    report = tmp_path / "report.json"
    shots = Path(os.environ.get("TSMASK_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    # Debian's QGIS runs /usr/bin/python3 (numpy, no numba, rasterio, ...): the worker
    # found automatically is that Python, which lacks the engine's packages.
    env = desktop_env(
        plugins,
        tmp_path,
        drop=("VIRTUAL_ENV", "TSMASK_PYTHON"),
        worker=False,
        TSMASK_WHEELS=str(WHEELS),
        TSMASK_DESKTOP_REPORT=str(report),
        TSMASK_DESKTOP_OUT=str(tmp_path / "out"),
        TSMASK_DESKTOP_SHOTS=str(shots),
        PYTHONWARNINGS="always::ResourceWarning",
        PIP_NO_CACHE_DIR="1",
    )
    proc = run_qgis(tmp_path, "desktop_setup_session.py", env, screen="1366x768", timeout=1200)
    (tmp_path / "qgis.stderr").write_text(proc.stderr)
    logs = proc.stdout[-1500:] + proc.stderr[-3000:]
    assert report.exists(), f"no report (exit code {proc.returncode}):\n{logs}"
    got = json.loads(report.read_text())
    assert not got.get("error"), f"{got}\n{logs}"
    assert proc.returncode == 0, f"QGIS exited with {proc.returncode}: {got}\n{logs}"
    assert got["loaded"] and Path(got["plugin_file"]).is_relative_to(plugins)

    # 1. the worker lacked the packages: the message bar offered Set up tsmask
    assert "lacks" in got["missing_at_start"] and "numba" in got["missing_at_start"]
    assert got["setup_button"]
    # 2. the set-up made the plugin's own environment in the profile, and the worker runs it
    venv = Path(got["venv"])
    assert venv.is_relative_to(tmp_path / "profiles")
    assert (venv / "tsmask-setup.json").is_file() and not venv.with_name("venv.partial").exists()
    assert got["missing_after_setup"] == "" and got["worker_python"].startswith(str(venv))
    assert "the worker runs" in got["bar_after_setup"]  # the plugin's message, on top
    # the dialog showed the set-up's progress, its Set up button disabled meanwhile
    assert got["setup_progress_visible"] and got["setup_button_enabled"] is False
    # 3. Run from the dialog: one run on a double click, Run disabled meanwhile
    assert got["problems"] == {} and got["run_enabled"]
    assert got["run_enabled_while_running"] is False and got["tasks_while_running"] == 1
    assert got["dialog_size_hint"][1] <= 700
    # the set-up compiled the kernels: the run does not; a local stack is read, not downloaded
    assert got["steps"] == ["read", "detect", "spatial", "write"], got["steps"]
    formats = " ".join(got["progress_formats"])
    assert "Detecting cloud and shadow" in formats
    assert "Searching" not in formats and "Downloading" not in formats
    assert not got["run_error"]
    masks = [n for n in got["layers"] if " % cloud" in n or n.startswith("mask ")]
    truecolour = [n for n in got["layers"] if n.startswith("true colour ")]
    assert masks and len(masks) == len(truecolour) and "clear observations" in got["layers"]
    assert "true colour" in got["groups"]
    assert "masks added" in got["bar_after_run"]  # the plugin's message is the one on top
    assert len(got["children"]) == 1 and got["child_cmdline"][0].startswith(str(venv))
    # 4. QGIS quit with the child warm: exit 0 (checked above), the child ended with it,
    # nothing heavy in the QGIS process, no warnings or GDAL errors printed
    assert got["stage"] == "quit" and got["children_at_quit"] == [] and got["tasks_at_quit"] == []
    for pid in got["children"]:
        assert not Path(f"/proc/{pid}").exists(), f"the job child {pid} outlived QGIS"
    assert got["banned"] == []
    assert "ResourceWarning" not in proc.stderr, proc.stderr[-3000:]
    assert "ERROR 5" not in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    for name in ("dialog_running.png", "qgis_after_run.png"):
        assert (shots / name).stat().st_size > 10_000
