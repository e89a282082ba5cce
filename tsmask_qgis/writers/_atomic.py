"""Atomic output: temporary names, overwrite rules, clear errors, a resume manifest.

Every writer in this package writes through :func:`atomic_output`: the file is
created under a hidden temporary name in the target folder and renamed over the
final name only when it is complete, so a failed or cancelled run (an
exception, ``Cancelled`` or ``KeyboardInterrupt``) leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsmask_qgis.errors import (
    DiskFullError,
    OutputError,
    OutputExistsError,
    OutputNotWritableError,
)
from tsmask_qgis.tempfiles import TMP_PREFIX, temp_name

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "OutputError",
    "OutputExistsError",
    "OutputNotWritableError",
    "atomic_output",
    "check_overwrite",
    "clean_temporaries",
    "ensure_writable_dir",
    "explain_os_error",
]

MANIFEST_NAME = "tsmask-manifest.json"


def _explain(exc: OSError, where: Path) -> OutputError:
    err: OutputError
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _disk_full(where, None, 0)
    if exc.errno in (errno.EROFS,):
        err = OutputNotWritableError(
            f"{where} is on a read-only file system: choose another output folder", field="out"
        )
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST) and where.exists() and not where.is_dir():
        err = OutputNotWritableError(
            f"{where} is a file, not a folder: choose another output folder", field="out"
        )
    else:
        reason = exc.strerror or str(exc)
        err = OutputNotWritableError(
            f"cannot write to {where} ({reason}): choose a folder you can write to", field="out"
        )
    err.errno = exc.errno or errno.EIO
    return err


def ensure_writable_dir(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` if needed and prove it is writable; :class:`OutputNotWritableError` if not."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(path))
        probe = temp_name(path / "probe")
        try:
            with open(probe, "wb") as fh:
                fh.write(b"ok")
        finally:
            with contextlib.suppress(OSError):
                probe.unlink()
    except OutputError:
        raise
    except OSError as exc:
        raise _explain(exc, path) from exc
    return path


def check_overwrite(paths: Sequence[Path], *, overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` if any of ``paths`` exists and ``overwrite`` is false."""
    if overwrite:
        return
    existing = [p for p in paths if p.exists()]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        err = OutputExistsError(
            f"{existing[0]} exists{more}: allow overwriting to replace it, or choose another "
            "output folder",
            field="overwrite",
        )
        err.errno = errno.EEXIST
        raise err


@contextlib.contextmanager
def atomic_output(
    final: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    sidecars: Sequence[str] = (),
    needed: int | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` when the block succeeds.

    ``sidecars`` are suffixes of companion files the writer creates beside the
    temporary file (for instance ``(".hdr",)`` for ENVI, whose data file is
    ``final``); they are renamed (data file last) or removed with it. On any
    exception, including ``KeyboardInterrupt`` and ``Cancelled``, every
    temporary file is removed and the exception propagates. A full disk or an
    unwritable folder raises :class:`OutputNotWritableError` with a clear message;
    a full disk :class:`DiskFullError`, saying how much the file needs when the writer
    gives ``needed`` (bytes, uncompressed: an upper bound).
    """
    final = Path(final)
    try:
        folder = ensure_writable_dir(final.parent)
    except DiskFullError as exc:
        raise _disk_full(final.parent, final, needed or 0) from exc
    finals = [final.with_suffix(s) for s in sidecars] + [final]
    check_overwrite(finals, overwrite=overwrite)
    tmp = temp_name(final)
    tmps = [tmp.with_suffix(s) for s in sidecars] + [tmp]
    try:
        yield tmp
        missing = [t for t in tmps if not t.exists()]
        if missing:
            raise FileNotFoundError(
                errno.ENOENT, "writer did not create its output", str(missing[0])
            )
        for t, f in zip(tmps, finals, strict=True):
            os.replace(t, f)
    except BaseException as exc:
        written = sum(_size(t) for t in tmps)
        for t in tmps:
            _remove(t)
        for extra in folder.glob(f"{tmp.stem}.*"):  # e.g. GDAL's .aux.xml
            _remove(extra)
        if isinstance(exc, OutputError):
            raise
        if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise _disk_full(folder, final, max(written, needed or 0)) from exc
            raise _explain(exc, folder) from exc
        if isinstance(exc, Exception) and (
            "no space left on device" in str(exc).lower() or _nearly_full(folder)
        ):
            # GDAL (rasterio) and HDF5 (netCDF4, "NetCDF: HDF error") report a full disk
            # in errors of their own, some without saying so: the free space tells.
            raise _disk_full(folder, final, max(written, needed or 0)) from exc
        raise


#: A write that fails with less free space than this on its device failed for want of space.
FULL_MARGIN = 1024**2


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _free(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _nearly_full(folder: Path) -> bool:
    free = _free(folder)
    return free is not None and free < FULL_MARGIN


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _disk_full(folder: Path, final: Path | None, written: int) -> DiskFullError:
    free = _free(folder)
    have = f" ({_mb(free)} free)" if free is not None else ""
    what = f" while writing {final.name}" if final is not None else ""
    need = f"; it needs up to {_mb(written)}" if written else ""
    err = DiskFullError(
        f"no space left on the device holding {folder}{have}{what}"
        f"{need}: free some space or choose another output folder",
        field="out",
    )
    err.errno = errno.ENOSPC
    return err


_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def clean_temporaries(folder: str | os.PathLike[str]) -> int:
    """Remove temporary files left by a run that was killed outright; return how many."""
    n = 0
    for p in Path(folder).glob(f"{TMP_PREFIX}*"):
        _remove(p)
        n += 1
    return n


@dataclass(frozen=True)
class Manifest:
    """What a job wrote in an output folder, with the job's parameters.

    ``key`` identifies the parameters that decide the outputs' content; an
    output recorded under the same key, still present with the recorded size,
    is complete and can be reused by a re-run.
    """

    folder: Path
    key: str
    outputs: dict[str, int]
    complete: bool = False
    job: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        return self.folder / MANIFEST_NAME

    @classmethod
    def read(cls, folder: str | os.PathLike[str]) -> Manifest | None:
        """The manifest in ``folder``, or ``None`` when there is none or it is unreadable."""
        path = Path(folder) / MANIFEST_NAME
        try:
            data = json.loads(path.read_text())
            return cls(
                folder=Path(folder),
                key=str(data["key"]),
                outputs={str(k): int(v) for k, v in data["outputs"].items()},
                complete=bool(data.get("complete", False)),
                job=data.get("job"),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def is_complete(self, path: Path) -> bool:
        """True when ``path`` is recorded here and still has its recorded size."""
        rel = _rel(path, self.folder)
        size = self.outputs.get(rel)
        try:
            return size is not None and path.stat().st_size == size
        except OSError:
            return False

    def recorded(self, path: Path) -> bool:
        """True when ``path`` is one of this manifest's outputs (complete or not)."""
        return _rel(path, self.folder) in self.outputs

    def with_output(self, path: Path) -> Manifest:
        """A copy recording ``path`` (which must exist) as complete."""
        outputs = dict(self.outputs)
        outputs[_rel(path, self.folder)] = path.stat().st_size
        return Manifest(self.folder, self.key, outputs, self.complete, self.job)

    def finished(self) -> Manifest:
        """A copy marking the whole job complete."""
        return Manifest(self.folder, self.key, dict(self.outputs), True, self.job)

    def remove_outputs(self) -> int:
        """Remove every output recorded here (inside the folder), the folders they leave
        empty and the manifest itself; return how many files went."""
        root = self.folder.resolve()
        n = 0
        for rel in self.outputs:
            path = (root / rel).resolve()
            if root not in path.parents:
                continue  # never outside the folder, whatever the manifest says
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                n += 1
            with contextlib.suppress(OSError):
                if path.parent != root and not any(path.parent.iterdir()):
                    path.parent.rmdir()
        self.path.unlink(missing_ok=True)
        return n

    def save(self) -> None:
        """Write the manifest atomically."""
        data = {
            "key": self.key,
            "complete": self.complete,
            "job": self.job,
            "outputs": self.outputs,
        }
        with atomic_output(self.path, overwrite=True) as tmp:
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))


def _rel(path: Path, folder: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(folder).resolve()).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def explain_os_error(exc: OSError, where: Path) -> OutputError:
    """``exc`` met while writing in ``where`` as the :class:`OutputError` that says why."""
    return _explain(exc, where)
