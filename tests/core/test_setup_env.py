"""Set up tsmask's environment (jobs/setup_env.py) and the interpreter probe it feeds.

The whole set-up (venv, pip from the wheel folder, kernels) runs once, in the real
desktop test (tests/plugin/test_desktop.py); here: a cancel that leaves nothing,
the messages when venv/ensurepip are missing, the probe asking the worker.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tsmask_qgis.errors import DependencyError
from tsmask_qgis.jobs import interpreter, setup_env
from tsmask_qgis.progress import Cancelled, Report

ROOT = Path(__file__).resolve().parents[2]
WHEELS = ROOT / "build" / "wheels"


def test_missing_ensurepip_names_the_package_per_platform(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ensurepip", None)  # import ensurepip -> ImportError
    assert setup_env.main(["--venv", str(tmp_path / "venv")]) == 1
    out = capsys.readouterr().out
    assert '"type": "DependencyError"' in out and "ensurepip" in out
    assert "apt install python3-venv" in out
    assert not (tmp_path / "venv").exists() and not (tmp_path / "venv.partial").exists()
    assert "OSGeo4W" in setup_env.missing_venv_hint("win32")
    assert "python3-pip" in setup_env.missing_venv_hint("win32")
    assert "brew install python@" in setup_env.missing_venv_hint("darwin")


def test_cancel_during_the_install_kills_it_and_leaves_no_environment(tmp_path):
    venv = tmp_path / "tsmask" / "venv"
    seen: list[Report] = []
    started = []

    def progress(r: Report) -> None:
        if r.step:
            seen.append(r)
        if r.step == "install" and not started:
            started.append(time.monotonic())
        if started and time.monotonic() - started[0] > 1.0:
            raise Cancelled("cancelled by the user")

    wheels = WHEELS if WHEELS.is_dir() else None
    with pytest.raises(Cancelled):
        setup_env.run_setup(venv, python=sys.executable, wheels=wheels, progress=progress)
    assert [r.step for r in seen][:1] == ["venv"]
    assert any(r.step == "install" for r in seen)
    assert not venv.exists() and not venv.with_name("venv.partial").exists()
    assert not setup_env.ready(venv)
    # the overall fraction only moves forward
    overall = [r.overall for r in seen if r.overall is not None]
    assert overall == sorted(overall)


def test_a_failed_install_says_why_and_leaves_nothing(tmp_path):
    empty = tmp_path / "wheels"
    empty.mkdir()
    venv = tmp_path / "venv"
    with pytest.raises(RuntimeError, match="pip install"):
        setup_env.run_setup(venv, python=sys.executable, wheels=empty)
    assert not venv.exists() and not venv.with_name("venv.partial").exists()


def test_the_probe_asks_the_worker_which_modules_it_lacks(tmp_path, monkeypatch):
    bare = tmp_path / "python3"
    ver = f"{sys.version_info[0]} {sys.version_info[1]}"
    bare.write_text(f"#!/bin/sh\necho {ver} numba rasterio\n")
    bare.chmod(0o755)
    try:
        # a chosen interpreter is used as it is, and what it lacks is reported
        interpreter.configure(python=str(bare))
        exe, lacking = interpreter.missing_modules()
        assert exe == str(bare) and lacking == ("numba", "rasterio")
        # automatic: one that has the packages wins over one that lacks them
        interpreter.configure()
        monkeypatch.setattr(interpreter, "_candidates", lambda: [str(bare), sys.executable])
        interpreter.reset()
        exe, lacking = interpreter.missing_modules()
        assert exe == sys.executable and lacking == ()
        monkeypatch.setattr(interpreter, "_candidates", lambda: [str(tmp_path / "none")])
        interpreter.reset()
        with pytest.raises(DependencyError, match="Set up tsmask"):
            interpreter.missing_modules()
    finally:
        interpreter.configure()
