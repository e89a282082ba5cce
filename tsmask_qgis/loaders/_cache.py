"""A local cache of loaded reflectance, keyed by request.

An entry is a folder named by the hash of the request's key (source, URL, collections,
assets, bbox, dates, CRS, resolution, cloud-cover filter, bands): one ``.npy`` array
per band ``(time, y, x)`` and ``meta.json`` (key, grid, times, sizes, use times).
Entries are written into a temporary folder in the cache (named by
:func:`tsmask_qgis.tempfiles.temp_name`) and renamed when complete, so an interrupted
download never leaves a half entry; temporaries left by killed runs are removed once
they are a day old. The cache is bounded: after each new entry the least recently used
entries are removed until the total fits ``max_bytes`` (``TSMASK_CACHE_MAX_BYTES``,
default 20 GB).

Folder: ``TSMASK_CACHE_DIR``, else ``$XDG_CACHE_HOME/tsmask``, else ``~/.cache/tsmask``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import shutil
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsmask_qgis.errors import CacheWarning
from tsmask_qgis.tempfiles import TMP_PREFIX, temp_name

__all__ = [
    "DEFAULT_MAX_BYTES",
    "CacheEntry",
    "cache_dir",
    "cache_key",
    "clear_cache",
    "list_cache",
]

DEFAULT_MAX_BYTES = 20 * 1024**3
_META = "meta.json"
#: Age after which a temporary folder in the cache is a leftover of a killed run.
STALE_AFTER_S = 86400.0
#: Temporary folders of versions before the one temporary-name scheme (cleaned the same way).
_OLD_TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class CacheEntry:
    """One cached load: what it holds and how big it is."""

    key: str
    path: Path
    size_bytes: int
    created: dt.datetime
    last_used: dt.datetime
    source: str
    bbox: tuple[float, float, float, float]
    start: dt.date
    end: dt.date
    crs: str
    resolution: float
    bands: tuple[str, ...]
    dates: int
    shape: tuple[int, int, int]

    def describe(self) -> str:
        """A one-line summary for ``tsmask cache list``."""
        w, s, e, n = self.bbox
        return (
            f"{self.key}  {self.source}  {self.start}..{self.end}  "
            f"bbox {w:.4f},{s:.4f},{e:.4f},{n:.4f}  {self.crs} {self.resolution:g} m  "
            f"{self.dates} dates {self.shape[1]}x{self.shape[2]}  "
            f"{self.size_bytes / 1e6:.1f} MB  last used {self.last_used:%Y-%m-%d %H:%M}"
        )


def cache_dir() -> Path:
    """The cache folder (not created): ``TSMASK_CACHE_DIR``, else the XDG cache dir."""
    env = os.environ.get("TSMASK_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tsmask"


def max_bytes() -> int:
    """The size limit of the cache in bytes (``TSMASK_CACHE_MAX_BYTES``)."""
    env = os.environ.get("TSMASK_CACHE_MAX_BYTES")
    if env:
        try:
            return int(float(env))
        except ValueError:
            pass
    return DEFAULT_MAX_BYTES


def cache_key(key: Mapping[str, Any]) -> str:
    """A stable short hash of a request key."""
    blob = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def _entry(path: Path) -> CacheEntry | None:
    try:
        meta = json.loads((path / _META).read_text())
        k = meta["key"]
        return CacheEntry(
            key=path.name,
            path=path,
            size_bytes=int(meta["size_bytes"]),
            created=dt.datetime.fromisoformat(meta["created"]),
            last_used=dt.datetime.fromtimestamp((path / _META).stat().st_mtime),
            source=k["source"],
            bbox=tuple(k["bbox"]),  # type: ignore[arg-type]
            start=dt.date.fromisoformat(k["start"]),
            end=dt.date.fromisoformat(k["end"]),
            crs=k["crs"],
            resolution=float(k["resolution"]),
            bands=tuple(k["bands"]),
            dates=len(meta["times"]),
            shape=tuple(meta["shape"]),  # type: ignore[arg-type]
        )
    except (OSError, KeyError, ValueError, TypeError):
        return None


def list_cache() -> list[CacheEntry]:
    """The complete cache entries, most recently used first."""
    root = cache_dir()
    if not root.is_dir():
        return []
    entries = [
        e
        for p in root.iterdir()
        if p.is_dir() and not _is_temporary(p) and (e := _entry(p)) is not None
    ]
    return sorted(entries, key=lambda e: e.last_used, reverse=True)


def clear_cache(*, key: str | None = None) -> int:
    """Remove every entry (or the one named ``key``, a full key or a unique prefix).

    Returns the number of bytes freed. Leftover temporary folders are removed too.
    """
    root = cache_dir()
    if not root.is_dir():
        return 0
    freed = 0
    for p in list(root.iterdir()):
        if not p.is_dir():
            continue
        if key is not None and not p.name.startswith(key):
            continue
        e = _entry(p)
        freed += e.size_bytes if e is not None else 0
        shutil.rmtree(p, ignore_errors=True)
    return freed


def lookup(key: Mapping[str, Any]) -> Path | None:
    """The folder of a complete entry for ``key`` (marking it used), or ``None``."""
    path = cache_dir() / cache_key(key)
    meta = path / _META
    if not meta.is_file():
        return None
    try:
        if json.loads(meta.read_text())["key"] != json.loads(json.dumps(key)):
            return None
    except (OSError, ValueError, KeyError):
        return None
    damage = _damage(path)
    if damage:
        shutil.rmtree(path, ignore_errors=True)
        warnings.warn(
            f"the cached reflectance {path.name} was damaged ({damage}): it was removed "
            "and the data are fetched again",
            CacheWarning,
            stacklevel=2,
        )
        return None
    os.utime(meta)  # LRU: last use is the meta file's mtime
    return path


def _damage(path: Path) -> str:
    """What is wrong with the entry at ``path`` (``""`` when its arrays are whole): a band
    file missing, unreadable, or shorter than its header declares."""
    try:
        meta = read_meta(path)
        bands, shape = list(meta["key"]["bands"]), tuple(meta["shape"])
    except (OSError, ValueError, KeyError, TypeError):
        return "unreadable meta.json"
    for band in bands:
        file = path / f"{band}.npy"
        try:
            with open(file, "rb") as fh:
                version = np.lib.format.read_magic(fh)
                read = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                got, _fortran, dtype = read(fh)
                start = fh.tell()
            size = file.stat().st_size
        except (OSError, ValueError) as exc:
            return f"{file.name}: {exc}"
        if tuple(got) != shape:
            return f"{file.name} holds {tuple(got)}, not {shape}"
        need = start + math.prod(shape) * np.dtype(dtype).itemsize
        if size < need:
            return f"{file.name} is truncated: {size:,} of {need:,} bytes"
    return ""


def read_meta(path: Path) -> dict[str, Any]:
    return json.loads((path / _META).read_text())


class EntryWriter:
    """Writes one entry into a temporary folder; :meth:`commit` renames it into place."""

    def __init__(self, key: Mapping[str, Any]) -> None:
        self.key = dict(key)
        self.root = cache_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.final = self.root / cache_key(self.key)
        self.tmp = _make_temporary_dir(self.final)
        self.arrays: dict[str, np.memmap] = {}

    def array(
        self, band: str, shape: tuple[int, int, int], dtype: Any, fill: Any = None
    ) -> np.ndarray:
        """A new array of the entry (zeros unless ``fill`` is given, until written)."""
        arr = np.lib.format.open_memmap(
            self.tmp / f"{band}.npy", mode="w+", dtype=dtype, shape=shape
        )
        if fill is not None:
            arr[...] = fill
        self.arrays[band] = arr
        return arr

    def commit(self, meta: Mapping[str, Any]) -> Path:
        for arr in self.arrays.values():
            arr.flush()
        self.arrays.clear()
        size = sum(p.stat().st_size for p in self.tmp.iterdir())
        full = {
            **meta,
            "key": self.key,
            "size_bytes": size,
            "created": dt.datetime.now().isoformat(timespec="seconds"),
        }
        tmp_meta = temp_name(self.tmp / _META)
        tmp_meta.write_text(json.dumps(full, indent=1))
        os.replace(tmp_meta, self.tmp / _META)
        final = self.final
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        os.replace(self.tmp, final)
        evict(keep=final.name)
        return final

    def abort(self) -> None:
        self.arrays.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextmanager
def writing(key: Mapping[str, Any]) -> Iterator[EntryWriter]:
    """An :class:`EntryWriter` removed again if the block fails."""
    w = EntryWriter(key)
    try:
        yield w
    except BaseException:
        w.abort()
        raise


def evict(*, keep: str | None = None, limit: int | None = None) -> list[str]:
    """Remove least-recently-used entries until the cache fits ``limit`` bytes."""
    limit = max_bytes() if limit is None else limit
    entries = list_cache()
    total = sum(e.size_bytes for e in entries)
    removed = []
    for e in sorted(entries, key=lambda e: e.last_used):
        if total <= limit:
            break
        if e.key == keep:
            continue
        shutil.rmtree(e.path, ignore_errors=True)
        total -= e.size_bytes
        removed.append(e.key)
    remove_stale_temporaries()
    return removed


def _is_temporary(path: Path) -> bool:
    return path.name.startswith((TMP_PREFIX, _OLD_TMP_PREFIX))


def _make_temporary_dir(final: Path) -> Path:
    """A new, empty temporary folder beside ``final`` (:func:`temp_name`)."""
    while True:
        tmp = temp_name(final)
        try:
            tmp.mkdir()
        except FileExistsError:  # the same random name twice: draw again
            continue
        return tmp


def remove_stale_temporaries(*, older_than: float = STALE_AFTER_S) -> list[str]:
    """Remove temporary folders of killed runs (older than ``older_than`` seconds).

    A younger one may belong to a download still running and is left alone. Returns the
    names removed.
    """
    root = cache_dir()
    if not root.is_dir():
        return []
    removed = []
    now = time.time()
    for p in root.iterdir():
        if not _is_temporary(p):
            continue
        try:
            if now - p.stat().st_mtime > older_than:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
        except OSError:
            pass
    return removed
