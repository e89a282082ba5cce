"""Checked reads of remote rasters: GDAL trouble captured per read, retries, named failures.

GDAL does not always raise when a read fails. With ``GTIFF_IGNORE_READ_ERRORS`` (set by
some environments) a failed HTTP range request or a damaged tile becomes a message and
the block is filled with nodata, so odc-stac's ``fail_on_error`` never sees it, and a
failed asset would silently become a hole in the cube. Every read here therefore:

1. captures the GDAL messages logged *on the reading thread* while it runs
   (rasterio routes them to the ``rasterio._err``/``rasterio._env`` loggers; errors
   inside a read come at INFO level, which is below the default threshold, so a filter
   on those loggers lets them through to the capture only and keeps what the user's
   logging shows unchanged);
2. treats an exception or a captured failure message (HTTP error, timeout, read error;
   GDAL's own "Retrying" notices are not failures) as a failed attempt, and retries
   with backoff ``backoff * 2**attempt``;
3. after the last attempt raises :class:`LoadError` naming the scene, band, asset and
   URL, with the reason (timeout, HTTP status, damaged file).

:class:`CheckedDriver` is an odc-loader reader driver doing this for every chunk read,
so it works inside odc-stac's dask graph (the lazy path): the error surfaces when the
graph is computed, on whichever thread or worker ran the read. It can also count the
reads as they complete and report progress per asset.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsmask_qgis.loaders._errors import FetchError, LoadError, ReadError
from tsmask_qgis.loaders._network import RetryPolicy
from tsmask_qgis.progress import Progress, emit

__all__ = [
    "AssetName",
    "CheckedDriver",
    "ReadCounter",
    "ReadFailed",
    "attempts",
    "base_url",
    "expires_soon",
    "failure_reason",
    "gdal_messages",
    "is_trouble",
    "uncached",
]

log = logging.getLogger(__name__)

# -- capturing GDAL messages on this thread -------------------------------------------------

_LOGGERS = ("rasterio._err", "rasterio._env")
_local = threading.local()
_install_lock = threading.Lock()
_installed = False


class _CaptureFilter(logging.Filter):
    """Hands GDAL's messages to the captures open on the emitting thread.

    Returns ``True`` only for records the logger would have passed without us, so
    lowering the logger's level to INFO (to see GDAL's read errors) changes nothing
    that the user's handlers show.
    """

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.logger = logger
        self.user_level = logger.level  # NOTSET: follow the parent's effective level

    def threshold(self) -> int:
        if self.user_level != logging.NOTSET:
            return self.user_level
        parent = self.logger.parent
        return parent.getEffectiveLevel() if parent is not None else logging.WARNING

    def filter(self, record: logging.LogRecord) -> bool:
        stack = getattr(_local, "stack", None)
        if stack:
            if record.levelno >= logging.INFO:
                stack[-1].append(record.getMessage())
            elif _HTTP_DEBUG.search(msg := record.getMessage()):
                stack[-1].append(msg)
        return record.levelno >= self.threshold()


#: GDAL's debug note of a failed HTTP request (its only report of a failed range read
#: when its own retries are off); seen while ``CPL_DEBUG`` is on (:func:`uncached`).
_HTTP_DEBUG = re.compile(r"response_code=[45]\d\d")


def _install() -> None:
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            logger.addFilter(_CaptureFilter(logger))
            if logger.getEffectiveLevel() > logging.DEBUG:
                logger.setLevel(logging.DEBUG)
        _installed = True


@contextlib.contextmanager
def gdal_messages() -> Iterator[list[str]]:
    """Collect the GDAL messages logged on this thread while the block runs."""
    _install()
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    messages: list[str] = []
    stack.append(messages)
    try:
        yield messages
    finally:
        stack.pop()


_TROUBLE = (
    "error",
    "failed",
    "http",
    "response code",
    "timed out",
    "timeout",
    "truncat",
    "tiffread",
    "tifffill",
    "curl",
)


def is_trouble(message: str) -> bool:
    """Whether a GDAL message means a read failed (GDAL's "Retrying" notices do not)."""
    low = message.lower()
    if "retrying" in low:
        return False
    return any(p in low for p in _TROUBLE)


def diagnose(exc: BaseException | None, messages: list[str], timeout: float) -> tuple[str, bool]:
    """A short reason for a failed read, for the user, and whether the file could not be
    *fetched* (HTTP error, time-out, connection) rather than read (damaged, truncated).

    GDAL reports the cause only in its messages, so they are read here, once.
    """
    text = " ".join([*(messages or []), *([f"{type(exc).__name__}: {exc}"] if exc else [])])
    low = text.lower()
    if "timed out" in low or "timeout" in low:
        return f"timed out: the server did not answer within {timeout:g} s", True
    codes = [
        int(c)
        for c in re.findall(
            r"(?:http error code|http response code|response_code)\D{0,5}(\d{3})", low
        )
    ]
    # 206/416 with a short body: the file is shorter than its own header says
    errors = [c for c in codes if c >= 400 and c != 416]
    if errors:
        return f"HTTP response code {errors[0]} from the server", True
    damage = ("tiffread", "tifffill", "read error", "truncat", "not a tiff", "ireadblock")
    if codes or any(p in low for p in damage):
        detail = next((m for m in messages if "tiff" in m.lower()), "")
        return "the file is damaged or incomplete" + (
            f" ({_clip(detail)})" if detail else ""
        ), False
    fetch = isinstance(exc, (ConnectionError, TimeoutError)) or any(w in low for w in _FETCH_WORDS)
    return _clip(text) or "unknown error", fetch


#: Words in GDAL's messages that say the file could not be fetched (not that it is bad).
_FETCH_WORDS = (
    "connection",
    "does not exist in the file system",
    "could not resolve",
    "curl error",
)


def failure_reason(exc: BaseException | None, messages: list[str], timeout: float) -> str:
    """A short reason for a failed read, for the user."""
    return diagnose(exc, messages, timeout)[0]


def load_error(
    what: str, exc: BaseException | None, messages: list[str], timeout: float
) -> LoadError:
    """The error for a read of ``what`` that failed for good: :class:`FetchError` when the
    file could not be fetched, else :class:`ReadError`; the message gives the reason."""
    why, fetch = diagnose(exc, messages, timeout)
    return (FetchError if fetch else ReadError)(
        f"{what}: {why}. The file may be damaged or the server unreachable; try again "
        "later, or leave out the dates around this scene."
    )


def attempts(n: int) -> str:
    """``"1 attempt"``, ``"3 attempts"``."""
    return f"{n} attempt" if n == 1 else f"{n} attempts"


def _clip(text: str, n: int = 300) -> str:
    text = re.sub(r"GDAL signalled an error: err_no=\d+, msg=", "", text).strip()
    return text if len(text) <= n else text[:n] + "..."


class ReadFailed(Exception):
    """One read attempt failed: an exception or GDAL failure messages.

    ``messages`` are all GDAL's messages during the attempt (retry notices included:
    they carry the HTTP status), used for the reason given to the user.
    """

    def __init__(self, exc: BaseException | None, messages: list[str]) -> None:
        text = "; ".join(dict.fromkeys(m for m in messages if is_trouble(m)))
        if not text:
            text = f"{type(exc).__name__}: {exc}" if exc is not None else "unknown read failure"
        super().__init__(text)
        self.exc = exc
        self.messages = list(messages)


def checked(fn: Callable[[], Any]) -> Any:
    """Run one read; raise :class:`ReadFailed` if it raised or GDAL reported trouble."""
    with gdal_messages() as messages:
        try:
            out = fn()
        except Exception as exc:  # rasterio raises many types
            raise ReadFailed(exc, messages) from exc
    if any(is_trouble(m) for m in messages):
        raise ReadFailed(None, messages)
    return out


# -- naming assets and counting reads ----------------------------------------------------------


def expires_soon(href: str, *, margin_s: float = 300.0) -> bool:
    """Whether a signed URL's ``se=`` expiry (Azure SAS) is within ``margin_s`` seconds."""
    import datetime as dt

    q = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
    se = q.get("se")
    if not se:
        return False
    try:
        when = dt.datetime.fromisoformat(se[0].replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=margin_s)


def base_url(href: str) -> str:
    """``href`` without its query string (signatures change; the file does not)."""
    return urllib.parse.urlsplit(href)._replace(query="", fragment="").geturl()


@dataclass(frozen=True)
class AssetName:
    """What a user needs to find a failed asset: scene id, tsmask band, asset key, URL."""

    item_id: str
    band: str
    asset: str
    href: str

    def describe(self) -> str:
        return f"band {self.band} (asset {self.asset!r}) of scene {self.item_id} from {self.href}"


class ReadCounter:
    """Counts chunk reads as they complete and reports progress (thread-safe).

    ``expected`` is the number of chunk reads per asset URL (:func:`base_url`);
    each completed read reports ``done / total`` with the asset it read.
    """

    def __init__(
        self, progress: Progress | None, expected: Mapping[str, int], names: Mapping[str, Any]
    ) -> None:
        self.progress = progress
        self.expected = dict(expected)
        self.names = dict(names)
        self.total = max(1, sum(self.expected.values()))
        self.assets = len(self.expected)
        self.done = 0
        self.per_asset: dict[str, int] = {}
        self.assets_done = 0
        self._lock = threading.Lock()

    def read_done(self, url: str) -> None:
        if self.progress is None:
            return
        with self._lock:
            self.done += 1
            n = self.per_asset[url] = self.per_asset.get(url, 0) + 1
            if n == self.expected.get(url):
                self.assets_done += 1
            name = self.names.get(url)
            what = f"{name.band} of {name.item_id}" if name is not None else url
            emit(
                self.progress,
                "load",
                min(1.0, self.done / self.total),
                f"read {what} ({self.assets_done}/{self.assets} assets, "
                f"{self.done}/{self.total} blocks)",
            )


# -- the reader driver --------------------------------------------------------------------------


class CheckedDriver:
    """odc-loader's rasterio driver with checked, retried reads and named failures.

    It implements odc-loader's ``ReaderDriver`` protocol by delegating to
    ``odc.loader.RioDriver`` (imported when first used, so importing the loaders does
    not load rasterio's GDAL into a QGIS process).

    ``names`` maps :func:`base_url` of each asset href to its :class:`AssetName`.
    A read is retried by ``policy`` (:class:`RetryPolicy`); the last failure raises
    :class:`LoadError`,
    or with ``named=False`` :class:`ReadFailed` (for a caller that retries and names
    the asset itself). ``resign`` (optional) returns a fresh signed URL for an unsigned
    one, called before a retry and before a read whose signature expires within five
    minutes (a lazy graph can be computed long after it was built). ``counter``
    reports progress, and ``cancel`` (raising when the load stops) is called before
    each attempt; both are dropped when the driver is pickled (a dask cluster's workers
    cannot call back into this process).
    """

    def __init__(
        self,
        *,
        names: Mapping[str, AssetName],
        policy: RetryPolicy,
        timeout: float,
        resign: Callable[[str], str] | None = None,
        counter: ReadCounter | None = None,
        named: bool = True,
        cancel: Callable[[], None] | None = None,
    ) -> None:
        self.names = dict(names)
        self.cancel = cancel
        self.named = named
        self.policy = policy
        self.timeout = float(timeout)
        self.resign = resign
        self.counter = counter
        self.token = uuid.uuid4().hex

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["counter"] = None
        state["cancel"] = None
        state.pop("_rio", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __dask_tokenize__(self) -> tuple[str, str]:
        return ("tsmask-checked-driver", self.token)

    # -- odc-loader's ReaderDriver protocol, delegated to RioDriver --

    @property
    def rio(self) -> Any:
        rio = self.__dict__.get("_rio")
        if rio is None:
            from odc.loader import RioDriver

            rio = self.__dict__["_rio"] = RioDriver()
        return rio

    def new_load(self, geobox: Any, *, chunks: Any = None) -> Any:
        return self.rio.new_load(geobox, chunks=chunks)

    def finalise_load(self, load_state: Any) -> Any:
        return self.rio.finalise_load(load_state)

    def capture_env(self) -> dict[str, Any]:
        return self.rio.capture_env()

    def restore_env(self, env: dict[str, Any], load_state: Any) -> Any:
        return self.rio.restore_env(env, load_state)

    @property
    def md_parser(self) -> Any:
        return None

    @property
    def dask_reader(self) -> Any:
        return None

    def open(self, src: Any, ctx: Any) -> CheckedReader:
        return CheckedReader(src, ctx, self)

    def name_of(self, uri: str) -> AssetName:
        url = base_url(uri)
        return self.names.get(url) or AssetName("(unknown scene)", "?", "?", url)

    def read_with_retries(self, uri: str, read: Callable[[str], Any]) -> Any:
        """Run ``read(uri)`` checked, retrying by the policy; raise a named error."""
        last: ReadFailed | None = None
        if self.resign is not None and expires_soon(uri):
            uri = self.resign(base_url(uri))  # the graph outlived the signature
        started = time.monotonic()
        attempt = 0
        while True:
            if self.cancel is not None:
                self.cancel()
            try:
                out = checked(functools.partial(_uncached_after_failure, read, uri, attempt))
            except ReadFailed as exc:
                last = exc
                pause = self.policy.wait(attempt, started)
                if pause is None:
                    if not self.named:
                        raise
                    break
                log.warning(
                    "read of %s failed (attempt %d): %s",
                    self.name_of(uri).describe(),
                    attempt + 1,
                    exc,
                )
                time.sleep(pause)
                if self.resign is not None:
                    uri = self.resign(base_url(uri))
                attempt += 1
                continue
            if self.counter is not None:
                self.counter.read_done(base_url(uri))
            return out
        name = self.name_of(uri)
        raise load_error(
            f"could not read {name.describe()} after {attempts(attempt + 1)}",
            last.exc if last else None,
            last.messages if last else [],
            self.timeout,
        )


def _uncached_after_failure(read: Callable[[str], Any], uri: str, attempt: int) -> Any:
    """``read(uri)``; a retry bypasses GDAL's memory of the URL.

    GDAL's /vsicurl/ remembers a file's properties, a failed first request included,
    for the whole process: without this a retry (or a later load of the same file)
    could fail again without asking the server.
    """
    if attempt == 0:
        return read(uri)
    with uncached(uri):
        return read(uri)


@contextlib.contextmanager
def uncached(url: str) -> Iterator[None]:
    """GDAL neither uses nor keeps what it remembers of ``url`` while the block runs, and
    notes the HTTP status of a failed request (``CPL_DEBUG``: a retry's failure then
    names it, though GDAL reports a failed range read only as a short read)."""
    import rasterio

    with rasterio.Env(CPL_VSIL_CURL_NON_CACHED=f"/vsicurl/{base_url(url)}", CPL_DEBUG="ON"):
        yield


class CheckedReader:
    """Reads one source for odc-loader through :meth:`CheckedDriver.read_with_retries`."""

    def __init__(self, src: Any, ctx: Any, driver: CheckedDriver) -> None:
        self._src = src
        self._ctx = ctx
        self._driver = driver

    def read(
        self,
        cfg: Any,
        dst_geobox: Any,
        *,
        dst: np.ndarray | None = None,
        selection: Any | None = None,
    ) -> tuple[tuple[slice, slice], np.ndarray]:
        from odc.loader import RioReader

        src, ctx = self._src, self._ctx

        def one(uri: str) -> tuple[tuple[slice, slice], np.ndarray]:
            s = src if uri == src.uri else src.patch(uri=uri)
            return RioReader(s, ctx).read(cfg, dst_geobox, dst=dst, selection=selection)

        return self._driver.read_with_retries(src.uri, one)
