"""The parent/child protocol of tsmask's job children (standard library only).

A child is a plain Python interpreter running :mod:`tsmask_qgis.jobs.child`;
the parent (the QGIS process, :mod:`tsmask_qgis.jobs.client`) talks to it
through two pipes, each carrying **frames**: an 8-byte big-endian length and a
pickle of that length.

- Parent -> child, on the child's stdin: messages (dicts)
  ``{"kind": "job", "id": n, "job": name, "kwargs": {...}}`` and
  ``{"kind": "cancel", "id": n}``. End of file on stdin means the parent is
  gone (or stops the child): the child cancels what it runs and exits.
- Child -> parent, on a pipe of its own (its file descriptor is given on the
  command line, so nothing a library prints can corrupt it; stdout and stderr
  go to a log the parent reads when a child dies): tuples
  ``("progress", id, step, fraction, message, overall)`` — a
  :class:`~tsmask_qgis.progress.Report` — then exactly one of
  ``("result", id, value)``, ``("error", id, info)`` (``info`` from
  :func:`tsmask_qgis.errors.plain_error`, rebuilt with
  :func:`~tsmask_qgis.errors.from_plain`) or ``("cancelled", id)``.

A child runs one job at a time. Results are plain values (builtins,
``datetime``, ``pathlib``): the parent unpickles the child's frames with an
allow-list (:func:`loads_plain`), so a stray numpy scalar fails loudly instead
of importing numpy into QGIS.
"""

from __future__ import annotations

import io
import os
import pathlib
import pickle  # nosec B403: frames between a tsmask parent and the child it started
from typing import Any, BinaryIO

__all__ = [
    "BANNED_MODULES",
    "FrameReader",
    "ProtocolError",
    "dump_frame",
    "loads_plain",
    "read_frame",
]

#: Modules that must never be imported into the QGIS process (binary wheels whose
#: C symbols would resolve to QGIS's own GDAL/netCDF/PROJ, or heavy runtimes).
BANNED_MODULES: tuple[str, ...] = (
    "numba",
    "netCDF4",
    "rasterio",
    "pyproj",
    "odc",
    "pystac_client",
    "distributed",
    "matplotlib",
)

_HEADER = 8
#: Larger than any plain answer: a bigger length means the stream is not ours.
_MAX_FRAME = 1 << 30
PICKLE_PROTOCOL = 4


class ProtocolError(RuntimeError):
    """A frame that is not one: the other side is not a tsmask job process."""


def dump_frame(value: Any) -> bytes:
    """``value`` as one frame (length + pickle)."""
    data = pickle.dumps(value, protocol=PICKLE_PROTOCOL)
    return len(data).to_bytes(_HEADER, "big") + data


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> Any:
    """The next frame of a blocking stream, unpickled (the child reads its parent's
    messages so: it trusts its parent). ``None`` at end of file."""
    header = _read_exactly(stream, _HEADER)
    if header is None:
        return None
    size = int.from_bytes(header, "big")
    if size > _MAX_FRAME:
        raise ProtocolError(f"a frame of {size} bytes: the stream is not a tsmask job channel")
    data = _read_exactly(stream, size)
    if data is None:
        return None
    return pickle.loads(data)  # nosec B301: the child reads what its own parent wrote on its stdin


def _path_classes() -> dict[str, frozenset[str]]:
    """Where this Python defines the pathlib classes, as pickle names them.

    A pickle names a class by its ``__module__``: ``pathlib`` up to Python 3.12,
    ``pathlib._local`` from 3.13. The child runs the parent's Python version
    (:mod:`tsmask_qgis.jobs.interpreter`), so the names are taken from the classes
    themselves rather than spelt here; the public ``pathlib`` names stay allowed.
    """
    classes = (
        pathlib.Path,
        pathlib.PosixPath,
        pathlib.WindowsPath,
        pathlib.PurePath,
        pathlib.PurePosixPath,
        pathlib.PureWindowsPath,
    )
    where: dict[str, set[str]] = {"pathlib": {c.__name__ for c in classes}}
    for c in classes:
        where.setdefault(c.__module__, set()).add(c.__qualname__)
    return {module: frozenset(names) for module, names in where.items()}


_SAFE: dict[str, frozenset[str]] = {
    "builtins": frozenset(
        {"tuple", "list", "dict", "set", "frozenset", "str", "bytes", "int", "float", "bool"}
    ),
    "datetime": frozenset({"date", "datetime", "time", "timedelta", "timezone"}),
    **_path_classes(),
    "collections": frozenset({"OrderedDict"}),
    "copyreg": frozenset({"_reconstructor"}),
}


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _SAFE.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"the job process returned a {module}.{name}: jobs must return plain values"
        )


def loads_plain(data: bytes) -> Any:
    """Unpickle ``data`` allowing only plain values (no class outside the allow-list)."""
    return _PlainUnpickler(io.BytesIO(data)).load()


class FrameReader:
    """Frames from a non-blocking pipe, fed as bytes arrive; unpickled with :func:`loads_plain`."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()
        #: True once the other end closed the pipe.
        self.eof = False

    def read(self) -> list[Any]:
        """Read what is available now (call when the fd is readable); the complete frames."""
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            self.eof = True
        self._buffer += chunk
        frames = []
        while len(self._buffer) >= _HEADER:
            size = int.from_bytes(self._buffer[:_HEADER], "big")
            if size > _MAX_FRAME:
                raise ProtocolError(f"a frame of {size} bytes from the job process")
            if len(self._buffer) < _HEADER + size:
                break
            data = bytes(self._buffer[_HEADER : _HEADER + size])
            del self._buffer[: _HEADER + size]
            frames.append(loads_plain(data))
        return frames
