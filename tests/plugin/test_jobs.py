"""The job protocol: warm children, plain values, errors, progress, cancel, clean-up.

A pool whose children also load the test-only jobs of ``tests/plugin/child_jobs.py``
(nothing test-only ships in the product's job table).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tsmask_qgis.errors import InputError, InternalError, ParameterError
from tsmask_qgis.jobs.client import Pool, WorkerCrashed, remove_leftovers
from tsmask_qgis.progress import Cancelled
from tsmask_qgis.tempfiles import SHM_PREFIX, temp_patterns

HERE = Path(__file__).resolve().parent
TEST_JOBS = ("tests.plugin.child_jobs",)


@pytest.fixture
def pool():
    p = Pool(jobs=TEST_JOBS)
    yield p
    p.shutdown()
    assert p.pids() == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    return not _alive(pid)


def test_result_progress_and_plain_values(pool):
    seen = []
    value = {"a": [1, 2.5, None], "p": Path("/x"), "d": dt.date(2020, 1, 2)}
    got = pool.run("echo", {"value": value, "steps": 3}, progress=seen.append)
    assert got == value
    assert [r.message for r in seen if r.message] == ["echo: 0", "echo: 1", "echo: 2"]
    assert [r.step for r in seen if r.message] == ["detect"] * 3


def test_the_child_stays_warm_between_jobs(pool):
    first = pool.run("pid")
    assert pool.run("echo", {"value": 1}) == 1
    assert pool.run("pid") == first  # the same interpreter, no new start-up
    assert pool.pids() == [first] and pool.busy() == []


def test_errors_keep_their_kind_and_traceback(pool):
    with pytest.raises(InternalError, match="asked to fail with ValueError") as info:
        pool.run("echo", {"fail": "ValueError"})
    assert info.value.type_name == "ValueError"  # a foreign error: named, a bug (exit 1)
    assert "Traceback" in info.value.details and "echo" in info.value.details
    with pytest.raises(InternalError) as info:
        pool.run("echo", {"fail": "KeyError"})
    assert info.value.type_name == "KeyError"
    # one of ours crosses as itself, with the field it concerns
    with pytest.raises(InputError, match="asked to fail with InputError") as err:
        pool.run("echo", {"fail": "InputError"})
    assert err.value.field == "input" and err.value.exit_code == 3
    assert len(pool.pids()) == 1  # errors do not cost the warm child


def test_an_unknown_job_is_named(pool):
    with pytest.raises(ParameterError, match=r"unknown job 'nope'.*pipeline"):
        pool.run("nope")


def test_a_crashed_worker_is_reported_and_replaced(pool):
    with pytest.raises(WorkerCrashed, match="exit code 9"):
        pool.run("echo", {"fail": "crash"})
    assert pool.pids() == []
    assert pool.run("echo", {"value": "again"}) == "again"  # a fresh child


def test_a_non_plain_result_is_refused(pool):
    with pytest.raises(Exception, match="plain values"):
        pool.run("echo", {"value": 1j})
    assert pool.run("echo", {"value": 2}) == 2


def test_every_path_class_of_this_python_is_a_plain_value():
    """Python 3.13 pickles paths as pathlib._local.*: still plain, and nothing else is."""
    import pathlib
    import pickle

    from tsmask_qgis.jobs.protocol import loads_plain

    values = [
        Path("/a"),
        pathlib.PosixPath("/b"),
        pathlib.PurePosixPath("/c"),
        pathlib.PureWindowsPath("c:/d"),
        {"nested": [Path("/e"), (dt.datetime(2020, 1, 2, 3), dt.timedelta(seconds=4))]},
    ]
    for value in values:
        data = pickle.dumps(value, protocol=4)
        assert loads_plain(data) == value
    module = type(Path("/a")).__module__
    assert module == ("pathlib._local" if sys.version_info >= (3, 13) else "pathlib")
    assert module.encode() in pickle.dumps(Path("/a"), protocol=4)
    # a global of the same module that is not a path class, and one of elsewhere: refused
    for bad in (f"{module}\nos\n", "os\nsystem\n"):
        with pytest.raises(pickle.UnpicklingError, match="must return plain values"):
            loads_plain(b"\x80\x04c" + bad.encode() + b".")


def test_a_job_cancelled_by_itself(pool):
    with pytest.raises(Cancelled):
        pool.run("echo", {"value": "cancel-self"})


def test_cancel_stops_the_job_quickly_and_keeps_the_child(pool):
    child = pool.run("pid")
    calls = []

    def progress(report):
        calls.append(report.message)
        if len(calls) > 2:
            raise Cancelled("stop")

    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        pool.run("echo", {"steps": 200, "delay": 0.05}, progress=progress)
    assert time.monotonic() - t0 < 10
    assert pool.busy() == []
    assert pool.run("pid") == child  # it stopped the job itself: still warm


def test_a_child_not_stopping_in_time_is_killed_and_cleaned_up(pool, tmp_path):
    final = tmp_path / "mask.tif"
    segments = []

    def progress(report):
        if report.message.startswith("segment "):
            segments.append(report.message.split()[1])
        if report.message.startswith(("writing", "segment")):
            raise Cancelled("stop")

    child = pool.run("pid")
    # one long sleep after the report: the child cannot react before the grace period ends
    with pytest.raises(Cancelled):
        pool.run(
            "write_then_wait",
            {"path": str(final), "seconds": 60},
            progress=progress,
            grace=0.5,
            temp_globs=temp_patterns(tmp_path),
        )
    assert _wait_gone(child, 5)
    assert list(tmp_path.iterdir()) == []  # its temporary file is gone
    second = pool.run("pid")
    assert second != child  # the next job starts a fresh child
    with pytest.raises(Cancelled):
        pool.run("shared_memory_then_wait", {"seconds": 60}, progress=progress, grace=0.5)
    (segment,) = segments
    assert segment.startswith(f"{SHM_PREFIX}{second}_")
    assert _wait_gone(second, 5)
    assert not Path("/dev/shm", segment).exists()  # the killed child's segment is freed


def test_concurrent_jobs_get_their_own_children(pool):
    results: dict[str, object] = {}

    def run(name: str, steps: int) -> None:
        results[name] = pool.run("echo", {"value": name, "steps": steps, "delay": 0.05})

    seen_busy = []
    threads = [threading.Thread(target=run, args=(n, 20)) for n in ("a", "b")]
    for t in threads:
        t.start()
    end = time.monotonic() + 30
    while any(t.is_alive() for t in threads) and time.monotonic() < end:
        seen_busy.append(len(pool.busy()))
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert results == {"a": "a", "b": "b"}
    assert max(seen_busy) == 2  # both ran at once
    assert len(pool.pids()) == pool.keep_idle == 1  # the extra idle child was stopped


def test_shutdown_stops_idle_and_busy_children(pool):
    idle = pool.run("pid")
    outcome = []

    def long_job() -> None:
        try:
            pool.run("echo", {"steps": 400, "delay": 0.05})
            outcome.append("finished")
        except Cancelled:
            outcome.append("cancelled")

    t = threading.Thread(target=long_job)
    t.start()
    end = time.monotonic() + 20
    while not pool.busy() and time.monotonic() < end:
        time.sleep(0.02)
    (busy,) = pool.busy()
    assert busy == idle  # it runs in the warm child
    t0 = time.monotonic()
    pool.shutdown()
    t.join(10)
    assert outcome == ["cancelled"] and time.monotonic() - t0 < 5
    assert pool.pids() == [] and _wait_gone(busy, 5)
    assert pool.run("echo", {"value": 3}) == 3  # usable again


def test_in_the_child_auto_runs_threads(pool):
    assert pool.run("runner") == "threads"  # numba is allowed in the child


def _parent_script(tmp_path: Path, job: str, kwargs: dict) -> subprocess.Popen:
    """A plain Python parent that starts a child job, prints the child's pid, then waits."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, threading, time\n"
        "from tsmask_qgis.jobs.client import Pool\n"
        f"pool = Pool(jobs={TEST_JOBS!r})\n"
        "print(pool.run('pid'), flush=True)\n"
        f"threading.Thread(target=pool.run, args=({job!r}, {kwargs!r}), daemon=True).start()\n"
        "time.sleep(600)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(HERE.parents[1]))
    return subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )


@pytest.mark.parametrize(
    ("job", "kwargs"),
    [("pid", {}), ("echo", {"steps": 2000, "delay": 0.05})],
    ids=["idle", "busy"],
)
def test_a_killed_parent_leaves_no_child(tmp_path, job, kwargs):
    parent = _parent_script(tmp_path, job, kwargs)
    try:
        child = int(parent.stdout.readline())
        time.sleep(0.5)  # the second job is running (or the child idles)
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _wait_gone(child, 10), "the child outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_cleanup_matches_how_writers_and_engine_name_their_temporaries(tmp_path):
    """The patterns the client removes after a kill find the writers' temporary files and
    the engine's shared-memory segments (named by tsmask_qgis.tempfiles)."""
    from tsmask_qgis.engine._shared import SharedArray
    from tsmask_qgis.writers import atomic_output

    with atomic_output(tmp_path / "sub" / "mask.tif") as tmp:
        tmp.write_bytes(b"half")
        found = [Path(p) for g in temp_patterns(tmp_path) for p in glob.glob(g)]
        assert found == [tmp]
        remove_leftovers([], temp_patterns(tmp_path))
        assert not tmp.exists()
        tmp.write_bytes(b"again")  # (so the writer can finish)
    sa = SharedArray((4,), "uint8")
    try:
        assert Path(f"/dev/shm/{sa.ref.name}").exists()
        remove_leftovers([os.getpid()], [])
        assert not Path(f"/dev/shm/{sa.ref.name}").exists()
    finally:
        sa.close()
