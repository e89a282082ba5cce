"""Timeouts, retries and concurrency for catalogue and asset requests, and GDAL's share.

:class:`NetworkOptions` is plain (standard library only); :func:`configure_gdal`
hands the same figures to GDAL's HTTP reader (imported when called).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tsmask_qgis.errors import ParameterError
from tsmask_qgis.loaders._sources import Source

__all__ = ["ASSET_LATENCY_S", "READ_BYTES_PER_S", "NetworkOptions", "configure_gdal"]

#: Assumptions behind ``estimate``'s download time (defaults of the ``NetworkOptions`` fields).
READ_BYTES_PER_S = 20e6
ASSET_LATENCY_S = 0.5


@dataclass(frozen=True)
class NetworkOptions:
    """Timeouts, retries and concurrency for catalogue and asset requests.

    ``timeout`` (seconds) applies to each HTTP request (search pages and pixel reads);
    failed requests are retried ``retries`` times, waiting ``backoff * 2**attempt``
    seconds. ``workers`` assets are read at once on the cached path.

    The last three fields are *assumptions* used only by :func:`estimate`'s time:
    the effective read rate from the catalogue's storage (bytes/s), the latency per
    asset (s, spread over ``workers``), and the detection cost per pixel and date (s;
    ``None``, the default, takes the engine's own figure,
    :func:`tsmask_qgis.engine._costs.seconds_per_pixel_date`). Set them to what you
    measure on your network and machine.

    Replace ``_stac.NETWORK`` (or pass ``network=``) to change them.
    """

    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0
    workers: int = 4
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
        if self.workers < 1:
            raise ParameterError(
                f"the number of assets read at once must be at least 1, got {self.workers}"
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

    def detect_cost(self) -> float:
        """Seconds per pixel and date of detection: this assumption, else the engine's."""
        if self.detect_seconds_per_pixel_date is not None:
            return float(self.detect_seconds_per_pixel_date)
        from tsmask_qgis.engine._costs import seconds_per_pixel_date

        return seconds_per_pixel_date()


def configure_gdal(src: Source, net: NetworkOptions) -> None:
    """GDAL's HTTP settings for reading ``src``'s assets: ``net``'s timeout and retries,
    and the catalogue's storage access (unsigned S3 in a region)."""
    from odc.stac import configure_rio

    aws: dict[str, Any] | None = {"aws_unsigned": True} if src.aws_unsigned else None
    if aws is not None and src.aws_region:
        aws["region_name"] = src.aws_region
    configure_rio(
        cloud_defaults=True,
        aws=aws,
        GDAL_HTTP_TIMEOUT=max(1, math.ceil(net.timeout)),
        GDAL_HTTP_CONNECTTIMEOUT=max(1, math.ceil(min(net.timeout, 10))),
        GDAL_HTTP_MAX_RETRY=net.retries,
        GDAL_HTTP_RETRY_DELAY=net.backoff,
        GDAL_HTTP_RETRY_CODES="429,500,502,503,504",
    )
