"""The QGIS process imports no binary data library: all data work runs in a child process.

The QGIS desktop binary puts Debian's GDAL/netCDF/PROJ in the global symbol
scope, so wheels such as netCDF4 crash when imported into it. These tests check
the worker protocol and, in a fresh interpreter with a QgsApplication (this
test process has imported rasterio for its fixtures), that a whole session of
plugin use leaves none of the banned modules in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tsmask_qgis import worker
from tsmask_qgis.errors import InputError, InternalError
from tsmask_qgis.progress import Cancelled

HERE = Path(__file__).resolve().parent


def test_result_progress_and_plain_values():
    seen = []
    value = {"a": [1, 2.5, None], "p": Path("/x"), "d": __import__("datetime").date(2020, 1, 2)}
    got = worker.run("echo", {"value": value, "steps": 3}, progress=seen.append)
    assert got == value
    assert [r.message for r in seen if r.message] == ["echo: 0", "echo: 1", "echo: 2"]


def test_errors_keep_their_kind_and_traceback():
    with pytest.raises(InternalError, match="asked to fail with ValueError") as info:
        worker.run("echo", {"fail": "ValueError"})
    assert info.value.type_name == "ValueError"  # a foreign error: named, a bug (exit 1)
    assert "Traceback" in info.value.details and "echo" in info.value.details
    with pytest.raises(InternalError) as info:
        worker.run("echo", {"fail": "KeyError"})
    assert info.value.type_name == "KeyError"
    # one of ours crosses as itself, with the field it concerns
    with pytest.raises(InputError, match="asked to fail with InputError") as err:
        worker.run("echo", {"fail": "InputError"})
    assert err.value.field == "input" and err.value.exit_code == 3


def test_a_crashed_worker_is_reported():
    with pytest.raises(worker.WorkerCrashed, match="exit code 9"):
        worker.run("echo", {"fail": "crash"})


def test_a_non_plain_result_is_refused():
    with pytest.raises(Exception, match="plain values"):
        worker.run("echo", {"value": 1j})


def test_cancel_stops_the_child_quickly():
    calls = []

    def progress(report):
        calls.append(report.message)
        if len(calls) > 2:
            raise Cancelled("stop")

    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        worker.run("echo", {"steps": 200, "delay": 0.05}, progress=progress)
    assert time.monotonic() - t0 < 10
    assert worker.active_workers() == []


def test_a_child_ignoring_sigterm_is_killed_and_its_temporaries_removed(tmp_path):
    leftover = tmp_path / f"{worker.WRITER_TMP_PREFIX}1234-mask.tif"

    def progress(report):
        if report.message == "echo: 0":
            leftover.write_bytes(b"half")
            raise Cancelled("stop")

    # one long sleep between reports: the child cannot react before the grace period ends
    with pytest.raises(Cancelled):
        worker.run(
            "echo",
            {"steps": 3, "delay": 30},
            progress=progress,
            grace=0.5,
            temp_globs=worker.writer_temporaries(tmp_path),
        )
    assert not leftover.exists()


def test_mirrored_constants_match_their_sources():
    from tsmask_qgis.engine._procpool import SHM_PREFIX
    from tsmask_qgis.writers._atomic import _TMP_PREFIX

    assert worker.WRITER_TMP_PREFIX == _TMP_PREFIX
    assert worker.SHM_PREFIX == SHM_PREFIX


def test_a_plugin_session_imports_no_banned_module(scene_nc, mask_stack, tmp_path):
    stack, _ = scene_nc
    mask, _ = mask_stack
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    root = str(HERE.parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, str(HERE / "isolated_session.py"), str(stack), str(mask), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    report = json.loads(lines[-1][len("REPORT ") :])
    assert report["banned"] == []
    assert report["estimate"] and "12 dates of 16 x 16 pixels" in report["estimate_text"]
    assert report["run"] and report["steps"] == ["read", "detect", "spatial", "write"]
    assert len(report["layers"]) == 12 + 12 + 1  # masks, true colour, clear count
    got = report["processing"]
    assert got["summary"] == 3 and got["compare_masks"] == 1.0
    for name in ("detect_local", "seed_filter", "buffer", "majority_filter"):
        assert Path(got[name]).is_file(), name
