"""One run per output folder: an exclusive lock file, and the clean-up of dead runs.

:func:`folder_lock` holds ``.tsmask-lock`` in the output folder for the whole run: an
operating-system lock (``fcntl.flock``, or ``msvcrt.locking`` on Windows) on a file
that records the holder's process id. The lock dies with its process, so the lock
file of a killed run is simply taken over; a live holder makes a second run stop at
once with :class:`~tsmask_qgis.errors.OutputLockedError` naming its process id.

Under the lock nothing else writes in the folder, so every temporary file there is a
dead run's: :func:`clean_dead_temporaries` removes them anywhere under the folder, and
the engine's streamed cubes of processes that no longer exist from its temporary folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from tsmask_qgis.errors import OutputLockedError
from tsmask_qgis.tempfiles import TMP_PREFIX
from tsmask_qgis.writers._atomic import _remove as remove_path
from tsmask_qgis.writers._atomic import explain_os_error

__all__ = ["LOCK_NAME", "clean_dead_temporaries", "folder_lock", "process_alive"]

LOCK_NAME = ".tsmask-lock"


def process_alive(pid: int) -> bool:
    """True when a process ``pid`` exists (on this machine)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return "another run"
    return f"another run (pid {text})" if text.isdigit() else "another run"


def _locked(path: Path) -> OutputLockedError:
    return OutputLockedError(
        f"{_holder(path)} is writing in {path.parent}: wait for it to finish, or choose "
        "another output folder",
        field="out",
    )


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[Path]:
    """Hold the exclusive lock of ``folder`` (which exists) for the block.

    Raises :class:`OutputLockedError` at once when a live process holds it.
    """
    path = Path(folder) / LOCK_NAME
    try:
        fd = _acquire(path)
    except OutputLockedError:
        raise
    except OSError as exc:
        raise explain_os_error(exc, Path(folder)) from exc
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def _acquire(path: Path) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            raise _locked(path)
        try:  # the holder before us may have removed the file we opened: lock the current one
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        os.fsync(fd)
    except OSError:
        os.close(fd)
        raise
    return fd


def _remove(path: Path) -> bool:
    remove_path(path)
    return not path.exists()


def clean_dead_temporaries(folder: Path, stream_dir: Path | None = None) -> int:
    """Remove the temporary files of dead runs: every one in ``folder`` and two levels below (call it while
    holding :func:`folder_lock`), and in ``stream_dir`` the engine's streamed cubes
    (``.tsmask-tmp-<pid>-*.u8``) of processes that no longer exist. Returns how many went."""
    n = 0
    root = Path(folder)
    for depth in ("*/*/", "*/", ""):  # the formats' folders are one level deep
        for p in root.glob(f"{depth}{TMP_PREFIX}*"):
            # a subfolder with a lock file of its own is another run's output folder
            if not any((d / LOCK_NAME).exists() for d in p.parents if root in d.parents):
                n += _remove(p)
    if stream_dir is not None and stream_dir.is_dir():
        for p in stream_dir.glob(f"{TMP_PREFIX}*-*.u8"):
            pid = p.name[len(TMP_PREFIX) :].split("-")[0]
            if pid.isdigit() and not process_alive(int(pid)):
                n += _remove(p)
    return n
