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
from tsmask_qgis.engine._shared import SharedArray
from tsmask_qgis.errors import DependencyError
from tsmask_qgis.jobs import interpreter
from tsmask_qgis.progress import Cancelled, CancelToken
from tsmask_qgis.tempfiles import SHM_PREFIX

SLEEP = "tests.engine.pool_tasks:sleep"
FAIL = "tests.engine.pool_tasks:fail"

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
    interpreter._resolve.cache_clear()
    try:
        exe = python_executable()
        assert exe != str(wrong)
        info = interpreter._probe(exe)
        assert info is not None and info[:2] == sys.version_info[:2]
        # An override with the right version wins.
        monkeypatch.setenv("TSMASK_PYTHON", exe)
        assert python_executable() == exe
        # Nothing usable: a clear error naming the variable.
        monkeypatch.setenv("TSMASK_PYTHON", str(wrong))
        monkeypatch.setattr(interpreter, "_candidates", lambda: [str(wrong)])
        interpreter._resolve.cache_clear()
        with pytest.raises(DependencyError, match="TSMASK_PYTHON"):
            python_executable()
    finally:
        interpreter._resolve.cache_clear()


def test_worker_errors_surface_with_their_message() -> None:
    with WorkerPool(2) as pool:
        assert pool.run([(SLEEP, (0.0,))] * 3) == [0.0] * 3
        with pytest.raises(ValueError, match="kaboom 42") as err:
            pool.run([(FAIL, ("kaboom 42",))])
        assert "in a worker process" in str(err.value.__cause__)


def test_cancel_terminates_workers_within_seconds() -> None:
    token = CancelToken()
    pool = WorkerPool(2)
    procs = list(pool._procs)
    threading.Timer(0.5, token.cancel).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        pool.run([(SLEEP, (60.0,))] * 4, tick=token.check, tick_seconds=0.1)
    assert time.monotonic() - start < 5
    assert not any(p.is_alive() for p in procs)


def test_dead_worker_is_reported() -> None:
    pool = WorkerPool(1)
    try:
        pool._procs[0].kill()
        with pytest.raises(_procpool.WorkerError, match="exited unexpectedly"):
            pool.run([(SLEEP, (0.0,))])
    finally:
        pool.terminate()


def test_shared_array_is_freed() -> None:
    sa = SharedArray((3, 4), "int16")
    name = sa.ref.name
    sa.array[...] = 7
    assert os.path.exists(f"/dev/shm/{name}")
    sa.close()
    sa.close()
    assert not os.path.exists(f"/dev/shm/{name}")


# --------------------------------------------------------------------------- kept pool


def _shm_names() -> set[str]:
    prefix = f"{SHM_PREFIX}{os.getpid()}_"
    return {n for n in os.listdir("/dev/shm") if n.startswith(prefix)}


def _pids(pool: WorkerPool) -> list[int]:
    return [p.pid for p in pool._procs]


def test_consecutive_jobs_reuse_the_kept_workers_and_the_spare_buffer() -> None:
    from tests.engine.cubes import make_ds
    from tsmask_qgis.engine import classify

    _procpool.shutdown_workers()
    ds = make_ds((12, 21, 17), seed=4, kind="int16")
    first = classify(ds, runner="processes", workers=2).values
    kept = _procpool._kept
    assert kept is not None and kept.alive and not _procpool._kept_busy
    pids = _pids(kept)
    spare = _procpool._spare
    assert spare is not None and _shm_names() == {spare.ref.name}
    second = classify(ds, runner="processes", workers=2).values
    assert (first == second).all()
    assert _procpool._kept is kept and _pids(kept) == pids  # the same processes
    assert _procpool._spare is spare  # the same input segment, used again
    # Another worker count replaces the kept pool.
    classify(ds, runner="processes", workers=1)
    assert _procpool._kept is not kept and not kept.alive
    # Shutting down stops the workers and frees every segment.
    last = _procpool._kept
    _procpool.shutdown_workers()
    assert _procpool._kept is None and not last.alive
    assert _shm_names() == set()


def test_a_failed_job_replaces_the_kept_pool() -> None:
    pool = _procpool.acquire_pool(2)
    with pytest.raises(ValueError, match="boom"):
        pool.run([(FAIL, ("boom",))])
    _procpool.release_pool(pool, ok=False)
    assert not pool.alive and _procpool._kept is None
    again = _procpool.acquire_pool(2)
    try:
        assert again is not pool and again.run([(SLEEP, (0.0,))]) == [0.0]
    finally:
        _procpool.release_pool(again)
    _procpool.shutdown_workers()


def test_a_busy_kept_pool_gives_a_second_job_its_own_workers() -> None:
    first = _procpool.acquire_pool(1)
    second = _procpool.acquire_pool(1)
    try:
        assert second is not first and second is not _procpool._kept
        assert first.run([(SLEEP, (0.0,))]) == second.run([(SLEEP, (0.0,))])
    finally:
        _procpool.release_pool(second)
        _procpool.release_pool(first)
    assert not second.alive and first.alive  # the job's own pool stops, the kept one stays
    _procpool.shutdown_workers()
    assert not first.alive


def test_jobs_in_two_threads_at_once_are_both_right() -> None:
    from tests.engine.cubes import make_ds
    from tsmask_qgis.engine import classify

    ds = make_ds((12, 25, 19), seed=5, kind="int16")
    want = classify(ds, runner="threads", workers=1).values
    got: list = [None, None]

    def job(i: int) -> None:
        got[i] = classify(ds, runner="processes", workers=1).values

    threads = [threading.Thread(target=job, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(g is not None and (g == want).all() for g in got)
    _procpool.shutdown_workers()


def test_keeping_can_be_switched_off(monkeypatch) -> None:
    monkeypatch.setenv("TSMASK_KEEP_WORKERS", "0")
    _procpool.shutdown_workers()
    pool = _procpool.acquire_pool(1)
    _procpool.release_pool(pool)
    assert not pool.alive and _procpool._kept is None


def test_take_returns_the_data_without_the_segment() -> None:
    sa = SharedArray((5, 6), "uint8")
    sa.array[...] = 3
    name = sa.ref.name
    out = sa.take()
    assert not os.path.exists(f"/dev/shm/{name}")
    assert out.shape == (5, 6) and (out == 3).all() and out.flags.writeable
    out[0, 0] = 9  # still usable memory, now owned by the array
    assert out[0, 0] == 9


def test_a_reused_segment_takes_a_new_shape() -> None:
    sa = SharedArray((4, 100), "int16")
    try:
        sa.reshape((10, 10), "float32")
        assert sa.array.shape == (10, 10) and sa.ref.shape == (10, 10)
        with pytest.raises(ValueError, match="does not fit"):
            sa.reshape((1000,), "int16")
    finally:
        sa.close()


def test_prestarted_workers_serve_the_next_job() -> None:
    from tests.engine.cubes import make_ds
    from tsmask_qgis.engine import _api

    _procpool.shutdown_workers()
    _api.prestart_workers(1).join(60)
    kept = _procpool._kept
    assert kept is not None and kept.alive and kept.workers == 1
    pids = _pids(kept)
    ds = make_ds((8, 9, 7), seed=6, kind="int16")
    _api.classify(ds, runner="processes", workers=1)
    assert _procpool._kept is kept and _pids(kept) == pids
    _api.shutdown_workers()
    assert not kept.alive
