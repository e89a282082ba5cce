"""The process pool: plain interpreters, no numba in the parent, errors, hard cancel."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tsmask_qgis.engine import _procpool
from tsmask_qgis.engine._procpool import WorkerPool, python_executable
from tsmask_qgis.progress import Cancelled, CancelToken

ROOT = Path(__file__).resolve().parents[2]


def _run_script(code: str, env: dict[str, str] | None = None, timeout: int = 180) -> str:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


_SCRIPT_HEAD = """
import sys
{pre}
import numpy as np
from tests.engine.cubes import make_ds, stack_bands

if __name__ == "__main__":
    from tsmask_qgis.engine import classify
    ds = make_ds((10, 20, 16), seed=2, kind="int16")
    got = classify(ds, runner={runner!r}, workers=2)
    print("numba" in sys.modules, int(got.values.sum()), got.shape)
"""


def test_parent_never_imports_numba() -> None:
    out = _run_script(_SCRIPT_HEAD.format(pre="", runner="processes"))
    numba_loaded, total, shape = out.split(maxsplit=2)
    assert numba_loaded == "False"
    assert shape.strip() == "(10, 20, 16)"
    # Same numbers as the in-process kernels.
    from tests.engine.cubes import make_ds, stack_bands
    from tsmask_qgis.engine import _core

    ds = make_ds((10, 20, 16), seed=2, kind="int16")
    assert int(total) == int(_core.classify_array(stack_bands(ds), nodata=-999).sum())


def test_auto_inside_qgis_uses_processes() -> None:
    """With qgis imported, runner='auto' must keep numba out of this process."""
    pre = "import types; sys.modules['qgis'] = types.ModuleType('qgis')"
    out = _run_script(_SCRIPT_HEAD.format(pre=pre, runner="auto"))
    assert out.split()[0] == "False"


def test_pool_works_when_sys_executable_is_not_python(tmp_path) -> None:
    """Inside the QGIS desktop sys.executable is the QGIS binary: workers must not use it."""
    fake = tmp_path / "qgis-bin"
    fake.write_text("#!/bin/sh\necho 'this is not python' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    pre = f"sys.executable = sys._base_executable = {str(fake)!r}"
    out = _run_script(_SCRIPT_HEAD.format(pre=pre, runner="processes"))
    assert out.split()[0] == "False"
    code = f"""
    import sys
    sys.executable = sys._base_executable = {str(fake)!r}
    from tsmask_qgis.engine import python_executable
    print(python_executable())
    """
    exe = _run_script(code).strip()
    assert exe != str(fake) and Path(exe).is_file()


def test_python_executable_checks_the_version(tmp_path, monkeypatch) -> None:
    wrong = tmp_path / "python-wrong"
    wrong.write_text("#!/bin/sh\necho 2 7 1\n")
    wrong.chmod(0o755)
    monkeypatch.setenv("TSMASK_PYTHON", str(wrong))
    _procpool._resolve.cache_clear()
    try:
        exe = python_executable()
        assert exe != str(wrong)
        info = _procpool._probe(exe)
        assert info is not None and info[:2] == sys.version_info[:2]
        # An override with the right version wins.
        monkeypatch.setenv("TSMASK_PYTHON", exe)
        assert python_executable() == exe
        # Nothing usable: a clear error naming the variable.
        monkeypatch.setenv("TSMASK_PYTHON", str(wrong))
        monkeypatch.setattr(_procpool, "_candidates", lambda: [str(wrong)])
        _procpool._resolve.cache_clear()
        with pytest.raises(RuntimeError, match="TSMASK_PYTHON"):
            python_executable()
    finally:
        _procpool._resolve.cache_clear()


def test_worker_errors_surface_with_their_message() -> None:
    with WorkerPool(2) as pool:
        assert pool.run([("sleep", (0.0,))] * 3) == [0.0] * 3
        with pytest.raises(ValueError, match="kaboom 42") as err:
            pool.run([("fail", ("kaboom 42",))])
        assert "in a worker process" in str(err.value.__cause__)


def test_cancel_terminates_workers_within_seconds() -> None:
    token = CancelToken()
    pool = WorkerPool(2)
    procs = list(pool._procs)
    threading.Timer(0.5, token.cancel).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        pool.run([("sleep", (60.0,))] * 4, tick=token.check, tick_seconds=0.1)
    assert time.monotonic() - start < 5
    assert not any(p.is_alive() for p in procs)


def test_dead_worker_is_reported() -> None:
    pool = WorkerPool(1)
    try:
        pool._procs[0].kill()
        with pytest.raises(_procpool.WorkerError, match="exited unexpectedly"):
            pool.run([("sleep", (0.0,))])
    finally:
        pool.terminate()


def test_shared_array_is_freed() -> None:
    sa = _procpool.SharedArray((3, 4), "int16")
    name = sa.ref.name
    sa.array[...] = 7
    assert os.path.exists(f"/dev/shm/{name}")
    sa.close()
    sa.close()
    assert not os.path.exists(f"/dev/shm/{name}")
