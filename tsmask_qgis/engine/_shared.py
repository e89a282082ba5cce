"""Arrays shared between the engine and its worker processes, never pickled.

A parent creates a :class:`SharedArray` (a ``multiprocessing.shared_memory``
segment named by :func:`tsmask_qgis.tempfiles.shm_name`) or a raw file (the
streamed class cube); a task carries only its :class:`ArrayRef`, and the worker
maps it for that task alone (:func:`open_array`).
"""

from __future__ import annotations

import math
import mmap
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from tsmask_qgis.tempfiles import shm_name

__all__ = ["ArrayRef", "SharedArray", "open_array", "open_file_array"]


@dataclass(frozen=True)
class ArrayRef:
    """How a worker finds a shared array: a shared-memory segment or a file.

    ``kind`` is ``"shm"`` (``name`` is the segment) or ``"file"`` (``name`` is
    a path, raw C-order data from ``offset``).
    """

    kind: str
    name: str
    shape: tuple[int, ...]
    dtype: str
    offset: int = 0


class SharedArray:
    """A numpy array in a new shared-memory segment, owned by the parent."""

    def __init__(self, shape: Sequence[int], dtype: Any) -> None:
        nbytes = max(1, math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize)
        self._shm: shared_memory.SharedMemory | None = shared_memory.SharedMemory(
            name=shm_name(), create=True, size=nbytes
        )
        #: Size of the segment (a reused one may be larger than the array).
        self.nbytes = nbytes
        self.reshape(shape, dtype)

    def reshape(self, shape: Sequence[int], dtype: Any) -> None:
        """Use the segment for an array of ``shape`` and ``dtype`` (its start)."""
        if self._shm is None:
            raise ValueError("the shared array is closed")
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        if math.prod(self.shape) * self.dtype.itemsize > self.nbytes:
            raise ValueError(f"{self.shape} {self.dtype} does not fit {self.nbytes} bytes")
        self.array: np.ndarray = np.ndarray(self.shape, self.dtype, buffer=self._shm.buf)
        self.ref = ArrayRef("shm", self._shm.name.lstrip("/"), self.shape, self.dtype.str)

    def close(self) -> None:
        """Release and remove the segment (idempotent)."""
        shm, self._shm = self._shm, None
        if shm is None:
            return
        self.array = np.empty((0,), self.dtype)
        try:
            shm.close()
        except BufferError:  # a view still exported: the unlink below still frees the name
            pass
        try:
            shm.unlink()
        except FileNotFoundError:
            pass

    def take(self) -> np.ndarray:
        """The array as a plain numpy array that owns its memory; the segment's name goes.

        On Linux the segment is mapped again privately and unlinked, so no copy
        is made: the memory is freed when the returned array is. Elsewhere the
        data are copied. Either way this object is closed afterwards.
        """
        if self._shm is None:
            raise ValueError("the shared array is closed")
        path = f"/dev/shm/{self.ref.name}"  # nosec B108: the shared-memory segment this process created, not a temp file
        count = math.prod(self.shape)
        out: np.ndarray
        if count and os.path.exists(path):
            fd = os.open(path, os.O_RDWR)
            try:
                m = mmap.mmap(fd, count * self.dtype.itemsize)
            finally:
                os.close(fd)
            out = np.frombuffer(m, self.dtype, count).reshape(self.shape)
        else:  # pragma: no cover - not Linux
            out = np.array(self.array)
        self.close()
        return out

    def __enter__(self) -> SharedArray:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def open_file_array(ref: ArrayRef, *, write: bool = True) -> Iterator[np.ndarray]:
    """Map a file-backed array for the duration of the block (keeps RSS bounded)."""
    count = math.prod(ref.shape)
    dtype = np.dtype(ref.dtype)
    with open(ref.name, "r+b" if write else "rb") as f:
        length = ref.offset + count * dtype.itemsize
        m = mmap.mmap(f.fileno(), length, access=mmap.ACCESS_WRITE if write else mmap.ACCESS_READ)
        try:
            arr = np.frombuffer(m, dtype, count, ref.offset).reshape(ref.shape)
            yield arr
            del arr
        finally:
            try:
                m.close()
            except BufferError:  # pragma: no cover - a caller kept a view
                pass


@contextmanager
def open_array(ref: ArrayRef, *, write: bool = True) -> Iterator[np.ndarray]:
    """Map a shared array for one task only.

    Workers outlive jobs (the pool is kept between calls), so they must not
    keep segments mapped: the parent frees a job's segments when it ends, and
    a lingering mapping would keep that memory alive.
    """
    if ref.kind != "shm":
        with open_file_array(ref, write=write) as arr:
            yield arr
        return
    shm = shared_memory.SharedMemory(name=ref.name)
    try:
        arr = np.ndarray(ref.shape, np.dtype(ref.dtype), buffer=shm.buf, offset=ref.offset)
        yield arr
        del arr
    finally:
        try:
            shm.close()
        except BufferError:  # pragma: no cover - a traceback still holds a view
            pass
