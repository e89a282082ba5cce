"""What a request will cost, known before any pixel is read: scenes, grid, bytes, memory, time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tsmask_qgis.bands import BANDS
from tsmask_qgis.loaders._network import ASSET_LATENCY_S, READ_BYTES_PER_S, NetworkOptions
from tsmask_qgis.loaders._request import Request
from tsmask_qgis.loaders._search import solar_day, solar_days

__all__ = ["Estimate", "estimate_cost"]


def _engine_detect_cost() -> float:
    from tsmask_qgis.engine._costs import seconds_per_pixel_date

    return seconds_per_pixel_date()


@dataclass(frozen=True)
class Estimate:
    """What a request will cost, known before any pixel is read.

    ``bytes_to_read`` counts the 16-bit pixels of every scene inside the area (the
    network transfer is usually smaller: COGs are compressed). ``memory_bytes`` is the
    float32 reflectance cube plus the uint8 mask. ``seconds`` is a rough guess resting
    on assumptions, not measurements: the read rate, the latency per asset read
    (``reads_at_once`` in parallel), taken from :class:`NetworkOptions`, and the
    detection cost per pixel-date (the engine's figure unless the options give one);
    kept here so :meth:`describe` can state them.
    """

    items: int
    dates: tuple[dt.date, ...]
    shape: tuple[int, int, int]
    pixels: int
    bytes_to_read: int
    memory_bytes: int
    seconds: float
    cached: bool
    crs: str
    resolution: float
    read_bytes_per_s: float = READ_BYTES_PER_S
    asset_latency: float = ASSET_LATENCY_S
    reads_at_once: int = 4
    detect_seconds_per_pixel_date: float = field(default_factory=_engine_detect_cost)

    def assumptions(self) -> str:
        """The assumptions behind :attr:`seconds`, in words."""
        return (
            f"assumes reads at {self.read_bytes_per_s / 1e6:g} MB/s, "
            f"{self.asset_latency:g} s latency per asset ({self.reads_at_once} at once), "
            f"detection at {self.detect_seconds_per_pixel_date * 1e6:g} µs per pixel-date; "
            "set the network options' read rate, asset latency and detection cost "
            "to your own figures"
        )

    def describe(self) -> str:
        """A few lines for the command line and the dialog."""
        _t, y, x = self.shape
        lines = [
            f"{self.items} scenes on {len(self.dates)} dates"
            + (f" ({self.dates[0]} .. {self.dates[-1]})" if self.dates else ""),
            f"grid {x} x {y} pixels at {self.resolution:g} m in {self.crs} "
            f"({self.pixels:,} pixels)",
            f"to read: {self.bytes_to_read / 1e6:,.1f} MB"
            + (" (already in the local cache: nothing to download)" if self.cached else ""),
            f"memory: about {self.memory_bytes / 1e6:,.1f} MB; time: about {self.seconds:,.0f} s",
            f"  (time {self.assumptions()})",
        ]
        return "\n".join(lines)


def estimate_cost(
    request: Request,
    items: Sequence[Any],
    bands: tuple[str, ...],
    net: NetworkOptions,
    *,
    cached: bool,
) -> Estimate:
    """The :class:`Estimate` of loading ``items`` for ``request`` and ``bands``
    (``cached``: the load is in the local cache, nothing to download)."""
    from shapely.geometry import box, shape

    gbox = request.geobox()
    days = solar_days(list(items))
    area = box(*request.bbox)
    pixels = int(gbox.shape.x * gbox.shape.y)
    px_read = 0.0
    for item in items:
        frac = 1.0
        if item.geometry:
            try:
                frac = shape(item.geometry).intersection(area).area / area.area
            except Exception:
                frac = 1.0
        px_read += frac * pixels
    nbytes = int(px_read * 2 * len(bands))
    t = len(days)
    memory = t * pixels * (4 * len(BANDS) + 1 + (len(bands) - len(BANDS)))
    assets = len(items) * len(bands)
    seconds = (
        0.0
        if cached
        else nbytes / net.read_bytes_per_s + assets * net.asset_latency / max(1, net.concurrency)
    )
    detect = net.detect_cost()
    seconds += t * pixels * detect
    return Estimate(
        items=len(items),
        dates=tuple(solar_day(members[0]) for _, members in days),
        shape=(t, int(gbox.shape.y), int(gbox.shape.x)),
        pixels=pixels,
        bytes_to_read=0 if cached else nbytes,
        memory_bytes=int(memory),
        seconds=float(seconds),
        cached=cached,
        crs=str(gbox.crs),
        resolution=request.resolution,
        read_bytes_per_s=net.read_bytes_per_s,
        asset_latency=net.asset_latency,
        reads_at_once=max(1, net.concurrency),
        detect_seconds_per_pixel_date=detect,
    )
