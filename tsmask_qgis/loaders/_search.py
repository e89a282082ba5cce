"""Searching a STAC API (pystac-client) and grouping the items it finds by solar day."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsmask_qgis.loaders._errors import InputError, ParameterError, SearchError
from tsmask_qgis.loaders._network import NetworkOptions
from tsmask_qgis.loaders._request import Request
from tsmask_qgis.loaders._sources import Source
from tsmask_qgis.progress import Progress, emit

__all__ = ["item_time", "search_items", "solar_day", "solar_days"]


def _client(src: Source, net: NetworkOptions) -> Any:
    from pystac_client import Client
    from pystac_client.stac_api_io import StacApiIO
    from urllib3 import Retry

    retry = Retry(
        total=net.retries,
        connect=net.retries,
        read=net.retries,
        status=net.retries,
        backoff_factor=net.backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # retry POST searches too
        raise_on_status=True,
    )
    io = StacApiIO(timeout=net.timeout, max_retries=retry)
    # Client.open resets the io's timeout unless it is given here too
    return Client.open(src.stac_url, stac_io=io, timeout=net.timeout)


def _not_json(exc: BaseException) -> bool:
    import json

    seen: BaseException | None = exc
    while seen is not None:
        if (
            isinstance(seen, json.JSONDecodeError)
            or "jsondecodeerror" in type(seen).__name__.lower()
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _search_error(url: str, exc: BaseException, net: NetworkOptions) -> SearchError:
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    later = "try again later (the catalogue may be down)"
    if _not_json(exc):
        why = "its answer is not a STAC API answer (not JSON, or cut short)"
        fix = f"check that the URL is a STAC API root, or {later}"
    elif "timeout" in low or "timed out" in low:
        why = f"the server did not answer within {net.timeout:g} s ({net.retries} retries)"
        fix = f"check your network connection, or {later}"
    elif m := re.search(r"too many (\d+) error responses|status(?: code)?[ =:]+(\d{3})", low):
        code = m.group(1) or m.group(2)
        why = f"the server kept answering HTTP {code} ({net.retries} retries)"
        fix = later
    elif "connection" in low and ("refused" in low or "failed to establish" in low):
        why = "no server answers at that address"
        fix = "check your network connection and the catalogue URL"
    else:
        why = text[:300]
        fix = f"check your network connection and the catalogue URL, or {later}"
    return SearchError(
        f"searching the STAC catalogue {url} failed: {why}. {fix[0].upper()}{fix[1:]}."
    )


def _unknown_collections(client: Any, src: Source) -> None:
    """After a search that found nothing: a ``ParameterError`` naming the collections the
    catalogue does not have (nothing when they all exist or the catalogue cannot tell)."""
    missing = []
    for cid in src.collections:
        try:
            found = client.get_collection(cid)
        except Exception as exc:  # pystac-client: APIError / NotFound with the HTTP answer
            text = f"{type(exc).__name__} {exc}".lower()
            found = None if ("404" in text or "not found" in text or "notfound" in text) else cid
        if found is None:
            missing.append(cid)
    if not missing:
        return
    try:
        known = sorted(c.id for c in client.get_collections())
    except Exception:
        known = []
    have = (
        f"; its collections: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''}"
        if known
        else ""
    )
    raise ParameterError(
        f"the catalogue {src.stac_url} has no collection {', '.join(missing)}{have}",
        field="collections",
    )


def search_items(request: Request, net: NetworkOptions, progress: Progress | None) -> list[Any]:
    """The catalogue's items for ``request``, sorted by (time, id), duplicates removed
    (see :func:`tsmask_qgis.loaders.search`)."""
    src = request.get_source()
    emit(progress, "search", 0.0, f"searching {src.stac_url}")
    try:
        client = _client(src, net)
        found = client.search(
            collections=list(src.collections),
            bbox=list(request.bbox),
            datetime=request.datetime_range(),
            limit=net.page_size,
        )
        items: dict[str, Any] = {}
        for page in found.pages():
            for item in page.items:
                items.setdefault(item.id, item)
            emit(progress, "search", None, f"found {len(items)} scenes")
    except (SearchError, InputError):
        raise
    except Exception as exc:  # requests/urllib3/pystac-client raise many types
        raise _search_error(src.stac_url, exc, net) from None
    if not items:
        _unknown_collections(client, src)
    out = list(items.values())
    if request.cloud_cover is not None:
        out = [
            i
            for i in out
            if float(i.properties.get(src.cloud_cover_property, 0.0) or 0.0) <= request.cloud_cover
        ]
    out.sort(key=lambda i: (item_time(i), i.id))
    emit(progress, "search", 1.0, f"found {len(out)} scenes")
    return out


# -- solar days ---------------------------------------------------------------------------


def item_time(item: Any) -> dt.datetime:
    """The acquisition time of an item (UTC, timezone-aware)."""
    when = item.datetime or item.common_metadata.start_datetime
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when


def _item_lon(item: Any) -> float:
    if item.bbox:
        return (item.bbox[0] + item.bbox[2]) / 2.0
    return 0.0


def solar_day(item: Any) -> dt.date:
    """The local solar date of an acquisition: UTC time + longitude/15 hours."""
    return (item_time(item) + dt.timedelta(hours=_item_lon(item) / 15.0)).date()


def day_sun(days: Sequence[tuple[Any, Sequence[Any]]]) -> tuple[list[float], list[float]]:
    """Per solar day, the sun's azimuth and elevation (degrees) from its items' metadata.

    Earth Search's ``view:sun_azimuth``/``view:sun_elevation`` or Planetary Computer's
    ``s2:mean_solar_azimuth``/``s2:mean_solar_zenith`` of the day's first item that has
    them (in time order); NaN when none has (the engine then computes the position).
    """
    from tsmask_qgis.engine.sun import sun_from_properties

    az: list[float] = []
    el: list[float] = []
    for _, members in days:
        got = next(
            (s for s in (sun_from_properties(i.properties or {}) for i in members) if s), None
        )
        az.append(got[0] if got else float("nan"))
        el.append(got[1] if got else float("nan"))
    return az, el


def solar_days(items: Sequence[Any]) -> list[tuple[np.datetime64, list[Any]]]:
    """Group items by solar day (UTC time + longitude/15 hours), in time order.

    Each group's time is the earliest acquisition time of its items (UTC, naive).
    """
    groups: dict[dt.date, list[Any]] = {}
    for item in sorted(items, key=lambda i: (item_time(i), i.id)):
        groups.setdefault(solar_day(item), []).append(item)
    out = []
    for _, members in sorted(groups.items()):
        first = min(item_time(i) for i in members)
        out.append((np.datetime64(first.replace(tzinfo=None), "ns"), members))
    return out
