"""Timeouts, retries and concurrency for catalogue and asset requests, and GDAL's share.

:class:`NetworkOptions` is plain (standard library only); :func:`configure_gdal`
hands the same figures to GDAL's HTTP reader (imported when called).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

from tsmask_qgis.errors import ParameterError
from tsmask_qgis.loaders._sources import Source

__all__ = [
    "ASSET_LATENCY_S",
    "GDAL_HTTP",
    "MAX_CONCURRENCY",
    "READ_BYTES_PER_S",
    "NetworkOptions",
    "RetryPolicy",
    "check_concurrency",
    "configure_gdal",
]

#: Assumptions behind ``estimate``'s download time (defaults of the ``NetworkOptions`` fields).
READ_BYTES_PER_S = 20e6
ASSET_LATENCY_S = 0.5
#: The most reads at once ``NetworkOptions.concurrency`` allows.
MAX_CONCURRENCY = 256


def check_concurrency(n: object) -> int:
    """``n`` if it is a valid number of reads at once, else :class:`ParameterError`."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CONCURRENCY:
        raise ParameterError(
            f"the number of reads at once must be a whole number from 1 to "
            f"{MAX_CONCURRENCY}, got {n!r}",
            field="concurrency",
        )
    return n


@dataclass(frozen=True)
class NetworkOptions:
    """Timeouts, retries and concurrency for catalogue and asset requests.

    ``timeout`` (seconds) applies to each HTTP request (search pages and pixel reads);
    failed requests are retried ``retries`` times, waiting ``backoff * 2**attempt``
    seconds, and an asset read gives up once ``asset_time_limit`` seconds have passed
    since its first attempt (no attempt or wait starts beyond it; the last attempt's
    time-out is cut to what is left). These are the only retries: GDAL's own HTTP
    retries are off, so a file failing for good costs ``retries + 1`` requests at most.
    ``concurrency`` asset reads run at once, across dates (the cached path; the streamed
    path reads that many blocks at once); retries wait inside their read, so they never
    add requests beyond it.

    The last three fields are *assumptions* used only by :func:`estimate`'s time:
    the effective read rate from the catalogue's storage (bytes/s), the latency per
    asset (s, spread over ``concurrency``), and the detection cost per pixel and date (s;
    ``None``, the default, takes the engine's own figure,
    :func:`tsmask_qgis.engine._costs.seconds_per_pixel_date`). Set them to what you
    measure on your network and machine.

    Replace ``_stac.NETWORK`` (or pass ``network=``) to change them.
    """

    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0
    concurrency: int = 32
    asset_time_limit: float = 25.0
    page_size: int = 100
    read_bytes_per_s: float = READ_BYTES_PER_S
    asset_latency: float = ASSET_LATENCY_S
    detect_seconds_per_pixel_date: float | None = None

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ParameterError(
                f"the network timeout must be a positive number of seconds, got {self.timeout}"
            )
        if self.retries < 0:
            raise ParameterError(f"the number of retries must be 0 or more, got {self.retries}")
        if self.backoff < 0:
            raise ParameterError(
                f"the wait between retries must be 0 or more seconds, got {self.backoff}"
            )
        check_concurrency(self.concurrency)
        if not self.asset_time_limit > 0:
            raise ParameterError(
                "the time limit per asset must be a positive number of seconds, "
                f"got {self.asset_time_limit}"
            )
        if self.page_size < 1:
            raise ParameterError(
                f"the catalogue's page size must be at least 1, got {self.page_size}"
            )
        if not self.read_bytes_per_s > 0:
            raise ParameterError(
                f"the assumed read rate must be a positive number of bytes per second, "
                f"got {self.read_bytes_per_s}"
            )
        if self.asset_latency < 0:
            raise ParameterError(
                f"the assumed latency per asset must be 0 or more seconds, got {self.asset_latency}"
            )
        detect = self.detect_seconds_per_pixel_date
        if detect is not None and detect < 0:
            raise ParameterError(
                f"the assumed detection cost must be 0 or more seconds, got {detect}"
            )

    def with_concurrency(self, concurrency: int | None) -> NetworkOptions:
        """These options with ``concurrency`` reads at once (``None``: unchanged)."""
        if concurrency is None:
            return self
        return dataclasses.replace(self, concurrency=concurrency)

    def detect_cost(self) -> float:
        """Seconds per pixel and date of detection: this assumption, else the engine's."""
        if self.detect_seconds_per_pixel_date is not None:
            return float(self.detect_seconds_per_pixel_date)
        from tsmask_qgis.engine._costs import seconds_per_pixel_date

        return seconds_per_pixel_date()


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy of asset reads: ``retries`` more attempts after the first,
    waiting ``backoff * 2**attempt`` seconds between them, none started (and no wait
    begun) once ``limit`` seconds have passed since the first attempt."""

    retries: int
    backoff: float
    limit: float

    @classmethod
    def of(cls, net: NetworkOptions) -> RetryPolicy:
        """The policy of a ``NetworkOptions``."""
        return cls(int(net.retries), float(net.backoff), float(net.asset_time_limit))

    def wait(self, attempt: int, started: float) -> float | None:
        """Seconds to wait after attempt ``attempt`` (0-based) failed, or ``None``: give up."""
        if attempt >= self.retries:
            return None
        pause = self.backoff * 2**attempt
        if time.monotonic() - started + pause >= self.limit:
            return None
        return pause


#: GDAL's HTTP settings for asset reads (besides time-outs), each measured by
#: ``bench/loading.py`` (which flips each in turn): adjacent ranges of one read in one
#: request, HTTP/2 streams on one connection where the server offers them, no
#: directory listing on open (listing a folder per file quadruples the requests).
#: GDAL's own retries are off: the loaders retry each asset (``NetworkOptions``), and
#: nested retries would multiply the requests and the time a failing file takes.
#: Left at GDAL's defaults: ``CPL_VSIL_CURL_USE_HEAD`` (``NO`` replaces the HEAD by a
#: GET without a range that GDAL aborts after the headers: as many requests, and the
#: aborted transfer closes the kept-alive connection) and ``VSI_CACHE`` (/vsicurl/
#: caches what it fetched already; VSI_CACHE's 32 kB pages make a small window read
#: whole neighbouring tiles, more bytes for no fewer requests).
GDAL_HTTP: dict[str, Any] = {
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MAX_RETRY": "0",
}


def configure_gdal(src: Source, net: NetworkOptions) -> None:
    """GDAL's HTTP settings for reading ``src``'s assets: ``net``'s timeout,
    :data:`GDAL_HTTP`, and the catalogue's storage access (unsigned S3 in a region)."""
    from odc.stac import configure_rio

    aws: dict[str, Any] | None = {"aws_unsigned": True} if src.aws_unsigned else None
    if aws is not None and src.aws_region:
        aws["region_name"] = src.aws_region
    configure_rio(
        cloud_defaults=True,
        aws=aws,
        GDAL_HTTP_TIMEOUT=max(1, math.ceil(net.timeout)),
        GDAL_HTTP_CONNECTTIMEOUT=max(1, math.ceil(min(net.timeout, 10))),
        **GDAL_HTTP,
    )
